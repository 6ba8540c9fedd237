package registry_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/example/packer-plugin-scaffolding/acctest/registry"
)

// These tests prove, through the real Packer, the service rules the
// emulator keeps (docs/registry-emulator.md, "Rules it follows").

const nullTemplate = `
source "null" "example" {
  communicator = "none"
}
hcp_packer_registry {
  bucket_name = "acc-lookup"
}
build {
  sources = ["source.null.example"]
}
`

func TestPackerLooksUpOrganizationAndProject(t *testing.T) {
	for _, tc := range []struct {
		name  string
		unset []string
		// lookups are the resource-manager calls Packer has to make.
		lookups []registry.Op
	}{
		{"only credentials", []string{"HCP_ORGANIZATION_ID", "HCP_PROJECT_ID"}, []registry.Op{registry.OpListOrganizations, registry.OpListProjects}},
		{"no project", []string{"HCP_PROJECT_ID"}, []registry.Op{registry.OpListProjects}},
		{"no organization", []string{"HCP_ORGANIZATION_ID"}, []registry.Op{registry.OpListOrganizations}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := registry.NewServer(t)
			p := newPackerRun(t, s)
			p.unset = tc.unset
			p.write("null.pkr.hcl", nullTemplate)
			out, err := p.build("null.pkr.hcl")
			if err != nil {
				t.Fatalf("packer build without %v: %v\n%s", tc.unset, err, out)
			}
			assertNoUnknownCalls(t, s)
			for _, op := range tc.lookups {
				if !called(s, op) {
					t.Errorf("expected Packer to call %s, found requests %v", op, ops(s))
				}
			}
			if v := s.Versions(); len(v) != 1 || v[0].Name != "v1" || v[0].Status != registry.VersionActive {
				t.Errorf("expected Packer to publish version v1 to the emulator's project, found %+v", v)
			}
		})
	}
}

func called(s *registry.Server, op registry.Op) bool {
	for _, r := range s.Requests() {
		if r.Op == op && r.Status == 200 {
			return true
		}
	}
	return false
}

func ops(s *registry.Server) []string {
	var out []string
	for _, r := range s.Requests() {
		out = append(out, string(r.Op)+" "+r.Method+" "+r.Path)
	}
	return out
}

func TestPackerLeavesAVersionIncomplete(t *testing.T) {
	s := registry.NewServer(t)
	p := newPackerRun(t, s)
	p.write("two.pkr.hcl", `
source "null" "a" {
  communicator = "none"
}
source "null" "b" {
  communicator = "none"
}
hcp_packer_registry {
  bucket_name = "acc-incomplete"
}
build {
  sources = ["source.null.a", "source.null.b"]
}
`)
	// Packer registers every build of the template, then runs only a: b
	// stays BUILD_UNSET, it never ran.
	out, err := p.run("build", "-color=false", "-only=null.a", "two.pkr.hcl")
	if err != nil {
		t.Fatalf("packer build -only: %v\n%s", err, out)
	}
	if b := findBuild(t, s, "acc-incomplete", "null.b"); b.Status != registry.BuildUnset {
		t.Fatalf("expected build null.b never run (BUILD_UNSET), found %s", b.Status)
	}
	v := s.Versions()[0]
	if v.Status != registry.VersionIncomplete || v.Name != registry.IncompleteVersionName {
		t.Errorf("expected version v0 VERSION_INCOMPLETE, found %s %s", v.Name, v.Status)
	}
	if !strings.Contains(flat(out), "null.b") {
		t.Errorf("expected Packer's summary to name the build that did not run, found:\n%s", out)
	}
}

// fileTemplate is a file build whose content is what the data sources of
// decls read; Packer writes it to out.txt.
func readThroughPacker(t *testing.T, p *packerRun, name, decls, content string) (string, error) {
	t.Helper()
	p.write(name, decls+`
source "file" "read" {
  content = "`+content+`"
  target  = "out-`+name+`.txt"
}
build {
  sources = ["source.file.read"]
}
`)
	out, err := p.build(name)
	if err != nil {
		return out, err
	}
	data, rerr := os.ReadFile(filepath.Join(p.dir, "out-"+name+".txt"))
	if rerr != nil {
		t.Fatalf("packer build %s succeeded without writing its file: %v\n%s", name, rerr, out)
	}
	return string(data), nil
}
