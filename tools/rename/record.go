package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// recordPath is where a rename to a name the tree already uses as a word
// keeps the places it wrote that name. It is in the tool's own directory,
// which no rename rewrites; each rename replaces or removes it.
const recordPath = selfDir + "record.json"

// record lists where a rename wrote the plugin's bare name and package
// name. A plain-word name such as image is also in image_name, source_image
// and every "image" of the docs, so whole-token matching alone cannot find
// the plugin's name again: the next rename changes only the recorded places
// (and the whole identities, module path, address and project name, which
// stay unambiguous). Places are kept as line numbers with the line's text,
// so a recorded line that moved is found by its text; one that was edited
// is reported and left alone.
type record struct {
	Note    string                `json:"note"`
	Module  string                `json:"module"`
	Package string                `json:"package"`
	Files   map[string]recordFile `json:"files"` // by path, after the rename
}

type recordFile struct {
	Path  spanList     `json:"path,omitempty"` // byte spans in the file's path
	Lines []recordLine `json:"lines,omitempty"`
}

type recordLine struct {
	Line  int      `json:"line"`
	Text  string   `json:"text"`
	Spans spanList `json:"spans"` // byte spans in Text
}

// spanList is a list of byte spans, written as one string ("2-7 30-35")
// so that the record keeps one line per span list.
type spanList [][2]int

func (l spanList) MarshalJSON() ([]byte, error) {
	parts := make([]string, len(l))
	for i, s := range l {
		parts[i] = strconv.Itoa(s[0]) + "-" + strconv.Itoa(s[1])
	}
	return json.Marshal(strings.Join(parts, " "))
}

func (l *spanList) UnmarshalJSON(data []byte) error {
	var text string
	if err := json.Unmarshal(data, &text); err != nil {
		return err
	}
	*l = nil
	for _, part := range strings.Fields(text) {
		from, to, ok := strings.Cut(part, "-")
		a, errA := strconv.Atoi(from)
		b, errB := strconv.Atoi(to)
		if !ok || errA != nil || errB != nil || a < 0 || b < a {
			return fmt.Errorf("span %q is not START-END", part)
		}
		*l = append(*l, [2]int{a, b})
	}
	return nil
}

const recordNote = "Written by tools/rename: where the last rename wrote the plugin's name, which the tree " +
	"also uses as a word. The next rename changes only these places. Do not edit; it is replaced or removed by each rename."

func newRecord(id identity) *record {
	return &record{Note: recordNote, Module: id.Module, Package: id.Pkg, Files: map[string]recordFile{}}
}

// add notes the spans a rename wrote into the file that ends at rel: in
// its path and in its content.
func (rec *record) add(rel string, pathSpans [][2]int, content []byte, spans [][2]int) {
	f := rec.Files[rel]
	f.Path = append(f.Path, pathSpans...)
	lineStart, n := 0, 1
	for _, s := range spans {
		for {
			nl := bytes.IndexByte(content[lineStart:], '\n')
			if nl < 0 || lineStart+nl >= s[0] {
				break
			}
			lineStart += nl + 1
			n++
		}
		lineEnd := len(content)
		if nl := bytes.IndexByte(content[lineStart:], '\n'); nl >= 0 {
			lineEnd = lineStart + nl
		}
		span := [2]int{s[0] - lineStart, s[1] - lineStart}
		if k := len(f.Lines) - 1; k >= 0 && f.Lines[k].Line == n {
			f.Lines[k].Spans = append(f.Lines[k].Spans, span)
		} else {
			f.Lines = append(f.Lines, recordLine{Line: n, Text: string(content[lineStart:lineEnd]), Spans: spanList{span}})
		}
	}
	if len(f.Path) > 0 || len(f.Lines) > 0 {
		rec.Files[rel] = f
	}
}

// loadRecord reads the record if there is one for the current module. A
// record of another module (the tree was renamed by hand since) is not
// used; warn says so.
func loadRecord(root string, current identity) (rec *record, warn string, err error) {
	data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(recordPath)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	rec = &record{}
	if err := json.Unmarshal(data, rec); err != nil {
		return nil, "", fmt.Errorf("%s: %v (it is written by the rename; restore it from git)", recordPath, err)
	}
	if rec.Module != current.Module {
		return nil, fmt.Sprintf("%s is for %s, not for go.mod's %s: not using it, so bare words %q are renamed wherever they stand",
			recordPath, rec.Module, current.Module, current.Name), nil
	}
	return rec, "", nil
}

// pathAllowed returns the recorded offsets of the name in the path rel.
func (rec *record) pathAllowed(rel string) map[int]bool {
	allowed := map[int]bool{}
	for _, s := range rec.Files[rel].Path {
		allowed[s[0]] = true
	}
	return allowed
}

// contentAllowed returns the recorded offsets of the name in the content
// of rel, finding each recorded line at its number or, if it moved, by its
// text (the nearest unused copy). Lines found nowhere are returned as
// lost, "file:line: text".
func (rec *record) contentAllowed(rel string, content []byte) (allowed map[int]bool, lost []string) {
	allowed = map[int]bool{}
	lines := bytes.SplitAfter(content, []byte("\n"))
	starts := make([]int, len(lines))
	off := 0
	for i, l := range lines {
		starts[i] = off
		off += len(l)
	}
	text := func(i int) string { return string(bytes.TrimSuffix(lines[i], []byte("\n"))) }
	used := map[int]bool{}
	for _, rl := range rec.Files[rel].Lines {
		at := -1
		if i := rl.Line - 1; i >= 0 && i < len(lines) && !used[i] && text(i) == rl.Text {
			at = i
		} else {
			var candidates []int
			for i := range lines {
				if !used[i] && text(i) == rl.Text {
					candidates = append(candidates, i)
				}
			}
			sort.Slice(candidates, func(a, b int) bool {
				return abs(candidates[a]-(rl.Line-1)) < abs(candidates[b]-(rl.Line-1))
			})
			if len(candidates) > 0 {
				at = candidates[0]
			}
		}
		if at < 0 {
			lost = append(lost, fmt.Sprintf("%s:%d: %s", rel, rl.Line, rl.Text))
			continue
		}
		used[at] = true
		for _, s := range rl.Spans {
			allowed[starts[at]+s[0]] = true
		}
	}
	return allowed, lost
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// save writes the record (through a temporary file).
func (rec *record) save(root string) error {
	data, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	full := filepath.Join(root, filepath.FromSlash(recordPath))
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		return err
	}
	return writeFile(full, append(data, '\n'), 0o644)
}

// removeRecord removes a record left by an earlier rename, if any.
func removeRecord(root string) error {
	err := os.Remove(filepath.Join(root, filepath.FromSlash(recordPath)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}
