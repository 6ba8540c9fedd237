package scaffolding

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/hashicorp/packer-plugin-sdk/common"
	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
)

// recordingStep halts on the runs listed in fails (1 is the first run) and
// logs its runs and cleanups into a shared journal.
type recordingStep struct {
	name    string
	fails   map[int]bool
	runs    int
	journal *[]string
}

func (s *recordingStep) Run(_ context.Context, state multistep.StateBag) multistep.StepAction {
	s.runs++
	*s.journal = append(*s.journal, "run "+s.name)
	if s.fails[s.runs] {
		state.Put("error", errors.New(s.name+" failed"))
		return multistep.ActionHalt
	}
	return multistep.ActionContinue
}

func (s *recordingStep) Cleanup(multistep.StateBag) {
	*s.journal = append(*s.journal, "cleanup "+s.name)
}

// answeringUi answers prompts with the given lines (BasicUi asks a
// terminal), and prints each prompt as Packer's UI does.
type answeringUi struct {
	*packersdk.BasicUi
	answers []string
}

func (u *answeringUi) Ask(query string) (string, error) {
	u.Say(query)
	if len(u.answers) == 0 || u.answers[0] == "" {
		return "", errors.New("no more answers")
	}
	line := u.answers[0]
	u.answers = u.answers[1:]
	return strings.TrimSuffix(line, "\n"), nil
}

// runSteps runs a launch step and a provision step that fails on the given
// runs, under Packer's -on-error mode, answering prompts with answers.
func runSteps(t *testing.T, onError string, debug bool, answers string, fails ...int) (journal []string, ui string, state multistep.StateBag) {
	t.Helper()
	failing := map[int]bool{}
	for _, n := range fails {
		failing[n] = true
	}
	launch := &recordingStep{name: "launch", journal: &journal}
	provision := &recordingStep{name: "provision", fails: failing, journal: &journal}
	var out bytes.Buffer
	answering := &answeringUi{BasicUi: &packersdk.BasicUi{Writer: &out, ErrorWriter: &out}, answers: strings.SplitAfter(answers, "\n")}
	state = new(multistep.BasicStateBag)
	state.Put("ui", answering)
	runner := newRunner([]multistep.Step{launch, provision}, common.PackerConfig{PackerOnError: onError, PackerDebug: debug}, answering)
	runner.Run(context.Background(), state)
	return journal, out.String(), state
}

func TestNewRunner_cleanupIsTheDefault(t *testing.T) {
	for _, mode := range []string{"", "cleanup"} {
		journal, _, _ := runSteps(t, mode, false, "", 1)
		if got, want := strings.Join(journal, ", "), "run launch, run provision, cleanup provision, cleanup launch"; got != want {
			t.Errorf("-on-error=%q: %s, want %s", mode, got, want)
		}
	}
}

func TestNewRunner_abortSkipsCleanupAfterAFailure(t *testing.T) {
	journal, ui, _ := runSteps(t, "abort", false, "", 1)
	if got, want := strings.Join(journal, ", "), "run launch, run provision"; got != want {
		t.Errorf("journal: %s, want %s", got, want)
	}
	for _, want := range []string{"-on-error=abort and the build failed: skipping cleanup", "Skipping the cleanup of step recordingStep"} {
		if !strings.Contains(ui, want) {
			t.Errorf("UI lacks %q:\n%s", want, ui)
		}
	}
}

func TestNewRunner_abortCleansUpAfterASuccess(t *testing.T) {
	journal, ui, _ := runSteps(t, "abort", false, "")
	if got, want := strings.Join(journal, ", "), "run launch, run provision, cleanup provision, cleanup launch"; got != want {
		t.Errorf("journal: %s, want %s", got, want)
	}
	if strings.Contains(ui, "Skipping") {
		t.Errorf("a successful build skipped cleanup:\n%s", ui)
	}
}

func TestNewRunner_askRetriesTheStep(t *testing.T) {
	journal, ui, state := runSteps(t, "ask", false, "r\n", 1)
	if got, want := strings.Join(journal, ", "), "run launch, run provision, run provision, cleanup provision, cleanup launch"; got != want {
		t.Errorf("journal: %s, want %s", got, want)
	}
	if _, failed := state.GetOk("error"); failed {
		t.Error("the error of the failed try is still in the state after the retry succeeded")
	}
	if !strings.Contains(ui, "Step recordingStep failed") {
		t.Errorf("UI lacks the failed step:\n%s", ui)
	}
}

func TestNewRunner_askAbortSkipsCleanup(t *testing.T) {
	journal, ui, _ := runSteps(t, "ask", false, "A\n", 1)
	if got, want := strings.Join(journal, ", "), "run launch, run provision"; got != want {
		t.Errorf("journal: %s, want %s", got, want)
	}
	if !strings.Contains(ui, "You chose abort: skipping cleanup") {
		t.Errorf("UI lacks the skipped cleanup:\n%s", ui)
	}
}

func TestNewRunner_askRepeatsAnUnknownAnswerThenCleansUp(t *testing.T) {
	journal, ui, _ := runSteps(t, "ask", false, "x\n\n", 1)
	if got, want := strings.Join(journal, ", "), "run launch, run provision, cleanup provision, cleanup launch"; got != want {
		t.Errorf("journal: %s, want %s", got, want)
	}
	if !strings.Contains(ui, `Unknown answer "x": type c, a or r`) {
		t.Errorf("UI lacks the refused answer:\n%s", ui)
	}
}

func TestNewRunner_debugPausesAroundEveryStep(t *testing.T) {
	journal, ui, _ := runSteps(t, "", true, strings.Repeat("\n", 4))
	if got, want := strings.Join(journal, ", "), "run launch, run provision, cleanup provision, cleanup launch"; got != want {
		t.Errorf("journal: %s, want %s", got, want)
	}
	if n := strings.Count(ui, "Pausing after the run of step recordingStep. Press enter to continue."); n != 2 {
		t.Errorf("%d pauses after a run, want 2:\n%s", n, ui)
	}
	if n := strings.Count(ui, "Pausing before the cleanup of step recordingStep."); n != 2 {
		t.Errorf("%d pauses before a cleanup, want 2:\n%s", n, ui)
	}
}

func TestProvisionerBuildData(t *testing.T) {
	state := new(multistep.BasicStateBag)
	state.Put("generated_data", map[string]interface{}{"ImageName": "app"})
	state.Put("instance_id", "i-0123")
	t.Setenv("PACKER_RUN_UUID", "run-1")
	data := provisionerBuildData(state)
	for k, want := range map[string]interface{}{
		"ImageName": "app", "ID": "i-0123", "PackerRunUUID": "run-1",
		"PackerHTTPAddr": notProvidedHTTPAddr, "PackerHTTPIP": notProvidedHTTPIP, "PackerHTTPPort": notProvidedHTTPPort,
	} {
		if data[k] != want {
			t.Errorf("%s = %v, want %v", k, data[k], want)
		}
	}
	if _, ok := data["Host"]; ok {
		t.Errorf("Host = %v without a communicator", data["Host"])
	}
	state.Put("http_ip", "10.0.0.1")
	state.Put("http_port", 8080)
	if got := provisionerBuildData(state)["PackerHTTPAddr"]; got != "10.0.0.1:8080" {
		t.Errorf("PackerHTTPAddr = %v with an HTTP server", got)
	}
}
