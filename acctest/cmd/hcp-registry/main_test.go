package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/example/packer-plugin-scaffolding/acctest/registry"
)

// syncBuffer is a log sink that the emulator's goroutines and the test can
// share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// started runs the command until cancel is called and returns the
// environment it printed, a reader for the rest of stdout, and a channel
// with run's result.
func started(t *testing.T, args ...string) (env map[string]string, rest *bufio.Reader, cancel func(), result chan error, stderr *syncBuffer) {
	t.Helper()
	return startedWith(t, 8, args...)
}

// startedWith is started for a command that prints n export lines.
func startedWith(t *testing.T, n int, args ...string) (env map[string]string, rest *bufio.Reader, cancel func(), result chan error, stderr *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	pr, pw := io.Pipe()
	stderr = &syncBuffer{}
	result = make(chan error, 1)
	go func() {
		err := run(ctx, args, pw, stderr)
		_ = pw.Close() // an io.PipeWriter's Close always returns nil
		result <- err
	}()
	rest = bufio.NewReader(pr)
	env = map[string]string{}
	for len(env) < n {
		line, err := rest.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the export lines: %v (stderr: %s)", err, stderr)
		}
		kv, ok := strings.CutPrefix(strings.TrimSpace(line), "export ")
		if !ok {
			t.Fatalf("expected an export line, found %q", line)
		}
		name, value, _ := strings.Cut(kv, "=")
		env[name] = strings.Trim(value, "'")
	}
	return env, rest, cancel, result, stderr
}

func TestRunPrintsEnvServesStateAndDumpsOnExit(t *testing.T) {
	dir := t.TempDir()
	envFile := filepath.Join(dir, "hcp.env")
	env, rest, cancel, result, stderr := started(t, "-env-file", envFile, "-channel", "base/dev", "-channel", "base/prod")

	for _, name := range []string{"HCP_CLIENT_ID", "HCP_CLIENT_SECRET", "HCP_ORGANIZATION_ID", "HCP_PROJECT_ID", "HCP_AUTH_URL"} {
		if env[name] == "" {
			t.Errorf("expected %s in the exports, found %v", name, env)
		}
	}
	if env["HCP_API_TLS"] != "disabled" || env["HCP_AUTH_TLS"] != "insecure" || !strings.HasPrefix(env["HCP_API_ADDRESS"], "127.0.0.1:") {
		t.Errorf("expected a plain-HTTP API on 127.0.0.1 and an insecure auth URL, found %v", env)
	}
	written, err := os.ReadFile(envFile)
	if err != nil || !strings.Contains(string(written), "export HCP_API_ADDRESS='"+env["HCP_API_ADDRESS"]+"'") {
		t.Errorf("-env-file: expected the same export lines, found %q (%v)", written, err)
	}

	// An unknown call, to see it logged and recorded.
	resp, err := http.Get("http://" + env["HCP_API_ADDRESS"] + "/not/a/route")
	if err != nil {
		t.Fatal(err)
	}
	// Only the request matters here; a fully used response body has no
	// Close error worth reporting, so these Close calls just free it.
	_ = resp.Body.Close()

	resp, err = http.Get("http://" + env["HCP_API_ADDRESS"] + "/_emulator/state")
	if err != nil {
		t.Fatal(err)
	}
	var live registry.State
	err = json.NewDecoder(resp.Body).Decode(&live)
	_ = resp.Body.Close()
	if err != nil {
		t.Fatalf("GET /_emulator/state: %v", err)
	}
	if len(live.Buckets) != 1 || live.Buckets[0].Name != "base" || len(live.Channels) != 2 {
		t.Errorf("-channel: expected bucket base with channels dev and prod, found %+v", live)
	}

	cancel()
	var dumped registry.State
	if err := json.NewDecoder(rest).Decode(&dumped); err != nil {
		t.Fatalf("expected the state as JSON on stdout at exit: %v", err)
	}
	if err := <-result; err != nil {
		t.Errorf("run: expected a clean exit, found %v", err)
	}
	if len(dumped.Requests) != 1 || dumped.Requests[0].Op != registry.OpUnknown || dumped.Requests[0].Path != "/not/a/route" {
		t.Errorf("dumped state: expected the unknown request, found %+v", dumped.Requests)
	}
	if log := stderr.String(); !strings.Contains(log, "Unknown") || !strings.Contains(log, "GET /not/a/route -> 404") {
		t.Errorf("expected the request in the log, found %q", log)
	}
}

func TestRunLookupLeavesTheLocationOut(t *testing.T) {
	env, rest, cancel, result, _ := startedWith(t, 6, "-quiet", "-lookup")
	cancel()
	_, _ = io.ReadAll(rest) // the state dump, which run writes before it returns
	if err := <-result; err != nil {
		t.Fatalf("run: %v", err)
	}
	if _, ok := env["HCP_PROJECT_ID"]; ok || env["HCP_ORGANIZATION_ID"] != "" || env["HCP_CLIENT_ID"] == "" || env["HCP_API_ADDRESS"] == "" {
		t.Errorf("-lookup: expected credentials and addresses without organization and project, found %v", env)
	}
}

func TestRunWritesStateFile(t *testing.T) {
	stateFile := filepath.Join(t.TempDir(), "state.json")
	_, rest, cancel, result, _ := started(t, "-quiet", "-state-file", stateFile)
	cancel()
	if err := <-result; err != nil {
		t.Fatalf("run: %v", err)
	}
	if extra, _ := io.ReadAll(rest); len(extra) != 0 {
		t.Errorf("-state-file: expected nothing more on stdout, found %q", extra)
	}
	data, err := os.ReadFile(stateFile)
	if err != nil {
		t.Fatal(err)
	}
	var st registry.State
	if err := json.Unmarshal(data, &st); err != nil || st.Buckets == nil {
		t.Errorf("-state-file: expected the state as JSON, found %q (%v)", data, err)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(stateFile), ".state.json.*")); len(leftovers) != 0 {
		t.Errorf("expected no temporary files left, found %v", leftovers)
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-port", "70000"}, "-port 70000"},
		{[]string{"-channel", "nochannel"}, `"nochannel": want bucket/channel`},
		{[]string{"-channel", "x/dev"}, "bucket name"},
		{[]string{"extra"}, "unexpected arguments"},
	} {
		var stderr bytes.Buffer
		err := run(context.Background(), tc.args, io.Discard, &stderr)
		if err == nil {
			t.Errorf("run %q: expected an error, found none", tc.args)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("run %q: expected an error containing %q, found %v", tc.args, tc.want, err)
		}
	}
}

func TestExportLinesQuote(t *testing.T) {
	got := exportLines(map[string]string{"B": "it's", "A": "plain"})
	want := "export A='plain'\nexport B='it'\\''s'\n"
	if got != want {
		t.Errorf("expected %q, found %q", want, got)
	}
}

func TestDescribe(t *testing.T) {
	line := describe(registry.Request{
		Op: registry.OpUpdateBuild, Method: "PATCH", Path: "/x", Status: 503, Fault: true,
		Body: `{"status":"BUILD_DONE"}`,
	})
	for _, part := range []string{"UpdateBuild", "PATCH /x -> 503", "BUILD_DONE", "injected fault"} {
		if !strings.Contains(line, part) {
			t.Errorf("expected %q in %q", part, line)
		}
	}
	short := describe(registry.Request{Op: registry.OpGetBucket, Method: "GET", Status: 404,
		Path: "/packer/2023-01-01/organizations/o/projects/p/buckets/web"})
	if !strings.Contains(short, "GET .../buckets/web -> 404") {
		t.Errorf("expected the location left out of API paths, found %q", short)
	}
	if line := describe(registry.Request{Op: registry.OpGetBucket, Method: "GET", Path: "/y"}); !strings.Contains(line, "abandoned") {
		t.Errorf("expected an unanswered request described as abandoned, found %q", line)
	}
}
