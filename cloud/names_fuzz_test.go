package cloud

import (
	"path"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// The validators guard what becomes file names, glob patterns and registry
// labels. Each fuzz target checks the promise its doc makes about an
// accepted value, and that nothing panics.

func FuzzValidateImageName(f *testing.F) {
	for _, s := range []string{"web", "web-*", "a b", "", strings.Repeat("n", 129), "ünï", "x\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if ValidateImageName(name) != nil {
			return
		}
		if name == "" || len(name) > maxNameLength {
			t.Fatalf("accepted %q of length %d", name, len(name))
		}
		// An accepted name, used as a glob, matches itself and only itself.
		if ok, err := path.Match(name, name); err != nil || !ok {
			t.Fatalf("accepted %q, which does not match itself as a glob (%v)", name, err)
		}
		if strings.IndexFunc(name, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
			t.Fatalf("accepted %q with a space or control character", name)
		}
	})
}

func FuzzValidateRegion(f *testing.F) {
	for _, s := range []string{"local", "eu-west-1", "../up", ".hidden", "a/b", `a\b`, "", "C:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, region string) {
		if ValidateRegion(region) != nil {
			return
		}
		// Regions become one directory name in a store.
		if !filepath.IsLocal(region) || filepath.Base(region) != region || strings.ContainsAny(region, `/\:`) {
			t.Fatalf("accepted %q, which is not a single safe path element", region)
		}
	})
}

func FuzzValidateLabel(f *testing.F) {
	f.Add("tier", "web")
	f.Add("", "v")
	f.Add("a b", "v")
	f.Add("k", "line\nbreak")
	f.Add("k", "\xff")
	f.Fuzz(func(t *testing.T, key, value string) {
		if ValidateLabel(key, value) != nil {
			return
		}
		if key == "" || len(key) > maxNameLength {
			t.Fatalf("accepted key %q", key)
		}
		if strings.ContainsFunc(key, unicode.IsSpace) || strings.ContainsFunc(value, unicode.IsControl) {
			t.Fatalf("accepted label %q=%q", key, value)
		}
		_ = utf8.ValidString(value) // labels are passed on as given
	})
}

func FuzzValidateImageID(f *testing.F) {
	f.Add("sha256:" + strings.Repeat("ab", 32))
	f.Add("sha256:" + strings.Repeat("AB", 32))
	f.Add("sha256:")
	f.Fuzz(func(t *testing.T, id string) {
		if ValidateImageID(id) != nil {
			return
		}
		hexPart, ok := strings.CutPrefix(id, "sha256:")
		if !ok || len(hexPart) != 64 || strings.Trim(hexPart, "0123456789abcdef") != "" {
			t.Fatalf("accepted %q", id)
		}
	})
}
