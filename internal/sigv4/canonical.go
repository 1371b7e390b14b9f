package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/textproto"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
)

const upperHex = "0123456789ABCDEF"

// emptySHA256 is the hex SHA-256 of the empty string.
const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// unreserved reports whether c is in the RFC 3986 unreserved set, which AWS
// never percent-encodes.
func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '~'
}

// uriEncode percent-encodes s the AWS way: every byte except the unreserved
// set (and '/' when keepSlash) becomes %XX with upper-case hex.
func uriEncode(s string, keepSlash bool) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if c := s[i]; !unreserved(c) && (!keepSlash || c != '/') {
			n++
		}
	}
	if n == 0 {
		return s
	}
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) || keepSlash && c == '/' {
			b = append(b, c)
			continue
		}
		b = append(b, '%', upperHex[c>>4], upperHex[c&15])
	}
	return string(b)
}

// usesS3URIRules reports whether the signing name belongs to the S3 family,
// whose canonical URI is the path encoded once and never normalised. Every
// other service encodes the (already escaped) path a second time, as
// aws-sdk-go-v2 does unless DisableURIPathEscaping is set, which its S3
// clients alone do.
func usesS3URIRules(service string) bool {
	switch service {
	case "s3", "s3-object-lambda", "s3-outposts", "s3express":
		return true
	}
	return false
}

// canonicalURIs returns the canonical URI candidates for r, most likely
// first. Verification succeeds if any candidate reproduces the signature.
//
// S3: the path decoded once and re-encoded with AWS rules (so clients that
// escape differently on the wire still verify), then the escaped path as it
// appeared on the wire (for clients that sign what they send, e.g. a '/'
// sent as %2F).
//
// Other services: botocore's form, the wire path with dot segments and
// empty segments removed, encoded again; then aws-sdk-go-v2's form, the wire
// path encoded again without normalisation.
func canonicalURIs(r *http.Request, service string) []string {
	wire := r.URL.EscapedPath()
	if wire == "" {
		wire = "/"
	}
	if usesS3URIRules(service) {
		path := r.URL.Path
		if path == "" {
			path = "/"
		}
		first := uriEncode(path, true)
		if first == wire {
			return []string{first}
		}
		return []string{first, wire}
	}
	first := uriEncode(removeDotSegments(wire), true)
	second := uriEncode(wire, true)
	if first == second {
		return []string{first}
	}
	return []string{first, second}
}

// removeDotSegments resolves "." and ".." segments and drops empty ones,
// keeping a leading and trailing slash, the way botocore normalises
// non-S3 paths before signing.
func removeDotSegments(p string) string {
	if p == "" {
		return "/"
	}
	var out []string
	for seg := range strings.SplitSeq(p, "/") {
		switch seg {
		case "", ".":
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		default:
			out = append(out, seg)
		}
	}
	var b strings.Builder
	if p[0] == '/' {
		b.WriteByte('/')
	}
	b.WriteString(strings.Join(out, "/"))
	if p[len(p)-1] == '/' && len(out) > 0 {
		b.WriteByte('/')
	}
	if b.Len() == 0 {
		return "/"
	}
	return b.String()
}

// canonicalQuery builds the SigV4 canonical query string from a raw query:
// each name and value decoded (a '+' is a space) and re-encoded with AWS
// rules, a parameter without '=' having an empty value, pairs sorted by
// encoded name then encoded value. When skipSignature is set the
// X-Amz-Signature parameter is left out, as presigning requires.
func canonicalQuery(rawQuery string, skipSignature bool) string {
	if rawQuery == "" {
		return ""
	}
	type pair struct{ k, v string }
	pairs := make([]pair, 0, strings.Count(rawQuery, "&")+1)
	for piece := range strings.SplitSeq(rawQuery, "&") {
		if piece == "" {
			continue
		}
		k, v, _ := strings.Cut(piece, "=")
		k, v = queryUnescape(k), queryUnescape(v)
		if skipSignature && k == "X-Amz-Signature" {
			continue
		}
		pairs = append(pairs, pair{uriEncode(k, false), uriEncode(v, false)})
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].k != pairs[j].k {
			return pairs[i].k < pairs[j].k
		}
		return pairs[i].v < pairs[j].v
	})
	var b strings.Builder
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.k)
		b.WriteByte('=')
		b.WriteString(p.v)
	}
	return b.String()
}

// queryUnescape decodes a query component, keeping it verbatim when it holds
// an invalid escape (the signer saw the same bytes).
func queryUnescape(s string) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	u, err := url.QueryUnescape(s)
	if err != nil {
		return s
	}
	return u
}

// headerValues returns the values r carries for the lower-case header name,
// including the ones net/http moves out of r.Header.
func headerValues(r *http.Request, name string) []string {
	switch name {
	case "host":
		return []string{r.Host}
	case "content-length":
		if v := r.Header["Content-Length"]; len(v) > 0 {
			return v
		}
		if r.ContentLength > 0 {
			return []string{strconv.FormatInt(r.ContentLength, 10)}
		}
		return nil
	case "transfer-encoding":
		if v := r.Header["Transfer-Encoding"]; len(v) > 0 {
			return v
		}
		if len(r.TransferEncoding) > 0 {
			return []string{strings.Join(r.TransferEncoding, ",")}
		}
		return nil
	}
	if v, ok := r.Header[textproto.CanonicalMIMEHeaderKey(name)]; ok {
		return v
	}
	for k, v := range r.Header { // non-canonical keys set by hand
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return nil
}

// canonicalHeaders returns the canonical headers block (each line
// "name:value\n") for the signed header names, values trimmed, runs of
// spaces collapsed, several values joined by ','.
func canonicalHeaders(r *http.Request, signed []string) string {
	var b strings.Builder
	for _, name := range signed {
		b.WriteString(name)
		b.WriteByte(':')
		for i, v := range headerValues(r, name) {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(trimAll(v))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// trimAll trims surrounding white space and collapses runs of spaces.
func trimAll(v string) string {
	v = strings.TrimSpace(v)
	if !strings.Contains(v, "  ") {
		return v
	}
	b := make([]byte, 0, len(v))
	for i := 0; i < len(v); i++ {
		if v[i] == ' ' && i > 0 && v[i-1] == ' ' {
			continue
		}
		b = append(b, v[i])
	}
	return string(b)
}

// signingKeys caches derived signing keys. Deriving one costs four
// HMAC-SHA256 computations, and a client signs all its requests of a day
// in a region with the same key. Entries are found by the secret itself,
// so a key that is revoked or rotated (its secret no longer returned by
// the CredentialStore) is never used again; the map is emptied when it
// reaches maxSigningKeys.
type signingKeys struct {
	mu sync.Mutex
	m  map[keyScope][]byte
}

type keyScope struct{ secret, date, region, service string }

const maxSigningKeys = 1024

// get returns the signing key for a credential scope. The caller must not
// modify it.
func (c *signingKeys) get(secret, date, region, service string) []byte {
	k := keyScope{secret, date, region, service}
	c.mu.Lock()
	key, ok := c.m[k]
	c.mu.Unlock()
	if ok {
		return key
	}
	key = signingKey(secret, date, region, service)
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxSigningKeys {
		c.m = make(map[keyScope][]byte)
	}
	c.m[k] = key
	c.mu.Unlock()
	return key
}

// signingKey derives the SigV4 signing key for a credential scope.
func signingKey(secret, date, region, service string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), date)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	return hmacSHA256(k, "aws4_request")
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// stringToSign is the SigV4 string to sign for a canonical request.
func stringToSign(amzDate, scope, canonicalRequest string) string {
	return "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + sha256Hex(canonicalRequest)
}

// equalHexSignature compares a computed MAC with a hex signature supplied by
// the client (either case) in constant time.
func equalHexSignature(mac []byte, supplied string) bool {
	if len(supplied) != 2*len(mac) {
		return false
	}
	var buf [64]byte
	got := buf[:len(mac)]
	if len(mac) > len(buf) {
		got = make([]byte, len(mac))
	}
	if _, err := hex.Decode(got, []byte(supplied)); err != nil {
		return false
	}
	return hmac.Equal(mac, got)
}

// isSHA256Hex reports whether s is 64 hex digits.
func isSHA256Hex(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
