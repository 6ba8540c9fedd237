//go:build unix

package standin

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestWriteSnapshot_refusesFifo(t *testing.T) {
	ws := t.TempDir()
	if err := unix.Mkfifo(filepath.Join(ws, "pipe"), 0o644); err != nil {
		t.Skipf("cannot create a fifo here: %v", err)
	}
	err := writeSnapshot(context.Background(), ws, new(bytes.Buffer))
	if err == nil || !strings.Contains(err.Error(), `"pipe"`) || !strings.Contains(err.Error(), "fifo") {
		t.Fatalf("error = %v, want one naming the fifo", err)
	}
}
