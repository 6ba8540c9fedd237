package acctest

import (
	"debug/elf"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gofrs/flock"

	"github.com/example/packer-plugin-scaffolding/internal/gomod"
)

func TestPluginFromModulePath(t *testing.T) {
	for _, tc := range []struct{ module, name, address, err string }{
		{module: "github.com/example/packer-plugin-scaffolding", name: "scaffolding", address: "github.com/example/scaffolding"},
		{module: "github.com/acme/packer-plugin-cloud/v2", name: "cloud", address: "github.com/acme/cloud"},
		{module: "gitlab.com/acme/packer-plugin-x", name: "x", address: "gitlab.com/acme/x"},
		{module: "github.com/acme/tools/packer-plugin-x", err: "is not of the form HOST/ORG/packer-plugin-NAME"},
		{module: "example.com/packer-plugin-x", err: "is not of the form"},
		{module: "github.com/acme/cloud", err: "set Plugin.Name and Plugin.Address"},
		{module: "github.com/acme/packer-plugin-", err: "is not of the form"},
	} {
		name, addr, err := PluginFromModulePath(tc.module)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), tc.module) {
				t.Errorf("%s: expected an error naming the module and %q, found %q, %q, %v", tc.module, tc.err, name, addr, err)
			}
			continue
		}
		if err != nil || name != tc.name || addr != tc.address {
			t.Errorf("%s: expected %s at %s, found %s at %s, %v", tc.module, tc.name, tc.address, name, addr, err)
		}
	}
}

func TestDefaultPlugin(t *testing.T) {
	p, err := DefaultPlugin()
	if err != nil {
		t.Fatal(err)
	}
	root, _ := filepath.Abs("..")
	if p.Dir != root || p.Name != "scaffolding" || p.Address != "github.com/example/scaffolding" {
		t.Errorf("expected scaffolding at github.com/example/scaffolding from %s, found %+v", root, p)
	}
}

func TestPluginResolve(t *testing.T) {
	// Name and Address come from the module holding Dir; set ones are kept.
	dir := t.TempDir()
	mod := filepath.Join(dir, "plugin")
	if err := os.MkdirAll(filepath.Join(mod, "cmd", "plugin"), 0o755); err != nil {
		t.Fatal(err)
	}
	mustWriteFile(t, filepath.Join(mod, "go.mod"), "module github.com/acme/packer-plugin-cloud\n\ngo 1.26\n", 0o644)
	p := &Plugin{Dir: filepath.Join(mod, "cmd", "plugin"), Address: "github.com/acme/other"}
	if err := p.resolve(); err != nil {
		t.Fatal(err)
	}
	if p.Name != "cloud" || p.Address != "github.com/acme/other" {
		t.Errorf("expected name cloud and the given address, found %+v", p)
	}

	mustWriteFile(t, filepath.Join(mod, "go.mod"), "go 1.26\n", 0o644)
	if err := (&Plugin{Dir: mod}).resolve(); err == nil || !strings.Contains(err.Error(), "no module line") {
		t.Errorf("expected a go.mod without module line to be an error, found %v", err)
	}
	if _, _, err := gomod.Find(string(filepath.Separator)); err == nil || !strings.Contains(err.Error(), "no go.mod") {
		t.Errorf("expected no module above the root, found %v", err)
	}
}

func TestLinkTree(t *testing.T) {
	src := filepath.Join(t.TempDir(), "src")
	bin := filepath.Join(src, "github.com", "acme", "x", "packer-plugin-x_v0.0.1-dev_x5.0_linux_amd64")
	mustWriteFile(t, bin, "binary", 0o755)
	mustWriteFile(t, bin+"_SHA256SUM", "sum", 0o644)
	dst := filepath.Join(t.TempDir(), "plugins")
	if err := linkTree(src, dst); err != nil {
		t.Fatal(err)
	}
	rel, _ := filepath.Rel(src, bin)
	for _, f := range []string{rel, rel + "_SHA256SUM"} {
		a, errA := os.Stat(filepath.Join(src, f))
		b, errB := os.Stat(filepath.Join(dst, f))
		if errA != nil || errB != nil || a.Mode() != b.Mode() || a.Size() != b.Size() {
			t.Errorf("expected %s laid out with its mode, found %v (%v), %v (%v)", f, a, errA, b, errB)
		}
	}
	// Files added to one run's directory do not show up in the source.
	mustWriteFile(t, filepath.Join(dst, "extra"), "", 0o644)
	if _, err := os.Stat(filepath.Join(src, "extra")); err == nil {
		t.Error("expected the source untouched")
	}
}

// The plugin is built to a stable path in the shared cache: a second build
// with nothing changed neither relinks nor reinstalls, and within a build
// session (make testacc) the go command is not even asked.
func TestAccPluginCache(t *testing.T) {
	requireAcc(t)
	pk, err := sharedPacker(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	p := *fixture
	mustDo(t, p.resolve())
	flags, err := p.buildFlags() // linked as the harness links it: half the link
	mustDo(t, err)
	// The fixture as every other test here has it: a copy of that binary
	// in the new cache is up to date, so even the first build below only
	// asks the go command, as a warm run's first test process does, and
	// this test pays no link of its own.
	shared, err := ensurePlugin(t.Context(), &p, pk)
	mustDo(t, err)
	t.Setenv(EnvCacheDir, t.TempDir())
	t.Setenv(EnvBuildSession, "")
	cache, err := pluginCacheDir(&p, flags)
	mustDo(t, err)
	mustDo(t, os.MkdirAll(cache, 0o755))
	seeded := filepath.Join(cache, exeName("packer-plugin-"+p.Name))
	mustDo(t, copyFile(shared.Binary, seeded, 0o755))
	seed, err := os.Stat(seeded)
	mustDo(t, err)
	first, err := buildAndInstall(t.Context(), &p, pk, flags)
	if err != nil {
		t.Fatal(err)
	}
	if now, err := os.Stat(first.Binary); err != nil || !os.SameFile(seed, now) {
		t.Errorf("expected the up-to-date binary %s kept, not relinked (%v)", seeded, err)
	}
	if runtime.GOOS == "linux" {
		// Static, as a release is built: no dynamic loader to run in every
		// plugin process Packer starts.
		f, err := elf.Open(first.Binary)
		mustDo(t, err)
		for _, prog := range f.Progs {
			if prog.Type == elf.PT_INTERP {
				t.Errorf("expected %s linked statically (CGO_ENABLED=0), found it needs a dynamic loader", first.Binary)
			}
		}
		_ = f.Close()
	}
	if first.ProtocolVersion != "v2" || first.Version != "0.0.1-dev" {
		t.Errorf("expected describe's protocol v2 and version 0.0.1-dev, found %+v", first)
	}
	before, err := os.Stat(first.Binary)
	if err != nil {
		t.Fatal(err)
	}
	// The second build, in a session, also records the session's stamp.
	t.Setenv(EnvBuildSession, "session-1")
	again, err := buildAndInstall(t.Context(), &p, pk, flags)
	if err != nil {
		t.Fatal(err)
	}
	after, err := os.Stat(again.Binary)
	if err != nil {
		t.Fatal(err)
	}
	// A relink writes a new file and renames it over the old one (the go
	// command's work dir and this cache share /tmp here); an up-to-date
	// binary is only touched, keeping its inode.
	if again.Binary != first.Binary || again.Dir != first.Dir || !os.SameFile(before, after) {
		t.Errorf("expected the same binary, not relinked, and the same install: %+v then %+v", first, again)
	}

	// With the stamp of this session, no go command is needed at all.
	t.Setenv("PATH", t.TempDir())
	stamped, err := buildAndInstall(t.Context(), &p, pk, flags)
	if err != nil || stamped.Binary != first.Binary {
		t.Fatalf("expected the session's build reused without the go command, found %+v, %v", stamped, err)
	}
	t.Setenv(EnvBuildSession, "session-2")
	if _, err := buildAndInstall(t.Context(), &p, pk, flags); err == nil {
		t.Fatal("expected a new session to ask the go command again (here: not on PATH)")
	}
}

// A coverage build instruments a copy of the main package (with the
// counter flusher) instead of the main package itself.
func TestCoverPackages(t *testing.T) {
	dir, err := filepath.Abs("internal/fixture")
	if err != nil {
		t.Fatal(err)
	}
	pkgs, err := coverPackages(dir, "example.com/a,github.com/example/packer-plugin-scaffolding/acctest/internal/fixture")
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) != 2 || !strings.Contains(pkgs[0], "/_acctest_cover/fixture-") || pkgs[1] != "example.com/a" {
		t.Errorf("expected the copy of main and example.com/a, found %v", pkgs)
	}
}

// A plugin under test is built static, as a release is, unless your
// environment says otherwise.
func TestPluginBuildEnv(t *testing.T) {
	if v, _ := lookupEnv(pluginBuildEnv([]string{"HOME=/h"}), "CGO_ENABLED"); v != "0" {
		t.Errorf("expected CGO_ENABLED=0, found %q", v)
	}
	if v, _ := lookupEnv(pluginBuildEnv([]string{"CGO_ENABLED=1"}), "CGO_ENABLED"); v != "1" {
		t.Errorf("expected your CGO_ENABLED=1 kept, found %q", v)
	}
}

func TestPluginBuildFlags(t *testing.T) {
	t.Setenv(EnvCoverDir, "")
	for _, tc := range []struct {
		given, want []string
	}{
		// Linked as a release links: no symbol table, no DWARF.
		{nil, []string{"-ldflags=-s -w"}},
		{[]string{"-tags=extra"}, []string{"-ldflags=-s -w", "-tags=extra"}},
		// An -ldflags of the plugin's own, in any spelling, replaces them.
		{[]string{"-ldflags=-X main.v=1"}, []string{"-ldflags=-X main.v=1"}},
		{[]string{"--ldflags", "-X main.v=1"}, []string{"--ldflags", "-X main.v=1"}},
		{[]string{"-ldflags="}, []string{"-ldflags="}},
	} {
		p := &Plugin{BuildFlags: tc.given}
		got, err := p.buildFlags()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("BuildFlags %q: expected go build flags %q, found %q", tc.given, tc.want, got)
		}
		if len(tc.given) > 0 && &p.BuildFlags[0] == &got[0] {
			t.Errorf("BuildFlags %q: buildFlags returned the plugin's own slice", tc.given)
		}
	}
}

// A plugin cache directory goes once its source directory is gone or no
// build used it for a week, unless another process holds its lock.
func TestPrunePluginCaches(t *testing.T) {
	base, src := t.TempDir(), t.TempDir()
	now := time.Now()
	cache := func(name, source string, age time.Duration) string {
		dir := filepath.Join(base, name)
		mustDo(t, os.MkdirAll(filepath.Join(dir, "installed-x"), 0o755))
		mustWriteFile(t, filepath.Join(dir, "packer-plugin-x"), "binary", 0o755)
		if source != "" {
			mustWriteFile(t, filepath.Join(dir, sourceFile), source, 0o644)
		}
		mustDo(t, os.Chtimes(dir, now.Add(-age), now.Add(-age)))
		return dir
	}
	gone := filepath.Join(src, "deleted-copy")
	keep := cache("current", gone, 0)
	removed := []string{
		cache("source-gone", gone, time.Hour),
		cache("unused-for-long", src, 8*24*time.Hour),
		cache("unknown-source-unused", "", 8*24*time.Hour),
	}
	kept := []string{
		keep,
		cache("source-here", src, time.Hour),
		cache("unknown-source-recent", "", time.Hour),
		cache("locked", gone, time.Hour),
	}
	other := flock.New(filepath.Join(base, "locked.lock"))
	if ok, err := other.TryLock(); err != nil || !ok {
		t.Fatalf("locking: %v", err)
	}
	defer func() { _ = other.Unlock() }()

	prunePluginCaches(base, keep, now)
	for _, dir := range removed {
		if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("expected %s removed, found %v", filepath.Base(dir), err)
		}
	}
	for _, dir := range kept {
		if _, err := os.Stat(filepath.Join(dir, "packer-plugin-x")); err != nil {
			t.Errorf("expected %s kept, found %v", filepath.Base(dir), err)
		}
	}
}
