// Package checksum implements the additional checksum algorithms of Amazon S3
// (CRC32, CRC32C, CRC64NVME, SHA1, SHA256, SHA512, MD5, XXHASH64, XXHASH3 and
// XXHASH128): hashing, the base64 wire form of digests, the rules that tie
// algorithms to multipart checksum types, the "checksum of checksums" S3
// reports for COMPOSITE multipart objects, and the CRC combination that
// yields a FULL_OBJECT checksum from part checksums without rereading data.
//
// Digests are handled as raw bytes in the order hash.Hash.Sum produces them
// (big-endian for the CRCs and the xxHashes), which is the order S3
// base64-encodes them in.
//
// Besides the standard library the package uses github.com/cespare/xxhash/v2
// (XXH64) and github.com/zeebo/xxh3 (XXH3-64, XXH3-128). It holds no mutable
// state; the lookup tables it builds lazily are immutable once built.
package checksum

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"strings"
)

// Algorithm names an S3 additional checksum algorithm as it appears in
// x-amz-checksum-algorithm and x-amz-sdk-checksum-algorithm.
type Algorithm string

// The algorithms S3 supports. The last five were added to S3 in 2025.
const (
	CRC32     Algorithm = "CRC32"
	CRC32C    Algorithm = "CRC32C"
	CRC64NVME Algorithm = "CRC64NVME"
	SHA1      Algorithm = "SHA1"
	SHA256    Algorithm = "SHA256"
	SHA512    Algorithm = "SHA512"
	MD5       Algorithm = "MD5"
	XXHASH64  Algorithm = "XXHASH64"
	XXHASH3   Algorithm = "XXHASH3"
	XXHASH128 Algorithm = "XXHASH128"
)

// UnknownAlgorithmMessage is the message S3 returns (InvalidRequest) for an
// algorithm name outside the enumeration: every supported name, sorted. (The
// ten-name list is versitygw's; unverified against AWS.)
const UnknownAlgorithmMessage = "Checksum algorithm provided is unsupported. Please try again with any of the valid types: " +
	"[CRC32, CRC32C, CRC64NVME, MD5, SHA1, SHA256, SHA512, XXHASH128, XXHASH3, XXHASH64]"

// Errors returned by this package. Callers map them to S3 error codes
// (typically InvalidRequest or InvalidDigest); they carry no HTTP meaning here.
var (
	// ErrUnknownAlgorithm means the algorithm name is not one S3 supports.
	ErrUnknownAlgorithm = errors.New("checksum: unknown algorithm")
	// ErrInvalidDigest means a digest is not valid base64 or has the wrong
	// length for its algorithm.
	ErrInvalidDigest = errors.New("checksum: invalid digest")
	// ErrNotCombinable means the algorithm is not a CRC, so part checksums
	// cannot be combined into a full-object checksum.
	ErrNotCombinable = errors.New("checksum: algorithm cannot be combined")
)

// Algorithms returns every supported algorithm, in a fixed order.
func Algorithms() []Algorithm {
	return []Algorithm{CRC32, CRC32C, CRC64NVME, SHA1, SHA256, SHA512, MD5, XXHASH64, XXHASH3, XXHASH128}
}

// ParseAlgorithm returns the algorithm named by s, ignoring case. It returns
// an error wrapping ErrUnknownAlgorithm for any other name, including "".
func ParseAlgorithm(s string) (Algorithm, error) {
	a := Algorithm(strings.ToUpper(s))
	if !a.Valid() {
		return "", fmt.Errorf("%w: %q", ErrUnknownAlgorithm, s)
	}
	return a, nil
}

// spec is what this package knows about one algorithm.
type spec struct {
	// size is the length of the raw digest in bytes.
	size int
	new  func() hash.Hash
	// crc marks the CRCs: their part checksums combine into a whole-object
	// checksum, so they can be FULL_OBJECT on a multipart upload.
	crc bool
	// composite means the algorithm can be COMPOSITE on a multipart upload.
	composite bool
}

// castagnoli is the CRC32C table. hash/crc32 caches it and, on CPUs with
// SSE4.2 or the ARMv8 CRC32 instructions, computes CRC32C in hardware.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// spec returns a's spec, and false if a is not one of the supported
// algorithms (exact case). The multipart rules are tabled at
// ValidateMultipart.
func (a Algorithm) spec() (spec, bool) {
	switch a {
	case CRC32:
		// hardware-accelerated (PCLMULQDQ) where available
		return spec{crc32.Size, func() hash.Hash { return crc32.NewIEEE() }, true, true}, true
	case CRC32C:
		return spec{crc32.Size, func() hash.Hash { return crc32.New(castagnoli) }, true, true}, true
	case CRC64NVME:
		return spec{8, func() hash.Hash { return newCRC64NVME() }, true, false}, true
	case SHA1:
		return spec{sha1.Size, sha1.New, false, true}, true
	case SHA256:
		return spec{sha256.Size, sha256.New, false, true}, true
	case SHA512:
		return spec{sha512.Size, sha512.New, false, true}, true
	case MD5:
		return spec{md5.Size, md5.New, false, true}, true
	case XXHASH64:
		return spec{8, newXXH64, false, true}, true
	case XXHASH3:
		return spec{8, newXXH3, false, true}, true
	case XXHASH128:
		return spec{16, newXXH128, false, true}, true
	}
	return spec{}, false
}

// Valid reports whether a is one of the supported algorithms (exact case).
func (a Algorithm) Valid() bool {
	_, ok := a.spec()
	return ok
}

// String returns the algorithm's S3 name.
func (a Algorithm) String() string { return string(a) }

// New returns a new hash computing a. Its Sum is the raw digest in the
// byte order S3 encodes. It panics if a is not Valid: callers obtain
// algorithms from ParseAlgorithm or the constants.
func (a Algorithm) New() hash.Hash {
	s, ok := a.spec()
	if !ok {
		panic(fmt.Sprintf("checksum: New of unknown algorithm %q", string(a)))
	}
	return s.new()
}

// HeaderName returns the lower-case HTTP header carrying a's digest, such as
// "x-amz-checksum-crc32". It returns "" if a is not Valid.
func (a Algorithm) HeaderName() string {
	if !a.Valid() {
		return ""
	}
	return "x-amz-checksum-" + strings.ToLower(string(a))
}

// Size returns the length in bytes of a's raw digest, or 0 if a is not Valid.
func (a Algorithm) Size() int {
	s, _ := a.spec()
	return s.size
}

// SupportsFullObject reports whether a can be used with the FULL_OBJECT
// checksum type on a multipart upload. Only the CRCs can, because only they
// can be combined across parts.
func (a Algorithm) SupportsFullObject() bool {
	s, _ := a.spec()
	return s.crc
}

// SupportsComposite reports whether a can be used with the COMPOSITE checksum
// type on a multipart upload. All algorithms can except CRC64NVME.
func (a Algorithm) SupportsComposite() bool {
	s, _ := a.spec()
	return s.composite
}

// Sum returns a's digest of p.
func (a Algorithm) Sum(p []byte) []byte {
	h := a.New()
	h.Write(p)
	return h.Sum(nil)
}

// Encode returns sum in the form S3 sends digests: standard base64 with
// padding.
func Encode(sum []byte) string {
	return base64.StdEncoding.EncodeToString(sum)
}

// Decode parses a base64 digest of algorithm a, as sent in an
// x-amz-checksum-* header. It returns an error wrapping ErrInvalidDigest if s
// is not canonical padded standard base64 or does not decode to a.Size()
// bytes, and one wrapping ErrUnknownAlgorithm if a is not Valid.
func Decode(a Algorithm, s string) ([]byte, error) {
	if !a.Valid() {
		return nil, fmt.Errorf("%w: %q", ErrUnknownAlgorithm, string(a))
	}
	if base64.StdEncoding.EncodedLen(a.Size()) != len(s) {
		return nil, fmt.Errorf("%w: %s digest %q has the wrong length", ErrInvalidDigest, a, s)
	}
	sum, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil || len(sum) != a.Size() {
		return nil, fmt.Errorf("%w: %s digest %q is not valid base64", ErrInvalidDigest, a, s)
	}
	return sum, nil
}
