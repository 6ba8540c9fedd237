package standin

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// instancePrefix starts the name of every instance workspace: the
// directory newInstance makes is instancePrefix + the instance id.
const instancePrefix = "scaffolding-"

// Instances lists the instances whose workspaces are in the driver's
// InstanceDir (the system's temporary directory when it is empty), the
// ones this driver launched and the ones other processes did, such as a
// killed build's ([DescribeInstances]). Machines die with the process that
// started them, so what a killed build leaves is its workspace; terminating
// a listed instance with TerminateInstance deletes it. A missing directory
// lists nothing.
func (d *LocalDriver) Instances() ([]*Instance, error) {
	base := d.InstanceDir
	if base == "" {
		base = os.TempDir()
	}
	entries, err := os.ReadDir(base)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing instances in %s: %w", base, err)
	}
	var out []*Instance
	for _, e := range entries {
		id, ok := strings.CutPrefix(e.Name(), instancePrefix)
		// Only directories named as newInstance names them: "i-" and 12
		// hex digits, so nothing else in a shared temp directory matches.
		if !ok || !e.IsDir() || !isInstanceID(id) {
			continue
		}
		out = append(out, &Instance{ID: id, Workspace: filepath.Join(base, e.Name())})
	}
	return out, nil
}

func isInstanceID(id string) bool {
	hexPart, ok := strings.CutPrefix(id, "i-")
	if !ok || len(hexPart) != 12 {
		return false
	}
	for _, c := range hexPart {
		if !strings.ContainsRune("0123456789abcdef", c) {
			return false
		}
	}
	return true
}
