package lambda

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"github.com/sluicehq/sluice/internal/blob"
	"github.com/sluicehq/sluice/internal/meta"
)

// CodeInput is where a request's package comes from: a ZipFile, or an
// object in one of sluice's buckets. ImageURI is accepted by the model but
// refused (sluice runs Zip packages only).
type CodeInput struct {
	ZipFile         []byte
	S3Bucket        string
	S3Key           string
	S3ObjectVersion string
	ImageURI        string
}

// staged is a validated package written to the blob store (or found there
// already) but not yet referenced by committed metadata.
type staged struct {
	sha  string // hex
	size int64
	// blob is the new blob holding the package; "" when a stored package
	// with the same content existed at staging.
	blob string
	// used is set by ref when the transaction adopted blob.
	used bool
}

// errRestage means a package found at staging was deleted before the
// transaction that wanted to share it: stage it again, writing a blob.
var errRestage = errors.New("lambda: package vanished, restage")

// stage validates a request's package and makes sure its content is in the
// blob store. force writes a new blob even if the content is stored.
func (s *Service) stage(ctx context.Context, in *CodeInput, force bool) (*staged, error) {
	switch {
	case in.ImageURI != "":
		return nil, invalidParam("Please don't provide ImageUri when updating a function with packageType Zip.")
	case len(in.ZipFile) > 0 && (in.S3Bucket != "" || in.S3Key != ""):
		return nil, invalidParam("Please provide either a ZipFile or an S3 location of the code, not both.")
	case len(in.ZipFile) > 0:
		return s.stageZip(ctx, in.ZipFile, force)
	case in.S3Bucket != "" || in.S3Key != "":
		return s.stageObject(ctx, in, force)
	}
	return nil, invalidParam("A ZIP file or S3 bucket is required")
}

func (s *Service) stageZip(ctx context.Context, data []byte, force bool) (*staged, error) {
	if len(data) > MaxZipSize {
		return nil, errorf(CodeRequestEntityTooLarge, "Zipped size must be smaller than %d bytes", MaxZipSize)
	}
	if err := checkZip(bytes.NewReader(data), int64(len(data))); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	st := &staged{sha: hex.EncodeToString(sum[:]), size: int64(len(data))}
	if !force {
		if ok, err := s.codeStored(ctx, st.sha); err != nil || ok {
			return st, err
		}
	}
	id, err := s.writeBlob(ctx, bytes.NewReader(data), nil)
	if err != nil {
		return nil, err
	}
	st.blob = id
	return st, nil
}

func (s *Service) stageObject(ctx context.Context, in *CodeInput, force bool) (*staged, error) {
	var v violations
	if in.S3Bucket == "" {
		v.missing("code.s3Bucket")
	}
	if in.S3Key == "" {
		v.missing("code.s3Key")
	}
	if err := v.err(CodeValidation); err != nil {
		return nil, err
	}
	if s.code == nil {
		return nil, invalidParam("This sluice server cannot read function code from S3.")
	}
	rc, err := s.code.OpenObject(ctx, in.S3Bucket, in.S3Key, in.S3ObjectVersion)
	var oe *ObjectError
	if errors.As(err, &oe) {
		return nil, invalidParam("Error occurred while GetObject. S3 Error Code: %s. S3 Error Message: %s", oe.Code, oe.Message)
	}
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	h := sha256.New()
	id, err := s.writeBlob(ctx, io.LimitReader(rc, MaxUnzippedSize+1), h)
	if err != nil {
		return nil, err
	}
	st := &staged{sha: hex.EncodeToString(h.Sum(nil)), blob: id}
	keep := false
	defer func() {
		if !keep {
			s.dropBlob(id)
		}
	}()
	r, err := s.blobs.Open(ctx, id)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	st.size = r.Size()
	if st.size > MaxUnzippedSize {
		return nil, invalidParam("Unzipped size must be smaller than %d bytes", MaxUnzippedSize)
	}
	if err := checkZip(r, st.size); err != nil {
		return nil, err
	}
	if !force {
		if ok, err := s.codeStored(ctx, st.sha); err != nil {
			return nil, err
		} else if ok {
			st.blob = ""
			return st, nil
		}
	}
	keep = true
	return st, nil
}

// checkZip verifies that r is a zip archive whose content unpacks to at
// most MaxUnzippedSize bytes (by its headers; the engine guards the actual
// extraction too).
func checkZip(r io.ReaderAt, size int64) error {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return invalidParam(msgBadZip)
	}
	var total uint64
	for _, f := range zr.File {
		total += f.UncompressedSize64
		if total > MaxUnzippedSize {
			return invalidParam("Unzipped size must be smaller than %d bytes", MaxUnzippedSize)
		}
	}
	return nil
}

// writeBlob copies r into a new committed blob, also into h if not nil.
func (s *Service) writeBlob(ctx context.Context, r io.Reader, h io.Writer) (string, error) {
	w, err := s.blobs.Create(ctx)
	if err != nil {
		return "", err
	}
	dst := io.Writer(w)
	if h != nil {
		dst = io.MultiWriter(w, h)
	}
	if _, err := io.Copy(dst, r); err != nil {
		w.Abort()
		return "", err
	}
	return w.Commit()
}

// dropBlob deletes a blob no metadata references (a staged package that
// was not adopted); a failure leaves it to the orphan sweep.
func (s *Service) dropBlob(id string) {
	if err := s.blobs.Delete(context.Background(), id); err != nil {
		s.log.Warn("delete unused function package", "blob", id, "err", err)
	}
}

// release deletes the blob of a staged package that its transaction did
// not adopt.
func (s *Service) release(st *staged) {
	if st != nil && st.blob != "" && !st.used {
		s.dropBlob(st.blob)
	}
}

func (s *Service) codeStored(ctx context.Context, sha string) (bool, error) {
	err := s.meta.View(ctx, func(tx meta.Tx) error {
		_, err := tx.Doc(kindCode, sha)
		return err
	})
	switch {
	case errors.Is(err, meta.ErrNoSuchDoc):
		return false, nil
	case err != nil:
		return false, err
	}
	return true, nil
}

// ref records one more version using the staged package, adopting its
// blob if the content is not stored yet. It returns errRestage if the
// content it expected to share is gone.
func refCode(tx meta.Tx, st *staged) error {
	st.used = false
	c, err := getDoc[codeDoc](tx, kindCode, st.sha)
	switch {
	case errors.Is(err, meta.ErrNoSuchDoc):
		if st.blob == "" {
			return errRestage
		}
		if err := tx.RefBlob(st.blob); err != nil {
			return err
		}
		st.used = true
		c = &codeDoc{Blob: st.blob, Size: st.size}
	case err != nil:
		return err
	}
	c.Refs++
	return putDoc(tx, kindCode, st.sha, c)
}

// refExisting records one more version using a stored package (publishing
// a version shares $LATEST's).
func refCodeExisting(tx meta.Tx, sha string) error {
	c, err := getDoc[codeDoc](tx, kindCode, sha)
	if err != nil {
		return fmt.Errorf("lambda: package %s of a live version: %w", sha, err)
	}
	c.Refs++
	return putDoc(tx, kindCode, sha, c)
}

// unref records that a version no longer uses a package, releasing the
// blob when no version does.
func unrefCode(tx meta.Tx, sha string) error {
	c, err := getDoc[codeDoc](tx, kindCode, sha)
	if errors.Is(err, meta.ErrNoSuchDoc) {
		return nil
	}
	if err != nil {
		return err
	}
	c.Refs--
	if c.Refs > 0 {
		return putDoc(tx, kindCode, sha, c)
	}
	if err := tx.DeleteDoc(kindCode, sha); err != nil {
		return err
	}
	return tx.ReleaseBlobs(c.Blob)
}

// withPackage runs fn in a transaction that adopts the staged package st,
// staging it again (with a blob of its own) once if the stored content it
// meant to share disappeared meanwhile. A blob the transaction did not
// adopt is deleted.
func (s *Service) withPackage(ctx context.Context, in *CodeInput, st *staged, fn func(tx meta.Tx, st *staged) error) error {
	for attempt := 0; ; attempt++ {
		err := s.meta.Update(ctx, func(tx meta.Tx) error { return fn(tx, st) })
		if err != nil {
			st.used = false
		}
		s.release(st)
		if !errors.Is(err, errRestage) || attempt > 0 {
			return err
		}
		if st, err = s.stage(ctx, in, true); err != nil {
			return err
		}
	}
}

// OpenCode opens the stored package with the given hex SHA-256 if some
// version of the named function uses it. Errors: ResourceNotFoundException.
func (s *Service) OpenCode(ctx context.Context, name, sha string) (blob.Reader, error) {
	var id string
	err := s.meta.View(ctx, func(tx meta.Tx) error {
		f, err := getFunction(tx, name)
		if err != nil {
			return err
		}
		found := f.Latest.CodeSHA256 == sha
		if !found {
			err = versions(tx, name, func(c *VersionConfig) error {
				found = found || c.CodeSHA256 == sha
				return nil
			})
			if err != nil {
				return err
			}
		}
		if !found {
			return meta.ErrNoSuchDoc
		}
		c, err := getDoc[codeDoc](tx, kindCode, sha)
		if err != nil {
			return err
		}
		id = c.Blob
		return nil
	})
	if errors.Is(err, meta.ErrNoSuchDoc) {
		return nil, errorf(CodeResourceNotFound, msgNoResource)
	}
	if err != nil {
		return nil, err
	}
	r, err := s.blobs.Open(ctx, id)
	if errors.Is(err, blob.ErrNotFound) {
		return nil, errorf(CodeResourceNotFound, msgNoResource)
	}
	return r, err
}

// openCode returns a Deployment.OpenCode for a package.
func (s *Service) openCode(sha string) func(ctx context.Context) (io.ReadCloser, error) {
	return func(ctx context.Context) (io.ReadCloser, error) {
		var id string
		err := s.meta.View(ctx, func(tx meta.Tx) error {
			c, err := getDoc[codeDoc](tx, kindCode, sha)
			if err != nil {
				return err
			}
			id = c.Blob
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("lambda: package %s: %w", sha, err)
		}
		return s.blobs.Open(ctx, id)
	}
}
