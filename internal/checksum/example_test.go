package checksum_test

import (
	"fmt"

	"github.com/sluicehq/sluice/internal/checksum"
)

// A multipart upload of "hello world" in two parts, with the object checksum
// computed both ways S3 offers.
func Example() {
	parts := []string{"hello ", "world"}

	var sums [][]byte
	var crcParts []checksum.Part
	for _, p := range parts {
		m := checksum.NewMultiHasher(checksum.CRC32)
		m.Write([]byte(p))
		sums = append(sums, m.Sum(checksum.CRC32))
		crcParts = append(crcParts, checksum.Part{Sum: m.Sum(checksum.CRC32), Size: m.Size()})
	}

	full, err := checksum.CombineParts(checksum.CRC32, crcParts)
	if err != nil {
		panic(err)
	}
	composite, err := checksum.CompositeOf(checksum.CRC32, sums)
	if err != nil {
		panic(err)
	}
	fmt.Println("FULL_OBJECT:", checksum.Encode(full))
	fmt.Println("COMPOSITE:  ", composite)
	fmt.Println(checksum.ValidateMultipart(checksum.SHA256, checksum.FullObject))
	// Output:
	// FULL_OBJECT: DUoRhQ==
	// COMPOSITE:   1Fu2mQ==-2
	// The FULL_OBJECT checksum type cannot be used with the sha256 checksum algorithm.
}
