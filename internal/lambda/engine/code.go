package engine

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/sluicehq/sluice/internal/lambda"
)

// MaxUnzippedSize is Lambda's limit on a deployment package's unzipped
// size, counted over the bytes actually written, not the headers' claims.
const MaxUnzippedSize = 262144000

// maxZipEntries bounds the number of entries in a package.
const maxZipEntries = 100000

var errUnzippedTooLarge = &lambda.SetupError{
	Code:    "InvalidParameterValueException",
	Message: fmt.Sprintf("Unzipped size must be smaller than %d bytes", MaxUnzippedSize),
}

func invalidZip(format string, args ...any) error {
	return &lambda.SetupError{
		Code: "InvalidZipFileException",
		Message: "Could not unzip uploaded file. Please check your file, then try to upload again. (" +
			fmt.Sprintf(format, args...) + ")",
	}
}

// CheckZip validates a deployment package without unpacking it: entry
// names (no absolute paths, no "..", nothing beneath a symbolic link),
// symbolic links that stay inside the package, checksums, and the
// unzipped size counted by decompressing every entry. It returns a
// *lambda.SetupError describing the first problem. The control plane can
// call it when code is uploaded, so that bad packages are refused by
// CreateFunction and UpdateFunctionCode rather than at the first invoke.
func CheckZip(r io.ReaderAt, size int64) error {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return invalidZip("%v", err)
	}
	p, err := planZip(zr)
	if err != nil {
		return err
	}
	budget := int64(MaxUnzippedSize)
	for _, f := range p.files {
		n, err := copyEntry(io.Discard, f, budget)
		if err != nil {
			return err
		}
		budget -= n
	}
	return nil
}

// zipPlan is a validated package: what to create, in order.
type zipPlan struct {
	dirs  []string
	files []*zip.File // regular files
	names []string    // cleaned names of files, parallel to files
	links []zipLink
}

type zipLink struct {
	name, target string
}

// planZip validates entry names, symbolic links and declared sizes.
func planZip(zr *zip.Reader) (*zipPlan, error) {
	if len(zr.File) > maxZipEntries {
		return nil, invalidZip("more than %d entries", maxZipEntries)
	}
	var declared uint64
	p := &zipPlan{}
	isLink := map[string]bool{}
	for _, f := range zr.File {
		declared += f.UncompressedSize64
		if declared > MaxUnzippedSize {
			return nil, errUnzippedTooLarge
		}
		name, err := cleanEntryName(f.Name)
		if err != nil {
			return nil, err
		}
		if name == "" {
			continue
		}
		mode := f.Mode()
		switch {
		case mode&fs.ModeSymlink != 0:
			target, err := readLinkTarget(f)
			if err != nil {
				return nil, err
			}
			if target == "" || strings.IndexByte(target, 0) >= 0 || path.IsAbs(target) {
				return nil, invalidZip("symbolic link %q points outside the package", f.Name)
			}
			if t := path.Join(path.Dir(name), target); t == ".." || strings.HasPrefix(t, "../") {
				return nil, invalidZip("symbolic link %q points outside the package", f.Name)
			}
			p.links = append(p.links, zipLink{name, target})
			isLink[name] = true
		case mode.IsDir() || strings.HasSuffix(f.Name, "/"):
			p.dirs = append(p.dirs, name)
		case mode.IsRegular():
			p.files = append(p.files, f)
			p.names = append(p.names, name)
		default:
			return nil, invalidZip("entry %q is not a file, directory or symbolic link", f.Name)
		}
	}
	// A link may not leave the package by way of other links either.
	if len(p.links) > 0 {
		targets := make(map[string]string, len(p.links))
		for _, l := range p.links {
			targets[l.name] = l.target
		}
		for _, l := range p.links {
			if linkEscapes(targets, l.name) {
				return nil, invalidZip("symbolic link %q points outside the package", l.name)
			}
		}
	}
	// Nothing may be written through a link: no entry lies beneath one.
	if len(isLink) > 0 {
		check := func(name string) error {
			for d := path.Dir(name); d != "."; d = path.Dir(d) {
				if isLink[d] {
					return invalidZip("entry %q lies beneath symbolic link %q", name, d)
				}
			}
			return nil
		}
		for _, lists := range [][]string{p.dirs, p.names} {
			for _, n := range lists {
				if err := check(n); err != nil {
					return nil, err
				}
			}
		}
		for _, l := range p.links {
			if err := check(l.name); err != nil {
				return nil, err
			}
		}
	}
	return p, nil
}

// linkEscapes resolves the link at name the way the kernel would, through
// the package's other links, and reports whether it leaves the package
// (or loops).
func linkEscapes(targets map[string]string, name string) bool {
	var cur []string
	if d := path.Dir(name); d != "." {
		cur = strings.Split(d, "/")
	}
	rest := strings.Split(targets[name], "/")
	for hops := 0; len(rest) > 0; {
		c := rest[0]
		rest = rest[1:]
		switch c {
		case "", ".":
		case "..":
			if len(cur) == 0 {
				return true
			}
			cur = cur[:len(cur)-1]
		default:
			cur = append(cur, c)
			t, ok := targets[strings.Join(cur, "/")]
			if !ok {
				continue
			}
			if hops++; hops > 40 || path.IsAbs(t) {
				return true
			}
			cur = cur[:len(cur)-1]
			rest = append(strings.Split(t, "/"), rest...)
		}
	}
	return false
}

// cleanEntryName returns the entry's relative path, "" for the root, or
// an error for absolute paths and ".." components (zip slip).
func cleanEntryName(name string) (string, error) {
	if strings.IndexByte(name, 0) >= 0 {
		return "", invalidZip("entry name contains a NUL byte")
	}
	if strings.HasPrefix(name, "/") {
		return "", invalidZip("entry %q has an absolute path", name)
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return "", invalidZip("entry %q escapes the package", name)
		}
	}
	c := path.Clean(name)
	if c == "." {
		return "", nil
	}
	return c, nil
}

func readLinkTarget(f *zip.File) (string, error) {
	if f.UncompressedSize64 > 4096 {
		return "", invalidZip("symbolic link %q has a %d-byte target", f.Name, f.UncompressedSize64)
	}
	rc, err := f.Open()
	if err != nil {
		return "", invalidZip("%s: %v", f.Name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, 4097))
	if err != nil {
		return "", invalidZip("%s: %v", f.Name, err)
	}
	return string(b), nil
}

// copyEntry decompresses f into w, writing at most budget bytes; beyond
// that it fails with errUnzippedTooLarge. The zip reader verifies the
// entry's CRC-32 at its end.
func copyEntry(w io.Writer, f *zip.File, budget int64) (int64, error) {
	rc, err := f.Open()
	if err != nil {
		return 0, invalidZip("%s: %v", f.Name, err)
	}
	defer rc.Close()
	n, err := io.Copy(w, io.LimitReader(rc, budget+1))
	if n > budget {
		return n, errUnzippedTooLarge
	}
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) || errors.Is(err, fs.ErrPermission) {
			return n, err // a local write error, not the package's fault
		}
		return n, invalidZip("%s: %v", f.Name, err)
	}
	return n, nil
}

// extractZip unpacks a validated package into dst, which must exist and
// be empty: directories, then files, then symbolic links, so that nothing
// is ever written through a link. Files keep their executable bits.
func extractZip(p *zipPlan, dst string) error {
	for _, d := range p.dirs {
		if err := os.MkdirAll(filepath.Join(dst, filepath.FromSlash(d)), 0o755); err != nil {
			return err
		}
	}
	budget := int64(MaxUnzippedSize)
	for i, f := range p.files {
		name := filepath.Join(dst, filepath.FromSlash(p.names[i]))
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			return err
		}
		perm := f.Mode().Perm() | 0o600
		out, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|syscall.O_NOFOLLOW, perm)
		if err != nil {
			return err
		}
		n, err := copyEntry(out, f, budget)
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		budget -= n
	}
	for _, l := range p.links {
		name := filepath.Join(dst, filepath.FromSlash(l.name))
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			return err
		}
		os.Remove(name)
		if err := os.Symlink(l.target, name); err != nil {
			return err
		}
	}
	// Links through other links can still resolve outside the package.
	if len(p.links) > 0 {
		root, err := filepath.EvalSymlinks(dst)
		if err != nil {
			return err
		}
		for _, l := range p.links {
			real, err := filepath.EvalSymlinks(filepath.Join(dst, filepath.FromSlash(l.name)))
			if err != nil {
				continue // dangling, and it stays dangling: the code is read-only
			}
			if real != root && !strings.HasPrefix(real, root+string(filepath.Separator)) {
				return invalidZip("symbolic link %q points outside the package", l.name)
			}
		}
	}
	return nil
}

// readOnly removes write permission from everything under dir.
func readOnly(dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.Type()&fs.ModeSymlink != 0 {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		return os.Chmod(p, info.Mode().Perm()&^0o222)
	})
}

// removeAll removes a tree made read-only by readOnly.
func removeAll(dir string) error {
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			_ = os.Chmod(p, 0o755)
		}
		return nil
	})
	return os.RemoveAll(dir)
}

// codeCache unpacks each distinct package once, into dir/<sha256>.
type codeCache struct {
	dir string

	mu       sync.Mutex
	inflight map[string]*codeJob
}

type codeJob struct {
	done chan struct{}
	err  error
}

func newCodeCache(dir string) (*codeCache, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	// Leftovers of an unpack interrupted by a crash.
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".tmp-") {
			removeAll(filepath.Join(dir, e.Name()))
		}
	}
	return &codeCache{dir: dir, inflight: map[string]*codeJob{}}, nil
}

func validSHA(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range []byte(s) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// get returns the directory holding d's unpacked code, unpacking it first
// if needed. Concurrent callers for the same package share one unpack.
func (c *codeCache) get(ctx context.Context, d *lambda.Deployment) (string, error) {
	sha := strings.ToLower(d.CodeSHA256)
	if !validSHA(sha) {
		return "", fmt.Errorf("engine: function %s: code SHA-256 %q is not 64 hex digits", d.FunctionName, d.CodeSHA256)
	}
	final := filepath.Join(c.dir, sha)
	if _, err := os.Stat(final); err == nil {
		return final, nil
	}
	c.mu.Lock()
	job, running := c.inflight[sha]
	if !running {
		job = &codeJob{done: make(chan struct{})}
		c.inflight[sha] = job
	}
	c.mu.Unlock()
	if !running {
		job.err = c.unpack(ctx, d, sha, final)
		c.mu.Lock()
		delete(c.inflight, sha)
		c.mu.Unlock()
		close(job.done)
		return final, job.err
	}
	select {
	case <-job.done:
		return final, job.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

func (c *codeCache) unpack(ctx context.Context, d *lambda.Deployment, sha, final string) error {
	if d.OpenCode == nil {
		return fmt.Errorf("engine: function %s: no code", d.FunctionName)
	}
	rc, err := d.OpenCode(ctx)
	if err != nil {
		return fmt.Errorf("engine: open code of %s: %w", d.FunctionName, err)
	}
	defer rc.Close()
	zf, err := os.CreateTemp(c.dir, ".tmp-*.zip")
	if err != nil {
		return err
	}
	defer func() {
		zf.Close()
		os.Remove(zf.Name())
	}()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(zf, h), io.LimitReader(rc, MaxUnzippedSize+1))
	if err != nil {
		return fmt.Errorf("engine: read code of %s: %w", d.FunctionName, err)
	}
	if n > MaxUnzippedSize {
		return errUnzippedTooLarge
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != sha {
		return fmt.Errorf("engine: code of %s has SHA-256 %s, want %s", d.FunctionName, got, sha)
	}
	zr, err := zip.NewReader(zf, n)
	if err != nil {
		return invalidZip("%v", err)
	}
	p, err := planZip(zr)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(c.dir, ".tmp-")
	if err != nil {
		return err
	}
	if err := extractZip(p, tmp); err != nil {
		removeAll(tmp)
		return err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		removeAll(tmp)
		return err
	}
	if err := readOnly(tmp); err != nil {
		removeAll(tmp)
		return err
	}
	if err := os.Rename(tmp, final); err != nil {
		removeAll(tmp)
		if _, serr := os.Stat(final); serr == nil {
			return nil // unpacked by another sluice process
		}
		return err
	}
	return nil
}
