package checksum

import (
	"bytes"
	"encoding/hex"
	"hash"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// Digests of b[i] = i mod 251 for lengths that cross the XXH3 size classes
// (16, 128 and 240 bytes), its 1 KiB block and its internal buffer (1088
// bytes), computed with libxxhash 0.8.1 (XXH64, XXH3_64bits, XXH3_128bits)
// in canonical big-endian form.
func TestXXHashLengths(t *testing.T) {
	tests := []struct {
		n                 int
		xxh64, xxh3, x128 string
	}{
		{16, "44b6ef2fb84169f7", "8355e3a6f61770db", "72950631827607e2842812cc870dcae2"},
		{17, "5603e60c527599b6", "9ef341a99de37328", "685bc458b37d057fc06e233df7729217"},
		{128, "7a7fe14647b9ab92", "85c6174c7ff4c46b", "14792fc3af88dc6c05321a0b64d67b41"},
		{129, "0ba25dfd6e891fcf", "ec7642b431ba3e5a", "dd5e74ac6b45f54ebc30b63382b09a3b"},
		{240, "012947f0da6a27b1", "375a384d957fe865", "65b5be86da5540e7c92b68e16f83bbb6"},
		{241, "8d643f23bf2808e1", "02e8cd95421c6d02", "1da1cb61bcb8a2a102e8cd95421c6d02"},
		{1024, "138e26c65048ce29", "e5d78bafa45b2aa5", "d0ac1f7b93bf57b9e5d78bafa45b2aa5"},
		{1088, "fa3e9309ff1f4ac3", "1a848d807034c403", "295519bc52981c5c1a848d807034c403"},
		{1089, "f78a31f7e4ef0b85", "a51e35ec282cb1d8", "bd054149e0f6660ea51e35ec282cb1d8"},
		{100003, "cbab15ce50b1eb20", "acf33ba3cf61e369", "b02e921ecad88f0facf33ba3cf61e369"},
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for _, tt := range tests {
		data := make([]byte, tt.n)
		for i := range data {
			data[i] = byte(i % 251)
		}
		for alg, want := range map[Algorithm]string{XXHASH64: tt.xxh64, XXHASH3: tt.xxh3, XXHASH128: tt.x128} {
			if got := hex.EncodeToString(alg.Sum(data)); got != want {
				t.Errorf("%s of %d bytes = %s, want %s", alg, tt.n, got, want)
			}
			// The same in writes of random sizes.
			h := alg.New()
			for p := data; len(p) > 0; {
				k := rng.IntN(min(len(p), 3000) + 1)
				h.Write(p[:k])
				p = p[k:]
			}
			if got := hex.EncodeToString(h.Sum(nil)); got != want {
				t.Errorf("%s of %d bytes in pieces = %s, want %s", alg, tt.n, got, want)
			}
		}
	}
}

// A clone taken part way through continues independently of the original,
// for every algorithm, and Reset starts over.
func TestClone(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	data := randomBytes(t, rng, 5000)
	for _, alg := range Algorithms() {
		t.Run(string(alg), func(t *testing.T) {
			want := alg.Sum(data)
			h := alg.New()
			h.Write(data[:1500])
			c, err := h.(hash.Cloner).Clone()
			if err != nil {
				t.Fatal(err)
			}
			h.Write([]byte("something else"))
			c.Write(data[1500:])
			if got := c.Sum(nil); !bytes.Equal(got, want) {
				t.Errorf("clone: %x, want %x", got, want)
			}
			h.Reset()
			h.Write(data)
			if got := h.Sum(nil); !bytes.Equal(got, want) {
				t.Errorf("after Reset: %x, want %x", got, want)
			}
			if got := alg.New().Sum(nil); !bytes.Equal(got, alg.Sum(nil)) || len(got) != alg.Size() {
				t.Errorf("digest of nothing: %x", got)
			}
		})
	}
}

// The message lists every supported algorithm, sorted, and nothing else.
func TestUnknownAlgorithmMessage(t *testing.T) {
	var names []string
	for _, a := range Algorithms() {
		names = append(names, string(a))
	}
	slices.Sort(names)
	want := "[" + strings.Join(names, ", ") + "]"
	if !strings.HasSuffix(UnknownAlgorithmMessage, " "+want) {
		t.Errorf("UnknownAlgorithmMessage = %q, want it to end in %q", UnknownAlgorithmMessage, want)
	}
}
