package main

import (
	"bytes"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"
)

// options tell compile where the docs come from.
type options struct {
	// DocsDir is the docs directory relative to the repository root
	// ("docs"), used to resolve relative links and in error messages.
	DocsDir string
	// RepoURL is the repository's web address; relative links are turned
	// into links under it.
	RepoURL string
	// Ref is the branch those links point at.
	Ref string
	// Exists reports whether a slash-separated path relative to the
	// repository root exists, and whether it is a directory.
	Exists func(rel string) (exists, isDir bool)

	// Identifier is the integration's identifier when integration.hcl
	// sets none, derived from the module path.
	Identifier string

	// portal is the site path of the integration in the portal,
	// "/packer/integrations/<org>/<name>"; compile sets it from the
	// identifier in integration.hcl.
	portal string
}

// componentKinds maps the docs folder of each component kind to its type in
// the integrations portal, in the order metadata.hcl lists them.
var componentKinds = []struct{ folder, typ string }{
	{"builders", "builder"},
	{"provisioners", "provisioner"},
	{"post-processors", "post-processor"},
	{"datasources", "data-source"},
}

// component is one component page.
type component struct {
	Type string // portal type: builder, provisioner, post-processor, data-source
	Slug string // the page's file name without .mdx
	Name string // nav_title from the front matter
}

var slugRe = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// compile turns rendered docs (docs/ with every include replaced) into the
// files of .web-docs/, keyed by slash-separated path.
func compile(docs fs.FS, opt options) (map[string][]byte, error) {
	out := map[string][]byte{}

	src, err := fs.ReadFile(docs, integrationFile)
	if err != nil {
		return nil, fmt.Errorf("%s/%s: %w", opt.DocsDir, integrationFile, err)
	}
	in, err := parseIntegration(src, opt.DocsDir+"/"+integrationFile, opt.Identifier)
	if err != nil {
		return nil, err
	}
	opt.portal = "/packer/integrations/" + strings.TrimPrefix(in.Identifier, "packer/")

	readme, err := fs.ReadFile(docs, "README.md")
	if err != nil {
		return nil, fmt.Errorf("%s/README.md: %w", opt.DocsDir, err)
	}
	_, body, err := splitFrontMatter(readme)
	if err != nil {
		return nil, fmt.Errorf("%s/README.md: %w", opt.DocsDir, err)
	}
	if out["README.md"], err = rewriteLinks(body, "README.md", opt); err != nil {
		return nil, err
	}

	folderType := map[string]string{}
	for _, k := range componentKinds {
		folderType[k.folder] = k.typ
	}
	var comps []component
	err = fs.WalkDir(docs, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || path.Ext(p) != ".mdx" {
			return nil
		}
		src := opt.DocsDir + "/" + p
		typ, ok := folderType[path.Dir(p)]
		if !ok {
			return fmt.Errorf("%s: component pages go in %s/<kind>/<slug>.mdx, with kind one of builders, provisioners, post-processors, datasources", src, opt.DocsDir)
		}
		slug := strings.TrimSuffix(path.Base(p), ".mdx")
		if !slugRe.MatchString(slug) {
			return fmt.Errorf("%s: %q is not a valid slug: lower-case letters, digits and single dashes", src, slug)
		}
		data, err := fs.ReadFile(docs, p)
		if err != nil {
			return err
		}
		page, name, err := componentPage(withHCLTypes(data), p, opt)
		if err != nil {
			return err
		}
		out["components/"+typ+"/"+slug+"/README.md"] = page
		comps = append(comps, component{Type: typ, Slug: slug, Name: name})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(comps) == 0 {
		return nil, fmt.Errorf("%s: no component pages (%s/builders/<slug>.mdx and so on)", opt.DocsDir, opt.DocsDir)
	}
	order := map[string]int{}
	for i, k := range componentKinds {
		order[k.typ] = i
	}
	sort.Slice(comps, func(i, j int) bool {
		if comps[i].Type != comps[j].Type {
			return order[comps[i].Type] < order[comps[j].Type]
		}
		return comps[i].Slug < comps[j].Slug
	})

	if out["metadata.hcl"], err = in.metadata(comps); err != nil {
		return nil, err
	}
	return out, nil
}

// componentPage compiles one component page: front matter and top heading
// dropped, links rewritten. It returns the page and the component's name.
func componentPage(data []byte, rel string, opt options) ([]byte, string, error) {
	src := opt.DocsDir + "/" + rel
	fm, body, err := splitFrontMatter(data)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", src, err)
	}
	if fm == nil {
		return nil, "", fmt.Errorf("%s: no front matter: start the page with a --- block that sets nav_title, the component's name in the portal", src)
	}
	name := fm["nav_title"]
	if name == "" {
		return nil, "", fmt.Errorf("%s: front matter sets no nav_title, the component's name in the portal", src)
	}
	body = dropTopHeading(body)
	page, err := rewriteLinks(body, rel, opt)
	if err != nil {
		return nil, "", err
	}
	return page, name, nil
}

// splitFrontMatter separates a leading YAML front matter block ("---" lines
// around "key: value" lines) from the rest. A file that does not start with
// "---" has none: the map is nil and body is the whole file. Only plain
// "key: value" lines (values optionally quoted), blank lines and comments
// are accepted, so nothing is dropped without being understood.
func splitFrontMatter(data []byte) (map[string]string, []byte, error) {
	data = bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
	if !bytes.HasPrefix(data, []byte("---\n")) {
		return nil, data, nil
	}
	rest := data[len("---\n"):]
	fm := map[string]string{}
	for n := 2; ; n++ {
		if len(rest) == 0 {
			return nil, nil, fmt.Errorf("front matter opened on line 1 is not closed by a --- line")
		}
		line, after, _ := bytes.Cut(rest, []byte("\n"))
		rest = after
		text := strings.TrimRight(string(line), " \t")
		switch {
		case text == "---":
			return fm, rest, nil
		case text == "" || strings.HasPrefix(text, "#"):
			continue
		}
		key, value, ok := strings.Cut(text, ":")
		key = strings.TrimSpace(key)
		value = strings.TrimSpace(value)
		if !ok || key == "" || strings.ContainsAny(key, " \t\"'") || strings.HasPrefix(text, " ") {
			return nil, nil, fmt.Errorf("front matter line %d: %q is not a `key: value` line", n, text)
		}
		if value == ">" || value == "|" || value == ">-" || value == "|-" {
			return nil, nil, fmt.Errorf("front matter line %d: %s: multi-line values are not supported; write the value on one line", n, key)
		}
		if len(value) >= 2 && (value[0] == '"' || value[0] == '\'') && value[len(value)-1] == value[0] {
			value = value[1 : len(value)-1]
		}
		if _, dup := fm[key]; dup {
			return nil, nil, fmt.Errorf("front matter line %d: %s is set twice", n, key)
		}
		fm[key] = value
	}
}

// dropTopHeading removes the first line of the body when it is a level-one
// heading (after blank lines), with the blank lines around it.
func dropTopHeading(body []byte) []byte {
	trimmed := bytes.TrimLeft(body, "\n")
	line, rest, _ := bytes.Cut(trimmed, []byte("\n"))
	if !bytes.HasPrefix(line, []byte("# ")) {
		return trimmed
	}
	return bytes.TrimLeft(rest, "\n")
}
