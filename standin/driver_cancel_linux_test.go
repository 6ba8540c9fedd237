package standin

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A check, restore or copy that waits on an archive whose source stalls (a
// named pipe here; a hung disk or network file system in life) ends as
// soon as its context does, and leaves nothing behind. Before the driver
// closed the archive on cancel, each of them waited in its read forever.
func TestLocalDriver_cancelWhileTheArchiveStalls(t *testing.T) {
	d := newTestDriver(t)
	img := buildImage(t, d, ImageSpec{Name: "app", Region: "local"}, map[string]string{"a.txt": strings.Repeat("app\n", 1<<16)})
	data, err := os.ReadFile(img.Location)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(img.Location); err != nil {
		t.Fatal(err)
	}
	if err := mkfifo(img.Location); err != nil {
		t.Skipf("cannot make a named pipe: %v", err)
	}
	var workspace string
	for _, op := range []struct {
		name string
		run  func(ctx context.Context) error
	}{
		{"verify", func(ctx context.Context) error { return d.VerifyImage(ctx, img) }},
		{"restore", func(ctx context.Context) error {
			inst, err := d.RunInstance(context.Background(), LaunchSpec{Name: "restored"})
			if err != nil {
				return err
			}
			workspace = inst.Workspace
			return d.RestoreImage(ctx, inst, img)
		}},
		{"copy", func(ctx context.Context) error { _, err := d.CopyImage(ctx, img, "eu-west"); return err }},
	} {
		t.Run(op.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			// Half the archive, then nothing more until the test is over.
			// stop ends the feeding early, when the operation ended
			// without taking what was fed (the test then fails, naming
			// the operation's error, instead of waiting for the pipe).
			fed := make(chan error, 1)
			release := make(chan struct{})
			stop := make(chan struct{})
			closed := make(chan struct{})
			go func() {
				w, err := os.OpenFile(img.Location, os.O_WRONLY, 0) // waits for the reader
				if err == nil {
					_, err = w.Write(data[:len(data)/2])
				}
				// Once the reader took it all (TIOCINQ is FIONREAD on Linux:
				// the bytes in the pipe), its next read waits.
				for err == nil {
					var n int
					if n, err = unix.IoctlGetInt(int(w.Fd()), unix.TIOCINQ); err != nil || n == 0 {
						break
					}
					select {
					case <-stop:
						err = errors.New("stopped")
					case <-time.After(time.Millisecond):
					}
				}
				fed <- err
				select {
				case <-release:
				case <-stop:
				}
				if w != nil {
					_ = w.Close()
				}
				close(closed)
			}()
			// The writer is closed before the next operation opens the pipe:
			// a writer still open would let that open return at once and
			// its reads end at this one's close (an empty archive).
			defer func() { close(release); <-closed }()
			errc := make(chan error, 1)
			go func() { errc <- op.run(ctx) }()
			select {
			case err := <-fed:
				if err != nil {
					t.Fatal(err)
				}
			case err := <-errc:
				// It ended without taking the fed bytes (or without opening
				// the pipe at all: a reader opened here lets the feeding
				// goroutine's open return).
				close(stop)
				if r, oerr := os.OpenFile(img.Location, os.O_RDONLY|unix.O_NONBLOCK, 0); oerr == nil {
					<-fed
					_ = r.Close()
				} else {
					<-fed
				}
				t.Fatalf("%s ended before it read the archive: %v", op.name, err)
			}
			cancel()
			if err := <-errc; !errors.Is(err, context.Canceled) {
				t.Fatalf("%s of a stalled archive after cancel: %v, want context.Canceled", op.name, err)
			}
		})
	}
	if entries, err := os.ReadDir(workspace); err != nil || len(entries) > 0 {
		t.Errorf("the cancelled restore left %d entries in the instance (%v)", len(entries), err)
	}
	if left := tempFiles(t, d.Dir); len(left) > 0 {
		t.Errorf("the cancelled copy left %v", left)
	}
	if found, err := d.FindImages(context.Background(), ImageFilter{Region: "eu-west"}); err != nil || len(found) > 0 {
		t.Errorf("the cancelled copy registered %v (%v)", found, err)
	}
}
