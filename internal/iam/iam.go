// Package iam resolves credentials to principals, manages the IAM users and
// access keys kept in the metadata store, and decides who may act on what.
// Today the account root may do everything and users only what resource
// policies and ACLs grant them; identity policies will plug in behind
// Evaluate, which Authorize uses. The policy language is package policy.
package iam

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"

	"github.com/sluicehq/sluice/internal/iam/policy"
	"github.com/sluicehq/sluice/internal/meta"
	"github.com/sluicehq/sluice/internal/sigv4"
)

// Principal is an authenticated identity.
type Principal struct {
	AccountID   string
	AccessKeyID string
	// UserName is the IAM user, "" for the account root.
	UserName string
	// UserID is the IAM user's unique ID (AIDA...), the account ID for the
	// root.
	UserID string
	// ID is the canonical user ID S3 reports as owner (64 hex digits).
	ID string
	// DisplayName is the owner display name S3 reports.
	DisplayName string
	ARN         string
	// FunctionARN is set for the principal of a function's own access
	// key (see PutFunctionKey), with RoleARN its execution role. Such a
	// principal has no UserName: for now it acts with the account's
	// authority, like the root.
	FunctionARN string
	RoleARN     string
	// Anonymous marks the principal of unsigned requests (see Anonymous).
	Anonymous bool
}

// IsRoot reports whether p has the account root's authority: the root
// itself, or a function (see FunctionARN).
func (p *Principal) IsRoot() bool { return p.UserName == "" && p.FunctionARN == "" && !p.Anonymous }

// IsFunction reports whether p is a function's principal.
func (p *Principal) IsFunction() bool { return p.FunctionARN != "" }

// CanonicalID returns the S3 canonical user ID of a principal of an
// account: of the root for userID "", else of the user with that unique ID.
// It derives from the user's unique ID, not its name, so a user created
// again under a deleted user's name does not own the deleted user's
// buckets.
func CanonicalID(accountID, userID string) string {
	sum := sha256.Sum256([]byte("sluice:" + accountID + ":" + userID))
	return hex.EncodeToString(sum[:])
}

// Service resolves access keys and manages IAM users and access keys.
type Service struct {
	meta       meta.Store
	accountID  string
	rootKey    string
	rootSecret string
	now        func() time.Time

	// rootID and rootARN are the root's canonical ID and ARN, computed
	// once: every request by the root needs them.
	rootID, rootARN string
}

var _ sigv4.CredentialStore = (*Service)(nil)

// New returns a Service for an account whose root credentials are
// rootKey/rootSecret; other keys are looked up in m.
func New(m meta.Store, accountID, rootKey, rootSecret string) *Service {
	return &Service{meta: m, accountID: accountID, rootKey: rootKey, rootSecret: rootSecret, now: time.Now,
		rootID: CanonicalID(accountID, ""), rootARN: "arn:aws:iam::" + accountID + ":root"}
}

// AccountID is the account every principal belongs to.
func (s *Service) AccountID() string { return s.accountID }

// RootARN is the ARN of the account root.
func (s *Service) RootARN() string { return s.rootARN }

// UserARN is the ARN of a user with the given path ("" means "/").
func (s *Service) UserARN(path, name string) string {
	if path == "" {
		path = "/"
	}
	return "arn:aws:iam::" + s.accountID + ":user" + path + name
}

// Root returns the account root principal.
func (s *Service) Root() *Principal {
	return &Principal{
		AccountID:   s.accountID,
		AccessKeyID: s.rootKey,
		UserID:      s.accountID,
		ID:          s.rootID,
		DisplayName: "sluice",
		ARN:         s.rootARN,
	}
}

// Secret implements sigv4.CredentialStore: the configured root key, or an
// active stored key. An inactive or unknown key is ErrInvalidAccessKeyID.
func (s *Service) Secret(ctx context.Context, accessKeyID string) (string, error) {
	if accessKeyID == s.rootKey {
		return s.rootSecret, nil
	}
	k, _, fk, err := s.activeKey(ctx, accessKeyID)
	if err != nil {
		return "", err
	}
	if fk != nil {
		return fk.Secret, nil
	}
	return k.Secret, nil
}

// activeKey returns an active stored key and its user (nil for a root
// key), or a function's key; ErrInvalidAccessKeyID if the key is unknown,
// inactive or orphaned.
func (s *Service) activeKey(ctx context.Context, id string) (*meta.AccessKey, *meta.User, *functionKey, error) {
	var (
		k  *meta.AccessKey
		u  *meta.User
		fk *functionKey
	)
	err := s.meta.View(ctx, func(tx meta.Tx) error {
		var err error
		k, err = tx.AccessKey(id)
		if errors.Is(err, meta.ErrNoSuchAccessKey) {
			if fk, err = functionKeyByID(tx, id); errors.Is(err, meta.ErrNoSuchDoc) {
				return meta.ErrNoSuchAccessKey
			}
			return err
		}
		if err != nil {
			return err
		}
		if k.UserName == "" {
			return nil
		}
		u, err = tx.User(k.UserName)
		return err
	})
	switch {
	case errors.Is(err, meta.ErrNoSuchAccessKey), errors.Is(err, meta.ErrNoSuchUser):
		return nil, nil, nil, sigv4.ErrInvalidAccessKeyID
	case err != nil:
		return nil, nil, nil, err
	case fk != nil:
		return nil, nil, fk, nil
	case k.Status != StatusActive:
		return nil, nil, nil, sigv4.ErrInvalidAccessKeyID
	}
	return k, u, nil, nil
}

// Principal returns the principal an access key belongs to.
func (s *Service) Principal(ctx context.Context, accessKeyID string) (*Principal, error) {
	if accessKeyID == s.rootKey {
		return s.Root(), nil
	}
	k, u, fk, err := s.activeKey(ctx, accessKeyID)
	if err != nil {
		return nil, err
	}
	if fk != nil {
		return s.functionPrincipal(fk), nil
	}
	if u == nil {
		p := s.Root()
		p.AccessKeyID = k.ID
		return p, nil
	}
	return &Principal{
		AccountID:   s.accountID,
		AccessKeyID: accessKeyID,
		UserName:    u.Name,
		UserID:      u.ID,
		ID:          CanonicalID(s.accountID, u.ID),
		DisplayName: u.Name,
		ARN:         u.ARN,
	}, nil
}

// Authorize decides whether p may perform the IAM action (for example
// "iam:CreateUser") on resource (an ARN). It is the one place IAM API
// permissions are decided: today only the account root is allowed; a
// refusal is an ErrAccessDenied error carrying AWS's message.
func (s *Service) Authorize(p *Principal, action, resource string) error {
	if s.Evaluate(p, action, resource, nil) == policy.Allowed {
		return nil
	}
	return newErr("AccessDenied",
		"User: %s is not authorized to perform: %s on resource: %s because no identity-based policy allows the %s action",
		p.ARN, action, resource, action)
}

// CanAccessBucket reports whether p may act on a bucket owned by the
// canonical user ownerID on its own authority (ACLs and bucket policies
// aside): the root may act on everything, a user on what it owns.
func CanAccessBucket(p *Principal, ownerID string) bool {
	return p.IsRoot() || p.IsFunction() || (!p.Anonymous && p.ID == ownerID)
}
