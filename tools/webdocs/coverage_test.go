package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/example/packer-plugin-scaffolding/builder/scaffolding"
	"github.com/example/packer-plugin-scaffolding/datasource/imagedata"
	"github.com/example/packer-plugin-scaffolding/internal/gomod"
	"github.com/example/packer-plugin-scaffolding/post-processor/imagecopy"
	provisioner "github.com/example/packer-plugin-scaffolding/provisioner/setup"
)

// componentDoc ties a generated component page to the component it
// documents.
type componentDoc struct {
	// page is the page's directory under .web-docs/components.
	page string
	// spec is the component's HCL spec: exactly what Packer accepts in its
	// block, generated from the Config struct.
	spec hcldec.ObjectSpec
	// config is the Config struct, read for `undocumented:"true"` tags.
	config reflect.Type
	// blocks maps a struct documented on the page to the nested block it
	// configures ("FileConfig" -> "file").
	blocks map[string]string
	// output is a data source's output spec, documented by the partial of
	// its DatasourceOutput struct.
	output hcldec.ObjectSpec
}

// outputStruct is the struct whose partial documents a data source's
// outputs.
const outputStruct = "DatasourceOutput"

// components lists every component of the plugin. A page under
// .web-docs/components with no entry here, or an entry with no page, fails
// the test.
func components() []componentDoc {
	ds := new(imagedata.Datasource)
	return []componentDoc{
		{
			page:   "builder/scaffolding",
			spec:   new(scaffolding.Builder).ConfigSpec(),
			config: reflect.TypeOf(scaffolding.Config{}),
		},
		{
			page:   "provisioner/scaffolding",
			spec:   new(provisioner.Provisioner).ConfigSpec(),
			config: reflect.TypeOf(provisioner.Config{}),
			blocks: map[string]string{"FileConfig": "file"},
		},
		{
			page:   "post-processor/scaffolding-copy",
			spec:   new(imagecopy.PostProcessor).ConfigSpec(),
			config: reflect.TypeOf(imagecopy.Config{}),
		},
		{
			page:   "data-source/scaffolding-image",
			spec:   ds.ConfigSpec(),
			config: reflect.TypeOf(imagedata.Config{}),
			output: ds.OutputSpec(),
		},
	}
}

// TestEveryOptionDocumented checks each generated component page against
// its component: every option Packer accepts in the block (and in nested
// blocks) is documented, and every documented option exists. Options that
// Packer itself sets (packer_*) and fields tagged `undocumented:"true"`
// need no entry. Data source outputs are checked the same way.
func TestEveryOptionDocumented(t *testing.T) {
	root := repoRoot(t)
	var pages []string
	for _, c := range components() {
		pages = append(pages, c.page)
		t.Run(c.page, func(t *testing.T) {
			p := filepath.Join(root, ".web-docs", "components", filepath.FromSlash(c.page), "README.md")
			doc, err := os.ReadFile(p)
			if err != nil {
				t.Fatalf("%v (run `make generate`)", err)
			}
			if err := checkPage(string(doc), c); err != nil {
				t.Errorf("%s:\n%v\n(document options in the Config structs' comments, then run `make generate`)", p, err)
			}
		})
	}

	// Every page has an entry above, and metadata.hcl lists every page.
	var found []string
	dir := filepath.Join(root, ".web-docs", "components")
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() != "README.md" {
			return err
		}
		rel, err := filepath.Rel(dir, filepath.Dir(p))
		found = append(found, filepath.ToSlash(rel))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(pages)
	sort.Strings(found)
	if !slices.Equal(pages, found) {
		t.Errorf("expected component pages %v, found %v: add new components to components() in this test", pages, found)
	}
	meta, err := os.ReadFile(filepath.Join(root, ".web-docs", "metadata.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	listed := metadataComponents(t, string(meta))
	sort.Strings(listed)
	if !slices.Equal(pages, listed) {
		t.Errorf("expected metadata.hcl to list components %v, found %v", pages, listed)
	}
}

var (
	startRe  = regexp.MustCompile(`^<!-- Code generated from the comments of the (\S+) struct in (\S+); DO NOT EDIT MANUALLY -->$`)
	endRe    = regexp.MustCompile(`^<!-- End of code generated from the comments of the `)
	bulletRe = regexp.MustCompile("^- `([^`]+)` \\(")
)

// documented returns the options a page documents, per object: "" for the
// block itself, a block name for a nested block, outputStruct for outputs.
// An option is a top-level list item in the form packer-sdc writes,
// "- `name` (type) - text", inside or outside generated sections.
func documented(doc string, blocks map[string]string) map[string][]string {
	out := map[string][]string{}
	object := ""
	for _, line := range strings.Split(doc, "\n") {
		if m := startRe.FindStringSubmatch(line); m != nil {
			object = ""
			if b, ok := blocks[m[1]]; ok {
				object = b
			} else if m[1] == outputStruct {
				object = outputStruct
			}
			continue
		}
		if endRe.MatchString(line) {
			object = ""
			continue
		}
		if m := bulletRe.FindStringSubmatch(line); m != nil {
			out[object] = append(out[object], m[1])
		}
	}
	return out
}

// checkPage compares what the page documents with the component.
func checkPage(doc string, c componentDoc) error {
	docs := documented(doc, c.blocks)
	hidden := undocumentedFields(c.config)
	for _, n := range documentedAnyway {
		delete(hidden, n)
	}
	var errs []error
	errs = append(errs, checkTypes(doc)...)
	compare := func(what string, spec hcldec.ObjectSpec, names []string) {
		seen := map[string]bool{}
		for _, n := range names {
			if seen[n] {
				errs = append(errs, fmt.Errorf("%s: %q is documented twice", what, n))
			}
			seen[n] = true
			if _, ok := spec[n]; !ok {
				errs = append(errs, fmt.Errorf("%s: %q is documented, but the component has no such option", what, n))
			}
		}
		for _, n := range sortedSpecKeys(spec) {
			if !seen[n] && !strings.HasPrefix(n, "packer_") && !hidden[n] {
				errs = append(errs, fmt.Errorf("%s: %q is an option of the component, but it is not documented", what, n))
			}
		}
	}

	compare("block", c.spec, docs[""])
	for _, name := range sortedKeys(c.blocks) {
		block := c.blocks[name]
		nested, err := nestedSpec(c.spec, block)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		compare(fmt.Sprintf("%s block (%s)", block, name), nested, docs[block])
	}
	if c.output != nil {
		compare("output", c.output, docs[outputStruct])
	} else if len(docs[outputStruct]) > 0 {
		errs = append(errs, fmt.Errorf("outputs %v are documented, but the component is not a data source", docs[outputStruct]))
	}
	return errors.Join(errs...)
}

// documentedAnyway are options the SDK tags `undocumented:"true"` that a
// user can still set in the block, so our pages list them.
var documentedAnyway = []string{"ssh_keypair_name", "temporary_key_pair_name"}

// checkTypes reports option lines whose type is not an HCL type (a Go type
// that withHCLTypes did not translate).
func checkTypes(doc string) []error {
	known := map[string]bool{"blocks": true}
	for _, t := range hclTypes {
		known[t] = true
	}
	var errs []error
	for _, m := range optionRe.FindAllStringSubmatch(doc, -1) {
		if t := strings.TrimSpace(m[2]); !known[t] {
			errs = append(errs, fmt.Errorf("option line %q shows type %q, which is not an HCL type (add it to hclTypes in hcltypes.go)", strings.TrimSpace(m[0]), t))
		}
	}
	return errs
}

// nestedSpec returns the spec of a nested block.
func nestedSpec(spec hcldec.ObjectSpec, block string) (hcldec.ObjectSpec, error) {
	var nested hcldec.Spec
	switch s := spec[block].(type) {
	case *hcldec.BlockSpec:
		nested = s.Nested
	case *hcldec.BlockListSpec:
		nested = s.Nested
	case *hcldec.BlockSetSpec:
		nested = s.Nested
	case *hcldec.BlockMapSpec:
		nested = s.Nested
	case *hcldec.BlockObjectSpec:
		nested = s.Nested
	case *hcldec.BlockTupleSpec:
		nested = s.Nested
	default:
		return nil, fmt.Errorf("%q is not a nested block of the component (spec %T)", block, spec[block])
	}
	obj, ok := nested.(hcldec.ObjectSpec)
	if !ok {
		return nil, fmt.Errorf("block %q: nested spec is %T, not an object", block, nested)
	}
	return obj, nil
}

// undocumentedFields returns the mapstructure names of the fields tagged
// `undocumented:"true"` in t, its squashed embeddings and its nested
// structs: packer-sdc leaves them out of the partials on purpose.
func undocumentedFields(t reflect.Type) map[string]bool {
	out := map[string]bool{}
	seen := map[reflect.Type]bool{}
	var walk func(reflect.Type)
	walk = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || seen[t] {
			return
		}
		seen[t] = true
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("mapstructure"), ",")
			if name != "" && f.Tag.Get("undocumented") == "true" {
				out[name] = true
			}
			walk(f.Type)
		}
	}
	walk(t)
	return out
}

// metadataComponents lists the components of metadata.hcl as type/slug,
// in file order.
func metadataComponents(t testing.TB, meta string) []string {
	t.Helper()
	f, diags := hclsyntax.ParseConfig([]byte(meta), "metadata.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatalf("metadata.hcl: %v", diags)
	}
	var out []string
	for _, in := range f.Body.(*hclsyntax.Body).Blocks {
		for _, c := range in.Body.Blocks {
			if c.Type != "component" {
				continue
			}
			var parts []string
			for _, attr := range []string{"type", "slug"} {
				a, ok := c.Body.Attributes[attr]
				if !ok {
					t.Fatalf("metadata.hcl:%d: component without %s", c.TypeRange.Start.Line, attr)
				}
				v, diags := a.Expr.Value(nil)
				if diags.HasErrors() || v.Type() != cty.String {
					t.Fatalf("metadata.hcl:%d: %s is not a string", a.SrcRange.Start.Line, attr)
				}
				parts = append(parts, v.AsString())
			}
			out = append(out, strings.Join(parts, "/"))
		}
	}
	return out
}

func sortedSpecKeys(spec hcldec.ObjectSpec) []string {
	keys := make([]string, 0, len(spec))
	for k := range spec {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// repoRoot is the module root, two levels above this package.
func repoRoot(t testing.TB) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root, _, err := gomod.Find(wd)
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// TestCheckPageFails proves checkPage notices a missing option, an option
// that does not exist, one in the wrong block, a missing output, and an
// option documented twice, starting each time from the real page.
func TestCheckPageFails(t *testing.T) {
	root := repoRoot(t)
	byPage := map[string]componentDoc{}
	for _, c := range components() {
		byPage[c.page] = c
	}
	read := func(page string) string {
		b, err := os.ReadFile(filepath.Join(root, ".web-docs", "components", filepath.FromSlash(page), "README.md"))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	// drop removes the list item of option name from doc.
	drop := func(t *testing.T, doc, name string) string {
		re := regexp.MustCompile("(?m)^- `" + regexp.QuoteMeta(name) + "` \\(.*\\n(?:[ \\t]+.*\\n|\\n)*")
		if !re.MatchString(doc) {
			t.Fatalf("the page does not document %q", name)
		}
		return re.ReplaceAllString(doc, "")
	}
	// insertAfter adds text after the first line containing marker.
	insertAfter := func(t *testing.T, doc, marker, text string) string {
		i := strings.Index(doc, marker)
		if i < 0 {
			t.Fatalf("no %q in the page", marker)
		}
		i += strings.IndexByte(doc[i:], '\n') + 1
		return doc[:i] + text + doc[i:]
	}

	prov := byPage["provisioner/scaffolding"]
	ds := byPage["data-source/scaffolding-image"]
	fileStart := "<!-- Code generated from the comments of the FileConfig struct"
	for _, tc := range []struct {
		name string
		c    componentDoc
		doc  func(t *testing.T) string
		want string
	}{
		{"missing option", prov, func(t *testing.T) string { return drop(t, read(prov.page), "retries") },
			`block: "retries" is an option of the component, but it is not documented`},
		{"missing nested option", prov, func(t *testing.T) string { return drop(t, read(prov.page), "destination") },
			`file block (FileConfig): "destination" is an option of the component, but it is not documented`},
		{"option that does not exist", prov, func(t *testing.T) string {
			return read(prov.page) + "\n- `max_tries` (int) - Not an option.\n"
		}, `block: "max_tries" is documented, but the component has no such option`},
		{"option in the wrong block", prov, func(t *testing.T) string {
			return insertAfter(t, read(prov.page), fileStart, "\n- `inline` ([]string) - Not a file option.\n")
		}, `file block (FileConfig): "inline" is documented, but the component has no such option`},
		{"option documented twice", prov, func(t *testing.T) string {
			return read(prov.page) + "\n- `env` (map[string]string) - Again.\n"
		}, `block: "env" is documented twice`},
		{"missing output", ds, func(t *testing.T) string { return drop(t, read(ds.page), "checksum") },
			`output: "checksum" is an option of the component, but it is not documented`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkPage(tc.doc(t), tc.c)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("expected an error containing %q, found: %v", tc.want, err)
			}
		})
	}
}

func TestUndocumentedFields(t *testing.T) {
	hidden := undocumentedFields(reflect.TypeOf(scaffolding.Config{}))
	// Tagged in the SDK's communicator.Config, reached through squashed
	// embedded structs.
	for _, name := range []string{"ssh_private_key", "ssh_public_key", "ssh_wait_timeout"} {
		if !hidden[name] {
			t.Errorf("expected %q among the undocumented fields, found %v", name, hidden)
		}
	}
	if hidden["store"] || hidden["ssh_host"] {
		t.Errorf("documented fields reported as undocumented: %v", hidden)
	}
}
