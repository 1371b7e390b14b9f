package policy_test

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/internal/iam/policy"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

const (
	bucket  = "photos"
	account = "123456789012"
	rootID  = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"
	aliceID = "1111111111111111111111111111111111111111111111111111111111111111"
)

// knownPrincipal stands in for the node's IAM: alice exists, bob does not.
func knownPrincipal(kind, v string) bool {
	switch kind {
	case "CanonicalUser":
		return v == rootID || v == aliceID
	}
	if strings.HasPrefix(v, "arn:aws:iam::"+account+":user/") {
		return v == "arn:aws:iam::"+account+":user/alice"
	}
	return true
}

func parse(doc string) (*policy.Policy, error) {
	return policy.Parse([]byte(doc), policy.BucketPolicyOptions(bucket, knownPrincipal))
}

// stmt builds a one-statement bucket policy.
func stmt(body string) string {
	return `{"Version":"2012-10-17","Statement":[{` + body + `}]}`
}

// TestParseErrors checks the MalformedPolicy message of each malformed
// policy against testdata/parse_errors.golden (go test -update rewrites
// it).
func TestParseErrors(t *testing.T) {
	cases := []struct{ name, doc string }{
		{"empty", ``},
		{"not-an-object", `["Statement"]`},
		{"invalid-json", `{"Statement": [}`},
		{"trailing-garbage", `{"Statement":[]} x`},
		{"too-large", `{"Id":"` + strings.Repeat("x", policy.MaxBucketPolicySize) + `"}`},
		{"bad-version", `{"Version":"2012-10-16","Statement":[]}`},
		{"empty-version", `{"Version":"","Statement":[]}`},
		{"unknown-top-field", `{"Statment":[]}`},
		{"no-statement", `{"Version":"2012-10-17"}`},
		{"empty-statement", `{"Version":"2012-10-17","Statement":[]}`},
		{"statement-not-object", `{"Statement":["x"]}`},
		{"no-effect", stmt(`"Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*"`)},
		{"bad-effect", stmt(`"Effect":"Permit","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*"`)},
		{"no-principal", stmt(`"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*"`)},
		{"empty-principal", stmt(`"Effect":"Allow","Principal":"","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*"`)},
		{"empty-principal-list", stmt(`"Effect":"Allow","Principal":[],"Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*"`)},
		{"principal-access-key", stmt(`"Effect":"Allow","Principal":{"AWS":"AKIAEXAMPLE"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*"`)},
		{"principal-tenant", stmt(`"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::s3tenant1:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*"`)},
		{"principal-wildcard-mixed", stmt(`"Effect":"Allow","Principal":{"AWS":["*","123456789012"]},"Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*"`)},
		{"principal-unknown-user", stmt(`"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/bob"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*"`)},
		{"principal-unknown-canonical", stmt(`"Effect":"Allow","Principal":{"CanonicalUser":"` + strings.Repeat("2", 64) + `"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*"`)},
		{"principal-unknown-kind", stmt(`"Effect":"Allow","Principal":{"Group":"x"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*"`)},
		{"principal-and-notprincipal", stmt(`"Effect":"Deny","Principal":"*","NotPrincipal":{"AWS":"123456789012"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*"`)},
		{"no-action", stmt(`"Effect":"Allow","Principal":"*","Resource":"arn:aws:s3:::photos/*"`)},
		{"unknown-action", stmt(`"Effect":"Allow","Principal":"*","Action":"s3:GetObjekt","Resource":"arn:aws:s3:::photos/*"`)},
		{"action-no-service", stmt(`"Effect":"Allow","Principal":"*","Action":"GetObject","Resource":"arn:aws:s3:::photos/*"`)},
		{"action-other-service", stmt(`"Effect":"Allow","Principal":"*","Action":"iam:CreateUser","Resource":"arn:aws:s3:::photos/*"`)},
		{"action-pattern-matches-nothing", stmt(`"Effect":"Allow","Principal":"*","Action":"s3:Frobnicate*","Resource":"arn:aws:s3:::photos/*"`)},
		{"no-resource", stmt(`"Effect":"Allow","Principal":"*","Action":"s3:GetObject"`)},
		{"resource-other-bucket", stmt(`"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::prefix-photos/*"`)},
		{"resource-leading-slash", stmt(`"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::/photos/*"`)},
		{"resource-not-s3", stmt(`"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"`)},
		{"object-action-on-bucket", stmt(`"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos"`)},
		{"bucket-action-on-objects", stmt(`"Effect":"Allow","Principal":"*","Action":"s3:ListBucket","Resource":"arn:aws:s3:::photos/*"`)},
		{"bucket-pattern-on-objects", stmt(`"Effect":"Allow","Principal":"*","Action":"s3:GetBucket*","Resource":"arn:aws:s3:::photos/*"`)},
		{"bad-operator", stmt(`"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*","Condition":{"StringEqual":{"aws:username":"x"}}`)},
		{"operator-wrong-case", stmt(`"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*","Condition":{"stringequals":{"aws:username":"x"}}`)},
		{"null-ifexists", stmt(`"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*","Condition":{"NullIfExists":{"aws:username":"true"}}`)},
		{"unknown-s3-key", stmt(`"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*","Condition":{"StringEquals":{"s3:colour":"x"}}`)},
		{"unknown-global-key", stmt(`"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*","Condition":{"StringEquals":{"aws:NotARealGlobalKey":"x"}}`)},
		{"source-ip-under-null", stmt(`"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*","Condition":{"Null":{"aws:SourceIp":"true"}}`)},
		{"condition-checked-before-resource", stmt(`"Effect":"Allow","Principal":"*","Action":"s3:ListBucketMultipartUploads","Resource":"arn:aws:s3:::photos/*","Condition":{"StringEquals":{"s3:prefix":"x"}}`)},
		{"key-without-service", stmt(`"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*","Condition":{"StringEquals":{"username":"x"}}`)},
		{"prefix-on-getobject", stmt(`"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*","Condition":{"StringEquals":{"s3:prefix":"x"}}`)},
		{"acl-key-on-two-actions", stmt(`"Effect":"Allow","Principal":"*","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::photos/*","Condition":{"StringEquals":{"s3:x-amz-acl":"private"}}`)},
		{"bad-ip", stmt(`"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.300/8"}}`)},
		{"bad-bool", stmt(`"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*","Condition":{"Bool":{"aws:SecureTransport":"yes"}}`)},
		{"condition-object-value", stmt(`"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*","Condition":{"StringEquals":{"aws:username":{"a":1}}}`)},
		{"unknown-statement-field", stmt(`"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*","Comment":"x"`)},
		{"duplicate-sid", `{"Statement":[{"Sid":"a","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*"},{"Sid":"a","Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*"}]}`},
	}
	var out strings.Builder
	for _, tc := range cases {
		_, err := parse(tc.doc)
		var pe *policy.Error
		switch {
		case err == nil:
			t.Errorf("%s: parsed, want an error", tc.name)
			fmt.Fprintf(&out, "%s: <accepted>\n", tc.name)
		case !errors.As(err, &pe):
			t.Errorf("%s: error %v is not a *policy.Error", tc.name, err)
		default:
			fmt.Fprintf(&out, "%s: %s\n", tc.name, pe.Message)
		}
	}
	golden := filepath.Join("testdata", "parse_errors.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != string(want) {
		t.Errorf("messages differ from %s (go test -update rewrites it):\n%s", golden, diffLines(string(want), got))
	}
}

func diffLines(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "- %s\n+ %s\n", wl, gl)
		}
	}
	return b.String()
}

// TestParseAccepts checks documents AWS accepts.
func TestParseAccepts(t *testing.T) {
	for _, tc := range []struct{ name, doc string }{
		{"no-version", `{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*"}}`},
		{"version-2008", `{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*"}]}`},
		{"all-actions", stmt(`"Effect":"Allow","Principal":{"AWS":"*"},"Action":"*","Resource":["arn:aws:s3:::photos","arn:aws:s3:::photos/*"]`)},
		{"wildcard-buckets", stmt(`"Effect":"Allow","Principal":{"AWS":["*"]},"Action":"s3:ListBucket","Resource":["arn:aws:s3:::*","arn:aws:s3:::*/*"]`)},
		{"get-star-on-objects", stmt(`"Effect":"Allow","Principal":"*","Action":"s3:Get*","Resource":"arn:aws:s3:::photos/*"`)},
		{"action-case", stmt(`"Effect":"Allow","Principal":"*","Action":"S3:getobject","Resource":"arn:aws:s3:::photos/*"`)},
		{"duplicate-resource", stmt(`"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::photos","arn:aws:s3:::photos"]`)},
		{"principals", stmt(`"Effect":"Allow","Principal":{"AWS":["123456789012","arn:aws:iam::123456789012:root","arn:aws:iam::123456789012:user/alice","arn:aws:iam::210987654321:user/x"],"CanonicalUser":"` + aliceID + `","Service":"logging.s3.amazonaws.com"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*"`)},
		{"not-principal-deny", stmt(`"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"s3:*","Resource":"arn:aws:s3:::photos/*"`)},
		{"not-action-not-resource", stmt(`"Effect":"Deny","Principal":"*","NotAction":"s3:GetObject","NotResource":"arn:aws:s3:::photos/public/*"`)},
		{"conditions", stmt(`"Effect":"Allow","Principal":"*","Action":"s3:ListBucket","Resource":"arn:aws:s3:::photos","Condition":{
			"StringLike":{"s3:prefix":["public/*","shared/*"]},"NumericLessThanEquals":{"s3:max-keys":10},
			"Bool":{"aws:SecureTransport":false},"IpAddress":{"aws:SourceIp":["10.0.0.0/8","::1"]},
			"ForAnyValue:StringEqualsIfExists":{"aws:PrincipalTag/team":"x"},"Null":{"s3:delimiter":"true"}}`)},
		{"existing-tag", stmt(`"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*","Condition":{"StringEquals":{"s3:ExistingObjectTag/security":"public"}}`)},
		{"referer-ifexists", stmt(`"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*","Condition":{"StringLikeIfExists":{"aws:Referer":"http://www.example.com/*"}}`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := parse(tc.doc); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, s string
		want       bool
	}{
		{"*", "", true},
		{"*", "anything/at/all", true},
		{"arn:aws:s3:::photos/*", "arn:aws:s3:::photos/a/b", true},
		{"arn:aws:s3:::photos/*", "arn:aws:s3:::photos", false},
		{"arn:aws:s3:::photos/m?-obj/*", "arn:aws:s3:::photos/my-obj/x", true},
		{"arn:aws:s3:::photos/m?-obj/*", "arn:aws:s3:::photos/myy-obj/x", false},
		{"a*b*c", "aXbYbZc", true},
		{"a*b*c", "aXbYbZ", false},
		{"?", "é", true},
		{"??", "é", false},
		{"caf?", "café", true},
		{"s3:get*", "s3:getobject", true},
		{"", "", true},
		{"", "x", false},
	} {
		if got := policy.Match(tc.pattern, tc.s); got != tc.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tc.pattern, tc.s, got, tc.want)
		}
	}
}
