package acctest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
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

	"github.com/gofrs/flock"

	"github.com/example/packer-plugin-scaffolding/internal/gomod"
)

// Plugin is the plugin under test: where its main package is and the
// address `packer plugins install --path` installs it under.
type Plugin struct {
	// Dir is the directory of the plugin's main package, absolute or
	// relative to the test's package directory. Default: the root of the
	// module the test runs in.
	Dir string
	// Name is NAME in the binary name packer-plugin-NAME, and the prefix of
	// the plugin's HCL component names. Default: from the module path of Dir
	// (github.com/ORG/packer-plugin-NAME).
	Name string
	// Address is the plugin's source address, github.com/ORG/NAME. Default:
	// from the module path of Dir.
	Address string
	// BuildFlags are extra `go build` flags, such as "-tags=...". Without
	// an -ldflags among them the harness links with -ldflags="-s -w", as a
	// release does (.goreleaser.yml): no symbol table and no DWARF, which
	// halves the link and leaves Packer a third less binary to checksum
	// each time it loads the plugin. Give -ldflags (even "-ldflags=") to
	// keep them, for example to debug the plugin.
	BuildFlags []string

	// prebuilt is a binary to install instead of building one (see
	// EnvPluginBinary); set for the plugin under test only.
	prebuilt string
}

// DefaultPlugin returns the plugin of the module that contains the working
// directory, with every field filled in.
func DefaultPlugin() (*Plugin, error) {
	p := &Plugin{}
	if err := p.resolve(); err != nil {
		return nil, err
	}
	return p, nil
}

// PluginFromModulePath derives a plugin's name and address from its Go
// module path: github.com/ORG/packer-plugin-NAME (with an optional /vN
// suffix) gives NAME and github.com/ORG/NAME.
func PluginFromModulePath(modulePath string) (name, address string, err error) {
	p := modulePath
	if dir, last := path.Split(p); majorSuffix.MatchString(last) {
		p = strings.TrimSuffix(dir, "/")
	}
	dir, last := path.Split(p)
	dir = strings.TrimSuffix(dir, "/")
	name, ok := strings.CutPrefix(last, "packer-plugin-")
	if !ok || name == "" || strings.Count(dir, "/") != 1 {
		return "", "", fmt.Errorf("module path %q is not of the form HOST/ORG/packer-plugin-NAME; set Plugin.Name and Plugin.Address", modulePath)
	}
	return name, dir + "/" + name, nil
}

var (
	majorSuffix = regexp.MustCompile(`^v[0-9]+$`)
	pluginName  = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
)

func (p *Plugin) validate() error {
	if p.Name != "" && !pluginName.MatchString(p.Name) {
		return fieldErr("Name", fmt.Errorf("%q: use lower-case letters, digits, - and _", p.Name))
	}
	if p.Address != "" && strings.Count(p.Address, "/") != 2 {
		return fieldErr("Address", fmt.Errorf("%q is not of the form HOST/ORG/NAME", p.Address))
	}
	return nil
}

// resolve fills in the defaults.
func (p *Plugin) resolve() error {
	if p.Dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return err
		}
		root, _, err := gomod.Find(wd)
		if err != nil {
			return err
		}
		p.Dir = root
	}
	abs, err := filepath.Abs(p.Dir)
	if err != nil {
		return err
	}
	p.Dir = abs
	if p.Name == "" || p.Address == "" {
		_, modPath, err := gomod.Find(p.Dir)
		if err != nil {
			return err
		}
		name, addr, err := PluginFromModulePath(modPath)
		if err != nil {
			return err
		}
		if p.Name == "" {
			p.Name = name
		}
		if p.Address == "" {
			p.Address = addr
		}
	}
	return p.validate()
}

// pluginInfo is a plugin built and installed for the harness.
type pluginInfo struct {
	// Name is the plugin's name (packer-plugin-NAME).
	Name string
	// Binary is the built executable.
	Binary string
	// Dir is a plugin directory laid out by `packer plugins install`, that
	// runs link into their own plugin directory.
	Dir string
	// Version and ProtocolVersion are what the plugin's describe reports;
	// ProtocolVersion "v2" means it speaks protobuf.
	Version, ProtocolVersion string
}

// builtPlugin is a plugin built and installed once per test process.
type builtPlugin struct {
	once sync.Once
	info *pluginInfo
	err  error
}

var (
	pluginsMu sync.Mutex
	plugins   = map[string]*builtPlugin{}
)

// ensurePlugin builds and installs p (resolved) once per process, into a
// cache shared by every test process (see buildAndInstall).
func ensurePlugin(ctx context.Context, p *Plugin, pk *Packer) (*pluginInfo, error) {
	flags, err := p.buildFlags()
	if err != nil {
		return nil, err
	}
	key := strings.Join(append([]string{p.Dir, p.Name, p.Address, pk.Path, p.prebuilt}, flags...), "\x00")
	pluginsMu.Lock()
	b, ok := plugins[key]
	if !ok {
		b = &builtPlugin{}
		plugins[key] = b
	}
	pluginsMu.Unlock()
	b.once.Do(func() { b.info, b.err = buildAndInstall(ctx, p, pk, flags) })
	return b.info, b.err
}

// buildFlags are the plugin's go build flags, plus -cover of the plugin's
// packages when the run collects acceptance coverage (see coverCopy).
func (p *Plugin) buildFlags() ([]string, error) {
	flags := append([]string(nil), p.BuildFlags...)
	if !slices.ContainsFunc(flags, isLdflags) {
		flags = append([]string{releaseLdflags}, flags...)
	}
	if coverDir() == "" || slices.Contains(flags, "-cover") {
		return flags, nil
	}
	pkgs, err := coverPackages(p.Dir, os.Getenv(EnvCoverPkg))
	if err != nil {
		return nil, fmt.Errorf("coverage packages for %s: %w", p.Name, err)
	}
	return append(flags, "-cover", "-covermode=atomic", "-coverpkg="+strings.Join(pkgs, ",")), nil
}

// pluginBuildEnv is the environment of a plugin's go build: env with
// CGO_ENABLED=0, as .goreleaser.yml builds a release, unless env sets
// CGO_ENABLED (a plugin that needs cgo sets it, here and in its release).
func pluginBuildEnv(env []string) []string {
	if _, ok := lookupEnv(env, "CGO_ENABLED"); ok {
		return env
	}
	return append(env, "CGO_ENABLED=0")
}

// releaseLdflags are the linker flags of a release build that change
// neither what the plugin does nor what it reports (no -X).
const releaseLdflags = "-ldflags=-s -w"

// isLdflags reports whether a go build argument sets -ldflags (either
// spelling, with or without a value in the same argument).
func isLdflags(arg string) bool {
	name, _, _ := strings.Cut(strings.TrimPrefix(arg, "-"), "=")
	return name == "-ldflags" || name == "ldflags"
}

// pluginCacheDir is where the plugin p built with flags lives: one
// directory per module directory, name, address, build flags and platform,
// under the Packer cache (DefaultCacheDir), so every test process of a
// `make testacc` shares it.
func pluginCacheDir(p *Plugin, flags []string) (string, error) {
	base, err := DefaultCacheDir()
	if err != nil {
		return "", err
	}
	h := sha256.New()
	cgoSetting, _ := lookupEnv(pluginBuildEnv(os.Environ()), "CGO_ENABLED")
	cgo := "CGO_ENABLED=" + cgoSetting
	for _, part := range append([]string{p.Dir, p.Name, p.Address, runtime.GOOS, runtime.GOARCH, p.prebuilt, cgo}, flags...) {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return filepath.Join(base, "plugins", p.Name+"-"+hex.EncodeToString(h.Sum(nil))[:16]), nil
}

// buildAndInstall builds the plugin to a stable path in its cache
// directory, under a file lock shared by all test processes. The go command
// keys the binary by its sources: when nothing changed it neither compiles
// nor links (the binary keeps its build ID and inode), so a second test
// process pays well under a second. The installed layout is keyed by the
// binary's digest and the Packer version, and made once.
func buildAndInstall(ctx context.Context, p *Plugin, pk *Packer, flags []string) (*pluginInfo, error) {
	cache, err := pluginCacheDir(p, flags)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return nil, fmt.Errorf("plugin cache: %w", err)
	}
	lock := flock.New(cache + ".lock")
	if _, err := lock.TryLockContext(ctx, 50*time.Millisecond); err != nil {
		return nil, fmt.Errorf("locking %s: %w", lock.Path(), err)
	}
	defer func() { _ = lock.Unlock() }()

	if p.prebuilt != "" {
		// `packer plugins install --path` copies it into the layout.
		return installBinary(ctx, p, pk, cache, p.prebuilt)
	}
	session := os.Getenv(EnvBuildSession)
	if info, ok := readBuildStamp(cache, session, pk); ok {
		return info, nil
	}
	bin := filepath.Join(cache, exeName("packer-plugin-"+p.Name))
	dir, pkg := p.Dir, "."
	if slices.Contains(flags, "-cover") && coverDir() != "" {
		if dir, pkg, err = coverCopy(p.Dir); err != nil {
			return nil, fmt.Errorf("coverage build of %s: %w", p.Name, err)
		}
		// The copy is only needed by this build; the go command keys its
		// cache by content, so recreating it next time does not relink.
		defer func() { _ = os.RemoveAll(filepath.Join(dir, filepath.FromSlash(pkg))) }()
	}
	args := append([]string{"build", "-o", bin}, flags...)
	args = append(args, pkg)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = pluginBuildEnv(os.Environ())
	var out tailBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("building plugin %s in %s: go %s: %w\n%s", p.Name, p.Dir, strings.Join(args, " "), err, out.String())
	}
	info, err := installBinary(ctx, p, pk, cache, bin)
	if err != nil {
		return nil, err
	}
	writeBuildStamp(cache, session, pk, info)
	return info, nil
}

// installBinary lays out the plugin binary bin for Packer pk in the cache
// directory, once per binary digest and Packer version.
func installBinary(ctx context.Context, p *Plugin, pk *Packer, cache, bin string) (*pluginInfo, error) {
	sum, err := fileSHA256(bin)
	if err != nil {
		return nil, err
	}
	info, err := describePlugin(ctx, bin)
	if err != nil {
		return nil, fmt.Errorf("plugin %s: %w", p.Name, err)
	}
	info.Name, info.Binary = p.Name, bin
	info.Dir = filepath.Join(cache, "installed-"+sum[:16]+"-packer-"+pk.Version.String())
	if _, err := os.Stat(info.Dir); err != nil {
		if err := installPlugin(ctx, p, pk, bin, cache, info.Dir); err != nil {
			return nil, err
		}
		removeStaleInstalls(cache, info.Dir)
		// A new install is the rare moment worth a look at the neighbours.
		writeSourceDir(cache, p.Dir)
		prunePluginCaches(filepath.Dir(cache), cache, time.Now())
	}
	return info, nil
}

// sourceFile, in a plugin cache directory, names the directory the plugin
// was built from: once that is gone (a renamed copy that scripts/
// check-rename.sh made and deleted, a removed worktree), nobody builds
// there again, and the 30-50 MB binary is garbage.
const sourceFile = "source-dir"

func writeSourceDir(cache, dir string) {
	if abs, err := filepath.Abs(dir); err == nil {
		_ = os.WriteFile(filepath.Join(cache, sourceFile), []byte(abs), 0o644)
	}
}

// unusedPluginCacheAge is how long a plugin cache directory may go without
// a build session before it is removed.
const unusedPluginCacheAge = 7 * 24 * time.Hour

// prunePluginCaches removes the plugin cache directories under base, other
// than keep, whose source directory no longer exists or that no build
// session used for unusedPluginCacheAge. A directory whose
// lock another process holds is left alone; test processes that already
// use an install keep their hard links.
func prunePluginCaches(base, keep string, now time.Time) {
	entries, err := os.ReadDir(base)
	if err != nil {
		return
	}
	for _, e := range entries {
		dir := filepath.Join(base, e.Name())
		if !e.IsDir() || dir == keep || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if !pluginCacheUnused(dir, now) {
			continue
		}
		lock := flock.New(dir + ".lock")
		if ok, err := lock.TryLock(); err != nil || !ok {
			continue
		}
		if pluginCacheUnused(dir, now) { // it may have been rebuilt meanwhile
			_ = os.RemoveAll(dir)
		}
		_ = lock.Unlock()
	}
}

func pluginCacheUnused(dir string, now time.Time) bool {
	if src, err := os.ReadFile(filepath.Join(dir, sourceFile)); err == nil {
		if _, err := os.Stat(string(src)); errors.Is(err, fs.ErrNotExist) {
			return true
		}
	}
	// Each build session renames its stamp into the directory.
	info, err := os.Stat(dir)
	return err == nil && now.Sub(info.ModTime()) > unusedPluginCacheAge
}

// EnvPluginBinary, when set, is a binary of the plugin under test that the
// harness installs instead of building one with the go command: for a test
// process that cannot run `go build` with its sources and module cache,
// such as one started as another user (see TestAccBuilder_asOrdinaryUser).
// PluginBinary builds such a binary. Plugins in Case.Plugins are still
// built.
const EnvPluginBinary = "PACKER_ACC_PLUGIN_BINARY"

// PluginBinary builds the plugin p (nil: the plugin of the module the test
// runs in) as a case would, with the Packer a case would use, and returns
// the binary's path, which stays valid for the rest of the process.
func PluginBinary(ctx context.Context, p *Plugin) (string, error) {
	pl := &Plugin{}
	if p != nil {
		*pl = *p
	}
	if err := pl.resolve(); err != nil {
		return "", err
	}
	pk, err := sharedPacker(ctx)
	if err != nil {
		return "", fmt.Errorf("no usable Packer: %w", err)
	}
	info, err := ensurePlugin(ctx, pl, pk)
	if err != nil {
		return "", err
	}
	return info.Binary, nil
}

// EnvBuildSession names one run of the whole suite (make testacc sets it
// to a fresh value): within a session the sources do not change, so the
// first test process to build a plugin records it, and the others use it
// without even asking the go command, which costs half a second per
// process for a large plugin.
const EnvBuildSession = "PACKER_ACC_BUILD_SESSION"

// buildStamp records the last build of a plugin cache directory.
type buildStamp struct {
	Session       string
	PackerVersion string
	Info          pluginInfo
}

func readBuildStamp(cache, session string, pk *Packer) (*pluginInfo, bool) {
	if session == "" {
		return nil, false
	}
	data, err := os.ReadFile(filepath.Join(cache, "build-stamp.json"))
	if err != nil {
		return nil, false
	}
	var st buildStamp
	if json.Unmarshal(data, &st) != nil || st.Session != session || st.PackerVersion != pk.Version.String() {
		return nil, false
	}
	for _, p := range []string{st.Info.Binary, st.Info.Dir} {
		if _, err := os.Stat(p); err != nil {
			return nil, false
		}
	}
	return &st.Info, true
}

func writeBuildStamp(cache, session string, pk *Packer, info *pluginInfo) {
	if session == "" {
		return
	}
	data, err := json.Marshal(buildStamp{Session: session, PackerVersion: pk.Version.String(), Info: *info})
	if err != nil {
		return
	}
	tmp := filepath.Join(cache, ".build-stamp.json.tmp")
	if os.WriteFile(tmp, data, 0o644) == nil {
		_ = os.Rename(tmp, filepath.Join(cache, "build-stamp.json"))
	}
}

// installPlugin runs `packer plugins install --path` into a temporary
// directory beside dst and renames it to dst.
func installPlugin(ctx context.Context, p *Plugin, pk *Packer, bin, cache, dst string) error {
	work, err := os.MkdirTemp(cache, ".install-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(work) }()
	dir := filepath.Join(work, "installed")
	iso := filepath.Join(work, "install-env")
	pc := packerCmd{
		Path: pk.Path,
		Args: []string{"plugins", "install", "--path", bin, p.Address},
		Dir:  work,
		Env:  isolatedEnv(os.Environ(), isolation{Root: iso, PluginDir: dir, LogPath: filepath.Join(iso, "packer.log")}, Protobuf, nil),
	}
	if err := mkdirs(iso, dir); err != nil {
		return err
	}
	stdout, err := createOutput(filepath.Join(iso, "stdout"))
	if err != nil {
		return err
	}
	defer func() { _ = stdout.Close() }()
	stderr, err := createOutput(filepath.Join(iso, "stderr"))
	if err != nil {
		return err
	}
	defer func() { _ = stderr.Close() }()
	res, err := pc.run(ctx, stdout, stderr)
	if err != nil {
		return fmt.Errorf("installing plugin %s: %w", p.Name, err)
	}
	if res.exitCode != 0 {
		return fmt.Errorf("installing plugin %s: packer %s exited %d:\n%s%s", p.Name, strings.Join(pc.Args, " "), res.exitCode, res.stdout, res.stderr)
	}
	if err := os.Rename(dir, dst); err != nil {
		return fmt.Errorf("plugin cache: %w", err)
	}
	return nil
}

// removeStaleInstalls removes installed layouts of earlier binaries that
// nobody has used for a day (a test process that is still running links
// from its own, which is at most as old as that process).
func removeStaleInstalls(cache, keep string) {
	entries, err := os.ReadDir(cache)
	if err != nil {
		return
	}
	for _, e := range entries {
		p := filepath.Join(cache, e.Name())
		if !e.IsDir() || p == keep || !strings.HasPrefix(e.Name(), "installed-") {
			continue
		}
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > 24*time.Hour {
			_ = os.RemoveAll(p)
		}
	}
}

// describePlugin runs `<bin> describe` and reads what the harness needs.
func describePlugin(ctx context.Context, bin string) (*pluginInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "describe")
	var stderr tailBuffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s describe: %w: %s", bin, err, stderr.String())
	}
	var d struct {
		Version         string `json:"version"`
		ProtocolVersion string `json:"protocol_version"`
	}
	if err := json.Unmarshal(out, &d); err != nil {
		return nil, fmt.Errorf("%s describe: not JSON: %w: %q", bin, err, truncate(string(out), 200))
	}
	return &pluginInfo{Version: d.Version, ProtocolVersion: d.ProtocolVersion}, nil
}

// linkTree recreates the tree at from under to, hard-linking files (copying
// where links are not possible), so each run has its own plugin directory
// without copying the binary.
func linkTree(from, to string) error {
	return filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(from, p)
		if err != nil {
			return err
		}
		dst := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		if err := os.Link(p, dst); err == nil {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		return copyFile(p, dst, info.Mode().Perm())
	})
}

func mkdirs(dirs ...string) error {
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	return nil
}
