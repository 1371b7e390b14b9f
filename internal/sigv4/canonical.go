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
func canonicalURIs(r *http.Request, service string) (uris [2]string, n int) {
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
			return [2]string{first}, 1
		}
		return [2]string{first, wire}, 2
	}
	first := uriEncode(removeDotSegments(wire), true)
	second := uriEncode(wire, true)
	if first == second {
		return [2]string{first}, 1
	}
	return [2]string{first, second}, 2
}

// removeDotSegments resolves "." and ".." segments and drops empty ones,
// keeping a leading and trailing slash, the way botocore normalises
// non-S3 paths before signing.
func removeDotSegments(p string) string {
	if p == "" {
		return "/"
	}
	if normalPath(p) {
		return p
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

// normalPath reports whether removeDotSegments leaves p as it is: p is
// absolute and has no empty, "." or ".." segment (but for the empty one a
// trailing slash makes).
func normalPath(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	if p == "/" {
		return true
	}
	start := 1
	for i := 1; i <= len(p); i++ {
		if i < len(p) && p[i] != '/' {
			continue
		}
		switch seg := p[start:i]; seg {
		case ".", "..":
			return false
		case "":
			if i < len(p) { // "//"
				return false
			}
		}
		start = i + 1
	}
	return true
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

// appendHeaderValues appends the values r carries for the lower-case
// header name, including the ones net/http moves out of r.Header, each
// trimmed with runs of spaces collapsed, several joined by ','.
func appendHeaderValues(b []byte, r *http.Request, name string) []byte {
	switch name {
	case "host":
		return appendTrimmed(b, r.Host)
	case "content-length":
		if v := r.Header["Content-Length"]; len(v) > 0 {
			return appendValues(b, v)
		}
		if r.ContentLength > 0 {
			return strconv.AppendInt(b, r.ContentLength, 10)
		}
		return b
	case "transfer-encoding":
		if v := r.Header["Transfer-Encoding"]; len(v) > 0 {
			return appendValues(b, v)
		}
		if len(r.TransferEncoding) > 0 {
			return appendTrimmed(b, strings.Join(r.TransferEncoding, ","))
		}
		return b
	}
	if v, ok := lookupHeader(r.Header, name); ok {
		return appendValues(b, v)
	}
	for k, v := range r.Header { // non-canonical keys set by hand
		if strings.EqualFold(k, name) {
			return appendValues(b, v)
		}
	}
	return b
}

// lookupHeader finds the lower-case name under its canonical key without
// allocating the key when it is short and plain (letters, digits, '-').
func lookupHeader(h http.Header, name string) ([]string, bool) {
	var buf [64]byte
	if len(name) > len(buf) {
		v, ok := h[textproto.CanonicalMIMEHeaderKey(name)]
		return v, ok
	}
	upper := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z':
			if upper {
				c -= 'a' - 'A'
			}
		case '0' <= c && c <= '9', c == '-':
		default:
			v, ok := h[textproto.CanonicalMIMEHeaderKey(name)]
			return v, ok
		}
		buf[i] = c
		upper = c == '-'
	}
	v, ok := h[string(buf[:len(name)])]
	return v, ok
}

func appendValues(b []byte, vs []string) []byte {
	for i, v := range vs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendTrimmed(b, v)
	}
	return b
}

// appendCanonicalHeaders appends the canonical headers block (each line
// "name:value\n") for the signed header names, values trimmed, runs of
// spaces collapsed, several values joined by ','.
func appendCanonicalHeaders(b []byte, r *http.Request, signed []string) []byte {
	for _, name := range signed {
		b = append(b, name...)
		b = append(b, ':')
		b = appendHeaderValues(b, r, name)
		b = append(b, '\n')
	}
	return b
}

// appendTrimmed appends v with surrounding white space trimmed and runs of
// spaces collapsed.
func appendTrimmed(b []byte, v string) []byte {
	v = strings.TrimSpace(v)
	for i := 0; i < len(v); i++ {
		if v[i] == ' ' && i > 0 && v[i-1] == ' ' {
			continue
		}
		b = append(b, v[i])
	}
	return b
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

// macSHA256 computes HMAC-SHA256(key, msg) into sc.mac with sc.h, so
// that a signature check allocates nothing.
func (sc *signScratch) macSHA256(key, msg []byte) {
	k := &sc.pad
	*k = [sha256.BlockSize]byte{}
	h := sc.h
	if len(key) > len(k) {
		h.Reset()
		h.Write(key)
		h.Sum(k[:0])
	} else {
		copy(k[:], key)
	}
	for i := range k {
		k[i] ^= 0x36
	}
	h.Reset()
	h.Write(k[:])
	h.Write(msg)
	inner := h.Sum(sc.mac[:0])
	for i := range k {
		k[i] ^= 0x36 ^ 0x5c
	}
	h.Reset()
	h.Write(k[:])
	h.Write(inner)
	h.Sum(sc.mac[:0])
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
