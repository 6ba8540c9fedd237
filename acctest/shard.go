package acctest

import (
	"fmt"
	"hash/fnv"
	"os"
	"strconv"
	"strings"
	"testing"
)

// EnvShard selects a stable share of the acceptance tests: "i/n" (1 <= i
// <= n) runs the cases whose top-level test name hashes to shard i of n,
// and skips the others. `make testacc SHARD=i/n` sets it; a CI matrix over
// i = 1..n runs every case exactly once.
const EnvShard = "PACKER_ACC_SHARD"

// ParseShard reads "i/n" (1 <= i <= n).
func ParseShard(s string) (i, n int, err error) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), "/")
	if ok {
		i, err = strconv.Atoi(a)
	}
	if ok && err == nil {
		n, err = strconv.Atoi(b)
	}
	if !ok || err != nil || n < 1 || i < 1 || i > n {
		return 0, 0, fmt.Errorf("%s=%q: expected i/n with 1 <= i <= n, like 2/4", EnvShard, s)
	}
	return i, n, nil
}

// ShardOf returns the shard (1..n) of the test named name: an FNV-1a hash
// of its top-level name, so every subtest of a test, and every wire mode of
// a case, lands in the same shard, whichever machine computes it.
func ShardOf(name string, n int) int {
	top, _, _ := strings.Cut(name, "/")
	h := fnv.New32a()
	_, _ = h.Write([]byte(top))
	return int(h.Sum32()%uint32(n)) + 1
}

// shardSkip says why the test name is outside the shard spec ("" when it
// is inside, or when spec is empty).
func shardSkip(name, spec string) (string, error) {
	if spec == "" {
		return "", nil
	}
	i, n, err := ParseShard(spec)
	if err != nil {
		return "", err
	}
	if s := ShardOf(name, n); s != i {
		return fmt.Sprintf("%s=%s: this case is in shard %d/%d", EnvShard, spec, s, n), nil
	}
	return "", nil
}

// SkipOutsideShard skips t when it is outside the shard PACKER_ACC_SHARD
// selects, and fails it when that variable is malformed. Test calls it;
// call it from acceptance tests that do not go through Test, so they
// shard the same way.
func SkipOutsideShard(t testing.TB) {
	t.Helper()
	skip, err := shardSkip(t.Name(), os.Getenv(EnvShard))
	if err != nil {
		t.Fatal(err)
	}
	if skip != "" {
		t.Skip(skip)
	}
}
