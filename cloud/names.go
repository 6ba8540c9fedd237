package cloud

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
)

// DefaultRegion is the region images go to when none is configured.
const DefaultRegion = "local"

// maxNameLength bounds image names, regions and label keys so they stay
// usable as file names and in registry metadata.
const maxNameLength = 128

var (
	imageIDPattern = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
	// Regions become directory names in the store, so they are restricted to
	// characters that are safe as a single path element on every OS.
	regionPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
)

// ValidateImageID reports whether id has the form of an image id,
// "sha256:" followed by 64 lower-case hex digits.
func ValidateImageID(id string) error {
	if !imageIDPattern.MatchString(id) {
		return fmt.Errorf("%q is not an image id (expected sha256:<64 lower-case hex digits>)", id)
	}
	return nil
}

// ValidateRegion reports whether region can name a region of a store: 1 to
// 128 letters, digits, '.', '_' or '-', starting with a letter or digit.
func ValidateRegion(region string) error {
	switch {
	case region == "":
		return fmt.Errorf("region must not be empty")
	case len(region) > maxNameLength:
		return fmt.Errorf("region %q is longer than %d characters", region, maxNameLength)
	case !regionPattern.MatchString(region):
		return fmt.Errorf("region %q may only hold letters, digits, '.', '_' and '-', and must start with a letter or digit", region)
	}
	return nil
}

// ValidateImageName reports whether name can name an image. Glob
// metacharacters are refused because names are looked up with globs, and an
// image whose name holds one could not be selected exactly.
func ValidateImageName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("image name must not be empty")
	case len(name) > maxNameLength:
		return fmt.Errorf("image name %q is longer than %d characters", name, maxNameLength)
	case strings.ContainsAny(name, `*?[]\`):
		return fmt.Errorf("image name %q must not contain any of * ? [ ] \\", name)
	case strings.IndexFunc(name, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
		return fmt.Errorf("image name %q must not contain spaces or control characters", name)
	}
	return nil
}

// ValidateLabel reports whether key and value can form an image label.
func ValidateLabel(key, value string) error {
	switch {
	case key == "":
		return fmt.Errorf("label key must not be empty")
	case len(key) > maxNameLength:
		return fmt.Errorf("label key %q is longer than %d characters", key, maxNameLength)
	case strings.IndexFunc(key, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
		return fmt.Errorf("label key %q must not contain spaces or control characters", key)
	case strings.IndexFunc(value, unicode.IsControl) >= 0:
		return fmt.Errorf("value of label %q must not contain control characters", key)
	}
	return nil
}
