// Package iam resolves credentials to principals and decides who may act on
// what. Today it knows the root credentials of the account and the IAM
// users and access keys kept in the metadata store; policies will plug in
// behind Authorize.
package iam

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"

	"github.com/sluicehq/sluice/internal/meta"
	"github.com/sluicehq/sluice/internal/sigv4"
)

// Principal is an authenticated identity.
type Principal struct {
	AccountID   string
	AccessKeyID string
	// UserName is the IAM user, "" for the account root.
	UserName string
	// ID is the canonical user ID S3 reports as owner (64 hex digits).
	ID string
	// DisplayName is the owner display name S3 reports.
	DisplayName string
	ARN         string
}

// IsRoot reports whether p is the account root.
func (p *Principal) IsRoot() bool { return p.UserName == "" }

// CanonicalID returns the S3 canonical user ID of a user of an account
// ("" for the root).
func CanonicalID(accountID, userName string) string {
	sum := sha256.Sum256([]byte("sluice:" + accountID + ":" + userName))
	return hex.EncodeToString(sum[:])
}

// Service resolves access keys.
type Service struct {
	meta       meta.Store
	accountID  string
	rootKey    string
	rootSecret string
}

var _ sigv4.CredentialStore = (*Service)(nil)

// New returns a Service for an account whose root credentials are
// rootKey/rootSecret; other keys are looked up in m.
func New(m meta.Store, accountID, rootKey, rootSecret string) *Service {
	return &Service{meta: m, accountID: accountID, rootKey: rootKey, rootSecret: rootSecret}
}

// AccountID is the account every principal belongs to.
func (s *Service) AccountID() string { return s.accountID }

// Root returns the account root principal.
func (s *Service) Root() *Principal {
	return &Principal{
		AccountID:   s.accountID,
		AccessKeyID: s.rootKey,
		ID:          CanonicalID(s.accountID, ""),
		DisplayName: "sluice",
		ARN:         "arn:aws:iam::" + s.accountID + ":root",
	}
}

// Secret implements sigv4.CredentialStore: the root key, or an active IAM
// user key.
func (s *Service) Secret(ctx context.Context, accessKeyID string) (string, error) {
	if accessKeyID == s.rootKey {
		return s.rootSecret, nil
	}
	k, err := s.key(ctx, accessKeyID)
	if err != nil {
		return "", err
	}
	return k.Secret, nil
}

func (s *Service) key(ctx context.Context, id string) (*meta.AccessKey, error) {
	var k *meta.AccessKey
	err := s.meta.View(ctx, func(tx meta.Tx) error {
		var err error
		k, err = tx.AccessKey(id)
		return err
	})
	if errors.Is(err, meta.ErrNoSuchAccessKey) || (err == nil && k.Status != "Active") {
		return nil, sigv4.ErrInvalidAccessKeyID
	}
	return k, err
}

// Principal returns the principal an access key belongs to.
func (s *Service) Principal(ctx context.Context, accessKeyID string) (*Principal, error) {
	if accessKeyID == s.rootKey {
		return s.Root(), nil
	}
	k, err := s.key(ctx, accessKeyID)
	if err != nil {
		return nil, err
	}
	return &Principal{
		AccountID:   s.accountID,
		AccessKeyID: accessKeyID,
		UserName:    k.UserName,
		ID:          CanonicalID(s.accountID, k.UserName),
		DisplayName: k.UserName,
		ARN:         "arn:aws:iam::" + s.accountID + ":user/" + k.UserName,
	}, nil
}

// ErrAccessDenied is returned by Authorize.
var ErrAccessDenied = errors.New("iam: access denied")

// CanAccessBucket reports whether p may act on a bucket owned by the
// canonical user ownerID: the root may act on everything, a user on what it
// owns.
func CanAccessBucket(p *Principal, ownerID string) bool {
	return p.IsRoot() || p.ID == ownerID
}
