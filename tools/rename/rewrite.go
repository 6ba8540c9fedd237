package main

import (
	"bytes"
	"go/scanner"
	"go/token"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// shape is how a name is spelled where it occurs: as plain text (my-cloud),
// inside a Go identifier (mycloud, MyCloud) or joined by underscores
// (my_cloud, MY_CLOUD).
type shape int

const (
	shapeText shape = iota
	shapeIdent
	shapeSnake
)

// replacer rewrites every spelling of one plugin identity into another.
// Whole identifiers (module path, plugin address, project name, builder id
// prefix) are matched exactly; the bare name is matched in any letter case,
// in its dashed, dash-less and underscored spellings, so a second rename
// finds what the first one wrote.
type replacer struct {
	from, to identity
	re       *regexp.Regexp
	exact    map[string]string
}

func newReplacer(from, to identity) *replacer {
	exact := map[string]string{
		from.Module:  to.Module,
		from.Address: to.Address,
		from.Project: to.Project,
	}
	if from.Org != "" && to.Org != "" {
		// BuilderIDs are conventionally "<org>.<name>".
		exact[from.Org+"."+from.Name] = to.Org + "." + to.Name
		// "<org>/<name>" outside the address: the integration identifier
		// (packer/<org>/<name>) and portal links
		// (/packer/integrations/<org>/<name>/...) in the generated docs.
		exact[from.Org+"/"+from.Name] = to.Org + "/" + to.Name
	}
	literals := make([]string, 0, len(exact))
	for k := range exact {
		literals = append(literals, k)
	}
	byLengthDesc(literals)
	alts := make([]string, 0, len(literals)+3)
	for _, l := range literals {
		alts = append(alts, regexp.QuoteMeta(l))
	}
	variants := []string{from.Name, identLower(from.Name), strings.ReplaceAll(from.Name, "-", "_")}
	slices.Sort(variants)
	variants = slices.Compact(variants)
	byLengthDesc(variants)
	for _, v := range variants {
		alts = append(alts, "(?i:"+regexp.QuoteMeta(v)+")")
	}
	return &replacer{
		from:  from,
		to:    to,
		re:    regexp.MustCompile(strings.Join(alts, "|")),
		exact: exact,
	}
}

// byLengthDesc orders alternatives so the longest wins where several match
// at the same place (Go's regexp prefers the leftmost alternative).
func byLengthDesc(s []string) {
	sort.SliceStable(s, func(i, j int) bool { return len(s[i]) > len(s[j]) })
}

// word returns the new spelling for one match of the bare name. where is
// the shape the surrounding text calls for; it decides only when the old
// name has no dash, because then all its spellings look alike.
func (r *replacer) word(match string, where shape) string {
	lower := strings.ToLower(match)
	s := where
	if strings.Contains(r.from.Name, "-") {
		switch lower {
		case identLower(r.from.Name):
			s = shapeIdent
		case strings.ReplaceAll(r.from.Name, "-", "_"):
			s = shapeSnake
		default:
			s = shapeText
		}
	}
	switch {
	case match == lower:
		switch s {
		case shapeIdent:
			return identLower(r.to.Name)
		case shapeSnake:
			return strings.ReplaceAll(r.to.Name, "-", "_")
		}
		return r.to.Name
	case match == strings.ToUpper(match):
		return upperSnake(r.to.Name)
	case s == shapeIdent:
		return identTitle(r.to.Name)
	}
	return textTitle(r.to.Name)
}

// text rewrites a file that is not Go source: every bare name is text.
func (r *replacer) text(src []byte) []byte {
	return r.rewrite(src, func(int, int) shape { return shapeText })
}

// goSource rewrites a Go file: names inside identifiers (the package clause,
// import aliases, type and variable names) take the identifier spelling, so
// the code still compiles; names in strings and comments stay text, so
// import paths, HCL type names and messages match the renamed directories
// and docs. In comments, a name that is clearly code (in "Package x", in
// x.Exported, or glued to other letters) takes the identifier spelling too.
func (r *replacer) goSource(src []byte) []byte {
	type tok struct {
		off  int
		kind token.Token
	}
	var toks []tok
	fset := token.NewFileSet()
	file := fset.AddFile("", fset.Base(), len(src))
	var s scanner.Scanner
	// Scan errors are ignored: a file that does not parse is still rewritten,
	// with the best classification the scanner could make.
	s.Init(file, src, func(token.Position, string) {}, scanner.ScanComments)
	for {
		pos, kind, lit := s.Scan()
		if kind == token.EOF {
			break
		}
		if kind == token.SEMICOLON && lit == "\n" {
			continue // inserted by the scanner; occupies no text
		}
		toks = append(toks, tok{file.Offset(pos), kind})
	}
	return r.rewrite(src, func(start, end int) shape {
		i := sort.Search(len(toks), func(i int) bool { return toks[i].off > start }) - 1
		if i < 0 {
			return shapeText
		}
		switch toks[i].kind {
		case token.IDENT:
			return shapeIdent
		case token.COMMENT:
			if looksLikeCode(src, start, end) {
				return shapeIdent
			}
		}
		return shapeText
	})
}

// looksLikeCode reports whether the name at src[start:end], inside a comment,
// refers to Go code rather than to the plugin in prose.
func looksLikeCode(src []byte, start, end int) bool {
	if bytes.HasSuffix(src[:start], []byte("Package ")) || bytes.HasSuffix(src[:start], []byte("package ")) {
		return true
	}
	if end+1 < len(src) && src[end] == '.' && 'A' <= src[end+1] && src[end+1] <= 'Z' {
		return true
	}
	return (start > 0 && isAlnum(src[start-1])) || (end < len(src) && isAlnum(src[end]))
}

func isAlnum(b byte) bool {
	return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9'
}

func (r *replacer) rewrite(src []byte, shapeAt func(start, end int) shape) []byte {
	locs := r.re.FindAllIndex(src, -1)
	if locs == nil {
		return src
	}
	var out bytes.Buffer
	out.Grow(len(src))
	last := 0
	for _, loc := range locs {
		start, end := loc[0], loc[1]
		out.Write(src[last:start])
		match := string(src[start:end])
		if repl, ok := r.exact[match]; ok {
			out.WriteString(repl)
		} else {
			out.WriteString(r.word(match, shapeAt(start, end)))
		}
		last = end
	}
	out.Write(src[last:])
	return out.Bytes()
}

// goMod rewrites only go.mod's module directive and comments: requirement
// lines name other modules, which may well contain the plugin's name.
func (r *replacer) goMod(src []byte) []byte {
	lines := bytes.SplitAfter(src, []byte("\n"))
	for i, line := range lines {
		trimmed := bytes.TrimSpace(line)
		if bytes.HasPrefix(trimmed, []byte("module")) || bytes.HasPrefix(trimmed, []byte("//")) {
			lines[i] = r.text(line)
		}
	}
	return bytes.Join(lines, nil)
}

// path rewrites a slash-separated relative path one element at a time.
func (r *replacer) path(rel string) string {
	parts := strings.Split(rel, "/")
	for i, p := range parts {
		parts[i] = string(r.text([]byte(p)))
	}
	return strings.Join(parts, "/")
}
