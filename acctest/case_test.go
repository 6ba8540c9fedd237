package acctest

import (
	"strings"
	"testing"

	"github.com/hashicorp/go-version"
)

func TestCaseValidate(t *testing.T) {
	ok := Step{Template: "x"}
	for _, tc := range []struct {
		name string
		c    Case
		want []string // substrings of the error; none means valid
	}{
		{name: "valid", c: Case{Steps: []Step{ok, {TemplateFile: "testdata/templates/second-step.pkr.hcl", Args: []string{"-only=a", "-var-file=x.pkrvars.hcl"}}}}},
		{name: "no steps", c: Case{}, want: []string{"Steps: at least one step is required"}},
		{name: "no template", c: Case{Steps: []Step{ok, {}}}, want: []string{"Steps[1] (step 2/2): set Template or TemplateFile"}},
		{name: "both templates", c: Case{Steps: []Step{{Template: "x", TemplateFile: "y"}}}, want: []string{"Template: both Template and TemplateFile are set"}},
		{name: "missing template file", c: Case{Steps: []Step{{TemplateFile: "testdata/nope.pkr.hcl"}}}, want: []string{"TemplateFile: stat testdata/nope.pkr.hcl"}},
		{name: "files outside", c: Case{Steps: []Step{ok}, Files: map[string]string{"../x": "", "/etc/x": "", "a/../../b": "", "": ""}}, want: []string{
			`Files["../x"]: must stay inside`, `Files["/etc/x"]: must be relative`, `Files["a/../../b"]: must stay inside`, `Files[""]: empty path`}},
		{name: "reserved args", c: Case{Steps: []Step{{Template: "x", Args: []string{"-machine-readable", "--color=true", "-var=a=1", "t.pkr.hcl"}}}}, want: []string{
			`"-machine-readable" is set by the harness`, `"--color=true" is set by the harness`, `"-var=a=1" is set by the harness`, `"t.pkr.hcl" is not a flag`}},
		{name: "harness env", c: Case{Steps: []Step{{Template: "x", Env: map[string]string{"PACKER_PLUGIN_PATH": "/x"}}}, Env: map[string]string{"HOME": "/x", "A=B": ""}}, want: []string{
			`Env["HOME"]: set by the harness`, `Env["A=B"]: not an environment variable name`, `Steps[0] (step 1/1): Env["PACKER_PLUGIN_PATH"]: set by the harness`}},
		{name: "bad vars and checks", c: Case{Steps: []Step{{Template: "x", Vars: map[string]string{"a=b": ""}, Checks: []Check{nil}}}}, want: []string{
			`Vars["a=b"]: not a variable name`, "Checks[0]: nil check"}},
		{name: "versions", c: Case{Steps: []Step{ok}, SkipBelow: Version1_16, SkipAbove: Version1_12}, want: []string{"SkipBelow: 1.16.0 is above SkipAbove 1.12.0"}},
		{name: "plugin", c: Case{Steps: []Step{ok}, Plugin: &Plugin{Name: "Bad Name", Address: "example/x"}}, want: []string{
			`Plugin: Name: "Bad Name"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.c.validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("expected a valid case, found %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("expected errors %q, found none", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("expected the error to contain %q, found:\n%v", w, err)
				}
			}
		})
	}
}

func TestStepClone(t *testing.T) {
	s := Step{Template: "x", Vars: map[string]string{"a": "1"}, Env: map[string]string{"E": "1"}, Args: []string{"-only=a"}, Checks: []Check{ArtifactCount(1)}}
	c := s.clone()
	c.Vars["a"], c.Env["E"], c.Args[0] = "2", "2", "-only=b"
	c.Checks[0] = nil
	if s.Vars["a"] != "1" || s.Env["E"] != "1" || s.Args[0] != "-only=a" || s.Checks[0] == nil {
		t.Errorf("expected the original untouched by changes to the clone, found %+v", s)
	}
	if c := (Step{}).clone(); c.Vars == nil || c.Env == nil {
		t.Errorf("expected writable maps in a clone, found %+v", c)
	}
}

func TestSkipReason(t *testing.T) {
	v := func(s string) *version.Version { return version.Must(version.NewVersion(s)) }
	for _, tc := range []struct {
		c      Case
		packer string
		want   string
	}{
		{Case{SkipBelow: Version1_16}, "1.16.0", ""},
		{Case{SkipBelow: Version1_16}, "1.16.0-dev", ""},
		{Case{SkipBelow: Version1_16}, "1.15.3", "Packer 1.15.3 is older than SkipBelow 1.16.0"},
		{Case{SkipAbove: Version1_15}, "1.15.0", ""},
		{Case{SkipAbove: Version1_15}, "1.15.9", "Packer 1.15.9 is newer than SkipAbove 1.15.0"},
		{Case{SkipAbove: Version1_15}, "1.16.0", "Packer 1.16.0 is newer than SkipAbove 1.15.0"},
		{Case{}, "0.1.0", ""},
	} {
		if got := tc.c.skipReason(v(tc.packer)); got != tc.want {
			t.Errorf("Packer %s, SkipBelow %v, SkipAbove %v: expected %q, found %q", tc.packer, tc.c.SkipBelow, tc.c.SkipAbove, tc.want, got)
		}
	}
}

func TestWireModeString(t *testing.T) {
	if Protobuf.String() != "protobuf" || Gob.String() != "gob" || WireMode(7).String() != "unknown" {
		t.Errorf("expected protobuf, gob, unknown, found %s, %s, %s", Protobuf, Gob, WireMode(7))
	}
}
