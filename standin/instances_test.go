package standin

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// Instances lists what another process's driver left in the instance
// directory, and only that: not files, not directories named otherwise.
func TestLocalDriver_instancesFromAnotherProcess(t *testing.T) {
	ctx := context.Background()
	killed := newTestDriver(t) // stands in for a build that was killed
	left, err := killed.RunInstance(ctx, LaunchSpec{Name: "left"})
	if err != nil {
		t.Fatal(err)
	}
	populate(t, left.Workspace, map[string]string{"etc/motd": "left"})
	for _, name := range []string{"scaffolding-i-nothex000000", "scaffolding-notes", "other-i-0123456789ab"} {
		if err := os.Mkdir(filepath.Join(killed.InstanceDir, name), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(killed.InstanceDir, "scaffolding-i-0123456789ab"), nil, 0o600); err != nil {
		t.Fatal(err)
	}

	later := NewLocalDriver(killed.Dir)
	later.InstanceDir = killed.InstanceDir
	got, err := later.Instances()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != left.ID || got[0].Workspace != left.Workspace {
		t.Fatalf("Instances() = %+v, want only %+v", got, left)
	}
	if err := later.TerminateInstance(ctx, got[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(left.Workspace); !os.IsNotExist(err) {
		t.Errorf("workspace after TerminateInstance: %v", err)
	}
	if got, err := later.Instances(); err != nil || len(got) != 0 {
		t.Errorf("Instances() after terminating = %+v, %v; want none", got, err)
	}
	for _, name := range []string{"scaffolding-i-nothex000000", "scaffolding-notes", "other-i-0123456789ab", "scaffolding-i-0123456789ab"} {
		if _, err := os.Stat(filepath.Join(killed.InstanceDir, name)); err != nil {
			t.Errorf("%s: %v; it is not an instance and must stay", name, err)
		}
	}
}

func TestLocalDriver_instancesMissingDir(t *testing.T) {
	d := NewLocalDriver(t.TempDir())
	d.InstanceDir = filepath.Join(t.TempDir(), "none")
	if got, err := d.Instances(); err != nil || got != nil {
		t.Errorf("Instances() = %+v, %v; want nothing", got, err)
	}
}
