package acctest

import (
	"testing"
)

// With PACKER_ACC_PLUGIN_BINARY set, the plugin under test is that binary,
// installed without the go command (PATH holds none here, so a build would
// fail).
func TestAccHarness_prebuiltPlugin(t *testing.T) {
	requireAcc(t)
	bin, err := PluginBinary(t.Context(), fixture)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvPluginBinary, bin)
	t.Setenv("PATH", t.TempDir())
	run, err := execCase(t, &Case{Plugin: fixture, WireModes: []WireMode{Gob}, Steps: []Step{{
		Template: idleSource(`say = "prebuilt"`),
		Checks:   []Check{UIContains("prebuilt")},
	}}}, Gob)
	if err != nil {
		t.Fatal(err)
	}
	if run.Plugin.prebuilt != bin {
		t.Errorf("expected the plugin under test to be %s, found %q", bin, run.Plugin.prebuilt)
	}
}
