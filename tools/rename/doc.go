// Command rename turns a fork of this template into a plugin of its own
// name, deriving the old name from go.mod so that it can be run again later:
//
//	go run ./tools/rename -name NAME -module MODULE   (make rename NAME=... MODULE=...)
package main
