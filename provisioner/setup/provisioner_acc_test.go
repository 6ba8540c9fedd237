package setup_test

import (
	"regexp"
	"testing"

	"github.com/example/packer-plugin-scaffolding/acctest"
	builder "github.com/example/packer-plugin-scaffolding/builder/scaffolding"
	"github.com/example/packer-plugin-scaffolding/cloud"
	"github.com/example/packer-plugin-scaffolding/standin/imagecheck"
)

// The provisioner is tested inside our own builder, whose workspace
// communicator it uses like any other; the image the builder snapshots is
// where its work shows.

func TestAccProvisioner_filesAndCommands(t *testing.T) {
	t.Parallel()
	imagecheck.NeedMachines(t)
	acctest.Test(t, acctest.Case{
		Files: map[string]string{
			"site/index.html":     "<h1>hello</h1>\n",
			"site/css/style.css":  "body {}\n",
			"scripts/greeting.sh": "echo \"greeting=$GREETING\" > /etc/greeting\n",
		},
		Steps: []acctest.Step{{
			Template: `
source "scaffolding" "web" {
  store      = "store"
  image_name = "web"
}

build {
  sources = ["source.scaffolding.web"]

  provisioner "scaffolding" {
    # A directory's contents, a single file, and rendered content.
    file {
      source      = "site/"
      destination = "/srv/www"
    }
    file {
      source      = "scripts/greeting.sh"
      destination = "/opt/"
      mode        = "0755"
    }
    file {
      destination = "/etc/build-info"
      content     = "image=${build.ImageName} instance=${build.InstanceID}"
    }
    env = {
      GREETING = "it's a \"quoted\" $value"
    }
    inline = [
      "sh /opt/greeting.sh",
      "test -x /opt/greeting.sh && echo executable > /etc/mode",
      "pwd > /etc/cwd",
    ]
  }
}
`,
			Checks: []acctest.Check{
				imagecheck.FileInImage(builder.BuilderID, "/srv/www/index.html", "<h1>hello</h1>"),
				imagecheck.FileInImage(builder.BuilderID, "/srv/www/css/style.css", "body {}"),
				imagecheck.FileInImage(builder.BuilderID, "/etc/greeting", `greeting=it's a "quoted" $value`),
				imagecheck.FileInImage(builder.BuilderID, "/etc/mode", "executable"),
				imagecheck.FileInImage(builder.BuilderID, "/etc/build-info", "image=web instance=i-"),
				// Commands run in root's home, as over SSH on a VM.
				imagecheck.FileInImage(builder.BuilderID, "/etc/cwd", "/root"),
			},
		}},
	})
}

func TestAccProvisioner_retries(t *testing.T) {
	t.Parallel()
	imagecheck.NeedMachines(t)
	acctest.Test(t, acctest.Case{
		Steps: []acctest.Step{{
			Template: `
source "scaffolding" "flaky" {
  store      = "store"
  image_name = "flaky"
}

build {
  sources = ["source.scaffolding.flaky"]

  provisioner "scaffolding" {
    retries     = 2
    retry_delay = "100ms"
    # Fails on its first two tries, succeeds on the third.
    inline = ["echo try >> /tries; test $(wc -l < /tries) -ge 3"]
  }
}
`,
			Checks: []acctest.Check{
				imagecheck.FileInImage(builder.BuilderID, "/tries", "try\ntry\ntry\n"),
			},
		}},
	})
}

func TestAccProvisioner_commandFails(t *testing.T) {
	t.Parallel()
	imagecheck.NeedMachines(t)
	acctest.Test(t, acctest.Case{
		Steps: []acctest.Step{{
			Template: `
source "scaffolding" "failing" {
  store      = "store"
  image_name = "failing"
}

build {
  sources = ["source.scaffolding.failing"]

  provisioner "scaffolding" {
    retries     = 1
    retry_delay = "100ms"
    inline      = ["echo try >> /tries; exit 7"]
  }
}
`,
			ExpectError: regexp.MustCompile(`exit 7`),
			Checks: []acctest.Check{
				acctest.ArtifactCount(0),
				imagecheck.StoreImages("store", cloud.ImageFilter{}, 0),
			},
		}},
	})
}

func TestAccProvisioner_invalidConfig(t *testing.T) {
	t.Parallel()
	imagecheck.NeedMachines(t)
	acctest.Test(t, acctest.Case{
		Steps: []acctest.Step{{
			Template: `
source "scaffolding" "x" {
  store      = "store"
  image_name = "x"
}

build {
  sources = ["source.scaffolding.x"]

  provisioner "scaffolding" {
    file {
      source      = "does-not-exist.txt"
      destination = "/etc/x"
    }
    env = {
      "BAD-NAME" = "x"
    }
    command_timeout = "soon"
  }
}
`,
			ExpectError: regexp.MustCompile(`file\[0\]\.source`),
			Checks: []acctest.Check{
				acctest.ErrorMentions("does-not-exist.txt", "BAD-NAME", "command_timeout"),
			},
		}},
	})
}
