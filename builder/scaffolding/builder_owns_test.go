package scaffolding

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/example/packer-plugin-scaffolding/cloud"
)

// What an artifact owns: a build may only remove what it made.

// cancelOnTerminate wraps a driver so the build is cancelled while its
// instance is being terminated, the last thing a build does.
type cancelOnTerminate struct {
	cloud.Driver
	cancel func()
}

func (d cancelOnTerminate) TerminateInstance(ctx context.Context, inst *cloud.Instance) error {
	d.cancel()
	return d.Driver.TerminateInstance(ctx, inst)
}

func (d cancelOnTerminate) Communicator(ctx context.Context, inst *cloud.Instance) (packersdk.Communicator, error) {
	return d.Driver.(cloud.Connector).Communicator(ctx, inst)
}

// writeHook provisions the same file on every build, so rebuilds make
// identical content.
func writeHook() *provisionHook {
	return &provisionHook{fn: func(ctx context.Context, comm packersdk.Communicator) error {
		return comm.Upload("/etc/motd", strings.NewReader("same content"), nil)
	}}
}

// A rebuild of identical content reuses the earlier image; destroying the
// rebuild's artifact (as keep_input_artifact = false or a failed
// post-processor chain does) must leave the earlier image and its archive.
func TestBuilder_rebuildIdenticalDoesNotOwnEarlierImage(t *testing.T) {
	store := filepath.Join(t.TempDir(), "store")
	first, driver, _ := newLocalBuilder(t, store, nil)
	art1, err := first.Run(context.Background(), testUi(), writeHook())
	if err != nil {
		t.Fatal(err)
	}
	second, _, _ := newLocalBuilder(t, store, nil)
	art2, err := second.Run(context.Background(), testUi(), writeHook())
	if err != nil {
		t.Fatal(err)
	}
	a1, a2 := art1.(*Artifact), art2.(*Artifact)
	if a2.Id() != a1.Id() || !a2.Reused || a1.Reused {
		t.Fatalf("rebuild: ids %s/%s, reused %v/%v; want the same image, reused by the second build only", a1.Id(), a2.Id(), a1.Reused, a2.Reused)
	}
	if err := a2.Destroy(); err != nil {
		t.Fatal(err)
	}
	images, err := driver.FindImages(context.Background(), cloud.ImageFilter{ID: a1.Id()})
	if err != nil || len(images) != 1 || !images[0].Created.Equal(a1.Image.Created) {
		t.Errorf("after destroying the rebuild: %+v, %v; want the first build's image as it was", images, err)
	}
	if _, err := os.Stat(a1.Files()[0]); err != nil {
		t.Errorf("the first build's archive: %v", err)
	}
}

// A rebuild of identical content that is cancelled while its instance is
// being terminated must not remove the earlier build's image.
func TestBuilder_cancelledRebuildKeepsEarlierImage(t *testing.T) {
	store := filepath.Join(t.TempDir(), "store")
	first, driver, _ := newLocalBuilder(t, store, nil)
	art1, err := first.Run(context.Background(), testUi(), writeHook())
	if err != nil {
		t.Fatal(err)
	}
	second, _, _ := newLocalBuilder(t, store, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	second.Driver = cancelOnTerminate{Driver: second.Driver, cancel: cancel}
	art2, err := second.Run(ctx, testUi(), writeHook())
	if art2 != nil || err != nil {
		t.Fatalf("cancelled rebuild = %v, %v; want nothing", art2, err)
	}
	images, err := driver.FindImages(context.Background(), cloud.ImageFilter{ID: art1.Id()})
	if err != nil || len(images) != 1 {
		t.Errorf("after a cancelled rebuild: %+v, %v; want the first build's image", images, err)
	}
	if _, err := os.Stat(art1.Files()[0]); err != nil {
		t.Errorf("the first build's archive: %v", err)
	}
}

// A cancel that lands while the instance is being terminated, after the
// image was registered, must not leave an image that no artifact reports.
func TestBuilder_cancelDuringTerminateLeavesNoImage(t *testing.T) {
	store := filepath.Join(t.TempDir(), "store")
	b, driver, instances := newLocalBuilder(t, store, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b.Driver = cancelOnTerminate{Driver: b.Driver, cancel: cancel}
	art, err := b.Run(ctx, testUi(), writeHook())
	if art != nil || err != nil {
		t.Fatalf("cancelled Run = %v, %v; want nothing", art, err)
	}
	if images, _ := driver.FindImages(context.Background(), cloud.ImageFilter{}); len(images) != 0 {
		t.Errorf("images with no artifact: %+v", images)
	}
	if left := listDir(t, instances); len(left) != 0 {
		t.Errorf("instances left: %v", left)
	}
}
