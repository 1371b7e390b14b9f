package disk

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/sluicehq/sluice/internal/blob"
	"github.com/sluicehq/sluice/internal/blob/blobtest"
)

// directStore is a Store whose Create is CreateDirect, to run blob-level
// helpers and the conformance suite on direct writers.
type directStore struct{ *Store }

func (d directStore) Create(ctx context.Context) (blob.Writer, error) { return d.CreateDirect(ctx) }

func TestConformanceDirect(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blob.Store { return directStore{MustOpen(t, Options{})} })
}

// TestCreateBuffered checks that a blob made by Create, however large,
// goes through the page cache (a single PUT's blob, read back soon).
func TestCreateBuffered(t *testing.T) {
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	data := randomBytes(11, 6<<20+1)
	bw, err := s.Create(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	w := bw.(*writer)
	if n, err := w.Write(data); err != nil || n != len(data) {
		t.Fatalf("Write = %d, %v", n, err)
	}
	if w.dio.on {
		t.Error("a blob made by Create went into O_DIRECT mode")
	}
	id, err := w.Commit()
	if err != nil {
		t.Fatal(err)
	}
	if pages, all := resident(t, s.path(id)), (len(data)+os.Getpagesize()-1)/os.Getpagesize(); pages != all {
		t.Errorf("%d of %d pages in the page cache after Commit", pages, all)
	}
}

// randomBytes returns n pseudo-random bytes from seed.
func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 7))
	b := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		v := r.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	for i := n &^ 7; i < n; i++ {
		b[i] = byte(r.Uint32())
	}
	return b
}

// directSupported reports whether the file system of dir takes a whole,
// aligned block written with O_DIRECT and refuses a partial one, as
// ext4 and xfs do.
func directSupported(t *testing.T, dir string) bool {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(dir, "probe"), os.O_CREATE|os.O_WRONLY|syscall.O_DIRECT, 0o600)
	if err != nil {
		return false
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if _, err := f.Write(alignedBuffer(directAlign)); err != nil {
		return false
	}
	_, err = f.Write(make([]byte, 100))
	return errors.Is(err, unix.EINVAL)
}

// directDir returns a temporary directory for the tests of direct I/O: on
// the file system of $TMPDIR if it takes O_DIRECT, else (a tmpfs /tmp, as
// Debian 13 mounts it) beside the package's source, in the checkout, so
// that the direct path is tested wherever the repository sits on a disk.
func directDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if directSupported(t, dir) {
		return dir
	}
	local, err := os.MkdirTemp(".", ".direct-test-")
	if err != nil {
		return dir
	}
	t.Cleanup(func() { os.RemoveAll(local) })
	if directSupported(t, local) {
		return local
	}
	return dir
}

// resident counts the pages of the file at path that are in the page cache.
func resident(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() == 0 {
		return 0
	}
	m, err := unix.Mmap(int(f.Fd()), 0, int(fi.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(m)
	vec := make([]byte, (len(m)+os.Getpagesize()-1)/os.Getpagesize())
	if _, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
		t.Fatal(errno)
	}
	n := 0
	for _, v := range vec {
		n += int(v & 1)
	}
	return n
}

// writeIn writes data to w in pieces of the given sizes (cycled), each
// taken from src, a buffer that holds data at offset off (so that the
// pieces' memory alignment can be chosen).
func writeIn(t *testing.T, w *writer, src []byte, off int, data []byte, pieces []int) {
	t.Helper()
	copy(src[off:], data)
	for i, at := 0, 0; at < len(data); i++ {
		n := min(pieces[i%len(pieces)], len(data)-at)
		m, err := w.Write(src[off+at : off+at+n])
		if err != nil || m != n {
			t.Fatalf("Write of %d bytes at %d = %d, %v", n, at, m, err)
		}
		at += n
	}
}

// TestDirectWriter writes blobs of aligned and unaligned sizes, from
// aligned and unaligned memory, in whole and odd pieces, and checks that
// each reads back byte-identical, that the bytes past the first MiB went
// past the page cache where the file system supports O_DIRECT, and that
// small blobs stay buffered.
func TestDirectWriter(t *testing.T) {
	root := directDir(t)
	s, err := Open(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	direct := directSupported(t, root)
	t.Logf("O_DIRECT on %s: %v", root, direct)
	sizes := []int{0, 1, 4095, 4096, 1 << 20, 1<<20 + 1, 1<<20 + 4096, 1<<20 + 4097, 3<<20 + 123, 5 << 20, 8<<20 + 65537}
	patterns := []struct {
		name   string
		off    int // offset of the data in an aligned source buffer
		pieces []int
	}{
		{"whole", 0, []int{1 << 30}},
		{"MiB-aligned", 0, []int{1 << 20}},
		{"MiB-unaligned-memory", 1, []int{1 << 20}},
		{"odd", 0, []int{65521}},
		{"mixed", 512, []int{4096, 1 << 20, 100, 3 << 20, 1}},
	}
	src := alignedBuffer(10<<20 + directAlign)
	for _, size := range sizes {
		for _, p := range patterns {
			t.Run(fmt.Sprintf("%d/%s", size, p.name), func(t *testing.T) {
				data := randomBytes(uint64(size)+uint64(p.off), size)
				bw, err := s.CreateDirect(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				w := bw.(*writer)
				writeIn(t, w, src, p.off, data, p.pieces)
				wentDirect := w.dio.on
				if want := direct && size > directAfter; wentDirect != want {
					t.Errorf("in O_DIRECT mode after the writes = %v, want %v", wentDirect, want)
				}
				tmp := w.f.Name()
				id, err := w.Commit()
				if err != nil {
					t.Fatal(err)
				}
				if _, err := os.Stat(tmp); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("temporary file still there after Commit: %v", err)
				}
				path := s.path(id)
				if wentDirect {
					// Only the buffered head and the last partial block
					// may be in the page cache.
					max := directAfter/os.Getpagesize() + 1
					if n := resident(t, path); n > max {
						t.Errorf("%d pages of the blob in the page cache, want at most %d", n, max)
					}
				}
				fl := w.f
				if flags, err := unix.FcntlInt(fl.Fd(), unix.F_GETFL, 0); err == nil {
					t.Errorf("file still open after Commit (flags %#x)", flags)
				}
				if got := blobtest.MustRead(t, s, id); !bytes.Equal(got, data) {
					t.Fatalf("blob of %d bytes reads back different (%d bytes)", size, len(got))
				}
				fi, err := os.Stat(path)
				if err != nil || fi.Size() != int64(size) {
					t.Errorf("file size = %v, %v; want %d", fi.Size(), err, size)
				}
			})
		}
	}
}

// TestDirectWriteRefused makes the kernel refuse a direct write (a length
// that is not a whole number of blocks, EINVAL) and checks the writer goes
// on through the page cache with the content intact.
func TestDirectWriteRefused(t *testing.T) {
	root := directDir(t)
	if !directSupported(t, root) {
		t.Skipf("the file system of %s does not refuse partial O_DIRECT writes", root)
	}
	s, err := Open(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	data := randomBytes(3, 4<<20+777)
	bw, err := s.CreateDirect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	w := bw.(*writer)
	head := 2<<20 + 8192
	if n, err := w.Write(data[:head]); err != nil || n != head {
		t.Fatalf("Write = %d, %v", n, err)
	}
	if !w.dio.on {
		t.Fatal("not in O_DIRECT mode after 2 MiB")
	}
	// 100 bytes at an aligned offset: the file system takes O_DIRECT but
	// not this write.
	if err := w.flushDirect(data[head : head+100]); err != nil {
		t.Fatalf("flushDirect of a partial block: %v", err)
	}
	if w.dio.on || !w.dio.off {
		t.Errorf("after a refused write: on=%v off=%v, want the page cache from now on", w.dio.on, w.dio.off)
	}
	flags, err := unix.FcntlInt(w.f.Fd(), unix.F_GETFL, 0)
	if err != nil || flags&unix.O_DIRECT != 0 {
		t.Errorf("file flags %#x, %v: O_DIRECT still set", flags, err)
	}
	rest := data[head+100:]
	if n, err := w.Write(rest); err != nil || n != len(rest) {
		t.Fatalf("Write after the fallback = %d, %v", n, err)
	}
	id, err := w.Commit()
	if err != nil {
		t.Fatal(err)
	}
	if got := blobtest.MustRead(t, s, id); !bytes.Equal(got, data) {
		t.Fatal("blob reads back different after the fallback")
	}
}

// TestDirectOnTmpfs writes large blobs on tmpfs (what /dev/shm is), which
// takes or refuses O_DIRECT depending on the kernel: either way the blobs
// read back intact.
func TestDirectOnTmpfs(t *testing.T) {
	var st unix.Statfs_t
	if err := unix.Statfs("/dev/shm", &st); err != nil || st.Type != unix.TMPFS_MAGIC {
		t.Skip("no tmpfs at /dev/shm")
	}
	root, err := os.MkdirTemp("/dev/shm", "sluice-disk-test-")
	if err != nil {
		t.Skipf("/dev/shm: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	s, err := Open(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i, size := range []int{1<<20 + 1, 3<<20 + 4096, 6<<20 + 333} {
		data := randomBytes(uint64(i), size)
		id := blobtest.MustPut(t, directStore{s}, data, 1<<20, 65521)
		if got := blobtest.MustRead(t, s, id); !bytes.Equal(got, data) {
			t.Errorf("%d-byte blob on tmpfs reads back different", size)
		}
	}
}

// TestDirectAbort checks that an abandoned or failed direct writer leaves
// nothing, and that its stage goes back to the pool.
func TestDirectAbort(t *testing.T) {
	root := directDir(t)
	s, err := Open(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	bw, err := s.CreateDirect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	w := bw.(*writer)
	data := randomBytes(9, 3<<20+5)
	if _, err := w.Write(data[1:]); err != nil { // unaligned memory: staged
		t.Fatal(err)
	}
	if directSupported(t, root) && w.dio.stage == nil {
		t.Error("unaligned bytes written directly without a stage")
	}
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	if w.dio.stage != nil {
		t.Error("stage kept after Abort")
	}
	if entries, _ := os.ReadDir(filepath.Join(root, "tmp")); len(entries) != 0 {
		t.Errorf("tmp/ after Abort: %d entries", len(entries))
	}
	if _, err := w.Commit(); err == nil {
		t.Error("Commit after Abort succeeded")
	}
}

// The crash test's child: it writes blobs past directAfter and prints each
// committed one ("id seed size"), then starts one more, prints "writing"
// halfway and waits to be killed.
const crashChildEnv = "SLUICE_DISK_CRASH_CHILD"

func TestMain(m *testing.M) {
	if root := os.Getenv(crashChildEnv); root != "" {
		os.Exit(crashChild(root))
	}
	os.Exit(m.Run())
}

func crashChild(root string) int {
	s, err := Open(root, Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	put := func(seed uint64, size int, commit bool) (string, error) {
		w, err := s.CreateDirect(context.Background())
		if err != nil {
			return "", err
		}
		data := randomBytes(seed, size)
		for at := 0; at < len(data); at += 1 << 20 {
			if _, err := w.Write(data[at:min(at+1<<20, len(data))]); err != nil {
				return "", err
			}
			if !commit && at >= len(data)/2 {
				fmt.Println("writing")
				time.Sleep(time.Hour)
			}
		}
		return w.Commit()
	}
	for i := range 6 {
		seed, size := uint64(100+i), 1<<20+i*(1<<20)+i*1234
		id, err := put(seed, size, true)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Printf("%s %d %d\n", id, seed, size)
	}
	put(999, 16<<20+5, false)
	return 1
}

// TestDirectCrash kills a process with SIGKILL while it writes a large blob
// with O_DIRECT, after it committed others: every committed blob reads back
// byte-identical, the half-written one is nowhere, and Open clears tmp/.
func TestDirectCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	root := directDir(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+root)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	type committed struct {
		id         string
		seed, size int
	}
	var acked []committed
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		if line == "writing" {
			break
		}
		f := strings.Fields(line)
		if len(f) != 3 {
			t.Fatalf("child said %q", line)
		}
		seed, _ := strconv.Atoi(f[1])
		size, _ := strconv.Atoi(f[2])
		acked = append(acked, committed{f[0], seed, size})
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if len(acked) != 6 {
		t.Fatalf("child committed %d blobs before the kill, want 6", len(acked))
	}
	if entries, _ := os.ReadDir(filepath.Join(root, "tmp")); len(entries) != 1 {
		t.Errorf("tmp/ before reopening: %d entries, want the half-written blob", len(entries))
	}
	s, err := Open(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range acked {
		if got := blobtest.MustRead(t, s, c.id); !bytes.Equal(got, randomBytes(uint64(c.seed), c.size)) {
			t.Errorf("blob %s (%d bytes) reads back different after the kill", c.id, c.size)
		}
	}
	ids := walkIDs(t, s)
	if len(ids) != len(acked) {
		t.Errorf("Walk after the kill found %d blobs, want the %d committed", len(ids), len(acked))
	}
	if entries, _ := os.ReadDir(filepath.Join(root, "tmp")); len(entries) != 0 {
		t.Errorf("tmp/ after Open: %d entries", len(entries))
	}
}

// failingWriter accepts limit bytes, then fails.
type failingWriter struct {
	limit, n int
}

var errWriterFull = errors.New("writer full")

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.n+len(p) > w.limit {
		m := w.limit - w.n
		w.n = w.limit
		return m, errWriterFull
	}
	w.n += len(p)
	return len(p), nil
}

// TestSendTo sends ranges of a large blob (read with O_DIRECT) and of a
// small one (through the page cache) at aligned and unaligned offsets and
// lengths, up to and past the end, and checks the bytes; the large blob's
// bytes past its head stay out of the page cache.
func TestSendTo(t *testing.T) {
	root := directDir(t)
	s, err := Open(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	direct := directSupported(t, root)
	blobs := []struct {
		size  int
		store blob.Store
	}{
		{100 << 10, s},
		{5<<20 + 777, s},              // in the page cache: sendfile
		{5<<20 + 777, directStore{s}}, // not in it: O_DIRECT
		// O_DIRECT over more pieces than there are buffers.
		{(sendBuffers+1)*sendChunk + 5<<20 + 777, directStore{s}},
	}
	for _, bl := range blobs {
		size := bl.size
		data := randomBytes(uint64(size), size)
		id := blobtest.MustPut(t, bl.store, data, 1<<20)
		_, uncached := bl.store.(directStore)
		br, err := s.Open(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		r := br.(*reader)
		ranges := [][2]int{
			{0, size}, {1, size - 1}, {4095, 4097}, {4096, 8192}, {1<<20 - 1, 3 << 20},
			{size - 10, 10}, {size - 10, 100}, {0, 0}, {size, 10}, {size / 2, 1},
			{sendChunk - 5, 2*sendChunk + 10}, {2*sendChunk + 4096, size},
		}
		for _, rg := range ranges {
			off, n := rg[0], rg[1]
			var b bytes.Buffer
			sent, err := r.SendTo(&b, int64(off), int64(n))
			want := data[min(off, size):min(off+n, size)]
			if err != nil || sent != int64(len(want)) || !bytes.Equal(b.Bytes(), want) {
				t.Errorf("%d-byte blob: SendTo(%d, %d) = %d, %v; bytes equal %v, want %d bytes", size, off, n, sent, err, bytes.Equal(b.Bytes(), want), len(want))
			}
		}
		pages := resident(t, s.path(id))
		if max := directAfter/os.Getpagesize() + 1; direct && uncached && pages > max {
			t.Errorf("%d pages of the blob in the page cache after SendTo, want at most %d", pages, max)
		}
		if all := (size + os.Getpagesize() - 1) / os.Getpagesize(); !uncached && pages != all {
			t.Errorf("%d of %d pages of a blob written through the page cache in it after SendTo", pages, all)
		}
		r.Close()
	}
}

// TestSendToErrors checks that a failing destination stops SendTo with its
// error and leaves no goroutine behind, and that a blob unlinked after Open
// (as a GET racing a delete sees it) is still sent whole.
func TestSendToErrors(t *testing.T) {
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	data := randomBytes(5, 9<<20+3)
	id := blobtest.MustPut(t, directStore{s}, data, 1<<20)
	before := runtime.NumGoroutine()
	for _, limit := range []int{0, 100, 2<<20 + 5} {
		br, err := s.Open(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		w := &failingWriter{limit: limit}
		sent, err := br.(*reader).SendTo(w, 3, int64(len(data)))
		if !errors.Is(err, errWriterFull) || sent != int64(limit) {
			t.Errorf("SendTo into a writer full at %d = %d, %v; want %d, %v", limit, sent, err, limit, errWriterFull)
		}
		br.Close()
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines after the failed sends, %d before", n, before)
	}

	br, err := s.Open(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	defer br.Close()
	if err := s.Delete(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if sent, err := br.(*reader).SendTo(&b, 0, int64(len(data))); err != nil || sent != int64(len(data)) || !bytes.Equal(b.Bytes(), data) {
		t.Errorf("SendTo of an unlinked blob = %d, %v (bytes equal %v)", sent, err, bytes.Equal(b.Bytes(), data))
	}
}

// TestCached checks the page-cache probe SendTo chooses its path by.
func TestCached(t *testing.T) {
	root := directDir(t)
	if !directSupported(t, root) {
		t.Skipf("the file system of %s takes no O_DIRECT writes", root)
	}
	s, err := Open(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	data := randomBytes(13, 4<<20+100)
	id := blobtest.MustPut(t, directStore{s}, data, 1<<20)
	f, err := os.Open(s.path(id))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tests := []struct {
		off, n int64
		want   bool
	}{
		{0, 1 << 20, true},           // the head, written through the cache
		{4096, 100, true},            //
		{1<<20 - 1, 2, false},        // one byte in, one out
		{2 << 20, 1, false},          // written with O_DIRECT
		{4 << 20, 100, true},         // the tail, written through the cache
		{0, int64(len(data)), false}, //
		{0, 0, false},
	}
	for _, tt := range tests {
		if got := cached(f, tt.off, tt.n); got != tt.want {
			t.Errorf("cached(%d, %d) = %v, want %v", tt.off, tt.n, got, tt.want)
		}
	}
}

// TestSendDirectBound: GETs past the page cache beyond maxDirectSends read
// through the cache instead, with the same bytes, and release their slot.
func TestSendDirectBound(t *testing.T) {
	root := directDir(t)
	s, err := Open(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !directSupported(t, root) {
		t.Skipf("%s refuses O_DIRECT: nothing to bound", root)
	}
	data := randomBytes(7, 5<<20+123)
	id := blobtest.MustPut(t, directStore{s}, data, 1<<20)
	send := func() {
		t.Helper()
		br, err := s.Open(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		defer br.Close()
		var b bytes.Buffer
		if sent, err := br.(*reader).SendTo(&b, 0, int64(len(data))); err != nil || sent != int64(len(data)) || !bytes.Equal(b.Bytes(), data) {
			t.Fatalf("SendTo = %d, %v; bytes equal %v", sent, err, bytes.Equal(b.Bytes(), data))
		}
	}
	// Every slot taken: the GET reads through the page cache.
	for range maxDirectSends {
		s.directSends <- struct{}{}
	}
	send()
	if pages := resident(t, s.path(id)); pages < len(data)/os.Getpagesize() {
		t.Errorf("%d pages in the page cache after a GET over the bound, want the whole blob", pages)
	}
	for range maxDirectSends {
		<-s.directSends
	}
	// A GET that took a slot gives it back.
	if err := dropCache(s.path(id)); err != nil {
		t.Fatal(err)
	}
	send()
	if n := len(s.directSends); n != 0 {
		t.Errorf("%d slots held after the GETs ended", n)
	}
}

// dropCache takes a file's pages out of the page cache.
func dropCache(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.Fdatasync(int(f.Fd())); err != nil {
		return err
	}
	return unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
}
