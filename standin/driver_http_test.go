package standin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// storeServer serves a store directory over http on 127.0.0.1, counting
// requests per path and failing them on demand.
type storeServer struct {
	*httptest.Server
	mu     sync.Mutex
	hits   map[string]int
	auth   []string
	failer func(path string, hit int) int // status to answer, 0 to serve
}

func newStoreServer(t *testing.T, dir string) *storeServer {
	t.Helper()
	s := &storeServer{hits: map[string]int{}}
	files := http.FileServer(http.Dir(dir))
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.hits[r.URL.Path]++
		hit := s.hits[r.URL.Path]
		s.auth = append(s.auth, r.Header.Get("Authorization"))
		failer := s.failer
		s.mu.Unlock()
		if failer != nil {
			if status := failer(r.URL.Path, hit); status != 0 {
				// Echo the request's credentials, as a careless server might,
				// to prove they are scrubbed from errors.
				http.Error(w, "failing on purpose; you sent "+r.Header.Get("Authorization"), status)
				return
			}
		}
		files.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *storeServer) hitsFor(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[path]
}

// openTestHTTPStore opens url with a backoff short enough for tests.
func openTestHTTPStore(t *testing.T, url string, opts StoreOptions) *httpDriver {
	t.Helper()
	drv, err := OpenStore(url, opts)
	if err != nil {
		t.Fatal(err)
	}
	d, ok := drv.(*httpDriver)
	if !ok {
		t.Fatalf("OpenStore(%q) gave a %T, want the http driver", url, drv)
	}
	d.backoff = time.Millisecond
	return d
}

func TestHTTPDriver_findAndVerify(t *testing.T) {
	local := newTestDriver(t)
	img := buildImage(t, local, ImageSpec{Name: "web", Region: "local", Labels: map[string]string{"k": "v"}}, map[string]string{"f": "x"})
	srv := newStoreServer(t, local.Dir)
	d := openTestHTTPStore(t, srv.URL+"/", StoreOptions{})

	found, err := d.FindImages(context.Background(), ImageFilter{Name: "web", Labels: map[string]string{"k": "v"}})
	if err != nil || len(found) != 1 {
		t.Fatalf("FindImages = %+v, %v", found, err)
	}
	want := srv.URL + "/images/local/" + strings.TrimPrefix(img.ID, "sha256:") + ".tar.gz"
	if found[0].Location != want {
		t.Errorf("location = %s, want %s", found[0].Location, want)
	}
	if found[0].ID != img.ID || !found[0].Created.Equal(img.Created) {
		t.Errorf("found %+v, want %+v", found[0], img)
	}
	if err := d.VerifyImage(context.Background(), found[0]); err != nil {
		t.Errorf("VerifyImage: %v", err)
	}

	if err := os.WriteFile(img.Location, []byte("tampered"), 0o644); err != nil {
		t.Fatal(err)
	}
	err = d.VerifyImage(context.Background(), found[0])
	if !errors.Is(err, ErrChecksumMismatch) || !strings.Contains(err.Error(), img.ID) {
		t.Errorf("VerifyImage of a tampered archive: %v", err)
	}
	missing := found[0]
	missing.ID = "sha256:" + strings.Repeat("0", 64)
	if err := d.VerifyImage(context.Background(), missing); !errors.Is(err, ErrImageNotFound) {
		t.Errorf("VerifyImage of a missing image: %v", err)
	}
}

func TestHTTPDriver_subPath(t *testing.T) {
	local := newTestDriver(t)
	buildImage(t, local, ImageSpec{Name: "web", Region: "local"}, map[string]string{"f": "x"})
	mux := http.NewServeMux()
	mux.Handle("/stores/one/", http.StripPrefix("/stores/one/", http.FileServer(http.Dir(local.Dir))))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	// No trailing slash: the store is still the directory.
	d := openTestHTTPStore(t, srv.URL+"/stores/one", StoreOptions{})
	found, err := d.FindImages(context.Background(), ImageFilter{})
	if err != nil || len(found) != 1 {
		t.Fatalf("FindImages = %+v, %v", found, err)
	}
	if !strings.HasPrefix(found[0].Location, srv.URL+"/stores/one/images/") {
		t.Errorf("location %s is not under the store URL", found[0].Location)
	}
	if err := d.VerifyImage(context.Background(), found[0]); err != nil {
		t.Error(err)
	}
}

func TestHTTPDriver_retriesServerErrors(t *testing.T) {
	local := newTestDriver(t)
	buildImage(t, local, ImageSpec{Name: "web", Region: "local"}, map[string]string{"f": "x"})
	srv := newStoreServer(t, local.Dir)
	srv.failer = func(path string, hit int) int {
		if path == "/index.json" && hit == 1 {
			return http.StatusInternalServerError
		}
		return 0
	}
	d := openTestHTTPStore(t, srv.URL, StoreOptions{Retries: 3})
	found, err := d.FindImages(context.Background(), ImageFilter{})
	if err != nil || len(found) != 1 {
		t.Fatalf("FindImages after one 500 = %+v, %v", found, err)
	}
	if n := srv.hitsFor("/index.json"); n != 2 {
		t.Errorf("index fetched %d times, want 2 (one 500, one retry)", n)
	}
}

func TestHTTPDriver_givesUpAfterRetries(t *testing.T) {
	srv := newStoreServer(t, t.TempDir())
	srv.failer = func(string, int) int { return http.StatusBadGateway }
	d := openTestHTTPStore(t, srv.URL, StoreOptions{Retries: 2})
	_, err := d.FindImages(context.Background(), ImageFilter{})
	if err == nil || !strings.Contains(err.Error(), "502") || !strings.Contains(err.Error(), "after 3 attempts") {
		t.Fatalf("error = %v, want a 502 after 3 attempts", err)
	}
	if n := srv.hitsFor("/index.json"); n != 3 {
		t.Errorf("index fetched %d times, want 3", n)
	}
}

func TestHTTPDriver_noRetryOnClientError(t *testing.T) {
	srv := newStoreServer(t, t.TempDir()) // empty: index.json is 404
	d := openTestHTTPStore(t, srv.URL, StoreOptions{Retries: 3})
	_, err := d.FindImages(context.Background(), ImageFilter{})
	if err == nil || !strings.Contains(err.Error(), "404") || !strings.Contains(err.Error(), srv.URL+"/index.json") {
		t.Fatalf("error = %v, want a 404 naming the index URL", err)
	}
	if n := srv.hitsFor("/index.json"); n != 1 {
		t.Errorf("index fetched %d times, want 1: a 404 is not retried", n)
	}
}

func TestHTTPDriver_retriesConnectionErrors(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there any more
	d := openTestHTTPStore(t, url, StoreOptions{Retries: 1})
	_, err := d.FindImages(context.Background(), ImageFilter{})
	if err == nil || !strings.Contains(err.Error(), "after 2 attempts") || !strings.Contains(err.Error(), url) {
		t.Fatalf("error = %v, want a connection error after 2 attempts naming %s", err, url)
	}
}

func TestHTTPDriver_timeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	d := openTestHTTPStore(t, srv.URL, StoreOptions{Timeout: 20 * time.Millisecond})
	_, err := d.FindImages(context.Background(), ImageFilter{})
	if err == nil || !strings.Contains(err.Error(), "deadline exceeded") {
		t.Fatalf("error = %v, want a timeout", err)
	}
}

func TestHTTPDriver_tokenNeverLeaks(t *testing.T) {
	const token = "s3cret-t0ken"
	local := newTestDriver(t)
	buildImage(t, local, ImageSpec{Name: "web", Region: "local"}, map[string]string{"f": "x"})
	srv := newStoreServer(t, local.Dir)
	d := openTestHTTPStore(t, srv.URL, StoreOptions{Token: token})
	if _, err := d.FindImages(context.Background(), ImageFilter{}); err != nil {
		t.Fatal(err)
	}
	srv.mu.Lock()
	sent := srv.auth[0]
	srv.mu.Unlock()
	if sent != "Bearer "+token {
		t.Errorf("Authorization header = %q, want the bearer token", sent)
	}

	// The server echoes the header into its error page.
	srv.failer = func(string, int) int { return http.StatusForbidden }
	_, err := d.FindImages(context.Background(), ImageFilter{})
	if err == nil {
		t.Fatal("FindImages succeeded against a 403")
	}
	if strings.Contains(err.Error(), token) {
		t.Errorf("error %q leaks the token", err)
	}
	if !strings.Contains(err.Error(), "403") || !strings.Contains(err.Error(), "[redacted]") {
		t.Errorf("error %q should report the 403 with the echoed token redacted", err)
	}
	if s := fmt.Sprintf("%v %+v %#v", d, d, d.base); strings.Contains(s, token) {
		t.Errorf("driver formatting leaks the token: %s", s)
	}
}

func TestHTTPDriver_userinfoStripped(t *testing.T) {
	srv := newStoreServer(t, t.TempDir())
	withCreds := strings.Replace(srv.URL, "http://", "http://alice:pa55word@", 1)
	d := openTestHTTPStore(t, withCreds, StoreOptions{})
	_, err := d.FindImages(context.Background(), ImageFilter{})
	if err == nil {
		t.Fatal("want a 404")
	}
	for _, secret := range []string{"pa55word", "alice"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error %q contains %q", err, secret)
		}
	}
	srv.mu.Lock()
	sent := srv.auth[0]
	srv.mu.Unlock()
	if !strings.HasPrefix(sent, "Basic ") {
		t.Errorf("credentials in the URL were not sent as basic auth: %q", sent)
	}

	_, err = OpenStore("http://bob:hunter2@exa mple.com/", StoreOptions{})
	if err == nil || strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "bob") {
		t.Errorf("invalid URL error %v: want an error without the credentials", err)
	}
}

func TestHTTPDriver_readOnly(t *testing.T) {
	srv := newStoreServer(t, t.TempDir())
	d := openTestHTTPStore(t, srv.URL, StoreOptions{})
	ctx := context.Background()
	inst := &Instance{ID: "i-x", Workspace: t.TempDir()}
	img := Image{ID: "sha256:" + strings.Repeat("a", 64), Region: "local"}
	calls := map[string]error{}
	_, calls["RunInstance"] = d.RunInstance(ctx, LaunchSpec{})
	calls["StopInstance"] = d.StopInstance(ctx, inst)
	_, calls["CreateImage"] = d.CreateImage(ctx, inst, ImageSpec{})
	calls["TerminateInstance"] = d.TerminateInstance(ctx, inst)
	calls["DeregisterImage"] = d.DeregisterImage(ctx, img)
	_, calls["CopyImage"] = d.CopyImage(ctx, img, "eu")
	want := "store " + srv.URL + "/ is read-only"
	for name, err := range calls {
		if !errors.Is(err, ErrReadOnly) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", name, err, want)
		}
	}
	if n := srv.hitsFor("/index.json"); n != 0 {
		t.Errorf("read-only refusals made %d requests", n)
	}
}

func TestOpenStore(t *testing.T) {
	if d, err := OpenStore(t.TempDir(), StoreOptions{}); err != nil {
		t.Error(err)
	} else if _, ok := d.(*LocalDriver); !ok {
		t.Errorf("a directory gave a %T", d)
	}
	for _, bad := range []string{"http://", "https:///path", "HTTP://"} {
		if _, err := OpenStore(bad, StoreOptions{}); err == nil {
			t.Errorf("OpenStore(%q) succeeded", bad)
		}
	}
	if !isHTTPLocation("HTTPS://example.com") || isHTTPLocation("/srv/http://x") || isHTTPLocation("store") {
		t.Error("isHTTPLocation misclassifies")
	}
}

// The body is read through the retry logic; a server that cuts the
// connection mid-body is retried like a refused connection.
func TestHTTPDriver_retriesBrokenBody(t *testing.T) {
	local := newTestDriver(t)
	buildImage(t, local, ImageSpec{Name: "web", Region: "local"}, map[string]string{"f": "x"})
	index, err := os.ReadFile(local.Dir + "/" + indexFileName)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	hits := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits++
		first := hits == 1
		mu.Unlock()
		if first {
			// Promise more than is sent, then hang up.
			w.Header().Set("Content-Length", fmt.Sprint(len(index)+100))
			_, _ = w.Write(index[:10])
			return
		}
		_, _ = w.Write(index)
	}))
	defer srv.Close()
	d := openTestHTTPStore(t, srv.URL, StoreOptions{Retries: 2})
	found, err := d.FindImages(context.Background(), ImageFilter{})
	if err != nil || len(found) != 1 {
		t.Fatalf("FindImages = %+v, %v", found, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if hits != 2 {
		t.Errorf("%d requests, want 2", hits)
	}
}
