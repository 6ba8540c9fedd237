// Package scaffolding is the example builder: it launches an instance from
// a source image (or empty), provisions it through a communicator and
// snapshots it into a new image, all through cloud.Driver, with steps named
// like amazon-ebs's.
package scaffolding
