package redact

import "testing"

func TestURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://user:secret@host/images/": "https://host/images/",
		"http://token@host":                "http://host",
		"https://host/a@b":                 "https://host/a@b",
		"https://u:p@h%zz/x":               "https://h%zz/x", // does not parse as a URL
		"/var/store":                       "/var/store",
	} {
		if got := URL(in); got != want {
			t.Errorf("URL(%q) = %q, want %q", in, got, want)
		}
	}
}
