// Package cloud is the seam between the plugin's components and the
// platform they build images on: the Driver interface, the image and
// instance model, the access configuration, validators, the one factory
// (NewDriver) and a recording MockDriver for tests.
package cloud
