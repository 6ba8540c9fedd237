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
//
// Whole identities (module path, plugin address, project name, builder id
// prefix) are matched exactly; the bare name is matched in its dashed,
// dash-less and underscored spellings, each in lower case, Title case or
// UPPER case. Every match must be a whole token: the name is never found
// inside another word ("aws" is not in "laws", "ver" not in "version"),
// only where a non-alphanumeric character or a camelCase boundary
// (scaffoldingBuilder, NewScaffoldingDriver) surrounds it. Names inside
// another module's path or URL (github.com/aws/aws-sdk-go, k8s.io/api) are
// left alone. Because a rename refuses names that already occur as tokens
// (see existingWords), a second rename finds exactly what the first wrote.
//
// The Go package name of the packages named after the plugin (see
// identity.Pkg) is written where the plain lower-case name stands alone as
// Go code: the package clause, package-qualified names, "Package x" in doc
// comments. A distinct old package name (imageplugin) is matched exactly.
//
// A name the tree already uses as a word (image, http, registry) cannot be
// told from those words later, so a rename to such a name records where it
// wrote it (see record), and a rename from it uses that record: allowed
// then holds the offsets of the recorded occurrences in the text at hand,
// and other bare spellings of the name are left alone.
type replacer struct {
	from, to identity
	re       *regexp.Regexp
	exact    map[string]string
	// own are the path fragments that mark a path or URL as this plugin's.
	own []string
	// allowed, when not nil, limits the bare name to these offsets
	// (counted from base) of the text being rewritten.
	allowed map[int]bool
	base    int
	// exactOnly finds only the whole identities (module path, address,
	// project name, org/name, org.name), never the bare name or the
	// package name (-leftovers -exact).
	exactOnly bool
}

// scoped returns r limited to the bare names at the offsets in allowed
// (nil: everywhere).
func (r *replacer) scoped(allowed map[int]bool) *replacer {
	c := *r
	c.allowed, c.base = allowed, 0
	return &c
}

// at returns r for a part of a text that starts at off.
func (r *replacer) at(off int) *replacer {
	c := *r
	c.base += off
	return &c
}

func newReplacer(from, to identity) *replacer {
	exact := map[string]string{
		from.Module:  to.Module,
		from.Address: to.Address,
		from.Project: to.Project,
	}
	if from.Pkg != "" && from.Pkg != identLower(from.Name) {
		exact[from.Pkg] = to.Pkg
	}
	own := []string{from.Module, from.Address}
	if from.Org != "" && to.Org != "" {
		// BuilderIDs are conventionally "<org>.<name>".
		exact[from.Org+"."+from.Name] = to.Org + "." + to.Name
		// "<org>/<name>" outside the address: the integration identifier
		// (packer/<org>/<name>) and portal links
		// (/packer/integrations/<org>/<name>/...) in the generated docs.
		exact[from.Org+"/"+from.Name] = to.Org + "/" + to.Name
		own = append(own, from.Org+"/"+from.Name)
	}
	literals := make([]string, 0, len(exact))
	for k := range exact {
		literals = append(literals, k)
	}
	variants := spellings(from.Name)
	alts := make([]string, 0, len(literals)+len(variants))
	for _, l := range append(literals, variants...) {
		alts = append(alts, regexp.QuoteMeta(l))
	}
	// Go's regexp prefers the leftmost alternative where several match at
	// the same place, so the longest goes first.
	sort.SliceStable(alts, func(i, j int) bool { return len(alts[i]) > len(alts[j]) })
	return &replacer{
		from:  from,
		to:    to,
		re:    regexp.MustCompile(strings.Join(alts, "|")),
		exact: exact,
		own:   own,
	}
}

// spellings lists every way the bare name is written: my-cloud, mycloud,
// my_cloud, each as my-cloud, My-Cloud and MY-CLOUD.
func spellings(name string) []string {
	var out []string
	for _, sep := range []string{"-", "", "_"} {
		joined := strings.ReplaceAll(name, "-", sep)
		out = append(out, joined, strings.Join(titleParts(name), sep), strings.ToUpper(joined))
	}
	slices.Sort(out)
	return slices.Compact(out)
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
	case match == strings.ToUpper(match) && match != textTitle(r.from.Name) && match != identTitle(r.from.Name):
		return upperSnake(r.to.Name)
	case s == shapeIdent:
		return identTitle(r.to.Name)
	case s == shapeSnake:
		return strings.Join(titleParts(r.to.Name), "_")
	}
	return textTitle(r.to.Name)
}

// match is one occurrence of the old identity in a text.
type match struct{ start, end int }

// find returns every occurrence the rename rewrites, in order.
func (r *replacer) find(src []byte) []match {
	var out []match
	for p := 0; p < len(src); {
		loc := r.re.FindIndex(src[p:])
		if loc == nil {
			break
		}
		start, end := p+loc[0], p+loc[1]
		if r.whole(src, start, end) && !r.foreign(src, start, end) && r.wanted(string(src[start:end]), start) {
			out = append(out, match{start, end})
			p = end
			continue
		}
		p = start + 1
	}
	return out
}

// wanted reports whether the match m at start is one to rewrite: a whole
// identity always; the bare name and the package name unless exactOnly,
// and in a recorded tree only where the record says (the package name,
// imageplugin, is a word of its own too: the template's README names it).
func (r *replacer) wanted(m string, start int) bool {
	if _, ok := r.exact[m]; ok && m != r.from.Pkg {
		return true
	}
	if r.exactOnly {
		return false
	}
	return r.allowed == nil || r.allowed[r.base+start]
}

// whole reports whether src[start:end] is a token of its own: not glued to
// letters or digits, except at a camelCase boundary (a Title-case match
// after a lower-case letter or digit, or any match but an UPPER-case one
// followed by an upper-case letter).
func (r *replacer) whole(src []byte, start, end int) bool {
	m := string(src[start:end])
	upper := m == strings.ToUpper(m) && m != strings.ToLower(m)
	titled := isUpper(m[0]) && !upper
	if start > 0 {
		// A camelCase boundary before: a Title-case match after a lower-case
		// letter or a digit.
		c := src[start-1]
		camel := titled && (isLower(c) || isDigit(c))
		if isAlnum(c) && !camel {
			return false
		}
	}
	if end < len(src) {
		// A camelCase boundary after: an upper-case letter after any match
		// but an UPPER-case one.
		c := src[end]
		camel := isUpper(c) && !upper
		if isAlnum(c) && !camel {
			return false
		}
	}
	return true
}

var (
	// pathChar is what a path or URL token is made of.
	pathChar = func(c byte) bool { return isAlnum(c) || strings.IndexByte("._~/:%+-", c) >= 0 }
	hostLike = regexp.MustCompile(`^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(:[0-9]+)?$`)
)

// foreign reports whether src[start:end] sits in another module's import
// path or a URL elsewhere (a path token whose first element is a host name
// and that holds none of this plugin's own paths), where a rename must not
// touch it.
func (r *replacer) foreign(src []byte, start, end int) bool {
	if _, exact := r.exact[string(src[start:end])]; exact && string(src[start:end]) != r.from.Project {
		return false
	}
	s, e := start, end
	for s > 0 && pathChar(src[s-1]) {
		s--
	}
	for e < len(src) && pathChar(src[e]) {
		e++
	}
	tok := string(src[s:e])
	if i := strings.Index(tok, "://"); i >= 0 {
		tok = tok[i+3:]
	}
	tok = strings.TrimLeft(tok, "/")
	first, _, ok := strings.Cut(tok, "/")
	if !ok || !hostLike.MatchString(first) {
		return false
	}
	for _, own := range r.own {
		if i := strings.Index(tok, own); i >= 0 && (i == 0 || tok[i-1] == '/') &&
			(i+len(own) == len(tok) || strings.IndexByte("/.#?", tok[i+len(own)]) >= 0) {
			return false
		}
	}
	return true
}

// text rewrites a file that is not Go source: every bare name is text.
// Like every rewriting method it also returns where, in its output, it
// wrote the new bare name or package name (see record).
func (r *replacer) text(src []byte) ([]byte, [][2]int) {
	return r.rewrite(src, func(int, int) shape { return shapeText })
}

// goSource rewrites a Go file: names inside identifiers (the package clause,
// import aliases, type and variable names) take the identifier spelling, so
// the code still compiles; names in strings and comments stay text, so
// import paths, HCL type names and messages match the renamed directories
// and docs. In comments, a name that is clearly code (in "Package x", in
// x.Exported, or glued to other letters) takes the identifier spelling too.
func (r *replacer) goSource(src []byte) ([]byte, [][2]int) {
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
	if end+1 < len(src) && src[end] == '.' && isUpper(src[end+1]) {
		return true
	}
	return glued(src, start, end)
}

// glued reports whether src[start:end] touches a letter or digit.
func glued(src []byte, start, end int) bool {
	return (start > 0 && isAlnum(src[start-1])) || (end < len(src) && isAlnum(src[end]))
}

func isLower(b byte) bool { return 'a' <= b && b <= 'z' }
func isUpper(b byte) bool { return 'A' <= b && b <= 'Z' }
func isDigit(b byte) bool { return '0' <= b && b <= '9' }
func isAlnum(b byte) bool { return isLower(b) || isUpper(b) || isDigit(b) }

func (r *replacer) rewrite(src []byte, shapeAt func(start, end int) shape) ([]byte, [][2]int) {
	found := r.find(src)
	if found == nil {
		return src, nil
	}
	var out bytes.Buffer
	out.Grow(len(src))
	var wrote [][2]int
	last := 0
	for _, m := range found {
		out.Write(src[last:m.start])
		word := string(src[m.start:m.end])
		repl, ok := r.exact[word]
		switch {
		case ok:
		case glued(src, m.start, m.end):
			// At a camelCase boundary the name is part of an identifier,
			// whatever the file: newNightOwlDriver, not newNight-OwlDriver.
			repl = r.word(word, shapeIdent)
		default:
			where := shapeAt(m.start, m.end)
			if r.isPackage(word, where) {
				repl = r.to.Pkg
			} else {
				repl = r.word(word, where)
			}
		}
		if !ok || word == r.from.Pkg {
			wrote = append(wrote, [2]int{out.Len(), out.Len() + len(repl)})
		}
		out.WriteString(repl)
		last = m.end
	}
	out.Write(src[last:])
	return out.Bytes(), wrote
}

// isPackage reports whether a bare, unglued match stands for the Go
// package named after the plugin: the lower-case name without dashes,
// where Go code is (an identifier, code in a comment; a dash-less spelling
// of a dashed name is code anywhere).
func (r *replacer) isPackage(match string, where shape) bool {
	return match == identLower(r.from.Name) && (where == shapeIdent || strings.Contains(r.from.Name, "-"))
}

// goModLines reports which lines of go.mod a rename may touch: the module
// directive and comments. Requirement and replace lines name other modules,
// which may well contain the plugin's name.
func goModLines(src []byte) [][2]int {
	var spans [][2]int
	off := 0
	for _, line := range bytes.SplitAfter(src, []byte("\n")) {
		trimmed := bytes.TrimSpace(line)
		if bytes.HasPrefix(trimmed, []byte("module")) || bytes.HasPrefix(trimmed, []byte("//")) {
			spans = append(spans, [2]int{off, off + len(line)})
		}
		off += len(line)
	}
	return spans
}

// goMod rewrites only go.mod's module directive and comments.
func (r *replacer) goMod(src []byte) ([]byte, [][2]int) {
	var out bytes.Buffer
	var wrote [][2]int
	last := 0
	for _, span := range goModLines(src) {
		out.Write(src[last:span[0]])
		text, w := r.at(span[0]).text(src[span[0]:span[1]])
		wrote = append(wrote, shift(w, out.Len())...)
		out.Write(text)
		last = span[1]
	}
	out.Write(src[last:])
	return out.Bytes(), wrote
}

// path rewrites a slash-separated relative path one element at a time.
func (r *replacer) path(rel string) (string, [][2]int) {
	var out strings.Builder
	var wrote [][2]int
	off := 0
	for i, p := range strings.Split(rel, "/") {
		if i > 0 {
			out.WriteByte('/')
		}
		text, w := r.at(off).text([]byte(p))
		wrote = append(wrote, shift(w, out.Len())...)
		out.Write(text)
		off += len(p) + 1
	}
	return out.String(), wrote
}

func shift(spans [][2]int, by int) [][2]int {
	out := make([][2]int, len(spans))
	for i, s := range spans {
		out[i] = [2]int{s[0] + by, s[1] + by}
	}
	return out
}
