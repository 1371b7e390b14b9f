package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// engineTags maps every engine, compiled in or not, to the build tag that
// leaves it out.
var engineTags = []struct{ name, tag string }{
	{"bbolt", "no_bbolt"},
	{"pebble", "no_pebble"},
	{"sqlite-modernc", "no_modernc"},
	{"sqlite-mattn", "no_mattn"},
	{"badger", "no_badger"},
}

// binaryReport is the size of this program built with one engine (or none,
// for the baseline).
type binaryReport struct {
	name              string
	size, stripped    int64
	packages, modules int
	err               string
}

// measureBinaries builds the program in src once with no engine and once per
// engine, and counts the non-standard packages and modules each links.
func measureBinaries(ctx context.Context, src string) ([]binaryReport, error) {
	tmp, err := os.MkdirTemp("", "metabench-bin-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	var all []string
	for _, e := range engineTags {
		all = append(all, e.tag)
	}
	builds := []struct{ name, tags string }{{"no engine (harness only)", strings.Join(all, ",")}}
	for _, e := range engineTags {
		var others []string
		for _, o := range engineTags {
			if o.tag != e.tag {
				others = append(others, o.tag)
			}
		}
		builds = append(builds, struct{ name, tags string }{e.name, strings.Join(others, ",")})
	}
	var out []binaryReport
	for i, b := range builds {
		r := binaryReport{name: b.name}
		bin := filepath.Join(tmp, fmt.Sprintf("bin%d", i))
		size, err := buildSize(ctx, src, bin, "-tags", b.tags)
		if err != nil {
			if i == 0 {
				return nil, err
			}
			r.err = firstLine(err.Error())
			out = append(out, r)
			continue
		}
		r.size = size
		if r.stripped, err = buildSize(ctx, src, bin, "-tags", b.tags, "-ldflags=-s -w"); err != nil {
			return nil, err
		}
		pkgs, err := goList(ctx, src, b.tags, "{{if not .Standard}}{{.ImportPath}}{{end}}")
		if err != nil {
			return nil, err
		}
		mods, err := goList(ctx, src, b.tags, "{{with .Module}}{{if not .Main}}{{.Path}}{{end}}{{end}}")
		if err != nil {
			return nil, err
		}
		// The main package itself is not a dependency.
		r.packages, r.modules = len(pkgs)-1, len(mods)
		out = append(out, r)
	}
	return out, nil
}

func buildSize(ctx context.Context, src, bin string, args ...string) (int64, error) {
	cmd := exec.CommandContext(ctx, "go", append(append([]string{"build", "-trimpath", "-o", bin}, args...), ".")...)
	cmd.Dir = src
	if msg, err := cmd.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("go build %s: %v: %s", strings.Join(args, " "), err, msg)
	}
	fi, err := os.Stat(bin)
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// goList returns the distinct non-empty lines go list -deps prints for format.
func goList(ctx context.Context, src, tags, format string) ([]string, error) {
	cmd := exec.CommandContext(ctx, "go", "list", "-deps", "-tags", tags, "-f", format, ".")
	cmd.Dir = src
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	outb, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %v: %s", err, stderr.String())
	}
	seen := map[string]bool{}
	var lines []string
	for _, l := range strings.Split(string(outb), "\n") {
		if l = strings.TrimSpace(l); l != "" && !seen[l] {
			seen[l] = true
			lines = append(lines, l)
		}
	}
	return lines, nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
