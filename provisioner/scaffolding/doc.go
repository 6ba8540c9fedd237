// Package scaffolding is the `provisioner "scaffolding"`: it uploads files
// (rendered with build data) to the machine and runs commands there, with
// retries and a timeout, through whatever communicator the builder provides.
package scaffolding
