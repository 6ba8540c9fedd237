// Command ensure-packer finds or installs the Packer version the acceptance
// tests use (PACKER_ACC_VERSION, default acctest.PackerVersion), reporting
// progress on stderr and printing the binary's path as the last line of
// stdout:
//
//	packer=$(go run ./acctest/cmd/ensure-packer | tail -n 1)
//
// It installs the verified official release (PACKER_ACC_RELEASES_URL for a
// mirror), or builds Packer from its Go module when the release site cannot
// be reached. It honours PACKER_BIN and PACKER_ACC_CACHE_DIR as the tests
// do.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/example/packer-plugin-scaffolding/acctest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	p, err := acctest.EnsurePacker(ctx, acctest.EnsureOptions{Progress: os.Stderr})
	if err != nil {
		fmt.Fprintln(os.Stderr, "ensure-packer:", err)
		stop()
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "ensure-packer: using Packer %s from %s\n", p.Version, p.Source)
	fmt.Println(p.Path)
}
