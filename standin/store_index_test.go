package standin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestReadIndex_malformed(t *testing.T) {
	id := "sha256:" + strings.Repeat("a", 64)
	entry := func(fields string) string {
		return `{"version": 1, "images": [{` + fields + `}]}`
	}
	good := `"id": "` + id + `", "name": "n", "region": "local", "created": "2030-01-01T00:00:00Z", "size": 1, "file": "images/local/x.tar.gz"`
	cases := []struct {
		name    string
		content string
		want    []string
	}{
		{"empty", "", []string{"empty"}},
		{"syntax", "{\n  \"version\": 1,\n  \"images\": [,]\n}", []string{"line 3", "column"}},
		{"truncated", `{"version": 1, "images": [`, []string{"ends in the middle"}},
		{"wrong type", `{"version": "one", "images": []}`, []string{"version", "string"}},
		{"unknown field", `{"version": 1, "imgs": []}`, []string{`"imgs"`}},
		{"missing version", `{"images": []}`, []string{`"version" is missing`}},
		{"newer version", `{"version": 7, "images": []}`, []string{"version 7"}},
		{"trailing data", `{"version": 1, "images": []} {}`, []string{"after the JSON object"}},
		{"bad id", entry(strings.Replace(good, id, "sha256:xyz", 1)), []string{"images[0]", "id", "sha256:xyz"}},
		{"no name", entry(strings.Replace(good, `"name": "n"`, `"name": ""`, 1)), []string{"images[0]", "name is missing"}},
		{"bad region", entry(strings.Replace(good, `"region": "local"`, `"region": "../x"`, 1)), []string{"images[0]", "region"}},
		{"no created", entry(strings.Replace(good, `"created": "2030-01-01T00:00:00Z", `, "", 1)), []string{"images[0]", "created"}},
		{"bad created", entry(strings.Replace(good, `2030-01-01T00:00:00Z`, `yesterday`, 1)), []string{"yesterday"}},
		{"escaping file", entry(strings.Replace(good, `images/local/x.tar.gz`, `../../etc/passwd`, 1)), []string{"images[0]", "file", "../../etc/passwd"}},
		{"absolute file", entry(strings.Replace(good, `images/local/x.tar.gz`, `/etc/passwd`, 1)), []string{"images[0]", "file"}},
		{"negative size", entry(strings.Replace(good, `"size": 1`, `"size": -1`, 1)), []string{"images[0]", "negative"}},
		{"duplicate", `{"version": 1, "images": [{` + good + `}, {` + good + `}]}`, []string{"images[1] repeats images[0]"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			name := filepath.Join(dir, indexFileName)
			if err := os.WriteFile(name, []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := NewLocalDriver(dir).FindImages(context.Background(), ImageFilter{})
			if err == nil {
				t.Fatal("reading a malformed index succeeded")
			}
			for _, want := range append([]string{name}, tc.want...) {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
		})
	}
}

func TestReadIndex_missing(t *testing.T) {
	dir := t.TempDir()
	images, err := NewLocalDriver(dir).FindImages(context.Background(), ImageFilter{})
	if err != nil || len(images) != 0 {
		t.Errorf("store without an index: %v, %v; want no images and no error", images, err)
	}
	missing := filepath.Join(dir, "nope")
	_, err = NewLocalDriver(missing).FindImages(context.Background(), ImageFilter{})
	if err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("store that does not exist: %v, want an error naming it", err)
	}
}

// writeTestIndex writes entries as the store's index, without archives.
func writeTestIndex(t testing.TB, dir string, entries []indexEntry) {
	t.Helper()
	if err := writeIndexFile(dir, &storeIndex{Images: entries}); err != nil {
		t.Fatal(err)
	}
}

// indexLayouts are the index files a store may hold: what this plugin
// writes, what version 1 plugins wrote, and a version 2 index edited by
// hand (re-indented, out of order), which is read as plain JSON.
var indexLayouts = []string{"v2", "v1", "v2-edited"}

// writeIndexLayout writes entries as an index in one of indexLayouts.
func writeIndexLayout(t testing.TB, dir, layout string, entries []indexEntry) {
	t.Helper()
	if layout == "v2" {
		writeTestIndex(t, dir, entries)
		return
	}
	idx := storeIndex{Version: 1, Images: entries}
	if layout == "v2-edited" {
		idx.Version = 2
		idx.Images = slices.Clone(entries)
		slices.Reverse(idx.Images)
	}
	// What version 1 wrote: one indented document.
	data, err := json.MarshalIndent(idx, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, indexFileName), append(data, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestFindImages_filterAndOrder(t *testing.T) {
	for _, layout := range indexLayouts {
		t.Run(layout, func(t *testing.T) { testFindImagesFilterAndOrder(t, layout) })
	}
}

func testFindImagesFilterAndOrder(t *testing.T, layout string) {
	dir := t.TempDir()
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	id := func(c string) string { return "sha256:" + strings.Repeat(c, 64) }
	e := func(c, name, region string, created time.Time, labels map[string]string) indexEntry {
		return indexEntry{ID: id(c), Name: name, Region: region, Created: created, Labels: labels, File: archiveFile(region, id(c))}
	}
	writeIndexLayout(t, dir, layout, []indexEntry{
		e("1", "web-1", "local", t0, map[string]string{"role": "web", "env": "prod"}),
		e("2", "web-2", "local", t0.Add(time.Hour), map[string]string{"role": "web", "env": "dev"}),
		e("3", "db-1", "local", t0.Add(2*time.Hour), map[string]string{"role": "db"}),
		e("2", "web-2", "eu", t0.Add(time.Hour), map[string]string{"role": "web", "env": "dev"}),
		e("4", "web-3", "local", t0.Add(time.Hour), nil),
	})
	d := NewLocalDriver(dir)
	find := func(f ImageFilter) []string {
		t.Helper()
		images, err := d.FindImages(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, img := range images {
			out = append(out, img.Name+"@"+img.Region)
		}
		return out
	}
	cases := []struct {
		filter ImageFilter
		want   string
	}{
		// Newest first; equal times ordered by region, then name.
		{ImageFilter{}, "db-1@local web-2@eu web-2@local web-3@local web-1@local"},
		{ImageFilter{Name: "web-*"}, "web-2@eu web-2@local web-3@local web-1@local"},
		{ImageFilter{Name: "web-?", Region: "local"}, "web-2@local web-3@local web-1@local"},
		{ImageFilter{Labels: map[string]string{"role": "web"}}, "web-2@eu web-2@local web-1@local"},
		{ImageFilter{Labels: map[string]string{"role": "web", "env": "prod"}}, "web-1@local"},
		{ImageFilter{ID: id("2")}, "web-2@eu web-2@local"},
		{ImageFilter{ID: id("2"), Region: "eu"}, "web-2@eu"},
		{ImageFilter{Name: "nothing*"}, ""},
	}
	for _, tc := range cases {
		if got := strings.Join(find(tc.filter), " "); got != tc.want {
			t.Errorf("FindImages(%+v) = %q, want %q", tc.filter, got, tc.want)
		}
	}
	if _, err := d.FindImages(context.Background(), ImageFilter{Name: "[bad"}); err == nil || !strings.Contains(err.Error(), "[bad") {
		t.Errorf("bad glob: %v", err)
	}
}

// TestIndex_upgrade reads a version 1 store, changes it, and checks that
// the new index is version 2, written whole, with every old entry.
func TestIndex_upgrade(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	var entries []indexEntry
	for i := 0; i < 20; i++ {
		id := fmt.Sprintf("sha256:%064x", i)
		entries = append(entries, indexEntry{ID: id, Name: fmt.Sprintf("img-%d", i), Region: "local", Created: t0.Add(time.Duration(i) * time.Minute), Size: 1, File: archiveFile("local", id)})
	}
	writeIndexLayout(t, dir, "v1", entries)
	d := NewLocalDriver(dir)
	if err := d.DeregisterImage(context.Background(), Image{ID: entries[3].ID, Region: "local"}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, indexFileName))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(data), indexHeader+"\n") {
		t.Fatalf("index after a write starts %q, want the version 2 header", data[:min(len(data), 40)])
	}
	var doc storeIndex
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("a version 2 index is not one JSON document: %v", err)
	}
	if doc.Version != 2 || len(doc.Images) != 19 || strings.Count(string(data), "\n") != 19+2 {
		t.Errorf("upgraded index: version %d, %d images, %d lines; want 2, 19, 21", doc.Version, len(doc.Images), strings.Count(string(data), "\n"))
	}
	images, err := d.FindImages(context.Background(), ImageFilter{Name: "img-1*"})
	if err != nil || len(images) != 11 {
		t.Errorf("FindImages(img-1*) after the upgrade = %d images, %v; want 11", len(images), err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*.tmp")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// TestIndex_linesMatchJSON checks the line reader against the plain JSON
// reader on the same entries, names that need escaping included.
func TestIndex_linesMatchJSON(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	names := []string{"a", "b", `q"uote`, "<tag>&", "é-1", "b-2", "a"}
	var entries []indexEntry
	for i, n := range names {
		for _, region := range []string{"local", "eu"} {
			id := fmt.Sprintf("sha256:%064x", i)
			entries = append(entries, indexEntry{ID: id, Name: n, Region: region, Created: t0.Add(time.Duration(i) * time.Hour),
				Labels: map[string]string{"n": strconv.Itoa(i % 2)}, File: archiveFile(region, id)})
		}
	}
	v2, v1 := t.TempDir(), t.TempDir()
	writeIndexLayout(t, v2, "v2", entries)
	writeIndexLayout(t, v1, "v1", entries)
	for _, f := range []ImageFilter{{}, {Name: "a"}, {Name: "b*"}, {Name: `q"*`}, {Name: "<*"}, {Name: "é*"},
		{Labels: map[string]string{"n": "1"}}, {ID: fmt.Sprintf("sha256:%064x", 2)}, {Region: "eu", Name: "?"}} {
		got, err := NewLocalDriver(v2).FindImages(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		want, err := NewLocalDriver(v1).FindImages(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) || len(want) == 0 {
			t.Errorf("FindImages(%+v): %d images from lines, %d from JSON; want the same, and some", f, len(got), len(want))
			continue
		}
		for i := range got {
			got[i].Location, want[i].Location = "", ""
			if !reflect.DeepEqual(got[i], want[i]) {
				t.Errorf("FindImages(%+v)[%d] = %+v from lines, %+v from JSON", f, i, got[i], want[i])
			}
		}
	}
}

// TestParseLine checks the fast line decoder against encoding/json: the
// same entry for every line the store writes, and "not mine" for any other
// spelling, which then goes to encoding/json.
func TestParseLine(t *testing.T) {
	t0 := time.Date(2030, 1, 2, 3, 4, 5, 600, time.UTC)
	id := "sha256:" + strings.Repeat("b", 64)
	for _, e := range []indexEntry{
		{Name: "n", Region: "local", ID: id, Created: t0, Size: 1, File: "images/local/x.tar.gz"},
		{Name: "é<&>", Region: "eu", ID: id, Labels: map[string]string{"b": "2", "a": "1", "": ""}, SourceImageID: id, Created: t0, Size: 1 << 40, File: "f"},
		{Name: "with space", Region: "r", ID: id, Labels: map[string]string{}, Created: t0.In(time.FixedZone("x", 3600)), Size: 0, File: "f"},
	} {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(e); err != nil {
			t.Fatal(err)
		}
		line := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
		got, ok := parseLine(line)
		var want indexEntry
		if err := json.Unmarshal(line, &want); err != nil {
			t.Fatal(err)
		}
		if !ok || !reflect.DeepEqual(got, want) {
			t.Errorf("parseLine(%s) = %+v, %v; want %+v", line, got, ok, want)
		}
	}
	line := `{"name":"n","region":"local","id":"` + id + `","labels":{"a":"1"},"created":"2030-01-01T00:00:00Z","size":1,"file":"f"}`
	if _, ok := parseLine([]byte(line)); !ok {
		t.Fatalf("parseLine(%s) refused the store's own spelling", line)
	}
	for _, other := range []string{
		strings.Replace(line, `"name":"n"`, `"name":"\u006e"`, 1),
		strings.Replace(line, `,"size"`, `, "size"`, 1),
		strings.Replace(line, `{"a":"1"}`, `{"b":"1","a":"2"}`, 1),
		strings.Replace(line, `"size":1`, `"size":1.5`, 1),
		strings.Replace(line, `"size":1`, `"size":"1"`, 1),
		strings.Replace(line, `"created":"2030-01-01T00:00:00Z"`, `"created":"2030-01-01"`, 1),
		strings.Replace(line, `,"file":"f"`, ``, 1),
		strings.Replace(line, `"f"}`, `"f","extra":1}`, 1),
		line + " ",
		"{\"name\":\"n\xff\"" + line[len(`{"name":"n"`):],
	} {
		if e, ok := parseLine([]byte(other)); ok {
			t.Errorf("parseLine(%s) = %+v; want it left to encoding/json", other, e)
		}
	}
}

func TestIndex_linesMalformed(t *testing.T) {
	id := "sha256:" + strings.Repeat("a", 64)
	line := `{"name":"n","region":"local","id":"` + id + `","created":"2030-01-01T00:00:00Z","size":1,"file":"images/local/x.tar.gz"}`
	cases := []struct {
		name    string
		content string
		want    []string
	}{
		{"repeated entry", indexHeader + "\n" + line + ",\n" + line + "\n]}\n", []string{"images[1] repeats images[0]"}},
		{"bad entry", indexHeader + "\n" + strings.Replace(line, `"size":1`, `"size":-1`, 1) + "\n]}\n", []string{"images[0]", "negative"}},
		{"broken line", indexHeader + "\n" + line + ",\n" + line[:40] + "\n]}\n", []string{"line 3", "column"}},
		{"truncated", indexHeader + "\n" + line + ",\n", []string{"ends in the middle"}},
		{"newer version", `{"version":3,"images":[` + "\n]}\n", []string{"version 3", "versions 1 to 2"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			name := filepath.Join(dir, indexFileName)
			if err := os.WriteFile(name, []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			// With a name filter, as the data source looks up: the entry
			// lines are still checked.
			_, err := NewLocalDriver(dir).FindImages(context.Background(), ImageFilter{Name: "n*"})
			if err == nil {
				t.Fatal("reading a malformed index succeeded")
			}
			for _, want := range append([]string{name}, tc.want...) {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
		})
	}
}

// helperEnv switches the test binary into a helper process that adds
// images to a store; see TestLocalDriver_concurrentProcesses.
const helperEnv = "SCAFFOLDING_TEST_STORE_HELPER"

func TestStoreHelperProcess(t *testing.T) {
	spec := os.Getenv(helperEnv)
	if spec == "" {
		t.Skip("only runs as a helper process")
	}
	// spec is "<store>|<instance dir>|<prefix>|<count>"
	parts := strings.Split(spec, "|")
	count, _ := strconv.Atoi(parts[3])
	d := NewLocalDriver(parts[0])
	d.InstanceDir = parts[1]
	for i := 0; i < count; i++ {
		name := fmt.Sprintf("%s-%d", parts[2], i)
		buildImage(t, d, ImageSpec{Name: name, Region: "local"}, map[string]string{"name": name})
	}
}

// TestLocalDriver_concurrentProcesses has several processes and several
// goroutines add images to one store at once: with the index lock working,
// every image is in the index at the end.
func TestLocalDriver_concurrentProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts helper processes")
	}
	store := filepath.Join(t.TempDir(), "store")
	if err := os.MkdirAll(store, 0o755); err != nil {
		t.Fatal(err)
	}
	const procs, perProc, goroutines = 3, 8, 4
	want := map[string]bool{}

	var cmds []*exec.Cmd
	for p := 0; p < procs; p++ {
		prefix := fmt.Sprintf("proc%d", p)
		for i := 0; i < perProc; i++ {
			want[fmt.Sprintf("%s-%d", prefix, i)] = true
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestStoreHelperProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s|%s|%s|%d", helperEnv, store, t.TempDir(), prefix, perProc))
		out := new(strings.Builder)
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("helper %s output:\n%s", prefix, out)
			}
		})
	}

	d := NewLocalDriver(store)
	d.InstanceDir = t.TempDir()
	var wg sync.WaitGroup
	for g := 0; g < goroutines; g++ {
		for i := 0; i < perProc; i++ {
			want[fmt.Sprintf("goroutine%d-%d", g, i)] = true
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perProc; i++ {
				name := fmt.Sprintf("goroutine%d-%d", g, i)
				if _, err := createTestImage(d, ImageSpec{Name: name, Region: "local"}, map[string]string{"name": name}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	for _, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("helper process: %v", err)
		}
	}

	images, err := d.FindImages(context.Background(), ImageFilter{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, img := range images {
		got[img.Name] = true
		if fileDigest(t, img.Location) != img.ID {
			t.Errorf("image %s: archive does not match its id", img.Name)
		}
	}
	for name := range want {
		if !got[name] {
			t.Errorf("image %s was lost", name)
		}
	}
	if len(images) != len(want) {
		t.Errorf("index holds %d images, want %d", len(images), len(want))
	}
	raw, err := os.ReadFile(filepath.Join(store, indexFileName))
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(raw) {
		t.Error("index is not valid JSON")
	}
	if left := tempFiles(t, store); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func TestLockStore_cancelled(t *testing.T) {
	dir := t.TempDir()
	unlock, err := lockStore(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := lockStore(ctx, dir); err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("taking a held lock with a cancelled context: %v", err)
	}
}

// BenchmarkFindImages measures the data source's lookup (a name glob and a
// label) in stores of 1k, 10k and 100k images, in the index written today
// (v2) and in a version 1 index: the time per lookup should grow with the
// size at most linearly, and for v2 with the matches rather than the store.
func BenchmarkFindImages(b *testing.B) {
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, n := range []int{1000, 10000, 100000} {
		entries := make([]indexEntry, n)
		for i := range entries {
			id := fmt.Sprintf("sha256:%064x", i)
			entries[i] = indexEntry{ID: id, Name: "img-" + strconv.Itoa(i), Region: "local", Created: t0.Add(time.Duration(i) * time.Second),
				Labels: map[string]string{"tier": []string{"base", "app"}[i%2], "build": strconv.Itoa(i)}, Size: 1 << 20, File: archiveFile("local", id)}
		}
		for _, layout := range []string{"v2", "v1"} {
			b.Run(fmt.Sprintf("%s/%dk", layout, n/1000), func(b *testing.B) {
				dir := b.TempDir()
				writeIndexLayout(b, dir, layout, slices.Clone(entries))
				d := NewLocalDriver(dir)
				filter := ImageFilter{Name: "img-9*", Region: "local", Labels: map[string]string{"tier": "app"}}
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					images, err := d.FindImages(context.Background(), filter)
					if err != nil || len(images) == 0 {
						b.Fatal(len(images), err)
					}
				}
			})
		}
	}
}

func TestIsImageID(t *testing.T) {
	good := "sha256:" + strings.Repeat("0123456789abcdef", 4)
	if !isImageID(good) {
		t.Errorf("isImageID(%q) = false", good)
	}
	for _, bad := range []string{"", "sha256:", good[:len(good)-1], good + "0", strings.Replace(good, "a", "A", 1),
		strings.Replace(good, "f", "g", 1), "sha512:" + good[7:], "SHA256:" + good[7:]} {
		if isImageID(bad) {
			t.Errorf("isImageID(%q) = true", bad)
		}
	}
}

// TestFindImages_lineFilterHidesNoMatch: the lookup refuses index lines
// before decoding them (a name not starting with the glob's literal part,
// a region or label string not in the line), and must never refuse one
// that matches: labels that need escapes, non-ASCII and non-printable
// values, and a line re-spelled by hand with spaces.
func TestFindImages_lineFilterHidesNoMatch(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	labels := []map[string]string{
		{"tier": "app"},
		{"note": `say "hi" \ bye`},
		{"place": "café\u00a0\u2028<&>"},
		{"tab": "a\tb"},
		{"nbsp": "a\u00a0b"},
	}
	var entries []indexEntry
	for i, l := range labels {
		id := fmt.Sprintf("sha256:%064x", i+1)
		entries = append(entries, indexEntry{ID: id, Name: fmt.Sprintf("img-%d", i), Region: "local", Labels: l,
			Created: t0.Add(time.Duration(i) * time.Second), Size: 1, File: archiveFile("local", id)})
	}
	for _, spelling := range []string{"as written", "with spaces"} {
		t.Run(spelling, func(t *testing.T) {
			dir := t.TempDir()
			writeIndexLayout(t, dir, "v2", slices.Clone(entries))
			if spelling == "with spaces" {
				path := filepath.Join(dir, indexFileName)
				raw, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				// The labels only: a line must still start with the name as
				// written, or the whole index is read as plain JSON.
				lines := strings.Split(string(raw), "\n")
				for i, line := range lines {
					if head, labels, ok := strings.Cut(line, `"labels":{`); ok {
						lines[i] = head + `"labels": {` + strings.ReplaceAll(labels, `":"`, `": "`)
					}
				}
				edited := strings.Join(lines, "\n")
				if edited == string(raw) {
					t.Fatal("the index has no line to re-spell")
				}
				if err := os.WriteFile(path, []byte(edited), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			d := NewLocalDriver(dir)
			for i, l := range labels {
				for _, name := range []string{"", "img-*", fmt.Sprintf("img-%d", i), "i?g-[0-9]*"} {
					images, err := d.FindImages(context.Background(), ImageFilter{Name: name, Region: "local", Labels: l})
					if err != nil {
						t.Fatal(err)
					}
					if len(images) != 1 || images[0].Name != entries[i].Name {
						t.Errorf("name %q, labels %q: found %v, want %s", name, l, images, entries[i].Name)
					}
				}
			}
			if images, err := d.FindImages(context.Background(), ImageFilter{Name: "img-*", Region: "elsewhere"}); err != nil || len(images) != 0 {
				t.Errorf("another region: %v, %v", images, err)
			}
		})
	}
}
