package cloud

import (
	"context"
	"sync"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
)

// MockDriver is a Driver for unit tests. It records every call and its
// arguments in exported fields and answers with the canned results and
// errors set in other exported fields. It lives in a non-test file so the
// tests of the data source, provisioner and post-processor can use it too.
//
// For each method Xxx:
//   - XxxCalled is set on the first call;
//   - the arguments of the last call are kept (XxxFilter, XxxImage, ...), and
//     where a method is typically called several times (CopyImage,
//     DeregisterImage) every call's arguments are appended too;
//   - XxxErr, when set, is returned;
//   - XxxFunc, when set, replaces the canned answer entirely, for tests that
//     need a different answer per call (for example a copy that fails only
//     for one region). Arguments are still recorded.
//
// Calls lists the method names in call order, so a test can assert ordering
// (for example that a failed copy is followed by deletes).
//
// A MockDriver is safe for concurrent use. Read its fields once the code
// under test has returned.
type MockDriver struct {
	mu sync.Mutex

	// Calls is every method called, by name, in order.
	Calls []string

	FindImagesCalled  bool
	FindImagesFilter  ImageFilter
	FindImagesFilters []ImageFilter
	// FindImagesResult is returned as is; the mock does not apply the filter.
	FindImagesResult []Image
	FindImagesErr    error
	FindImagesFunc   func(ctx context.Context, filter ImageFilter) ([]Image, error)

	RunInstanceCalled bool
	RunInstanceSpec   LaunchSpec
	// RunInstanceResult is returned when set; otherwise a new Instance
	// with ID "i-mock" and the spec's name, region and source image id.
	RunInstanceResult *Instance
	RunInstanceErr    error
	RunInstanceFunc   func(ctx context.Context, spec LaunchSpec) (*Instance, error)

	StopInstanceCalled   bool
	StopInstanceInstance *Instance
	StopInstanceErr      error
	StopInstanceFunc     func(ctx context.Context, instance *Instance) error

	CreateImageCalled   bool
	CreateImageInstance *Instance
	CreateImageSpec     ImageSpec
	// CreateImageResult is returned when its ID is set; otherwise an Image
	// made from the spec with ID "sha256:mock".
	CreateImageResult Image
	CreateImageErr    error
	CreateImageFunc   func(ctx context.Context, instance *Instance, spec ImageSpec) (Image, error)

	TerminateInstanceCalled   bool
	TerminateInstanceInstance *Instance
	TerminateInstanceErr      error
	TerminateInstanceFunc     func(ctx context.Context, instance *Instance) error

	DeregisterImageCalled bool
	DeregisterImageImages []Image
	DeregisterImageErr    error
	DeregisterImageFunc   func(ctx context.Context, image Image) error

	CopyImageCalled bool
	CopyImageImage  Image
	// CopyImageRegions is every region asked for, in call order.
	CopyImageRegions []string
	// CopyImageErr fails every copy. Without it (and without CopyImageFunc)
	// a copy succeeds and returns the image with Region set to the target.
	CopyImageErr  error
	CopyImageFunc func(ctx context.Context, image Image, region string) (Image, error)

	CommunicatorCalled   bool
	CommunicatorInstance *Instance
	// CommunicatorResult is returned when set; otherwise a new
	// packersdk.MockCommunicator.
	CommunicatorResult packersdk.Communicator
	CommunicatorErr    error
}

var (
	_ Driver    = (*MockDriver)(nil)
	_ Connector = (*MockDriver)(nil)
)

// record notes a call; callers hold d.mu.
func (d *MockDriver) record(name string) {
	d.Calls = append(d.Calls, name)
}

// FindImages records the filter and returns FindImagesResult or FindImagesErr.
func (d *MockDriver) FindImages(ctx context.Context, filter ImageFilter) ([]Image, error) {
	d.mu.Lock()
	d.record("FindImages")
	d.FindImagesCalled = true
	d.FindImagesFilter = filter
	d.FindImagesFilters = append(d.FindImagesFilters, filter)
	fn, result, err := d.FindImagesFunc, d.FindImagesResult, d.FindImagesErr
	d.mu.Unlock()

	// Hooks run unlocked so they may call back into the mock.
	if fn != nil {
		return fn(ctx, filter)
	}
	if err != nil {
		return nil, err
	}
	return append([]Image(nil), result...), nil
}

// RunInstance records the spec and returns RunInstanceResult.
func (d *MockDriver) RunInstance(ctx context.Context, spec LaunchSpec) (*Instance, error) {
	d.mu.Lock()
	d.record("RunInstance")
	d.RunInstanceCalled = true
	d.RunInstanceSpec = spec
	fn, result, err := d.RunInstanceFunc, d.RunInstanceResult, d.RunInstanceErr
	d.mu.Unlock()

	if fn != nil {
		return fn(ctx, spec)
	}
	if err != nil {
		return nil, err
	}
	if result != nil {
		return result, nil
	}
	inst := &Instance{ID: "i-mock", Name: spec.Name, Region: spec.Region}
	if spec.SourceImage != nil {
		inst.SourceImageID = spec.SourceImage.ID
	}
	return inst, nil
}

// StopInstance records the instance and returns StopInstanceErr.
func (d *MockDriver) StopInstance(ctx context.Context, instance *Instance) error {
	d.mu.Lock()
	d.record("StopInstance")
	d.StopInstanceCalled = true
	d.StopInstanceInstance = instance
	fn, err := d.StopInstanceFunc, d.StopInstanceErr
	d.mu.Unlock()

	if fn != nil {
		return fn(ctx, instance)
	}
	return err
}

// CreateImage records its arguments and returns CreateImageResult, or an
// image built from the spec.
func (d *MockDriver) CreateImage(ctx context.Context, instance *Instance, spec ImageSpec) (Image, error) {
	d.mu.Lock()
	d.record("CreateImage")
	d.CreateImageCalled = true
	d.CreateImageInstance = instance
	d.CreateImageSpec = spec
	fn, result, err := d.CreateImageFunc, d.CreateImageResult, d.CreateImageErr
	d.mu.Unlock()

	if fn != nil {
		return fn(ctx, instance, spec)
	}
	if err != nil {
		return Image{}, err
	}
	if result.ID != "" {
		return result, nil
	}
	return Image{
		ID:            "sha256:mock",
		Name:          spec.Name,
		Region:        spec.Region,
		Labels:        spec.Labels,
		SourceImageID: spec.SourceImageID,
	}, nil
}

// TerminateInstance records the instance and returns TerminateInstanceErr.
func (d *MockDriver) TerminateInstance(ctx context.Context, instance *Instance) error {
	d.mu.Lock()
	d.record("TerminateInstance")
	d.TerminateInstanceCalled = true
	d.TerminateInstanceInstance = instance
	fn, err := d.TerminateInstanceFunc, d.TerminateInstanceErr
	d.mu.Unlock()

	if fn != nil {
		return fn(ctx, instance)
	}
	return err
}

// DeregisterImage records the image and returns DeregisterImageErr.
func (d *MockDriver) DeregisterImage(ctx context.Context, image Image) error {
	d.mu.Lock()
	d.record("DeregisterImage")
	d.DeregisterImageCalled = true
	d.DeregisterImageImages = append(d.DeregisterImageImages, image)
	fn, err := d.DeregisterImageFunc, d.DeregisterImageErr
	d.mu.Unlock()

	if fn != nil {
		return fn(ctx, image)
	}
	return err
}

// CopyImage records its arguments and returns the image re-registered in
// region, or CopyImageErr.
func (d *MockDriver) CopyImage(ctx context.Context, image Image, region string) (Image, error) {
	d.mu.Lock()
	d.record("CopyImage")
	d.CopyImageCalled = true
	d.CopyImageImage = image
	d.CopyImageRegions = append(d.CopyImageRegions, region)
	fn, err := d.CopyImageFunc, d.CopyImageErr
	d.mu.Unlock()

	if fn != nil {
		return fn(ctx, image, region)
	}
	if err != nil {
		return Image{}, err
	}
	image.Region = region
	return image, nil
}

// Communicator records the instance and returns CommunicatorResult.
func (d *MockDriver) Communicator(_ context.Context, instance *Instance) (packersdk.Communicator, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.record("Communicator")
	d.CommunicatorCalled = true
	d.CommunicatorInstance = instance
	if d.CommunicatorErr != nil {
		return nil, d.CommunicatorErr
	}
	if d.CommunicatorResult != nil {
		return d.CommunicatorResult, nil
	}
	return new(packersdk.MockCommunicator), nil
}
