package registry

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Revocation follows the HCP Packer service (the UpdateVersion body of
// hcp-sdk-go's packer service 2023-01-01, and HCP's "Revoke and restore
// artifact versions"):
//
//   - A version is revoked at a time: now (revoke_at now or in the past,
//     revoke_in "0s"), or later (a scheduled revocation; the version stays
//     usable, VERSION_REVOCATION_SCHEDULED, until then).
//   - When the revocation takes effect, the managed "latest" channel moves
//     to the bucket's newest complete version that is not revoked (or to
//     none), and every user channel that points at the version rolls back
//     to the newest version in its assignment history that is still valid
//     (or to none). With disable_rollback_channels an immediate revocation
//     of a version a user channel points at is refused, as the service did
//     before channel rollback existed; a scheduled one leaves the channel.
//   - Its descendants (versions with a build whose parent_version_id is a
//     revoked version, transitively, in any bucket) inherit the revocation,
//     unless skip_descendants_revocation is set.
//   - Restoring a version makes it valid again, with the descendants that
//     inherited its revocation; "latest" follows, user channels stay.

// RevocationType says how a version came to be revoked.
type RevocationType string

// The revocation types of the API.
const (
	// RevocationManual: the version itself was revoked.
	RevocationManual RevocationType = "MANUAL"
	// RevocationInherited: an ancestor was revoked, and the version
	// inherited it.
	RevocationInherited RevocationType = "INHERITED"
)

// Revocation describes how to revoke a version with
// Server.RevokeVersionWith. The zero value revokes now, rolls channels back
// and revokes the descendants, like Server.RevokeVersion.
type Revocation struct {
	// At is when the revocation takes effect; zero or not after now
	// means now.
	At time.Time
	// Message is the reason, shown as revocation_message.
	Message string
	// SkipDescendants leaves the version's descendants valid.
	SkipDescendants bool
	// DisableRollback does not roll user channels back (see the rules
	// above); "latest" always follows.
	DisableRollback bool
}

// revocationState is what a scheduled revocation needs when it takes
// effect.
type revocationState struct {
	disableRollback bool
}

// RevokeVersion revokes a version now, as the service does by default:
// the channels that point at it roll back to the previous valid version,
// and its descendants are revoked too.
func (s *Server) RevokeVersion(bucket, fingerprint string) error {
	return s.RevokeVersionWith(bucket, fingerprint, Revocation{})
}

// RevokeVersionWith revokes a version as the API's PATCH of a version with
// revoke_at does, with the given options.
func (s *Server) RevokeVersionWith(bucket, fingerprint string, opts Revocation) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tick()
	v := s.version(bucket, fingerprint)
	if v == nil {
		return fmt.Errorf("registry: bucket %q has no version with fingerprint %q", bucket, fingerprint)
	}
	if e := s.revoke(v, opts, s.ClientID); e != nil {
		return fmt.Errorf("registry: %s", e.message)
	}
	return nil
}

// RestoreVersion makes a revoked (or scheduled) version valid again, with
// the descendants that inherited its revocation.
func (s *Server) RestoreVersion(bucket, fingerprint string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tick()
	v := s.version(bucket, fingerprint)
	if v == nil {
		return fmt.Errorf("registry: bucket %q has no version with fingerprint %q", bucket, fingerprint)
	}
	if e := s.restore(v); e != nil {
		return fmt.Errorf("registry: %s", e.message)
	}
	return nil
}

// SetClock replaces the clock the emulator reads (time.Now by default),
// so a test can make a scheduled revocation take effect without waiting.
// The clock must not call the Server.
func (s *Server) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
	s.tick()
}

func (v *Version) revoked() bool { return v.Status == VersionRevoked }

// valid says whether a channel may point at v: complete and not revoked.
func (v *Version) valid() bool { return v.Name != IncompleteVersionName && !v.revoked() }

// updateVersion answers PATCH .../versions/{fingerprint}: revoke, schedule
// a revocation, or restore.
func (s *Server) updateVersion(r *http.Request, body []byte) (int, any) {
	v, e := s.needVersion(r.PathValue("bucket"), r.PathValue("fingerprint"))
	if e != nil {
		return errResult(e)
	}
	var in struct {
		Complete                  bool   `json:"complete"`
		DisableRollbackChannels   bool   `json:"disable_rollback_channels"`
		Restore                   bool   `json:"restore"`
		RevocationMessage         string `json:"revocation_message"`
		RevokeAt                  string `json:"revoke_at"`
		RevokeIn                  string `json:"revoke_in"`
		SkipDescendantsRevocation bool   `json:"skip_descendants_revocation"`
	}
	if e := decode(body, &in); e != nil {
		return errResult(e)
	}
	revoking := in.RevokeAt != "" || in.RevokeIn != ""
	switch {
	case in.Restore && revoking:
		return errResult(errorf(CodeInvalidArgument, "restore cannot be combined with revoke_at or revoke_in"))
	case in.RevokeAt != "" && in.RevokeIn != "":
		return errResult(errorf(CodeInvalidArgument, "only one of revoke_at and revoke_in can be set"))
	case in.Restore:
		if e := s.restore(v); e != nil {
			return errResult(e)
		}
		return ok(map[string]any{"version": s.wireVersion(v)})
	case in.Complete:
		// Versions complete when their builds are done; the service
		// derives it the same way.
		return errResult(errorf(CodeInvalidArgument, "complete: the emulator completes a version when all its builds are done"))
	case !revoking:
		return errResult(errorf(CodeInvalidArgument, "nothing to update: set revoke_at, revoke_in or restore"))
	}
	now := s.now().UTC()
	var at time.Time
	if in.RevokeAt != "" {
		t, err := time.Parse(time.RFC3339Nano, in.RevokeAt)
		if err != nil {
			return errResult(errorf(CodeInvalidArgument, fmt.Sprintf("revoke_at %q: not an RFC 3339 timestamp", in.RevokeAt)))
		}
		at = t.UTC()
	} else {
		d, err := parseRevokeIn(in.RevokeIn)
		if err != nil {
			return errResult(errorf(CodeInvalidArgument, err.Error()))
		}
		at = now.Add(d)
	}
	opts := Revocation{At: at, Message: in.RevocationMessage, SkipDescendants: in.SkipDescendantsRevocation, DisableRollback: in.DisableRollbackChannels}
	if e := s.revoke(v, opts, s.ClientID); e != nil {
		return errResult(e)
	}
	return ok(map[string]any{"version": s.wireVersion(v)})
}

var revokeInRE = regexp.MustCompile(`^(\d+(?:\.\d+)?)(s|m|h|d)`)

// parseRevokeIn reads a signed duration such as "30d", "2h45m" or "0s"; a
// negative one is in the past, so it revokes now.
func parseRevokeIn(in string) (time.Duration, error) {
	rest := strings.TrimSpace(in)
	sign := time.Duration(1)
	if r, ok := strings.CutPrefix(rest, "-"); ok {
		rest, sign = r, -1
	} else {
		rest = strings.TrimPrefix(rest, "+")
	}
	if rest == "" {
		return 0, fmt.Errorf("revoke_in %q: empty duration", in)
	}
	var total time.Duration
	for rest != "" {
		m := revokeInRE.FindStringSubmatch(rest)
		if m == nil {
			return 0, fmt.Errorf("revoke_in %q: want numbers with units s, m, h or d, such as 30d or 2h45m", in)
		}
		n, _ := strconv.ParseFloat(m[1], 64)
		unit := map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour, "d": 24 * time.Hour}[m[2]]
		total += time.Duration(n * float64(unit))
		rest = rest[len(m[0]):]
	}
	return sign * total, nil
}

// revoke revokes v (now or at opts.At) with its descendants. It checks
// everything before changing anything.
func (s *Server) revoke(v *Version, opts Revocation, author string) *apiError {
	now := s.now().UTC()
	at := opts.At.UTC()
	if at.IsZero() || !at.After(now) {
		at = now
	}
	if v.revoked() {
		return errorf(CodeFailedPrecondition, fmt.Sprintf("version %q of bucket %q is already revoked", v.Fingerprint, v.Bucket))
	}
	set := []*Version{v}
	if !opts.SkipDescendants {
		set = append(set, s.descendants(v)...)
	}
	immediate := !at.After(now)
	if immediate && opts.DisableRollback {
		for _, c := range s.channels {
			if c.Managed || c.Fingerprint == "" {
				continue
			}
			if slices.ContainsFunc(set, func(x *Version) bool { return x.Bucket == c.Bucket && x.Fingerprint == c.Fingerprint }) {
				return errorf(CodeFailedPrecondition, fmt.Sprintf(
					"version %q is assigned to channel %q of bucket %q: revoke it with channel rollback, or unassign the channel first",
					c.Fingerprint, c.Name, c.Bucket))
			}
		}
	}
	for _, x := range set {
		if x != v && (x.revoked() || (!x.RevokeAt.IsZero() && !x.RevokeAt.After(at))) {
			// Revoked already, or scheduled earlier: the earlier
			// revocation stands.
			continue
		}
		x.RevokeAt = at
		x.RevocationMessage = opts.Message
		x.RevocationAuthor = author
		x.RevocationType = RevocationManual
		x.RevocationInheritedFrom = ""
		if x != v {
			x.RevocationType = RevocationInherited
			x.RevocationInheritedFrom = v.ID
		}
		x.revocation = &revocationState{disableRollback: opts.DisableRollback}
		x.Status = VersionRevocationScheduled
		x.UpdatedAt = now
	}
	s.tick()
	return nil
}

// descendants returns the versions built from v, transitively: those
// with a build whose parent_version_id is v or one of its descendants.
func (s *Server) descendants(v *Version) []*Version {
	var out []*Version
	seen := map[string]bool{v.ID: true}
	queue := []string{v.ID}
	for len(queue) > 0 {
		parent := queue[0]
		queue = queue[1:]
		for _, b := range s.builds {
			if b.ParentVersionID != parent || seen[b.VersionID] {
				continue
			}
			child := s.versionByID(b.VersionID)
			if child == nil {
				continue
			}
			seen[child.ID] = true
			out = append(out, child)
			queue = append(queue, child.ID)
		}
	}
	return out
}

func (s *Server) versionByID(id string) *Version {
	for _, v := range s.versions {
		if v.ID == id {
			return v
		}
	}
	return nil
}

// tick makes the revocations that are due take effect: the versions
// become VERSION_REVOKED and the channels that point at them move.
func (s *Server) tick() {
	now := s.now().UTC()
	var due []*Version
	for _, v := range s.versions {
		if v.Status == VersionRevocationScheduled && !v.RevokeAt.After(now) {
			v.Status = VersionRevoked
			v.UpdatedAt = now
			due = append(due, v)
		}
	}
	if len(due) == 0 {
		return
	}
	for _, c := range s.channels {
		if c.Fingerprint == "" {
			continue
		}
		i := slices.IndexFunc(due, func(v *Version) bool { return v.Bucket == c.Bucket && v.Fingerprint == c.Fingerprint })
		if i < 0 {
			continue
		}
		switch {
		case c.Managed:
			s.moveLatest(c.Bucket)
		case due[i].revocation == nil || !due[i].revocation.disableRollback:
			s.rollBack(c)
		}
	}
}

// rollBack points a user channel at the newest valid version of its
// assignment history, or at none.
func (s *Server) rollBack(c *Channel) {
	for i := len(c.History) - 1; i >= 0; i-- {
		if v := s.version(c.Bucket, c.History[i]); v != nil && v.valid() {
			if v.Fingerprint != c.Fingerprint {
				s.assignChannel(c, v.Fingerprint)
			}
			return
		}
	}
	s.assignChannel(c, "")
}

// moveLatest points the bucket's "latest" channel at its newest complete
// version that is not revoked, or at none.
func (s *Server) moveLatest(bucket string) {
	latest := s.channel(bucket, LatestChannel)
	var newest *Version
	best := 0
	for _, v := range s.versions {
		if v.Bucket != bucket || !v.valid() {
			continue
		}
		if n, err := strconv.Atoi(strings.TrimPrefix(v.Name, "v")); err == nil && n > best {
			newest, best = v, n
		}
	}
	switch {
	case newest == nil && latest == nil:
	case newest == nil:
		if latest.Fingerprint != "" {
			s.assignChannel(latest, "")
		}
	case latest == nil:
		s.assignChannel(s.newChannel(bucket, LatestChannel, true), newest.Fingerprint)
	case latest.Fingerprint != newest.Fingerprint:
		s.assignChannel(latest, newest.Fingerprint)
	}
}

// restore makes v valid again, with the descendants that inherited its
// revocation, and moves "latest" where it belongs.
func (s *Server) restore(v *Version) *apiError {
	if v.RevokeAt.IsZero() {
		return errorf(CodeFailedPrecondition, fmt.Sprintf("version %q of bucket %q is not revoked", v.Fingerprint, v.Bucket))
	}
	set := []*Version{v}
	for _, d := range s.descendants(v) {
		if d.RevocationType == RevocationInherited && d.RevocationInheritedFrom == v.ID {
			set = append(set, d)
		}
	}
	buckets := map[string]bool{}
	now := s.now().UTC()
	for _, x := range set {
		x.RevokeAt = time.Time{}
		x.RevocationMessage, x.RevocationAuthor, x.RevocationType, x.RevocationInheritedFrom = "", "", "", ""
		x.revocation = nil
		x.UpdatedAt = now
		if x.Name != IncompleteVersionName {
			x.Status = VersionActive
		} else {
			x.Status = deriveStatus(s.versionBuilds(x))
		}
		buckets[x.Bucket] = true
	}
	for b := range buckets {
		s.moveLatest(b)
	}
	return nil
}

// hasDescendants says whether some version was built from v.
func (s *Server) hasDescendants(v *Version) bool {
	for _, b := range s.builds {
		if b.ParentVersionID == v.ID {
			return true
		}
	}
	return false
}
