package acctest

// Check inspects the result of one build step. It returns an error saying
// what it expected and what it found; a nil error means the check passed.
// Every check of a step runs, and their errors are joined.
type Check interface {
	Check(r *Result) error
}

// CheckFunc adapts a function to the Check interface, for checks that are
// specific to one plugin and not worth a named type.
type CheckFunc func(r *Result) error

// Check calls f(r).
func (f CheckFunc) Check(r *Result) error { return f(r) }
