package acctest_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/example/packer-plugin-scaffolding/acctest"
)

// output is what `packer build -machine-readable` printed for a build whose
// post-processor wrote out/disk.raw (content "disk") and kept the builder's
// own artifact.
const output = `1795289984,,ui,say,==> null.a: Provisioning with the fixture
1795289984,,ui,say,Build 'null.a' finished after 4 milliseconds.
1795289984,null.a,artifact-count,2
1795289984,null.a,artifact,0,builder-id,fnoeding.null
1795289984,null.a,artifact,0,id,Null
1795289984,null.a,artifact,0,string,Did not export anything. This is the null builder
1795289984,null.a,artifact,0,files-count,0
1795289984,null.a,artifact,0,end
1795289984,null.a,artifact,1,builder-id,acctest.fixture-digest
1795289984,null.a,artifact,1,id,sha256:1044dec7206e8d7c9fbb4ae8f766668406d2567fc7fc1a160a9d4700fcf8f8e9
1795289984,null.a,artifact,1,string,out/disk.raw
1795289984,null.a,artifact,1,files-count,1
1795289984,null.a,artifact,1,file,0,out/disk.raw
1795289984,null.a,artifact,1,end
`

// exampleResult parses output and lays out its work directory.
func exampleResult() (*acctest.Result, func()) {
	dir, err := os.MkdirTemp("", "acctest-example-")
	if err != nil {
		panic(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "out"), 0o755); err != nil {
		panic(err)
	}
	writeFile(filepath.Join(dir, "out", "disk.raw"), "disk")
	r := acctest.ParseMachineReadable(output)
	r.Dir = dir
	return r, func() { _ = os.RemoveAll(dir) }
}

func writeFile(path, content string) {
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		panic(err)
	}
}

// A case lays out files, then runs its steps in one work directory, each
// a packer build checked afterwards; Test runs it under both wire modes.
func ExampleTest() {
	TestAccBuilder_basic := func(t *testing.T) {
		t.Parallel()
		acctest.Test(t, acctest.Case{
			Files: map[string]string{"scripts/hello.sh": "echo hello\n"},
			Steps: []acctest.Step{{
				TemplateFile: "testdata/basic.pkr.hcl",
				Vars:         map[string]string{"store": "images"},
				Checks: []acctest.Check{
					acctest.ArtifactCount(1),
					acctest.ArtifactIDIsFileDigest("example.scaffolding"),
				},
			}, {
				Template:    `source "scaffolding" "x" { bogus = 1 }`,
				ExpectError: regexp.MustCompile(`An argument named "bogus" is not expected`),
			}},
		})
	}
	_ = TestAccBuilder_basic
}

func ExampleComposeChecks() {
	r, done := exampleResult()
	defer done()
	digest := acctest.ComposeChecks(
		acctest.ArtifactFilesExist("acctest.fixture-digest"),
		acctest.FileContains("out/disk.raw", "disk"),
	)
	fmt.Println(digest.Check(r))
	fmt.Println(acctest.ComposeChecks(digest, acctest.ArtifactCount(3)).Check(r))
	// Output:
	// <nil>
	// ArtifactCount(3): expected 3 artifact(s), found 2:
	//     artifact 0 of null.a: builder "fnoeding.null", id "Null"
	//     artifact 1 of null.a: builder "acctest.fixture-digest", id "sha256:1044dec7206e8d7c9fbb4ae8f766668406d2567fc7fc1a160a9d4700fcf8f8e9"
}

func ExampleArtifactCount() {
	r, done := exampleResult()
	defer done()
	fmt.Println(acctest.ArtifactCount(2).Check(r))
	fmt.Println(acctest.ArtifactCount(1).Check(r))
	// Output:
	// <nil>
	// expected 1 artifact(s), found 2:
	//     artifact 0 of null.a: builder "fnoeding.null", id "Null"
	//     artifact 1 of null.a: builder "acctest.fixture-digest", id "sha256:1044dec7206e8d7c9fbb4ae8f766668406d2567fc7fc1a160a9d4700fcf8f8e9"
}

func ExampleArtifactsFrom() {
	r, done := exampleResult()
	defer done()
	fmt.Println(acctest.ArtifactsFrom("acctest.fixture-digest", 1).Check(r))
	fmt.Println(acctest.ArtifactsFrom("example.scaffolding", 1).Check(r))
	// Output:
	// <nil>
	// expected 1 artifact(s) from "example.scaffolding", found 0:
	//     artifact 0 of null.a: builder "fnoeding.null", id "Null"
	//     artifact 1 of null.a: builder "acctest.fixture-digest", id "sha256:1044dec7206e8d7c9fbb4ae8f766668406d2567fc7fc1a160a9d4700fcf8f8e9"
}

func ExampleArtifactID() {
	r, done := exampleResult()
	defer done()
	fmt.Println(acctest.ArtifactID("acctest.fixture-digest", regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)).Check(r))
	fmt.Println(acctest.ArtifactID("fnoeding.null", regexp.MustCompile(`^sha256:`)).Check(r))
	// Output:
	// <nil>
	// expected the id of artifact 0 of null.a to match "^sha256:", found "Null"
}

func ExampleArtifactFilesExist() {
	r, done := exampleResult()
	defer done()
	fmt.Println(acctest.ArtifactFilesExist("acctest.fixture-digest").Check(r))
	if err := os.Remove(filepath.Join(r.Dir, "out", "disk.raw")); err != nil {
		panic(err)
	}
	fmt.Println(acctest.ArtifactFilesExist("acctest.fixture-digest").Check(r) != nil)
	fmt.Println(acctest.ArtifactFilesExist("fnoeding.null").Check(r))
	// Output:
	// <nil>
	// true
	// expected artifacts from "fnoeding.null" to list files, found none:
	//     artifact 0 of null.a: builder "fnoeding.null", id "Null"
}

func ExampleArtifactIDIsFileDigest() {
	r, done := exampleResult()
	defer done()
	fmt.Println(acctest.ArtifactIDIsFileDigest("acctest.fixture-digest").Check(r))
	// The file changes after the id was computed: the check notices.
	writeFile(filepath.Join(r.Dir, "out", "disk.raw"), "tampered")
	fmt.Println(acctest.ArtifactIDIsFileDigest("acctest.fixture-digest").Check(r))
	// Output:
	// <nil>
	// expected the id of artifact 1 of null.a to be the digest of out/disk.raw, sha256:d121be3103007b41edf96f8262925f8c7d61894afe9a041843b631f69445bc57, found sha256:1044dec7206e8d7c9fbb4ae8f766668406d2567fc7fc1a160a9d4700fcf8f8e9
}

func ExampleFileExists() {
	r, done := exampleResult()
	defer done()
	fmt.Println(acctest.FileExists("out/disk.raw").Check(r))
	fmt.Println(acctest.FileExists("out/missing.raw").Check(r) != nil)
	// Output:
	// <nil>
	// true
}

func ExampleFileAbsent() {
	r, done := exampleResult()
	defer done()
	fmt.Println(acctest.FileAbsent("out/instance").Check(r))
	fmt.Println(acctest.FileAbsent("out").Check(r))
	// Output:
	// <nil>
	// expected out to be absent, found a directory
}

func ExampleFileContains() {
	r, done := exampleResult()
	defer done()
	fmt.Println(acctest.FileContains("out/disk.raw", "disk").Check(r))
	fmt.Println(acctest.FileContains("out/disk.raw", "boot sector").Check(r))
	// Output:
	// <nil>
	// expected file out/disk.raw to contain "boot sector", found:
	//     disk
}

func ExampleUIContains() {
	r, done := exampleResult()
	defer done()
	fmt.Println(acctest.UIContains("Provisioning with").Check(r))
	fmt.Println(acctest.UIContains("Uploading").Check(r))
	// Output:
	// <nil>
	// expected a UI line containing "Uploading", found 2 line(s):
	//     ==> null.a: Provisioning with the fixture
	//     Build 'null.a' finished after 4 milliseconds.
}

func ExampleCheckFunc() {
	r, done := exampleResult()
	defer done()
	oneBuild := acctest.CheckFunc(func(r *acctest.Result) error {
		if len(r.Builds) != 1 {
			return fmt.Errorf("expected 1 build, found %v", r.Builds)
		}
		return nil
	})
	fmt.Println(oneBuild.Check(r))
	// Output:
	// <nil>
}

func ExampleParseMachineReadable() {
	r := acctest.ParseMachineReadable("1795289984,,ui,error,Build 'null.a' errored: disk full%!(PACKER_COMMA) retry\n" +
		"1795289984,null.a,error,disk full%!(PACKER_COMMA) retry\n")
	fmt.Println(r.Builds)
	for _, e := range r.Errors {
		fmt.Printf("%q: %s\n", e.Build, e.Message)
	}
	// Output:
	// [null.a]
	// "": Build 'null.a' errored: disk full, retry
	// "null.a": disk full, retry
}
