package main

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"regexp"
	"strings"

	"golang.org/x/mod/module"
)

// projectPrefix starts every Packer plugin's repository and binary name;
// Packer's `packer init` derives one from the other with it.
const projectPrefix = "packer-plugin-"

var (
	namePattern     = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)
	majorSuffix     = regexp.MustCompile(`^v[0-9]+$`)
	scpLikeRemote   = regexp.MustCompile(`^(?:[^@/]+@)?([^:/]+):(.+)$`)
	errNoRenameArgs = errors.New("give NAME (the plugin name, e.g. NAME=mycloud) or MODULE " +
		"(e.g. MODULE=github.com/acme/packer-plugin-mycloud): the git remote 'origin' " +
		"is missing or not a .../packer-plugin-NAME repository, so there is nothing to default to")
)

// identity is everything the rename derives from one module path: the
// plugin's Go module, its name and the address Packer installs it under.
type identity struct {
	Module  string // github.com/acme/packer-plugin-mycloud
	Project string // packer-plugin-mycloud (repository, binary and release name)
	Name    string // mycloud (HCL type prefix, plugin address name)
	Address string // github.com/acme/mycloud (packer plugins install / required_plugins source)
	Org     string // acme (the namespace in the address; BuilderID prefix)
	// Pkg is the Go package name of the packages named after the plugin
	// (builder/mycloud, and any other package directory named mycloud): the name without dashes, or,
	// when that would clash with a Go keyword, a predeclared identifier, the
	// standard library or a package the tree declares or imports, that
	// name followed by pkgSuffix (imageplugin). See goPackageName.
	Pkg string
}

// pkgSuffix makes a plugin's Go package name distinct when the plain one
// clashes (image → imageplugin). It is a fixed word, so that a later rename
// recognises the package name as the plugin's.
const pkgSuffix = "plugin"

// parseIdentity splits a module path that follows Packer's naming,
// HOST/ORG/packer-plugin-NAME with an optional /vN, into its parts.
func parseIdentity(modulePath string) (identity, error) {
	if err := module.CheckPath(modulePath); err != nil {
		return identity{}, fmt.Errorf("module path %q is not a valid Go module path: %v", modulePath, err)
	}
	base := modulePath
	if dir, last := path.Split(base); majorSuffix.MatchString(last) && dir != "" {
		base = strings.TrimSuffix(dir, "/")
	}
	dir, project := path.Split(base)
	name, ok := strings.CutPrefix(project, projectPrefix)
	if !ok || dir == "" {
		return identity{}, fmt.Errorf("module path %q must end in /%sNAME (optionally followed by /vN): "+
			"Packer finds a plugin's releases in the repository named %sNAME", modulePath, projectPrefix, projectPrefix)
	}
	if err := checkName(name); err != nil {
		return identity{}, fmt.Errorf("module path %q: %v", modulePath, err)
	}
	dir = strings.TrimSuffix(dir, "/")
	return identity{
		Module:  modulePath,
		Project: project,
		Name:    name,
		Address: dir + "/" + name,
		Org:     path.Base(dir),
		Pkg:     identLower(name),
	}, nil
}

// checkName reports whether name can be a Packer plugin name. Whether it
// can also be a Go package name (it may be a keyword, func, or a
// predeclared identifier, copy) is goPackageName's question: such names get
// a package name with pkgSuffix.
func checkName(name string) error {
	switch {
	case name == "":
		return errors.New("plugin name is empty")
	case strings.HasPrefix(name, "packer-"):
		return fmt.Errorf("plugin name %q must not start with \"packer-\" (Packer rejects it; use %q)",
			name, strings.TrimPrefix(strings.TrimPrefix(name, projectPrefix), "packer-"))
	case !namePattern.MatchString(name):
		return fmt.Errorf("plugin name %q must be lowercase letters, digits and single dashes, "+
			"start with a letter and not end with a dash (e.g. mycloud or my-cloud)", name)
	}
	return nil
}

// officialPlugins are the plugins HashiCorp maintains and publishes on
// releases.hashicorp.com, as Packer 1.16 lists them (knownPlugins in
// command/hcl2_upgrade.go). Since Packer 1.14, `packer init` and `packer
// plugins install github.com/ORG/NAME` first ask that site for
// packer-plugin-NAME, whatever ORG is, so a plugin sharing one of these
// names gets HashiCorp's binary instead of its own.
var officialPlugins = map[string]bool{
	"amazon": true, "ansible": true, "azure": true, "docker": true, "googlecompute": true,
	"qemu": true, "vagrant": true, "virtualbox": true, "vmware": true, "vsphere": true,
}

// hashicorpPlugins are further plugins that lived or live in the hashicorp
// GitHub organisation (hashicorp/packer-plugin-NAME, as Packer 1.16's code
// and changelog name them). Some moved to their vendors; any of them may be
// on the release site, so the rename warns about them.
var hashicorpPlugins = map[string]bool{
	"alicloud": true, "chef": true, "cloudstack": true, "converge": true, "digitalocean": true,
	"hcloud": true, "hyperone": true, "hyperv": true, "inspec": true, "ionos-cloud": true,
	"jdcloud": true, "linode": true, "lxc": true, "lxd": true, "ncloud": true, "oneandone": true,
	"openstack": true, "oracle": true, "outscale": true, "parallels": true, "profitbricks": true,
	"proxmox": true, "puppet": true, "salt": true, "scaleway": true, "tencentcloud": true,
	"triton": true, "ucloud": true, "yandex": true,
}

// packerHost is the only source host `packer init` installs plugins from.
const packerHost = "github.com"

// installProblems lists what would keep Packer from installing the plugin
// by its address (refusals) and what might (warnings).
func installProblems(id identity) (refusals, warnings []string) {
	if host, _, _ := strings.Cut(id.Module, "/"); host != packerHost {
		refusals = append(refusals, fmt.Sprintf("module %s is not on %s: packer init and "+
			"`packer plugins install %s` install plugins only from github.com/ORG/NAME sources, so users "+
			"could only install this plugin with --path", id.Module, packerHost, id.Address))
	}
	switch {
	case officialPlugins[id.Name]:
		refusals = append(refusals, fmt.Sprintf("%q is the name of an official HashiCorp plugin: packer init "+
			"asks releases.hashicorp.com for packer-plugin-%s before GitHub, whatever the organisation, "+
			"and would install HashiCorp's plugin instead of yours", id.Name, id.Name))
	case hashicorpPlugins[id.Name]:
		warnings = append(warnings, fmt.Sprintf("%q is also the name of a plugin from the hashicorp organisation "+
			"(github.com/hashicorp/packer-plugin-%s): if releases.hashicorp.com publishes it, packer init "+
			"installs that one instead of yours", id.Name, id.Name))
	}
	return refusals, warnings
}

// resolve decides the new identity from the NAME and MODULE arguments (either
// may be empty), falling back on the git remote's module path and then on
// the current module's host and organisation.
func resolve(current identity, name, modulePath, remote string) (identity, error) {
	if name != "" {
		if err := checkName(name); err != nil {
			return identity{}, fmt.Errorf("NAME: %v", err)
		}
	}
	switch {
	case modulePath != "":
		next, err := parseIdentity(modulePath)
		if err != nil {
			return identity{}, fmt.Errorf("MODULE: %v", err)
		}
		if name != "" && name != next.Name {
			return identity{}, fmt.Errorf("MODULE %q names the plugin %q but NAME is %q: "+
				"make them agree, or give only one of them", modulePath, next.Name, name)
		}
		return next, nil
	case name != "":
		// Keep the host and organisation of the remote (or of the current
		// module when there is no usable remote), and swap the name.
		from := current
		if remote != "" {
			if r, err := parseIdentity(remote); err == nil {
				from = r
			}
		}
		base := strings.TrimSuffix(from.Address, "/"+from.Name)
		return parseIdentity(base + "/" + projectPrefix + name)
	case remote != "":
		next, err := parseIdentity(remote)
		if err != nil { // it was only a default, so say what to pass instead
			return identity{}, fmt.Errorf("%w (origin is %s)", errNoRenameArgs, remote)
		}
		return next, nil
	}
	return identity{}, errNoRenameArgs
}

// remoteModule turns a git remote URL (https, ssh:// or scp-like
// git@host:org/repo) into the module path it would host, or "" if it is not
// a URL of that shape.
func remoteModule(remote string) string {
	remote = strings.TrimSpace(remote)
	var host, repoPath string
	if strings.Contains(remote, "://") {
		u, err := url.Parse(remote)
		if err != nil || u.Hostname() == "" {
			return ""
		}
		host, repoPath = u.Hostname(), u.Path
	} else if m := scpLikeRemote.FindStringSubmatch(remote); m != nil {
		host, repoPath = m[1], m[2]
	} else {
		return ""
	}
	repoPath = strings.TrimSuffix(strings.Trim(repoPath, "/"), ".git")
	if repoPath == "" || !strings.Contains(host, ".") {
		return ""
	}
	return strings.ToLower(host) + "/" + repoPath
}

// identLower is the name as a Go identifier or package name: my-cloud → mycloud.
func identLower(name string) string { return strings.ReplaceAll(name, "-", "") }

// identTitle is the name inside an exported Go identifier: my-cloud → MyCloud.
func identTitle(name string) string { return strings.Join(titleParts(name), "") }

// textTitle is the capitalised name in prose: my-cloud → My-Cloud.
func textTitle(name string) string { return strings.Join(titleParts(name), "-") }

// upperSnake is the name in constants and environment variables: my-cloud → MY_CLOUD.
func upperSnake(name string) string { return strings.ToUpper(strings.ReplaceAll(name, "-", "_")) }

func titleParts(name string) []string {
	parts := strings.Split(name, "-")
	for i, p := range parts {
		if p != "" {
			parts[i] = strings.ToUpper(p[:1]) + p[1:]
		}
	}
	return parts
}
