package main

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// TestRecordRoundTrip: a record written and read back finds the recorded
// names, also on a line that moved, and reports a line that was edited.
func TestRecordRoundTrip(t *testing.T) {
	rec := newRecord(mustIdentity(t, "github.com/zoo/packer-plugin-image"))
	content := []byte("source \"image\" {}\n# an image of image\nlast image\n")
	// "image" in line 1, the second one of line 2, line 3.
	rec.add("a.pkr.hcl", spanList{{0, 5}}, content, [][2]int{{8, 13}, {32, 37}, {43, 48}})
	data, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"spans":"14-19"`) || !strings.Contains(string(data), `"path":"0-5"`) {
		t.Errorf("record spans are not written as START-END strings:\n%s", data)
	}
	var back record
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.Files, rec.Files) {
		t.Errorf("read back %+v, wrote %+v", back.Files, rec.Files)
	}

	// A line inserted on top moves every line; the last one was edited.
	now := []byte("# new\nsource \"image\" {}\n# an image of image\nlast image!\n")
	allowed, lost := back.contentAllowed("a.pkr.hcl", now)
	want := map[int]bool{14: true, 38: true}
	if !reflect.DeepEqual(allowed, want) {
		t.Errorf("allowed = %v, want %v", allowed, want)
	}
	if len(lost) != 1 || lost[0] != "a.pkr.hcl:3: last image" {
		t.Errorf("lost = %q", lost)
	}
	if got := back.pathAllowed("a.pkr.hcl"); !reflect.DeepEqual(got, map[int]bool{0: true}) {
		t.Errorf("pathAllowed = %v", got)
	}
	if got := back.pathAllowed("other"); len(got) != 0 {
		t.Errorf("pathAllowed of an unrecorded file = %v", got)
	}

	var bad spanList
	if err := json.Unmarshal([]byte(`"3-x"`), &bad); err == nil || !strings.Contains(err.Error(), `span "3-x"`) {
		t.Errorf("bad span: %v", err)
	}
}
