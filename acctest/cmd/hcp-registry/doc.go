// Command hcp-registry runs the local HCP Packer registry emulator on its
// own, so that a manual `packer build` can publish metadata to it.
//
// Usage:
//
//	go run ./acctest/cmd/hcp-registry [-port 8080] [-env-file hcp.env] [-channel bucket/channel]...
//
// It prints `export NAME=value` lines for the environment Packer needs (and
// writes them to -env-file, ready to `source`), logs every request it
// answers to stderr, serves the recorded state as JSON at
// GET /_emulator/state, and prints that state (or writes it to -state-file)
// when interrupted with Ctrl-C.
package main
