package standin

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/example/packer-plugin-scaffolding/internal/atomicfile"
)

// The layout of a store directory:
//
//	<store>/index.json                      the list of images (storeIndex)
//	<store>/images/<region>/<hex>.tar.zst   archives, named by their digest
//	                                        (.tar.gz for images made before
//	                                        zstd)
//	<store>/.lock                           held while the index is rewritten
//
// Archives are content-addressed, so entries with the same id in one region
// share one file; the file goes away with the last entry that names it.
const (
	indexFileName = "index.json"
	lockFileName  = ".lock"
	imagesDirName = "images"
	// archiveSuffix names the archives of new images (FormatZstd);
	// gzipSuffix the archives of images made before (FormatGzip).
	archiveSuffix = ".tar.zst"
	gzipSuffix    = ".tar.gz"
	// indexVersion is bumped when the index format changes incompatibly, so
	// an old plugin refuses a newer index instead of dropping what it does
	// not understand when it rewrites the file. It is the version written;
	// see readIndex for what is read.
	//
	// Version 2 holds the same entries as version 1 (one indented JSON
	// document) in a layout a lookup can skim: one entry per line, sorted by
	// name, region and id, each line starting with the name. A lookup
	// matches the name glob on the line's first field and decodes only the
	// lines that match, so a store of 100k images answers in milliseconds
	// and in memory proportional to the matches. The file is still one JSON
	// document, so a version 1 plugin reads it and reports the version
	// rather than a syntax error. Version 1 stores are read as they are and
	// written as version 2 by the next change.
	indexVersion = 2
	// indexHeader is the first line of a version 2 index.
	indexHeader = `{"version":2,"images":[`
)

// storeIndex is the content of index.json.
type storeIndex struct {
	Version int          `json:"version"`
	Images  []indexEntry `json:"images"`
}

// indexEntry is one image in one region. (Region, Name, ID) is its key.
// Name comes first: a version 2 index line starts with it (see
// indexVersion).
type indexEntry struct {
	Name          string            `json:"name"`
	Region        string            `json:"region"`
	ID            string            `json:"id"`
	Labels        map[string]string `json:"labels,omitempty"`
	SourceImageID string            `json:"source_image_id,omitempty"`
	Created       time.Time         `json:"created"`
	Size          int64             `json:"size"`
	// File is the archive's path relative to the store, with '/' separators
	// so the same index serves a directory and a URL.
	File string `json:"file"`
}

func (e indexEntry) sameKey(o indexEntry) bool {
	return e.Region == o.Region && e.Name == o.Name && e.ID == o.ID
}

// image converts the entry, with location telling where its archive is.
func (e indexEntry) image(location string) Image {
	img := e.imageSharingLabels(location)
	img.Labels = cloneLabels(e.Labels)
	return img
}

// imageSharingLabels is image for an entry the caller drops: the image
// gets the entry's labels map itself.
func (e indexEntry) imageSharingLabels(location string) Image {
	return Image{
		ID:            e.ID,
		Name:          e.Name,
		Region:        e.Region,
		Labels:        e.Labels,
		SourceImageID: e.SourceImageID,
		Created:       e.Created,
		Size:          e.Size,
		Location:      location,
		Format:        archiveFormat(e.File),
	}
}

// archiveFile is the store-relative path of a new archive for id in region.
func archiveFile(region, id string) string {
	return path.Join(imagesDirName, region, strings.TrimPrefix(id, "sha256:")+archiveSuffix)
}

// archiveFileLike is archiveFile for a copy of the archive at like, whose
// format (and so file name suffix) the copy keeps.
func archiveFileLike(region, id, like string) string {
	if strings.HasSuffix(like, gzipSuffix) {
		return path.Join(imagesDirName, region, strings.TrimPrefix(id, "sha256:")+gzipSuffix)
	}
	return archiveFile(region, id)
}

// archiveFormat names the format of the archive at file, as its suffix
// tells it ("" when it does not; restoring reads the format from the
// content in any case).
func archiveFormat(file string) string {
	switch {
	case strings.HasSuffix(file, archiveSuffix):
		return FormatZstd
	case strings.HasSuffix(file, gzipSuffix), strings.HasSuffix(file, ".tgz"):
		return FormatGzip
	}
	return ""
}

func cloneLabels(in map[string]string) map[string]string {
	if in == nil {
		return nil
	}
	out := make(map[string]string, len(in))
	for k, v := range in {
		out[k] = v
	}
	return out
}

// parseIndex decodes and checks a whole index held in memory. name is how
// errors refer to the file (a path or a redacted URL).
func parseIndex(data []byte, name string) (*storeIndex, error) {
	idx := &storeIndex{Version: indexVersion}
	reopen := func() (io.Reader, error) { return bytes.NewReader(data), nil }
	err := scanIndex(bytes.NewReader(data), reopen, name, nil, func(e indexEntry) {
		idx.Images = append(idx.Images, e)
	})
	if err != nil {
		return nil, err
	}
	return idx, nil
}

// indexFilter tells scanIndex which entries the caller wants, so that it
// decodes and checks no more than those. A nil filter, or a nil field,
// wants every entry.
type indexFilter struct {
	// line sees what is known before a version 2 line is decoded: the
	// entry's name and the raw line (nil when the index is read as plain
	// JSON). Both may alias the reader's buffer: line must not keep them.
	// It may answer true for entries the caller drops later; false must
	// mean the entry cannot be wanted.
	line func(name, line []byte) bool
	// entry sees the decoded entry, before it is checked.
	entry func(e indexEntry) bool
}

func (f *indexFilter) wantsLine(name, line []byte) bool {
	return f == nil || f.line == nil || f.line(name, line)
}

func (f *indexFilter) wantsEntry(e indexEntry) bool {
	return f == nil || f.entry == nil || f.entry(e)
}

// scanIndex reads an index from r and calls keep with every checked entry
// that want lets through, in file order. It reads version 2 line by line
// (see indexVersion) and anything else as a stream of JSON tokens, so
// memory never grows with the size of the index, only with what keep
// keeps. reopen gives the index again from its start: for the line and
// column of an error, and to read a version 2 index as plain JSON when its
// lines are not laid out as the store writes them (an edit by hand).
//
// Every entry the caller gets is checked (checkEntry, and no other entry
// with the same key). In a version 2 index the lines want skips are not
// decoded: a lookup costs what its matches cost. The next write reads,
// checks and rewrites every entry.
func scanIndex(r io.Reader, reopen func() (io.Reader, error), name string, want *indexFilter, keep func(indexEntry)) error {
	br := bufio.NewReaderSize(r, 64<<10)
	first, err := br.ReadSlice('\n')
	if err == nil && string(bytes.TrimRight(first, "\r\n")) == indexHeader {
		var kept []indexEntry
		err := scanLines(br, name, want, func(e indexEntry) { kept = append(kept, e) })
		if err == nil {
			for _, e := range kept {
				keep(e)
			}
			return nil
		}
		if !errors.Is(err, errNotLaidOut) {
			return err
		}
		// Hand-edited: read it as the JSON document it still is.
		if r, err = reopen(); err != nil {
			return err
		}
		return scanJSON(r, reopen, name, want, keep)
	}
	if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
		return fmt.Errorf("reading image store index %s: %w", name, err)
	}
	return scanJSON(io.MultiReader(bytes.NewReader(first), br), reopen, name, want, keep)
}

// trimEOL is bytes.TrimRight(line, "\r\n") without building the cutset
// on every call (6% of a lookup's CPU profile at 10k images).
func trimEOL(line []byte) []byte {
	for len(line) > 0 && (line[len(line)-1] == '\n' || line[len(line)-1] == '\r') {
		line = line[:len(line)-1]
	}
	return line
}

// errNotLaidOut says a version 2 index is not in the store's own layout.
var errNotLaidOut = errors.New("not in the store's line layout")

// scanLines reads the entry lines of a version 2 index after its header.
// Lines are sorted by name, region and id, so entries with one key are
// neighbours: a repeated key shows up as a line that does not sort after
// the one before, with no table of every key seen.
func scanLines(br *bufio.Reader, name string, want *indexFilter, keep func(indexEntry)) error {
	// The previous line's name, in a buffer reused line after line: a
	// lookup allocates for the lines it wants, not for every line.
	var prevName []byte
	var prev indexEntry
	havePrev := false
	for n := 0; ; n++ {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A line longer than the buffer: rare, so copy it whole.
			long := append([]byte(nil), line...)
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = br.ReadSlice('\n')
				long = append(long, line...)
			}
			line = long
		}
		if err != nil && err != io.EOF {
			return fmt.Errorf("reading image store index %s: %w", name, err)
		}
		text := trimEOL(line)
		if string(text) == "]}" {
			if rest, _ := io.ReadAll(br); len(bytes.TrimSpace(rest)) > 0 {
				return errNotLaidOut
			}
			return nil
		}
		if err == io.EOF {
			// The closing line is missing: truncated, or not our layout.
			return errNotLaidOut
		}
		text = bytes.TrimSuffix(text, []byte(","))
		entryName, ok := lineName(text)
		if !ok || bytes.Compare(entryName, prevName) < 0 {
			return errNotLaidOut
		}
		sameName := bytes.Equal(entryName, prevName)
		prevName = append(prevName[:0], entryName...)
		if !want.wantsLine(entryName, text) {
			havePrev = false
			continue
		}
		e, ok := parseLine(text)
		if !ok {
			// Valid JSON in another spelling (escapes, spaces): the slow way.
			dec := json.NewDecoder(bytes.NewReader(text))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&e); err != nil || e.Name != string(entryName) {
				return errNotLaidOut
			}
		}
		if !want.wantsEntry(e) {
			havePrev = false
			continue
		}
		if err := checkEntry(e); err != nil {
			return fmt.Errorf("image store index %s is malformed: images[%d]: %w", name, n, err)
		}
		if havePrev && sameName && !keyLess(prev, e) {
			if prev.sameKey(e) {
				return fmt.Errorf("image store index %s is malformed: images[%d] repeats images[%d] (region %q, name %q, id %s)",
					name, n, n-1, e.Region, e.Name, e.ID)
			}
			return errNotLaidOut
		}
		prev, havePrev = e, true
		keep(e)
	}
}

// parseLine decodes a line spelled exactly as writeIndexFile writes one
// (fields in order, no spaces, strings without escapes), which is five to
// ten times faster than encoding/json. ok is false for any other spelling,
// and the caller decodes the line with encoding/json instead; so both
// give the same entry for the same line.
func parseLine(line []byte) (e indexEntry, ok bool) {
	// One string for the whole line; the entry's strings are slices of it,
	// so a decoded line costs one allocation, not one per field.
	p := lineParser{b: line, s: string(line)}
	var created []byte
	ok = p.lit(`{"name":`) && p.str(&e.Name) &&
		p.lit(`,"region":`) && p.str(&e.Region) &&
		p.lit(`,"id":`) && p.str(&e.ID) &&
		p.labels(&e.Labels) &&
		(!p.lit(`,"source_image_id":`) || p.str(&e.SourceImageID)) &&
		p.lit(`,"created":`) && p.raw(&created) &&
		p.lit(`,"size":`) && p.int(&e.Size) &&
		p.lit(`,"file":`) && p.str(&e.File) &&
		p.lit("}") && len(p.b) == 0
	if !ok || e.Created.UnmarshalText(created) != nil {
		return indexEntry{}, false
	}
	return e, true
}

// lineParser reads the fixed spelling of an index line; each method
// consumes what it recognises and reports whether it did. s is the line
// as a string (the whole of it, b being what is left to read), which the
// strings it reads are cut from.
type lineParser struct {
	b []byte
	s string
}

func (p *lineParser) lit(s string) bool {
	if !bytes.HasPrefix(p.b, []byte(s)) {
		return false
	}
	p.b = p.b[len(s):]
	return true
}

// raw reads a string without escapes or control characters, as the bytes
// between its quotes (aliasing the line).
func (p *lineParser) raw(out *[]byte) bool {
	if len(p.b) == 0 || p.b[0] != '"' {
		return false
	}
	end := bytes.IndexByte(p.b[1:], '"')
	if end < 0 {
		return false
	}
	raw := p.b[1 : 1+end]
	for _, c := range raw {
		if c < 0x20 || c == '\\' {
			return false
		}
	}
	if !utf8.Valid(raw) {
		return false
	}
	*out = raw
	p.b = p.b[2+end:]
	return true
}

// str is raw as a slice of the line's string.
func (p *lineParser) str(out *string) bool {
	start := len(p.s) - len(p.b) + 1
	var raw []byte
	if !p.raw(&raw) {
		return false
	}
	*out = p.s[start : start+len(raw)]
	return true
}

func (p *lineParser) int(out *int64) bool {
	n := 0
	for n < len(p.b) && (p.b[n] == '-' && n == 0 || p.b[n] >= '0' && p.b[n] <= '9') {
		n++
	}
	v, err := strconv.ParseInt(string(p.b[:n]), 10, 64)
	if err != nil {
		return false
	}
	*out = v
	p.b = p.b[n:]
	return true
}

// labels reads the optional labels object, keys in sorted order as the
// encoder writes them.
func (p *lineParser) labels(out *map[string]string) bool {
	if !p.lit(`,"labels":{`) {
		return true
	}
	m := make(map[string]string, 2)
	prev := ""
	for i := 0; !p.lit("}"); i++ {
		if i > 0 && !p.lit(",") {
			return false
		}
		var k, v string
		if !p.str(&k) || !p.lit(":") || !p.str(&v) || (i > 0 && k <= prev) {
			return false
		}
		m[k], prev = v, k
	}
	*out = m
	return true
}

// lineName reads the name that a version 2 line starts with, without
// decoding the rest of the line. The name aliases line unless it holds
// an escape.
func lineName(line []byte) ([]byte, bool) {
	const prefix = `{"name":"`
	if !bytes.HasPrefix(line, []byte(prefix)) {
		return nil, false
	}
	rest := line[len(prefix):]
	end := bytes.IndexByte(rest, '"')
	if end < 0 {
		return nil, false
	}
	if bytes.IndexByte(rest[:end], '\\') < 0 {
		return rest[:end], true
	}
	// An escape: let the JSON decoder find where the string ends.
	dec := json.NewDecoder(bytes.NewReader(line[len(prefix)-1:]))
	var s string
	if err := dec.Decode(&s); err != nil {
		return nil, false
	}
	return []byte(s), true
}

// keyLess is the order of a version 2 index: name, region, id.
func keyLess(a, b indexEntry) bool {
	if a.Name != b.Name {
		return a.Name < b.Name
	}
	if a.Region != b.Region {
		return a.Region < b.Region
	}
	return a.ID < b.ID
}

// scanJSON reads an index of any supported version as a JSON document,
// one token at a time, decoding one entry at a time.
func scanJSON(r io.Reader, reopen func() (io.Reader, error), name string, want *indexFilter, keep func(indexEntry)) error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	fail := func(err error) error {
		return fmt.Errorf("image store index %s is malformed: %s", name, describeStreamError(reopen, dec, err))
	}
	if tok, err := dec.Token(); err != nil {
		return fail(err)
	} else if tok != json.Delim('{') {
		return fail(&json.UnmarshalTypeError{Value: jsonKind(tok), Type: reflect.TypeOf(storeIndex{}), Offset: dec.InputOffset()})
	}
	// From here on, the end of the input is the end of a truncated file.
	failEmpty := fail
	fail = func(err error) error {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return failEmpty(err)
	}
	version := 0
	seen := map[[3]string]int{}
	n := 0
	checkVersion := func() error {
		switch {
		case version == 0:
			return fmt.Errorf("image store index %s is malformed: \"version\" is missing (expected %d)", name, indexVersion)
		case version < 1 || version > indexVersion:
			return fmt.Errorf("image store index %s has version %d; this plugin reads versions 1 to %d", name, version, indexVersion)
		}
		return nil
	}
	var pending []indexEntry // entries read before the version, if it comes last
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fail(err)
		}
		switch key, _ := tok.(string); key {
		case "version":
			if err := decodeAt(dec, "version", &version); err != nil {
				return fail(err)
			}
			if err := checkVersion(); err != nil {
				return err
			}
		case "images":
			if tok, err := dec.Token(); err != nil {
				return fail(err)
			} else if tok == nil {
				continue
			} else if tok != json.Delim('[') {
				return fail(&json.UnmarshalTypeError{Value: jsonKind(tok), Field: "images", Type: reflect.TypeOf([]indexEntry{}), Offset: dec.InputOffset()})
			}
			for dec.More() {
				var e indexEntry
				if err := decodeAt(dec, fmt.Sprintf("images[%d]", n), &e); err != nil {
					return fail(err)
				}
				if err := checkEntry(e); err != nil {
					return fmt.Errorf("image store index %s is malformed: images[%d]: %w", name, n, err)
				}
				k := [3]string{e.Region, e.Name, e.ID}
				if j, dup := seen[k]; dup {
					return fmt.Errorf("image store index %s is malformed: images[%d] repeats images[%d] (region %q, name %q, id %s)",
						name, n, j, e.Region, e.Name, e.ID)
				}
				seen[k] = n
				n++
				if !want.wantsLine([]byte(e.Name), nil) || !want.wantsEntry(e) {
					continue
				}
				if version == 0 {
					pending = append(pending, e)
				} else {
					keep(e)
				}
			}
			if _, err := dec.Token(); err != nil {
				return fail(err)
			}
		default:
			return fail(fmt.Errorf("json: unknown field %q", key))
		}
	}
	if _, err := dec.Token(); err != nil {
		return fail(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("image store index %s is malformed: unexpected data after the JSON object", name)
	}
	if err := checkVersion(); err != nil {
		return err
	}
	for _, e := range pending {
		keep(e)
	}
	return nil
}

// decodeAt decodes the next value, the one at field, and makes a type
// error name the field from the top of the document and count its offset
// from the start of the input, as syntax errors do.
func decodeAt(dec *json.Decoder, field string, v any) error {
	base := dec.InputOffset()
	err := dec.Decode(v)
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		typeErr.Offset += base
		if typeErr.Field == "" {
			typeErr.Field = field
		} else {
			typeErr.Field = field + "." + typeErr.Field
		}
	}
	return err
}

func jsonKind(tok json.Token) string {
	switch tok.(type) {
	case json.Delim:
		if tok == json.Delim('[') {
			return "array"
		}
		return "object"
	case string:
		return "string"
	case float64, json.Number:
		return "number"
	case bool:
		return "bool"
	}
	return "null"
}

// describeStreamError is describeJSONError for a streamed index: it reads
// the index again up to the error for the line and column.
func describeStreamError(reopen func() (io.Reader, error), dec *json.Decoder, err error) string {
	var data []byte
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	offset := int64(-1)
	switch {
	case errors.As(err, &syntaxErr):
		offset = syntaxErr.Offset
	case errors.As(err, &typeErr):
		offset = typeErr.Offset
	}
	if offset >= 0 {
		if r, rerr := reopen(); rerr == nil {
			data, _ = io.ReadAll(io.LimitReader(r, offset))
		}
	}
	return describeJSONError(data, err)
}

func checkEntry(e indexEntry) error {
	if err := validateImageID(e.ID); err != nil {
		return fmt.Errorf("id: %w", err)
	}
	if e.Name == "" {
		return errors.New("name is missing")
	}
	if err := validateRegion(e.Region); err != nil {
		return fmt.Errorf("region: %w", err)
	}
	if e.SourceImageID != "" {
		if err := validateImageID(e.SourceImageID); err != nil {
			return fmt.Errorf("source_image_id: %w", err)
		}
	}
	if e.Created.IsZero() {
		return errors.New("created is missing")
	}
	if e.Size < 0 {
		return fmt.Errorf("size %d is negative", e.Size)
	}
	if !isLocalSlashPath(e.File) {
		return fmt.Errorf("file %q must be a relative path inside the store", e.File)
	}
	return nil
}

// isLocalSlashPath reports whether p is a '/'-separated relative path that
// stays inside the directory it is relative to, on every OS.
func isLocalSlashPath(p string) bool {
	if p == "" || strings.Contains(p, `\`) || path.IsAbs(p) {
		return false
	}
	for rest, more := p, true; more; {
		var elem string
		elem, rest, more = strings.Cut(rest, "/")
		if elem == ".." {
			return false
		}
	}
	return filepath.IsLocal(filepath.FromSlash(p))
}

// describeJSONError turns a decoding error into a message with a line and
// column, which is what a person editing the file needs.
func describeJSONError(data []byte, err error) string {
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntaxErr):
		line, col := lineCol(data, syntaxErr.Offset)
		return fmt.Sprintf("line %d, column %d: %s", line, col, syntaxErr.Error())
	case errors.As(err, &typeErr):
		line, col := lineCol(data, typeErr.Offset)
		field := typeErr.Field
		if field == "" {
			field = "the top level"
		}
		return fmt.Sprintf("line %d, column %d: %s holds a JSON %s, expected %s", line, col, field, typeErr.Value, typeErr.Type)
	case errors.Is(err, io.EOF):
		return "the file is empty"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "the file ends in the middle of the JSON document"
	}
	return err.Error()
}

func lineCol(data []byte, offset int64) (line, col int) {
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	line, col = 1, 1
	for _, b := range data[:offset] {
		if b == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return line, col
}

// readIndexFile reads a store's whole index (see readIndex).
func readIndexFile(dir string) (*storeIndex, error) {
	idx := &storeIndex{Version: indexVersion}
	err := readIndex(dir, nil, func(e indexEntry) { idx.Images = append(idx.Images, e) })
	return idx, err
}

// readIndex reads a store's index with scanIndex. A store without an index
// is empty.
func readIndex(dir string, want *indexFilter, keep func(indexEntry)) error {
	name := filepath.Join(dir, indexFileName)
	// Checked before opening: opening a named pipe blocks until a writer
	// comes, and reading a device may never end.
	if fi, err := os.Stat(name); err == nil && !fi.Mode().IsRegular() {
		return fmt.Errorf("image store index %s is not a regular file (it is a %s)", name, describeMode(fi.Mode()))
	}
	f, err := os.Open(name)
	if errors.Is(err, os.ErrNotExist) {
		if _, statErr := os.Stat(dir); errors.Is(statErr, os.ErrNotExist) {
			return fmt.Errorf("image store %s does not exist: %w", dir, statErr)
		} else if statErr != nil {
			return fmt.Errorf("image store %s: %w", dir, statErr)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading image store index: %w", err)
	}
	defer func() { _ = f.Close() }()
	reopen := func() (io.Reader, error) {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return nil, err
		}
		return f, nil
	}
	return scanIndex(f, reopen, name, want, keep)
}

// writeIndexFile replaces the index atomically: readers see the old file or
// the new one, never a partial write. The caller holds the store lock. It
// always writes the current version (indexVersion): one entry per line,
// sorted by name, region and id.
func writeIndexFile(dir string, idx *storeIndex) error {
	idx.Version = indexVersion
	slices.SortStableFunc(idx.Images, func(a, b indexEntry) int {
		if keyLess(a, b) {
			return -1
		}
		if keyLess(b, a) {
			return 1
		}
		return 0
	})
	var buf bytes.Buffer
	buf.WriteString(indexHeader + "\n")
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for i, e := range idx.Images {
		if err := enc.Encode(e); err != nil {
			return err
		}
		if i < len(idx.Images)-1 {
			// Encode ended the line; the comma goes before the newline.
			buf.Truncate(buf.Len() - 1)
			buf.WriteString(",\n")
		}
	}
	buf.WriteString("]}\n")
	return atomicfile.WriteFile(filepath.Join(dir, indexFileName), buf.Bytes(), 0o644)
}

// indexFilter returns f for scanIndex: the name glob and the id, which
// can be seen in a line before it is decoded, then the whole filter.
func (f ImageFilter) indexFilter() (*indexFilter, error) {
	if f.Name != "" {
		if _, err := path.Match(f.Name, ""); err != nil {
			return nil, fmt.Errorf("image name filter %q is not a valid glob: %w", f.Name, err)
		}
	}
	id := []byte(f.ID)
	// A name the glob matches starts with the glob's literal prefix: most
	// lines are refused on that, without the glob.
	prefix := []byte(f.Name)
	if i := strings.IndexAny(f.Name, `*?[\`); i >= 0 {
		prefix = prefix[:i]
	}
	// Strings that the line of a wanted entry holds verbatim, quotes and
	// all, when it has no escape: the region and each label's key and
	// value. A line without one of them is refused before it is decoded.
	var verbatim [][]byte
	for _, v := range append([]string{f.Region}, labelStrings(f.Labels)...) {
		if v != "" {
			verbatim = append(verbatim, []byte(`"`+v+`"`))
		}
	}
	return &indexFilter{
		line: func(name, line []byte) bool {
			if f.Name != "" {
				if !bytes.HasPrefix(name, prefix) {
					return false
				}
				if ok, _ := path.Match(f.Name, string(name)); !ok {
					return false
				}
			}
			if line == nil {
				return true
			}
			if len(id) > 0 && !bytes.Contains(line, id) {
				return false
			}
			if bytes.IndexByte(line, '\\') < 0 {
				for _, v := range verbatim {
					if !bytes.Contains(line, v) {
						return false
					}
				}
			}
			return true
		},
		entry: f.matches,
	}, nil
}

// labelStrings lists the keys and values of labels.
func labelStrings(labels map[string]string) []string {
	out := make([]string, 0, 2*len(labels))
	for k, v := range labels {
		out = append(out, k, v)
	}
	return out
}

// matches reports whether e passes every field of f (a valid glob assumed).
func (f ImageFilter) matches(e indexEntry) bool {
	if f.ID != "" && e.ID != f.ID {
		return false
	}
	if f.Region != "" && e.Region != f.Region {
		return false
	}
	if f.Name != "" {
		if ok, _ := path.Match(f.Name, e.Name); !ok {
			return false
		}
	}
	return hasLabels(e.Labels, f.Labels)
}

// imageFilter lets through the entries lookup may pick for img: lines
// holding its id, and only its name's when it has one.
func imageFilter(img Image) *indexFilter {
	id := []byte(img.ID)
	return &indexFilter{line: func(name, line []byte) bool {
		return (img.Name == "" || string(name) == img.Name) && (line == nil || bytes.Contains(line, id))
	}}
}

// findInIndex reads the entries that match f with read (readIndex for a
// directory, a scanIndex of the downloaded index for a URL) and returns
// them newest first, converted with location.
func findInIndex(read func(*indexFilter, func(indexEntry)) error, f ImageFilter, location func(indexEntry) string) ([]Image, error) {
	want, err := f.indexFilter()
	if err != nil {
		return nil, err
	}
	var entries []indexEntry
	if err := read(want, func(e indexEntry) { entries = append(entries, e) }); err != nil {
		return nil, err
	}
	return filterImages(entries, f, location)
}

// filterImages returns the entries that match f, newest first, converted
// with location. The images share the entries' labels maps.
func filterImages(entries []indexEntry, f ImageFilter, location func(indexEntry) string) ([]Image, error) {
	if f.Name != "" {
		if _, err := path.Match(f.Name, ""); err != nil {
			return nil, fmt.Errorf("image name filter %q is not a valid glob: %w", f.Name, err)
		}
	}
	out := make([]Image, 0, len(entries))
	for _, e := range entries {
		if f.matches(e) {
			// The entries were read for this call alone.
			out = append(out, e.imageSharingLabels(location(e)))
		}
	}
	sortImages(out)
	return out, nil
}

func hasLabels(have, want map[string]string) bool {
	for k, v := range want {
		got, ok := have[k]
		if !ok || got != v {
			return false
		}
	}
	return true
}

// sortImages orders images newest first; equal times are ordered by region,
// name and id so that "the newest image" is the same on every read.
func sortImages(images []Image) {
	sort.Slice(images, func(i, j int) bool {
		a, b := images[i], images[j]
		if !a.Created.Equal(b.Created) {
			return a.Created.After(b.Created)
		}
		if a.Region != b.Region {
			return a.Region < b.Region
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.ID < b.ID
	})
}
