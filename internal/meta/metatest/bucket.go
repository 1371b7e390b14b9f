package metatest

import (
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/sluicehq/sluice/internal/meta"
)

var bucketTests = []test{
	{"CRUD", testBucketCRUD},
	{"Missing", testBucketMissing},
	{"NotEmpty", testBucketNotEmpty},
	{"Order", testBucketOrder},
}

func testBucketCRUD(t *testing.T, s meta.Store) {
	full := &meta.Bucket{
		Name:       "photos",
		Owner:      "alice",
		Created:    t0,
		Region:     "eu-west-1",
		Versioning: meta.VersioningEnabled,
		Tags:       []meta.Tag{{Key: "team", Value: "a"}, {Key: "env", Value: ""}},
		Configs:    map[string][]byte{"notification": []byte("<x/>"), "cors": {0, 1, 2}},
	}
	update(t, s, func(tx meta.Tx) error { return tx.CreateBucket(full) })

	get := func(name string) (*meta.Bucket, error) {
		var b *meta.Bucket
		err := inView(t, s, func(tx meta.Tx) error {
			var err error
			b, err = tx.Bucket(name)
			return err
		})
		return b, err
	}
	check := func(what string, want *meta.Bucket) {
		t.Helper()
		got, err := get(want.Name)
		if err != nil {
			t.Fatalf("%s: Bucket: %v", what, err)
		}
		if g, w := normBucket(got), normBucket(want); !reflect.DeepEqual(g, w) {
			t.Errorf("%s:\n got %+v\nwant %+v", what, g, w)
		}
	}
	check("after create", full)

	err := inUpdate(t, s, func(tx meta.Tx) error {
		return tx.CreateBucket(&meta.Bucket{Name: "photos", Owner: "mallory", Created: t0})
	})
	checkErr(t, "CreateBucket of existing name", err, meta.ErrBucketExists)
	check("after failed re-create", full)

	changed := *full
	changed.Versioning = meta.VersioningSuspended
	changed.Tags = nil
	changed.Configs = map[string][]byte{"policy": []byte(`{"Version":"2012-10-17"}`)}
	update(t, s, func(tx meta.Tx) error { return tx.PutBucket(&changed) })
	check("after PutBucket", &changed)

	err = inUpdate(t, s, func(tx meta.Tx) error { return tx.PutBucket(newBucket("nope")) })
	checkErr(t, "PutBucket of missing bucket", err, meta.ErrNoSuchBucket)
	if _, err := get("nope"); !errors.Is(err, meta.ErrNoSuchBucket) {
		t.Errorf("PutBucket of a missing bucket created it (Bucket: %v)", err)
	}

	update(t, s, func(tx meta.Tx) error { return tx.DeleteBucket("photos") })
	if _, err := get("photos"); !errors.Is(err, meta.ErrNoSuchBucket) {
		t.Errorf("Bucket after delete: %v, want ErrNoSuchBucket", err)
	}
	err = inUpdate(t, s, func(tx meta.Tx) error { return tx.DeleteBucket("photos") })
	checkErr(t, "second DeleteBucket", err, meta.ErrNoSuchBucket)

	// The name is free again, and the new bucket starts empty.
	update(t, s, func(tx meta.Tx) error { return tx.CreateBucket(newBucket("photos")) })
	check("after re-create", newBucket("photos"))
}

// testBucketMissing checks that every bucket-scoped method reports
// ErrNoSuchBucket for a bucket that does not exist.
func testBucketMissing(t *testing.T, s meta.Store) {
	mustCreateBuckets(t, s, "other")
	v, _ := mustPut(t, s, "other", newObject("k"), nil)
	const b = "missing"
	first := func(seq func(yield func(any, error) bool)) error {
		for _, err := range seq {
			return err
		}
		return nil
	}
	tests := []struct {
		name string
		op   func(tx meta.Tx) error
	}{
		{"Bucket", func(tx meta.Tx) error { _, err := tx.Bucket(b); return err }},
		{"PutBucket", func(tx meta.Tx) error { return tx.PutBucket(newBucket(b)) }},
		{"DeleteBucket", func(tx meta.Tx) error { return tx.DeleteBucket(b) }},
		{"Latest", func(tx meta.Tx) error { _, err := tx.Latest(b, "k"); return err }},
		{"Version", func(tx meta.Tx) error { _, err := tx.Version(b, "k", v.VersionID); return err }},
		{"PutVersion", func(tx meta.Tx) error { _, err := tx.PutVersion(b, newObject("k"), nil); return err }},
		{"UpdateVersion", func(tx meta.Tx) error { c := *v; return tx.UpdateVersion(b, &c) }},
		{"DeleteVersion", func(tx meta.Tx) error { _, err := tx.DeleteVersion(b, "k", v.VersionID); return err }},
		{"Inline", func(tx meta.Tx) error { _, err := tx.Inline(b, v); return err }},
		{"Objects", func(tx meta.Tx) error { return first(anySeq(tx.Objects(b, meta.ListOptions{}))) }},
		{"Versions", func(tx meta.Tx) error { return first(anySeq(tx.Versions(b, meta.VersionListOptions{}))) }},
		{"CreateUpload", func(tx meta.Tx) error { return tx.CreateUpload(b, &meta.Upload{Key: "k", Initiated: t0}) }},
		{"Upload", func(tx meta.Tx) error { _, err := tx.Upload(b, "k", "x"); return err }},
		{"Uploads", func(tx meta.Tx) error { return first(anySeq(tx.Uploads(b, meta.UploadListOptions{}))) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := dump(t, s)
			err := inUpdate(t, s, tt.op)
			checkErr(t, tt.name, err, meta.ErrNoSuchBucket)
			if after := dump(t, s); after != before {
				t.Errorf("%s on a missing bucket changed the store:\n%s\n---\n%s", tt.name, before, after)
			}
		})
	}
}

// anySeq erases the element type of a listing so that a table can hold
// listings of different kinds.
func anySeq[T any](seq func(yield func(*T, error) bool)) func(yield func(any, error) bool) {
	return func(yield func(any, error) bool) {
		for v, err := range seq {
			if !yield(v, err) {
				return
			}
		}
	}
}

func testBucketNotEmpty(t *testing.T, s meta.Store) {
	tests := []struct {
		name string
		// fill makes the bucket non-empty; empty undoes it.
		fill  func(tx meta.Tx, b string) error
		empty func(tx meta.Tx, b string) (more bool, err error)
	}{
		{
			name: "Version",
			fill: func(tx meta.Tx, b string) error { _, err := tx.PutVersion(b, newObject("k"), nil); return err },
		},
		{
			name: "NullVersion",
			fill: func(tx meta.Tx, b string) error {
				_, err := tx.PutVersion(b, withID(newObject("k"), meta.NullVersionID), nil)
				return err
			},
		},
		{
			name: "InlineVersion",
			fill: func(tx meta.Tx, b string) error {
				v := newObject("k")
				v.Parts, v.Inline = nil, true
				_, err := tx.PutVersion(b, v, []byte("hello world"))
				return err
			},
		},
		{
			name: "DeleteMarkerOnly",
			fill: func(tx meta.Tx, b string) error { _, err := tx.PutVersion(b, newMarker("k"), nil); return err },
		},
		{
			name: "SeveralVersions",
			fill: func(tx meta.Tx, b string) error {
				for _, v := range []*meta.Version{newObject("k"), newMarker("k"), newObject("k"), newObject("j")} {
					if _, err := tx.PutVersion(b, v, nil); err != nil {
						return err
					}
				}
				return nil
			},
		},
		{
			name:  "Upload",
			fill:  func(tx meta.Tx, b string) error { return tx.CreateUpload(b, &meta.Upload{Key: "k", Initiated: t0}) },
			empty: deleteAllUploads,
		},
		{
			name: "UploadWithParts",
			fill: func(tx meta.Tx, b string) error {
				u := &meta.Upload{Key: "k", Initiated: t0}
				if err := tx.CreateUpload(b, u); err != nil {
					return err
				}
				_, err := tx.PutPart(b, "k", u.UploadID, &meta.UploadPart{Number: 1, Size: 5, ETag: "e", BlobID: "p1", LastModified: t0})
				return err
			},
			empty: deleteAllUploads,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := "b-" + tt.name
			mustCreateBuckets(t, s, b)
			update(t, s, func(tx meta.Tx) error { return tt.fill(tx, b) })
			err := inUpdate(t, s, func(tx meta.Tx) error { return tx.DeleteBucket(b) })
			checkErr(t, "DeleteBucket of non-empty bucket", err, meta.ErrBucketNotEmpty)
			if err := inView(t, s, func(tx meta.Tx) error { _, err := tx.Bucket(b); return err }); err != nil {
				t.Fatalf("bucket gone after refused delete: %v", err)
			}
			empty := tt.empty
			if empty == nil {
				empty = deleteAllVersions
			}
			// Empty the bucket one record per transaction: it must stay
			// non-empty until the last record goes.
			for {
				var more bool
				update(t, s, func(tx meta.Tx) error {
					var err error
					more, err = empty(tx, b)
					return err
				})
				if !more {
					break
				}
				err := inUpdate(t, s, func(tx meta.Tx) error { return tx.DeleteBucket(b) })
				checkErr(t, "DeleteBucket of partly emptied bucket", err, meta.ErrBucketNotEmpty)
			}
			update(t, s, func(tx meta.Tx) error { return tx.DeleteBucket(b) })
		})
	}
}

// deleteAllVersions removes one version of b (the first listed) and reports
// whether any version remains.
func deleteAllVersions(tx meta.Tx, b string) (bool, error) {
	vs, err := collect(tx.Versions(b, meta.VersionListOptions{}))
	if err != nil || len(vs) == 0 {
		return false, err
	}
	if _, err := tx.DeleteVersion(b, vs[0].Key, vs[0].VersionID); err != nil {
		return false, err
	}
	return len(vs) > 1, nil
}

// deleteAllUploads removes one upload of b and reports whether any remains.
func deleteAllUploads(tx meta.Tx, b string) (bool, error) {
	us, err := collect(tx.Uploads(b, meta.UploadListOptions{}))
	if err != nil || len(us) == 0 {
		return false, err
	}
	if _, err := tx.DeleteUpload(b, us[0].Key, us[0].UploadID); err != nil {
		return false, err
	}
	return len(us) > 1, nil
}

func testBucketOrder(t *testing.T, s meta.Store) {
	names := []string{"m", "a-b", "zeta", "a", "a.b", "ab", "0day", "a0", "b", "a-a"}
	mustCreateBuckets(t, s, names[:5]...)
	mustCreateBuckets(t, s, names[5:]...)
	update(t, s, func(tx meta.Tx) error { return tx.DeleteBucket("b") })
	want := slices.DeleteFunc(slices.Sorted(slices.Values(names)), func(n string) bool { return n == "b" })
	var got []string
	view(t, s, func(tx meta.Tx) error {
		got = got[:0]
		bs, err := collect(tx.Buckets())
		for _, b := range bs {
			got = append(got, b.Name)
		}
		return err
	})
	if !slices.Equal(got, want) {
		t.Errorf("Buckets() = %q, want %q", got, want)
	}
}
