package main

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"time"
)

// timed runs fn and returns how long it took.
func timed(fn func() error) (time.Duration, error) {
	start := time.Now()
	err := fn()
	return time.Since(start), err
}

// shell runs a command line with sh -c in dir; its output is shown only
// when it fails.
func shell(dir, line string) error {
	cmd := exec.Command("sh", "-c", line)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w\n%s", line, err, out)
	}
	return nil
}

// series collects one duration per round for each named command.
type series map[string][]time.Duration

func (s series) add(name string, d time.Duration) { s[name] = append(s[name], d) }

// ratio is the median over rounds of a[i]/b[i]: pairing the two commands of
// one round cancels most of what the rest of the machine was doing then.
func (s series) ratio(a, b string) float64 {
	x, y := s[a], s[b]
	n := min(len(x), len(y))
	r := make([]float64, 0, n)
	for i := 0; i < n; i++ {
		if y[i] > 0 {
			r = append(r, float64(x[i])/float64(y[i]))
		}
	}
	return median(r)
}

// median is the middle value (the mean of the two middle ones for an even
// count), or 0 for none.
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	v = slices.Clone(v)
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func (s series) median(name string) time.Duration {
	v := make([]float64, len(s[name]))
	for i, d := range s[name] {
		v[i] = float64(d)
	}
	return time.Duration(median(v))
}

// figure prints one result line: the ratio, then the goal when there is one
// (goal 0 means none) and whether it was met.
func figure(label string, ratio, goal float64) {
	line := fmt.Sprintf("%s: %.2fx", label, ratio)
	if goal > 0 {
		verdict := "ok"
		if ratio > goal {
			verdict = "MISSED"
		}
		line += fmt.Sprintf("  (goal <= %.1fx: %s)", goal, verdict)
	}
	fmt.Println(line)
}

// progress goes to stderr, so stdout holds only the figures.
func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
}

// rotate returns the commands in the order for round r: forwards on even
// rounds, backwards on odd ones, so no command always runs first (cold) or
// right after the same neighbour.
func rotate[T any](items []T, r int) []T {
	out := slices.Clone(items)
	if r%2 == 1 {
		slices.Reverse(out)
	}
	return out
}
