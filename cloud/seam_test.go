package cloud_test

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gofrs/flock"

	"github.com/example/packer-plugin-scaffolding/internal/gomod"
)

// stubFactory is what a vendor starts from: the stand-in is gone and
// NewDriver does not call any SDK yet.
const stubFactory = `package cloud

import "errors"

// NewDriver returns the Driver for an access configuration.
func NewDriver(cfg *AccessConfig) (Driver, error) {
	return nil, errors.New("not implemented")
}
`

// TestSeamWithoutStandin proves the layout's promise: on a copy of the
// module, delete standin/ and replace cloud/factory.go with a stub, and
// every package still compiles. Nothing but the factory may depend on the
// stand-in cloud.
func TestSeamWithoutStandin(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a copy of the module")
	}
	wd, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	root, _, err := gomod.Find(wd)
	if err != nil {
		t.Fatal(err)
	}
	dst := stableCopyDir(t, root)
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() {
			// The stand-in is what a vendor deletes; .git and build output
			// are not part of the source.
			if rel == "standin" || rel == "dist" || strings.HasPrefix(d.Name(), ".") && rel != "." {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || !strings.HasSuffix(p, ".go") && rel != "go.mod" && rel != "go.sum" {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out := filepath.Join(dst, rel)
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return err
		}
		return os.WriteFile(out, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dst, "cloud", "factory.go"), []byte(stubFactory), 0o644); err != nil {
		t.Fatal(err)
	}
	// go list -export compiles every package, commands included, as go
	// build ./... would, but links none of them: linking the module's ten
	// commands was nine tenths of this test's time, and proves nothing a
	// compile does not.
	cmd := exec.Command("go", "list", "-export", "-f", "{{.ImportPath}}", "./...")
	cmd.Dir = dst
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("without standin/ and with a stub cloud/factory.go, the module does not compile "+
			"(go list -export ./...): %v\n%s", err, out)
	}
}

// stableCopyDir returns an empty directory for the copy of the module at
// root, at the same path on every run (a digest of root under the temp
// dir), removed when the test ends. The go command keys compiled packages
// by their directory as well as their sources: in a fresh directory each
// time, every package of the module compiled again, which was most of
// this test's time.
func stableCopyDir(t *testing.T, root string) string {
	t.Helper()
	sum := sha256.Sum256([]byte(root))
	dir := filepath.Join(os.TempDir(), "seam-test-"+hex.EncodeToString(sum[:8]))
	lock := flock.New(dir + ".lock")
	if err := lock.Lock(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = os.RemoveAll(dir)
		_ = lock.Unlock()
	})
	// A run that was killed may have left its copy.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}
