package acctest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// The installer is tested with a fake go command and fake packer binaries
// (shell scripts), so these tests need a Unix shell but no network.

func requireShell(t *testing.T) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the fakes are shell scripts")
	}
}

func writeScript(t *testing.T, path, body string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// fakePackerScript answers `packer -machine-readable version`.
func fakePackerScript(v string) string {
	return fmt.Sprintf("echo '1,,version,%s'\necho '1,,version-prelease,'\n", v)
}

func writeFakePacker(t *testing.T, path, v string) string {
	return writeScript(t, path, fakePackerScript(v))
}

// fakeGo emulates `go mod download -json` (pointing at a read-only module
// directory) and `go build -o OUT .` (writing a fake packer reporting
// builtVersion, and logging each build to the returned counter file).
type fakeGo struct {
	bin, counter, modDir string
}

func newFakeGo(t *testing.T, builtVersion string) *fakeGo {
	t.Helper()
	dir := t.TempDir()
	f := &fakeGo{counter: filepath.Join(dir, "builds"), modDir: filepath.Join(dir, "mod", "packer@v1.16.0")}
	if err := os.MkdirAll(filepath.Join(f.modDir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	mustWriteFile(t, filepath.Join(f.modDir, "main.go"), "package main\n", 0o444)
	mustWriteFile(t, filepath.Join(f.modDir, "sub", "x.go"), "package sub\n", 0o444)
	// Read-only like the module cache; writable again so t.TempDir can go.
	mustDo(t, os.Chmod(filepath.Join(f.modDir, "sub"), 0o555))
	t.Cleanup(func() { _ = os.Chmod(filepath.Join(f.modDir, "sub"), 0o755) })
	f.bin = writeScript(t, filepath.Join(dir, "go"), fmt.Sprintf(`
case "$1" in
mod)
  [ "$4" = "github.com/hashicorp/packer@v1.16.0" ] || { echo '{"Error": "unexpected module '"$4"'"}'; exit 1; }
  echo '{"Path": "github.com/hashicorp/packer", "Version": "v1.16.0", "Dir": "%s"}'
  ;;
build)
  [ -w main.go ] && [ -w sub/x.go ] || { echo "module copy is not writable" >&2; exit 1; }
  [ "$GOFLAGS" = "-mod=readonly" ] && [ "$GOWORK" = "off" ] || { echo "bad env" >&2; exit 1; }
  # Built as Packer's release workflow builds it.
  [ "$CGO_ENABLED" = "0" ] || { echo "not a static build: CGO_ENABLED=$CGO_ENABLED" >&2; exit 1; }
  case " $* " in *" -trimpath "*) ;; *) echo "no -trimpath in: $*" >&2; exit 1 ;; esac
  out=
  while [ $# -gt 0 ]; do [ "$1" = -o ] && out=$2; shift; done
  echo built >> %s
  sleep 0.2
  cat > "$out" <<'EOF'
#!/bin/sh
%sEOF
  chmod +x "$out"
  echo "compiled" >&2
  ;;
esac
`, f.modDir, f.counter, fakePackerScript(builtVersion)))
	return f
}

func (f *fakeGo) builds(t *testing.T) int {
	data, err := os.ReadFile(f.counter)
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(data), "built\n")
}

// ensureOpts isolates EnsurePacker from the real environment and PATH.
func ensureOpts(t *testing.T, env map[string]string, pathPacker string, g *fakeGo) EnsureOptions {
	opts := EnsureOptions{
		CacheDir:    t.TempDir(),
		ReleasesURL: unreachableURL(t),
		Progress:    &syncBuffer{},
		getenv:      func(k string) string { return env[k] },
		lookPath: func(string) (string, error) {
			if pathPacker == "" {
				return "", errors.New("not on PATH")
			}
			return pathPacker, nil
		},
	}
	if g != nil {
		opts.goBin = g.bin
	} else {
		opts.goBin = filepath.Join(t.TempDir(), "no-go-here")
	}
	return opts
}

// unreachableURL is a local address nothing listens on: the release site
// of a machine without internet.
func unreachableURL(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := "http://" + l.Addr().String()
	_ = l.Close()
	return u
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func cachedPath(opts EnsureOptions) string {
	return filepath.Join(opts.CacheDir, "packer_1.16.0_"+runtime.GOOS+"_"+runtime.GOARCH, "packer")
}

func TestEnsurePacker_packerBin(t *testing.T) {
	requireShell(t)
	dir := t.TempDir()
	good := writeFakePacker(t, filepath.Join(dir, "good"), "1.16.2")
	old := writeFakePacker(t, filepath.Join(dir, "old"), "1.10.5")

	opts := ensureOpts(t, map[string]string{EnvPackerBin: good}, old, nil)
	// A fitting cached install does not win over PACKER_BIN.
	writeFakePacker(t, cachedPath(opts), "1.16.0")
	p, err := EnsurePacker(t.Context(), opts)
	if err != nil || p.Path != good || p.Source != FromEnv || p.Version.String() != "1.16.2" {
		t.Fatalf("expected %s from PACKER_BIN at 1.16.2, found %+v, %v", good, p, err)
	}

	opts = ensureOpts(t, map[string]string{EnvPackerBin: old}, good, nil)
	_, err = EnsurePacker(t.Context(), opts)
	var mismatch *VersionMismatchError
	if !errors.As(err, &mismatch) || mismatch.Found.String() != "1.10.5" || mismatch.Constraint != ">= 1.11.0" || mismatch.Source != FromEnv || mismatch.Path != old {
		t.Fatalf("expected a version mismatch for 1.10.5, found %v", err)
	}
	if !strings.Contains(err.Error(), "PACKER_BIN="+old) || !strings.Contains(err.Error(), "is version 1.10.5, expected >= 1.11.0") {
		t.Errorf("expected the error to name PACKER_BIN and both versions, found %v", err)
	}

	// Any version the plugin supports is accepted: the oldest too.
	oldest := writeFakePacker(t, filepath.Join(dir, "oldest"), "1.11.2")
	opts = ensureOpts(t, map[string]string{EnvPackerBin: oldest}, good, nil)
	if p, err = EnsurePacker(t.Context(), opts); err != nil || p.Version.String() != "1.11.2" {
		t.Fatalf("expected PACKER_BIN at 1.11.2 accepted, found %+v, %v", p, err)
	}

	// A bare name is looked up on PATH.
	opts = ensureOpts(t, map[string]string{EnvPackerBin: "packer"}, good, nil)
	if p, err = EnsurePacker(t.Context(), opts); err != nil || p.Path != good || p.Source != FromEnv {
		t.Fatalf("expected PACKER_BIN=packer to find %s on PATH, found %+v, %v", good, p, err)
	}

	opts = ensureOpts(t, map[string]string{EnvPackerBin: filepath.Join(dir, "nope")}, good, nil)
	if _, err = EnsurePacker(t.Context(), opts); err == nil || !strings.Contains(err.Error(), "PACKER_BIN=") || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("expected a missing PACKER_BIN to be an error, found %v", err)
	}
}

func TestEnsurePacker_order(t *testing.T) {
	requireShell(t)
	dir := t.TempDir()
	onPath := writeFakePacker(t, filepath.Join(dir, "path", "packer"), "1.16.0")

	// The cached pinned install comes before PATH.
	opts := ensureOpts(t, nil, onPath, nil)
	cached := writeFakePacker(t, cachedPath(opts), "1.16.0")
	p, err := EnsurePacker(t.Context(), opts)
	if err != nil || p.Path != cached || p.Source != FromCache {
		t.Fatalf("expected the cached %s, found %+v, %v", cached, p, err)
	}

	// Without a cache, a PATH packer of the selected version is used.
	opts = ensureOpts(t, nil, onPath, nil)
	p, err = EnsurePacker(t.Context(), opts)
	if err != nil || p.Path != onPath || p.Source != FromPath {
		t.Fatalf("expected %s from PATH, found %+v, %v", onPath, p, err)
	}

	// A cached binary of the wrong version is ignored.
	opts = ensureOpts(t, nil, onPath, nil)
	writeFakePacker(t, cachedPath(opts), "1.16.9")
	p, err = EnsurePacker(t.Context(), opts)
	if err != nil || p.Source != FromPath {
		t.Fatalf("expected the mismatched cache skipped for PATH, found %+v, %v", p, err)
	}
	if !strings.Contains(opts.Progress.(*syncBuffer).String(), "reports version 1.16.9") {
		t.Errorf("expected the progress to say why the cache was skipped, found %q", opts.Progress)
	}
}

func TestEnsurePacker_install(t *testing.T) {
	requireShell(t)
	dir := t.TempDir()
	old := writeFakePacker(t, filepath.Join(dir, "packer"), "1.10.0")
	g := newFakeGo(t, "1.16.0")
	opts := ensureOpts(t, nil, old, g)

	p, err := EnsurePacker(t.Context(), opts)
	if err != nil {
		t.Fatalf("expected an install, found %v\nprogress:\n%s", err, opts.Progress)
	}
	if p.Source != FromInstall || p.Path != cachedPath(opts) || p.Version.String() != "1.16.0" {
		t.Errorf("expected 1.16.0 installed at %s, found %+v", cachedPath(opts), p)
	}
	progress := opts.Progress.(*syncBuffer).String()
	for _, want := range []string{"not using packer from PATH", "is version 1.10.0, expected >= 1.11.0", "installing Packer 1.16.0",
		"cannot reach the Packer release at " + opts.ReleasesURL, "building Packer 1.16.0 from github.com/hashicorp/packer@v1.16.0 instead", "compiled", "installed Packer 1.16.0"} {
		if !strings.Contains(progress, want) {
			t.Errorf("expected progress to mention %q, found:\n%s", want, progress)
		}
	}
	entries, _ := os.ReadDir(opts.CacheDir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".build-") {
			t.Errorf("expected the build directory removed, found %s", e.Name())
		}
	}

	// The second call finds the install at once.
	p, err = EnsurePacker(t.Context(), opts)
	if err != nil || p.Source != FromCache || g.builds(t) != 1 {
		t.Fatalf("expected the cached install and 1 build, found %+v, %v, %d builds", p, err, g.builds(t))
	}
}

// Parallel test binaries (go test ./...) install at the same time: one
// builds, the others wait for the lock and find its result.
func TestEnsurePacker_concurrentInstall(t *testing.T) {
	requireShell(t)
	g := newFakeGo(t, "1.16.0")
	opts := ensureOpts(t, nil, "", g)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	paths := make([]string, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := EnsurePacker(t.Context(), opts)
			errs[i] = err
			if err == nil {
				paths[i] = p.Path
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil || paths[i] != cachedPath(opts) {
			t.Errorf("caller %d: expected %s, found %q, %v", i, cachedPath(opts), paths[i], err)
		}
	}
	if n := g.builds(t); n != 1 {
		t.Errorf("expected exactly 1 build, found %d", n)
	}
}

func TestEnsurePacker_installFailures(t *testing.T) {
	requireShell(t)
	t.Run("wrong version built", func(t *testing.T) {
		opts := ensureOpts(t, nil, "", newFakeGo(t, "1.15.0"))
		_, err := EnsurePacker(t.Context(), opts)
		var mismatch *VersionMismatchError
		if !errors.As(err, &mismatch) || mismatch.Found.String() != "1.15.0" || mismatch.Source != FromInstall {
			t.Fatalf("expected a mismatch for the built 1.15.0, found %v", err)
		}
		if _, err := os.Stat(cachedPath(opts)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("expected nothing installed, found %v", err)
		}
	})
	t.Run("download fails", func(t *testing.T) {
		opts := ensureOpts(t, nil, "", newFakeGo(t, "1.16.0"))
		opts.Version = "1.16.5"
		_, err := EnsurePacker(t.Context(), opts)
		if err == nil || !strings.Contains(err.Error(), "downloading github.com/hashicorp/packer@v1.16.5: unexpected module github.com/hashicorp/packer@v1.16.5") {
			t.Fatalf("expected the module error, found %v", err)
		}
	})
	t.Run("no go command", func(t *testing.T) {
		opts := ensureOpts(t, nil, "", nil)
		_, err := EnsurePacker(t.Context(), opts)
		if err == nil || !strings.Contains(err.Error(), "downloading github.com/hashicorp/packer@v1.16.0") {
			t.Fatalf("expected an error about the go command, found %v", err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := EnsurePacker(ctx, ensureOpts(t, nil, "", newFakeGo(t, "1.16.0")))
		if err == nil {
			t.Fatal("expected a cancelled install to fail")
		}
	})
}

// PACKER_ACC_VERSION selects the version looked for in the cache and
// installed, cached apart from the pinned one.
func TestEnsurePacker_versionFromEnv(t *testing.T) {
	requireShell(t)
	opts := ensureOpts(t, map[string]string{EnvPackerVersion: "1.12.0"}, "", nil)
	writeFakePacker(t, cachedPath(opts), "1.16.0")
	want := filepath.Join(opts.CacheDir, "packer_1.12.0_"+runtime.GOOS+"_"+runtime.GOARCH, "packer")
	writeFakePacker(t, want, "1.12.0")
	p, err := EnsurePacker(t.Context(), opts)
	if err != nil || p.Path != want || p.Version.String() != "1.12.0" || p.Source != FromCache {
		t.Fatalf("expected the cached 1.12.0 at %s, found %+v, %v", want, p, err)
	}
	opts = ensureOpts(t, map[string]string{EnvPackerVersion: "1.9.0"}, "", nil)
	if _, err := EnsurePacker(t.Context(), opts); err == nil || !strings.Contains(err.Error(), "1.9.0 (PACKER_ACC_VERSION) is outside the supported range") {
		t.Fatalf("expected PACKER_ACC_VERSION=1.9.0 refused, found %v", err)
	}
}

func TestEnsurePacker_badPin(t *testing.T) {
	for _, tc := range []struct{ version, constraint, want string }{
		{"1.10.0", "", `packer version 1.10.0 (EnsureOptions.Version) is outside the supported range ">= 1.11.0"`},
		{"1.17.0", "~> 1.16.0", `packer version 1.17.0 (EnsureOptions.Version) is outside the supported range "~> 1.16.0"`},
		{"one", "~> 1.16.0", `packer version "one"`},
		{"1.16.0", "about 1.16", `packer version constraint "about 1.16"`},
	} {
		_, err := EnsurePacker(t.Context(), EnsureOptions{Version: tc.version, Constraint: tc.constraint, CacheDir: t.TempDir()})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("expected %q, found %v", tc.want, err)
		}
	}
}

func TestDefaultCacheDir(t *testing.T) {
	dir, err := defaultCacheDir(func(k string) string {
		if k == EnvCacheDir {
			return "rel/cache"
		}
		return ""
	})
	abs, _ := filepath.Abs("rel/cache")
	if err != nil || dir != abs {
		t.Errorf("expected %s from %s, found %s, %v", abs, EnvCacheDir, dir, err)
	}
	dir, err = defaultCacheDir(func(string) string { return "" })
	if err == nil && filepath.Base(dir) != "packer-acctest" {
		t.Errorf("expected a packer-acctest directory, found %s", dir)
	}
}

func TestCopyTreeWritable(t *testing.T) {
	requireShell(t)
	g := newFakeGo(t, "1.16.0")
	dst := filepath.Join(t.TempDir(), "copy")
	if err := copyTreeWritable(g.modDir, dst); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"main.go", "sub/x.go"} {
		fi, err := os.Stat(filepath.Join(dst, f))
		if err != nil || fi.Mode().Perm()&0o200 == 0 {
			t.Errorf("expected %s copied and writable, found %v, %v", f, fi, err)
		}
	}
	if err := os.RemoveAll(dst); err != nil {
		t.Errorf("expected the copy removable, found %v", err)
	}
}
