package main

import "testing"

func TestWithHCLTypes(t *testing.T) {
	in := "- `retries` (\\*int) - How many.\n" +
		"- `labels` (map[string]string) - Tags.\n" +
		"  - `nested` ([]string) - Nested item.\n" +
		"- `file` ([]FileConfig) - Files.\n" +
		"- `ssh_timeout` (duration string | ex: \"1h5m2s\") - Wait.\n" +
		"- `odd` (chan int) - Unknown types stay.\n" +
		"Text (int) that is not an option.\n" +
		"- `done` (list(string)) - Already HCL.\n"
	want := "- `retries` (number) - How many.\n" +
		"- `labels` (map(string)) - Tags.\n" +
		"  - `nested` (list(string)) - Nested item.\n" +
		"- `file` (blocks) - Files.\n" +
		"- `ssh_timeout` (string: a duration such as \"1h5m2s\") - Wait.\n" +
		"- `odd` (chan int) - Unknown types stay.\n" +
		"Text (int) that is not an option.\n" +
		"- `done` (list(string)) - Already HCL.\n"
	if got := string(withHCLTypes([]byte(in))); got != want {
		t.Errorf("withHCLTypes:\n%s\nwant:\n%s", got, want)
	}
}
