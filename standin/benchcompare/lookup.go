package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	store "github.com/example/packer-plugin-scaffolding/standin"
)

// The build measured with and without the lookup: the same scaffolding
// source writing to its own store, so only the data source differs. The
// lookup is what a template pinning a base image does: a name glob and one
// label.
const (
	lookupTemplate = `
data "scaffolding-image" "base" {
  store  = "store"
  name   = "img-9*"
  labels = { tier = "app" }
}

source "scaffolding" "out" {
  store      = "out"
  image_name = "out-${data.scaffolding-image.base.name}"
}

build {
  sources = ["source.scaffolding.out"]
}
`
	plainTemplate = `
source "scaffolding" "out" {
  store      = "out"
  image_name = "out-img-9"
}

build {
  sources = ["source.scaffolding.out"]
}
`
)

// packerEnv is an isolated Packer: its own home, config, cache and plugin
// directory, no checkpoint and no HCP registry calls.
type packerEnv struct {
	bin string
	env []string
}

func newPackerEnv(o options) (*packerEnv, error) {
	base := filepath.Join(o.work, "packer")
	dirs := map[string]string{
		"HOME":               filepath.Join(base, "home"),
		"PACKER_CONFIG_DIR":  filepath.Join(base, "config"),
		"PACKER_CACHE_DIR":   filepath.Join(base, "cache"),
		"PACKER_PLUGIN_PATH": filepath.Join(base, "plugins"),
		"TMPDIR":             filepath.Join(base, "tmp"),
	}
	env := append(os.Environ(), "CHECKPOINT_DISABLE=1", "HCP_PACKER_REGISTRY=off", "PACKER_LOG=")
	for k, v := range dirs {
		if err := os.MkdirAll(v, 0o755); err != nil {
			return nil, err
		}
		env = append(env, k+"="+v)
	}
	p := &packerEnv{bin: o.packer, env: env}
	if _, err := p.run(base, "plugins", "install", "--path", o.plugin, o.address); err != nil {
		return nil, err
	}
	return p, nil
}

// usage is what one packer run cost, its plugins included (the kernel
// accounts waited-for descendants to their parent).
type usage struct {
	wall, cpu time.Duration
	maxRSS    int64 // bytes, of the largest single process
}

func (p *packerEnv) run(dir string, args ...string) (usage, error) {
	cmd := exec.Command(p.bin, args...)
	cmd.Dir = dir
	cmd.Env = p.env
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	start := time.Now()
	err := cmd.Run()
	u := usage{wall: time.Since(start)}
	if err != nil {
		return u, fmt.Errorf("packer %v in %s: %w\n%s", args, dir, err, out.Bytes())
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		u.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		u.maxRSS = ru.Maxrss << 10
	}
	return u, nil
}

func lookupFigures(o options, p *packerEnv) error {
	for _, n := range o.lookupSizes {
		if err := lookupFigure(o, p, n); err != nil {
			return fmt.Errorf("%d images: %w", n, err)
		}
	}
	return nil
}

func lookupFigure(o options, p *packerEnv, n int) error {
	dir := filepath.Join(o.work, "lookup-"+strconv.Itoa(n))
	with, without := filepath.Join(dir, "with"), filepath.Join(dir, "without")
	for _, d := range []string{with, without} {
		if err := os.MkdirAll(filepath.Join(d, "out"), 0o755); err != nil {
			return err
		}
	}
	// In a child process: the memory it takes would otherwise count in the
	// RSS of every packer started from this one (a fork's pages are its
	// parent's until it execs).
	self, err := os.Executable()
	if err != nil {
		return err
	}
	if out, err := exec.Command(self, writeStoreCommand, filepath.Join(with, "store"), strconv.Itoa(n)).CombinedOutput(); err != nil {
		return fmt.Errorf("writing the store: %w\n%s", err, out)
	}
	if err := os.WriteFile(filepath.Join(with, "build.pkr.hcl"), []byte(lookupTemplate), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(without, "build.pkr.hcl"), []byte(plainTemplate), 0o644); err != nil {
		return err
	}
	builds := []struct {
		name, dir string
	}{{"with", with}, {"without", without}}

	// Uncounted: the first run of each pays for loading what it reads
	// (Packer, the plugin's pages, the store's index) into the page cache.
	for _, b := range builds {
		if _, err := p.run(b.dir, "build", "-color=false", "build.pkr.hcl"); err != nil {
			return err
		}
	}
	times, cpu := series{}, series{}
	rss := map[string]int64{}
	for r := 0; r < o.lookupRounds; r++ {
		progress("lookup in %d images: round %d/%d", n, r+1, o.lookupRounds)
		for _, b := range rotate(builds, r) {
			u, err := p.run(b.dir, "build", "-color=false", "build.pkr.hcl")
			if err != nil {
				return err
			}
			times.add(b.name, u.wall)
			cpu.add(b.name, u.cpu)
			rss[b.name] = max(rss[b.name], u.maxRSS)
		}
	}
	// A store too small for the lookup to matter measures what any data
	// source costs a Packer build (one more plugin process, its handshake
	// and RPCs): the floor the other figures stand on. It has no goal.
	goal := 1.1
	switch {
	case n < floorImages:
		goal = 0
	case n > 10000:
		goal = 1.5
	}
	fmt.Printf("# lookup in %d images: medians of %d rounds: with %s (cpu %s, max rss %d MiB), without %s (cpu %s, max rss %d MiB)\n",
		n, o.lookupRounds,
		times.median("with").Round(10*time.Millisecond), cpu.median("with").Round(10*time.Millisecond), rss["with"]>>20,
		times.median("without").Round(10*time.Millisecond), cpu.median("without").Round(10*time.Millisecond), rss["without"]>>20)
	label := fmt.Sprintf("lookup in %s images vs build without it", shortCount(n))
	if goal == 0 {
		label += " (the floor: any data source's plugin process)"
	}
	figure(label, times.ratio("with", "without"), goal)
	return nil
}

// floorImages: a lookup figure over a store of fewer images is the floor
// (see lookupFigure). The default floor store holds 10, the fewest in
// which the template's glob ("img-9*") finds an image.
const floorImages = 100

func shortCount(n int) string {
	if n >= 1000 && n%1000 == 0 {
		return strconv.Itoa(n/1000) + "k"
	}
	return strconv.Itoa(n)
}

// writeStoreCommand, as the first argument, makes benchcompare write a
// store of N images into DIR (arguments 2 and 3) and exit.
const writeStoreCommand = "internal-write-store"

func writeStore(dir, count string) error {
	n, err := strconv.Atoi(count)
	if err != nil {
		return err
	}
	if err := writeIndex(dir, n); err != nil {
		return err
	}
	return storeWrite(dir)
}

// storeWrite adds one image (not matching the lookup) through the store
// itself, so the index is then in the format the store writes, whatever
// writeIndex wrote: what a store in use holds.
func storeWrite(dir string) error {
	log.SetOutput(io.Discard)
	ctx := context.Background()
	d := store.NewLocalDriver(dir)
	d.InstanceDir = filepath.Dir(dir)
	inst, err := d.RunInstance(ctx, store.LaunchSpec{Name: "seed"})
	if err != nil {
		return err
	}
	defer func() { _ = d.TerminateInstance(ctx, inst) }()
	if err := d.StopInstance(ctx, inst); err != nil {
		return err
	}
	_, err = d.CreateImage(ctx, inst, store.ImageSpec{Name: "seed", Region: "local"})
	return err
}

// writeIndex writes a store index of n images in the index format of
// version 1 (the oldest a store may hold): img-0 ... img-<n-1> in region
// local, half of them labelled tier=app. No archives: a lookup reads only
// the index.
func writeIndex(dir string, n int) error {
	type entry struct {
		ID      string            `json:"id"`
		Name    string            `json:"name"`
		Region  string            `json:"region"`
		Labels  map[string]string `json:"labels,omitempty"`
		Created time.Time         `json:"created"`
		Size    int64             `json:"size"`
		File    string            `json:"file"`
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, "index.json"))
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	// Indented as version 1 wrote it, one entry at a time.
	_, _ = w.WriteString("{\n  \"version\": 1,\n  \"images\": [")
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		sum := sha256.Sum256([]byte(strconv.Itoa(i)))
		h := hex.EncodeToString(sum[:])
		data, err := json.MarshalIndent(entry{
			ID:      "sha256:" + h,
			Name:    "img-" + strconv.Itoa(i),
			Region:  "local",
			Labels:  map[string]string{"tier": []string{"base", "app"}[i%2], "build": strconv.Itoa(i)},
			Created: t0.Add(time.Duration(i) * time.Second),
			Size:    1 << 20,
			File:    "images/local/" + h + ".tar.gz",
		}, "    ", "  ")
		if err != nil {
			return err
		}
		if i > 0 {
			_ = w.WriteByte(',')
		}
		_, _ = w.WriteString("\n    ")
		_, _ = w.Write(data)
	}
	_, _ = w.WriteString("\n  ]\n}\n")
	if err := w.Flush(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
