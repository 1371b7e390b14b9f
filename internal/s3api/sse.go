package s3api

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/xml"
	"net/http"

	"github.com/sluicehq/sluice/internal/meta"
	"github.com/sluicehq/sluice/internal/objstore"
)

// Server-side encryption on the wire: the request headers that ask for it,
// the response headers that report it, and the bucket's default encryption
// (?encryption).

// Prefixes of the SSE-C header triples (…algorithm, …key, …key-MD5).
const (
	customerKeyPrefix   = "x-amz-server-side-encryption-customer-"
	copySourceKeyPrefix = "x-amz-copy-source-server-side-encryption-customer-"
)

// encryptionInput reads the encryption a write asks for (PutObject,
// CreateMultipartUpload, the destination of CopyObject). checkSSEHeaders
// has refused conflicting and malformed method headers already.
func encryptionInput(hd http.Header) (objstore.Encryption, error) {
	var enc objstore.Encryption
	ck, err := customerKeyInput(hd, customerKeyPrefix, true)
	if err != nil {
		return enc, err
	}
	enc.Customer = ck
	enc.Method = hd.Get("x-amz-server-side-encryption")
	kms := enc.Method == objstore.SSEKMS || enc.Method == objstore.SSEKMSDual
	enc.KMSKeyID = hd.Get("x-amz-server-side-encryption-aws-kms-key-id")
	if c := hd.Get("x-amz-server-side-encryption-context"); c != "" {
		if !kms {
			return enc, errorf("InvalidArgument", "Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms")
		}
		if err := objstore.ValidEncryptionContext(c); err != nil {
			return enc, err
		}
		enc.Context = c
	}
	if v := hd.Get("x-amz-server-side-encryption-bucket-key-enabled"); v != "" {
		var b bool
		switch v {
		case "true", "TRUE", "True":
			b = true
		case "false", "FALSE", "False":
		default:
			e := errorf("InvalidArgument", "Invalid value for x-amz-server-side-encryption-bucket-key-enabled header")
			e.extra = [][2]string{{"ArgumentName", "x-amz-server-side-encryption-bucket-key-enabled"}, {"ArgumentValue", v}}
			return enc, e
		}
		enc.BucketKeyEnabled = &b
	}
	return enc, nil
}

// customerKeyInput reads an SSE-C key triple (prefix customerKeyPrefix or
// copySourceKeyPrefix); nil when the request has none. A write needs all
// three headers and a 256-bit key. A read, as on S3, may leave out the MD5,
// and a key of another length is simply not the object's key (403 from
// the store).
func customerKeyInput(hd http.Header, prefix string, write bool) (*objstore.CustomerKey, error) {
	alg, key, keyMD5 := hd.Get(prefix+"algorithm"), hd.Get(prefix+"key"), hd.Get(prefix+"key-MD5")
	if alg == "" && key == "" && keyMD5 == "" {
		return nil, nil
	}
	invalid := func(msg string) error { return errorf("InvalidArgument", msg) }
	switch {
	case alg == "":
		return nil, invalid("Requests specifying Server Side Encryption with Customer provided keys must provide a valid encryption algorithm.")
	case alg != "AES256":
		return nil, errorf("InvalidEncryptionAlgorithmError", "The Encryption request you specified is not valid. Supported value: AES256.")
	case key == "":
		return nil, invalid("Requests specifying Server Side Encryption with Customer provided keys must provide an appropriate secret key.")
	case keyMD5 == "" && write:
		return nil, invalid("Requests specifying Server Side Encryption with Customer provided keys must provide the client calculated MD5 of the secret key.")
	}
	raw, err := base64.StdEncoding.DecodeString(key)
	if err != nil || (write && len(raw) != 32) {
		return nil, invalid("The secret key was invalid for the specified algorithm.")
	}
	if keyMD5 != "" {
		if sum := md5.Sum(raw); base64.StdEncoding.EncodeToString(sum[:]) != keyMD5 {
			return nil, invalid("The calculated MD5 hash of the key did not match the hash that was provided.")
		}
	}
	return &objstore.CustomerKey{Key: raw}, nil
}

// customerKeyMD5 is the MD5 S3 echoes for the SSE-C key of a request: the
// one the client sent, or that of the key when it sent none.
func customerKeyMD5(hd http.Header, prefix string) string {
	if m := hd.Get(prefix + "key-MD5"); m != "" {
		return m
	}
	raw, err := base64.StdEncoding.DecodeString(hd.Get(prefix + "key"))
	if err != nil || len(raw) == 0 {
		return ""
	}
	sum := md5.Sum(raw)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// setSSEHeaders reports how content is encrypted, as S3 does on PUT, GET,
// HEAD, copies and multipart operations: the method and, for SSE-KMS, the
// key ARN and whether a bucket key is used (and the encryption context, on
// the operations that report it: withContext); for SSE-C the algorithm and
// the key MD5 of the request, when it carried the key.
func setSSEHeaders(w, req http.Header, rec *meta.Encryption, withContext bool) {
	if rec == nil {
		return
	}
	if rec.Method == objstore.SSECustomer {
		w.Set("x-amz-server-side-encryption-customer-algorithm", "AES256")
		if m := customerKeyMD5(req, customerKeyPrefix); m != "" {
			w.Set("x-amz-server-side-encryption-customer-key-MD5", m)
		}
		return
	}
	w.Set("x-amz-server-side-encryption", rec.Method)
	if rec.Method == objstore.SSES3 {
		return
	}
	w.Set("x-amz-server-side-encryption-aws-kms-key-id", rec.KeyID)
	if rec.BucketKey {
		w.Set("x-amz-server-side-encryption-bucket-key-enabled", "true")
	}
	if withContext && rec.Context != "" {
		w.Set("x-amz-server-side-encryption-context", rec.Context)
	}
}

// setUploadSSEHeaders reports the encryption of an upload's parts on
// UploadPart and UploadPartCopy responses.
func (h *Handler) setUploadSSEHeaders(rq *request, uploadID string) error {
	rec, err := h.store.UploadEncryption(rq.ctx(), rq.bucket, rq.key, uploadID)
	if err != nil {
		return err
	}
	setSSEHeaders(rq.w.Header(), rq.r.Header, rec, false)
	return nil
}

// Default bucket encryption.

type sseConfiguration struct {
	XMLName xml.Name  `xml:"ServerSideEncryptionConfiguration"`
	NS      string    `xml:"xmlns,attr,omitempty"`
	Rules   []sseRule `xml:"Rule"`
}

type sseRule struct {
	Default          *sseDefault     `xml:"ApplyServerSideEncryptionByDefault"`
	BucketKeyEnabled *bool           `xml:"BucketKeyEnabled"`
	Blocked          *blockedSSEList `xml:"BlockedEncryptionTypes"`
}

type sseDefault struct {
	SSEAlgorithm   string `xml:"SSEAlgorithm"`
	KMSMasterKeyID string `xml:"KMSMasterKeyID,omitempty"`
}

type blockedSSEList struct {
	Types []string `xml:"EncryptionType"`
}

func (h *Handler) putBucketEncryption(rq *request) error {
	// The API model requires an integrity header (httpChecksumRequired).
	if err := requireIntegrity(rq.r.Header); err != nil {
		return err
	}
	var doc sseConfiguration
	if err := readXML(rq, &doc, false); err != nil {
		return err
	}
	if len(doc.Rules) != 1 || doc.Rules[0].Default == nil {
		return errorf("MalformedXML", objstore.ErrMalformedXML.Message)
	}
	r := doc.Rules[0]
	cfg := &objstore.BucketEncryption{Algorithm: r.Default.SSEAlgorithm, KMSKeyID: r.Default.KMSMasterKeyID}
	if r.BucketKeyEnabled != nil {
		cfg.BucketKeyEnabled = *r.BucketKeyEnabled
	}
	if r.Blocked != nil {
		cfg.BlockedTypes = r.Blocked.Types
	}
	if err := h.store.SetBucketEncryption(rq.ctx(), rq.bucket, cfg); err != nil {
		return err
	}
	return rq.ok()
}

func (h *Handler) getBucketEncryption(rq *request) error {
	cfg, err := h.store.BucketEncryption(rq.ctx(), rq.bucket)
	if err != nil {
		return err
	}
	bk := cfg.BucketKeyEnabled
	rule := sseRule{
		Default:          &sseDefault{SSEAlgorithm: cfg.Algorithm, KMSMasterKeyID: cfg.KMSKeyID},
		BucketKeyEnabled: &bk,
	}
	if len(cfg.BlockedTypes) > 0 {
		rule.Blocked = &blockedSSEList{Types: cfg.BlockedTypes}
	}
	writeXML(rq, http.StatusOK, &sseConfiguration{NS: s3NS, Rules: []sseRule{rule}})
	return nil
}

func (h *Handler) deleteBucketEncryption(rq *request) error {
	if err := h.store.DeleteBucketEncryption(rq.ctx(), rq.bucket); err != nil {
		return err
	}
	return rq.noContent()
}
