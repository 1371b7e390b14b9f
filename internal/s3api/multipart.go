package s3api

import (
	"bytes"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/sluicehq/sluice/internal/checksum"
	"github.com/sluicehq/sluice/internal/objstore"
)

type initiateMultipartUploadResult struct {
	XMLName  xml.Name `xml:"InitiateMultipartUploadResult"`
	NS       string   `xml:"xmlns,attr"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	UploadID string   `xml:"UploadId"`
}

func (h *Handler) createMultipartUpload(rq *request) error {
	hd := rq.r.Header
	m, err := objectMeta(hd)
	if err != nil {
		return err
	}
	owner, err := h.newObject(rq, &m)
	if err != nil {
		return err
	}
	in := &objstore.CreateUploadInput{Bucket: rq.bucket, Key: rq.key, Owner: owner, Meta: m, Lock: lockHeaders(hd)}
	if in.Encryption, err = encryptionInput(hd); err != nil {
		return err
	}
	if a := hd.Get("x-amz-checksum-algorithm"); a != "" {
		alg, err := checksum.ParseAlgorithm(a)
		if err != nil {
			return errorf("InvalidRequest", checksum.UnknownAlgorithmMessage)
		}
		in.ChecksumAlgorithm = alg
	}
	if t := hd.Get("x-amz-checksum-type"); t != "" {
		ct, err := checksum.ParseType(t)
		if err != nil {
			return errorf("InvalidRequest", "Value for x-amz-checksum-type header is invalid.")
		}
		in.ChecksumType = ct
	}
	u, err := h.store.CreateMultipartUpload(rq.ctx(), in)
	if err != nil {
		return err
	}
	if a := u.Object.Checksum.Algorithm; a != "" {
		rq.w.Header().Set("x-amz-checksum-algorithm", a)
		rq.w.Header().Set("x-amz-checksum-type", u.Object.Checksum.Type)
	}
	setSSEHeaders(rq.w.Header(), hd, u.Object.SSE, true)
	writeXML(rq, http.StatusOK, &initiateMultipartUploadResult{NS: s3NS, Bucket: rq.bucket, Key: rq.key, UploadID: u.UploadID})
	return nil
}

func partNumber(rq *request) (int, error) {
	n, err := strconv.Atoi(rq.query.Get("partNumber"))
	if err != nil || n < 1 || n > objstore.MaxPartNumber {
		return 0, errorf("InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive")
	}
	return n, nil
}

type copyPartResult struct {
	XMLName      xml.Name `xml:"CopyPartResult"`
	NS           string   `xml:"xmlns,attr"`
	ETag         string   `xml:"ETag"`
	LastModified string   `xml:"LastModified"`
	checksumElems
}

func (h *Handler) uploadPart(rq *request) error {
	n, err := partNumber(rq)
	if err != nil {
		return err
	}
	uploadID := rq.query.Get("uploadId")
	if rq.r.Header.Get("x-amz-copy-source") != "" {
		return h.uploadPartCopy(rq, uploadID, n)
	}
	size, err := contentLength(rq)
	if err != nil {
		return err
	}
	ck, err := checksumInput(rq)
	if err != nil {
		return err
	}
	// SSE-S3/KMS headers on a part are ignored: parts are encrypted as
	// their upload is.
	key, err := customerKeyInput(rq.r.Header, customerKeyPrefix, true)
	if err != nil {
		return err
	}
	p, err := h.store.UploadPart(rq.ctx(), &objstore.PartInput{
		Bucket: rq.bucket, Key: rq.key, UploadID: uploadID, PartNumber: n,
		Body: rq.body, Size: size, ContentMD5: rq.r.Header.Get("Content-MD5"), Checksum: ck,
		CustomerKey: key,
	})
	if err != nil {
		return err
	}
	hd := rq.w.Header()
	hd.Set("ETag", `"`+p.ETag+`"`)
	if err := h.setUploadSSEHeaders(rq, uploadID); err != nil {
		return err
	}
	// The part's checksum in the upload's algorithm: echoed when the
	// client sent that one; computed and reported when it sent none and
	// the upload declared an algorithm.
	report := string(ck.Algorithm) == p.Checksum.Algorithm
	if ck.Algorithm == "" {
		declared, err := h.store.DeclaredAlgorithm(rq.ctx(), rq.bucket, rq.key, uploadID)
		if err != nil {
			return err
		}
		report = declared != ""
	}
	if name := checksum.Algorithm(p.Checksum.Algorithm).HeaderName(); report && name != "" && p.Checksum.Value != "" {
		hd.Set(name, p.Checksum.Value)
	}
	return rq.ok()
}

func (h *Handler) uploadPartCopy(rq *request, uploadID string, n int) error {
	cs, err := parseCopySource(rq.r.Header)
	if err != nil {
		return err
	}
	if err := h.authorizeSource(rq, cs); err != nil {
		return err
	}
	in := &objstore.PartCopyInput{Source: cs, Bucket: rq.bucket, Key: rq.key, UploadID: uploadID, PartNumber: n}
	if in.CustomerKey, err = customerKeyInput(rq.r.Header, customerKeyPrefix, true); err != nil {
		return err
	}
	if in.Source.CustomerKey, err = customerKeyInput(rq.r.Header, copySourceKeyPrefix, false); err != nil {
		return err
	}
	if r := rq.r.Header.Get("x-amz-copy-source-range"); r != "" {
		first, last, err := objstore.ParseCopyRange(r)
		if err != nil {
			return err
		}
		in.Range = &[2]int64{first, last}
	}
	p, srcVersion, err := h.store.UploadPartCopy(rq.ctx(), in)
	if err != nil {
		return err
	}
	if srcVersion != "" && srcVersion != "null" {
		rq.w.Header().Set("x-amz-copy-source-version-id", srcVersion)
	}
	if err := h.setUploadSSEHeaders(rq, uploadID); err != nil {
		return err
	}
	res := &copyPartResult{NS: s3NS, ETag: `"` + p.ETag + `"`, LastModified: isoTime(p.LastModified)}
	// The part's checksum is reported when the upload declared an
	// algorithm.
	declared, err := h.store.DeclaredAlgorithm(rq.ctx(), rq.bucket, rq.key, uploadID)
	if err != nil {
		return err
	}
	if declared != "" {
		res.checksumElems = checksumXML(p.Checksum, false)
	}
	writeXML(rq, http.StatusOK, res)
	return nil
}

type completeMultipartUpload struct {
	Parts []struct {
		PartNumber *int   `xml:"PartNumber"`
		ETag       string `xml:"ETag"`
		checksumElems
	} `xml:"Part"`
}

type completeMultipartUploadResult struct {
	XMLName  xml.Name `xml:"CompleteMultipartUploadResult"`
	NS       string   `xml:"xmlns,attr"`
	Location string   `xml:"Location"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	ETag     string   `xml:"ETag"`
	checksumElems
}

func (h *Handler) completeMultipartUpload(rq *request) error {
	var doc completeMultipartUpload
	if err := readCompleteDoc(rq, &doc); err != nil {
		return err
	}
	in := &objstore.CompleteInput{
		Bucket: rq.bucket, Key: rq.key, UploadID: rq.query.Get("uploadId"),
		IfMatch: rq.r.Header.Get("If-Match"), IfNoneMatch: rq.r.Header.Get("If-None-Match"),
		ObjectSize: -1,
		Origin:     h.origin(rq),
	}
	if t := rq.r.Header.Get("x-amz-checksum-type"); t != "" {
		ct, err := checksum.ParseType(t)
		if err != nil {
			return errorf("InvalidRequest", "Value for x-amz-checksum-type header is invalid.")
		}
		in.ChecksumType = string(ct)
	}
	if v := rq.r.Header.Get("x-amz-mp-object-size"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		switch {
		case err != nil:
			return errorf("InvalidRequest", "Value for x-amz-mp-object-size header is invalid.")
		case n < 0:
			return errorf("InvalidRequest", "Value for x-amz-mp-object-size header is less than zero: '"+v+"'")
		}
		in.ObjectSize = n
	}
	key, err := customerKeyInput(rq.r.Header, customerKeyPrefix, true)
	if err != nil {
		return err
	}
	in.CustomerKey = key
	for _, p := range doc.Parts {
		if p.PartNumber == nil || p.ETag == "" {
			// Both elements are required in every Part.
			return errorf("MalformedXML", objstore.ErrMalformedXML.Message)
		}
		cp := objstore.CompletedPart{Number: *p.PartNumber, ETag: p.ETag, Checksums: map[checksum.Algorithm]string{}}
		for _, a := range checksum.Algorithms() {
			if v := *p.field(a); v != "" {
				cp.Checksums[a] = v
			}
		}
		in.Parts = append(in.Parts, cp)
	}
	// A full-object checksum the client asserts for the whole object; a
	// composite one may carry its "-<parts>" suffix.
	for _, a := range checksum.Algorithms() {
		if v := rq.r.Header.Get(a.HeaderName()); v != "" {
			if in.Checksum.Algorithm != "" {
				return errorf("InvalidRequest", "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.")
			}
			in.Checksum = objstore.ChecksumInput{Algorithm: a, Value: v}
		}
	}
	v, err := h.store.CompleteMultipartUpload(rq.ctx(), in)
	if err != nil {
		return err
	}
	setVersionHeader(rq.w.Header(), v.VersionID)
	setSSEHeaders(rq.w.Header(), rq.r.Header, v.SSE, false)
	// Location is the object's URL in the addressing style of the request,
	// its key percent-encoded.
	loc := url.URL{Scheme: "http", Host: rq.r.Host, Path: "/" + rq.bucket + "/" + rq.key}
	if rq.r.TLS != nil {
		loc.Scheme = "https"
	}
	if rq.vhost {
		loc.Path = "/" + rq.key
	}
	writeXML(rq, http.StatusOK, &completeMultipartUploadResult{
		NS:            s3NS,
		Location:      loc.String(),
		Bucket:        rq.bucket,
		Key:           rq.key,
		ETag:          `"` + v.ETag + `"`,
		checksumElems: checksumXML(v.Checksum, true),
	})
	return nil
}

// readCompleteDoc reads a CompleteMultipartUpload document. Unlike other
// documents its x-amz-checksum-* headers do not describe the body: they
// assert the checksum of the whole object, which the store checks. A
// missing body is an empty part list, which S3 reports as MalformedXML.
func readCompleteDoc(rq *request, doc *completeMultipartUpload) error {
	raw, err := io.ReadAll(io.LimitReader(rq.body, maxXMLBody+1))
	if err != nil {
		return err
	}
	if len(raw) > maxXMLBody {
		return errorf("MaxMessageLengthExceeded", "Your request was too big.")
	}
	if err := objstore.VerifyBytes(raw, rq.r.Header.Get("Content-MD5"), objstore.ChecksumInput{}); err != nil {
		return err
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	if err := xml.Unmarshal(raw, doc); err != nil {
		return errorf("MalformedXML", objstore.ErrMalformedXML.Message)
	}
	return nil
}

func (h *Handler) abortMultipartUpload(rq *request) error {
	if rq.r.Header.Get("x-amz-if-match-initiated-time") != "" {
		// A directory bucket feature on S3; ignored, it would abort an
		// upload the client meant to keep.
		return notImplemented("Aborting on a condition of initiation time (a directory bucket feature)")
	}
	if err := h.store.AbortMultipartUpload(rq.ctx(), rq.bucket, rq.key, rq.query.Get("uploadId")); err != nil {
		return err
	}
	return rq.noContent()
}

type listPartsResult struct {
	XMLName              xml.Name   `xml:"ListPartsResult"`
	NS                   string     `xml:"xmlns,attr"`
	Bucket               string     `xml:"Bucket"`
	Key                  string     `xml:"Key"`
	UploadID             string     `xml:"UploadId"`
	Initiator            initiator  `xml:"Initiator"`
	Owner                owner      `xml:"Owner"`
	StorageClass         string     `xml:"StorageClass"`
	PartNumberMarker     int        `xml:"PartNumberMarker"`
	NextPartNumberMarker int        `xml:"NextPartNumberMarker"`
	MaxParts             int        `xml:"MaxParts"`
	IsTruncated          bool       `xml:"IsTruncated"`
	ChecksumAlgorithm    string     `xml:"ChecksumAlgorithm,omitempty"`
	ChecksumType         string     `xml:"ChecksumType,omitempty"`
	Parts                []partElem `xml:"Part"`
}

type initiator struct {
	ID          string `xml:"ID"`
	DisplayName string `xml:"DisplayName,omitempty"`
}

type partElem struct {
	PartNumber   int    `xml:"PartNumber"`
	LastModified string `xml:"LastModified"`
	ETag         string `xml:"ETag"`
	Size         int64  `xml:"Size"`
	checksumElems
}

func (h *Handler) listParts(rq *request) error {
	maxParts, err := maxKeys(rq.query, "max-parts", 1000)
	if err != nil {
		return err
	}
	marker := 0
	if m := rq.query.Get("part-number-marker"); m != "" {
		if marker, err = strconv.Atoi(m); err != nil || marker < 0 {
			return errorf("InvalidArgument", "Provided part-number-marker not an integer or within integer range")
		}
	}
	pl, err := h.store.ListParts(rq.ctx(), rq.bucket, rq.key, rq.query.Get("uploadId"), marker, maxParts)
	if err != nil {
		return err
	}
	u := pl.Upload
	o := h.ownerOf(u.Owner)
	out := listPartsResult{
		NS: s3NS, Bucket: rq.bucket, Key: rq.key, UploadID: u.UploadID,
		Initiator: initiator(o), Owner: o, StorageClass: u.Object.StorageClass,
		PartNumberMarker: marker, NextPartNumberMarker: pl.NextPartNumberMarker, MaxParts: maxParts,
		IsTruncated: pl.IsTruncated,
	}
	if a := u.Object.Checksum.Algorithm; a != "" {
		out.ChecksumAlgorithm, out.ChecksumType = a, u.Object.Checksum.Type
	}
	declared := u.Object.Checksum.Algorithm != ""
	for _, p := range pl.Parts {
		pe := partElem{PartNumber: p.Number, LastModified: isoTime(p.LastModified), ETag: `"` + p.ETag + `"`, Size: p.Size}
		if declared {
			pe.checksumElems = checksumXML(p.Checksum, false)
		}
		out.Parts = append(out.Parts, pe)
	}
	writeXML(rq, http.StatusOK, &out)
	return nil
}

type listMultipartUploadsResult struct {
	XMLName            xml.Name     `xml:"ListMultipartUploadsResult"`
	NS                 string       `xml:"xmlns,attr"`
	Bucket             string       `xml:"Bucket"`
	KeyMarker          string       `xml:"KeyMarker"`
	UploadIDMarker     string       `xml:"UploadIdMarker"`
	NextKeyMarker      string       `xml:"NextKeyMarker"`
	NextUploadIDMarker string       `xml:"NextUploadIdMarker"`
	Prefix             string       `xml:"Prefix"`
	Delimiter          string       `xml:"Delimiter,omitempty"`
	MaxUploads         int          `xml:"MaxUploads"`
	EncodingType       string       `xml:"EncodingType,omitempty"`
	IsTruncated        bool         `xml:"IsTruncated"`
	Uploads            []uploadElem `xml:"Upload"`
	CommonPrefixes     []prefixElem `xml:"CommonPrefixes"`
}

type uploadElem struct {
	Key               string    `xml:"Key"`
	UploadID          string    `xml:"UploadId"`
	Initiator         initiator `xml:"Initiator"`
	Owner             owner     `xml:"Owner"`
	StorageClass      string    `xml:"StorageClass"`
	Initiated         string    `xml:"Initiated"`
	ChecksumAlgorithm string    `xml:"ChecksumAlgorithm,omitempty"`
	ChecksumType      string    `xml:"ChecksumType,omitempty"`
}

func (h *Handler) listMultipartUploads(rq *request) error {
	q := rq.query
	e, err := newEncoder(q)
	if err != nil {
		return err
	}
	n, err := maxKeys(q, "max-uploads", 1000)
	if err != nil {
		return err
	}
	in := &objstore.UploadListInput{
		Bucket: rq.bucket, Prefix: q.Get("prefix"), Delimiter: q.Get("delimiter"),
		KeyMarker: q.Get("key-marker"), UploadIDMarker: q.Get("upload-id-marker"), MaxUploads: n,
	}
	res, err := h.store.ListUploads(rq.ctx(), in)
	if err != nil {
		return err
	}
	out := listMultipartUploadsResult{
		NS: s3NS, Bucket: rq.bucket, KeyMarker: e.enc(in.KeyMarker), UploadIDMarker: in.UploadIDMarker,
		NextKeyMarker: e.enc(res.NextKeyMarker), NextUploadIDMarker: res.NextUploadIDMarker,
		Prefix: e.enc(in.Prefix), Delimiter: e.enc(in.Delimiter), MaxUploads: n,
		EncodingType: e.encodingType(), IsTruncated: res.IsTruncated,
	}
	for _, u := range res.Uploads {
		o := h.ownerOf(u.Owner)
		ue := uploadElem{
			Key: e.enc(u.Key), UploadID: u.UploadID, Initiator: initiator(o), Owner: o,
			StorageClass: u.Object.StorageClass, Initiated: isoTime(u.Initiated),
			ChecksumAlgorithm: u.Object.Checksum.Algorithm, ChecksumType: u.Object.Checksum.Type,
		}
		out.Uploads = append(out.Uploads, ue)
	}
	for _, p := range res.CommonPrefixes {
		out.CommonPrefixes = append(out.CommonPrefixes, prefixElem{Prefix: e.enc(p)})
	}
	writeXML(rq, http.StatusOK, &out)
	return nil
}
