package main

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/example/packer-plugin-scaffolding/acctest"
	"github.com/example/packer-plugin-scaffolding/builder/scaffolding"
	"github.com/example/packer-plugin-scaffolding/post-processor/imagecopy"
	"github.com/example/packer-plugin-scaffolding/standin/imagecheck"
)

// pageExample says how to run the example of a component page: what must
// exist before it runs and what it must make.
type pageExample struct {
	files  map[string]string
	before []acctest.Step
	checks []acctest.Check
}

// pageExamples has an entry for every component page in docs/.
var pageExamples = map[string]pageExample{
	"builders/scaffolding.mdx": {
		checks: []acctest.Check{
			acctest.ArtifactsFrom(scaffolding.BuilderID, 1),
			acctest.ArtifactIDIsFileDigest(scaffolding.BuilderID),
			imagecheck.FileInImage(scaffolding.BuilderID, "/etc/motd", "hello from basic in local"),
		},
	},
	"provisioners/scaffolding.mdx": {
		files: map[string]string{
			"files/app/install.sh":   "echo \"app $APP_VERSION\" > /opt/app/installed\n",
			"scripts/healthcheck.sh": "#!/bin/sh\nexit 0\n",
		},
		checks: []acctest.Check{
			imagecheck.FileInImage(scaffolding.BuilderID, "/etc/os-release", "IMAGE=app"),
			imagecheck.FileInImage(scaffolding.BuilderID, "/opt/app/installed", "app 1.0.0"),
			imagecheck.FileInImage(scaffolding.BuilderID, "/opt/bin/healthcheck.sh", "exit 0"),
		},
	},
	"post-processors/scaffolding-copy.mdx": {
		checks: []acctest.Check{
			acctest.ArtifactsFrom(imagecopy.BuilderID, 1),
			imagecheck.Regions(imagecopy.BuilderID, "store", "eu-west", "ap-south"),
		},
	},
	"datasources/scaffolding-image.mdx": {
		// The example looks for this image.
		before: []acctest.Step{{Template: `
source "scaffolding" "base" {
  store        = "store"
  image_name   = "base"
  image_labels = { tier = "base" }
}

build {
  sources = ["source.scaffolding.base"]
}
`}},
		checks: []acctest.Check{
			imagecheck.FileInImage(scaffolding.BuilderID, "/base.txt", "built from base"),
		},
	},
}

// TestAccDocExamples builds the first example of every component page with
// a real Packer, so the documentation shows templates that work.
func TestAccDocExamples(t *testing.T) {
	imagecheck.NeedMachines(t)
	docs := filepath.Join(repoRoot(t), "docs")
	pages, err := componentPages(docs)
	if err != nil {
		t.Fatal(err)
	}
	var known []string
	for page := range pageExamples {
		known = append(known, page)
	}
	sort.Strings(known)
	if strings.Join(pages, " ") != strings.Join(known, " ") {
		t.Fatalf("expected pageExamples to cover the component pages %v, found entries for %v", pages, known)
	}
	for _, page := range pages {
		t.Run(page, func(t *testing.T) {
			t.Parallel()
			src, err := os.ReadFile(filepath.Join(docs, filepath.FromSlash(page)))
			if err != nil {
				t.Fatal(err)
			}
			example, err := firstExample(string(src))
			if err != nil {
				t.Fatalf("docs/%s: %v", page, err)
			}
			ex := pageExamples[page]
			acctest.Test(t, acctest.Case{
				Files: ex.files,
				Steps: append(append([]acctest.Step(nil), ex.before...), acctest.Step{
					Template: example,
					Checks:   ex.checks,
				}),
			})
		})
	}
}

// componentPages lists the component pages under docs, as slash-separated
// paths relative to it, sorted.
func componentPages(docs string) ([]string, error) {
	var pages []string
	for _, k := range componentKinds {
		matches, err := filepath.Glob(filepath.Join(docs, k.folder, "*.mdx"))
		if err != nil {
			return nil, err
		}
		for _, m := range matches {
			pages = append(pages, k.folder+"/"+filepath.Base(m))
		}
	}
	sort.Strings(pages)
	return pages, nil
}

var exampleRe = regexp.MustCompile("(?ms)^## Example\\s*$.*?^```hcl\\n(.*?)^```\\s*$")

// firstExample returns the first hcl code block of a page's Example
// section.
func firstExample(page string) (string, error) {
	m := exampleRe.FindStringSubmatch(page)
	if m == nil {
		return "", os.ErrNotExist
	}
	return m[1], nil
}
