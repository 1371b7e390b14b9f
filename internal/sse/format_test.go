package sse

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/md5"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
)

func mustKey(tb testing.TB, layers int) DataKey {
	tb.Helper()
	dk, err := NewDataKey(layers)
	if err != nil {
		tb.Fatal(err)
	}
	return dk
}

func randBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed+1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// encrypt writes pt through a Writer in chunks of chunk bytes.
func encrypt(tb testing.TB, dk DataKey, pt []byte, chunk int) []byte {
	tb.Helper()
	var out bytes.Buffer
	w, err := NewWriter(&out, dk)
	if err != nil {
		tb.Fatal(err)
	}
	for p := pt; len(p) > 0; {
		n := min(chunk, len(p))
		if _, err := w.Write(p[:n]); err != nil {
			tb.Fatal(err)
		}
		p = p[n:]
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return out.Bytes()
}

func readRange(dk DataKey, blob []byte, size, off, n int64) ([]byte, error) {
	r, err := NewReader(bytes.NewReader(blob), dk, size, off, n)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

func TestRoundTrip(t *testing.T) {
	const S = SegmentSize
	sizes := []int{0, 1, 100, S - 1, S, S + 1, 2 * S, 3*S + 5, 17*S + 3}
	chunks := []int{1 << 20, 4096, S, S + 1, 7}
	for _, layers := range []int{1, 2} {
		dk := mustKey(t, layers)
		for _, size := range sizes {
			pt := randBytes(size, uint64(size))
			for _, chunk := range chunks {
				if chunk == 7 && size > 2*S {
					continue // slow and adds nothing
				}
				blob := encrypt(t, dk, pt, chunk)
				if got, want := int64(len(blob)), EncryptedSize(int64(size), layers); got != want {
					t.Fatalf("layers %d size %d chunk %d: blob of %d bytes, EncryptedSize says %d", layers, size, chunk, got, want)
				}
				got, err := readRange(dk, blob, int64(size), 0, int64(size))
				if err != nil || !bytes.Equal(got, pt) {
					t.Fatalf("layers %d size %d chunk %d: round trip failed: %v", layers, size, chunk, err)
				}
			}
			sealed, err := Seal(dk, pt)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := Open(dk, sealed, int64(size), 0, int64(size)); err != nil || !bytes.Equal(got, pt) {
				t.Fatalf("layers %d size %d: Seal/Open failed: %v", layers, size, err)
			}
			for _, r := range [][2]int{{0, size}, {size / 3, size - size/3}, {size, size}} {
				got, err := OpenInPlace(dk, bytes.Clone(sealed), int64(size), int64(r[0]), int64(r[1]-r[0]))
				if err != nil || !bytes.Equal(got, pt[r[0]:r[1]]) {
					t.Fatalf("layers %d size %d: OpenInPlace [%d,%d) failed: %v", layers, size, r[0], r[1], err)
				}
			}
		}
	}
}

func TestRanges(t *testing.T) {
	const S = SegmentSize
	size := 5*S + 123
	pt := randBytes(size, 7)
	dk := mustKey(t, 1)
	blob := encrypt(t, dk, pt, 1<<20)
	tests := []struct {
		name   string
		off, n int
	}{
		{"first byte", 0, 1},
		{"last byte of first segment", S - 1, 1},
		{"first byte of second segment", S, 1},
		{"across one boundary", S - 10, 20},
		{"exactly one segment", S, S},
		{"across several boundaries", S/2 + 1, 3 * S},
		{"last segment", 5 * S, 123},
		{"last byte", size - 1, 1},
		{"ending at a boundary", 10, 2*S - 10},
		{"empty", 3 * S, 0},
		{"whole", 0, size},
		{"more than a batch", 1, size - 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readRange(dk, blob, int64(size), int64(tc.off), int64(tc.n))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, pt[tc.off:tc.off+tc.n]) {
				t.Fatalf("range [%d,+%d) differs", tc.off, tc.n)
			}
			// WriteTo must agree with Read.
			r, err := NewReader(bytes.NewReader(blob), dk, int64(size), int64(tc.off), int64(tc.n))
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if n, err := r.WriteTo(&buf); err != nil || n != int64(tc.n) || !bytes.Equal(buf.Bytes(), got) {
				t.Fatalf("WriteTo: %d bytes, %v", n, err)
			}
		})
	}
	if _, err := NewReader(bytes.NewReader(blob), dk, int64(size), int64(size-1), 2); err == nil {
		t.Fatal("range past the end accepted")
	}
}

// countingReaderAt records the byte ranges read.
type countingReaderAt struct {
	ra   io.ReaderAt
	read int64
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.ra.ReadAt(p, off)
	c.read += int64(n)
	return n, err
}

func TestRangeReadsOnlyItsSegments(t *testing.T) {
	const S = SegmentSize
	size := 40 * S
	dk := mustKey(t, 2)
	pt := randBytes(size, 3)
	blob := encrypt(t, dk, pt, 1<<20)
	cr := &countingReaderAt{ra: bytes.NewReader(blob)}
	r, err := NewReader(cr, dk, int64(size), 30*S+5, 10)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, pt[30*S+5:30*S+15]) {
		t.Fatalf("read %v", err)
	}
	if want := int64(HeaderSize + S + 2*TagSize); cr.read != want {
		t.Fatalf("read %d bytes of the blob for a 10-byte range, want %d (header and one segment)", cr.read, want)
	}
}

func TestTamper(t *testing.T) {
	const S = SegmentSize
	size := 3*S + 100
	pt := randBytes(size, 9)
	stride := S + TagSize
	tests := []struct {
		name string
		edit func([]byte) []byte
		// off/n: the range read; ok says whether it must still succeed
		// (ranges that avoid a damaged segment are unaffected).
		off, n int
		ok     bool
	}{
		{"flip a ciphertext bit", func(b []byte) []byte { b[HeaderSize+stride+10] ^= 1; return b }, S, 10, false},
		{"flip a tag bit", func(b []byte) []byte { b[HeaderSize+2*stride-1] ^= 0x80; return b }, S, S, false},
		{"other segments still read", func(b []byte) []byte { b[HeaderSize+stride+10] ^= 1; return b }, 2 * S, S + 100, true},
		{"flip a salt bit", func(b []byte) []byte { b[HeaderSize-1] ^= 1; return b }, 0, 1, false},
		{"change the magic", func(b []byte) []byte { b[0] = 'X'; return b }, 0, 1, false},
		{"swap two segments", func(b []byte) []byte {
			s0 := bytes.Clone(b[HeaderSize : HeaderSize+stride])
			copy(b[HeaderSize:], b[HeaderSize+stride:HeaderSize+2*stride])
			copy(b[HeaderSize+stride:], s0)
			return b
		}, 0, 10, false},
		{"truncate at a segment boundary", func(b []byte) []byte { return b[:HeaderSize+3*stride] }, 3 * S, 100, false},
		{"truncate inside the last segment", func(b []byte) []byte { return b[:len(b)-1] }, size - 1, 1, false},
		{"drop the final segment (reader told a shorter size)", func(b []byte) []byte { return b[:HeaderSize+3*stride] }, 0, 3 * S, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dk := mustKey(t, 1)
			blob := tc.edit(encrypt(t, dk, pt, 1<<20))
			readSize := int64(size)
			if tc.name == "drop the final segment (reader told a shorter size)" {
				readSize = 3 * S
			}
			got, err := readRange(dk, blob, readSize, int64(tc.off), int64(tc.n))
			if tc.ok {
				if err != nil || !bytes.Equal(got, pt[tc.off:tc.off+tc.n]) {
					t.Fatalf("undamaged range failed: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("err = %v, want ErrCorrupt", err)
			}
		})
	}
}

func TestWrongKeyAndLayers(t *testing.T) {
	pt := randBytes(1000, 1)
	dk := mustKey(t, 1)
	blob := encrypt(t, dk, pt, 1<<20)
	if _, err := readRange(mustKey(t, 1), blob, 1000, 0, 1000); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("other key: %v, want ErrCorrupt", err)
	}
	two := DataKey{Layers: [][]byte{dk.Layers[0], dk.Layers[0]}}
	if _, err := readRange(two, blob, 1000, 0, 1000); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("two layers over a one-layer blob: %v, want ErrCorrupt", err)
	}
	// Two blobs under one data key never share segment keys.
	a, b := encrypt(t, dk, pt, 1<<20), encrypt(t, dk, pt, 1<<20)
	if bytes.Equal(a[HeaderSize:], b[HeaderSize:]) {
		t.Fatal("same ciphertext for two blobs under one data key")
	}
}

func TestKEKAndCustomerKey(t *testing.T) {
	kek, err := NewKEK(randBytes(KeySize, 11))
	if err != nil {
		t.Fatal(err)
	}
	dk := mustKey(t, 1)
	sealed, err := kek.Seal(dk.Layers[0], []byte("ctx"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := kek.Open(sealed, []byte("ctx")); err != nil || !bytes.Equal(got, dk.Layers[0]) {
		t.Fatalf("Open: %v", err)
	}
	if _, err := kek.Open(sealed, []byte("other")); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("other aad: %v", err)
	}
	salt, _ := NewCustomerSalt()
	key := randBytes(KeySize, 12)
	ck, err := DeriveCustomerKey(key, salt)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := DeriveCustomerKey(key, salt)
	other, _ := DeriveCustomerKey(randBytes(KeySize, 13), salt)
	if !again.Matches(ck.Check) || other.Matches(ck.Check) {
		t.Fatal("customer key check does not tell keys apart")
	}
	sum := md5.Sum(pt4k)
	if ETag(dk, sum[:]) == ETag(mustKey(t, 1), sum[:]) || len(ETag(dk, sum[:])) != 32 {
		t.Fatal("ETag does not depend on the data key or is not 32 hex digits")
	}
}

var pt4k = randBytes(4096, 5)

// Benchmarks: the cost of encryption at rest on this machine. Run with
//
//	go test ./internal/sse -run '^$' -bench . -benchtime 2s
func benchWrite(b *testing.B, layers, size int) {
	dk := mustKey(b, layers)
	pt := randBytes(size, 1)
	b.SetBytes(int64(size))
	b.ResetTimer()
	for b.Loop() {
		w, _ := NewWriter(io.Discard, dk)
		for p := pt; len(p) > 0; {
			n := min(1<<20, len(p))
			w.Write(p[:n])
			p = p[n:]
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWrite64MiB(b *testing.B)           { benchWrite(b, 1, 64<<20) }
func BenchmarkWrite64MiBDualLayer(b *testing.B)  { benchWrite(b, 2, 64<<20) }
func BenchmarkWrite4KiB(b *testing.B)            { benchWrite(b, 1, 4<<10) }
func BenchmarkSeal4KiB(b *testing.B)             { benchSeal(b, 4<<10) }
func BenchmarkRead64MiB(b *testing.B)            { benchRead(b, 64<<20, 0, 64<<20) }
func BenchmarkReadRange4KiBOf64MiB(b *testing.B) { benchRead(b, 64<<20, 40<<20+100, 4<<10) }

func benchSeal(b *testing.B, size int) {
	dk := mustKey(b, 1)
	pt := randBytes(size, 1)
	b.SetBytes(int64(size))
	for b.Loop() {
		if _, err := Seal(dk, pt); err != nil {
			b.Fatal(err)
		}
	}
}

func benchRead(b *testing.B, size int, off, n int64) {
	dk := mustKey(b, 1)
	blob := encrypt(b, dk, randBytes(size, 1), 1<<20)
	b.SetBytes(n)
	b.ResetTimer()
	for b.Loop() {
		r, err := NewReader(bytes.NewReader(blob), dk, int64(size), off, n)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := r.WriteTo(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

// Raw primitives, for comparison: AES-256-GCM and AES-256-CTR over 64 KiB
// buffers, and MD5 (which every PUT computes for its ETag).
func BenchmarkPrimitiveGCM64KiB(b *testing.B) {
	block, _ := aes.NewCipher(randBytes(32, 1))
	aead, _ := cipher.NewGCM(block)
	pt := randBytes(SegmentSize, 2)
	out := make([]byte, 0, SegmentSize+TagSize)
	var n [12]byte
	b.SetBytes(SegmentSize)
	for b.Loop() {
		out = aead.Seal(out[:0], n[:], pt, nil)
	}
}

func BenchmarkPrimitiveCTR64KiB(b *testing.B) {
	block, _ := aes.NewCipher(randBytes(32, 1))
	pt := randBytes(SegmentSize, 2)
	out := make([]byte, SegmentSize)
	iv := make([]byte, 16)
	b.SetBytes(SegmentSize)
	for b.Loop() {
		cipher.NewCTR(block, iv).XORKeyStream(out, pt)
	}
}

func BenchmarkPrimitiveMD564KiB(b *testing.B) {
	pt := randBytes(SegmentSize, 2)
	b.SetBytes(SegmentSize)
	for b.Loop() {
		md5.Sum(pt)
	}
}
