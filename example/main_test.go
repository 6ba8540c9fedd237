package main

import (
	"testing"

	"github.com/example/packer-plugin-scaffolding/acctest"
)

// The run says the Packer it looks for: before, it always named the pinned
// version, even when PACKER_ACC_VERSION selected another.
func TestPackerWanted(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{nil, acctest.PackerVersion},
		{map[string]string{acctest.EnvPackerVersion: "1.11.2"}, "1.11.2 (PACKER_ACC_VERSION)"},
		{map[string]string{acctest.EnvPackerVersion: "1.11.2", acctest.EnvPackerBin: "/opt/packer"}, "/opt/packer (PACKER_BIN)"},
	} {
		if got := packerWanted(func(k string) string { return tc.env[k] }); got != tc.want {
			t.Errorf("packerWanted(%v) = %q, want %q", tc.env, got, tc.want)
		}
	}
}
