package cloud

import "strings"

// AccessConfig says where the platform is and how to reach it.
type AccessConfig struct {
	// Store is where the platform is: for the stand-in, a directory or an
	// http(s) URL of an image store.
	Store string `mapstructure:"store"`
	// Token is the credential sent to the platform.
	Token string `mapstructure:"token"`
	// Timeout bounds each request to the platform, as a Go duration.
	Timeout string `mapstructure:"timeout"`
	// Retries is how many times a failed request is retried.
	Retries *int `mapstructure:"retries"`
}

// IsURL reports whether store names a platform reached over http(s) rather
// than a directory.
func IsURL(store string) bool {
	l := strings.ToLower(store)
	return strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://")
}

// RedactURL drops the credentials (userinfo) of a store URL, even of one
// that does not parse, so it can appear in messages.
func RedactURL(s string) string {
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
