package checksum

import (
	"hash"

	"github.com/cespare/xxhash/v2"
	"github.com/zeebo/xxh3"
)

// The xxHash digests S3 uses, with seed 0: XXHASH64 is XXH64, XXHASH3 is
// XXH3-64 and XXHASH128 is XXH3-128. S3 and the AWS SDKs (aws-c-checksums)
// send them in xxHash's canonical form, which is big-endian; for XXH3-128
// that is the high 64 bits followed by the low 64 bits. The Sum methods of
// both libraries produce exactly that form.
//
// The types below only add Clone, so that every hash of this package is a
// hash.Cloner like the standard library's. Each library's state is a plain
// value (XXH3's secret is a pointer to an immutable package table when the
// seed is 0), so copying it is a complete clone.

// xxh64 is a hash.Hash64 computing XXH64.
type xxh64 struct{ xxhash.Digest }

// xxh3x64 is a hash.Hash64 computing XXH3-64.
type xxh3x64 struct{ xxh3.Hasher }

// xxh3x128 is a hash.Hash computing XXH3-128.
type xxh3x128 struct{ xxh3.Hasher128 }

var (
	_ hash.Hash64 = (*xxh64)(nil)
	_ hash.Cloner = (*xxh64)(nil)
	_ hash.Hash64 = (*xxh3x64)(nil)
	_ hash.Cloner = (*xxh3x64)(nil)
	_ hash.Cloner = (*xxh3x128)(nil)
)

func newXXH64() hash.Hash {
	d := &xxh64{}
	d.Reset() // a zero xxhash.Digest is not ready for writes
	return d
}

func newXXH3() hash.Hash { return &xxh3x64{} }

func newXXH128() hash.Hash { return &xxh3x128{} }

func (d *xxh64) Clone() (hash.Cloner, error) {
	c := *d
	return &c, nil
}

func (d *xxh3x64) Clone() (hash.Cloner, error) {
	c := *d
	return &c, nil
}

func (d *xxh3x128) Clone() (hash.Cloner, error) {
	c := *d
	return &c, nil
}
