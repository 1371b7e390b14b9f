// Package disk is the local-filesystem blob store: one file per blob under
// 256 fan-out directories, written to a temporary file, fsynced and renamed
// into place, with the directory fsynced before Commit returns.
//
// On Linux the bytes past the first MiB of a blob made by CreateDirect are
// written with O_DIRECT, past the page cache, and Reader.SendTo reads what
// is not in the page cache the same way (direct_linux.go); elsewhere, and
// on file systems that refuse O_DIRECT, every byte goes through the page
// cache.
package disk

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sluicehq/sluice/internal/blob"
)

var _ blob.Store = (*Store)(nil)

// Store keeps blobs under a root directory:
//
//	<root>/tmp/<random>     blobs being written (removed at Open)
//	<root>/<xx>/<id>        committed blobs, xx = first two hex digits of id
type Store struct {
	root   string
	noSync bool
	// directSends bounds the GETs reading past the page cache at once,
	// and so the memory their buffers take (see sendDirect); a GET over
	// the bound reads through the page cache instead.
	directSends chan struct{}
}

// maxDirectSends is the capacity of Store.directSends: 8 GETs of 24 MiB
// of buffers each, 192 MiB at most.
const maxDirectSends = 8

// Options configure Open.
type Options struct {
	// NoSync skips fsync (tests only: data is not crash-safe).
	NoSync bool
}

// Open prepares root, discarding any blob left half-written by a crash.
func Open(root string, opts Options) (*Store, error) {
	tmp := filepath.Join(root, "tmp")
	if err := os.RemoveAll(tmp); err != nil {
		return nil, fmt.Errorf("blob: clear %s: %w", tmp, err)
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return nil, err
	}
	for i := 0; i < 256; i++ {
		if err := os.MkdirAll(filepath.Join(root, fmt.Sprintf("%02x", i)), 0o755); err != nil {
			return nil, err
		}
	}
	s := &Store{root: root, noSync: opts.NoSync, directSends: make(chan struct{}, maxDirectSends)}
	if err := s.syncDir(root); err != nil {
		return nil, err
	}
	return s, nil
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func validID(id string) bool {
	if len(id) != 32 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func (s *Store) path(id string) string {
	return filepath.Join(s.root, id[:2], id)
}

func (s *Store) syncDir(dir string) error {
	if s.noSync {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Create implements blob.Store.
// Its bytes go through the page cache, where a GET that follows finds them.
func (s *Store) Create(ctx context.Context) (blob.Writer, error) {
	return s.create(false)
}

// CreateDirect is Create for a blob that is not expected to be read back
// soon (a multipart upload's part, a very large object): on Linux its bytes past the first MiB
// are written with O_DIRECT, past the page cache, which costs less CPU
// than copying them into it and keeps many such writers from contending
// for dirty pages (direct_linux.go). Elsewhere, and on a file system that
// refuses O_DIRECT, it is Create.
func (s *Store) CreateDirect(ctx context.Context) (blob.Writer, error) {
	return s.create(true)
}

func (s *Store) create(direct bool) (*writer, error) {
	f, err := os.CreateTemp(filepath.Join(s.root, "tmp"), "w-")
	if err != nil {
		return nil, fmt.Errorf("blob: create: %w", err)
	}
	w := &writer{s: s, f: f}
	// Without fsync nothing is waited for at Commit, and the page cache
	// is the faster place for the bytes.
	w.dio.off = !direct || s.noSync
	return w, nil
}

type writer struct {
	s    *Store
	f    *os.File
	done bool
	// written and flushed count bytes in the file and bytes handed to
	// writeback (or written past the page cache).
	written, flushed int64
	// dio is the state of direct (O_DIRECT) writing, on Linux.
	dio directState
}

// writebackChunk is how much unflushed data a writer accumulates before it
// starts writeback of it.
const writebackChunk = 8 << 20

func (w *writer) Write(p []byte) (int, error) { return w.write(p) }

// writeBuffered writes p through the page cache, starting writeback every
// writebackChunk bytes.
func (w *writer) writeBuffered(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.written += int64(n)
	if !w.s.noSync && w.written-w.flushed >= writebackChunk {
		startWriteback(w.f, w.flushed, w.written-w.flushed)
		w.flushed = w.written
	}
	return n, err
}

func (w *writer) Commit() (string, error) {
	if w.done {
		return "", errors.New("blob: writer already finished")
	}
	w.done = true
	if err := w.finishDirect(); err != nil {
		w.discard()
		return "", fmt.Errorf("blob: write: %w", err)
	}
	if !w.s.noSync {
		if err := w.f.Sync(); err != nil {
			w.discard()
			return "", fmt.Errorf("blob: sync: %w", err)
		}
	}
	if err := w.f.Close(); err != nil {
		os.Remove(w.f.Name())
		return "", fmt.Errorf("blob: close: %w", err)
	}
	id := newID()
	dst := w.s.path(id)
	if err := os.Rename(w.f.Name(), dst); err != nil {
		os.Remove(w.f.Name())
		return "", fmt.Errorf("blob: commit: %w", err)
	}
	if err := w.s.syncDir(filepath.Dir(dst)); err != nil {
		return "", fmt.Errorf("blob: sync dir: %w", err)
	}
	return id, nil
}

func (w *writer) discard() {
	w.releaseStage()
	w.f.Close()
	os.Remove(w.f.Name())
}

func (w *writer) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	w.discard()
	return nil
}

// Open implements blob.Store.
func (s *Store) Open(ctx context.Context, id string) (blob.Reader, error) {
	if !validID(id) {
		return nil, blob.ErrNotFound
	}
	f, err := os.Open(s.path(id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, blob.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("blob: open: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if fi.Size() > directAfter {
		adviseSequential(f)
	}
	return &reader{f: f, size: fi.Size(), directSends: s.directSends}, nil
}

type reader struct {
	f           *os.File
	size        int64
	directSends chan struct{} // the Store's
}

func (r *reader) Read(p []byte) (int, error)                { return r.f.Read(p) }
func (r *reader) ReadAt(p []byte, off int64) (int, error)   { return r.f.ReadAt(p, off) }
func (r *reader) Seek(off int64, whence int) (int64, error) { return r.f.Seek(off, whence) }
func (r *reader) Close() error                              { return r.f.Close() }
func (r *reader) Size() int64                               { return r.size }

// File exposes the underlying file so that callers can hand it to io.Copy
// unwrapped, which lets net/http use sendfile.
func (r *reader) File() *os.File { return r.f }

// SendTo writes bytes [off, off+n) of the blob to w (n may run past the
// end of the blob, which sends the bytes up to it). On Linux a range of a
// large blob that is not in the page cache is read with O_DIRECT
// (direct_linux.go); anything else goes through the page cache, handed to
// w as the bare file so that net/http uses sendfile. It leaves the
// reader's offset unspecified.
func (r *reader) SendTo(w io.Writer, off, n int64) (int64, error) {
	if r.size > directAfter {
		if m, ok, err := r.sendDirect(w, off, n); ok {
			return m, err
		}
	}
	if _, err := r.f.Seek(off, io.SeekStart); err != nil {
		return 0, err
	}
	return io.Copy(w, &io.LimitedReader{R: r.f, N: n})
}

// Link implements blob.Store with a hard link: blobs are immutable, so the
// two names can share one inode.
func (s *Store) Link(ctx context.Context, id string) (string, error) {
	if !validID(id) {
		return "", blob.ErrNotFound
	}
	nid := newID()
	err := os.Link(s.path(id), s.path(nid))
	if errors.Is(err, fs.ErrNotExist) {
		return "", blob.ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("blob: link: %w", err)
	}
	// A fresh modification time marks the new name as this process's
	// work, so that a concurrent orphan sweep (which only considers blobs
	// older than the process) leaves it alone until it is referenced.
	now := time.Now()
	if err := os.Chtimes(s.path(nid), now, now); err != nil {
		return "", fmt.Errorf("blob: link: %w", err)
	}
	if err := s.syncDir(filepath.Dir(s.path(nid))); err != nil {
		return "", err
	}
	return nid, nil
}

// Delete implements blob.Store.
func (s *Store) Delete(ctx context.Context, id string) error {
	if !validID(id) {
		return nil
	}
	err := os.Remove(s.path(id))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("blob: delete: %w", err)
	}
	return nil
}

// Walk implements blob.Store.
func (s *Store) Walk(ctx context.Context, fn func(id string, modified time.Time) error) error {
	for i := 0; i < 256; i++ {
		dir := filepath.Join(s.root, fmt.Sprintf("%02x", i))
		entries, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if err := ctx.Err(); err != nil {
				return err
			}
			name := e.Name()
			if !validID(name) || !strings.HasPrefix(name, dir[len(dir)-2:]) {
				continue
			}
			info, err := e.Info()
			if err != nil {
				continue
			}
			if err := fn(name, info.ModTime()); err != nil {
				return err
			}
		}
	}
	return nil
}
