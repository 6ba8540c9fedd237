package imagedata_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/example/packer-plugin-scaffolding/acctest"
	"github.com/example/packer-plugin-scaffolding/standin"
)

// seedImage is an image to put into a test store before Packer runs.
type seedImage struct {
	name    string
	labels  map[string]string
	file    string // content of /etc/release in the image
	created time.Time
}

// seedStore creates a real image store in dir/store with the images, through
// the same driver the builder uses, and returns their ids in order.
func seedStore(t testing.TB, dir string, images ...seedImage) []string {
	t.Helper()
	ctx := context.Background()
	var ids []string
	for _, s := range images {
		d := standin.NewLocalDriver(filepath.Join(dir, "store"))
		d.InstanceDir = t.TempDir()
		created := s.created
		d.Now = func() time.Time { return created }
		inst, err := d.RunInstance(ctx, standin.LaunchSpec{Name: s.name})
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(inst.Workspace, "etc"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(inst.Workspace, "etc", "release"), []byte(s.file), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := d.StopInstance(ctx, inst); err != nil {
			t.Fatal(err)
		}
		img, err := d.CreateImage(ctx, inst, standin.ImageSpec{Name: s.name, Region: "local", Labels: s.labels})
		if err != nil {
			t.Fatal(err)
		}
		if err := d.TerminateInstance(ctx, inst); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, img.ID)
	}
	return ids
}

// seeded is what a run's PreBuild set up, keyed by the run's work directory:
// the two wire modes run in parallel, each with its own store and server.
type seeded struct {
	ids   []string
	srv   *httptest.Server
	calls *atomic.Int32
}

var runs sync.Map // work dir -> *seeded

func seededFor(dir string) *seeded {
	v, _ := runs.Load(dir)
	s, _ := v.(*seeded)
	if s == nil {
		return &seeded{}
	}
	return s
}

var day = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

// threeImages are two matching "base" images, the newer one second, and
// one with the wrong label.
var threeImages = []seedImage{
	{name: "base-1", labels: map[string]string{"tier": "base"}, file: "one", created: day},
	{name: "base-2", labels: map[string]string{"tier": "base"}, file: "two", created: day.Add(time.Hour)},
	{name: "base-3", labels: map[string]string{"tier": "test"}, file: "three", created: day.Add(2 * time.Hour)},
}

// lookupTemplate runs the data source with the given body and writes its
// whole result as JSON to found.json, through Packer's built-in null builder
// and shell-local provisioner, so the test sees exactly what HCL received.
func lookupTemplate(body string) string {
	return `
variable "store" {
  type = string
}

variable "token" {
  type      = string
  default   = ""
  sensitive = true
}

data "scaffolding-image" "base" {
` + body + `
}

source "null" "lookup" {
  communicator = "none"
}

build {
  sources = ["source.null.lookup"]

  provisioner "shell-local" {
    environment_vars = ["FOUND=${jsonencode(data.scaffolding-image.base)}"]
    inline           = ["printf '%s' \"$FOUND\" > found.json"]
  }
}
`
}

// foundImage reads what the data source returned.
func foundImage(r *acctest.Result) (map[string]any, error) {
	b, err := os.ReadFile(filepath.Join(r.Dir, "found.json"))
	if err != nil {
		return nil, err
	}
	var out map[string]any
	return out, json.Unmarshal(b, &out)
}

// foundNewestBase checks that the data source picked base-2, the newest image
// matching name and labels, with every output filled in.
func foundNewestBase(location func(r *acctest.Result, id string) string) acctest.Check {
	return acctest.CheckFunc(func(r *acctest.Result) error {
		got, err := foundImage(r)
		if err != nil {
			return err
		}
		want := seededFor(r.Dir).ids[1]
		expect := map[string]any{
			"id":       want,
			"name":     "base-2",
			"region":   "local",
			"checksum": strings.TrimPrefix(want, "sha256:"),
			"created":  day.Add(time.Hour).Format(time.RFC3339),
			"location": location(r, want),
		}
		var errs []string
		for k, v := range expect {
			if fmt.Sprint(got[k]) != fmt.Sprint(v) {
				errs = append(errs, fmt.Sprintf("%s: expected %v, found %v", k, v, got[k]))
			}
		}
		if labels, _ := got["labels"].(map[string]any); labels["tier"] != "base" {
			errs = append(errs, fmt.Sprintf("labels: expected tier=base, found %v", got["labels"]))
		}
		if len(errs) > 0 {
			return fmt.Errorf("data source output: %s", strings.Join(errs, "; "))
		}
		return nil
	})
}

func TestAccDatasource_localStore(t *testing.T) {
	t.Parallel()
	acctest.Test(t, acctest.Case{
		Setup: func(t testing.TB, dir string) {
			runs.Store(dir, &seeded{ids: seedStore(t, dir, threeImages...)})
		},
		Steps: []acctest.Step{{
			Template: lookupTemplate(`
  store  = var.store
  name   = "base-*"
  labels = { tier = "base" }
`),
			PreBuild: func(t testing.TB, run *acctest.Run, step *acctest.Step) {
				step.Vars = map[string]string{"store": filepath.Join(run.Dir, "store")}
			},
			Checks: []acctest.Check{
				foundNewestBase(func(r *acctest.Result, id string) string {
					return filepath.Join(r.Dir, "store", "images", "local", strings.TrimPrefix(id, "sha256:")+".tar.gz")
				}),
			},
		}},
	})
}

// storeServer serves the store in dir over http on 127.0.0.1, requiring the
// bearer token, and answers 503 to the first failures requests, to prove
// that the data source retries.
func storeServer(t testing.TB, dir, token string, failures int32) (*httptest.Server, *atomic.Int32) {
	var calls atomic.Int32
	files := http.FileServer(http.Dir(filepath.Join(dir, "store")))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= failures {
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		if r.Header.Get("Authorization") != "Bearer "+token {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		files.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

const secretToken = "s3cr3t-t0ken-never-printed"

// tokenNowhere checks that the bearer token appears in nothing Packer wrote:
// not stdout, not stderr, not the debug log.
func tokenNowhere(r *acctest.Result) error {
	logText, err := os.ReadFile(r.LogPath)
	if err != nil {
		return err
	}
	for name, text := range map[string]string{"stdout": r.Stdout, "stderr": r.Stderr, "packer log": string(logText)} {
		if strings.Contains(text, secretToken) {
			return fmt.Errorf("token: expected it nowhere, found it in %s", name)
		}
	}
	return nil
}

func TestAccDatasource_httpStore(t *testing.T) {
	t.Parallel()
	acctest.Test(t, acctest.Case{
		Setup: func(t testing.TB, dir string) {
			s := &seeded{ids: seedStore(t, dir, threeImages...)}
			s.srv, s.calls = storeServer(t, dir, secretToken, 2)
			runs.Store(dir, s)
		},
		Steps: []acctest.Step{{
			Template: lookupTemplate(`
  store   = var.store
  token   = var.token
  name    = "base-*"
  labels  = { tier = "base" }
  retries = 3
  timeout = "10s"
`),
			PreBuild: func(t testing.TB, run *acctest.Run, step *acctest.Step) {
				step.Vars = map[string]string{"store": seededFor(run.Dir).srv.URL, "token": secretToken}
			},
			Checks: []acctest.Check{
				foundNewestBase(func(r *acctest.Result, id string) string {
					return seededFor(r.Dir).srv.URL + "/images/local/" + strings.TrimPrefix(id, "sha256:") + ".tar.gz"
				}),
				acctest.CheckFunc(tokenNowhere),
				acctest.CheckFunc(func(r *acctest.Result) error {
					if n := seededFor(r.Dir).calls.Load(); n < 3 {
						return fmt.Errorf("requests to the store: expected 2 failures then a retry that succeeds, found %d requests", n)
					}
					return nil
				}),
			},
		}},
	})
}

func TestAccDatasource_wrongToken(t *testing.T) {
	t.Parallel()
	acctest.Test(t, acctest.Case{
		Setup: func(t testing.TB, dir string) {
			s := &seeded{ids: seedStore(t, dir, threeImages...)}
			s.srv, s.calls = storeServer(t, dir, "the-right-token", 0)
			runs.Store(dir, s)
		},
		Steps: []acctest.Step{{
			Template: lookupTemplate(`
  store = var.store
  token = var.token
`),
			PreBuild: func(t testing.TB, run *acctest.Run, step *acctest.Step) {
				step.Vars = map[string]string{"store": seededFor(run.Dir).srv.URL, "token": secretToken}
			},
			ExpectError: regexp.MustCompile(`401`),
			Checks:      []acctest.Check{acctest.CheckFunc(tokenNowhere)},
		}},
	})
}

func TestAccDatasource_noMatch(t *testing.T) {
	t.Parallel()
	acctest.Test(t, acctest.Case{
		Setup: func(t testing.TB, dir string) { seedStore(t, dir, threeImages...) },
		Steps: []acctest.Step{{
			Template: lookupTemplate(`
  store  = "store"
  name   = "base-*"
  labels = { tier = "prod" }
`),
			Vars:        map[string]string{"store": "unused"},
			ExpectError: regexp.MustCompile(`no image in store store matches`),
			Checks:      []acctest.Check{acctest.ErrorMentions("base-*", "tier")},
		}},
	})
}

func TestAccDatasource_malformedIndex(t *testing.T) {
	t.Parallel()
	acctest.Test(t, acctest.Case{
		Files: map[string]string{"store/index.json": `{"version": 1, "images": [{"id": 42}]}`},
		Steps: []acctest.Step{{
			Template:    lookupTemplate(`store = "store"`),
			Vars:        map[string]string{"store": "unused"},
			ExpectError: regexp.MustCompile(`index\.json`),
		}},
	})
}

func TestAccDatasource_invalidConfig(t *testing.T) {
	t.Parallel()
	acctest.Test(t, acctest.Case{
		Steps: []acctest.Step{{
			Template: lookupTemplate(`
  store   = ""
  name    = "[unclosed"
  timeout = "forever"
  retries = -1
`),
			Vars:        map[string]string{"store": "unused"},
			ExpectError: regexp.MustCompile(`store: required`),
			Checks:      []acctest.Check{acctest.ErrorMentions("name:", "timeout:", "retries:")},
		}},
	})
}
