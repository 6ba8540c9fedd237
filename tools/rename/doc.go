// Command rename turns a fork of this template into a plugin of its own
// name, deriving the old name from go.mod so that it can be run again later:
//
//	go run ./tools/rename -name NAME -module MODULE   (make rename NAME=... MODULE=...)
//	go run ./tools/rename -leftovers OLD_MODULE       (what still names OLD_MODULE's plugin)
//
// It rewrites the name as whole tokens only: never inside another word,
// never in other modules' import paths or in URLs of other sites, never in
// go.sum, LICENSE or CHANGELOG.md (and in go.mod only the module line and
// comments).
//
// The packages named after the plugin (builder/NAME, and any other package directory named NAME) are
// Go package NAME without dashes, unless that would be a Go keyword, a
// predeclared identifier, a standard library package or a package the tree
// declares or imports (read from the tree at run time, so the check follows
// the code): then they are package NAMEplugin (image → imageplugin, in
// builder/image), and only Go code says so; directories, the plugin name,
// the component names, the binary, the module path and the docs keep NAME.
//
// A name the tree already uses as a word (image, http, registry) cannot be
// told from those words afterwards, so the rename then writes
// tools/rename/record.json, the places where it wrote the name, and the
// next rename changes only those places (and the module path, address and
// project name, which are unambiguous), reporting recorded lines that were
// edited since. Any other name needs no record, and a rename to one
// removes an old record.
//
// It refuses, unless -force, a module outside github.com and the name of an
// official HashiCorp plugin, which Packer could not install from the
// plugin's own releases.
package main
