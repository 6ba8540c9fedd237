package scaffolding

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	registryimage "github.com/hashicorp/packer-plugin-sdk/packer/registry/image"

	"github.com/example/packer-plugin-scaffolding/cloud"
	"github.com/example/packer-plugin-scaffolding/standin/machine"
)

// provisionHook stands in for Packer's provisioners: it gets the
// communicator the builder connected.
type provisionHook struct {
	fn     func(ctx context.Context, comm packersdk.Communicator) error
	called bool
}

func (h *provisionHook) Run(ctx context.Context, name string, ui packersdk.Ui, comm packersdk.Communicator, data interface{}) error {
	if name != packersdk.HookProvision {
		return nil
	}
	h.called = true
	return h.fn(ctx, comm)
}

func testUi() *packersdk.BasicUi {
	return &packersdk.BasicUi{Reader: new(bytes.Buffer), Writer: io.Discard, ErrorWriter: io.Discard}
}

func TestBuilder_prepare(t *testing.T) {
	var b Builder
	vars, warnings, err := b.Prepare(testConfig(t))
	if err != nil || len(warnings) != 0 {
		t.Fatalf("Prepare = %v, %v", warnings, err)
	}
	want := []string{"SourceImageID", "ImageName", "Region", "InstanceID", "ImageID"}
	if !reflect.DeepEqual(vars, want) {
		t.Errorf("generated vars = %v, want %v", vars, want)
	}
	if spec := b.ConfigSpec(); spec["store"] == nil || spec["image_labels"] == nil || spec["communicator"] == nil {
		t.Errorf("ConfigSpec lacks fields: %v", spec)
	}
	if _, _, err := new(Builder).Prepare(map[string]interface{}{}); err == nil {
		t.Error("Prepare accepted an empty config")
	}
}

func TestBuilder_runWithMockDriver(t *testing.T) {
	driver := &cloud.MockDriver{RunInstanceResult: &cloud.Instance{ID: "i-1"}}
	b := Builder{Driver: driver}
	raw := testConfig(t)
	raw["communicator"] = "none"
	if _, _, err := b.Prepare(raw); err != nil {
		t.Fatal(err)
	}
	art, err := b.Run(context.Background(), testUi(), &packersdk.MockHook{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"RunInstance", "StopInstance", "CreateImage", "TerminateInstance"}
	if !reflect.DeepEqual(driver.Calls, want) {
		t.Errorf("driver calls = %v, want %v", driver.Calls, want)
	}
	a := art.(*Artifact)
	if a.Id() != "sha256:mock" || a.Store != raw["store"] || a.Driver != driver {
		t.Errorf("artifact = %+v", a)
	}
	gd := a.State("generated_data").(map[string]interface{})
	if gd["InstanceID"] != "i-1" || gd["ImageID"] != "sha256:mock" || gd["ImageName"] != "test-image" || gd["Region"] != cloud.DefaultRegion {
		t.Errorf("generated data = %v", gd)
	}
}

func TestBuilder_runErrorDeletesInstance(t *testing.T) {
	driver := &cloud.MockDriver{
		RunInstanceResult: &cloud.Instance{ID: "i-1"},
		CreateImageErr:    errors.New("disk full"),
	}
	b := Builder{Driver: driver}
	raw := testConfig(t)
	raw["communicator"] = "none"
	if _, _, err := b.Prepare(raw); err != nil {
		t.Fatal(err)
	}
	art, err := b.Run(context.Background(), testUi(), &packersdk.MockHook{})
	if err == nil || !strings.Contains(err.Error(), "disk full") || art != nil {
		t.Fatalf("Run = %v, %v; want the driver's error and no artifact", art, err)
	}
	if !driver.TerminateInstanceCalled {
		t.Error("instance not deleted after a failed build")
	}
}

// newLocalBuilder prepares a Builder on the driver cloud.NewDriver returns
// for a directory store (the stand-in cloud), with the instances made in
// their own temporary directory, so a test can see that none is left.
func newLocalBuilder(t *testing.T, store string, set map[string]interface{}) (*Builder, cloud.Driver, string) {
	t.Helper()
	if set["communicator"] == nil {
		// The default communicator, ssh, needs the instance to be a machine.
		if err := machine.Supported(); err != nil {
			t.Skip(err)
		}
	}
	instances := t.TempDir()
	t.Setenv("TMPDIR", instances)
	driver, err := cloud.NewDriver(&cloud.AccessConfig{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	b := &Builder{Driver: driver}
	raw := map[string]interface{}{"store": store, "image_name": "app"}
	for k, v := range set {
		raw[k] = v
	}
	if _, _, err := b.Prepare(raw); err != nil {
		t.Fatal(err)
	}
	return b, driver, instances
}

func fileDigest(t testing.TB, name string) string {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestBuilder_runWithLocalStore(t *testing.T) {
	if testing.Short() {
		t.Skip("runs shell commands")
	}
	store := filepath.Join(t.TempDir(), "store")
	ctx := context.Background()

	// A base image, provisioned through the workspace communicator.
	base, _, instances := newLocalBuilder(t, store, map[string]interface{}{"image_name": "base", "image_labels": map[string]string{"tier": "base"}})
	hook := &provisionHook{fn: func(ctx context.Context, comm packersdk.Communicator) error {
		if err := comm.Upload("/etc/motd", strings.NewReader("base motd"), nil); err != nil {
			return err
		}
		cmd := &packersdk.RemoteCmd{Command: "echo ran > /opt/ran.txt"}
		if err := cmd.RunWithUi(ctx, comm, testUi()); err != nil {
			return err
		}
		if cmd.ExitStatus() != 0 {
			return errors.New("command failed")
		}
		return nil
	}}
	art, err := base.Run(ctx, testUi(), hook)
	if err != nil {
		t.Fatal(err)
	}
	if !hook.called {
		t.Fatal("provisioners were not run")
	}
	baseArt := art.(*Artifact)
	if got := fileDigest(t, baseArt.Files()[0]); got != baseArt.Id() {
		t.Errorf("artifact id %s, archive hashes to %s", baseArt.Id(), got)
	}
	if left := listDir(t, instances); len(left) != 0 {
		t.Errorf("instances left: %v", left)
	}

	// A child built from it sees its files and records its ancestry.
	child, driver, _ := newLocalBuilder(t, store, map[string]interface{}{"source_image": baseArt.Id()})
	hook = &provisionHook{fn: func(ctx context.Context, comm packersdk.Communicator) error {
		var motd bytes.Buffer
		if err := comm.Download("/etc/motd", &motd); err != nil {
			return err
		}
		return comm.Upload("/etc/motd", strings.NewReader(motd.String()+" + child"), nil)
	}}
	art, err = child.Run(ctx, testUi(), hook)
	if err != nil {
		t.Fatal(err)
	}
	childArt := art.(*Artifact)
	meta := childArt.State(registryimage.ArtifactStateURI).(*registryimage.Image)
	if meta.SourceImageID != baseArt.Id() || meta.ProviderRegion != cloud.DefaultRegion {
		t.Errorf("child metadata = %+v", meta)
	}

	// An instance launched from the child sees what both builds wrote.
	src := childArt.Image
	inst, err := driver.RunInstance(ctx, cloud.LaunchSpec{Name: "check", SourceImage: &src})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = driver.TerminateInstance(ctx, inst) }()
	comm, err := driver.(cloud.Connector).Communicator(ctx, inst)
	if err != nil {
		t.Fatal(err)
	}
	var motd, ran bytes.Buffer
	if err := comm.Download("/etc/motd", &motd); err != nil || motd.String() != "base motd + child" {
		t.Errorf("child /etc/motd = %q, %v", motd.String(), err)
	}
	if err := comm.Download("/opt/ran.txt", &ran); err != nil || strings.TrimSpace(ran.String()) != "ran" {
		t.Errorf("child ran.txt = %q, %v", ran.String(), err)
	}

	// Destroy removes the child and keeps the base.
	if err := childArt.Destroy(); err != nil {
		t.Fatal(err)
	}
	images, _ := driver.FindImages(ctx, cloud.ImageFilter{})
	if len(images) != 1 || images[0].ID != baseArt.Id() {
		t.Errorf("after Destroy: %+v", images)
	}
}

func TestBuilder_runFailureLeavesNothing(t *testing.T) {
	store := filepath.Join(t.TempDir(), "store")
	b, _, instances := newLocalBuilder(t, store, nil)
	hook := &provisionHook{fn: func(ctx context.Context, comm packersdk.Communicator) error {
		if err := comm.Upload("/half", strings.NewReader("x"), nil); err != nil {
			return err
		}
		return errors.New("provisioner failed")
	}}
	art, err := b.Run(context.Background(), testUi(), hook)
	if err == nil || !strings.Contains(err.Error(), "provisioner failed") || art != nil {
		t.Fatalf("Run = %v, %v", art, err)
	}
	if left := listDir(t, instances); len(left) != 0 {
		t.Errorf("instances left after a failure: %v", left)
	}
	if _, err := os.Stat(filepath.Join(store, "index.json")); !os.IsNotExist(err) {
		t.Errorf("a failed build registered something: %v", err)
	}
}

func TestBuilder_runMissingSourceImage(t *testing.T) {
	store := t.TempDir()
	missing := "sha256:" + strings.Repeat("9", 64)
	b, _, instances := newLocalBuilder(t, store, map[string]interface{}{"source_image": missing})
	_, err := b.Run(context.Background(), testUi(), &packersdk.MockHook{})
	if !errors.Is(err, cloud.ErrImageNotFound) || !strings.Contains(err.Error(), missing) {
		t.Fatalf("Run = %v, want no-such-image naming %s", err, missing)
	}
	if left := listDir(t, instances); len(left) != 0 {
		t.Errorf("instances left: %v", left)
	}
}

func TestBuilder_runCancelled(t *testing.T) {
	store := filepath.Join(t.TempDir(), "store")
	b, driver, instances := newLocalBuilder(t, store, nil)
	ctx, cancel := context.WithCancel(context.Background())
	hook := &provisionHook{fn: func(context.Context, packersdk.Communicator) error {
		cancel()
		return nil
	}}
	art, err := b.Run(ctx, testUi(), hook)
	if art != nil || err != nil {
		t.Fatalf("cancelled Run = %v, %v; want nothing", art, err)
	}
	if left := listDir(t, instances); len(left) != 0 {
		t.Errorf("instances left after cancel: %v", left)
	}
	if images, _ := driver.FindImages(context.Background(), cloud.ImageFilter{}); len(images) != 0 {
		t.Errorf("a cancelled build left images: %+v", images)
	}
}
