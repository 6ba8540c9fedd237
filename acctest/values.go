package acctest

import (
	"errors"
	"fmt"
	"regexp"
)

// CheckWith builds a check when it runs, from what exists only then: this
// step's Result, earlier steps' Results (r.Run().Results), run-time values
// (r.Run().Value). It replaces a CheckFunc that exists only to close over
// a value computed at check time: the built check keeps its own message.
func CheckWith(build func(r *Result) Check) Check { return checkWith{build} }

type checkWith struct{ build func(r *Result) Check }

func (c checkWith) Check(r *Result) error {
	chk := c.build(r)
	if chk == nil {
		return errors.New("CheckWith: the function returned no check")
	}
	if err := chk.Check(r); err != nil {
		return fmt.Errorf("%s: %w", checkName(chk), err)
	}
	return nil
}

func (c checkWith) String() string { return "CheckWith(...)" }

// Value is a string known only when a check runs: an artifact id of this
// or an earlier step, a value SetupRun or PreBuild stored in the run.
type Value interface {
	Value(r *Result) (string, error)
	String() string
}

type valueFunc struct {
	name string
	f    func(r *Result) (string, error)
}

func (v valueFunc) Value(r *Result) (string, error) { return v.f(r) }
func (v valueFunc) String() string                  { return v.name }

// RunValue is the run-time value stored under key (Run.Set), formatted
// with fmt.Sprint; an error when there is none.
func RunValue(key string) Value {
	return valueFunc{fmt.Sprintf("RunValue(%q)", key), func(r *Result) (string, error) {
		run := r.Run()
		if run == nil {
			return "", errors.New("the result belongs to no run")
		}
		v := run.Value(key)
		if v == nil {
			return "", fmt.Errorf("no run value %q (set it with Run.Set in SetupRun, PreBuild or a check)", key)
		}
		return fmt.Sprint(v), nil
	}}
}

// StepArtifactID is the id of the first artifact from builderID ("" for
// any) of step n, counting from 1; n = 0 means the step being checked.
func StepArtifactID(n int, builderID string) Value {
	return valueFunc{fmt.Sprintf("StepArtifactID(%d, %q)", n, builderID), func(r *Result) (string, error) {
		res := r
		if n != 0 {
			run := r.Run()
			if run == nil || n < 1 || n > len(run.Results) {
				return "", fmt.Errorf("no result of step %d yet", n)
			}
			res = run.Results[n-1]
		}
		arts, err := requireArtifacts(res, builderID)
		if err != nil {
			return "", fmt.Errorf("step %d: %w", res.Step, err)
		}
		return arts[0].ID, nil
	}}
}

// Literal is a Value known in advance.
func Literal(s string) Value {
	return valueFunc{fmt.Sprintf("%q", s), func(*Result) (string, error) { return s, nil }}
}

// ValueEquals checks that got and want have the same value; name says
// what is compared, in the message.
func ValueEquals(name string, got, want Value) Check { return valueEquals{name, got, want} }

type valueEquals struct {
	name      string
	got, want Value
}

func (c valueEquals) Check(r *Result) error {
	g, err := c.got.Value(r)
	if err != nil {
		return fmt.Errorf("%s: %s: %w", c.name, c.got, err)
	}
	w, err := c.want.Value(r)
	if err != nil {
		return fmt.Errorf("%s: %s: %w", c.name, c.want, err)
	}
	if g != w {
		return fmt.Errorf("%s: expected %s = %q, found %s = %q", c.name, c.want, w, c.got, g)
	}
	return nil
}

func (c valueEquals) String() string { return fmt.Sprintf("ValueEquals(%q)", c.name) }

// ValueMatches checks that got's value matches re.
func ValueMatches(name string, got Value, re *regexp.Regexp) Check {
	return valueMatches{name, got, re}
}

type valueMatches struct {
	name string
	got  Value
	re   *regexp.Regexp
}

func (c valueMatches) Check(r *Result) error {
	g, err := c.got.Value(r)
	if err != nil {
		return fmt.Errorf("%s: %s: %w", c.name, c.got, err)
	}
	if !c.re.MatchString(g) {
		return fmt.Errorf("%s: expected %s to match %q, found %q", c.name, c.got, c.re, g)
	}
	return nil
}

func (c valueMatches) String() string { return fmt.Sprintf("ValueMatches(%q)", c.name) }

// ArtifactIDIs checks that there is at least one artifact from builderID
// and that every such artifact's id is id's value, for ids known only at
// run time: ArtifactIDIs(copyID, StepArtifactID(0, builderID)) says the
// post-processor kept the builder's id.
func ArtifactIDIs(builderID string, id Value) Check { return artifactIDIs{builderID, id} }

type artifactIDIs struct {
	builderID string
	id        Value
}

func (c artifactIDIs) Check(r *Result) error {
	want, err := c.id.Value(r)
	if err != nil {
		return fmt.Errorf("%s: %w", c.id, err)
	}
	return ArtifactID(c.builderID, regexp.MustCompile("^"+regexp.QuoteMeta(want)+"$")).Check(r)
}

func (c artifactIDIs) String() string { return fmt.Sprintf("ArtifactIDIs(%q, %s)", c.builderID, c.id) }
