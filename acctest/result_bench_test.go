package acctest

import (
	"os"
	"strings"
	"testing"
)

// BenchmarkParseMachineReadable measures parsing a captured build's
// -machine-readable output, repeated to about 1 MiB.
func BenchmarkParseMachineReadable(b *testing.B) {
	one, err := os.ReadFile("testdata/machine-readable/digest-artifacts.stdout")
	if err != nil {
		b.Fatal(err)
	}
	out := strings.Repeat(string(one), 1+(1<<20)/len(one))
	b.SetBytes(int64(len(out)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if r := ParseMachineReadable(out); len(r.Lines) == 0 {
			b.Fatal("no lines parsed")
		}
	}
}
