package checksum

import (
	"crypto/md5"
	"hash"
	"sync"
	"sync/atomic"

	md5simd "github.com/minio/md5-simd"
)

// MD5Lanes computes the MD5 of several large streams at once on one core,
// with the CPU's vector instructions: AVX-512 hashes 16 independent streams
// in about the time crypto/md5 hashes one (AVX2: 8), which is what a
// multipart upload's parts in flight need. One stream alone is about half
// as fast in a lane as with crypto/md5, and two are hashed one after the
// other, so a stream gets a lane only when enough others are being hashed
// beside it (see Acquire). Without AVX2 the lanes are crypto/md5. An
// MD5Lanes is safe for concurrent use.
type MD5Lanes struct {
	active atomic.Int64
	once   sync.Once
	srv    md5simd.Server
}

// NewMD5Lanes returns lanes. Their vector hashing goroutine starts with
// the first stream that takes a lane.
func NewMD5Lanes() *MD5Lanes { return &MD5Lanes{} }

// Acquire counts one more large stream and returns the MD5 hash it should
// use: a lane if, with it, at least min large streams are being hashed,
// else crypto/md5; lane tells which. The stream calls release once it has
// its digest; after release the hash must not be used.
func (l *MD5Lanes) Acquire(min int) (h hash.Hash, lane bool, release func()) {
	if l == nil {
		return md5.New(), false, func() {}
	}
	if l.active.Add(1) < int64(min) {
		return md5.New(), false, func() { l.active.Add(-1) }
	}
	l.once.Do(func() { l.srv = md5simd.NewServer() })
	hasher := l.srv.NewHash()
	return hasher, true, func() {
		hasher.Close()
		l.active.Add(-1)
	}
}

// Close stops the vector hashing goroutine, if it started. No stream may
// be using a lane.
func (l *MD5Lanes) Close() {
	if l == nil {
		return
	}
	l.once.Do(func() {})
	if l.srv != nil {
		l.srv.Close()
	}
}

// UseLanes makes the MultiHasher compute its MD5 with a hash from l (see
// MD5Lanes.Acquire, with min) and reports whether that is a lane. It must
// be called before anything is written. The returned done must be called
// once every byte is written and before the MD5 is read: it takes the
// digest, gives the lane back and keeps the digest for MD5 and Sum.
// Nothing may be written after done.
func (m *MultiHasher) UseLanes(l *MD5Lanes, min int) (done func(), inLane bool) {
	if m.n != 0 {
		panic("checksum: UseLanes after Write")
	}
	h, inLane, release := l.Acquire(min)
	m.swapMD5(h)
	return func() {
		m.swapMD5(&digest{h.Sum(nil)})
		release()
	}, inLane
}

// swapMD5 replaces the MD5 hash, also where it serves as the MD5
// additional checksum.
func (m *MultiHasher) swapMD5(h hash.Hash) {
	for i, x := range m.hashes {
		if x == m.md5 {
			m.hashes[i] = h
		}
	}
	m.md5 = h
}

// digest is a finished MD5: Sum returns it, and writing is a bug.
type digest struct{ sum []byte }

func (d *digest) Write([]byte) (int, error) { panic("checksum: MD5 written after done") }
func (d *digest) Sum(b []byte) []byte       { return append(b, d.sum...) }
func (d *digest) Reset()                    { panic("checksum: MD5 reset after done") }
func (d *digest) Size() int                 { return md5.Size }
func (d *digest) BlockSize() int            { return md5.BlockSize }
