package acctest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// checkName names a check in failure messages: its String method if it has
// one, else its type.
func checkName(c Check) string {
	if s, ok := c.(fmt.Stringer); ok {
		return s.String()
	}
	return fmt.Sprintf("%T", c)
}

// ComposeChecks bundles checks into one, so a set of checks can be reused
// across steps. All of them run; their errors are joined.
func ComposeChecks(checks ...Check) Check { return composedCheck(checks) }

type composedCheck []Check

func (cs composedCheck) Check(r *Result) error {
	var errs []error
	for _, c := range cs {
		if c == nil {
			errs = append(errs, errors.New("nil check in ComposeChecks"))
			continue
		}
		if err := c.Check(r); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", checkName(c), err))
		}
	}
	return errors.Join(errs...)
}

func (cs composedCheck) String() string {
	names := make([]string, len(cs))
	for i, c := range cs {
		if c == nil {
			names[i] = "nil"
			continue
		}
		names[i] = checkName(c)
	}
	return "ComposeChecks(" + strings.Join(names, ", ") + ")"
}

// ArtifactCount checks that the successful builds returned n artifacts in
// total (nil artifacts not counted).
func ArtifactCount(n int) Check { return artifactCount{n: n} }

type artifactCount struct{ n int }

func (c artifactCount) Check(r *Result) error {
	got := r.ArtifactsFrom("")
	if len(got) != c.n {
		return fmt.Errorf("expected %d artifact(s), found %d%s", c.n, len(got), listArtifacts(got))
	}
	return nil
}

func (c artifactCount) String() string { return fmt.Sprintf("ArtifactCount(%d)", c.n) }

// ArtifactsFrom checks that n artifacts were made by the builder or
// post-processor with id builderID.
func ArtifactsFrom(builderID string, n int) Check { return artifactsFrom{id: builderID, n: n} }

type artifactsFrom struct {
	id string
	n  int
}

func (c artifactsFrom) Check(r *Result) error {
	got := r.ArtifactsFrom(c.id)
	if len(got) != c.n {
		return fmt.Errorf("expected %d artifact(s) from %q, found %d%s", c.n, c.id, len(got), listArtifacts(r.ArtifactsFrom("")))
	}
	return nil
}

func (c artifactsFrom) String() string { return fmt.Sprintf("ArtifactsFrom(%q, %d)", c.id, c.n) }

// ArtifactID checks that there is at least one artifact from builderID and
// that every such artifact's id matches re.
func ArtifactID(builderID string, re *regexp.Regexp) Check {
	return artifactID{id: builderID, re: re}
}

type artifactID struct {
	id string
	re *regexp.Regexp
}

func (c artifactID) Check(r *Result) error {
	arts, err := requireArtifacts(r, c.id)
	if err != nil {
		return err
	}
	var errs []error
	for _, a := range arts {
		if !c.re.MatchString(a.ID) {
			errs = append(errs, fmt.Errorf("expected the id of %s to match %q, found %q", a.label(), c.re, a.ID))
		}
	}
	return errors.Join(errs...)
}

func (c artifactID) String() string { return fmt.Sprintf("ArtifactID(%q, %q)", c.id, c.re) }

// ArtifactFilesExist checks that there is at least one artifact from
// builderID, that together they list at least one file, and that every
// listed file exists. Relative file paths are taken from the work directory.
func ArtifactFilesExist(builderID string) Check { return artifactFilesExist{id: builderID} }

type artifactFilesExist struct{ id string }

func (c artifactFilesExist) Check(r *Result) error {
	arts, err := requireArtifacts(r, c.id)
	if err != nil {
		return err
	}
	var errs []error
	files := 0
	for _, a := range arts {
		for _, f := range a.Files {
			files++
			if _, err := os.Stat(r.path(f)); err != nil {
				errs = append(errs, fmt.Errorf("expected file %s of %s to exist, found %v", f, a.label(), err))
			}
		}
	}
	if files == 0 {
		return fmt.Errorf("expected artifacts from %q to list files, found none%s", c.id, listArtifacts(arts))
	}
	return errors.Join(errs...)
}

func (c artifactFilesExist) String() string { return fmt.Sprintf("ArtifactFilesExist(%q)", c.id) }

// ArtifactIDIsFileDigest checks that there is at least one artifact from
// builderID and that each one's id is "sha256:<hex>" of its first file's
// content: the id is a content digest that really matches the file.
func ArtifactIDIsFileDigest(builderID string) Check { return artifactIDIsFileDigest{id: builderID} }

type artifactIDIsFileDigest struct{ id string }

var sha256ID = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

func (c artifactIDIsFileDigest) Check(r *Result) error {
	arts, err := requireArtifacts(r, c.id)
	if err != nil {
		return err
	}
	var errs []error
	for _, a := range arts {
		if !sha256ID.MatchString(a.ID) {
			errs = append(errs, fmt.Errorf("expected the id of %s to be sha256:<64 hex digits>, found %q", a.label(), a.ID))
			continue
		}
		if len(a.Files) == 0 {
			errs = append(errs, fmt.Errorf("expected %s to list a file to digest, found none", a.label()))
			continue
		}
		sum, err := fileSHA256(r.path(a.Files[0]))
		if err != nil {
			errs = append(errs, fmt.Errorf("expected to digest file %s of %s, found %v", a.Files[0], a.label(), err))
			continue
		}
		if want := "sha256:" + sum; a.ID != want {
			errs = append(errs, fmt.Errorf("expected the id of %s to be the digest of %s, %s, found %s", a.label(), a.Files[0], want, a.ID))
		}
	}
	return errors.Join(errs...)
}

func (c artifactIDIsFileDigest) String() string {
	return fmt.Sprintf("ArtifactIDIsFileDigest(%q)", c.id)
}

// FileExists checks that a file exists at relPath in the work directory.
func FileExists(relPath string) Check { return fileExists{path: relPath} }

type fileExists struct{ path string }

func (c fileExists) Check(r *Result) error {
	if _, err := os.Stat(r.path(c.path)); err != nil {
		return fmt.Errorf("expected file %s to exist, found %v", c.path, err)
	}
	return nil
}

func (c fileExists) String() string { return fmt.Sprintf("FileExists(%q)", c.path) }

// FileAbsent checks that nothing exists at relPath in the work directory,
// for builds that must clean up after themselves.
func FileAbsent(relPath string) Check { return fileAbsent{path: relPath} }

type fileAbsent struct{ path string }

func (c fileAbsent) Check(r *Result) error {
	fi, err := os.Lstat(r.path(c.path))
	if err == nil {
		return fmt.Errorf("expected %s to be absent, found a %s", c.path, fileKind(fi))
	}
	if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("expected %s to be absent, found %v", c.path, err)
	}
	return nil
}

func (c fileAbsent) String() string { return fmt.Sprintf("FileAbsent(%q)", c.path) }

// FileContains checks that the file at relPath in the work directory
// contains substr.
func FileContains(relPath, substr string) Check { return fileContains{path: relPath, substr: substr} }

type fileContains struct{ path, substr string }

func (c fileContains) Check(r *Result) error {
	data, err := os.ReadFile(r.path(c.path))
	if err != nil {
		return fmt.Errorf("expected file %s containing %q, found %v", c.path, c.substr, err)
	}
	if !strings.Contains(string(data), c.substr) {
		return fmt.Errorf("expected file %s to contain %q, found:\n%s", c.path, c.substr, indent(truncate(string(data), 2000)))
	}
	return nil
}

func (c fileContains) String() string { return fmt.Sprintf("FileContains(%q, %q)", c.path, c.substr) }

// UIContains checks that some UI line Packer printed (say, message or
// error) contains substr.
func UIContains(substr string) Check { return uiContains{substr: substr} }

type uiContains struct{ substr string }

func (c uiContains) Check(r *Result) error {
	for _, l := range r.UI {
		if strings.Contains(l.Text, c.substr) {
			return nil
		}
	}
	return fmt.Errorf("expected a UI line containing %q, found %d line(s):\n%s", c.substr, len(r.UI), indent(tail(r.UIText(), tailLines)))
}

func (c uiContains) String() string { return fmt.Sprintf("UIContains(%q)", c.substr) }

// requireArtifacts returns the artifacts from builderID, or an error when
// there are none, so checks over them never pass vacuously.
func requireArtifacts(r *Result, builderID string) ([]Artifact, error) {
	arts := r.ArtifactsFrom(builderID)
	if len(arts) == 0 {
		return nil, fmt.Errorf("expected an artifact from %q, found none%s", builderID, listArtifacts(r.ArtifactsFrom("")))
	}
	return arts, nil
}

func listArtifacts(arts []Artifact) string {
	if len(arts) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString(":")
	for _, a := range arts {
		fmt.Fprintf(&b, "\n    %s: builder %q, id %q", a.label(), a.BuilderID, a.ID)
	}
	return b.String()
}

// label names an artifact in messages: build and index.
func (a Artifact) label() string { return fmt.Sprintf("artifact %d of %s", a.Index, a.Build) }

// path resolves a path from the output against the work directory.
func (r *Result) path(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(r.Dir, filepath.FromSlash(p))
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer func() { _ = f.Close() }()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func fileKind(fi os.FileInfo) string {
	switch {
	case fi.IsDir():
		return "directory"
	case fi.Mode()&os.ModeSymlink != 0:
		return "symlink"
	}
	return "file"
}
