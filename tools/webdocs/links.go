package main

import (
	"bytes"
	"fmt"
	"path"
	"regexp"
	"strings"
)

// schemeRe matches link targets that carry a URL scheme (https:, mailto:).
var schemeRe = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*:`)

// refDefRe matches a link reference definition: [label]: target.
var refDefRe = regexp.MustCompile(`^( {0,3}\[[^\]]+\]:[ \t]*)(\S+)(.*)$`)

// rewriteLinks makes every relative link of a page (rel is its path inside
// the docs directory) work in the portal, which shows the page away from
// the repository: a link to a component page or to the README becomes a
// link to that page in the portal, any other a link to the file on GitHub.
// A relative link to a file that does not exist is an error. Code blocks
// and code spans are left alone.
func rewriteLinks(body []byte, rel string, opt options) ([]byte, error) {
	var out bytes.Buffer
	fence := ""
	lines := strings.SplitAfter(string(body), "\n")
	for i, line := range lines {
		text := strings.TrimRight(line, "\n")
		if f := fenceMarker(text); f != "" {
			switch {
			case fence == "":
				fence = f
			case strings.HasPrefix(f, fence) && strings.TrimSpace(strings.TrimLeft(strings.TrimSpace(text), f[:1])) == "":
				fence = ""
			}
			out.WriteString(line)
			continue
		}
		if fence != "" {
			out.WriteString(line)
			continue
		}
		fix := func(target string) (string, error) {
			u, err := resolveLink(target, rel, opt)
			if err != nil {
				return "", fmt.Errorf("%s/%s:%d: %w", opt.DocsDir, rel, i+1, err)
			}
			return u, nil
		}
		if m := refDefRe.FindStringSubmatch(text); m != nil {
			u, err := fix(m[2])
			if err != nil {
				return nil, err
			}
			out.WriteString(m[1] + u + m[3] + line[len(text):])
			continue
		}
		fixed, err := rewriteInline(text, fix)
		if err != nil {
			return nil, err
		}
		out.WriteString(fixed + line[len(text):])
	}
	return out.Bytes(), nil
}

// fenceMarker returns the fence (a run of 3+ backticks or tildes) a line
// starts with, or "".
func fenceMarker(line string) string {
	t := strings.TrimLeft(line, " ")
	if len(line)-len(t) > 3 || len(t) < 3 || (t[0] != '`' && t[0] != '~') {
		return ""
	}
	n := 0
	for n < len(t) && t[n] == t[0] {
		n++
	}
	if n < 3 {
		return ""
	}
	return t[:n]
}

// rewriteInline applies fix to the target of every inline link and image
// on a line, outside code spans.
func rewriteInline(line string, fix func(string) (string, error)) (string, error) {
	var b strings.Builder
	for i := 0; i < len(line); {
		switch {
		case line[i] == '`':
			// A code span runs to the next run of as many backticks.
			n := 0
			for i+n < len(line) && line[i+n] == '`' {
				n++
			}
			ticks := line[i : i+n]
			end := strings.Index(line[i+n:], ticks)
			if end < 0 {
				b.WriteString(ticks)
				i += n
				continue
			}
			b.WriteString(line[i : i+n+end+n])
			i += n + end + n
		case strings.HasPrefix(line[i:], "]("):
			b.WriteString("](")
			i += 2
			end := strings.IndexAny(line[i:], " )")
			if end < 0 {
				b.WriteString(line[i:])
				return b.String(), nil
			}
			u, err := fix(line[i : i+end])
			if err != nil {
				return "", err
			}
			b.WriteString(u)
			i += end
		default:
			b.WriteByte(line[i])
			i++
		}
	}
	return b.String(), nil
}

// resolveLink returns the target unchanged when it is absolute (a URL, a
// site path or an anchor), and otherwise, having checked that the file it
// names exists, the file's portal page or its GitHub address.
func resolveLink(target, rel string, opt options) (string, error) {
	if target == "" || strings.HasPrefix(target, "#") || strings.HasPrefix(target, "/") || schemeRe.MatchString(target) {
		return target, nil
	}
	file, frag, _ := strings.Cut(target, "#")
	repoPath := path.Join(opt.DocsDir, path.Dir(rel), file)
	if repoPath == ".." || strings.HasPrefix(repoPath, "../") {
		return "", fmt.Errorf("link %s points outside the repository", target)
	}
	exists, isDir := opt.Exists(repoPath)
	if !exists {
		return "", fmt.Errorf("link %s: %s does not exist", target, repoPath)
	}
	suffix := ""
	if frag != "" {
		suffix = "#" + frag
	}
	if page := portalPage(repoPath, opt); page != "" {
		return page + suffix, nil
	}
	kind := "blob"
	if isDir {
		kind = "tree"
	}
	u := opt.RepoURL + "/" + kind + "/" + opt.Ref
	if repoPath != "." {
		u += "/" + repoPath
	}
	return u + suffix, nil
}

// portalPage returns the portal path of the page compiled from repoPath,
// or "" when repoPath is not the README or a component page.
func portalPage(repoPath string, opt options) string {
	rel, ok := strings.CutPrefix(repoPath, opt.DocsDir+"/")
	if !ok || opt.portal == "" {
		return ""
	}
	if rel == "README.md" {
		return opt.portal
	}
	folder, file, ok := strings.Cut(rel, "/")
	slug, isPage := strings.CutSuffix(file, ".mdx")
	if !ok || !isPage || strings.Contains(slug, "/") {
		return ""
	}
	for _, k := range componentKinds {
		if k.folder == folder {
			return opt.portal + "/latest/components/" + k.typ + "/" + slug
		}
	}
	return ""
}
