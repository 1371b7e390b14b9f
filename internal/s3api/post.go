package s3api

import (
	"encoding/xml"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sluicehq/sluice/internal/checksum"
	"github.com/sluicehq/sluice/internal/iam"
	"github.com/sluicehq/sluice/internal/meta"
	"github.com/sluicehq/sluice/internal/objstore"
	"github.com/sluicehq/sluice/internal/sigv4"
)

// POST Object: a browser uploads a file with an HTML form posted to the
// bucket. Everything PutObject takes from headers comes from form fields,
// the credentials too (sigv4.Verifier.VerifyPost); the signed policy
// document restricts what the form may hold. The file is the last field
// and is streamed to the store as it arrives.

// authenticatesItself reports whether an operation does its own
// authentication, before which nothing about the request is verified:
// CORS preflights are never authenticated, and POST Object carries its
// credentials in the form.
func (o *op) authenticatesItself() bool {
	return o.name == preflightOp.name || o.name == "PostObject"
}

// maxPostFields bounds the form fields that precede the file.
const maxPostFields = 20 << 10

// postForm is an upload form read up to its file.
type postForm struct {
	names  []string          // lower-case field names in form order, once each
	values map[string]string // lower-case name → value (the last one sent)
	// file is the file field, positioned at its content; nil when the
	// form has none (fields after it are never read).
	file        *multipart.Part
	filename    string
	hasFilename bool
}

func (f *postForm) get(name string) (string, bool) {
	v, ok := f.values[name]
	return v, ok
}

// value returns a field's value, "" when the form lacks it.
func (f *postForm) value(name string) string { return f.values[name] }

// malformedPost is S3's answer to a body that is not multipart/form-data.
func malformedPost() *apiError {
	return errorf("MalformedPOSTRequest", "The body of your POST request is not well-formed multipart/form-data.")
}

// readPostForm reads the fields of a form up to and including the header
// of its file field.
func readPostForm(mr *multipart.Reader) (*postForm, error) {
	f := &postForm{values: make(map[string]string)}
	size := 0
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return f, nil
		}
		if err != nil {
			return nil, malformedPost()
		}
		name := strings.ToLower(p.FormName())
		if name == "" {
			// A part that names no field (S3 refuses a file sent so).
			return nil, malformedPost()
		}
		if name == "file" {
			f.file = p
			_, params, err := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
			if err == nil {
				f.filename, f.hasFilename = params["filename"]
			}
			return f, nil
		}
		val, err := io.ReadAll(io.LimitReader(p, int64(maxPostFields-size+1)))
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, malformedPost()
			}
			return nil, err
		}
		size += len(name) + len(val)
		if size > maxPostFields {
			return nil, errorf("MaxPostPreDataLengthExceededError", "Your POST request fields preceeding the upload file was too large.")
		}
		if _, seen := f.values[name]; !seen {
			f.names = append(f.names, name)
		}
		f.values[name] = string(val)
	}
}

// postAuthFields are form fields that authenticate the upload; none of
// them becomes object metadata.
var postAuthFields = map[string]bool{
	"policy": true, "signature": true, "awsaccesskeyid": true, "x-amz-signature": true,
	"x-amz-algorithm": true, "x-amz-credential": true, "x-amz-date": true, "x-amz-security-token": true,
}

// postHeaderFields are the fields that stand for request headers of a PUT.
var postHeaderFields = map[string]bool{
	"cache-control": true, "content-type": true, "content-disposition": true, "content-encoding": true,
	"content-language": true, "expires": true, "content-md5": true,
}

// formHeader turns the fields a PutObject would take from headers into
// an http.Header, so that POST shares PutObject's parsing of metadata,
// ACLs, storage class, encryption, Object Lock and checksums.
func formHeader(f *postForm) http.Header {
	hd := make(http.Header)
	for _, name := range f.names {
		v := f.values[name]
		switch {
		case name == "acl":
			hd.Set("x-amz-acl", v)
		case postHeaderFields[name]:
			hd.Set(name, v)
		case strings.HasPrefix(name, "x-amz-") && !postAuthFields[name]:
			hd.Set(name, v)
		}
	}
	return hd
}

// withHeader returns a copy of rq whose request carries hd instead of its
// own headers, for the helpers PutObject uses.
func (rq *request) withHeader(hd http.Header) *request {
	c := *rq
	c.r = rq.r.Clone(rq.ctx())
	c.r.Header = hd
	c.trailer = func() http.Header { return nil }
	return &c
}

// postBody streams the file field, enforcing the policy's
// content-length-range: past max it reads the rest to report its size and
// fails; at the end it fails if fewer than min bytes came.
type postBody struct {
	r    io.Reader
	n    int64
	size sizeRange
}

func (b *postBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.n += int64(n)
	if b.size.set && b.n > b.size.max {
		// Count the rest (bounded) for ProposedSize; the client is
		// sending it anyway.
		m, _ := io.Copy(io.Discard, io.LimitReader(b.r, objstore.MaxPutSize))
		e := errorf("EntityTooLarge", objstore.ErrEntityTooLarge.Message)
		e.extra = [][2]string{{"ProposedSize", itoa(b.n + m)}, {"MaxSizeAllowed", itoa(b.size.max)}}
		return 0, e
	}
	if err == io.EOF && b.size.set && b.n < b.size.min {
		e := errorf("EntityTooSmall", objstore.ErrEntityTooSmall.Message)
		e.extra = [][2]string{{"ProposedSize", itoa(b.n)}, {"MinSizeAllowed", itoa(b.size.min)}}
		return n, e
	}
	return n, err
}

// postResponse is the document of success_action_status 201.
type postResponse struct {
	XMLName  xml.Name `xml:"PostResponse"`
	Location string   `xml:"Location"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	ETag     string   `xml:"ETag"`
}

func (h *Handler) postObject(rq *request) error {
	mt, params, err := mime.ParseMediaType(rq.r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		e := errorf("PreconditionFailed", objstore.ErrPreconditionFailed.Message)
		e.extra = [][2]string{{"Condition", "Bucket POST must be of the enclosure-type multipart/form-data"}}
		return e
	}
	if params["boundary"] == "" {
		return malformedPost()
	}
	b, err := h.requestBucket(rq)
	if err != nil {
		return err
	}
	form, err := readPostForm(multipart.NewReader(rq.r.Body, params["boundary"]))
	if err != nil {
		return err
	}
	if form.file == nil {
		e := errorf("InvalidArgument", "POST requires exactly one file upload per request.")
		e.extra = [][2]string{{"ArgumentName", "file"}, {"ArgumentValue", "0"}}
		return e
	}
	key := form.value("key")
	if key == "" {
		e := errorf("InvalidArgument", "Bucket POST must contain a field named 'key'.  If it is specified, please check the order of the fields.")
		e.extra = [][2]string{{"ArgumentName", "key"}, {"ArgumentValue", ""}}
		return e
	}
	if form.hasFilename {
		key = strings.ReplaceAll(key, "${filename}", form.filename)
	}
	rq.key = key

	auth, err := h.verifier.VerifyPost(rq.ctx(), form.get)
	if err != nil {
		return err
	}
	rq.auth = auth
	if auth.Method == sigv4.MethodAnonymous {
		rq.principal = iam.Anonymous()
	} else if rq.principal, err = h.iam.Principal(rq.ctx(), auth.AccessKeyID); err != nil {
		return err
	}
	// The form's header-like fields stand for a PutObject's headers, in
	// authorization's condition keys too.
	frq := rq.withHeader(formHeader(form))
	hd := frq.r.Header
	if err := h.authorizeAction(frq, b, "s3:PutObject", key, ""); err != nil {
		return err
	}
	if err := h.checkCommonHeaders(rq); err != nil {
		return err
	}
	var size sizeRange
	if auth.Method != sigv4.MethodAnonymous {
		// A policy binds only when signed; an anonymous form's is
		// decoration.
		pol, err := parsePostPolicy(form.value("policy"))
		if err != nil {
			return err
		}
		field := func(name string) string {
			switch name {
			case "bucket":
				return rq.bucket
			case "key":
				return key
			}
			return form.value(name)
		}
		if size, err = pol.check(h.policyNow(), field, form.names); err != nil {
			return err
		}
	}

	m, err := objectMeta(hd)
	if err != nil {
		return err
	}
	if t, ok := form.get("tagging"); ok {
		// S3 reads any root element here (another name is no tags).
		var doc struct {
			TagSet []tagElem `xml:"TagSet>Tag"`
		}
		if err := xml.Unmarshal([]byte(t), &doc); err != nil {
			return errorf("MalformedXML", objstore.ErrMalformedXML.Message)
		}
		m.Tags = toTags(doc.TagSet)
	}
	owner, err := h.newObject(frq, &m)
	if err != nil {
		return err
	}
	ck, err := checksumInput(frq)
	if err != nil {
		return err
	}
	enc, err := encryptionInput(hd)
	if err != nil {
		return err
	}
	v, err := h.store.PutObject(rq.ctx(), &objstore.PutInput{
		Bucket:     rq.bucket,
		Key:        key,
		Owner:      owner,
		Body:       &postBody{r: form.file, size: size},
		Size:       -1,
		Meta:       m,
		ContentMD5: hd.Get("Content-MD5"),
		Checksum:   ck,
		Lock:       lockHeaders(hd),
		Encryption: enc,
		Op:         objstore.CreatedByPost,
		Origin:     h.origin(rq),
	})
	if err != nil {
		return err
	}
	return writePostResult(rq, form, hd, v)
}

// writePostResult answers a stored upload as the form asks: a 303 to
// success_action_redirect (or the older redirect field) if that is an
// absolute URL, else success_action_status 200, 201 (with a PostResponse
// document) or, for any other value, 204. formHd holds the form's
// header-like fields.
func writePostResult(rq *request, form *postForm, formHd http.Header, v *meta.Version) error {
	hd := rq.w.Header()
	etag := `"` + v.ETag + `"`
	hd.Set("ETag", etag)
	setVersionHeader(hd, v.VersionID)
	setSSEHeaders(hd, formHd, v.SSE, true)
	if name := checksum.Algorithm(v.Checksum.Algorithm).HeaderName(); name != "" && v.Checksum.Value != "" {
		hd.Set(name, v.Checksum.Value)
		hd.Set("x-amz-checksum-type", v.Checksum.Type)
	}
	redirect, ok := form.get("success_action_redirect")
	if !ok {
		redirect = form.value("redirect")
	}
	if u, err := url.Parse(redirect); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
		q := "bucket=" + url.QueryEscape(rq.bucket) + "&key=" + url.QueryEscape(rq.key) + "&etag=" + url.QueryEscape(etag)
		if u.RawQuery != "" {
			u.RawQuery += "&" + q
		} else {
			u.RawQuery = q
		}
		hd.Set("Location", u.String())
		hd.Set("Content-Length", "0")
		rq.w.WriteHeader(http.StatusSeeOther)
		rq.wroteHeader = true
		return nil
	}
	location := objectURL(rq)
	hd.Set("Location", location)
	switch form.value("success_action_status") {
	case "200":
		return rq.ok()
	case "201":
		writeXML(rq, http.StatusCreated, &postResponse{Location: location, Bucket: rq.bucket, Key: rq.key, ETag: etag})
		return nil
	}
	return rq.noContent()
}

// objectURL is the URL of the request's object, addressed as the request
// addressed its bucket.
func objectURL(rq *request) string {
	scheme := "http"
	if rq.r.TLS != nil {
		scheme = "https"
	}
	path := (&url.URL{Path: "/" + rq.key}).EscapedPath()
	if !rq.vhost {
		path = "/" + url.PathEscape(rq.bucket) + path
	}
	return scheme + "://" + rq.r.Host + path
}

// policyNow is the time POST policies expire against: the verifier's
// clock.
func (h *Handler) policyNow() time.Time {
	if h.verifier.Now != nil {
		return h.verifier.Now()
	}
	return time.Now()
}
