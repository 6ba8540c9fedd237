package cloud

import "context"

type progressKey struct{}

// WithProgress returns a context whose Driver calls report, through say,
// what they are waiting for (a lock, a long copy), the way a cloud SDK's
// waiters call back. Components pass their UI's Say.
func WithProgress(ctx context.Context, say func(string)) context.Context {
	if say == nil {
		return ctx
	}
	return context.WithValue(ctx, progressKey{}, say)
}

// Progress returns the function WithProgress put in ctx, or nil.
func Progress(ctx context.Context) func(string) {
	say, _ := ctx.Value(progressKey{}).(func(string))
	return say
}
