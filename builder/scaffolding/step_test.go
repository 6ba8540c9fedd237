package scaffolding

import (
	"bytes"
	"strings"
	"testing"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/hashicorp/packer-plugin-sdk/packerbuilderdata"

	"github.com/example/packer-plugin-scaffolding/cloud"
)

// testState is where every step test starts: a valid config (store in a
// temp dir, no source image), a MockDriver, a hook and a UI that records
// its output.
func testState(t *testing.T) multistep.StateBag {
	t.Helper()
	config := new(Config)
	if _, err := config.Prepare(testConfig(t)); err != nil {
		t.Fatal(err)
	}
	state := new(multistep.BasicStateBag)
	state.Put("config", config)
	state.Put("driver", &cloud.MockDriver{})
	state.Put("hook", &packersdk.MockHook{})
	state.Put("ui", &packersdk.BasicUi{
		Reader:      new(bytes.Buffer),
		Writer:      new(bytes.Buffer),
		ErrorWriter: new(bytes.Buffer),
	})
	return state
}

func testDriver(state multistep.StateBag) *cloud.MockDriver {
	return state.Get("driver").(*cloud.MockDriver)
}
func testConfigOf(state multistep.StateBag) *Config { return state.Get("config").(*Config) }
func generatedData(state multistep.StateBag) *packerbuilderdata.GeneratedData {
	return &packerbuilderdata.GeneratedData{State: state}
}

// uiErrors is what the steps reported with ui.Error.
func uiErrors(state multistep.StateBag) string {
	return state.Get("ui").(*packersdk.BasicUi).ErrorWriter.(*bytes.Buffer).String()
}

// wantHalt checks that a step halted the way every step must: the error in
// the state, mentioning each of want, and on the UI.
func wantHalt(t *testing.T, state multistep.StateBag, action multistep.StepAction, want ...string) {
	t.Helper()
	if action != multistep.ActionHalt {
		t.Fatalf("action = %v, want halt", action)
	}
	raw, ok := state.GetOk("error")
	if !ok {
		t.Fatal("no error in the state")
	}
	err := raw.(error)
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
	if !strings.Contains(uiErrors(state), err.Error()) {
		t.Errorf("error %q not shown on the UI (got %q)", err, uiErrors(state))
	}
}

func wantContinue(t *testing.T, state multistep.StateBag, action multistep.StepAction) {
	t.Helper()
	if action != multistep.ActionContinue {
		t.Fatalf("action = %v, want continue (error: %v)", action, state.Get("error"))
	}
	if _, ok := state.GetOk("error"); ok {
		t.Fatalf("error in the state: %v", state.Get("error"))
	}
}

func testImage(name string) cloud.Image {
	return cloud.Image{ID: "sha256:" + strings.Repeat("5e", 32), Name: name, Region: cloud.DefaultRegion}
}
