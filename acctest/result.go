package acctest

import (
	"bufio"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Result is what one step's packer command (run with -machine-readable)
// produced, parsed.
type Result struct {
	// Step is the step's number, counting from 1.
	Step int
	// Mode is the wire mode the run used.
	Mode WireMode
	// Command is the packer command the step ran.
	Command Command
	// ExitCode is packer's exit status (-1 if it did not exit normally).
	ExitCode int
	// Builds names every build the output mentions ("null.example"), sorted.
	Builds []string
	// Started names the builds Packer started, in the order its log says
	// so ("Starting build run: NAME"); empty for a Result only parsed from
	// stdout, and for commands other than build.
	Started []string
	// Finished names the builds Packer reported as finished ("Build 'x'
	// finished after ..."), in output order.
	Finished []string
	// Errored names the builds Packer reported as errored ("Build 'x'
	// errored after ..."), in output order.
	Errored []string
	// Artifacts are the artifacts of the successful builds, per build in the
	// order Packer reported them.
	Artifacts []Artifact
	// Errors are the error lines: per-build errors (Build set) and errors
	// Packer printed on its UI (Build empty), in output order.
	Errors []BuildError
	// UI are Packer's UI lines (say, message and error), in output order.
	UI []UILine
	// Lines are all machine-readable lines, in output order.
	Lines []Line
	// Unparsed are stdout lines that were not machine-readable.
	Unparsed []string
	// Stdout and Stderr are packer's output streams, verbatim.
	Stdout, Stderr string
	// Dir is the case's work directory, where packer ran.
	Dir string
	// LogPath is this step's PACKER_LOG file.
	LogPath string

	// run is the run this step belongs to (nil for a parsed-only Result).
	run *Run
}

// Artifact is one artifact of a successful build.
type Artifact struct {
	// Build is the build's name ("scaffolding.example").
	Build string
	// Index is the artifact's position in the build's artifact list.
	Index int
	// BuilderID is the id of the builder or post-processor that made it.
	BuilderID string
	// ID is the artifact's id.
	ID string
	// String is the artifact's human-readable description.
	String string
	// Files are the artifact's files, as the artifact reported them.
	Files []string
	// Nil is true when the build returned a nil artifact in this slot.
	Nil bool
}

// BuildError is one error Packer reported.
type BuildError struct {
	// Build is the failed build's name; empty for errors Packer printed on
	// its UI (configuration errors, the summary).
	Build string
	// Message is the error text.
	Message string
	// FromBuild is set when the line came from a running build's own UI
	// (its text starts "==> NAME: "): a provisioner's stderr, a step's
	// message. Packer prints such lines for problems a build recovers from
	// as well, so they alone do not fail a step; a build that fails says so
	// in a line of Packer's own.
	FromBuild string
}

// UILine is one message Packer printed on its UI.
type UILine struct {
	// Kind is "say", "message" or "error".
	Kind string
	// Text is the message.
	Text string
}

// Line is one machine-readable output line:
// timestamp,target,type,data...
type Line struct {
	// Time is the line's timestamp.
	Time time.Time
	// Target is the build it is about, or "".
	Target string
	// Type is the kind of line ("ui", "artifact", "error", ...).
	Type string
	// Data are the remaining fields, unescaped.
	Data []string
}

// ErrorText is all error output of the step: every error message followed by
// stderr. ExpectError is matched against it.
func (r *Result) ErrorText() string {
	var b strings.Builder
	for _, e := range r.Errors {
		b.WriteString(e.Message)
		b.WriteByte('\n')
	}
	b.WriteString(r.Stderr)
	return b.String()
}

// UIText is every UI line's text, one per line.
func (r *Result) UIText() string {
	var b strings.Builder
	for _, l := range r.UI {
		b.WriteString(l.Text)
		b.WriteByte('\n')
	}
	return b.String()
}

// ArtifactsFrom returns the artifacts made by builderID ("" for all).
func (r *Result) ArtifactsFrom(builderID string) []Artifact {
	var out []Artifact
	for _, a := range r.Artifacts {
		if !a.Nil && (builderID == "" || a.BuilderID == builderID) {
			out = append(out, a)
		}
	}
	return out
}

// Succeeded reports whether packer exited 0.
func (r *Result) Succeeded() bool { return r.ExitCode == 0 }

// Run returns the run this step belonged to, or nil for a Result that was
// only parsed.
func (r *Result) Run() *Run { return r.run }

// ParseMachineReadable parses the stdout of `packer build -machine-readable`.
// Lines that are not machine-readable are kept in Unparsed.
func ParseMachineReadable(stdout string) *Result {
	r := &Result{Stdout: stdout}
	builds := map[string]bool{}
	// artifacts are keyed by build and index, since lines of one artifact
	// are spread over several lines.
	type key struct {
		build string
		index int
	}
	index := map[key]int{}
	artifact := func(build string, i int) *Artifact {
		k := key{build, i}
		if n, ok := index[k]; ok {
			return &r.Artifacts[n]
		}
		r.Artifacts = append(r.Artifacts, Artifact{Build: build, Index: i})
		index[k] = len(r.Artifacts) - 1
		return &r.Artifacts[len(r.Artifacts)-1]
	}

	sc := bufio.NewScanner(strings.NewReader(stdout))
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		text := strings.TrimRight(sc.Text(), "\r")
		l, ok := parseLine(text)
		if !ok {
			if text != "" {
				r.Unparsed = append(r.Unparsed, text)
			}
			continue
		}
		r.Lines = append(r.Lines, l)
		if l.Target != "" {
			builds[l.Target] = true
		}
		switch l.Type {
		case "ui":
			if len(l.Data) < 2 {
				continue
			}
			u := UILine{Kind: l.Data[0], Text: l.Data[1]}
			r.UI = append(r.UI, u)
			if u.Kind == "error" {
				r.Errors = append(r.Errors, BuildError{Build: l.Target, Message: u.Text, FromBuild: buildUIPrefix(u.Text)})
			}
			if name, status, ok := buildStatus(u.Text); ok {
				builds[name] = true
				if status == "finished" {
					r.Finished = append(r.Finished, name)
				} else {
					r.Errored = append(r.Errored, name)
				}
			}
		case "error":
			if len(l.Data) > 0 {
				r.Errors = append(r.Errors, BuildError{Build: l.Target, Message: l.Data[0]})
			}
		case "artifact":
			if len(l.Data) < 2 {
				continue
			}
			i, err := strconv.Atoi(l.Data[0])
			if err != nil {
				continue
			}
			a := artifact(l.Target, i)
			field, rest := l.Data[1], l.Data[2:]
			switch {
			case field == "builder-id" && len(rest) > 0:
				a.BuilderID = rest[0]
			case field == "id" && len(rest) > 0:
				a.ID = rest[0]
			case field == "string" && len(rest) > 0:
				a.String = rest[0]
			case field == "file" && len(rest) > 1:
				a.Files = append(a.Files, rest[1])
			case field == "nil":
				a.Nil = true
			}
		}
	}
	for b := range builds {
		r.Builds = append(r.Builds, b)
	}
	sort.Strings(r.Builds)
	return r
}

// buildStatus finds the build name and outcome ("finished" or "errored")
// in Packer's "Build 'x' finished after ..." and "Build 'x' errored after
// ..." lines: a build without artifacts or errors is named nowhere else.
func buildStatus(text string) (name, status string, ok bool) {
	rest, ok := strings.CutPrefix(text, "Build '")
	if !ok {
		return "", "", false
	}
	name, rest, ok = strings.Cut(rest, "' ")
	if !ok {
		return "", "", false
	}
	switch {
	case strings.HasPrefix(rest, "finished after"):
		return name, "finished", true
	case strings.HasPrefix(rest, "errored after"):
		return name, "errored", true
	}
	return "", "", false
}

// buildUIPrefix returns NAME when text is a line of a build's own UI,
// "==> NAME: ..." (Packer's TargetedUI); build names are TYPE.NAME, which
// tells them from Packer's own "==> Some builds ..." lines.
func buildUIPrefix(text string) string {
	m := buildUILine.FindStringSubmatch(text)
	if m == nil {
		return ""
	}
	return m[1]
}

var buildUILine = regexp.MustCompile(`^==> ([^\s:]+\.[^\s:]+): `)

// startedBuilds reads the names of the builds Packer started from its log.
func startedBuilds(log string) []string {
	var out []string
	for _, m := range startedLine.FindAllStringSubmatch(log, -1) {
		out = append(out, m[1])
	}
	return out
}

var startedLine = regexp.MustCompile(`(?m)Starting build run: (\S+)\s*$`)

// packerErrors are the errors Packer itself reported (not lines of a
// build's own UI).
func (r *Result) packerErrors() []BuildError {
	var out []BuildError
	for _, e := range r.Errors {
		if e.FromBuild == "" {
			out = append(out, e)
		}
	}
	return out
}

// parseLine splits one machine-readable line. Packer escapes commas inside
// fields as %!(PACKER_COMMA) and newlines as \n, so splitting on commas is
// exact.
func parseLine(text string) (Line, bool) {
	parts := strings.Split(text, ",")
	if len(parts) < 3 {
		return Line{}, false
	}
	sec, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil {
		return Line{}, false
	}
	l := Line{Time: time.Unix(sec, 0).UTC(), Target: parts[1], Type: parts[2]}
	for _, d := range parts[3:] {
		l.Data = append(l.Data, unescapeField(d))
	}
	return l, true
}

var fieldUnescaper = strings.NewReplacer(`%!(PACKER_COMMA)`, ",", `\n`, "\n", `\r`, "\r")

func unescapeField(s string) string { return fieldUnescaper.Replace(s) }

// String summarises the result for failure messages.
func (r *Result) String() string {
	return fmt.Sprintf("exit code %d, %d build(s), %d artifact(s), %d error(s)", r.ExitCode, len(r.Builds), len(r.Artifacts), len(r.Errors))
}
