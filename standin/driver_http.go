package standin

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/example/packer-plugin-scaffolding/internal/redact"
)

// ErrReadOnly is returned (wrapped) by the methods of a store read over
// http(s) that would change something.
var ErrReadOnly = errors.New("store is read-only")

type readOnlyError struct{ store string }

func (e readOnlyError) Error() string        { return "store " + e.store + " is read-only" }
func (e readOnlyError) Is(target error) bool { return target == ErrReadOnly }

const (
	defaultHTTPTimeout = 30 * time.Second
	defaultBackoff     = 500 * time.Millisecond
	maxBackoff         = 8 * time.Second
	// maxIndexSize bounds how much of an index is read, so a wrong URL that
	// serves something endless fails instead of exhausting memory.
	maxIndexSize = 64 << 20
)

// httpDriver reads a store published over http(s): the same layout as a
// store directory, served by any static file server. It can find and
// verify images; everything else is refused.
type httpDriver struct {
	base    *url.URL // no userinfo, path ends in "/"
	user    *url.Userinfo
	token   string
	client  *http.Client
	timeout time.Duration
	retries int
	backoff time.Duration
}

var _ Driver = (*httpDriver)(nil)

func newHTTPDriver(location string, opts StoreOptions) (Driver, error) {
	u, err := url.Parse(location)
	if err != nil {
		// url.Parse errors quote the whole input, credentials included.
		return nil, fmt.Errorf("store %s is not a valid URL", redactRawURL(location))
	}
	if s := strings.ToLower(u.Scheme); (s != "http" && s != "https") || u.Host == "" {
		return nil, fmt.Errorf("store %s is not an http(s) URL with a host", redactRawURL(location))
	}
	user := u.User
	u.User = nil
	u.Fragment, u.RawFragment = "", ""
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
		if u.RawPath != "" {
			u.RawPath += "/"
		}
	}
	d := &httpDriver{
		base:    u,
		user:    user,
		token:   opts.Token,
		client:  &http.Client{},
		timeout: opts.Timeout,
		retries: opts.Retries,
		backoff: defaultBackoff,
	}
	if d.timeout <= 0 {
		d.timeout = defaultHTTPTimeout
	}
	if d.retries < 0 {
		d.retries = 0
	}
	return d, nil
}

// redactRawURL drops the userinfo of a URL that may not even parse.
func redactRawURL(s string) string { return redact.URL(s) }

func (d *httpDriver) String() string { return d.base.String() }

func (d *httpDriver) resolve(rel string) *url.URL {
	return d.base.ResolveReference(&url.URL{Path: rel})
}

// scrub removes the credentials from text that came from the server, in
// case the server echoes request headers back: the token, and the basic-auth
// password in every form it takes on the wire (plain, "user:password" and
// its base64 in the Authorization header).
func (d *httpDriver) scrub(s string) string {
	for _, secret := range d.secrets() {
		s = strings.ReplaceAll(s, secret, "[redacted]")
	}
	return s
}

// secrets lists what scrub removes, longest first so a secret inside
// another is not half-replaced.
func (d *httpDriver) secrets() []string {
	var out []string
	if d.token != "" {
		out = append(out, d.token)
	}
	if d.user != nil {
		if pw, ok := d.user.Password(); ok && pw != "" {
			pair := d.user.Username() + ":" + pw
			out = append(out, base64.StdEncoding.EncodeToString([]byte(pair)), pair, pw)
		}
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// transportError marks failures worth retrying: the connection broke or
// the server answered 5xx.
type transportError struct{ err error }

func (e *transportError) Error() string { return e.err.Error() }
func (e *transportError) Unwrap() error { return e.err }

// bodyReader tags read errors so they are told apart from errors the
// consumer makes on good data (a digest mismatch is not retried).
type bodyReader struct{ r io.Reader }

func (b bodyReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		err = &transportError{err}
	}
	return n, err
}

// get fetches u and hands the body to consume, retrying transport failures
// with exponential backoff. consume may be called once per attempt.
func (d *httpDriver) get(ctx context.Context, u *url.URL, consume func(io.Reader) error) error {
	delay := d.backoff
	for attempt := 0; ; attempt++ {
		err := d.try(ctx, u, consume)
		var te *transportError
		if err == nil || !errors.As(err, &te) || attempt >= d.retries || ctx.Err() != nil {
			if err != nil && attempt > 0 {
				return fmt.Errorf("%w (after %d attempts)", err, attempt+1)
			}
			return err
		}
		log.Printf("[WARN] %v; retrying in %s", err, delay)
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return fmt.Errorf("%w (retry cancelled: %v)", err, ctx.Err())
		}
		if delay *= 2; delay > maxBackoff {
			delay = maxBackoff
		}
	}
}

func (d *httpDriver) try(ctx context.Context, u *url.URL, consume func(io.Reader) error) error {
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return fmt.Errorf("GET %s: %w", u, err)
	}
	if d.token != "" {
		req.Header.Set("Authorization", "Bearer "+d.token)
	} else if d.user != nil {
		pw, _ := d.user.Password()
		req.SetBasicAuth(d.user.Username(), pw)
	}
	resp, err := d.client.Do(req)
	if err != nil {
		// *url.Error repeats the request URL; ours is already in the text.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return &transportError{fmt.Errorf("GET %s: %v", u, err)}
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		// Scrubbed before it is cut, so a secret cannot survive by being
		// cut in half.
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		snippet := d.scrub(string(body))
		if len(snippet) > 256 {
			snippet = snippet[:256]
		}
		msg := fmt.Errorf("GET %s: server answered %s", u, resp.Status)
		if s := strings.TrimSpace(snippet); s != "" {
			msg = fmt.Errorf("GET %s: server answered %s: %s", u, resp.Status, s)
		}
		if resp.StatusCode >= 500 {
			return &transportError{msg}
		}
		return msg
	}
	if err := consume(bodyReader{ctxReader{ctx, resp.Body}}); err != nil {
		var te *transportError
		if errors.As(err, &te) {
			return &transportError{fmt.Errorf("GET %s: %v", u, te.err)}
		}
		return err
	}
	return nil
}

// index downloads the index (up to maxIndexSize) and scans it, keeping
// what want lets through (see scanIndex).
func (d *httpDriver) index(ctx context.Context, want *indexFilter, keep func(indexEntry)) error {
	u := d.resolve(indexFileName)
	return d.get(ctx, u, func(r io.Reader) error {
		data, err := io.ReadAll(io.LimitReader(r, maxIndexSize+1))
		if err != nil {
			return err
		}
		if len(data) > maxIndexSize {
			return fmt.Errorf("image store index %s is larger than %d bytes", u, maxIndexSize)
		}
		// A retried download starts over: only the last try's entries count.
		var entries []indexEntry
		reopen := func() (io.Reader, error) { return bytes.NewReader(data), nil }
		if err := scanIndex(bytes.NewReader(data), reopen, u.String(), want, func(e indexEntry) { entries = append(entries, e) }); err != nil {
			return err
		}
		for _, e := range entries {
			keep(e)
		}
		return nil
	})
}

// FindImages implements Driver. An image's Location is the absolute URL of
// its archive.
func (d *httpDriver) FindImages(ctx context.Context, filter ImageFilter) ([]Image, error) {
	read := func(want *indexFilter, keep func(indexEntry)) error { return d.index(ctx, want, keep) }
	return findInIndex(read, filter, func(e indexEntry) string { return d.resolve(e.File).String() })
}

// VerifyImage downloads the archive and hashes it.
func (d *httpDriver) VerifyImage(ctx context.Context, img Image) error {
	if err := validateImageID(img.ID); err != nil {
		return err
	}
	var idx storeIndex
	if err := d.index(ctx, imageFilter(img), func(e indexEntry) { idx.Images = append(idx.Images, e) }); err != nil {
		return err
	}
	e, ok := lookup(&idx, img)
	if !ok {
		return fmt.Errorf("image %s in region %q of store %s: %w", img.ID, img.Region, d, ErrImageNotFound)
	}
	u := d.resolve(e.File)
	return d.get(ctx, u, func(r io.Reader) error {
		h := sha256.New()
		if _, err := io.Copy(h, r); err != nil {
			return err
		}
		if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != e.ID {
			return fmt.Errorf("image %s: archive %s hashes to %s: %w", e.ID, u, got, ErrChecksumMismatch)
		}
		return nil
	})
}

func (d *httpDriver) readOnly(op string) error {
	return fmt.Errorf("%s: %w", op, readOnlyError{d.base.String()})
}

// RunInstance implements Driver; a store read over http(s) cannot run
// instances.
func (d *httpDriver) RunInstance(context.Context, LaunchSpec) (*Instance, error) {
	return nil, d.readOnly("running an instance")
}

// StopInstance implements Driver by refusing.
func (d *httpDriver) StopInstance(context.Context, *Instance) error {
	return d.readOnly("stopping an instance")
}

// CreateImage implements Driver by refusing.
func (d *httpDriver) CreateImage(context.Context, *Instance, ImageSpec) (Image, error) {
	return Image{}, d.readOnly("creating an image")
}

// TerminateInstance implements Driver by refusing.
func (d *httpDriver) TerminateInstance(context.Context, *Instance) error {
	return d.readOnly("terminating an instance")
}

// DeregisterImage implements Driver by refusing.
func (d *httpDriver) DeregisterImage(context.Context, Image) error {
	return d.readOnly("deregistering an image")
}

// CopyImage implements Driver by refusing.
func (d *httpDriver) CopyImage(context.Context, Image, string) (Image, error) {
	return Image{}, d.readOnly("copying an image")
}
