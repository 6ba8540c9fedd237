package standin

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/example/packer-plugin-scaffolding/standin/machine"
)

// LocalDriver is the Driver for an image store in a local directory. It is
// safe for concurrent use, also by several processes sharing one store:
// every change to the index happens under the store's lock, and files are
// written under temporary names and renamed into place.
type LocalDriver struct {
	// Dir is the store directory. It is created with the first image.
	Dir string
	// InstanceDir is where instance workspaces are created. Empty means the
	// system's temporary directory.
	InstanceDir string
	// Now gives the creation time recorded for new images. Nil means
	// time.Now; tests set it to get predictable ordering.
	Now func() time.Time

	mu       sync.Mutex
	running  map[string]bool             // instance id -> running
	machines map[string]*machine.Machine // instance id -> its machine, while it runs
}

var _ Driver = (*LocalDriver)(nil)

// NewLocalDriver returns a driver for the store in dir.
func NewLocalDriver(dir string) *LocalDriver {
	return &LocalDriver{Dir: dir}
}

func (d *LocalDriver) now() time.Time {
	if d.Now != nil {
		return d.Now().UTC()
	}
	return time.Now().UTC()
}

// archivePath is where the archive of an index entry lives on disk.
func (d *LocalDriver) archivePath(e indexEntry) string {
	p := filepath.Join(d.Dir, filepath.FromSlash(e.File))
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}

// FindImages implements Driver.
func (d *LocalDriver) FindImages(ctx context.Context, filter ImageFilter) ([]Image, error) {
	read := func(want *indexFilter, keep func(indexEntry)) error { return readIndex(d.Dir, want, keep) }
	// The store's absolute path once, not once per image found.
	dir, err := filepath.Abs(d.Dir)
	if err != nil {
		dir = d.Dir
	}
	return findInIndex(read, filter, func(e indexEntry) string { return filepath.Join(dir, filepath.FromSlash(e.File)) })
}

// lookup finds the index entry for an image. The name is matched only when
// the image has one, so a caller holding just an id and a region can use it.
func lookup(idx *storeIndex, img Image) (indexEntry, bool) {
	for _, e := range idx.Images {
		if e.ID == img.ID && e.Region == img.Region && (img.Name == "" || e.Name == img.Name) {
			return e, true
		}
	}
	return indexEntry{}, false
}

func (d *LocalDriver) find(img Image) (indexEntry, error) {
	if err := validateImageID(img.ID); err != nil {
		return indexEntry{}, err
	}
	// Only lines holding the id are decoded (and only that name's, when
	// the image has one).
	var idx storeIndex
	if err := readIndex(d.Dir, imageFilter(img), func(e indexEntry) { idx.Images = append(idx.Images, e) }); err != nil {
		return indexEntry{}, err
	}
	e, ok := lookup(&idx, img)
	if !ok {
		return indexEntry{}, fmt.Errorf("image %s in region %q of store %s: %w", img.ID, img.Region, d.Dir, ErrImageNotFound)
	}
	return e, nil
}

// VerifyImage checks that the image's archive still hashes to its id, and
// returns an error wrapping ErrChecksumMismatch when it does not.
// RunInstance calls it before restoring a source image.
func (d *LocalDriver) VerifyImage(ctx context.Context, img Image) error {
	e, err := d.find(img)
	if err != nil {
		return err
	}
	name := d.archivePath(e)
	f, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("image %s: %w", img.ID, err)
	}
	defer func() { _ = f.Close() }()
	defer closeOnDone(ctx, f)()
	h := sha256.New()
	if _, err := io.Copy(h, ctxReader{ctx, f}); err != nil {
		return fmt.Errorf("image %s: reading %s: %w", img.ID, name, err)
	}
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != e.ID {
		return fmt.Errorf("image %s: archive %s hashes to %s: %w", e.ID, name, got, ErrChecksumMismatch)
	}
	return nil
}

// RunInstance implements Driver. The instance's workspace is a new
// directory; a source image is verified and restored into it, and when
// that fails the workspace is removed again.
func (d *LocalDriver) RunInstance(ctx context.Context, spec LaunchSpec) (*Instance, error) {
	// The image this instance becomes goes to this store: a store that is
	// malformed or cannot be written fails the launch, before anything is
	// provisioned, not the snapshot at the end.
	if err := d.checkWritable(); err != nil {
		return nil, err
	}
	if spec.Source != nil {
		// Checked before anything is made, so a missing or corrupt image
		// leaves nothing to clean up.
		if err := d.VerifyImage(ctx, *spec.Source); err != nil {
			return nil, fmt.Errorf("source image %s: %w", spec.Source.ID, err)
		}
	}
	instance, err := d.newInstance(spec.Name)
	if err != nil {
		return nil, err
	}
	instance.DiskSize = spec.DiskSize
	fail := func(err error) (*Instance, error) {
		if terr := d.TerminateInstance(context.WithoutCancel(ctx), instance); terr != nil {
			err = errors.Join(err, terr)
		}
		return nil, err
	}
	if spec.Source != nil {
		if err := d.RestoreImage(ctx, instance, *spec.Source); err != nil {
			return fail(err)
		}
	}
	if spec.AuthorizedKey != "" {
		// Booting: the instance becomes a machine with its own root,
		// reached over SSH with the build's key.
		m, err := machine.Start(ctx, machine.Options{
			Root:          instance.Workspace,
			AuthorizedKey: []byte(spec.AuthorizedKey),
			Hostname:      instance.ID,
			Log:           machineLog{},
		})
		if err != nil {
			err = fmt.Errorf("booting instance %s: %w", instance.ID, err)
			if ctx.Err() == nil {
				// Start names the kernel setting in the way; this is the
				// other way out. (Asked here, not before the instance is
				// made: machine.Supported costs a process per build.)
				err = fmt.Errorf("%w; without machines, communicator = \"workspace\" runs commands on this host instead", err)
			}
			return fail(err)
		}
		d.mu.Lock()
		if d.machines == nil {
			d.machines = map[string]*machine.Machine{}
		}
		d.machines[instance.ID] = m
		d.mu.Unlock()
		instance.Host, instance.Port = m.Host(), m.Port()
		log.Printf("[INFO] instance %s serves SSH on %s", instance.ID, m.Addr())
	}
	return instance, nil
}

// checkWritable makes sure the store exists, can be written and has a
// readable index.
func (d *LocalDriver) checkWritable() error {
	if err := os.MkdirAll(d.Dir, 0o755); err != nil {
		return fmt.Errorf("image store %s cannot be created: %w", d.Dir, err)
	}
	f, err := os.CreateTemp(d.Dir, ".probe-*.tmp")
	if err != nil {
		return fmt.Errorf("image store %s cannot be written: %w", d.Dir, err)
	}
	_ = f.Close()
	_ = os.Remove(f.Name())
	if _, err := readIndexFile(d.Dir); err != nil {
		return err
	}
	return nil
}

// stopMachine ends the instance's machine, if it runs one, and every
// process in it.
func (d *LocalDriver) stopMachine(ctx context.Context, instance *Instance) error {
	d.mu.Lock()
	m := d.machines[instance.ID]
	delete(d.machines, instance.ID)
	d.mu.Unlock()
	if m == nil {
		return nil
	}
	if err := m.Stop(ctx); err != nil {
		return fmt.Errorf("stopping instance %s: %w", instance.ID, err)
	}
	return nil
}

// machineLog sends the instance runtime's diagnostics to the plugin's log.
type machineLog struct{}

func (machineLog) Write(p []byte) (int, error) {
	log.Printf("[DEBUG] %s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// newInstance makes an empty instance.
func (d *LocalDriver) newInstance(name string) (*Instance, error) {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	id := "i-" + hex.EncodeToString(b[:])
	base := d.InstanceDir
	if base == "" {
		base = os.TempDir()
	}
	ws := filepath.Join(base, instancePrefix+id)
	if err := os.Mkdir(ws, 0o700); err != nil {
		return nil, fmt.Errorf("creating workspace for instance %q: %w", name, err)
	}
	d.mu.Lock()
	if d.running == nil {
		d.running = map[string]bool{}
	}
	d.running[id] = true
	d.mu.Unlock()
	log.Printf("[INFO] instance %s (%s) runs in %s", id, name, ws)
	return &Instance{ID: id, Workspace: ws}, nil
}

// RestoreImage writes the image's content into the instance. It refuses
// archive entries that would escape the instance (.., absolute paths,
// symlink or hardlink escapes, device nodes).
func (d *LocalDriver) RestoreImage(ctx context.Context, instance *Instance, img Image) error {
	e, err := d.find(img)
	if err != nil {
		return err
	}
	f, err := os.Open(d.archivePath(e))
	if err != nil {
		return fmt.Errorf("image %s: %w", img.ID, err)
	}
	defer func() { _ = f.Close() }()
	defer closeOnDone(ctx, f)()
	disk := instance.DiskSize
	if disk <= 0 {
		disk = DefaultDiskSize
	}
	if err := extractArchiveWithin(ctx, ctxReader{ctx, f}, instance.Workspace, e.ID, disk); err != nil {
		return fmt.Errorf("restoring image %s into instance %s: %w", e.ID, instance.ID, err)
	}
	return nil
}

// StopInstance implements Driver.
func (d *LocalDriver) StopInstance(ctx context.Context, instance *Instance) error {
	if err := d.stopMachine(ctx, instance); err != nil {
		return err
	}
	fi, err := os.Stat(instance.Workspace)
	if err != nil {
		return fmt.Errorf("stopping instance %s: %w", instance.ID, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("stopping instance %s: workspace %s is not a directory", instance.ID, instance.Workspace)
	}
	d.mu.Lock()
	delete(d.running, instance.ID)
	d.mu.Unlock()
	return nil
}

// CreateImage implements Driver. The archive is written and hashed under a
// temporary name; only then, under the store lock, is it renamed into place
// and registered, so a failure leaves no partial file and no index entry.
func (d *LocalDriver) CreateImage(ctx context.Context, instance *Instance, spec ImageSpec) (Image, error) {
	if err := checkImageSpec(spec); err != nil {
		return Image{}, err
	}
	d.mu.Lock()
	running := d.running[instance.ID]
	d.mu.Unlock()
	if running {
		return Image{}, fmt.Errorf("instance %s is still running; stop it before creating an image", instance.ID)
	}

	dir := filepath.Join(d.Dir, imagesDirName, spec.Region)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Image{}, fmt.Errorf("image store %s: %w", d.Dir, err)
	}
	tmp, err := newHashingTemp(dir)
	if err != nil {
		return Image{}, err
	}
	defer tmp.discard()
	if err := writeSnapshot(ctx, instance.Workspace, tmp); err != nil {
		return Image{}, fmt.Errorf("snapshotting instance %s: %w", instance.ID, err)
	}
	if err := tmp.finish(); err != nil {
		return Image{}, err
	}
	entry := indexEntry{
		ID:            tmp.id(),
		Name:          spec.Name,
		Region:        spec.Region,
		Labels:        cloneLabels(spec.Labels),
		SourceImageID: spec.SourceImageID,
		Created:       d.now(),
		Size:          tmp.size,
		File:          archiveFile(spec.Region, tmp.id()),
	}
	// An entry with the same key is the same content under the same name,
	// registered by an earlier build. It stays as it is, owned by that
	// build: replacing it would let this build's artifact delete it.
	registered, existed, err := d.register(ctx, tmp, entry)
	if err != nil {
		return Image{}, err
	}
	img := registered.image(d.archivePath(registered))
	if existed {
		return img, fmt.Errorf("image %q (%s) in region %q: %w", img.Name, img.ID, img.Region, ErrImageExists)
	}
	return img, nil
}

func checkImageSpec(spec ImageSpec) error {
	if err := validateImageName(spec.Name); err != nil {
		return err
	}
	if err := validateRegion(spec.Region); err != nil {
		return err
	}
	for k, v := range spec.Labels {
		if err := validateLabel(k, v); err != nil {
			return err
		}
	}
	if spec.SourceImageID != "" {
		if err := validateImageID(spec.SourceImageID); err != nil {
			return fmt.Errorf("source image id: %w", err)
		}
	}
	return nil
}

// register moves a finished temporary archive into place and adds entry to
// the index, both under the store lock, so that a concurrent
// DeregisterImage cannot remove the shared file between the two. When an
// entry with the same key exists, it is returned as it is, with existed.
func (d *LocalDriver) register(ctx context.Context, tmp *hashingTemp, entry indexEntry) (_ indexEntry, existed bool, _ error) {
	unlock, err := lockStore(ctx, d.Dir)
	if err != nil {
		return indexEntry{}, false, err
	}
	defer unlock()
	idx, err := readIndexFile(d.Dir)
	if err != nil {
		return indexEntry{}, false, err
	}
	pos := -1
	for i, e := range idx.Images {
		if e.sameKey(entry) {
			pos = i
		}
	}
	if pos >= 0 {
		return idx.Images[pos], true, nil
	}
	final := filepath.Join(d.Dir, filepath.FromSlash(entry.File))
	_, statErr := os.Stat(final)
	fileExisted := statErr == nil
	if err := tmp.moveTo(final); err != nil {
		return indexEntry{}, false, err
	}
	idx.Images = append(idx.Images, entry)
	if err := writeIndexFile(d.Dir, idx); err != nil {
		if !fileExisted {
			_ = os.Remove(final)
		}
		return indexEntry{}, false, fmt.Errorf("registering image %s in store %s: %w", entry.ID, d.Dir, err)
	}
	return entry, false, nil
}

// TerminateInstance implements Driver.
func (d *LocalDriver) TerminateInstance(ctx context.Context, instance *Instance) error {
	if instance == nil || instance.Workspace == "" {
		return nil
	}
	// Its processes end before its disk goes.
	if err := d.stopMachine(ctx, instance); err != nil {
		return err
	}
	d.mu.Lock()
	delete(d.running, instance.ID)
	d.mu.Unlock()
	if err := removeTree(instance.Workspace); err != nil {
		return fmt.Errorf("deleting instance %s: %w", instance.ID, err)
	}
	return nil
}

// DeregisterImage implements Driver. The index is rewritten before the archive
// is removed, so a crash in between leaves an unused file, never an entry
// without its file.
func (d *LocalDriver) DeregisterImage(ctx context.Context, img Image) error {
	if err := validateImageID(img.ID); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(d.Dir, indexFileName)); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	unlock, err := lockStore(ctx, d.Dir)
	if err != nil {
		return err
	}
	defer unlock()
	idx, err := readIndexFile(d.Dir)
	if err != nil {
		return err
	}
	var kept, removed []indexEntry
	for _, e := range idx.Images {
		if e.ID == img.ID && e.Region == img.Region && (img.Name == "" || e.Name == img.Name) {
			removed = append(removed, e)
		} else {
			kept = append(kept, e)
		}
	}
	if len(removed) == 0 {
		return nil
	}
	idx.Images = kept
	if err := writeIndexFile(d.Dir, idx); err != nil {
		return fmt.Errorf("deregistering image %s: %w", img.ID, err)
	}
	var errs []error
	for _, r := range removed {
		if referenced(kept, r.File) {
			continue
		}
		if err := os.Remove(d.archivePath(r)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func referenced(entries []indexEntry, file string) bool {
	for _, e := range entries {
		if e.File == file {
			return true
		}
	}
	return false
}

// CopyImage implements Driver. The copy is hashed while it is written and
// registered only when it matches the id; copying to a region that already
// holds the image returns the existing entry and an error wrapping
// ErrImageExists.
func (d *LocalDriver) CopyImage(ctx context.Context, img Image, region string) (Image, error) {
	if err := validateRegion(region); err != nil {
		return Image{}, err
	}
	src, err := d.find(img)
	if err != nil {
		return Image{}, err
	}
	want := src
	want.Region = region
	idx, err := readIndexFile(d.Dir)
	if err != nil {
		return Image{}, err
	}
	for _, e := range idx.Images {
		if e.sameKey(want) {
			return e.image(d.archivePath(e)), fmt.Errorf("image %q (%s) in region %q: %w", e.Name, e.ID, region, ErrImageExists)
		}
	}

	in, err := os.Open(d.archivePath(src))
	if err != nil {
		return Image{}, fmt.Errorf("copying image %s: %w", src.ID, err)
	}
	defer func() { _ = in.Close() }()
	defer closeOnDone(ctx, in)()
	dir := filepath.Join(d.Dir, imagesDirName, region)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Image{}, fmt.Errorf("image store %s: %w", d.Dir, err)
	}
	tmp, err := newHashingTemp(dir)
	if err != nil {
		return Image{}, err
	}
	defer tmp.discard()
	if _, err := io.Copy(tmp, ctxReader{ctx, in}); err != nil {
		return Image{}, fmt.Errorf("copying image %s to region %q: %w", src.ID, region, err)
	}
	if err := tmp.finish(); err != nil {
		return Image{}, err
	}
	if tmp.id() != src.ID {
		return Image{}, fmt.Errorf("copying image %s to region %q: archive %s hashes to %s: %w",
			src.ID, region, d.archivePath(src), tmp.id(), ErrChecksumMismatch)
	}
	entry := src
	entry.Region = region
	entry.Created = d.now()
	entry.Labels = cloneLabels(src.Labels)
	entry.File = archiveFileLike(region, src.ID, src.File)
	registered, existed, err := d.register(ctx, tmp, entry)
	if err != nil {
		return Image{}, err
	}
	out := registered.image(d.archivePath(registered))
	if existed {
		// Another copy won the race: that one is not this caller's.
		return out, fmt.Errorf("image %q (%s) in region %q: %w", out.Name, out.ID, region, ErrImageExists)
	}
	return out, nil
}

// hashingTemp is an archive being written under a temporary name, hashed
// and counted on the way.
type hashingTemp struct {
	f     *os.File
	h     hash.Hash
	size  int64
	moved bool
}

func newHashingTemp(dir string) (*hashingTemp, error) {
	f, err := os.CreateTemp(dir, ".incoming-*.tmp")
	if err != nil {
		return nil, fmt.Errorf("creating temporary archive: %w", err)
	}
	return &hashingTemp{f: f, h: sha256.New()}, nil
}

func (t *hashingTemp) Write(p []byte) (int, error) {
	n, err := t.f.Write(p)
	t.h.Write(p[:n])
	t.size += int64(n)
	return n, err
}

func (t *hashingTemp) id() string { return "sha256:" + hex.EncodeToString(t.h.Sum(nil)) }

// finish flushes the file to disk and closes it.
func (t *hashingTemp) finish() error {
	if err := t.f.Chmod(0o644); err != nil && !errors.Is(err, errors.ErrUnsupported) {
		return err
	}
	if err := t.f.Sync(); err != nil {
		return fmt.Errorf("writing %s: %w", t.f.Name(), err)
	}
	if err := t.f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", t.f.Name(), err)
	}
	return nil
}

func (t *hashingTemp) moveTo(final string) error {
	if err := os.Rename(t.f.Name(), final); err != nil {
		return fmt.Errorf("moving archive into place: %w", err)
	}
	t.moved = true
	return nil
}

// discard removes the temporary file unless it was moved into place.
func (t *hashingTemp) discard() {
	if t.moved {
		return
	}
	_ = t.f.Close()
	_ = os.Remove(t.f.Name())
}

// isHTTPLocation reports whether a store location is an http(s) URL rather
// than a directory.
func isHTTPLocation(location string) bool {
	l := strings.ToLower(location)
	return strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://")
}
