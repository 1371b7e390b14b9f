package policy

import "strings"

// IsPublic reports whether the policy is public in S3's sense (Block
// Public Access, GetBucketPolicyStatus): some Allow statement grants to
// everyone — Principal "*" or a NotPrincipal — without a condition that
// pins the requester to fixed values.
func (p *Policy) IsPublic() bool {
	if p == nil {
		return false
	}
	for _, s := range p.Statements {
		if s.IsPublic() {
			return true
		}
	}
	return false
}

// IsPublic reports whether the statement alone makes a policy public.
func (s *Statement) IsPublic() bool {
	if s.Effect != Allow {
		return false
	}
	if !(s.NotPrincipal != nil || (s.Principal != nil && s.Principal.Any)) {
		return false
	}
	for i := range s.Conditions {
		if s.Conditions[i].restricts() {
			return false
		}
	}
	return true
}

// fixedKeys are the condition keys whose fixed values make a statement
// non-public (S3's "The meaning of public").
var fixedKeys = map[string]bool{
	"aws:sourcearn": true, "aws:sourcevpc": true, "aws:sourcevpce": true, "aws:sourceaccount": true,
	"aws:sourceowner": true, "aws:userid": true, "aws:principalarn": true, "aws:principalaccount": true,
	"aws:principalorgid": true, "aws:sourceorgid": true, "aws:sourceip": true,
	"s3:dataaccesspointarn": true, "s3:dataaccesspointaccount": true,
}

// restricts reports whether a condition pins the requester to fixed
// values: a non-negated equality on a fixed key, without wildcards, and
// for aws:SourceIp with blocks no wider than /8 (IPv4) or /32 (IPv6).
func (c *Condition) restricts() bool {
	if !fixedKeys[c.key] || c.op.negated || c.ifExists || c.set == "ForAllValues" || len(c.Values) == 0 {
		return false
	}
	switch c.op.kind {
	case kindString, kindStringIgnoreCase, kindStringLike, kindARN, kindARNLike:
		if c.key == "aws:sourceip" {
			return false
		}
		for _, v := range c.Values {
			if strings.ContainsAny(v, "*?") || strings.Contains(v, "${") {
				return false
			}
		}
		return true
	case kindIP:
		for _, v := range c.Values {
			p, err := parsePrefix(v)
			if err != nil || (p.Addr().Is4() && p.Bits() < 8) || (p.Addr().Is6() && p.Bits() < 32) {
				return false
			}
		}
		return true
	}
	return false
}
