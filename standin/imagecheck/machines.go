package imagecheck

import (
	"os"
	"testing"

	"github.com/example/packer-plugin-scaffolding/acctest"
	"github.com/example/packer-plugin-scaffolding/standin/machine"
)

// NeedMachines skips an acceptance test whose builds use the builder's
// default communicator (SSH to an instance that is a machine) where this
// host cannot run machines, with machine.Supported's reason. Outside
// acceptance mode it does nothing: acctest.Test skips with its own reason.
func NeedMachines(t testing.TB) {
	t.Helper()
	if os.Getenv(acctest.EnvAcc) == "" {
		return
	}
	if err := machine.Supported(); err != nil {
		t.Skip(err)
	}
}
