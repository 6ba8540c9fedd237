package acctest

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

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
	// BuildFlags are extra `go build` flags, such as "-ldflags=...".
	BuildFlags []string
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

// builtPlugin is a plugin compiled and installed once per test process.
// dir is a plugin directory laid out by `packer plugins install`, that runs
// link into their own plugin directory.
type builtPlugin struct {
	once sync.Once
	dir  string
	err  error
}

var (
	pluginsMu sync.Mutex
	plugins   = map[string]*builtPlugin{}
)

// ensurePlugin builds and installs p (resolved) once per process.
func ensurePlugin(ctx context.Context, p *Plugin, pk *Packer) (string, error) {
	key := strings.Join(append([]string{p.Dir, p.Name, p.Address, pk.Path}, p.BuildFlags...), "\x00")
	pluginsMu.Lock()
	b, ok := plugins[key]
	if !ok {
		b = &builtPlugin{}
		plugins[key] = b
	}
	pluginsMu.Unlock()
	b.once.Do(func() { b.dir, b.err = buildAndInstall(ctx, p, pk) })
	return b.dir, b.err
}

func buildAndInstall(ctx context.Context, p *Plugin, pk *Packer) (string, error) {
	proc, err := processDir()
	if err != nil {
		return "", err
	}
	work, err := os.MkdirTemp(proc, "plugin-"+p.Name+"-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(work, exeName("packer-plugin-"+p.Name))
	args := append([]string{"build", "-o", bin}, p.BuildFlags...)
	args = append(args, ".")
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = p.Dir
	var out tailBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building plugin %s in %s: go %s: %w\n%s", p.Name, p.Dir, strings.Join(args, " "), err, out.String())
	}

	dir := filepath.Join(work, "installed")
	iso := filepath.Join(work, "install-env")
	pc := packerCmd{
		Path: pk.Path,
		Args: []string{"plugins", "install", "--path", bin, p.Address},
		Dir:  work,
		Env:  isolatedEnv(os.Environ(), isolation{Root: iso, PluginDir: dir, LogPath: filepath.Join(iso, "packer.log")}, Protobuf, nil),
	}
	if err := mkdirs(iso, dir); err != nil {
		return "", err
	}
	stdout, err := createOutput(filepath.Join(iso, "stdout"))
	if err != nil {
		return "", err
	}
	defer func() { _ = stdout.Close() }()
	stderr, err := createOutput(filepath.Join(iso, "stderr"))
	if err != nil {
		return "", err
	}
	defer func() { _ = stderr.Close() }()
	res, err := pc.run(ctx, stdout, stderr)
	if err != nil {
		return "", fmt.Errorf("installing plugin %s: %w", p.Name, err)
	}
	if res.exitCode != 0 {
		return "", fmt.Errorf("installing plugin %s: packer %s exited %d:\n%s%s", p.Name, strings.Join(pc.Args, " "), res.exitCode, res.stdout, res.stderr)
	}
	return dir, nil
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
