package objstore

// Server-side encryption: the layer between object content and the blob
// store. A write resolves the encryption it gets (its request's SSE
// headers, else the bucket's default encryption, else the store's
// default), makes a random data key, seals it under the master key (SSE-S3,
// SSE-KMS: package kms) or a key derived from the customer's key (SSE-C),
// records it in the version's meta.Encryption, and streams the content
// through package sse's segmented format into the blob (or into the inline
// bytes of a small object). A read opens the data key from that record and
// decrypts only the segments its range needs.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/sluicehq/sluice/internal/blob"
	"github.com/sluicehq/sluice/internal/kms"
	"github.com/sluicehq/sluice/internal/meta"
	"github.com/sluicehq/sluice/internal/sse"
)

// Server-side encryption methods, as S3 names them on the wire
// (x-amz-server-side-encryption), and SSECustomer, the name the metadata
// records SSE-C under.
const (
	SSES3       = "AES256"
	SSEKMS      = "aws:kms"
	SSEKMSDual  = "aws:kms:dsse"
	SSECustomer = "SSE-C"
)

// Encryption is the server-side encryption a write asks for. The zero value
// asks for none: the bucket's default encryption applies.
type Encryption struct {
	// Method is SSES3, SSEKMS, SSEKMSDual or "".
	Method string
	// KMSKeyID names the KMS key as the client did (key ID, key ARN,
	// alias or alias ARN); "" is the AWS managed key aws/s3.
	KMSKeyID string
	// Context is x-amz-server-side-encryption-context as sent.
	Context string
	// BucketKeyEnabled is x-amz-server-side-encryption-bucket-key-enabled,
	// nil when absent.
	BucketKeyEnabled *bool
	// Customer is the SSE-C key, which excludes Method.
	Customer *CustomerKey
}

func (e Encryption) requested() bool { return e.Method != "" || e.Customer != nil }

// CustomerKey is an SSE-C key a request carries.
type CustomerKey struct {
	// Key is the 256-bit key.
	Key []byte
}

// SSE errors, with S3's codes and messages.
var (
	errSSEKeyMissing = invalidRequest("The object was stored using a form of Server Side Encryption. " +
		"The correct parameters must be provided to retrieve the object.")
	errSSENotApplicable = invalidRequest("The encryption parameters are not applicable to this object.")
	errSSEWrongKey      = newErr("AccessDenied", "Access Denied")
	errUploadKeyMissing = invalidRequest("The multipart upload initiate requested encryption. " +
		"Subsequent part requests must include the appropriate encryption parameters.")
	errUploadKeyMismatch  = newErr("InvalidArgument", "The provided encryption parameters did not match the ones used originally.")
	errNoEncryptionConfig = newErr("ServerSideEncryptionConfigurationNotFoundError",
		"The server side encryption configuration was not found")
)

// target is the encryption a new object gets; nil means plaintext.
type target struct {
	method    string
	keyID     string // KMS key ARN, or kms.S3KeyID
	context   string
	bucketKey bool
	customer  *CustomerKey
}

func (t *target) layers() int {
	if t.method == SSEKMSDual {
		return 2
	}
	return 1
}

// resolveEncryption decides how a new object in b is encrypted: as the
// request asks, else by the bucket's default encryption, else by the
// store's default.
func (s *Store) resolveEncryption(b *meta.Bucket, enc Encryption) (*target, error) {
	cfg, err := bucketEncryption(b)
	if err != nil {
		return nil, err
	}
	if enc.Customer != nil {
		if cfg != nil && cfg.blocks(SSECustomer) {
			return nil, newErr("AccessDenied", "Access Denied")
		}
		return &target{method: SSECustomer, customer: enc.Customer}, nil
	}
	method, keyRef, bucketKey := enc.Method, enc.KMSKeyID, false
	if enc.BucketKeyEnabled != nil {
		bucketKey = *enc.BucketKeyEnabled
	}
	if method == "" {
		switch {
		case cfg != nil:
			method, keyRef = cfg.Algorithm, cfg.KMSKeyID
			if enc.BucketKeyEnabled == nil {
				bucketKey = cfg.BucketKeyEnabled
			}
		case s.defaultSSE != "":
			method = s.defaultSSE
		default:
			return nil, nil
		}
	}
	if s.keys == nil {
		return nil, newErr("NotImplemented", "Server-side encryption needs a key service, and this store has none")
	}
	t := &target{method: method}
	switch method {
	case SSES3:
		t.keyID = kms.S3KeyID
	case SSEKMS, SSEKMSDual:
		arn, err := s.keys.ResolveKey(keyRef)
		if err != nil {
			var ke *kms.KeyError
			if errors.As(err, &ke) {
				return nil, newErr("KMS.NotFoundException", "%s", ke.Message)
			}
			return nil, err
		}
		t.keyID, t.context, t.bucketKey = arn, enc.Context, bucketKey
	default:
		return nil, invalidArgument("x-amz-server-side-encryption", method, "The encryption method specified is not supported")
	}
	return t, nil
}

// sealKey encrypts new content: a data key and the record that keeps it,
// sealed. A nil *sealKey writes plaintext.
type sealKey struct {
	dk  sse.DataKey
	rec *meta.Encryption
}

// keyAAD binds a sealed data key to how its object is encrypted, so that a
// record edited to claim another method, key or context does not open.
func keyAAD(rec *meta.Encryption, layer int) []byte {
	return fmt.Appendf(nil, "sluice sse data key v1\x00%s\x00%s\x00%s\x00%d", rec.Method, rec.KeyID, rec.Context, layer)
}

// newSealKey records data key dk (a fresh one when nil) for target t.
func (s *Store) newSealKey(t *target, dk *sse.DataKey) (*sealKey, error) {
	if t == nil {
		return nil, nil
	}
	k := &sealKey{rec: &meta.Encryption{Method: t.method, KeyID: t.keyID, Context: t.context, BucketKey: t.bucketKey}}
	if dk != nil {
		k.dk = *dk
	} else {
		var err error
		if k.dk, err = sse.NewDataKey(t.layers()); err != nil {
			return nil, err
		}
	}
	seal := func(key, aad []byte) ([]byte, error) { return s.keys.Seal(t.keyID, key, aad) }
	if t.customer != nil {
		salt, err := sse.NewCustomerSalt()
		if err != nil {
			return nil, err
		}
		ck, err := sse.DeriveCustomerKey(t.customer.Key, salt)
		if err != nil {
			return nil, err
		}
		k.rec.KeySalt, k.rec.KeyCheck = salt, ck.Check
		seal = ck.KEK.Seal
	}
	for i, layer := range k.dk.Layers {
		sealed, err := seal(layer, keyAAD(k.rec, i))
		if err != nil {
			return nil, err
		}
		k.rec.DataKeys = append(k.rec.DataKeys, sealed)
	}
	return k, nil
}

// sealFor resolves and keys the encryption of a new object in b.
func (s *Store) sealFor(b *meta.Bucket, enc Encryption) (*sealKey, error) {
	t, err := s.resolveEncryption(b, enc)
	if err != nil {
		return nil, err
	}
	return s.newSealKey(t, nil)
}

// record is the metadata of the encryption, nil for plaintext.
func (k *sealKey) record() *meta.Encryption {
	if k == nil {
		return nil
	}
	return k.rec
}

// etag is the ETag of content c written with k: the MD5 of the plaintext
// for plaintext and SSE-S3, as on S3; for SSE-KMS and SSE-C (whose ETags
// S3 documents as not an MD5 of the data) a value derived from the MD5 and
// the data key that reveals nothing of the content.
func (k *sealKey) etag(c *content) string {
	if k == nil || k.rec.Method == SSES3 {
		return c.etag()
	}
	return sse.ETag(k.dk, c.hash.MD5())
}

// writer wraps a new blob so that what is written to it is encrypted.
func (k *sealKey) writer(w blob.Writer) (blob.Writer, error) {
	if k == nil {
		return w, nil
	}
	enc, err := sse.NewWriter(w, k.dk)
	if err != nil {
		w.Abort()
		return nil, err
	}
	return &sealWriter{enc: enc, w: w}, nil
}

// sealInline encrypts content held in memory.
func (k *sealKey) sealInline(b []byte) ([]byte, error) {
	if k == nil {
		return b, nil
	}
	return sse.Seal(k.dk, b)
}

// sealWriter is a blob.Writer that encrypts into another. From its second
// Write on it encrypts and writes on a goroutine of its own while the
// caller reads and hashes the next piece of the body, so that a large PUT
// uses a second core for encryption instead of lengthening its one chain.
// Commit and Abort wait for that goroutine.
type sealWriter struct {
	enc *sse.Writer
	w   blob.Writer

	writes int
	work   chan []byte // copies of written pieces, for the goroutine
	free   chan []byte // pieces the goroutine is done with
	done   chan error  // the goroutine's result, once work is closed
	err    error       // a failure the goroutine reported early
}

var _ blob.Writer = (*sealWriter)(nil)

// sealPipeline is how many pieces may wait for the encrypting goroutine.
const sealPipeline = 2

func (sw *sealWriter) Write(p []byte) (int, error) {
	sw.writes++
	if sw.work == nil && sw.writes == 1 {
		return sw.enc.Write(p)
	}
	if sw.work == nil {
		sw.work = make(chan []byte, sealPipeline)
		sw.free = make(chan []byte, sealPipeline+1)
		sw.done = make(chan error, 1)
		go sw.run()
	}
	var buf []byte
	select {
	case buf = <-sw.free:
	default:
		buf = make([]byte, 0, len(p))
	}
	buf = append(buf[:0], p...)
	select {
	case sw.work <- buf:
		return len(p), nil
	case err := <-sw.done:
		// The goroutine stopped on an error; it has nothing more to do.
		sw.err, sw.work = err, nil
		return 0, err
	}
}

// run encrypts and writes pieces until work is closed or a write fails.
func (sw *sealWriter) run() {
	for buf := range sw.work {
		if _, err := sw.enc.Write(buf); err != nil {
			sw.done <- err
			return
		}
		select {
		case sw.free <- buf:
		default:
		}
	}
	sw.done <- nil
}

// wait stops the goroutine, if there is one, and returns its error.
func (sw *sealWriter) wait() error {
	if sw.work != nil {
		close(sw.work)
		sw.err = <-sw.done
		sw.work = nil
	}
	return sw.err
}

func (sw *sealWriter) Commit() (string, error) {
	err := sw.wait()
	if err == nil {
		err = sw.enc.Close()
	}
	if err != nil {
		sw.w.Abort()
		return "", err
	}
	return sw.w.Commit()
}

func (sw *sealWriter) Abort() error {
	sw.wait()
	return sw.w.Abort()
}

// openKey returns the data key of content recorded by rec (nil for
// plaintext), checking the SSE-C key a read carries as S3 does: a key for
// content that has none, or none for SSE-C content, is InvalidRequest; the
// wrong key is AccessDenied. With unseal false it only checks (HEAD).
func (s *Store) openKey(rec *meta.Encryption, ck *CustomerKey, unseal bool) (*sse.DataKey, error) {
	switch {
	case rec == nil:
		if ck != nil {
			return nil, errSSENotApplicable
		}
		return nil, nil
	case rec.Method == SSECustomer:
		if ck == nil {
			return nil, errSSEKeyMissing
		}
		if len(ck.Key) != sse.KeySize {
			return nil, errSSEWrongKey
		}
		derived, err := sse.DeriveCustomerKey(ck.Key, rec.KeySalt)
		if err != nil {
			return nil, err
		}
		if !derived.Matches(rec.KeyCheck) {
			return nil, errSSEWrongKey
		}
		if !unseal {
			return nil, nil
		}
		return openDataKey(rec, derived.KEK.Open)
	case ck != nil:
		return nil, errSSENotApplicable
	case !unseal:
		return nil, nil
	case s.keys == nil:
		return nil, fmt.Errorf("objstore: an encrypted object (%s) and no key service", rec.Method)
	}
	return openDataKey(rec, func(sealed, aad []byte) ([]byte, error) { return s.keys.Open(rec.KeyID, sealed, aad) })
}

func openDataKey(rec *meta.Encryption, open func(sealed, aad []byte) ([]byte, error)) (*sse.DataKey, error) {
	dk := &sse.DataKey{}
	for i, sealed := range rec.DataKeys {
		key, err := open(sealed, keyAAD(rec, i))
		if err != nil {
			return nil, fmt.Errorf("objstore: open the data key of a %s object: %w", rec.Method, err)
		}
		dk.Layers = append(dk.Layers, key)
	}
	return dk, nil
}

// openInline returns bytes [off, off+n) of inline content, decrypting it
// with dk when it is encrypted. inline is the caller's own copy (Tx.Inline
// returns one), so it is decrypted in place.
func openInline(v *meta.Version, dk *sse.DataKey, inline []byte, off, n int64) (io.ReadCloser, error) {
	if dk == nil {
		return io.NopCloser(bytes.NewReader(inline[off : off+n])), nil
	}
	pt, err := sse.OpenInPlace(*dk, inline, v.Size, off, n)
	if err != nil {
		return nil, err
	}
	return io.NopCloser(bytes.NewReader(pt)), nil
}

// Multipart uploads: CreateMultipartUpload keys the upload; every part is
// encrypted with the upload's data key (each part blob has its own random
// header, hence its own segment keys).

// uploadEncryption keys the encryption of a new upload in bucket.
func (s *Store) uploadEncryption(ctx context.Context, bucket string, enc Encryption) (*meta.Encryption, error) {
	b, err := s.Bucket(ctx, bucket)
	if err != nil {
		return nil, err
	}
	k, err := s.sealFor(b, enc)
	if err != nil {
		return nil, err
	}
	return k.record(), nil
}

// checkUploadKey checks the SSE-C key a part request carries against the
// upload's, returning the derived key when it matches.
func checkUploadKey(u *meta.Upload, ck *CustomerKey) (*sse.CustomerKey, error) {
	rec := u.Object.SSE
	switch {
	case rec == nil || rec.Method != SSECustomer:
		if ck != nil {
			return nil, errSSENotApplicable
		}
		return nil, nil
	case ck == nil:
		return nil, errUploadKeyMissing
	case len(ck.Key) != sse.KeySize:
		return nil, errUploadKeyMismatch
	}
	derived, err := sse.DeriveCustomerKey(ck.Key, rec.KeySalt)
	if err != nil {
		return nil, err
	}
	if !derived.Matches(rec.KeyCheck) {
		return nil, errUploadKeyMismatch
	}
	return derived, nil
}

// checkCompleteKey checks the SSE-C key of a CompleteMultipartUpload.
func checkCompleteKey(u *meta.Upload, ck *CustomerKey) error {
	if ck == nil {
		if rec := u.Object.SSE; rec != nil && rec.Method == SSECustomer && u.Object.Checksum.Algorithm != "" {
			return errUploadKeyMissing
		}
		return nil
	}
	_, err := checkUploadKey(u, ck)
	return err
}

// partSealKey returns the key that encrypts a new part of upload u.
func (s *Store) partSealKey(u *meta.Upload, ck *CustomerKey) (*sealKey, error) {
	derived, err := checkUploadKey(u, ck)
	if err != nil {
		return nil, err
	}
	rec := u.Object.SSE
	if rec == nil {
		return nil, nil
	}
	var dk *sse.DataKey
	if derived != nil {
		dk, err = openDataKey(rec, derived.KEK.Open)
	} else {
		dk, err = s.openKey(rec, nil, true)
	}
	if err != nil {
		return nil, err
	}
	return &sealKey{dk: *dk, rec: rec}, nil
}

// UploadEncryption returns how an upload's parts are encrypted (nil for
// plaintext), for the SSE headers of part responses.
func (s *Store) UploadEncryption(ctx context.Context, bucket, key, uploadID string) (*meta.Encryption, error) {
	u, err := s.upload(ctx, bucket, key, uploadID)
	if err != nil {
		return nil, err
	}
	return u.Object.SSE, nil
}

// Copies. Data keys are enveloped, so a copy between two encrypted forms
// with the same number of layers keeps the content (its blobs are linked)
// and only seals the source's data key again for the destination — unless
// the destination is SSE-S3 and the source is not: an SSE-S3 ETag is the
// MD5 of the plaintext, which only a rewrite can compute for a source whose
// ETag is not. A copy from or to plaintext rewrites the content.

// copyEncryption decides how a copy of src into b is encrypted: the key to
// write it with, whether its content may be linked rather than rewritten,
// and the ETag a linked copy has.
func (s *Store) copyEncryption(b *meta.Bucket, enc Encryption, src *source) (k *sealKey, link bool, etag string, err error) {
	t, err := s.resolveEncryption(b, enc)
	if err != nil {
		return nil, false, "", err
	}
	sv := src.v
	switch {
	case t == nil && sv.SSE == nil:
		return nil, true, sv.ETag, nil
	case t == nil, sv.SSE == nil, src.dk == nil, t.layers() != len(src.dk.Layers),
		t.method == SSES3 && sv.SSE.Method != SSES3:
		k, err = s.newSealKey(t, nil)
		return k, false, "", err
	}
	etag = sv.ETag
	if sv.SSE.Method == SSES3 && t.method != SSES3 {
		sum, err := hex.DecodeString(sv.ETag)
		if err != nil || len(sum) != 16 {
			k, err = s.newSealKey(t, nil)
			return k, false, "", err
		}
		etag = sse.ETag(*src.dk, sum)
	}
	k, err = s.newSealKey(t, src.dk)
	return k, true, etag, err
}

// copyChangesEncryption reports whether a copy of sv into b with enc
// changes how the object is encrypted, which makes a copy onto itself
// legal: a request that names an encryption (a key rotation, say), or one
// that decrypts the object or gives it the bucket's default encryption.
func (s *Store) copyChangesEncryption(b *meta.Bucket, enc Encryption, sv *meta.Version) bool {
	if enc.requested() {
		return true
	}
	t, err := s.resolveEncryption(b, enc)
	switch {
	case err != nil:
		return true // the copy itself reports the error
	case t == nil:
		return sv.SSE != nil
	}
	return sv.SSE == nil || sv.SSE.Method != t.method || sv.SSE.KeyID != t.keyID
}

// Default bucket encryption (PutBucketEncryption), kept in the bucket's
// configuration documents.

const encryptionConfig = "encryption"

// BucketEncryption is a bucket's default encryption: what new objects get
// when their request asks for none.
type BucketEncryption struct {
	// Algorithm is SSES3, SSEKMS or SSEKMSDual.
	Algorithm string `json:"alg"`
	// KMSKeyID is the KMS key as configured (any form KMS accepts);
	// "" is aws/s3.
	KMSKeyID         string `json:"kms,omitempty"`
	BucketKeyEnabled bool   `json:"bk,omitempty"`
	// BlockedTypes lists the encryption types writes may not use: "SSE-C",
	// or "NONE" (nothing blocked).
	BlockedTypes []string `json:"blocked,omitempty"`
}

func (c *BucketEncryption) blocks(method string) bool {
	for _, t := range c.BlockedTypes {
		if t == method {
			return true
		}
	}
	return false
}

func bucketEncryption(b *meta.Bucket) (*BucketEncryption, error) {
	raw, ok := b.Configs[encryptionConfig]
	if !ok {
		return nil, nil
	}
	var c BucketEncryption
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("objstore: bucket %s: encryption configuration: %w", b.Name, err)
	}
	return &c, nil
}

// BucketEncryption returns a bucket's default encryption. Without one it is
// the store's default (SSE-S3 when the store encrypts every object, as S3
// does), or ServerSideEncryptionConfigurationNotFoundError.
func (s *Store) BucketEncryption(ctx context.Context, bucket string) (*BucketEncryption, error) {
	b, err := s.Bucket(ctx, bucket)
	if err != nil {
		return nil, err
	}
	c, err := bucketEncryption(b)
	switch {
	case err != nil:
		return nil, err
	case c != nil:
		return c, nil
	case s.defaultSSE != "":
		return &BucketEncryption{Algorithm: s.defaultSSE}, nil
	}
	return nil, errNoEncryptionConfig
}

// SetBucketEncryption sets a bucket's default encryption. A KMS key is
// checked when an object is written with it, as on S3.
func (s *Store) SetBucketEncryption(ctx context.Context, bucket string, c *BucketEncryption) error {
	switch c.Algorithm {
	case SSES3:
		if c.KMSKeyID != "" {
			return invalidArgument("ApplyServerSideEncryptionByDefault", "",
				"a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms or aws:kms:dsse")
		}
	case SSEKMS, SSEKMSDual:
	default:
		return ErrMalformedXML
	}
	for _, t := range c.BlockedTypes {
		if t != SSECustomer && t != "NONE" {
			return ErrMalformedXML
		}
	}
	if s.keys == nil {
		return newErr("NotImplemented", "Server-side encryption needs a key service, and this store has none")
	}
	raw, err := json.Marshal(c)
	if err != nil {
		return err
	}
	return s.UpdateBucket(ctx, bucket, func(b *meta.Bucket) error {
		if b.Configs == nil {
			b.Configs = make(map[string][]byte)
		}
		b.Configs[encryptionConfig] = raw
		return nil
	})
}

// DeleteBucketEncryption removes a bucket's default encryption (the store's
// default applies again).
func (s *Store) DeleteBucketEncryption(ctx context.Context, bucket string) error {
	return s.UpdateBucket(ctx, bucket, func(b *meta.Bucket) error {
		delete(b.Configs, encryptionConfig)
		return nil
	})
}

// ValidEncryptionContext checks an x-amz-server-side-encryption-context
// value: base64 of a JSON object whose values are strings.
func ValidEncryptionContext(v string) error {
	bad := invalidArgument("x-amz-server-side-encryption-context", v,
		"The header 'x-amz-server-side-encryption-context' shall be Base64-encoded UTF-8 string holding JSON which represents a string-string map")
	raw, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return bad
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return bad
	}
	for _, val := range m {
		if _, ok := val.(string); !ok {
			return bad
		}
	}
	return nil
}
