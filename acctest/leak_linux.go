//go:build linux

package acctest

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// leakWait bounds how long reapPluginProcesses waits for killed processes
// to exit. SIGKILL cannot be caught, so this is only reached by a process
// stuck in the kernel.
const leakWait = 10 * time.Second

// pluginProcess is a live process left from a packer invocation: its
// executable is in the plugin directory, or it carries the invocation's
// process mark in its environment (any descendant of packer: plugins, the
// commands they ran, what those started).
type pluginProcess struct {
	pid, pgid int
	exe       string
}

func (p pluginProcess) String() string {
	return fmt.Sprintf("pid %d (%s, process group %d)", p.pid, p.exe, p.pgid)
}

// pluginProcesses lists the live processes whose executable lies under dir.
func pluginProcesses(dir string) ([]pluginProcess, error) { return leftovers(dir, "") }

// leftovers lists the live processes whose executable lies under dir, or,
// when mark is not empty, whose environment holds envProcessMark=mark. The
// environment is what a process was started with, inherited by every
// descendant that does not scrub it, so it finds descendants that left
// packer's process group and were re-parented, whatever they run.
func leftovers(dir, mark string) ([]pluginProcess, error) {
	dir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, err
	}
	var want []byte
	if mark != "" {
		want = []byte("\x00" + envProcessMark + "=" + mark + "\x00")
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var out []pluginProcess
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err != nil {
			continue // exited, a zombie, or not ours to inspect
		}
		exe = strings.TrimSuffix(exe, " (deleted)")
		if !strings.HasPrefix(exe, dir+string(filepath.Separator)) && !hasMark(pid, want) {
			continue
		}
		out = append(out, pluginProcess{pid: pid, pgid: processGroupOf(pid), exe: exe})
	}
	return out, nil
}

func hasMark(pid int, want []byte) bool {
	if want == nil {
		return false
	}
	env, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "environ"))
	if err != nil {
		return false
	}
	return bytes.Contains(append([]byte{0}, env...), want)
}

// processGroupOf reads the process group from /proc/PID/stat, whose second
// field (the command name) may hold spaces and parentheses.
func processGroupOf(pid int) int {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	fields := strings.Fields(s[i+1:])
	if len(fields) < 3 {
		return 0
	}
	pgid, _ := strconv.Atoi(fields[2])
	return pgid
}

// reapPluginProcesses kills every process still running from dir after a
// packer invocation whose process group was pgid, and waits for them to go.
// It returns the ones that had left that group: they escaped the group kill
// (a plugin that daemonised itself), which is a leak worth failing for.
func reapPluginProcesses(dir string, pgid int) ([]pluginProcess, error) {
	return reapLeftovers(dir, "", pgid)
}

// reapLeftovers is reapPluginProcesses for every leftover (see leftovers).
func reapLeftovers(dir, mark string, pgid int) ([]pluginProcess, error) {
	procs, err := leftovers(dir, mark)
	if err != nil || len(procs) == 0 {
		return nil, err
	}
	var escaped []pluginProcess
	for _, p := range procs {
		if p.pgid != pgid {
			escaped = append(escaped, p)
		}
		// It may have exited since it was listed; the wait below tells.
		_ = syscall.Kill(p.pid, syscall.SIGKILL)
	}
	deadline := time.Now().Add(leakWait)
	for {
		left, err := leftovers(dir, mark)
		if err != nil {
			return escaped, err
		}
		if len(left) == 0 {
			return escaped, nil
		}
		if time.Now().After(deadline) {
			return escaped, fmt.Errorf("processes survive SIGKILL: %v", left)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
