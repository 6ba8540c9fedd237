package scaffolding_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/example/packer-plugin-scaffolding/acctest"
	"github.com/example/packer-plugin-scaffolding/cloud"
	"github.com/example/packer-plugin-scaffolding/standin"
)

// The sweepers of the stand-in cloud delete what killed acceptance runs
// left behind. The builder's cases each build into a store in their own run
// directory, which goes with the run; these sweepers are for a store and an
// instance directory shared by runs, the way a vendor's tests share a cloud
// account, so both are named by the environment and nothing is swept
// without them.
const (
	// EnvSweepStore names the image store to sweep of images whose name
	// starts with accImagePrefix. TestAccBuilder_destroy builds into it
	// when it is set.
	envSweepStore = "SCAFFOLDING_SWEEP_STORE"
	// EnvSweepInstanceDir names the directory whose instance workspaces
	// are terminated: the TMPDIR `go test` (or the plugin) ran with. The
	// stand-in keeps an instance as a directory "scaffolding-i-<id>" in the
	// plugin's TMPDIR, which the harness makes per run as "pkacc-*" in the
	// test's, so both levels are swept. Every instance there goes, so it
	// must be a directory only test runs use.
	envSweepInstanceDir = "SCAFFOLDING_SWEEP_INSTANCE_DIR"
	// accImagePrefix starts the name of every image an acceptance test
	// makes in a shared store; the image sweeper deletes only those.
	accImagePrefix = "acc-"
)

func init() {
	acctest.AddSweeper(acctest.Sweeper{
		Name: "scaffolding-instances",
		F: func(ctx context.Context) error {
			return sweepInstances(ctx, os.Getenv(envSweepInstanceDir))
		},
	})
	acctest.AddSweeper(acctest.Sweeper{
		Name: "scaffolding-images",
		// An instance's disk is its own copy, but on a cloud an image
		// cannot go while instances launched from it run: instances first.
		Dependencies: []string{"scaffolding-instances"},
		F: func(ctx context.Context) error {
			return sweepImages(ctx, os.Getenv(envSweepStore))
		},
	})
}

// TestSweepers runs the sweepers under `make sweep`.
func TestSweepers(t *testing.T) { acctest.RunSweepers(t) }

// sweepImages deregisters, through the Driver the plugin uses, every image
// in store whose name starts with accImagePrefix, in every region.
func sweepImages(ctx context.Context, store string) error {
	if store == "" {
		fmt.Fprintf(os.Stderr, "sweeper scaffolding-images: %s is not set: no store to sweep\n", envSweepStore)
		return nil
	}
	d, err := cloud.NewDriver(&cloud.AccessConfig{Store: store})
	if err != nil {
		return err
	}
	images, err := d.FindImages(ctx, cloud.ImageFilter{Name: accImagePrefix + "*"})
	if err != nil {
		return fmt.Errorf("store %s: %w", store, err)
	}
	var errs []error
	for _, img := range images {
		if !strings.HasPrefix(img.Name, accImagePrefix) { // the glob's promise, kept here too
			continue
		}
		if err := d.DeregisterImage(ctx, img); err != nil {
			errs = append(errs, fmt.Errorf("image %s (%s) in region %s: %w", img.Name, img.ID, img.Region, err))
			continue
		}
		fmt.Fprintf(os.Stderr, "sweeper scaffolding-images: deregistered %s (%s) in region %s of %s\n", img.Name, img.ID, img.Region, store)
	}
	return errors.Join(errs...)
}

// sweepInstances terminates every instance whose workspace is in dir. The
// cloud.Driver has no call that lists instances (a build only knows its
// own), so this goes to the stand-in's driver, as a fork's sweeper calls
// its SDK's DescribeInstances.
func sweepInstances(ctx context.Context, dir string) error {
	if dir == "" {
		fmt.Fprintf(os.Stderr, "sweeper scaffolding-instances: %s is not set: no instance directory to sweep\n", envSweepInstanceDir)
		return nil
	}
	// The harness removes a run's directory when the run ends: one still
	// here is a killed run's.
	runDirs, err := filepath.Glob(filepath.Join(dir, "pkacc-*"))
	if err != nil {
		return err
	}
	var instances []*standin.Instance
	for _, base := range append([]string{dir}, runDirs...) {
		d := standin.NewLocalDriver("")
		d.InstanceDir = base
		found, err := d.Instances()
		if err != nil {
			return err
		}
		instances = append(instances, found...)
	}
	d := standin.NewLocalDriver("")
	var errs []error
	for _, inst := range instances {
		if err := d.TerminateInstance(ctx, inst); err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintf(os.Stderr, "sweeper scaffolding-instances: terminated %s (%s)\n", inst.ID, inst.Workspace)
	}
	return errors.Join(errs...)
}

// The sweepers, run as `make sweep` runs them, delete what a killed run
// left (an acc- image in two regions, an instance's workspace) and keep an
// image that is not a test's.
func TestSweepers_removeLeftovers(t *testing.T) {
	ctx := context.Background()
	store, instances := t.TempDir(), t.TempDir()
	killed := standin.NewLocalDriver(store) // the run that was killed
	killed.InstanceDir = instances
	plant := func(name string) standin.Image {
		t.Helper()
		inst, err := killed.RunInstance(ctx, standin.LaunchSpec{Name: name})
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(inst.Workspace, "name"), []byte(name), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := killed.StopInstance(ctx, inst); err != nil {
			t.Fatal(err)
		}
		img, err := killed.CreateImage(ctx, inst, standin.ImageSpec{Name: name, Region: "local"})
		if err != nil {
			t.Fatal(err)
		}
		if err := killed.TerminateInstance(ctx, inst); err != nil {
			t.Fatal(err)
		}
		return img
	}
	left := plant(accImagePrefix + "left")
	if _, err := killed.CopyImage(ctx, left, "eu"); err != nil {
		t.Fatal(err)
	}
	kept := plant("keep-me")
	stray, err := killed.RunInstance(ctx, standin.LaunchSpec{Name: "stray"})
	if err != nil {
		t.Fatal(err)
	}
	// And one in a killed harness run's own TMPDIR.
	killed.InstanceDir = filepath.Join(instances, "pkacc-1234")
	if err := os.Mkdir(killed.InstanceDir, 0o700); err != nil {
		t.Fatal(err)
	}
	strayInRun, err := killed.RunInstance(ctx, standin.LaunchSpec{Name: "stray-in-run"})
	if err != nil {
		t.Fatal(err)
	}

	t.Setenv(envSweepStore, store)
	t.Setenv(envSweepInstanceDir, instances)
	results, err := acctest.Sweep(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ran []string
	for _, r := range results {
		ran = append(ran, r.Name)
		if r.Err != nil {
			t.Errorf("sweeper %s: %v", r.Name, r.Err)
		}
	}
	if got, want := strings.Join(ran, ","), "scaffolding-instances,scaffolding-images"; got != want {
		t.Errorf("sweepers ran %s, want %s", got, want)
	}

	later := standin.NewLocalDriver(store)
	all, err := later.FindImages(ctx, standin.ImageFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 || all[0].Name != kept.Name || all[0].ID != kept.ID {
		t.Errorf("images after sweeping: %+v; want only %s (%s)", all, kept.Name, kept.ID)
	}
	if err := later.VerifyImage(ctx, all[0]); err != nil {
		t.Errorf("the kept image's data: %v", err)
	}
	for _, inst := range []*standin.Instance{stray, strayInRun} {
		if _, err := os.Stat(inst.Workspace); !os.IsNotExist(err) {
			t.Errorf("stray instance %s: %v; want it terminated", inst.Workspace, err)
		}
	}
}

// Without the environment naming what to sweep, the sweepers touch
// nothing: not even an instance in the system's temporary directory, where
// a build outside the tests may be running.
func TestSweepers_unconfigured(t *testing.T) {
	ctx := context.Background()
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	t.Setenv(envSweepStore, "")
	t.Setenv(envSweepInstanceDir, "")
	running, err := standin.NewLocalDriver(t.TempDir()).RunInstance(ctx, standin.LaunchSpec{Name: "someone-elses"})
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(running.Workspace) != tmp {
		t.Fatalf("instance in %s, want it in TMPDIR %s", running.Workspace, tmp)
	}
	results, err := acctest.Sweep(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if r.Err != nil {
			t.Errorf("sweeper %s: %v", r.Name, r.Err)
		}
	}
	if _, err := os.Stat(running.Workspace); err != nil {
		t.Errorf("instance %s: %v; an unconfigured sweeper must leave it", running.Workspace, err)
	}
}
