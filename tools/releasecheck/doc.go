// Command releasecheck proves that a release built by goreleaser installs
// the way users install plugins: from GitHub, by `packer init` and by
// `packer plugins install github.com/ORG/NAME` (run by
// scripts/check-release.sh, so by `make release-check`):
//
//	go run ./tools/releasecheck -packer PACKER [-dist dist] [-module MODULE]
//
// There is no GitHub here, so it plays GitHub: it serves dist/ as the
// release of tag v<version> on a local TLS server, answering exactly what
// Packer's GitHub getter asks for (packer/plugin-getter/github in Packer
// 1.16): the tags list at
// https://api.github.com/repos/ORG/packer-plugin-NAME/git/matching-refs/tags,
// and the assets <project>_v<version>_SHA256SUMS and the OS/arch zip at
// https://github.com/ORG/packer-plugin-NAME/releases/download/v<version>/.
// Since Packer 1.14 the getter asks https://releases.hashicorp.com for
// packer-plugin-NAME first, whatever ORG is; the server answers 404 there at
// once, as the real site does for a plugin it does not publish, so Packer
// falls through to GitHub.
//
// Packer reaches the server through an HTTPS proxy on 127.0.0.1: Packer's
// HTTP clients honour HTTPS_PROXY, and SSL_CERT_FILE points them at the test
// certificate authority that signed the server's certificates (one per host
// name, made on demand). Packer runs with its own HOME, config, cache and
// plugin directories, so nothing touches the user's ~/.packer.d.
//
// It checks that both ways install the release's binary byte for byte at the
// path Packer's loader expects, that a build then runs that binary, and that
// Packer asked for each of the files above.
package main
