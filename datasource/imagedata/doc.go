// Package imagedata is the `data "scaffolding-image"` data source: it finds the
// newest image in an image store by name, region and labels.
package imagedata
