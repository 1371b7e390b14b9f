package metatest

import (
	"cmp"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/meta"
)

var uploadTests = []test{
	{"Create", testUploadCreate},
	{"Parts", testUploadParts},
	{"Delete", testUploadDelete},
	{"Missing", testUploadMissing},
	{"List", testUploadList},
}

func newUpload(key string) *meta.Upload {
	return &meta.Upload{
		Key:       key,
		Initiated: t0,
		Owner:     "owner",
		Object: meta.Version{
			Key:          key,
			ContentType:  "application/octet-stream",
			StorageClass: "STANDARD",
			UserMeta:     map[string]string{"a": "1"},
			Tags:         []meta.Tag{{Key: "t", Value: "v"}},
			Checksum:     meta.Checksum{Algorithm: "CRC32C", Type: "COMPOSITE"},
		},
	}
}

func newPart(n int) *meta.UploadPart {
	return &meta.UploadPart{
		Number:       n,
		Size:         int64(n) * 1000,
		ETag:         fmt.Sprintf("etag-%d", n),
		LastModified: t0.Add(time.Duration(n) * time.Second),
		Checksum:     meta.Checksum{Algorithm: "CRC32C", Value: "AAAAAA=="},
		BlobID:       fmt.Sprintf("blob-%d", n),
	}
}

// mustCreateUploads creates uploads of keys in order, returning them with
// their IDs.
func mustCreateUploads(t *testing.T, s meta.Store, bucket string, keys ...string) []*meta.Upload {
	t.Helper()
	var out []*meta.Upload
	for _, k := range keys {
		u := newUpload(k)
		update(t, s, func(tx meta.Tx) error { c := *u; err := tx.CreateUpload(bucket, &c); u = &c; return err })
		out = append(out, u)
	}
	return out
}

func checkUpload(t *testing.T, what string, got, want *meta.Upload) {
	t.Helper()
	if g, w := normUpload(got), normUpload(want); !reflect.DeepEqual(g, w) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, g, w)
	}
}

func checkParts(t *testing.T, what string, got []*meta.UploadPart, want []*meta.UploadPart) {
	t.Helper()
	var g, w []meta.UploadPart
	for _, p := range got {
		g = append(g, normPart(p))
	}
	for _, p := range want {
		w = append(w, normPart(p))
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, g, w)
	}
}

func testUploadCreate(t *testing.T, s meta.Store) {
	mustCreateBuckets(t, s, "b")
	ups := mustCreateUploads(t, s, "b", "k", "k", "a", "k", "z")
	// Several in one transaction, too.
	update(t, s, func(tx meta.Tx) error {
		for range 3 {
			u := newUpload("k")
			if err := tx.CreateUpload("b", u); err != nil {
				return err
			}
			ups = append(ups, u)
		}
		return nil
	})
	seen := map[string]bool{}
	for i, u := range ups {
		if u.UploadID == "" {
			t.Fatalf("CreateUpload assigned no UploadID")
		}
		if seen[u.UploadID] {
			t.Errorf("UploadID %s assigned twice", u.UploadID)
		}
		seen[u.UploadID] = true
		if i > 0 && u.UploadID <= ups[i-1].UploadID {
			t.Errorf("upload IDs not ordered by creation: %s then %s", ups[i-1].UploadID, u.UploadID)
		}
		if strings.ContainsAny(u.UploadID, "/?&=+ %") {
			t.Errorf("UploadID %q needs escaping in a URL", u.UploadID)
		}
		var got *meta.Upload
		err := inView(t, s, func(tx meta.Tx) error {
			var err error
			got, err = tx.Upload("b", u.Key, u.UploadID)
			return err
		})
		if err != nil {
			t.Fatalf("Upload(%q, %s): %v", u.Key, u.UploadID, err)
		}
		checkUpload(t, "Upload", got, u)
	}
}

func testUploadParts(t *testing.T, s meta.Store) {
	mustCreateBuckets(t, s, "b")
	ups := mustCreateUploads(t, s, "b", "k", "k", "k2")
	u, sibling, other := ups[0], ups[1], ups[2]
	numbers := []int{256, 3, 1, 10000, 2, 255, 9, 257, 1000, 10, 65536}
	parts := map[int]*meta.UploadPart{}
	for _, n := range numbers {
		var old *meta.UploadPart
		update(t, s, func(tx meta.Tx) error {
			var err error
			old, err = tx.PutPart("b", u.Key, u.UploadID, newPart(n))
			return err
		})
		if old != nil {
			t.Errorf("first PutPart(%d) replaced %+v", n, old)
		}
		parts[n] = newPart(n)
	}
	// Parts of the other uploads must not mix in.
	update(t, s, func(tx meta.Tx) error {
		for _, x := range []*meta.Upload{sibling, other} {
			for _, n := range []int{1, 4, 300} {
				p := newPart(n)
				p.ETag = "other"
				if _, err := tx.PutPart("b", x.Key, x.UploadID, p); err != nil {
					return err
				}
			}
		}
		return nil
	})
	// Replacing a part returns the old one.
	repl := newPart(3)
	repl.ETag, repl.Size, repl.BlobID = "replaced", 7, "blob-3b"
	var old *meta.UploadPart
	update(t, s, func(tx meta.Tx) error {
		var err error
		old, err = tx.PutPart("b", u.Key, u.UploadID, repl)
		return err
	})
	checkParts(t, "PutPart replacement result", []*meta.UploadPart{old}, []*meta.UploadPart{parts[3]})
	parts[3] = repl

	sorted := slices.Sorted(func(yield func(int) bool) {
		for n := range parts {
			if !yield(n) {
				return
			}
		}
	})
	for _, marker := range []int{0, 1, 2, 5, 9, 255, 256, 9999, 10000, 65536, 70000} {
		var want []*meta.UploadPart
		for _, n := range sorted {
			if n > marker {
				want = append(want, parts[n])
			}
		}
		var got []*meta.UploadPart
		view(t, s, func(tx meta.Tx) error {
			var err error
			got, err = collect(tx.Parts("b", u.Key, u.UploadID, marker))
			return err
		})
		checkParts(t, fmt.Sprintf("Parts(marker=%d)", marker), got, want)
	}
	var sib []*meta.UploadPart
	view(t, s, func(tx meta.Tx) error {
		var err error
		sib, err = collect(tx.Parts("b", sibling.Key, sibling.UploadID, 0))
		return err
	})
	if len(sib) != 3 || sib[0].Number != 1 || sib[1].Number != 4 || sib[2].Number != 300 {
		t.Errorf("sibling upload's parts = %+v", sib)
	}
}

func testUploadDelete(t *testing.T, s meta.Store) {
	mustCreateBuckets(t, s, "b")
	ups := mustCreateUploads(t, s, "b", "k", "k", "j")
	u := ups[0]
	want := map[int]*meta.UploadPart{}
	update(t, s, func(tx meta.Tx) error {
		for _, x := range ups {
			for _, n := range []int{2, 1, 500} {
				if _, err := tx.PutPart("b", x.Key, x.UploadID, newPart(n)); err != nil {
					return err
				}
			}
		}
		// A replaced part is returned once, in its latest form.
		p := newPart(1)
		p.ETag = "newer"
		_, err := tx.PutPart("b", u.Key, u.UploadID, p)
		return err
	})
	for _, n := range []int{1, 2, 500} {
		want[n] = newPart(n)
	}
	want[1].ETag = "newer"

	var got []meta.UploadPart
	update(t, s, func(tx meta.Tx) error {
		var err error
		got, err = tx.DeleteUpload("b", u.Key, u.UploadID)
		return err
	})
	slices.SortFunc(got, func(a, b meta.UploadPart) int { return cmp.Compare(a.Number, b.Number) })
	var gotPtrs []*meta.UploadPart
	for i := range got {
		gotPtrs = append(gotPtrs, &got[i])
	}
	checkParts(t, "DeleteUpload result", gotPtrs, []*meta.UploadPart{want[1], want[2], want[500]})

	err := inView(t, s, func(tx meta.Tx) error { _, err := tx.Upload("b", u.Key, u.UploadID); return err })
	checkErr(t, "Upload after delete", err, meta.ErrNoSuchUpload)
	err = inView(t, s, func(tx meta.Tx) error { _, err := collect(tx.Parts("b", u.Key, u.UploadID, 0)); return err })
	checkErr(t, "Parts after delete", err, meta.ErrNoSuchUpload)
	err = inUpdate(t, s, func(tx meta.Tx) error { _, err := tx.DeleteUpload("b", u.Key, u.UploadID); return err })
	checkErr(t, "second DeleteUpload", err, meta.ErrNoSuchUpload)

	// The other uploads keep their parts.
	for _, x := range ups[1:] {
		var parts []*meta.UploadPart
		view(t, s, func(tx meta.Tx) error {
			var err error
			parts, err = collect(tx.Parts("b", x.Key, x.UploadID, 0))
			return err
		})
		checkParts(t, "parts of another upload", parts, []*meta.UploadPart{newPart(1), newPart(2), newPart(500)})
	}

	// An upload without parts deletes to an empty list.
	fresh := mustCreateUploads(t, s, "b", "k")[0]
	var none []meta.UploadPart
	update(t, s, func(tx meta.Tx) error {
		var err error
		none, err = tx.DeleteUpload("b", fresh.Key, fresh.UploadID)
		return err
	})
	if len(none) != 0 {
		t.Errorf("DeleteUpload of an upload without parts returned %+v", none)
	}
}

// testUploadMissing checks that every upload-scoped method reports
// ErrNoSuchUpload for an upload that does not exist (or exists for another
// key) and changes nothing.
func testUploadMissing(t *testing.T, s meta.Store) {
	mustCreateBuckets(t, s, "b")
	ups := mustCreateUploads(t, s, "b", "k", "gone")
	real, gone := ups[0], ups[1]
	update(t, s, func(tx meta.Tx) error {
		if _, err := tx.PutPart("b", real.Key, real.UploadID, newPart(1)); err != nil {
			return err
		}
		_, err := tx.DeleteUpload("b", gone.Key, gone.UploadID)
		return err
	})
	targets := []struct{ name, key, id string }{
		{"Deleted", gone.Key, gone.UploadID},
		{"WrongKey", "other", real.UploadID},
		{"KeyPrefix", "", real.UploadID},
		{"Unknown", "k", meta.FormatID(1 << 50)},
		{"Malformed", "k", "not-an-id"},
		{"Empty", "k", ""},
		{"IDPrefix", "k", real.UploadID[:16]},
	}
	ops := []struct {
		name string
		op   func(tx meta.Tx, key, id string) error
	}{
		{"Upload", func(tx meta.Tx, key, id string) error { _, err := tx.Upload("b", key, id); return err }},
		{"PutPart", func(tx meta.Tx, key, id string) error { _, err := tx.PutPart("b", key, id, newPart(2)); return err }},
		{"Parts", func(tx meta.Tx, key, id string) error { _, err := collect(tx.Parts("b", key, id, 0)); return err }},
		{"DeleteUpload", func(tx meta.Tx, key, id string) error { _, err := tx.DeleteUpload("b", key, id); return err }},
	}
	for _, op := range ops {
		t.Run(op.name, func(t *testing.T) {
			for _, tg := range targets {
				before := dump(t, s)
				err := inUpdate(t, s, func(tx meta.Tx) error { return op.op(tx, tg.key, tg.id) })
				checkErr(t, tg.name, err, meta.ErrNoSuchUpload)
				if after := dump(t, s); after != before {
					t.Errorf("%s: failed %s changed the store:\n%s\n---\n%s", tg.name, op.name, before, after)
				}
			}
		})
	}
}

func testUploadList(t *testing.T, s meta.Store) {
	mustCreateBuckets(t, s, "b")
	keys := []string{"k", "a", "k", "a/b", "k\x00", "a", "k/", "b\xff", "k", "é"}
	ups := mustCreateUploads(t, s, "b", keys...)
	// Remove one so that a deleted upload's ID works as a marker.
	removed := ups[2]
	update(t, s, func(tx meta.Tx) error { _, err := tx.DeleteUpload("b", removed.Key, removed.UploadID); return err })
	ups = slices.Delete(ups, 2, 3)
	all := slices.Clone(ups)
	slices.SortStableFunc(all, func(a, b *meta.Upload) int {
		return cmp.Or(strings.Compare(a.Key, b.Key), strings.Compare(a.UploadID, b.UploadID))
	})
	markers := []struct{ key, id string }{{"", ""}, {"0", ""}, {"a", ""}, {"a\x00", ""}, {"k", ""}, {"zz", ""}, {"k", removed.UploadID}}
	for _, u := range all {
		markers = append(markers, struct{ key, id string }{u.Key, ""}, struct{ key, id string }{u.Key, u.UploadID})
	}
	for _, prefix := range []string{"", "a", "k", "k\x00", "b\xff", "x"} {
		t.Run("Prefix="+q(prefix), func(t *testing.T) {
			view(t, s, func(tx meta.Tx) error {
				for _, m := range markers {
					opts := meta.UploadListOptions{Prefix: prefix, KeyMarker: m.key, UploadIDMarker: m.id}
					var want []*meta.Upload
					for _, u := range all {
						if !strings.HasPrefix(u.Key, prefix) {
							continue
						}
						if m.key == "" || u.Key > m.key || m.id != "" && u.Key == m.key && u.UploadID > m.id {
							want = append(want, u)
						}
					}
					got, err := collect(tx.Uploads("b", opts))
					if err != nil {
						return fmt.Errorf("Uploads(%+v): %w", opts, err)
					}
					what := fmt.Sprintf("Uploads(Prefix=%s KeyMarker=%s UploadIDMarker=%s)", q(prefix), q(m.key), m.id)
					if len(got) != len(want) {
						t.Errorf("%s: got %d uploads, want %d", what, len(got), len(want))
						continue
					}
					for i := range got {
						checkUpload(t, what, got[i], want[i])
					}
				}
				return nil
			})
		})
	}
}
