package imagedata

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

const testToken = "tok-9f8e7d6c5b4a"

func indexJSON(images ...string) string {
	return `{"version": 1, "images": [` + strings.Join(images, ",") + `]}`
}

func entry(hex, name, created string, labels string) string {
	id := "sha256:" + strings.Repeat(hex, 64)
	return fmt.Sprintf(`{"id": %q, "name": %q, "region": "local", "labels": %s, "created": %q, "size": 42,
		"file": "images/local/%s.tar.gz"}`, id, name, labels, created, strings.Repeat(hex, 64))
}

// storeServer serves index at /store/index.json to requests bearing
// testToken, and echoes any other Authorization header in its 401 body, as a
// careless server might.
func storeServer(t *testing.T, index string) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if got := r.Header.Get("Authorization"); got != "Bearer "+testToken {
			http.Error(w, "bad credentials: "+got, http.StatusUnauthorized)
			return
		}
		if r.URL.Path != "/store/index.json" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if _, err := fmt.Fprint(w, index); err != nil {
			t.Errorf("serving the index: %v", err)
		}
	}))
	t.Cleanup(srv.Close)
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Fatalf("test server listens on %s, want 127.0.0.1", srv.URL)
	}
	return srv, &requests
}

func TestExecuteOverHTTP(t *testing.T) {
	srv, _ := storeServer(t, indexJSON(
		entry("1", "web-1", "2026-03-01T00:00:00Z", `{"os": "linux"}`),
		entry("2", "web-2", "2026-03-02T00:00:00Z", `{"os": "linux"}`),
		entry("3", "db-1", "2026-03-03T00:00:00Z", `{"os": "linux"}`),
		entry("4", "web-3", "2026-03-04T00:00:00Z", `{"os": "bsd"}`),
	))
	d, err := configure(t, map[string]interface{}{
		"store": srv.URL + "/store", "token": testToken, "name": "web-*",
		"labels": map[string]string{"os": "linux"},
	})
	if err != nil {
		t.Fatal(err)
	}

	out, err := d.Execute()
	if err != nil {
		t.Fatalf("Execute: %v", err)
	}
	hex := strings.Repeat("2", 64)
	want := map[string]string{
		"id":       "sha256:" + hex,
		"name":     "web-2",
		"checksum": hex,
		"location": srv.URL + "/store/images/local/" + hex + ".tar.gz",
		"created":  "2026-03-02T00:00:00Z",
	}
	for attr, w := range want {
		if got := str(t, out, attr); got != w {
			t.Errorf("%s = %q, want %q", attr, got, w)
		}
	}
}

func TestExecuteOverHTTPErrorsKeepTheTokenOut(t *testing.T) {
	good := indexJSON(entry("1", "web-1", "2026-03-01T00:00:00Z", `{}`))
	cases := []struct {
		name  string
		index string
		token string
		want  []string
	}{
		{"malformed index", `{"version": 1, "images": [}`, testToken, []string{"/store/index.json", "malformed"}},
		{"rejected token", good, testToken + "-wrong", []string{"401"}},
		{"no match", good, testToken, []string{"no image", "/store", `"db-*"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := storeServer(t, tc.index)
			d, err := configure(t, map[string]interface{}{
				"store": srv.URL + "/store", "token": tc.token, "name": "db-*", "retries": 0,
			})
			if err != nil {
				t.Fatal(err)
			}
			_, err = d.Execute()
			if err == nil {
				t.Fatal("Execute succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %s", err, w)
				}
			}
			if strings.Contains(err.Error(), testToken) {
				t.Errorf("error leaks the token: %q", err)
			}
		})
	}
}

func TestExecuteOverHTTPPassesRetries(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			http.Error(w, "warming up", http.StatusServiceUnavailable)
			return
		}
		if _, err := fmt.Fprint(w, indexJSON(entry("5", "web-5", "2026-03-05T00:00:00Z", `{}`))); err != nil {
			t.Errorf("serving the index: %v", err)
		}
	}))
	t.Cleanup(srv.Close)

	for _, tc := range []struct {
		retries int
		ok      bool
		calls   int32
	}{{0, false, 1}, {1, true, 2}} {
		calls.Store(0)
		d, err := configure(t, map[string]interface{}{"store": srv.URL, "retries": tc.retries})
		if err != nil {
			t.Fatal(err)
		}
		_, err = d.Execute()
		if (err == nil) != tc.ok {
			t.Errorf("retries = %d: Execute error = %v, want success %v", tc.retries, err, tc.ok)
		}
		if n := calls.Load(); n != tc.calls {
			t.Errorf("retries = %d: %d requests, want %d", tc.retries, n, tc.calls)
		}
	}
}
