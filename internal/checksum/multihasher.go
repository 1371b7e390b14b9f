package checksum

import (
	"crypto/md5"
	"hash"
	"io"
)

// MultiHasher computes MD5 (for the ETag and Content-MD5) and any set of
// additional checksums over one stream in a single pass. It is an io.Writer
// whose Write never fails. A MultiHasher is not safe for concurrent use.
//
// MD5 dominates the cost: the CRCs run at several GB/s with hardware support
// (CRC32, CRC32C) or slicing-by-8 tables (CRC64NVME).
type MultiHasher struct {
	md5  hash.Hash
	algs []Algorithm
	// hashes[i] computes algs[i]; for MD5 it is md5 itself.
	hashes []hash.Hash
	// extra are the hashes other than md5, each written once.
	extra []hash.Hash
	n     int64
}

var _ io.Writer = (*MultiHasher)(nil)

// NewMultiHasher returns a MultiHasher computing MD5 and each of algs.
// Duplicates are computed once, and so is the MD5 additional checksum,
// which is the same digest as the ETag's. It panics if an algorithm is not
// Valid.
func NewMultiHasher(algs ...Algorithm) *MultiHasher {
	m := &MultiHasher{md5: md5.New()}
	for _, a := range algs {
		if m.Has(a) {
			continue
		}
		h := m.md5
		if a != MD5 {
			h = a.New()
			m.extra = append(m.extra, h)
		}
		m.algs = append(m.algs, a)
		m.hashes = append(m.hashes, h)
	}
	return m
}

// Write adds p to every hash. It always returns len(p), nil.
func (m *MultiHasher) Write(p []byte) (int, error) {
	m.md5.Write(p)
	for _, h := range m.extra {
		h.Write(p)
	}
	m.n += int64(len(p))
	return len(p), nil
}

// Halves returns two writers that together do what Write does: the first
// feeds MD5, the second every other checksum and the size. Each may be used
// by its own goroutine at the same time, so that MD5, the costliest, runs
// beside the rest; both must be given the same bytes in the same order, and
// Write must not be used meanwhile.
func (m *MultiHasher) Halves() (md5Part, rest io.Writer) {
	return m.md5, restWriter{m}
}

// restWriter is the non-MD5 half of a MultiHasher (see Halves).
type restWriter struct{ m *MultiHasher }

func (r restWriter) Write(p []byte) (int, error) {
	for _, h := range r.m.extra {
		h.Write(p)
	}
	r.m.n += int64(len(p))
	return len(p), nil
}

// MD5 returns the MD5 digest of the bytes written so far.
func (m *MultiHasher) MD5() []byte { return m.md5.Sum(nil) }

// Sum returns a's digest of the bytes written so far, or nil if the
// MultiHasher was not created with a.
func (m *MultiHasher) Sum(a Algorithm) []byte {
	for i, x := range m.algs {
		if x == a {
			return m.hashes[i].Sum(nil)
		}
	}
	return nil
}

// Has reports whether the MultiHasher computes a.
func (m *MultiHasher) Has(a Algorithm) bool {
	for _, x := range m.algs {
		if x == a {
			return true
		}
	}
	return false
}

// Algorithms returns the additional algorithms computed, in the order given
// to NewMultiHasher, without duplicates. MD5 is not included.
func (m *MultiHasher) Algorithms() []Algorithm {
	return append([]Algorithm(nil), m.algs...)
}

// Size returns the number of bytes written so far.
func (m *MultiHasher) Size() int64 { return m.n }

// Reset returns every hash to its initial state.
func (m *MultiHasher) Reset() {
	m.md5.Reset()
	for _, h := range m.extra {
		h.Reset()
	}
	m.n = 0
}
