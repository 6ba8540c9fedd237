package acctest

import (
	"regexp"
	"strings"
	"testing"
)

// Run.Interrupt from a PreBuild goroutine, once WaitForUI saw the
// provisioner start, ends the build as Ctrl-C does: Packer cancels the
// provisioner (which waits for exactly that) and exits with an error that
// ExpectError matches; no plugin process is left (the harness's check).
func TestAccHarness_interruptFromPreBuild(t *testing.T) {
	requireAcc(t)
	Test(t, Case{
		WireModes: harnessOnly,
		Plugin:    fixture,
		Steps: []Step{{
			Template: idleSource(`
say  = "about to hang"
hang = "hanging.txt"`),
			PreBuild: func(t testing.TB, run *Run, _ *Step) {
				if err := run.Interrupt(); err == nil || !strings.Contains(err.Error(), "has not started") {
					t.Errorf("expected Interrupt before packer starts to fail, found %v", err)
				}
				done := make(chan struct{})
				t.Cleanup(func() { <-done })
				go func() {
					defer close(done)
					if err := run.WaitForUI(t.Context(), "about to hang"); err != nil {
						t.Error(err)
						return
					}
					if err := run.Interrupt(); err != nil {
						t.Error(err)
					}
				}()
			},
			ExpectError: regexp.MustCompile(`(?i)interrupt|cancel`),
			Checks:      []Check{UIContains("about to hang"), ArtifactCount(0)},
		}},
	})
}
