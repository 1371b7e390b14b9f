package checksum

import (
	"bytes"
	"crypto/md5"
	"hash/crc64"
	"io"
	"math/rand/v2"
	"testing"
)

func TestMultiHasher(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	data := randomBytes(t, rng, 100_000)

	m := NewMultiHasher(CRC32, SHA256, CRC32, CRC64NVME)
	if _, err := io.CopyBuffer(m, bytes.NewReader(data), make([]byte, 4093)); err != nil {
		t.Fatal(err)
	}
	if m.Size() != int64(len(data)) {
		t.Errorf("Size() = %d, want %d", m.Size(), len(data))
	}
	if want := md5.Sum(data); !bytes.Equal(m.MD5(), want[:]) {
		t.Errorf("MD5() = %x, want %x", m.MD5(), want)
	}
	for _, alg := range Algorithms() {
		got := m.Sum(alg)
		switch alg {
		case CRC32, SHA256, CRC64NVME:
			if want := alg.Sum(data); !bytes.Equal(got, want) {
				t.Errorf("Sum(%s) = %x, want %x", alg, got, want)
			}
			if !m.Has(alg) {
				t.Errorf("Has(%s) = false", alg)
			}
		default:
			if got != nil || m.Has(alg) {
				t.Errorf("Sum(%s) = %x, Has = %v for an algorithm not requested", alg, got, m.Has(alg))
			}
		}
	}
	if got := m.Algorithms(); len(got) != 3 || got[0] != CRC32 || got[1] != SHA256 || got[2] != CRC64NVME {
		t.Errorf("Algorithms() = %v, want [CRC32 SHA256 CRC64NVME]", got)
	}

	m.Reset()
	m.Write([]byte("123456789"))
	if got := Encode(m.Sum(CRC64NVME)); got != Encode(CRC64NVME.Sum([]byte("123456789"))) {
		t.Errorf("after Reset, Sum(CRC64NVME) = %s", got)
	}
	if m.Size() != 9 {
		t.Errorf("after Reset, Size() = %d, want 9", m.Size())
	}
}

func TestMultiHasherMD5Only(t *testing.T) {
	m := NewMultiHasher()
	m.Write([]byte("hello world"))
	if got := Encode(m.MD5()); got != "XrY7u+Ae7tCTyyK7j1rNww==" {
		t.Errorf("MD5 = %s, want XrY7u+Ae7tCTyyK7j1rNww==", got)
	}
	if len(m.Algorithms()) != 0 {
		t.Errorf("Algorithms() = %v, want none", m.Algorithms())
	}
}

// benchChunk is the write size of io.Copy, the usual way bodies reach a
// MultiHasher.
const benchChunk = 32 << 10

func benchmarkWrites(b *testing.B, w io.Writer) {
	b.Helper()
	buf := make([]byte, benchChunk)
	for i := range buf {
		buf[i] = byte(i * 7)
	}
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		w.Write(buf)
	}
}

// BenchmarkMultiHasher reports throughput (MB/s) for one pass of MD5 plus the
// named algorithms, written in 32 KiB chunks.
func BenchmarkMultiHasher(b *testing.B) {
	tests := []struct {
		name string
		algs []Algorithm
	}{
		{"MD5", nil},
		{"MD5+CRC32", []Algorithm{CRC32}},
		{"MD5+CRC32C", []Algorithm{CRC32C}},
		{"MD5+CRC64NVME", []Algorithm{CRC64NVME}},
		{"MD5+SHA256", []Algorithm{SHA256}},
		{"MD5+CRC32+CRC64NVME", []Algorithm{CRC32, CRC64NVME}},
		{"MD5+XXHASH3", []Algorithm{XXHASH3}},
		{"MD5+SHA512", []Algorithm{SHA512}},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			benchmarkWrites(b, NewMultiHasher(tt.algs...))
		})
	}
}

// BenchmarkAlgorithm reports each algorithm's throughput alone (MD5 among
// them), and that of hash/crc64 with the NVME polynomial for comparison with
// this package's CRC64NVME digest.
func BenchmarkAlgorithm(b *testing.B) {
	for _, alg := range Algorithms() {
		b.Run(string(alg), func(b *testing.B) { benchmarkWrites(b, alg.New()) })
	}
	b.Run("stdlib-crc64-NVME", func(b *testing.B) {
		benchmarkWrites(b, crc64.New(crc64.MakeTable(crc64NVMEPoly)))
	})
}

// The MD5 additional checksum is the MD5 the MultiHasher computes anyway:
// computed once, and equal to MD5().
func TestMultiHasherAdditionalMD5(t *testing.T) {
	m := NewMultiHasher(MD5, XXHASH128, MD5)
	for range 3 {
		m.Write([]byte("hello "))
	}
	want := md5.Sum([]byte("hello hello hello "))
	if !bytes.Equal(m.Sum(MD5), want[:]) || !bytes.Equal(m.MD5(), want[:]) {
		t.Errorf("Sum(MD5) = %x, MD5() = %x, want %x", m.Sum(MD5), m.MD5(), want)
	}
	if got, want := m.Sum(XXHASH128), XXHASH128.Sum([]byte("hello hello hello ")); !bytes.Equal(got, want) {
		t.Errorf("Sum(XXHASH128) = %x, want %x", got, want)
	}
	if got := m.Algorithms(); len(got) != 2 || got[0] != MD5 || got[1] != XXHASH128 {
		t.Errorf("Algorithms() = %v, want [MD5 XXHASH128]", got)
	}
	m.Reset()
	if want := md5.Sum(nil); !bytes.Equal(m.Sum(MD5), want[:]) {
		t.Errorf("after Reset, Sum(MD5) = %x, want %x", m.Sum(MD5), want)
	}
}

// TestMultiHasherHalves feeds the two halves from two goroutines at once
// (run with -race) and checks every digest and the size, also when MD5 is
// one of the requested algorithms.
func TestMultiHasherHalves(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	data := randomBytes(t, rng, 300_000)
	for _, algs := range [][]Algorithm{{CRC64NVME}, {MD5, CRC32C}, {SHA256, CRC32}} {
		m := NewMultiHasher(algs...)
		md5Part, rest := m.Halves()
		done := make(chan struct{})
		go func() {
			defer close(done)
			io.CopyBuffer(md5Part, bytes.NewReader(data), make([]byte, 7919))
		}()
		io.CopyBuffer(rest, bytes.NewReader(data), make([]byte, 1<<16))
		<-done
		if m.Size() != int64(len(data)) {
			t.Errorf("%v: Size() = %d, want %d", algs, m.Size(), len(data))
		}
		if want := md5.Sum(data); !bytes.Equal(m.MD5(), want[:]) {
			t.Errorf("%v: MD5() = %x, want %x", algs, m.MD5(), want)
		}
		for _, alg := range algs {
			if got, want := m.Sum(alg), alg.Sum(data); !bytes.Equal(got, want) {
				t.Errorf("%v: Sum(%s) = %x, want %x", algs, alg, got, want)
			}
		}
	}
}
