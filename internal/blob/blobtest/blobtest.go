// Package blobtest is the conformance suite for blob.Store backends. Every
// backend's tests call Run:
//
//	func TestConformance(t *testing.T) {
//		blobtest.Run(t, func(t *testing.T) blob.Store { return MustOpen(t) })
//	}
package blobtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/sluicehq/sluice/internal/blob"
)

// Run runs the conformance suite. open is called once per subtest and must
// return a new, empty store, cleaned up by open's own t.Cleanup.
func Run(t *testing.T, open func(t *testing.T) blob.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s blob.Store)
	}{
		{"RoundTrip", testRoundTrip},
		{"Reader", testReader},
		{"ConcurrentReaders", testConcurrentReaders},
		{"Abort", testAbort},
		{"UniqueIDs", testUniqueIDs},
		{"Link", testLink},
		{"Delete", testDelete},
		{"NotFound", testNotFound},
		{"Walk", testWalk},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open(t)) })
	}
}

// content returns n deterministic pseudo-random bytes.
func content(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 42))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// MustPut stores data as a new blob, written in chunks of the given sizes
// (cycled; none writes it at once), and returns its ID.
func MustPut(tb testing.TB, s blob.Store, data []byte, chunks ...int) string {
	tb.Helper()
	id, err := put(s, data, chunks...)
	if err != nil {
		tb.Fatal(err)
	}
	return id
}

// put is MustPut for goroutines other than the test's.
func put(s blob.Store, data []byte, chunks ...int) (string, error) {
	w, err := s.Create(context.Background())
	if err != nil {
		return "", fmt.Errorf("create: %w", err)
	}
	for i, rest := 0, data; len(rest) > 0; i++ {
		n := len(rest)
		if len(chunks) > 0 {
			n = min(n, chunks[i%len(chunks)])
		}
		m, err := w.Write(rest[:n])
		if err != nil || m != n {
			w.Abort()
			return "", fmt.Errorf("write: %d, %v; want %d", m, err, n)
		}
		rest = rest[n:]
	}
	id, err := w.Commit()
	if err != nil {
		return "", fmt.Errorf("commit: %w", err)
	}
	if id == "" {
		return "", errors.New("commit returned an empty ID")
	}
	return id, nil
}

// MustRead returns the content of blob id.
func MustRead(tb testing.TB, s blob.Store, id string) []byte {
	tb.Helper()
	r, err := s.Open(context.Background(), id)
	if err != nil {
		tb.Fatalf("Open(%s): %v", id, err)
	}
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		tb.Fatalf("read %s: %v", id, err)
	}
	if r.Size() != int64(len(data)) {
		tb.Errorf("Size() = %d, read %d bytes", r.Size(), len(data))
	}
	return data
}

// walk returns the IDs Walk reports, sorted.
func walk(t *testing.T, s blob.Store) []string {
	t.Helper()
	var ids []string
	var mu sync.Mutex
	err := s.Walk(context.Background(), func(id string, _ time.Time) error {
		mu.Lock()
		defer mu.Unlock()
		ids = append(ids, id)
		return nil
	})
	if err != nil {
		t.Fatalf("Walk: %v", err)
	}
	slices.Sort(ids)
	return ids
}

func sorted(ids ...string) []string {
	return slices.Sorted(slices.Values(ids))
}

func testRoundTrip(t *testing.T, s blob.Store) {
	tests := []struct {
		name   string
		data   []byte
		chunks []int
	}{
		{"Empty", nil, nil},
		{"OneByte", []byte{0}, nil},
		{"Text", []byte("hello, world\n"), nil},
		{"ByteChunks", []byte("written one byte at a time"), []int{1}},
		{"64KiBPlusOne", content(1, 64<<10+1), nil},
		{"1MiBIrregular", content(2, 1<<20), []int{1, 4095, 4097, 65536, 3, 1 << 19}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := MustPut(t, s, tt.data, tt.chunks...)
			got := MustRead(t, s, id)
			if !bytes.Equal(got, tt.data) {
				t.Errorf("read %d bytes that differ from the %d written", len(got), len(tt.data))
			}
		})
	}
}

func testReader(t *testing.T, s blob.Store) {
	data := content(3, 100_000)
	id := MustPut(t, s, data)
	open := func() blob.Reader {
		t.Helper()
		r, err := s.Open(context.Background(), id)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { r.Close() })
		return r
	}
	r := open()
	if r.Size() != int64(len(data)) {
		t.Errorf("Size() = %d, want %d", r.Size(), len(data))
	}
	// The standard library's reader test covers Read, ReadAt and Seek
	// together.
	if err := iotest.TestReader(r, data); err != nil {
		t.Errorf("iotest.TestReader: %v", err)
	}

	seeks := []struct {
		off    int64
		whence int
		pos    int64
	}{
		{0, io.SeekStart, 0},
		{12345, io.SeekStart, 12345},
		{100, io.SeekCurrent, 12445},
		{-45, io.SeekCurrent, 12400},
		{-10, io.SeekEnd, int64(len(data)) - 10},
		{0, io.SeekEnd, int64(len(data))},
		{99_999, io.SeekStart, 99_999},
	}
	r = open()
	for _, sk := range seeks {
		pos, err := r.Seek(sk.off, sk.whence)
		if err != nil || pos != sk.pos {
			t.Errorf("Seek(%d, %d) = %d, %v; want %d", sk.off, sk.whence, pos, err, sk.pos)
			continue
		}
		buf := make([]byte, 17)
		n, err := io.ReadFull(r, buf)
		want := data[min(sk.pos, int64(len(data))):min(sk.pos+17, int64(len(data)))]
		if !bytes.Equal(buf[:n], want) {
			t.Errorf("read after Seek(%d, %d) = %x, want %x (%v)", sk.off, sk.whence, buf[:n], want, err)
		}
		if n < len(buf) && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("short read at the end: %v, want EOF", err)
		}
		// Move back by what was read, to exercise SeekCurrent from a
		// position the Reader tracked itself.
		if _, err := r.Seek(-int64(n), io.SeekCurrent); err != nil {
			t.Errorf("Seek back: %v", err)
		}
	}
	if _, err := r.Seek(-1, io.SeekStart); err == nil {
		t.Errorf("Seek to a negative offset succeeded")
	}

	reads := []struct {
		off  int64
		size int
		n    int
		eof  bool
	}{
		{0, 10, 10, false},
		{50_000, 1000, 1000, false},
		{int64(len(data)) - 5, 10, 5, true},
		{int64(len(data)), 10, 0, true},
		{int64(len(data)) + 100, 10, 0, true},
	}
	for _, rd := range reads {
		buf := make([]byte, rd.size)
		n, err := r.ReadAt(buf, rd.off)
		if n != rd.n {
			t.Errorf("ReadAt(%d bytes at %d) = %d bytes, want %d", rd.size, rd.off, n, rd.n)
		}
		if rd.eof && !errors.Is(err, io.EOF) {
			t.Errorf("ReadAt(%d bytes at %d): %v, want io.EOF", rd.size, rd.off, err)
		}
		if !rd.eof && err != nil {
			t.Errorf("ReadAt(%d bytes at %d): %v", rd.size, rd.off, err)
		}
		end := min(rd.off+int64(rd.size), int64(len(data)))
		if n > 0 && !bytes.Equal(buf[:n], data[rd.off:end]) {
			t.Errorf("ReadAt(%d bytes at %d) returned the wrong bytes", rd.size, rd.off)
		}
	}
	// ReadAt does not move the Read position.
	r2 := open()
	r2.ReadAt(make([]byte, 10), 500)
	head := make([]byte, 4)
	if _, err := io.ReadFull(r2, head); err != nil || !bytes.Equal(head, data[:4]) {
		t.Errorf("Read after ReadAt = %x, %v; want %x", head, err, data[:4])
	}
	if err := r2.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// testConcurrentReaders reads one blob through several Readers at once, and
// through one Reader's ReadAt from several goroutines (which io.ReaderAt
// allows).
func testConcurrentReaders(t *testing.T, s blob.Store) {
	data := content(4, 256<<10)
	id := MustPut(t, s, data)
	shared, err := s.Open(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	defer shared.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 8 {
		wg.Go(func() {
			r, err := s.Open(context.Background(), id)
			if err != nil {
				errs <- err
				return
			}
			defer r.Close()
			if got, err := io.ReadAll(r); err != nil || !bytes.Equal(got, data) {
				errs <- fmt.Errorf("reader %d: %d bytes, %v", g, len(got), err)
			}
		})
		wg.Go(func() {
			buf := make([]byte, 1000)
			for i := range 50 {
				off := int64((g*50 + i) * 4999 % (len(data) - len(buf)))
				if _, err := shared.ReadAt(buf, off); err != nil || !bytes.Equal(buf, data[off:off+int64(len(buf))]) {
					errs <- fmt.Errorf("shared ReadAt at %d: %v", off, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func testAbort(t *testing.T, s blob.Store) {
	ctx := context.Background()
	kept := MustPut(t, s, []byte("kept"))

	w, err := s.Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(content(5, 10_000)); err != nil {
		t.Fatal(err)
	}
	if err := w.Abort(); err != nil {
		t.Errorf("Abort: %v", err)
	}
	// A writer abandoned before any write.
	w, err = s.Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Abort(); err != nil {
		t.Errorf("Abort of an empty writer: %v", err)
	}
	if got := walk(t, s); !slices.Equal(got, []string{kept}) {
		t.Errorf("Walk after Abort = %q, want only %q", got, kept)
	}

	// Abort after Commit is a no-op.
	w, err = s.Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("committed"))
	id, err := w.Commit()
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Abort(); err != nil {
		t.Errorf("Abort after Commit: %v", err)
	}
	if got := MustRead(t, s, id); string(got) != "committed" {
		t.Errorf("blob after Abort-after-Commit = %q", got)
	}
	if got := walk(t, s); !slices.Equal(got, sorted(kept, id)) {
		t.Errorf("Walk = %q, want %q", got, sorted(kept, id))
	}
}

func testUniqueIDs(t *testing.T, s blob.Store) {
	const goroutines, each = 8, 8
	var mu sync.Mutex
	ids := map[string][]byte{}
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				data := []byte(fmt.Sprintf("blob %d/%d", g, i))
				id, err := put(s, data)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if _, dup := ids[id]; dup {
					t.Errorf("ID %s returned twice", id)
				}
				ids[id] = data
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for id, data := range ids {
		if got := MustRead(t, s, id); !bytes.Equal(got, data) {
			t.Errorf("blob %s = %q, want %q", id, got, data)
		}
	}
	if got := walk(t, s); len(got) != goroutines*each {
		t.Errorf("Walk found %d blobs, want %d", len(got), goroutines*each)
	}
}

func testLink(t *testing.T, s blob.Store) {
	ctx := context.Background()
	data := content(6, 70_000)
	orig := MustPut(t, s, data)
	link := func(id string) string {
		t.Helper()
		nid, err := s.Link(ctx, id)
		if err != nil {
			t.Fatalf("Link(%s): %v", id, err)
		}
		if nid == "" || nid == id {
			t.Fatalf("Link(%s) = %q, want a new ID", id, nid)
		}
		return nid
	}
	l1 := link(orig)
	l2 := link(l1)
	for _, id := range []string{orig, l1, l2} {
		if got := MustRead(t, s, id); !bytes.Equal(got, data) {
			t.Errorf("content of %s differs after Link", id)
		}
	}
	if got := walk(t, s); !slices.Equal(got, sorted(orig, l1, l2)) {
		t.Errorf("Walk = %q, want %q", got, sorted(orig, l1, l2))
	}
	// Each name is deleted independently.
	if err := s.Delete(ctx, orig); err != nil {
		t.Fatal(err)
	}
	if got := MustRead(t, s, l1); !bytes.Equal(got, data) {
		t.Errorf("link unreadable after deleting the original")
	}
	if err := s.Delete(ctx, l2); err != nil {
		t.Fatal(err)
	}
	if got := MustRead(t, s, l1); !bytes.Equal(got, data) {
		t.Errorf("link unreadable after deleting another link")
	}
	if got := walk(t, s); !slices.Equal(got, []string{l1}) {
		t.Errorf("Walk after deletes = %q, want [%s]", got, l1)
	}
	for _, id := range append(garbageIDs(l1), orig) {
		if nid, err := s.Link(ctx, id); !errors.Is(err, blob.ErrNotFound) {
			t.Errorf("Link(%q) = %q, %v; want ErrNotFound", id, nid, err)
		}
	}
	if got := walk(t, s); !slices.Equal(got, []string{l1}) {
		t.Errorf("failed Links left blobs: Walk = %q", got)
	}
}

func testDelete(t *testing.T, s blob.Store) {
	ctx := context.Background()
	a := MustPut(t, s, []byte("a"))
	b := MustPut(t, s, []byte("b"))
	for i := range 2 {
		if err := s.Delete(ctx, a); err != nil {
			t.Errorf("Delete #%d: %v", i+1, err)
		}
	}
	if _, err := s.Open(ctx, a); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Open after Delete: %v, want ErrNotFound", err)
	}
	for _, id := range garbageIDs(b) {
		if err := s.Delete(ctx, id); err != nil {
			t.Errorf("Delete(%q): %v, want nil", id, err)
		}
	}
	if got := MustRead(t, s, b); string(got) != "b" {
		t.Errorf("other blob after deletes = %q", got)
	}
	if got := walk(t, s); !slices.Equal(got, []string{b}) {
		t.Errorf("Walk = %q, want [%s]", got, b)
	}
}

// garbageIDs returns strings that name no blob, some of them derived from
// the real ID real: a store must answer ErrNotFound without touching
// anything outside itself.
func garbageIDs(real string) []string {
	ids := []string{
		"", ".", "..", "/", "tmp", "../", "../../../../../../etc/passwd", "/etc/passwd",
		"x", "00", "00/", "ff/..", strings.Repeat("0", 32), strings.Repeat("f", 64), "\x00", "a\x00b",
		"0123456789abcdef0123456789abcdeg",
	}
	if real != "" {
		ids = append(ids,
			real+"x", real+"/", real[:len(real)-1], "../"+real, "./"+real, strings.ToUpper(real),
			real+"\x00", " "+real,
		)
		if len(real) > 2 {
			ids = append(ids, real[:2]+"/"+real, real[:2])
		}
	}
	return slices.DeleteFunc(ids, func(id string) bool { return id == real })
}

func testNotFound(t *testing.T, s blob.Store) {
	ctx := context.Background()
	real := MustPut(t, s, []byte("real"))
	for _, id := range garbageIDs(real) {
		r, err := s.Open(ctx, id)
		if err == nil {
			r.Close()
		}
		if !errors.Is(err, blob.ErrNotFound) {
			t.Errorf("Open(%q): %v, want ErrNotFound", id, err)
		}
	}
	// An ID of a deleted blob, and one of another store's shape.
	gone := MustPut(t, s, []byte("gone"))
	if err := s.Delete(ctx, gone); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open(ctx, gone); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Open of a deleted blob: %v, want ErrNotFound", err)
	}
}

func testWalk(t *testing.T, s blob.Store) {
	ctx := context.Background()
	if got := walk(t, s); len(got) != 0 {
		t.Errorf("Walk of an empty store = %q", got)
	}
	before := time.Now().Add(-2 * time.Second)
	var ids []string
	for i := range 20 {
		ids = append(ids, MustPut(t, s, []byte(fmt.Sprint(i))))
	}
	// An uncommitted writer is invisible.
	w, err := s.Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	w.Write([]byte("pending"))

	after := time.Now().Add(2 * time.Second)
	seen := map[string]time.Time{}
	var mu sync.Mutex
	err = s.Walk(ctx, func(id string, modified time.Time) error {
		mu.Lock()
		defer mu.Unlock()
		if _, dup := seen[id]; dup {
			t.Errorf("Walk reported %s twice", id)
		}
		seen[id] = modified
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := sortedKeys(seen); !slices.Equal(got, sorted(ids...)) {
		t.Errorf("Walk = %q, want %q", got, sorted(ids...))
	}
	for id, m := range seen {
		if m.Before(before) || m.After(after) {
			t.Errorf("Walk: %s modified %v, want about now", id, m)
		}
	}

	// fn's error stops the walk and is returned.
	errStop := errors.New("stop")
	err = s.Walk(ctx, func(string, time.Time) error { return errStop })
	if !errors.Is(err, errStop) {
		t.Errorf("Walk returned %v, want fn's error", err)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
