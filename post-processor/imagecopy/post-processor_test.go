package imagecopy

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	registryimage "github.com/hashicorp/packer-plugin-sdk/packer/registry/image"

	"github.com/example/packer-plugin-scaffolding/builder/scaffolding"
	"github.com/example/packer-plugin-scaffolding/cloud"
	"github.com/example/packer-plugin-scaffolding/standin"
)

var (
	srcID    = "sha256:" + strings.Repeat("c", 64)
	srcImage = cloud.Image{
		ID: srcID, Name: "web", Region: "local", Location: "/store/images/local/c.tar.gz",
		Labels: map[string]string{"os": "linux"}, SourceImageID: "sha256:" + strings.Repeat("0", 64),
	}
)

func configured(t *testing.T, raw map[string]interface{}) *PostProcessor {
	t.Helper()
	p := &PostProcessor{}
	if err := p.Configure(raw); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	return p
}

func input() *packersdk.MockArtifact {
	return &packersdk.MockArtifact{
		BuilderIdValue: scaffolding.BuilderID,
		IdValue:        srcID,
		StateValues: map[string]interface{}{
			scaffolding.StateStore:     "/store",
			scaffolding.StateRegion:    "local",
			scaffolding.StateImageName: "web",
			"generated_data":           map[string]interface{}{"ImageName": "web"},
		},
	}
}

// storeMock answers FindImages with the source image in its region and
// whatever extra holds for other regions, and copies by relabelling; a copy
// to a region an extra image is in answers ErrImageExists.
func storeMock(extra ...cloud.Image) *cloud.MockDriver {
	return &cloud.MockDriver{
		FindImagesFunc: func(_ context.Context, f cloud.ImageFilter) ([]cloud.Image, error) {
			var out []cloud.Image
			for _, img := range append([]cloud.Image{srcImage}, extra...) {
				if img.ID == f.ID && img.Region == f.Region && (f.Name == "" || img.Name == f.Name) {
					out = append(out, img)
				}
			}
			return out, nil
		},
		CopyImageFunc: func(_ context.Context, img cloud.Image, region string) (cloud.Image, error) {
			for _, e := range extra {
				if e.ID == img.ID && e.Name == img.Name && e.Region == region {
					return e, fmt.Errorf("image %q: %w", e.Name, cloud.ErrImageExists)
				}
			}
			img.Region = region
			img.Location = "/store/images/" + region + "/c.tar.gz"
			return img, nil
		},
	}
}

func TestConfigureRejectsEachBadField(t *testing.T) {
	cases := []struct {
		name string
		raw  map[string]interface{}
		want string
	}{
		{"no regions", map[string]interface{}{}, "regions: required"},
		{"empty regions", map[string]interface{}{"regions": []string{}}, "regions: required"},
		{"bad region", map[string]interface{}{"regions": []string{"eu-1", "../up"}}, "regions[1]:"},
		{"empty region", map[string]interface{}{"regions": []string{""}}, "regions[0]:"},
		{"duplicate region", map[string]interface{}{"regions": []string{"eu-1", "us-2", "eu-1"}}, `regions[2]: "eu-1" repeats regions[0]`},
		{"http store", map[string]interface{}{"regions": []string{"eu-1"}, "store": "https://images.example"}, "store:"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := (&PostProcessor{}).Configure(tc.raw)
			if err == nil {
				t.Fatalf("Configure accepted %v", tc.raw)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

func TestPostProcessCopiesToEveryRegion(t *testing.T) {
	p := configured(t, map[string]interface{}{"regions": []string{"eu-1", "local", "us-2"}})
	mock := storeMock()
	p.Driver = mock

	out, keep, force, err := p.PostProcess(context.Background(), packersdk.TestUi(t), input())
	if err != nil {
		t.Fatalf("PostProcess: %v", err)
	}
	if !keep || !force {
		t.Errorf("keep, forceOverride = %v, %v; want true, true: the result lists the source image, so the input must stay", keep, force)
	}
	if got := mock.FindImagesFilters[0]; got.ID != srcID || got.Region != "local" || got.Name != "web" {
		t.Errorf("source lookup filter = %+v, want image web (%s) in region local", got, srcID)
	}
	if want := []string{"eu-1", "us-2"}; !reflect.DeepEqual(mock.CopyImageRegions, want) {
		t.Errorf("copied to %v, want %v (the source region is not copied)", mock.CopyImageRegions, want)
	}
	if mock.CopyImageImage.ID != srcID {
		t.Errorf("copied image %s, want %s", mock.CopyImageImage.ID, srcID)
	}

	if out.BuilderId() != "example.scaffolding-copy" || out.Id() != srcID {
		t.Errorf("artifact builder id %q, id %q", out.BuilderId(), out.Id())
	}
	wantFiles := []string{"/store/images/eu-1/c.tar.gz", "/store/images/local/c.tar.gz", "/store/images/us-2/c.tar.gz"}
	if !reflect.DeepEqual(out.Files(), wantFiles) {
		t.Errorf("files = %v, want %v", out.Files(), wantFiles)
	}
	if s := out.String(); !strings.Contains(s, "eu-1, local, us-2") || !strings.Contains(s, srcID) {
		t.Errorf("String() = %q, want the id and the regions", s)
	}

	images, ok := out.State(registryimage.ArtifactStateURI).([]*registryimage.Image)
	if !ok || len(images) != 3 {
		t.Fatalf("registry metadata = %#v, want 3 images", out.State(registryimage.ArtifactStateURI))
	}
	for i, region := range []string{"eu-1", "local", "us-2"} {
		img := images[i]
		if err := img.Validate(); err != nil {
			t.Errorf("image %d: %v", i, err)
		}
		want := registryimage.Image{
			ImageID: srcID, ProviderName: "scaffolding", ProviderRegion: region,
			SourceImageID: srcImage.SourceImageID, Labels: map[string]string{"os": "linux"},
		}
		if !reflect.DeepEqual(*img, want) {
			t.Errorf("image %d = %+v, want %+v", i, *img, want)
		}
	}
	if gd, _ := out.State("generated_data").(map[string]interface{}); gd["ImageName"] != "web" {
		t.Errorf("generated_data = %#v, want the input's passed through", out.State("generated_data"))
	}
	if out.State(scaffolding.StateStore) != "/store" {
		t.Errorf("store state = %#v, want /store", out.State(scaffolding.StateStore))
	}
}

// Without the source region in the list the result holds copies only, and
// keep_input_artifact decides about the input; none of the result's files
// is the input's.
func TestPostProcessLeavesKeepToUser(t *testing.T) {
	p := configured(t, map[string]interface{}{"regions": []string{"eu-1"}})
	p.Driver = storeMock()
	out, keep, force, err := p.PostProcess(context.Background(), packersdk.TestUi(t), input())
	if err != nil {
		t.Fatal(err)
	}
	if !keep || force {
		t.Errorf("keep, forceOverride = %v, %v; want true, false so keep_input_artifact decides", keep, force)
	}
	for _, f := range out.Files() {
		if f == srcImage.Location {
			t.Errorf("files %v include the input's archive", out.Files())
		}
	}
}

func TestPostProcessWithoutGeneratedData(t *testing.T) {
	p := configured(t, map[string]interface{}{"regions": []string{"eu-1"}})
	p.Driver = storeMock()
	in := input()
	delete(in.StateValues, "generated_data")
	out, _, _, err := p.PostProcess(context.Background(), packersdk.TestUi(t), in)
	if err != nil {
		t.Fatal(err)
	}
	if gd := out.State("generated_data"); gd != nil {
		t.Errorf("generated_data = %#v, want nil", gd)
	}
	if out.State("unknown") != nil {
		t.Error("State answers an unknown key")
	}
}

func TestPostProcessStoreOverride(t *testing.T) {
	p := configured(t, map[string]interface{}{"regions": []string{"eu-1"}, "store": "/elsewhere"})
	p.Driver = storeMock()
	out, _, _, err := p.PostProcess(context.Background(), packersdk.TestUi(t), input())
	if err != nil {
		t.Fatal(err)
	}
	if got := out.(*Artifact).Store; got != "/elsewhere" {
		t.Errorf("store = %q, want the configured /elsewhere", got)
	}
}

func TestPostProcessRejectsOtherBuilders(t *testing.T) {
	p := configured(t, map[string]interface{}{"regions": []string{"eu-1"}})
	mock := storeMock()
	p.Driver = mock
	in := input()
	in.BuilderIdValue = "mitchellh.docker"

	_, _, _, err := p.PostProcess(context.Background(), packersdk.TestUi(t), in)
	if err == nil || !strings.Contains(err.Error(), `"mitchellh.docker"`) {
		t.Fatalf("error = %v, want it to name the builder id found", err)
	}
	if len(mock.Calls) != 0 {
		t.Errorf("driver calls %v on a foreign artifact", mock.Calls)
	}
}

func TestPostProcessNeedsRegionAndStore(t *testing.T) {
	for _, key := range []string{scaffolding.StateRegion, scaffolding.StateStore, scaffolding.StateImageName} {
		p := configured(t, map[string]interface{}{"regions": []string{"eu-1"}})
		p.Driver = storeMock()
		in := input()
		delete(in.StateValues, key)
		if _, _, _, err := p.PostProcess(context.Background(), packersdk.TestUi(t), in); err == nil {
			t.Errorf("PostProcess succeeded without the %q state", key)
		}
	}
}

func TestPostProcessSourceMissing(t *testing.T) {
	p := configured(t, map[string]interface{}{"regions": []string{"eu-1"}})
	p.Driver = &cloud.MockDriver{}
	_, _, _, err := p.PostProcess(context.Background(), packersdk.TestUi(t), input())
	if err == nil {
		t.Fatal("PostProcess succeeded without a source image")
	}
	for _, want := range []string{srcID, `"local"`, "/store"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}

func TestPostProcessReusesExistingCopies(t *testing.T) {
	already := srcImage
	already.Region = "eu-1"
	already.Location = "/store/images/eu-1/c.tar.gz"
	p := configured(t, map[string]interface{}{"regions": []string{"eu-1", "us-2"}})
	mock := storeMock(already)
	p.Driver = mock

	out, _, _, err := p.PostProcess(context.Background(), packersdk.TestUi(t), input())
	if err != nil {
		t.Fatal(err)
	}
	if copies := out.(*Artifact).Copies; len(copies) != 1 || copies[0].Region != "us-2" {
		t.Errorf("copies made = %+v, want only the us-2 one (eu-1 held it already)", copies)
	}
	if err := out.Destroy(); err != nil {
		t.Fatal(err)
	}
	if len(mock.DeregisterImageImages) != 1 || mock.DeregisterImageImages[0].Region != "us-2" {
		t.Errorf("Destroy deleted %+v, want only the us-2 copy it made", mock.DeregisterImageImages)
	}
}

func TestPostProcessRollsBackOnFailure(t *testing.T) {
	p := configured(t, map[string]interface{}{"regions": []string{"eu-1", "local", "us-2", "ap-3"}})
	mock := storeMock()
	copyOK := mock.CopyImageFunc
	boom := errors.New("disk full")
	mock.CopyImageFunc = func(ctx context.Context, img cloud.Image, region string) (cloud.Image, error) {
		if region == "us-2" {
			return cloud.Image{}, boom
		}
		return copyOK(ctx, img, region)
	}
	p.Driver = mock

	out, _, _, err := p.PostProcess(context.Background(), packersdk.TestUi(t), input())
	if out != nil {
		t.Errorf("artifact %v returned with an error", out)
	}
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), `"us-2"`) {
		t.Fatalf("error = %v, want the copy error naming region us-2", err)
	}
	if want := []string{"eu-1", "us-2"}; !reflect.DeepEqual(mock.CopyImageRegions, want) {
		t.Errorf("copied to %v, want %v (nothing after the failure)", mock.CopyImageRegions, want)
	}
	if len(mock.DeregisterImageImages) != 1 || mock.DeregisterImageImages[0].Region != "eu-1" {
		t.Errorf("deleted %+v, want exactly the eu-1 copy (never the source)", mock.DeregisterImageImages)
	}
}

func TestPostProcessReportsFailedRollback(t *testing.T) {
	p := configured(t, map[string]interface{}{"regions": []string{"eu-1", "us-2"}})
	mock := storeMock()
	mock.CopyImageFunc = func(_ context.Context, img cloud.Image, region string) (cloud.Image, error) {
		if region == "us-2" {
			return cloud.Image{}, errors.New("disk full")
		}
		img.Region = region
		return img, nil
	}
	mock.DeregisterImageErr = errors.New("permission denied")
	p.Driver = mock

	_, _, _, err := p.PostProcess(context.Background(), packersdk.TestUi(t), input())
	if err == nil || !strings.Contains(err.Error(), "disk full") || !strings.Contains(err.Error(), "permission denied") {
		t.Errorf("error = %v, want both the copy and the cleanup failure", err)
	}
}

func TestDestroyIsSafeTwice(t *testing.T) {
	p := configured(t, map[string]interface{}{"regions": []string{"eu-1", "us-2"}})
	mock := storeMock()
	p.Driver = mock
	out, _, _, err := p.PostProcess(context.Background(), packersdk.TestUi(t), input())
	if err != nil {
		t.Fatal(err)
	}
	if err := out.Destroy(); err != nil {
		t.Fatal(err)
	}
	if err := out.Destroy(); err != nil {
		t.Fatal(err)
	}
	if n := len(mock.DeregisterImageImages); n != 2 {
		t.Errorf("%d deletes, want 2 (one per copy, none the second time)", n)
	}
	for _, img := range mock.DeregisterImageImages {
		if img.Region == "local" {
			t.Error("Destroy deleted the source image")
		}
	}
}

// TestPostProcessWithLocalStore runs against a real store directory: the
// copies land on disk, and Destroy removes them but not the source.
func TestPostProcessWithLocalStore(t *testing.T) {
	ctx := context.Background()
	store := t.TempDir()
	drv := standin.NewLocalDriver(store)
	drv.InstanceDir = t.TempDir()
	inst, err := drv.RunInstance(ctx, standin.LaunchSpec{Name: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(inst.Workspace, "hello.txt"), []byte("hi"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := drv.StopInstance(ctx, inst); err != nil {
		t.Fatal(err)
	}
	src, err := drv.CreateImage(ctx, inst, standin.ImageSpec{Name: "web", Region: "local"})
	if err != nil {
		t.Fatal(err)
	}

	p := configured(t, map[string]interface{}{"regions": []string{"local", "eu-1"}})
	in := input()
	in.IdValue = src.ID
	in.StateValues[scaffolding.StateStore] = store

	out, _, _, err := p.PostProcess(ctx, packersdk.TestUi(t), in)
	if err != nil {
		t.Fatalf("PostProcess: %v", err)
	}
	for _, f := range out.Files() {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("artifact file: %v", err)
		}
	}
	copies, err := drv.FindImages(ctx, standin.ImageFilter{ID: src.ID, Region: "eu-1"})
	if err != nil || len(copies) != 1 {
		t.Fatalf("eu-1 holds %v (err %v), want the copy", copies, err)
	}
	if err := drv.VerifyImage(ctx, copies[0]); err != nil {
		t.Errorf("copy does not verify: %v", err)
	}

	if err := out.Destroy(); err != nil {
		t.Fatal(err)
	}
	if left, _ := drv.FindImages(ctx, standin.ImageFilter{ID: src.ID, Region: "eu-1"}); len(left) != 0 {
		t.Errorf("Destroy left %v in eu-1", left)
	}
	if _, err := os.Stat(copies[0].Location); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("copy archive still on disk: %v", err)
	}
	if kept, _ := drv.FindImages(ctx, standin.ImageFilter{ID: src.ID, Region: "local"}); len(kept) != 1 {
		t.Errorf("source image gone after Destroy: %v", kept)
	}
}

// Two images with the same content in one region, "web" and a newer
// "other": the post-processor given "web" copies "web", never the newest
// image that merely shares its id.
func TestPostProcessCopiesExactlyTheInputImage(t *testing.T) {
	ctx := context.Background()
	store := t.TempDir()
	drv := standin.NewLocalDriver(store)
	drv.InstanceDir = t.TempDir()
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	drv.Now = func() time.Time { clock = clock.Add(time.Hour); return clock }
	var ids []string
	for _, name := range []string{"web", "other"} {
		inst, err := drv.RunInstance(ctx, standin.LaunchSpec{Name: name})
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(inst.Workspace, "same.txt"), []byte("same"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := drv.StopInstance(ctx, inst); err != nil {
			t.Fatal(err)
		}
		img, err := drv.CreateImage(ctx, inst, standin.ImageSpec{Name: name, Region: "local", Labels: map[string]string{"name": name}})
		if err != nil {
			t.Fatal(err)
		}
		_ = drv.TerminateInstance(ctx, inst)
		ids = append(ids, img.ID)
	}
	if ids[0] != ids[1] {
		t.Fatalf("ids %v differ; the test needs identical content", ids)
	}

	p := configured(t, map[string]interface{}{"regions": []string{"eu-1"}})
	in := input()
	in.IdValue = ids[0]
	in.StateValues[scaffolding.StateStore] = store
	out, _, _, err := p.PostProcess(ctx, packersdk.TestUi(t), in)
	if err != nil {
		t.Fatal(err)
	}
	copies, _ := drv.FindImages(ctx, standin.ImageFilter{Region: "eu-1"})
	if len(copies) != 1 || copies[0].Name != "web" || copies[0].Labels["name"] != "web" {
		t.Errorf("eu-1 holds %+v, want a copy of image web", copies)
	}
	if src := out.(*Artifact).Source; src.Name != "web" {
		t.Errorf("artifact source = %+v, want image web", src)
	}
}
