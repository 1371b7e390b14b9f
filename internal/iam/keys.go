package iam

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/sluicehq/sluice/internal/meta"
)

// Access key statuses.
const (
	StatusActive   = "Active"
	StatusInactive = "Inactive"
)

// MaxAccessKeys is how many access keys a user (or the root) may have.
const MaxAccessKeys = 2

// CreateAccessKey creates an active access key for the named user, or for
// the root when userName is "" (the configured root key counts towards the
// root's quota). Errors: NoSuchEntity; LimitExceeded when the user already
// has MaxAccessKeys keys.
func (s *Service) CreateAccessKey(ctx context.Context, userName string) (*meta.AccessKey, error) {
	if err := checkOptionalUserName(userName); err != nil {
		return nil, err
	}
	for {
		k := &meta.AccessKey{
			ID:      "AKIA" + randomString(16, idChars),
			Secret:  randomString(40, secretChars),
			Status:  StatusActive,
			Created: s.timestamp(),
		}
		if k.ID == s.rootKey {
			continue
		}
		err := s.meta.Update(ctx, func(tx meta.Tx) error {
			owner, err := s.keyOwner(tx, userName)
			if err != nil {
				return err
			}
			k.UserName = owner
			n := 0
			if owner == "" {
				n++ // the configured root key
			}
			for _, err := range tx.AccessKeys(owner) {
				if err != nil {
					return err
				}
				n++
			}
			if n >= MaxAccessKeys {
				return newErr("LimitExceeded", "Cannot exceed quota for AccessKeysPerUser: %d", MaxAccessKeys)
			}
			return tx.PutAccessKey(k, true)
		})
		if errors.Is(err, meta.ErrAccessKeyExists) {
			continue // a generated ID collided: draw another
		}
		if err != nil {
			return nil, err
		}
		return k, nil
	}
}

// ListAccessKeysInput selects a page of ListAccessKeys.
type ListAccessKeysInput struct {
	// UserName is the user whose keys to list; "" lists the root's
	// (including the configured root key, which has no creation date).
	UserName string
	Marker   string
	// MaxItems is the page size, 1–1000: use DefaultMaxItems when the
	// caller gives none.
	MaxItems int
}

// ListAccessKeys returns a page of a user's access keys (oldest first) and,
// if truncated, the marker of the next page. Secrets are cleared. Errors:
// NoSuchEntity.
func (s *Service) ListAccessKeys(ctx context.Context, in ListAccessKeysInput) (keys []*meta.AccessKey, next string, err error) {
	var v violations
	if in.UserName != "" {
		v.userName("userName", in.UserName, maxUserName)
	}
	v.marker(in.Marker)
	v.maxItems(in.MaxItems)
	if err := v.err(); err != nil {
		return nil, "", err
	}
	after, err := decodeMarker(in.Marker)
	if err != nil {
		return nil, "", err
	}
	err = s.meta.View(ctx, func(tx meta.Tx) error {
		keys = keys[:0]
		owner, err := s.keyOwner(tx, in.UserName)
		if err != nil {
			return err
		}
		if owner == "" {
			keys = append(keys, &meta.AccessKey{ID: s.rootKey, Status: StatusActive})
		}
		for k, err := range tx.AccessKeys(owner) {
			if err != nil {
				return err
			}
			keys = append(keys, k)
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	slices.SortStableFunc(keys, func(a, b *meta.AccessKey) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	if in.Marker != "" {
		i := slices.IndexFunc(keys, func(k *meta.AccessKey) bool { return k.ID == after })
		keys = keys[i+1:] // a marker that matches nothing restarts the listing
	}
	if len(keys) > in.MaxItems {
		keys = keys[:in.MaxItems]
		next = encodeMarker(keys[len(keys)-1].ID)
	}
	for i, k := range keys {
		c := *k
		c.Secret = ""
		keys[i] = &c
	}
	return keys, next, nil
}

// UpdateAccessKey sets the status (Active or Inactive) of an access key of
// the named user ("" for the root). An inactive key is refused by every
// API at once. Errors: ValidationError; NoSuchEntity if the user does not
// exist or the key is not one of the user's; UnmodifiableEntity for the
// configured root key.
func (s *Service) UpdateAccessKey(ctx context.Context, userName, keyID, status string) error {
	var v violations
	if userName != "" {
		v.userName("userName", userName, maxUserName)
	}
	if keyID == "" {
		v.required("accessKeyId")
	} else {
		v.keyID("accessKeyId", keyID)
	}
	switch status {
	case "":
		v.required("status")
	case StatusActive, StatusInactive, "Expired":
	default:
		v.add("status", &status, "Member must satisfy enum value set: [Active, Inactive, Expired]")
	}
	if err := v.err(); err != nil {
		return err
	}
	if status == "Expired" {
		return newErr("InvalidInput", "Access key status Expired cannot be set; use Active or Inactive.")
	}
	return s.meta.Update(ctx, func(tx meta.Tx) error {
		k, err := s.userKey(tx, userName, keyID)
		if err != nil {
			return err
		}
		if k.Status == status {
			return nil
		}
		k.Status = status
		return tx.PutAccessKey(k, false)
	})
}

// DeleteAccessKey deletes an access key of the named user ("" for the
// root). Errors: as UpdateAccessKey.
func (s *Service) DeleteAccessKey(ctx context.Context, userName, keyID string) error {
	var v violations
	if userName != "" {
		v.userName("userName", userName, maxUserName)
	}
	if keyID == "" {
		v.required("accessKeyId")
	} else {
		v.keyID("accessKeyId", keyID)
	}
	if err := v.err(); err != nil {
		return err
	}
	return s.meta.Update(ctx, func(tx meta.Tx) error {
		k, err := s.userKey(tx, userName, keyID)
		if err != nil {
			return err
		}
		return tx.DeleteAccessKey(k.ID)
	})
}

// keyOwner resolves the user name keys are filed under: the stored name of
// the named user, or "" for the root.
func (s *Service) keyOwner(tx meta.Tx, userName string) (string, error) {
	if userName == "" {
		return "", nil
	}
	u, err := findUser(tx, userName)
	if err != nil {
		return "", err
	}
	return u.Name, nil
}

// userKey returns a stored key that belongs to the named user ("" for the
// root).
func (s *Service) userKey(tx meta.Tx, userName, keyID string) (*meta.AccessKey, error) {
	owner, err := s.keyOwner(tx, userName)
	if err != nil {
		return nil, err
	}
	if owner == "" && keyID == s.rootKey {
		return nil, newErr("UnmodifiableEntity",
			"The access key %s is sluice's configured root key; change it in the server configuration.", keyID)
	}
	k, err := tx.AccessKey(keyID)
	if errors.Is(err, meta.ErrNoSuchAccessKey) || (err == nil && k.UserName != owner) {
		return nil, noSuchKey(keyID)
	}
	return k, err
}

// checkOptionalUserName validates a user name that may be omitted.
func checkOptionalUserName(name string) error {
	if name == "" {
		return nil
	}
	var v violations
	v.userName("userName", name, maxUserName)
	return v.err()
}
