package checksum

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"sync"
)

// Combining CRCs
//
// Every CRC here is reflected, starts from an all-ones register and inverts
// its result. For such a CRC, with M the linear operator that feeds one zero
// bit through the register,
//
//	crc(A‖B) = M^(8·len(B)) · crc(A)  ⊕  crc(B)
//
// (the initial and final inversions cancel). This is the method of zlib's
// crc32_combine: M is a w×w matrix over GF(2), stored as w columns of w bits,
// and M^(8·n) is applied as the product of M^(8·2^k) for the bits k set in n.
// The 63 power-of-two operators are computed once per algorithm, so each
// combination costs at most 63 matrix-vector products of w×w bits, with no
// squaring on the hot path.

// gf2Matrix is a square matrix over GF(2) of up to 64×64 bits. Column i
// (m[i]) is the image of the unit vector with bit i set.
type gf2Matrix [64]uint64

// times returns m·vec.
func (m *gf2Matrix) times(vec uint64) uint64 {
	var sum uint64
	for vec != 0 {
		i := bits.TrailingZeros64(vec)
		sum ^= m[i]
		vec &= vec - 1
	}
	return sum
}

// square sets dst to src·src for a width-bit matrix.
func (dst *gf2Matrix) square(src *gf2Matrix, width int) {
	for i := range width {
		dst[i] = src.times(src[i])
	}
}

// crcCombiner shifts a CRC over runs of zero bytes.
type crcCombiner struct {
	width int
	// zeros[k] feeds 2^k zero bytes through the register.
	zeros [63]gf2Matrix
}

// newCRCCombiner builds the operators for a reflected CRC of the given width
// and reflected polynomial.
func newCRCCombiner(width int, poly uint64) *crcCombiner {
	c := &crcCombiner{width: width}
	// One zero bit: the register shifts right by one and, if the bit shifted
	// out was set, is XORed with the polynomial.
	var odd, even gf2Matrix
	odd[0] = poly
	for i := 1; i < width; i++ {
		odd[i] = 1 << (i - 1)
	}
	even.square(&odd, width)       // 2 zero bits
	odd.square(&even, width)       // 4 zero bits
	c.zeros[0].square(&odd, width) // 8 zero bits: one byte
	for k := 1; k < len(c.zeros); k++ {
		c.zeros[k].square(&c.zeros[k-1], width)
	}
	return c
}

// combine returns crc(A‖B) from crcA, crcB and len(B) >= 0.
func (c *crcCombiner) combine(crcA, crcB uint64, lenB int64) uint64 {
	for k := 0; lenB != 0; k++ {
		if lenB&1 != 0 {
			crcA = c.zeros[k].times(crcA)
		}
		lenB >>= 1
	}
	return crcA ^ crcB
}

var (
	crc32Combiner     = sync.OnceValue(func() *crcCombiner { return newCRCCombiner(32, 0xedb88320) })
	crc32CCombiner    = sync.OnceValue(func() *crcCombiner { return newCRCCombiner(32, 0x82f63b78) })
	crc64NVMECombiner = sync.OnceValue(func() *crcCombiner { return newCRCCombiner(64, crc64NVMEPoly) })
)

// combinerFor returns the combiner for a, or an error if a is not a CRC.
func combinerFor(a Algorithm) (*crcCombiner, error) {
	switch a {
	case CRC32:
		return crc32Combiner(), nil
	case CRC32C:
		return crc32CCombiner(), nil
	case CRC64NVME:
		return crc64NVMECombiner(), nil
	}
	if !a.Valid() {
		return nil, fmt.Errorf("%w: %q", ErrUnknownAlgorithm, string(a))
	}
	return nil, fmt.Errorf("%w: %s", ErrNotCombinable, a)
}

// value decodes a raw big-endian CRC digest of c's width.
func (c *crcCombiner) value(a Algorithm, sum []byte) (uint64, error) {
	if len(sum) != c.width/8 {
		return 0, fmt.Errorf("%w: %s digest is %d bytes, want %d", ErrInvalidDigest, a, len(sum), c.width/8)
	}
	if c.width == 32 {
		return uint64(binary.BigEndian.Uint32(sum)), nil
	}
	return binary.BigEndian.Uint64(sum), nil
}

// digest encodes v as a raw big-endian CRC digest of c's width.
func (c *crcCombiner) digest(v uint64) []byte {
	if c.width == 32 {
		return binary.BigEndian.AppendUint32(nil, uint32(v))
	}
	return binary.BigEndian.AppendUint64(nil, v)
}

// Combine returns the CRC of the concatenation A‖B given crcA = crc(A),
// crcB = crc(B) and lenB = len(B) in bytes, for CRC32, CRC32C and CRC64NVME.
// Digests are raw, as hash.Hash.Sum returns them. A may be empty (its CRC is
// all zeros), as may B.
//
// It returns an error wrapping ErrNotCombinable for the algorithms that are
// not CRCs, ErrUnknownAlgorithm for an invalid algorithm, and
// ErrInvalidDigest for a digest of the wrong length or a negative lenB.
func Combine(a Algorithm, crcA, crcB []byte, lenB int64) ([]byte, error) {
	c, err := combinerFor(a)
	if err != nil {
		return nil, err
	}
	if lenB < 0 {
		return nil, fmt.Errorf("%w: negative length %d", ErrInvalidDigest, lenB)
	}
	va, err := c.value(a, crcA)
	if err != nil {
		return nil, err
	}
	vb, err := c.value(a, crcB)
	if err != nil {
		return nil, err
	}
	return c.digest(c.combine(va, vb, lenB)), nil
}

// Part is the CRC and size of one part of an object.
type Part struct {
	// Sum is the part's raw CRC digest.
	Sum []byte
	// Size is the part's length in bytes.
	Size int64
}

// CombineParts returns the CRC of the concatenation of parts, in order: the
// FULL_OBJECT checksum of a multipart upload. With no parts it returns the CRC
// of no data. Errors are as for Combine; an error naming a part counts parts
// from 1.
func CombineParts(a Algorithm, parts []Part) ([]byte, error) {
	c, err := combinerFor(a)
	if err != nil {
		return nil, err
	}
	var crc uint64
	for i, p := range parts {
		if p.Size < 0 {
			return nil, fmt.Errorf("%w: part %d has negative size %d", ErrInvalidDigest, i+1, p.Size)
		}
		v, err := c.value(a, p.Sum)
		if err != nil {
			return nil, fmt.Errorf("part %d: %w", i+1, err)
		}
		crc = c.combine(crc, v, p.Size)
	}
	return c.digest(crc), nil
}
