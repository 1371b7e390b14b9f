package policy_test

import (
	"testing"

	"github.com/sluicehq/sluice/internal/iam/policy"
)

var (
	anonymous = policy.Principal{Anonymous: true}
	root      = policy.Principal{Account: account, ARN: "arn:aws:iam::" + account + ":root", CanonicalID: rootID, AccountAuthority: true}
	alice     = policy.Principal{Account: account, ARN: "arn:aws:iam::" + account + ":user/alice", CanonicalID: aliceID}
)

func ctx(kv ...string) policy.Context {
	c := policy.Context{}
	for i := 0; i+1 < len(kv); i += 2 {
		c.Set(kv[i], append(c[policy.CanonicalKey(kv[i])], kv[i+1])...)
	}
	return c
}

func TestEvaluate(t *testing.T) {
	const objects = "arn:aws:s3:::photos/*"
	for _, tc := range []struct {
		name   string
		policy string
		req    policy.Request
		want   policy.Decision
	}{
		{"allow-everyone-anonymous",
			stmt(`"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"` + objects + `"`),
			policy.Request{Principal: anonymous, Action: "s3:GetObject", Resource: "arn:aws:s3:::photos/a"}, policy.Allowed},
		{"aws-star-covers-anonymous",
			stmt(`"Effect":"Allow","Principal":{"AWS":"*"},"Action":"s3:GetObject","Resource":"` + objects + `"`),
			policy.Request{Principal: anonymous, Action: "s3:GetObject", Resource: "arn:aws:s3:::photos/a"}, policy.Allowed},
		{"action-mismatch",
			stmt(`"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"` + objects + `"`),
			policy.Request{Principal: alice, Action: "s3:PutObject", Resource: "arn:aws:s3:::photos/a"}, policy.NoMatch},
		{"action-wildcard-case",
			stmt(`"Effect":"Allow","Principal":"*","Action":"s3:get*","Resource":"` + objects + `"`),
			policy.Request{Principal: alice, Action: "s3:GetObjectTagging", Resource: "arn:aws:s3:::photos/a"}, policy.Allowed},
		{"resource-mismatch",
			stmt(`"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/public/*"`),
			policy.Request{Principal: alice, Action: "s3:GetObject", Resource: "arn:aws:s3:::photos/private/a"}, policy.NoMatch},
		{"user-arn",
			stmt(`"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/alice"},"Action":"s3:GetObject","Resource":"` + objects + `"`),
			policy.Request{Principal: alice, Action: "s3:GetObject", Resource: "arn:aws:s3:::photos/a"}, policy.Allowed},
		{"user-arn-not-anonymous",
			stmt(`"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/alice"},"Action":"s3:GetObject","Resource":"` + objects + `"`),
			policy.Request{Principal: anonymous, Action: "s3:GetObject", Resource: "arn:aws:s3:::photos/a"}, policy.NoMatch},
		{"canonical-user",
			stmt(`"Effect":"Allow","Principal":{"CanonicalUser":"` + aliceID + `"},"Action":"s3:GetObject","Resource":"` + objects + `"`),
			policy.Request{Principal: alice, Action: "s3:GetObject", Resource: "arn:aws:s3:::photos/a"}, policy.Allowed},
		{"account-allow-delegates-to-root-only",
			stmt(`"Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":"s3:GetObject","Resource":"` + objects + `"`),
			policy.Request{Principal: alice, Action: "s3:GetObject", Resource: "arn:aws:s3:::photos/a"}, policy.NoMatch},
		{"account-allow-root",
			stmt(`"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"s3:GetObject","Resource":"` + objects + `"`),
			policy.Request{Principal: root, Action: "s3:GetObject", Resource: "arn:aws:s3:::photos/a"}, policy.Allowed},
		{"account-deny-covers-users",
			stmt(`"Effect":"Deny","Principal":{"AWS":"123456789012"},"Action":"s3:GetObject","Resource":"` + objects + `"`),
			policy.Request{Principal: alice, Action: "s3:GetObject", Resource: "arn:aws:s3:::photos/a"}, policy.Denied},
		{"deny-wins",
			`{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"` + objects + `"},
			{"Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"` + objects + `","Condition":{"StringLike":{"s3:x-amz-acl":"public*"}}}]}`,
			policy.Request{Principal: alice, Action: "s3:PutObject", Resource: "arn:aws:s3:::photos/a", Context: ctx("s3:x-amz-acl", "public-read")}, policy.Denied},
		{"deny-condition-not-met",
			`{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"` + objects + `"},
			{"Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"` + objects + `","Condition":{"StringLike":{"s3:x-amz-acl":"public*"}}}]}`,
			policy.Request{Principal: alice, Action: "s3:PutObject", Resource: "arn:aws:s3:::photos/a"}, policy.Allowed},
		{"not-principal",
			stmt(`"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::123456789012:user/alice"},"Action":"s3:*","Resource":"` + objects + `"`),
			policy.Request{Principal: anonymous, Action: "s3:GetObject", Resource: "arn:aws:s3:::photos/a"}, policy.Denied},
		{"not-principal-excluded",
			stmt(`"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::123456789012:user/alice"},"Action":"s3:*","Resource":"` + objects + `"`),
			policy.Request{Principal: alice, Action: "s3:GetObject", Resource: "arn:aws:s3:::photos/a"}, policy.NoMatch},
		{"not-action",
			stmt(`"Effect":"Deny","Principal":"*","NotAction":"s3:GetObject","Resource":"` + objects + `"`),
			policy.Request{Principal: alice, Action: "s3:DeleteObject", Resource: "arn:aws:s3:::photos/a"}, policy.Denied},
		{"not-resource",
			stmt(`"Effect":"Deny","Principal":"*","Action":"s3:GetObject","NotResource":"arn:aws:s3:::photos/public/*"`),
			policy.Request{Principal: alice, Action: "s3:GetObject", Resource: "arn:aws:s3:::photos/public/a"}, policy.NoMatch},
		{"prefix-condition",
			stmt(`"Effect":"Allow","Principal":"*","Action":"s3:ListBucket","Resource":"arn:aws:s3:::photos","Condition":{"StringLike":{"s3:prefix":"public/*"}}`),
			policy.Request{Principal: alice, Action: "s3:ListBucket", Resource: "arn:aws:s3:::photos", Context: ctx("s3:prefix", "public/x")}, policy.Allowed},
		{"prefix-condition-absent",
			stmt(`"Effect":"Allow","Principal":"*","Action":"s3:ListBucket","Resource":"arn:aws:s3:::photos","Condition":{"StringLike":{"s3:prefix":"public/*"}}`),
			policy.Request{Principal: alice, Action: "s3:ListBucket", Resource: "arn:aws:s3:::photos"}, policy.NoMatch},
		{"ifexists-absent",
			stmt(`"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"` + objects + `","Condition":{"StringLikeIfExists":{"aws:Referer":"http://www.example.com/*"}}`),
			policy.Request{Principal: alice, Action: "s3:GetObject", Resource: "arn:aws:s3:::photos/a"}, policy.Allowed},
		{"ifexists-mismatch",
			stmt(`"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"` + objects + `","Condition":{"StringLikeIfExists":{"aws:Referer":"http://www.example.com/*"}}`),
			policy.Request{Principal: alice, Action: "s3:GetObject", Resource: "arn:aws:s3:::photos/a", Context: ctx("aws:Referer", "http://example.com")}, policy.NoMatch},
		{"negated-absent-key-holds",
			stmt(`"Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"` + objects + `","Condition":{"StringNotEquals":{"s3:x-amz-server-side-encryption":"AES256"}}`),
			policy.Request{Principal: root, Action: "s3:PutObject", Resource: "arn:aws:s3:::photos/a"}, policy.Denied},
		{"negated-present-equal",
			stmt(`"Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"` + objects + `","Condition":{"StringNotEquals":{"s3:x-amz-server-side-encryption":"AES256"}}`),
			policy.Request{Principal: root, Action: "s3:PutObject", Resource: "arn:aws:s3:::photos/a", Context: ctx("s3:x-amz-server-side-encryption", "AES256")}, policy.NoMatch},
		{"null-true",
			stmt(`"Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"` + objects + `","Condition":{"Null":{"s3:x-amz-server-side-encryption":"true"}}`),
			policy.Request{Principal: root, Action: "s3:PutObject", Resource: "arn:aws:s3:::photos/a"}, policy.Denied},
		{"null-true-present",
			stmt(`"Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"` + objects + `","Condition":{"Null":{"s3:x-amz-server-side-encryption":"true"}}`),
			policy.Request{Principal: root, Action: "s3:PutObject", Resource: "arn:aws:s3:::photos/a", Context: ctx("s3:x-amz-server-side-encryption", "aws:kms")}, policy.NoMatch},
		{"ip-address",
			stmt(`"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"` + objects + `","Condition":{"IpAddress":{"aws:SourceIp":["10.0.0.0/8","192.168.1.1"]}}`),
			policy.Request{Principal: anonymous, Action: "s3:GetObject", Resource: "arn:aws:s3:::photos/a", Context: ctx("aws:SourceIp", "10.1.2.3")}, policy.Allowed},
		{"not-ip-address",
			stmt(`"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"` + objects + `","Condition":{"NotIpAddress":{"aws:SourceIp":"127.0.0.0/8"}}`),
			policy.Request{Principal: anonymous, Action: "s3:GetObject", Resource: "arn:aws:s3:::photos/a", Context: ctx("aws:SourceIp", "127.0.0.1")}, policy.NoMatch},
		{"bool-secure-transport",
			stmt(`"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"` + objects + `","Condition":{"Bool":{"aws:SecureTransport":"false"}}`),
			policy.Request{Principal: alice, Action: "s3:GetObject", Resource: "arn:aws:s3:::photos/a", Context: ctx("aws:SecureTransport", "false")}, policy.Denied},
		{"numeric",
			stmt(`"Effect":"Allow","Principal":"*","Action":"s3:ListBucket","Resource":"arn:aws:s3:::photos","Condition":{"NumericLessThanEquals":{"s3:max-keys":"10"}}`),
			policy.Request{Principal: alice, Action: "s3:ListBucket", Resource: "arn:aws:s3:::photos", Context: ctx("s3:max-keys", "11")}, policy.NoMatch},
		{"date",
			stmt(`"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"` + objects + `","Condition":{"DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"}}`),
			policy.Request{Principal: alice, Action: "s3:GetObject", Resource: "arn:aws:s3:::photos/a", Context: ctx("aws:CurrentTime", "2026-05-01T12:00:00Z")}, policy.Allowed},
		{"arn-like",
			stmt(`"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"` + objects + `","Condition":{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::123456789012:user/*"}}`),
			policy.Request{Principal: alice, Action: "s3:GetObject", Resource: "arn:aws:s3:::photos/a", Context: ctx("aws:PrincipalArn", alice.ARN)}, policy.Allowed},
		{"existing-tag",
			stmt(`"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"` + objects + `","Condition":{"StringEquals":{"s3:ExistingObjectTag/security":"public"}}`),
			policy.Request{Principal: alice, Action: "s3:GetObject", Resource: "arn:aws:s3:::photos/a", Context: ctx("s3:existingobjecttag/security", "public")}, policy.Allowed},
		{"tag-key-is-case-sensitive",
			stmt(`"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"` + objects + `","Condition":{"StringEquals":{"s3:ExistingObjectTag/security":"public"}}`),
			policy.Request{Principal: alice, Action: "s3:GetObject", Resource: "arn:aws:s3:::photos/a", Context: ctx("s3:ExistingObjectTag/Security", "public")}, policy.NoMatch},
		{"for-all-values",
			stmt(`"Effect":"Allow","Principal":"*","Action":"s3:PutObject","Resource":"` + objects + `","Condition":{"ForAllValues:StringEquals":{"s3:RequestObjectTagKeys":["a","b"]}}`),
			policy.Request{Principal: alice, Action: "s3:PutObject", Resource: "arn:aws:s3:::photos/a", Context: ctx("s3:RequestObjectTagKeys", "a", "s3:RequestObjectTagKeys", "c")}, policy.NoMatch},
		{"for-any-value",
			stmt(`"Effect":"Allow","Principal":"*","Action":"s3:PutObject","Resource":"` + objects + `","Condition":{"ForAnyValue:StringEquals":{"s3:RequestObjectTagKeys":["a","b"]}}`),
			policy.Request{Principal: alice, Action: "s3:PutObject", Resource: "arn:aws:s3:::photos/a", Context: ctx("s3:RequestObjectTagKeys", "a", "s3:RequestObjectTagKeys", "c")}, policy.Allowed},
		{"policy-variable",
			stmt(`"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/home/${aws:username}/*"`),
			policy.Request{Principal: alice, Action: "s3:GetObject", Resource: "arn:aws:s3:::photos/home/alice/a", Context: ctx("aws:username", "alice")}, policy.Allowed},
		{"policy-variable-unresolved",
			stmt(`"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/home/${aws:username}/*"`),
			policy.Request{Principal: anonymous, Action: "s3:GetObject", Resource: "arn:aws:s3:::photos/home/alice/a"}, policy.NoMatch},
		{"restrict-public",
			stmt(`"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"` + objects + `"`),
			policy.Request{Principal: anonymous, Action: "s3:GetObject", Resource: "arn:aws:s3:::photos/a", NoPublicAllow: true}, policy.NoMatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := parse(tc.policy)
			if err != nil {
				t.Fatal(err)
			}
			if got := p.Evaluate(&tc.req); got != tc.want {
				t.Errorf("Evaluate = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestIsPublic(t *testing.T) {
	const objects = `"Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*"`
	for _, tc := range []struct {
		name, body string
		want       bool
	}{
		{"star", `"Effect":"Allow","Principal":"*",` + objects, true},
		{"aws-star", `"Effect":"Allow","Principal":{"AWS":"*"},` + objects, true},
		{"deny-star", `"Effect":"Deny","Principal":"*",` + objects, false},
		{"fixed-principal", `"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},` + objects, false},
		{"not-principal", `"Effect":"Allow","NotPrincipal":{"AWS":"arn:aws:iam::123456789012:root"},` + objects, true},
		{"source-ip", `"Effect":"Allow","Principal":"*",` + objects + `,"Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/32"}}`, false},
		{"source-ip-too-wide", `"Effect":"Allow","Principal":"*",` + objects + `,"Condition":{"IpAddress":{"aws:SourceIp":"0.0.0.0/1"}}`, true},
		{"not-source-ip", `"Effect":"Allow","Principal":"*",` + objects + `,"Condition":{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/32"}}`, true},
		{"source-account", `"Effect":"Allow","Principal":"*",` + objects + `,"Condition":{"StringEquals":{"aws:SourceAccount":"123456789012"}}`, false},
		{"source-arn-wildcard", `"Effect":"Allow","Principal":"*",` + objects + `,"Condition":{"ArnLike":{"aws:SourceArn":"arn:aws:sns:*"}}`, true},
		{"unrelated-condition", `"Effect":"Allow","Principal":"*",` + objects + `,"Condition":{"Bool":{"aws:SecureTransport":"true"}}`, true},
		{"ifexists", `"Effect":"Allow","Principal":"*",` + objects + `,"Condition":{"StringEqualsIfExists":{"aws:SourceAccount":"123456789012"}}`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := parse(stmt(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if got := p.IsPublic(); got != tc.want {
				t.Errorf("IsPublic = %v, want %v", got, tc.want)
			}
		})
	}
}
