package s3api

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/internal/checksum"
	"github.com/sluicehq/sluice/internal/meta"
	"github.com/sluicehq/sluice/internal/objstore"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// objectMeta reads the metadata headers of a PUT, POST ?uploads or a
// REPLACE copy.
func objectMeta(hd http.Header) (objstore.ObjectMeta, error) {
	m := objstore.ObjectMeta{
		ContentType:        hd.Get("Content-Type"),
		ContentEncoding:    stripAWSChunked(hd.Get("Content-Encoding")),
		ContentDisposition: hd.Get("Content-Disposition"),
		ContentLanguage:    hd.Get("Content-Language"),
		CacheControl:       hd.Get("Cache-Control"),
		Expires:            hd.Get("Expires"),
		WebsiteRedirect:    hd.Get("x-amz-website-redirect-location"),
		StorageClass:       hd.Get("x-amz-storage-class"),
	}
	for name, vals := range hd {
		if k, ok := strings.CutPrefix(strings.ToLower(name), "x-amz-meta-"); ok {
			if m.UserMeta == nil {
				m.UserMeta = make(map[string]string)
			}
			m.UserMeta[k] = strings.Join(vals, ",")
		}
	}
	if t := hd.Get("x-amz-tagging"); hd.Values("x-amz-tagging") != nil {
		tags, err := parseTagQuery(t)
		if err != nil {
			return m, err
		}
		m.Tags = tags
	}
	if err := checkUnsupportedHeaders(hd); err != nil {
		return m, err
	}
	return m, nil
}

// stripAWSChunked removes the aws-chunked transfer coding, which describes
// the request framing and is not part of the object's metadata.
func stripAWSChunked(ce string) string {
	if ce == "" {
		return ""
	}
	var keep []string
	chunked := false
	for _, p := range strings.Split(ce, ",") {
		p = strings.TrimSpace(p)
		if strings.EqualFold(p, "aws-chunked") {
			chunked = true
		} else if p != "" {
			keep = append(keep, p)
		}
	}
	if !chunked {
		return ce
	}
	return strings.Join(keep, ", ")
}

// parseTagQuery parses the URL-query form of x-amz-tagging.
func parseTagQuery(s string) ([]meta.Tag, error) {
	tags := []meta.Tag{}
	if s == "" {
		return tags, nil
	}
	for _, pair := range strings.Split(s, "&") {
		if pair == "" {
			continue // "a=1&&b=2", a trailing "&": S3 skips empty pairs
		}
		k, v, _ := strings.Cut(pair, "=")
		key, err1 := url.QueryUnescape(k)
		val, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil || key == "" {
			return nil, errorf("InvalidArgument", "The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters without tag name duplicates.")
		}
		for _, t := range tags {
			if t.Key == key {
				return nil, errorf("InvalidArgument", "The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters without tag name duplicates.")
			}
		}
		tags = append(tags, meta.Tag{Key: key, Value: val})
	}
	return tags, nil
}

// checkUnsupportedHeaders refuses request headers that ask for behaviour
// sluice does not provide, rather than ignoring them.
func checkUnsupportedHeaders(hd http.Header) error {
	if err := checkCannedACL(hd); err != nil {
		return err
	}
	if err := checkSSEHeaders(hd); err != nil {
		return err
	}
	// Object Lock event holds (S3, 2026) would protect the object from
	// deletion; an append (directory buckets) would keep what a plain PUT
	// replaces; annotations are not stored. Each asked for and ignored
	// would be a silent loss.
	if v := hd.Get("x-amz-object-lock-event-hold"); (v != "" && !strings.EqualFold(v, "OFF")) ||
		hd.Get("x-amz-object-lock-event-hold-duration-days") != "" || hd.Get("x-amz-object-lock-event-hold-duration-years") != "" {
		return notImplemented("Object Lock event holds")
	}
	if hd.Get("x-amz-write-offset-bytes") != "" {
		return notImplemented("Appending to an object (x-amz-write-offset-bytes, a directory bucket feature)")
	}
	if hd.Get("x-amz-object-annotation-directive") != "" {
		return notImplemented("Object annotations")
	}
	return nil
}

// checkSSEHeaders refuses server-side encryption headers that S3 would
// refuse whether or not it encrypts: an unknown method, SSE-C mixed with
// SSE-S3/KMS, a KMS key without aws:kms, and SSE-C keys without their
// algorithm or whose length or MD5 is wrong. Valid requests for encryption
// are left to the NotImplemented check.
func checkSSEHeaders(hd http.Header) error {
	invalid := func(msg string) error { return errorf("InvalidArgument", msg) }
	sse := hd.Get("x-amz-server-side-encryption")
	switch sse {
	case "", "AES256", "aws:kms", "aws:kms:dsse":
	default:
		e := errorf("InvalidArgument", "The encryption method specified is not supported")
		e.extra = [][2]string{{"ArgumentName", "x-amz-server-side-encryption"}, {"ArgumentValue", sse}}
		return e
	}
	alg := hd.Get("x-amz-server-side-encryption-customer-algorithm")
	key := hd.Get("x-amz-server-side-encryption-customer-key")
	keyMD5 := hd.Get("x-amz-server-side-encryption-customer-key-MD5")
	customer := alg != "" || key != "" || keyMD5 != ""
	switch {
	case customer && sse != "":
		return invalid("Server Side Encryption with Customer provided key is incompatible with the encryption method specified")
	case hd.Get("x-amz-server-side-encryption-aws-kms-key-id") != "" && !strings.HasPrefix(sse, "aws:kms"):
		return invalid("Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms")
	case !customer:
		return nil
	case alg == "":
		return invalid("Requests specifying Server Side Encryption with Customer provided keys must provide a valid encryption algorithm.")
	case alg != "AES256":
		return errorf("InvalidEncryptionAlgorithmError", "The Encryption request you specified is not valid. Supported value: AES256.")
	case key == "":
		return invalid("Requests specifying Server Side Encryption with Customer provided keys must provide an appropriate secret key.")
	case keyMD5 == "":
		return invalid("Requests specifying Server Side Encryption with Customer provided keys must provide the client calculated MD5 of the secret key.")
	}
	raw, err := base64.StdEncoding.DecodeString(key)
	if err != nil || len(raw) != 32 {
		return invalid("The secret key was invalid for the specified algorithm.")
	}
	if sum := md5.Sum(raw); base64.StdEncoding.EncodeToString(sum[:]) != keyMD5 {
		return invalid("The calculated MD5 hash of the key did not match the hash that was provided.")
	}
	return nil
}

// checksumInput reads the checksum a request declares: an x-amz-checksum-*
// header, or the algorithm of an x-amz-trailer whose value arrives after
// the body.
func checksumInput(rq *request) (objstore.ChecksumInput, error) {
	hd := rq.r.Header
	var in objstore.ChecksumInput
	for name := range hd {
		// An x-amz-checksum-<alg> header naming no algorithm S3 knows. The
		// algorithm, type and mode headers share the prefix but are not
		// checksums; S3 ignores them where an operation does not use them.
		lower := strings.ToLower(name)
		suffix, ok := strings.CutPrefix(lower, "x-amz-checksum-")
		if !ok || suffix == "algorithm" || suffix == "type" || suffix == "mode" {
			continue
		}
		if _, known := algorithmOfHeader(lower); !known {
			return in, errorf("InvalidRequest", "The algorithm type you specified in x-amz-checksum- header is invalid.")
		}
	}
	var empty string
	for _, a := range checksum.Algorithms() {
		if vals := hd.Values(a.HeaderName()); vals != nil {
			if in.Algorithm != "" || empty != "" {
				return in, errorf("InvalidRequest", "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.")
			}
			if vals[0] == "" {
				empty = a.HeaderName()
				continue
			}
			in.Algorithm, in.Value = a, vals[0]
		}
	}
	if empty != "" {
		// Present but empty is a malformed value, not an absent one.
		return in, errorf("InvalidRequest", "Value for "+empty+" header is invalid.")
	}
	if tr := hd.Get("x-amz-trailer"); tr != "" {
		name := strings.ToLower(strings.TrimSpace(tr))
		a, ok := algorithmOfHeader(name)
		if !ok {
			return in, errorf("InvalidRequest", "The value specified in the x-amz-trailer header is not supported")
		}
		if in.Algorithm != "" {
			return in, errorf("InvalidRequest", "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.")
		}
		in.Algorithm = a
		trailer := rq.trailer
		in.Trailer = func() string { return trailer().Get(name) }
	}
	if sdk := hd.Get("x-amz-sdk-checksum-algorithm"); sdk != "" {
		a, err := checksum.ParseAlgorithm(sdk)
		if err != nil {
			return in, errorf("InvalidRequest", checksum.UnknownAlgorithmMessage)
		}
		if in.Algorithm == "" {
			return in, errorf("InvalidRequest", "x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* or x-amz-trailer headers were found.")
		}
		if a != in.Algorithm {
			return in, errorf("InvalidRequest", "Value for x-amz-sdk-checksum-algorithm header is invalid.")
		}
	}
	return in, nil
}

func algorithmOfHeader(name string) (checksum.Algorithm, bool) {
	for _, a := range checksum.Algorithms() {
		if a.HeaderName() == name {
			return a, true
		}
	}
	return "", false
}

// contentLength is the length of the object data in the request: the
// decoded length of aws-chunked bodies, else Content-Length (-1 unknown).
func contentLength(rq *request) (int64, error) {
	if rq.auth != nil && rq.auth.Payload.Streaming() {
		v := rq.r.Header.Get("x-amz-decoded-content-length")
		if v == "" {
			return -1, nil
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return 0, errorf("InvalidArgument", "x-amz-decoded-content-length is not a valid length")
		}
		return n, nil
	}
	return rq.r.ContentLength, nil
}

func (h *Handler) putObject(rq *request) error {
	if rq.r.Header.Get("x-amz-copy-source") != "" {
		return h.copyObject(rq)
	}
	m, err := objectMeta(rq.r.Header)
	if err != nil {
		return err
	}
	owner, err := h.newObject(rq, &m)
	if err != nil {
		return err
	}
	size, err := contentLength(rq)
	if err != nil {
		return err
	}
	if size < 0 && !rq.auth.Payload.Streaming() && len(rq.r.TransferEncoding) == 0 {
		return errorf("MissingContentLength", "You must provide the Content-Length HTTP header.")
	}
	ck, err := checksumInput(rq)
	if err != nil {
		return err
	}
	enc, err := encryptionInput(rq.r.Header)
	if err != nil {
		return err
	}
	v, err := h.store.PutObject(rq.ctx(), &objstore.PutInput{
		Bucket:      rq.bucket,
		Key:         rq.key,
		Owner:       owner,
		Body:        rq.body,
		Size:        size,
		Meta:        m,
		ContentMD5:  rq.r.Header.Get("Content-MD5"),
		Checksum:    ck,
		IfMatch:     rq.r.Header.Get("If-Match"),
		IfNoneMatch: rq.r.Header.Get("If-None-Match"),
		Lock:        lockHeaders(rq.r.Header),
		Encryption:  enc,
		Origin:      h.origin(rq),
	})
	if err != nil {
		return err
	}
	hd := rq.w.Header()
	hd.Set("ETag", `"`+v.ETag+`"`)
	setVersionHeader(hd, v.VersionID)
	setSSEHeaders(hd, rq.r.Header, v.SSE, true)
	// The declared checksum, or the CRC64NVME S3 computes when none was.
	if name := checksum.Algorithm(v.Checksum.Algorithm).HeaderName(); name != "" && v.Checksum.Value != "" {
		hd.Set(name, v.Checksum.Value)
		hd.Set("x-amz-checksum-type", v.Checksum.Type)
	}
	return rq.ok()
}

func setVersionHeader(hd http.Header, versionID string) {
	if versionID != "" && versionID != meta.NullVersionID {
		hd.Set("x-amz-version-id", versionID)
	}
}

// getInput reads the addressing and conditional headers of a GET or HEAD.
func getInput(rq *request) (*objstore.GetInput, error) {
	in := &objstore.GetInput{Bucket: rq.bucket, Key: rq.key, VersionID: rq.query.Get("versionId")}
	if _, ok := rq.query["versionId"]; ok && in.VersionID == "" {
		return nil, errorf("InvalidArgument", "Version id cannot be the empty string")
	}
	// SSE-S3/KMS is chosen when writing; reads name no method (S3 answers
	// 400 rather than ignore the header).
	for _, name := range []string{"x-amz-server-side-encryption", "x-amz-server-side-encryption-aws-kms-key-id"} {
		if rq.r.Header.Get(name) != "" {
			return nil, errorf("InvalidArgument", name+" header is not supported for this operation.")
		}
	}
	ck, err := customerKeyInput(rq.r.Header, customerKeyPrefix, false)
	if err != nil {
		return nil, err
	}
	in.CustomerKey = ck
	if pn := rq.query.Get("partNumber"); pn != "" {
		n, err := strconv.Atoi(pn)
		if err != nil || n < 1 || n > objstore.MaxPartNumber {
			return nil, errorf("InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive")
		}
		in.PartNumber = n
	}
	if r := rq.r.Header.Get("Range"); r != "" {
		if rg, ok := objstore.ParseRange(r); ok {
			in.Range = &rg
		}
	}
	hd := rq.r.Header
	in.Conditions = objstore.Conditions{
		IfMatch:           hd.Get("If-Match"),
		IfNoneMatch:       hd.Get("If-None-Match"),
		IfModifiedSince:   parseHTTPTime(hd.Get("If-Modified-Since")),
		IfUnmodifiedSince: parseHTTPTime(hd.Get("If-Unmodified-Since")),
	}
	return in, nil
}

func parseHTTPTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := http.ParseTime(s)
	if err != nil {
		return time.Time{}
	}
	return t
}

// setObjectHeaders writes the headers describing an object version.
func setObjectHeaders(rq *request, obj *objstore.Object) {
	v := obj.Version
	hd := rq.w.Header()
	hd.Set("ETag", `"`+v.ETag+`"`)
	hd.Set("Last-Modified", httpTime(v.LastModified))
	hd.Set("Accept-Ranges", "bytes")
	ct := v.ContentType
	if ct == "" {
		ct = "binary/octet-stream"
	}
	hd.Set("Content-Type", ct)
	for name, val := range map[string]string{
		"Content-Encoding":                v.ContentEncoding,
		"Content-Disposition":             v.ContentDisposition,
		"Content-Language":                v.ContentLanguage,
		"Cache-Control":                   v.CacheControl,
		"Expires":                         v.Expires,
		"x-amz-website-redirect-location": v.WebsiteRedirect,
	} {
		if val != "" {
			hd.Set(name, val)
		}
	}
	for k, val := range v.UserMeta {
		hd["X-Amz-Meta-"+k] = []string{val}
	}
	setLockHeaders(hd, v)
	setSSEHeaders(hd, rq.r.Header, v.SSE, false)
	setVersionHeader(hd, v.VersionID)
	if v.VersionID == meta.NullVersionID && rq.query.Get("versionId") == meta.NullVersionID {
		// Asked for by name, the null version is named in the answer.
		hd.Set("x-amz-version-id", meta.NullVersionID)
	}
	if v.StorageClass != "" && v.StorageClass != "STANDARD" {
		hd.Set("x-amz-storage-class", v.StorageClass)
	}
	if len(v.Tags) > 0 {
		hd.Set("x-amz-tagging-count", strconv.Itoa(len(v.Tags)))
	}
	if obj.PartsCount > 0 {
		hd.Set("x-amz-mp-parts-count", strconv.Itoa(obj.PartsCount))
	}
	if strings.EqualFold(rq.r.Header.Get("x-amz-checksum-mode"), "ENABLED") && !v.Checksum.IsZero() &&
		(!obj.Partial || obj.PartsCount > 0) {
		ck := v.Checksum
		if obj.PartsCount > 0 && v.Multipart {
			// The part's own checksum; the type stays the object's,
			// which says how the part checksums combine.
			ck = v.Parts[partIndex(obj)].Checksum
			ck.Type = v.Checksum.Type
		}
		if ck.Value != "" {
			hd.Set(checksum.Algorithm(ck.Algorithm).HeaderName(), ck.Value)
			hd.Set("x-amz-checksum-type", ck.Type)
		}
	}
	// response-* query parameters override headers of the answer.
	for param, header := range map[string]string{
		"response-content-type":        "Content-Type",
		"response-content-language":    "Content-Language",
		"response-expires":             "Expires",
		"response-cache-control":       "Cache-Control",
		"response-content-disposition": "Content-Disposition",
		"response-content-encoding":    "Content-Encoding",
	} {
		if val := rq.query.Get(param); val != "" {
			hd.Set(header, val)
		}
	}
	hd.Set("Content-Length", itoa(obj.Length))
	if obj.Partial {
		hd.Set("Content-Range", "bytes "+itoa(obj.Offset)+"-"+itoa(obj.Offset+obj.Length-1)+"/"+itoa(v.Size))
	}
}

// partIndex finds the part a partNumber read served.
func partIndex(obj *objstore.Object) int {
	var off int64
	for i, p := range obj.Version.Parts {
		if off == obj.Offset {
			return i
		}
		off += p.Size
	}
	return 0
}

func (h *Handler) getObject(rq *request) error {
	in, err := getInput(rq)
	if err != nil {
		return err
	}
	obj, err := h.store.GetObject(rq.ctx(), in)
	if err != nil {
		return err
	}
	defer obj.Body.Close()
	setObjectHeaders(rq, obj)
	status := http.StatusOK
	if obj.Partial {
		status = http.StatusPartialContent
	}
	rq.w.WriteHeader(status)
	rq.wroteHeader = true
	if _, err := io.Copy(rq.w, obj.Body); err != nil {
		// Headers are gone; the client sees a short body.
		if rq.ctx().Err() == nil {
			h.log.Warn("GetObject body copy failed", "request_id", rq.id, "err", err)
		}
		panic(http.ErrAbortHandler)
	}
	return nil
}

func (h *Handler) headObject(rq *request) error {
	in, err := getInput(rq)
	if err != nil {
		return err
	}
	obj, err := h.store.HeadObject(rq.ctx(), in)
	if err != nil {
		return err
	}
	setObjectHeaders(rq, obj)
	status := http.StatusOK
	if obj.Partial {
		status = http.StatusPartialContent
	}
	rq.w.WriteHeader(status)
	rq.wroteHeader = true
	return nil
}

func (h *Handler) deleteObject(rq *request) error {
	vid := rq.query.Get("versionId")
	if _, ok := rq.query["versionId"]; ok && vid == "" {
		return errorf("InvalidArgument", "Version id cannot be the empty string")
	}
	if err := checkDirectoryDeleteConditions(rq.r.Header.Get("x-amz-if-match-last-modified-time") != "", rq.r.Header.Get("x-amz-if-match-size") != ""); err != nil {
		return err
	}
	res, err := h.store.DeleteObject(rq.ctx(), rq.bucket, rq.key, vid, objstore.BypassGovernance(bypassGovernance(rq.r.Header)),
		objstore.IfMatch(rq.r.Header.Get("If-Match")), objstore.WithOrigin(h.origin(rq)))
	if err != nil {
		return err
	}
	hd := rq.w.Header()
	if res.VersionID != "" {
		hd.Set("x-amz-version-id", res.VersionID)
	}
	if res.DeleteMarker {
		hd.Set("x-amz-delete-marker", "true")
	}
	return rq.noContent()
}

// checkDirectoryDeleteConditions refuses the conditions S3 evaluates on
// deletes in directory buckets only (x-amz-if-match-last-modified-time,
// x-amz-if-match-size, and a DeleteObjects entry's LastModifiedTime and
// Size): ignoring a condition would delete what the client meant to keep.
func checkDirectoryDeleteConditions(modTime, size bool) error {
	if modTime || size {
		return notImplemented("Deleting on a condition of modification time or size (a directory bucket feature)")
	}
	return nil
}

type deleteRequest struct {
	Quiet   bool `xml:"Quiet"`
	Objects []struct {
		Key              string  `xml:"Key"`
		VersionID        string  `xml:"VersionId"`
		ETag             string  `xml:"ETag"`
		LastModifiedTime *string `xml:"LastModifiedTime"`
		Size             *string `xml:"Size"`
	} `xml:"Object"`
}

type deleteResult struct {
	XMLName xml.Name       `xml:"DeleteResult"`
	NS      string         `xml:"xmlns,attr"`
	Deleted []deletedElem  `xml:"Deleted"`
	Errors  []deleteErrElm `xml:"Error"`
}

type deletedElem struct {
	Key                   string `xml:"Key"`
	VersionID             string `xml:"VersionId,omitempty"`
	DeleteMarker          bool   `xml:"DeleteMarker,omitempty"`
	DeleteMarkerVersionID string `xml:"DeleteMarkerVersionId,omitempty"`
}

type deleteErrElm struct {
	Key       string `xml:"Key"`
	VersionID string `xml:"VersionId,omitempty"`
	Code      string `xml:"Code"`
	Message   string `xml:"Message"`
}

func (h *Handler) deleteObjects(rq *request) error {
	if err := requireIntegrity(rq.r.Header); err != nil {
		return err
	}
	var doc deleteRequest
	if err := readXML(rq, &doc, false); err != nil {
		return err
	}
	if len(doc.Objects) == 0 || len(doc.Objects) > objstore.MaxDeleteObjects {
		return errorf("MalformedXML", objstore.ErrMalformedXML.Message)
	}
	for _, o := range doc.Objects {
		if err := checkDirectoryDeleteConditions(o.LastModifiedTime != nil, o.Size != nil); err != nil {
			return err
		}
	}
	out := deleteResult{NS: s3NS}
	ids := make([]objstore.ObjectID, 0, len(doc.Objects))
	for _, o := range doc.Objects {
		ok, err := h.allowDelete(rq, o.Key, o.VersionID, o.ETag)
		if err != nil {
			return err
		}
		if !ok {
			out.Errors = append(out.Errors, deleteErrElm{Key: o.Key, VersionID: o.VersionID, Code: "AccessDenied", Message: "Access Denied"})
			continue
		}
		ids = append(ids, objstore.ObjectID{Key: o.Key, VersionID: o.VersionID, IfMatch: o.ETag})
	}
	for _, r := range h.store.DeleteObjects(rq.ctx(), rq.bucket, ids, objstore.BypassGovernance(bypassGovernance(rq.r.Header)), objstore.WithOrigin(h.origin(rq))) {
		if r.Err != nil {
			e, ok := toAPIError(r.Err)
			if !ok {
				h.log.Error("delete failed", "request_id", rq.id, "key", r.Key, "err", r.Err)
			}
			out.Errors = append(out.Errors, deleteErrElm{Key: r.Key, VersionID: r.ObjectID.VersionID, Code: e.code, Message: e.message})
			continue
		}
		if doc.Quiet {
			continue
		}
		d := deletedElem{Key: r.Key, VersionID: r.ObjectID.VersionID}
		if r.DeleteMarker {
			d.DeleteMarker = true
			if r.ObjectID.VersionID == "" {
				d.DeleteMarkerVersionID = r.DeleteResult.VersionID
			} else {
				d.DeleteMarkerVersionID = r.ObjectID.VersionID
			}
		}
		out.Deleted = append(out.Deleted, d)
	}
	writeXML(rq, http.StatusOK, &out)
	return nil
}

func hasChecksumHeader(hd http.Header) bool {
	for _, a := range checksum.Algorithms() {
		if hd.Get(a.HeaderName()) != "" {
			return true
		}
	}
	return false
}

// parseCopySource parses x-amz-copy-source: "[/]bucket/key[?versionId=v]",
// URL-encoded.
func parseCopySource(hd http.Header) (objstore.CopySource, error) {
	raw := hd.Get("x-amz-copy-source")
	var cs objstore.CopySource
	path, query, _ := strings.Cut(raw, "?")
	p, err := url.PathUnescape(path)
	if err != nil {
		return cs, errorf("InvalidArgument", "Invalid copy source encoding")
	}
	p = strings.TrimPrefix(p, "/")
	b, k, ok := strings.Cut(p, "/")
	if !ok || b == "" || k == "" {
		return cs, errorf("InvalidArgument", "Invalid copy source object key")
	}
	cs.Bucket, cs.Key = b, k
	if query != "" {
		q, err := url.ParseQuery(query)
		if err != nil {
			return cs, errorf("InvalidArgument", "Invalid copy source encoding")
		}
		if v, ok := q["versionId"]; ok {
			if len(v) == 0 || v[0] == "" {
				return cs, errorf("InvalidArgument", "Version id cannot be the empty string")
			}
			cs.VersionID = v[0]
		}
	}
	cs.Conditions = objstore.Conditions{
		IfMatch:           hd.Get("x-amz-copy-source-if-match"),
		IfNoneMatch:       hd.Get("x-amz-copy-source-if-none-match"),
		IfModifiedSince:   parseHTTPTime(hd.Get("x-amz-copy-source-if-modified-since")),
		IfUnmodifiedSince: parseHTTPTime(hd.Get("x-amz-copy-source-if-unmodified-since")),
	}
	return cs, nil
}

type copyObjectResult struct {
	XMLName      xml.Name `xml:"CopyObjectResult"`
	NS           string   `xml:"xmlns,attr"`
	ETag         string   `xml:"ETag"`
	LastModified string   `xml:"LastModified"`
	checksumElems
}

// checksumElems are the Checksum* elements of copy and multipart results.
type checksumElems struct {
	ChecksumType      string `xml:"ChecksumType,omitempty"`
	ChecksumCRC32     string `xml:"ChecksumCRC32,omitempty"`
	ChecksumCRC32C    string `xml:"ChecksumCRC32C,omitempty"`
	ChecksumCRC64NVME string `xml:"ChecksumCRC64NVME,omitempty"`
	ChecksumSHA1      string `xml:"ChecksumSHA1,omitempty"`
	ChecksumSHA256    string `xml:"ChecksumSHA256,omitempty"`
	ChecksumSHA512    string `xml:"ChecksumSHA512,omitempty"`
	ChecksumMD5       string `xml:"ChecksumMD5,omitempty"`
	ChecksumXXHASH64  string `xml:"ChecksumXXHASH64,omitempty"`
	ChecksumXXHASH3   string `xml:"ChecksumXXHASH3,omitempty"`
	ChecksumXXHASH128 string `xml:"ChecksumXXHASH128,omitempty"`
}

func checksumXML(ck meta.Checksum, withType bool) checksumElems {
	var out checksumElems
	if p := out.field(checksum.Algorithm(ck.Algorithm)); p != nil {
		*p = ck.Value
	}
	if withType && out != (checksumElems{}) {
		out.ChecksumType = ck.Type
	}
	return out
}

// field returns the element that carries a's digest, nil for none.
func (e *checksumElems) field(a checksum.Algorithm) *string {
	switch a {
	case checksum.CRC32:
		return &e.ChecksumCRC32
	case checksum.CRC32C:
		return &e.ChecksumCRC32C
	case checksum.CRC64NVME:
		return &e.ChecksumCRC64NVME
	case checksum.SHA1:
		return &e.ChecksumSHA1
	case checksum.SHA256:
		return &e.ChecksumSHA256
	case checksum.SHA512:
		return &e.ChecksumSHA512
	case checksum.MD5:
		return &e.ChecksumMD5
	case checksum.XXHASH64:
		return &e.ChecksumXXHASH64
	case checksum.XXHASH3:
		return &e.ChecksumXXHASH3
	case checksum.XXHASH128:
		return &e.ChecksumXXHASH128
	}
	return nil
}

func directive(hd http.Header, name string) (replace bool, err error) {
	switch v := hd.Get(name); v {
	case "", "COPY":
		return false, nil
	case "REPLACE":
		return true, nil
	default:
		// S3's wording: "Unknown metadata directive." (x-amz-metadata-directive).
		what := strings.TrimSuffix(strings.TrimPrefix(name, "x-amz-"), "-directive")
		return false, errorf("InvalidArgument", "Unknown "+what+" directive.")
	}
}

func (h *Handler) copyObject(rq *request) error {
	hd := rq.r.Header
	cs, err := parseCopySource(hd)
	if err != nil {
		return err
	}
	if err := h.authorizeSource(rq, cs); err != nil {
		return err
	}
	replaceMeta, err := directive(hd, "x-amz-metadata-directive")
	if err != nil {
		return err
	}
	replaceTags, err := directive(hd, "x-amz-tagging-directive")
	if err != nil {
		return err
	}
	m, err := objectMeta(hd)
	if err != nil {
		return err
	}
	owner, err := h.newObject(rq, &m)
	if err != nil {
		return err
	}
	in := &objstore.CopyInput{
		Source:          cs,
		Bucket:          rq.bucket,
		Key:             rq.key,
		Owner:           owner,
		ReplaceMetadata: replaceMeta,
		ReplaceTags:     replaceTags,
		Meta:            m,
		IfMatch:         hd.Get("If-Match"),
		IfNoneMatch:     hd.Get("If-None-Match"),
		Lock:            lockHeaders(hd),
		Origin:          h.origin(rq),
	}
	if in.Encryption, err = encryptionInput(hd); err != nil {
		return err
	}
	if in.Source.CustomerKey, err = customerKeyInput(hd, copySourceKeyPrefix, false); err != nil {
		return err
	}
	if replaceTags && in.Meta.Tags == nil {
		in.Meta.Tags = []meta.Tag{}
	}
	if a := hd.Get("x-amz-checksum-algorithm"); a != "" {
		alg, err := checksum.ParseAlgorithm(a)
		if err != nil {
			return errorf("InvalidRequest", checksum.UnknownAlgorithmMessage)
		}
		in.ChecksumAlgorithm = alg
	}
	res, err := h.store.CopyObject(rq.ctx(), in)
	if err != nil {
		return err
	}
	w := rq.w.Header()
	setVersionHeader(w, res.Version.VersionID)
	setSSEHeaders(w, hd, res.Version.SSE, true)
	if res.SourceVersionID != "" && res.SourceVersionID != meta.NullVersionID {
		w.Set("x-amz-copy-source-version-id", res.SourceVersionID)
	}
	writeXML(rq, http.StatusOK, &copyObjectResult{
		NS:            s3NS,
		ETag:          `"` + res.Version.ETag + `"`,
		LastModified:  isoTime(res.Version.LastModified),
		checksumElems: checksumXML(res.Version.Checksum, true),
	})
	return nil
}

func (h *Handler) getObjectTagging(rq *request) error {
	tags, vid, err := h.store.ObjectTags(rq.ctx(), rq.bucket, rq.key, rq.query.Get("versionId"))
	if err != nil {
		return err
	}
	setVersionHeader(rq.w.Header(), vid)
	out := fromTags(tags)
	writeXML(rq, http.StatusOK, &out)
	return nil
}

func (h *Handler) putObjectTagging(rq *request) error {
	var doc tagging
	if err := readXML(rq, &doc, false); err != nil {
		return err
	}
	v, err := h.store.SetObjectTags(rq.ctx(), rq.bucket, rq.key, rq.query.Get("versionId"), toTags(doc.TagSet), h.origin(rq))
	if err != nil {
		return err
	}
	setVersionHeader(rq.w.Header(), v.VersionID)
	return rq.ok()
}

func (h *Handler) deleteObjectTagging(rq *request) error {
	v, err := h.store.SetObjectTags(rq.ctx(), rq.bucket, rq.key, rq.query.Get("versionId"), nil, h.origin(rq))
	if err != nil {
		return err
	}
	setVersionHeader(rq.w.Header(), v.VersionID)
	return rq.noContent()
}

type objectAttributes struct {
	XMLName      xml.Name       `xml:"GetObjectAttributesResponse"`
	NS           string         `xml:"xmlns,attr"`
	ETag         string         `xml:"ETag,omitempty"`
	Checksum     *checksumElems `xml:"Checksum,omitempty"`
	ObjectParts  *objectParts   `xml:"ObjectParts,omitempty"`
	StorageClass string         `xml:"StorageClass,omitempty"`
	ObjectSize   *int64         `xml:"ObjectSize,omitempty"`
}

type objectParts struct {
	// The API reference calls it TotalPartsCount; the wire name, which
	// the SDKs parse, is PartsCount.
	TotalPartsCount      int          `xml:"PartsCount"`
	PartNumberMarker     int          `xml:"PartNumberMarker"`
	NextPartNumberMarker int          `xml:"NextPartNumberMarker"`
	MaxParts             int          `xml:"MaxParts"`
	IsTruncated          bool         `xml:"IsTruncated"`
	Parts                []objectPart `xml:"Part"`
}

type objectPart struct {
	PartNumber int   `xml:"PartNumber"`
	Size       int64 `xml:"Size"`
	checksumElems
}

// objectAttributeNames are the values x-amz-object-attributes may list.
var objectAttributeNames = map[string]bool{
	"ETag": true, "Checksum": true, "ObjectParts": true, "StorageClass": true, "ObjectSize": true,
}

func (h *Handler) getObjectAttributes(rq *request) error {
	want := map[string]bool{}
	for _, v := range rq.r.Header.Values("x-amz-object-attributes") {
		for _, a := range strings.Split(v, ",") {
			if a = strings.TrimSpace(a); a == "" {
				continue
			}
			if !objectAttributeNames[a] {
				return errorf("InvalidArgument", "Invalid attribute name specified.")
			}
			want[a] = true
		}
	}
	if len(want) == 0 {
		return errorf("InvalidRequest", "The x-amz-object-attributes header specifying the attributes to be retrieved is either missing or empty")
	}
	ck, err := customerKeyInput(rq.r.Header, customerKeyPrefix, false)
	if err != nil {
		return err
	}
	obj, err := h.store.HeadObject(rq.ctx(), &objstore.GetInput{Bucket: rq.bucket, Key: rq.key, VersionID: rq.query.Get("versionId"), CustomerKey: ck})
	if err != nil {
		return err
	}
	v := obj.Version
	out := objectAttributes{NS: s3NS}
	if want["ETag"] {
		out.ETag = v.ETag
	}
	if want["Checksum"] && !v.Checksum.IsZero() {
		c := v.Checksum
		if c.Type == string(checksum.Composite) {
			// S3 reports a composite checksum here without its "-<parts>"
			// suffix; the part count is in ObjectParts.
			if i := strings.LastIndexByte(c.Value, '-'); i > 0 {
				c.Value = c.Value[:i]
			}
		}
		ck := checksumXML(c, true)
		out.Checksum = &ck
	}
	if want["StorageClass"] {
		out.StorageClass = v.StorageClass
	}
	if want["ObjectSize"] {
		out.ObjectSize = &v.Size
	}
	if want["ObjectParts"] && v.Multipart {
		maxParts := 1000
		if mp := rq.r.Header.Get("x-amz-max-parts"); mp != "" {
			if n, err := strconv.Atoi(mp); err == nil && n >= 0 {
				maxParts = n
			}
		}
		marker, _ := strconv.Atoi(rq.r.Header.Get("x-amz-part-number-marker"))
		op := &objectParts{TotalPartsCount: len(v.Parts), PartNumberMarker: marker, MaxParts: maxParts}
		for i, p := range v.Parts {
			n := i + 1
			if n <= marker {
				continue
			}
			if len(op.Parts) == maxParts {
				op.IsTruncated = true
				break
			}
			op.Parts = append(op.Parts, objectPart{PartNumber: n, Size: p.Size, checksumElems: checksumXML(p.Checksum, false)})
			op.NextPartNumberMarker = n
		}
		out.ObjectParts = op
	}
	hd := rq.w.Header()
	hd.Set("Last-Modified", httpTime(v.LastModified))
	setVersionHeader(hd, v.VersionID)
	writeXML(rq, http.StatusOK, &out)
	return nil
}
