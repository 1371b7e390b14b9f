package objectlambda

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/internal/accesspoint"
)

// headHeaders are the header keys a HEAD transformation may return (and
// any x-amz-meta-*), by lower-case name.
var headHeaders = func() map[string]bool {
	m := map[string]bool{}
	for _, h := range []string{
		"Accept-Ranges", "x-amz-archive-status", "x-amz-server-side-encryption-bucket-key-enabled",
		"Cache-Control", "Content-Disposition", "Content-Encoding", "Content-Language", "Content-Length",
		"Content-Type", "x-amz-delete-marker", "ETag", "Expires", "x-amz-expiration", "Last-Modified",
		"x-amz-missing-meta", "x-amz-object-lock-mode", "x-amz-object-lock-legal-hold",
		"x-amz-object-lock-retain-until-date", "x-amz-mp-parts-count", "x-amz-replication-status",
		"x-amz-request-charged", "x-amz-restore", "x-amz-server-side-encryption",
		"x-amz-server-side-encryption-customer-algorithm", "x-amz-server-side-encryption-aws-kms-key-id",
		"x-amz-server-side-encryption-customer-key-MD5", "x-amz-storage-class", "x-amz-tagging-count",
		"x-amz-version-id",
	} {
		m[strings.ToLower(h)] = true
	}
	return m
}()

// result is the common part of a HEAD or LIST transformation's result.
type result struct {
	StatusCode   int    `json:"statusCode"`
	ErrorCode    string `json:"errorCode"`
	ErrorMessage string `json:"errorMessage"`
}

func (r *result) check() error {
	if r.StatusCode < 100 || r.StatusCode > 599 {
		return invalidResponse("statusCode is required and must be an HTTP status.")
	}
	if r.ErrorCode != "" {
		return &Error{Status: r.StatusCode, Code: r.ErrorCode, Message: r.ErrorMessage}
	}
	return nil
}

// head serves a transformed HeadObject from the function's JSON result:
// {statusCode, errorCode, errorMessage, headers}.
func (s *Service) head(w http.ResponseWriter, in *Request, tr *accesspoint.Transformation) error {
	ctx := in.R.Context()
	q := url.Values{}
	if v := in.R.URL.Query().Get("versionId"); v != "" {
		q.Set("versionId", v)
	}
	input, err := s.inputURL(ctx, in, http.MethodHead, in.Key, q)
	if err != nil {
		return err
	}
	ev := s.newEvent(in, tr)
	ev.ProtocolVersion = ProtocolVersionHeadList
	ev.HeadObjectContext = &inputContext{InputS3URL: input}
	raw, err := s.call(ctx, tr, ev)
	if err != nil {
		return err
	}
	var res struct {
		result
		Headers map[string]any `json:"headers"`
	}
	if err := json.Unmarshal(raw, &res); err != nil {
		return invalidResponse("the result is not a JSON object.")
	}
	if err := res.check(); err != nil {
		return err
	}
	hd := w.Header()
	hasLength := false
	for k, v := range res.Headers {
		lk := strings.ToLower(k)
		if !headHeaders[lk] && !strings.HasPrefix(lk, "x-amz-meta-") {
			return invalidResponse("header " + k + " is not allowed in a HeadObject response.")
		}
		var s string
		switch x := v.(type) {
		case string:
			s = x
		case float64:
			s = strconv.FormatFloat(x, 'f', -1, 64)
		case bool:
			s = strconv.FormatBool(x)
		default:
			return invalidResponse("the value of header " + k + " must be a string or a number.")
		}
		if lk == "content-length" {
			if n, err := strconv.ParseInt(s, 10, 64); err != nil || n < 0 {
				return invalidResponse("Content-Length must be a non-negative integer.")
			}
			hasLength = true
		}
		hd.Set(k, s)
	}
	if !hasLength {
		return invalidResponse("headers.Content-Length is required.")
	}
	w.WriteHeader(res.StatusCode)
	return nil
}

// listBucketResult is the camelCase listBucketResult a LIST
// transformation may return, which S3 validates and serialises.
type listBucketResult struct {
	Name                  *string        `json:"name"`
	Prefix                string         `json:"prefix"`
	Marker                string         `json:"marker"`
	NextMarker            string         `json:"nextMarker"`
	ContinuationToken     string         `json:"continuationToken"`
	NextContinuationToken string         `json:"nextContinuationToken"`
	StartAfter            string         `json:"startAfter"`
	KeyCount              *int           `json:"keyCount"`
	MaxKeys               *int           `json:"maxKeys"`
	Delimiter             string         `json:"delimiter"`
	EncodingType          string         `json:"encodingType"`
	IsTruncated           *bool          `json:"isTruncated"`
	Contents              []listContents `json:"contents"`
	CommonPrefixes        []struct {
		Prefix *string `json:"prefix"`
	} `json:"commonPrefixes"`
}

type listContents struct {
	Key               *string         `json:"key"`
	LastModified      string          `json:"lastModified"`
	ETag              string          `json:"eTag"`
	ChecksumAlgorithm json.RawMessage `json:"checksumAlgorithm"`
	Size              *int64          `json:"size"`
	Owner             *struct {
		DisplayName string `json:"displayName"`
		ID          string `json:"id"`
	} `json:"owner"`
	StorageClass string `json:"storageClass"`
}

// S3's ListBucketResult document.
type listXML struct {
	XMLName               xml.Name          `xml:"ListBucketResult"`
	NS                    string            `xml:"xmlns,attr"`
	Name                  string            `xml:"Name"`
	Prefix                string            `xml:"Prefix"`
	Marker                *string           `xml:"Marker"`
	NextMarker            string            `xml:"NextMarker,omitempty"`
	ContinuationToken     string            `xml:"ContinuationToken,omitempty"`
	NextContinuationToken string            `xml:"NextContinuationToken,omitempty"`
	StartAfter            string            `xml:"StartAfter,omitempty"`
	KeyCount              *int              `xml:"KeyCount"`
	MaxKeys               int               `xml:"MaxKeys"`
	Delimiter             string            `xml:"Delimiter,omitempty"`
	EncodingType          string            `xml:"EncodingType,omitempty"`
	IsTruncated           bool              `xml:"IsTruncated"`
	Contents              []contentsXML     `xml:"Contents"`
	CommonPrefixes        []commonPrefixXML `xml:"CommonPrefixes"`
}

type contentsXML struct {
	Key               string    `xml:"Key"`
	LastModified      string    `xml:"LastModified,omitempty"`
	ETag              string    `xml:"ETag,omitempty"`
	ChecksumAlgorithm []string  `xml:"ChecksumAlgorithm"`
	Size              int64     `xml:"Size"`
	Owner             *ownerXML `xml:"Owner"`
	StorageClass      string    `xml:"StorageClass,omitempty"`
}

type ownerXML struct {
	ID          string `xml:"ID"`
	DisplayName string `xml:"DisplayName"`
}

type commonPrefixXML struct {
	Prefix string `xml:"Prefix"`
}

// list serves a transformed ListObjects or ListObjectsV2 from the
// function's JSON result: listResultXml is forwarded as it is,
// listBucketResult is validated and serialised.
func (s *Service) list(w http.ResponseWriter, in *Request, tr *accesspoint.Transformation, action string) error {
	ctx := in.R.Context()
	// Every query parameter of the caller's listing is presigned, but for
	// the caller's own signature.
	q := url.Values{}
	for k, v := range in.R.URL.Query() {
		if !authParams[strings.ToLower(k)] {
			q[k] = v
		}
	}
	input, err := s.inputURL(ctx, in, http.MethodGet, "", q)
	if err != nil {
		return err
	}
	ev := s.newEvent(in, tr)
	ev.ProtocolVersion = ProtocolVersionHeadList
	if action == accesspoint.ActionListObjectsV2 {
		ev.ListObjectsV2Context = &inputContext{InputS3URL: input}
	} else {
		ev.ListObjectsContext = &inputContext{InputS3URL: input}
	}
	raw, err := s.call(ctx, tr, ev)
	if err != nil {
		return err
	}
	var res struct {
		result
		ListResultXML    *string           `json:"listResultXml"`
		ListBucketResult *listBucketResult `json:"listBucketResult"`
	}
	if err := json.Unmarshal(raw, &res); err != nil {
		return invalidResponse("the result is not a JSON object.")
	}
	if err := res.check(); err != nil {
		return err
	}
	var body []byte
	switch {
	case res.ListResultXML != nil && res.ListBucketResult != nil:
		return invalidResponse("listResultXml and listBucketResult cannot both be present.")
	case res.ListResultXML != nil:
		body = []byte(*res.ListResultXML)
	case res.ListBucketResult != nil:
		doc, err := listDocument(res.ListBucketResult, action == accesspoint.ActionListObjectsV2)
		if err != nil {
			return err
		}
		var buf bytes.Buffer
		buf.WriteString(xml.Header)
		if err := xml.NewEncoder(&buf).Encode(doc); err != nil {
			return err
		}
		body = buf.Bytes()
	default:
		return invalidResponse("listResultXml or listBucketResult is required.")
	}
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(res.StatusCode)
	_, err = w.Write(body)
	return err
}

// listDocument validates a listBucketResult and makes S3's document.
func listDocument(l *listBucketResult, v2 bool) (*listXML, error) {
	switch {
	case l.Name == nil:
		return nil, invalidResponse("listBucketResult.name is required.")
	case l.MaxKeys == nil:
		return nil, invalidResponse("listBucketResult.maxKeys is required.")
	case l.IsTruncated == nil:
		return nil, invalidResponse("listBucketResult.isTruncated is required.")
	case v2 && l.KeyCount == nil:
		return nil, invalidResponse("listBucketResult.keyCount is required.")
	}
	doc := &listXML{
		NS: "http://s3.amazonaws.com/doc/2006-03-01/", Name: *l.Name, Prefix: l.Prefix, MaxKeys: *l.MaxKeys,
		Delimiter: l.Delimiter, EncodingType: l.EncodingType, IsTruncated: *l.IsTruncated,
	}
	if v2 {
		doc.ContinuationToken, doc.NextContinuationToken, doc.StartAfter, doc.KeyCount =
			l.ContinuationToken, l.NextContinuationToken, l.StartAfter, l.KeyCount
	} else {
		m := l.Marker
		doc.Marker, doc.NextMarker = &m, l.NextMarker
	}
	for _, c := range l.Contents {
		if c.Key == nil || c.Size == nil {
			return nil, invalidResponse("each listBucketResult.contents entry needs key and size.")
		}
		x := contentsXML{Key: *c.Key, LastModified: c.LastModified, ETag: c.ETag, Size: *c.Size, StorageClass: c.StorageClass}
		if len(c.ChecksumAlgorithm) > 0 {
			var one string
			var many []string
			switch {
			case json.Unmarshal(c.ChecksumAlgorithm, &one) == nil:
				x.ChecksumAlgorithm = []string{one}
			case json.Unmarshal(c.ChecksumAlgorithm, &many) == nil:
				x.ChecksumAlgorithm = many
			default:
				return nil, invalidResponse("checksumAlgorithm must be a string or a list of strings.")
			}
		}
		if o := c.Owner; o != nil {
			if o.ID == "" || o.DisplayName == "" {
				return nil, invalidResponse("owner needs id and displayName.")
			}
			x.Owner = &ownerXML{ID: o.ID, DisplayName: o.DisplayName}
		}
		doc.Contents = append(doc.Contents, x)
	}
	for _, p := range l.CommonPrefixes {
		if p.Prefix == nil {
			return nil, invalidResponse("each listBucketResult.commonPrefixes entry needs prefix.")
		}
		doc.CommonPrefixes = append(doc.CommonPrefixes, commonPrefixXML{Prefix: *p.Prefix})
	}
	return doc, nil
}
