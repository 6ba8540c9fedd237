// Package redact keeps credentials out of what the plugin prints. It is a
// leaf both the seam (cloud) and the stand-in cloud use, so neither has to
// import the other and deleting the stand-in leaves it in place.
package redact

import "strings"

// URL drops the userinfo (user:password@) of a URL, even of one that does
// not parse, so it can appear in messages.
func URL(s string) string {
	scheme := strings.Index(s, "://")
	if scheme < 0 {
		return s
	}
	rest := s[scheme+3:]
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	if at := strings.LastIndex(rest[:end], "@"); at >= 0 {
		return s[:scheme+3] + rest[at+1:]
	}
	return s
}
