// Command structdocs runs `packer-sdc struct-markdown` on one Go file. Each
// config.go calls it from its go:generate lines:
//
//	//go:generate go run github.com/example/packer-plugin-scaffolding/tools/structdocs
//
// packer-sdc finds the project root by walking up from the file to the first
// directory whose name starts with "packer-plugin-", and writes the partials
// under <root>/docs-partials/. In a checkout with any other name (a CI
// workspace, a clone into "src") it finds none and loops forever on "/".
// structdocs hands it the file through a temporary symlink named
// packer-plugin-<name> that points at the module root, so the partials land in
// this module's docs-partials/ wherever the checkout lives.
//
// It also makes the output exact: before the run it removes the partials
// generated from this file earlier (so a renamed or deleted struct leaves
// nothing behind), and after it removes those of unexported structs, which
// packer-sdc writes for any struct with a doc comment.
package main
