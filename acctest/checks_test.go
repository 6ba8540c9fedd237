package acctest

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// digestResult is the captured two-build output of the fixture
// post-processor, with the files it wrote laid out in a work dir.
func digestResult(t *testing.T) *Result {
	t.Helper()
	r := ParseMachineReadable(readCaptured(t, "digest-artifacts.stdout"))
	r.Dir = t.TempDir()
	if err := os.MkdirAll(filepath.Join(r.Dir, "out"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a", "b"} {
		if err := os.WriteFile(filepath.Join(r.Dir, "out", name+".raw"), []byte("bytes of "+name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

func TestChecks(t *testing.T) {
	const digest = "acctest.fixture-digest"
	for _, tc := range []struct {
		name  string
		check Check
		setup func(t *testing.T, r *Result)
		want  string // substring of the error; "" means it passes
	}{
		{name: "count", check: ArtifactCount(4)},
		{name: "count wrong", check: ArtifactCount(0), want: "expected 0 artifact(s), found 4:\n    artifact 0 of null.b"},
		{name: "from", check: ArtifactsFrom(digest, 2)},
		{name: "from wrong", check: ArtifactsFrom(digest, 1), want: `expected 1 artifact(s) from "acctest.fixture-digest", found 2`},
		{name: "id", check: ArtifactID(digest, regexp.MustCompile(`^sha256:[0-9a-f]{64}$`))},
		{name: "id none", check: ArtifactID("nobody", regexp.MustCompile(`.`)), want: `expected an artifact from "nobody", found none:`},
		{name: "id mismatch names each", check: ArtifactID(digest, regexp.MustCompile(`^sha256:b`)), want: `expected the id of artifact 1 of null.b to match "^sha256:b", found "sha256:e339`},
		{name: "files", check: ArtifactFilesExist(digest)},
		{name: "files missing", check: ArtifactFilesExist(digest), setup: func(t *testing.T, r *Result) {
			mustDo(t, os.Remove(filepath.Join(r.Dir, "out", "b.raw")))
		}, want: "expected file out/b.raw of artifact 1 of null.b to exist"},
		{name: "files absolute", check: ArtifactFilesExist(digest), setup: func(t *testing.T, r *Result) {
			for i := range r.Artifacts {
				for j, f := range r.Artifacts[i].Files {
					r.Artifacts[i].Files[j] = filepath.Join(r.Dir, f)
				}
			}
		}},
		{name: "digest", check: ArtifactIDIsFileDigest(digest)},
		{name: "digest of changed file", check: ArtifactIDIsFileDigest(digest), setup: func(t *testing.T, r *Result) {
			mustWriteFile(t, filepath.Join(r.Dir, "out", "a.raw"), "changed", 0o644)
		}, want: "expected the id of artifact 1 of null.a to be the digest of out/a.raw"},
		{name: "digest not an id", check: ArtifactIDIsFileDigest("fnoeding.null"), want: `expected the id of artifact 0 of null.b to be sha256:<64 hex digits>, found "Null"`},
		{name: "digest without file", check: ArtifactIDIsFileDigest(digest), setup: func(t *testing.T, r *Result) {
			r.Artifacts[1].Files = nil
		}, want: "expected artifact 1 of null.b to list a file to digest, found none"},
		{name: "digest file gone", check: ArtifactIDIsFileDigest(digest), setup: func(t *testing.T, r *Result) {
			mustDo(t, os.Remove(filepath.Join(r.Dir, "out", "a.raw")))
		}, want: "expected to digest file out/a.raw of artifact 1 of null.a, found open"},
		{name: "file exists", check: FileExists("out/a.raw")},
		{name: "file missing", check: FileExists("out/c.raw"), want: "expected file out/c.raw to exist, found stat"},
		{name: "file absent", check: FileAbsent("out/c.raw")},
		{name: "file present", check: FileAbsent("out/a.raw"), want: "expected out/a.raw to be absent, found a file"},
		{name: "contains", check: FileContains("out/a.raw", "of a")},
		{name: "contains missing file", check: FileContains("out/c.raw", "x"), want: `expected file out/c.raw containing "x", found open`},
		{name: "ui", check: UIContains("line two, with comma")},
		{name: "compose", check: ComposeChecks(ArtifactCount(4), FileExists("out/a.raw"))},
		{name: "compose joins", check: ComposeChecks(ArtifactCount(1), FileExists("out/a.raw"), FileExists("x"), nil),
			want: "ArtifactCount(1): expected 1 artifact(s), found 4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := digestResult(t)
			if tc.setup != nil {
				tc.setup(t, r)
			}
			err := tc.check.Check(r)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("expected %s to pass, found %v", checkName(tc.check), err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("expected %s to fail with %q, found %v", checkName(tc.check), tc.want, err)
			}
		})
	}
}

func TestComposeChecksReportsEach(t *testing.T) {
	err := ComposeChecks(ArtifactCount(1), FileExists("x"), nil).Check(digestResult(t))
	for _, want := range []string{"ArtifactCount(1): ", `FileExists("x"): expected file x to exist`, "nil check in ComposeChecks"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("expected %q in %v", want, err)
		}
	}
}

func TestCheckNames(t *testing.T) {
	for _, tc := range []struct {
		c    Check
		want string
	}{
		{ArtifactCount(2), "ArtifactCount(2)"},
		{ArtifactsFrom("b", 1), `ArtifactsFrom("b", 1)`},
		{ArtifactID("b", regexp.MustCompile(`^x$`)), `ArtifactID("b", "^x$")`},
		{ArtifactFilesExist("b"), `ArtifactFilesExist("b")`},
		{ArtifactIDIsFileDigest("b"), `ArtifactIDIsFileDigest("b")`},
		{FileExists("f"), `FileExists("f")`},
		{FileAbsent("f"), `FileAbsent("f")`},
		{FileContains("f", "s"), `FileContains("f", "s")`},
		{UIContains("s"), `UIContains("s")`},
		{ComposeChecks(ArtifactCount(1), nil), "ComposeChecks(ArtifactCount(1), nil)"},
		{CheckFunc(func(*Result) error { return nil }), "acctest.CheckFunc"},
	} {
		if got := checkName(tc.c); got != tc.want {
			t.Errorf("expected name %s, found %s", tc.want, got)
		}
	}
}
