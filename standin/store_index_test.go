package standin

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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
func writeTestIndex(t *testing.T, dir string, entries []indexEntry) {
	t.Helper()
	if err := writeIndexFile(dir, &storeIndex{Images: entries}); err != nil {
		t.Fatal(err)
	}
}

func TestFindImages_filterAndOrder(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	id := func(c string) string { return "sha256:" + strings.Repeat(c, 64) }
	e := func(c, name, region string, created time.Time, labels map[string]string) indexEntry {
		return indexEntry{ID: id(c), Name: name, Region: region, Created: created, Labels: labels, File: archiveFile(region, id(c))}
	}
	writeTestIndex(t, dir, []indexEntry{
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
