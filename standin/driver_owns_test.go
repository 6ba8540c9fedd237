package standin

import (
	"context"
	"errors"
	"os"
	"testing"
)

// Rebuilding identical content under the same name must not re-register
// (and so take over) the earlier image: deregistering the rebuild would
// delete the earlier good image and its archive.
func TestLocalDriver_createImageIdenticalKeepsEarlier(t *testing.T) {
	d := newTestDriver(t)
	spec := ImageSpec{Name: "app", Region: "local", Labels: map[string]string{"build": "1"}}
	first := buildImage(t, d, spec, map[string]string{"etc/motd": "same"})
	spec.Labels = map[string]string{"build": "2"}
	again, err := createTestImage(d, spec, map[string]string{"etc/motd": "same"})
	if !errors.Is(err, ErrImageExists) {
		t.Fatalf("identical rebuild: %v, want ErrImageExists", err)
	}
	if again.ID != first.ID || !again.Created.Equal(first.Created) || again.Labels["build"] != "1" {
		t.Errorf("identical rebuild returned %+v, want the first image unchanged", again)
	}
	found, _ := d.FindImages(context.Background(), ImageFilter{})
	if len(found) != 1 || found[0].Labels["build"] != "1" {
		t.Errorf("index holds %+v, want the first image only, unchanged", found)
	}
	if _, err := os.Stat(first.Location); err != nil {
		t.Errorf("first archive: %v", err)
	}
}

// Launching from an image verifies it first; a corrupt image leaves no
// instance behind.
func TestLocalDriver_runInstanceVerifiesSource(t *testing.T) {
	d := newTestDriver(t)
	ctx := context.Background()
	img := buildImage(t, d, ImageSpec{Name: "app", Region: "local"}, map[string]string{"etc/motd": "hello"})

	inst, err := d.RunInstance(ctx, LaunchSpec{Name: "child", Source: &img})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(inst.Workspace + "/etc/motd"); err != nil || string(got) != "hello" {
		t.Errorf("restored etc/motd = %q, %v", got, err)
	}
	if err := d.TerminateInstance(ctx, inst); err != nil {
		t.Fatal(err)
	}

	if err := os.WriteFile(img.Location, []byte("tampered"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := d.RunInstance(ctx, LaunchSpec{Name: "child", Source: &img}); !errors.Is(err, ErrChecksumMismatch) {
		t.Errorf("launch from a tampered image: %v, want ErrChecksumMismatch", err)
	}
	missing := img
	missing.Region = "elsewhere"
	if _, err := d.RunInstance(ctx, LaunchSpec{Name: "child", Source: &missing}); !errors.Is(err, ErrImageNotFound) {
		t.Errorf("launch from a missing image: %v, want ErrImageNotFound", err)
	}
	if left, _ := os.ReadDir(d.InstanceDir); len(left) != 0 {
		t.Errorf("failed launches left instances: %v", left)
	}
}
