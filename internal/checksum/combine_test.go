package checksum

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
)

var crcAlgorithms = []Algorithm{CRC32, CRC32C, CRC64NVME}

// randomBytes returns n pseudo-random bytes from rng.
func randomBytes(tb testing.TB, rng *rand.Rand, n int) []byte {
	tb.Helper()
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// Combine(crc(A), crc(B), len(B)) == crc(A‖B) for random data split at random
// points, including empty halves.
func TestCombineProperty(t *testing.T) {
	for _, alg := range crcAlgorithms {
		t.Run(string(alg), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(42, uint64(len(alg))))
			for i := range 300 {
				n := rng.IntN(4096)
				if i%10 == 0 {
					n = rng.IntN(4) // many tiny and empty inputs
				}
				data := randomBytes(t, rng, n)
				split := rng.IntN(n + 1)
				switch i % 7 {
				case 0:
					split = 0
				case 1:
					split = n
				}
				a, b := data[:split], data[split:]
				got, err := Combine(alg, alg.Sum(a), alg.Sum(b), int64(len(b)))
				if err != nil {
					t.Fatal(err)
				}
				if want := alg.Sum(data); !bytes.Equal(got, want) {
					t.Fatalf("len %d split %d: Combine = %x, want %x", n, split, got, want)
				}
			}
		})
	}
}

// CombineParts equals the CRC of the concatenation for 1..20 random parts,
// some of them empty.
func TestCombinePartsProperty(t *testing.T) {
	for _, alg := range crcAlgorithms {
		t.Run(string(alg), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(7, uint64(len(alg))))
			for nparts := 1; nparts <= 20; nparts++ {
				for range 5 {
					var whole []byte
					var parts []Part
					for range nparts {
						size := rng.IntN(3000)
						if rng.IntN(5) == 0 {
							size = 0
						}
						p := randomBytes(t, rng, size)
						whole = append(whole, p...)
						parts = append(parts, Part{Sum: alg.Sum(p), Size: int64(size)})
					}
					got, err := CombineParts(alg, parts)
					if err != nil {
						t.Fatal(err)
					}
					if want := alg.Sum(whole); !bytes.Equal(got, want) {
						t.Fatalf("%d parts, %d bytes: CombineParts = %x, want %x", nparts, len(whole), got, want)
					}
				}
			}
		})
	}
}

// Parts far larger than tests can hash: combining is associative, which
// exercises the high zero-run operators.
func TestCombineAssociativeLargeLengths(t *testing.T) {
	for _, alg := range crcAlgorithms {
		t.Run(string(alg), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(9, 9))
			for range 50 {
				a, b, c := randomBytes(t, rng, alg.Size()), randomBytes(t, rng, alg.Size()), randomBytes(t, rng, alg.Size())
				nb, nc := rng.Int64N(1<<61), rng.Int64N(1<<61)
				ab, err := Combine(alg, a, b, nb)
				if err != nil {
					t.Fatal(err)
				}
				left, err := Combine(alg, ab, c, nc)
				if err != nil {
					t.Fatal(err)
				}
				bc, err := Combine(alg, b, c, nc)
				if err != nil {
					t.Fatal(err)
				}
				right, err := Combine(alg, a, bc, nb+nc)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(left, right) {
					t.Fatalf("(a·b)·c = %x, a·(b·c) = %x for lengths %d, %d", left, right, nb, nc)
				}
			}
		})
	}
}

// A 5 MiB part shifted by a real zero run: crc(A‖zeros) computed directly.
func TestCombineMebibytes(t *testing.T) {
	for _, alg := range crcAlgorithms {
		t.Run(string(alg), func(t *testing.T) {
			a := []byte("prefix")
			zeros := make([]byte, 5<<20+3)
			got, err := Combine(alg, alg.Sum(a), alg.Sum(zeros), int64(len(zeros)))
			if err != nil {
				t.Fatal(err)
			}
			if want := alg.Sum(append(a, zeros...)); !bytes.Equal(got, want) {
				t.Errorf("Combine = %x, want %x", got, want)
			}
		})
	}
}

func TestCombinePartsEmpty(t *testing.T) {
	for _, alg := range crcAlgorithms {
		got, err := CombineParts(alg, nil)
		if err != nil {
			t.Fatal(err)
		}
		if want := alg.Sum(nil); !bytes.Equal(got, want) {
			t.Errorf("%s: CombineParts(nil) = %x, want %x", alg, got, want)
		}
	}
}

func TestCombineErrors(t *testing.T) {
	crc32 := CRC32.Sum(nil)
	tests := []struct {
		name       string
		alg        Algorithm
		crcA, crcB []byte
		lenB       int64
		wantErr    error
	}{
		{"sha256", SHA256, SHA256.Sum(nil), SHA256.Sum(nil), 0, ErrNotCombinable},
		{"sha1", SHA1, SHA1.Sum(nil), SHA1.Sum(nil), 0, ErrNotCombinable},
		{"unknown", "BLAKE3", crc32, crc32, 0, ErrUnknownAlgorithm},
		{"xxhash64", XXHASH64, XXHASH64.Sum(nil), XXHASH64.Sum(nil), 0, ErrNotCombinable},
		{"md5", MD5, MD5.Sum(nil), MD5.Sum(nil), 0, ErrNotCombinable},
		{"short a", CRC32, crc32[:3], crc32, 0, ErrInvalidDigest},
		{"crc32 as crc64nvme", CRC64NVME, crc32, CRC64NVME.Sum(nil), 0, ErrInvalidDigest},
		{"negative length", CRC32C, crc32, crc32, -1, ErrInvalidDigest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Combine(tt.alg, tt.crcA, tt.crcB, tt.lenB); !errors.Is(err, tt.wantErr) {
				t.Errorf("Combine error = %v, want %v", err, tt.wantErr)
			}
		})
	}

	if _, err := CombineParts(CRC32, []Part{{Sum: crc32, Size: 1}, {Sum: crc32[:2], Size: 1}}); !errors.Is(err, ErrInvalidDigest) {
		t.Errorf("CombineParts with a short digest: error = %v, want ErrInvalidDigest", err)
	}
	if _, err := CombineParts(CRC32, []Part{{Sum: crc32, Size: -5}}); !errors.Is(err, ErrInvalidDigest) {
		t.Errorf("CombineParts with a negative size: error = %v, want ErrInvalidDigest", err)
	}
	if _, err := CombineParts(SHA256, nil); !errors.Is(err, ErrNotCombinable) {
		t.Errorf("CombineParts(SHA256): error = %v, want ErrNotCombinable", err)
	}
}

func BenchmarkCombineParts10000(b *testing.B) {
	for _, alg := range crcAlgorithms {
		b.Run(string(alg), func(b *testing.B) {
			parts := make([]Part, 10000)
			for i := range parts {
				parts[i] = Part{Sum: alg.Sum([]byte{byte(i)}), Size: 5<<20 + int64(i)}
			}
			for b.Loop() {
				if _, err := CombineParts(alg, parts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
