package acctest

import (
	"errors"
	"regexp"
	"strings"
	"testing"
)

// Logs as Packer writes them, trimmed to the lines the wire-mode proof reads.
const (
	protobufLog = "[INFO] Starting external plugin /p/packer-plugin-x start builder --protobuf x\nStarting plugin: /p/packer-plugin-x []string{...}\n[TRACE] Using protobuf for communication with plugins\n"
	gobLog      = "[INFO] Starting external plugin /p/packer-plugin-x start builder x\nStarting plugin: /p/packer-plugin-x []string{...}\n"
	noPluginLog = "[INFO] Packer version: 1.16.0\n"
)

func failedResult(t *testing.T) *Result {
	r := ParseMachineReadable(readCaptured(t, "one-build-failed.stdout"))
	r.ExitCode = 1
	return r
}

func succeededResult(t *testing.T) *Result {
	return ParseMachineReadable(readCaptured(t, "two-builds.stdout"))
}

// registryRefusedResult is what Packer 1.16 prints, exiting 0, when the
// registry fails the build's BUILD_RUNNING update: one error, no build.
func registryRefusedResult(t *testing.T) *Result {
	return ParseMachineReadable("1795289338,,ui,error,Error: hcp: failed to start build \"null.a\"\\n\\nsome detail\n" +
		"1795289338,,ui,say,\\n==> Wait completed after 5 milliseconds\n" +
		"1795289338,,ui,say,\\n==> Builds finished but no artifacts were created.\n")
}

func nothingBuiltResult(t *testing.T) *Result {
	return ParseMachineReadable("1795289338,,ui,say,\\n==> Wait completed after 5 milliseconds\n" +
		"1795289338,,ui,say,\\n==> Builds finished but no artifacts were created.\n")
}

func failing(msg string) Check { return CheckFunc(func(*Result) error { return errors.New(msg) }) }

func TestJudgeStep(t *testing.T) {
	var ran []string
	record := func(name string) Check {
		return CheckFunc(func(*Result) error { ran = append(ran, name); return nil })
	}
	for _, tc := range []struct {
		name        string
		step        Step
		res         func(t *testing.T) *Result
		log         string
		interrupted error
		want        []string // substrings of the error; none means it passes
	}{
		{name: "success", step: Step{}, res: succeededResult, log: protobufLog},
		{name: "failing build without checks fails", step: Step{}, res: failedResult, log: protobufLog,
			want: []string{"expected the build to succeed, found exit code 1", "null.a: Script exited with non-zero exit status: 3"}},
		{name: "expected error missing", step: Step{ExpectError: regexp.MustCompile(`exit status`)}, res: succeededResult, log: protobufLog,
			want: []string{`expected an error matching "exit status", found a successful build`}},
		{name: "expected error matches", step: Step{ExpectError: regexp.MustCompile(`non-zero exit status: 3`)}, res: failedResult, log: protobufLog},
		{name: "expected error does not match", step: Step{ExpectError: regexp.MustCompile(`disk full`)}, res: failedResult, log: protobufLog,
			want: []string{`expected an error matching "disk full", found exit code 1 with errors:`, "Script exited"}},
		// Packer 1.16 exits 0 when the registry refuses to start a build.
		{name: "exit 0 with an error line and nothing built fails", step: Step{}, res: registryRefusedResult, log: protobufLog,
			want: []string{"expected the build to succeed, found exit code 0 but 1 error(s) reported by Packer", `hcp: failed to start build "null.a"`}},
		{name: "exit 0 with an error line matches ExpectError", step: Step{ExpectError: regexp.MustCompile(`failed to start build`)}, res: registryRefusedResult, log: protobufLog},
		{name: "exit 0 with nothing built fails", step: Step{}, res: nothingBuiltResult, log: protobufLog,
			want: []string{"exit code 0 but no build finished (Packer built nothing", "(no error output)"}},
		{name: "nothing built passes with AllowNoBuilds", step: Step{AllowNoBuilds: true}, res: nothingBuiltResult, log: protobufLog},
		{name: "a started build that never finished fails", step: Step{}, res: func(t *testing.T) *Result {
			r := succeededResult(t)
			r.Started = []string{"null.a", "null.b", "null.c"}
			return r
		}, log: protobufLog, want: []string{"build(s) null.c started and never finished"}},
		{name: "a build's own error lines do not fail it", step: Step{}, res: func(t *testing.T) *Result {
			r := ParseMachineReadable(readCaptured(t, "two-builds.stdout") + "1795289338,,ui,error,==> null.a: warning: something on stderr\n")
			return r
		}, log: protobufLog},
		{name: "validate needs no build", step: Step{Command: CommandValidate}, res: func(t *testing.T) *Result {
			return ParseMachineReadable("1795289338,,ui,say,The configuration is valid.\n")
		}, log: noPluginLog},
		{name: "validate failing", step: Step{Command: CommandValidate}, res: func(t *testing.T) *Result {
			r := ParseMachineReadable(readCaptured(t, "config-error.stdout"))
			r.ExitCode = 1
			return r
		}, log: noPluginLog, want: []string{"expected the validate to succeed, found exit code 1"}},
		{name: "checks run on expected errors", step: Step{ExpectError: regexp.MustCompile(`exit status`), Checks: []Check{failing("wrong artifact")}}, res: failedResult, log: protobufLog,
			want: []string{"check 1 (acctest.CheckFunc): wrong artifact"}},
		{name: "every check runs", step: Step{Checks: []Check{failing("first"), ArtifactCount(2), failing("third")}}, res: succeededResult, log: protobufLog,
			want: []string{"check 1 (acctest.CheckFunc): first", "check 3 (acctest.CheckFunc): third"}},
		{name: "packer crash fails even when an error is expected", step: Step{ExpectError: regexp.MustCompile(`.`)},
			res: func(t *testing.T) *Result {
				r := failedResult(t)
				r.Stderr = "!!!!!!!!!!!!!!!!!!!!!!!!!!! PACKER CRASH !!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
				return r
			}, log: protobufLog, want: []string{"packer crashed"}},
		{name: "plugin panic", step: Step{ExpectError: regexp.MustCompile(`.`)}, res: failedResult,
			log:  protobufLog + "2026/11/21 19:00:00 packer-plugin-x_v0.1.0-dev_x5.0_linux_amd64 plugin: panic: runtime error: invalid memory address\n",
			want: []string{"a plugin crashed: ", "packer-plugin-x_v0.1.0-dev_x5.0_linux_amd64 plugin: panic: runtime error"}},
		{name: "interrupted", step: Step{}, res: succeededResult, log: protobufLog, interrupted: errors.New("deadline"),
			want: []string{"packer was interrupted: deadline"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := tc.res(t)
			res.Mode = Protobuf
			err := judgeStep(&tc.step, res, tc.log, tc.interrupted)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("expected the step to pass, found %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("expected the step to fail with %q, found it passed", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("expected the failure to contain %q, found:\n%v", w, err)
				}
			}
		})
	}

	ran = nil
	step := Step{ExpectError: regexp.MustCompile(`exit`), Checks: []Check{record("a"), failing("b"), record("c")}}
	if err := judgeStep(&step, failedResult(t), protobufLog, nil); err == nil {
		t.Error("expected the failing check b to fail the step")
	}
	if strings.Join(ran, ",") != "a,c" {
		t.Errorf("expected checks a and c to run around the failing one, found %v", ran)
	}
}

func TestCheckWireMode(t *testing.T) {
	for _, tc := range []struct {
		mode WireMode
		log  string
		want string
	}{
		{Protobuf, protobufLog, ""},
		{Protobuf, noPluginLog, ""},
		{Protobuf, gobLog, "Packer fell back to gob"},
		{Gob, gobLog, ""},
		{Gob, noPluginLog, ""},
		{Gob, protobufLog, "expected gob (PACKER_FORCE_GOB=1), found \"Using protobuf for communication with plugins\""},
	} {
		err := checkWireMode(tc.mode, tc.log)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s with log %q: expected %q, found %v", tc.mode, tc.log, tc.want, err)
		}
	}
}

func TestTail(t *testing.T) {
	if got := tail("", 3); got != "(empty)\n" {
		t.Errorf("expected (empty), found %q", got)
	}
	if got, want := tail("1\n2\n3\n4\n5\n", 2), "... (3 lines before)\n4\n5\n"; got != want {
		t.Errorf("expected %q, found %q", want, got)
	}
}
