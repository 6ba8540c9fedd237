package gomod

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFind(t *testing.T) {
	root := t.TempDir()
	deep := filepath.Join(root, "a", "b")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "go.mod"), []byte("// x\nmodule \"github.com/o/packer-plugin-x\"\n\ngo 1.26\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, mp, err := Find(deep)
	if err != nil || got != root || mp != "github.com/o/packer-plugin-x" {
		t.Fatalf("Find(%s) = %q, %q, %v; expected %q, github.com/o/packer-plugin-x", deep, got, mp, err, root)
	}

	if err := os.WriteFile(filepath.Join(root, "go.mod"), []byte("go 1.26\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Find(deep); err == nil || !strings.Contains(err.Error(), "no module line") {
		t.Fatalf("go.mod without a module line: expected an error saying so, found %v", err)
	}
	if _, _, err := Find(string(filepath.Separator)); err == nil || !strings.Contains(err.Error(), "no go.mod") {
		t.Fatalf("no go.mod anywhere: expected an error saying so, found %v", err)
	}
}
