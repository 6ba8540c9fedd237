package acctest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/gofrs/flock"
	"github.com/hashicorp/go-version"
)

// PackerVersion is the Packer version the harness installs when it finds no
// usable Packer and PACKER_ACC_VERSION does not name another. A fork bumps
// it to test against a newer Packer by default.
var PackerVersion = "1.16.0"

// MinPackerVersion is the oldest Packer the plugin declares it supports;
// the acceptance suite passes (or skips with reasons) there and on
// PackerVersion, and CI runs both. 1.11 is the last Packer that speaks only
// gob to plugins.
var MinPackerVersion = "1.11.0"

// PackerConstraint is the range of Packer versions the harness accepts from
// PACKER_BIN and PACKER_ACC_VERSION: the plugin's minimum. A case that needs
// a newer Packer says so with PackerVersionChecks.
var PackerConstraint = ">= " + MinPackerVersion

// PackerModule is the Go module Packer is built from when it is installed.
const PackerModule = "github.com/hashicorp/packer"

// Environment variables the harness reads.
const (
	// EnvAcc enables acceptance tests when set to anything but "" or "0".
	EnvAcc = "PACKER_ACC"
	// EnvPackerBin names the Packer binary to use; it must exist and satisfy
	// PackerConstraint.
	EnvPackerBin = "PACKER_BIN"
	// EnvPackerVersion selects the Packer version to find or install instead
	// of PackerVersion (make testacc/packer/example PACKER_ACC_VERSION=1.11.2).
	EnvPackerVersion = "PACKER_ACC_VERSION"
	// EnvCacheDir overrides where installed Packer binaries are cached.
	EnvCacheDir = "PACKER_ACC_CACHE_DIR"
	// EnvKeep keeps each run's directory (work dir, logs) after the test when
	// set to anything but "" or "0"; its path is printed.
	EnvKeep = "PACKER_ACC_KEEP"
)

// PackerSource says where EnsurePacker found the Packer binary.
type PackerSource string

// The places EnsurePacker looks, in order.
const (
	FromEnv   PackerSource = EnvPackerBin
	FromCache PackerSource = "cache"
	FromPath  PackerSource = "PATH"
	// FromRelease is a verified official release, just downloaded.
	FromRelease PackerSource = "release"
	// FromInstall is a Packer just built from its Go module, the fallback
	// when the release site cannot be reached.
	FromInstall PackerSource = "install"
)

// Packer is a Packer binary the harness runs.
type Packer struct {
	// Path is the binary's absolute path.
	Path string
	// Version is what the binary reports.
	Version *version.Version
	// Source says how it was found.
	Source PackerSource
}

// VersionMismatchError reports a Packer binary whose version is outside the
// accepted range.
type VersionMismatchError struct {
	// Path is the binary that was checked.
	Path string
	// Source says where the binary came from.
	Source PackerSource
	// Found is the version the binary reports.
	Found *version.Version
	// Constraint is the range it had to satisfy.
	Constraint string
}

func (e *VersionMismatchError) Error() string {
	return fmt.Sprintf("packer %s (from %s) is version %s, expected %s", e.Path, e.Source, e.Found, e.Constraint)
}

// EnsureOptions tunes EnsurePacker. The zero value uses the package defaults.
type EnsureOptions struct {
	// Version is the version to find or install; default
	// $PACKER_ACC_VERSION, else PackerVersion.
	Version string
	// ReleasesURL is the release mirror; default $PACKER_ACC_RELEASES_URL,
	// else DefaultReleasesURL.
	ReleasesURL string
	// Constraint is the accepted range; default PackerConstraint.
	Constraint string
	// CacheDir holds installed binaries; default DefaultCacheDir().
	CacheDir string
	// Progress receives one line per thing EnsurePacker does, and the output
	// of a build; nil discards it.
	Progress io.Writer

	// getenv, lookPath and goBin replace the environment, PATH lookup and the
	// go command in tests.
	getenv   func(string) string
	lookPath func(string) (string, error)
	goBin    string
	// releaseKey replaces HashiCorp's release signing key (tests sign
	// their mirror with a key of their own); progressEvery is the interval
	// of "still working" lines.
	releaseKey    string
	progressEvery time.Duration
}

// DefaultCacheDir is where installed Packer binaries are cached:
// $PACKER_ACC_CACHE_DIR, or packer-acctest in the user's cache directory.
func DefaultCacheDir() (string, error) {
	return defaultCacheDir(os.Getenv)
}

func defaultCacheDir(getenv func(string) string) (string, error) {
	if dir := getenv(EnvCacheDir); dir != "" {
		return filepath.Abs(dir)
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache directory for Packer (set %s): %w", EnvCacheDir, err)
	}
	return filepath.Join(base, "packer-acctest"), nil
}

// EnsurePacker returns a Packer binary satisfying the constraint. It tries,
// in order: $PACKER_BIN (any version that fits the constraint, or it is an
// error), a cached install of the selected version (PACKER_ACC_VERSION or
// PackerVersion), `packer` on PATH if it is that version, and finally
// installs that version into the cache: the official release through
// hc-install (zip checked against SHA256SUMS, SHA256SUMS against
// HashiCorp's signature; PACKER_ACC_RELEASES_URL for a mirror), or, when
// the release site cannot be reached (said within seconds), by building it
// from its Go module, with a progress line at least every 10 seconds.
// Concurrent callers, in this process or others, install it once.
func EnsurePacker(ctx context.Context, opts EnsureOptions) (*Packer, error) {
	e, err := newEnsurer(opts)
	if err != nil {
		return nil, err
	}
	return e.ensure(ctx)
}

type ensurer struct {
	opts       EnsureOptions
	pinned     *version.Version
	constraint version.Constraints
	binPath    string // where the pinned version lives in the cache
}

func newEnsurer(opts EnsureOptions) (*ensurer, error) {
	if opts.getenv == nil {
		opts.getenv = os.Getenv
	}
	versionFrom := "EnsureOptions.Version"
	if opts.Version == "" {
		opts.Version, versionFrom = opts.getenv(EnvPackerVersion), EnvPackerVersion
	}
	if opts.Version == "" {
		opts.Version, versionFrom = PackerVersion, "acctest.PackerVersion"
	}
	if opts.progressEvery == 0 {
		opts.progressEvery = 10 * time.Second
	}
	if opts.Constraint == "" {
		opts.Constraint = PackerConstraint
	}
	if opts.Progress == nil {
		opts.Progress = io.Discard
	}
	if opts.lookPath == nil {
		opts.lookPath = exec.LookPath
	}
	if opts.goBin == "" {
		opts.goBin = "go"
	}
	pinned, err := version.NewSemver(opts.Version)
	if err != nil {
		return nil, fmt.Errorf("packer version %q (%s): %w", opts.Version, versionFrom, err)
	}
	constraint, err := version.NewConstraint(opts.Constraint)
	if err != nil {
		return nil, fmt.Errorf("packer version constraint %q: %w", opts.Constraint, err)
	}
	if !constraint.Check(pinned) {
		return nil, fmt.Errorf("packer version %s (%s) is outside the supported range %q (PackerConstraint)", pinned, versionFrom, opts.Constraint)
	}
	if opts.CacheDir == "" {
		if opts.CacheDir, err = defaultCacheDir(opts.getenv); err != nil {
			return nil, err
		}
	}
	name := fmt.Sprintf("packer_%s_%s_%s", pinned, runtime.GOOS, runtime.GOARCH)
	return &ensurer{
		opts:       opts,
		pinned:     pinned,
		constraint: constraint,
		binPath:    filepath.Join(opts.CacheDir, name, exeName("packer")),
	}, nil
}

func (e *ensurer) progressf(format string, args ...any) {
	_, _ = fmt.Fprintf(e.opts.Progress, format+"\n", args...)
}

func (e *ensurer) ensure(ctx context.Context) (*Packer, error) {
	if bin := e.opts.getenv(EnvPackerBin); bin != "" {
		// A bare name ("packer") is looked up on PATH, like a shell would.
		if !strings.ContainsRune(bin, filepath.Separator) && !strings.ContainsRune(bin, '/') {
			found, err := e.opts.lookPath(bin)
			if err != nil {
				return nil, fmt.Errorf("%s=%s: %w", EnvPackerBin, bin, err)
			}
			bin = found
		}
		p, err := e.check(ctx, bin, FromEnv)
		if err != nil {
			return nil, fmt.Errorf("%s=%s: %w", EnvPackerBin, bin, err)
		}
		return p, nil
	}
	if p, ok := e.cached(ctx); ok {
		return p, nil
	}
	if bin, err := e.opts.lookPath("packer"); err == nil {
		p, err := e.check(ctx, bin, FromPath)
		switch {
		case err != nil:
			e.progressf("not using packer from PATH: %v", err)
		case !p.Version.Equal(e.pinned):
			e.progressf("not using packer from PATH: %s is version %s, not the selected %s (set %s=%s to use it)", p.Path, p.Version, e.pinned, EnvPackerBin, p.Path)
		default:
			return p, nil
		}
	}
	return e.install(ctx)
}

// check resolves bin and accepts it if its version satisfies the constraint.
func (e *ensurer) check(ctx context.Context, bin string, src PackerSource) (*Packer, error) {
	abs, err := filepath.Abs(bin)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		return nil, fmt.Errorf("%s is a directory, not a Packer binary", abs)
	}
	v, err := e.versionOf(ctx, abs, fi)
	if err != nil {
		return nil, err
	}
	if !e.constraint.Check(v) {
		return nil, &VersionMismatchError{Path: abs, Source: src, Found: v, Constraint: e.opts.Constraint}
	}
	return &Packer{Path: abs, Version: v, Source: src}, nil
}

// cached returns the cached pinned install, if there is a working one.
func (e *ensurer) cached(ctx context.Context) (*Packer, bool) {
	if _, err := os.Stat(e.binPath); err != nil {
		return nil, false
	}
	p, err := e.check(ctx, e.binPath, FromCache)
	if err != nil {
		e.progressf("ignoring cached packer: %v", err)
		return nil, false
	}
	if !p.Version.Equal(e.pinned) {
		e.progressf("ignoring cached packer %s: it reports version %s", e.binPath, p.Version)
		return nil, false
	}
	return p, true
}

// install builds the pinned Packer into the cache. A file lock serialises
// installers; whoever gets it second finds the binary already there.
func (e *ensurer) install(ctx context.Context) (*Packer, error) {
	dir := filepath.Dir(e.binPath)
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, fmt.Errorf("packer cache: %w", err)
	}
	lock := flock.New(dir + ".lock")
	locked, err := lock.TryLock()
	if err != nil {
		return nil, fmt.Errorf("locking %s: %w", lock.Path(), err)
	}
	if !locked {
		e.progressf("waiting for another process that is installing Packer %s (lock %s)", e.pinned, lock.Path())
		if _, err := lock.TryLockContext(ctx, 250*time.Millisecond); err != nil {
			return nil, fmt.Errorf("waiting for lock %s: %w", lock.Path(), err)
		}
	}
	defer func() { _ = lock.Unlock() }()

	if p, ok := e.cached(ctx); ok {
		return p, nil
	}
	// The install happens under the cache dir so the final rename stays on
	// one file system.
	work, err := os.MkdirTemp(filepath.Dir(dir), ".build-")
	if err != nil {
		return nil, fmt.Errorf("packer cache: %w", err)
	}
	defer func() { _ = os.RemoveAll(work) }()

	e.progressf("installing Packer %s into %s", e.pinned, dir)
	src := FromRelease
	built, err := e.installRelease(ctx, work)
	var unavailable *releaseUnavailableError
	switch {
	case errors.As(err, &unavailable):
		e.progressf("%v", err)
		e.progressf("building Packer %s from %s@v%s instead (several minutes the first time)", e.pinned, PackerModule, e.pinned)
		src = FromInstall
		stop := e.ticker(fmt.Sprintf("building Packer %s from its Go module", e.pinned))
		built, err = e.buildFromModule(ctx, work)
		stop()
		if err != nil {
			return nil, err
		}
	case err != nil:
		return nil, err
	}
	v, err := PackerVersionOf(ctx, built)
	if err != nil {
		return nil, fmt.Errorf("checking the packer just built: %w", err)
	}
	if !v.Equal(e.pinned) {
		return nil, &VersionMismatchError{Path: built, Source: src, Found: v, Constraint: "= " + e.pinned.String()}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("packer cache: %w", err)
	}
	if err := os.Rename(built, e.binPath); err != nil {
		return nil, fmt.Errorf("packer cache: %w", err)
	}
	e.progressf("installed Packer %s at %s (%s)", v, e.binPath, src)
	return &Packer{Path: e.binPath, Version: v, Source: src}, nil
}

// buildFromModule builds Packer from its Go module in work and returns the
// binary's path.
func (e *ensurer) buildFromModule(ctx context.Context, work string) (string, error) {
	modDir, err := e.downloadModule(ctx, work)
	if err != nil {
		return "", err
	}
	src := filepath.Join(work, "src")
	if err := copyTreeWritable(modDir, src); err != nil {
		return "", fmt.Errorf("copying %s: %w", modDir, err)
	}
	built := filepath.Join(work, exeName("packer"))
	// As Packer's release workflow builds it: static (no cgo), trimmed
	// paths, no VCS stamp. A cgo build also runs slower under the harness:
	// every one of its processes loads libc and makes its threads with
	// pthread_create.
	if err := e.goCommand(ctx, src, nil, "build", "-trimpath", "-buildvcs=false", "-o", built, "."); err != nil {
		return "", fmt.Errorf("building packer from %s@v%s: %w", PackerModule, e.pinned, err)
	}
	return built, nil
}

// downloadModule fetches Packer's module into the module cache and returns
// its (read-only) directory. It runs outside any module so the caller's
// go.mod is not involved.
func (e *ensurer) downloadModule(ctx context.Context, work string) (string, error) {
	var out bytes.Buffer
	ref := fmt.Sprintf("%s@v%s", PackerModule, e.pinned)
	if err := e.goCommand(ctx, work, &out, "mod", "download", "-json", ref); err != nil {
		// go mod download -json reports module errors in its JSON too.
		var info struct{ Error string }
		if json.Unmarshal(out.Bytes(), &info) == nil && info.Error != "" {
			return "", fmt.Errorf("downloading %s: %s", ref, info.Error)
		}
		return "", fmt.Errorf("downloading %s: %w", ref, err)
	}
	var info struct {
		Dir   string
		Error string
	}
	if err := json.Unmarshal(out.Bytes(), &info); err != nil {
		return "", fmt.Errorf("downloading %s: reading go mod download output: %w", ref, err)
	}
	if info.Error != "" || info.Dir == "" {
		return "", fmt.Errorf("downloading %s: no module directory (%s)", ref, info.Error)
	}
	return info.Dir, nil
}

// goCommand runs the go command in dir. Its stdout goes to stdout when given,
// else to the progress writer; stderr always goes to progress and is quoted in
// the error.
func (e *ensurer) goCommand(ctx context.Context, dir string, stdout io.Writer, args ...string) error {
	cmd := exec.CommandContext(ctx, e.opts.goBin, args...)
	cmd.Dir = dir
	// Packer's module is its own main module: no workspace, no vendoring,
	// and its go.sum is authoritative.
	cmd.Env = append(os.Environ(), "GOWORK=off", "GO111MODULE=on", "GOFLAGS=-mod=readonly", "CGO_ENABLED=0")
	var stderr tailBuffer
	cmd.Stderr = io.MultiWriter(e.opts.Progress, &stderr)
	cmd.Stdout = e.opts.Progress
	if stdout != nil {
		cmd.Stdout = stdout
	}
	setProcessGroup(cmd)
	cmd.Cancel = func() error { return killProcessGroup(cmd) }
	err := cmd.Run()
	_ = killProcessGroup(cmd) // nothing of the go command may keep running
	if err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return fmt.Errorf("installing Packer needs the go command on PATH: %w", err)
		}
		return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return nil
}

// versionOf is PackerVersionOf, remembered in the cache directory by the
// binary's path, size and modification time: `packer version` takes about
// 0.3 s (Packer re-executes itself under panicwrap), paid once per binary
// instead of once per test process.
func (e *ensurer) versionOf(ctx context.Context, abs string, fi os.FileInfo) (*version.Version, error) {
	sum := sha256.Sum256([]byte(abs))
	memo := filepath.Join(e.opts.CacheDir, "versions", hex.EncodeToString(sum[:8]))
	key := fmt.Sprintf("%s\x00%d\x00%d\x00", abs, fi.Size(), fi.ModTime().UnixNano())
	if data, err := os.ReadFile(memo); err == nil {
		if rest, ok := strings.CutPrefix(string(data), key); ok {
			if v, err := version.NewVersion(rest); err == nil {
				return v, nil
			}
		}
	}
	v, err := PackerVersionOf(ctx, abs)
	if err != nil {
		return nil, err
	}
	if os.MkdirAll(filepath.Dir(memo), 0o755) == nil {
		if tmp, err := os.CreateTemp(filepath.Dir(memo), ".memo-"); err == nil {
			_, werr := tmp.WriteString(key + v.Original())
			if cerr := tmp.Close(); werr == nil && cerr == nil {
				_ = os.Rename(tmp.Name(), memo)
			} else {
				_ = os.Remove(tmp.Name())
			}
		}
	}
	return v, nil
}

// PackerVersionOf asks a Packer binary for its version. It runs it with a
// throw-away home and plugin directory, so your Packer setup is neither
// read nor touched.
func PackerVersionOf(ctx context.Context, bin string) (*version.Version, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	root, err := os.MkdirTemp("", "packer-version-")
	if err != nil {
		return nil, err
	}
	defer func() { _ = os.RemoveAll(root) }()
	iso := isolation{Root: root, PluginDir: filepath.Join(root, "plugins"), LogPath: filepath.Join(root, "packer.log")}
	cmd := exec.CommandContext(ctx, bin, "-machine-readable", "version")
	cmd.Env = isolatedEnv(os.Environ(), iso, Protobuf)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s version: %w: %s", bin, err, strings.TrimSpace(stderr.String()))
	}
	v, err := parseVersionOutput(out)
	if err != nil {
		return nil, fmt.Errorf("%s version: %w", bin, err)
	}
	return v, nil
}

// parseVersionOutput reads `packer -machine-readable version`, whose lines
// carry the version and its prerelease separately.
func parseVersionOutput(out []byte) (*version.Version, error) {
	var num, pre string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		l, ok := parseLine(sc.Text())
		if !ok || len(l.Data) == 0 {
			continue
		}
		switch l.Type {
		case "version":
			num = l.Data[0]
		case "version-prelease", "version-prerelease":
			pre = l.Data[0]
		}
	}
	if num == "" {
		return nil, fmt.Errorf("no version in output %q", truncate(string(out), 200))
	}
	if pre != "" {
		num += "-" + pre
	}
	return version.NewVersion(num)
}

// copyTreeWritable copies a directory tree, giving the owner write access
// (module cache files are read-only, and go build needs none of them
// writable, but removing the copy does).
func copyTreeWritable(from, to string) error {
	return filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(from, path)
		if err != nil {
			return err
		}
		dst := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		return copyFile(path, dst, info.Mode().Perm()|0o200)
	})
}

func copyFile(from, to string, perm fs.FileMode) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer func() { _ = in.Close() }()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		return err
	}
	return out.Close()
}

func exeName(name string) string {
	if runtime.GOOS == "windows" {
		return name + ".exe"
	}
	return name
}

// tailBuffer keeps the last 8 KiB written to it, for error messages.
type tailBuffer struct{ b []byte }

const tailLimit = 8 << 10

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > tailLimit {
		t.b = append(t.b[:0], t.b[len(t.b)-tailLimit:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return string(t.b) }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
