package scaffolding

import (
	"context"
	"fmt"
	"log"
	"reflect"
	"strings"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/common"
	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
)

// newRunner returns the runner of the build's steps, which acts on
// Packer's -on-error and -debug flags (Packer hands them to the builder in
// common.PackerConfig):
//
//   - -on-error=cleanup (the default): a failed build cleans up after
//     itself: the instance is terminated.
//   - -on-error=abort: a failed or interrupted build skips every step's
//     cleanup, so the instance stays for you to inspect (and remove).
//   - -on-error=run-cleanup-provisioner: as abort, but the template's
//     error-cleanup-provisioner still runs.
//   - -on-error=ask: after a step fails, asks whether to clean up, abort
//     (as above) or run the step again.
//   - -debug: pauses after each step and before each cleanup until you
//     press enter.
//
// The SDK's commonsteps.NewRunner does the same; stepProvision says why
// this plugin does not import commonsteps.
func newRunner(steps []multistep.Step, cfg common.PackerConfig, ui packersdk.Ui) multistep.Runner {
	wrapped := make([]multistep.Step, len(steps))
	for i, step := range steps {
		switch cfg.PackerOnError {
		case "abort", "run-cleanup-provisioner":
			wrapped[i] = &abortStep{step: step, ui: ui, mode: cfg.PackerOnError}
		case "ask":
			wrapped[i] = &askStep{step: step, ui: ui}
		default: // "" or "cleanup"; Packer refuses any other value
			wrapped[i] = step
		}
	}
	if cfg.PackerDebug {
		return &multistep.DebugRunner{Steps: wrapped, PauseFn: debugPause(ui)}
	}
	return &multistep.BasicRunner{Steps: wrapped}
}

// stateAborted marks a build whose user chose abort at the -on-error=ask
// prompt.
const stateAborted = "scaffolding_aborted"

// stateCleanupSkipped marks that the user was told cleanup is skipped.
const stateCleanupSkipped = "scaffolding_cleanup_skipped"

// stepName is a step's type name, as the debug pauses show it.
func stepName(step multistep.Step) string {
	if w, ok := step.(multistep.StepWrapper); ok {
		return w.InnerStepName()
	}
	return reflect.Indirect(reflect.ValueOf(step)).Type().Name()
}

// abortStep keeps what its step made when the build failed or was
// interrupted (-on-error=abort), except that in run-cleanup-provisioner
// mode the provisioning step still cleans up: that runs the
// error-cleanup-provisioner.
type abortStep struct {
	step multistep.Step
	ui   packersdk.Ui
	mode string
}

func (s *abortStep) InnerStepName() string { return stepName(s.step) }

func (s *abortStep) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	return s.step.Run(ctx, state)
}

func (s *abortStep) Cleanup(state multistep.StateBag) {
	if _, provisioning := s.step.(*stepProvision); provisioning && s.mode == "run-cleanup-provisioner" {
		s.step.Cleanup(state)
		return
	}
	_, halted := state.GetOk(multistep.StateHalted)
	_, cancelled := state.GetOk(multistep.StateCancelled)
	if !halted && !cancelled {
		s.step.Cleanup(state)
		return
	}
	why := "failed"
	if cancelled {
		why = "was interrupted"
	}
	skipCleanup(state, s.ui, fmt.Sprintf("-on-error=%s and the build %s", s.mode, why), stepName(s.step))
}

// skipCleanup tells the user, once, why cleanup is skipped, then which
// step's cleanup is.
func skipCleanup(state multistep.StateBag, ui packersdk.Ui, why, step string) {
	if _, told := state.GetOk(stateCleanupSkipped); !told {
		state.Put(stateCleanupSkipped, true)
		ui.Error(fmt.Sprintf("%s: skipping cleanup, so what the build made (its instance, say) is left as it is; remove it yourself when done", why))
	}
	ui.Say(fmt.Sprintf("Skipping the cleanup of step %s", step))
}

// askStep asks, when its step fails, whether to clean up (the default),
// abort without cleanup or run the step again (-on-error=ask).
type askStep struct {
	step multistep.Step
	ui   packersdk.Ui
}

func (s *askStep) InnerStepName() string { return stepName(s.step) }

func (s *askStep) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	for {
		action := s.step.Run(ctx, state)
		if action != multistep.ActionHalt || ctx.Err() != nil {
			return action
		}
		switch askOnError(ctx, s.ui, stepName(s.step)) {
		case 'r':
			// The failure is over if the retry succeeds.
			state.Remove("error")
			continue
		case 'a':
			state.Put(stateAborted, true)
		}
		return action
	}
}

func (s *askStep) Cleanup(state multistep.StateBag) {
	if _, aborted := state.GetOk(stateAborted); aborted {
		skipCleanup(state, s.ui, "You chose abort", stepName(s.step))
		return
	}
	s.step.Cleanup(state)
}

// askOnError asks until it gets c (clean up; also an empty answer), a
// (abort) or r (retry), and returns that letter. An interrupted build
// cleans up.
func askOnError(ctx context.Context, ui packersdk.Ui, step string) byte {
	ui.Say(fmt.Sprintf("Step %s failed", step))
	answer := make(chan byte, 1)
	go func() {
		for {
			line, err := ui.Ask("[c] Clean up and exit, [a] abort without cleanup, or [r] run the step again?")
			if err != nil {
				log.Printf("-on-error=ask: reading the answer: %v", err)
				answer <- 'c'
				return
			}
			switch choice := strings.ToLower(strings.TrimSpace(line)); {
			case choice == "":
				answer <- 'c'
				return
			case strings.IndexByte("car", choice[0]) >= 0:
				answer <- choice[0]
				return
			}
			ui.Say(fmt.Sprintf("Unknown answer %q: type c, a or r", line))
		}
	}()
	select {
	case a := <-answer:
		return a
	case <-ctx.Done():
		return 'c'
	}
}

// debugPause is -debug's pause: it waits for enter, or for the build to be
// interrupted.
func debugPause(ui packersdk.Ui) multistep.DebugPauseFn {
	return func(loc multistep.DebugLocation, name string, state multistep.StateBag) {
		where := "after the run of"
		if loc == multistep.DebugLocationBeforeCleanup {
			where = "before the cleanup of"
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			if _, err := ui.Ask(fmt.Sprintf("Pausing %s step %s. Press enter to continue.", where, name)); err != nil {
				log.Printf("-debug: reading enter: %v", err)
			}
		}()
		// The pause has no context: the runner marks an interrupt in the
		// state bag, so that is what is watched.
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				if _, ok := state.GetOk(multistep.StateCancelled); ok {
					return
				}
			}
		}
	}
}
