package acctest

import (
	"strings"
	"testing"

	"github.com/hashicorp/go-version"
)

func v(s string) *version.Version { return version.Must(version.NewVersion(s)) }

func TestVersionChecks(t *testing.T) {
	for _, tc := range []struct {
		check          VersionCheck
		packer         string
		skip, errorMsg string
	}{
		{SkipBelow(Version1_13), "1.12.0", "Packer 1.12.0 is older than SkipBelow 1.13.0", ""},
		{SkipBelow(Version1_13), "1.13.0", "", ""},
		{SkipBelow(Version1_13), "1.13.0-dev", "", ""}, // a dev build counts as its release
		{SkipAbove(Version1_12), "1.12.0", "", ""},
		{SkipAbove(Version1_12), "1.12.9", "Packer 1.12.9 is newer than SkipAbove 1.12.0", ""},
		{SkipAbove(Version1_12), "1.13.0", "Packer 1.13.0 is newer than SkipAbove 1.12.0", ""},
		{SkipBetween(Version1_12, Version1_13), "1.12.3", "Packer 1.12.3 is in SkipBetween [1.12.0, 1.13.0)", ""},
		{SkipBetween(Version1_12, Version1_13), "1.13.0", "", ""},
		{RequireAbove(Version1_12), "1.11.2", "", "requires Packer 1.12.0 or newer, found 1.11.2"},
		{RequireAbove(Version1_12), "1.12.0", "", ""},
		{RequireBelow(Version1_13), "1.13.0", "", "requires a Packer older than 1.13.0, found 1.13.0"},
		{RequireBelow(Version1_13), "1.12.1", "", ""},
		{RequireBetween(Version1_11, Version1_13), "1.16.0", "", "requires Packer in [1.11.0, 1.13.0), found 1.16.0"},
		{RequireBetween(Version1_11, Version1_13), "1.11.2", "", ""},
	} {
		skip, err := tc.check.CheckPackerVersion(v(tc.packer))
		if skip != tc.skip {
			t.Errorf("%v on %s: expected skip %q, found %q", tc.check, tc.packer, tc.skip, skip)
		}
		if (tc.errorMsg == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.errorMsg) {
			t.Errorf("%v on %s: expected error %q, found %v", tc.check, tc.packer, tc.errorMsg, err)
		}
	}
	c := Case{PackerVersionChecks: []VersionCheck{RequireAbove(Version1_12), SkipBelow(Version1_13)}}
	if _, err := c.versionVerdict(v("1.11.2")); err == nil {
		t.Error("expected the first check, RequireAbove, to fail 1.11.2")
	}
	if skip, err := c.versionVerdict(v("1.12.0")); err != nil || skip == "" {
		t.Errorf("expected SkipBelow(1.13) to skip 1.12.0, found %q, %v", skip, err)
	}
}

func TestWireModeSkip(t *testing.T) {
	v2 := &pluginInfo{Name: "new", ProtocolVersion: "v2"}
	old := &pluginInfo{Name: "old"}
	for _, tc := range []struct {
		mode    WireMode
		packer  string
		plugins []*pluginInfo
		want    string
	}{
		{Protobuf, "1.16.0", []*pluginInfo{v2}, ""},
		{Gob, "1.11.2", []*pluginInfo{old}, ""},
		{Protobuf, "1.11.2", []*pluginInfo{v2}, "Packer 1.11.2 speaks only gob to plugins (protobuf needs Packer 1.12 or newer)"},
		{Protobuf, "1.16.0", []*pluginInfo{v2, old}, "plugin old reports protocol_version none in describe, not v2"},
	} {
		got := wireModeSkip(tc.mode, v(tc.packer), tc.plugins)
		if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
			t.Errorf("%s on %s: expected %q, found %q", tc.mode, tc.packer, tc.want, got)
		}
	}
}

func TestShard(t *testing.T) {
	for _, bad := range []string{"0/2", "3/2", "1", "a/b", "1/0", "-1/2"} {
		if _, _, err := ParseShard(bad); err == nil || !strings.Contains(err.Error(), EnvShard) {
			t.Errorf("%q: expected an error naming %s, found %v", bad, EnvShard, err)
		}
	}
	// Every name lands in exactly one shard, the same for its subtests.
	names := []string{"TestAccA", "TestAccB", "TestAccC", "TestAccD", "TestAccE", "TestAccF", "TestAccG"}
	counts := map[int]int{}
	for _, name := range names {
		in := 0
		for i := 1; i <= 3; i++ {
			skip, err := shardSkip(name+"/protobuf", spec(i, 3))
			if err != nil {
				t.Fatal(err)
			}
			if skip == "" {
				in++
				counts[i]++
			}
		}
		if in != 1 {
			t.Errorf("%s: expected it in exactly one of 3 shards, found %d", name, in)
		}
		if ShardOf(name, 3) != ShardOf(name+"/gob", 3) {
			t.Errorf("%s: expected its subtests in its shard", name)
		}
	}
	if skip, _ := shardSkip("TestAccA", ""); skip != "" {
		t.Errorf("expected no sharding without a spec, found %q", skip)
	}
	if ShardOf("TestAccHarness_basic", 4) != 4 {
		t.Errorf("expected the shard of a name to stay fixed (FNV-1a), found %d", ShardOf("TestAccHarness_basic", 4))
	}
}

func spec(i, n int) string { return strings.Join([]string{itoa(i), itoa(n)}, "/") }

func itoa(i int) string { return string(rune('0' + i)) }
