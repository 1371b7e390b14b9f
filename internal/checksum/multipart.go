package checksum

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Type is a multipart checksum type, as in x-amz-checksum-type. It says how
// the object-level checksum of a multipart upload relates to its parts.
type Type string

// The checksum types.
const (
	// FullObject checksums cover the whole object, byte for byte, exactly as
	// if it had been uploaded in one request. For multipart uploads they are
	// only available for the CRCs, which S3 combines from the part CRCs.
	FullObject Type = "FULL_OBJECT"
	// Composite checksums are a checksum of the concatenated part checksums,
	// reported with a "-N" part-count suffix (see CompositeOf).
	Composite Type = "COMPOSITE"
)

// Errors for checksum types.
var (
	// ErrUnknownType means the checksum type is neither FULL_OBJECT nor
	// COMPOSITE.
	ErrUnknownType = errors.New("checksum: unknown checksum type")
	// ErrTypeWithoutAlgorithm means a checksum type was given without an
	// algorithm. Its message is the one S3 returns (InvalidRequest).
	//
	//lint:ignore ST1005 the message is S3's, verbatim.
	ErrTypeWithoutAlgorithm = errors.New("The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.")
	// ErrTypeNotSupported is matched by every *TypeError.
	ErrTypeNotSupported = errors.New("checksum: checksum type not supported by algorithm")
)

// TypeError reports an algorithm that cannot be used with a checksum type on a
// multipart upload. errors.Is(err, ErrTypeNotSupported) holds for it. Its
// message is the one S3 returns with InvalidRequest.
type TypeError struct {
	Algorithm Algorithm
	Type      Type
}

func (e *TypeError) Error() string {
	return fmt.Sprintf("The %s checksum type cannot be used with the %s checksum algorithm.",
		e.Type, strings.ToLower(string(e.Algorithm)))
}

// Is reports whether target is ErrTypeNotSupported.
func (e *TypeError) Is(target error) bool { return target == ErrTypeNotSupported }

// ParseType returns the checksum type named by s, ignoring case. It returns an
// error wrapping ErrUnknownType for any other value, including "".
func ParseType(s string) (Type, error) {
	switch t := Type(strings.ToUpper(s)); t {
	case FullObject, Composite:
		return t, nil
	}
	return "", fmt.Errorf("%w: %q", ErrUnknownType, s)
}

// String returns the type's S3 name.
func (t Type) String() string { return string(t) }

// DefaultType returns the checksum type S3 gives a multipart upload created
// with algorithm a and no x-amz-checksum-type: FULL_OBJECT for CRC64NVME (the
// only type it supports), COMPOSITE for the others. It returns "" if a is not
// Valid.
func DefaultType(a Algorithm) Type {
	switch {
	case a == CRC64NVME:
		return FullObject
	case a.Valid():
		return Composite
	}
	return ""
}

// ValidateMultipart checks the algorithm and checksum type of a
// CreateMultipartUpload request, as S3 does. Either may be "" (header
// absent). S3's rules, from its API model and the SDKs' multipart helpers:
// only the CRCs combine into a FULL_OBJECT checksum, and CRC64NVME is
// FULL_OBJECT only.
//
//	algorithm  FULL_OBJECT  COMPOSITE  default type
//	CRC64NVME  yes          no         FULL_OBJECT
//	CRC32      yes          yes        COMPOSITE
//	CRC32C     yes          yes        COMPOSITE
//	SHA1       no           yes        COMPOSITE
//	SHA256     no           yes        COMPOSITE
//	SHA512     no           yes        COMPOSITE
//	MD5        no           yes        COMPOSITE
//	XXHASH64   no           yes        COMPOSITE
//	XXHASH3    no           yes        COMPOSITE
//	XXHASH128  no           yes        COMPOSITE
//
// It returns nil when both are "", or when only a is given (the type is then
// DefaultType(a)). Otherwise it returns an error wrapping ErrUnknownAlgorithm
// or ErrUnknownType for values outside the enumerations,
// ErrTypeWithoutAlgorithm for a type with no algorithm, or a *TypeError for a
// combination the table forbids.
func ValidateMultipart(a Algorithm, t Type) error {
	if a != "" && !a.Valid() {
		return fmt.Errorf("%w: %q", ErrUnknownAlgorithm, string(a))
	}
	if t != "" && t != FullObject && t != Composite {
		return fmt.Errorf("%w: %q", ErrUnknownType, string(t))
	}
	switch {
	case a == "" && t == "":
		return nil
	case a == "":
		return ErrTypeWithoutAlgorithm
	case t == FullObject && !a.SupportsFullObject(),
		t == Composite && !a.SupportsComposite():
		return &TypeError{Algorithm: a, Type: t}
	}
	return nil
}

// CompositeOf returns the object checksum S3 reports for a COMPOSITE multipart
// upload: the digest, under a, of the concatenation of the raw part digests
// in part order, base64-encoded and followed by "-" and the number of parts,
// as in "Kq5sNclPz7QV2+lfQIuc6R7oRu0=-3".
//
// It returns a *TypeError if a does not support COMPOSITE (CRC64NVME), an
// error wrapping ErrUnknownAlgorithm if a is not Valid, and one wrapping
// ErrInvalidDigest if there are no parts or a part digest has the wrong
// length.
func CompositeOf(a Algorithm, partSums [][]byte) (string, error) {
	if !a.Valid() {
		return "", fmt.Errorf("%w: %q", ErrUnknownAlgorithm, string(a))
	}
	if !a.SupportsComposite() {
		return "", &TypeError{Algorithm: a, Type: Composite}
	}
	if len(partSums) == 0 {
		return "", fmt.Errorf("%w: composite %s checksum of no parts", ErrInvalidDigest, a)
	}
	h := a.New()
	for i, s := range partSums {
		if len(s) != a.Size() {
			return "", fmt.Errorf("%w: part %d %s digest is %d bytes, want %d",
				ErrInvalidDigest, i+1, a, len(s), a.Size())
		}
		h.Write(s)
	}
	return Encode(h.Sum(nil)) + "-" + strconv.Itoa(len(partSums)), nil
}
