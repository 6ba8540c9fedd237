// Package setup is the `provisioner "scaffolding"`: it sets the machine up:
// it uploads files (rendered with build data) and runs commands there, with
// retries and a timeout, through whatever communicator the builder provides.
package setup
