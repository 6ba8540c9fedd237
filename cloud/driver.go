package cloud

import (
	"context"
	"errors"
	"time"
)

// Driver is the one place where the plugin talks to the platform it builds
// images on. NewDriver returns the one for a configuration: in this
// template the stand-in cloud, in a fork the vendor's SDK behind the same
// methods. The builder, data source and post-processor only ever see this
// interface, which also lets unit tests swap in MockDriver.
//
// Every method is a call a cloud has (Amazon's names in brackets), so the
// mapping to a real API is one method at a time.
type Driver interface {
	// FindImages returns the images that match the filter, newest first. An
	// empty result is not an error. [DescribeImages]
	FindImages(ctx context.Context, filter ImageFilter) ([]Image, error)

	// RunInstance launches an instance from spec.SourceImage (or an empty
	// one without it) and returns once it is running. A launch that fails
	// leaves no instance behind. [RunInstances]
	RunInstance(ctx context.Context, spec LaunchSpec) (*Instance, error)

	// StopInstance stops the instance so its disk can be snapshotted.
	// [StopInstances]
	StopInstance(ctx context.Context, instance *Instance) error

	// CreateImage snapshots a stopped instance into a new image and registers
	// it, atomically: either the image is fully registered or nothing is.
	// If an identical image is already registered (same name, region and
	// content) it returns that image with an error wrapping ErrImageExists
	// and changes nothing: the image belongs to whoever made it. [CreateImage]
	CreateImage(ctx context.Context, instance *Instance, spec ImageSpec) (Image, error)

	// TerminateInstance ends the instance and deletes what it used.
	// Terminating an instance that is already gone is not an error.
	// [TerminateInstances]
	TerminateInstance(ctx context.Context, instance *Instance) error

	// DeregisterImage removes exactly this image (id, region and name) and
	// its data when nothing else uses them. An image that is already gone
	// is not an error. [DeregisterImage]
	DeregisterImage(ctx context.Context, image Image) error

	// CopyImage copies exactly this image into another region, verifying its
	// content on the way, and returns the copy. If the region already holds
	// it, it returns that image with an error wrapping ErrImageExists.
	// [CopyImage]
	CopyImage(ctx context.Context, image Image, region string) (Image, error)
}

// ErrChecksumMismatch is returned (wrapped) when an image's content does not
// match its id.
var ErrChecksumMismatch = errors.New("checksum mismatch")

// ErrImageNotFound is returned (wrapped) when an image named by id does not
// exist.
var ErrImageNotFound = errors.New("image not found")

// ErrImageExists is returned (wrapped), together with the existing image, by
// CreateImage and CopyImage when the image they would make already exists.
var ErrImageExists = errors.New("image already exists")

// ErrDiskFull is returned (wrapped) by RunInstance when the source image
// does not fit the instance's disk.
var ErrDiskFull = errors.New("image does not fit the instance's disk")

// ErrReadOnly is returned (wrapped) by the methods that change a platform
// the configured location or credentials only allow reading.
var ErrReadOnly = errors.New("platform is read-only")

// Image is one image in one region.
type Image struct {
	// ID is the image's id. The stand-in uses the content digest of the
	// image archive, "sha256:<hex>", which a copy to another region keeps.
	ID string
	// Name is the image's name, chosen by the build that created it.
	Name string
	// Region is where the image is registered.
	Region string
	// Labels are free-form key/value tags.
	Labels map[string]string
	// SourceImageID is the id of the image this one was built from, or empty.
	SourceImageID string
	// Created is when the image was registered, in UTC.
	Created time.Time
	// Size is the image's size in bytes.
	Size int64
	// Location is where the image's data can be read, if the platform says:
	// for the stand-in, a file path or a URL. It becomes the artifact's
	// files.
	Location string
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
	// Name identifies the instance (a cloud's Name tag).
	Name string
	// Region is where the instance runs.
	Region string
	// SourceImage is the image the instance boots from, as FindImages
	// returned it; nil launches an empty instance. The platform checks the
	// image's content as it launches.
	SourceImage *Image
	// SSHPublicKey is the build's public key in authorized_keys format (a
	// cloud's key pair): an instance that serves SSH lets it in. Empty when
	// the build does not connect over SSH.
	SSHPublicKey string
	// DiskSize is the size of the instance's disk in bytes (a cloud's
	// volume size); zero means the platform's default. A source image that
	// does not fit fails the launch with ErrDiskFull.
	DiskSize int64
}

// Instance is a running (or stopped) instance.
type Instance struct {
	// ID identifies the instance to the platform.
	ID string
	// Name is the instance's name, from LaunchSpec.
	Name string
	// Region is where the instance runs.
	Region string
	// SourceImageID is the id of the image it was launched from, or empty.
	SourceImageID string
	// Host and Port are where the instance serves SSH (or WinRM), when it
	// does: what communicator.StepConnect connects to. Empty for an
	// instance reached through a Connector.
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
