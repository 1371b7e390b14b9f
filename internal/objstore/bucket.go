package objstore

import (
	"context"
	"errors"
	"net/netip"
	"strings"

	"github.com/sluicehq/sluice/internal/meta"
)

// ValidBucketName reports whether name follows S3's general-purpose bucket
// naming rules: 3–63 characters of lowercase letters, digits, dots and
// hyphens, starting and ending with a letter or digit, no two adjacent
// dots, not an IP address, and none of the reserved prefixes and suffixes.
func ValidBucketName(name string) bool {
	if len(name) < 3 || len(name) > 63 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '.' || c == '-':
			if i == 0 || i == len(name)-1 {
				return false
			}
		default:
			return false
		}
	}
	if strings.Contains(name, "..") || strings.Contains(name, ".-") || strings.Contains(name, "-.") {
		return false
	}
	if _, err := netip.ParseAddr(name); err == nil {
		return false
	}
	for _, p := range []string{"xn--", "sthree-"} {
		if strings.HasPrefix(name, p) {
			return false
		}
	}
	for _, sfx := range []string{"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"} {
		if strings.HasSuffix(name, sfx) {
			return false
		}
	}
	return true
}

// BucketOption sets up a bucket that CreateBucket is creating.
type BucketOption func(*meta.Bucket) error

// CreateBucket creates a bucket owned by owner. location is the requested
// LocationConstraint ("" for the default region).
func (s *Store) CreateBucket(ctx context.Context, name, owner, location string, opts ...BucketOption) error {
	if !ValidBucketName(name) {
		return ErrInvalidBucketName
	}
	if location != "" && location != s.region {
		e := newErr("IllegalLocationConstraintException",
			"The %s location constraint is incompatible for the region specific endpoint this request was sent to.", location)
		return e
	}
	return s.update(ctx, func(tx meta.Tx) error {
		if b, err := tx.Bucket(name); err == nil {
			if b.Owner == owner {
				return ErrBucketAlreadyOwnedByYou
			}
			return ErrBucketAlreadyExists
		}
		b := &meta.Bucket{
			Name:    name,
			Owner:   owner,
			Created: s.timestamp(),
			Region:  s.region,
		}
		for _, opt := range opts {
			if err := opt(b); err != nil {
				return err
			}
		}
		err := tx.CreateBucket(b)
		if errors.Is(err, meta.ErrBucketExists) {
			return ErrBucketAlreadyExists
		}
		return err
	})
}

// Bucket returns a bucket's metadata.
func (s *Store) Bucket(ctx context.Context, name string) (*meta.Bucket, error) {
	var b *meta.Bucket
	err := s.view(ctx, func(tx meta.Tx) error {
		var err error
		b, err = tx.Bucket(name)
		return err
	})
	return b, err
}

// DeleteBucket removes a bucket that holds no object versions. As on S3,
// multipart uploads still in progress do not keep it: they are aborted.
func (s *Store) DeleteBucket(ctx context.Context, name string) error {
	released := false
	err := s.update(ctx, func(tx meta.Tx) error {
		released = false
		b, err := tx.Bucket(name)
		if err != nil {
			return err
		}
		for _, err := range tx.Objects(name, meta.ListOptions{}) {
			if err != nil {
				return err
			}
			if b.Versioning != "" {
				// S3's wording for a bucket that has had versioning.
				return newErr(ErrBucketNotEmpty.Code, "%s. You must delete all versions in the bucket.", ErrBucketNotEmpty.Message)
			}
			return ErrBucketNotEmpty
		}
		var uploads []*meta.Upload
		for u, err := range tx.Uploads(name, meta.UploadListOptions{}) {
			if err != nil {
				return err
			}
			uploads = append(uploads, u)
		}
		for _, u := range uploads {
			parts, err := tx.DeleteUpload(name, u.Key, u.UploadID)
			if err != nil {
				return err
			}
			for _, p := range parts {
				if err := tx.ReleaseBlobs(p.BlobID); err != nil {
					return err
				}
				released = true
			}
		}
		return tx.DeleteBucket(name)
	})
	if err == nil && released {
		s.wakeCollector()
	}
	return err
}

// ListBuckets returns the buckets for which keep returns true (nil keeps
// all), in name order.
func (s *Store) ListBuckets(ctx context.Context, keep func(*meta.Bucket) bool) ([]*meta.Bucket, error) {
	var out []*meta.Bucket
	err := s.view(ctx, func(tx meta.Tx) error {
		out = out[:0]
		for b, err := range tx.Buckets() {
			if err != nil {
				return err
			}
			if keep == nil || keep(b) {
				out = append(out, b)
			}
		}
		return nil
	})
	return out, err
}

// UpdateBucket applies fn to a bucket's metadata and stores the result.
// fn may run more than once.
func (s *Store) UpdateBucket(ctx context.Context, name string, fn func(*meta.Bucket) error) error {
	return s.update(ctx, func(tx meta.Tx) error {
		b, err := tx.Bucket(name)
		if err != nil {
			return err
		}
		if err := fn(b); err != nil {
			return err
		}
		return tx.PutBucket(b)
	})
}

// SetVersioning sets a bucket's versioning state to Enabled or Suspended.
func (s *Store) SetVersioning(ctx context.Context, name string, state meta.VersioningState) error {
	if state != meta.VersioningEnabled && state != meta.VersioningSuspended {
		return ErrIllegalVersioningConfig
	}
	return s.UpdateBucket(ctx, name, func(b *meta.Bucket) error {
		if state == meta.VersioningSuspended && lockEnabled(b) {
			return errLockedVersioning
		}
		b.Versioning = state
		return nil
	})
}

// MaxBucketTags is how many tags a bucket may have.
const MaxBucketTags = 50

// SetBucketTags replaces a bucket's tag set; nil removes it.
func (s *Store) SetBucketTags(ctx context.Context, name string, tags []meta.Tag) error {
	if tags != nil {
		if err := ValidateTags(tags, MaxBucketTags); err != nil {
			return err
		}
		if len(tags) == 0 {
			tags = nil
		}
	}
	return s.UpdateBucket(ctx, name, func(b *meta.Bucket) error {
		b.Tags = tags
		return nil
	})
}

// WithTags creates a bucket with a tag set (CreateBucketConfiguration's
// Tags), checked as PutBucketTagging checks one: the bucket and its tags
// are created in one transaction, or neither is.
func WithTags(tags []meta.Tag) BucketOption {
	return func(b *meta.Bucket) error {
		if err := ValidateTags(tags, MaxBucketTags); err != nil {
			return err
		}
		if len(tags) > 0 {
			b.Tags = tags
		}
		return nil
	}
}

// ValidateTags checks a tag set against S3's limits (max tags per set,
// key and value lengths, unique keys).
func ValidateTags(tags []meta.Tag, max int) error {
	if len(tags) > max {
		if max == MaxTags {
			return newErr("BadRequest", "Object tags cannot be greater than %d", MaxTags)
		}
		return newErr("InvalidTag", "Bucket tag count cannot be greater than %d", max)
	}
	seen := make(map[string]bool, len(tags))
	for _, t := range tags {
		switch {
		case t.Key == "" || len([]rune(t.Key)) > MaxTagKeyLength:
			return newErr("InvalidTag", "The TagKey you have provided is invalid")
		case len([]rune(t.Value)) > MaxTagValueLength:
			return newErr("InvalidTag", "The TagValue you have provided is invalid")
		case strings.HasPrefix(strings.ToLower(t.Key), "aws:"):
			return newErr("InvalidTag", "Your TagKey cannot be prefixed with aws:")
		case seen[t.Key]:
			return newErr("InvalidTag", "Cannot provide multiple Tags with the same key")
		}
		seen[t.Key] = true
	}
	return nil
}
