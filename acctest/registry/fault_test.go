package registry_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/example/packer-plugin-scaffolding/acctest/registry"
)

func TestFailEveryCall(t *testing.T) {
	s := registry.NewServer(t)
	c := newAPIClient(t, s)
	f := s.Fail(registry.OpGetBucket, http.StatusInternalServerError, registry.CodeInternal, "database on fire")
	for i := 0; i < 3; i++ {
		status, body := c.call("GET", "/buckets/web", nil)
		wantError(t, "failing GetBucket", status, body, http.StatusInternalServerError, registry.CodeInternal)
		if !strings.Contains(string(body), "database on fire") {
			t.Errorf("expected the given message, found %s", body)
		}
	}
	if f.Hits() != 3 {
		t.Errorf("Hits: expected 3, found %d", f.Hits())
	}
	// Other operations are not affected.
	c.mustCall("PUT", "/buckets", map[string]any{"name": "web"}, nil)

	f.Release()
	f.Release()
	c.mustCall("GET", "/buckets/web", nil, nil)

	var faulted int
	for _, r := range s.Requests() {
		if r.Fault {
			faulted++
			if r.Op != registry.OpGetBucket || r.Status != http.StatusInternalServerError {
				t.Errorf("faulted request: expected GetBucket answered 500, found %s %d", r.Op, r.Status)
			}
		}
	}
	if faulted != 3 {
		t.Errorf("expected 3 requests marked as faults, found %d", faulted)
	}
	if len(s.Buckets()) != 1 {
		t.Errorf("a failed call must not change state: expected 1 bucket, found %d", len(s.Buckets()))
	}
}

func TestFailDefaults(t *testing.T) {
	s := registry.NewServer(t)
	c := newAPIClient(t, s)
	s.Fail(registry.OpGetBucket, 0, registry.CodeUnavailable, "")
	status, body := c.call("GET", "/buckets/web", nil)
	wantError(t, "default status", status, body, http.StatusServiceUnavailable, registry.CodeUnavailable)
	if !strings.Contains(string(body), "injected fault") {
		t.Errorf("expected the default message, found %s", body)
	}
}

func TestFailTimesAndNth(t *testing.T) {
	s := registry.NewServer(t)
	c := newAPIClient(t, s)
	s.Fail(registry.OpGetBucket, 0, registry.CodeInternal, "next").Times(1)
	s.Fail(registry.OpGetBucket, 0, registry.CodeUnavailable, "third").Nth(3)

	var codes []int
	for i := 0; i < 5; i++ {
		status, _ := c.call("GET", "/buckets/web", nil)
		codes = append(codes, status)
	}
	// Each fault counts every GetBucket: the first takes call 1, the
	// second call 3.
	want := []int{500, 404, 503, 404, 404}
	if !slices.Equal(codes, want) {
		t.Errorf("expected statuses %v, found %v", want, codes)
	}
}

func TestFailAfter(t *testing.T) {
	s := registry.NewServer(t)
	c := newAPIClient(t, s)
	f := s.Fail(registry.OpGetBucket, 0, registry.CodeInternal, "").After(2)
	var codes []int
	for i := 0; i < 4; i++ {
		status, _ := c.call("GET", "/buckets/web", nil)
		codes = append(codes, status)
	}
	if want := []int{404, 404, 500, 500}; !slices.Equal(codes, want) {
		t.Errorf("expected statuses %v, found %v", want, codes)
	}
	if f.Hits() != 2 {
		t.Errorf("Hits: expected 2, found %d", f.Hits())
	}
}

func TestFailWhen(t *testing.T) {
	s := registry.NewServer(t)
	c := newAPIClient(t, s)
	c.mustCall("PUT", "/buckets", map[string]any{"name": "web"}, nil)
	c.mustCall("POST", "/buckets/web/versions", map[string]any{"fingerprint": "fp", "template_type": "HCL2"}, nil)
	var b struct{ Build wireBuild }
	c.mustCall("POST", "/buckets/web/versions/fp/builds", map[string]any{"component_type": "a", "status": "BUILD_UNSET"}, &b)

	s.Fail(registry.OpUpdateBuild, 0, registry.CodeInternal, "cannot finish").
		When(func(r registry.Request) bool { return strings.Contains(r.Body, `"BUILD_DONE"`) })
	path := "/buckets/web/versions/fp/builds/" + b.Build.ID
	c.mustCall("PATCH", path, map[string]any{"status": "BUILD_RUNNING"}, nil)
	status, body := c.call("PATCH", path, map[string]any{"status": "BUILD_DONE", "artifacts": []map[string]string{{"external_identifier": "x"}}})
	wantError(t, "done refused", status, body, http.StatusInternalServerError, registry.CodeInternal)
	c.mustCall("PATCH", path, map[string]any{"status": "BUILD_FAILED"}, nil)

	got := s.Builds()[0].StatusHistory
	want := []registry.BuildStatus{registry.BuildUnset, registry.BuildRunning, registry.BuildFailed}
	if !slices.Equal(got, want) {
		t.Errorf("expected history %v, found %v", want, got)
	}
}

func TestFailAnyOperation(t *testing.T) {
	s := registry.NewServer(t)
	s.Fail("", 0, registry.CodeUnavailable, "down")
	c := &apiClient{t: t, s: s, http: http.DefaultClient}
	status, body := c.raw("GET", "/anything", nil, "")
	wantError(t, "any op", status, body, http.StatusServiceUnavailable, registry.CodeUnavailable)
}

func TestStallUntilReleased(t *testing.T) {
	s := registry.NewServer(t)
	c := newAPIClient(t, s)
	f := s.Stall(registry.OpGetBucket)

	done := make(chan int)
	go func() {
		status, _ := c.call("GET", "/buckets/web", nil)
		done <- status
	}()
	<-f.Hit()
	select {
	case status := <-done:
		t.Fatalf("stalled call: expected no answer before Release, found status %d", status)
	default:
	}
	reqs := s.Requests()
	if last := reqs[len(reqs)-1]; last.Op != registry.OpGetBucket || last.Status != 0 {
		t.Errorf("stalled request: expected GetBucket with status 0, found %s %d", last.Op, last.Status)
	}
	f.Release()
	if status := <-done; status != http.StatusNotFound {
		t.Errorf("released call: expected the normal answer 404, found %d", status)
	}
	// Released: later calls go through.
	status, _ := c.call("GET", "/buckets/web", nil)
	if status != http.StatusNotFound {
		t.Errorf("after Release: expected 404, found %d", status)
	}
}

func TestStallAbandonedByClient(t *testing.T) {
	s := registry.NewUnstartedServer()
	finished := make(chan registry.Request, 10)
	s.OnRequest = func(r registry.Request) { finished <- r }
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := newAPIClient(t, s)
	<-finished // the token request
	f := s.Stall(registry.OpGetBucket)

	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", s.URL+c.prefix()+"/buckets/web", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	errc := make(chan error)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			_ = resp.Body.Close() // unexpected answer: the test fails below anyway
		}
		errc <- err
	}()
	<-f.Hit()
	cancel()
	if err := <-errc; err == nil {
		t.Error("cancelled call: expected an error, found an answer")
	}
	// The stalled handler returns once the server sees the client leave.
	r := <-finished
	if r.Op != registry.OpGetBucket || r.Status != 0 || r.Fault {
		t.Errorf("abandoned request: expected GetBucket with status 0 and no fault, found %s %d fault=%v", r.Op, r.Status, r.Fault)
	}
}

func TestCloseAnswersStalledCalls(t *testing.T) {
	s := registry.NewServer(t)
	c := newAPIClient(t, s)
	f := s.Stall(registry.OpGetBucket)
	type answer struct {
		status int
		body   []byte
	}
	done := make(chan answer)
	go func() {
		status, body := c.call("GET", "/buckets/web", nil)
		done <- answer{status, body}
	}()
	<-f.Hit()
	s.Close() // must not hang on the stalled call
	a := <-done
	wantError(t, "stalled at Close", a.status, a.body, http.StatusServiceUnavailable, registry.CodeUnavailable)
}

func TestFaultsLeaveStateAsTheServiceWould(t *testing.T) {
	s := registry.NewServer(t)
	c := newAPIClient(t, s)

	// A plain fault: the call never happened.
	s.Fail(registry.OpCreateBucket, 500, registry.CodeInternal, "").Times(1)
	status, body := c.call("PUT", "/buckets", map[string]any{"name": "web"})
	wantError(t, "failed create", status, body, http.StatusInternalServerError, registry.CodeInternal)
	if n := len(s.Buckets()); n != 0 {
		t.Fatalf("a failed create must leave nothing: expected no bucket, found %d", n)
	}
	c.mustCall("PUT", "/buckets", map[string]any{"name": "web"}, nil)

	// Applied: the change is made and the answer is the error.
	s.Fail(registry.OpCreateVersion, 504, registry.CodeDeadlineExceeded, "gateway timeout").Applied().Times(1)
	status, body = c.call("POST", "/buckets/web/versions", map[string]any{"fingerprint": "fp", "template_type": "HCL2"})
	wantError(t, "applied create", status, body, http.StatusGatewayTimeout, registry.CodeDeadlineExceeded)
	if v := s.Versions(); len(v) != 1 || v[0].Fingerprint != "fp" {
		t.Fatalf("an applied fault makes the change: expected version fp, found %+v", v)
	}

	// ALREADY_EXISTS on a create means the object exists: applied
	// without asking.
	s.Fail(registry.OpCreateBuild, 409, registry.CodeAlreadyExists, "").Times(1)
	status, body = c.call("POST", "/buckets/web/versions/fp/builds", map[string]any{"component_type": "null.a", "status": "BUILD_UNSET"})
	wantError(t, "create answered ALREADY_EXISTS", status, body, http.StatusConflict, registry.CodeAlreadyExists)
	if b := s.Builds(); len(b) != 1 || b[0].ComponentType != "null.a" || b[0].Status != registry.BuildUnset {
		t.Fatalf("ALREADY_EXISTS on a create: expected the build to exist, found %+v", b)
	}
	var reqs int
	for _, r := range s.Requests() {
		if r.Fault {
			reqs++
		}
	}
	if reqs != 3 {
		t.Errorf("expected the three injected answers marked as faults, found %d", reqs)
	}

	// When the applied call would fail on its own, its own error is the
	// answer, and nothing changes.
	s.Fail(registry.OpCreateBuild, 0, registry.CodeUnavailable, "").Applied().Times(1)
	status, body = c.call("POST", "/buckets/web/versions/fp/builds", map[string]any{"component_type": "null.a", "status": "BUILD_UNSET"})
	wantError(t, "applied fault on an invalid call", status, body, http.StatusConflict, registry.CodeAlreadyExists)
	if n := len(s.Builds()); n != 1 {
		t.Errorf("expected still one build, found %d", n)
	}

	// ALREADY_EXISTS on anything but a create changes nothing.
	s.Fail(registry.OpUpdateBucket, 409, registry.CodeAlreadyExists, "").Times(1)
	status, _ = c.call("PATCH", "/buckets/web", map[string]any{"description": "changed"})
	if status != http.StatusConflict || s.Buckets()[0].Description != "" {
		t.Errorf("ALREADY_EXISTS on an update: expected 409 and no change, found %d %+v", status, s.Buckets()[0])
	}
}

func TestTokenFaultsSpeakOAuth(t *testing.T) {
	s := registry.NewServer(t)
	c := newAPIClient(t, s)
	type oauth struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
		Code        *int   `json:"code"`
	}
	for _, tc := range []struct {
		fault      func() *registry.Fault
		status     int
		err, descr string
	}{
		{func() *registry.Fault { return s.Fail(registry.OpToken, 0, registry.CodeUnauthenticated, "disabled") }, 401, "invalid_client", "disabled"},
		{func() *registry.Fault { return s.Fail(registry.OpToken, 0, registry.CodeUnavailable, "") }, 503, "temporarily_unavailable", "injected fault"},
		{func() *registry.Fault { return s.Fail(registry.OpToken, 500, registry.CodeInternal, "boom") }, 500, "server_error", "boom"},
		{func() *registry.Fault { return s.FailToken(400, "invalid_grant", "expired") }, 400, "invalid_grant", "expired"},
	} {
		f := tc.fault()
		status, body := c.tokenRequest(s.ClientID, s.ClientSecret, "client_credentials", true)
		var got oauth
		decodeInto(t, body, &got)
		if status != tc.status || got.Error != tc.err || got.Description != tc.descr || got.Code != nil {
			t.Errorf("token fault: expected %d {error: %q, error_description: %q} and no code, found %d %s", tc.status, tc.err, tc.descr, status, body)
		}
		f.Release()
	}
}
