// Package imagecopy is the `post-processor "scaffolding-copy"`: it copies an
// image built by the scaffolding builder to other regions of its store and
// returns one artifact covering every region.
package imagecopy
