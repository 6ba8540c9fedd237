package acctest

import (
	"fmt"
	"strings"
)

// ErrorMentions checks that the step's error output (Result.ErrorText)
// contains every one of substrs. Use it beside ExpectError when a bad
// configuration must report all its problems at once, each by field name.
func ErrorMentions(substrs ...string) Check {
	return errorMentions{substrs: substrs}
}

type errorMentions struct{ substrs []string }

func (c errorMentions) Check(r *Result) error {
	text := r.ErrorText()
	var missing []string
	for _, s := range c.substrs {
		if !strings.Contains(text, s) {
			missing = append(missing, s)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("error output: expected it to mention %q, found no %q in:\n%s", c.substrs, missing, text)
	}
	return nil
}
