package iam

import (
	"crypto/sha256"
	"encoding/base32"
	"strings"
)

// PrincipalID identifies p as AWS's event records and request contexts do
// (S3 notifications' userIdentity.principalId): the account ID for the
// root, "AWS:" and the unique ID (AIDA…) for an IAM user, "AWS:" and the
// role ID (AROA…) and the session name — the function's name — for a
// function acting with its role, "ANONYMOUS_PRINCIPAL" for unsigned
// requests. A role's ID is derived from its ARN (sluice keeps no roles).
func (p *Principal) PrincipalID() string {
	switch {
	case p.Anonymous:
		return "ANONYMOUS_PRINCIPAL"
	case p.FunctionARN != "":
		fn := p.FunctionARN[strings.LastIndex(p.FunctionARN, ":")+1:]
		return "AWS:" + RoleID(p.RoleARN) + ":" + fn
	case p.UserName != "":
		return "AWS:" + p.UserID
	}
	return p.AccountID
}

// RoleID is the unique ID sluice reports for a role ARN: "AROA" and 17
// characters of A–Z and 2–7, as AWS's role IDs look, derived from the ARN.
func RoleID(roleARN string) string {
	sum := sha256.Sum256([]byte("sluice-role:" + roleARN))
	return "AROA" + base32.StdEncoding.EncodeToString(sum[:])[:17]
}
