package disk

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The first directAfter bytes of a blob made by CreateDirect are written
// through the page cache, the rest with O_DIRECT: from the caller's memory
// to the device, in writes of whole directAlign blocks from
// directAlign-aligned memory. Copying a large body into the page cache
// costs more CPU than anything but its MD5 (on this kind of VM the
// kernel's copy into freshly allocated page-cache pages runs at ~1 GB/s),
// and many large writers at once meet dirty-page writeback and fsyncs of
// each other's pages; a direct write does neither. objstore writes this way
// multipart parts and objects declared at 64 MiB or more
// (objstore.directPutMin); smaller PUTs stay in the page cache, where the
// GETs that often follow them find them (docs/benchmarks.md: a 256 MiB PUT
// written this way was 1.0–1.15× as fast, and the GET after it read from
// the disk; at 1 GiB both were faster, the cache no longer holding the
// object whole). The durability protocol does not change: Commit still
// fsyncs the file (O_DIRECT alone makes neither the device's cache nor the
// file's size and extents durable), renames it and fsyncs the directory.
const (
	directAfter = 1 << 20
	directAlign = 4096
	// directStage is the size of the aligned buffer that collects bytes
	// arriving in unaligned memory or in pieces that are not whole blocks.
	directStage = 1 << 20
)

// directState is a writer's state of direct writing.
type directState struct {
	// on: the file is in O_DIRECT mode. off: direct writing is not to be
	// tried (not wanted, or the file system refused it).
	on, off bool
	// stage holds staged bytes that wait for a whole block (or for Commit).
	stage  *[]byte
	staged int
}

// stagePool recycles the aligned stages of direct writers.
var stagePool = sync.Pool{New: func() any { b := alignedBuffer(directStage); return &b }}

// write writes p through the page cache until the blob passes directAfter
// bytes, and with O_DIRECT from there.
func (w *writer) write(p []byte) (int, error) {
	total := len(p)
	if !w.dio.on && !w.dio.off && w.written+int64(len(p)) > directAfter {
		// Not yet switched, so w.written <= directAfter, which is aligned.
		head := int(directAfter - w.written)
		if n, err := w.writeBuffered(p[:head]); err != nil {
			return n, err
		}
		p = p[head:]
		w.startDirect()
	}
	if !w.dio.on {
		n, err := w.writeBuffered(p)
		return total - len(p) + n, err
	}
	n, err := w.writeDirect(p)
	return total - len(p) + n, err
}

// startDirect switches the file to O_DIRECT, after starting writeback of
// what went through the page cache so far. If the file system refuses,
// the writer stays in the page cache.
func (w *writer) startDirect() {
	if w.written > w.flushed {
		startWriteback(w.f, w.flushed, w.written-w.flushed)
		w.flushed = w.written
	}
	if err := setDirect(w.f, true); err != nil {
		w.dio.off = true
		return
	}
	w.dio.on = true
}

// writeDirect writes p with O_DIRECT: straight from p while p is aligned
// and nothing is staged, else through the stage. Bytes short of a whole
// stage wait there for the next Write or for Commit. It returns how many
// bytes of p are in the file or the stage.
func (w *writer) writeDirect(p []byte) (int, error) {
	done := 0
	for len(p) > 0 {
		if !w.dio.on {
			// A direct write was refused with the stage empty: the rest
			// goes through the page cache.
			n, err := w.writeBuffered(p)
			return done + n, err
		}
		if w.dio.staged == 0 && len(p) >= directAlign && aligned(p) {
			k := len(p) &^ (directAlign - 1)
			if err := w.flushDirect(p[:k]); err != nil {
				return done, err
			}
			done += k
			p = p[k:]
			continue
		}
		if w.dio.stage == nil {
			w.dio.stage = stagePool.Get().(*[]byte)
		}
		st := *w.dio.stage
		m := copy(st[w.dio.staged:], p)
		w.dio.staged += m
		p = p[m:]
		if w.dio.staged == len(st) {
			w.dio.staged = 0
			if err := w.flushDirect(st); err != nil {
				return done, err
			}
		}
		done += m
	}
	return done, nil
}

// flushDirect writes p, which is meant to be aligned and whole blocks, with
// O_DIRECT. A file system that takes O_DIRECT at fcntl but refuses the
// write (EINVAL, nothing written) gets p and everything after it through
// the page cache.
func (w *writer) flushDirect(p []byte) error {
	n, err := w.f.Write(p)
	w.written += int64(n)
	w.flushed = w.written
	if err == nil {
		return nil
	}
	if n != 0 || !errors.Is(err, unix.EINVAL) {
		return err
	}
	if err := setDirect(w.f, false); err != nil {
		return err
	}
	w.dio.on, w.dio.off = false, true
	_, err = w.writeBuffered(p)
	return err
}

// finishDirect writes what waits in the stage, before Commit's fsync: its
// whole blocks with O_DIRECT, then the last partial block through the page
// cache, with O_DIRECT cleared (a direct write must be whole blocks, and
// padding it would mean truncating the file afterwards).
func (w *writer) finishDirect() error {
	defer w.releaseStage()
	if !w.dio.on || w.dio.staged == 0 {
		return nil
	}
	st := (*w.dio.stage)[:w.dio.staged]
	w.dio.staged = 0
	if k := len(st) &^ (directAlign - 1); k > 0 {
		if err := w.flushDirect(st[:k]); err != nil {
			return err
		}
		st = st[k:]
	}
	if len(st) == 0 {
		return nil
	}
	if w.dio.on {
		if err := setDirect(w.f, false); err != nil {
			return err
		}
		w.dio.on = false
	}
	_, err := w.writeBuffered(st)
	return err
}

// releaseStage returns the stage to its pool.
func (w *writer) releaseStage() {
	if w.dio.stage != nil {
		stagePool.Put(w.dio.stage)
		w.dio.stage, w.dio.staged = nil, 0
	}
}

// setDirect sets or clears O_DIRECT on f.
func setDirect(f *os.File, on bool) error {
	flags, err := unix.FcntlInt(f.Fd(), unix.F_GETFL, 0)
	if err != nil {
		return err
	}
	if on {
		flags |= unix.O_DIRECT
	} else {
		flags &^= unix.O_DIRECT
	}
	_, err = unix.FcntlInt(f.Fd(), unix.F_SETFL, flags)
	return err
}

// alignedBuffer returns n bytes starting at a directAlign boundary.
func alignedBuffer(n int) []byte {
	b := make([]byte, n+directAlign)
	off := 0
	if r := int(uintptr(unsafe.Pointer(&b[0])) % directAlign); r != 0 {
		off = directAlign - r
	}
	return b[off : off+n : off+n]
}

// aligned reports whether p starts at a directAlign boundary.
func aligned(p []byte) bool {
	return uintptr(unsafe.Pointer(unsafe.SliceData(p)))%directAlign == 0
}

// adviseSequential tells the kernel f is about to be read from start to
// end, which doubles its readahead window, for reads of a large blob that
// go through the page cache.
func adviseSequential(f *os.File) {
	_ = unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_SEQUENTIAL)
}

// cachedProbe is how much of a range cached looks at: the start of a
// range tells whether the blob is in the page cache (a blob written
// through it, or read since) or not (written with O_DIRECT, or evicted).
const cachedProbe = 64 << 20

// cached reports whether every page of the start of [off, off+n), a range
// within f, is in the page cache, by cachestat(2) (Linux 6.5); without it,
// it reports false.
func cached(f *os.File, off, n int64) bool {
	n = min(n, cachedProbe)
	if n <= 0 {
		return false
	}
	var st unix.Cachestat_t
	if err := unix.Cachestat(uint(f.Fd()), &unix.CachestatRange{Off: uint64(off), Len: uint64(n)}, &st, 0); err != nil {
		return false
	}
	page := int64(os.Getpagesize())
	return int64(st.Cache) >= (off+n-1)/page-off/page+1
}

// sendDirect reads in pieces of sendChunk bytes into sendBuffers buffers:
// one being written to w while the others are read from the disk. Eight
// ranged GETs of 16 MiB at once ran at 1.12–1.24 GB/s here with three
// 1 MiB buffers, 1.19–1.35 with two of 4 MiB and 1.43–1.68 with three of
// 4 MiB: this disk wants large reads, and two of them ahead. With three
// of 8 MiB (each read reaches the device as two 4 MiB requests, its
// largest) they ran 1.13× (1.00–1.33×) faster again in the same rounds
// (docs/benchmarks.md, "Large objects: third pass"). A GET reading past
// the page cache holds 24 MiB while it runs; at most maxDirectSends of
// them run at once.
const (
	sendChunk   = 8 << 20
	sendBuffers = 3
)

// sendPool recycles sendDirect's aligned buffers.
var sendPool = sync.Pool{New: func() any { b := alignedBuffer(sendChunk); return &b }}

// sendDirect is SendTo with O_DIRECT reads, for a range that is not in the
// page cache: a second descriptor of the same file, opened with O_DIRECT,
// is read in aligned sendChunk pieces by a goroutine that stays up to two
// pieces ahead of the writes to w. Reading such a range through the
// cache ran at a fraction of the disk's rate here (sendfile hands the
// socket each page as it arrives; the client then burns a core on tiny
// reads) and would fill the cache with pages no one may read again. ok is
// false if the range is in the page cache, or if the file system refused
// O_DIRECT before anything was sent: the caller reads through the cache.
func (r *reader) sendDirect(w io.Writer, off, n int64) (sent int64, ok bool, err error) {
	end := min(off+n, r.size)
	if off >= end || cached(r.f, off, end-off) {
		return 0, false, nil
	}
	select {
	case r.directSends <- struct{}{}:
		defer func() { <-r.directSends }()
	default:
		return 0, false, nil // as many as the memory bound allows already
	}
	// /proc/self/fd reopens the very file r has open, even if it has been
	// renamed or unlinked since.
	f, oerr := os.OpenFile(fmt.Sprintf("/proc/self/fd/%d", r.f.Fd()), os.O_RDONLY|unix.O_DIRECT, 0)
	if oerr != nil {
		return 0, false, nil
	}
	defer f.Close()
	type piece struct {
		buf  *[]byte
		data []byte
		err  error
	}
	var (
		pieces = make(chan piece, sendBuffers-1)
		free   = make(chan *[]byte, sendBuffers)
		stop   = make(chan struct{})
		done   = make(chan struct{})
	)
	for range sendBuffers {
		free <- sendPool.Get().(*[]byte)
	}
	go func() {
		defer close(done)
		defer close(pieces)
		pos := off &^ (directAlign - 1)
		for pos < end {
			var b *[]byte
			select {
			case b = <-free:
			case <-stop:
				return
			}
			want := min(int64(len(*b)), (end-pos+directAlign-1)&^(directAlign-1))
			m, err := f.ReadAt((*b)[:want], pos)
			if err == io.EOF {
				err = nil
			}
			if err == nil && int64(m) < min(want, end-pos) {
				err = io.ErrUnexpectedEOF // the file is shorter than it was
			}
			lo, hi := max(off-pos, 0), min(int64(m), end-pos)
			p := piece{buf: b, err: err}
			if lo < hi {
				p.data = (*b)[lo:hi]
			}
			pieces <- p
			if err != nil {
				return
			}
			pos += int64(m)
		}
	}()
	ok = true
	stopped := false
	for p := range pieces {
		if !stopped {
			if len(p.data) > 0 {
				m, werr := w.Write(p.data)
				sent += int64(m)
				err = werr
			}
			if err == nil && p.err != nil {
				if sent == 0 && errors.Is(p.err, unix.EINVAL) {
					ok = false // O_DIRECT taken at open, refused at read
				} else {
					err = p.err
				}
			}
			if err != nil || !ok {
				stopped = true
				close(stop)
			}
		}
		free <- p.buf
	}
	<-done
	for range sendBuffers {
		sendPool.Put(<-free)
	}
	return sent, ok, err
}
