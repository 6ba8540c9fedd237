package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// heavyPackages make every plugin process slower to start. Packer starts
// several per build (describe twice, then one per component in use), and
// each runs the package initialisation of everything the binary links.
// commonsteps brings StepDownload's go-getter with its S3 and GCS clients:
// about 300 packages, a third of the binary (34 MB instead of 22 MB) and
// about 9 ms more per plugin start on 2 cores.
var heavyPackages = []string{
	"github.com/hashicorp/packer-plugin-sdk/multistep/commonsteps",
	"github.com/hashicorp/go-getter/s3/v2",
	"github.com/hashicorp/go-getter/gcs/v2",
	"cloud.google.com/go/storage",
}

// TestPluginLinksNoStorageClients: the plugin binary does not link
// heavyPackages. A fork that needs one (commonsteps' StepDownload for
// ISOs, say) deletes its line above and pays for it in start time.
func TestPluginLinksNoStorageClients(t *testing.T) {
	// Every package the binary links, with what it imports itself: the
	// importer of a heavy package is the one to name.
	out, err := exec.Command("go", "list", "-deps", "-f", `{{.ImportPath}}: {{join .Imports " "}}`, ".").Output()
	if err != nil {
		t.Fatalf("go list -deps .: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, imports, _ := strings.Cut(line, ": ")
		for _, imp := range strings.Fields(imports) {
			if slices.Contains(heavyPackages, imp) {
				t.Errorf("%s imports %s, which every plugin process pays for at start (see heavyPackages)", pkg, imp)
			}
		}
	}
}
