package acctest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"sync"
	"testing"
	"time"
)

// Sweepers find and delete what earlier runs left on a plugin's platform
// (instances, images, buckets a killed run never cleaned up), the way
// terraform-plugin-testing's sweepers do. A plugin registers them from its
// test packages' init functions; `make sweep` runs them all, and with
// PACKER_ACC_SWEEP_FIRST=1 acceptance tests run them once per test process
// before the first case.
const (
	// EnvSweep makes RunSweepers run (it skips otherwise).
	EnvSweep = "PACKER_ACC_SWEEP"
	// EnvSweepFirst runs the registered sweepers once before the first
	// acceptance case of each test process.
	EnvSweepFirst = "PACKER_ACC_SWEEP_FIRST"
)

// Sweeper deletes leftovers of one kind on a platform.
type Sweeper struct {
	// Name names the sweeper in output and in Dependencies.
	Name string
	// Dependencies name sweepers that must run before this one (instances
	// before the images they were launched from).
	Dependencies []string
	// F deletes the leftovers it finds and returns an error for those it
	// could not delete. It must only delete what tests made: match a name
	// prefix or a label the tests set.
	F func(ctx context.Context) error
}

var sweepers = struct {
	sync.Mutex
	m map[string]*Sweeper
}{m: map[string]*Sweeper{}}

// AddSweeper registers s. It panics on an empty or duplicate name or a nil
// F, which are programming errors in an init function.
func AddSweeper(s Sweeper) {
	sweepers.Lock()
	defer sweepers.Unlock()
	if s.Name == "" || s.F == nil {
		panic("acctest.AddSweeper: Name and F are required")
	}
	if _, dup := sweepers.m[s.Name]; dup {
		panic(fmt.Sprintf("acctest.AddSweeper: sweeper %q registered twice", s.Name))
	}
	sweepers.m[s.Name] = &s
}

// SweepResult is what one sweeper did.
type SweepResult struct {
	Name string
	Err  error
}

// Sweep runs every registered sweeper once, dependencies first, and
// returns what each did. A sweeper whose dependency failed still runs (its
// own errors say what it could not delete); a dependency cycle or an
// unknown dependency is an error before anything runs.
func Sweep(ctx context.Context) ([]SweepResult, error) {
	sweepers.Lock()
	all := maps.Clone(sweepers.m)
	sweepers.Unlock()
	order, err := sweepOrder(all)
	if err != nil {
		return nil, err
	}
	var out []SweepResult
	for _, name := range order {
		out = append(out, SweepResult{Name: name, Err: all[name].F(ctx)})
	}
	return out, nil
}

func sweepOrder(all map[string]*Sweeper) ([]string, error) {
	var order []string
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(name string, path []string) error
	visit = func(name string, path []string) error {
		s, ok := all[name]
		if !ok {
			return fmt.Errorf("sweeper %q depends on %q, which is not registered", path[len(path)-1], name)
		}
		switch state[name] {
		case 1:
			return fmt.Errorf("sweeper dependency cycle: %v", append(path, name))
		case 2:
			return nil
		}
		state[name] = 1
		for _, d := range s.Dependencies {
			if err := visit(d, append(path, name)); err != nil {
				return err
			}
		}
		state[name] = 2
		order = append(order, name)
		return nil
	}
	for _, name := range slices.Sorted(maps.Keys(all)) {
		if err := visit(name, []string{name}); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// RunSweepers runs every registered sweeper as the test t, one log line per
// sweeper, failing t for each that failed. It skips unless PACKER_ACC_SWEEP
// is set, so a package can always have
//
//	func TestSweepers(t *testing.T) { acctest.RunSweepers(t) }
//
// and `make sweep` runs it with PACKER_ACC_SWEEP=1.
func RunSweepers(t *testing.T) {
	t.Helper()
	if !envTrue(os.Getenv(EnvSweep)) {
		t.Skipf("sweepers delete platform leftovers: set %s=1 (or run `make sweep`)", EnvSweep)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Minute)
	defer cancel()
	results, err := Sweep(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) == 0 {
		t.Log("no sweepers registered")
	}
	for _, r := range results {
		if r.Err != nil {
			t.Errorf("sweeper %s: %v", r.Name, r.Err)
			continue
		}
		t.Logf("sweeper %s: done", r.Name)
	}
}

var sweepFirst struct {
	once sync.Once
	err  error
}

// sweepBeforeOnce runs the sweepers before the process's first case when
// PACKER_ACC_SWEEP_FIRST is set; a failure fails every case.
func sweepBeforeOnce(t *testing.T) {
	t.Helper()
	if !envTrue(os.Getenv(EnvSweepFirst)) {
		return
	}
	sweepFirst.once.Do(func() {
		results, err := Sweep(t.Context())
		errs := []error{err}
		for _, r := range results {
			if r.Err != nil {
				errs = append(errs, fmt.Errorf("sweeper %s: %w", r.Name, r.Err))
			}
		}
		sweepFirst.err = errors.Join(errs...)
	})
	if sweepFirst.err != nil {
		t.Fatalf("%s: sweeping before the first case: %v", EnvSweepFirst, sweepFirst.err)
	}
}
