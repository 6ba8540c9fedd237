package imagecheck

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/example/packer-plugin-scaffolding/acctest"
	"github.com/example/packer-plugin-scaffolding/builder/scaffolding"
	"github.com/example/packer-plugin-scaffolding/cloud"
	"github.com/example/packer-plugin-scaffolding/standin"
)

// storeWithImage makes a real store in dir/store holding one image with
// /etc/motd, and returns a Result whose builder artifact is that image.
func storeWithImage(t *testing.T) (*acctest.Result, standin.Image) {
	t.Helper()
	dir := t.TempDir()
	d := standin.NewLocalDriver(filepath.Join(dir, "store"))
	d.InstanceDir = t.TempDir()
	ctx := context.Background()
	inst, err := d.RunInstance(ctx, standin.LaunchSpec{Name: "t"})
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Join(inst.Workspace, "etc"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(inst.Workspace, "etc", "motd"), []byte("hello world"), 0o644))
	require.NoError(t, d.StopInstance(ctx, inst))
	img, err := d.CreateImage(ctx, inst, standin.ImageSpec{Name: "t", Region: "local"})
	require.NoError(t, err)
	r := &acctest.Result{Dir: dir, Artifacts: []acctest.Artifact{{
		BuilderID: scaffolding.BuilderID, ID: img.ID, Files: []string{img.Location},
	}}}
	return r, img
}

func TestFileInImage(t *testing.T) {
	r, _ := storeWithImage(t)
	assert.NoError(t, FileInImage(scaffolding.BuilderID, "/etc/motd", "hello").Check(r))
	assert.ErrorContains(t, FileInImage(scaffolding.BuilderID, "/etc/motd", "goodbye").Check(r), `expected it to contain "goodbye"`)
	assert.ErrorContains(t, FileInImage(scaffolding.BuilderID, "/etc/issue", "x").Check(r), "expected a file /etc/issue, found only [/etc/motd]")
	assert.ErrorContains(t, FileInImage("other", "/etc/motd", "x").Check(r), "found none")
}

func TestStoreImages(t *testing.T) {
	r, img := storeWithImage(t)
	assert.NoError(t, StoreImages("store", cloud.ImageFilter{Name: "t"}, 1).Check(r))
	assert.ErrorContains(t, StoreImages("store", cloud.ImageFilter{Region: "eu-west"}, 1).Check(r), "expected 1, found 0")
	assert.NoError(t, StoreImages("missing-store", cloud.ImageFilter{}, 0).Check(r), "a store never created has no images")
	assert.NoError(t, ArtifactImagesInStore(scaffolding.BuilderID, "store").Check(r))
	assert.NoError(t, Regions(scaffolding.BuilderID, "store", "local").Check(r))
	assert.ErrorContains(t, Regions(scaffolding.BuilderID, "store", "local", "eu-west").Check(r), "expected [eu-west local], found [local]")

	// An archive changed behind the index's back no longer verifies.
	require.NoError(t, os.WriteFile(img.Location, []byte("tampered"), 0o644))
	assert.ErrorIs(t, ArtifactImagesInStore(scaffolding.BuilderID, "store").Check(r), standin.ErrChecksumMismatch)
}

func TestNoTempFiles(t *testing.T) {
	r, _ := storeWithImage(t)
	assert.NoError(t, NoTempFiles("store").Check(r))
	assert.NoError(t, NoTempFiles("missing-store").Check(r))
	require.NoError(t, os.WriteFile(filepath.Join(r.Dir, "store", ".index.json.123.tmp"), nil, 0o644))
	assert.ErrorContains(t, NoTempFiles("store").Check(r), ".index.json.123.tmp")
}
