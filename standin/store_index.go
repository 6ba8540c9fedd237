package standin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/example/packer-plugin-scaffolding/internal/atomicfile"
)

// The layout of a store directory:
//
//	<store>/index.json                      the list of images (storeIndex)
//	<store>/images/<region>/<hex>.tar.gz    archives, named by their digest
//	<store>/.lock                           held while the index is rewritten
//
// Archives are content-addressed, so entries with the same id in one region
// share one file; the file goes away with the last entry that names it.
const (
	indexFileName = "index.json"
	lockFileName  = ".lock"
	imagesDirName = "images"
	archiveSuffix = ".tar.gz"
	// indexVersion is bumped when the index format changes incompatibly, so
	// an old plugin refuses a newer index instead of dropping what it does
	// not understand when it rewrites the file.
	indexVersion = 1
)

// storeIndex is the content of index.json.
type storeIndex struct {
	Version int          `json:"version"`
	Images  []indexEntry `json:"images"`
}

// indexEntry is one image in one region. (Region, Name, ID) is its key.
type indexEntry struct {
	ID            string            `json:"id"`
	Name          string            `json:"name"`
	Region        string            `json:"region"`
	Labels        map[string]string `json:"labels,omitempty"`
	SourceImageID string            `json:"source_image_id,omitempty"`
	Created       time.Time         `json:"created"`
	Size          int64             `json:"size"`
	// File is the archive's path relative to the store, with '/' separators
	// so the same index serves a directory and a URL.
	File string `json:"file"`
}

func (e indexEntry) sameKey(o indexEntry) bool {
	return e.Region == o.Region && e.Name == o.Name && e.ID == o.ID
}

// image converts the entry, with location telling where its archive is.
func (e indexEntry) image(location string) Image {
	return Image{
		ID:            e.ID,
		Name:          e.Name,
		Region:        e.Region,
		Labels:        cloneLabels(e.Labels),
		SourceImageID: e.SourceImageID,
		Created:       e.Created,
		Size:          e.Size,
		Location:      location,
	}
}

// archiveFile is the store-relative path of the archive for id in region.
func archiveFile(region, id string) string {
	return path.Join(imagesDirName, region, strings.TrimPrefix(id, "sha256:")+archiveSuffix)
}

func cloneLabels(in map[string]string) map[string]string {
	if in == nil {
		return nil
	}
	out := make(map[string]string, len(in))
	for k, v := range in {
		out[k] = v
	}
	return out
}

// parseIndex decodes and checks an index. name is how errors refer to the
// file (a path or a redacted URL).
func parseIndex(data []byte, name string) (*storeIndex, error) {
	var idx storeIndex
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&idx); err != nil {
		return nil, fmt.Errorf("image store index %s is malformed: %s", name, describeJSONError(data, err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("image store index %s is malformed: unexpected data after the JSON object", name)
	}
	switch {
	case idx.Version == 0:
		return nil, fmt.Errorf("image store index %s is malformed: \"version\" is missing (expected %d)", name, indexVersion)
	case idx.Version != indexVersion:
		return nil, fmt.Errorf("image store index %s has version %d; this plugin reads version %d", name, idx.Version, indexVersion)
	}
	for i, e := range idx.Images {
		if err := checkEntry(e); err != nil {
			return nil, fmt.Errorf("image store index %s is malformed: images[%d]: %w", name, i, err)
		}
		for j := 0; j < i; j++ {
			if idx.Images[j].sameKey(e) {
				return nil, fmt.Errorf("image store index %s is malformed: images[%d] repeats images[%d] (region %q, name %q, id %s)",
					name, i, j, e.Region, e.Name, e.ID)
			}
		}
	}
	return &idx, nil
}

func checkEntry(e indexEntry) error {
	if err := validateImageID(e.ID); err != nil {
		return fmt.Errorf("id: %w", err)
	}
	if e.Name == "" {
		return errors.New("name is missing")
	}
	if err := validateRegion(e.Region); err != nil {
		return fmt.Errorf("region: %w", err)
	}
	if e.SourceImageID != "" {
		if err := validateImageID(e.SourceImageID); err != nil {
			return fmt.Errorf("source_image_id: %w", err)
		}
	}
	if e.Created.IsZero() {
		return errors.New("created is missing")
	}
	if e.Size < 0 {
		return fmt.Errorf("size %d is negative", e.Size)
	}
	if !isLocalSlashPath(e.File) {
		return fmt.Errorf("file %q must be a relative path inside the store", e.File)
	}
	return nil
}

// isLocalSlashPath reports whether p is a '/'-separated relative path that
// stays inside the directory it is relative to, on every OS.
func isLocalSlashPath(p string) bool {
	if p == "" || strings.Contains(p, `\`) || path.IsAbs(p) {
		return false
	}
	for _, elem := range strings.Split(p, "/") {
		if elem == ".." {
			return false
		}
	}
	return filepath.IsLocal(filepath.FromSlash(p))
}

// describeJSONError turns a decoding error into a message with a line and
// column, which is what a person editing the file needs.
func describeJSONError(data []byte, err error) string {
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntaxErr):
		line, col := lineCol(data, syntaxErr.Offset)
		return fmt.Sprintf("line %d, column %d: %s", line, col, syntaxErr.Error())
	case errors.As(err, &typeErr):
		line, col := lineCol(data, typeErr.Offset)
		field := typeErr.Field
		if field == "" {
			field = "the top level"
		}
		return fmt.Sprintf("line %d, column %d: %s holds a JSON %s, expected %s", line, col, field, typeErr.Value, typeErr.Type)
	case errors.Is(err, io.EOF):
		return "the file is empty"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "the file ends in the middle of the JSON document"
	}
	return err.Error()
}

func lineCol(data []byte, offset int64) (line, col int) {
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	line, col = 1, 1
	for _, b := range data[:offset] {
		if b == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return line, col
}

// readIndexFile reads a store's index. A store without an index is empty.
func readIndexFile(dir string) (*storeIndex, error) {
	name := filepath.Join(dir, indexFileName)
	// Checked before opening: opening a named pipe blocks until a writer
	// comes, and reading a device may never end.
	if fi, err := os.Stat(name); err == nil && !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("image store index %s is not a regular file (it is a %s)", name, describeMode(fi.Mode()))
	}
	data, err := os.ReadFile(name)
	if errors.Is(err, os.ErrNotExist) {
		if _, statErr := os.Stat(dir); errors.Is(statErr, os.ErrNotExist) {
			return nil, fmt.Errorf("image store %s does not exist: %w", dir, statErr)
		} else if statErr != nil {
			return nil, fmt.Errorf("image store %s: %w", dir, statErr)
		}
		return &storeIndex{Version: indexVersion}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading image store index: %w", err)
	}
	return parseIndex(data, name)
}

// writeIndexFile replaces the index atomically: readers see the old file or
// the new one, never a partial write. The caller holds the store lock.
func writeIndexFile(dir string, idx *storeIndex) error {
	idx.Version = indexVersion
	sort.SliceStable(idx.Images, func(i, j int) bool {
		a, b := idx.Images[i], idx.Images[j]
		if a.Region != b.Region {
			return a.Region < b.Region
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		if !a.Created.Equal(b.Created) {
			return a.Created.Before(b.Created)
		}
		return a.ID < b.ID
	})
	if idx.Images == nil {
		idx.Images = []indexEntry{}
	}
	data, err := json.MarshalIndent(idx, "", "  ")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	return atomicfile.WriteFile(filepath.Join(dir, indexFileName), data, 0o644)
}

// filterImages returns the entries that match f, newest first, converted
// with location.
func filterImages(entries []indexEntry, f ImageFilter, location func(indexEntry) string) ([]Image, error) {
	if f.Name != "" {
		if _, err := path.Match(f.Name, ""); err != nil {
			return nil, fmt.Errorf("image name filter %q is not a valid glob: %w", f.Name, err)
		}
	}
	var out []Image
	for _, e := range entries {
		if f.ID != "" && e.ID != f.ID {
			continue
		}
		if f.Region != "" && e.Region != f.Region {
			continue
		}
		if f.Name != "" {
			if ok, _ := path.Match(f.Name, e.Name); !ok {
				continue
			}
		}
		if !hasLabels(e.Labels, f.Labels) {
			continue
		}
		out = append(out, e.image(location(e)))
	}
	sortImages(out)
	return out, nil
}

func hasLabels(have, want map[string]string) bool {
	for k, v := range want {
		got, ok := have[k]
		if !ok || got != v {
			return false
		}
	}
	return true
}

// sortImages orders images newest first; equal times are ordered by region,
// name and id so that "the newest image" is the same on every read.
func sortImages(images []Image) {
	sort.Slice(images, func(i, j int) bool {
		a, b := images[i], images[j]
		if !a.Created.Equal(b.Created) {
			return a.Created.After(b.Created)
		}
		if a.Region != b.Region {
			return a.Region < b.Region
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.ID < b.ID
	})
}
