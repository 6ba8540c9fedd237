// Command rename turns a fork of this template into a plugin of its own
// name, deriving the old name from go.mod so that it can be run again later:
//
//	go run ./tools/rename -name NAME -module MODULE   (make rename NAME=... MODULE=...)
//	go run ./tools/rename -leftovers OLD_MODULE       (what still names OLD_MODULE's plugin)
//
// It rewrites the name as whole tokens only: never inside another word,
// never in other modules' import paths or in URLs of other sites, never in
// go.sum, LICENSE or CHANGELOG.md (and in go.mod only the module line and
// comments). It refuses a name that would break the tree or a later rename:
// Go keywords and predeclared identifiers, package names the template
// declares or imports (read from the tree at run time, so the check follows
// the code), standard library package names, and words the tree already
// uses, which a later rename could not tell from the plugin's name. It also
// refuses, unless -force, a module outside github.com and the name of an
// official HashiCorp plugin, which Packer could not install from the
// plugin's own releases.
package main
