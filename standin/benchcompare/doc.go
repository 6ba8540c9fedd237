// Command benchcompare measures the stand-in image store against the command
// line tools a person would reach for, on the same data in the same run, and
// prints each figure as a ratio (`snapshot vs tar|zstd -T0: 1.1x`).
//
// Absolute times say little on a shared two-core machine; a ratio against a
// baseline measured right beside it, several rounds in alternating order,
// says how far the plugin is from what the machine can do. `make
// bench-compare` runs it (scripts/bench-compare.sh provides zstd, Packer and
// the built plugin).
//
// It lives in standin/ because it measures the stand-in cloud (its store,
// snapshots and index) and uses it directly: a fork that replaces the
// stand-in deletes it with the rest, and the seam test (cloud) builds the
// module without standin/.
//
// Figures:
//   - archive: a snapshot (CreateImage) and a restore (RestoreImage) of a
//     200 MB tree (8,000 small text files and six 24 MB files of mixed
//     content) against `tar -c | gzip -6`, `tar -c | zstd -3 -T0`,
//     `tar -xzf` and `tar --zstd -xf`, and the archive sizes;
//   - lookup: a real `packer build` with one `data "scaffolding-image"`
//     lookup (`name = "img-9*"`, one label) in a store of 1k, 10k and 100k
//     images against the same build without the data source, and in a
//     store of 10 images: the floor, what any data source costs (one more
//     plugin process), which the other three stand on.
package main
