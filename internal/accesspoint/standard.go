package accesspoint

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/sluicehq/sluice/internal/meta"
)

// CreateInput is a CreateAccessPoint request.
type CreateInput struct {
	Name   string
	Bucket string
	// BucketAccountID, if set, must be the account's.
	BucketAccountID string
	VPCID           string
	// PublicAccessBlock nil means AllBlocked.
	PublicAccessBlock *PublicAccessBlock
}

// Create creates a standard access point over an existing bucket. Errors:
// InvalidURI and InvalidRequest (name, bucket), AccessPointAlreadyOwnedByYou,
// TooManyAccessPoints.
func (s *Service) Create(ctx context.Context, in *CreateInput) (*AccessPoint, error) {
	if err := checkName(in.Name); err != nil {
		return nil, err
	}
	if in.BucketAccountID != "" && in.BucketAccountID != s.account {
		return nil, errorf("InvalidRequest", "BucketAccountId parameter should be same as the AWS Account Id of bucket owner")
	}
	ap := &AccessPoint{
		Name: in.Name, Bucket: in.Bucket, VPCID: in.VPCID,
		Created: s.now().UTC().Truncate(1e9), PublicAccessBlock: AllBlocked,
	}
	if in.PublicAccessBlock != nil {
		ap.PublicAccessBlock = *in.PublicAccessBlock
	}
	alias := newAlias(in.Name, aliasSuffix)
	ap.Alias = alias
	err := s.meta.Update(ctx, func(tx meta.Tx) error {
		if _, err := tx.Bucket(in.Bucket); err != nil {
			if errors.Is(err, meta.ErrNoSuchBucket) {
				return ErrNoSuchBucket
			}
			return err
		}
		return insertWithAlias(tx, kindAccessPoint, kindAlias, maxAccessPoints, ap.Name, alias, ap)
	})
	if err != nil {
		return nil, err
	}
	s.log.Info("access point created", "name", ap.Name, "bucket", ap.Bucket, "alias", ap.Alias,
		"arn_host", ap.Name+"-"+s.account+".<endpoint host>")
	return ap, nil
}

// Get returns the standard access point named name, which may also be its
// alias. Errors: NoSuchAccessPoint.
func (s *Service) Get(ctx context.Context, name string) (*AccessPoint, error) {
	var ap *AccessPoint
	err := s.meta.View(ctx, func(tx meta.Tx) error {
		var err error
		ap, err = getAccessPoint(tx, name)
		return err
	})
	return ap, err
}

func getAccessPoint(tx meta.Tx, name string) (*AccessPoint, error) {
	return getByNameOrAlias[AccessPoint](tx, kindAccessPoint, kindAlias, name, IsAlias(name))
}

// Delete deletes a standard access point. Errors: NoSuchAccessPoint.
func (s *Service) Delete(ctx context.Context, name string) error {
	err := s.meta.Update(ctx, func(tx meta.Tx) error {
		return deleteWithAlias(tx, kindAccessPoint, kindAlias, name, func(ap *AccessPoint) string { return ap.Alias })
	})
	if err == nil {
		s.log.Info("access point deleted", "name", name)
	}
	return err
}

// List returns up to max access points in name order after the page token
// (of the bucket, if set) and the token of the next page ("" at the end).
// Errors: InvalidRequest (token).
func (s *Service) List(ctx context.Context, bucket, token string, max int) ([]*AccessPoint, string, error) {
	after, err := decodeToken(token)
	if err != nil {
		return nil, "", err
	}
	if max <= 0 || max > defaultListMax {
		max = defaultListMax
	}
	var (
		aps  []*AccessPoint
		next string
	)
	err = s.meta.View(ctx, func(tx meta.Tx) error {
		aps, next = nil, ""
		for d, err := range tx.Docs(kindAccessPoint, meta.ListOptions{After: after}) {
			if err != nil {
				return err
			}
			ap := new(AccessPoint)
			if err := json.Unmarshal(d.Value, ap); err != nil {
				return err
			}
			if bucket != "" && ap.Bucket != bucket {
				continue
			}
			if len(aps) == max {
				next = encodeToken(aps[len(aps)-1].Name)
				break
			}
			aps = append(aps, ap)
		}
		return nil
	})
	return aps, next, err
}

// PutPolicy sets an access point's policy: a JSON document of at most
// 20 KB, kept verbatim (enforcement comes with IAM policies). Errors:
// NoSuchAccessPoint, MalformedPolicy.
func (s *Service) PutPolicy(ctx context.Context, name, policy string) error {
	if len(policy) > maxPolicySize {
		return ErrPolicyTooLarge
	}
	trimmed := bytes.TrimSpace([]byte(policy))
	if len(trimmed) == 0 || trimmed[0] != '{' || !json.Valid(trimmed) {
		return ErrMalformedPolicy
	}
	var doc map[string]json.RawMessage
	if json.Unmarshal(trimmed, &doc) != nil || doc["Statement"] == nil {
		return errorf("MalformedPolicy", "Missing required field Statement")
	}
	return s.updateAccessPoint(ctx, name, func(ap *AccessPoint) error {
		ap.Policy = policy
		return nil
	})
}

// Policy returns an access point's policy. Errors: NoSuchAccessPoint,
// NoSuchAccessPointPolicy.
func (s *Service) Policy(ctx context.Context, name string) (string, error) {
	ap, err := s.Get(ctx, name)
	if err != nil {
		return "", err
	}
	if ap.Policy == "" {
		return "", ErrNoSuchAccessPointPolicy
	}
	return ap.Policy, nil
}

// DeletePolicy removes an access point's policy (none is not an error).
// Errors: NoSuchAccessPoint.
func (s *Service) DeletePolicy(ctx context.Context, name string) error {
	return s.updateAccessPoint(ctx, name, func(ap *AccessPoint) error {
		ap.Policy = ""
		return nil
	})
}

func (s *Service) updateAccessPoint(ctx context.Context, name string, fn func(*AccessPoint) error) error {
	return s.meta.Update(ctx, func(tx meta.Tx) error {
		ap, err := getDoc[AccessPoint](tx, kindAccessPoint, name)
		if err != nil {
			return notFound(err, ErrNoSuchAccessPoint)
		}
		if err := fn(ap); err != nil {
			return err
		}
		return putDoc(tx, kindAccessPoint, name, ap)
	})
}

// HostLabel returns the access point name a virtual host label of the form
// "<name>-<account>" (the host SDKs build for access point ARNs) names, or
// "" if label is not of that form for this account.
func (s *Service) HostLabel(label string) string {
	name, ok := strings.CutSuffix(label, "-"+s.account)
	if !ok || len(name) < minNameLen {
		return ""
	}
	return name
}
