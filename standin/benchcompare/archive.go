package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"time"

	store "github.com/example/packer-plugin-scaffolding/standin"
)

// The names of the archive commands, as the figures print them.
const (
	cmdSnapshot = "snapshot"
	cmdGzip     = "tar|gzip -6"
	cmdZstd     = "tar|zstd -3 -T0"
	cmdRestore  = "restore"
	cmdUngzip   = "tar -xzf"
	cmdUnzstd   = "tar --zstd -xf"
)

// step is one measured command. Only run is timed: setup and cleanup
// (making and removing the directory a restore writes into) are not part of
// the figure.
type step struct {
	name    string
	setup   func() error
	run     func() error
	cleanup func() error
}

func (s step) measure() (time.Duration, error) {
	if s.setup != nil {
		if err := s.setup(); err != nil {
			return 0, err
		}
	}
	d, err := timed(s.run)
	if s.cleanup != nil {
		if cerr := s.cleanup(); err == nil {
			err = cerr
		}
	}
	return d, err
}

func archiveFigures(o options) error {
	// The driver logs every instance for PACKER_LOG; here it would only
	// bury the figures.
	log.SetOutput(io.Discard)
	ctx := context.Background()
	d := store.NewLocalDriver(filepath.Join(o.work, "store"))
	d.InstanceDir = filepath.Join(o.work, "instances")
	out := filepath.Join(o.work, "out")
	for _, dir := range []string{d.InstanceDir, out} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}

	inst, err := d.RunInstance(ctx, store.LaunchSpec{Name: "bench-tree"})
	if err != nil {
		return err
	}
	defer func() { _ = d.TerminateInstance(ctx, inst) }()
	progress("writing the tree into %s", inst.Workspace)
	treeSize, err := makeTree(inst.Workspace)
	if err != nil {
		return fmt.Errorf("writing the tree: %w", err)
	}
	if err := d.StopInstance(ctx, inst); err != nil {
		return err
	}

	gz := filepath.Join(out, "base.tar.gz")
	zst := filepath.Join(out, "base.tar.zst")
	var img store.Image
	// Each snapshot registers a new name: the store refuses to register
	// the same image twice.
	snapshotN := 0
	snapshots := []step{
		{name: cmdSnapshot, run: func() (err error) {
			snapshotN++
			img, err = d.CreateImage(ctx, inst, store.ImageSpec{Name: fmt.Sprintf("bench-%d", snapshotN), Region: "local"})
			return err
		}},
		{name: cmdGzip, run: func() error { return shell(inst.Workspace, "tar -cf - . | gzip -6 > "+gz) }},
		{name: cmdZstd, run: func() error { return shell(inst.Workspace, "tar -cf - . | zstd -q -3 -T0 > "+zst) }},
	}
	var target *store.Instance
	x := filepath.Join(out, "x")
	mkX := func() error { return os.Mkdir(x, 0o755) }
	rmX := func() error { return os.RemoveAll(x) }
	restores := []step{
		{
			name: cmdRestore,
			setup: func() (err error) {
				target, err = d.RunInstance(ctx, store.LaunchSpec{Name: "bench-restore", DiskSize: 1 << 30})
				return err
			},
			run:     func() error { return d.RestoreImage(ctx, target, img) },
			cleanup: func() error { return d.TerminateInstance(ctx, target) },
		},
		{name: cmdUngzip, setup: mkX, run: func() error { return shell(x, "tar -xzf "+gz) }, cleanup: rmX},
		{name: cmdUnzstd, setup: mkX, run: func() error { return shell(x, "tar --zstd -xf "+zst) }, cleanup: rmX},
	}

	// A first, uncounted pass makes the archives the restores read and puts
	// the tree in the page cache for everyone alike.
	progress("warm-up pass")
	for _, s := range append(snapshots, restores...) {
		if _, err := s.measure(); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}

	times := series{}
	for r := 0; r < o.rounds; r++ {
		progress("round %d/%d", r+1, o.rounds)
		for _, group := range [][]step{snapshots, restores} {
			for _, s := range rotate(group, r) {
				took, err := s.measure()
				if err != nil {
					return fmt.Errorf("%s: %w", s.name, err)
				}
				times.add(s.name, took)
			}
		}
	}

	gzSize, zstSize := fileSize(gz), fileSize(zst)
	if gzSize <= 0 || zstSize <= 0 {
		return fmt.Errorf("baseline archives missing in %s", out)
	}
	fmt.Printf("# archive: tree of %d MB (%d files); medians of %d rounds:", treeSize>>20, smallFiles+bigFiles, o.rounds)
	for _, n := range []string{cmdSnapshot, cmdGzip, cmdZstd, cmdRestore, cmdUngzip, cmdUnzstd} {
		fmt.Printf(" %s %s,", n, times.median(n).Round(10*time.Millisecond))
	}
	fmt.Printf(" sizes: snapshot %d MB, gzip -6 %d MB, zstd -3 %d MB\n", img.Size>>20, gzSize>>20, zstSize>>20)
	figure("snapshot vs "+cmdZstd, times.ratio(cmdSnapshot, cmdZstd), 1.3)
	figure("snapshot vs "+cmdGzip, times.ratio(cmdSnapshot, cmdGzip), 0)
	figure("snapshot size vs gzip -6 size", float64(img.Size)/float64(gzSize), 1.0)
	figure("snapshot size vs zstd -3 size", float64(img.Size)/float64(zstSize), 0)
	figure("restore vs "+cmdUnzstd, times.ratio(cmdRestore, cmdUnzstd), 1.3)
	figure("restore vs "+cmdUngzip, times.ratio(cmdRestore, cmdUngzip), 0)
	return nil
}

func fileSize(name string) int64 {
	fi, err := os.Stat(name)
	if err != nil {
		return -1
	}
	return fi.Size()
}
