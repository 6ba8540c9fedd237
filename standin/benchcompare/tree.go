package main

import (
	"fmt"
	"io"
	mrand "math/rand"
	"math/rand/v2"
	"os"
	"path/filepath"
)

// The tree every archive figure works on: what a provisioned machine image
// typically holds, many small text files (configuration, scripts, sources)
// and a few large files, some compressible and some not.
const (
	smallFiles = 8000
	bigFiles   = 6
	bigSize    = 24 << 20
	// smallTotal brings the tree to about 200 MB.
	smallTotal = 200<<20 - bigFiles*bigSize
)

// makeTree writes the tree into dir. It is the same on every run (fixed
// seeds), so sizes can be compared between runs too.
func makeTree(dir string) (int64, error) {
	text := newTextSource(1)
	var total int64
	avg := smallTotal / smallFiles
	sizes := rand.New(rand.NewPCG(2, 2))
	for i := 0; i < smallFiles; i++ {
		sub := filepath.Join(dir, "etc", fmt.Sprintf("d%02d", i%40), fmt.Sprintf("s%d", i%7))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			return 0, err
		}
		size := avg/4 + sizes.IntN(avg*3/2)
		n, err := writeFile(filepath.Join(sub, fmt.Sprintf("file-%04d.conf", i)), io.LimitReader(text, int64(size)))
		if err != nil {
			return 0, err
		}
		total += n
	}
	noise := rand.NewChaCha8([32]byte{3})
	big := filepath.Join(dir, "opt", "data")
	if err := os.MkdirAll(big, 0o755); err != nil {
		return 0, err
	}
	for i := 0; i < bigFiles; i++ {
		var r io.Reader
		switch i % 3 {
		case 0: // already compressed data: media, packages
			r = noise
		case 1: // logs, dumps
			r = text
		default: // binaries: text, noise and zero runs in blocks
			r = &blocks{text: text, noise: noise}
		}
		n, err := writeFile(filepath.Join(big, fmt.Sprintf("blob-%d.bin", i)), io.LimitReader(r, bigSize))
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}

func writeFile(name string, r io.Reader) (int64, error) {
	f, err := os.Create(name)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return n, err
}

// textSource yields endless lines of words drawn with a Zipf distribution
// from a fixed vocabulary, which compresses about as well as real
// configuration and source text.
type textSource struct {
	words [][]byte
	zipf  *mrand.Zipf
	rng   *mrand.Rand
	buf   []byte
}

func newTextSource(seed int64) *textSource {
	rng := mrand.New(mrand.NewSource(seed))
	words := make([][]byte, 4096)
	for i := range words {
		w := make([]byte, 2+rng.Intn(9))
		for j := range w {
			w[j] = byte('a' + rng.Intn(26))
		}
		words[i] = w
	}
	return &textSource{words: words, zipf: mrand.NewZipf(rng, 1.1, 8, uint64(len(words)-1)), rng: rng}
}

func (t *textSource) Read(p []byte) (int, error) {
	for len(t.buf) < len(p) {
		n := 4 + t.rng.Intn(10)
		for i := 0; i < n; i++ {
			if i > 0 {
				t.buf = append(t.buf, ' ')
			}
			t.buf = append(t.buf, t.words[t.zipf.Uint64()]...)
		}
		if t.rng.Intn(4) == 0 {
			t.buf = fmt.Appendf(t.buf, " = %d", t.rng.Intn(100000))
		}
		t.buf = append(t.buf, '\n')
	}
	n := copy(p, t.buf)
	t.buf = t.buf[:copy(t.buf, t.buf[n:])]
	return n, nil
}

// blocks alternates 64 KiB of text, noise and zeros.
type blocks struct {
	text, noise io.Reader
	n           int64
}

func (b *blocks) Read(p []byte) (int, error) {
	const size = 64 << 10
	left := size - int(b.n%size)
	if len(p) > left {
		p = p[:left]
	}
	var n int
	var err error
	switch (b.n / size) % 3 {
	case 0:
		n, err = b.text.Read(p)
	case 1:
		n, err = b.noise.Read(p)
	default:
		clear(p)
		n = len(p)
	}
	b.n += int64(n)
	return n, err
}
