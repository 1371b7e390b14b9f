package sigv4

import (
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// credential is a parsed X-Amz-Credential / Credential= value.
type credential struct {
	accessKeyID, date, region, service string
}

func (c credential) scope() string {
	return c.date + "/" + c.region + "/" + c.service + "/aws4_request"
}

const credentialShape = `the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".`

// parseCredential splits "AKID/YYYYMMDD/REGION/SERVICE/aws4_request". The
// scope is taken from the right so nothing is assumed about the key ID.
func parseCredential(s string) (credential, bool) {
	c, problem := parseCredentialProblem(s)
	return c, problem == ""
}

func parseCredentialProblem(s string) (credential, string) {
	// Cut the four scope fields off the right: the key ID is what is left,
	// slashes included.
	var cut [4]int
	rest := s
	for i := range cut {
		j := strings.LastIndexByte(rest, '/')
		if j < 0 {
			return credential{}, credentialShape
		}
		cut[i], rest = j, rest[:j]
	}
	c := credential{
		accessKeyID: s[:cut[3]],
		date:        s[cut[3]+1 : cut[2]],
		region:      s[cut[2]+1 : cut[1]],
		service:     s[cut[1]+1 : cut[0]],
	}
	if terminal := s[cut[0]+1:]; terminal != "aws4_request" {
		return credential{}, `incorrect terminal "` + terminal + `". This endpoint uses "aws4_request".`
	}
	if c.accessKeyID == "" || c.region == "" || c.service == "" {
		return credential{}, credentialShape
	}
	if _, err := time.Parse("20060102", c.date); err != nil {
		return credential{}, `incorrect date format "` + c.date + `". This date in the credential must be in the format "yyyyMMdd".`
	}
	return c, ""
}

// authFields are the parameters of a SigV4 Authorization header that
// verification uses.
type authFields struct {
	credential, signedHeaders, signature string
	// has records which of them were present (possibly empty).
	hasCredential, hasSignedHeaders, hasSignature bool
}

// authParams parses the comma-separated Name=value list that follows the
// algorithm in a SigV4 Authorization header. Other names are ignored; of
// a name given twice the last value counts.
func authParams(authz string) authFields {
	var f authFields
	_, rest, _ := strings.Cut(authz, " ")
	for field := range strings.SplitSeq(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(field), "=")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch strings.TrimSpace(k) {
		case "Credential":
			f.credential, f.hasCredential = v, true
		case "SignedHeaders":
			f.signedHeaders, f.hasSignedHeaders = v, true
		case "Signature":
			f.signature, f.hasSignature = v, true
		}
	}
	return f
}

// splitSignedHeaders parses a SignedHeaders value ("host;x-amz-date").
func splitSignedHeaders(s string) []string {
	out := make([]string, 0, strings.Count(s, ";")+1)
	for h := range strings.SplitSeq(s, ";") {
		if h = strings.ToLower(strings.TrimSpace(h)); h != "" {
			out = append(out, h)
		}
	}
	return out
}

// requestTime returns the request date from X-Amz-Date or, failing that,
// Date, and its ISO 8601 basic form.
func requestTime(r *http.Request) (time.Time, string, bool) {
	if h := r.Header.Get("X-Amz-Date"); h != "" {
		t, err := time.Parse(amzDateLayout, h)
		if err != nil {
			return time.Time{}, "", false
		}
		return t, h, true
	}
	if h := r.Header.Get("Date"); h != "" {
		// The formats SigV2 accepts: botocore writes the Date of a SigV4
		// request with a numeric zone ("... 21:53:04 -0000").
		t, ok := parseV2Date(h)
		if !ok {
			return time.Time{}, "", false
		}
		return t, t.UTC().Format(amzDateLayout), true
	}
	return time.Time{}, "", false
}

// signatureInput is what both SigV4 flavours feed to checkSignature.
type signatureInput struct {
	cred        credential
	signed      []string
	query       string // canonical query string
	payloadHash string
	amzDate     string
	supplied    string // the signature from the request
}

// signScratch holds the buffers and hash a signature check reuses.
type signScratch struct {
	head []byte // the canonical request up to the URI
	tail []byte // the canonical request after the URI
	sts  []byte // the string to sign
	h    hash.Hash
	sum  [sha256.Size]byte
	mac  [sha256.Size]byte
	pad  [sha256.BlockSize]byte
}

var signScratches = sync.Pool{New: func() any {
	return &signScratch{head: make([]byte, 0, 256), tail: make([]byte, 0, 512), sts: make([]byte, 0, 256), h: sha256.New()}
}}

// maxPooledScratch bounds the buffers a scratch keeps when it goes back
// to the pool.
const maxPooledScratch = 16 << 10

// checkSignature recomputes the signature over each canonical URI
// candidate and reports whether one matches the supplied signature. The
// canonical request is hashed in pieces and the string to sign built in
// a reused buffer: neither is materialised unless the check fails.
func checkSignature(r *http.Request, in signatureInput, key []byte) error {
	sc := signScratches.Get().(*signScratch)
	defer func() {
		if cap(sc.head) <= maxPooledScratch && cap(sc.tail) <= maxPooledScratch && cap(sc.sts) <= maxPooledScratch {
			signScratches.Put(sc)
		}
	}()
	tail := append(sc.tail[:0], '\n')
	tail = append(tail, in.query...)
	tail = append(tail, '\n')
	tail = appendCanonicalHeaders(tail, r, in.signed)
	tail = append(tail, '\n')
	for i, h := range in.signed {
		if i > 0 {
			tail = append(tail, ';')
		}
		tail = append(tail, h...)
	}
	tail = append(tail, '\n')
	tail = append(tail, in.payloadHash...)
	sc.tail = tail

	uris, n := canonicalURIs(r, in.cred.service)
	for _, uri := range uris[:n] {
		head := append(sc.head[:0], r.Method...)
		head = append(head, '\n')
		head = append(head, uri...)
		sc.head = head
		sc.h.Reset()
		sc.h.Write(head)
		sc.h.Write(tail)
		sc.sts = appendStringToSign(sc.sts[:0], in.amzDate, in.cred, sc.h.Sum(sc.sum[:0]))
		sc.macSHA256(key, sc.sts)
		if equalHexSignature(sc.mac[:], in.supplied) {
			return nil
		}
	}
	cr := r.Method + "\n" + uris[0] + string(tail)
	return ErrSignatureDoesNotMatch.with("",
		Detail{"AWSAccessKeyId", in.cred.accessKeyID},
		Detail{"StringToSign", stringToSign(in.amzDate, in.cred.scope(), cr)},
		Detail{"SignatureProvided", in.supplied},
		Detail{"CanonicalRequest", cr})
}

// appendStringToSign appends the SigV4 string to sign for a canonical
// request whose SHA-256 is crHash (stringToSign, without the strings).
func appendStringToSign(b []byte, amzDate string, c credential, crHash []byte) []byte {
	b = append(b, "AWS4-HMAC-SHA256\n"...)
	b = append(b, amzDate...)
	b = append(b, '\n')
	b = append(b, c.date...)
	b = append(b, '/')
	b = append(b, c.region...)
	b = append(b, '/')
	b = append(b, c.service...)
	b = append(b, "/aws4_request\n"...)
	return hex.AppendEncode(b, crHash)
}

func malformedHeader(problem string) *Error {
	return ErrAuthorizationHeaderMalformed.with("The authorization header is malformed; " + problem)
}

func queryParamsError(problem string) *Error {
	return ErrAuthorizationQueryParametersError.with(problem)
}

func (v *Verifier) verifyV4Header(r *http.Request) (*Auth, error) {
	authz := r.Header.Get("Authorization")
	p := authParams(authz)
	for _, f := range []struct {
		name string
		has  bool
	}{{"Credential", p.hasCredential}, {"SignedHeaders", p.hasSignedHeaders}, {"Signature", p.hasSignature}} {
		if !f.has {
			return nil, malformedHeader("the Authorization header requires a '" + f.name + "' parameter. Authorization=" + authz)
		}
	}
	cred, problem := parseCredentialProblem(p.credential)
	if problem != "" {
		return nil, malformedHeader(problem)
	}
	t, amzDate, ok := requestTime(r)
	if !ok {
		return nil, ErrMissingDate
	}
	if cred.date != amzDate[:8] {
		return nil, malformedHeader(`Invalid credential date "` + cred.date + `". This date is not the same as X-Amz-Date: "` + amzDate[:8] + `".`)
	}
	if err := v.checkSkew(t); err != nil {
		return nil, err
	}
	signed := splitSignedHeaders(p.signedHeaders)
	if missing := unsignedAmzHeaders(r, signed); len(missing) > 0 {
		return nil, ErrHeadersNotSigned.with("", Detail{"HeadersNotSigned", strings.Join(missing, ", ")})
	}

	payloadHash := r.Header.Get("X-Amz-Content-Sha256")
	mode, ok := payloadMode(payloadHash)
	needHash := false
	switch {
	case payloadHash == "" && usesS3URIRules(cred.service):
		return nil, ErrMissingContentSHA256
	case payloadHash == "":
		// Lambda, IAM and friends sign the body hash without sending it.
		needHash = true
	case !ok:
		return nil, ErrInvalidContentSHA256
	}

	secret, err := v.secret(r, cred.accessKeyID)
	if err != nil {
		return nil, err
	}
	if needHash {
		if payloadHash, err = v.hashBody(r); err != nil {
			return nil, err
		}
		mode = PayloadSigned
	}
	key := v.keys.get(secret, cred.date, cred.region, cred.service)
	in := signatureInput{
		cred:        cred,
		signed:      signed,
		query:       canonicalQuery(r.URL.RawQuery, false),
		payloadHash: payloadHash,
		amzDate:     amzDate,
		supplied:    p.signature,
	}
	if err := checkSignature(r, in, key); err != nil {
		return nil, err
	}
	a := v4Auth(MethodV4Header, in, key, mode, t, r.Header.Get("X-Amz-Security-Token"))
	a.bodyHashed = needHash
	return a, nil
}

func v4Auth(m Method, in signatureInput, key []byte, mode PayloadMode, t time.Time, token string) *Auth {
	a := &Auth{
		AccessKeyID:   in.cred.accessKeyID,
		Method:        m,
		Service:       in.cred.service,
		Region:        in.cred.region,
		Payload:       mode,
		Time:          t,
		SecurityToken: token,
		SignedHeaders: in.signed,
		key:           key,
		scope:         in.cred.scope(),
		amzDate:       in.amzDate,
		seed:          strings.ToLower(in.supplied),
	}
	if mode == PayloadSigned {
		a.contentSHA256 = strings.ToLower(in.payloadHash)
	}
	return a
}

func (v *Verifier) verifyV4Query(r *http.Request) (*Auth, error) {
	q := r.URL.Query()
	required := []string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-Date", "X-Amz-SignedHeaders"}
	for _, name := range required {
		if q.Get(name) == "" {
			return nil, ErrAuthorizationQueryParametersError
		}
	}
	if alg := q.Get("X-Amz-Algorithm"); alg != algorithmV4 {
		return nil, queryParamsError(`X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"`)
	}
	cred, problem := parseCredentialProblem(q.Get("X-Amz-Credential"))
	if problem != "" {
		return nil, queryParamsError("Error parsing the X-Amz-Credential parameter; " + problem)
	}
	amzDate := q.Get("X-Amz-Date")
	t, err := time.Parse(amzDateLayout, amzDate)
	if err != nil {
		return nil, queryParamsError(`X-Amz-Date must be in the ISO8601 Long Format "yyyyMMdd'T'HHmmss'Z'"`)
	}
	if cred.date != amzDate[:8] {
		return nil, queryParamsError(`Invalid credential date "` + cred.date + `". This date is not the same as X-Amz-Date: "` + amzDate[:8] + `".`)
	}

	// Validity window. S3 requires X-Amz-Expires; other services may
	// omit it, and then the request is good for the allowed skew.
	validFor := v.maxSkew()
	if e, ok := q["X-Amz-Expires"]; ok && len(e) > 0 {
		secs, err := strconv.ParseInt(e[0], 10, 64)
		switch {
		case err != nil:
			return nil, queryParamsError("X-Amz-Expires should be a number")
		case secs < 0:
			return nil, queryParamsError("X-Amz-Expires must be non-negative")
		case secs > int64(MaxPresignExpiry/time.Second):
			return nil, ErrExpiresTooLarge
		}
		validFor = time.Duration(secs) * time.Second
	} else if usesS3URIRules(cred.service) {
		return nil, ErrAuthorizationQueryParametersError
	}
	now := v.now()
	if t.Sub(now) > v.maxSkew() {
		return nil, ErrRequestNotYetValid.with("",
			Detail{"X-Amz-Date", amzDate},
			Detail{"ServerTime", now.UTC().Format(time.RFC3339)})
	}
	expires := t.Add(validFor)
	if now.After(expires) {
		return nil, ErrRequestExpired.with("",
			Detail{"X-Amz-Expires", strconv.FormatInt(int64(validFor/time.Second), 10)},
			Detail{"Expires", expires.UTC().Format(time.RFC3339)},
			Detail{"ServerTime", now.UTC().Format(time.RFC3339)})
	}

	signed := splitSignedHeaders(q.Get("X-Amz-SignedHeaders"))
	if missing := unsignedAmzHeaders(r, signed); len(missing) > 0 {
		return nil, ErrHeadersNotSigned.with("", Detail{"HeadersNotSigned", strings.Join(missing, ", ")})
	}

	payloadHash := q.Get("X-Amz-Content-Sha256")
	mode, ok := payloadMode(payloadHash)
	needHash := false
	switch {
	case payloadHash == "" && usesS3URIRules(cred.service):
		payloadHash, mode = UnsignedPayload, PayloadUnsigned
	case payloadHash == "":
		needHash = true
	case !ok:
		return nil, ErrInvalidContentSHA256
	}

	secret, err := v.secret(r, cred.accessKeyID)
	if err != nil {
		return nil, err
	}
	if needHash {
		if payloadHash, err = v.hashBody(r); err != nil {
			return nil, err
		}
		mode = PayloadSigned
	}
	key := v.keys.get(secret, cred.date, cred.region, cred.service)
	in := signatureInput{
		cred:        cred,
		signed:      signed,
		query:       canonicalQuery(r.URL.RawQuery, true),
		payloadHash: payloadHash,
		amzDate:     amzDate,
		supplied:    q.Get("X-Amz-Signature"),
	}
	if err := checkSignature(r, in, key); err != nil {
		return nil, err
	}
	a := v4Auth(MethodV4Query, in, key, mode, t, q.Get("X-Amz-Security-Token"))
	a.Expires = expires
	a.bodyHashed = needHash
	return a, nil
}
