package registry

import (
	"strings"
	"testing"
	"time"
)

func TestULID(t *testing.T) {
	t0 := time.UnixMilli(1_700_000_000_000)
	a, b := newULID(t0), newULID(t0)
	if len(a) != 26 || strings.Trim(a, crockford) != "" {
		t.Fatalf("expected 26 Crockford base32 characters, found %q", a)
	}
	if a == b {
		t.Errorf("expected two ULIDs of the same millisecond to differ, found %q twice", a)
	}
	// The first 10 characters encode the time, so ids sort by creation.
	if a[:10] != b[:10] {
		t.Errorf("expected the same time prefix, found %q and %q", a[:10], b[:10])
	}
	if later := newULID(t0.Add(time.Millisecond)); later[:10] <= a[:10] {
		t.Errorf("expected a later time to sort after: %q then %q", a, later)
	}
	// 1_700_000_000_000 ms is 0x18BCFE56800: the known ULID time prefix.
	if a[:10] != "01HF7YAT00" {
		t.Errorf("expected time prefix 01HF7YAT00, found %q", a[:10])
	}
}
