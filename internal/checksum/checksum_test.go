package checksum

import (
	"bytes"
	"encoding"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash"
	"hash/crc64"
	"math/rand/v2"
	"testing"
)

// Check values from the CRC catalogue (reveng) and FIPS 180 test data.
func TestCheckValues(t *testing.T) {
	tests := []struct {
		alg  Algorithm
		want string // hex
	}{
		{CRC32, "cbf43926"},
		{CRC32C, "e3069283"},
		{CRC64NVME, "ae8b14860a799888"},
		{SHA1, "f7c3bc1d808e04732adf679965ccc34ca7ae3441"},
		{SHA256, "15e2b0d3c33891ebb0f1ef609ec419420c20e320ce94c65fbc8c3312448eb225"},
		{SHA512, "d9e6762dd1c8eaf6d61b3c6192fc408d4d6d5f1176d0c29169bc24e71c3f274ad27fcd5811b313d681f7e55ec02d73d499c95455b6b5bb503acf574fba8ffe85"},
		{MD5, "25f9e794323b453885f5181f1b624d0b"},
		// xxHash's canonical (big-endian) form, as libxxhash 0.8
		// (XXH64_canonicalFromHash, XXH128_canonicalFromHash) gives it.
		{XXHASH64, "8cb841db40e6ae83"},
		{XXHASH3, "72dcb18b67a17dff"},
		{XXHASH128, "33119477ede5dcd5e9716427681d5860"},
	}
	for _, tt := range tests {
		t.Run(string(tt.alg), func(t *testing.T) {
			got := hex.EncodeToString(tt.alg.Sum([]byte("123456789")))
			if got != tt.want {
				t.Errorf("%s(123456789) = %s, want %s", tt.alg, got, tt.want)
			}
		})
	}
}

// Base64 digests as S3 and the AWS SDKs send them (the "hello world" values
// are those in aws-sdk-go-v2's checksum tests).
func TestWireVectors(t *testing.T) {
	tests := []struct {
		alg  Algorithm
		data string
		want string
	}{
		{CRC32, "", "AAAAAA=="},
		{CRC32C, "", "AAAAAA=="},
		{CRC64NVME, "", "AAAAAAAAAAA="},
		{SHA1, "", "2jmj7l5rSw0yVb/vlWAYkK/YBwk="},
		{SHA256, "", "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="},
		{CRC32, "hello world", "DUoRhQ=="},
		{CRC32C, "hello world", "yZRlqg=="},
		{CRC64NVME, "hello world", "jSnVw/bqjr4="},
		{SHA1, "hello world", "Kq5sNclPz7QV2+lfQIuc6R7oRu0="},
		{SHA256, "hello world", "uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek="},
		{CRC32, "Hello world", "i9aeUg=="},
		{SHA512, "", "z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg=="},
		{MD5, "", "1B2M2Y8AsgTpgAmY7PhCfg=="},
		{XXHASH64, "", "70bbN1HY6Zk="},              // 0xef46db3751d8e999
		{XXHASH3, "", "LQaABTjTlMI="},               // 0x2d06800538d394c2
		{XXHASH128, "", "maoG0wFHmNhgAcMkRo1Jfw=="}, // 0x99aa06d3014798d86001c324468d497f
		{SHA512, "hello world", "MJ7MSJwS1utMxA9QyQLytNDtd+5RGnx6m808qG1M2G+YndNbxf9JlnDaNCVbRbDP2DDoH2Bdz33FVC6TrpzXbw=="},
		{MD5, "hello world", "XrY7u+Ae7tCTyyK7j1rNww=="},
		// The AWS common runtime's vectors (aws-c-checksums
		// tests/xxhash_test.c), whose digests the SDKs send as they are.
		{XXHASH64, "Hello world", "xQCwyRKzdtg="},                             // c5 00 b0 c9 12 b3 76 d8
		{XXHASH3, "Hello world", "tqy52Eo4/3Q="},                              // b6 ac b9 d8 4a 38 ff 74
		{XXHASH128, "Hello world", "c1H4mBL5c4K5HQWzHgTdfw=="},                // 73 51 f8 98 12 f9 73 82 b9 1d 05 b3 1e 04 dd 7f
		{XXHASH64, "abcdefghijklmnopqrstuvwxyz", "z+HyePqJg1w="},              // cf e1 f2 78 fa 89 83 5c
		{XXHASH3, "abcdefghijklmnopqrstuvwxyz", "gQ+coGf7uQw="},               // 81 0f 9c a0 67 fb b9 0c
		{XXHASH128, "abcdefghijklmnopqrstuvwxyz", "23ykToSEPWfr4WIiAVTh5g=="}, // db 7c a4 4e 84 84 3d 67 eb e1 62 22 01 54 e1 e6
	}
	for _, tt := range tests {
		t.Run(string(tt.alg)+"/"+tt.data, func(t *testing.T) {
			sum := tt.alg.Sum([]byte(tt.data))
			if got := Encode(sum); got != tt.want {
				t.Errorf("Encode(%s(%q)) = %s, want %s", tt.alg, tt.data, got, tt.want)
			}
			dec, err := Decode(tt.alg, tt.want)
			if err != nil {
				t.Fatalf("Decode(%s, %s): %v", tt.alg, tt.want, err)
			}
			if !bytes.Equal(dec, sum) {
				t.Errorf("Decode(%s, %s) = %x, want %x", tt.alg, tt.want, dec, sum)
			}
		})
	}
}

func TestAlgorithmProperties(t *testing.T) {
	tests := []struct {
		alg       Algorithm
		header    string
		size      int
		full      bool
		composite bool
		def       Type
	}{
		{CRC32, "x-amz-checksum-crc32", 4, true, true, Composite},
		{CRC32C, "x-amz-checksum-crc32c", 4, true, true, Composite},
		{CRC64NVME, "x-amz-checksum-crc64nvme", 8, true, false, FullObject},
		{SHA1, "x-amz-checksum-sha1", 20, false, true, Composite},
		{SHA256, "x-amz-checksum-sha256", 32, false, true, Composite},
		{SHA512, "x-amz-checksum-sha512", 64, false, true, Composite},
		{MD5, "x-amz-checksum-md5", 16, false, true, Composite},
		{XXHASH64, "x-amz-checksum-xxhash64", 8, false, true, Composite},
		{XXHASH3, "x-amz-checksum-xxhash3", 8, false, true, Composite},
		{XXHASH128, "x-amz-checksum-xxhash128", 16, false, true, Composite},
		{"BLAKE3", "", 0, false, false, ""},
		{"md5", "", 0, false, false, ""},
		{"", "", 0, false, false, ""},
	}
	for _, tt := range tests {
		t.Run(string(tt.alg), func(t *testing.T) {
			if got := tt.alg.HeaderName(); got != tt.header {
				t.Errorf("HeaderName() = %q, want %q", got, tt.header)
			}
			if got := tt.alg.Size(); got != tt.size {
				t.Errorf("Size() = %d, want %d", got, tt.size)
			}
			if got := tt.alg.SupportsFullObject(); got != tt.full {
				t.Errorf("SupportsFullObject() = %v, want %v", got, tt.full)
			}
			if got := tt.alg.SupportsComposite(); got != tt.composite {
				t.Errorf("SupportsComposite() = %v, want %v", got, tt.composite)
			}
			if got := DefaultType(tt.alg); got != tt.def {
				t.Errorf("DefaultType() = %q, want %q", got, tt.def)
			}
			if tt.alg.Valid() {
				h := tt.alg.New()
				if h.Size() != tt.size {
					t.Errorf("New().Size() = %d, want %d", h.Size(), tt.size)
				}
				if _, ok := h.(hash.Cloner); !ok {
					t.Errorf("New() is not a hash.Cloner")
				}
			}
		})
	}
	if got := len(Algorithms()); got != 10 {
		t.Errorf("len(Algorithms()) = %d, want 10", got)
	}
}

func TestParseAlgorithm(t *testing.T) {
	tests := []struct {
		in      string
		want    Algorithm
		wantErr error
	}{
		{"CRC32", CRC32, nil},
		{"crc32", CRC32, nil},
		{"Crc32C", CRC32C, nil},
		{"crc64nvme", CRC64NVME, nil},
		{"sha1", SHA1, nil},
		{"SHA256", SHA256, nil},
		{"sha512", SHA512, nil},
		{"md5", MD5, nil},
		{"XXHASH64", XXHASH64, nil},
		{"xxHash3", XXHASH3, nil},
		{"xxhash128", XXHASH128, nil},
		{"", "", ErrUnknownAlgorithm},
		{"BLAKE3", "", ErrUnknownAlgorithm},
		{"XXH3", "", ErrUnknownAlgorithm},
		{"SHA-512", "", ErrUnknownAlgorithm},
		{"SHA-256", "", ErrUnknownAlgorithm},
		{"crc32 ", "", ErrUnknownAlgorithm},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseAlgorithm(tt.in)
			if !errors.Is(err, tt.wantErr) || got != tt.want {
				t.Errorf("ParseAlgorithm(%q) = %q, %v; want %q, %v", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name    string
		alg     Algorithm
		in      string
		wantErr error
	}{
		{"sha256 given to crc32", CRC32, "uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek=", ErrInvalidDigest},
		{"crc32 given to crc64nvme", CRC64NVME, "DUoRhQ==", ErrInvalidDigest},
		{"empty", CRC32, "", ErrInvalidDigest},
		{"unpadded", CRC32, "DUoRhQ", ErrInvalidDigest},
		{"url alphabet", SHA1, "Kq5sNclPz7QV2-lfQIuc6R7oRu0=", ErrInvalidDigest},
		{"non-canonical padding bits", CRC32, "DUoRhR==", ErrInvalidDigest},
		{"hex", CRC32, "0d4a1185", ErrInvalidDigest},
		{"composite suffix", SHA1, "Kq5sNclPz7QV2+lfQIuc6R7oRu0=-2", ErrInvalidDigest},
		{"md5 given to xxhash3", XXHASH3, "XrY7u+Ae7tCTyyK7j1rNww==", ErrInvalidDigest},
		{"xxhash64 given to xxhash128", XXHASH128, "xQCwyRKzdtg=", ErrInvalidDigest},
		{"unknown algorithm", "BLAKE3", "XrY7u+Ae7tCTyyK7j1rNww==", ErrUnknownAlgorithm},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Decode(tt.alg, tt.in); !errors.Is(err, tt.wantErr) {
				t.Errorf("Decode(%s, %q) error = %v, want %v", tt.alg, tt.in, err, tt.wantErr)
			}
		})
	}
}

func TestNewPanicsOnUnknown(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("New of an unknown algorithm did not panic")
		}
	}()
	Algorithm("BLAKE3").New()
}

// The CRC64NVME digest (github.com/minio/crc64nvme's carry-less
// multiplication behind sluice's hash state) must agree with hash/crc64
// under the same polynomial, for every length and any split into writes.
func TestCRC64NVMEMatchesStdlib(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	tab := crc64.MakeTable(crc64NVMEPoly)
	data := randomBytes(t, rng, 40000)
	for n := range 300 {
		checkCRC64NVME(t, data[:n], tab, rng)
	}
	// Around the sizes where the vector code changes strides.
	for _, n := range []int{63, 64, 65, 127, 128, 129, 255, 256, 257, 511, 512, 513, 1023, 1024, 1025,
		2047, 2048, 2049, 4095, 4096, 4097, 4111, 4112, 8192, 8209, 12288 + 15, 40000} {
		for range 5 {
			checkCRC64NVME(t, data[:n], tab, rng)
		}
		d := newCRC64NVME()
		d.Write(data[:n])
		if got, want := d.Sum64(), crc64.Checksum(data[:n], tab); got != want {
			t.Fatalf("len %d in one Write: Sum64 = %#x, want %#x", n, got, want)
		}
	}
}

func checkCRC64NVME(t *testing.T, data []byte, tab *crc64.Table, rng *rand.Rand) {
	t.Helper()
	want := crc64.Checksum(data, tab)
	d := newCRC64NVME()
	for p := data; len(p) > 0; {
		k := rng.IntN(len(p) + 1)
		d.Write(p[:k])
		p = p[k:]
	}
	if got := d.Sum64(); got != want {
		t.Fatalf("len %d: Sum64 = %#x, want %#x", len(data), got, want)
	}
	if got := binary.BigEndian.Uint64(d.Sum(nil)); got != want {
		t.Fatalf("len %d: Sum = %#x, want %#x", len(data), got, want)
	}
}

func TestCRC64NVMEState(t *testing.T) {
	d := newCRC64NVME()
	d.Write([]byte("12345"))

	c, err := d.Clone()
	if err != nil {
		t.Fatal(err)
	}
	state, err := d.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	r := newCRC64NVME()
	var _ encoding.BinaryUnmarshaler = r
	if err := r.UnmarshalBinary(state); err != nil {
		t.Fatal(err)
	}
	for name, h := range map[string]hash.Hash{"original": d, "clone": c, "restored": r} {
		h.Write([]byte("6789"))
		if got := binary.BigEndian.Uint64(h.Sum(nil)); got != 0xae8b14860a799888 {
			t.Errorf("%s: CRC = %#x, want 0xae8b14860a799888", name, got)
		}
	}
	if err := r.UnmarshalBinary([]byte("crc\x02garbage")); err == nil {
		t.Error("UnmarshalBinary accepted foreign state")
	}
	d.Reset()
	if d.Sum64() != 0 {
		t.Errorf("after Reset Sum64 = %#x, want 0", d.Sum64())
	}
}
