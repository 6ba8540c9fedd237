// Package registry runs a local emulator of the HCP Packer registry API that
// Packer talks to during `packer build`, records what Packer sent, and can
// make chosen calls fail or stall.
package registry
