package cloud

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/example/packer-plugin-scaffolding/standin"
)

// NewDriver returns the Driver for an access configuration. It is the one
// place that knows which platform the components talk to: this template's
// is the stand-in cloud (package standin); a fork calls its SDK here.
func NewDriver(cfg *AccessConfig) (Driver, error) {
	opts := standin.StoreOptions{Token: cfg.Token}
	if cfg.Timeout != "" {
		d, err := time.ParseDuration(cfg.Timeout)
		if err != nil {
			return nil, fmt.Errorf("timeout: %w", err)
		}
		opts.Timeout = d
	}
	if cfg.Retries != nil {
		opts.Retries = *cfg.Retries
	}
	d, err := standin.OpenStore(cfg.Store, opts)
	if err != nil {
		return nil, translate(err)
	}
	return &standinDriver{d: d}, nil
}

// standinDriver adapts the stand-in cloud to Driver: the place where a
// vendor's driver calls its SDK instead.
type standinDriver struct{ d standin.Driver }

var _ Driver = (*standinDriver)(nil)

func (s *standinDriver) FindImages(ctx context.Context, f ImageFilter) ([]Image, error) {
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

func (s *standinDriver) VerifyImage(ctx context.Context, img Image) error {
	return translate(s.d.VerifyImage(ctx, standin.Image(img)))
}

func (s *standinDriver) CreateInstance(ctx context.Context, spec InstanceSpec) (*Instance, error) {
	inst, err := s.d.CreateInstance(ctx, standin.InstanceSpec(spec))
	if inst == nil {
		return nil, translate(err)
	}
	return (*Instance)(inst), translate(err)
}

func (s *standinDriver) RestoreImage(ctx context.Context, inst *Instance, img Image) error {
	return translate(s.d.RestoreImage(ctx, (*standin.Instance)(inst), standin.Image(img)))
}

func (s *standinDriver) StopInstance(ctx context.Context, inst *Instance) error {
	return translate(s.d.StopInstance(ctx, (*standin.Instance)(inst)))
}

func (s *standinDriver) CreateImage(ctx context.Context, inst *Instance, spec ImageSpec) (Image, error) {
	img, err := s.d.CreateImage(ctx, (*standin.Instance)(inst), standin.ImageSpec(spec))
	return Image(img), translate(err)
}

func (s *standinDriver) DeleteInstance(ctx context.Context, inst *Instance) error {
	return translate(s.d.DeleteInstance(ctx, (*standin.Instance)(inst)))
}

func (s *standinDriver) DeleteImage(ctx context.Context, img Image) error {
	return translate(s.d.DeleteImage(ctx, standin.Image(img)))
}

func (s *standinDriver) CopyImage(ctx context.Context, img Image, region string) (Image, error) {
	out, err := s.d.CopyImage(ctx, standin.Image(img), region)
	return Image(out), translate(err)
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
	case ErrReadOnly:
		return errors.Is(e.err, standin.ErrReadOnly)
	}
	return false
}
