// Command example runs the example pipeline (`make example`): it gets the
// pinned Packer, builds this plugin and installs it into a project-local
// plugin directory, starts the local HCP Packer registry, then builds the
// base image and the app image on top of it with real Packer, and prints the
// artifacts, the image store and what the registry recorded.
//
// Everything it makes lives in example/.work (git-ignored) and is replaced on
// every run; nothing touches ~/.packer.d or ~/.config/packer.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/example/packer-plugin-scaffolding/acctest"
	"github.com/example/packer-plugin-scaffolding/acctest/registry"
	"github.com/example/packer-plugin-scaffolding/cloud"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "example:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer) error {
	plugin, err := acctest.DefaultPlugin()
	if err != nil {
		return err
	}
	exampleDir := filepath.Join(plugin.Dir, "example")
	work := filepath.Join(exampleDir, ".work")
	// A fresh start each run: the registry emulator is new too, so an old
	// store would hold images the registry has never heard of.
	if err := os.RemoveAll(work); err != nil {
		return err
	}
	dirs := map[string]string{}
	for _, d := range []string{"bin", "plugins", "config", "cache", "store"} {
		dirs[d] = filepath.Join(work, d)
		if err := os.MkdirAll(dirs[d], 0o755); err != nil {
			return err
		}
	}

	if err := step(out, "Finding Packer %s", packerWanted(os.Getenv)); err != nil {
		return err
	}
	pk, err := acctest.EnsurePacker(ctx, acctest.EnsureOptions{Progress: os.Stderr})
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(out, "    %s (%s, from %s)\n", pk.Path, pk.Version, pk.Source); err != nil {
		return err
	}

	if err := step(out, "Building %s and installing it into %s", plugin.Address, dirs["plugins"]); err != nil {
		return err
	}
	bin := filepath.Join(dirs["bin"], "packer-plugin-"+plugin.Name)
	if err := command(ctx, plugin.Dir, nil, out, "go", "build", "-o", bin, ".").Run(); err != nil {
		return fmt.Errorf("building the plugin: %w", err)
	}

	reg := registry.NewUnstartedServer()
	if err := reg.Start(); err != nil {
		return err
	}
	defer reg.Close()

	env := append(cleanEnv(os.Environ()),
		"PACKER_PLUGIN_PATH="+dirs["plugins"],
		"PACKER_CONFIG_DIR="+dirs["config"],
		"PACKER_CACHE_DIR="+dirs["cache"],
		"CHECKPOINT_DISABLE=1",
		// Without a git checkout Packer has no fingerprint of its own; a
		// fresh one per run keeps the (fresh) registry's versions apart.
		"HCP_PACKER_BUILD_FINGERPRINT="+randomHex(),
	)
	env = append(env, reg.Env()...)
	if err := command(ctx, plugin.Dir, env, out, pk.Path, "plugins", "install", "--path", bin, plugin.Address).Run(); err != nil {
		return fmt.Errorf("installing the plugin: %w", err)
	}

	for _, template := range []string{"base", "app"} {
		if err := step(out, "packer build example/%s", template); err != nil {
			return err
		}
		cmd := command(ctx, dirs["store"], env, out, pk.Path, "build", "-color=false",
			"-var", "store="+dirs["store"], filepath.Join(exampleDir, template))
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("packer build example/%s: %w", template, err)
		}
	}

	if err := step(out, "Images in the store %s", dirs["store"]); err != nil {
		return err
	}
	if err := printStore(ctx, out, dirs["store"]); err != nil {
		return err
	}
	if err := step(out, "What Packer published to the local HCP Packer registry"); err != nil {
		return err
	}
	return printRegistry(out, reg)
}

func step(out io.Writer, format string, args ...any) error {
	_, err := fmt.Fprintf(out, "\n==> "+format+"\n", args...)
	return err
}

// printer writes lines to w and keeps the first write error, so the
// listings below check it once at the end rather than after every line.
type printer struct {
	w   io.Writer
	err error
}

func (p *printer) printf(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, args...)
	}
}

// command runs name in dir with env (nil: inherit), output to out, and
// stops it when ctx is cancelled (Ctrl-C): Packer then cleans up.
func command(ctx context.Context, dir string, env []string, out io.Writer, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdout = out
	cmd.Stderr = os.Stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	return cmd
}

// cleanEnv drops variables that would point Packer at the user's own
// plugins, configuration or HCP organisation.
func cleanEnv(env []string) []string {
	var kept []string
	for _, kv := range env {
		if strings.HasPrefix(kv, "PACKER_") || strings.HasPrefix(kv, "HCP_") || strings.HasPrefix(kv, "PKR_VAR_") {
			continue
		}
		kept = append(kept, kv)
	}
	return kept
}

func randomHex() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func printStore(ctx context.Context, out io.Writer, dir string) error {
	driver, err := cloud.NewDriver(&cloud.AccessConfig{Store: dir})
	if err != nil {
		return err
	}
	images, err := driver.FindImages(ctx, cloud.ImageFilter{})
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	p := &printer{w: w}
	p.printf("    NAME\tREGION\tID\tSOURCE\tLABELS\n")
	for _, img := range images {
		p.printf("    %s\t%s\t%s\t%s\t%s\n", img.Name, img.Region, short(img.ID), short(img.SourceImageID), labels(img.Labels))
	}
	if p.err != nil {
		return p.err
	}
	return w.Flush()
}

func printRegistry(out io.Writer, reg *registry.Server) error {
	p := &printer{w: out}
	for _, b := range reg.Buckets() {
		p.printf("bucket %s  labels %s\n", b.Name, labels(b.Labels))
		for _, v := range reg.Versions() {
			if v.Bucket != b.Name {
				continue
			}
			p.printf("  version %s  fingerprint %s  status %s\n", v.Name, v.Fingerprint, v.Status)
		}
		for _, bd := range reg.Builds() {
			if bd.Bucket != b.Name {
				continue
			}
			var history []string
			for _, s := range bd.StatusHistory {
				history = append(history, strings.TrimPrefix(string(s), "BUILD_"))
			}
			p.printf("  build %s  platform %s  status %s\n", bd.ComponentType, bd.Platform, strings.Join(history, " -> "))
			p.printf("    labels %s\n", labels(bd.Labels))
			if bd.SourceExternalID != "" {
				p.printf("    source image %s\n", short(bd.SourceExternalID))
			}
			for _, a := range bd.Artifacts {
				p.printf("    artifact %s in %s\n", short(a.ExternalID), a.Region)
			}
		}
	}
	return p.err
}

// short abbreviates a sha256 image id the way docker does, for tables.
func short(id string) string {
	if strings.HasPrefix(id, "sha256:") && len(id) > 19 {
		return id[:19]
	}
	if id == "" {
		return "-"
	}
	return id
}

func labels(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+"="+m[k])
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ",")
}

// packerWanted says which Packer EnsurePacker looks for: PACKER_BIN when it
// names one (any version the plugin accepts), else the version
// PACKER_ACC_VERSION selects, else the pinned one.
func packerWanted(getenv func(string) string) string {
	if bin := getenv(acctest.EnvPackerBin); bin != "" {
		return fmt.Sprintf("%s (%s)", bin, acctest.EnvPackerBin)
	}
	if v := getenv(acctest.EnvPackerVersion); v != "" {
		return fmt.Sprintf("%s (%s)", v, acctest.EnvPackerVersion)
	}
	return acctest.PackerVersion
}
