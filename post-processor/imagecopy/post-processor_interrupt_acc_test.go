//go:build unix

package imagecopy_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/example/packer-plugin-scaffolding/acctest"
	"github.com/example/packer-plugin-scaffolding/cloud"
	"github.com/example/packer-plugin-scaffolding/standin/imagecheck"
)

// copyInterruptTemplate builds an image; before the copy, a shell-local
// post-processor (which passes the artifact on) asks the test to take the
// store's lock and waits until it has, so the copy, once written, waits to
// be registered.
const copyInterruptTemplate = `
source "scaffolding" "app" {
  store      = "store"
  image_name = "app"
}

build {
  sources = ["source.scaffolding.app"]

  provisioner "shell" {
    inline = ["echo app > /app.txt"]
  }

  post-processors {
    post-processor "shell-local" {
      inline = ["touch want-lock", "until [ -e locked ]; do sleep 0.05; done"]
    }
    post-processor "scaffolding-copy" {
      regions = ["eu-west"]
    }
  }
}
`

// TestAccPostProcessor_interruptDuringCopy: Ctrl-C during the copy, once
// the copy is written and waits for the store's lock (held as a concurrent
// build would), leaves no copy registered in the region, no temporary
// archive and no instance (the builder's image, made before, stays).
func TestAccPostProcessor_interruptDuringCopy(t *testing.T) {
	t.Parallel()
	imagecheck.NeedMachines(t)
	acctest.Test(t, acctest.Case{
		Steps: []acctest.Step{{
			Template: copyInterruptTemplate,
			PreBuild: func(t testing.TB, run *acctest.Run, _ *acctest.Step) {
				store := filepath.Join(run.Dir, "store")
				done := make(chan struct{})
				t.Cleanup(func() { <-done })
				go func() {
					defer close(done)
					seen, err := lockThenWaitForCopy(t.Context(), run, store)
					if err != nil {
						t.Errorf("waiting for the copy to interrupt: %v", err)
						return
					}
					run.Set("copy in progress", seen)
					if err := run.Interrupt(); err != nil {
						t.Error(err)
					}
				}()
			},
			ExpectError: regexp.MustCompile(`(?i)cancel|interrupt`),
			Checks: []acctest.Check{
				acctest.CheckFunc(func(r *acctest.Result) error {
					if r.Run().Value("copy in progress") == nil {
						return errors.New("the build was not interrupted during the copy")
					}
					return nil
				}),
				imagecheck.StoreImages("store", cloud.ImageFilter{Region: "eu-west"}, 0),
				// The build itself had finished: its image stays, as a
				// cloud's does when Ctrl-C stops a later post-processor.
				imagecheck.StoreImages("store", cloud.ImageFilter{Region: cloud.DefaultRegion}, 1),
				imagecheck.NoTempFiles("store"),
				acctest.CheckFunc(noInstanceLeft),
			},
		}},
	})
}

// lockThenWaitForCopy answers the template's request for the store's lock
// (releasing it when the test ends), waits until the copy waits for it, and
// returns the copy's temporary archive.
func lockThenWaitForCopy(ctx context.Context, run *acctest.Run, store string) (string, error) {
	for {
		if _, err := os.Stat(filepath.Join(run.Dir, "want-lock")); err == nil {
			break
		}
		select {
		case <-ctx.Done():
			return "", context.Cause(ctx)
		case <-time.After(20 * time.Millisecond):
		}
	}
	release, err := imagecheck.LockStore(store)
	if err != nil {
		return "", err
	}
	context.AfterFunc(ctx, release)
	if err := os.WriteFile(filepath.Join(run.Dir, "locked"), nil, 0o644); err != nil {
		return "", err
	}
	if err := run.WaitForUI(ctx, "another process holds its lock"); err != nil {
		return "", err
	}
	tmp, _ := filepath.Glob(filepath.Join(store, "images", "eu-west", "*.tmp"))
	if len(tmp) == 0 {
		return "", errors.New("the copy waits for the store's lock, but no temporary archive is in its region")
	}
	return fmt.Sprint(tmp), nil
}

// noInstanceLeft checks that no instance workspace is left in the run's
// TMPDIR.
func noInstanceLeft(r *acctest.Result) error {
	left, err := filepath.Glob(filepath.Join(r.Run().TmpDir(), "scaffolding-i-*"))
	if err != nil {
		return err
	}
	if len(left) > 0 {
		return fmt.Errorf("instance workspaces: expected none left, found %v", left)
	}
	return nil
}
