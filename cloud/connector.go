package cloud

import (
	"context"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
)

// Connector is implemented by a Driver whose instances are reached without
// a network address: the builder's `workspace` communicator asks it for a
// Communicator instead of dialling Instance.Host. A cloud driver whose
// instances serve SSH or WinRM does not implement it.
type Connector interface {
	// Communicator returns a communicator for a running instance.
	Communicator(ctx context.Context, instance *Instance) (packersdk.Communicator, error)
}
