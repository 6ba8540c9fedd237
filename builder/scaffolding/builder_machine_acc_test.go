package scaffolding_test

import (
	"crypto/rand"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/example/packer-plugin-scaffolding/acctest"
	"github.com/example/packer-plugin-scaffolding/builder/scaffolding"
	"github.com/example/packer-plugin-scaffolding/cloud"
	"github.com/example/packer-plugin-scaffolding/standin/imagecheck"
)

// needMachines skips where this host cannot run machines.
func needMachines(t *testing.T) { imagecheck.NeedMachines(t) }

// machineTemplate uses only Packer's own provisioners (and the plugin's
// beside them) against an instance, as a template for a cloud VM would.
const machineTemplate = `
variable "transfer" {
  type = string
}

source "scaffolding" "machine" {
  store                    = "store"
  image_name               = "machine"
  ssh_file_transfer_method = var.transfer
}

build {
  sources = ["source.scaffolding.machine"]

  provisioner "shell" {
    environment_vars = ["GREETING=hello"]
    inline = [
      "echo \"inline $GREETING from uid $(id -u)\" > /etc/inline.txt",
      "test ! -e /work && test ! -e /farm",
    ]
  }

  provisioner "shell" {
    environment_vars = ["GREETING=hi"]
    script           = "scripts/setup.sh"
  }

  provisioner "file" {
    source      = "files/conf.txt"
    destination = "/etc/conf.txt"
  }

  provisioner "file" {
    source      = "files/dir"
    destination = "/opt"
  }

  provisioner "file" {
    direction   = "download"
    source      = "/etc/inline.txt"
    destination = "downloaded.txt"
  }

  provisioner "shell-local" {
    inline = ["echo local on the build host > local.txt"]
  }

  provisioner "scaffolding" {
    file {
      destination = "/srv/plugin.txt"
      content     = "plugin in ${build.ImageName}"
    }
    inline = ["cp /srv/plugin.txt /srv/plugin-ran.txt"]
  }
}
`

// machineChildTemplate builds on the first image over SFTP.
const machineChildTemplate = `
variable "source" {
  type = string
}

source "scaffolding" "child" {
  store                    = "store"
  image_name               = "machine-child"
  source_image             = var.source
  ssh_file_transfer_method = "sftp"
}

build {
  sources = ["source.scaffolding.child"]

  provisioner "shell" {
    inline = ["cat /etc/inline.txt /opt/dir/a.txt /srv/plugin-ran.txt > /etc/child.txt"]
  }

  provisioner "file" {
    source      = "files/conf.txt"
    destination = "/etc/conf-sftp.txt"
  }

  provisioner "file" {
    direction   = "download"
    source      = "/etc/child.txt"
    destination = "child-downloaded.txt"
  }
}
`

func TestAccBuilder_packerProvisionersOnAMachine(t *testing.T) {
	t.Parallel()
	needMachines(t)
	acctest.Test(t, acctest.Case{
		Files: map[string]string{
			"scripts/setup.sh": "#!/bin/sh\nset -eu\nmkdir -p /opt/app\necho \"script $GREETING in $(pwd)\" > /opt/app/script.txt\n",
			"files/conf.txt":   "uploaded by file\n",
			"files/dir/a.txt":  "a directory's file\n",
		},
		Steps: []acctest.Step{
			{
				Template: machineTemplate,
				Vars:     map[string]string{"transfer": "scp"},
				Checks: []acctest.Check{
					acctest.ArtifactCount(1),
					imagecheck.FileInImage(scaffolding.BuilderID, "/etc/inline.txt", "inline hello from uid 0"),
					imagecheck.FileInImage(scaffolding.BuilderID, "/opt/app/script.txt", "script hi"),
					imagecheck.FileInImage(scaffolding.BuilderID, "/etc/conf.txt", "uploaded by file"),
					imagecheck.FileInImage(scaffolding.BuilderID, "/opt/dir/a.txt", "a directory's file"),
					imagecheck.FileInImage(scaffolding.BuilderID, "/srv/plugin.txt", "plugin in machine"),
					imagecheck.FileInImage(scaffolding.BuilderID, "/srv/plugin-ran.txt", "plugin in machine"),
					acctest.FileContains("downloaded.txt", "inline hello from uid 0"),
					acctest.FileContains("local.txt", "local on the build host"),
					acctest.CheckFunc(noHostPathsInImage),
					imagecheck.NoTempFiles("store"),
					acctest.CheckFunc(noInstanceLeft),
				},
			},
			{
				Template: machineChildTemplate,
				PreBuild: useFirstImage,
				Checks: []acctest.Check{
					imagecheck.FileInImage(scaffolding.BuilderID, "/etc/child.txt", "inline hello from uid 0\na directory's file\nplugin in machine"),
					imagecheck.FileInImage(scaffolding.BuilderID, "/etc/conf-sftp.txt", "uploaded by file"),
					imagecheck.FileInImage(scaffolding.BuilderID, "/opt/app/script.txt", "script hi"),
					acctest.FileContains("child-downloaded.txt", "a directory's file"),
					imagecheck.StoreImages("store", cloud.ImageFilter{Region: "local"}, 2),
					acctest.CheckFunc(noInstanceLeft),
				},
			},
		},
	})
}

// noHostPathsInImage checks that what the instance shares with the host
// (/usr, /bin, /dev, /proc, ...) is not in the image.
func noHostPathsInImage(r *acctest.Result) error {
	arts := r.ArtifactsFrom(scaffolding.BuilderID)
	if len(arts) != 1 || len(arts[0].Files) != 1 {
		return fmt.Errorf("expected one artifact with one file, found %+v", arts)
	}
	for _, p := range []string{"/usr/bin/env", "/bin/sh", "/dev/null", "/proc/1/status"} {
		if _, err := imagecheck.ReadImageFile(filepath.Join(r.Dir, arts[0].Files[0]), p); err == nil {
			return fmt.Errorf("image holds %s, which belongs to the host", p)
		}
	}
	return nil
}

// markers holds each run's unique sleep argument, by run directory.
var markers sync.Map

// cancelTemplate interrupts Packer (SIGINT to its process group, what
// Ctrl-C in a terminal does) from the build host once the instance's
// `sleep <marker>` runs.
const cancelTemplate = `
variable "marker" {
  type = string
}

source "scaffolding" "cancelled" {
  store      = "store"
  image_name = "cancelled"
}

build {
  sources = ["source.scaffolding.cancelled"]

  provisioner "shell-local" {
    # The pattern's [.] keeps grep from finding its own command line.
    inline = ["(m=$(echo '${var.marker}' | sed 's/[.]/[.]/'); until cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\\000' ' ' | grep -q \"sleep $m\"; do sleep 0.1; done; kill -INT 0) </dev/null >/dev/null 2>&1 &"]
  }

  provisioner "shell" {
    inline = ["sleep ${var.marker}", "echo not reached > /etc/late.txt"]
  }
}
`

// TestAccBuilder_interruptLeavesNoProcess: Ctrl-C while a provisioner's
// command runs in the instance ends the build and the command, and leaves
// no instance, image or temporary file.
func TestAccBuilder_interruptLeavesNoProcess(t *testing.T) {
	t.Parallel()
	needMachines(t)
	acctest.Test(t, acctest.Case{
		Steps: []acctest.Step{{
			Template:    cancelTemplate,
			PreBuild:    setMarker,
			ExpectError: regexp.MustCompile(`(?i)cancel|interrupt`),
			Checks: []acctest.Check{
				acctest.ArtifactCount(0),
				acctest.CheckFunc(markerGone),
				imagecheck.StoreImages("store", cloud.ImageFilter{}, 0),
				imagecheck.NoTempFiles("store"),
				acctest.CheckFunc(noInstanceLeft),
			},
		}},
	})
}

// setMarker gives the step a unique sleep argument as var.marker.
func setMarker(t testing.TB, run *acctest.Run, step *acctest.Step) {
	n, err := rand.Int(rand.Reader, big.NewInt(1e9))
	if err != nil {
		t.Fatal(err)
	}
	marker := fmt.Sprintf("3600.%09d", n)
	markers.Store(run.Dir, marker)
	step.Vars = map[string]string{"marker": marker}
}

// markerGone checks that no process runs the run's `sleep <marker>`.
func markerGone(r *acctest.Result) error {
	m, ok := markers.Load(r.Dir)
	if !ok {
		return fmt.Errorf("no marker recorded for %s", r.Dir)
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return err
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.Contains(string(b), "sleep\x00"+m.(string)) {
			return fmt.Errorf("process %s (sleep %s) outlived the build", e.Name(), m)
		}
	}
	return nil
}

// timeoutTemplate's command sleeps past command_timeout on its first try;
// the second try fails if anything of the first still runs in the instance
// (whose /proc shows only its own processes).
const timeoutTemplate = `
variable "marker" {
  type = string
}

source "scaffolding" "timeout" {
  store      = "store"
  image_name = "timeout"
}

build {
  sources = ["source.scaffolding.timeout"]

  provisioner "scaffolding" {
    file {
      source      = "try.sh"
      destination = "/opt/try.sh"
    }
    env = {
      MARKER = var.marker
    }
    command_timeout = "2s"
    retries         = 1
    inline          = ["sh /opt/try.sh"]
  }
}
`

const tryScript = `#!/bin/sh
m=$(echo "$MARKER" | sed 's/[.]/[.]/')
if [ -e /tmp/first-try ]; then
  if cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\000' ' ' | grep -q "sleep $m"; then
    echo "the first try still runs" >&2
    exit 1
  fi
  echo "second try alone" > /etc/second-try
  exit 0
fi
touch /tmp/first-try
sleep "$MARKER"
`

// TestAccBuilder_commandTimeoutKillsTheTry: a try that runs out of the
// provisioner's command_timeout is killed in the instance before the retry.
func TestAccBuilder_commandTimeoutKillsTheTry(t *testing.T) {
	t.Parallel()
	needMachines(t)
	acctest.Test(t, acctest.Case{
		Files: map[string]string{"try.sh": tryScript},
		Steps: []acctest.Step{{
			Template: timeoutTemplate,
			PreBuild: setMarker,
			Checks: []acctest.Check{
				acctest.UIContains("Retrying (try 2 of 2)"),
				imagecheck.FileInImage(scaffolding.BuilderID, "/etc/second-try", "second try alone"),
				acctest.CheckFunc(markerGone),
				acctest.CheckFunc(noInstanceLeft),
			},
		}},
	})
}
