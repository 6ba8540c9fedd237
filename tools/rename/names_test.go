package main

import (
	"errors"
	"strings"
	"testing"
)

func TestParseIdentity(t *testing.T) {
	got, err := parseIdentity("github.com/zoo/packer-plugin-night-owl")
	if err != nil {
		t.Fatal(err)
	}
	want := identity{
		Module:  "github.com/zoo/packer-plugin-night-owl",
		Project: "packer-plugin-night-owl",
		Name:    "night-owl",
		Address: "github.com/zoo/night-owl",
		Org:     "zoo",
		Pkg:     "nightowl",
	}
	if got != want {
		t.Errorf("parseIdentity:\n got %+v\nwant %+v", got, want)
	}

	v2, err := parseIdentity("gitlab.example.org/team/packer-plugin-quokka/v2")
	if err != nil {
		t.Fatal(err)
	}
	if v2.Name != "quokka" || v2.Address != "gitlab.example.org/team/quokka" || v2.Project != "packer-plugin-quokka" {
		t.Errorf("major version suffix: got %+v", v2)
	}
}

func TestParseIdentityErrors(t *testing.T) {
	for _, tc := range []struct {
		module, wantErr string
	}{
		{"github.com/zoo/quokka", "must end in /packer-plugin-NAME"},
		{"packer-plugin-quokka", "missing dot in first path element"},
		{"github.com/zoo/packer-plugin-", "plugin name is empty"},
		{"github.com/zoo/packer-plugin-Quokka", `plugin name "Quokka" must be lowercase`},
		{"github.com/zoo/packer-plugin-packer-x", `must not start with "packer-"`},
		{"github.com/zoo/packer plugin", "not a valid Go module path"},
		{"", "not a valid Go module path"},
	} {
		_, err := parseIdentity(tc.module)
		if err == nil {
			t.Errorf("parseIdentity(%q): no error", tc.module)
			continue
		}
		if !strings.Contains(err.Error(), tc.module) {
			t.Errorf("parseIdentity(%q): error does not name the module: %v", tc.module, err)
		}
		if !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("parseIdentity(%q): error %q does not contain %q", tc.module, err, tc.wantErr)
		}
	}
}

func TestCheckName(t *testing.T) {
	// Keywords and predeclared names are plugin names like any other; their
	// Go packages get pkgSuffix (TestRunClashingNames).
	for _, ok := range []string{"quokka", "night-owl", "a1", "x-2-y", "func", "ty-pe", "copy"} {
		if err := checkName(ok); err != nil {
			t.Errorf("checkName(%q): %v", ok, err)
		}
	}
	for bad, want := range map[string]string{
		"":                   "empty",
		"Quokka":             "lowercase",
		"1owl":               "start with a letter",
		"owl-":               "not end with a dash",
		"night--owl":         "single dashes",
		"night_owl":          "lowercase letters, digits and single dashes",
		"packer-plugin-owl":  `use "owl"`,
		"packer-owl":         `must not start with "packer-"`,
		"owl.v2":             "lowercase letters",
		"night owl":          "lowercase letters",
		"\u00f6wl":           "lowercase letters",
		"owl/../../etc/pass": "lowercase letters",
	} {
		err := checkName(bad)
		if err == nil {
			t.Errorf("checkName(%q): no error", bad)
			continue
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("checkName(%q): error %q does not contain %q", bad, err, want)
		}
	}
}

func TestRemoteModule(t *testing.T) {
	for remote, want := range map[string]string{
		"https://github.com/zoo/packer-plugin-owl.git":       "github.com/zoo/packer-plugin-owl",
		"https://github.com/zoo/packer-plugin-owl":           "github.com/zoo/packer-plugin-owl",
		"https://user@GitHub.com/zoo/packer-plugin-owl.git/": "github.com/zoo/packer-plugin-owl",
		"git@github.com:zoo/packer-plugin-owl.git":           "github.com/zoo/packer-plugin-owl",
		"github.com:zoo/packer-plugin-owl":                   "github.com/zoo/packer-plugin-owl",
		"ssh://git@github.com/zoo/packer-plugin-owl.git":     "github.com/zoo/packer-plugin-owl",
		"ssh://git@github.com:2222/zoo/packer-plugin-owl":    "github.com/zoo/packer-plugin-owl",
		"/srv/git/packer-plugin-owl.git":                     "",
		"file:///srv/git/packer-plugin-owl.git":              "",
		"":                                                   "",
	} {
		if got := remoteModule(remote); got != want {
			t.Errorf("remoteModule(%q) = %q, want %q", remote, got, want)
		}
	}
}

func TestResolve(t *testing.T) {
	current := mustIdentity(t, "github.com/zoo/packer-plugin-quokka")
	for _, tc := range []struct {
		desc, name, module, remote string
		want                       string // module path
		wantErr                    string
	}{
		{desc: "module only", module: "github.com/acme/packer-plugin-owl", want: "github.com/acme/packer-plugin-owl"},
		{desc: "name and module agree", name: "owl", module: "github.com/acme/packer-plugin-owl", want: "github.com/acme/packer-plugin-owl"},
		{desc: "name and module disagree", name: "bat", module: "github.com/acme/packer-plugin-owl", wantErr: `names the plugin "owl" but NAME is "bat"`},
		{desc: "name takes host and org from the remote", name: "owl", remote: "github.com/acme/packer-plugin-whatever", want: "github.com/acme/packer-plugin-owl"},
		{desc: "name without remote keeps the current org", name: "owl", want: "github.com/zoo/packer-plugin-owl"},
		{desc: "name with an unrelated remote keeps the current org", name: "owl", remote: "github.com/acme/tools", want: "github.com/zoo/packer-plugin-owl"},
		{desc: "remote alone", remote: "github.com/acme/packer-plugin-owl", want: "github.com/acme/packer-plugin-owl"},
		{desc: "remote not a plugin repository", remote: "github.com/acme/tools", wantErr: "give NAME"},
		{desc: "nothing", wantErr: "give NAME"},
		{desc: "bad name", name: "Owl", wantErr: "NAME: plugin name \"Owl\""},
		{desc: "bad module", module: "github.com/acme/owl", wantErr: "MODULE: module path \"github.com/acme/owl\" must end in"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			got, err := resolve(current, tc.name, tc.module, tc.remote)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Module != tc.want {
				t.Errorf("module = %q, want %q", got.Module, tc.want)
			}
		})
	}
	if _, err := resolve(current, "", "", ""); !errors.Is(err, errNoRenameArgs) {
		t.Errorf("resolve with nothing: %v, want errNoRenameArgs", err)
	}
}

func TestSpellings(t *testing.T) {
	for _, tc := range []struct{ name, identLower, identTitle, textTitle, upperSnake string }{
		{"owl", "owl", "Owl", "Owl", "OWL"},
		{"night-owl", "nightowl", "NightOwl", "Night-Owl", "NIGHT_OWL"},
		{"a-2b", "a2b", "A2b", "A-2b", "A_2B"},
	} {
		if got := identLower(tc.name); got != tc.identLower {
			t.Errorf("identLower(%q) = %q, want %q", tc.name, got, tc.identLower)
		}
		if got := identTitle(tc.name); got != tc.identTitle {
			t.Errorf("identTitle(%q) = %q, want %q", tc.name, got, tc.identTitle)
		}
		if got := textTitle(tc.name); got != tc.textTitle {
			t.Errorf("textTitle(%q) = %q, want %q", tc.name, got, tc.textTitle)
		}
		if got := upperSnake(tc.name); got != tc.upperSnake {
			t.Errorf("upperSnake(%q) = %q, want %q", tc.name, got, tc.upperSnake)
		}
	}
}

func mustIdentity(t *testing.T, module string) identity {
	t.Helper()
	id, err := parseIdentity(module)
	if err != nil {
		t.Fatal(err)
	}
	return id
}
