package imagedata

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/zclconf/go-cty/cty"

	"github.com/example/packer-plugin-scaffolding/cloud"
)

func configure(t *testing.T, raw map[string]interface{}) (*Datasource, error) {
	t.Helper()
	d := &Datasource{}
	return d, d.Configure(raw)
}

func TestConfigureDefaults(t *testing.T) {
	d, err := configure(t, map[string]interface{}{"store": t.TempDir()})
	if err != nil {
		t.Fatalf("Configure: %v", err)
	}
	if d.config.Region != "local" {
		t.Errorf("region = %q, want local", d.config.Region)
	}
	if d.config.Timeout != "30s" {
		t.Errorf("timeout = %q, want 30s", d.config.Timeout)
	}
	if *d.config.Retries != 3 {
		t.Errorf("retries = %d, want 3", *d.config.Retries)
	}
}

func TestConfigureExplicitZeroRetries(t *testing.T) {
	d, err := configure(t, map[string]interface{}{"store": "https://store.example", "retries": 0, "timeout": "2m"})
	if err != nil {
		t.Fatalf("Configure: %v", err)
	}
	if *d.config.Retries != 0 || d.config.Timeout != "2m" {
		t.Errorf("retries %d, timeout %q; want 0 and 2m", *d.config.Retries, d.config.Timeout)
	}
}

func TestConfigureRejectsEachBadField(t *testing.T) {
	cases := []struct {
		name string
		raw  map[string]interface{}
		want string
	}{
		{"missing store", map[string]interface{}{}, "store: required"},
		{"url without host", map[string]interface{}{"store": "https://"}, "store:"},
		{"bad url with credentials", map[string]interface{}{"store": "https://bob:hunter2@"}, "store:"},
		{"bad glob", map[string]interface{}{"store": "/s", "name": "web-["}, "name:"},
		{"empty label key", map[string]interface{}{"store": "/s", "labels": map[string]string{"": "x"}}, "labels:"},
		{"bad region", map[string]interface{}{"store": "/s", "region": "../etc"}, "region:"},
		{"token with newline", map[string]interface{}{"store": "/s", "token": "abc\ndef"}, "token:"},
		{"bad timeout", map[string]interface{}{"store": "/s", "timeout": "soon"}, "timeout:"},
		{"zero timeout", map[string]interface{}{"store": "/s", "timeout": "0s"}, "timeout:"},
		{"negative retries", map[string]interface{}{"store": "/s", "retries": -1}, "retries:"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := configure(t, tc.raw)
			if err == nil {
				t.Fatalf("Configure accepted %v", tc.raw)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not name %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "abc\ndef") {
				t.Errorf("error leaks a secret: %q", err)
			}
		})
	}
}

func TestConfigureReportsAllProblemsAtOnce(t *testing.T) {
	_, err := configure(t, map[string]interface{}{"region": "a/b", "timeout": "x", "retries": -2})
	if err == nil {
		t.Fatal("Configure accepted a config with four bad fields")
	}
	for _, field := range []string{"store:", "region:", "timeout:", "retries:"} {
		if !strings.Contains(err.Error(), field) {
			t.Errorf("error %q does not mention %s", err, field)
		}
	}
}

var (
	older = cloud.Image{
		ID: "sha256:" + strings.Repeat("a", 64), Name: "web-1", Region: "local",
		Created: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Size: 10,
		Location: "/s/local/a.tar.gz", Labels: map[string]string{"os": "linux"},
	}
	newer = cloud.Image{
		ID: "sha256:" + strings.Repeat("b", 64), Name: "web-2", Region: "local",
		Created: time.Date(2026, 2, 1, 12, 30, 0, 0, time.FixedZone("X", 3600)), Size: 20,
		Location: "/s/local/b.tar.gz", Labels: map[string]string{"os": "linux", "tier": "web"},
		SourceImageID: "sha256:" + strings.Repeat("a", 64),
	}
)

func str(t *testing.T, v cty.Value, attr string) string {
	t.Helper()
	a := v.GetAttr(attr)
	if a.IsNull() || a.Type() != cty.String {
		t.Fatalf("output %s = %#v, want a string", attr, a)
	}
	return a.AsString()
}

func TestExecutePicksNewestMatch(t *testing.T) {
	mock := &cloud.MockDriver{FindImagesResult: []cloud.Image{older, newer}}
	d, err := configure(t, map[string]interface{}{
		"store": "/s", "name": "web-*", "region": "local", "labels": map[string]string{"os": "linux"},
	})
	if err != nil {
		t.Fatal(err)
	}
	d.Driver = mock

	out, err := d.Execute()
	if err != nil {
		t.Fatalf("Execute: %v", err)
	}
	if !mock.FindImagesCalled {
		t.Fatal("FindImages was not called")
	}
	f := mock.FindImagesFilter
	if f.Name != "web-*" || f.Region != "local" || f.Labels["os"] != "linux" || f.ID != "" {
		t.Errorf("filter = %+v, want name web-*, region local, labels os=linux", f)
	}

	if want := hcldec.ImpliedType(d.OutputSpec()); !out.Type().Equals(want) {
		t.Errorf("output type = %s, want the OutputSpec type %s", out.Type().GoString(), want.GoString())
	}
	want := map[string]string{
		"id":              newer.ID,
		"name":            "web-2",
		"region":          "local",
		"checksum":        strings.Repeat("b", 64),
		"location":        "/s/local/b.tar.gz",
		"created":         "2026-02-01T11:30:00Z",
		"source_image_id": older.ID,
	}
	for attr, w := range want {
		if got := str(t, out, attr); got != w {
			t.Errorf("%s = %q, want %q", attr, got, w)
		}
	}
	if got := out.GetAttr("labels").Index(cty.StringVal("tier")); got.AsString() != "web" {
		t.Errorf("labels.tier = %#v, want web", got)
	}
	if size, _ := out.GetAttr("size").AsBigFloat().Int64(); size != 20 {
		t.Errorf("size = %d, want 20", size)
	}
}

func TestExecuteEmptyLabelsIsAMap(t *testing.T) {
	img := older
	img.Labels = nil
	d, err := configure(t, map[string]interface{}{"store": "/s"})
	if err != nil {
		t.Fatal(err)
	}
	d.Driver = &cloud.MockDriver{FindImagesResult: []cloud.Image{img}}
	out, err := d.Execute()
	if err != nil {
		t.Fatal(err)
	}
	if labels := out.GetAttr("labels"); labels.IsNull() || labels.LengthInt() != 0 {
		t.Errorf("labels = %#v, want an empty map", labels)
	}
}

func TestExecuteNoMatchNamesFiltersAndStore(t *testing.T) {
	d, err := configure(t, map[string]interface{}{
		"store": "https://store.example/images", "name": "db-*", "region": "eu-1",
		"labels": map[string]string{"os": "bsd"}, "token": "s3cr3t-token",
	})
	if err != nil {
		t.Fatal(err)
	}
	d.Driver = &cloud.MockDriver{}

	_, err = d.Execute()
	if err == nil {
		t.Fatal("Execute found an image in an empty store")
	}
	for _, want := range []string{"https://store.example/images", `"db-*"`, `"eu-1"`, `os="bsd"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
	if strings.Contains(err.Error(), "s3cr3t-token") {
		t.Errorf("error leaks the token: %q", err)
	}
}

func TestExecutePassesDriverErrorThrough(t *testing.T) {
	indexErr := errors.New(`/s/local/index.json: invalid character '}' looking for beginning of value`)
	d, err := configure(t, map[string]interface{}{"store": "/s"})
	if err != nil {
		t.Fatal(err)
	}
	d.Driver = &cloud.MockDriver{FindImagesErr: indexErr}

	_, err = d.Execute()
	if !errors.Is(err, indexErr) {
		t.Fatalf("error = %v, want it to wrap the driver's error", err)
	}
	if !strings.Contains(err.Error(), "/s/local/index.json") {
		t.Errorf("error %q does not name the index file", err)
	}
}

func TestExecuteRedactsTokenFromDriverError(t *testing.T) {
	d, err := configure(t, map[string]interface{}{"store": "https://store.example", "token": "s3cr3t-token"})
	if err != nil {
		t.Fatal(err)
	}
	cause := errors.New("GET https://store.example/index.json with Bearer s3cr3t-token: 500")
	d.Driver = &cloud.MockDriver{FindImagesErr: cause}

	_, err = d.Execute()
	if err == nil {
		t.Fatal("Execute succeeded on a driver error")
	}
	if strings.Contains(err.Error(), "s3cr3t-token") {
		t.Errorf("error leaks the token: %q", err)
	}
	if !errors.Is(err, cause) {
		t.Errorf("redaction lost the wrapped error")
	}
}
