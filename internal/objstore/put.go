package objstore

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/sluicehq/sluice/internal/blob"
	"github.com/sluicehq/sluice/internal/checksum"
	"github.com/sluicehq/sluice/internal/meta"
)

// ObjectMeta is the client-supplied metadata of a new object.
type ObjectMeta struct {
	ContentType        string
	ContentEncoding    string
	ContentDisposition string
	ContentLanguage    string
	CacheControl       string
	Expires            string
	// WebsiteRedirect is the x-amz-website-redirect-location to store.
	// A copy stores the one its request gives, never the source's.
	WebsiteRedirect string
	// UserMeta maps lowercase names (without "x-amz-meta-") to values.
	UserMeta     map[string]string
	Tags         []meta.Tag
	StorageClass string
	// ACL is the new object's access control list; nil is the default
	// (the owner has full control). A copy gets it whatever its
	// metadata directive: S3 never copies the source's ACL.
	ACL *meta.ACL
}

func (m *ObjectMeta) apply(v *meta.Version) {
	v.ContentType = m.ContentType
	v.ContentEncoding = m.ContentEncoding
	v.ContentDisposition = m.ContentDisposition
	v.ContentLanguage = m.ContentLanguage
	v.CacheControl = m.CacheControl
	v.Expires = m.Expires
	v.WebsiteRedirect = m.WebsiteRedirect
	v.UserMeta = m.UserMeta
	v.Tags = m.Tags
	v.StorageClass = m.StorageClass
	v.ACL = m.ACL
	if v.StorageClass == "" {
		v.StorageClass = "STANDARD"
	}
}

func (m *ObjectMeta) validate() error {
	size := 0
	for k, v := range m.UserMeta {
		size += len(k) + len(v)
	}
	if size > MaxUserMetaSize {
		return ErrMetadataTooLarge
	}
	if m.Tags != nil {
		if err := ValidateTags(m.Tags, MaxTags); err != nil {
			return err
		}
	}
	if err := validWebsiteRedirect(m.WebsiteRedirect); err != nil {
		return err
	}
	return validStorageClass(m.StorageClass)
}

// validWebsiteRedirect checks an x-amz-website-redirect-location: a key
// of the same bucket ("/page.html") or an absolute http(s) URL.
func validWebsiteRedirect(loc string) error {
	if loc == "" || strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "http://") || strings.HasPrefix(loc, "https://") {
		return nil
	}
	return newErr("InvalidRedirectLocation", "The website redirect location must have a prefix of 'http://' or 'https://' or '/'.")
}

var storageClasses = map[string]bool{
	"": true, "STANDARD": true, "REDUCED_REDUNDANCY": true, "STANDARD_IA": true, "ONEZONE_IA": true,
	"INTELLIGENT_TIERING": true, "GLACIER": true, "DEEP_ARCHIVE": true, "OUTPOSTS": true,
	"GLACIER_IR": true, "SNOW": true, "EXPRESS_ONEZONE": true,
}

func validStorageClass(sc string) error {
	if !storageClasses[sc] {
		return newErr("InvalidStorageClass", "The storage class you specified is not valid")
	}
	return nil
}

// ChecksumInput is what the client declared about an additional checksum.
type ChecksumInput struct {
	// Algorithm is the declared algorithm, "" for none.
	Algorithm checksum.Algorithm
	// Value is the expected base64 digest from a header, "" when it comes
	// from a trailer.
	Value string
	// Trailer returns the expected digest once the body has been read
	// (aws-chunked uploads with x-amz-trailer); nil when not used.
	Trailer func() string
}

func (c ChecksumInput) expected() (string, error) {
	if c.Value != "" || c.Trailer == nil {
		return c.Value, nil
	}
	v := c.Trailer()
	if v == "" {
		return "", invalidRequest("The %s trailer was declared but not received.", c.Algorithm.HeaderName())
	}
	return v, nil
}

// PutInput describes a PutObject request.
type PutInput struct {
	Bucket string
	Key    string
	Owner  string
	Body   io.Reader
	// Size is the declared length, or -1 when unknown.
	Size       int64
	Meta       ObjectMeta
	ContentMD5 string // base64, "" if absent
	Checksum   ChecksumInput
	// IfMatch and IfNoneMatch make the write conditional on the current
	// object ("*" for IfNoneMatch: only if absent).
	IfMatch     string
	IfNoneMatch string
	// Lock is the Object Lock the new version asks for.
	Lock ObjectLockInput
	// Encryption is the server-side encryption the request asks for.
	Encryption Encryption
	// Op is the API operation that creates the object, the suffix of its
	// s3:ObjectCreated:* event: CreatedByPut (also the zero value) or
	// CreatedByPost.
	Op CreateOp
	// Origin is the request behind the write, for its event.
	Origin Origin
}

// CreateOp names the operation that creates an object version.
type CreateOp string

// The operations PutObject serves.
const (
	CreatedByPut  CreateOp = "Put"  // PutObject
	CreatedByPost CreateOp = "Post" // POST Object, a browser-form upload
)

// ValidKey checks an object key.
func ValidKey(key string) error {
	switch {
	case key == "":
		return invalidArgument("key", key, "Object key must not be empty")
	case len(key) > MaxKeyLength:
		return ErrKeyTooLong
	case !utf8.ValidString(key):
		return invalidArgument("key", "", "Object key is not valid UTF-8")
	}
	return nil
}

// content is a body read and hashed, held inline or in an uncommitted blob.
type content struct {
	inline []byte
	w      blob.Writer
	size   int64
	hash   *checksum.MultiHasher
	buf    *[]byte
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 1<<20); return &b }}

// release returns buffers and aborts an uncommitted blob.
func (c *content) release() {
	if c.w != nil {
		c.w.Abort()
		c.w = nil
	}
	if c.buf != nil {
		bufPool.Put(c.buf)
		c.buf = nil
	}
}

// commit makes the blob durable, returning its ID ("" for inline content).
func (c *content) commit() (string, error) {
	if c.w == nil {
		return "", nil
	}
	id, err := c.w.Commit()
	c.w = nil
	return id, err
}

// directCreator is a blob store that can write a blob past the page cache
// (the disk store, with O_DIRECT on Linux), for content that is not read
// back soon or is too large for the page cache to keep: multipart upload
// parts, and objects of directPutMin bytes or more (see placement).
type directCreator interface {
	CreateDirect(ctx context.Context) (blob.Writer, error)
}

// placement says where content goes.
type placement int

const (
	// inlineOrCached: inline if it fits within inlineMax, else a blob
	// written through the page cache, to be read back soon.
	inlineOrCached placement = iota
	// inlineOrDirect: inline if it fits, else a blob written past the
	// page cache (a large object: see directPutMin).
	inlineOrDirect
	// direct: a blob written past the page cache, never inline (a part,
	// read back at the earliest after its upload completes).
	direct
)

// directPutMin is the declared size from which a PUT's body is written past
// the page cache: copying it into the cache costs CPU the body's MD5 needs,
// and an object this large would push out what the cache holds for others
// (docs/benchmarks.md, "Large objects: fourth pass").
const directPutMin = 64 << 20

// readContent streams r (at most max bytes) into memory, if it fits within
// inlineMax and place allows, or else into a new blob, hashing it with MD5
// and algs. With a seal key it stores the content encrypted (sse.go); sizes
// and hashes are of the plaintext.
func (s *Store) readContent(ctx context.Context, r io.Reader, max int64, place placement, seal *sealKey, algs ...checksum.Algorithm) (*content, error) {
	c := &content{hash: checksum.NewMultiHasher(algs...), buf: bufPool.Get().(*[]byte)}
	buf := *c.buf
	limit := int64(-1)
	if place != direct {
		limit = s.inlineMax
	}
	// Fill the buffer first: small bodies never touch the blob store.
	n, err := readFull(r, buf)
	c.size = int64(n)
	if err == io.EOF && c.size <= limit {
		c.hash.Write(buf[:n])
		if c.inline, err = seal.sealInline(buf[:n]); err != nil {
			c.release()
			return nil, err
		}
		return c, nil
	}
	if err != nil && err != io.EOF {
		c.release()
		return nil, bodyError(err)
	}
	if c.size > max {
		c.release()
		return nil, ErrEntityTooLarge
	}
	create := s.blobs.Create
	if dc, ok := s.blobs.(directCreator); ok && place != inlineOrCached {
		create = dc.CreateDirect
	}
	w, werr := create(ctx)
	if werr == nil {
		w, werr = seal.writer(w)
	}
	if werr != nil {
		c.release()
		return nil, werr
	}
	c.w = w
	if err == io.EOF {
		// One buffer holds it all: nothing to overlap.
		c.hash.Write(buf[:n])
		if _, werr := w.Write(buf[:n]); werr != nil {
			c.release()
			return nil, werr
		}
		return c, nil
	}
	minLane := minLaneSingles
	if place == direct {
		minLane = minLaneParts
	}
	done, inLane := c.hash.UseLanes(md5Lanes, minLane)
	depth := soloDepth
	if inLane {
		depth = pipeDepth
	}
	err = c.pipe(r, n, max, depth)
	done()
	if err != nil {
		c.release()
		return nil, err
	}
	return c, nil
}

// md5Lanes hash the MD5s of large bodies side by side on one core once
// several are streaming at once. Here (internal/checksum BenchmarkMD5Lanes)
// one stream hashes at about 430 MB/s in a lane, 650 MB/s with crypto/md5;
// three hash at 1,100 MB/s in lanes on one core (1,190 with crypto/md5 on
// both); 8 and 16 at 2,500 and 3,900 MB/s, against 1,250 with both cores.
// But a stream cannot change hash once started, and one or two streams in
// lanes are hashed one after the other, slower than with crypto/md5, so
// the number of large bodies streaming at which a new one takes a lane is
// a bet that more will follow. A part takes one once another large body
// streams: a transfer manager sends several parts at once, and multipart
// PUTs went 1.09–1.21× faster than with a minimum of three, at 1, 2 and 4
// transfers at once. A single-request PUT takes one from the third: two
// large PUTs at once were 1.5× faster with crypto/md5 alone. Measured in
// docs/benchmarks.md, "Large objects: fourth pass", which also records
// the cases each minimum loses (four single PUTs at once: two in lanes).
var md5Lanes = checksum.NewMD5Lanes()

const (
	minLaneParts   = 2
	minLaneSingles = 3
)

// pipeDepth is how many buffers a large body streams through: while one is
// being filled from the request, the others are being hashed and written.
// A body hashed with crypto/md5 is bound by that one goroutine, and every
// pause of the reader or the writer that the queue does not absorb is lost
// to it: it gets soloDepth buffers (6% faster single 256 MiB PUTs than
// with 3, docs/benchmarks.md "Large objects: fourth pass"). Bodies hashed
// in lanes stream several at once and take turns on the lanes' core: more
// buffers each only cost memory and cache (8% slower multipart PUTs).
const (
	pipeDepth = 3
	soloDepth = 8
)

// pipe streams the rest of a large body into c.w. c.buf holds its first n
// bytes, which are not hashed yet. Three goroutines share the work, each
// taking every piece in order: this one reads the body, one computes MD5
// (the costliest hash), and one computes the other checksums and writes
// the blob. On two or more cores, hashing and writing overlap instead of
// adding up. It returns the first error of reading or writing.
func (c *content) pipe(r io.Reader, n int, max int64, depth int) error {
	md5Part, rest := c.hash.Halves()
	bufs := []*[]byte{c.buf}
	defer func() {
		for _, b := range bufs[1:] {
			bufPool.Put(b)
		}
	}()
	var (
		md5Q    = make(chan []byte, depth)
		writeQ  = make(chan []byte, depth)
		md5Done = make(chan struct{}, depth)
		wDone   = make(chan struct{}, depth)
		wErr    atomic.Pointer[error]
		wg      sync.WaitGroup
	)
	wg.Add(2)
	go func() {
		defer wg.Done()
		for p := range md5Q {
			md5Part.Write(p)
			md5Done <- struct{}{}
		}
	}()
	go func() {
		defer wg.Done()
		for p := range writeQ {
			rest.Write(p)
			if wErr.Load() == nil {
				if _, err := c.w.Write(p); err != nil {
					wErr.Store(&err)
				}
			}
			wDone <- struct{}{}
		}
	}()
	var err error
	for piece := 0; ; piece++ {
		p := (*bufs[piece%depth])[:n]
		md5Q <- p
		writeQ <- p
		if e := wErr.Load(); e != nil {
			err = *e
			break
		}
		if err != nil {
			break
		}
		// The next buffer: a fresh one until there are depth, then the
		// oldest, once both workers are done with it.
		next := piece + 1
		if next < depth {
			bufs = append(bufs, bufPool.Get().(*[]byte))
		} else {
			<-md5Done
			<-wDone
		}
		n, err = readFull(r, *bufs[next%depth])
		if n == 0 && err != nil {
			break
		}
		if c.size += int64(n); c.size > max {
			err = ErrEntityTooLarge
			break
		}
	}
	close(md5Q)
	close(writeQ)
	wg.Wait()
	if e := wErr.Load(); e != nil {
		return *e
	}
	if err != io.EOF {
		return bodyError(err)
	}
	return nil
}

// readFull reads until buf is full or the reader ends; it returns io.EOF
// only with the last (possibly empty) piece.
func readFull(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// bodyError maps a failure to read the request body.
func bodyError(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return ErrIncompleteBody
	}
	return err
}

// verify checks the body against Content-MD5 and the declared checksum and
// returns the additional checksum to store.
func (c *content) verify(contentMD5 string, ck ChecksumInput) (meta.Checksum, error) {
	if contentMD5 != "" {
		want, err := base64.StdEncoding.DecodeString(contentMD5)
		if err != nil || len(want) != md5.Size {
			return meta.Checksum{}, ErrInvalidDigest
		}
		if !bytes.Equal(want, c.hash.MD5()) {
			return meta.Checksum{}, ErrBadDigest
		}
	}
	alg := ck.Algorithm
	if alg == "" {
		alg = checksum.CRC64NVME
	} else {
		want, err := ck.expected()
		if err != nil {
			return meta.Checksum{}, err
		}
		if want != "" {
			raw, err := checksum.Decode(alg, want)
			if err != nil {
				return meta.Checksum{}, invalidRequest("Value for %s header is invalid.", alg.HeaderName())
			}
			if !bytes.Equal(raw, c.hash.Sum(alg)) {
				return meta.Checksum{}, newErr("BadDigest", "The %s you specified did not match the calculated checksum.", alg)
			}
		}
	}
	return meta.Checksum{
		Algorithm: string(alg),
		Type:      string(checksum.FullObject),
		Value:     checksum.Encode(c.hash.Sum(alg)),
	}, nil
}

func (c *content) etag() string { return hex.EncodeToString(c.hash.MD5()) }

// checksumAlgs returns the algorithms to compute for a declared checksum:
// the declared one, or CRC64NVME, which S3 computes for every new object.
func checksumAlgs(a checksum.Algorithm) []checksum.Algorithm {
	if a == "" {
		return []checksum.Algorithm{checksum.CRC64NVME}
	}
	return []checksum.Algorithm{a}
}

// PutObject stores a new object version from in.Body.
func (s *Store) PutObject(ctx context.Context, in *PutInput) (*meta.Version, error) {
	if err := ValidKey(in.Key); err != nil {
		return nil, err
	}
	if err := in.Meta.validate(); err != nil {
		return nil, err
	}
	if in.Size > MaxPutSize {
		return nil, ErrEntityTooLarge
	}
	if err := supportedWritePreconditions(in.IfMatch, in.IfNoneMatch); err != nil {
		return nil, err
	}
	lock, err := s.parseObjectLock(in.Lock)
	if err != nil {
		return nil, err
	}
	// Fail fast on a missing bucket rather than after reading the body.
	b, err := s.Bucket(ctx, in.Bucket)
	if err != nil {
		return nil, err
	}
	if err := checkLockRequest(b, lock, in.ContentMD5 != "" || in.Checksum.Algorithm != ""); err != nil {
		return nil, err
	}
	seal, err := s.sealFor(b, in.Encryption)
	if err != nil {
		return nil, err
	}
	place := inlineOrCached
	if in.Size >= directPutMin {
		place = inlineOrDirect
	}
	c, err := s.readContent(ctx, in.Body, MaxPutSize, place, seal, checksumAlgs(in.Checksum.Algorithm)...)
	if err != nil {
		return nil, err
	}
	defer c.release()
	if in.Size >= 0 && c.size != in.Size {
		return nil, ErrIncompleteBody
	}
	ck, err := c.verify(in.ContentMD5, in.Checksum)
	if err != nil {
		return nil, err
	}
	v := &meta.Version{
		Key:      in.Key,
		Owner:    in.Owner,
		Size:     c.size,
		ETag:     seal.etag(c),
		Checksum: ck,
		SSE:      seal.record(),
	}
	in.Meta.apply(v)
	lock.apply(v)
	op := in.Op
	if op == "" {
		op = CreatedByPut
	}
	cause := s.prepareEvent(b, in.Key, creation{event: "ObjectCreated:" + string(op), origin: in.Origin})
	return s.commitVersion(ctx, in.Bucket, v, c, cause, func(tx meta.Tx) error {
		return checkWritePreconditions(tx, in.Bucket, in.Key, in.IfMatch, in.IfNoneMatch)
	})
}

// commitVersion commits content and stores v as the newest version of its
// key, emitting cause's event. check, if not nil, runs inside the
// transaction first.
func (s *Store) commitVersion(ctx context.Context, bucket string, v *meta.Version, c *content, cause creation, check func(meta.Tx) error) (*meta.Version, error) {
	blobID, err := c.commit()
	if err != nil {
		return nil, err
	}
	part := meta.Part{Number: 1, Size: c.size, ETag: v.ETag, Checksum: v.Checksum, BlobID: blobID}
	v.Parts = []meta.Part{part}
	v.Inline = blobID == ""
	var refs []string
	if blobID != "" {
		refs = []string{blobID}
	}
	out, err := s.storeVersion(ctx, bucket, v, c.inline, refs, cause, check)
	if err != nil && blobID != "" {
		s.blobs.Delete(ctx, blobID)
	}
	return out, err
}

// storeVersion runs the metadata transaction that makes v the newest
// version of its key, referencing refs, releasing what it displaces and
// emitting cause's event.
func (s *Store) storeVersion(ctx context.Context, bucket string, v *meta.Version, inline []byte, refs []string, cause creation, check func(meta.Tx) error) (*meta.Version, error) {
	var out meta.Version
	released, emitted := false, false
	err := s.update(ctx, func(tx meta.Tx) error {
		released, emitted = false, false
		if check != nil {
			if err := check(tx); err != nil {
				return err
			}
		}
		b, err := tx.Bucket(bucket)
		if err != nil {
			return err
		}
		nv := *v
		nv.LastModified = s.timestamp()
		if err := lockNewVersion(b, &nv); err != nil {
			return err
		}
		nv.VersionID = ""
		if b.Versioning != meta.VersioningEnabled {
			nv.VersionID = meta.NullVersionID
		}
		res, err := tx.PutVersion(bucket, &nv, inline)
		if err != nil {
			return err
		}
		for _, id := range refs {
			if err := tx.RefBlob(id); err != nil {
				return err
			}
		}
		if res.Replaced != nil {
			if ids := res.Replaced.BlobIDs(); len(ids) > 0 {
				released = true
				if err := tx.ReleaseBlobs(ids...); err != nil {
					return err
				}
			}
		}
		if emitted, err = s.emit(tx, createdEvent(cause, b, &nv)); err != nil {
			return err
		}
		out = nv
		return nil
	})
	if err != nil {
		return nil, err
	}
	if released {
		s.wakeCollector()
	}
	s.dispatch(emitted)
	return &out, nil
}

// supportedWritePreconditions refuses the conditional writes S3 does not
// implement, before any body is read: If-None-Match with anything but "*",
// and If-None-Match together with If-Match. Both are 501 NotImplemented
// with S3's generic message (measured against S3 by versitygw's tester).
func supportedWritePreconditions(ifMatch, ifNoneMatch string) error {
	if ifNoneMatch != "" && (ifNoneMatch != "*" || ifMatch != "") {
		return ErrNotImplemented
	}
	return nil
}

// checkWritePreconditions evaluates If-Match / If-None-Match of a write
// against the current object.
func checkWritePreconditions(tx meta.Tx, bucket, key, ifMatch, ifNoneMatch string) error {
	if ifMatch == "" && ifNoneMatch == "" {
		return nil
	}
	if err := supportedWritePreconditions(ifMatch, ifNoneMatch); err != nil {
		return err
	}
	cur, err := tx.Latest(bucket, key)
	if err != nil && !errors.Is(err, meta.ErrNoSuchKey) {
		return err
	}
	exists := err == nil && !cur.DeleteMarker
	if ifNoneMatch != "" {
		if exists {
			return ErrPreconditionFailed
		}
	}
	if ifMatch != "" {
		if !exists {
			return ErrNoSuchKey
		}
		if !etagMatches(ifMatch, cur.ETag) {
			return ErrPreconditionFailed
		}
	}
	return nil
}

// etagMatches reports whether an If-Match style list matches etag.
func etagMatches(list, etag string) bool {
	for _, t := range strings.Split(list, ",") {
		t = strings.TrimSpace(t)
		t = strings.TrimPrefix(t, "W/")
		if t == "*" || strings.Trim(t, `"`) == etag {
			return true
		}
	}
	return false
}

// VerifyBytes checks a small, fully read request body (an XML document)
// against its Content-MD5 and declared checksum.
func VerifyBytes(b []byte, contentMD5 string, ck ChecksumInput) error {
	c := &content{hash: checksum.NewMultiHasher(checksumAlgs(ck.Algorithm)...)}
	c.hash.Write(b)
	_, err := c.verify(contentMD5, ck)
	return err
}
