package sigv4

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// v2SubResources are the query parameters that SigV2 puts into the
// CanonicalizedResource. It is the union of the list in the S3 SigV2
// documentation (acl, lifecycle, location, logging, notification,
// partNumber, policy, requestPayment, torrent, uploadId, uploads,
// versionId, versioning, versions, website, and the response-* overrides)
// and what botocore's HmacV1Auth signs (which adds accelerate, analytics,
// cors, defaultObjectAcl, delete, inventory, metrics, object-lock,
// replication, restore, select, select-type, storageClass, tagging).
// A client signing a sub-resource not in this list cannot be verified.
var v2SubResources = []string{
	"accelerate", "acl", "analytics", "cors", "defaultObjectAcl", "delete",
	"inventory", "lifecycle", "location", "logging", "metrics", "notification",
	"object-lock", "partNumber", "policy", "replication", "requestPayment",
	"response-cache-control", "response-content-disposition",
	"response-content-encoding", "response-content-language",
	"response-content-type", "response-expires", "restore", "select",
	"select-type", "storageClass", "tagging", "torrent", "uploadId", "uploads",
	"versionId", "versioning", "versions", "website",
}

// v2NewerSubResources are the sub-resources of v2SubResources that
// botocore signs but S3's SigV2 documentation (and the signers written from
// it, such as rclone's, which adds only delete) leaves out.
var v2NewerSubResources = []string{
	"accelerate", "analytics", "cors", "defaultObjectAcl", "inventory",
	"metrics", "object-lock", "replication", "restore", "select",
	"select-type", "storageClass", "tagging",
}

// V2SubResources returns the query parameter names that belong in a SigV2
// CanonicalizedResource, sorted. Names are case-sensitive.
func V2SubResources() []string { return slices.Clone(v2SubResources) }

// IsV2SubResource reports whether the query parameter name belongs in a
// SigV2 CanonicalizedResource.
func IsV2SubResource(name string) bool {
	_, found := slices.BinarySearch(v2SubResources, name)
	return found
}

// CanonicalV2Resource builds the SigV2 CanonicalizedResource of r:
//
//	"/" + bucket + escaped path + ["?" + sub-resources]
//
// Pass bucket "" for path-style requests (the bucket is already the first
// path segment) and the bucket name for virtual-hosted requests. A request
// for a bucket itself always yields "/bucket/", with the slash, whether the
// path was "/bucket" or "/" on a virtual host: that is what botocore and
// S3 sign. The path is used exactly as escaped on the wire. The sub-resources are the query parameters for
// which IsV2SubResource is true, values percent-decoded (a '+' stays a
// '+'), sorted by name, written "name=value", or just "name" when the
// parameter had no '='.
func CanonicalV2Resource(bucket string, r *http.Request) string {
	var b strings.Builder
	if bucket != "" {
		b.WriteByte('/')
		b.WriteString(bucket)
	}
	path := r.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	b.WriteString(path)
	if bucket == "" && len(path) > 1 && strings.IndexByte(path[1:], '/') < 0 {
		b.WriteByte('/') // a path-style bucket request signs "/bucket/"
	}

	type sub struct{ k, v string }
	var subs []sub
	for piece := range strings.SplitSeq(r.URL.RawQuery, "&") {
		k, v, hasValue := strings.Cut(piece, "=")
		if !IsV2SubResource(k) {
			continue
		}
		if hasValue {
			if u, err := url.PathUnescape(v); err == nil {
				v = u
			}
			subs = append(subs, sub{k, "=" + v})
		} else {
			subs = append(subs, sub{k, ""})
		}
	}
	sort.SliceStable(subs, func(i, j int) bool { return subs[i].k < subs[j].k })
	for i, s := range subs {
		if i == 0 {
			b.WriteByte('?')
		} else {
			b.WriteByte('&')
		}
		b.WriteString(s.k)
		b.WriteString(s.v)
	}
	return b.String()
}

// v2ResourceForms returns resource and the other forms clients sign for
// the same request:
//   - when it has sub-resources with an empty value ("?uploads="), the
//     form that writes those as bare names ("?uploads"): botocore signs
//     the query as sent, minio-go drops the "=";
//   - when it has sub-resources that botocore signs but S3's SigV2
//     documentation does not list (v2NewerSubResources: object-lock,
//     tagging, cors, ...), the form without them: rclone's V2 signer
//     signs only the documented ones;
//   - when it names a bucket ("/bucket/"), the form without the trailing
//     slash: the SigV2 algorithm signs a path-style bucket request's path
//     as sent ("/bucket"), which rclone's V2 signer does.
func v2ResourceForms(resource string) []string {
	forms := []string{resource}
	path, query, ok := strings.Cut(resource, "?")
	if ok && strings.Contains(query, "=") {
		pieces := strings.Split(query, "&")
		changed := false
		for i, p := range pieces {
			if name, ok := strings.CutSuffix(p, "="); ok && IsV2SubResource(name) {
				pieces[i], changed = name, true
			}
		}
		if changed {
			forms = append(forms, path+"?"+strings.Join(pieces, "&"))
		}
	}
	if ok {
		for _, f := range slices.Clone(forms) {
			_, q, _ := strings.Cut(f, "?")
			var kept []string
			for _, p := range strings.Split(q, "&") {
				name, _, _ := strings.Cut(p, "=")
				if !slices.Contains(v2NewerSubResources, name) {
					kept = append(kept, p)
				}
			}
			switch {
			case len(kept) == len(strings.Split(q, "&")):
			case len(kept) == 0:
				forms = append(forms, path)
			default:
				forms = append(forms, path+"?"+strings.Join(kept, "&"))
			}
		}
	}
	if bucket, ok := strings.CutSuffix(path, "/"); ok && len(bucket) > 1 && !strings.Contains(bucket[1:], "/") {
		for _, f := range slices.Clone(forms) {
			forms = append(forms, bucket+f[len(path):])
		}
	}
	return forms
}

func (v *Verifier) v2Resource(r *http.Request) string {
	if v.V2Resource != nil {
		return v.V2Resource(r)
	}
	return CanonicalV2Resource("", r)
}

// v2StringToSign builds
//
//	METHOD\nContent-MD5\nContent-Type\nDate\nCanonicalizedAmzHeaders CanonicalizedResource
//
// where amz holds the lower-cased x-amz-* headers and their joined values.
func v2StringToSign(method, md5, ctype, date string, amz map[string]string, resource string) string {
	var b strings.Builder
	b.WriteString(method)
	b.WriteByte('\n')
	b.WriteString(strings.TrimSpace(md5))
	b.WriteByte('\n')
	b.WriteString(strings.TrimSpace(ctype))
	b.WriteByte('\n')
	b.WriteString(date)
	b.WriteByte('\n')
	keys := make([]string, 0, len(amz))
	for k := range amz {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		b.WriteString(k)
		b.WriteByte(':')
		b.WriteString(amz[k])
		b.WriteByte('\n')
	}
	b.WriteString(resource)
	return b.String()
}

// amzHeadersV2 collects the x-amz-* headers of r: names lower-cased, the
// values of one name trimmed and joined with ','.
func amzHeadersV2(r *http.Request) map[string]string {
	amz := make(map[string]string)
	for k, vs := range r.Header {
		lk := strings.ToLower(k)
		if !strings.HasPrefix(lk, "x-amz-") {
			continue
		}
		trimmed := make([]string, len(vs))
		for i, v := range vs {
			trimmed[i] = strings.TrimSpace(v)
		}
		if prev, ok := amz[lk]; ok {
			amz[lk] = prev + "," + strings.Join(trimmed, ",")
		} else {
			amz[lk] = strings.Join(trimmed, ",")
		}
	}
	return amz
}

// checkV2 compares the HMAC-SHA1 of each candidate string to sign with the
// supplied base64 signature.
func checkV2(secret, accessKeyID, supplied string, candidates []string) error {
	// A '+' that reached us unescaped in a query string decodes as ' '.
	want, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(supplied, " ", "+"))
	for _, sts := range candidates {
		m := hmac.New(sha1.New, []byte(secret))
		m.Write([]byte(sts))
		if err == nil && hmac.Equal(m.Sum(nil), want) {
			return nil
		}
	}
	return ErrSignatureDoesNotMatch.with("",
		Detail{"AWSAccessKeyId", accessKeyID},
		Detail{"StringToSign", candidates[0]},
		Detail{"SignatureProvided", supplied})
}

// parseV2Date accepts the HTTP date formats, RFC 1123 with a numeric zone
// or the zone name UTC (rclone's V2 signer writes "... 15:04:05 UTC"), and
// ISO 8601 basic.
func parseV2Date(s string) (time.Time, bool) {
	if t, err := http.ParseTime(s); err == nil {
		return t, true
	}
	for _, layout := range []string{time.RFC1123Z, amzDateLayout} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	// time.Parse invents a zero offset for zone names it does not know;
	// only UTC itself is trusted.
	if t, err := time.Parse(time.RFC1123, s); err == nil && t.Location() == time.UTC {
		return t, true
	}
	return time.Time{}, false
}

func (v *Verifier) verifyV2Header(r *http.Request) (*Auth, error) {
	cred := strings.TrimPrefix(r.Header.Get("Authorization"), "AWS ")
	i := strings.LastIndexByte(cred, ':')
	if i <= 0 || i == len(cred)-1 {
		return nil, ErrUnsupportedAuthorization.with("AWS authorization header is invalid.  Expected AwsAccessKeyId:signature")
	}
	accessKeyID, supplied := strings.TrimSpace(cred[:i]), strings.TrimSpace(cred[i+1:])

	// With x-amz-date present the Date line is empty (the date is signed
	// as an amz header); tolerate clients that put Date there anyway.
	var dates []string
	when := r.Header.Get("X-Amz-Date")
	if _, present := r.Header["X-Amz-Date"]; present && when == "" {
		// Present but empty is an invalid date, not an absent one: no
		// falling back to Date.
		return nil, ErrMissingDate
	}
	if when != "" {
		dates = append(dates, "")
		if d := r.Header.Get("Date"); d != "" {
			dates = append(dates, d)
		}
	} else {
		when = r.Header.Get("Date")
		dates = append(dates, when)
	}
	t, ok := parseV2Date(when)
	if !ok {
		return nil, ErrMissingDate
	}
	if err := v.checkSkew(t); err != nil {
		return nil, err
	}
	secret, err := v.secret(r, accessKeyID)
	if err != nil {
		return nil, err
	}
	amz := amzHeadersV2(r)
	md5, ctype := r.Header.Get("Content-Md5"), r.Header.Get("Content-Type")
	var candidates []string
	for _, resource := range v2ResourceForms(v.v2Resource(r)) {
		for _, d := range dates {
			candidates = append(candidates, v2StringToSign(r.Method, md5, ctype, d, amz, resource))
		}
	}
	if err := checkV2(secret, accessKeyID, supplied, candidates); err != nil {
		return nil, err
	}
	return &Auth{
		AccessKeyID:   accessKeyID,
		Method:        MethodV2Header,
		Payload:       unauthenticatedPayload(r),
		Time:          t,
		SecurityToken: r.Header.Get("X-Amz-Security-Token"),
	}, nil
}

func (v *Verifier) verifyV2Query(r *http.Request) (*Auth, error) {
	q := r.URL.Query()
	accessKeyID, supplied, exp := q.Get("AWSAccessKeyId"), q.Get("Signature"), q.Get("Expires")
	if accessKeyID == "" || supplied == "" || exp == "" {
		return nil, ErrMissingV2QueryParameters
	}
	secs, err := strconv.ParseInt(exp, 10, 64)
	if err != nil {
		return nil, ErrAccessDenied.with("Invalid date (should be seconds since epoch): " + exp)
	}
	expires := time.Unix(secs, 0)
	now := v.now()
	if now.After(expires) {
		return nil, ErrRequestExpired.with("",
			Detail{"Expires", expires.UTC().Format(time.RFC3339)},
			Detail{"ServerTime", now.UTC().Format(time.RFC3339)})
	}
	secret, err := v.secret(r, accessKeyID)
	if err != nil {
		return nil, err
	}

	// Presigners move x-amz-*, Content-Type and Content-MD5 headers into
	// the query string; the signature covered them as headers.
	amz := amzHeadersV2(r)
	for k, vs := range q {
		if lk := strings.ToLower(k); strings.HasPrefix(lk, "x-amz-") && len(vs) > 0 {
			amz[lk] = strings.TrimSpace(strings.Join(vs, ","))
		}
	}
	md5, ctype := r.Header.Get("Content-Md5"), r.Header.Get("Content-Type")
	if vs, ok := q["content-md5"]; ok {
		md5 = vs[0]
	}
	if vs, ok := q["content-type"]; ok {
		ctype = vs[0]
	}
	var candidates []string
	for _, resource := range v2ResourceForms(v.v2Resource(r)) {
		candidates = append(candidates, v2StringToSign(r.Method, md5, ctype, exp, amz, resource))
	}
	if err := checkV2(secret, accessKeyID, supplied, candidates); err != nil {
		return nil, err
	}
	token := q.Get("x-amz-security-token")
	if token == "" {
		token = r.Header.Get("X-Amz-Security-Token")
	}
	return &Auth{
		AccessKeyID:   accessKeyID,
		Method:        MethodV2Query,
		Payload:       unauthenticatedPayload(r),
		Expires:       expires,
		SecurityToken: token,
	}, nil
}
