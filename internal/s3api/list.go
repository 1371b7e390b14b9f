package s3api

import (
	"encoding/base64"
	"encoding/xml"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/internal/meta"
	"github.com/sluicehq/sluice/internal/objstore"
)

// maxKeys reads a max-keys style parameter (default and cap 1,000).
func maxKeys(q url.Values, name string, def int) (int, error) {
	v := q.Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, errorf("InvalidArgument", "Provided "+name+" not an integer or within integer range")
	}
	return min(n, def), nil
}

// encoder applies encoding-type=url to keys and prefixes in listings.
type encoder bool

func newEncoder(q url.Values) (encoder, error) {
	switch q.Get("encoding-type") {
	case "":
		return false, nil
	case "url":
		return true, nil
	}
	return false, errorf("InvalidArgument", "Invalid Encoding Method specified in Request")
}

func (e encoder) enc(s string) string {
	if !e || s == "" {
		return s
	}
	// S3 encodes like a form value, but a space as %20 (so that '+' and
	// ' ' differ once decoded) and keeps '/' readable.
	return strings.NewReplacer("+", "%20", "%2F", "/").Replace(url.QueryEscape(s))
}

func (e encoder) encodingType() string {
	if e {
		return "url"
	}
	return ""
}

type objectElem struct {
	Key               string   `xml:"Key"`
	LastModified      string   `xml:"LastModified"`
	ETag              string   `xml:"ETag"`
	ChecksumAlgorithm []string `xml:"ChecksumAlgorithm,omitempty"`
	ChecksumType      string   `xml:"ChecksumType,omitempty"`
	Size              int64    `xml:"Size"`
	Owner             *owner   `xml:"Owner,omitempty"`
	StorageClass      string   `xml:"StorageClass"`
}

type prefixElem struct {
	Prefix string `xml:"Prefix"`
}

type listBucketResult struct {
	XMLName               xml.Name     `xml:"ListBucketResult"`
	NS                    string       `xml:"xmlns,attr"`
	Name                  string       `xml:"Name"`
	Prefix                string       `xml:"Prefix"`
	Marker                *string      `xml:"Marker,omitempty"`
	NextMarker            string       `xml:"NextMarker,omitempty"`
	ContinuationToken     *string      `xml:"ContinuationToken,omitempty"`
	NextContinuationToken string       `xml:"NextContinuationToken,omitempty"`
	StartAfter            string       `xml:"StartAfter,omitempty"`
	KeyCount              *int         `xml:"KeyCount,omitempty"`
	MaxKeys               int          `xml:"MaxKeys"`
	Delimiter             string       `xml:"Delimiter,omitempty"`
	EncodingType          string       `xml:"EncodingType,omitempty"`
	IsTruncated           bool         `xml:"IsTruncated"`
	Contents              []objectElem `xml:"Contents"`
	CommonPrefixes        []prefixElem `xml:"CommonPrefixes"`
}

func (h *Handler) objectElem(v *meta.Version, e encoder, withOwner bool) objectElem {
	o := objectElem{
		Key:          e.enc(v.Key),
		LastModified: isoTime(v.LastModified),
		ETag:         `"` + v.ETag + `"`,
		Size:         v.Size,
		StorageClass: v.StorageClass,
	}
	if o.StorageClass == "" {
		o.StorageClass = "STANDARD"
	}
	if !v.Checksum.IsZero() {
		o.ChecksumAlgorithm = []string{v.Checksum.Algorithm}
		o.ChecksumType = v.Checksum.Type
	}
	if withOwner {
		ow := h.ownerOf(v.Owner)
		o.Owner = &ow
	}
	return o
}

func (h *Handler) listObjects(rq *request) error {
	q := rq.query
	v2 := q.Get("list-type") == "2"
	if lt := q.Get("list-type"); lt != "" && lt != "2" {
		return errorf("InvalidArgument", "Invalid List Type specified in Request")
	}
	e, err := newEncoder(q)
	if err != nil {
		return err
	}
	n, err := maxKeys(q, "max-keys", objstore.MaxListKeys)
	if err != nil {
		return err
	}
	in := &objstore.ListInput{Bucket: rq.bucket, Prefix: q.Get("prefix"), Delimiter: q.Get("delimiter"), MaxKeys: n}
	out := listBucketResult{NS: s3NS, Name: rq.bucket, Prefix: e.enc(in.Prefix), MaxKeys: n,
		Delimiter: e.enc(in.Delimiter), EncodingType: e.encodingType()}
	if v2 {
		in.After = q.Get("start-after")
		out.StartAfter = e.enc(in.After)
		if _, ok := q["continuation-token"]; ok {
			// An empty token starts at the beginning and is echoed.
			tok := q.Get("continuation-token")
			if tok != "" {
				after, err := decodeToken(tok)
				if err != nil {
					return errorf("InvalidArgument", "The continuation token provided is incorrect")
				}
				in.After = after
			}
			out.ContinuationToken = &tok
		}
	} else {
		in.After = q.Get("marker")
		m := e.enc(in.After)
		out.Marker = &m
		// Version 1 returns the prefix as given, encoding-type or not.
		out.Prefix = in.Prefix
	}
	res, err := h.store.ListObjects(rq.ctx(), in)
	if err != nil {
		return err
	}
	withOwner := !v2 || q.Get("fetch-owner") == "true"
	for _, v := range res.Objects {
		out.Contents = append(out.Contents, h.objectElem(v, e, withOwner))
	}
	for _, p := range res.CommonPrefixes {
		out.CommonPrefixes = append(out.CommonPrefixes, prefixElem{Prefix: e.enc(p)})
	}
	out.IsTruncated = res.IsTruncated
	if v2 {
		kc := len(res.Objects) + len(res.CommonPrefixes)
		out.KeyCount = &kc
		if res.IsTruncated {
			out.NextContinuationToken = encodeToken(res.Next)
		}
	} else if res.IsTruncated && in.Delimiter != "" {
		out.NextMarker = e.enc(res.Next)
	}
	writeXML(rq, http.StatusOK, &out)
	return nil
}

// Continuation tokens are opaque to clients: the key to continue after,
// base64-encoded.
func encodeToken(after string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(after))
}

func decodeToken(tok string) (string, error) {
	if tok == "" {
		return "", errorf("InvalidArgument", "The continuation token provided is incorrect")
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	return string(b), err
}

type listVersionsResult struct {
	XMLName             xml.Name      `xml:"ListVersionsResult"`
	NS                  string        `xml:"xmlns,attr"`
	Name                string        `xml:"Name"`
	Prefix              string        `xml:"Prefix"`
	KeyMarker           string        `xml:"KeyMarker"`
	VersionIDMarker     string        `xml:"VersionIdMarker"`
	NextKeyMarker       string        `xml:"NextKeyMarker,omitempty"`
	NextVersionIDMarker string        `xml:"NextVersionIdMarker,omitempty"`
	MaxKeys             int           `xml:"MaxKeys"`
	Delimiter           string        `xml:"Delimiter,omitempty"`
	EncodingType        string        `xml:"EncodingType,omitempty"`
	IsTruncated         bool          `xml:"IsTruncated"`
	Entries             []versionElem `xml:",any"`
	CommonPrefixes      []prefixElem  `xml:"CommonPrefixes"`
}

// versionElem is a <Version> or <DeleteMarker>, interleaved in key order.
type versionElem struct {
	XMLName           xml.Name
	Key               string   `xml:"Key"`
	VersionID         string   `xml:"VersionId"`
	IsLatest          bool     `xml:"IsLatest"`
	LastModified      string   `xml:"LastModified"`
	ETag              string   `xml:"ETag,omitempty"`
	ChecksumAlgorithm []string `xml:"ChecksumAlgorithm,omitempty"`
	ChecksumType      string   `xml:"ChecksumType,omitempty"`
	Size              *int64   `xml:"Size,omitempty"`
	StorageClass      string   `xml:"StorageClass,omitempty"`
	Owner             owner    `xml:"Owner"`
}

func (h *Handler) listObjectVersions(rq *request) error {
	q := rq.query
	e, err := newEncoder(q)
	if err != nil {
		return err
	}
	n, err := maxKeys(q, "max-keys", objstore.MaxListKeys)
	if err != nil {
		return err
	}
	in := &objstore.VersionListInput{
		Bucket: rq.bucket, Prefix: q.Get("prefix"), Delimiter: q.Get("delimiter"),
		KeyMarker: q.Get("key-marker"), VersionIDMarker: q.Get("version-id-marker"), MaxKeys: n,
	}
	res, err := h.store.ListVersions(rq.ctx(), in)
	if err != nil {
		return err
	}
	out := listVersionsResult{
		NS: s3NS, Name: rq.bucket, Prefix: e.enc(in.Prefix), KeyMarker: e.enc(in.KeyMarker),
		VersionIDMarker: in.VersionIDMarker, MaxKeys: n, Delimiter: e.enc(in.Delimiter),
		EncodingType: e.encodingType(), IsTruncated: res.IsTruncated,
		NextKeyMarker: e.enc(res.NextKeyMarker), NextVersionIDMarker: res.NextVersionIDMarker,
	}
	for _, v := range res.Versions {
		el := versionElem{
			Key: e.enc(v.Key), VersionID: v.VersionID, IsLatest: v.IsLatest,
			LastModified: isoTime(v.LastModified), Owner: h.ownerOf(v.Owner),
		}
		if v.DeleteMarker {
			el.XMLName.Local = "DeleteMarker"
		} else {
			el.XMLName.Local = "Version"
			el.ETag = `"` + v.ETag + `"`
			size := v.Size
			el.Size = &size
			el.StorageClass = v.StorageClass
			if el.StorageClass == "" {
				el.StorageClass = "STANDARD"
			}
			if !v.Checksum.IsZero() {
				el.ChecksumAlgorithm = []string{v.Checksum.Algorithm}
				el.ChecksumType = v.Checksum.Type
			}
		}
		out.Entries = append(out.Entries, el)
	}
	for _, p := range res.CommonPrefixes {
		out.CommonPrefixes = append(out.CommonPrefixes, prefixElem{Prefix: e.enc(p)})
	}
	writeXML(rq, http.StatusOK, &out)
	return nil
}
