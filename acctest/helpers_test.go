package acctest

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// requireProcessListing skips where the harness cannot list processes.
func requireProcessListing(t *testing.T) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("listing plugin processes needs /proc")
	}
}

// mustWriteFile writes a file, creating its directory, or fails the test.
func mustWriteFile(t testing.TB, path, content string, perm os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), perm); err != nil {
		t.Fatal(err)
	}
}

// mustDo fails the test on err, for setup steps.
func mustDo(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
