package main

import (
	"go/parser"
	"go/token"
	"testing"
)

func testReplacer(t *testing.T, from, to string) *replacer {
	t.Helper()
	return newReplacer(mustIdentity(t, from), mustIdentity(t, to))
}

// only drops the spans a rewrite reports.
func only[T any](v T, _ [][2]int) T { return v }

func TestTextRewrite(t *testing.T) {
	r := testReplacer(t, "github.com/zoo/packer-plugin-quokka", "github.com/acme/packer-plugin-night-owl")
	for in, want := range map[string]string{
		`source "quokka" "a" {}`:                     `source "night-owl" "a" {}`,
		`data "quokka-image" "x" {}`:                 `data "night-owl-image" "x" {}`,
		`sources = ["source.quokka.Basic"]`:          `sources = ["source.night-owl.Basic"]`,
		`source = "github.com/zoo/quokka"`:           `source = "github.com/acme/night-owl"`,
		"go get github.com/zoo/packer-plugin-quokka": "go get github.com/acme/packer-plugin-night-owl",
		"./packer-plugin-quokka describe":            "./packer-plugin-night-owl describe",
		`builder_id = "zoo.quokka"`:                  `builder_id = "acme.night-owl"`,
		"# The Quokka builder":                       "# The Night-Owl builder",
		"QUOKKA_STORE=/tmp/x":                        "NIGHT_OWL_STORE=/tmp/x",
		"a QuOkKa":                                   "a QuOkKa", // not a spelling the tool writes
		"quokkas, Quokkas, aquokka, quokka2":         "quokkas, Quokkas, aquokka, quokka2",
		"newQuokkaDriver, quokkaBuilder":             "newNightOwlDriver, nightowlBuilder",
		"github.com/zoo/other stays":                 "github.com/zoo/other stays",
	} {
		if got := string(only(r.text([]byte(in)))); got != want {
			t.Errorf("text(%q)\n got %q\nwant %q", in, got, want)
		}
	}
}

const quokkaGo = `// Package quokka is the quokka builder; see quokka.Builder and quokkaHelper.
package quokka

import (
	quokkaPP "github.com/zoo/packer-plugin-quokka/post-processor/quokka"
)

// QuokkaID names packer-plugin-quokka artifacts in a quokka store.
const QuokkaID = "zoo.quokka"

var QUOKKA_ENV = "QUOKKA_STORE"

func quokkaHelper() quokkaPP.Thing { return quokkaPP.Thing{Type: "quokka-image"} }
`

const nightOwlGo = `// Package nightowl is the night-owl builder; see nightowl.Builder and nightowlHelper.
package nightowl

import (
	nightowlPP "github.com/acme/packer-plugin-night-owl/post-processor/night-owl"
)

// NightOwlID names packer-plugin-night-owl artifacts in a night-owl store.
const NightOwlID = "acme.night-owl"

var NIGHT_OWL_ENV = "NIGHT_OWL_STORE"

func nightowlHelper() nightowlPP.Thing { return nightowlPP.Thing{Type: "night-owl-image"} }
`

func TestGoRewrite(t *testing.T) {
	r := testReplacer(t, "github.com/zoo/packer-plugin-quokka", "github.com/acme/packer-plugin-night-owl")
	got := string(only(r.goSource([]byte(quokkaGo))))
	if got != nightOwlGo {
		t.Errorf("goSource:\n%s\nwant:\n%s", got, nightOwlGo)
	}
	// The point of the identifier spelling: the result is still Go.
	if _, err := parser.ParseFile(token.NewFileSet(), "x.go", got, parser.ParseComments); err != nil {
		t.Errorf("rewritten file does not parse: %v", err)
	}
}

// A second rename starts from a dashed name, whose spellings differ by
// shape; each must map back to the matching spelling of the next name.
func TestRoundTrip(t *testing.T) {
	there := testReplacer(t, "github.com/zoo/packer-plugin-quokka", "github.com/acme/packer-plugin-night-owl")
	back := testReplacer(t, "github.com/acme/packer-plugin-night-owl", "github.com/zoo/packer-plugin-quokka")
	if got := string(only(back.goSource(only(there.goSource([]byte(quokkaGo)))))); got != quokkaGo {
		t.Errorf("Go round trip:\n%s\nwant:\n%s", got, quokkaGo)
	}
	text := "Quokka: source \"quokka\", data.quokka-image, QUOKKA_X, quokka_y, zoo.quokka, github.com/zoo/quokka\n"
	if got := string(only(back.text(only(there.text([]byte(text)))))); got != text {
		t.Errorf("text round trip:\n got %q\nwant %q", got, text)
	}
}

func TestGoModRewrite(t *testing.T) {
	r := testReplacer(t, "github.com/zoo/packer-plugin-quokka", "github.com/acme/packer-plugin-night-owl")
	in := "module github.com/zoo/packer-plugin-quokka\n\n" +
		"// quokka needs the fork below.\n" +
		"require github.com/quokka/quokka-sdk v1.0.0\n" +
		"replace github.com/quokka/x => github.com/quokka/y v1.0.0\n"
	want := "module github.com/acme/packer-plugin-night-owl\n\n" +
		"// night-owl needs the fork below.\n" +
		"require github.com/quokka/quokka-sdk v1.0.0\n" +
		"replace github.com/quokka/x => github.com/quokka/y v1.0.0\n"
	if got := string(only(r.goMod([]byte(in)))); got != want {
		t.Errorf("goMod:\n%s\nwant:\n%s", got, want)
	}
}

func TestPathRewrite(t *testing.T) {
	r := testReplacer(t, "github.com/zoo/packer-plugin-quokka", "github.com/acme/packer-plugin-night-owl")
	for in, want := range map[string]string{
		"builder/quokka/step_run.go":             "builder/night-owl/step_run.go",
		"docs/datasources/quokka-image.md":       "docs/datasources/night-owl-image.md",
		".web-docs/components/builder/quokka/x":  ".web-docs/components/builder/night-owl/x",
		"post-processor/copy/post-processor.go":  "post-processor/copy/post-processor.go",
		"example/quokka.pkr.hcl":                 "example/night-owl.pkr.hcl",
		"packer-plugin-quokka_v1.0.0_x5.0_linux": "packer-plugin-night-owl_v1.0.0_x5.0_linux",
	} {
		if got := only(r.path(in)); got != want {
			t.Errorf("path(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestWholeTokens: a short name is found only as a token of its own, never
// inside another word, and never in other modules' paths or other sites'
// URLs, while this plugin's own paths and links are rewritten.
func TestWholeTokens(t *testing.T) {
	r := testReplacer(t, "github.com/zoo/packer-plugin-aws", "github.com/acme/packer-plugin-k8s")
	for in, want := range map[string]string{
		"laws, Laws, LAWS, flaws, awsome, aws2, xaws":                       "laws, Laws, LAWS, flaws, awsome, aws2, xaws",
		"aws Aws AWS_KEY aws_key aws-image":                                 "k8s K8s K8S_KEY k8s_key k8s-image",
		"NewAwsDriver awsBuilder AWSConfig":                                 "NewK8sDriver k8sBuilder AWSConfig",
		"require github.com/aws/aws-sdk-go v1":                              "require github.com/aws/aws-sdk-go v1",
		"see https://aws.amazon.com/ec2/aws":                                "see https://aws.amazon.com/ec2/aws",
		"source = \"github.com/zoo/aws\"":                                   "source = \"github.com/acme/k8s\"",
		"https://github.com/zoo/packer-plugin-aws/blob/main/docs/aws.md":    "https://github.com/acme/packer-plugin-k8s/blob/main/docs/k8s.md",
		"/packer/integrations/zoo/aws/latest/components/builder/aws":        "/packer/integrations/acme/k8s/latest/components/builder/k8s",
		"https://developer.hashicorp.com/packer/integrations/zoo/aws/x/aws": "https://developer.hashicorp.com/packer/integrations/acme/k8s/x/k8s",
		"other people's github.com/hashicorp/packer-plugin-aws stays":       "other people's github.com/hashicorp/packer-plugin-aws stays",
		"./packer-plugin-aws describe":                                      "./packer-plugin-k8s describe",
	} {
		if got := string(only(r.text([]byte(in)))); got != want {
			t.Errorf("text(%q)\n got %q\nwant %q", in, got, want)
		}
	}
	goIn := "package aws\n\nimport \"io\"\n\n// Laws of aws: io.Copy.\nfunc awsCopy(w io.Writer) { _, _ = io.Copy(w, nil) }\n"
	goWant := "package k8s\n\nimport \"io\"\n\n// Laws of k8s: io.Copy.\nfunc k8sCopy(w io.Writer) { _, _ = io.Copy(w, nil) }\n"
	if got := string(only(r.goSource([]byte(goIn)))); got != goWant {
		t.Errorf("goSource:\n%s\nwant:\n%s", got, goWant)
	}
}
