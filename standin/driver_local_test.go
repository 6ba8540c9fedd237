package standin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// newTestDriver returns a LocalDriver for a fresh store whose clock ticks
// one second per image, so images have distinct, predictable times.
func newTestDriver(t *testing.T) *LocalDriver {
	t.Helper()
	d := NewLocalDriver(filepath.Join(t.TempDir(), "store"))
	d.InstanceDir = t.TempDir()
	var mu sync.Mutex
	clock := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	d.Now = func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		clock = clock.Add(time.Second)
		return clock
	}
	return d
}

// buildImage runs the driver's instance lifecycle to create an image
// holding files.
func buildImage(t testing.TB, d *LocalDriver, spec ImageSpec, files map[string]string) Image {
	t.Helper()
	img, err := createTestImage(d, spec, files)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// createTestImage is buildImage for goroutines, which must not call
// t.Fatal.
func createTestImage(d *LocalDriver, spec ImageSpec, files map[string]string) (Image, error) {
	ctx := context.Background()
	inst, err := d.RunInstance(ctx, LaunchSpec{Name: spec.Name})
	if err != nil {
		return Image{}, err
	}
	defer func() { _ = d.TerminateInstance(ctx, inst) }()
	for name, content := range files {
		p := filepath.Join(inst.Workspace, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return Image{}, err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return Image{}, err
		}
	}
	if err := d.StopInstance(ctx, inst); err != nil {
		return Image{}, err
	}
	img, err := d.CreateImage(ctx, inst, spec)
	if err != nil {
		return img, fmt.Errorf("creating image %q: %w", spec.Name, err)
	}
	return img, nil
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

// tempFiles lists leftovers of interrupted writes in a store.
func tempFiles(t *testing.T, store string) []string {
	t.Helper()
	var left []string
	_ = filepath.Walk(store, func(p string, info os.FileInfo, err error) error {
		if err == nil && strings.HasSuffix(p, ".tmp") {
			left = append(left, p)
		}
		return nil
	})
	return left
}

func TestLocalDriver_createImage(t *testing.T) {
	d := newTestDriver(t)
	src := "sha256:" + strings.Repeat("ab", 32)
	img := buildImage(t, d, ImageSpec{Name: "web", Region: "local", Labels: map[string]string{"role": "web"}, SourceImageID: src},
		map[string]string{"etc/motd": "hi"})

	if got := fileDigest(t, img.Location); got != img.ID {
		t.Errorf("image id %s, but its archive hashes to %s", img.ID, got)
	}
	if !filepath.IsAbs(img.Location) {
		t.Errorf("location %q is not absolute", img.Location)
	}
	wantFile := filepath.Join(d.Dir, "images", "local", strings.TrimPrefix(img.ID, "sha256:")+".tar.gz")
	if abs, _ := filepath.Abs(wantFile); img.Location != abs {
		t.Errorf("location = %s, want %s", img.Location, abs)
	}
	if img.Name != "web" || img.Region != "local" || img.Labels["role"] != "web" || img.SourceImageID != src {
		t.Errorf("image = %+v", img)
	}
	if img.Created.Location() != time.UTC || img.Created.IsZero() {
		t.Errorf("created = %v, want a UTC time", img.Created)
	}
	if fi, err := os.Stat(img.Location); err != nil || fi.Size() != img.Size {
		t.Errorf("size = %d, file: %v %v", img.Size, fi, err)
	}

	found, err := d.FindImages(context.Background(), ImageFilter{ID: img.ID})
	if err != nil || len(found) != 1 {
		t.Fatalf("FindImages = %v, %v", found, err)
	}
	if found[0].Created != img.Created || found[0].Location != img.Location {
		t.Errorf("found %+v, created %+v", found[0], img)
	}
	if left := tempFiles(t, d.Dir); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}

	// Same content, same id; the file is shared.
	again := buildImage(t, d, ImageSpec{Name: "web-copy", Region: "local"}, map[string]string{"etc/motd": "hi"})
	if again.ID != img.ID || again.Location != img.Location {
		t.Errorf("identical content gave %s at %s, want %s at %s", again.ID, again.Location, img.ID, img.Location)
	}
}

func TestLocalDriver_createImageError(t *testing.T) {
	d := newTestDriver(t)
	ctx := context.Background()
	inst, err := d.RunInstance(ctx, LaunchSpec{Name: "x"})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = d.TerminateInstance(ctx, inst) }()

	if _, err := d.CreateImage(ctx, inst, ImageSpec{Name: "x", Region: "local"}); err == nil || !strings.Contains(err.Error(), "still running") {
		t.Errorf("creating an image of a running instance: %v", err)
	}
	if err := d.StopInstance(ctx, inst); err != nil {
		t.Fatal(err)
	}
	if _, err := d.CreateImage(ctx, inst, ImageSpec{Name: "x", Region: "../up"}); err == nil || !strings.Contains(err.Error(), "region") {
		t.Errorf("bad region: %v", err)
	}

	// An archive that cannot be written (an escaping symlink) leaves nothing.
	if err := os.Symlink("/etc/passwd", filepath.Join(inst.Workspace, "passwd")); err != nil {
		t.Skipf("no symlinks here: %v", err)
	}
	_, err = d.CreateImage(ctx, inst, ImageSpec{Name: "x", Region: "local"})
	if err == nil || !strings.Contains(err.Error(), `"passwd"`) {
		t.Fatalf("error = %v, want one naming the bad entry", err)
	}
	if left := tempFiles(t, d.Dir); len(left) > 0 {
		t.Errorf("temporary files left after a failed snapshot: %v", left)
	}
	if _, err := os.Stat(filepath.Join(d.Dir, indexFileName)); !os.IsNotExist(err) {
		t.Errorf("a failed CreateImage wrote an index: %v", err)
	}
}

func TestLocalDriver_instanceLifecycle(t *testing.T) {
	d := newTestDriver(t)
	ctx := context.Background()
	inst, err := d.RunInstance(ctx, LaunchSpec{Name: "life"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(inst.ID, "i-") || filepath.Dir(inst.Workspace) != d.InstanceDir {
		t.Errorf("instance = %+v", inst)
	}
	if entries, err := os.ReadDir(inst.Workspace); err != nil || len(entries) != 0 {
		t.Errorf("new workspace: %v, %v; want empty", entries, err)
	}
	other, err := d.RunInstance(ctx, LaunchSpec{Name: "life"})
	if err != nil {
		t.Fatal(err)
	}
	if other.ID == inst.ID || other.Workspace == inst.Workspace {
		t.Errorf("two instances share %s / %s", other.ID, other.Workspace)
	}
	populate(t, inst.Workspace, map[string]string{"a/b": "c"})
	if err := d.TerminateInstance(ctx, inst); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(inst.Workspace); !os.IsNotExist(err) {
		t.Errorf("workspace after DeleteInstance: %v", err)
	}
	if err := d.TerminateInstance(ctx, inst); err != nil {
		t.Errorf("deleting an instance twice: %v", err)
	}
	if err := d.StopInstance(ctx, inst); err == nil {
		t.Error("stopping a deleted instance succeeded")
	}
	if err := d.TerminateInstance(ctx, other); err != nil {
		t.Error(err)
	}
}

func TestLocalDriver_restoreImage(t *testing.T) {
	d := newTestDriver(t)
	ctx := context.Background()
	img := buildImage(t, d, ImageSpec{Name: "base", Region: "local"}, map[string]string{"etc/motd": "from base"})

	inst, err := d.RunInstance(ctx, LaunchSpec{Name: "child"})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = d.TerminateInstance(ctx, inst) }()
	if err := d.RestoreImage(ctx, inst, img); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(inst.Workspace, "etc", "motd")); string(got) != "from base" {
		t.Errorf("restored etc/motd = %q", got)
	}

	// Tampering with the archive is caught while restoring.
	if err := os.WriteFile(img.Location, []byte("tampered"), 0o644); err != nil {
		t.Fatal(err)
	}
	fresh, _ := d.RunInstance(ctx, LaunchSpec{Name: "child2"})
	defer func() { _ = d.TerminateInstance(ctx, fresh) }()
	err = d.RestoreImage(ctx, fresh, img)
	if !errors.Is(err, ErrChecksumMismatch) || !strings.Contains(err.Error(), img.ID) {
		t.Errorf("restoring a tampered image: %v, want a checksum mismatch naming %s", err, img.ID)
	}
	missing := img
	missing.ID = "sha256:" + strings.Repeat("0", 64)
	if err := d.RestoreImage(ctx, fresh, missing); !errors.Is(err, ErrImageNotFound) {
		t.Errorf("restoring a missing image: %v, want ErrImageNotFound", err)
	}
}

func TestLocalDriver_verifyImage(t *testing.T) {
	d := newTestDriver(t)
	ctx := context.Background()
	img := buildImage(t, d, ImageSpec{Name: "v", Region: "local"}, map[string]string{"f": "x"})
	if err := d.VerifyImage(ctx, img); err != nil {
		t.Fatalf("verifying a good image: %v", err)
	}
	if err := d.VerifyImage(ctx, Image{ID: img.ID, Region: "local"}); err != nil {
		t.Errorf("verifying by id and region only: %v", err)
	}
	if err := d.VerifyImage(ctx, Image{ID: img.ID, Region: "elsewhere"}); !errors.Is(err, ErrImageNotFound) {
		t.Errorf("verifying in another region: %v, want ErrImageNotFound", err)
	}
	if err := os.WriteFile(img.Location, []byte("tampered"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := d.VerifyImage(ctx, img)
	if !errors.Is(err, ErrChecksumMismatch) || !strings.Contains(err.Error(), img.ID) {
		t.Errorf("verifying a tampered image: %v", err)
	}
}

func TestLocalDriver_deleteImage(t *testing.T) {
	d := newTestDriver(t)
	ctx := context.Background()
	a := buildImage(t, d, ImageSpec{Name: "a", Region: "local"}, map[string]string{"f": "same"})
	b := buildImage(t, d, ImageSpec{Name: "b", Region: "local"}, map[string]string{"f": "same"})
	if a.Location != b.Location {
		t.Fatalf("same content, different files: %s %s", a.Location, b.Location)
	}
	if err := d.DeregisterImage(ctx, a); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(b.Location); err != nil {
		t.Fatalf("archive removed while image b still uses it: %v", err)
	}
	if found, _ := d.FindImages(ctx, ImageFilter{}); len(found) != 1 || found[0].Name != "b" {
		t.Errorf("after deleting a: %+v", found)
	}
	if err := d.DeregisterImage(ctx, b); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(b.Location); !os.IsNotExist(err) {
		t.Errorf("archive kept after its last image was deleted: %v", err)
	}
	if err := d.DeregisterImage(ctx, b); err != nil {
		t.Errorf("deleting an image twice: %v", err)
	}
	if err := NewLocalDriver(filepath.Join(t.TempDir(), "none")).DeregisterImage(ctx, b); err != nil {
		t.Errorf("deleting from a store that does not exist: %v", err)
	}
}

func TestLocalDriver_copyImage(t *testing.T) {
	d := newTestDriver(t)
	ctx := context.Background()
	src := "sha256:" + strings.Repeat("cd", 32)
	img := buildImage(t, d, ImageSpec{Name: "app", Region: "local", Labels: map[string]string{"k": "v"}, SourceImageID: src},
		map[string]string{"f": "x"})

	cp, err := d.CopyImage(ctx, img, "eu-west")
	if err != nil {
		t.Fatal(err)
	}
	if cp.ID != img.ID || cp.Name != img.Name || cp.Labels["k"] != "v" || cp.SourceImageID != src || cp.Region != "eu-west" {
		t.Errorf("copy = %+v", cp)
	}
	if !cp.Created.After(img.Created) {
		t.Errorf("copy created %v, not after the original %v", cp.Created, img.Created)
	}
	if filepath.Base(filepath.Dir(cp.Location)) != "eu-west" || fileDigest(t, cp.Location) != img.ID {
		t.Errorf("copy location %s", cp.Location)
	}
	again, err := d.CopyImage(ctx, img, "eu-west")
	if !errors.Is(err, ErrImageExists) || again.Created != cp.Created {
		t.Errorf("second copy = %+v, %v; want the first copy unchanged and ErrImageExists", again, err)
	}
	same, err := d.CopyImage(ctx, img, "local")
	if !errors.Is(err, ErrImageExists) || same.Created != img.Created {
		t.Errorf("copy to its own region = %+v, %v; want the image itself and ErrImageExists", same, err)
	}
	if found, _ := d.FindImages(ctx, ImageFilter{ID: img.ID}); len(found) != 2 {
		t.Errorf("image registered %d times, want 2: %+v", len(found), found)
	}
	if _, err := d.CopyImage(ctx, img, "bad/region"); err == nil || !strings.Contains(err.Error(), "bad/region") {
		t.Errorf("copy to a bad region: %v", err)
	}
}

func TestLocalDriver_copyImageChecksumMismatch(t *testing.T) {
	d := newTestDriver(t)
	ctx := context.Background()
	img := buildImage(t, d, ImageSpec{Name: "app", Region: "local"}, map[string]string{"f": "x"})
	if err := os.WriteFile(img.Location, []byte("tampered"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := d.CopyImage(ctx, img, "eu")
	if !errors.Is(err, ErrChecksumMismatch) {
		t.Fatalf("copying a tampered image: %v, want ErrChecksumMismatch", err)
	}
	if found, _ := d.FindImages(ctx, ImageFilter{Region: "eu"}); len(found) != 0 {
		t.Errorf("a failed copy registered %+v", found)
	}
	if entries, _ := os.ReadDir(filepath.Join(d.Dir, "images", "eu")); len(entries) != 0 {
		t.Errorf("a failed copy left files: %v", entries)
	}
}

func TestLocalDriver_concurrentCopies(t *testing.T) {
	d := newTestDriver(t)
	ctx := context.Background()
	img := buildImage(t, d, ImageSpec{Name: "app", Region: "local"}, map[string]string{"f": "x"})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	made := make(chan bool, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := d.CopyImage(ctx, img, "eu")
			switch {
			case err == nil:
				made <- true
			case !errors.Is(err, ErrImageExists):
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	close(made)
	for err := range errs {
		t.Error(err)
	}
	// Exactly one caller made the copy; the others were told it exists, so
	// none of them would delete it as its own.
	if n := len(made); n != 1 {
		t.Errorf("%d copies reported as made, want 1", n)
	}
	found, err := d.FindImages(ctx, ImageFilter{Region: "eu"})
	if err != nil || len(found) != 1 {
		t.Fatalf("after 8 concurrent copies: %+v, %v; want one entry", found, err)
	}
	if fileDigest(t, found[0].Location) != img.ID {
		t.Error("copied archive does not match the id")
	}
	if left := tempFiles(t, d.Dir); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}
