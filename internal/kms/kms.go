// Package kms is sluice's local key service: it creates the master keys
// that seal objects' data keys (envelope encryption) and keeps them in one
// file of the data directory, readable only by its owner (0600).
//
// It holds three kinds of key:
//
//   - the S3-managed key that seals SSE-S3 data keys (S3KeyID), never named
//     by clients;
//   - the AWS managed key "aws/s3", which SSE-KMS uses when a request names
//     no key;
//   - customer keys, named by requests and bucket configurations with any of
//     the forms KMS accepts: a key ID (a UUID), a key ARN, an alias name
//     ("alias/name") or an alias ARN. sluice has no KMS API to create keys
//     with, so a well-formed key ID or alias of this account and region that
//     does not exist yet is created on first use; malformed ones and ARNs of
//     another account or region are refused as KMS refuses them.
//
// Key material never leaves the file and the process; Seal and Open are the
// only operations on it.
package kms

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/sluicehq/sluice/internal/sse"
)

// S3KeyID names the S3-managed key that seals SSE-S3 data keys.
const S3KeyID = "sluice/sse-s3"

// DefaultAlias is the alias of the AWS managed key SSE-KMS uses when a
// request names no key.
const DefaultAlias = "alias/aws/s3"

// Errors of ResolveKey. Their messages are the ones KMS reports (S3 answers
// them as KMS.NotFoundException).
var (
	ErrInvalidKeyID = errors.New("kms: invalid key ID")
	ErrNotFound     = errors.New("kms: key does not exist")
)

// KeyError is a ResolveKey failure: Err is ErrInvalidKeyID or ErrNotFound,
// Message the text KMS answers with.
type KeyError struct {
	Err     error
	Message string
}

func (e *KeyError) Error() string { return e.Message }
func (e *KeyError) Unwrap() error { return e.Err }

// Service holds the master keys. It is safe for concurrent use.
type Service struct {
	path    string
	region  string
	account string

	mu      sync.RWMutex
	keys    map[string]*masterKey // by key ID
	aliases map[string]string     // "alias/name" → key ID
	file    keyFile
}

type masterKey struct {
	kek *sse.KEK
}

// keyFile is the on-disk form.
type keyFile struct {
	Version int       `json:"version"`
	Keys    []fileKey `json:"keys"`
}

type fileKey struct {
	ID       string    `json:"id"`
	Aliases  []string  `json:"aliases,omitempty"`
	Material []byte    `json:"material"`
	Created  time.Time `json:"created"`
}

// Open loads the key file at path, creating it (with the S3-managed key and
// aws/s3) if it does not exist. region and accountID qualify key ARNs.
func Open(path, region, accountID string) (*Service, error) {
	s := &Service{
		path: path, region: region, account: accountID,
		keys: make(map[string]*masterKey), aliases: make(map[string]string),
	}
	raw, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := json.Unmarshal(raw, &s.file); err != nil {
			return nil, fmt.Errorf("kms: %s: %w", path, err)
		}
		if s.file.Version != 1 {
			return nil, fmt.Errorf("kms: %s: unknown version %d", path, s.file.Version)
		}
		for _, k := range s.file.Keys {
			if err := s.load(k); err != nil {
				return nil, fmt.Errorf("kms: %s: %w", path, err)
			}
		}
	case errors.Is(err, os.ErrNotExist):
		s.file.Version = 1
	default:
		return nil, err
	}
	// The built-in keys exist in every key file.
	changed := false
	if s.keys[S3KeyID] == nil {
		if err := s.create(S3KeyID, ""); err != nil {
			return nil, err
		}
		changed = true
	}
	if s.aliases[DefaultAlias] == "" {
		if err := s.create(newKeyID(), DefaultAlias); err != nil {
			return nil, err
		}
		changed = true
	}
	if changed {
		if err := s.save(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *Service) load(k fileKey) error {
	kek, err := sse.NewKEK(k.Material)
	if err != nil {
		return fmt.Errorf("key %s: %w", k.ID, err)
	}
	s.keys[k.ID] = &masterKey{kek: kek}
	for _, a := range k.Aliases {
		s.aliases[a] = k.ID
	}
	return nil
}

// create adds a key with fresh material (and an alias, if not ""); the
// caller saves.
func (s *Service) create(id, alias string) error {
	material := make([]byte, sse.KeySize)
	if _, err := rand.Read(material); err != nil {
		return err
	}
	k := fileKey{ID: id, Material: material, Created: time.Now().UTC().Truncate(time.Second)}
	if alias != "" {
		k.Aliases = []string{alias}
	}
	if err := s.load(k); err != nil {
		return err
	}
	s.file.Keys = append(s.file.Keys, k)
	return nil
}

// save writes the key file durably: a temporary file (0600), fsynced,
// renamed over the old one, and the directory fsynced.
func (s *Service) save() error {
	raw, err := json.MarshalIndent(&s.file, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(s.path)
	f, err := os.CreateTemp(dir, ".kms-*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(raw); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, s.path); err != nil {
		return err
	}
	ok = true
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func newKeyID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

var (
	keyIDPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	aliasPattern = regexp.MustCompile(`^alias/[a-zA-Z0-9/_-]{1,250}$`)
)

// KeyARN is the ARN of key ID id.
func (s *Service) KeyARN(id string) string {
	return "arn:aws:kms:" + s.region + ":" + s.account + ":key/" + id
}

// DefaultKeyARN is the ARN of the AWS managed key aws/s3.
func (s *Service) DefaultKeyARN() string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.KeyARN(s.aliases[DefaultAlias])
}

// ResolveKey returns the key ARN that ref names ("" names aws/s3),
// creating a customer key the first time a well-formed ID or alias of this
// account and region is named.
func (s *Service) ResolveKey(ref string) (string, error) {
	if ref == "" {
		return s.DefaultKeyARN(), nil
	}
	id, alias, err := s.parse(ref)
	if err != nil {
		return "", err
	}
	s.mu.RLock()
	if alias != "" {
		id = s.aliases[alias]
	}
	_, ok := s.keys[id]
	s.mu.RUnlock()
	if ok {
		return s.KeyARN(id), nil
	}
	if strings.HasPrefix(alias, "alias/aws/") {
		// AWS managed keys are AWS's to create; only aws/s3 exists.
		return "", &KeyError{Err: ErrNotFound, Message: "Alias " + s.aliasARN(alias) + " is not found."}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if alias != "" {
		if id = s.aliases[alias]; id != "" {
			return s.KeyARN(id), nil
		}
		id = newKeyID()
	} else if _, ok := s.keys[id]; ok {
		return s.KeyARN(id), nil
	}
	if err := s.create(id, alias); err != nil {
		return "", err
	}
	if err := s.save(); err != nil {
		// Forget the key: nothing may be sealed under a key that is not
		// on disk.
		s.file.Keys = s.file.Keys[:len(s.file.Keys)-1]
		delete(s.keys, id)
		if alias != "" {
			delete(s.aliases, alias)
		}
		return "", err
	}
	return s.KeyARN(id), nil
}

func (s *Service) aliasARN(alias string) string {
	return "arn:aws:kms:" + s.region + ":" + s.account + ":" + alias
}

// parse splits a key reference into a key ID or an alias.
func (s *Service) parse(ref string) (id, alias string, err error) {
	invalid := &KeyError{Err: ErrInvalidKeyID, Message: "Invalid keyId " + ref}
	if rest, ok := strings.CutPrefix(ref, "arn:"); ok {
		// arn:aws:kms:<region>:<account>:key/<id> or …:alias/<name>
		parts := strings.SplitN(rest, ":", 5)
		if len(parts) != 5 || parts[0] != "aws" || parts[1] != "kms" {
			return "", "", invalid
		}
		if parts[2] != s.region || parts[3] != s.account {
			return "", "", &KeyError{Err: ErrNotFound, Message: "Key '" + ref + "' does not exist"}
		}
		ref = parts[4]
		if id, ok := strings.CutPrefix(ref, "key/"); ok && keyIDPattern.MatchString(id) {
			return id, "", nil
		}
		if aliasPattern.MatchString(ref) {
			return "", ref, nil
		}
		return "", "", invalid
	}
	switch {
	case keyIDPattern.MatchString(ref):
		return ref, "", nil
	case aliasPattern.MatchString(ref):
		return "", ref, nil
	}
	return "", "", invalid
}

// key finds the master key that keyID (S3KeyID or a key ARN) names.
func (s *Service) key(keyID string) (*masterKey, error) {
	id := keyID
	if keyID != S3KeyID {
		prefix := s.KeyARN("")
		var ok bool
		if id, ok = strings.CutPrefix(keyID, prefix); !ok {
			return nil, fmt.Errorf("kms: key %q is not a key of this service", keyID)
		}
	}
	s.mu.RLock()
	k := s.keys[id]
	s.mu.RUnlock()
	if k == nil {
		return nil, fmt.Errorf("kms: key %q is missing from %s", keyID, s.path)
	}
	return k, nil
}

// Seal seals plaintext (a data key) under the master key keyID (S3KeyID or
// an ARN returned by ResolveKey), bound to aad.
func (s *Service) Seal(keyID string, plaintext, aad []byte) ([]byte, error) {
	k, err := s.key(keyID)
	if err != nil {
		return nil, err
	}
	return k.kek.Seal(plaintext, aad)
}

// Open reverses Seal. A value sealed under another key or with another aad
// fails with sse.ErrWrongKey.
func (s *Service) Open(keyID string, sealed, aad []byte) ([]byte, error) {
	k, err := s.key(keyID)
	if err != nil {
		return nil, err
	}
	return k.kek.Open(sealed, aad)
}
