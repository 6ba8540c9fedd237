// Command webdocs builds .web-docs/, the plugin's pages for the Packer
// integrations portal, from docs/ (run by `make generate`, after
// go generate has refreshed docs-partials/):
//
//	go run ./tools/webdocs [-check]
//
// It renders docs/ with `packer-sdc renderdocs` into a temporary directory
// (replacing each include line with its partial), then compiles the result:
//
//   - docs/README.md becomes .web-docs/README.md;
//   - docs/<kind>/<slug>.mdx, for kind builders, provisioners,
//     post-processors or datasources, becomes
//     .web-docs/components/<type>/<slug>/README.md, without its front matter
//     and its top heading (the portal adds its own title);
//   - docs/integration.hcl, plus one component block per page (named by the
//     page's nav_title), becomes .web-docs/metadata.hcl; without an
//     identifier it gets packer/ORG/NAME from the module path
//     github.com/ORG/packer-plugin-NAME.
//
// Relative links become links to the repository on GitHub, and a link to a
// file that does not exist is an error. Files are only rewritten when their
// content changes, and files of .web-docs/ that are no longer generated are
// removed, so running it twice changes nothing. With -check it writes
// nothing and fails when .web-docs/ is not what it would generate.
package main
