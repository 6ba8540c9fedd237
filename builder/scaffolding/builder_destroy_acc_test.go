package scaffolding_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/example/packer-plugin-scaffolding/acctest"
	"github.com/example/packer-plugin-scaffolding/builder/scaffolding"
	"github.com/example/packer-plugin-scaffolding/cloud"
	"github.com/example/packer-plugin-scaffolding/standin/imagecheck"
)

const destroyTemplate = `
variable "store" {
  type = string
}

variable "image_name" {
  type = string
}

source "scaffolding" "destroy" {
  store        = var.store
  image_name   = var.image_name
  communicator = "workspace"
}

build {
  sources = ["source.scaffolding.destroy"]

  provisioner "scaffolding" {
    file {
      destination = "/name"
      content     = var.image_name
    }
  }
}
`

// TestAccBuilder_destroy builds an image the way a test does in a shared
// cloud account: into SCAFFOLDING_SWEEP_STORE when it is set (the run's own
// store otherwise), under an acc- name of its own. CheckDestroy, which runs
// whether the build passed or not, destroys the case's artifacts with the
// builder's Artifact.Destroy and verifies that no image of the case and no
// instance is left; what a killed run leaves instead, the sweepers in
// sweep_test.go delete.
func TestAccBuilder_destroy(t *testing.T) {
	t.Parallel()
	store := os.Getenv(envSweepStore)
	if store == "" {
		store = "store" // in the run's directory
	}
	acctest.Test(t, acctest.Case{
		Steps: []acctest.Step{{
			Template: destroyTemplate,
			// A name per run: the wire-mode runs of the case go on at
			// once, maybe in the same shared store.
			PreBuild: func(t testing.TB, run *acctest.Run, step *acctest.Step) {
				var b [6]byte
				if _, err := rand.Read(b[:]); err != nil {
					t.Fatal(err)
				}
				name := accImagePrefix + "destroy-" + hex.EncodeToString(b[:])
				run.Set("image_name", name)
				step.Vars = map[string]string{"store": store, "image_name": name}
				step.Checks = append(step.Checks, imagecheck.StoreImages(store, cloud.ImageFilter{Name: name}, 1))
			},
			Checks: []acctest.Check{
				acctest.ArtifactCount(1),
				acctest.ArtifactID(scaffolding.BuilderID, imageID),
			},
		}},
		CheckDestroy: func(t testing.TB, run *acctest.Run, artifacts []acctest.Artifact) error {
			dir := store
			if !filepath.IsAbs(dir) {
				dir = filepath.Join(run.Dir, dir)
			}
			name, _ := run.Value("image_name").(string)
			return destroyAndCheck(t.Context(), dir, name, run.TmpDir(), artifacts)
		},
	})
}

// destroyAndCheck destroys the builder's artifacts, as Packer does when a
// post-processor discards them, and fails if an image named imageName is
// still in store or an instance workspace is left in tmpDir.
func destroyAndCheck(ctx context.Context, store, imageName, tmpDir string, artifacts []acctest.Artifact) error {
	d, err := cloud.NewDriver(&cloud.AccessConfig{Store: store})
	if err != nil {
		return err
	}
	var errs []error
	if imageName == "" { // the step never started: no image to look for
		artifacts = nil
	}
	for _, a := range artifacts {
		if a.BuilderID != scaffolding.BuilderID {
			continue
		}
		// By id and name: in a shared store another image may have the
		// same content, and so the same id.
		images, err := d.FindImages(ctx, cloud.ImageFilter{ID: a.ID, Name: imageName})
		if err != nil {
			return err
		}
		if len(images) == 0 {
			errs = append(errs, fmt.Errorf("artifact %s: no image %s with this id in %s", a.ID, imageName, store))
		}
		for _, img := range images {
			art := &scaffolding.Artifact{Image: img, Store: store, Driver: d}
			if err := art.Destroy(); err != nil {
				errs = append(errs, fmt.Errorf("destroying %s: %w", art, err))
			}
		}
	}
	if imageName != "" {
		left, err := d.FindImages(ctx, cloud.ImageFilter{Name: imageName})
		if err != nil {
			return err
		}
		for _, img := range left {
			errs = append(errs, fmt.Errorf("image %s (%s) in region %s is still in %s after Destroy", img.Name, img.ID, img.Region, store))
		}
	}
	instances, err := filepath.Glob(filepath.Join(tmpDir, "scaffolding-i-*"))
	if err != nil {
		return err
	}
	if len(instances) > 0 {
		errs = append(errs, fmt.Errorf("instance workspaces left after the build: %v", instances))
	}
	return errors.Join(errs...)
}
