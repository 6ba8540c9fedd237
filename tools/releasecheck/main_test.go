package main

import (
	"archive/zip"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// writeDist writes a minimal goreleaser output for the host's OS/arch.
func writeDist(t *testing.T) (dir string, binary []byte) {
	t.Helper()
	dir = t.TempDir()
	stem := "packer-plugin-owl_v1.2.3_x5.0_" + runtime.GOOS + "_" + runtime.GOARCH
	binary = []byte("#!/bin/sh\necho owl\n")
	f, err := os.Create(filepath.Join(dir, stem+".zip"))
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	w, err := zw.Create(stem)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(binary); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	sums := "0123  " + stem + ".zip\nabcd  packer-plugin-owl_v1.2.3_x5.0_plan9_amd64.zip\n"
	if err := os.WriteFile(filepath.Join(dir, "packer-plugin-owl_v1.2.3_SHA256SUMS"), []byte(sums), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, binary
}

func TestReadRelease(t *testing.T) {
	dir, binary := writeDist(t)
	rel, err := readRelease(dir, "github.com/zoo/packer-plugin-owl")
	if err != nil {
		t.Fatal(err)
	}
	if rel.org != "zoo" || rel.name != "owl" || rel.version != "1.2.3" || string(rel.binary) != string(binary) ||
		!strings.HasSuffix(rel.zip, "_"+runtime.GOOS+"_"+runtime.GOARCH+".zip") {
		t.Errorf("readRelease: %+v", rel)
	}
	for module, want := range map[string]string{
		"gitlab.com/zoo/packer-plugin-owl": "is not github.com/ORG/packer-plugin-NAME",
		"github.com/zoo/packer-plugin-bat": "is not named packer-plugin-bat_v<version>_SHA256SUMS",
	} {
		if _, err := readRelease(dir, module); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("readRelease(%s): %v, want an error containing %q", module, err, want)
		}
	}
}

// TestFakeGitHubThroughProxy asks what Packer's getters ask, through the
// proxy and with only the test authority trusted, as Packer does.
func TestFakeGitHubThroughProxy(t *testing.T) {
	dir, _ := writeDist(t)
	rel, err := readRelease(dir, "github.com/zoo/packer-plugin-owl")
	if err != nil {
		t.Fatal(err)
	}
	ca, err := newAuthority()
	if err != nil {
		t.Fatal(err)
	}
	fake := &fakeGitHub{rel: rel}
	stop, proxyURL, err := serve(ca, fake)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	pu, _ := url.Parse(proxyURL)
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ca.certPEM)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = http.ProxyURL(pu)
	tr.TLSClientConfig.RootCAs = roots
	client := &http.Client{Transport: tr}
	defer tr.CloseIdleConnections()

	get := func(u string) (int, []byte) {
		t.Helper()
		resp, err := client.Get(u)
		if err != nil {
			t.Fatalf("GET %s: %v", u, err)
		}
		defer func() { _ = resp.Body.Close() }()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, body
	}
	if code, _ := get("https://releases.hashicorp.com/packer-plugin-owl/index.json"); code != 404 {
		t.Errorf("official release site: %d, want 404", code)
	}
	code, body := get("https://api.github.com/repos/zoo/packer-plugin-owl/git/matching-refs/tags")
	var refs []struct{ Ref string }
	if code != 200 || json.Unmarshal(body, &refs) != nil || len(refs) != 1 || refs[0].Ref != "refs/tags/v1.2.3" {
		t.Errorf("tags: %d %s", code, body)
	}
	base := "https://github.com/zoo/packer-plugin-owl/releases/download/v1.2.3/"
	if code, body := get(base + rel.sums); code != 200 || !strings.Contains(string(body), rel.zip) {
		t.Errorf("sums: %d %s", code, body)
	}
	if code, body := get(base + rel.zip); code != 200 || !strings.HasPrefix(string(body), "PK") {
		t.Errorf("zip: %d, %d bytes", code, len(body))
	}
	for _, u := range []string{
		base + "../../../../etc/passwd",
		base + "not-an-asset.zip",
		"https://github.com/zoo/packer-plugin-owl/releases/download/v9.9.9/" + rel.zip,
		"https://api.github.com/repos/other/packer-plugin-owl/git/matching-refs/tags",
	} {
		if code, _ := get(u); code != 404 {
			t.Errorf("GET %s: %d, want 404", u, code)
		}
	}
	if len(fake.requests()) < 4 {
		t.Errorf("requests not recorded: %v", fake.requests())
	}
}
