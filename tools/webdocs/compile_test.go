package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

const testIntegration = `# About this file: not copied.
integration {
  name        = "Quokka"
  description = "Images for quokkas."
  identifier  = "packer/acme/quokka"
  # Kept: inside the block.
  flags = ["hcp-ready"]
}
`

// testDocs is a small docs directory: README, integration.hcl, a component
// page per kind, and a plain page that is not a component.
func testDocs() fstest.MapFS {
	return fstest.MapFS{
		"README.md":       {Data: []byte("# Quokka\n\nSee [the builder](builders/quokka.mdx#example) and [the harness](harness.md).\n")},
		"harness.md":      {Data: []byte("# Harness\n")},
		"integration.hcl": {Data: []byte(testIntegration)},
		"builders/quokka.mdx": {Data: []byte("---\npage_title: Quokka builder\nnav_title: Quokka\ndescription: \"Builds: images.\"\n---\n\n# Quokka builder\n\nType: `quokka`\n\n" +
			"Read [the README](../README.md), [the example](../../example/) and [its options](#options).\n\n" +
			"```hcl\n# [not a link](nowhere.md)\n```\n\nCode `[x](nowhere.md)` stays.\n")},
		"provisioners/quokka.mdx":         {Data: []byte("---\nnav_title: Quokka\n---\n# Quokka provisioner\n\nText.\n")},
		"post-processors/quokka-copy.mdx": {Data: []byte("---\nnav_title: Quokka Copy\n---\n\nNo heading here.\n")},
		"datasources/quokka-image.mdx":    {Data: []byte("---\nnav_title: 'Quokka \"Image\"'\n---\n# Quokka Image\n")},
	}
}

// testOptions resolves links against a repository holding the docs and an
// example directory.
func testOptions() options {
	files := map[string]bool{"docs/README.md": false, "docs/harness.md": false, "docs/builders/quokka.mdx": false, "example": true}
	return options{
		DocsDir: "docs",
		RepoURL: "https://github.com/acme/packer-plugin-quokka",
		Ref:     "main",
		Exists: func(rel string) (bool, bool) {
			isDir, ok := files[rel]
			return ok, isDir
		},
	}
}

func TestCompile(t *testing.T) {
	out, err := compile(testDocs(), testOptions())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for name := range out {
		names = append(names, name)
	}
	want := []string{
		"README.md",
		"components/builder/quokka/README.md",
		"components/data-source/quokka-image/README.md",
		"components/post-processor/quokka-copy/README.md",
		"components/provisioner/quokka/README.md",
		"metadata.hcl",
	}
	if strings.Join(sortStrings(names), "\n") != strings.Join(want, "\n") {
		t.Fatalf("expected files %v, found %v", want, sortStrings(names))
	}

	readme := string(out["README.md"])
	for _, s := range []string{
		"# Quokka\n",
		"[the builder](/packer/integrations/acme/quokka/latest/components/builder/quokka#example)",
		"[the harness](https://github.com/acme/packer-plugin-quokka/blob/main/docs/harness.md)",
	} {
		if !strings.Contains(readme, s) {
			t.Errorf("expected README.md to contain %q, found:\n%s", s, readme)
		}
	}

	wantBuilder := "Type: `quokka`\n\n" +
		"Read [the README](/packer/integrations/acme/quokka), [the example](https://github.com/acme/packer-plugin-quokka/tree/main/example) and [its options](#options).\n\n" +
		"```hcl\n# [not a link](nowhere.md)\n```\n\nCode `[x](nowhere.md)` stays.\n"
	if got := string(out["components/builder/quokka/README.md"]); got != wantBuilder {
		t.Errorf("builder page: expected\n%s\nfound\n%s", wantBuilder, got)
	}
	if got := string(out["components/post-processor/quokka-copy/README.md"]); got != "No heading here.\n" {
		t.Errorf("post-processor page: expected only its text, found %q", got)
	}

	meta := string(out["metadata.hcl"])
	if strings.Contains(meta, "About this file") || !strings.Contains(meta, "# Kept: inside the block.") {
		t.Errorf("expected the comment before the block dropped and the one inside kept, found:\n%s", meta)
	}
	wantComponents := `
  component {
    type = "builder"
    name = "Quokka"
    slug = "quokka"
  }

  component {
    type = "provisioner"
    name = "Quokka"
    slug = "quokka"
  }

  component {
    type = "post-processor"
    name = "Quokka Copy"
    slug = "quokka-copy"
  }

  component {
    type = "data-source"
    name = "Quokka \"Image\""
    slug = "quokka-image"
  }
}
`
	if !strings.HasSuffix(meta, wantComponents) {
		t.Errorf("expected metadata.hcl to end with the components in order, found:\n%s", meta)
	}
	if got := metadataComponents(t, meta); strings.Join(got, " ") != "builder/quokka provisioner/quokka post-processor/quokka-copy data-source/quokka-image" {
		t.Errorf("metadata components: found %v", got)
	}

	again, err := compile(testDocs(), testOptions())
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range out {
		if !bytes.Equal(again[name], data) {
			t.Errorf("%s differs between two runs", name)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(fstest.MapFS)
		want string
	}{
		{"broken link", func(fs fstest.MapFS) {
			fs["README.md"] = &fstest.MapFile{Data: []byte("[x](missing.md)\n")}
		}, "docs/README.md:1: link missing.md: docs/missing.md does not exist"},
		{"link out of the repository", func(fs fstest.MapFS) {
			fs["README.md"] = &fstest.MapFile{Data: []byte("\n[x](../../etc/passwd)\n")}
		}, "docs/README.md:2: link ../../etc/passwd points outside the repository"},
		{"no front matter", func(fs fstest.MapFS) {
			fs["builders/quokka.mdx"] = &fstest.MapFile{Data: []byte("# Quokka\n")}
		}, "docs/builders/quokka.mdx: no front matter"},
		{"front matter not closed", func(fs fstest.MapFS) {
			fs["builders/quokka.mdx"] = &fstest.MapFile{Data: []byte("---\nnav_title: Quokka\n# Quokka\n")}
		}, "docs/builders/quokka.mdx: front matter opened on line 1 is not closed by a --- line"},
		{"front matter line that is not key: value", func(fs fstest.MapFS) {
			fs["builders/quokka.mdx"] = &fstest.MapFile{Data: []byte("---\nnav_title: Quokka\nQuokka builder\n---\n")}
		}, "docs/builders/quokka.mdx: front matter line 3: \"Quokka builder\" is not a `key: value` line"},
		{"multi-line value", func(fs fstest.MapFS) {
			fs["builders/quokka.mdx"] = &fstest.MapFile{Data: []byte("---\nnav_title: Quokka\ndescription: >\n  long\n---\n")}
		}, "front matter line 3: description: multi-line values are not supported"},
		{"no nav_title", func(fs fstest.MapFS) {
			fs["builders/quokka.mdx"] = &fstest.MapFile{Data: []byte("---\npage_title: Quokka\n---\n")}
		}, "docs/builders/quokka.mdx: front matter sets no nav_title"},
		{"page in an unknown folder", func(fs fstest.MapFS) {
			fs["datasource/quokka.mdx"] = &fstest.MapFile{Data: []byte("---\nnav_title: Q\n---\n")}
		}, "docs/datasource/quokka.mdx: component pages go in docs/<kind>/<slug>.mdx"},
		{"bad slug", func(fs fstest.MapFS) {
			fs["builders/Quokka_EBS.mdx"] = &fstest.MapFile{Data: []byte("---\nnav_title: Q\n---\n")}
		}, `"Quokka_EBS" is not a valid slug`},
		{"component block in integration.hcl", func(fs fstest.MapFS) {
			fs["integration.hcl"] = &fstest.MapFile{Data: []byte(strings.Replace(testIntegration, "flags", "component {\n}\n  flags", 1))}
		}, "docs/integration.hcl:7: component blocks are generated from the component pages"},
		{"no description", func(fs fstest.MapFS) {
			fs["integration.hcl"] = &fstest.MapFile{Data: []byte("integration {\n  name = \"Q\"\n}\n")}
		}, "docs/integration.hcl: the integration block must set description"},
		{"bad identifier", func(fs fstest.MapFS) {
			fs["integration.hcl"] = &fstest.MapFile{Data: []byte(strings.Replace(testIntegration, "packer/acme/quokka", "acme/quokka", 1))}
		}, `docs/integration.hcl: identifier "acme/quokka" is not of the form "packer/<org>/<name>"`},
		{"no README", func(fs fstest.MapFS) { delete(fs, "README.md") }, "docs/README.md:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := testDocs()
			tc.edit(fs)
			_, err := compile(fs, testOptions())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("expected an error containing %q, found: %v", tc.want, err)
			}
		})
	}
}

// TestCompileDerivedIdentifier: without an identifier in integration.hcl,
// metadata.hcl and the portal links use the one derived from the module.
func TestCompileDerivedIdentifier(t *testing.T) {
	fs := testDocs()
	fs["integration.hcl"] = &fstest.MapFile{Data: []byte(strings.Replace(testIntegration, "  identifier  = \"packer/acme/quokka\"\n", "", 1))}
	opt := testOptions()
	opt.Identifier = identifierFor("github.com/zoo/packer-plugin-owl")
	out, err := compile(fs, opt)
	if err != nil {
		t.Fatal(err)
	}
	if meta := string(out["metadata.hcl"]); !strings.Contains(meta, "integration {\n  identifier  = \"packer/zoo/owl\"\n  name        = \"Quokka\"\n") {
		t.Errorf("expected the derived identifier first in the block, found:\n%s", meta)
	}
	if readme := string(out["README.md"]); !strings.Contains(readme, "(/packer/integrations/zoo/owl/latest/components/builder/quokka#example)") {
		t.Errorf("expected portal links under the derived identifier, found:\n%s", readme)
	}
}

func TestSplitFrontMatter(t *testing.T) {
	fm, body, err := splitFrontMatter([]byte("---\r\n# comment\r\na: 1\r\nb: \"two: 2\"\r\n\r\n---\r\nbody\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(fm) != 2 || fm["a"] != "1" || fm["b"] != "two: 2" || string(body) != "body\n" {
		t.Errorf("found front matter %v and body %q", fm, body)
	}
	fm, body, err = splitFrontMatter([]byte("# Title\n---\n"))
	if err != nil || fm != nil || string(body) != "# Title\n---\n" {
		t.Errorf("expected no front matter, found %v, %q, %v", fm, body, err)
	}
	if _, _, err := splitFrontMatter([]byte("---\na: 1\na: 2\n---\n")); err == nil || !strings.Contains(err.Error(), "a is set twice") {
		t.Errorf("expected a duplicate-key error, found %v", err)
	}
}

func TestRewriteInline(t *testing.T) {
	fix := func(s string) (string, error) { return "<" + s + ">", nil }
	for in, want := range map[string]string{
		"[a](b.md) and ![c](d.png)":         "[a](<b.md>) and ![c](<d.png>)",
		"[a](b.md \"title\")":               "[a](<b.md> \"title\")",
		"`[a](b.md)` and ``x ` [c](d.md)``": "`[a](b.md)` and ``x ` [c](d.md)``",
		"unclosed `[a](b.md)":               "unclosed `[a](<b.md>)",
		"no link (here) [x] (y)":            "no link (here) [x] (y)",
	} {
		got, err := rewriteInline(in, fix)
		if err != nil || got != want {
			t.Errorf("rewriteInline(%q): expected %q, found %q (%v)", in, want, got, err)
		}
	}
}

func TestRewriteLinksFences(t *testing.T) {
	opt := testOptions()
	in := "````md\n```\n[x](missing.md)\n```\n````\n~~~\n[y](missing.md)\n~~~\n[r]: harness.md\n"
	out, err := rewriteLinks([]byte(in), "README.md", opt)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Replace(in, "[r]: harness.md", "[r]: https://github.com/acme/packer-plugin-quokka/blob/main/docs/harness.md", 1)
	if string(out) != want {
		t.Errorf("expected\n%s\nfound\n%s", want, out)
	}
}

func TestSync(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, data string) {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("README.md", "same\n")
	write("metadata.hcl", "old\n")
	write("components/builder/gone/README.md", "stale\n")
	unchanged, err := os.Stat(filepath.Join(dir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"README.md":                           []byte("same\n"),
		"metadata.hcl":                        []byte("new\n"),
		"components/builder/quokka/README.md": []byte("page\n"),
	}

	changed, err := sync(dir, files)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(changed, " "); got != "components/builder/gone/README.md components/builder/quokka/README.md metadata.hcl" {
		t.Errorf("expected the stale, new and changed files reported, found %q", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "components", "builder", "gone")); !os.IsNotExist(err) {
		t.Errorf("expected the stale page's directory removed, found %v", err)
	}
	after, err := os.Stat(filepath.Join(dir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(unchanged, after) || !after.ModTime().Equal(unchanged.ModTime()) {
		t.Error("expected the unchanged README.md not to be rewritten")
	}
	if stale, err := diff(dir, files); err != nil || len(stale) > 0 {
		t.Errorf("expected no difference after sync, found %v, %v", stale, err)
	}
	if changed, err := sync(dir, files); err != nil || len(changed) > 0 {
		t.Errorf("expected a second sync to change nothing, found %v, %v", changed, err)
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, "*tmp*"))
	if len(leftovers) > 0 {
		t.Errorf("temporary files left behind: %v", leftovers)
	}
}

func TestRepoURL(t *testing.T) {
	if u, err := repoURL("github.com/acme/packer-plugin-quokka/v2"); err != nil || u != "https://github.com/acme/packer-plugin-quokka" {
		t.Errorf("found %q, %v", u, err)
	}
	if _, err := repoURL("example.com/quokka"); err == nil {
		t.Error("expected an error for a module outside github.com")
	}
}

func sortStrings(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}
