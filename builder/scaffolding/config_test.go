package scaffolding

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/example/packer-plugin-scaffolding/cloud"
)

// testConfig is a valid raw configuration with a store in a temp dir.
func testConfig(t *testing.T) map[string]interface{} {
	t.Helper()
	return map[string]interface{}{
		"store":      t.TempDir(),
		"image_name": "test-image",
	}
}

func TestConfigPrepare_defaults(t *testing.T) {
	var c Config
	warnings, err := c.Prepare(testConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 0 {
		t.Errorf("warnings = %v", warnings)
	}
	if c.Region != cloud.DefaultRegion {
		t.Errorf("region = %q, want %q", c.Region, cloud.DefaultRegion)
	}
	if c.Comm.Type != "ssh" || c.Comm.SSHUsername != DefaultSSHUsername || c.Comm.SSHTemporaryKeyPairType != "ed25519" {
		t.Errorf("communicator = %q, ssh_username = %q, temporary_key_pair_type = %q; want ssh, %s, ed25519",
			c.Comm.Type, c.Comm.SSHUsername, c.Comm.SSHTemporaryKeyPairType, DefaultSSHUsername)
	}
	if c.Comm.SSHFileTransferMethod != "sftp" {
		t.Errorf("ssh_file_transfer_method = %q, want sftp", c.Comm.SSHFileTransferMethod)
	}
	if c.sshPortSet {
		t.Error("ssh_port counts as set though the template left it out")
	}
}

func TestConfigPrepare_allFields(t *testing.T) {
	raw := testConfig(t)
	raw["region"] = "eu-west.1"
	raw["image_labels"] = map[string]string{"role": "web", "team": "a b c"}
	raw["source_image"] = "sha256:" + strings.Repeat("0f", 32)
	raw["communicator"] = "none"
	var c Config
	if _, err := c.Prepare(raw); err != nil {
		t.Fatal(err)
	}
	if c.Region != "eu-west.1" || c.ImageLabels["team"] != "a b c" || c.SourceImage != raw["source_image"] || c.Comm.Type != "none" {
		t.Errorf("config = %+v", c)
	}
}

func TestConfigPrepare_missingStoreWarns(t *testing.T) {
	raw := testConfig(t)
	missing := filepath.Join(raw["store"].(string), "new")
	raw["store"] = missing
	var c Config
	warnings, err := c.Prepare(raw)
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], missing) {
		t.Errorf("warnings = %v, want one naming %s", warnings, missing)
	}
}

func TestConfigPrepare_errors(t *testing.T) {
	aFile := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(aFile, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		set  map[string]interface{}
		want []string
	}{
		{"store missing", map[string]interface{}{"store": ""}, []string{"store is required"}},
		{"store is a file", map[string]interface{}{"store": aFile}, []string{"store:", aFile, "not a directory"}},
		{"store is a URL", map[string]interface{}{"store": "https://user:pw@example.com/store"}, []string{"store:", "read-only"}},
		{"image_name missing", map[string]interface{}{"image_name": ""}, []string{"image_name is required"}},
		{"image_name glob", map[string]interface{}{"image_name": "web-*"}, []string{"image_name:", "web-*"}},
		{"image_name space", map[string]interface{}{"image_name": "my image"}, []string{"image_name:", "spaces"}},
		{"region bad", map[string]interface{}{"region": "../eu"}, []string{"region:", "../eu"}},
		{"label key empty", map[string]interface{}{"image_labels": map[string]string{"": "v"}}, []string{"image_labels:", "key"}},
		{"label key space", map[string]interface{}{"image_labels": map[string]string{"a b": "v"}}, []string{"image_labels:", `"a b"`}},
		{"label value control", map[string]interface{}{"image_labels": map[string]string{"k": "a\nb"}}, []string{"image_labels:", `"k"`}},
		{"source_image bad", map[string]interface{}{"source_image": "ubuntu:latest"}, []string{"source_image:", "ubuntu:latest", "sha256:"}},
		{"source_image upper", map[string]interface{}{"source_image": "sha256:" + strings.Repeat("AB", 32)}, []string{"source_image:"}},
		{"disk_size negative", map[string]interface{}{"disk_size": -1}, []string{"disk_size:", "-1"}},
		{"timeout bad", map[string]interface{}{"timeout": "soon"}, []string{"timeout:", "soon"}},
		{"communicator unknown", map[string]interface{}{"communicator": "telepathy"}, []string{"communicator:", "telepathy"}},
		{"ssh with a bad key pair type", map[string]interface{}{"communicator": "ssh", "ssh_private_key_file": "/nonexistent/key"}, []string{"communicator:", "ssh_private_key_file"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			raw := testConfig(t)
			for k, v := range tc.set {
				raw[k] = v
			}
			var c Config
			_, err := c.Prepare(raw)
			if err == nil {
				t.Fatal("Prepare succeeded")
			}
			for _, want := range tc.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
			if strings.Contains(err.Error(), "pw@") {
				t.Errorf("error %q leaks URL credentials", err)
			}
		})
	}
}

func TestConfigPrepare_reportsAllProblemsAtOnce(t *testing.T) {
	var c Config
	_, err := c.Prepare(map[string]interface{}{
		"region":       "no/slash",
		"source_image": "latest",
	})
	if err == nil {
		t.Fatal("Prepare succeeded")
	}
	for _, field := range []string{"store", "image_name", "region", "source_image"} {
		if !strings.Contains(err.Error(), field) {
			t.Errorf("error %q does not report %s", err, field)
		}
	}
}

func TestConfigPrepare_unknownKey(t *testing.T) {
	raw := testConfig(t)
	raw["image_nmae"] = "typo"
	var c Config
	if _, err := c.Prepare(raw); err == nil || !strings.Contains(err.Error(), "image_nmae") {
		t.Errorf("error = %v, want one naming the unknown key", err)
	}
}

// `packer validate` of a template whose source_image comes from a data
// source (example/app does this) hands Prepare Packer's placeholder for an
// unknown value: it is not an id, and it is not an error.
func TestConfigPrepare_unknownSourceImage(t *testing.T) {
	for _, unknown := range []string{"<unknown>", "74D93920-ED26-11E3-AC10-0800200C9A66"} {
		raw := testConfig(t)
		raw["source_image"] = unknown
		var c Config
		if _, err := c.Prepare(raw); err != nil {
			t.Errorf("Prepare with source_image %q: %v", unknown, err)
		}
	}
}
