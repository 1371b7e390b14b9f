// Package checksum implements the additional checksum algorithms of Amazon S3
// (CRC32, CRC32C, CRC64NVME, SHA1 and SHA256): hashing, the base64 wire form
// of digests, the rules that tie algorithms to multipart checksum types, the
// "checksum of checksums" S3 reports for COMPOSITE multipart objects, and the
// CRC combination that yields a FULL_OBJECT checksum from part checksums
// without rereading data.
//
// Digests are handled as raw bytes in the order hash.Hash.Sum produces them
// (big-endian for the CRCs), which is the order S3 base64-encodes them in.
//
// The package uses only the standard library and holds no mutable state; the
// lookup tables it builds lazily are immutable once built.
package checksum

import (
	"crypto/sha1"
	"crypto/sha256"
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

// The algorithms S3 supports.
const (
	CRC32     Algorithm = "CRC32"
	CRC32C    Algorithm = "CRC32C"
	CRC64NVME Algorithm = "CRC64NVME"
	SHA1      Algorithm = "SHA1"
	SHA256    Algorithm = "SHA256"
)

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
	return []Algorithm{CRC32, CRC32C, CRC64NVME, SHA1, SHA256}
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

// Valid reports whether a is one of the supported algorithms (exact case).
func (a Algorithm) Valid() bool {
	switch a {
	case CRC32, CRC32C, CRC64NVME, SHA1, SHA256:
		return true
	}
	return false
}

// String returns the algorithm's S3 name.
func (a Algorithm) String() string { return string(a) }

// castagnoli is the CRC32C table. hash/crc32 caches it and, on CPUs with
// SSE4.2 or the ARMv8 CRC32 instructions, computes CRC32C in hardware.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// New returns a new hash computing a. It panics if a is not Valid: callers
// obtain algorithms from ParseAlgorithm or the constants.
func (a Algorithm) New() hash.Hash {
	switch a {
	case CRC32:
		return crc32.NewIEEE() // hardware-accelerated (PCLMULQDQ) where available
	case CRC32C:
		return crc32.New(castagnoli)
	case CRC64NVME:
		return newCRC64NVME()
	case SHA1:
		return sha1.New()
	case SHA256:
		return sha256.New()
	}
	panic(fmt.Sprintf("checksum: New of unknown algorithm %q", string(a)))
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
	switch a {
	case CRC32, CRC32C:
		return crc32.Size
	case CRC64NVME:
		return 8
	case SHA1:
		return sha1.Size
	case SHA256:
		return sha256.Size
	}
	return 0
}

// SupportsFullObject reports whether a can be used with the FULL_OBJECT
// checksum type on a multipart upload. Only the CRCs can, because only they
// can be combined across parts.
func (a Algorithm) SupportsFullObject() bool {
	switch a {
	case CRC32, CRC32C, CRC64NVME:
		return true
	}
	return false
}

// SupportsComposite reports whether a can be used with the COMPOSITE checksum
// type on a multipart upload. All algorithms can except CRC64NVME.
func (a Algorithm) SupportsComposite() bool {
	switch a {
	case CRC32, CRC32C, SHA1, SHA256:
		return true
	}
	return false
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
