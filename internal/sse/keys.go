package sse

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
)

// ErrWrongKey is returned when a sealed data key does not open under the
// key offered for it.
var ErrWrongKey = errors.New("sse: wrong key")

// KEK is a key-encryption key: it seals data keys with AES-256-GCM and a
// random nonce. It is safe for concurrent use.
type KEK struct {
	aead cipher.AEAD
}

// NewKEK returns a KEK for a KeySize key.
func NewKEK(key []byte) (*KEK, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("sse: key-encryption key of %d bytes", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &KEK{aead: aead}, nil
}

// Seal returns nonce ‖ ciphertext ‖ tag of plaintext, bound to aad.
func (k *KEK) Seal(plaintext, aad []byte) ([]byte, error) {
	out := make([]byte, nonceSize, nonceSize+len(plaintext)+TagSize)
	if _, err := rand.Read(out); err != nil {
		return nil, err
	}
	return k.aead.Seal(out, out[:nonceSize], plaintext, aad), nil
}

// Open reverses Seal; a wrong key, a wrong aad or a changed value are
// ErrWrongKey.
func (k *KEK) Open(sealed, aad []byte) ([]byte, error) {
	if len(sealed) < nonceSize+TagSize {
		return nil, ErrWrongKey
	}
	pt, err := k.aead.Open(nil, sealed[:nonceSize], sealed[nonceSize:], aad)
	if err != nil {
		return nil, ErrWrongKey
	}
	return pt, nil
}

// CustomerKeySaltSize is the size of the random salt an SSE-C object keeps
// next to the check value of its customer key.
const CustomerKeySaltSize = 16

// CustomerKey is what sluice derives from an SSE-C customer key and a salt:
// a key-encryption key for the object's data key and a check value that
// recognises the customer key later. The customer key itself is never kept.
type CustomerKey struct {
	KEK *KEK
	// Check is HKDF-derived from the key and salt (a salted MAC of the
	// key); it is stored and compared in constant time.
	Check []byte
}

const customerInfo = "sluice sse-c v1"

// NewCustomerSalt returns a random salt for DeriveCustomerKey.
func NewCustomerSalt() ([]byte, error) {
	salt := make([]byte, CustomerKeySaltSize)
	_, err := rand.Read(salt)
	return salt, err
}

// DeriveCustomerKey derives the KEK and check value of a 256-bit customer
// key under salt.
func DeriveCustomerKey(key, salt []byte) (*CustomerKey, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("sse: customer key of %d bytes", len(key))
	}
	okm, err := hkdf.Key(sha256.New, key, salt, customerInfo, 2*KeySize)
	if err != nil {
		return nil, err
	}
	kek, err := NewKEK(okm[:KeySize])
	if err != nil {
		return nil, err
	}
	return &CustomerKey{KEK: kek, Check: okm[KeySize:]}, nil
}

// Matches reports whether check is this key's check value.
func (c *CustomerKey) Matches(check []byte) bool {
	return subtle.ConstantTimeCompare(c.Check, check) == 1
}

// ETag derives the ETag S3 reports for content encrypted with dk whose
// plaintext MD5 is md5: like S3's for SSE-KMS and SSE-C objects it is not
// the MD5 of the data, and it reveals nothing about the data without the
// key, but it is stable for the same content and data key.
func ETag(dk DataKey, md5 []byte) string {
	m := hmac.New(sha256.New, dk.Layers[0])
	m.Write([]byte("sluice sse etag v1"))
	m.Write(md5)
	return hex.EncodeToString(m.Sum(nil)[:16])
}
