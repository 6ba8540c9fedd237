package acctest

import (
	"os"
	"path/filepath"
)

// Acceptance coverage: with PACKER_ACC_COVERDIR set, the harness builds
// every plugin under test with -cover (and -coverpkg=$PACKER_ACC_COVERPKG
// when set), and gives each packer invocation its own GOCOVERDIR under that
// directory, which every plugin process Packer starts inherits and writes
// its counters to. `make testacc-cover` sets both and merges the result
// with the unit tests' coverage.
const (
	// EnvCoverDir is the directory acceptance coverage goes to.
	EnvCoverDir = "PACKER_ACC_COVERDIR"
	// EnvCoverPkg is the -coverpkg pattern list for plugin builds.
	EnvCoverPkg = "PACKER_ACC_COVERPKG"
)

// coverDir returns the absolute coverage directory, or "".
func coverDir() string {
	d := os.Getenv(EnvCoverDir)
	if d == "" {
		return ""
	}
	abs, err := filepath.Abs(d)
	if err != nil {
		return d
	}
	return abs
}

// newCoverDir makes a fresh GOCOVERDIR for one packer invocation, or ""
// when coverage is off.
func newCoverDir() (string, error) {
	base := coverDir()
	if base == "" {
		return "", nil
	}
	if err := os.MkdirAll(base, 0o755); err != nil {
		return "", err
	}
	return os.MkdirTemp(base, "run-")
}
