//go:build !linux

package acctest

// pluginProcess is a live process whose executable is in a plugin directory.
type pluginProcess struct {
	pid, pgid int
	exe       string
}

// pluginProcesses cannot list processes on this system; the process-group
// kill is the only guard here.
func pluginProcesses(dir string) ([]pluginProcess, error) { return nil, nil }

// reapPluginProcesses does nothing where processes cannot be listed.
func reapPluginProcesses(dir string, pgid int) ([]pluginProcess, error) { return nil, nil }

// reapLeftovers does nothing where processes cannot be listed.
func reapLeftovers(dir, mark string, pgid int) ([]pluginProcess, error) { return nil, nil }
