package standin

import (
	"context"
	"errors"
	"time"
)

// Driver is the stand-in cloud's API: the calls a cloud answers (describe
// images, run an instance from an image, stop it, create an image from it,
// terminate it, deregister an image, copy an image to a region), answered
// by an image store on disk (LocalDriver) or, read-only, over http(s).
//
// The plugin's components never see this interface: cloud.NewDriver adapts
// it to cloud.Driver, the way a vendor's factory adapts its SDK client.
// The package keeps its own types so it depends on nothing of the plugin.
type Driver interface {
	// FindImages returns the images that match the filter, newest first. An
	// empty result is not an error.
	FindImages(ctx context.Context, filter ImageFilter) ([]Image, error)

	// RunInstance launches an instance. With a source image, the image's
	// checksum is verified and its content restored into the instance, the
	// way a cloud boots an instance from an image; a failure leaves no
	// instance behind. Without one the instance starts empty.
	RunInstance(ctx context.Context, spec LaunchSpec) (*Instance, error)

	// StopInstance stops the instance so its disk can be snapshotted.
	StopInstance(ctx context.Context, instance *Instance) error

	// CreateImage snapshots a stopped instance into a new image and registers
	// it, atomically: either the image is fully registered or nothing is.
	// When the same content is already registered under the same name in
	// the region, nothing changes: it returns that image and an error
	// wrapping ErrImageExists.
	CreateImage(ctx context.Context, instance *Instance, spec ImageSpec) (Image, error)

	// TerminateInstance ends the instance and removes everything it used.
	// Terminating an instance that is already gone is not an error.
	TerminateInstance(ctx context.Context, instance *Instance) error

	// DeregisterImage removes the image (this id, region and name) and, when
	// no other image shares it, its data. An image that is already gone is
	// not an error.
	DeregisterImage(ctx context.Context, image Image) error

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

// ErrImageExists is returned (wrapped) by CreateImage and CopyImage when the
// image is already registered.
var ErrImageExists = errors.New("image already exists")

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

// LaunchSpec describes the instance to launch.
type LaunchSpec struct {
	// Name identifies the instance in logs and in its workspace name.
	Name string
	// Source is the image the instance starts from; nil starts it empty.
	// Its ID and Region select it, and its Name too when set.
	Source *Image
	// AuthorizedKey is the public key (authorized_keys format) the
	// instance's SSH server lets in. With one, the instance runs as a
	// machine (a rootless container, package machine) served over SSH on
	// 127.0.0.1; without, it is only a directory (the workspace
	// communicator's, or a build with communicator "none").
	AuthorizedKey string
	// DiskSize bounds, in bytes, how far the source image may expand when
	// it is restored. Zero means DefaultDiskSize.
	DiskSize int64
}

// Instance is a running (or stopped) instance.
type Instance struct {
	// ID identifies the instance to the driver.
	ID string
	// Workspace is the instance's root directory on this machine.
	Workspace string
	// DiskSize is the instance's disk in bytes; zero means DefaultDiskSize.
	DiskSize int64
	// Host and Port are where the instance serves SSH, when it was launched
	// with an AuthorizedKey (see package machine); empty otherwise.
	Host string
	Port int
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
// can find images but not launch from, create, copy or delete them.
func OpenStore(location string, opts StoreOptions) (Driver, error) {
	if isHTTPLocation(location) {
		return newHTTPDriver(location, opts)
	}
	return NewLocalDriver(location), nil
}
