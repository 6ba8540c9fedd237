//go:build unix

package scaffolding_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/example/packer-plugin-scaffolding/acctest"
	"github.com/example/packer-plugin-scaffolding/cloud"
	"github.com/example/packer-plugin-scaffolding/standin"
	"github.com/example/packer-plugin-scaffolding/standin/imagecheck"
)

// Ctrl-C in each phase of a build: the provisioner-command phase is
// TestAccBuilder_interruptLeavesNoProcess; here the restore of the source
// image and the snapshot (the copy is post-processor/imagecopy's). Each
// test waits for a state of its phase, not for a time: a real store whose
// archive is a pipe the test feeds (restore), a snapshot that has started
// its temporary archive of a large sparse file (writing), the store's lock
// held as another build would hold it (registering); then it presses
// Ctrl-C (acctest.Run.Interrupt) and checks that no process, instance,
// temporary file or new image is left.

// lockWaitLine is what a build prints while another process holds the
// image store's lock.
const lockWaitLine = "another process holds its lock"

// Values the tests record while the build runs, for their checks.
const (
	valPhaseSeen = "interrupt: phase seen"
	valSource    = "interrupt: source image"
)

// phaseSeen checks that the interrupt came in the phase under test, as the
// PreBuild goroutine recorded.
func phaseSeen(r *acctest.Result) error {
	seen, _ := r.Run().Value(valPhaseSeen).(string)
	if seen == "" {
		return errors.New("the build was not interrupted in the phase under test")
	}
	return nil
}

// interruptWhen starts, for the step about to run, a goroutine that waits
// for the phase (wait), records what it saw there, and interrupts Packer.
// The test waits for the goroutine before it ends.
func interruptWhen(t testing.TB, run *acctest.Run, wait func(ctx context.Context) (string, error)) {
	done := make(chan struct{})
	t.Cleanup(func() { <-done })
	go func() {
		defer close(done)
		seen, err := wait(t.Context())
		if err != nil {
			t.Errorf("waiting for the phase to interrupt: %v", err)
			return
		}
		run.Set(valPhaseSeen, seen)
		if err := run.Interrupt(); err != nil {
			t.Error(err)
		}
	}()
}

// tempArchives lists the temporary archives in a region of a store.
func tempArchives(store, region string) []string {
	m, _ := filepath.Glob(filepath.Join(store, "images", region, "*.tmp"))
	return m
}

const snapshotInterruptTemplate = `
variable "marker" {
  type = string
}

source "scaffolding" "snapshot" {
  store      = "store"
  image_name = "snapshot"
}

build {
  sources = ["source.scaffolding.snapshot"]

  provisioner "shell" {
    inline = [
      "echo provisioned > /etc/provisioned.txt",
      "nohup sleep ${var.marker} >/dev/null 2>&1 &",
    ]
  }
}
`

// TestAccBuilder_interruptDuringSnapshot: Ctrl-C once the snapshot is
// written, while it waits to be registered (the store's lock is held, as a
// concurrent build would), leaves no image, no temporary archive, no
// instance and none of its processes.
func TestAccBuilder_interruptDuringSnapshot(t *testing.T) {
	t.Parallel()
	needMachines(t)
	acctest.Test(t, acctest.Case{
		Steps: []acctest.Step{{
			Template: snapshotInterruptTemplate,
			PreBuild: func(t testing.TB, run *acctest.Run, step *acctest.Step) {
				setMarker(t, run, step)
				store := filepath.Join(run.Dir, "store")
				imagecheck.HoldStoreLock(t, store)
				interruptWhen(t, run, func(ctx context.Context) (string, error) {
					if err := run.WaitForUI(ctx, lockWaitLine); err != nil {
						return "", err
					}
					tmp := tempArchives(store, cloud.DefaultRegion)
					if len(tmp) == 0 {
						return "", errors.New("the snapshot waits for the store's lock, but no temporary archive is there")
					}
					return fmt.Sprint(tmp), nil
				})
			},
			ExpectError: regexp.MustCompile(`(?i)cancel|interrupt`),
			Checks: []acctest.Check{
				acctest.CheckFunc(phaseSeen),
				acctest.ArtifactCount(0),
				acctest.CheckFunc(markerGone),
				imagecheck.StoreImages("store", cloud.ImageFilter{}, 0),
				imagecheck.NoTempFiles("store"),
				acctest.CheckFunc(noInstanceLeft),
			},
		}},
	})
}

// sparseTemplate's instance holds an 8 GiB sparse file: nothing on disk,
// but seconds of reading and compressing for the snapshot.
const sparseTemplate = `
source "scaffolding" "sparse" {
  store      = "store"
  image_name = "sparse"
}

build {
  sources = ["source.scaffolding.sparse"]

  provisioner "shell" {
    inline = ["truncate -s 8G /var/big.img"]
  }
}
`

// TestAccBuilder_interruptWhileSnapshotting: Ctrl-C while the snapshot is
// being written stops it there (it never gets as far as registering) and
// leaves no image, no temporary archive and no instance. The store's lock
// is held as well, so even a snapshot that ignored the interrupt could not
// register: it would say it waits for the lock, which the test refuses.
func TestAccBuilder_interruptWhileSnapshotting(t *testing.T) {
	t.Parallel()
	needMachines(t)
	acctest.Test(t, acctest.Case{
		Steps: []acctest.Step{{
			Template: sparseTemplate,
			PreBuild: func(t testing.TB, run *acctest.Run, step *acctest.Step) {
				store := filepath.Join(run.Dir, "store")
				imagecheck.HoldStoreLock(t, store)
				interruptWhen(t, run, func(ctx context.Context) (string, error) {
					if err := run.WaitForUI(ctx, "Creating image"); err != nil {
						return "", err
					}
					for {
						if tmp := tempArchives(store, cloud.DefaultRegion); len(tmp) > 0 {
							return fmt.Sprint(tmp), nil
						}
						select {
						case <-ctx.Done():
							return "", context.Cause(ctx)
						case <-time.After(10 * time.Millisecond):
						}
					}
				})
			},
			ExpectError: regexp.MustCompile(`(?i)cancel|interrupt`),
			Checks: []acctest.Check{
				acctest.CheckFunc(phaseSeen),
				acctest.CheckFunc(func(r *acctest.Result) error {
					for _, l := range r.UI {
						if regexp.MustCompile(lockWaitLine).MatchString(l.Text) {
							return fmt.Errorf("the snapshot went on after the interrupt until it waited to register: %q", l.Text)
						}
					}
					return nil
				}),
				acctest.ArtifactCount(0),
				imagecheck.StoreImages("store", cloud.ImageFilter{}, 0),
				imagecheck.NoTempFiles("store"),
				acctest.CheckFunc(noInstanceLeft),
			},
		}},
	})
}

const restoreInterruptTemplate = `
variable "source" {
  type = string
}

source "scaffolding" "restore" {
  store        = "store"
  image_name   = "restored"
  source_image = var.source
}

build {
  sources = ["source.scaffolding.restore"]

  provisioner "shell" {
    inline = ["echo not reached > /etc/late.txt"]
  }
}
`

// TestAccBuilder_interruptDuringRestore: Ctrl-C while the source image is
// being restored into the new instance ends the restore at once and leaves
// no instance, no temporary file and no image but the source. The source
// image's archive is a named pipe the test feeds: whole for the check
// before the launch, then half, after which the restore waits for more
// (the instance exists and holds part of the image). Before the driver
// closed the archive on cancel, such a build never ended.
func TestAccBuilder_interruptDuringRestore(t *testing.T) {
	t.Parallel()
	needMachines(t)
	acctest.Test(t, acctest.Case{
		SetupRun: func(t testing.TB, run *acctest.Run) {
			img, data := seedImage(t, filepath.Join(run.Dir, "store"))
			run.Set(valSource, img.ID)
			// Where the archive was, a pipe; the test serves its bytes.
			if err := os.Remove(img.Location); err != nil {
				t.Fatal(err)
			}
			if err := unix.Mkfifo(img.Location, 0o644); err != nil {
				t.Fatal(err)
			}
			run.Set(valSource+" archive", img.Location)
			run.Set(valSource+" data", data)
		},
		Steps: []acctest.Step{{
			Template: restoreInterruptTemplate,
			PreBuild: func(t testing.TB, run *acctest.Run, step *acctest.Step) {
				step.Vars = map[string]string{"source": run.Value(valSource).(string)}
				fifo := run.Value(valSource + " archive").(string)
				data := run.Value(valSource + " data").([]byte)
				interruptWhen(t, run, func(ctx context.Context) (string, error) {
					// The launch first checks the whole archive's digest.
					if err := feed(ctx, fifo, data); err != nil {
						return "", fmt.Errorf("serving the archive to the check: %w", err)
					}
					// Then it makes the instance (the check has closed the
					// pipe by then, so the next reader is the restore).
					ws, err := waitForWorkspace(ctx, run.TmpDir())
					if err != nil {
						return "", err
					}
					w, err := openWriter(ctx, fifo)
					if err != nil {
						return "", fmt.Errorf("waiting for the restore to read the archive: %w", err)
					}
					if _, err := w.Write(data[:len(data)/2]); err != nil {
						_ = w.Close()
						return "", fmt.Errorf("serving the restore: %w", err)
					}
					// The rest never comes, as from a stalled disk or network
					// file system: the restore waits in a read, which Ctrl-C
					// must end. The pipe closes once the test is over.
					t.Cleanup(func() { _ = w.Close() })
					return ws, nil
				})
			},
			ExpectError: regexp.MustCompile(`(?i)cancel|interrupt`),
			Checks: []acctest.Check{
				acctest.CheckFunc(phaseSeen),
				acctest.CheckFunc(notBooted),
				acctest.ArtifactCount(0),
				imagecheck.StoreImages("store", cloud.ImageFilter{}, 1),
				imagecheck.NoTempFiles("store"),
				acctest.CheckFunc(noInstanceLeft),
			},
		}},
	})
}

// notBooted checks that the build stopped during the restore: the
// instance never ran.
func notBooted(r *acctest.Result) error {
	for _, l := range r.UI {
		if regexp.MustCompile(`Instance i-[0-9a-f]+ is running`).MatchString(l.Text) {
			return fmt.Errorf("the instance booted, so the interrupt came after the restore: %q", l.Text)
		}
	}
	return nil
}

// seedImage registers, in the store dir, an image holding 1 MiB of random
// bytes (so its archive is as big), and returns it with its archive's
// content.
func seedImage(t testing.TB, store string) (standin.Image, []byte) {
	t.Helper()
	ctx := context.Background()
	d := standin.NewLocalDriver(store)
	d.InstanceDir = t.TempDir()
	inst, err := d.RunInstance(ctx, standin.LaunchSpec{Name: "seed"})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = d.TerminateInstance(ctx, inst) }()
	noise := make([]byte, 1<<20)
	_, _ = rand.Read(noise)
	if err := os.WriteFile(filepath.Join(inst.Workspace, "noise.bin"), noise, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := d.StopInstance(ctx, inst); err != nil {
		t.Fatal(err)
	}
	img, err := d.CreateImage(ctx, inst, standin.ImageSpec{Name: "seed", Region: cloud.DefaultRegion})
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(img.Location)
	if err != nil {
		t.Fatal(err)
	}
	return img, data
}

// waitForWorkspace waits until an instance workspace exists in dir.
func waitForWorkspace(ctx context.Context, dir string) (string, error) {
	for {
		if m, _ := filepath.Glob(filepath.Join(dir, "scaffolding-i-*")); len(m) > 0 {
			return m[0], nil
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("waiting for the instance: %w", context.Cause(ctx))
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// openWriter opens the write end of the named pipe once a reader has
// opened it, until ctx ends.
func openWriter(ctx context.Context, fifo string) (*os.File, error) {
	for {
		fd, err := unix.Open(fifo, unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
		if err == nil {
			if err := unix.SetNonblock(fd, false); err != nil {
				_ = unix.Close(fd)
				return nil, err
			}
			return os.NewFile(uintptr(fd), fifo), nil
		}
		if !errors.Is(err, unix.ENXIO) {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// feed serves data to the next reader of the named pipe.
func feed(ctx context.Context, fifo string, data []byte) error {
	w, err := openWriter(ctx, fifo)
	if err != nil {
		return err
	}
	_, err = w.Write(data)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	return err
}
