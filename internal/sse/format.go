// Package sse implements sluice's encryption at rest: the segmented format
// encrypted object content is stored in, the sealing of the data keys that
// encrypt it, and the derivation of keys from SSE-C customer keys.
//
// # Format
//
// An encrypted blob is a 32-byte header followed by segments:
//
//	header   "SLS1" | layers (1 byte) | log2(segment size) (1 byte) | 2 zero bytes | 24 random bytes
//	segment  one sealed piece of at most SegmentSize plaintext bytes
//
// The plaintext is cut into SegmentSize pieces (the last one shorter; an
// empty plaintext is one empty segment). Each piece is sealed with
// AES-256-GCM under a key derived for this blob, once per layer (two layers
// for dual-layer encryption, each under its own data key), so a segment
// occupies its plaintext length plus TagSize bytes per layer, and segment i
// starts at a computable offset. A reader of a byte range decrypts only the
// segments that overlap it.
//
// The segment keys are HMAC-SHA256(data key, info ‖ header), so the
// 24 random header bytes make every blob's keys unique even when several
// blobs share a data key (the parts of a multipart upload, a part uploaded
// twice). Nonces need no randomness: a nonce is the segment's index (8 bytes,
// big-endian) followed by three zero bytes and a final-segment flag. Any
// change to the header changes the keys; a changed, reordered, dropped or
// appended segment fails its tag check or the final-segment check; every
// such failure is ErrCorrupt.
package sse

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
)

// Sizes of the format.
const (
	// SegmentSize is the plaintext size of every segment but the last.
	SegmentSize = 64 << 10
	// HeaderSize is the size of the blob header.
	HeaderSize = 32
	// TagSize is the GCM tag each layer adds to a segment.
	TagSize = 16
	// KeySize is the size of a data key (AES-256).
	KeySize = 32
	// MaxLayers is the largest number of encryption layers.
	MaxLayers = 2

	segmentShift = 16
	saltSize     = 24
	magic        = "SLS1"
	nonceSize    = 12
	// batchSegments bounds how many segments a reader fetches with one
	// read and a writer hands to the underlying writer at once.
	batchSegments = 16
)

// batchPool holds the buffers of a batch of sealed segments (a Writer's
// pending output, a Reader's fetched segments): large objects reuse them
// instead of allocating a megabyte per request.
var batchPool = sync.Pool{New: func() any {
	b := make([]byte, 0, HeaderSize+batchSegments*(SegmentSize+MaxLayers*TagSize))
	return &b
}}

func getBatch() []byte { return (*batchPool.Get().(*[]byte))[:0] }

func putBatch(b []byte) {
	if cap(b) >= HeaderSize+batchSegments*(SegmentSize+MaxLayers*TagSize) {
		b = b[:0]
		batchPool.Put(&b)
	}
}

// ErrCorrupt is returned when encrypted content fails authentication: it was
// changed, truncated, or is being read with the wrong key.
var ErrCorrupt = errors.New("sse: encrypted content failed authentication")

// DataKey is the key material that encrypts one object's content: one
// KeySize key per layer.
type DataKey struct {
	Layers [][]byte
}

// NewDataKey returns a random data key with the given number of layers.
func NewDataKey(layers int) (DataKey, error) {
	if layers < 1 || layers > MaxLayers {
		return DataKey{}, fmt.Errorf("sse: %d layers", layers)
	}
	dk := DataKey{Layers: make([][]byte, layers)}
	for i := range dk.Layers {
		dk.Layers[i] = make([]byte, KeySize)
		if _, err := rand.Read(dk.Layers[i]); err != nil {
			return DataKey{}, err
		}
	}
	return dk, nil
}

func (dk DataKey) valid() error {
	if len(dk.Layers) < 1 || len(dk.Layers) > MaxLayers {
		return fmt.Errorf("sse: data key with %d layers", len(dk.Layers))
	}
	for _, k := range dk.Layers {
		if len(k) != KeySize {
			return fmt.Errorf("sse: data key of %d bytes", len(k))
		}
	}
	return nil
}

// segments is the number of segments of a plaintext of size bytes.
func segments(size int64) int64 {
	if size <= 0 {
		return 1
	}
	return (size + SegmentSize - 1) / SegmentSize
}

// EncryptedSize is the size of the blob that holds size plaintext bytes
// encrypted with the given number of layers.
func EncryptedSize(size int64, layers int) int64 {
	return HeaderSize + size + segments(size)*int64(layers*TagSize)
}

// blobCipher seals and opens the segments of one blob.
type blobCipher struct {
	aeads    []cipher.AEAD
	overhead int
	scratch  []byte
}

const keyInfo = "sluice sse segment key v1"

func newBlobCipher(dk DataKey, header []byte) (*blobCipher, error) {
	if err := dk.valid(); err != nil {
		return nil, err
	}
	c := &blobCipher{overhead: len(dk.Layers) * TagSize}
	for _, k := range dk.Layers {
		// The data key is uniformly random, so one HMAC (a PRF) is a
		// sound derivation, and half the cost of HKDF's extract-expand.
		m := hmac.New(sha256.New, k)
		m.Write([]byte(keyInfo))
		m.Write(header)
		block, err := aes.NewCipher(m.Sum(nil))
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		c.aeads = append(c.aeads, aead)
	}
	return c, nil
}

func nonce(index uint64, final bool) [nonceSize]byte {
	var n [nonceSize]byte
	binary.BigEndian.PutUint64(n[:8], index)
	if final {
		n[nonceSize-1] = 1
	}
	return n
}

// seal appends the sealed form of segment index (plaintext pt) to dst.
func (c *blobCipher) seal(dst, pt []byte, index uint64, final bool) []byte {
	n := nonce(index, final)
	if len(c.aeads) == 1 {
		return c.aeads[0].Seal(dst, n[:], pt, nil)
	}
	c.scratch = c.aeads[0].Seal(c.scratch[:0], n[:], pt, nil)
	return c.aeads[1].Seal(dst, n[:], c.scratch, nil)
}

// open decrypts sealed segment index in place and returns its plaintext.
func (c *blobCipher) open(ct []byte, index uint64, final bool) ([]byte, error) {
	n := nonce(index, final)
	var err error
	for i := len(c.aeads) - 1; i >= 0; i-- {
		if ct, err = c.aeads[i].Open(ct[:0], n[:], ct, nil); err != nil {
			return nil, ErrCorrupt
		}
	}
	return ct, nil
}

func newHeader(layers int) ([]byte, error) {
	h := make([]byte, HeaderSize)
	copy(h, magic)
	h[4] = byte(layers)
	h[5] = segmentShift
	if _, err := rand.Read(h[HeaderSize-saltSize:]); err != nil {
		return nil, err
	}
	return h, nil
}

func checkHeader(h []byte, layers int) error {
	if len(h) != HeaderSize || string(h[:4]) != magic || h[5] != segmentShift || h[6] != 0 || h[7] != 0 {
		return ErrCorrupt
	}
	if int(h[4]) != layers {
		return ErrCorrupt
	}
	return nil
}

// Writer encrypts a stream into the format. Close it to seal the final
// segment; it does not close the underlying writer.
type Writer struct {
	w      io.Writer
	c      *blobCipher
	buf    []byte // pending plaintext of the current segment
	out    []byte // sealed bytes not yet written
	index  uint64
	size   int64
	err    error
	closed bool
}

// NewWriter returns a Writer that writes the encrypted form of what it is
// given to w, starting with a fresh header.
func NewWriter(w io.Writer, dk DataKey) (*Writer, error) {
	h, c, err := newSealer(dk)
	if err != nil {
		return nil, err
	}
	// Buffers start small and grow with the content, so small objects
	// cost small allocations.
	out := make([]byte, 0, HeaderSize+512)
	return &Writer{w: w, c: c, out: append(out, h...)}, nil
}

// Write encrypts p. A segment is sealed once it is full and more bytes
// follow it, so that the last one can be marked final at Close.
func (w *Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if w.closed {
		return 0, errors.New("sse: write after close")
	}
	n := len(p)
	for len(p) > 0 {
		if len(w.buf) == SegmentSize {
			w.sealSegment(w.buf, false)
			w.buf = w.buf[:0]
			if w.err != nil {
				return 0, w.err
			}
		}
		if len(w.buf) == 0 && len(p) > SegmentSize {
			// A whole segment with bytes after it: seal it in place.
			w.sealSegment(p[:SegmentSize], false)
			if w.err != nil {
				return 0, w.err
			}
			p = p[SegmentSize:]
			continue
		}
		k := min(SegmentSize-len(w.buf), len(p))
		w.buf = append(w.buf, p[:k]...)
		p = p[k:]
	}
	w.size += int64(n)
	return n, nil
}

func (w *Writer) sealSegment(pt []byte, final bool) {
	if !final && len(w.out) <= HeaderSize {
		// More than one segment: stage them in a pooled batch buffer.
		w.out = append(getBatch(), w.out...)
	}
	w.out = w.c.seal(w.out, pt, w.index, final)
	w.index++
	if final || len(w.out) >= batchSegments*(SegmentSize+w.c.overhead) {
		w.flush()
	}
}

func (w *Writer) flush() {
	if len(w.out) == 0 || w.err != nil {
		return
	}
	if _, err := w.w.Write(w.out); err != nil {
		w.err = err
	}
	w.out = w.out[:0]
}

// Close seals the last segment and writes everything pending.
func (w *Writer) Close() error {
	if w.closed || w.err != nil {
		return w.err
	}
	w.closed = true
	w.sealSegment(w.buf, true)
	w.buf = w.buf[:0]
	putBatch(w.out)
	w.out = nil
	return w.err
}

// Seal returns the encrypted form of plaintext (for small content held in
// memory).
func Seal(dk DataKey, plaintext []byte) ([]byte, error) {
	h, c, err := newSealer(dk)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, EncryptedSize(int64(len(plaintext)), len(dk.Layers)))
	out = append(out, h...)
	last := uint64(segments(int64(len(plaintext))) - 1)
	for i := uint64(0); i <= last; i++ {
		seg := plaintext[min(int(i)*SegmentSize, len(plaintext)):min(int(i+1)*SegmentSize, len(plaintext))]
		out = c.seal(out, seg, i, i == last)
	}
	return out, nil
}

// Open returns plaintext bytes [off, off+n) of encrypted content held in
// memory whose whole plaintext is size bytes. blob is not modified.
func Open(dk DataKey, blob []byte, size, off, n int64) ([]byte, error) {
	c, err := openBlob(dk, blob, size, off, n)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return []byte{}, nil
	}
	first, last := off/SegmentSize, (off+n-1)/SegmentSize
	out := make([]byte, 0, min((last+1)*SegmentSize, size)-first*SegmentSize)
	for i := first; i <= last; i++ {
		seg, final, err := c.segmentOf(blob, size, i)
		if err != nil {
			return nil, err
		}
		if out, err = c.openTo(out, seg, uint64(i), final); err != nil {
			return nil, err
		}
	}
	skip := off - first*SegmentSize
	return out[skip : skip+n], nil
}

// OpenInPlace is Open for a blob the caller owns and no longer needs: it
// decrypts into the blob's own memory and returns a slice of it, so a small
// object's GET allocates nothing more.
func OpenInPlace(dk DataKey, blob []byte, size, off, n int64) ([]byte, error) {
	c, err := openBlob(dk, blob, size, off, n)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return []byte{}, nil
	}
	first, last := off/SegmentSize, (off+n-1)/SegmentSize
	// Decrypted segments are moved down to lie end to end; the write
	// position never passes the start of the segment being read.
	w := HeaderSize + first*int64(SegmentSize+c.overhead)
	start0 := w
	for i := first; i <= last; i++ {
		seg, final, err := c.segmentOf(blob, size, i)
		if err != nil {
			return nil, err
		}
		pt, err := c.open(seg, uint64(i), final)
		if err != nil {
			return nil, err
		}
		w += int64(copy(blob[w:], pt))
	}
	skip := off - first*SegmentSize
	return blob[start0+skip : start0+skip+n], nil
}

// newSealer returns a fresh header for content encrypted with dk and the
// cipher that seals its segments.
func newSealer(dk DataKey) ([]byte, *blobCipher, error) {
	if err := dk.valid(); err != nil {
		return nil, nil, err
	}
	h, err := newHeader(len(dk.Layers))
	if err != nil {
		return nil, nil, err
	}
	c, err := newBlobCipher(dk, h)
	if err != nil {
		return nil, nil, err
	}
	return h, c, nil
}

// openBlob checks the range [off, off+n) of a plaintext of size bytes and
// the header of its in-memory encrypted blob, and returns the blob's
// cipher. Errors: ErrCorrupt, or a bad key or range.
func openBlob(dk DataKey, blob []byte, size, off, n int64) (*blobCipher, error) {
	if err := dk.valid(); err != nil {
		return nil, err
	}
	if off < 0 || n < 0 || off+n > size {
		return nil, fmt.Errorf("sse: range %d+%d outside %d bytes", off, n, size)
	}
	if len(blob) < HeaderSize {
		return nil, ErrCorrupt
	}
	if err := checkHeader(blob[:HeaderSize], len(dk.Layers)); err != nil {
		return nil, err
	}
	return newBlobCipher(dk, blob[:HeaderSize])
}

// segmentOf returns sealed segment i of an in-memory blob whose plaintext
// is size bytes, and whether it is the final segment. Errors: ErrCorrupt
// (the blob is too short).
func (c *blobCipher) segmentOf(blob []byte, size, i int64) ([]byte, bool, error) {
	final := segments(size) - 1
	start := HeaderSize + i*int64(SegmentSize+c.overhead)
	plain := int64(SegmentSize)
	if i == final {
		plain = size - final*SegmentSize
	}
	end := start + plain + int64(c.overhead)
	if end > int64(len(blob)) {
		return nil, false, ErrCorrupt
	}
	return blob[start:end], i == final, nil
}

// openTo appends the plaintext of sealed segment index to dst, leaving ct
// unchanged.
func (c *blobCipher) openTo(dst, ct []byte, index uint64, final bool) ([]byte, error) {
	n := nonce(index, final)
	var err error
	if len(c.aeads) == 2 {
		if c.scratch, err = c.aeads[1].Open(c.scratch[:0], n[:], ct, nil); err != nil {
			return nil, ErrCorrupt
		}
		ct = c.scratch
	}
	out, err := c.aeads[0].Open(dst, n[:], ct, nil)
	if err != nil {
		return nil, ErrCorrupt
	}
	return out, nil
}

// Reader decrypts a byte range of an encrypted blob, reading only the
// segments that overlap it.
type Reader struct {
	ra     io.ReaderAt
	c      *blobCipher
	last   uint64 // index of the final segment
	size   int64  // plaintext size of the whole blob
	next   uint64 // next segment to fetch
	skip   int    // plaintext bytes to drop from the next decrypted segment
	remain int64  // plaintext bytes still to deliver
	ct     []byte // fetched, not yet decrypted segments
	ctOff  int    // start of the next segment in ct
	pt     []byte // decrypted bytes not yet delivered
	err    error
}

// NewReader returns a reader of plaintext bytes [off, off+n) of the
// encrypted blob ra, whose whole plaintext is size bytes. It reads the
// header at once; authentication failures surface as ErrCorrupt.
func NewReader(ra io.ReaderAt, dk DataKey, size, off, n int64) (*Reader, error) {
	if err := dk.valid(); err != nil {
		return nil, err
	}
	if off < 0 || n < 0 || off+n > size {
		return nil, fmt.Errorf("sse: range %d+%d outside %d bytes", off, n, size)
	}
	h := make([]byte, HeaderSize)
	if err := readAt(ra, h, 0); err != nil {
		return nil, err
	}
	if err := checkHeader(h, len(dk.Layers)); err != nil {
		return nil, err
	}
	c, err := newBlobCipher(dk, h)
	if err != nil {
		return nil, err
	}
	return &Reader{
		ra: ra, c: c, last: uint64(segments(size) - 1), size: size,
		next: uint64(off / SegmentSize), skip: int(off % SegmentSize), remain: n,
	}, nil
}

// segmentLen is the plaintext length of segment i.
func (r *Reader) segmentLen(i uint64) int {
	if i < r.last {
		return SegmentSize
	}
	return int(r.size - int64(r.last)*SegmentSize)
}

// fill decrypts the next segment into r.pt, fetching a batch of segments
// when none is left over from the previous fetch.
func (r *Reader) fill() error {
	if r.ctOff >= len(r.ct) {
		if err := r.fetch(); err != nil {
			return err
		}
	}
	i := r.next
	sealed := r.segmentLen(i) + r.c.overhead
	seg := r.ct[r.ctOff : r.ctOff+sealed]
	r.ctOff += sealed
	pt, err := r.c.open(seg, i, i == r.last)
	if err != nil {
		return err
	}
	r.next++
	pt = pt[r.skip:]
	r.skip = 0
	if int64(len(pt)) > r.remain {
		pt = pt[:r.remain]
	}
	r.pt = pt
	return nil
}

// fetch reads the sealed segments from r.next on that the remaining range
// needs, up to a batch.
func (r *Reader) fetch() error {
	stride := int64(SegmentSize + r.c.overhead)
	first := r.next
	want := (int64(r.skip) + r.remain + SegmentSize - 1) / SegmentSize
	count := min(max(want, 1), batchSegments, int64(r.last-first)+1)
	start := HeaderSize + int64(first)*stride
	end := start + (count-1)*stride + int64(r.segmentLen(first+uint64(count)-1)+r.c.overhead)
	if cap(r.ct) < int(end-start) {
		if count > 1 {
			r.ct = getBatch()
		} else {
			r.ct = make([]byte, end-start)
		}
	}
	r.ct = r.ct[:end-start]
	r.ctOff = 0
	return readAt(r.ra, r.ct, start)
}

// readAt fills p from ra at off; content that ends early is corrupt.
func readAt(ra io.ReaderAt, p []byte, off int64) error {
	n, err := ra.ReadAt(p, off)
	switch {
	case n == len(p):
		return nil
	case err == nil || errors.Is(err, io.EOF):
		return ErrCorrupt
	}
	return err
}

// release hands a pooled batch buffer back once everything is delivered.
func (r *Reader) release() {
	if r.ct != nil && len(r.pt) == 0 {
		putBatch(r.ct)
		r.ct, r.ctOff = nil, 0
	}
}

// Read implements io.Reader.
func (r *Reader) Read(p []byte) (int, error) {
	for len(r.pt) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		if r.remain <= 0 {
			r.release()
			return 0, io.EOF
		}
		if err := r.fill(); err != nil {
			r.err = err
			return 0, err
		}
	}
	n := copy(p, r.pt)
	r.pt = r.pt[n:]
	r.remain -= int64(n)
	return n, nil
}

// WriteTo implements io.WriterTo, handing each decrypted segment to w
// without another copy.
func (r *Reader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		if len(r.pt) > 0 {
			n, err := w.Write(r.pt)
			total += int64(n)
			r.pt = r.pt[n:]
			r.remain -= int64(n)
			if err != nil {
				return total, err
			}
			continue
		}
		if r.err != nil {
			return total, r.err
		}
		if r.remain <= 0 {
			r.release()
			return total, nil
		}
		if err := r.fill(); err != nil {
			r.err = err
			return total, err
		}
	}
}
