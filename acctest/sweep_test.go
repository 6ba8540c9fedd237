package acctest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// withSweepers runs f with only the given sweepers registered.
func withSweepers(t *testing.T, f func()) {
	t.Helper()
	sweepers.Lock()
	saved := sweepers.m
	sweepers.m = map[string]*Sweeper{}
	sweepers.Unlock()
	defer func() {
		sweepers.Lock()
		sweepers.m = saved
		sweepers.Unlock()
	}()
	f()
}

// fakePlatform is a directory standing in for a cloud: every file is a
// resource; tests name theirs with the "acc-" prefix.
type fakePlatform struct{ dir string }

func (p fakePlatform) create(t *testing.T, kind, name string) {
	t.Helper()
	mustDo(t, os.MkdirAll(filepath.Join(p.dir, kind), 0o755))
	mustDo(t, os.WriteFile(filepath.Join(p.dir, kind, name), nil, 0o644))
}

func (p fakePlatform) list(kind string) []string {
	entries, _ := os.ReadDir(filepath.Join(p.dir, kind))
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// sweeper deletes the "acc-" resources of one kind, recording the order.
func (p fakePlatform) sweeper(kind string, order *[]string, deps ...string) Sweeper {
	return Sweeper{Name: kind, Dependencies: deps, F: func(ctx context.Context) error {
		*order = append(*order, kind)
		var errs []error
		for _, name := range p.list(kind) {
			if strings.HasPrefix(name, "acc-") {
				errs = append(errs, os.Remove(filepath.Join(p.dir, kind, name)))
			}
		}
		return errors.Join(errs...)
	}}
}

func TestSweep(t *testing.T) {
	p := fakePlatform{dir: t.TempDir()}
	p.create(t, "images", "acc-image-1")
	p.create(t, "images", "customer-image")
	p.create(t, "instances", "acc-instance-1")
	withSweepers(t, func() {
		var order []string
		// Instances go before the images they were launched from.
		AddSweeper(p.sweeper("images", &order, "instances"))
		AddSweeper(p.sweeper("instances", &order))
		results, err := Sweep(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(order, ",") != "instances,images" {
			t.Errorf("expected instances swept before images, found %v", order)
		}
		for _, r := range results {
			if r.Err != nil {
				t.Errorf("sweeper %s: %v", r.Name, r.Err)
			}
		}
		if got := p.list("images"); len(got) != 1 || got[0] != "customer-image" {
			t.Errorf("expected only the test's image deleted, found %v left", got)
		}
		if got := p.list("instances"); len(got) != 0 {
			t.Errorf("expected the instance deleted, found %v", got)
		}
	})
}

func TestSweep_badDependencies(t *testing.T) {
	var order []string
	p := fakePlatform{dir: t.TempDir()}
	withSweepers(t, func() {
		AddSweeper(p.sweeper("a", &order, "b"))
		AddSweeper(p.sweeper("b", &order, "a"))
		if _, err := Sweep(t.Context()); err == nil || !strings.Contains(err.Error(), "cycle") {
			t.Errorf("expected a cycle error, found %v", err)
		}
	})
	withSweepers(t, func() {
		AddSweeper(p.sweeper("a", &order, "nosuch"))
		if _, err := Sweep(t.Context()); err == nil || !strings.Contains(err.Error(), `"nosuch", which is not registered`) {
			t.Errorf("expected an unknown-dependency error, found %v", err)
		}
		if len(order) != 0 {
			t.Errorf("expected nothing swept, found %v", order)
		}
	})
	withSweepers(t, func() {
		AddSweeper(Sweeper{Name: "x", F: func(context.Context) error { return nil }})
		defer func() {
			if recover() == nil {
				t.Error("expected a duplicate sweeper to panic")
			}
		}()
		AddSweeper(Sweeper{Name: "x", F: func(context.Context) error { return nil }})
	})
}

// Sweep reports a failing sweeper's error under its name.
func TestSweep_failure(t *testing.T) {
	withSweepers(t, func() {
		AddSweeper(Sweeper{Name: "stuck", F: func(context.Context) error { return errors.New("instance i-1 will not stop") }})
		results, err := Sweep(t.Context())
		if err != nil || len(results) != 1 || results[0].Err == nil || !strings.Contains(results[0].Err.Error(), "i-1") {
			t.Fatalf("expected the stuck sweeper's error, found %v, %v", results, err)
		}
	})
}

// PACKER_ACC_SWEEP_FIRST runs the sweepers once per process, before the
// first case.
func TestSweepBeforeOnce(t *testing.T) {
	withSweepers(t, func() {
		runs := 0
		AddSweeper(Sweeper{Name: "count", F: func(context.Context) error { runs++; return nil }})
		sweepBeforeOnce(t) // not set: nothing runs
		if runs != 0 {
			t.Fatalf("expected no sweep without %s, found %d", EnvSweepFirst, runs)
		}
		t.Setenv(EnvSweepFirst, "1")
		sweepBeforeOnce(t)
		sweepBeforeOnce(t)
		if runs != 1 {
			t.Errorf("expected one sweep per process, found %d", runs)
		}
	})
}
