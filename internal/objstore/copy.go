package objstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/internal/checksum"
	"github.com/sluicehq/sluice/internal/meta"
	"github.com/sluicehq/sluice/internal/sse"
)

// CopySource names the source of a copy.
type CopySource struct {
	Bucket     string
	Key        string
	VersionID  string
	Conditions Conditions
	// CustomerKey is the SSE-C key of the source
	// (x-amz-copy-source-server-side-encryption-customer-*), nil for none.
	CustomerKey *CustomerKey
}

// CopyInput describes CopyObject.
type CopyInput struct {
	Source CopySource
	Bucket string
	Key    string
	Owner  string
	// ReplaceMetadata and ReplaceTags select the REPLACE directives;
	// otherwise metadata and tags are copied from the source.
	ReplaceMetadata bool
	ReplaceTags     bool
	Meta            ObjectMeta
	// ChecksumAlgorithm asks for a different checksum for the copy.
	ChecksumAlgorithm checksum.Algorithm
	IfMatch           string
	IfNoneMatch       string
	// Lock is the Object Lock the copy asks for; the source's is not
	// copied.
	Lock ObjectLockInput
	// Encryption is the server-side encryption of the copy; like S3, the
	// source's is not copied.
	Encryption Encryption
	// Origin is the request behind the copy, for its event.
	Origin Origin
}

// CopyResult reports a copy.
type CopyResult struct {
	Version         *meta.Version
	SourceVersionID string
}

// source is a copy source opened for reading; close releases its pins.
type source struct {
	s      *Store
	v      *meta.Version
	inline []byte
	pinned bool
	// dk decrypts an encrypted source (nil for plaintext); plain is the
	// decrypted inline content of a small one.
	dk    *sse.DataKey
	plain []byte
}

func (src *source) close() {
	if src.pinned {
		src.s.pins.unpin(src.v.BlobIDs())
		src.pinned = false
	}
}

// reader returns the source's bytes [off, off+n).
func (src *source) reader(ctx context.Context, off, n int64) io.ReadCloser {
	if src.v.Inline {
		b := src.inline
		if src.dk != nil {
			b = src.plain
		}
		return io.NopCloser(bytes.NewReader(b[off : off+n]))
	}
	// The partsReader shares the source's pins; it must not release them.
	return &partsReader{s: src.s, ctx: ctx, v: src.v, off: off, remain: n, borrowed: true, dk: src.dk}
}

// openSource resolves a copy source with S3's rules for delete markers and
// copy-source conditions, pinning its blobs.
func (s *Store) openSource(ctx context.Context, cs CopySource) (*source, error) {
	src := &source{s: s}
	err := s.view(ctx, func(tx meta.Tx) error {
		v, err := lookup(tx, cs.Bucket, cs.Key, cs.VersionID)
		if err != nil {
			var e *Error
			if errors.As(err, &e) && e.Code == "MethodNotAllowed" {
				return invalidRequest("The source of a copy request may not specifically refer to a delete marker by version id.")
			}
			return err
		}
		if err := cs.Conditions.check(v, true); err != nil {
			return err
		}
		src.v = v
		if v.Inline {
			src.inline, err = tx.Inline(cs.Bucket, v)
			return err
		}
		s.pins.pin(v.BlobIDs())
		src.pinned = true
		return nil
	})
	if err != nil {
		return nil, err
	}
	if src.dk, err = s.openKey(src.v.SSE, cs.CustomerKey, true); err == nil && src.dk != nil && src.v.Inline {
		src.plain, err = sse.Open(*src.dk, src.inline, src.v.Size, 0, src.v.Size)
	}
	if err != nil {
		src.close()
		return nil, err
	}
	return src, nil
}

// CopyObject copies an object version, sharing its content (blobs are
// immutable and hard-linked) rather than rewriting it.
func (s *Store) CopyObject(ctx context.Context, in *CopyInput) (*CopyResult, error) {
	if err := ValidKey(in.Key); err != nil {
		return nil, err
	}
	if err := supportedWritePreconditions(in.IfMatch, in.IfNoneMatch); err != nil {
		return nil, err
	}
	if in.ReplaceMetadata {
		if err := in.Meta.validate(); err != nil {
			return nil, err
		}
	} else if err := validStorageClass(in.Meta.StorageClass); err != nil {
		return nil, err
	} else if err := validWebsiteRedirect(in.Meta.WebsiteRedirect); err != nil {
		return nil, err
	}
	if in.ReplaceTags && in.Meta.Tags != nil {
		if err := ValidateTags(in.Meta.Tags, MaxTags); err != nil {
			return nil, err
		}
	}
	lock, err := s.parseObjectLock(in.Lock)
	if err != nil {
		return nil, err
	}
	b, err := s.Bucket(ctx, in.Bucket)
	if err != nil {
		return nil, err
	}
	if err := checkLockRequest(b, lock, true); err != nil {
		return nil, err
	}
	cause := s.prepareEvent(b, in.Key, creation{event: EventObjectCreatedCopy, origin: in.Origin})
	src, err := s.openSource(ctx, in.Source)
	if err != nil {
		return nil, err
	}
	defer src.close()
	sv := src.v
	if sv.Size > MaxPutSize {
		return nil, invalidRequest("The specified copy source is larger than the maximum allowable size for a copy source: %d", int64(MaxPutSize))
	}
	// Naming a source version makes a copy onto the same key legal: it is
	// how a previous version is restored.
	sameObject := in.Source.Bucket == in.Bucket && in.Source.Key == in.Key && in.Source.VersionID == ""
	changesSomething := in.ReplaceMetadata ||
		(in.Meta.StorageClass != "" && in.Meta.StorageClass != sv.StorageClass) ||
		in.Meta.WebsiteRedirect != "" ||
		(in.ChecksumAlgorithm != "" && string(in.ChecksumAlgorithm) != sv.Checksum.Algorithm) ||
		s.copyChangesEncryption(b, in.Encryption, sv)
	if sameObject && !changesSomething {
		return nil, invalidRequest("This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.")
	}

	v := &meta.Version{
		Key:       in.Key,
		Owner:     in.Owner,
		Size:      sv.Size,
		ETag:      sv.ETag,
		Checksum:  sv.Checksum,
		Multipart: sv.Multipart,
	}
	if in.ReplaceMetadata {
		in.Meta.apply(v)
	} else {
		v.ContentType, v.ContentEncoding = sv.ContentType, sv.ContentEncoding
		v.ContentDisposition, v.ContentLanguage = sv.ContentDisposition, sv.ContentLanguage
		v.CacheControl, v.Expires, v.UserMeta = sv.CacheControl, sv.Expires, sv.UserMeta
		v.StorageClass = sv.StorageClass
		if in.Meta.StorageClass != "" {
			v.StorageClass = in.Meta.StorageClass
		}
		// Not the source's: S3 copies no website redirect, whatever
		// the directive, and stores the one the request gives.
		v.WebsiteRedirect = in.Meta.WebsiteRedirect
	}
	v.Tags = sv.Tags
	if in.ReplaceTags {
		v.Tags = in.Meta.Tags
	}
	v.ACL = in.Meta.ACL
	lock.apply(v)
	seal, link, etag, err := s.copyEncryption(b, in.Encryption, src)
	if err != nil {
		return nil, err
	}
	v.SSE = seal.record()

	if (in.ChecksumAlgorithm != "" && string(in.ChecksumAlgorithm) != sv.Checksum.Algorithm) || sv.Multipart || !link {
		// A different checksum needs the bytes: rewrite the content. So
		// does a multipart source: S3 makes the copy one single-part
		// object, with an MD5 ETag and a full-object checksum (a composite
		// "…-N" one describes parts the copy does not have).
		alg := in.ChecksumAlgorithm
		if alg == "" {
			alg = checksumAlgs(checksum.Algorithm(sv.Checksum.Algorithm))[0]
		}
		place := inlineOrCached
		if sv.Size >= directPutMin {
			place = inlineOrDirect
		}
		r := src.reader(ctx, 0, sv.Size)
		c, err := s.readContent(ctx, r, MaxPutSize, place, seal, alg)
		r.Close()
		if err != nil {
			return nil, err
		}
		defer c.release()
		v.Multipart = false
		v.ETag = seal.etag(c)
		v.Checksum = meta.Checksum{Algorithm: string(alg), Type: string(checksum.FullObject),
			Value: checksum.Encode(c.hash.Sum(alg))}
		out, err := s.commitVersion(ctx, in.Bucket, v, c, cause, func(tx meta.Tx) error {
			return checkWritePreconditions(tx, in.Bucket, in.Key, in.IfMatch, in.IfNoneMatch)
		})
		if err != nil {
			return nil, err
		}
		return &CopyResult{Version: out, SourceVersionID: sv.VersionID}, nil
	}

	v.ETag = etag
	var links []string
	v.Parts = make([]meta.Part, len(sv.Parts))
	copy(v.Parts, sv.Parts)
	for i := range v.Parts {
		if v.Parts[i].BlobID == "" {
			continue
		}
		id, err := s.blobs.Link(ctx, v.Parts[i].BlobID)
		if err != nil {
			for _, l := range links {
				s.blobs.Delete(ctx, l)
			}
			return nil, err
		}
		links = append(links, id)
		v.Parts[i].BlobID = id
	}
	v.Inline = sv.Inline
	out, err := s.storeVersion(ctx, in.Bucket, v, src.inline, links, cause, func(tx meta.Tx) error {
		return checkWritePreconditions(tx, in.Bucket, in.Key, in.IfMatch, in.IfNoneMatch)
	})
	if err != nil {
		for _, l := range links {
			s.blobs.Delete(ctx, l)
		}
		return nil, err
	}
	return &CopyResult{Version: out, SourceVersionID: sv.VersionID}, nil
}

// ParseCopyRange parses x-amz-copy-source-range ("bytes=first-last").
func ParseCopyRange(h string) (first, last int64, err error) {
	spec, ok := strings.CutPrefix(h, "bytes=")
	a, b, ok2 := strings.Cut(spec, "-")
	if ok && ok2 {
		first, err1 := strconv.ParseInt(a, 10, 64)
		last, err2 := strconv.ParseInt(b, 10, 64)
		if err1 == nil && err2 == nil && first >= 0 && last >= first {
			return first, last, nil
		}
	}
	return 0, 0, invalidArgument("x-amz-copy-source-range", h,
		"The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy")
}

// PartCopyInput describes UploadPartCopy.
type PartCopyInput struct {
	Source     CopySource
	Bucket     string
	Key        string
	UploadID   string
	PartNumber int
	// Range is the inclusive byte range of the source to copy; nil copies
	// all of it.
	Range *[2]int64
	// CustomerKey is the SSE-C key of the upload, nil for none.
	CustomerKey *CustomerKey
}

// UploadPartCopy stores a part copied from (a range of) another object.
func (s *Store) UploadPartCopy(ctx context.Context, in *PartCopyInput) (*meta.UploadPart, string, error) {
	if err := validPartNumber(in.PartNumber); err != nil {
		return nil, "", err
	}
	u, err := s.upload(ctx, in.Bucket, in.Key, in.UploadID)
	if err != nil {
		return nil, "", err
	}
	seal, err := s.partSealKey(u, in.CustomerKey)
	if err != nil {
		return nil, "", err
	}
	src, err := s.openSource(ctx, in.Source)
	if err != nil {
		return nil, "", err
	}
	defer src.close()
	off, n := int64(0), src.v.Size
	if in.Range != nil {
		if in.Range[1] >= src.v.Size {
			return nil, "", invalidArgument("x-amz-copy-source-range", fmt.Sprintf("bytes=%d-%d", in.Range[0], in.Range[1]),
				"Range specified is not valid for source object of size: %d", src.v.Size)
		}
		off, n = in.Range[0], in.Range[1]-in.Range[0]+1
	}
	if n > MaxPartSize {
		return nil, "", ErrEntityTooLarge
	}
	alg := uploadAlgorithm(u)
	r := src.reader(ctx, off, n)
	c, err := s.readContent(ctx, r, MaxPartSize, direct, seal, alg)
	r.Close()
	if err != nil {
		return nil, "", err
	}
	defer c.release()
	p := &meta.UploadPart{
		Number:   in.PartNumber,
		Size:     c.size,
		ETag:     seal.etag(c),
		Checksum: meta.Checksum{Algorithm: string(alg), Value: checksum.Encode(c.hash.Sum(alg))},
	}
	p, err = s.storePart(ctx, in.Bucket, in.Key, in.UploadID, p, c)
	if err != nil {
		return nil, "", err
	}
	return p, src.v.VersionID, nil
}
