// Package machine runs the stand-in cloud's instances: each one a rootless
// Linux container (user, mount, pid, uts and ipc namespaces) whose root is
// the instance's own directory, reached over SSH on 127.0.0.1 like a cloud VM.
//
// What an instance shares with the host: the kernel, the network, and the
// host's /usr, /bin, /sbin and /lib* directories, read-only (so /bin/sh and
// coreutils work). What is its own: every other path (/etc, /tmp, /opt, /var,
// /home, /root, ...), which lands in the image when the instance is
// snapshotted; a minimal /dev and a fresh /proc that show only its own
// processes. Everything runs as root inside, which is the calling user
// outside: no setuid helper, nothing privileged, so it works for an ordinary
// user where the kernel allows unprivileged user namespaces (see Supported).
//
// A real cloud gives a vendor's builder a VM with an SSH server; this package
// gives the stand-in the same shape so Packer's own communicators and
// provisioners work unchanged. It is a test double, not a security boundary.
package machine
