package acctest

import (
	"strings"
	"testing"
)

func TestErrorMentions(t *testing.T) {
	r := &Result{Errors: []BuildError{{Message: "image_name: required; region: bad"}}}
	if err := ErrorMentions("image_name", "region").Check(r); err != nil {
		t.Fatalf("both named: %v", err)
	}
	err := ErrorMentions("image_name", "store").Check(r)
	if err == nil || !strings.Contains(err.Error(), `["store"]`) {
		t.Fatalf("store is not named: expected an error naming it, found %v", err)
	}
}
