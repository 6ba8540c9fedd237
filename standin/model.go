package standin

import (
	"context"
	"errors"
	"time"
)

// Driver is the one place where the plugin talks to the image platform. This
// scaffolding ships LocalDriver, which keeps images in a directory on disk (an
// "image store"); a vendor replaces it with calls to their cloud API and keeps
// the builder, data source and post-processor as they are.
//
// Every method is shaped like the cloud call it stands for (find images, run
// an instance from an image, stop it, create an image from it, terminate it,
// deregister an image, copy an image to another region), so the mapping to a
// real API is one method at a time. The interface also exists so unit tests
// can swap in MockDriver.
type Driver interface {
	// FindImages returns the images that match the filter, newest first. An
	// empty result is not an error.
	FindImages(ctx context.Context, filter ImageFilter) ([]Image, error)

	// VerifyImage checks that the image's content still matches its id (its
	// checksum) and returns ErrChecksumMismatch, wrapped, when it does not.
	VerifyImage(ctx context.Context, image Image) error

	// CreateInstance "launches" an instance: a fresh, empty workspace.
	CreateInstance(ctx context.Context, spec InstanceSpec) (*Instance, error)

	// RestoreImage writes the source image's content into the instance, the
	// way a cloud boots an instance from an image. It must refuse archive
	// entries that would escape the instance (.., absolute paths, symlink or
	// hardlink escapes, device nodes).
	RestoreImage(ctx context.Context, instance *Instance, image Image) error

	// StopInstance stops the instance so its disk can be snapshotted.
	StopInstance(ctx context.Context, instance *Instance) error

	// CreateImage snapshots a stopped instance into a new image and registers
	// it, atomically: either the image is fully registered or nothing is.
	CreateImage(ctx context.Context, instance *Instance, spec ImageSpec) (Image, error)

	// DeleteInstance terminates the instance and removes everything it used.
	// Deleting an instance that is already gone is not an error.
	DeleteInstance(ctx context.Context, instance *Instance) error

	// DeleteImage deregisters the image in its region and deletes its data.
	// Deleting an image that is already gone is not an error.
	DeleteImage(ctx context.Context, image Image) error

	// CopyImage copies the image into another region, verifying its content
	// on the way, and returns the image as registered in that region.
	CopyImage(ctx context.Context, image Image, region string) (Image, error)
}

// ErrChecksumMismatch is returned (wrapped) when an image's content does not
// hash to its id.
var ErrChecksumMismatch = errors.New("checksum mismatch")

// ErrImageNotFound is returned (wrapped) when an image named by id does not
// exist in the store.
var ErrImageNotFound = errors.New("image not found")

// Image is one image in one region, as the store lists it.
type Image struct {
	// ID is the content digest of the image archive, "sha256:<hex>". The
	// same content copied to another region keeps its id.
	ID string `json:"id"`
	// Name is the image's name, chosen by the build that created it.
	Name string `json:"name"`
	// Region is where the image is registered.
	Region string `json:"region"`
	// Labels are free-form key/value tags.
	Labels map[string]string `json:"labels,omitempty"`
	// SourceImageID is the id of the image this one was built from, or empty.
	SourceImageID string `json:"source_image_id,omitempty"`
	// Created is when the image was registered, in UTC.
	Created time.Time `json:"created"`
	// Size is the archive's size in bytes.
	Size int64 `json:"size"`
	// Location is where the archive can be read: a file path for a local
	// store, a URL for a store read over http(s).
	Location string `json:"location,omitempty"`
}

// ImageFilter selects images. Empty fields match everything.
type ImageFilter struct {
	// ID selects one image by id.
	ID string
	// Name is a glob (path.Match syntax) matched against the image name.
	Name string
	// Region selects images registered in this region.
	Region string
	// Labels must all be present on the image with these exact values.
	Labels map[string]string
}

// InstanceSpec describes the instance to launch.
type InstanceSpec struct {
	// Name identifies the instance in logs and in its workspace name.
	Name string
}

// Instance is a running (or stopped) instance.
type Instance struct {
	// ID identifies the instance to the driver.
	ID string
	// Workspace is the instance's root directory: what a communicator
	// connects to. For a cloud driver this would be the host address.
	Workspace string
}

// ImageSpec describes the image to create from an instance.
type ImageSpec struct {
	// Name is the new image's name.
	Name string
	// Region is where the image is registered.
	Region string
	// Labels are recorded on the image.
	Labels map[string]string
	// SourceImageID is the id of the image the instance was launched from,
	// or empty; it records the image's ancestry.
	SourceImageID string
}

// StoreOptions configure how a store given as an http(s) URL is read. They
// do not apply to a store in a directory.
type StoreOptions struct {
	// Timeout bounds each HTTP request. Zero means 30s.
	Timeout time.Duration
	// Retries is how many times a request is retried after a 5xx answer or
	// a connection error, with exponential backoff. Zero means no retry.
	Retries int
	// Token, when set, is sent as "Authorization: Bearer <token>". It never
	// appears in logs, errors or outputs.
	Token string
}

// OpenStore returns the Driver for a store location: a directory path gives
// a LocalDriver; an http:// or https:// URL gives a read-only driver that
// can find and verify images but not create, copy or delete them.
func OpenStore(location string, opts StoreOptions) (Driver, error) {
	if isHTTPLocation(location) {
		return newHTTPDriver(location, opts)
	}
	return NewLocalDriver(location), nil
}
