// Package metatest is the conformance suite for meta.Store backends. Every
// backend's tests call Run, so that all of them honour the contract written
// in package meta's doc comments rather than the details of one
// implementation:
//
//	func TestConformance(t *testing.T) {
//		metatest.Run(t, func(t *testing.T) meta.Store { return MustOpen(t) })
//	}
//
// Closures passed to Update never call t.Fatal (a backend may run them on
// another goroutine, and more than once); they record what they see and the
// test checks it after the transaction.
package metatest

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"iter"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/meta"
)

// Run runs the conformance suite. open is called once per subtest and must
// return a new, empty store; it should register the store's Close with
// t.Cleanup. Some subtests close the store themselves, so that cleanup must
// tolerate a second Close (returning nil or meta.ErrClosed).
func Run(t *testing.T, open func(t *testing.T) meta.Store) {
	groups := []struct {
		name  string
		tests []test
	}{
		{"Bucket", bucketTests},
		{"Version", versionTests},
		{"List", listTests},
		{"Upload", uploadTests},
		{"Blob", blobTests},
		{"Identity", identityTests},
		{"Doc", docTests},
		{"Tx", txTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tt := range g.tests {
				t.Run(tt.name, func(t *testing.T) {
					tt.fn(t, open(t))
				})
			}
		})
	}
}

// test is one conformance subtest.
type test struct {
	name string
	fn   func(t *testing.T, s meta.Store)
}

// t0 is the base of every timestamp the suite stores: whole seconds in UTC,
// which any backend can represent exactly.
var t0 = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

// hang bounds how long the suite waits for an operation that must not block.
const hang = 20 * time.Second

// update runs fn in an Update that must succeed.
func update(t *testing.T, s meta.Store, fn func(tx meta.Tx) error) {
	t.Helper()
	if err := s.Update(context.Background(), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

// view runs fn in a View that must succeed.
func view(t *testing.T, s meta.Store, fn func(tx meta.Tx) error) {
	t.Helper()
	if err := s.View(context.Background(), fn); err != nil {
		t.Fatalf("View: %v", err)
	}
}

// inView returns what fn returns inside a View, independently of how View
// reports a closure's error.
func inView(t *testing.T, s meta.Store, fn func(tx meta.Tx) error) error {
	t.Helper()
	var inner error
	view(t, s, func(tx meta.Tx) error {
		inner = fn(tx)
		return nil
	})
	return inner
}

// inUpdate returns what fn returns inside an Update that commits whatever
// fn did.
func inUpdate(t *testing.T, s meta.Store, fn func(tx meta.Tx) error) error {
	t.Helper()
	var inner error
	update(t, s, func(tx meta.Tx) error {
		inner = fn(tx)
		return nil
	})
	return inner
}

// collect drains a listing iterator.
func collect[T any](seq iter.Seq2[*T, error]) ([]*T, error) {
	var out []*T
	for v, err := range seq {
		if err != nil {
			return out, err
		}
		out = append(out, v)
	}
	return out, nil
}

// newBucket returns the metadata of a bucket named name.
func newBucket(name string) *meta.Bucket {
	return &meta.Bucket{Name: name, Owner: "owner-" + name, Created: t0, Region: "us-east-1"}
}

// mustCreateBuckets creates buckets with default metadata.
func mustCreateBuckets(t *testing.T, s meta.Store, names ...string) {
	t.Helper()
	update(t, s, func(tx meta.Tx) error {
		for _, n := range names {
			if err := tx.CreateBucket(newBucket(n)); err != nil {
				return fmt.Errorf("create %q: %w", n, err)
			}
		}
		return nil
	})
}

// newObject returns a typical object version of key stored in a blob. Only
// keys may hold bytes that are not valid UTF-8; the other fields of the
// suite's records are valid UTF-8.
func newObject(key string) *meta.Version {
	return &meta.Version{
		Key:          key,
		LastModified: t0,
		Owner:        "owner",
		Size:         11,
		ETag:         "5eb63bbbe01eeed093cb22bb8f5acdc3",
		StorageClass: "STANDARD",
		ContentType:  "text/plain",
		UserMeta:     map[string]string{"color": "blue"},
		Parts: []meta.Part{{
			Number: 1, Size: 11, ETag: "5eb63bbbe01eeed093cb22bb8f5acdc3",
			BlobID: "blob-" + hex.EncodeToString([]byte(key)),
		}},
	}
}

// newMarker returns a delete marker of key.
func newMarker(key string) *meta.Version {
	return &meta.Version{Key: key, DeleteMarker: true, LastModified: t0, Owner: "owner"}
}

// withID returns a copy of v with VersionID set.
func withID(v *meta.Version, id string) *meta.Version {
	c := *v
	c.VersionID = id
	return &c
}

// mustPut stores a copy of v in its own Update and returns the stored
// version (with Seq and VersionID) and the PutResult.
func mustPut(t *testing.T, s meta.Store, bucket string, v *meta.Version, inline []byte) (*meta.Version, meta.PutResult) {
	t.Helper()
	var out *meta.Version
	var res meta.PutResult
	update(t, s, func(tx meta.Tx) error {
		c := *v
		var err error
		res, err = tx.PutVersion(bucket, &c, inline)
		out = &c
		return err
	})
	return out, res
}

// normVersion returns a copy of v that compares with reflect.DeepEqual
// independently of time zones and of nil versus empty collections.
func normVersion(v *meta.Version) meta.Version {
	c := *v
	c.LastModified = c.LastModified.UTC()
	if len(c.UserMeta) == 0 {
		c.UserMeta = nil
	}
	if len(c.Tags) == 0 {
		c.Tags = nil
	}
	if len(c.Parts) == 0 {
		c.Parts = nil
	}
	return c
}

// checkVersion reports a difference between got and want.
func checkVersion(t *testing.T, what string, got, want *meta.Version) {
	t.Helper()
	switch {
	case got == nil && want == nil:
		return
	case got == nil || want == nil:
		t.Errorf("%s = %v, want %v", what, got, want)
		return
	}
	g, w := normVersion(got), normVersion(want)
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, g, w)
	}
}

// normBucket is normVersion for buckets.
func normBucket(b *meta.Bucket) meta.Bucket {
	c := *b
	c.Created = c.Created.UTC()
	if len(c.Tags) == 0 {
		c.Tags = nil
	}
	if len(c.Configs) == 0 {
		c.Configs = nil
	}
	return c
}

// normUpload is normVersion for uploads.
func normUpload(u *meta.Upload) meta.Upload {
	c := *u
	c.Initiated = c.Initiated.UTC()
	c.Object = normVersion(&c.Object)
	return c
}

// normPart is normVersion for upload parts.
func normPart(p *meta.UploadPart) meta.UploadPart {
	c := *p
	c.LastModified = c.LastModified.UTC()
	return c
}

// dump renders everything a store holds that the suite can enumerate
// (buckets with their versions, inline content, uploads and parts; released
// blobs; users and every user's and the root's access keys), so that two
// dumps differ exactly when some visible state changed. blobIDs lists the
// blob IDs whose reference state to include.
func dump(t *testing.T, s meta.Store, blobIDs ...string) string {
	t.Helper()
	var b strings.Builder
	view(t, s, func(tx meta.Tx) error {
		b.Reset()
		buckets, err := collect(tx.Buckets())
		if err != nil {
			return fmt.Errorf("list buckets: %w", err)
		}
		for _, bk := range buckets {
			fmt.Fprintf(&b, "bucket %+v\n", normBucket(bk))
			vs, err := collect(tx.Versions(bk.Name, meta.VersionListOptions{}))
			if err != nil {
				return fmt.Errorf("Versions(%q): %w", bk.Name, err)
			}
			for _, v := range vs {
				fmt.Fprintf(&b, "  version %+v\n", normVersion(v))
				if v.Inline {
					data, err := tx.Inline(bk.Name, v)
					fmt.Fprintf(&b, "    inline %q %v\n", data, err)
				}
			}
			objs, err := collect(tx.Objects(bk.Name, meta.ListOptions{}))
			if err != nil {
				return fmt.Errorf("Objects(%q): %w", bk.Name, err)
			}
			for _, v := range objs {
				fmt.Fprintf(&b, "  latest %q %s\n", v.Key, v.VersionID)
			}
			ups, err := collect(tx.Uploads(bk.Name, meta.UploadListOptions{}))
			if err != nil {
				return fmt.Errorf("Uploads(%q): %w", bk.Name, err)
			}
			for _, u := range ups {
				fmt.Fprintf(&b, "  upload %+v\n", normUpload(u))
				parts, err := collect(tx.Parts(bk.Name, u.Key, u.UploadID, 0))
				if err != nil {
					return fmt.Errorf("list parts: %w", err)
				}
				for _, p := range parts {
					fmt.Fprintf(&b, "    part %+v\n", normPart(p))
				}
			}
		}
		for _, id := range blobIDs {
			ok, err := tx.BlobReferenced(id)
			if err != nil {
				return fmt.Errorf("BlobReferenced: %w", err)
			}
			fmt.Fprintf(&b, "blob %s referenced=%v\n", id, ok)
		}
		released, err := tx.ReleasedBlobs(1 << 20)
		if err != nil {
			return fmt.Errorf("ReleasedBlobs: %w", err)
		}
		slices.Sort(released)
		fmt.Fprintf(&b, "released %q\n", released)
		users, err := collect(tx.Users())
		if err != nil {
			return fmt.Errorf("list users: %w", err)
		}
		slices.SortFunc(users, func(a, b *meta.User) int { return strings.Compare(a.Name, b.Name) })
		names := []string{""}
		for _, u := range users {
			c := *u
			c.Created = c.Created.UTC()
			fmt.Fprintf(&b, "user %+v\n", c)
			names = append(names, u.Name)
		}
		for _, n := range names {
			keys, err := collect(tx.AccessKeys(n))
			if err != nil {
				return fmt.Errorf("AccessKeys(%q): %w", n, err)
			}
			slices.SortFunc(keys, func(a, b *meta.AccessKey) int { return strings.Compare(a.ID, b.ID) })
			for _, k := range keys {
				c := *k
				c.Created = c.Created.UTC()
				fmt.Fprintf(&b, "key %+v\n", c)
			}
		}
		return nil
	})
	return b.String()
}

// checkErr reports err unless it matches want (nil meaning success).
func checkErr(t *testing.T, what string, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Errorf("%s: unexpected error %v", what, err)
	case want != nil && !errors.Is(err, want):
		t.Errorf("%s: error %v, want %v", what, err, want)
	}
}

// sortedKeys returns the keys of m in byte order.
func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
