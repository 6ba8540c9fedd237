package cloud_test

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

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
	dst := t.TempDir()
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
