// Package runtimes knows the Lambda runtimes sluice runs and carries the
// bootstraps it ships for them, embedded in the binary: a Python runtime
// for python3.9 … python3.13 and a Node.js runtime for nodejs18.x …
// nodejs22.x, both run by a host interpreter. provided.al2023,
// provided.al2 and provided run the package's own executable bootstrap.
package runtimes

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// Family is a group of runtimes that start the same way.
type Family string

// Runtime families.
const (
	// Provided runs the executable named bootstrap in the package.
	Provided Family = "provided"
	// Python runs sluice's Python bootstrap with a host python3.
	Python Family = "python"
	// Node runs sluice's Node.js bootstrap with a host node.
	Node Family = "nodejs"
)

// Runtime is one runtime identifier, such as "python3.12".
type Runtime struct {
	ID     string
	Family Family
}

var known = map[string]Family{
	"provided.al2023": Provided,
	"provided.al2":    Provided,
	"provided":        Provided,
	"python3.9":       Python,
	"python3.10":      Python,
	"python3.11":      Python,
	"python3.12":      Python,
	"python3.13":      Python,
	"nodejs18.x":      Node,
	"nodejs20.x":      Node,
	"nodejs22.x":      Node,
}

// Lookup returns the runtime with identifier id.
func Lookup(id string) (Runtime, bool) {
	f, ok := known[id]
	return Runtime{ID: id, Family: f}, ok
}

// IDs lists the supported runtime identifiers, sorted.
func IDs() []string {
	ids := make([]string, 0, len(known))
	for id := range known {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// ExecutionEnv is the value of AWS_EXECUTION_ENV ("AWS_Lambda_python3.12");
// custom runtimes have none.
func (r Runtime) ExecutionEnv() string {
	if r.Family == Provided {
		return ""
	}
	return "AWS_Lambda_" + r.ID
}

// DefaultInterpreter is the host program a family runs on, looked up on
// PATH unless configured otherwise; "" for Provided.
func (f Family) DefaultInterpreter() string {
	switch f {
	case Python:
		return "python3"
	case Node:
		return "node"
	}
	return ""
}

// Command returns the program and arguments that start an instance.
// runtimeDir is the directory Install returned, codeDir the unpacked
// package and interpreter the resolved host interpreter (ignored for
// Provided).
func (r Runtime) Command(interpreter, runtimeDir, codeDir string) (string, []string) {
	switch r.Family {
	case Python:
		return interpreter, []string{filepath.Join(runtimeDir, "python", "bootstrap.py")}
	case Node:
		return interpreter, []string{filepath.Join(runtimeDir, "node", "bootstrap.mjs")}
	}
	return filepath.Join(codeDir, "bootstrap"), nil
}

//go:embed python/bootstrap.py python/_sluice_runtime.py node/bootstrap.mjs
var files embed.FS

// Install writes the embedded bootstraps under dir, in a subdirectory
// named for their content (so a new sluice version never runs an old
// bootstrap, and instances of the old one keep theirs), and returns that
// subdirectory: LAMBDA_RUNTIME_DIR. It is idempotent and safe against
// concurrent callers.
func Install(dir string) (string, error) {
	h := sha256.New()
	var paths []string
	err := fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		h.Write([]byte(p))
		h.Write([]byte{0})
		h.Write(b)
		paths = append(paths, p)
		return nil
	})
	if err != nil {
		return "", err
	}
	final := filepath.Join(dir, hex.EncodeToString(h.Sum(nil))[:16])
	if _, err := os.Stat(final); err == nil {
		return final, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(dir, ".tmp-")
	if err != nil {
		return "", err
	}
	for _, p := range paths {
		b, _ := files.ReadFile(p)
		dst := filepath.Join(tmp, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			os.RemoveAll(tmp)
			return "", err
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			os.RemoveAll(tmp)
			return "", err
		}
	}
	if err := os.Rename(tmp, final); err != nil {
		os.RemoveAll(tmp)
		// Another process installed it first.
		if _, serr := os.Stat(final); serr == nil {
			return final, nil
		}
		return "", errors.Join(errors.New("runtimes: install bootstraps"), err)
	}
	return final, nil
}
