// Package meta defines sluice's metadata model — buckets, object versions,
// multipart uploads and the blob bookkeeping behind them — and the Store
// interface that every metadata backend implements.
//
// All changes go through closure transactions: Store.Update runs a function
// against a read-write Tx and commits it durably before returning. The
// closure may run more than once (a backend retries it when it groups
// concurrent transactions into one commit), so it must not have side effects
// outside the Tx. Backends run the conformance suite in package metatest.
package meta

import (
	"context"
	"errors"
	"iter"
	"time"
)

// Domain errors returned by Store and Tx methods. Callers compare with
// errors.Is.
var (
	ErrNoSuchBucket    = errors.New("meta: no such bucket")
	ErrBucketExists    = errors.New("meta: bucket already exists")
	ErrBucketNotEmpty  = errors.New("meta: bucket not empty")
	ErrNoSuchKey       = errors.New("meta: no such key")
	ErrNoSuchVersion   = errors.New("meta: no such version")
	ErrNoSuchUpload    = errors.New("meta: no such upload")
	ErrNoSuchPart      = errors.New("meta: no such part")
	ErrReadOnly        = errors.New("meta: write in a read-only transaction")
	ErrClosed          = errors.New("meta: store closed")
	ErrNoSuchAccessKey = errors.New("meta: no such access key")
	ErrAccessKeyExists = errors.New("meta: access key already exists")
	ErrNoSuchUser      = errors.New("meta: no such user")
	ErrUserExists      = errors.New("meta: user already exists")
	ErrNoSuchConfig    = errors.New("meta: no such configuration")
	ErrNoSuchDoc       = errors.New("meta: no such document")
)

// NullVersionID is the version ID of the object version written while
// versioning is unset or suspended.
const NullVersionID = "null"

// VersioningState is a bucket's versioning status as S3 reports it; the
// empty string means versioning was never enabled.
type VersioningState string

// Versioning states.
const (
	VersioningUnset     VersioningState = ""
	VersioningEnabled   VersioningState = "Enabled"
	VersioningSuspended VersioningState = "Suspended"
)

// Tag is one key/value pair of an object or bucket tag set.
type Tag struct {
	Key   string `json:"k"`
	Value string `json:"v"`
}

// Bucket is the metadata of one bucket.
type Bucket struct {
	Name       string          `json:"name"`
	Owner      string          `json:"owner"`
	Created    time.Time       `json:"created"`
	Region     string          `json:"region"`
	Versioning VersioningState `json:"versioning,omitempty"`
	// Tags is nil when the bucket has no tag set; an empty non-nil slice
	// is never stored.
	Tags []Tag `json:"tags,omitempty"`
	// Configs holds per-bucket configuration documents keyed by name
	// (for example "notification"), stored verbatim by the layer that
	// owns them.
	Configs map[string][]byte `json:"configs,omitempty"`
	// ACL is the bucket's access control list; nil means the default
	// (the owner has full control).
	ACL *ACL `json:"acl,omitempty"`
}

// ACL is an S3 access control list. The owner is the bucket's or object
// version's; an ACL with no grants is valid (nobody is granted anything).
type ACL struct {
	Grants []Grant `json:"g"`
}

// Grant gives one permission (READ, WRITE, READ_ACP, WRITE_ACP or
// FULL_CONTROL) to a canonical user (ID) or a group (URI).
type Grant struct {
	ID         string `json:"id,omitempty"`
	URI        string `json:"uri,omitempty"`
	Permission string `json:"p"`
}

// Checksum is an S3 additional checksum of an object or part.
type Checksum struct {
	// Algorithm is an S3 checksum algorithm name (see package checksum).
	Algorithm string `json:"alg,omitempty"`
	// Type is FULL_OBJECT or COMPOSITE.
	Type string `json:"type,omitempty"`
	// Value is the base64 form S3 returns (composite values carry "-N").
	Value string `json:"val,omitempty"`
}

// IsZero reports whether no checksum is recorded.
func (c Checksum) IsZero() bool { return c.Algorithm == "" }

// Encryption records how an object version's content (or, on an Upload,
// its parts') is encrypted at rest (package sse's format): which S3
// method the client asked for, and the data keys, each sealed under the
// master key or the customer key. Only objstore interprets it.
type Encryption struct {
	// Method is AES256 (SSE-S3), aws:kms, aws:kms:dsse or SSE-C.
	Method string `json:"m"`
	// KeyID names the master key that seals DataKeys: the KMS key ARN
	// (SSE-KMS) or the S3-managed key (SSE-S3); empty for SSE-C.
	KeyID string `json:"kid,omitempty"`
	// Context is the SSE-KMS encryption context the client gave, as sent
	// (base64 JSON); BucketKey reports an S3 Bucket Key was asked for.
	Context   string `json:"ctx,omitempty"`
	BucketKey bool   `json:"bk,omitempty"`
	// DataKeys are the sealed data keys, one per encryption layer.
	DataKeys [][]byte `json:"dk"`
	// KeySalt and KeyCheck recognise an SSE-C customer key (a salted MAC
	// of it); the key itself is never stored.
	KeySalt  []byte `json:"salt,omitempty"`
	KeyCheck []byte `json:"chk,omitempty"`
}

// Part describes one contiguous piece of an object's content. A simple
// object has one part; an object assembled by CompleteMultipartUpload has one
// per uploaded part, which is what GetObject?partNumber= addresses.
type Part struct {
	Number   int      `json:"n"`
	Size     int64    `json:"size"`
	ETag     string   `json:"etag,omitempty"`
	Checksum Checksum `json:"ck,omitzero"`
	// BlobID locates the bytes in the blob store; empty when the content
	// is stored inline in the metadata store (see Version.Inline).
	BlobID string `json:"blob,omitempty"`
}

// Version is one version of an object (or a delete marker).
type Version struct {
	Key       string `json:"key"`
	VersionID string `json:"vid"`
	// Seq orders versions: a larger Seq is newer. The backend assigns it.
	Seq          uint64    `json:"seq"`
	DeleteMarker bool      `json:"dm,omitempty"`
	LastModified time.Time `json:"mtime"`
	Owner        string    `json:"owner,omitempty"`

	Size         int64  `json:"size"`
	ETag         string `json:"etag,omitempty"` // without quotes
	StorageClass string `json:"sc,omitempty"`

	ContentType        string `json:"ct,omitempty"`
	ContentEncoding    string `json:"ce,omitempty"`
	ContentDisposition string `json:"cd,omitempty"`
	ContentLanguage    string `json:"cl,omitempty"`
	CacheControl       string `json:"cc,omitempty"`
	Expires            string `json:"exp,omitempty"`
	// WebsiteRedirect is x-amz-website-redirect-location: where a website
	// endpoint would redirect requests for the object. The REST API only
	// stores and returns it.
	WebsiteRedirect string            `json:"wrl,omitempty"`
	UserMeta        map[string]string `json:"um,omitempty"`
	Tags            []Tag             `json:"tags,omitempty"`
	Checksum        Checksum          `json:"ck,omitzero"`

	// Parts lists the content pieces in order. Multipart reports whether
	// the object came from CompleteMultipartUpload (its ETag has "-N").
	Parts     []Part `json:"parts,omitempty"`
	Multipart bool   `json:"mp,omitempty"`
	// Inline reports that the (small) content is stored in the metadata
	// store itself; read it with Tx.Inline.
	Inline bool `json:"inl,omitempty"`
	// ACL is the version's access control list; nil means the default
	// (the owner has full control).
	ACL *ACL `json:"acl,omitempty"`

	// Object Lock. LockMode is the retention mode (GOVERNANCE or
	// COMPLIANCE, "" for none) and RetainUntil the instant the retention
	// ends; LegalHold is ON, OFF, or "" when never set.
	LockMode    string    `json:"lm,omitempty"`
	RetainUntil time.Time `json:"lru,omitzero"`
	LegalHold   string    `json:"lh,omitempty"`

	// SSE describes how the content is encrypted at rest; nil when it is
	// stored as plaintext.
	SSE *Encryption `json:"sse,omitempty"`
}

// IsNull reports whether v is the bucket's null version.
func (v *Version) IsNull() bool { return v.VersionID == NullVersionID }

// BlobIDs returns the blob IDs v's content occupies.
func (v *Version) BlobIDs() []string {
	var ids []string
	for _, p := range v.Parts {
		if p.BlobID != "" {
			ids = append(ids, p.BlobID)
		}
	}
	return ids
}

// Upload is an in-progress multipart upload. Its fields describe the object
// CompleteMultipartUpload will create.
type Upload struct {
	Key       string    `json:"key"`
	UploadID  string    `json:"id"`
	Initiated time.Time `json:"init"`
	Owner     string    `json:"owner,omitempty"`
	// Object carries the metadata (content type, user metadata, tags,
	// storage class, checksum algorithm and type) fixed at creation.
	Object Version `json:"obj"`
}

// UploadPart is one uploaded part of a multipart upload.
type UploadPart struct {
	Number       int       `json:"n"`
	Size         int64     `json:"size"`
	ETag         string    `json:"etag"`
	LastModified time.Time `json:"mtime"`
	Checksum     Checksum  `json:"ck,omitzero"`
	BlobID       string    `json:"blob"`
}

// ListOptions selects a range of an ordered listing.
type ListOptions struct {
	// Prefix restricts the listing to keys that start with it.
	Prefix string
	// After starts the listing after this key (exclusive); empty starts
	// at the first key of the prefix.
	After string
	// Inclusive makes After inclusive, which lets a caller seek to the
	// first key at or past a bound.
	Inclusive bool
}

// VersionListOptions selects a range of ListVersions output, ordered by key
// then newest version first.
type VersionListOptions struct {
	Prefix string
	// KeyMarker and VersionIDMarker continue a listing: with only
	// KeyMarker set the listing starts after every version of that key;
	// with both, after that version of that key.
	KeyMarker       string
	VersionIDMarker string
	// From, when set, overrides the markers: the listing starts at the
	// first version of the first key at or after From.
	From string
}

// UploadListOptions selects a range of ListUploads output, ordered by key
// then upload ID.
type UploadListOptions struct {
	Prefix         string
	KeyMarker      string
	UploadIDMarker string
}

// User is an IAM user: a principal that owns access keys and buckets.
type User struct {
	Name    string    `json:"name"`
	ID      string    `json:"id"`
	ARN     string    `json:"arn"`
	Path    string    `json:"path"`
	Created time.Time `json:"created"`
	// Tags is nil when the user has no tags.
	Tags []Tag `json:"tags,omitempty"`
}

// AccessKey is a credential pair owned by a user (or by the root account
// when UserName is empty).
type AccessKey struct {
	ID       string    `json:"id"`
	Secret   string    `json:"secret"`
	UserName string    `json:"user"`
	Status   string    `json:"status"` // Active or Inactive
	Created  time.Time `json:"created"`
}

// PutResult reports what PutVersion displaced.
type PutResult struct {
	// Replaced is the previous null version when the new version replaced
	// it (versioning unset or suspended); nil otherwise. The caller queues
	// its blobs for deletion.
	Replaced *Version
}

// Store is a durable metadata store.
type Store interface {
	// View runs fn in a read-only transaction over a consistent snapshot.
	View(ctx context.Context, fn func(Tx) error) error
	// Update runs fn in a read-write transaction and commits it durably
	// before returning. fn may run more than once; it must not have
	// effects outside tx. An error from fn rolls back fn's changes and is
	// returned unchanged.
	Update(ctx context.Context, fn func(Tx) error) error
	// Close releases the store; later calls return ErrClosed.
	Close() error
}

// Tx is a metadata transaction. Methods that modify state return
// ErrReadOnly inside View.
//
// Object keys are byte strings compared bytewise (S3 orders keys by their
// UTF-8 bytes); a backend must store them exactly, NUL bytes included, and
// order them bytewise (PostgreSQL: bytea, or text with COLLATE "C" if NUL is
// excluded upstream).
type Tx interface {
	// Buckets.

	// Bucket returns the named bucket or ErrNoSuchBucket.
	Bucket(name string) (*Bucket, error)
	// Buckets yields every bucket in name order.
	Buckets() iter.Seq2[*Bucket, error]
	// CreateBucket stores a new bucket; ErrBucketExists if the name is
	// taken.
	CreateBucket(b *Bucket) error
	// PutBucket replaces an existing bucket's metadata; ErrNoSuchBucket
	// if it does not exist.
	PutBucket(b *Bucket) error
	// DeleteBucket removes an empty bucket: ErrBucketNotEmpty while it
	// holds any object version or multipart upload.
	DeleteBucket(name string) error

	// Objects.

	// Latest returns the newest version of key (possibly a delete
	// marker), ErrNoSuchKey if the key has no versions.
	Latest(bucket, key string) (*Version, error)
	// Version returns one version by ID (NullVersionID for the null
	// version): ErrNoSuchVersion if absent.
	Version(bucket, key, versionID string) (*Version, error)
	// PutVersion stores v as the newest version of v.Key, assigning
	// v.Seq, and v.VersionID unless it is NullVersionID (a null version
	// replaces any existing null version). inline is the content when
	// v.Inline is set.
	PutVersion(bucket string, v *Version, inline []byte) (PutResult, error)
	// UpdateVersion rewrites the metadata of an existing version in
	// place (tags, for example) without changing its order.
	UpdateVersion(bucket string, v *Version) error
	// DeleteVersion removes one version permanently and returns it;
	// ErrNoSuchVersion if absent. The next newest version becomes
	// latest.
	DeleteVersion(bucket, key, versionID string) (*Version, error)
	// Inline returns the inline content of a version.
	Inline(bucket string, v *Version) ([]byte, error)
	// Objects yields the latest version of each key in key order,
	// including keys whose latest version is a delete marker.
	Objects(bucket string, opts ListOptions) iter.Seq2[*Version, error]
	// Versions yields every version, ordered by key and newest first.
	Versions(bucket string, opts VersionListOptions) iter.Seq2[*Version, error]

	// Multipart uploads.

	// CreateUpload stores a new upload, assigning u.UploadID (IDs of later
	// uploads sort after earlier ones).
	CreateUpload(bucket string, u *Upload) error
	// Upload returns an upload of key; ErrNoSuchUpload if absent.
	Upload(bucket, key, uploadID string) (*Upload, error)
	// DeleteUpload removes an upload and all its parts, returning the
	// parts so that the caller can free their blobs.
	DeleteUpload(bucket, key, uploadID string) ([]UploadPart, error)
	// PutPart stores a part, returning the part it replaced (same
	// number) or nil.
	PutPart(bucket, key, uploadID string, p *UploadPart) (*UploadPart, error)
	// Parts yields an upload's parts in part-number order, starting
	// after partNumberMarker.
	Parts(bucket, key, uploadID string, partNumberMarker int) iter.Seq2[*UploadPart, error]
	// Uploads yields in-progress uploads ordered by key then upload ID.
	Uploads(bucket string, opts UploadListOptions) iter.Seq2[*Upload, error]

	// Blob bookkeeping.

	// RefBlob records that blob id is referenced by committed metadata.
	// Blob IDs are never reused, so an ID is never referenced again after
	// ReleaseBlobs.
	RefBlob(id string) error
	// BlobReferenced reports whether id is referenced.
	BlobReferenced(id string) (bool, error)
	// ReleaseBlobs drops the references to ids and queues the blobs for
	// deletion by the collector.
	ReleaseBlobs(ids ...string) error
	// ReleasedBlobs yields up to limit queued blob IDs.
	ReleasedBlobs(limit int) ([]string, error)
	// ForgetReleased removes ids from the deletion queue once the blobs
	// are gone.
	ForgetReleased(ids ...string) error

	// Identity.

	User(name string) (*User, error)
	Users() iter.Seq2[*User, error]
	PutUser(u *User, create bool) error
	DeleteUser(name string) error
	AccessKey(id string) (*AccessKey, error)
	AccessKeys(userName string) iter.Seq2[*AccessKey, error]
	PutAccessKey(k *AccessKey, create bool) error
	DeleteAccessKey(id string) error

	// Documents: records of the layers above objects (functions and
	// their versions, event queues, jobs), opaque to the store, grouped
	// by kind and ordered bytewise by key within a kind.

	// Doc returns a document's value; ErrNoSuchDoc if absent.
	Doc(kind, key string) ([]byte, error)
	// PutDoc creates or replaces a document.
	PutDoc(kind, key string, value []byte) error
	// DeleteDoc removes a document; ErrNoSuchDoc if absent.
	DeleteDoc(kind, key string) error
	// Docs yields the documents of a kind in key order, restricted by
	// opts as Objects is.
	Docs(kind string, opts ListOptions) iter.Seq2[Doc, error]
	// NextSeq returns a store-wide sequence number, larger than every
	// one returned before (including the ones that number versions).
	NextSeq() (uint64, error)
}

// Doc is one document yielded by Tx.Docs.
type Doc struct {
	Key   string
	Value []byte
}
