package acctest

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
)

// releaseMirror serves a HashiCorp-shaped release of a fake Packer 1.16.0
// (packer/1.16.0/index.json, the zip, SHA256SUMS and its detached
// signature), signed with a key of its own.
type releaseMirror struct {
	srv    *httptest.Server
	pubKey string // armored public key of the signer the tests trust
	// zip is what the mirror serves as the archive; sums and sig what it
	// serves as SHA256SUMS and its signature. Tests tamper with them.
	zip, sums, sig []byte
	hits           map[string]int
}

func newEntity(t *testing.T, name string) *openpgp.Entity {
	t.Helper()
	e, err := openpgp.NewEntity(name, "test", name+"@example.com", nil)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func armoredPublic(t *testing.T, e *openpgp.Entity) string {
	t.Helper()
	var b bytes.Buffer
	w, err := armor.Encode(&b, openpgp.PublicKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	mustDo(t, e.Serialize(w))
	mustDo(t, w.Close())
	return b.String()
}

func zipOf(t *testing.T, name, body string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	h := &zip.FileHeader{Name: name, Method: zip.Deflate}
	h.SetMode(0o755)
	w, err := zw.CreateHeader(h)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = w.Write([]byte(body))
	mustDo(t, zw.Close())
	return b.Bytes()
}

func sign(t *testing.T, e *openpgp.Entity, data []byte) []byte {
	t.Helper()
	var sig bytes.Buffer
	mustDo(t, openpgp.DetachSign(&sig, e, bytes.NewReader(data), nil))
	return sig.Bytes()
}

const mirrorVersion = "1.16.0"

func newReleaseMirror(t *testing.T) *releaseMirror {
	t.Helper()
	signer := newEntity(t, "release-signer")
	m := &releaseMirror{pubKey: armoredPublic(t, signer), hits: map[string]int{}}
	zipName := fmt.Sprintf("packer_%s_%s_%s.zip", mirrorVersion, runtime.GOOS, runtime.GOARCH)
	m.zip = zipOf(t, "packer", "#!/bin/sh\n"+fakePackerScript(mirrorVersion))
	sum := sha256.Sum256(m.zip)
	m.sums = []byte(hex.EncodeToString(sum[:]) + "  " + zipName + "\n")
	m.sig = sign(t, signer, m.sums)

	prefix := "/packer/" + mirrorVersion + "/"
	mux := http.NewServeMux()
	mux.HandleFunc(prefix+"index.json", func(w http.ResponseWriter, r *http.Request) {
		m.hits["index"]++
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"name": "packer", "version": mirrorVersion,
			"shasums":           "packer_" + mirrorVersion + "_SHA256SUMS",
			"shasums_signature": "packer_" + mirrorVersion + "_SHA256SUMS.sig",
			"builds": []map[string]string{{
				"name": "packer", "version": mirrorVersion, "os": runtime.GOOS, "arch": runtime.GOARCH,
				"filename": zipName, "url": m.srv.URL + prefix + zipName,
			}},
		})
	})
	mux.HandleFunc(prefix+zipName, func(w http.ResponseWriter, r *http.Request) {
		m.hits["zip"]++
		w.Header().Set("Content-Type", "application/zip")
		_, _ = w.Write(m.zip)
	})
	mux.HandleFunc(prefix+"packer_"+mirrorVersion+"_SHA256SUMS", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(m.sums)
	})
	mux.HandleFunc(prefix+"packer_"+mirrorVersion+"_SHA256SUMS.sig", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(m.sig)
	})
	m.srv = httptest.NewServer(mux)
	t.Cleanup(m.srv.Close)
	return m
}

// mirrorOpts installs from the mirror, trusting its key, with a fake go
// command that would build from the module if the harness fell back.
func mirrorOpts(t *testing.T, m *releaseMirror, g *fakeGo) EnsureOptions {
	opts := ensureOpts(t, nil, "", g)
	opts.ReleasesURL = m.srv.URL
	opts.releaseKey = m.pubKey
	return opts
}

func TestEnsurePacker_release(t *testing.T) {
	requireShell(t)
	m := newReleaseMirror(t)
	g := newFakeGo(t, mirrorVersion)
	opts := mirrorOpts(t, m, g)
	p, err := EnsurePacker(t.Context(), opts)
	if err != nil {
		t.Fatalf("expected the release installed, found %v\nprogress:\n%s", err, opts.Progress)
	}
	if p.Source != FromRelease || p.Path != cachedPath(opts) || p.Version.String() != mirrorVersion {
		t.Errorf("expected %s from the release at %s, found %+v", mirrorVersion, cachedPath(opts), p)
	}
	if g.builds(t) != 0 {
		t.Errorf("expected no build from the module, found %d", g.builds(t))
	}
	if !strings.Contains(opts.Progress.(*syncBuffer).String(), "downloading Packer 1.16.0 from "+m.srv.URL) {
		t.Errorf("expected the progress to name the mirror, found:\n%s", opts.Progress)
	}
	// Cached by version: the second call downloads nothing.
	p, err = EnsurePacker(t.Context(), opts)
	if err != nil || p.Source != FromCache || m.hits["zip"] != 1 {
		t.Fatalf("expected the cached release and 1 download, found %+v, %v, %d downloads", p, err, m.hits["zip"])
	}
}

func TestEnsurePacker_releaseRefused(t *testing.T) {
	requireShell(t)
	for _, tc := range []struct {
		name, reason, want string
		tamper             func(t *testing.T, m *releaseMirror)
	}{
		{"tampered zip", "checksum", "the zip does not match the signed SHA256SUMS", func(t *testing.T, m *releaseMirror) {
			m.zip = zipOf(t, "packer", "#!/bin/sh\necho pwned\n")
		}},
		{"bad signature", "signature", "its SHA256SUMS signature does not verify", func(t *testing.T, m *releaseMirror) {
			m.sig = sign(t, newEntity(t, "impostor"), m.sums)
		}},
		{"sums changed after signing", "signature", "its SHA256SUMS signature does not verify", func(t *testing.T, m *releaseMirror) {
			m.zip = zipOf(t, "packer", "#!/bin/sh\necho pwned\n")
			sum := sha256.Sum256(m.zip)
			m.sums = []byte(hex.EncodeToString(sum[:]) + "  " + fmt.Sprintf("packer_%s_%s_%s.zip", mirrorVersion, runtime.GOOS, runtime.GOARCH) + "\n")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newReleaseMirror(t)
			tc.tamper(t, m)
			g := newFakeGo(t, mirrorVersion)
			opts := mirrorOpts(t, m, g)
			_, err := EnsurePacker(t.Context(), opts)
			var refused *ReleaseRefusedError
			if !errors.As(err, &refused) || refused.Reason != tc.reason || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("expected a refusal for its %s (%q), found %v", tc.reason, tc.want, err)
			}
			if !strings.Contains(err.Error(), "refusing Packer 1.16.0 from "+m.srv.URL) {
				t.Errorf("expected the error to name the version and mirror, found %v", err)
			}
			if g.builds(t) != 0 {
				t.Errorf("expected no fallback build after a refusal, found %d", g.builds(t))
			}
			if _, err := os.Stat(cachedPath(opts)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("expected nothing installed, found %v", err)
			}
		})
	}
}

// An unreachable release site is reported within seconds and the harness
// builds from the module, saying so; a mirror without the version too.
func TestEnsurePacker_releaseUnavailable(t *testing.T) {
	requireShell(t)
	t.Run("unreachable", func(t *testing.T) {
		g := newFakeGo(t, mirrorVersion)
		opts := ensureOpts(t, nil, "", g) // ReleasesURL: nothing listens there
		p, err := EnsurePacker(t.Context(), opts)
		if err != nil || p.Source != FromInstall || g.builds(t) != 1 {
			t.Fatalf("expected a build from the module, found %+v, %v, %d builds", p, err, g.builds(t))
		}
		if !strings.Contains(opts.Progress.(*syncBuffer).String(), "cannot reach the Packer release at "+opts.ReleasesURL) {
			t.Errorf("expected the progress to say the release site is unreachable, found:\n%s", opts.Progress)
		}
	})
	t.Run("version not on mirror", func(t *testing.T) {
		m := newReleaseMirror(t)
		g := newFakeGo(t, mirrorVersion)
		opts := mirrorOpts(t, m, g)
		opts.Version = "1.15.0"
		g2 := newFakeGo(t, "1.15.0")
		opts.goBin = g2.bin
		_, err := EnsurePacker(t.Context(), opts)
		progress := opts.Progress.(*syncBuffer).String()
		if !strings.Contains(progress, "404 Not Found") || !strings.Contains(progress, "building Packer 1.15.0") {
			t.Errorf("expected the missing version reported and a build from the module, found:\n%s", progress)
		}
		// The fake go serves only packer@v1.16.0: the module download fails,
		// which proves the fallback was taken.
		if err == nil || !strings.Contains(err.Error(), "downloading github.com/hashicorp/packer@v1.15.0") {
			t.Errorf("expected the fallback's module download to be tried, found %v", err)
		}
	})
}

// The fallback build prints a line at least every progressEvery.
func TestEnsurePacker_buildProgress(t *testing.T) {
	requireShell(t)
	g := newFakeGo(t, mirrorVersion)
	opts := ensureOpts(t, nil, "", g)
	opts.progressEvery = 50 * time.Millisecond // the fake build sleeps 0.2 s
	if _, err := EnsurePacker(t.Context(), opts); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(opts.Progress.(*syncBuffer).String(), "building Packer 1.16.0 from its Go module: still working") {
		t.Errorf("expected periodic progress during the build, found:\n%s", opts.Progress)
	}
}
