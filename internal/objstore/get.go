package objstore

import (
	"context"
	"errors"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/internal/blob"
	"github.com/sluicehq/sluice/internal/meta"
	"github.com/sluicehq/sluice/internal/sse"
)

// Conditions are the HTTP preconditions of a read (or of a copy source).
type Conditions struct {
	IfMatch           string
	IfNoneMatch       string
	IfModifiedSince   time.Time
	IfUnmodifiedSince time.Time
}

// check evaluates the conditions against v in RFC 9110 order, as S3 does:
// If-Match, else If-Unmodified-Since → 412; If-None-Match, else
// If-Modified-Since → 304 (copy sources get 412 instead of 304).
func (c Conditions) check(v *meta.Version, copySource bool) error {
	notModified := ErrNotModified
	if copySource {
		notModified = ErrPreconditionFailed
	}
	mtime := v.LastModified.Truncate(time.Second)
	if c.IfMatch != "" {
		if !etagMatches(c.IfMatch, v.ETag) {
			return ErrPreconditionFailed
		}
	} else if !c.IfUnmodifiedSince.IsZero() && mtime.After(c.IfUnmodifiedSince) {
		return ErrPreconditionFailed
	}
	if c.IfNoneMatch != "" {
		if etagMatches(c.IfNoneMatch, v.ETag) {
			return notModified
		}
	} else if !c.IfModifiedSince.IsZero() && !mtime.After(c.IfModifiedSince) {
		return notModified
	}
	return nil
}

// Range is a parsed single byte range: First/Last are inclusive offsets;
// Suffix > 0 means the last Suffix bytes; Last < 0 means open-ended.
type Range struct {
	First, Last int64
	Suffix      int64
}

// ParseRange parses an HTTP Range header value. ok is false for values S3
// ignores (not a single well-formed bytes range), in which case the whole
// object is served.
func ParseRange(h string) (r Range, ok bool) {
	spec, found := strings.CutPrefix(strings.TrimSpace(h), "bytes=")
	if !found || strings.Contains(spec, ",") {
		return r, false
	}
	// S3 ignores a range with blanks inside it ("bytes= -1", "bytes=0 -1").
	first, last, found := strings.Cut(spec, "-")
	if !found || strings.ContainsAny(spec, " \t") {
		return r, false
	}
	if first == "" {
		n, err := strconv.ParseInt(last, 10, 64)
		if err != nil || n < 0 {
			return r, false
		}
		if n == 0 {
			// bytes=-0 is syntactically valid but never satisfiable.
			return Range{First: 1, Last: 0}, true
		}
		return Range{Suffix: n}, true
	}
	f, err := strconv.ParseInt(first, 10, 64)
	if err != nil || f < 0 {
		return r, false
	}
	l := int64(-1)
	if last != "" {
		if l, err = strconv.ParseInt(last, 10, 64); err != nil || l < f {
			return r, false
		}
	}
	return Range{First: f, Last: l}, true
}

// resolve returns the offset and length of r within an object of size.
func (r Range) resolve(size int64) (off, n int64, err error) {
	if r.Suffix > 0 {
		// On an empty object a suffix range selects the (empty) whole.
		n = min(r.Suffix, size)
		return size - n, n, nil
	}
	if r.First >= size || (r.Last >= 0 && r.Last < r.First) {
		return 0, 0, rangeErr(size)
	}
	last := r.Last
	if last < 0 || last >= size {
		last = size - 1
	}
	return r.First, last - r.First + 1, nil
}

func rangeErr(size int64) error {
	e := *ErrInvalidRange
	e.ObjectSize = size
	return &e
}

// GetInput describes a GetObject or HeadObject request.
type GetInput struct {
	Bucket     string
	Key        string
	VersionID  string
	PartNumber int
	Range      *Range
	Conditions Conditions
	// CustomerKey is the SSE-C key the request carries, nil for none.
	CustomerKey *CustomerKey
}

// Object is an object version opened for reading. Close it.
type Object struct {
	Version *meta.Version
	// Offset and Length locate the bytes Body yields; Partial is set when
	// they are a range or part of the object (a 206 response).
	Offset, Length int64
	Partial        bool
	// PartsCount is the object's part count when it was asked for by
	// part number, else 0.
	PartsCount int
	Body       io.ReadCloser
}

// lookup finds the version a read addresses, with S3's delete-marker rules.
func lookup(tx meta.Tx, bucket, key, versionID string) (*meta.Version, error) {
	if _, err := tx.Bucket(bucket); err != nil {
		return nil, err
	}
	if versionID == "" {
		v, err := tx.Latest(bucket, key)
		if err != nil {
			return nil, err
		}
		if v.DeleteMarker {
			e := *ErrNoSuchKey
			e.DeleteMarker = true
			e.VersionID = v.VersionID
			e.LastModified = v.LastModified
			return nil, &e
		}
		return v, nil
	}
	if err := validVersionID(versionID); err != nil {
		return nil, err
	}
	v, err := tx.Version(bucket, key, versionID)
	if err != nil {
		return nil, err
	}
	if v.DeleteMarker {
		e := *ErrMethodNotAllowed
		e.DeleteMarker = true
		e.VersionID = v.VersionID
		e.LastModified = v.LastModified
		return nil, &e
	}
	return v, nil
}

func validVersionID(id string) error {
	if id == meta.NullVersionID {
		return nil
	}
	if _, err := meta.ParseID(id); err != nil {
		return invalidArgument("versionId", id, "Invalid version id specified")
	}
	return nil
}

// HeadObject returns the version a HEAD addresses, without opening it. The
// returned Object has no Body.
func (s *Store) HeadObject(ctx context.Context, in *GetInput) (*Object, error) {
	return s.open(ctx, in, false)
}

// GetObject opens the version a GET addresses.
func (s *Store) GetObject(ctx context.Context, in *GetInput) (*Object, error) {
	return s.open(ctx, in, true)
}

func (s *Store) open(ctx context.Context, in *GetInput, body bool) (*Object, error) {
	var (
		v      *meta.Version
		inline []byte
	)
	err := s.view(ctx, func(tx meta.Tx) error {
		var err error
		if v, err = lookup(tx, in.Bucket, in.Key, in.VersionID); err != nil {
			return err
		}
		if body && v.Inline {
			inline, err = tx.Inline(in.Bucket, v)
		}
		if err == nil && body && !v.Inline {
			// Pin inside the snapshot: the collector's grace period covers
			// the instant between this read and the pin.
			s.pins.pin(v.BlobIDs())
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	pinned := body && !v.Inline
	dk, err := s.openKey(v.SSE, in.CustomerKey, body)
	if err != nil {
		if pinned {
			s.pins.unpin(v.BlobIDs())
		}
		return nil, err
	}
	obj, err := s.prepare(v, in)
	if err != nil {
		if pinned {
			s.pins.unpin(v.BlobIDs())
		}
		return nil, err
	}
	if !body {
		return obj, nil
	}
	if v.Inline {
		if obj.Body, err = openInline(v, dk, inline, obj.Offset, obj.Length); err != nil {
			return nil, err
		}
		return obj, nil
	}
	obj.Body = &partsReader{s: s, ctx: ctx, v: v, off: obj.Offset, remain: obj.Length, dk: dk}
	return obj, nil
}

// prepare evaluates conditions, range and part number for v.
func (s *Store) prepare(v *meta.Version, in *GetInput) (*Object, error) {
	if err := in.Conditions.check(v, false); err != nil {
		if e, ok := err.(*Error); ok {
			ec := *e
			ec.VersionID = v.VersionID
			ec.LastModified = v.LastModified
			if ec.Code == ErrNotModified.Code {
				ec.ETag = v.ETag
			}
			return nil, &ec
		}
		return nil, err
	}
	obj := &Object{Version: v, Length: v.Size}
	switch {
	case in.PartNumber > 0:
		if in.Range != nil {
			return nil, invalidRequest("Cannot specify both Range header and partNumber query parameter")
		}
		parts := v.Parts
		if !v.Multipart {
			// A simple object is one part.
			parts = []meta.Part{{Number: 1, Size: v.Size}}
		}
		if in.PartNumber > len(parts) {
			e := *ErrInvalidPartNumber
			e.Extra = [][2]string{{"PartNumberRequested", strconv.Itoa(in.PartNumber)}, {"ActualPartCount", strconv.Itoa(len(parts))}}
			return nil, &e
		}
		var off int64
		for _, p := range parts[:in.PartNumber-1] {
			off += p.Size
		}
		obj.Offset, obj.Length = off, parts[in.PartNumber-1].Size
		// A part is a range, even the one part of a simple object (S3
		// answers 206 with a Content-Range); only multipart objects
		// report a parts count. The one part of an empty object has no
		// byte range to name, so it is a plain 200.
		obj.Partial = v.Size > 0
		if v.Multipart {
			obj.PartsCount = len(parts)
		}
	case in.Range != nil:
		off, n, err := in.Range.resolve(v.Size)
		if err != nil {
			return nil, err
		}
		// A suffix range of an empty object is the whole object: 200,
		// no Content-Range (there is no byte to name).
		obj.Offset, obj.Length, obj.Partial = off, n, v.Size > 0
	}
	return obj, nil
}

// partsReader streams a byte range of a blob-backed version, opening each
// part's blob as it is reached. The version's blobs stay pinned until Close.
type partsReader struct {
	s      *Store
	ctx    context.Context
	v      *meta.Version
	off    int64 // offset within the object of the next byte
	remain int64
	part   int
	cur    io.Reader
	file   blob.Reader
	// at is the offset within the current part's blob of the next byte.
	at     int64
	closed bool
	// borrowed is set when the pins belong to someone else (a copy
	// source), so Close must not release them.
	borrowed bool
	// dk decrypts the parts of an encrypted version; nil for plaintext.
	dk *sse.DataKey
}

func (r *partsReader) Read(p []byte) (int, error) {
	for {
		if r.remain <= 0 {
			return 0, io.EOF
		}
		if r.cur == nil {
			if err := r.next(); err != nil {
				return 0, err
			}
		}
		n, err := r.cur.Read(p)
		r.off += int64(n)
		r.remain -= int64(n)
		if err == io.EOF {
			r.closeFile()
			if n > 0 {
				return n, nil
			}
			continue
		}
		return n, err
	}
}

// WriteTo lets io.Copy hand each blob file to the destination directly
// (net/http then uses sendfile).
func (r *partsReader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for r.remain > 0 {
		if r.cur == nil {
			if err := r.next(); err != nil {
				return total, err
			}
		}
		n, err := r.copyPart(w)
		total += n
		r.off += n
		r.remain -= n
		r.closeFile()
		if err != nil {
			return total, err
		}
		if n == 0 && r.remain > 0 {
			return total, io.ErrUnexpectedEOF
		}
	}
	return total, nil
}

// sender is a blob reader that writes a range of its blob to a writer
// itself (the disk store reads large blobs past the page cache, small ones
// with sendfile).
type sender interface {
	SendTo(w io.Writer, off, n int64) (int64, error)
}

// copyPart sends the rest of the current part to w: through the blob
// store's own SendTo where it has one, else by io.Copy (which hands the
// bare file to net/http, for sendfile).
func (r *partsReader) copyPart(w io.Writer) (int64, error) {
	lr, ok := r.cur.(*io.LimitedReader)
	s, ok2 := r.file.(sender)
	if !ok || !ok2 {
		return io.Copy(w, r.cur)
	}
	n, err := s.SendTo(w, r.at, lr.N)
	lr.N -= n
	r.at += n
	return n, err
}

// next opens the part containing r.off, positioned at it.
func (r *partsReader) next() error {
	var start int64
	for i, p := range r.v.Parts {
		if r.off < start+p.Size {
			f, err := r.s.blobs.Open(r.ctx, p.BlobID)
			if err != nil {
				if errors.Is(err, blob.ErrNotFound) {
					r.s.log.Error("blob of a live version is missing", "blob", p.BlobID, "key", r.v.Key)
				}
				return err
			}
			within := r.off - start
			if r.dk != nil {
				dr, err := sse.NewReader(f, *r.dk, p.Size, within, min(p.Size-within, r.remain))
				if err != nil {
					f.Close()
					return err
				}
				r.part, r.file, r.cur = i, f, dr
				return nil
			}
			if _, err := f.Seek(within, io.SeekStart); err != nil {
				f.Close()
				return err
			}
			r.part, r.file, r.at = i, f, within
			var src io.Reader = f
			if of, ok := f.(interface{ File() *os.File }); ok {
				src = of.File()
			}
			r.cur = io.LimitReader(src, min(p.Size-within, r.remain))
			return nil
		}
		start += p.Size
	}
	return io.ErrUnexpectedEOF
}

func (r *partsReader) closeFile() {
	if r.file != nil {
		r.file.Close()
		r.file = nil
	}
	r.cur = nil
}

func (r *partsReader) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	r.closeFile()
	if !r.borrowed {
		r.s.pins.unpin(r.v.BlobIDs())
	}
	return nil
}
