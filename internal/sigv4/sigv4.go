// Package sigv4 authenticates AWS-signed HTTP requests: Signature Version 4
// in the Authorization header and in presigned URLs, Signature Version 2
// (header and presigned URL, S3 only), and the aws-chunked streaming
// payloads whose chunks and trailers carry their own signatures.
//
// The package is pure verification. It knows nothing of buckets, routes or
// policies: Verify says who signed a request and how its payload is
// protected, and Auth.Body returns a reader that enforces that protection.
// Failures are *Error values carrying the S3 error code and status AWS
// would answer with; other surfaces (Lambda, IAM) map them as they see fit.
//
// Canonicalisation follows what AWS and the SDKs do rather than a reading of
// the specification alone: the canonical URI is chosen by signing name (the
// S3 family encodes the path once and never normalises it; every other
// service encodes the escaped path again, as aws-sdk-go-v2 and botocore do),
// and where real clients disagree (botocore normalises non-S3 paths,
// aws-sdk-go-v2 does not) each accepted form is tried.
package sigv4

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// CredentialStore resolves access key IDs to secret keys.
type CredentialStore interface {
	// Secret returns the secret access key for accessKeyID. It returns
	// ErrInvalidAccessKeyID (or an error wrapping it) when the key is
	// unknown or disabled; any other error is passed to the caller of
	// Verify unchanged.
	Secret(ctx context.Context, accessKeyID string) (secret string, err error)
}

// Method is the way a request was authenticated.
type Method int

// The authentication methods.
const (
	MethodAnonymous Method = iota // no credentials at all
	MethodV4Header                // SigV4, Authorization header
	MethodV4Query                 // SigV4, presigned URL (X-Amz-Signature)
	MethodV2Header                // SigV2, "Authorization: AWS AKID:sig"
	MethodV2Query                 // SigV2, presigned URL (AWSAccessKeyId, Signature, Expires)
)

// String returns a short name for m, suitable for logs and metrics.
func (m Method) String() string {
	switch m {
	case MethodAnonymous:
		return "anonymous"
	case MethodV4Header:
		return "v4-header"
	case MethodV4Query:
		return "v4-query"
	case MethodV2Header:
		return "v2-header"
	case MethodV2Query:
		return "v2-query"
	case MethodV4Post:
		return "v4-post"
	case MethodV2Post:
		return "v2-post"
	}
	return "unknown"
}

// PayloadMode says how the request body is protected, from the
// x-amz-content-sha256 value (or its absence).
type PayloadMode int

// The payload modes.
const (
	// PayloadUnsigned: the body is not covered by the signature
	// ("UNSIGNED-PAYLOAD", presigned S3 URLs, SigV2, anonymous).
	PayloadUnsigned PayloadMode = iota
	// PayloadSigned: x-amz-content-sha256 is the hex SHA-256 of the body.
	PayloadSigned
	// PayloadStreamingSigned: STREAMING-AWS4-HMAC-SHA256-PAYLOAD.
	PayloadStreamingSigned
	// PayloadStreamingSignedTrailer: STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER.
	PayloadStreamingSignedTrailer
	// PayloadStreamingUnsignedTrailer: STREAMING-UNSIGNED-PAYLOAD-TRAILER.
	PayloadStreamingUnsignedTrailer
)

// Payload hash tokens of x-amz-content-sha256.
const (
	UnsignedPayload                 = "UNSIGNED-PAYLOAD"
	StreamingSignedPayload          = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	StreamingSignedPayloadTrailer   = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
	StreamingUnsignedPayloadTrailer = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
)

// String returns the x-amz-content-sha256 token for m ("SHA256" for
// PayloadSigned).
func (m PayloadMode) String() string {
	switch m {
	case PayloadUnsigned:
		return UnsignedPayload
	case PayloadSigned:
		return "SHA256"
	case PayloadStreamingSigned:
		return StreamingSignedPayload
	case PayloadStreamingSignedTrailer:
		return StreamingSignedPayloadTrailer
	case PayloadStreamingUnsignedTrailer:
		return StreamingUnsignedPayloadTrailer
	}
	return "unknown"
}

// Streaming reports whether the body is aws-chunked framed.
func (m PayloadMode) Streaming() bool {
	return m == PayloadStreamingSigned || m == PayloadStreamingSignedTrailer || m == PayloadStreamingUnsignedTrailer
}

// Limits.
const (
	// MaxPresignExpiry is the longest X-Amz-Expires S3 accepts.
	MaxPresignExpiry = 7 * 24 * time.Hour
	// DefaultMaxSkew is the clock skew tolerated when Verifier.MaxSkew is 0.
	DefaultMaxSkew = 15 * time.Minute
	// DefaultMaxHashedBody is the default Verifier.MaxHashedBody.
	DefaultMaxHashedBody = 70 << 20
)

// Verifier authenticates requests. The zero value is not usable: set
// Credentials. A Verifier is safe for concurrent use if its fields are not
// changed while in use.
type Verifier struct {
	// Credentials resolves access keys to secrets.
	Credentials CredentialStore
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// MaxSkew is the tolerated difference between the request date and Now
	// for header-signed requests (and how far in the future a presigned URL
	// may be dated); 0 means DefaultMaxSkew.
	MaxSkew time.Duration
	// V2Resource returns the SigV2 CanonicalizedResource for r, i.e.
	// "/bucket/escaped-key" followed by the sub-resources (see
	// V2SubResources and CanonicalV2Resource). Only the caller knows whether
	// r is virtual-host or path style. nil means CanonicalV2Resource("", r),
	// which is right for path-style requests.
	V2Resource func(r *http.Request) string
	// MaxHashedBody bounds the body Verify reads into memory to hash a
	// non-S3 SigV4 request that has no x-amz-content-sha256 header (Lambda
	// and IAM clients sign the body hash without sending it). 0 means
	// DefaultMaxHashedBody.
	MaxHashedBody int64

	keys signingKeys
}

// Auth is the outcome of a successful Verify.
type Auth struct {
	// AccessKeyID is the key that signed the request; "" when anonymous.
	AccessKeyID string
	// Method is how the request was authenticated.
	Method Method
	// Service is the SigV4 signing name from the credential scope ("s3",
	// "lambda", ...); "" for SigV2 and anonymous requests.
	Service string
	// Region is the region from the credential scope; "" for SigV2 and
	// anonymous requests.
	Region string
	// Payload says how the body is protected; Body enforces it.
	Payload PayloadMode
	// Time is the signing time (X-Amz-Date or Date; for SigV2 presigned
	// URLs, the zero time).
	Time time.Time
	// Expires is when a presigned URL stops being valid; zero otherwise.
	Expires time.Time
	// SecurityToken is X-Amz-Security-Token (header or query), if any. This
	// package does not validate it.
	SecurityToken string
	// SignedHeaders lists the header names the SigV4 signature covers.
	SignedHeaders []string

	// For chunk and trailer signatures (SigV4 streaming modes only).
	key     []byte // signing key
	scope   string // date/region/service/aws4_request
	amzDate string // yyyymmddThhmmssZ
	seed    string // the request signature, lower-case hex

	contentSHA256 string // for PayloadSigned: the expected hex digest
	// bodyHashed is set when Verify read the body into memory and the
	// signature covered its hash: Body need not hash it again.
	bodyHashed bool
}

func (v *Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

func (v *Verifier) maxSkew() time.Duration {
	if v.MaxSkew > 0 {
		return v.MaxSkew
	}
	return DefaultMaxSkew
}

const (
	algorithmV4   = "AWS4-HMAC-SHA256"
	amzDateLayout = "20060102T150405Z"
)

// detect classifies the request's authentication without validating it.
func detect(r *http.Request) (Method, error) {
	authz := r.Header.Get("Authorization")
	var v4q, v2q bool
	if r.URL.RawQuery != "" {
		q := r.URL.Query()
		v4q = q.Has("X-Amz-Algorithm") || q.Has("X-Amz-Signature") || q.Has("X-Amz-Credential")
		v2q = q.Has("AWSAccessKeyId") || q.Has("Signature")
	}
	n := 0
	for _, b := range []bool{authz != "", v4q, v2q} {
		if b {
			n++
		}
	}
	if n > 1 {
		return MethodAnonymous, ErrMultipleAuthMechanisms
	}
	switch {
	case v4q:
		return MethodV4Query, nil
	case v2q:
		return MethodV2Query, nil
	case authz == "":
		return MethodAnonymous, nil
	case strings.HasPrefix(authz, algorithmV4+" "):
		return MethodV4Header, nil
	case strings.HasPrefix(authz, "AWS "):
		return MethodV2Header, nil
	}
	return MethodAnonymous, ErrUnsupportedAuthorization
}

// Peek reports the signing name, region and access key a request claims,
// without verifying anything, so a router can pick the service before
// authenticating. It returns empty strings for what it cannot parse;
// service and region are empty for SigV2 and anonymous requests.
func Peek(r *http.Request) (service, region, accessKeyID string, method Method) {
	method, err := detect(r)
	if err != nil {
		return "", "", "", MethodAnonymous
	}
	var cred string
	switch method {
	case MethodV4Header:
		cred = authParams(r.Header.Get("Authorization")).credential
	case MethodV4Query:
		cred = r.URL.Query().Get("X-Amz-Credential")
	case MethodV2Header:
		id, _, _ := strings.Cut(strings.TrimPrefix(r.Header.Get("Authorization"), "AWS "), ":")
		return "", "", strings.TrimSpace(id), method
	case MethodV2Query:
		return "", "", r.URL.Query().Get("AWSAccessKeyId"), method
	default:
		return "", "", "", method
	}
	if c, ok := parseCredential(cred); ok {
		return c.service, c.region, c.accessKeyID, method
	}
	return "", "", "", method
}

// Verify authenticates r. An anonymous request (no Authorization header and
// no signature parameters) yields an Auth with MethodAnonymous and a nil
// error: the caller decides whether to serve it.
//
// Verify does not consume the body, with one exception: a non-S3 SigV4
// request without x-amz-content-sha256 signs the hash of its body, so Verify
// reads the body (up to MaxHashedBody) and replaces r.Body with an
// in-memory copy. For every other request the payload is checked while it
// is read through Auth.Body.
//
// Errors are *Error values (see the sentinels), or errors from the
// CredentialStore and from reading the body.
func (v *Verifier) Verify(r *http.Request) (*Auth, error) {
	method, err := detect(r)
	if err != nil {
		return nil, err
	}
	switch method {
	case MethodV4Header:
		return v.verifyV4Header(r)
	case MethodV4Query:
		return v.verifyV4Query(r)
	case MethodV2Header:
		return v.verifyV2Header(r)
	case MethodV2Query:
		return v.verifyV2Query(r)
	}
	return &Auth{Method: MethodAnonymous, Payload: unauthenticatedPayload(r)}, nil
}

// unauthenticatedPayload picks the payload mode for requests whose
// signature (if any) does not cover the body: a hex x-amz-content-sha256
// is still checked and aws-chunked framing is still decoded, but chunk
// signatures cannot be verified.
func unauthenticatedPayload(r *http.Request) PayloadMode {
	switch h := r.Header.Get("X-Amz-Content-Sha256"); {
	case isSHA256Hex(h):
		return PayloadSigned
	case h == StreamingUnsignedPayloadTrailer:
		return PayloadStreamingUnsignedTrailer
	case h == StreamingSignedPayload, h == StreamingSignedPayloadTrailer:
		// Without SigV4 there is no key to check chunk signatures with;
		// decode the framing (and any trailer) without verifying.
		return PayloadStreamingUnsignedTrailer
	}
	return PayloadUnsigned
}

// payloadMode maps an x-amz-content-sha256 value to a mode.
func payloadMode(h string) (PayloadMode, bool) {
	switch h {
	case UnsignedPayload:
		return PayloadUnsigned, true
	case StreamingSignedPayload:
		return PayloadStreamingSigned, true
	case StreamingSignedPayloadTrailer:
		return PayloadStreamingSignedTrailer, true
	case StreamingUnsignedPayloadTrailer:
		return PayloadStreamingUnsignedTrailer, true
	}
	if isSHA256Hex(h) {
		return PayloadSigned, true
	}
	return 0, false
}

// hashBody reads r.Body (at most limit bytes), replaces it with an
// in-memory copy and returns its hex SHA-256.
func (v *Verifier) hashBody(r *http.Request) (string, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return emptySHA256, nil
	}
	limit := v.MaxHashedBody
	if limit <= 0 {
		limit = DefaultMaxHashedBody
	}
	// Read into a buffer sized from Content-Length (one byte more, to see
	// the end without growing it).
	var data []byte
	if n := r.ContentLength; n >= 0 && n <= limit {
		data = make([]byte, 0, n+1)
	}
	data, err := readAtMost(data, r.Body, limit+1)
	if err != nil {
		return "", err
	}
	if int64(len(data)) > limit {
		return "", ErrRequestTooLarge
	}
	r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(data))
	sum := sha256.Sum256(data)
	var hexSum [2 * sha256.Size]byte
	hex.Encode(hexSum[:], sum[:])
	return string(hexSum[:]), nil
}

// readAtMost appends to b what r yields until EOF or until b holds max
// bytes, as io.ReadAll(io.LimitReader(r, max)) does.
func readAtMost(b []byte, r io.Reader, max int64) ([]byte, error) {
	for int64(len(b)) < max {
		switch {
		case cap(b) == 0:
			b = make([]byte, 0, 512)
		case len(b) == cap(b):
			b = append(b, 0)[:len(b)]
		}
		end := cap(b)
		if int64(end) > max {
			end = int(max)
		}
		n, err := r.Read(b[len(b):end])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
	return b, nil
}

// secret looks up the secret for the access key, mapping an unknown key to
// ErrInvalidAccessKeyID with the AWSAccessKeyId detail.
func (v *Verifier) secret(r *http.Request, accessKeyID string) (string, error) {
	s, err := v.Credentials.Secret(r.Context(), accessKeyID)
	if errors.Is(err, ErrInvalidAccessKeyID) {
		return "", ErrInvalidAccessKeyID.with("", Detail{"AWSAccessKeyId", accessKeyID})
	}
	if err != nil {
		return "", err
	}
	return s, nil
}

// checkSkew rejects a header-signed request whose date is too far from
// now. A date before 1970 is no valid date at all (ErrMissingDate, as S3
// answers); one centuries ahead is skewed like any other (the comparison
// avoids time.Duration, which such a distance would overflow).
func (v *Verifier) checkSkew(t time.Time) error {
	if t.Before(time.Unix(0, 0)) {
		return ErrMissingDate
	}
	now := v.now()
	if t.Before(now.Add(-v.maxSkew())) || t.After(now.Add(v.maxSkew())) {
		return ErrRequestTimeTooSkewed.with("",
			Detail{"RequestTime", t.UTC().Format(amzDateLayout)},
			Detail{"ServerTime", now.UTC().Format(time.RFC3339)},
			Detail{"MaxAllowedSkewMilliseconds", strconv.FormatInt(v.maxSkew().Milliseconds(), 10)})
	}
	return nil
}

// unsignedAmzHeaders lists the x-amz-* headers present in r but not in the
// signed set, plus host when it is not signed. x-amz-content-sha256 and
// x-amz-date need no signing: both already enter the string to sign.
func unsignedAmzHeaders(r *http.Request, signed []string) []string {
	// Header names are compared without case, so that the common case
	// (every x-amz-* header signed) lowers no name.
	isSigned := func(name string) bool {
		for _, s := range signed {
			if strings.EqualFold(s, name) {
				return true
			}
		}
		return false
	}
	var missing []string
	if !isSigned("host") {
		missing = append(missing, "host")
	}
	for k := range r.Header {
		if len(k) < len("x-amz-") || !strings.EqualFold(k[:len("x-amz-")], "x-amz-") ||
			strings.EqualFold(k, "x-amz-content-sha256") || strings.EqualFold(k, "x-amz-date") {
			continue
		}
		if !isSigned(k) {
			missing = append(missing, strings.ToLower(k))
		}
	}
	// Sorted, so the error names them in a stable order.
	slices.Sort(missing)
	return missing
}
