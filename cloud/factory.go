package cloud

import (
	"context"
	"errors"
	"fmt"
	"sync"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/example/packer-plugin-scaffolding/standin"
)

// NewDriver returns the Driver for an access configuration. It is the one
// place that knows which platform the components talk to: this template's
// is the stand-in cloud (package standin); a fork calls its SDK here.
func NewDriver(cfg *AccessConfig) (Driver, error) {
	d, err := standin.OpenStore(cfg.Store, standin.StoreOptions{
		Token:   cfg.Token,
		Timeout: cfg.timeout(),
		Retries: cfg.retries(),
	})
	if err != nil {
		return nil, translate(err)
	}
	return &standinDriver{d: d}, nil
}

// standinDriver adapts the stand-in cloud to Driver: the place where a
// vendor's driver calls its SDK instead.
type standinDriver struct {
	d standin.Driver

	mu        sync.Mutex
	instances map[string]*standin.Instance // by id
}

var (
	_ Driver    = (*standinDriver)(nil)
	_ Connector = (*standinDriver)(nil)
)

func (s *standinDriver) FindImages(ctx context.Context, f ImageFilter) ([]Image, error) {
	ctx = standin.WithNotify(ctx, Progress(ctx))
	imgs, err := s.d.FindImages(ctx, standin.ImageFilter(f))
	if err != nil {
		return nil, translate(err)
	}
	out := make([]Image, len(imgs))
	for i, img := range imgs {
		out[i] = Image(img)
	}
	return out, nil
}

func (s *standinDriver) RunInstance(ctx context.Context, spec LaunchSpec) (*Instance, error) {
	ctx = standin.WithNotify(ctx, Progress(ctx))
	launch := standin.LaunchSpec{Name: spec.Name, AuthorizedKey: spec.SSHPublicKey, DiskSize: spec.DiskSize}
	if spec.SourceImage != nil {
		src := standin.Image(*spec.SourceImage)
		launch.Source = &src
	}
	inst, err := s.d.RunInstance(ctx, launch)
	if err != nil {
		return nil, translate(err)
	}
	s.mu.Lock()
	if s.instances == nil {
		s.instances = map[string]*standin.Instance{}
	}
	s.instances[inst.ID] = inst
	s.mu.Unlock()
	out := &Instance{ID: inst.ID, Name: spec.Name, Region: spec.Region, Host: inst.Host, Port: inst.Port}
	if spec.SourceImage != nil {
		out.SourceImageID = spec.SourceImage.ID
	}
	return out, nil
}

// instance finds the stand-in's instance behind ours.
func (s *standinDriver) instance(inst *Instance) (*standin.Instance, error) {
	if inst == nil {
		return nil, errors.New("no instance")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	si, ok := s.instances[inst.ID]
	if !ok {
		return nil, fmt.Errorf("instance %s: not launched by this driver", inst.ID)
	}
	return si, nil
}

func (s *standinDriver) StopInstance(ctx context.Context, inst *Instance) error {
	ctx = standin.WithNotify(ctx, Progress(ctx))
	si, err := s.instance(inst)
	if err != nil {
		return err
	}
	return translate(s.d.StopInstance(ctx, si))
}

func (s *standinDriver) CreateImage(ctx context.Context, inst *Instance, spec ImageSpec) (Image, error) {
	ctx = standin.WithNotify(ctx, Progress(ctx))
	si, err := s.instance(inst)
	if err != nil {
		return Image{}, err
	}
	img, err := s.d.CreateImage(ctx, si, standin.ImageSpec(spec))
	return Image(img), translate(err)
}

func (s *standinDriver) TerminateInstance(ctx context.Context, inst *Instance) error {
	ctx = standin.WithNotify(ctx, Progress(ctx))
	if inst == nil {
		return nil
	}
	s.mu.Lock()
	si, ok := s.instances[inst.ID]
	s.mu.Unlock()
	if !ok {
		return nil // already gone
	}
	if err := s.d.TerminateInstance(ctx, si); err != nil {
		return translate(err)
	}
	s.mu.Lock()
	delete(s.instances, inst.ID)
	s.mu.Unlock()
	return nil
}

func (s *standinDriver) DeregisterImage(ctx context.Context, img Image) error {
	ctx = standin.WithNotify(ctx, Progress(ctx))
	return translate(s.d.DeregisterImage(ctx, standin.Image(img)))
}

func (s *standinDriver) CopyImage(ctx context.Context, img Image, region string) (Image, error) {
	ctx = standin.WithNotify(ctx, Progress(ctx))
	out, err := s.d.CopyImage(ctx, standin.Image(img), region)
	return Image(out), translate(err)
}

// Communicator implements Connector with the stand-in's workspace
// communicator, which works in the instance's directory on this machine.
func (s *standinDriver) Communicator(_ context.Context, inst *Instance) (packersdk.Communicator, error) {
	si, err := s.instance(inst)
	if err != nil {
		return nil, err
	}
	return &standin.Communicator{Workspace: si.Workspace}, nil
}

// translate keeps the stand-in's message and makes errors.Is answer with
// this package's sentinel errors.
func translate(err error) error {
	if err == nil {
		return nil
	}
	return &platformError{err: err}
}

type platformError struct{ err error }

func (e *platformError) Error() string { return e.err.Error() }
func (e *platformError) Unwrap() error { return e.err }
func (e *platformError) Is(target error) bool {
	switch target {
	case ErrImageNotFound:
		return errors.Is(e.err, standin.ErrImageNotFound)
	case ErrChecksumMismatch:
		return errors.Is(e.err, standin.ErrChecksumMismatch)
	case ErrImageExists:
		return errors.Is(e.err, standin.ErrImageExists)
	case ErrDiskFull:
		return errors.Is(e.err, standin.ErrDiskFull)
	case ErrReadOnly:
		return errors.Is(e.err, standin.ErrReadOnly)
	}
	return false
}
