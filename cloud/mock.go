package cloud

import (
	"context"
	"sync"
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
//     DeleteImage, VerifyImage) every call's arguments are appended too;
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

	VerifyImageCalled bool
	VerifyImageImages []Image
	VerifyImageErr    error
	VerifyImageFunc   func(ctx context.Context, image Image) error

	CreateInstanceCalled bool
	CreateInstanceSpec   InstanceSpec
	// CreateInstanceResult is returned when set; otherwise a new Instance
	// with ID "i-mock" and an empty Workspace.
	CreateInstanceResult *Instance
	CreateInstanceErr    error
	CreateInstanceFunc   func(ctx context.Context, spec InstanceSpec) (*Instance, error)

	RestoreImageCalled   bool
	RestoreImageInstance *Instance
	RestoreImageImage    Image
	RestoreImageErr      error
	RestoreImageFunc     func(ctx context.Context, instance *Instance, image Image) error

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

	DeleteInstanceCalled   bool
	DeleteInstanceInstance *Instance
	DeleteInstanceErr      error
	DeleteInstanceFunc     func(ctx context.Context, instance *Instance) error

	DeleteImageCalled bool
	DeleteImageImages []Image
	DeleteImageErr    error
	DeleteImageFunc   func(ctx context.Context, image Image) error

	CopyImageCalled bool
	CopyImageImage  Image
	// CopyImageRegions is every region asked for, in call order.
	CopyImageRegions []string
	// CopyImageErr fails every copy. Without it (and without CopyImageFunc)
	// a copy succeeds and returns the image with Region set to the target.
	CopyImageErr  error
	CopyImageFunc func(ctx context.Context, image Image, region string) (Image, error)
}

var _ Driver = (*MockDriver)(nil)

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

// VerifyImage records the image and returns VerifyImageErr.
func (d *MockDriver) VerifyImage(ctx context.Context, image Image) error {
	d.mu.Lock()
	d.record("VerifyImage")
	d.VerifyImageCalled = true
	d.VerifyImageImages = append(d.VerifyImageImages, image)
	fn, err := d.VerifyImageFunc, d.VerifyImageErr
	d.mu.Unlock()

	if fn != nil {
		return fn(ctx, image)
	}
	return err
}

// CreateInstance records the spec and returns CreateInstanceResult.
func (d *MockDriver) CreateInstance(ctx context.Context, spec InstanceSpec) (*Instance, error) {
	d.mu.Lock()
	d.record("CreateInstance")
	d.CreateInstanceCalled = true
	d.CreateInstanceSpec = spec
	fn, result, err := d.CreateInstanceFunc, d.CreateInstanceResult, d.CreateInstanceErr
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
	return &Instance{ID: "i-mock"}, nil
}

// RestoreImage records its arguments and returns RestoreImageErr.
func (d *MockDriver) RestoreImage(ctx context.Context, instance *Instance, image Image) error {
	d.mu.Lock()
	d.record("RestoreImage")
	d.RestoreImageCalled = true
	d.RestoreImageInstance = instance
	d.RestoreImageImage = image
	fn, err := d.RestoreImageFunc, d.RestoreImageErr
	d.mu.Unlock()

	if fn != nil {
		return fn(ctx, instance, image)
	}
	return err
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

// DeleteInstance records the instance and returns DeleteInstanceErr.
func (d *MockDriver) DeleteInstance(ctx context.Context, instance *Instance) error {
	d.mu.Lock()
	d.record("DeleteInstance")
	d.DeleteInstanceCalled = true
	d.DeleteInstanceInstance = instance
	fn, err := d.DeleteInstanceFunc, d.DeleteInstanceErr
	d.mu.Unlock()

	if fn != nil {
		return fn(ctx, instance)
	}
	return err
}

// DeleteImage records the image and returns DeleteImageErr.
func (d *MockDriver) DeleteImage(ctx context.Context, image Image) error {
	d.mu.Lock()
	d.record("DeleteImage")
	d.DeleteImageCalled = true
	d.DeleteImageImages = append(d.DeleteImageImages, image)
	fn, err := d.DeleteImageFunc, d.DeleteImageErr
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
