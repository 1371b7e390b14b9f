package bolt

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"iter"
	"strings"

	"go.etcd.io/bbolt"

	"github.com/sluicehq/sluice/internal/meta"
)

// Layout of the bbolt file (names are bbolt bucket names):
//
//	buckets            name → meta.Bucket (JSON)
//	o/<name>           one per S3 bucket, holding:
//	  h                key → head (JSON): latest version and the null version's seq
//	  v                enc(key) ‖ ^seq → meta.Version (JSON), newest first per key
//	  d                seq → inline content
//	  u                enc(key) ‖ uploadID → meta.Upload (JSON)
//	  p                uploadID ‖ part number (4 bytes) → meta.UploadPart (JSON)
//	blobs              blob ID → "" (referenced blobs)
//	gc                 blob ID → "" (released blobs awaiting deletion)
//	users              name → meta.User
//	keys               access key ID → meta.AccessKey
//	seq                its bbolt sequence numbers versions, uploads and NextSeq
//	docs/<kind>        key → opaque document (Tx.Doc and friends)
//
// enc escapes 0x00 as 0x00 0xFF and ends with 0x00 0x01, which keeps the byte
// order of the keys and makes every key's versions contiguous.
var (
	bktBuckets = []byte("buckets")
	bktBlobs   = []byte("blobs")
	bktGC      = []byte("gc")
	bktUsers   = []byte("users")
	bktKeys    = []byte("keys")
	bktSeq     = []byte("seq")
	bktDocs    = []byte("docs")

	subHeads    = []byte("h")
	subVersions = []byte("v")
	subData     = []byte("d")
	subUploads  = []byte("u")
	subParts    = []byte("p")
)

func initSchema(btx *bbolt.Tx) error {
	for _, name := range [][]byte{bktBuckets, bktBlobs, bktGC, bktUsers, bktKeys, bktSeq, bktDocs} {
		if _, err := btx.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	return nil
}

func objRoot(name string) []byte { return []byte("o/" + name) }

// head is the per-key record of the h bucket.
type head struct {
	V       meta.Version `json:"v"`
	NullSeq uint64       `json:"null,omitempty"`
}

func encKey(key string) []byte {
	b := make([]byte, 0, len(key)+2+8)
	b = appendEscaped(b, key)
	return append(b, 0x00, 0x01)
}

func appendEscaped(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] == 0x00 {
			b = append(b, 0x00, 0xFF)
		} else {
			b = append(b, s[i])
		}
	}
	return b
}

// decKey returns the object key and remainder of an encoded composite key.
func decKey(b []byte) (string, []byte, error) {
	var sb strings.Builder
	for i := 0; i < len(b); i++ {
		if b[i] != 0x00 {
			sb.WriteByte(b[i])
			continue
		}
		if i+1 >= len(b) {
			return "", nil, fmt.Errorf("bolt: truncated key encoding")
		}
		switch b[i+1] {
		case 0xFF:
			sb.WriteByte(0x00)
			i++
		case 0x01:
			return sb.String(), b[i+2:], nil
		default:
			return "", nil, fmt.Errorf("bolt: bad key encoding")
		}
	}
	return "", nil, fmt.Errorf("bolt: unterminated key encoding")
}

func u64(n uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], n)
	return b[:]
}

func versionKey(key string, seq uint64) []byte {
	return append(encKey(key), u64(^seq)...)
}

func partKey(uploadID string, n int) []byte {
	b := make([]byte, 0, len(uploadID)+4)
	b = append(b, uploadID...)
	return binary.BigEndian.AppendUint32(b, uint32(n))
}

// tx implements meta.Tx over a bbolt transaction.
type tx struct {
	btx      *bbolt.Tx
	writable bool
	// buckets caches decoded bucket documents; nil disables it.
	buckets *bucketCache
	// dirty is set by the first modification (not by a method that fails
	// before modifying anything); see Store.runBatch.
	dirty bool
}

var _ meta.Tx = (*tx)(nil)

// write checks that the transaction may modify the store. Modifications
// themselves go through put, del, putJSON and nextSeq, which mark it dirty.
func (t *tx) write() error {
	if !t.writable {
		return meta.ErrReadOnly
	}
	return nil
}

func (t *tx) nextSeq() (uint64, error) {
	t.dirty = true
	return t.btx.Bucket(bktSeq).NextSequence()
}

func (t *tx) put(b *bbolt.Bucket, key, value []byte) error {
	t.dirty = true
	return b.Put(key, value)
}

func (t *tx) del(b *bbolt.Bucket, key []byte) error {
	t.dirty = true
	return b.Delete(key)
}

func (t *tx) putJSON(b *bbolt.Bucket, key []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return t.put(b, key, raw)
}

func getJSON[T any](b *bbolt.Bucket, key []byte) (*T, error) {
	raw := b.Get(key)
	if raw == nil {
		return nil, nil
	}
	v := new(T)
	if err := json.Unmarshal(raw, v); err != nil {
		return nil, fmt.Errorf("bolt: decode %q: %w", key, err)
	}
	return v, nil
}

// Buckets.

func (t *tx) Bucket(name string) (*meta.Bucket, error) {
	raw := t.btx.Bucket(bktBuckets).Get([]byte(name))
	if raw == nil {
		return nil, meta.ErrNoSuchBucket
	}
	if t.buckets != nil {
		if b := t.buckets.get(name, raw); b != nil {
			return b, nil
		}
	}
	b := new(meta.Bucket)
	if err := json.Unmarshal(raw, b); err != nil {
		return nil, fmt.Errorf("bolt: decode %q: %w", name, err)
	}
	if t.buckets != nil {
		t.buckets.put(name, raw, b)
	}
	return b, nil
}

func (t *tx) Buckets() iter.Seq2[*meta.Bucket, error] {
	return func(yield func(*meta.Bucket, error) bool) {
		c := t.btx.Bucket(bktBuckets).Cursor()
		for k, raw := c.First(); k != nil; k, raw = c.Next() {
			b := new(meta.Bucket)
			if err := json.Unmarshal(raw, b); err != nil {
				yield(nil, err)
				return
			}
			if !yield(b, nil) {
				return
			}
		}
	}
}

func (t *tx) CreateBucket(b *meta.Bucket) error {
	if err := t.write(); err != nil {
		return err
	}
	bb := t.btx.Bucket(bktBuckets)
	if bb.Get([]byte(b.Name)) != nil {
		return meta.ErrBucketExists
	}
	t.dirty = true
	root, err := t.btx.CreateBucket(objRoot(b.Name))
	if err != nil {
		return fmt.Errorf("bolt: create bucket root: %w", err)
	}
	for _, sub := range [][]byte{subHeads, subVersions, subData, subUploads, subParts} {
		if _, err := root.CreateBucket(sub); err != nil {
			return err
		}
	}
	return t.putJSON(bb, []byte(b.Name), b)
}

func (t *tx) PutBucket(b *meta.Bucket) error {
	if err := t.write(); err != nil {
		return err
	}
	bb := t.btx.Bucket(bktBuckets)
	if bb.Get([]byte(b.Name)) == nil {
		return meta.ErrNoSuchBucket
	}
	return t.putJSON(bb, []byte(b.Name), b)
}

func (t *tx) DeleteBucket(name string) error {
	if err := t.write(); err != nil {
		return err
	}
	root, err := t.root(name)
	if err != nil {
		return err
	}
	if k, _ := root.Bucket(subHeads).Cursor().First(); k != nil {
		return meta.ErrBucketNotEmpty
	}
	if k, _ := root.Bucket(subUploads).Cursor().First(); k != nil {
		return meta.ErrBucketNotEmpty
	}
	t.dirty = true
	if err := t.btx.DeleteBucket(objRoot(name)); err != nil {
		return err
	}
	return t.del(t.btx.Bucket(bktBuckets), []byte(name))
}

func (t *tx) root(bucket string) (*bbolt.Bucket, error) {
	root := t.btx.Bucket(objRoot(bucket))
	if root == nil {
		return nil, meta.ErrNoSuchBucket
	}
	if t.writable {
		// S3 keys mostly arrive in order within a prefix; at bbolt's default
		// fill of 0.5 such appends leave every leaf half empty. 0.9 halves
		// the file and the load time (tools/metabench/RESULTS.md). bbolt
		// caches child bucket handles per transaction, so this sticks.
		for _, sub := range [][]byte{subHeads, subVersions, subData, subUploads, subParts} {
			if b := root.Bucket(sub); b != nil {
				b.FillPercent = fillPercent
			}
		}
	}
	return root, nil
}

// fillPercent is how full bbolt packs the pages of object tables on split.
const fillPercent = 0.9

// Objects.

func (t *tx) head(root *bbolt.Bucket, key string) (*head, error) {
	h, err := getJSON[head](root.Bucket(subHeads), []byte(key))
	if h != nil {
		h.V.Key = key
	}
	return h, err
}

// has reports whether b holds key. Unlike b.Get(key) != nil, it also sees a
// key with an empty value put earlier in the same transaction.
func has(b *bbolt.Bucket, key []byte) bool {
	k, _ := b.Cursor().Seek(key)
	return bytes.Equal(k, key)
}

func (t *tx) Latest(bucket, key string) (*meta.Version, error) {
	root, err := t.root(bucket)
	if err != nil {
		return nil, err
	}
	h, err := t.head(root, key)
	if err != nil {
		return nil, err
	}
	if h == nil {
		return nil, meta.ErrNoSuchKey
	}
	return &h.V, nil
}

// seqOf resolves a version ID of key to its sequence number.
func (t *tx) seqOf(root *bbolt.Bucket, key, versionID string) (uint64, *head, error) {
	h, err := t.head(root, key)
	if err != nil {
		return 0, nil, err
	}
	if h == nil {
		return 0, nil, meta.ErrNoSuchVersion
	}
	if versionID == meta.NullVersionID {
		if h.NullSeq == 0 {
			return 0, nil, meta.ErrNoSuchVersion
		}
		return h.NullSeq, h, nil
	}
	seq, err := meta.ParseID(versionID)
	if err != nil {
		return 0, nil, meta.ErrNoSuchVersion
	}
	return seq, h, nil
}

func (t *tx) Version(bucket, key, versionID string) (*meta.Version, error) {
	root, err := t.root(bucket)
	if err != nil {
		return nil, err
	}
	seq, h, err := t.seqOf(root, key, versionID)
	if err != nil {
		return nil, err
	}
	if h.V.Seq == seq && h.V.VersionID == versionID {
		return &h.V, nil
	}
	v, err := getJSON[meta.Version](root.Bucket(subVersions), versionKey(key, seq))
	if err != nil {
		return nil, err
	}
	if v == nil || v.VersionID != versionID {
		return nil, meta.ErrNoSuchVersion
	}
	v.Key = key
	return v, nil
}

func (t *tx) PutVersion(bucket string, v *meta.Version, inline []byte) (meta.PutResult, error) {
	var res meta.PutResult
	if err := t.write(); err != nil {
		return res, err
	}
	root, err := t.root(bucket)
	if err != nil {
		return res, err
	}
	h, err := t.head(root, v.Key)
	if err != nil {
		return res, err
	}
	if h == nil {
		h = &head{}
	}
	seq, err := t.nextSeq()
	if err != nil {
		return res, err
	}
	v.Seq = seq
	if v.VersionID == meta.NullVersionID {
		if h.NullSeq != 0 {
			old, err := t.removeVersion(root, v.Key, h.NullSeq, meta.NullVersionID)
			if err != nil {
				return res, err
			}
			res.Replaced = old
		}
		h.NullSeq = seq
	} else {
		v.VersionID = meta.FormatID(seq)
	}
	if v.Inline {
		// bbolt keeps the value until commit, so it must be ours.
		if err := t.put(root.Bucket(subData), u64(seq), bytes.Clone(inline)); err != nil {
			return res, err
		}
	}
	if err := t.putJSON(root.Bucket(subVersions), versionKey(v.Key, seq), v); err != nil {
		return res, err
	}
	h.V = *v
	return res, t.putJSON(root.Bucket(subHeads), []byte(v.Key), h)
}

// removeVersion deletes the version record and inline data of seq, which
// must carry versionID, returning the removed version; the caller fixes up
// the head.
func (t *tx) removeVersion(root *bbolt.Bucket, key string, seq uint64, versionID string) (*meta.Version, error) {
	vk := versionKey(key, seq)
	vb := root.Bucket(subVersions)
	old, err := getJSON[meta.Version](vb, vk)
	if err != nil {
		return nil, err
	}
	if old == nil || old.VersionID != versionID {
		return nil, meta.ErrNoSuchVersion
	}
	old.Key = key
	if err := t.del(vb, vk); err != nil {
		return nil, err
	}
	if old.Inline {
		if err := t.del(root.Bucket(subData), u64(seq)); err != nil {
			return nil, err
		}
	}
	return old, nil
}

func (t *tx) UpdateVersion(bucket string, v *meta.Version) error {
	if err := t.write(); err != nil {
		return err
	}
	root, err := t.root(bucket)
	if err != nil {
		return err
	}
	vb := root.Bucket(subVersions)
	vk := versionKey(v.Key, v.Seq)
	if vb.Get(vk) == nil {
		return meta.ErrNoSuchVersion
	}
	if err := t.putJSON(vb, vk, v); err != nil {
		return err
	}
	h, err := t.head(root, v.Key)
	if err != nil {
		return err
	}
	if h != nil && h.V.Seq == v.Seq {
		h.V = *v
		return t.putJSON(root.Bucket(subHeads), []byte(v.Key), h)
	}
	return nil
}

func (t *tx) DeleteVersion(bucket, key, versionID string) (*meta.Version, error) {
	if err := t.write(); err != nil {
		return nil, err
	}
	root, err := t.root(bucket)
	if err != nil {
		return nil, err
	}
	seq, h, err := t.seqOf(root, key, versionID)
	if err != nil {
		return nil, err
	}
	old, err := t.removeVersion(root, key, seq, versionID)
	if err != nil {
		return nil, err
	}
	if versionID == meta.NullVersionID {
		h.NullSeq = 0
	}
	hb := root.Bucket(subHeads)
	if h.V.Seq == seq {
		// The newest remaining version of key becomes the head.
		prefix := encKey(key)
		k, raw := root.Bucket(subVersions).Cursor().Seek(prefix)
		if k == nil || !bytes.HasPrefix(k, prefix) {
			return old, t.del(hb, []byte(key))
		}
		var next meta.Version
		if err := json.Unmarshal(raw, &next); err != nil {
			return nil, err
		}
		next.Key = key
		h.V = next
	}
	return old, t.putJSON(hb, []byte(key), h)
}

func (t *tx) Inline(bucket string, v *meta.Version) ([]byte, error) {
	root, err := t.root(bucket)
	if err != nil {
		return nil, err
	}
	dk := u64(v.Seq)
	k, raw := root.Bucket(subData).Cursor().Seek(dk)
	if !bytes.Equal(k, dk) {
		return nil, meta.ErrNoSuchVersion
	}
	return bytes.Clone(raw), nil
}

func (t *tx) Objects(bucket string, opts meta.ListOptions) iter.Seq2[*meta.Version, error] {
	return func(yield func(*meta.Version, error) bool) {
		root, err := t.root(bucket)
		if err != nil {
			yield(nil, err)
			return
		}
		c := root.Bucket(subHeads).Cursor()
		prefix := []byte(opts.Prefix)
		start := prefix
		if opts.After != "" && opts.After >= opts.Prefix {
			start = []byte(opts.After)
		}
		k, raw := c.Seek(start)
		if k != nil && !opts.Inclusive && opts.After != "" && string(k) == opts.After {
			k, raw = c.Next()
		}
		for ; k != nil && bytes.HasPrefix(k, prefix); k, raw = c.Next() {
			var h head
			if err := json.Unmarshal(raw, &h); err != nil {
				yield(nil, fmt.Errorf("bolt: decode head %q: %w", k, err))
				return
			}
			// JSON replaces invalid UTF-8; the record's key is exact.
			h.V.Key = string(k)
			if !yield(&h.V, nil) {
				return
			}
		}
	}
}

func (t *tx) Versions(bucket string, opts meta.VersionListOptions) iter.Seq2[*meta.Version, error] {
	return func(yield func(*meta.Version, error) bool) {
		root, err := t.root(bucket)
		if err != nil {
			yield(nil, err)
			return
		}
		c := root.Bucket(subVersions).Cursor()
		prefix := appendEscaped(nil, opts.Prefix)
		var k, raw []byte
		switch {
		case opts.From != "":
			k, raw = c.Seek(appendEscaped(nil, max(opts.From, opts.Prefix)))
		case opts.KeyMarker == "" || opts.KeyMarker < opts.Prefix:
			k, raw = c.Seek(prefix)
		case opts.VersionIDMarker == "":
			// Past every version of KeyMarker: its terminator is 0x00 0x01.
			k, raw = c.Seek(append(appendEscaped(nil, opts.KeyMarker), 0x00, 0x02))
		default:
			seq, _, err := t.seqOf(root, opts.KeyMarker, opts.VersionIDMarker)
			if err != nil {
				// An unknown marker version: continue after the key.
				k, raw = c.Seek(append(appendEscaped(nil, opts.KeyMarker), 0x00, 0x02))
				break
			}
			at := versionKey(opts.KeyMarker, seq)
			k, raw = c.Seek(at)
			if k != nil && bytes.Equal(k, at) {
				k, raw = c.Next()
			}
		}
		for ; k != nil && bytes.HasPrefix(k, prefix); k, raw = c.Next() {
			v := new(meta.Version)
			if err := json.Unmarshal(raw, v); err != nil {
				yield(nil, fmt.Errorf("bolt: decode version: %w", err))
				return
			}
			if v.Key, _, err = decKey(k); err != nil {
				yield(nil, err)
				return
			}
			if !yield(v, nil) {
				return
			}
		}
	}
}

// Multipart uploads.

func uploadKey(key, uploadID string) []byte {
	return append(encKey(key), uploadID...)
}

// setUploadKey restores the keys of a decoded upload from its record key:
// JSON replaces invalid UTF-8. Object.Key, when set, is the upload's key.
func setUploadKey(u *meta.Upload, key string) {
	u.Key = key
	if u.Object.Key != "" {
		u.Object.Key = key
	}
}

func (t *tx) CreateUpload(bucket string, u *meta.Upload) error {
	if err := t.write(); err != nil {
		return err
	}
	root, err := t.root(bucket)
	if err != nil {
		return err
	}
	seq, err := t.nextSeq()
	if err != nil {
		return err
	}
	u.UploadID = meta.FormatID(seq)
	return t.putJSON(root.Bucket(subUploads), uploadKey(u.Key, u.UploadID), u)
}

func (t *tx) Upload(bucket, key, uploadID string) (*meta.Upload, error) {
	root, err := t.root(bucket)
	if err != nil {
		return nil, err
	}
	u, err := getJSON[meta.Upload](root.Bucket(subUploads), uploadKey(key, uploadID))
	if err != nil {
		return nil, err
	}
	if u == nil {
		return nil, meta.ErrNoSuchUpload
	}
	setUploadKey(u, key)
	return u, nil
}

func (t *tx) DeleteUpload(bucket, key, uploadID string) ([]meta.UploadPart, error) {
	if err := t.write(); err != nil {
		return nil, err
	}
	root, err := t.root(bucket)
	if err != nil {
		return nil, err
	}
	ub := root.Bucket(subUploads)
	uk := uploadKey(key, uploadID)
	if ub.Get(uk) == nil {
		return nil, meta.ErrNoSuchUpload
	}
	if err := t.del(ub, uk); err != nil {
		return nil, err
	}
	pb := root.Bucket(subParts)
	var parts []meta.UploadPart
	var dead [][]byte
	c := pb.Cursor()
	prefix := []byte(uploadID)
	for k, raw := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, raw = c.Next() {
		var p meta.UploadPart
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, err
		}
		parts = append(parts, p)
		dead = append(dead, bytes.Clone(k))
	}
	for _, k := range dead {
		if err := t.del(pb, k); err != nil {
			return nil, err
		}
	}
	return parts, nil
}

func (t *tx) PutPart(bucket, key, uploadID string, p *meta.UploadPart) (*meta.UploadPart, error) {
	if err := t.write(); err != nil {
		return nil, err
	}
	root, err := t.root(bucket)
	if err != nil {
		return nil, err
	}
	if root.Bucket(subUploads).Get(uploadKey(key, uploadID)) == nil {
		return nil, meta.ErrNoSuchUpload
	}
	pb := root.Bucket(subParts)
	pk := partKey(uploadID, p.Number)
	old, err := getJSON[meta.UploadPart](pb, pk)
	if err != nil {
		return nil, err
	}
	return old, t.putJSON(pb, pk, p)
}

func (t *tx) Parts(bucket, key, uploadID string, marker int) iter.Seq2[*meta.UploadPart, error] {
	return func(yield func(*meta.UploadPart, error) bool) {
		root, err := t.root(bucket)
		if err != nil {
			yield(nil, err)
			return
		}
		if root.Bucket(subUploads).Get(uploadKey(key, uploadID)) == nil {
			yield(nil, meta.ErrNoSuchUpload)
			return
		}
		c := root.Bucket(subParts).Cursor()
		prefix := []byte(uploadID)
		for k, raw := c.Seek(partKey(uploadID, marker+1)); k != nil && bytes.HasPrefix(k, prefix); k, raw = c.Next() {
			p := new(meta.UploadPart)
			if err := json.Unmarshal(raw, p); err != nil {
				yield(nil, err)
				return
			}
			if !yield(p, nil) {
				return
			}
		}
	}
}

func (t *tx) Uploads(bucket string, opts meta.UploadListOptions) iter.Seq2[*meta.Upload, error] {
	return func(yield func(*meta.Upload, error) bool) {
		root, err := t.root(bucket)
		if err != nil {
			yield(nil, err)
			return
		}
		c := root.Bucket(subUploads).Cursor()
		prefix := appendEscaped(nil, opts.Prefix)
		var k, raw []byte
		switch {
		case opts.KeyMarker == "" || opts.KeyMarker < opts.Prefix:
			k, raw = c.Seek(prefix)
		case opts.UploadIDMarker == "":
			k, raw = c.Seek(append(appendEscaped(nil, opts.KeyMarker), 0x00, 0x02))
		default:
			at := uploadKey(opts.KeyMarker, opts.UploadIDMarker)
			k, raw = c.Seek(at)
			if k != nil && bytes.Equal(k, at) {
				k, raw = c.Next()
			}
		}
		for ; k != nil && bytes.HasPrefix(k, prefix); k, raw = c.Next() {
			u := new(meta.Upload)
			if err := json.Unmarshal(raw, u); err != nil {
				yield(nil, err)
				return
			}
			key, _, err := decKey(k)
			if err != nil {
				yield(nil, err)
				return
			}
			setUploadKey(u, key)
			if !yield(u, nil) {
				return
			}
		}
	}
}

// Blob bookkeeping.

func (t *tx) RefBlob(id string) error {
	if err := t.write(); err != nil {
		return err
	}
	return t.put(t.btx.Bucket(bktBlobs), []byte(id), nil)
}

func (t *tx) BlobReferenced(id string) (bool, error) {
	return has(t.btx.Bucket(bktBlobs), []byte(id)), nil
}

func (t *tx) ReleaseBlobs(ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	if err := t.write(); err != nil {
		return err
	}
	refs, gc := t.btx.Bucket(bktBlobs), t.btx.Bucket(bktGC)
	for _, id := range ids {
		if err := t.del(refs, []byte(id)); err != nil {
			return err
		}
		if err := t.put(gc, []byte(id), nil); err != nil {
			return err
		}
	}
	return nil
}

func (t *tx) ReleasedBlobs(limit int) ([]string, error) {
	var ids []string
	c := t.btx.Bucket(bktGC).Cursor()
	for k, _ := c.First(); k != nil && len(ids) < limit; k, _ = c.Next() {
		ids = append(ids, string(k))
	}
	return ids, nil
}

func (t *tx) ForgetReleased(ids ...string) error {
	if err := t.write(); err != nil {
		return err
	}
	gc := t.btx.Bucket(bktGC)
	for _, id := range ids {
		if err := t.del(gc, []byte(id)); err != nil {
			return err
		}
	}
	return nil
}

// Identity.

func (t *tx) User(name string) (*meta.User, error) {
	u, err := getJSON[meta.User](t.btx.Bucket(bktUsers), []byte(name))
	if err != nil {
		return nil, err
	}
	if u == nil {
		return nil, meta.ErrNoSuchUser
	}
	return u, nil
}

func (t *tx) Users() iter.Seq2[*meta.User, error] {
	return scanAll[meta.User](t.btx.Bucket(bktUsers))
}

func scanAll[T any](b *bbolt.Bucket) iter.Seq2[*T, error] {
	return func(yield func(*T, error) bool) {
		c := b.Cursor()
		for k, raw := c.First(); k != nil; k, raw = c.Next() {
			v := new(T)
			if err := json.Unmarshal(raw, v); err != nil {
				yield(nil, err)
				return
			}
			if !yield(v, nil) {
				return
			}
		}
	}
}

func (t *tx) PutUser(u *meta.User, create bool) error {
	if err := t.write(); err != nil {
		return err
	}
	b := t.btx.Bucket(bktUsers)
	exists := b.Get([]byte(u.Name)) != nil
	switch {
	case create && exists:
		return meta.ErrUserExists
	case !create && !exists:
		return meta.ErrNoSuchUser
	}
	return t.putJSON(b, []byte(u.Name), u)
}

func (t *tx) DeleteUser(name string) error {
	if err := t.write(); err != nil {
		return err
	}
	b := t.btx.Bucket(bktUsers)
	if b.Get([]byte(name)) == nil {
		return meta.ErrNoSuchUser
	}
	return t.del(b, []byte(name))
}

func (t *tx) AccessKey(id string) (*meta.AccessKey, error) {
	k, err := getJSON[meta.AccessKey](t.btx.Bucket(bktKeys), []byte(id))
	if err != nil {
		return nil, err
	}
	if k == nil {
		return nil, meta.ErrNoSuchAccessKey
	}
	return k, nil
}

func (t *tx) AccessKeys(userName string) iter.Seq2[*meta.AccessKey, error] {
	return func(yield func(*meta.AccessKey, error) bool) {
		for k, err := range scanAll[meta.AccessKey](t.btx.Bucket(bktKeys)) {
			if err != nil {
				yield(nil, err)
				return
			}
			if k.UserName != userName {
				continue
			}
			if !yield(k, nil) {
				return
			}
		}
	}
}

func (t *tx) PutAccessKey(k *meta.AccessKey, create bool) error {
	if err := t.write(); err != nil {
		return err
	}
	b := t.btx.Bucket(bktKeys)
	exists := b.Get([]byte(k.ID)) != nil
	switch {
	case create && exists:
		return meta.ErrAccessKeyExists
	case !create && !exists:
		return meta.ErrNoSuchAccessKey
	}
	return t.putJSON(b, []byte(k.ID), k)
}

func (t *tx) DeleteAccessKey(id string) error {
	if err := t.write(); err != nil {
		return err
	}
	b := t.btx.Bucket(bktKeys)
	if b.Get([]byte(id)) == nil {
		return meta.ErrNoSuchAccessKey
	}
	return t.del(b, []byte(id))
}

// Documents.

func (t *tx) Doc(kind, key string) ([]byte, error) {
	b := t.btx.Bucket(bktDocs).Bucket([]byte(kind))
	if b == nil {
		return nil, meta.ErrNoSuchDoc
	}
	k, v := b.Cursor().Seek([]byte(key))
	if k == nil || string(k) != key {
		return nil, meta.ErrNoSuchDoc
	}
	return bytes.Clone(v), nil
}

func (t *tx) PutDoc(kind, key string, value []byte) error {
	if err := t.write(); err != nil {
		return err
	}
	if key == "" {
		return fmt.Errorf("bolt: empty document key")
	}
	t.dirty = true
	b, err := t.btx.Bucket(bktDocs).CreateBucketIfNotExists([]byte(kind))
	if err != nil {
		return err
	}
	// Documents are mostly added in key order (queues, logs: keys are
	// times and sequence numbers), which bbolt's default split at half a
	// page would leave half empty, writing twice the pages per commit.
	b.FillPercent = fillPercent
	return t.put(b, []byte(key), bytes.Clone(value))
}

func (t *tx) DeleteDoc(kind, key string) error {
	if err := t.write(); err != nil {
		return err
	}
	b := t.btx.Bucket(bktDocs).Bucket([]byte(kind))
	if b == nil {
		return meta.ErrNoSuchDoc
	}
	if k, _ := b.Cursor().Seek([]byte(key)); k == nil || string(k) != key {
		return meta.ErrNoSuchDoc
	}
	return t.del(b, []byte(key))
}

func (t *tx) Docs(kind string, opts meta.ListOptions) iter.Seq2[meta.Doc, error] {
	return func(yield func(meta.Doc, error) bool) {
		b := t.btx.Bucket(bktDocs).Bucket([]byte(kind))
		if b == nil {
			return
		}
		c := b.Cursor()
		prefix := []byte(opts.Prefix)
		start := prefix
		if opts.After != "" && opts.After >= opts.Prefix {
			start = []byte(opts.After)
		}
		k, v := c.Seek(start)
		if k != nil && !opts.Inclusive && opts.After != "" && string(k) == opts.After {
			k, v = c.Next()
		}
		for ; k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			if !yield(meta.Doc{Key: string(k), Value: bytes.Clone(v)}, nil) {
				return
			}
		}
	}
}

func (t *tx) NextSeq() (uint64, error) {
	if err := t.write(); err != nil {
		return 0, err
	}
	return t.nextSeq()
}
