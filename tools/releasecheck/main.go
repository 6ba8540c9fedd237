package main

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/modfile"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("releasecheck: ")
	var o options
	flag.StringVar(&o.packer, "packer", os.Getenv("PACKER_BIN"), "the Packer binary to run (default $PACKER_BIN)")
	flag.StringVar(&o.dist, "dist", "dist", "goreleaser's output directory")
	flag.StringVar(&o.module, "module", "", "the plugin's module path (default: from ./go.mod)")
	flag.BoolVar(&o.keep, "keep", false, "keep the work directory and print where it is")
	flag.Parse()
	if o.packer == "" {
		log.Fatal("no Packer: pass -packer or set PACKER_BIN (the last line of `make packer` is one)")
	}
	if o.module == "" {
		data, err := os.ReadFile("go.mod")
		if err != nil {
			log.Fatalf("reading the module path: %v (run it from the repository root or pass -module)", err)
		}
		o.module = modfile.ModulePath(data)
	}
	if err := run(o); err != nil {
		log.Fatal(err)
	}
}

type options struct {
	packer, dist, module string
	keep                 bool
}

// release is what the dist directory holds for one version.
type release struct {
	org, project, name string // acme, packer-plugin-mycloud, mycloud
	version            string // 1.2.3, without the v
	sums               string // file name of the SHA256SUMS asset
	zip                string // file name of this OS/arch's zip
	assets             map[string]bool
	binary             []byte // the plugin binary inside zip
	binaryName         string
	dir                string
}

var sumsName = regexp.MustCompile(`^(.+)_v([0-9]+\.[0-9]+\.[0-9]+)_SHA256SUMS$`)

// readRelease finds the release in dist and the host's zip in it.
func readRelease(dist, module string) (*release, error) {
	base := module
	if dir, last := path.Split(module); regexp.MustCompile(`^v[0-9]+$`).MatchString(last) {
		base = strings.TrimSuffix(dir, "/")
	}
	dir, project := path.Split(base)
	name, ok := strings.CutPrefix(project, "packer-plugin-")
	if !ok || !strings.HasPrefix(dir, "github.com/") || strings.Count(dir, "/") != 2 {
		return nil, fmt.Errorf("module %s is not github.com/ORG/packer-plugin-NAME: Packer installs only such sources", module)
	}
	r := &release{org: path.Base(strings.TrimSuffix(dir, "/")), project: project, name: name, dir: dist, assets: map[string]bool{}}
	matches, _ := filepath.Glob(filepath.Join(dist, "*_SHA256SUMS"))
	if len(matches) != 1 {
		return nil, fmt.Errorf("want exactly one *_SHA256SUMS file in %s, found %d (run scripts/release-snapshot.sh)", dist, len(matches))
	}
	r.sums = filepath.Base(matches[0])
	m := sumsName.FindStringSubmatch(r.sums)
	if m == nil || m[1] != project {
		return nil, fmt.Errorf("%s is not named %s_v<version>_SHA256SUMS", r.sums, project)
	}
	r.version = m[2]
	r.assets[r.sums] = true
	sums, err := os.ReadFile(matches[0])
	if err != nil {
		return nil, err
	}
	suffix := "_" + runtime.GOOS + "_" + runtime.GOARCH + ".zip"
	sc := bufio.NewScanner(bytes.NewReader(sums))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			continue
		}
		r.assets[f[1]] = true
		if strings.HasSuffix(f[1], suffix) {
			r.zip = f[1]
		}
	}
	if r.zip == "" {
		return nil, fmt.Errorf("%s lists no *%s", r.sums, suffix)
	}
	zr, err := zip.OpenReader(filepath.Join(dist, r.zip))
	if err != nil {
		return nil, err
	}
	defer func() { _ = zr.Close() }()
	if len(zr.File) != 1 {
		return nil, fmt.Errorf("%s holds %d files, want only the plugin binary", r.zip, len(zr.File))
	}
	rc, err := zr.File[0].Open()
	if err != nil {
		return nil, err
	}
	defer func() { _ = rc.Close() }()
	if r.binary, err = io.ReadAll(rc); err != nil {
		return nil, err
	}
	r.binaryName = zr.File[0].Name
	return r, nil
}

func run(o options) error {
	rel, err := readRelease(o.dist, o.module)
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "releasecheck-")
	if err != nil {
		return err
	}
	if o.keep {
		defer log.Printf("work directory kept: %s", work)
	} else {
		defer func() { _ = os.RemoveAll(work) }()
	}

	ca, err := newAuthority()
	if err != nil {
		return err
	}
	caFile := filepath.Join(work, "ca.pem")
	if err := os.WriteFile(caFile, ca.certPEM, 0o644); err != nil {
		return err
	}
	fake := &fakeGitHub{rel: rel}
	stop, proxyURL, err := serve(ca, fake)
	if err != nil {
		return err
	}
	defer stop()

	address := "github.com/" + rel.org + "/" + rel.name
	installed := path.Join(address, rel.binaryName)
	p := &packer{bin: o.packer, caFile: caFile, proxy: proxyURL}

	// 1. packer init with required_plugins pinning the release.
	initDir := filepath.Join(work, "init")
	if err := writeTemplates(filepath.Join(initDir, "template"), rel, address); err != nil {
		return err
	}
	if out, err := p.run(initDir, "init", "."); err != nil {
		return fmt.Errorf("packer init of %s v%s from the GitHub-shaped release failed: %v\n%s\nrequests:\n%s", address, rel.version, err, out, fake.log())
	}
	if err := p.checkInstalled(initDir, installed, rel.binary); err != nil {
		return fmt.Errorf("after packer init: %v\nrequests:\n%s", err, fake.log())
	}
	if err := p.build(initDir, installed); err != nil {
		return fmt.Errorf("after packer init: %v", err)
	}
	log.Printf("packer init installed %s v%s from the release and built with it", address, rel.version)

	// 2. packer plugins install github.com/ORG/NAME, no version: the newest tag.
	installDir := filepath.Join(work, "install")
	if err := writeTemplates(filepath.Join(installDir, "template"), rel, address); err != nil {
		return err
	}
	if out, err := p.run(installDir, "plugins", "install", address); err != nil {
		return fmt.Errorf("packer plugins install %s failed: %v\n%s\nrequests:\n%s", address, err, out, fake.log())
	}
	if err := p.checkInstalled(installDir, installed, rel.binary); err != nil {
		return fmt.Errorf("after packer plugins install: %v", err)
	}
	if err := p.build(installDir, installed); err != nil {
		return fmt.Errorf("after packer plugins install: %v", err)
	}
	log.Printf("packer plugins install %s installed v%s from the release and built with it", address, rel.version)

	// Packer asked where a user's Packer asks. Only Packer 1.14 and later
	// ask the official release site first.
	wants := []string{
		"https://api.github.com/repos/" + rel.org + "/" + rel.project + "/git/matching-refs/tags 200",
		"https://github.com/" + rel.org + "/" + rel.project + "/releases/download/v" + rel.version + "/" + rel.sums + " 200",
		"https://github.com/" + rel.org + "/" + rel.project + "/releases/download/v" + rel.version + "/" + rel.zip + " 200",
	}
	if asksOfficialSite(o.packer) {
		wants = append(wants, "https://releases.hashicorp.com/"+rel.project+"/index.json 404")
	}
	for _, want := range wants {
		if !slices.Contains(fake.requests(), want) {
			return fmt.Errorf("no request for %s reached the server; requests:\n%s", want, fake.log())
		}
	}
	fmt.Printf("releasecheck: %s v%s installs from a GitHub-shaped release with packer init and packer plugins install\n", address, rel.version)
	return nil
}

var packerVersion = regexp.MustCompile(`Packer v([0-9]+)\.([0-9]+)\.`)

// asksOfficialSite reports whether this Packer (1.14 or later) asks
// releases.hashicorp.com before GitHub.
func asksOfficialSite(bin string) bool {
	out, err := exec.Command(bin, "version").Output()
	m := packerVersion.FindSubmatch(out)
	if err != nil || m == nil {
		return true // assume the newest behaviour
	}
	major, minor := 0, 0
	_, _ = fmt.Sscan(string(m[1]), &major)
	_, _ = fmt.Sscan(string(m[2]), &minor)
	return major > 1 || (major == 1 && minor >= 14)
}

// writeTemplates writes a template that requires the released version and
// builds with every component kind the release check needs.
func writeTemplates(dir string, rel *release, address string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	plugins := fmt.Sprintf(`packer {
  required_plugins {
    %s = {
      source  = %q
      version = "= %s"
    }
  }
}
`, rel.name, address, rel.version)
	build := fmt.Sprintf(`source %[1]q "release" {
  store      = "store"
  image_name = "release-check"
}

build {
  sources = ["source.%[1]s.release"]

  provisioner %[1]q {
    inline = ["echo released > released.txt"]
  }
}
`, rel.name)
	if err := os.WriteFile(filepath.Join(dir, "plugins.pkr.hcl"), []byte(plugins), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "build.pkr.hcl"), []byte(build), 0o644)
}

// packer runs Packer isolated under one directory per scenario.
type packer struct {
	bin, caFile, proxy string
}

func (p *packer) env(dir string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch strings.ToUpper(k) {
		case "HOME", "PACKER_CONFIG_DIR", "PACKER_CACHE_DIR", "PACKER_PLUGIN_PATH", "HTTPS_PROXY", "HTTP_PROXY",
			"NO_PROXY", "SSL_CERT_FILE", "SSL_CERT_DIR", "PACKER_LOG", "PACKER_LOG_PATH", "PACKER_GITHUB_API_TOKEN":
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"HOME="+filepath.Join(dir, "home"),
		"PACKER_CONFIG_DIR="+filepath.Join(dir, "config"),
		"PACKER_CACHE_DIR="+filepath.Join(dir, "cache"),
		"PACKER_PLUGIN_PATH="+filepath.Join(dir, "plugins"),
		"CHECKPOINT_DISABLE=1",
		"HCP_PACKER_REGISTRY=off",
		"HTTPS_PROXY="+p.proxy,
		"SSL_CERT_FILE="+p.caFile,
		"PACKER_LOG=1",
		"PACKER_LOG_PATH="+filepath.Join(dir, "packer.log"),
	)
}

func (p *packer) run(dir string, args ...string) (string, error) {
	for _, d := range []string{"home", "config", "cache", "plugins"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return "", err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, p.bin, args...)
	cmd.Dir = filepath.Join(dir, "template")
	cmd.Env = p.env(dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		logText, _ := os.ReadFile(filepath.Join(dir, "packer.log"))
		return string(out) + "\n--- PACKER_LOG:\n" + tail(string(logText), 60), err
	}
	return string(out), nil
}

// checkInstalled: the binary is where Packer's loader looks, with its
// SHA256SUM file, and is the released binary byte for byte.
func (p *packer) checkInstalled(dir, rel string, want []byte) error {
	full := filepath.Join(dir, "plugins", filepath.FromSlash(rel))
	got, err := os.ReadFile(full)
	if err != nil {
		entries, _ := exec.Command("find", filepath.Join(dir, "plugins"), "-type", "f").Output()
		return fmt.Errorf("no plugin at %s (%v); the plugin directory holds:\n%s", full, err, entries)
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("%s is not the binary from the release zip", full)
	}
	if _, err := os.Stat(full + "_SHA256SUM"); err != nil {
		return fmt.Errorf("no %s_SHA256SUM next to the plugin: %v", full, err)
	}
	return nil
}

var artifactID = regexp.MustCompile(`(?m)^[0-9]*,[^,]*,artifact,0,id,(sha256:[0-9a-f]+)$`)

// build runs `packer build` and checks that it started the installed
// binary and that the image it reports is in the store.
func (p *packer) build(dir, rel string) error {
	out, err := p.run(dir, "build", "-machine-readable", "-color=false", ".")
	if err != nil {
		return fmt.Errorf("packer build failed: %v\n%s", err, out)
	}
	logText, err := os.ReadFile(filepath.Join(dir, "packer.log"))
	if err != nil {
		return err
	}
	installed := filepath.Join(dir, "plugins", filepath.FromSlash(rel))
	if !strings.Contains(string(logText), "Starting plugin: "+installed) {
		return fmt.Errorf("packer build did not start %s", installed)
	}
	m := artifactID.FindStringSubmatch(out)
	if m == nil {
		return fmt.Errorf("packer build reported no image id:\n%s", out)
	}
	index, err := os.ReadFile(filepath.Join(dir, "template", "store", "index.json"))
	if err != nil || !bytes.Contains(index, []byte(`"`+m[1]+`"`)) {
		return fmt.Errorf("image %s is not in the store's index (%v)", m[1], err)
	}
	return nil
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// fakeGitHub answers what Packer's getters ask GitHub and the official
// release site, from one release directory, and records every request.
type fakeGitHub struct {
	rel  *release
	mu   sync.Mutex
	seen []string
}

func (f *fakeGitHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	status := f.serve(w, r)
	f.mu.Lock()
	f.seen = append(f.seen, fmt.Sprintf("https://%s%s %d", r.Host, r.URL.Path, status))
	f.mu.Unlock()
}

func (f *fakeGitHub) serve(w http.ResponseWriter, r *http.Request) int {
	fail := func(code int) int {
		http.Error(w, http.StatusText(code), code)
		return code
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return fail(http.StatusMethodNotAllowed)
	}
	repo := "/" + f.rel.org + "/" + f.rel.project
	switch host, _, _ := strings.Cut(r.Host, ":"); host {
	case "releases.hashicorp.com":
		// The official site publishes only HashiCorp's plugins.
		return fail(http.StatusNotFound)
	case "api.github.com":
		if r.URL.Path != "/repos"+repo+"/git/matching-refs/tags" {
			return fail(http.StatusNotFound)
		}
		// The shape of GitHub's "list matching references" answer; Packer
		// reads only ref.
		refs := []map[string]any{{
			"ref":    "refs/tags/v" + f.rel.version,
			"url":    "https://api.github.com/repos" + repo + "/git/refs/tags/v" + f.rel.version,
			"object": map[string]string{"type": "commit", "sha": strings.Repeat("0", 40)},
		}}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_ = json.NewEncoder(w).Encode(refs)
		return http.StatusOK
	case "github.com":
		file, ok := strings.CutPrefix(r.URL.Path, repo+"/releases/download/v"+f.rel.version+"/")
		if !ok || strings.Contains(file, "/") || !f.rel.assets[file] {
			return fail(http.StatusNotFound)
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		http.ServeFile(w, r, filepath.Join(f.rel.dir, file))
		return http.StatusOK
	}
	return fail(http.StatusBadGateway)
}

func (f *fakeGitHub) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.seen)
}

func (f *fakeGitHub) log() string {
	seen := f.requests()
	if len(seen) == 0 {
		return "  (none)"
	}
	return "  " + strings.Join(seen, "\n  ")
}

// serve starts the TLS server for every host name and, in front of it, the
// HTTPS proxy Packer is pointed at. The proxy accepts only CONNECT and
// tunnels every one to the TLS server, whatever host it names: the client's
// TLS handshake carries the host (SNI), for which the server presents a
// certificate from the test authority.
func serve(ca *authority, h http.Handler) (stop func(), proxyURL string, err error) {
	tlsLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 30 * time.Second,
		TLSConfig:         &tls.Config{GetCertificate: ca.certificate, MinVersion: tls.VersionTLS12},
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	go func() { _ = srv.ServeTLS(tlsLn, "", "") }()

	proxyLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = srv.Close()
		return nil, "", err
	}
	var tunnels sync.WaitGroup
	proxy := &http.Server{
		ReadHeaderTimeout: 30 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodConnect {
				http.Error(w, "this proxy only tunnels HTTPS (CONNECT)", http.StatusMethodNotAllowed)
				return
			}
			upstream, err := net.Dial("tcp", tlsLn.Addr().String())
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			hj, ok := w.(http.Hijacker)
			if !ok {
				_ = upstream.Close()
				http.Error(w, "cannot hijack", http.StatusInternalServerError)
				return
			}
			client, buf, err := hj.Hijack()
			if err != nil {
				_ = upstream.Close()
				return
			}
			_, _ = client.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n"))
			tunnels.Add(2)
			go func() {
				defer tunnels.Done()
				_, _ = io.Copy(upstream, buf)
				_ = upstream.(*net.TCPConn).CloseWrite()
			}()
			go func() {
				defer tunnels.Done()
				_, _ = io.Copy(client, upstream)
				_ = client.Close()
			}()
		}),
		ErrorLog: log.New(io.Discard, "", 0),
	}
	go func() { _ = proxy.Serve(proxyLn) }()
	return func() {
		_ = proxy.Close()
		_ = srv.Close()
	}, "http://" + proxyLn.Addr().String(), nil
}

// authority is a throw-away certificate authority that signs a server
// certificate for whichever host name a client asks for.
type authority struct {
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	certPEM []byte
	mu      sync.Mutex
	issued  map[string]*tls.Certificate
}

func newAuthority() (*authority, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "releasecheck test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &authority{
		cert:    cert,
		key:     key,
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		issued:  map[string]*tls.Certificate{},
	}, nil
}

func (a *authority) certificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	host := hello.ServerName
	if host == "" {
		return nil, errors.New("no server name (SNI) in the TLS handshake")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if c, ok := a.issued[host]; ok {
		return c, nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: host},
		DNSNames:     []string{host},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.cert, &key.PublicKey, a.key)
	if err != nil {
		return nil, err
	}
	c := &tls.Certificate{Certificate: [][]byte{der, a.cert.Raw}, PrivateKey: key}
	a.issued[host] = c
	return c, nil
}
