package acctest

import (
	"context"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/go-version"
	"github.com/hashicorp/hc-install/product"
	"github.com/hashicorp/hc-install/releases"
)

// EnvReleasesURL is the base URL of a HashiCorp release mirror laid out
// like https://releases.hashicorp.com (packer/<version>/index.json, the
// zip, packer_<version>_SHA256SUMS and its .sig). Checksums and HashiCorp's
// signature are verified whatever the URL.
const EnvReleasesURL = "PACKER_ACC_RELEASES_URL"

// DefaultReleasesURL is where official Packer releases are downloaded from.
const DefaultReleasesURL = "https://releases.hashicorp.com"

// releaseReachTimeout bounds how long the first request to the release
// site may take before the harness says it cannot reach it and builds
// Packer from its module instead: a CI runner without internet must not
// wait.
const releaseReachTimeout = 5 * time.Second

// releaseUnavailableError means the release could not be fetched at all
// (no network, no such version on the mirror): building from the module is
// the fallback. Anything else that goes wrong with a release, a checksum or
// signature that does not verify above all, is a refusal, never a fallback.
type releaseUnavailableError struct {
	url string
	err error
}

func (e *releaseUnavailableError) Error() string {
	return fmt.Sprintf("cannot reach the Packer release at %s: %v", e.url, e.err)
}

func (e *releaseUnavailableError) Unwrap() error { return e.err }

// ReleaseRefusedError reports a downloaded release that failed
// verification; Reason says which check failed.
type ReleaseRefusedError struct {
	// URL is the release mirror's base URL.
	URL string
	// Version is the Packer version.
	Version string
	// Reason is "checksum" (the zip does not match the signed SHA256SUMS)
	// or "signature" (SHA256SUMS is not signed by the trusted key), or
	// "download" for any other failure.
	Reason string
	// Err is what hc-install reported.
	Err error
}

func (e *ReleaseRefusedError) Error() string {
	what := map[string]string{
		"checksum":  "the zip does not match the signed SHA256SUMS (tampered or corrupt download)",
		"signature": "its SHA256SUMS signature does not verify with the trusted HashiCorp key",
	}[e.Reason]
	if what == "" {
		what = "the download failed"
	}
	return fmt.Sprintf("refusing Packer %s from %s: %s: %v", e.Version, e.URL, what, e.Err)
}

func (e *ReleaseRefusedError) Unwrap() error { return e.Err }

// releasesURL is the mirror to use.
func (e *ensurer) releasesURL() string {
	if u := e.opts.ReleasesURL; u != "" {
		return strings.TrimRight(u, "/")
	}
	if u := e.opts.getenv(EnvReleasesURL); u != "" {
		return strings.TrimRight(u, "/")
	}
	return DefaultReleasesURL
}

// releaseClient fails fast when the site cannot be reached (connect and
// TLS handshake timeouts) but lets a reachable site take its time over the
// zip.
func releaseClient() *http.Client {
	dialer := &net.Dialer{Timeout: releaseReachTimeout}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = dialer.DialContext
	tr.TLSHandshakeTimeout = releaseReachTimeout
	tr.ResponseHeaderTimeout = 2 * releaseReachTimeout
	return &http.Client{Transport: tr}
}

// probeRelease asks the mirror for the version's index within
// releaseReachTimeout: an error means the release is unavailable.
func probeRelease(ctx context.Context, client *http.Client, base string, v *version.Version) error {
	ctx, cancel := context.WithTimeout(ctx, 2*releaseReachTimeout)
	defer cancel()
	u := fmt.Sprintf("%s/packer/%s/index.json", base, v)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return &releaseUnavailableError{url: base, err: err}
	}
	resp, err := client.Do(req)
	if err != nil {
		return &releaseUnavailableError{url: base, err: err}
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return &releaseUnavailableError{url: base, err: fmt.Errorf("GET %s: %s", u, resp.Status)}
	}
	return nil
}

// installRelease downloads the pinned version with hc-install, verifying
// the zip against SHA256SUMS and SHA256SUMS against HashiCorp's signature
// (or opts.releaseKey in tests), into a fresh directory under the cache,
// and returns the binary's path there.
func (e *ensurer) installRelease(ctx context.Context, work string) (string, error) {
	base := e.releasesURL()
	client := releaseClient()
	e.progressf("downloading Packer %s from %s", e.pinned, base)
	if err := probeRelease(ctx, client, base, e.pinned); err != nil {
		return "", err
	}
	dst := filepath.Join(work, "release")
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return "", err
	}
	ev := &releases.ExactVersion{
		Product:          product.Packer,
		Version:          e.pinned,
		InstallDir:       dst,
		Timeout:          15 * time.Minute,
		ArmoredPublicKey: e.opts.releaseKey,
		HTTPClient:       client,
	}
	if base != DefaultReleasesURL {
		ev.ApiBaseURL = base
	}
	// hc-install v0.10.0 loses its "checksum mismatch" error (a deferred
	// cleanup overwrites it) and fails later on chmod of the binary it
	// never unpacked; its log still says why, so the log decides.
	var hcLog tailBuffer
	ev.SetLogger(log.New(&hcLog, "", 0))
	stop := e.ticker(fmt.Sprintf("downloading Packer %s", e.pinned))
	path, err := ev.Install(ctx)
	stop()
	if err != nil {
		reason := refusalReason(err, hcLog.String())
		if reason == "checksum" && !strings.Contains(err.Error(), "checksum") {
			err = fmt.Errorf("%s (%w)", lastLine(hcLog.String(), "checksum does not match"), err)
		}
		return "", &ReleaseRefusedError{URL: base, Version: e.pinned.String(), Reason: reason, Err: err}
	}
	return path, nil
}

// lastLine returns the last line of text containing substr.
func lastLine(text, substr string) string {
	lines := strings.Split(text, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.Contains(lines[i], substr) {
			return strings.TrimSpace(lines[i])
		}
	}
	return substr
}

func refusalReason(err error, hcLog string) string {
	msg := err.Error()
	switch {
	case strings.Contains(hcLog, "checksum does not match"):
		return "checksum"
	case strings.Contains(msg, "checksum mismatch"), strings.Contains(msg, "no checksum found"):
		return "checksum"
	case strings.Contains(msg, "signature"), strings.Contains(msg, "sig file"):
		return "signature"
	}
	return "download"
}

// ticker prints "<what>: still working (Ns)" every progressEvery until the
// returned stop is called, so a long install is never silent for more
// than that.
func (e *ensurer) ticker(what string) (stop func()) {
	done := make(chan struct{})
	stopped := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(stopped)
		t := time.NewTicker(e.opts.progressEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				e.progressf("%s: still working (%s so far)", what, time.Since(start).Round(time.Second))
			}
		}
	}()
	return func() {
		close(done)
		<-stopped
	}
}
