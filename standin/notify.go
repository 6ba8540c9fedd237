package standin

import "context"

type notifyKey struct{}

// WithNotify returns a context whose driver calls tell say what they are
// waiting for (another process's store lock, for example), so a caller can
// show it to the user instead of seeming to hang.
func WithNotify(ctx context.Context, say func(string)) context.Context {
	if say == nil {
		return ctx
	}
	return context.WithValue(ctx, notifyKey{}, say)
}

// notify tells the caller's WithNotify function, if any.
func notify(ctx context.Context, msg string) {
	if say, ok := ctx.Value(notifyKey{}).(func(string)); ok {
		say(msg)
	}
}
