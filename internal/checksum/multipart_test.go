package checksum

import (
	"errors"
	"testing"
)

func TestValidateMultipart(t *testing.T) {
	tests := []struct {
		alg     Algorithm
		typ     Type
		wantErr error
		wantMsg string
	}{
		{"", "", nil, ""},
		{CRC32, "", nil, ""},
		{CRC32, FullObject, nil, ""},
		{CRC32, Composite, nil, ""},
		{CRC32C, FullObject, nil, ""},
		{CRC32C, Composite, nil, ""},
		{CRC64NVME, "", nil, ""},
		{CRC64NVME, FullObject, nil, ""},
		{CRC64NVME, Composite, ErrTypeNotSupported,
			"The COMPOSITE checksum type cannot be used with the crc64nvme checksum algorithm."},
		{SHA1, "", nil, ""},
		{SHA1, Composite, nil, ""},
		{SHA1, FullObject, ErrTypeNotSupported,
			"The FULL_OBJECT checksum type cannot be used with the sha1 checksum algorithm."},
		{SHA256, Composite, nil, ""},
		{SHA256, FullObject, ErrTypeNotSupported,
			"The FULL_OBJECT checksum type cannot be used with the sha256 checksum algorithm."},
		{"", FullObject, ErrTypeWithoutAlgorithm,
			"The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header."},
		{"", Composite, ErrTypeWithoutAlgorithm, ""},
		{SHA512, Composite, nil, ""},
		{SHA512, "", nil, ""},
		{SHA512, FullObject, ErrTypeNotSupported,
			"The FULL_OBJECT checksum type cannot be used with the sha512 checksum algorithm."},
		{MD5, Composite, nil, ""},
		{MD5, FullObject, ErrTypeNotSupported,
			"The FULL_OBJECT checksum type cannot be used with the md5 checksum algorithm."},
		{XXHASH64, Composite, nil, ""},
		{XXHASH64, FullObject, ErrTypeNotSupported,
			"The FULL_OBJECT checksum type cannot be used with the xxhash64 checksum algorithm."},
		{XXHASH3, "", nil, ""},
		{XXHASH3, FullObject, ErrTypeNotSupported,
			"The FULL_OBJECT checksum type cannot be used with the xxhash3 checksum algorithm."},
		{XXHASH128, Composite, nil, ""},
		{XXHASH128, FullObject, ErrTypeNotSupported,
			"The FULL_OBJECT checksum type cannot be used with the xxhash128 checksum algorithm."},
		{"BLAKE3", "", ErrUnknownAlgorithm, ""},
		{CRC32, "full_object", ErrUnknownType, ""},
		{CRC32, "PARTS", ErrUnknownType, ""},
	}
	for _, tt := range tests {
		t.Run(string(tt.alg)+"/"+string(tt.typ), func(t *testing.T) {
			err := ValidateMultipart(tt.alg, tt.typ)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("ValidateMultipart(%q, %q) = %v, want %v", tt.alg, tt.typ, err, tt.wantErr)
			}
			if tt.wantMsg != "" && err.Error() != tt.wantMsg {
				t.Errorf("message = %q, want %q", err.Error(), tt.wantMsg)
			}
			if errors.Is(tt.wantErr, ErrTypeNotSupported) {
				var te *TypeError
				if !errors.As(err, &te) || te.Algorithm != tt.alg || te.Type != tt.typ {
					t.Errorf("error %#v is not the TypeError for %s/%s", err, tt.alg, tt.typ)
				}
			}
		})
	}
}

func TestParseType(t *testing.T) {
	tests := []struct {
		in      string
		want    Type
		wantErr error
	}{
		{"FULL_OBJECT", FullObject, nil},
		{"full_object", FullObject, nil},
		{"COMPOSITE", Composite, nil},
		{"Composite", Composite, nil},
		{"", "", ErrUnknownType},
		{"FULL-OBJECT", "", ErrUnknownType},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseType(tt.in)
			if !errors.Is(err, tt.wantErr) || got != tt.want {
				t.Errorf("ParseType(%q) = %q, %v; want %q, %v", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestCompositeOf(t *testing.T) {
	parts := []string{"hello ", "world", "", "and some more data"}
	for _, alg := range []Algorithm{CRC32, CRC32C, SHA1, SHA256, SHA512, MD5, XXHASH64, XXHASH3, XXHASH128} {
		t.Run(string(alg), func(t *testing.T) {
			var sums [][]byte
			var concat []byte
			for _, p := range parts {
				s := alg.Sum([]byte(p))
				sums = append(sums, s)
				concat = append(concat, s...)
			}
			got, err := CompositeOf(alg, sums)
			if err != nil {
				t.Fatal(err)
			}
			if want := Encode(alg.Sum(concat)) + "-4"; got != want {
				t.Errorf("CompositeOf = %s, want %s", got, want)
			}
		})
	}

	// A one-part composite is the digest of that part's digest, not of the
	// data: SHA1(SHA1("hello world")).
	one, err := CompositeOf(SHA1, [][]byte{SHA1.Sum([]byte("hello world"))})
	if err != nil {
		t.Fatal(err)
	}
	if want := Encode(SHA1.Sum(SHA1.Sum([]byte("hello world")))) + "-1"; one != want {
		t.Errorf("one-part composite = %s, want %s", one, want)
	}
}

func TestCompositeOfErrors(t *testing.T) {
	crc := CRC32.Sum([]byte("x"))
	tests := []struct {
		name    string
		alg     Algorithm
		sums    [][]byte
		wantErr error
	}{
		{"crc64nvme has no composite", CRC64NVME, [][]byte{CRC64NVME.Sum(nil)}, ErrTypeNotSupported},
		{"unknown algorithm", "BLAKE3", [][]byte{crc}, ErrUnknownAlgorithm},
		{"no parts", CRC32, nil, ErrInvalidDigest},
		{"short part", SHA256, [][]byte{SHA256.Sum(nil), crc}, ErrInvalidDigest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := CompositeOf(tt.alg, tt.sums); !errors.Is(err, tt.wantErr) {
				t.Errorf("CompositeOf error = %v, want %v", err, tt.wantErr)
			}
		})
	}
}
