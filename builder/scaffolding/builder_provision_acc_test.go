package scaffolding_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/example/packer-plugin-scaffolding/acctest"
	"github.com/example/packer-plugin-scaffolding/cloud"
	"github.com/example/packer-plugin-scaffolding/standin/imagecheck"
)

// failingProvisionTemplate fails in its provisioner, on the build host,
// after noting the instance it ran for; its error-cleanup-provisioner
// notes that it ran. No SSH: the instance is only a workspace, so what an
// aborted build leaves is a directory, not processes.
const failingProvisionTemplate = `
source "scaffolding" "failing" {
  store        = "store"
  image_name   = "failing"
  communicator = "none"
}

build {
  sources = ["source.scaffolding.failing"]

  provisioner "shell-local" {
    inline = ["echo ${build.ID} > instance.txt", "exit 3"]
  }

  error-cleanup-provisioner "shell-local" {
    inline = ["echo cleaned up after ${build.ID} > cleanup.txt"]
  }
}
`

// TestAccBuilder_onError: Packer's -on-error flag decides what a failed
// provisioner leaves. By default (cleanup) the error-cleanup-provisioner
// runs and the instance is terminated; abort keeps the instance and skips
// every cleanup; run-cleanup-provisioner keeps the instance but runs the
// error-cleanup-provisioner. No mode makes an image. (Packer passes the
// flag to the builder, whose step runner acts on it: newRunner.)
func TestAccBuilder_onError(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		flag         string
		cleanupRuns  bool
		instanceKept bool
	}{
		{flag: "", cleanupRuns: true, instanceKept: false},
		{flag: "-on-error=abort", cleanupRuns: false, instanceKept: true},
		{flag: "-on-error=run-cleanup-provisioner", cleanupRuns: true, instanceKept: true},
	} {
		name := strings.TrimPrefix(tc.flag, "-on-error=")
		if name == "" {
			name = "default"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var args []string
			if tc.flag != "" {
				args = []string{tc.flag}
			}
			checks := []acctest.Check{
				acctest.ArtifactCount(0),
				imagecheck.StoreImages("store", cloud.ImageFilter{}, 0),
				acctest.CheckFunc(instanceKept(tc.instanceKept)),
			}
			if tc.cleanupRuns {
				checks = append(checks, acctest.CheckFunc(cleanupRanForTheInstance))
			} else {
				checks = append(checks, acctest.FileAbsent("cleanup.txt"))
			}
			acctest.Test(t, acctest.Case{
				// What a failure leaves is the builder's own logic, the
				// same over either wire.
				WireModes: []acctest.WireMode{acctest.Protobuf},
				Steps: []acctest.Step{{
					Template:    failingProvisionTemplate,
					Args:        args,
					ExpectError: regexp.MustCompile(`non-zero exit status: 3`),
					Checks:      checks,
				}},
			})
		})
	}
}

// instanceKept checks whether the instance the provisioner noted still has
// its workspace.
func instanceKept(want bool) func(*acctest.Result) error {
	return func(r *acctest.Result) error {
		id, err := notedInstance(r)
		if err != nil {
			return err
		}
		_, err = os.Stat(filepath.Join(r.Run().TmpDir(), "scaffolding-"+id))
		switch kept := err == nil; {
		case err != nil && !os.IsNotExist(err):
			return err
		case kept && !want:
			return fmt.Errorf("instance %s: expected it terminated, found its workspace", id)
		case !kept && want:
			return fmt.Errorf("instance %s: expected it kept, found no workspace", id)
		}
		return nil
	}
}

func cleanupRanForTheInstance(r *acctest.Result) error {
	id, err := notedInstance(r)
	if err != nil {
		return err
	}
	return acctest.FileContains("cleanup.txt", "cleaned up after "+id).Check(r)
}

// notedInstance is the build.ID the failing provisioner wrote down.
func notedInstance(r *acctest.Result) (string, error) {
	b, err := os.ReadFile(filepath.Join(r.Dir, "instance.txt"))
	if err != nil {
		return "", fmt.Errorf("the provisioner's note of build.ID: %w", err)
	}
	id := strings.TrimSpace(string(b))
	if !regexp.MustCompile(`^i-[0-9a-f]+$`).MatchString(id) {
		return "", fmt.Errorf("build.ID = %q, expected the instance's id (i-<hex>)", id)
	}
	return id, nil
}

// buildDataTemplate prints, on the build host, the build data Packer's
// provisioners read about the instance they work on.
const buildDataTemplate = `
source "scaffolding" "data" {
  store      = "store"
  image_name = "data"
}

build {
  sources = ["source.scaffolding.data"]

  provisioner "shell-local" {
    inline = ["echo 'id=${build.ID} instance=${build.InstanceID} host=${build.Host} port=${build.Port} user=${build.User} type=${build.ConnType} http=${build.PackerHTTPAddr}' > build-data.txt"]
  }

  provisioner "shell" {
    inline = ["echo reached over ssh > /etc/reached.txt"]
  }
}
`

// TestAccBuilder_buildDataForProvisioners: the build data a provisioner
// reads (build.ID, build.Host, ...) describes the instance and how it is
// reached, as Packer's own provisioners (ansible, say) expect.
func TestAccBuilder_buildDataForProvisioners(t *testing.T) {
	t.Parallel()
	needMachines(t)
	acctest.Test(t, acctest.Case{
		Steps: []acctest.Step{{
			Template: buildDataTemplate,
			Checks: []acctest.Check{
				acctest.ArtifactCount(1),
				acctest.CheckFunc(func(r *acctest.Result) error {
					b, err := os.ReadFile(filepath.Join(r.Dir, "build-data.txt"))
					if err != nil {
						return err
					}
					line := strings.TrimSpace(string(b))
					m := regexp.MustCompile(`^id=(i-[0-9a-f]+) instance=(\S+) host=127\.0\.0\.1 port=[1-9][0-9]* user=\S+ type=ssh http=ERR_HTTP_ADDR_NOT_IMPLEMENTED_BY_BUILDER$`).FindStringSubmatch(line)
					if m == nil {
						return fmt.Errorf("build data: unexpected %q", line)
					}
					if m[1] != m[2] {
						return fmt.Errorf("build.ID = %s, build.InstanceID = %s: expected the same instance", m[1], m[2])
					}
					return nil
				}),
				acctest.CheckFunc(noInstanceLeft),
			},
		}},
	})
}
