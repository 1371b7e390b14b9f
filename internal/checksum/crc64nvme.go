package checksum

import (
	"encoding/binary"
	"errors"
	"hash"
	"sync"
)

// crc64NVMEPoly is the CRC-64/NVME polynomial 0xad93d23594c93659 in the
// reflected (LSB-first) form hash/crc64 also uses. Like hash/crc64, the
// register starts at all ones and the result is inverted, which together with
// the reflection gives CRC-64/NVME: check value 0xae8b14860a799888.
const crc64NVMEPoly = 0x9a6c9329ac4bc9b5

// crc64NVMELaneShift sets the lane length of updateCRC64NVME: 2^11 bytes.
const (
	crc64NVMELaneShift = 11
	crc64NVMELane      = 1 << crc64NVMELaneShift
)

// crc64NVMETables holds the lookup tables of updateCRC64NVME.
type crc64NVMETables struct {
	// slicing[k][b] is the register contribution of byte b followed by k zero
	// bytes (slicing-by-16).
	slicing [16][256]uint64
	// shift[k][b] is the register with byte b in byte position k advanced
	// over crc64NVMELane zero bytes; XORing the eight lookups applies that
	// GF(2) operator to a whole register.
	shift [8][256]uint64
}

// crc64NVMETablesOnce builds the tables once; they are immutable afterwards.
//
// hash/crc64 computes this CRC correctly with MakeTable(crc64NVMEPoly), but
// only at about 1.3 GB/s: for polynomials other than ISO and ECMA it rebuilds
// a 16 KiB slicing-by-8 table on every Write of 2 KiB or more and goes byte by
// byte below that. CRC64NVME is the checksum S3 computes for every upload by
// default, so it is worth the 48 KiB of tables to be about twice as fast.
var crc64NVMETablesOnce = sync.OnceValue(func() *crc64NVMETables {
	t := new(crc64NVMETables)
	for i := range 256 {
		crc := uint64(i)
		for range 8 {
			if crc&1 == 1 {
				crc = crc>>1 ^ crc64NVMEPoly
			} else {
				crc >>= 1
			}
		}
		t.slicing[0][i] = crc
	}
	for i := range 256 {
		crc := t.slicing[0][i]
		for k := 1; k < len(t.slicing); k++ {
			crc = t.slicing[0][crc&0xff] ^ crc>>8
			t.slicing[k][i] = crc
		}
	}
	op := &crc64NVMECombiner().zeros[crc64NVMELaneShift]
	for k := range t.shift {
		for i := range 256 {
			t.shift[k][i] = op.times(uint64(i) << (8 * k))
		}
	}
	return t
})

// step16 advances register crc over 16 bytes whose little-endian halves are
// lo (already XORed with crc) and hi.
func (t *crc64NVMETables) step16(lo, hi uint64) uint64 {
	s := &t.slicing
	return s[15][lo&0xff] ^ s[14][lo>>8&0xff] ^ s[13][lo>>16&0xff] ^ s[12][lo>>24&0xff] ^
		s[11][lo>>32&0xff] ^ s[10][lo>>40&0xff] ^ s[9][lo>>48&0xff] ^ s[8][lo>>56] ^
		s[7][hi&0xff] ^ s[6][hi>>8&0xff] ^ s[5][hi>>16&0xff] ^ s[4][hi>>24&0xff] ^
		s[3][hi>>32&0xff] ^ s[2][hi>>40&0xff] ^ s[1][hi>>48&0xff] ^ s[0][hi>>56]
}

// shiftLane advances register crc over crc64NVMELane zero bytes.
func (t *crc64NVMETables) shiftLane(crc uint64) uint64 {
	s := &t.shift
	return s[0][crc&0xff] ^ s[1][crc>>8&0xff] ^ s[2][crc>>16&0xff] ^ s[3][crc>>24&0xff] ^
		s[4][crc>>32&0xff] ^ s[5][crc>>40&0xff] ^ s[6][crc>>48&0xff] ^ s[7][crc>>56]
}

// updateCRC64NVME returns the CRC-64/NVME of the data whose CRC is crc
// followed by p.
//
// Table-driven CRCs are bound by the latency of the chain of lookups through
// the register, so blocks of two lanes are processed as two independent
// chains: the first continues from crc, the second starts from a zero
// register, and the first is then shifted over the second's length and XORed
// in (the register is linear, as in Combine).
func updateCRC64NVME(crc uint64, t *crc64NVMETables, p []byte) uint64 {
	le := binary.LittleEndian
	crc = ^crc
	for len(p) >= 2*crc64NVMELane {
		ra, rb := crc, uint64(0)
		a, b := p[:crc64NVMELane], p[crc64NVMELane:2*crc64NVMELane]
		for ; len(a) >= 16 && len(b) >= 16; a, b = a[16:], b[16:] {
			ra = t.step16(ra^le.Uint64(a), le.Uint64(a[8:]))
			rb = t.step16(rb^le.Uint64(b), le.Uint64(b[8:]))
		}
		crc = t.shiftLane(ra) ^ rb
		p = p[2*crc64NVMELane:]
	}
	for len(p) >= 16 {
		crc = t.step16(crc^le.Uint64(p), le.Uint64(p[8:]))
		p = p[16:]
	}
	for _, b := range p {
		crc = t.slicing[0][byte(crc)^b] ^ crc>>8
	}
	return ^crc
}

// crc64NVME is a hash.Hash64 computing CRC-64/NVME.
type crc64NVME struct {
	crc uint64
	tab *crc64NVMETables
}

var (
	_ hash.Hash64 = (*crc64NVME)(nil)
	_ hash.Cloner = (*crc64NVME)(nil)
)

func newCRC64NVME() *crc64NVME { return &crc64NVME{tab: crc64NVMETablesOnce()} }

func (d *crc64NVME) Size() int      { return 8 }
func (d *crc64NVME) BlockSize() int { return 1 }
func (d *crc64NVME) Reset()         { d.crc = 0 }
func (d *crc64NVME) Sum64() uint64  { return d.crc }

func (d *crc64NVME) Write(p []byte) (int, error) {
	d.crc = updateCRC64NVME(d.crc, d.tab, p)
	return len(p), nil
}

func (d *crc64NVME) Sum(in []byte) []byte {
	return binary.BigEndian.AppendUint64(in, d.crc)
}

func (d *crc64NVME) Clone() (hash.Cloner, error) {
	c := *d
	return &c, nil
}

// crc64NVMEMagic prefixes the marshaled state, so that state from another
// hash is rejected.
const crc64NVMEMagic = "crc64nvme\x01"

// AppendBinary appends the hash state to b, as the standard library hashes do.
func (d *crc64NVME) AppendBinary(b []byte) ([]byte, error) {
	b = append(b, crc64NVMEMagic...)
	return binary.BigEndian.AppendUint64(b, d.crc), nil
}

// MarshalBinary returns the hash state, to be restored by UnmarshalBinary.
func (d *crc64NVME) MarshalBinary() ([]byte, error) {
	return d.AppendBinary(make([]byte, 0, len(crc64NVMEMagic)+8))
}

// UnmarshalBinary restores state produced by MarshalBinary.
func (d *crc64NVME) UnmarshalBinary(b []byte) error {
	if len(b) != len(crc64NVMEMagic)+8 || string(b[:len(crc64NVMEMagic)]) != crc64NVMEMagic {
		return errors.New("checksum: invalid CRC64NVME hash state")
	}
	d.crc = binary.BigEndian.Uint64(b[len(crc64NVMEMagic):])
	return nil
}
