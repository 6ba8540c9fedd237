package machine

// HostPaths are the absolute paths of an instance that are not its own: the
// host's system directories (mounted read-only, or symlinks to them where the
// host has merged /usr) and the instance's /dev and /proc. A snapshot of an
// instance's root must leave these out; Start recreates them every time.
var HostPaths = []string{"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/dev", "/proc"}

// systemPaths are the host directories an instance sees read-only.
var systemPaths = []string{"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"}

// ownPaths are created in every instance's root if missing; they belong to
// the instance and land in its image.
var ownPaths = []struct {
	path string
	mode uint32
}{
	{"/etc", 0o755}, {"/tmp", 0o1777}, {"/opt", 0o755}, {"/var", 0o755},
	{"/var/tmp", 0o1777}, {"/home", 0o755}, {"/root", 0o700},
}

// IsHostPath reports whether the slash-separated path, relative to an
// instance's root ("usr/bin/sh" or "/usr/bin/sh"), is or lies under one of
// HostPaths, so snapshot code can skip it.
func IsHostPath(rel string) bool {
	for len(rel) > 0 && rel[0] == '/' {
		rel = rel[1:]
	}
	for _, p := range HostPaths {
		p = p[1:]
		if rel == p || (len(rel) > len(p) && rel[:len(p)] == p && rel[len(p)] == '/') {
			return true
		}
	}
	return false
}
