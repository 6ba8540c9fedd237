package acctest

import (
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
