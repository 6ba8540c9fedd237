package acctest

import (
	"regexp"
	"strings"
	"testing"
)

func TestValueChecks(t *testing.T) {
	run := &Run{}
	first := ParseMachineReadable(readCaptured(t, "digest-artifacts.stdout"))
	first.Step, first.run = 1, run
	run.Results = []*Result{first}
	arts := first.ArtifactsFrom("")
	if len(arts) == 0 {
		t.Fatal("the captured output has no artifacts")
	}
	id := arts[0].ID
	run.Set("id", id)
	for _, tc := range []struct {
		check Check
		want  string // "" passes
	}{
		{ValueEquals("same", StepArtifactID(1, arts[0].BuilderID), RunValue("id")), ""},
		{ValueEquals("this step", StepArtifactID(0, arts[0].BuilderID), Literal(id)), ""},
		{ValueEquals("other", RunValue("id"), Literal("nope")), `other: expected "nope" = "nope", found RunValue("id")`},
		{ValueEquals("missing", RunValue("nope"), Literal("x")), `no run value "nope"`},
		{ValueMatches("shape", StepArtifactID(1, ""), regexp.MustCompile(`.`)), ""},
		{ValueEquals("later step", StepArtifactID(2, ""), Literal("x")), "no result of step 2 yet"},
		{ArtifactIDIs(arts[0].BuilderID, RunValue("id")), ""},
		{ArtifactIDIs(arts[0].BuilderID, Literal("other")), `to match "^other$"`},
		{CheckWith(func(r *Result) Check { return ArtifactsFrom(arts[0].BuilderID, 99) }), "ArtifactsFrom"},
		{CheckWith(func(r *Result) Check { return nil }), "returned no check"},
	} {
		err := tc.check.Check(first)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: expected %q, found %v", checkName(tc.check), tc.want, err)
		}
	}
}
