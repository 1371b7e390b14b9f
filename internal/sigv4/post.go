package sigv4

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"time"
)

// Browser-based uploads (S3's POST Object) carry their credentials in form
// fields, and what is signed is the base64 policy document the form
// carries, not the request: SigV4 signs it with the derived signing key of
// the x-amz-credential scope (hex HMAC-SHA256), SigV2 with the secret key
// itself (base64 HMAC-SHA1). The policy's conditions are the caller's to
// check; VerifyPost only establishes who signed it.

// The methods of form uploads, reported by VerifyPost.
const (
	MethodV4Post Method = MethodV2Query + 1 + iota // x-amz-algorithm, -credential, -date, -signature fields
	MethodV2Post                                   // AWSAccessKeyId and signature fields
)

// ErrMissingPostField is a form upload that has some of a signature
// version's fields but not the one named in the error's ArgumentName
// detail (S3 reports the first it misses).
var ErrMissingPostField = newError("InvalidArgument", http.StatusBadRequest,
	"Bucket POST must contain a field named ''.  If it is specified, please check the order of the fields.")

// ErrInvalidPostAlgorithm is an x-amz-algorithm field other than
// AWS4-HMAC-SHA256.
var ErrInvalidPostAlgorithm = newError("InvalidArgument", http.StatusBadRequest,
	`X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"`)

// ErrInvalidPostCredential is an x-amz-credential field that is not a
// credential scope.
var ErrInvalidPostCredential = newError("InvalidArgument", http.StatusBadRequest,
	"Error parsing the X-Amz-Credential parameter")

// PostFields looks up a field of an upload form by its lower-case name;
// ok is false when the form has no such field.
type PostFields func(name string) (value string, ok bool)

// The form fields of each signature version, in the order S3 reports a
// missing one, with the names its errors use.
var (
	postFieldsV4 = [][2]string{
		{"x-amz-signature", "X-Amz-Signature"},
		{"x-amz-algorithm", "X-Amz-Algorithm"},
		{"x-amz-credential", "X-Amz-Credential"},
		{"x-amz-date", "X-Amz-Date"},
		{"policy", "Policy"},
	}
	postFieldsV2 = [][2]string{
		{"signature", "Signature"},
		{"awsaccesskeyid", "AWSAccessKeyId"},
		{"policy", "Policy"},
	}
)

// VerifyPost authenticates a browser-based upload from its form fields.
// A form with any of the SigV4 fields is SigV4 (MethodV4Post), one with
// AWSAccessKeyId or signature is SigV2 (MethodV2Post); either must then
// have all of its version's fields and a policy, or VerifyPost answers
// ErrMissingPostField. A form with none of them is anonymous: VerifyPost
// returns MethodAnonymous and a nil error, and the caller decides. The
// form's policy field is what the signature must cover.
//
// Errors are *Error values (ErrMissingPostField, ErrInvalidPostAlgorithm,
// ErrInvalidPostCredential, ErrInvalidAccessKeyID,
// ErrSignatureDoesNotMatch) or errors from the CredentialStore. Neither
// the policy's expiration nor the x-amz-date field's age is checked here:
// a form lives as long as its policy.
func (v *Verifier) VerifyPost(ctx context.Context, field PostFields) (*Auth, error) {
	has := func(fields [][2]string) bool {
		for _, f := range fields[:len(fields)-1] {
			if _, ok := field(f[0]); ok {
				return true
			}
		}
		return false
	}
	var fields [][2]string
	switch {
	case has(postFieldsV4):
		fields = postFieldsV4
	case has(postFieldsV2):
		fields = postFieldsV2
	default:
		return &Auth{Method: MethodAnonymous, Payload: PayloadUnsigned}, nil
	}
	vals := make(map[string]string, len(fields))
	for _, f := range fields {
		val, ok := field(f[0])
		if !ok {
			return nil, ErrMissingPostField.with(
				"Bucket POST must contain a field named '"+f[1]+"'.  If it is specified, please check the order of the fields.",
				Detail{"ArgumentName", f[1]}, Detail{"ArgumentValue", ""})
		}
		vals[f[0]] = val
	}
	if tok, ok := field("x-amz-security-token"); ok {
		vals["x-amz-security-token"] = tok
	}
	policy := vals["policy"]
	if len(fields) == len(postFieldsV2) {
		return v.verifyPostV2(ctx, vals["awsaccesskeyid"], vals["signature"], policy)
	}
	return v.verifyPostV4(ctx, vals, policy)
}

func (v *Verifier) verifyPostV2(ctx context.Context, accessKeyID, supplied, policy string) (*Auth, error) {
	secret, err := v.postSecret(ctx, accessKeyID)
	if err != nil {
		return nil, err
	}
	m := hmac.New(sha1.New, []byte(secret))
	m.Write([]byte(policy))
	want, derr := base64.StdEncoding.DecodeString(strings.TrimSpace(supplied))
	if derr != nil || !hmac.Equal(m.Sum(nil), want) {
		return nil, postSignatureMismatch(accessKeyID, supplied, policy)
	}
	return &Auth{AccessKeyID: accessKeyID, Method: MethodV2Post, Payload: PayloadUnsigned}, nil
}

func (v *Verifier) verifyPostV4(ctx context.Context, vals map[string]string, policy string) (*Auth, error) {
	if alg := vals["x-amz-algorithm"]; alg != algorithmV4 {
		return nil, ErrInvalidPostAlgorithm.with("",
			Detail{"ArgumentName", "X-Amz-Algorithm"}, Detail{"ArgumentValue", alg})
	}
	cred, problem := parseCredentialProblem(vals["x-amz-credential"])
	if problem != "" {
		return nil, ErrInvalidPostCredential.with("Error parsing the X-Amz-Credential parameter; "+problem,
			Detail{"ArgumentName", "X-Amz-Credential"}, Detail{"ArgumentValue", vals["x-amz-credential"]})
	}
	secret, err := v.postSecret(ctx, cred.accessKeyID)
	if err != nil {
		return nil, err
	}
	supplied := strings.TrimSpace(vals["x-amz-signature"])
	key := v.keys.get(secret, cred.date, cred.region, cred.service)
	if !equalHexSignature(hmacSHA256(key, policy), supplied) {
		return nil, postSignatureMismatch(cred.accessKeyID, supplied, policy)
	}
	// The date is covered by the policy's conditions, not by the
	// signature; a malformed one leaves Time zero.
	t, _ := time.Parse(amzDateLayout, vals["x-amz-date"])
	return &Auth{
		AccessKeyID:   cred.accessKeyID,
		Method:        MethodV4Post,
		Service:       cred.service,
		Region:        cred.region,
		Payload:       PayloadUnsigned,
		Time:          t,
		SecurityToken: vals["x-amz-security-token"],
	}, nil
}

// postSecret looks up the signer's secret, reporting an unknown key as S3
// does.
func (v *Verifier) postSecret(ctx context.Context, accessKeyID string) (string, error) {
	s, err := v.Credentials.Secret(ctx, accessKeyID)
	if errors.Is(err, ErrInvalidAccessKeyID) {
		return "", ErrInvalidAccessKeyID.with("", Detail{"AWSAccessKeyId", accessKeyID})
	}
	return s, err
}

// postSignatureMismatch is S3's answer to a form whose signature does not
// cover its policy: the string to sign is the policy field itself.
func postSignatureMismatch(accessKeyID, supplied, policy string) *Error {
	return ErrSignatureDoesNotMatch.with("",
		Detail{"AWSAccessKeyId", accessKeyID},
		Detail{"StringToSign", policy},
		Detail{"SignatureProvided", supplied},
		Detail{"StringToSignBytes", spacedHex([]byte(policy))})
}

// spacedHex writes b as two-digit hex bytes separated by spaces, the form
// of S3's *Bytes error details.
func spacedHex(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	out := make([]byte, 0, 3*len(b)-1)
	for i, c := range b {
		if i > 0 {
			out = append(out, ' ')
		}
		out = hex.AppendEncode(out, []byte{c})
	}
	return string(out)
}
