package meta

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
)

// ErrInvalidID is returned by ParseID for strings that are not IDs made by
// FormatID.
var ErrInvalidID = errors.New("meta: invalid ID")

// FormatID makes the external ID (version ID, upload ID) of the record with
// sequence number seq: 32 lowercase hex characters, the sequence number
// followed by 8 random bytes so that IDs are not guessable from each other.
// IDs of later records sort after those of earlier ones.
func FormatID(seq uint64) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], seq)
	_, _ = rand.Read(b[8:])
	return hex.EncodeToString(b[:])
}

// ParseID returns the sequence number embedded in an ID made by FormatID.
func ParseID(id string) (uint64, error) {
	if len(id) != 32 {
		return 0, ErrInvalidID
	}
	var b [16]byte
	if _, err := hex.Decode(b[:], []byte(id)); err != nil {
		return 0, ErrInvalidID
	}
	for _, c := range []byte(id) {
		if c >= 'A' && c <= 'F' {
			return 0, ErrInvalidID
		}
	}
	return binary.BigEndian.Uint64(b[:8]), nil
}
