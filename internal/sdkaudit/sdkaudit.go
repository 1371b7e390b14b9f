// Package sdkaudit reads the request side of an AWS service model as an
// aws-sdk-go-v2 client (REST-XML protocol) serializes it, for tests that
// hold a server to account: every header, query parameter and XML element
// a client can send to an operation the server serves must be read by the
// server, refused by it, or ignored for a stated reason. A field a newer
// SDK adds is otherwise dropped without a word.
package sdkaudit

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// Serializers returns the text of the request serializers (serializers.go)
// of module, an aws-sdk-go-v2 service module at the version go.mod names.
func Serializers(module string) (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", module).Output()
	if err != nil {
		return "", fmt.Errorf("go list %s: %w", module, err)
	}
	b, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "serializers.go"))
	return string(b), err
}

// Sources returns the text of the non-test Go files in dirs.
func Sources(dirs ...string) ([]string, error) {
	var out []string
	for _, dir := range dirs {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			b, err := os.ReadFile(f)
			if err != nil {
				return nil, err
			}
			out = append(out, string(b))
		}
	}
	return out, nil
}

// Operation is what a client can send to one operation.
type Operation struct {
	// Inputs are its header names and query parameter names, lower case.
	Inputs []string
	// Elements are the local names of every XML element its request
	// document can hold, at any depth.
	Elements []string
}

var (
	funcRe    = regexp.MustCompile(`\nfunc (awsRestxml_serialize\w+)\(`)
	callRe    = regexp.MustCompile(`(awsRestxml_serialize(?:Document|OpDocument)\w+)\(`)
	localRe   = regexp.MustCompile(`Local: "([^"]+)"`)
	inputRe   = regexp.MustCompile(`locationName := "([^"]+)"|SetQuery\("([^"]+)"\)`)
	handlerRe = regexp.MustCompile(`^awsRestxml_serializeOpHttpBindings(\w+)Input$`)
)

// Operations parses src (from Serializers) into its operations, by name.
// It returns an error when the patterns no longer match what the SDK
// generates (fewer than min operations found), so that an audit never
// passes by checking nothing.
func Operations(src string, min int) (map[string]Operation, error) {
	// The body of every serializer function, to the next function or
	// method of the file.
	body := map[string]string{}
	for _, l := range funcRe.FindAllStringSubmatchIndex(src, -1) {
		end := strings.Index(src[l[1]:], "\nfunc ")
		if end < 0 {
			end = len(src) - l[1]
		}
		body[src[l[2]:l[3]]] = src[l[1] : l[1]+end]
	}
	ops := map[string]Operation{}
	for name, b := range body {
		m := handlerRe.FindStringSubmatch(name)
		if m == nil {
			continue
		}
		var op Operation
		for _, in := range inputRe.FindAllStringSubmatch(b, -1) {
			op.Inputs = append(op.Inputs, strings.ToLower(in[1]+in[2]))
		}
		// The request document: the serializer the operation's
		// HandleSerialize calls, and all the ones they call.
		if h := strings.Index(src, "func (m *awsRestxml_serializeOp"+m[1]+") HandleSerialize"); h >= 0 {
			end := strings.Index(src[h:], "\nfunc ")
			if end < 0 {
				end = len(src) - h
			}
			seen := map[string]bool{}
			var walk func(string)
			walk = func(fn string) {
				if seen[fn] {
					return
				}
				seen[fn] = true
				for _, e := range localRe.FindAllStringSubmatch(body[fn], -1) {
					op.Elements = append(op.Elements, e[1])
				}
				for _, c := range callRe.FindAllStringSubmatch(body[fn], -1) {
					walk(c[1])
				}
			}
			for _, c := range callRe.FindAllStringSubmatch(src[h:h+end], -1) {
				walk(c[1])
			}
		}
		ops[m[1]] = op
	}
	if len(ops) < min {
		return nil, fmt.Errorf("found %d operations in the serializers, want at least %d: the patterns no longer match the SDK", len(ops), min)
	}
	return ops, nil
}

// XMLTags returns every name the xml struct tags of sources use, each
// part of a path ("a>b") on its own.
func XMLTags(sources []string) map[string]bool {
	tags := map[string]bool{}
	re := regexp.MustCompile(`xml:"([^",]+)`)
	for _, s := range sources {
		for _, m := range re.FindAllStringSubmatch(s, -1) {
			for _, part := range strings.Split(m[1], ">") {
				tags[part] = true
			}
		}
	}
	return tags
}
