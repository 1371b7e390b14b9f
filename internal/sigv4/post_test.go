package sigv4

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

// examplePostSignature is the signature of the AWS documentation's
// browser-upload example (sigv4-post-example) of the policy in
// testdata/post-policy-example.b64.
const examplePostSignature = "8afdbf4008c03f22c2cd3cdb72e4afbb1f6a588f3255ac628749a66d7f09699e"

func formFields(m map[string]string) PostFields {
	return func(name string) (string, bool) {
		v, ok := m[name]
		return v, ok
	}
}

func TestVerifyPost(t *testing.T) {
	raw, err := os.ReadFile("testdata/post-policy-example.b64")
	if err != nil {
		t.Fatal(err)
	}
	policy := strings.TrimSpace(string(raw))
	v4 := map[string]string{
		"key":              "user/user1/${filename}",
		"policy":           policy,
		"x-amz-algorithm":  "AWS4-HMAC-SHA256",
		"x-amz-credential": testAKID + "/20151229/us-east-1/s3/aws4_request",
		"x-amz-date":       "20151229T000000Z",
		"x-amz-signature":  examplePostSignature,
	}
	mac := hmac.New(sha1.New, []byte(testSecret))
	mac.Write([]byte(policy))
	v2 := map[string]string{
		"policy":         policy,
		"awsaccesskeyid": testAKID,
		"signature":      base64.StdEncoding.EncodeToString(mac.Sum(nil)),
	}
	with := func(m map[string]string, kv ...string) map[string]string {
		out := make(map[string]string, len(m))
		for k, v := range m {
			out[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "\x00" {
				delete(out, kv[i])
			} else {
				out[kv[i]] = kv[i+1]
			}
		}
		return out
	}
	const drop = "\x00"

	tests := []struct {
		name     string
		form     map[string]string
		method   Method
		want     *Error
		argument string // ArgumentName detail of the error
	}{
		{name: "AWS example", form: v4, method: MethodV4Post},
		{name: "upper-case hex signature", form: with(v4, "x-amz-signature", strings.ToUpper(examplePostSignature)), method: MethodV4Post},
		{name: "SigV2", form: v2, method: MethodV2Post},
		{name: "anonymous", form: map[string]string{"key": "k", "policy": policy}, method: MethodAnonymous},
		{name: "policy changed", form: with(v4, "policy", policy[:len(policy)-4]), want: ErrSignatureDoesNotMatch},
		{name: "signature changed", form: with(v4, "x-amz-signature", strings.Repeat("0", 64)), want: ErrSignatureDoesNotMatch},
		{name: "other date in scope", form: with(v4, "x-amz-credential", testAKID+"/20151230/us-east-1/s3/aws4_request"), want: ErrSignatureDoesNotMatch},
		{name: "unknown key", form: with(v4, "x-amz-credential", "AKIANOTKNOWN/20151229/us-east-1/s3/aws4_request"), want: ErrInvalidAccessKeyID},
		{name: "malformed credential", form: with(v4, "x-amz-credential", "nope"), want: ErrInvalidPostCredential, argument: "X-Amz-Credential"},
		{name: "other algorithm", form: with(v4, "x-amz-algorithm", "AWS4-HMAC-SHA1"), want: ErrInvalidPostAlgorithm, argument: "X-Amz-Algorithm"},
		{name: "no signature", form: with(v4, "x-amz-signature", drop), want: ErrMissingPostField, argument: "X-Amz-Signature"},
		{name: "no algorithm nor credential", form: with(v4, "x-amz-algorithm", drop, "x-amz-credential", drop), want: ErrMissingPostField, argument: "X-Amz-Algorithm"},
		{name: "no date", form: with(v4, "x-amz-date", drop), want: ErrMissingPostField, argument: "X-Amz-Date"},
		{name: "no policy", form: with(v4, "policy", drop), want: ErrMissingPostField, argument: "Policy"},
		{name: "SigV2 wrong signature", form: with(v2, "signature", "AAAA"), want: ErrSignatureDoesNotMatch},
		{name: "SigV2 no key", form: with(v2, "awsaccesskeyid", drop), want: ErrMissingPostField, argument: "AWSAccessKeyId"},
		{name: "SigV2 no signature", form: with(v2, "signature", drop), want: ErrMissingPostField, argument: "Signature"},
	}
	// Form uploads do not expire with the clock; their policies do.
	v := newVerifier(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := v.VerifyPost(context.Background(), formFields(tc.form))
			checkErr(t, err, tc.want)
			if tc.want != nil {
				var e *Error
				errors.As(err, &e)
				arg := ""
				for _, d := range e.Details {
					if d.Name == "ArgumentName" {
						arg = d.Value
					}
				}
				if arg != tc.argument {
					t.Errorf("ArgumentName = %q, want %q (%s)", arg, tc.argument, e.Message)
				}
				if errors.Is(err, ErrSignatureDoesNotMatch) && e.Details[1].Value != tc.form["policy"] {
					t.Errorf("StringToSign = %q, want the policy", e.Details[1].Value)
				}
				return
			}
			if a.Method != tc.method {
				t.Errorf("Method = %v, want %v", a.Method, tc.method)
			}
			if tc.method != MethodAnonymous && a.AccessKeyID != testAKID {
				t.Errorf("AccessKeyID = %q", a.AccessKeyID)
			}
			if tc.method == MethodV4Post && (a.Region != "us-east-1" || a.Service != "s3" || !a.Time.Equal(time.Date(2015, 12, 29, 0, 0, 0, 0, time.UTC))) {
				t.Errorf("Auth = %+v", a)
			}
		})
	}
}
