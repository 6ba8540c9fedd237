// Package imagecheck has acceptance-test checks for what the scaffolding
// components leave in an image store: images in the index, files inside an
// image, and no temporary leftovers. A fork replaces these with checks that
// ask its cloud API the same questions.
package imagecheck

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/example/packer-plugin-scaffolding/acctest"
	"github.com/example/packer-plugin-scaffolding/cloud"
	"github.com/example/packer-plugin-scaffolding/standin"
)

// FileInImage checks that the image of every artifact from builderID holds
// the file name (an absolute path inside the instance, like "/etc/motd")
// and that its content contains substr. It reads the archive itself, not the
// store's index, so it sees exactly what the snapshot captured.
func FileInImage(builderID, name, substr string) acctest.Check {
	return fileInImage{builderID: builderID, name: name, substr: substr}
}

type fileInImage struct{ builderID, name, substr string }

func (c fileInImage) Check(r *acctest.Result) error {
	arts := r.ArtifactsFrom(c.builderID)
	if len(arts) == 0 {
		return fmt.Errorf("file %s in image: expected an artifact from %s, found none", c.name, c.builderID)
	}
	var errs []error
	for _, a := range arts {
		if len(a.Files) == 0 {
			errs = append(errs, fmt.Errorf("file %s in image: artifact %s lists no archive", c.name, a.ID))
			continue
		}
		for _, archive := range a.Files {
			content, err := ReadImageFile(resolve(r.Dir, archive), c.name)
			if err != nil {
				errs = append(errs, fmt.Errorf("file %s in image %s: %w", c.name, a.ID, err))
				continue
			}
			if !strings.Contains(string(content), c.substr) {
				errs = append(errs, fmt.Errorf("file %s in image %s (%s): expected it to contain %q, found %q", c.name, a.ID, archive, c.substr, content))
			}
		}
	}
	return errors.Join(errs...)
}

// ReadImageFile returns the content of the regular file name (absolute or
// relative to the instance root) in the gzip-compressed tar at archive.
func ReadImageFile(archive, name string) ([]byte, error) {
	f, err := os.Open(archive)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }() // read-only: Close cannot lose data
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", archive, err)
	}
	want := strings.TrimPrefix(filepath.ToSlash(name), "/")
	tr := tar.NewReader(zr)
	var seen []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", archive, err)
		}
		entry := strings.TrimPrefix(h.Name, "./")
		if entry == want && h.Typeflag == tar.TypeReg {
			return io.ReadAll(tr)
		}
		if h.Typeflag == tar.TypeReg {
			seen = append(seen, "/"+entry)
		}
	}
	return nil, fmt.Errorf("expected a file %s, found only %v", name, seen)
}

// StoreImages checks that the store at dir (relative to the work directory)
// lists exactly n images matching the filter. A store that does not exist
// has no images.
func StoreImages(dir string, filter cloud.ImageFilter, n int) acctest.Check {
	return storeImages{dir: dir, filter: filter, n: n}
}

type storeImages struct {
	dir    string
	filter cloud.ImageFilter
	n      int
}

func (c storeImages) Check(r *acctest.Result) error {
	dir := resolve(r.Dir, c.dir)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) && c.n == 0 {
		// A build that failed before its first image never created the
		// store: that is "no images", as expected.
		return nil
	}
	images, err := standin.NewLocalDriver(dir).FindImages(context.Background(), standin.ImageFilter(c.filter))
	if err != nil {
		return fmt.Errorf("images in store %s: %w", c.dir, err)
	}
	if len(images) != c.n {
		var found []string
		for _, img := range images {
			found = append(found, fmt.Sprintf("%s %s in %s", img.Name, img.ID, img.Region))
		}
		return fmt.Errorf("images in store %s matching %+v: expected %d, found %d %v", c.dir, c.filter, c.n, len(images), found)
	}
	return nil
}

// ArtifactImagesInStore checks that every artifact from builderID is an image
// registered in the store at dir, in every region whose archive it lists, and
// that each archive still hashes to the image id.
func ArtifactImagesInStore(builderID, dir string) acctest.Check {
	return artifactImagesInStore{builderID: builderID, dir: dir}
}

type artifactImagesInStore struct{ builderID, dir string }

func (c artifactImagesInStore) Check(r *acctest.Result) error {
	arts := r.ArtifactsFrom(c.builderID)
	if len(arts) == 0 {
		return fmt.Errorf("images of %s in store %s: expected an artifact, found none", c.builderID, c.dir)
	}
	d := standin.NewLocalDriver(resolve(r.Dir, c.dir))
	var errs []error
	for _, a := range arts {
		images, err := d.FindImages(context.Background(), standin.ImageFilter{ID: a.ID})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		byFile := map[string]standin.Image{}
		for _, img := range images {
			byFile[filepath.Clean(img.Location)] = img
		}
		for _, f := range a.Files {
			img, ok := byFile[filepath.Clean(resolve(r.Dir, f))]
			if !ok {
				errs = append(errs, fmt.Errorf("artifact %s: expected its file %s registered in store %s, found %d entries with that id elsewhere", a.ID, f, c.dir, len(images)))
				continue
			}
			if err := d.VerifyImage(context.Background(), img); err != nil {
				errs = append(errs, fmt.Errorf("artifact %s in region %s: %w", a.ID, img.Region, err))
			}
		}
	}
	return errors.Join(errs...)
}

// Regions checks that the artifacts from builderID cover exactly these
// regions of the store at dir, one image per region.
func Regions(builderID, dir string, regions ...string) acctest.Check {
	return regionsCheck{builderID: builderID, dir: dir, regions: regions}
}

type regionsCheck struct {
	builderID, dir string
	regions        []string
}

func (c regionsCheck) Check(r *acctest.Result) error {
	d := standin.NewLocalDriver(resolve(r.Dir, c.dir))
	var found []string
	for _, a := range r.ArtifactsFrom(c.builderID) {
		images, err := d.FindImages(context.Background(), standin.ImageFilter{ID: a.ID})
		if err != nil {
			return err
		}
		for _, f := range a.Files {
			for _, img := range images {
				if filepath.Clean(img.Location) == filepath.Clean(resolve(r.Dir, f)) {
					found = append(found, img.Region)
				}
			}
		}
	}
	want := append([]string(nil), c.regions...)
	sort.Strings(want)
	sort.Strings(found)
	if strings.Join(want, ",") != strings.Join(found, ",") {
		return fmt.Errorf("regions of %s: expected %v, found %v", c.builderID, want, found)
	}
	return nil
}

// NoTempFiles checks that nothing under dir (relative to the work directory)
// is a temporary file: a build that failed or was cancelled must not leave
// half-written archives or indexes behind.
func NoTempFiles(dir string) acctest.Check {
	return noTempFiles{dir: dir}
}

type noTempFiles struct{ dir string }

func (c noTempFiles) Check(r *acctest.Result) error {
	var left []string
	root := resolve(r.Dir, c.dir)
	err := filepath.WalkDir(root, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p == root {
				return filepath.SkipAll
			}
			return err
		}
		if strings.HasSuffix(de.Name(), ".tmp") {
			left = append(left, p)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("temporary files in %s: %w", c.dir, err)
	}
	if len(left) > 0 {
		return fmt.Errorf("temporary files in %s: expected none, found %v", c.dir, left)
	}
	return nil
}

func resolve(dir, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}
