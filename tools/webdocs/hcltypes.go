package main

import (
	"regexp"
	"strings"
)

// packer-sdc writes each option as "- `name` (<Go type>) - text". Users
// write HCL, so the published pages name HCL types: `number`, not `*int`;
// `list(string)`, not `[]string`. The SDK's own partials (the communicator
// options) get the same treatment, since they are rendered into the pages.

// optionRe matches an option line up to its type.
// The type ends at the ") - " before the text (or at the end of the line),
// since an HCL type such as list(string) holds parentheses itself.
var optionRe = regexp.MustCompile("(?m)^(\\s*- `[^`]+` \\()(.*?)(\\)(?: - |[ \\t]*$))")

// hclTypes names each Go type packer-sdc may write by its HCL type.
var hclTypes = map[string]string{
	"string":                         "string",
	"bool":                           "bool",
	"boolean":                        "bool",
	`\*bool`:                         "bool",
	"int":                            "number",
	"int64":                          "number",
	"uint":                           "number",
	"float64":                        "number",
	`\*int`:                          "number",
	`\*int64`:                        "number",
	"[]string":                       "list(string)",
	"map[string]string":              "map(string)",
	`duration string | ex: "1h5m2s"`: `string: a duration such as "1h5m2s"`,
}

// structListRe matches a list of structs: what HCL sees as repeatable
// nested blocks.
var structListRe = regexp.MustCompile(`^\[\][A-Z][A-Za-z0-9]*$`)

// hclType is the HCL type for a Go type packer-sdc wrote, and whether it
// knows one.
func hclType(goType string) (string, bool) {
	if t, ok := hclTypes[goType]; ok {
		return t, true
	}
	if structListRe.MatchString(goType) {
		return "blocks", true
	}
	return goType, false
}

// withHCLTypes rewrites the types of every option line in a rendered page.
// Types it does not know are left as they are, for the coverage test to
// report.
func withHCLTypes(page []byte) []byte {
	return optionRe.ReplaceAllFunc(page, func(m []byte) []byte {
		sub := optionRe.FindSubmatch(m)
		t, _ := hclType(strings.TrimSpace(string(sub[2])))
		return []byte(string(sub[1]) + t + string(sub[3]))
	})
}
