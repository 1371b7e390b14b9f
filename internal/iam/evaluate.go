package iam

import (
	"context"
	"strings"

	"github.com/sluicehq/sluice/internal/iam/policy"
	"github.com/sluicehq/sluice/internal/meta"
)

// AnonymousID is the canonical user ID S3 reports as the owner of what
// unsigned requests create, and AnonymousName its display name.
const (
	AnonymousID   = "65a011a29cdf8ec533ec3d1ccaae921c"
	AnonymousName = "anonymous"
)

// Anonymous returns the principal of unsigned requests: it is granted only
// what ACLs and resource policies grant everyone.
func Anonymous() *Principal {
	return &Principal{Anonymous: true, ID: AnonymousID, DisplayName: AnonymousName}
}

// Evaluate decides what p's identity-based permissions say about action
// (for example "s3:GetObject") on resource (an ARN): Allowed for the
// account's own authority — the root, and a function for data-plane
// actions (S3, invoking and reading functions) until roles are
// enforced — and NoMatch for users and anonymous requests, which have no
// identity policies yet. It is the one seam identity policies will plug
// into; reqCtx holds the request's condition keys (nil: none).
func (s *Service) Evaluate(p *Principal, action, resource string, reqCtx policy.Context) policy.Decision {
	switch {
	case p.IsRoot():
		return policy.Allowed
	case p.IsFunction() && (action == "lambda:InvokeFunction" || strings.HasPrefix(action, "s3:") ||
		strings.HasPrefix(action, "lambda:Get") || strings.HasPrefix(action, "lambda:List")):
		return policy.Allowed
	}
	return policy.NoMatch
}

// PolicyPrincipal describes p the way resource policies name principals.
func (p *Principal) PolicyPrincipal() policy.Principal {
	if p.Anonymous {
		return policy.Principal{Anonymous: true}
	}
	return policy.Principal{
		Account:          p.AccountID,
		ARN:              p.ARN,
		CanonicalID:      p.ID,
		AccountAuthority: p.IsRoot() || p.IsFunction(),
	}
}

// Context adds the global condition keys that describe p to c:
// aws:username, aws:userid, aws:PrincipalArn, aws:PrincipalAccount and
// aws:PrincipalType (none of them for anonymous requests but the type).
func (p *Principal) Context(c policy.Context) {
	switch {
	case p.Anonymous:
		c.Set("aws:PrincipalType", "Anonymous")
		c.Set("aws:userid", "anonymous")
		return
	case p.IsFunction():
		c.Set("aws:PrincipalType", "AssumedRole")
		c.Set("aws:userid", p.UserID)
	case p.IsRoot():
		c.Set("aws:PrincipalType", "Account")
		c.Set("aws:userid", p.AccountID)
	default:
		c.Set("aws:PrincipalType", "User")
		c.Set("aws:username", p.UserName)
		c.Set("aws:userid", p.UserID)
	}
	c.Set("aws:PrincipalArn", p.ARN)
	c.Set("aws:PrincipalAccount", p.AccountID)
}

// CanonicalNames returns the display name of every canonical user ID the
// node knows: the root's, each user's (its name) and the anonymous
// principal's.
func (s *Service) CanonicalNames(ctx context.Context) (map[string]string, error) {
	root := s.Root()
	names := map[string]string{root.ID: root.DisplayName, AnonymousID: AnonymousName}
	err := s.meta.View(ctx, func(tx meta.Tx) error {
		for u, err := range tx.Users() {
			if err != nil {
				return err
			}
			names[CanonicalID(s.accountID, u.ID)] = u.Name
		}
		return nil
	})
	return names, err
}

// KnownPrincipal reports whether a principal a resource policy names
// exists: kind "CanonicalUser" takes a canonical user ID (the root's or a
// user's), kind "AWS" an account ID or an IAM ARN — another account's
// principals are taken on trust, this account's users must exist.
func (s *Service) KnownPrincipal(ctx context.Context, kind, value string) (bool, error) {
	switch kind {
	case "CanonicalUser":
		names, err := s.CanonicalNames(ctx)
		if err != nil {
			return false, err
		}
		_, ok := names[value]
		return ok && value != AnonymousID, nil
	case "AWS":
		prefix := "arn:aws:iam::" + s.accountID + ":user/"
		if !strings.HasPrefix(value, prefix) {
			return true, nil
		}
		found := false
		err := s.meta.View(ctx, func(tx meta.Tx) error {
			for u, err := range tx.Users() {
				if err != nil {
					return err
				}
				if u.ARN == value {
					found = true
					return nil
				}
			}
			return nil
		})
		return found, err
	}
	return true, nil
}
