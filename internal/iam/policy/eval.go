package policy

import "strings"

// Decision is the outcome of evaluating a policy for a request.
type Decision int

// Decisions. NoMatch is an implicit deny: nothing in the policy speaks to
// the request, and another policy (or an ACL) may still allow it.
const (
	NoMatch Decision = iota
	Allowed
	Denied
)

func (d Decision) String() string {
	switch d {
	case Allowed:
		return "Allow"
	case Denied:
		return "Deny"
	}
	return "NoMatch"
}

// Principal is who makes a request, as policies name principals.
type Principal struct {
	// Anonymous is an unsigned request: only "*" matches it.
	Anonymous bool
	// Account is the 12-digit account the principal belongs to.
	Account string
	// ARN is the principal's ARN (arn:aws:iam::<account>:root for the
	// account root, :user/<path><name> for users, an sts assumed-role
	// ARN for role sessions).
	ARN string
	// CanonicalID is the S3 canonical user ID.
	CanonicalID string
	// AccountAuthority reports that the principal acts with the whole
	// account's authority (the root): an Allow naming the account
	// applies to it. Naming an account in an Allow delegates to the
	// account, whose other principals need identity policies of their
	// own; a Deny naming the account applies to all of them.
	AccountAuthority bool
}

// Request is what a policy is evaluated against.
type Request struct {
	Principal Principal
	// Action is "service:Name", for example "s3:GetObject".
	Action string
	// Resource is the ARN acted on.
	Resource string
	// Context holds the request's condition keys.
	Context Context
	// NoPublicAllow disregards every Allow statement of a public policy
	// (S3's RestrictPublicBuckets, for principals outside the bucket
	// owner's account).
	NoPublicAllow bool
}

// Evaluate returns Denied if a Deny statement applies to r, else Allowed
// if an Allow statement does, else NoMatch.
func (p *Policy) Evaluate(r *Request) Decision {
	if p == nil {
		return NoMatch
	}
	d := NoMatch
	skipAllow := r.NoPublicAllow && p.IsPublic()
	for _, s := range p.Statements {
		if s.Effect == Allow && (d == Allowed || skipAllow) {
			continue
		}
		if !s.applies(p.Version, r) {
			continue
		}
		if s.Effect == Deny {
			return Denied
		}
		d = Allowed
	}
	return d
}

// applies reports whether a statement speaks to the request.
func (s *Statement) applies(version string, r *Request) bool {
	deny := s.Effect == Deny
	switch {
	case s.Principal != nil && !s.Principal.matches(&r.Principal, deny):
		return false
	case s.NotPrincipal != nil && s.NotPrincipal.matches(&r.Principal, deny):
		return false
	}
	if s.Action != nil && !matchAction(s.Action, r.Action) {
		return false
	}
	if s.NotAction != nil && matchAction(s.NotAction, r.Action) {
		return false
	}
	var vars func(string) (string, bool)
	if version == Version2012 {
		vars = func(name string) (string, bool) {
			v, ok := r.Context[CanonicalKey(name)]
			if !ok || len(v) == 0 {
				return "", false
			}
			return v[0], true
		}
	}
	if s.Resource != nil && !matchResource(s.Resource, r.Resource, vars) {
		return false
	}
	if s.NotResource != nil && matchResource(s.NotResource, r.Resource, vars) {
		return false
	}
	for i := range s.Conditions {
		if !s.Conditions[i].holds(r.Context, vars) {
			return false
		}
	}
	return true
}

func matchAction(patterns []string, action string) bool {
	a := strings.ToLower(action)
	for _, p := range patterns {
		if p == "*" || Match(strings.ToLower(p), a) {
			return true
		}
	}
	return false
}

func matchResource(patterns []string, resource string, vars func(string) (string, bool)) bool {
	for _, p := range patterns {
		if vars != nil {
			var ok bool
			if p, ok = substitute(p, vars); !ok {
				continue
			}
		}
		if p == "*" || Match(p, resource) {
			return true
		}
	}
	return false
}

// matches reports whether a Principal element names the request's
// principal. deny selects how an account is read: in a Deny it covers
// every principal of the account, in an Allow only the account's own
// authority (see Principal.AccountAuthority).
func (ps *Principals) matches(p *Principal, deny bool) bool {
	if ps.Any {
		return true
	}
	if p.Anonymous {
		return false
	}
	for _, v := range ps.AWS {
		if account, ok := accountOf(v); ok {
			if account == p.Account && (deny || p.AccountAuthority) {
				return true
			}
			continue
		}
		if v == p.ARN {
			return true
		}
	}
	for _, v := range ps.CanonicalUser {
		if v == p.CanonicalID {
			return true
		}
	}
	return false
}

// accountOf returns the account an account principal ("123456789012" or
// "arn:aws:iam::123456789012:root") names.
func accountOf(v string) (string, bool) {
	if reAccountID.MatchString(v) {
		return v, true
	}
	if a, ok := strings.CutPrefix(v, "arn:aws:iam::"); ok {
		if acct, rest, ok := strings.Cut(a, ":"); ok && rest == "root" {
			return acct, true
		}
	}
	return "", false
}
