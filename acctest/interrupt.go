package acctest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// stepProcess is the packer command of the step a run is at: set before
// the step's PreBuild, started and ended by runStep.
type stepProcess struct {
	step   int // counting from 1
	stdout string
	mu     sync.Mutex
	cmd    *exec.Cmd     // nil until packer started
	done   chan struct{} // closed when packer ended (or never started)
	// endOnce closes done.
	endOnce sync.Once
}

// beginStep records that the run is at step i (counting from 0).
func (r *Run) beginStep(i int) *stepProcess {
	sp := &stepProcess{step: i + 1, stdout: r.stdoutPath(i), done: make(chan struct{})}
	r.procMu.Lock()
	r.proc = sp
	r.procMu.Unlock()
	return sp
}

// end marks the step's packer ended; safe to call twice.
func (sp *stepProcess) end() { sp.endOnce.Do(func() { close(sp.done) }) }

// ended reports whether the step's packer has ended.
func (sp *stepProcess) ended() bool {
	select {
	case <-sp.done:
		return true
	default:
		return false
	}
}

func (r *Run) current() *stepProcess {
	r.procMu.Lock()
	defer r.procMu.Unlock()
	return r.proc
}

// Interrupt interrupts the packer command of the step the run is at, the
// way Ctrl-C in a terminal does: SIGINT to Packer's process group, so
// Packer cancels its builds and runs their cleanup (where there are no
// process groups, Packer is killed). It is for cases that test
// cancellation in one phase of a build: in PreBuild, start a goroutine that
// waits for the phase (WaitForUI, or a sign on the platform) and calls
// Interrupt; the step then sets ExpectError and checks what is left. It
// fails when the step's packer has not started or has ended.
func (r *Run) Interrupt() error {
	sp := r.current()
	if sp == nil {
		return fmt.Errorf("Interrupt: the run has not reached a step")
	}
	sp.mu.Lock()
	cmd := sp.cmd
	sp.mu.Unlock()
	if sp.ended() {
		return fmt.Errorf("Interrupt: packer of step %d/%d has ended", sp.step, r.steps)
	}
	if cmd == nil {
		return fmt.Errorf("Interrupt: packer of step %d/%d has not started", sp.step, r.steps)
	}
	return interruptProcessGroup(cmd)
}

// WaitForUI waits until Packer, running the step the run is at, has printed
// a UI line (say, message or error) containing substr, and fails when ctx
// ends or that packer ends first. Call it from PreBuild or a goroutine it
// starts, as Interrupt says.
func (r *Run) WaitForUI(ctx context.Context, substr string) error {
	sp := r.current()
	if sp == nil {
		return fmt.Errorf("WaitForUI: the run has not reached a step")
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		// Read before looking at done, so what packer printed last counts.
		ended := sp.ended()
		if out, err := os.ReadFile(sp.stdout); err == nil {
			for _, l := range ParseMachineReadable(string(out)).UI {
				if strings.Contains(l.Text, substr) {
					return nil
				}
			}
		}
		if ended {
			return fmt.Errorf("WaitForUI: packer of step %d/%d ended without printing %q", sp.step, r.steps, substr)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("WaitForUI %q: %w", substr, context.Cause(ctx))
		case <-sp.done:
		case <-tick.C:
		}
	}
}
