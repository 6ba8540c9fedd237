package standin_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"testing"

	"github.com/example/packer-plugin-scaffolding/standin"
)

// benchInstance makes a stopped instance whose workspace holds files files of
// size bytes each, spread over a few directories.
func benchInstance(b *testing.B, d *standin.LocalDriver, files, size int) *standin.Instance {
	b.Helper()
	inst, err := d.RunInstance(context.Background(), standin.LaunchSpec{Name: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	content := make([]byte, size)
	for i := range content {
		content[i] = byte(i * 7)
	}
	for i := 0; i < files; i++ {
		dir := filepath.Join(inst.Workspace, fmt.Sprintf("d%d", i%10))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%d", i)), content, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	if err := d.StopInstance(context.Background(), inst); err != nil {
		b.Fatal(err)
	}
	return inst
}

func newBenchDriver(b *testing.B) *standin.LocalDriver {
	// The driver logs every instance for PACKER_LOG; here it would only
	// bury the numbers.
	log.SetOutput(io.Discard)
	b.Cleanup(func() { log.SetOutput(os.Stderr) })
	d := standin.NewLocalDriver(filepath.Join(b.TempDir(), "store"))
	d.InstanceDir = b.TempDir()
	return d
}

// BenchmarkCreateImage measures a snapshot: archive, digest and register
// 100 files of 64 KiB.
func BenchmarkCreateImage(b *testing.B) {
	d := newBenchDriver(b)
	inst := benchInstance(b, d, 100, 64<<10)
	ctx := context.Background()
	b.SetBytes(100 * 64 << 10)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := d.CreateImage(ctx, inst, standin.ImageSpec{Name: fmt.Sprintf("img-%d", i), Region: "local"}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRestoreImage measures the safe extraction of that image into a
// fresh instance, digest check included.
func BenchmarkRestoreImage(b *testing.B) {
	d := newBenchDriver(b)
	ctx := context.Background()
	img, err := d.CreateImage(ctx, benchInstance(b, d, 100, 64<<10), standin.ImageSpec{Name: "src", Region: "local"})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(100 * 64 << 10)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		inst, err := d.RunInstance(ctx, standin.LaunchSpec{Name: "restore"})
		if err != nil {
			b.Fatal(err)
		}
		if err := d.RestoreImage(ctx, inst, img); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := d.TerminateInstance(ctx, inst); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

// BenchmarkFindImages measures a filtered lookup in a store of 300 images.
func BenchmarkFindImages(b *testing.B) {
	d := newBenchDriver(b)
	ctx := context.Background()
	inst := benchInstance(b, d, 1, 16)
	for i := 0; i < 300; i++ {
		labels := map[string]string{"tier": []string{"base", "app"}[i%2]}
		if _, err := d.CreateImage(ctx, inst, standin.ImageSpec{Name: fmt.Sprintf("img-%d", i), Region: "local", Labels: labels}); err != nil {
			b.Fatal(err)
		}
	}
	filter := standin.ImageFilter{Name: "img-9*", Region: "local", Labels: map[string]string{"tier": "app"}}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := d.FindImages(ctx, filter); err != nil {
			b.Fatal(err)
		}
	}
}
