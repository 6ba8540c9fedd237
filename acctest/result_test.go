package acctest

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// readCaptured reads stdout captured from a real `packer build
// -machine-readable` (Packer 1.16.0) in testdata/machine-readable.
func readCaptured(t testing.TB, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "machine-readable", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestParseMachineReadable_twoBuilds(t *testing.T) {
	r := ParseMachineReadable(readCaptured(t, "two-builds.stdout"))
	if want := []string{"null.a", "null.b"}; !reflect.DeepEqual(r.Builds, want) {
		t.Errorf("expected builds %v, found %v", want, r.Builds)
	}
	want := []Artifact{
		{Build: "null.a", Index: 0, BuilderID: "fnoeding.null", ID: "Null", String: "Did not export anything. This is the null builder"},
		{Build: "null.b", Index: 0, BuilderID: "fnoeding.null", ID: "Null", String: "Did not export anything. This is the null builder"},
	}
	if !reflect.DeepEqual(r.Artifacts, want) {
		t.Errorf("expected artifacts %+v, found %+v", want, r.Artifacts)
	}
	if len(r.Errors) != 0 {
		t.Errorf("expected no errors, found %+v", r.Errors)
	}
	if len(r.Unparsed) != 0 {
		t.Errorf("expected every line parsed, found %q", r.Unparsed)
	}
	// "%!(PACKER_COMMA)" is a comma again, and "\n" a newline.
	if !strings.Contains(r.UIText(), "==> null.a: hello, with comma\n") {
		t.Errorf("expected the unescaped UI line, found:\n%s", r.UIText())
	}
	if r.UI[8] != (UILine{Kind: "say", Text: "\n==> Wait completed after 5 milliseconds 496 microseconds"}) {
		t.Errorf("expected the escaped newline restored, found %+v", r.UI[8])
	}
	if got := len(r.Lines); got != 24 {
		t.Errorf("expected 24 lines, found %d", got)
	}
	if r.Lines[0].Time.Unix() != 1795289338 || r.Lines[10].Target != "null.a" || r.Lines[10].Type != "artifact-count" {
		t.Errorf("expected timestamp, target and type parsed, found %+v and %+v", r.Lines[0], r.Lines[10])
	}
}

func TestParseMachineReadable_oneBuildFailed(t *testing.T) {
	r := ParseMachineReadable(readCaptured(t, "one-build-failed.stdout"))
	if want := []string{"null.a", "null.b"}; !reflect.DeepEqual(r.Builds, want) {
		t.Errorf("expected builds %v (null.a named only in its error), found %v", want, r.Builds)
	}
	const msg = "Script exited with non-zero exit status: 3. Allowed exit codes are: [0]"
	want := []BuildError{
		{Message: "Build 'null.a' errored after 3 milliseconds 482 microseconds: " + msg},
		{Message: "\n==> Some builds didn't complete successfully and had errors:"},
		{Build: "null.a", Message: msg},
		{Message: "--> null.a: " + msg},
	}
	if !reflect.DeepEqual(r.Errors, want) {
		t.Errorf("expected errors %+v, found %+v", want, r.Errors)
	}
	if len(r.ArtifactsFrom("")) != 1 || r.Artifacts[0].Build != "null.b" {
		t.Errorf("expected the one artifact of null.b, found %+v", r.Artifacts)
	}
	if !strings.Contains(r.ErrorText(), msg) {
		t.Errorf("expected ErrorText to hold the error, found %q", r.ErrorText())
	}
}

func TestParseMachineReadable_configError(t *testing.T) {
	r := ParseMachineReadable(readCaptured(t, "config-error.stdout"))
	if len(r.Builds) != 0 || len(r.Artifacts) != 0 {
		t.Errorf("expected no builds or artifacts, found %v, %v", r.Builds, r.Artifacts)
	}
	if len(r.Errors) != 1 || !strings.Contains(r.Errors[0].Message, "on bad.pkr.hcl line 3:\n") ||
		!strings.Contains(r.Errors[0].Message, `An argument named "nosuch" is not expected here.`) {
		t.Errorf("expected the HCL diagnostic with real newlines, found %+v", r.Errors)
	}
}

func TestParseMachineReadable_artifactFiles(t *testing.T) {
	r := ParseMachineReadable(readCaptured(t, "digest-artifacts.stdout"))
	got := r.ArtifactsFrom("acctest.fixture-digest")
	want := []Artifact{
		{Build: "null.b", Index: 1, BuilderID: "acctest.fixture-digest",
			ID:     "sha256:e3396e1f22544f36cce560840bbd4c401cd01c2e7c65123f3c7a123ca61b8a84",
			String: "out/b.raw (sha256:e3396e1f22544f36cce560840bbd4c401cd01c2e7c65123f3c7a123ca61b8a84)",
			Files:  []string{"out/b.raw"}},
		{Build: "null.a", Index: 1, BuilderID: "acctest.fixture-digest",
			ID:     "sha256:b8f67de3104e392c4b9a0d1ad644c4d4a114cebee9ed0a2845f8f7eb4879b13b",
			String: "out/a.raw (sha256:b8f67de3104e392c4b9a0d1ad644c4d4a114cebee9ed0a2845f8f7eb4879b13b)",
			Files:  []string{"out/a.raw"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("expected %+v, found %+v", want, got)
	}
	if n := len(r.ArtifactsFrom("")); n != 4 {
		t.Errorf("expected 4 artifacts in all, found %d", n)
	}
	if !strings.Contains(r.UIText(), "==> null.a: line one\n==> null.a: line two, with comma") {
		t.Errorf("expected a multi-line UI message, found:\n%s", r.UIText())
	}
}

func TestParseMachineReadable_edges(t *testing.T) {
	out := strings.Join([]string{
		`1700000000,,ui,error,a\nb%!(PACKER_COMMA)c\rd`,
		"not machine readable",
		"",
		"x,,ui,say,bad timestamp",
		"1700000000,only-two",
		"1700000000,null.a,artifact,0,nil\r",
		"1700000000,null.a,artifact,0,end",
		"1700000000,null.a,artifact,zero,id,x",
		"1700000000,,ui",
		"1700000000,,error-count,1",
	}, "\n")
	r := ParseMachineReadable(out)
	if want := []BuildError{{Message: "a\nb,c\rd"}}; !reflect.DeepEqual(r.Errors, want) {
		t.Errorf("expected %+v, found %+v", want, r.Errors)
	}
	if want := []string{"not machine readable", "x,,ui,say,bad timestamp", "1700000000,only-two"}; !reflect.DeepEqual(r.Unparsed, want) {
		t.Errorf("expected unparsed %q, found %q", want, r.Unparsed)
	}
	if len(r.Artifacts) != 1 || !r.Artifacts[0].Nil || len(r.ArtifactsFrom("")) != 0 {
		t.Errorf("expected one nil artifact, not counted, found %+v", r.Artifacts)
	}
	if want := []string{"null.a"}; !reflect.DeepEqual(r.Builds, want) {
		t.Errorf("expected builds %v, found %v", want, r.Builds)
	}
}

func TestParseVersionOutput(t *testing.T) {
	for _, tc := range []struct{ out, want, err string }{
		{out: "1,,version,1.16.0\n1,,version-prelease,\n1,,ui,say,Packer v1.16.0\n", want: "1.16.0"},
		{out: "1,,version,1.16.1\n1,,version-prelease,dev\n", want: "1.16.1-dev"},
		{out: "Packer v1.16.0\n", err: "no version"},
		{out: "1,,version,not-a-version\n", err: "malformed version"},
	} {
		v, err := parseVersionOutput([]byte(tc.out))
		switch {
		case tc.err != "":
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: expected an error containing %q, found %v, %v", tc.out, tc.err, v, err)
			}
		case err != nil || v.String() != tc.want:
			t.Errorf("%q: expected %s, found %v, %v", tc.out, tc.want, v, err)
		}
	}
}

func TestBuildOutcomes(t *testing.T) {
	r := ParseMachineReadable(readCaptured(t, "one-build-failed.stdout"))
	if strings.Join(r.Finished, ",") != "null.b" || strings.Join(r.Errored, ",") != "null.a" {
		t.Errorf("expected null.b finished and null.a errored, found %v and %v", r.Finished, r.Errored)
	}
	log := "2026/12/02 00:37:17 Starting build run: null.a\n2026/12/02 00:37:17 Starting build run: scaffolding.x\nnot Starting build run: \n"
	if got := startedBuilds(log); strings.Join(got, ",") != "null.a,scaffolding.x" {
		t.Errorf("expected the two started builds, found %v", got)
	}
	for text, want := range map[string]string{
		"==> null.a: some stderr":                        "null.a",
		"==> Some builds didn't complete successfully":   "",
		"Error: hcp: failed to start build \"null.a\"":   "",
		"==> scaffolding.example: Provisioning step had": "scaffolding.example",
	} {
		if got := buildUIPrefix(text); got != want {
			t.Errorf("%q: expected build %q, found %q", text, want, got)
		}
	}
}
