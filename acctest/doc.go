// Package acctest runs acceptance tests of a Packer plugin against a real
// Packer binary, in both plugin wire modes, and checks what the builds made.
package acctest
