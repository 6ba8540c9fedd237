package scaffolding

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
)

// A store that is malformed is reported before provisioning starts, not by
// the snapshot at the end after all the work.
func TestBuilder_malformedStoreFailsBeforeProvisioning(t *testing.T) {
	for name, setup := range map[string]func(t *testing.T, store string){
		"index is not JSON": func(t *testing.T, store string) {
			if err := os.WriteFile(filepath.Join(store, "index.json"), []byte("{not json"), 0o644); err != nil {
				t.Fatal(err)
			}
		},
		"index is a directory": func(t *testing.T, store string) {
			if err := os.Mkdir(filepath.Join(store, "index.json"), 0o755); err != nil {
				t.Fatal(err)
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			store := t.TempDir()
			setup(t, store)
			b, _, instances := newLocalBuilder(t, store, nil)
			hook := &provisionHook{fn: func(context.Context, packersdk.Communicator) error { return nil }}
			art, err := b.Run(context.Background(), testUi(), hook)
			if art != nil || err == nil || !strings.Contains(err.Error(), "index.json") {
				t.Fatalf("Run = %v, %v; want an error naming index.json", art, err)
			}
			if hook.called {
				t.Error("provisioners ran against a malformed store")
			}
			if left := listDir(t, instances); len(left) != 0 {
				t.Errorf("instances left: %v", left)
			}
		})
	}
}

// A source image that expands past the instance's disk (a gzip bomb is the
// extreme case) fails the build before provisioning, naming disk_size.
func TestBuilder_sourceImageLargerThanDisk(t *testing.T) {
	store := filepath.Join(t.TempDir(), "store")
	base, _, _ := newLocalBuilder(t, store, map[string]interface{}{"image_name": "base"})
	zeros := &provisionHook{fn: func(ctx context.Context, comm packersdk.Communicator) error {
		return comm.Upload("/zeros", strings.NewReader(strings.Repeat("\x00", 3<<20)), nil)
	}}
	art, err := base.Run(context.Background(), testUi(), zeros)
	if err != nil {
		t.Fatal(err)
	}
	child, _, instances := newLocalBuilder(t, store, map[string]interface{}{"source_image": art.Id(), "disk_size": 1})
	hook := &provisionHook{fn: func(context.Context, packersdk.Communicator) error { return nil }}
	_, err = child.Run(context.Background(), testUi(), hook)
	if err == nil || !strings.Contains(err.Error(), "disk_size") {
		t.Fatalf("Run = %v, want an error naming disk_size", err)
	}
	if hook.called {
		t.Error("provisioners ran although the source image did not fit")
	}
	if left := listDir(t, instances); len(left) != 0 {
		t.Errorf("instances left: %v", left)
	}
}
