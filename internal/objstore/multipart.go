package objstore

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/sluicehq/sluice/internal/checksum"
	"github.com/sluicehq/sluice/internal/meta"
)

// CreateUploadInput describes CreateMultipartUpload.
type CreateUploadInput struct {
	Bucket            string
	Key               string
	Owner             string
	Meta              ObjectMeta
	ChecksumAlgorithm checksum.Algorithm
	ChecksumType      checksum.Type
	// Lock is the Object Lock the completed object asks for.
	Lock ObjectLockInput
	// Encryption is the server-side encryption of the object (and of its
	// parts as they are uploaded).
	Encryption Encryption
}

// CreateMultipartUpload starts a multipart upload.
func (s *Store) CreateMultipartUpload(ctx context.Context, in *CreateUploadInput) (*meta.Upload, error) {
	if err := ValidKey(in.Key); err != nil {
		return nil, err
	}
	if err := in.Meta.validate(); err != nil {
		return nil, err
	}
	if err := checksum.ValidateMultipart(in.ChecksumAlgorithm, in.ChecksumType); err != nil {
		return nil, invalidRequest("%s", checksumErrorMessage(err))
	}
	lock, err := s.parseObjectLock(in.Lock)
	if err != nil {
		return nil, err
	}
	u := &meta.Upload{Key: in.Key, Owner: in.Owner, Initiated: s.timestamp()}
	in.Meta.apply(&u.Object)
	lock.apply(&u.Object)
	u.Object.Key = in.Key
	u.Object.Owner = in.Owner
	if in.ChecksumAlgorithm != "" {
		t := in.ChecksumType
		if t == "" {
			t = checksum.DefaultType(in.ChecksumAlgorithm)
		}
		u.Object.Checksum = meta.Checksum{Algorithm: string(in.ChecksumAlgorithm), Type: string(t)}
	}
	if u.Object.SSE, err = s.uploadEncryption(ctx, in.Bucket, in.Encryption); err != nil {
		return nil, err
	}
	err = s.update(ctx, func(tx meta.Tx) error {
		u.UploadID = ""
		b, err := tx.Bucket(in.Bucket)
		if err != nil {
			return err
		}
		if err := checkLockRequest(b, lock, true); err != nil {
			return err
		}
		return tx.CreateUpload(in.Bucket, u)
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

func checksumErrorMessage(err error) string {
	var te *checksum.TypeError
	switch {
	case errors.As(err, &te), errors.Is(err, checksum.ErrTypeWithoutAlgorithm):
		return err.Error()
	case errors.Is(err, checksum.ErrUnknownType):
		return "Value for x-amz-checksum-type header is invalid."
	}
	return checksum.UnknownAlgorithmMessage
}

// uploadAlgorithm is the checksum computed for the parts of u: its declared
// algorithm, or CRC64NVME, from which S3 derives a full-object checksum for
// uploads that declared none.
func uploadAlgorithm(u *meta.Upload) checksum.Algorithm {
	if u.Object.Checksum.Algorithm != "" {
		return checksum.Algorithm(u.Object.Checksum.Algorithm)
	}
	return checksum.CRC64NVME
}

// PartInput describes UploadPart.
type PartInput struct {
	Bucket     string
	Key        string
	UploadID   string
	PartNumber int
	Body       io.Reader
	Size       int64
	ContentMD5 string
	Checksum   ChecksumInput
	// CustomerKey is the SSE-C key the request carries, nil for none.
	CustomerKey *CustomerKey
}

func validPartNumber(n int) error {
	if n < 1 || n > MaxPartNumber {
		return invalidArgument("partNumber", fmt.Sprint(n), "Part number must be an integer between 1 and 10000, inclusive")
	}
	return nil
}

func (s *Store) upload(ctx context.Context, bucket, key, uploadID string) (*meta.Upload, error) {
	var u *meta.Upload
	err := s.view(ctx, func(tx meta.Tx) error {
		if _, err := tx.Bucket(bucket); err != nil {
			return err
		}
		var err error
		u, err = tx.Upload(bucket, key, uploadID)
		return err
	})
	return u, err
}

// DeclaredAlgorithm returns the checksum algorithm an upload was created
// with, "" when CreateMultipartUpload named none (its parts then carry
// the default CRC64NVME, which S3 does not report per part).
func (s *Store) DeclaredAlgorithm(ctx context.Context, bucket, key, uploadID string) (checksum.Algorithm, error) {
	u, err := s.upload(ctx, bucket, key, uploadID)
	if err != nil {
		return "", err
	}
	return checksum.Algorithm(u.Object.Checksum.Algorithm), nil
}

// UploadPart stores one part of a multipart upload.
func (s *Store) UploadPart(ctx context.Context, in *PartInput) (*meta.UploadPart, error) {
	if err := validPartNumber(in.PartNumber); err != nil {
		return nil, err
	}
	if in.Size > MaxPartSize {
		return nil, ErrEntityTooLarge
	}
	u, err := s.upload(ctx, in.Bucket, in.Key, in.UploadID)
	if err != nil {
		return nil, err
	}
	seal, err := s.partSealKey(u, in.CustomerKey)
	if err != nil {
		return nil, err
	}
	if in.ContentMD5 == "" && in.Checksum.Algorithm == "" {
		if err := s.checkPartIntegrity(ctx, in.Bucket, u); err != nil {
			return nil, err
		}
	}
	alg := uploadAlgorithm(u)
	algs := []checksum.Algorithm{alg}
	if in.Checksum.Algorithm != "" {
		if u.Object.Checksum.Algorithm != "" && in.Checksum.Algorithm != alg {
			return nil, invalidRequest("Checksum Type mismatch occurred, expected checksum Type: %s, actual checksum Type: %s",
				strings.ToLower(string(alg)), strings.ToLower(string(in.Checksum.Algorithm)))
		}
		algs = append(algs, in.Checksum.Algorithm)
	}
	c, err := s.readContent(ctx, in.Body, MaxPartSize, direct, seal, algs...)
	if err != nil {
		return nil, err
	}
	defer c.release()
	if in.Size >= 0 && c.size != in.Size {
		return nil, ErrIncompleteBody
	}
	if _, err := c.verify(in.ContentMD5, in.Checksum); err != nil {
		return nil, err
	}
	p := &meta.UploadPart{
		Number: in.PartNumber,
		Size:   c.size,
		ETag:   seal.etag(c),
		Checksum: meta.Checksum{
			Algorithm: string(alg),
			Value:     checksum.Encode(c.hash.Sum(alg)),
		},
	}
	return s.storePart(ctx, in.Bucket, in.Key, in.UploadID, p, c)
}

// storePart commits the part's content and records it, releasing the blob
// of a part it replaces.
func (s *Store) storePart(ctx context.Context, bucket, key, uploadID string, p *meta.UploadPart, c *content) (*meta.UploadPart, error) {
	id, err := c.commit()
	if err != nil {
		return nil, err
	}
	if id == "" {
		// Parts always live in blobs: an empty part still needs one so
		// that the completed object is a plain list of blobs.
		w, err := s.blobs.Create(ctx)
		if err != nil {
			return nil, err
		}
		if id, err = w.Commit(); err != nil {
			return nil, err
		}
	}
	p.BlobID = id
	p.LastModified = s.timestamp()
	released := false
	err = s.update(ctx, func(tx meta.Tx) error {
		released = false
		old, err := tx.PutPart(bucket, key, uploadID, p)
		if err != nil {
			return err
		}
		if err := tx.RefBlob(id); err != nil {
			return err
		}
		if old != nil {
			released = true
			return tx.ReleaseBlobs(old.BlobID)
		}
		return nil
	})
	if err != nil {
		s.blobs.Delete(ctx, id)
		return nil, err
	}
	if released {
		s.wakeCollector()
	}
	return p, nil
}

// CompletedPart is one entry of a CompleteMultipartUpload request.
type CompletedPart struct {
	Number int
	ETag   string
	// Checksums maps algorithm to the base64 digest the client sent.
	Checksums map[checksum.Algorithm]string
}

// CompleteInput describes CompleteMultipartUpload.
type CompleteInput struct {
	Bucket   string
	Key      string
	UploadID string
	Parts    []CompletedPart
	// Checksum is a full-object checksum the client asserts, if any.
	Checksum ChecksumInput
	// ChecksumType is the x-amz-checksum-type the client sent ("" for
	// none); it must match the upload's.
	ChecksumType string
	// ObjectSize is the x-amz-mp-object-size the client asserts, or -1.
	ObjectSize  int64
	IfMatch     string
	IfNoneMatch string
	// CustomerKey is the SSE-C key the request carries, nil for none: S3
	// checks it when given, and requires it only of an SSE-C upload that
	// declared a checksum algorithm.
	CustomerKey *CustomerKey
	// Origin is the request behind the completion, for its event.
	Origin Origin
}

// CompleteMultipartUpload assembles the listed parts into a new object
// version in one transaction; parts not listed are discarded.
func (s *Store) CompleteMultipartUpload(ctx context.Context, in *CompleteInput) (*meta.Version, error) {
	if len(in.Parts) == 0 {
		return nil, newErr("MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")
	}
	if err := supportedWritePreconditions(in.IfMatch, in.IfNoneMatch); err != nil {
		return nil, err
	}
	for i, p := range in.Parts {
		if err := validPartNumber(p.Number); err != nil {
			return nil, err
		}
		if i > 0 && p.Number <= in.Parts[i-1].Number {
			return nil, ErrInvalidPartOrder
		}
	}
	var out *meta.Version
	released, emitted := false, false
	err := s.update(ctx, func(tx meta.Tx) error {
		released, emitted = false, false
		u, err := tx.Upload(in.Bucket, in.Key, in.UploadID)
		if errors.Is(err, meta.ErrNoSuchUpload) {
			if v := completedBefore(tx, in); v != nil {
				out = v
				return nil
			}
		}
		if err != nil {
			return err
		}
		if err := checkCompleteKey(u, in.CustomerKey); err != nil {
			return err
		}
		if err := checkWritePreconditions(tx, in.Bucket, in.Key, in.IfMatch, in.IfNoneMatch); err != nil {
			return err
		}
		stored := make(map[int]*meta.UploadPart)
		for p, err := range tx.Parts(in.Bucket, in.Key, in.UploadID, 0) {
			if err != nil {
				return err
			}
			stored[p.Number] = p
		}
		v, err := assemble(u, in, stored)
		if err != nil {
			return err
		}
		used := make(map[string]bool, len(v.Parts))
		for _, p := range v.Parts {
			used[p.BlobID] = true
		}
		var unused []string
		for _, p := range stored {
			if !used[p.BlobID] {
				unused = append(unused, p.BlobID)
			}
		}
		if _, err := tx.DeleteUpload(in.Bucket, in.Key, in.UploadID); err != nil {
			return err
		}
		b, err := tx.Bucket(in.Bucket)
		if err != nil {
			return err
		}
		v.LastModified = s.timestamp()
		if err := lockNewVersion(b, v); err != nil {
			return err
		}
		if b.Versioning != meta.VersioningEnabled {
			v.VersionID = meta.NullVersionID
		}
		res, err := tx.PutVersion(in.Bucket, v, nil)
		if err != nil {
			return err
		}
		if res.Replaced != nil {
			unused = append(unused, res.Replaced.BlobIDs()...)
		}
		if len(unused) > 0 {
			released = true
			if err := tx.ReleaseBlobs(unused...); err != nil {
				return err
			}
		}
		cause := creation{event: EventObjectCreatedCompleteMultipartUpload, origin: in.Origin}
		if emitted, err = s.emit(tx, createdEvent(cause, b, v)); err != nil {
			return err
		}
		out = v
		return nil
	})
	if err != nil {
		return nil, err
	}
	if released {
		s.wakeCollector()
	}
	s.dispatch(emitted)
	return out, nil
}

// completedBefore returns the current version of the key if it is what
// completing in's part list produced: S3 answers a repeated
// CompleteMultipartUpload (a client retrying after a lost response) with
// the object the first one created.
func completedBefore(tx meta.Tx, in *CompleteInput) *meta.Version {
	v, err := tx.Latest(in.Bucket, in.Key)
	if err != nil || v.DeleteMarker || !v.Multipart || len(v.Parts) != len(in.Parts) {
		return nil
	}
	for i, p := range in.Parts {
		if v.Parts[i].Number != p.Number || v.Parts[i].ETag != strings.Trim(p.ETag, `"`) {
			return nil
		}
	}
	return v
}

// assemble builds the object version of a completed upload, validating the
// client's part list against the stored parts.
func assemble(u *meta.Upload, in *CompleteInput, stored map[int]*meta.UploadPart) (*meta.Version, error) {
	v := u.Object
	v.Key = u.Key
	v.Multipart = true
	v.Parts = make([]meta.Part, 0, len(in.Parts))
	alg := uploadAlgorithm(u)
	declared := u.Object.Checksum.Algorithm != ""
	if declared && in.ChecksumType != "" && in.ChecksumType != u.Object.Checksum.Type {
		return nil, invalidRequest("The upload was created using the %s checksum mode. The complete request must use the same checksum mode.",
			u.Object.Checksum.Type)
	}
	md5s := md5.New()
	var (
		sums  [][]byte
		crcs  []checksum.Part
		total int64
	)
	for i, cp := range in.Parts {
		p, ok := stored[cp.Number]
		if !ok || strings.Trim(cp.ETag, `"`) != p.ETag {
			return nil, ErrInvalidPart
		}
		if i < len(in.Parts)-1 && p.Size < MinPartSize {
			e := *ErrEntityTooSmall
			e.Extra = [][2]string{{"ProposedSize", fmt.Sprint(p.Size)}, {"MinSizeAllowed", fmt.Sprint(MinPartSize)},
				{"PartNumber", fmt.Sprint(cp.Number)}, {"ETag", p.ETag}}
			return nil, &e
		}
		if err := checkPartChecksums(u, cp, p); err != nil {
			return nil, err
		}
		raw, err := hex.DecodeString(p.ETag)
		if err != nil {
			return nil, fmt.Errorf("objstore: part %d has a malformed ETag: %w", p.Number, err)
		}
		md5s.Write(raw)
		sum, err := checksum.Decode(alg, p.Checksum.Value)
		if err != nil {
			return nil, fmt.Errorf("objstore: part %d has a malformed checksum: %w", p.Number, err)
		}
		sums = append(sums, sum)
		crcs = append(crcs, checksum.Part{Sum: sum, Size: p.Size})
		v.Parts = append(v.Parts, meta.Part{
			Number: cp.Number, Size: p.Size, ETag: p.ETag, Checksum: p.Checksum, BlobID: p.BlobID,
		})
		total += p.Size
	}
	v.Size = total
	if in.ObjectSize >= 0 && in.ObjectSize != total {
		return nil, invalidRequest("The provided 'x-amz-mp-object-size' header value %d does not match what was computed: %d",
			in.ObjectSize, total)
	}
	v.ETag = fmt.Sprintf("%s-%d", hex.EncodeToString(md5s.Sum(nil)), len(in.Parts))
	ck := meta.Checksum{Algorithm: string(alg), Type: u.Object.Checksum.Type}
	if ck.Type == "" {
		ck.Type = string(checksum.FullObject)
	}
	if ck.Type == string(checksum.Composite) {
		val, err := checksum.CompositeOf(alg, sums)
		if err != nil {
			return nil, err
		}
		ck.Value = val
	} else {
		sum, err := checksum.CombineParts(alg, crcs)
		if err != nil {
			return nil, err
		}
		ck.Value = checksum.Encode(sum)
	}
	if want := in.Checksum.Value; want != "" {
		// A composite value may be sent with or without its "-N".
		if ck.Type == string(checksum.Composite) && !strings.Contains(want, "-") {
			want = fmt.Sprintf("%s-%d", want, len(in.Parts))
		}
		if checksum.Algorithm(in.Checksum.Algorithm) != alg || want != ck.Value {
			return nil, newErr("BadDigest", "The %s you specified did not match the calculated checksum.", in.Checksum.Algorithm)
		}
	}
	v.Checksum = ck
	return &v, nil
}

// checkPartChecksums checks the checksums a completion lists for part p
// (stored as sp): at most one; in an upload that declared an algorithm,
// only that one, and it must match; a composite upload needs it for
// every part.
func checkPartChecksums(u *meta.Upload, cp CompletedPart, sp *meta.UploadPart) error {
	if len(cp.Checksums) > 1 {
		return invalidArgument("Checksum", "", "Invalid Base64 or multiple checksums present in request")
	}
	declared := u.Object.Checksum.Algorithm
	for a, val := range cp.Checksums {
		if _, err := checksum.Decode(a, val); err != nil {
			return invalidArgument("Checksum", val, "Invalid Base64 or multiple checksums present in request")
		}
		switch {
		case string(a) == sp.Checksum.Algorithm && val != sp.Checksum.Value:
			return newErr("InvalidPart", "The %s you specified for part %d did not match what we received.",
				strings.ToLower(string(a)), cp.Number)
		case declared != "" && string(a) != declared:
			return newErr("BadDigest", "The %s you specified for part %d did not match what we received.",
				strings.ToLower(string(a)), cp.Number)
		}
	}
	if declared != "" && u.Object.Checksum.Type == string(checksum.Composite) && len(cp.Checksums) == 0 {
		return invalidRequest("The upload was created using a %s checksum. The complete request must include the checksum for each part. It was missing for part %d in the request.",
			strings.ToLower(declared), cp.Number)
	}
	return nil
}

// AbortMultipartUpload discards an upload and its parts.
func (s *Store) AbortMultipartUpload(ctx context.Context, bucket, key, uploadID string) error {
	err := s.update(ctx, func(tx meta.Tx) error {
		parts, err := tx.DeleteUpload(bucket, key, uploadID)
		if err != nil {
			return err
		}
		ids := make([]string, 0, len(parts))
		for _, p := range parts {
			ids = append(ids, p.BlobID)
		}
		return tx.ReleaseBlobs(ids...)
	})
	if err == nil {
		s.wakeCollector()
	}
	return err
}

// PartList is a page of ListParts.
type PartList struct {
	Upload               *meta.Upload
	Parts                []*meta.UploadPart
	IsTruncated          bool
	NextPartNumberMarker int
}

// ListParts returns up to max parts after marker.
func (s *Store) ListParts(ctx context.Context, bucket, key, uploadID string, marker, max int) (*PartList, error) {
	var out PartList
	err := s.view(ctx, func(tx meta.Tx) error {
		out = PartList{}
		if _, err := tx.Bucket(bucket); err != nil {
			return err
		}
		u, err := tx.Upload(bucket, key, uploadID)
		if err != nil {
			return err
		}
		out.Upload = u
		for p, err := range tx.Parts(bucket, key, uploadID, marker) {
			if err != nil {
				return err
			}
			if len(out.Parts) == max {
				out.IsTruncated = true
				break
			}
			out.Parts = append(out.Parts, p)
			out.NextPartNumberMarker = p.Number
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// UploadListInput describes ListMultipartUploads.
type UploadListInput struct {
	Bucket         string
	Prefix         string
	Delimiter      string
	KeyMarker      string
	UploadIDMarker string
	MaxUploads     int
}

// UploadList is a page of ListMultipartUploads.
type UploadList struct {
	Uploads            []*meta.Upload
	CommonPrefixes     []string
	IsTruncated        bool
	NextKeyMarker      string
	NextUploadIDMarker string
}

// ListUploads returns a page of in-progress uploads ordered by key and
// initiation.
func (s *Store) ListUploads(ctx context.Context, in *UploadListInput) (*UploadList, error) {
	var out UploadList
	err := s.view(ctx, func(tx meta.Tx) error {
		out = UploadList{}
		if _, err := tx.Bucket(in.Bucket); err != nil {
			return err
		}
		if in.MaxUploads <= 0 {
			return nil
		}
		opts := meta.UploadListOptions{Prefix: in.Prefix, KeyMarker: in.KeyMarker, UploadIDMarker: in.UploadIDMarker}
		count := 0
		lastCP := ""
		for u, err := range tx.Uploads(in.Bucket, opts) {
			if err != nil {
				return err
			}
			if cp, ok := commonPrefix(u.Key, in.Prefix, in.Delimiter); ok {
				if cp <= in.KeyMarker || cp == lastCP {
					continue
				}
				if count == in.MaxUploads {
					out.IsTruncated = true
					return nil
				}
				out.CommonPrefixes = append(out.CommonPrefixes, cp)
				out.NextKeyMarker, out.NextUploadIDMarker = cp, ""
				lastCP = cp
				count++
				continue
			}
			if count == in.MaxUploads {
				out.IsTruncated = true
				return nil
			}
			out.Uploads = append(out.Uploads, u)
			out.NextKeyMarker, out.NextUploadIDMarker = u.Key, u.UploadID
			count++
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !out.IsTruncated {
		out.NextKeyMarker, out.NextUploadIDMarker = "", ""
	}
	return &out, nil
}
