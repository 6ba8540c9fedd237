package scaffolding_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/example/packer-plugin-scaffolding/acctest"
	"github.com/example/packer-plugin-scaffolding/builder/scaffolding"
	"github.com/example/packer-plugin-scaffolding/cloud"
	"github.com/example/packer-plugin-scaffolding/standin"
	"github.com/example/packer-plugin-scaffolding/standin/imagecheck"
)

// imageID is what every image id looks like: the digest of its archive.
var imageID = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

const basicTemplate = `
source "scaffolding" "basic" {
  store      = "store"
  image_name = "basic"
  image_labels = {
    role = "test"
  }
}

build {
  sources = ["source.scaffolding.basic"]

  provisioner "scaffolding" {
    file {
      destination = "/etc/motd"
      content     = "hello from ${build.ImageName} in ${build.Region}"
    }
    inline = ["echo ran > /ran.txt"]
  }
}
`

func TestAccBuilder_basic(t *testing.T) {
	t.Parallel()
	needMachines(t)
	acctest.Test(t, acctest.Case{
		Steps: []acctest.Step{{
			Template: basicTemplate,
			Checks: []acctest.Check{
				acctest.ArtifactCount(1),
				acctest.ArtifactID(scaffolding.BuilderID, imageID),
				acctest.ArtifactIDIsFileDigest(scaffolding.BuilderID),
				acctest.ArtifactFilesExist(scaffolding.BuilderID),
				imagecheck.ArtifactImagesInStore(scaffolding.BuilderID, "store"),
				imagecheck.FileInImage(scaffolding.BuilderID, "/etc/motd", "hello from basic in local"),
				imagecheck.FileInImage(scaffolding.BuilderID, "/ran.txt", "ran"),
				imagecheck.StoreImages("store", cloud.ImageFilter{Name: "basic", Region: "local", Labels: map[string]string{"role": "test"}}, 1),
				imagecheck.NoTempFiles("store"),
			},
		}},
	})
}

// childTemplate builds on the image given in var.source, keeping the
// parent's files and adding its own.
const childTemplate = `
variable "source" {
  type = string
}

source "scaffolding" "child" {
  store        = "store"
  image_name   = "child"
  source_image = var.source
}

build {
  sources = ["source.scaffolding.child"]

  provisioner "scaffolding" {
    file {
      destination = "/etc/child"
      content     = "child of ${build.SourceImageID}"
    }
  }
}
`

// useFirstImage passes the first step's image id to the step as var.source.
func useFirstImage(t testing.TB, run *acctest.Run, step *acctest.Step) {
	arts := run.Results[0].ArtifactsFrom(scaffolding.BuilderID)
	if len(arts) != 1 {
		t.Fatalf("step 1 made %d images, expected 1", len(arts))
	}
	step.Vars = map[string]string{"source": arts[0].ID}
}

func TestAccBuilder_fromSourceImage(t *testing.T) {
	t.Parallel()
	needMachines(t)
	acctest.Test(t, acctest.Case{
		Steps: []acctest.Step{
			{Template: basicTemplate},
			{
				Template: childTemplate,
				PreBuild: useFirstImage,
				Checks: []acctest.Check{
					acctest.ArtifactIDIsFileDigest(scaffolding.BuilderID),
					imagecheck.FileInImage(scaffolding.BuilderID, "/etc/motd", "hello from basic"),
					imagecheck.FileInImage(scaffolding.BuilderID, "/etc/child", "child of sha256:"),
					acctest.CheckFunc(sourceRecorded),
					imagecheck.StoreImages("store", cloud.ImageFilter{Region: "local"}, 2),
				},
			},
		},
	})
}

// sourceRecorded checks that the child image names its parent as its source
// in the store, and that the parent's id reached the provisioner.
func sourceRecorded(r *acctest.Result) error {
	parent := r.Run().Results[0].Artifacts[0].ID
	images, err := standin.NewLocalDriver(filepath.Join(r.Dir, "store")).FindImages(context.Background(), standin.ImageFilter{Name: "child"})
	if err != nil {
		return err
	}
	if len(images) != 1 || images[0].SourceImageID != parent {
		return fmt.Errorf("child image: expected one with source %s, found %+v", parent, images)
	}
	return imagecheck.FileInImage(scaffolding.BuilderID, "/etc/child", "child of "+parent).Check(r)
}

func TestAccBuilder_checksumMismatch(t *testing.T) {
	t.Parallel()
	needMachines(t)
	acctest.Test(t, acctest.Case{
		Steps: []acctest.Step{
			{Template: basicTemplate},
			{
				Template: childTemplate,
				PreBuild: func(t testing.TB, run *acctest.Run, step *acctest.Step) {
					useFirstImage(t, run, step)
					// Corrupt the source image's archive behind the index's back.
					archive := run.Results[0].Artifacts[0].Files[0]
					f, err := os.OpenFile(archive, os.O_APPEND|os.O_WRONLY, 0)
					if err != nil {
						t.Fatal(err)
					}
					if _, err := f.WriteString("tampered"); err != nil {
						t.Fatal(err)
					}
					if err := f.Close(); err != nil {
						t.Fatal(err)
					}
				},
				ExpectError: regexp.MustCompile(`checksum mismatch`),
				Checks: []acctest.Check{
					imagecheck.StoreImages("store", cloud.ImageFilter{Name: "child"}, 0),
					imagecheck.NoTempFiles("store"),
				},
			},
		},
	})
}

func TestAccBuilder_sourceImageNotFound(t *testing.T) {
	t.Parallel()
	needMachines(t)
	missing := "sha256:" + strings.Repeat("0", 64)
	acctest.Test(t, acctest.Case{
		Steps: []acctest.Step{
			{Template: basicTemplate},
			{
				Template:    childTemplate,
				Vars:        map[string]string{"source": missing},
				ExpectError: regexp.MustCompile(regexp.QuoteMeta(missing) + `.*not found`),
				Checks:      []acctest.Check{imagecheck.StoreImages("store", cloud.ImageFilter{Name: "child"}, 0)},
			},
		},
	})
}

func TestAccBuilder_invalidConfig(t *testing.T) {
	t.Parallel()
	needMachines(t)
	acctest.Test(t, acctest.Case{
		Steps: []acctest.Step{{
			Template: `
source "scaffolding" "bad" {
  store        = "store"
  region       = "Not A Region!"
  source_image = "latest"
}

build {
  sources = ["source.scaffolding.bad"]
}
`,
			// Every bad field is reported at once, each by name.
			ExpectError: regexp.MustCompile(`(?s)region.*source_image|source_image.*region`),
			Checks: []acctest.Check{
				acctest.ErrorMentions("image_name", "region", "source_image"),
				acctest.ArtifactCount(0),
			},
		}},
	})
}

// A rebuild of identical content whose post-processor fails makes Packer
// destroy the rebuild's artifact. The image is the earlier build's (the
// rebuild reused it), so it and its archive must survive.
func TestAccBuilder_failedRebuildKeepsEarlierImage(t *testing.T) {
	t.Parallel()
	rebuild := strings.Replace(basicTemplate, `  provisioner "scaffolding" {`, `  post-processor "scaffolding-copy" {
    regions = ["eu-west"]
  }

  provisioner "scaffolding" {`, 1)
	acctest.Test(t, acctest.Case{
		Steps: []acctest.Step{
			{
				Template: basicTemplate,
				Checks:   []acctest.Check{acctest.ArtifactCount(1)},
			},
			{
				Template: rebuild,
				// A file where the eu-west region's directory goes makes the
				// copy fail.
				PreBuild: func(t testing.TB, run *acctest.Run, _ *acctest.Step) {
					dir := filepath.Join(run.Dir, "store", "images")
					if err := os.WriteFile(filepath.Join(dir, "eu-west"), []byte("in the way"), 0o644); err != nil {
						t.Fatal(err)
					}
				},
				ExpectError: regexp.MustCompile(`eu-west`),
				Checks: []acctest.Check{
					acctest.UIContains("reuses it"),
					imagecheck.StoreImages("store", cloud.ImageFilter{Name: "basic", Region: "local"}, 1),
					acctest.CheckFunc(func(r *acctest.Result) error {
						first := r.Run().Results[0].ArtifactsFrom(scaffolding.BuilderID)[0]
						for _, f := range first.Files {
							if !filepath.IsAbs(f) {
								f = filepath.Join(r.Dir, f)
							}
							if _, err := os.Stat(f); err != nil {
								return fmt.Errorf("the first build's archive: expected it kept, found %v", err)
							}
						}
						return nil
					}),
				},
			},
		},
	})
}

func TestAccBuilder_failedProvisionerLeavesNothing(t *testing.T) {
	t.Parallel()
	needMachines(t)
	acctest.Test(t, acctest.Case{
		Steps: []acctest.Step{{
			Template: `
source "scaffolding" "broken" {
  store      = "store"
  image_name = "broken"
}

build {
  sources = ["source.scaffolding.broken"]

  provisioner "scaffolding" {
    inline = ["echo about to fail", "exit 3"]
  }
}
`,
			ExpectError: regexp.MustCompile(`exit 3`),
			Checks: []acctest.Check{
				acctest.ArtifactCount(0),
				imagecheck.StoreImages("store", cloud.ImageFilter{}, 0),
				imagecheck.NoTempFiles("store"),
				acctest.CheckFunc(noInstanceLeft),
			},
		}},
	})
}

// noInstanceLeft checks that no instance workspace survived the build: the
// local driver creates them in the run's TMPDIR.
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

// TestAccBuilder_timeoutLeavesNothing cancels the build mid-provisioning
// (Packer's own provisioner timeout cancels the build's context) and checks
// that the instance is gone and no image or temporary file was left.
func TestAccBuilder_timeoutLeavesNothing(t *testing.T) {
	t.Parallel()
	needMachines(t)
	acctest.Test(t, acctest.Case{
		Steps: []acctest.Step{{
			Template: `
source "scaffolding" "slow" {
  store      = "store"
  image_name = "slow"
}

build {
  sources = ["source.scaffolding.slow"]

  provisioner "scaffolding" {
    timeout = "2s"
    inline  = ["echo started > started.txt", "sleep 600"]
  }
}
`,
			ExpectError: regexp.MustCompile(`(?i)timeout|deadline|cancel`),
			Checks: []acctest.Check{
				acctest.ArtifactCount(0),
				imagecheck.StoreImages("store", cloud.ImageFilter{}, 0),
				imagecheck.NoTempFiles("store"),
				acctest.CheckFunc(noInstanceLeft),
			},
		}},
	})
}
