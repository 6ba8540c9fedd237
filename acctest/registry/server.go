package registry

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// apiPrefix is where every route of the 2023-01-01 Packer service lives.
const apiPrefix = "/packer/2023-01-01/organizations/{org}/projects/{proj}"

// maxBody bounds what the emulator reads of a request body; Packer's largest
// bodies are SBOM uploads.
const maxBody = 32 << 20

// tokenLifetime is how long an issued access token says it is valid. The HCP
// SDK caches tokens per client id, and every Server has its own client id, so
// a cached token never reaches a different emulator.
const tokenLifetime = time.Hour

// Server is a local HCP Packer registry. It answers the API calls Packer
// makes during `packer build` and in its HCP data sources (hcp-packer-version
// and hcp-packer-artifact, and the deprecated hcp-packer-iteration and
// hcp-packer-image), the resource-manager lookups of the organization and
// project, and the revocation of versions; it records them, and keeps the
// state they build up (buckets, versions, builds, channels) for tests to
// inspect.
//
// It listens twice on the loopback interface: plain HTTP for the API, and
// HTTPS for the OAuth2 token endpoint, because the HCP SDK only accepts an
// https auth URL. Env gives the variables that point Packer at both.
//
// All methods are safe for concurrent use.
type Server struct {
	// Addr is the address the API listens on. Empty means "127.0.0.1:0".
	// Only loopback addresses are accepted.
	Addr string
	// AuthAddr is the address the token endpoint listens on, like Addr.
	AuthAddr string
	// ClientID, ClientSecret, OrganizationID and ProjectID are the
	// credentials and location the emulator accepts. Start generates the
	// empty ones.
	ClientID       string
	ClientSecret   string
	OrganizationID string
	ProjectID      string
	// OnRequest, when set, is called with a copy of every request once it
	// has been answered. It must not block for long: it runs on the
	// request's goroutine.
	OnRequest func(Request)

	// URL is the base URL of the API ("http://127.0.0.1:port"). Start sets it.
	URL string
	// AuthURL is the base URL of the token endpoint ("https://127.0.0.1:port").
	// Start sets it.
	AuthURL string

	mu      sync.Mutex
	started bool
	closed  bool
	closing chan struct{}
	servers []*http.Server
	serving sync.WaitGroup
	tokens  map[string]bool
	now     func() time.Time
	// startedAt is when Start ran: the creation time of the emulator's
	// organization and project.
	startedAt time.Time

	buckets  []*Bucket
	versions []*Version
	builds   []*Build
	channels []*Channel
	enforced []*EnforcedBlock
	requests []*Request
	faults   []*Fault
}

// NewUnstartedServer returns a Server that is not listening yet, so its
// fields can be set before calling Start. (A zero Server is not usable.)
func NewUnstartedServer() *Server {
	return &Server{closing: make(chan struct{}), tokens: map[string]bool{}, now: time.Now}
}

// NewServer starts a Server on 127.0.0.1 and closes it when the test ends.
// It fails the test if the server cannot start.
func NewServer(t testing.TB) *Server {
	t.Helper()
	s := NewUnstartedServer()
	if err := s.Start(); err != nil {
		t.Fatalf("starting the HCP Packer registry emulator: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// Start generates missing credentials and starts listening. It fails when
// the server was started before, when an address is not a loopback address,
// or when it cannot listen.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started || s.closed {
		return errors.New("registry: Start called twice or after Close")
	}
	apiAddr, err := loopbackAddr("Addr", s.Addr)
	if err != nil {
		return err
	}
	authAddr, err := loopbackAddr("AuthAddr", s.AuthAddr)
	if err != nil {
		return err
	}
	if s.ClientID == "" {
		s.ClientID = "emulator-" + newSecret(8)
	}
	if s.ClientSecret == "" {
		s.ClientSecret = newSecret(16)
	}
	if s.OrganizationID == "" {
		s.OrganizationID = "org-" + strings.ToLower(newULID(s.now()))
	}
	if s.ProjectID == "" {
		s.ProjectID = "proj-" + strings.ToLower(newULID(s.now()))
	}
	s.startedAt = s.now().UTC()
	cert, err := selfSignedCert(s.now())
	if err != nil {
		return err
	}

	apiLn, err := net.Listen("tcp", apiAddr)
	if err != nil {
		return fmt.Errorf("registry: listening for the API on %s: %w", apiAddr, err)
	}
	authLn, err := net.Listen("tcp", authAddr)
	if err != nil {
		// The listen error is the one to report; apiLn was never served.
		_ = apiLn.Close()
		return fmt.Errorf("registry: listening for the token endpoint on %s: %w", authAddr, err)
	}
	authLn = tls.NewListener(authLn, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})

	s.URL = "http://" + apiLn.Addr().String()
	s.AuthURL = "https://" + authLn.Addr().String()
	handler := s.routes()
	// Handshake noise from clients that probe and go away is not interesting
	// in test output.
	quiet := log.New(io.Discard, "", 0)
	for _, ln := range []net.Listener{apiLn, authLn} {
		srv := &http.Server{Handler: handler, ErrorLog: quiet, ReadHeaderTimeout: time.Minute}
		s.servers = append(s.servers, srv)
		s.serving.Add(1)
		go func() {
			defer s.serving.Done()
			_ = srv.Serve(ln)
		}()
	}
	s.started = true
	return nil
}

func loopbackAddr(field, addr string) (string, error) {
	if addr == "" {
		return "127.0.0.1:0", nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("registry: %s %q: %w", field, addr, err)
	}
	if host == "localhost" {
		return addr, nil
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return "", fmt.Errorf("registry: %s %q: the emulator only listens on a loopback address such as 127.0.0.1", field, addr)
	}
	return addr, nil
}

// Close stops the server. Stalled calls are answered 503 (code 14) and
// Close waits for every request in flight to finish. Calling it again does
// nothing.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	close(s.closing)
	servers := s.servers
	s.mu.Unlock()

	for _, srv := range servers {
		_ = srv.Shutdown(context.Background())
	}
	s.serving.Wait()
}

// Env returns the environment, as "NAME=value" entries, that points Packer's
// HCP client at the started server. It names no bucket: templates do, with an
// hcp_packer_registry block or HCP_PACKER_BUCKET_NAME.
func (s *Server) Env() []string {
	m := s.EnvMap()
	env := make([]string, 0, len(m))
	for k, v := range m {
		env = append(env, k+"="+v)
	}
	sort.Strings(env)
	return env
}

// EnvMap returns the same environment as Env, as a map.
func (s *Server) EnvMap() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return map[string]string{
		"HCP_CLIENT_ID":       s.ClientID,
		"HCP_CLIENT_SECRET":   s.ClientSecret,
		"HCP_ORGANIZATION_ID": s.OrganizationID,
		"HCP_PROJECT_ID":      s.ProjectID,
		// The SDK wants host:port here, without a scheme.
		"HCP_API_ADDRESS": strings.TrimPrefix(s.URL, "http://"),
		"HCP_API_TLS":     "disabled",
		"HCP_AUTH_URL":    s.AuthURL,
		"HCP_AUTH_TLS":    "insecure",
	}
}

// EnvWithoutLocation is Env without HCP_ORGANIZATION_ID and HCP_PROJECT_ID,
// as a user with only a service principal's credentials has it: Packer
// then finds the organization and the project through the resource-manager
// API, which the emulator answers with its own.
func (s *Server) EnvWithoutLocation() []string {
	var env []string
	for _, kv := range s.Env() {
		name, _, _ := strings.Cut(kv, "=")
		if name != "HCP_ORGANIZATION_ID" && name != "HCP_PROJECT_ID" {
			env = append(env, kv)
		}
	}
	return env
}

// handler answers one route. It runs with s.mu held and returns the HTTP
// status and the value to send as JSON.
type handler func(r *http.Request, body []byte) (int, any)

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	api := func(method, path string, op Op, h handler) {
		mux.Handle(method+" "+apiPrefix+path, s.wrap(op, true, h))
	}
	api("GET", "/registry", OpGetRegistry, s.getRegistry)
	api("GET", "/buckets/{bucket}", OpGetBucket, s.getBucket)
	api("PUT", "/buckets", OpCreateBucket, s.createBucket)
	api("PATCH", "/buckets/{bucket}", OpUpdateBucket, s.updateBucket)
	api("GET", "/buckets/{bucket}/versions/{fingerprint}", OpGetVersion, s.getVersion)
	api("POST", "/buckets/{bucket}/versions", OpCreateVersion, s.createVersion)
	api("PATCH", "/buckets/{bucket}/versions/{fingerprint}", OpUpdateVersion, s.updateVersion)
	api("GET", "/buckets/{bucket}/versions/{fingerprint}/builds", OpListBuilds, s.listBuilds)
	api("POST", "/buckets/{bucket}/versions/{fingerprint}/builds", OpCreateBuild, s.createBuild)
	api("GET", "/buckets/{bucket}/versions/{fingerprint}/builds/{build}", OpGetBuild, s.getBuild)
	api("PATCH", "/buckets/{bucket}/versions/{fingerprint}/builds/{build}", OpUpdateBuild, s.updateBuild)
	api("PUT", "/buckets/{bucket}/versions/{fingerprint}/builds/{build}/sboms", OpUploadSbom, s.uploadSbom)
	api("GET", "/enforced_blocks/bucket/{bucket}", OpGetEnforcedBlocks, s.getEnforcedBlocks)
	api("GET", "/buckets/{bucket}/channels/{channel}", OpGetChannel, s.getChannel)
	api("PATCH", "/buckets/{bucket}/channels/{channel}", OpUpdateChannel, s.updateChannel)
	deprecated := func(path string, op Op, h handler) {
		mux.Handle("GET "+deprecatedPrefix+path, s.wrap(op, true, h))
	}
	deprecated("/registry", OpGetRegistry, s.getRegistry)
	deprecated("/images/{bucket}/channels/{channel}", OpGetIterationChannel, s.getDeprecatedChannel)
	deprecated("/images/{bucket}/iteration", OpGetIteration, s.getIteration)
	rm := func(path string, op Op, h handler) {
		mux.Handle("GET "+rmPrefix+path, s.wrap(op, true, h))
	}
	rm("/organizations", OpListOrganizations, s.listOrganizations)
	rm("/organizations/{id}", OpGetOrganization, s.getOrganization)
	rm("/projects", OpListProjects, s.listProjects)
	rm("/projects/{id}", OpGetProject, s.getProject)
	mux.Handle("POST /oauth2/token", s.wrap(OpToken, false, s.token))
	mux.HandleFunc("GET /_emulator/state", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, s.State())
	})
	// "/" matches every method and path the routes above do not, so a call
	// Packer makes that the emulator does not know lands here instead of in
	// the mux's plain-text 404 or 405.
	mux.Handle("/", s.wrap(OpUnknown, false, func(r *http.Request, _ []byte) (int, any) {
		return errResult(errorf(CodeNotFound, fmt.Sprintf("emulator: no route for %s %s", r.Method, r.URL.Path)))
	}))
	return mux
}

// faultResult is the answer of an injected fault: OAuth2's error shape on
// the token endpoint, google.rpc.Status on the API.
func faultResult(op Op, e *apiError) (int, any) {
	if op != OpToken {
		return errResult(e)
	}
	code := e.oauth
	if code == "" {
		code = oauthErrorFor(e.code)
	}
	return e.status, oauthError{Error: code, Description: e.message}
}

// oauthError is the error body of an OAuth2 token endpoint (RFC 6749,
// section 5.2).
type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// oauthErrorFor maps a google.rpc code to the OAuth2 error a token endpoint
// answers in its place.
func oauthErrorFor(code int) string {
	switch code {
	case CodeInvalidArgument:
		return "invalid_request"
	case CodeUnauthenticated:
		return "invalid_client"
	case CodePermissionDenied:
		return "unauthorized_client"
	case CodeFailedPrecondition:
		return "invalid_grant"
	case CodeUnavailable, CodeResourceExhausted, CodeDeadlineExceeded:
		return "temporarily_unavailable"
	}
	return "server_error"
}

func errResult(e *apiError) (int, any) {
	return e.status, rpcStatus{Code: e.code, Message: e.message, Details: []any{}}
}

var pathParams = []string{"bucket", "fingerprint", "build", "channel"}

// wrap records the request, applies faults, checks the caller (for API
// routes) and runs h under the lock.
func (s *Server) wrap(op Op, checkAuth bool, h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, readErr := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
		params := map[string]string{}
		for _, p := range pathParams {
			if v := r.PathValue(p); v != "" {
				params[p] = v
			}
		}
		req := s.record(op, r, body, params)

		ferr, applied, abandoned := s.applyFaults(r.Context(), req)
		switch {
		case abandoned:
			s.finish(req, 0, false)
			return
		case ferr != nil && !applied:
			// The call never reached the service: nothing changes.
			status, v := faultResult(op, ferr)
			writeJSON(w, status, v)
			s.finish(req, status, true)
			return
		}

		var status int
		var v any
		switch {
		case readErr != nil:
			status, v = errResult(errorf(CodeInvalidArgument, "emulator: reading the request body: "+readErr.Error()))
		case len(body) > maxBody:
			status, v = errResult(errorf(CodeInvalidArgument, fmt.Sprintf("emulator: request body larger than %d bytes", maxBody)))
		default:
			s.mu.Lock()
			s.tick()
			if e := s.checkCaller(r, checkAuth); e != nil {
				status, v = errResult(e)
			} else {
				status, v = h(r, body)
			}
			s.mu.Unlock()
		}
		if ferr != nil && status < 300 {
			// The call took effect, and its answer is the fault.
			status, v = faultResult(op, ferr)
			writeJSON(w, status, v)
			s.finish(req, status, true)
			return
		}
		writeJSON(w, status, v)
		s.finish(req, status, false)
	})
}

// checkCaller answers like the service does to a missing or foreign token,
// and to a location other than the configured organization and project.
func (s *Server) checkCaller(r *http.Request, checkAuth bool) *apiError {
	if !checkAuth {
		return nil
	}
	auth := r.Header.Get("Authorization")
	token, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok || !s.tokens[token] {
		return errorf(CodeUnauthenticated, "unauthenticated: a bearer token issued by this emulator is required")
	}
	if !strings.HasPrefix(r.URL.Path, "/packer/") {
		// Resource-manager routes carry no location in their path.
		return nil
	}
	if org := r.PathValue("org"); org != s.OrganizationID {
		return errorf(CodePermissionDenied, fmt.Sprintf("permission denied: organization %q is not %q", org, s.OrganizationID))
	}
	if proj := r.PathValue("proj"); proj != s.ProjectID {
		return errorf(CodePermissionDenied, fmt.Sprintf("permission denied: project %q is not %q", proj, s.ProjectID))
	}
	return nil
}

func (s *Server) record(op Op, r *http.Request, body []byte, params map[string]string) *Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	req := &Request{
		Seq:    len(s.requests) + 1,
		Time:   s.now().UTC(),
		Op:     op,
		Method: r.Method,
		Path:   r.URL.Path,
		Query:  r.URL.RawQuery,
		Params: params,
		Header: r.Header.Clone(),
		Body:   string(body),
	}
	s.requests = append(s.requests, req)
	return req
}

func (s *Server) finish(req *Request, status int, fault bool) {
	s.mu.Lock()
	req.Status = status
	req.Fault = fault
	cp := req.clone()
	hook := s.OnRequest
	s.mu.Unlock()
	if hook != nil {
		hook(cp)
	}
}
