// Package scaffolding is the example builder: it launches an instance from an
// image in an image store, provisions it through a communicator and
// snapshots it into a new image, all through the Driver interface.
package scaffolding
