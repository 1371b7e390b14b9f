package metatest

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/internal/meta"
)

var listTests = []test{
	{"Objects", testListObjects},
	{"ObjectPages", testListObjectPages},
	{"Versions", testListVersions},
	{"VersionPages", testListVersionPages},
	{"EarlyBreak", testListEarlyBreak},
}

// listKeys are object keys that stress ordering: 0x00 bytes (which a
// backend may use as a separator), bytes next to 0xFF (the package does not
// require keys to be valid UTF-8), '/', multi-byte UTF-8, and keys that are
// prefixes of other keys.
var listKeys = []string{
	"a", "a/", "a/b", "a/b/c", "a/c", "a\x00", "a\x00b", "a\x00\x00", "a\x00\xff", "a\x01", "a0", "ab",
	"b", "b\xfe", "b\xff", "b\xff\x00", "b\xff\xff", "c d", "é", "éa", "日本/語", "\U0001F600", "\xff", "\xff\xff",
}

// listBounds are prefixes and markers to list with: every key, and strings
// that fall between keys.
var listBounds = append([]string{
	"", "0", "a\x00\x01", "a/a", "a/b/c/d", "a\x00\xff\xff", "b\xff\x01", "zz", "\xff\xff\xff", "ä", "é\x00",
}, listKeys...)

// listFixture is a bucket whose keys have varied version histories, and the
// model of what it should hold.
type listFixture struct {
	bucket string
	// versions maps each key with versions to them, newest first.
	versions map[string][]*meta.Version
}

func newListFixture(t *testing.T, s meta.Store) *listFixture {
	t.Helper()
	f := &listFixture{bucket: "list", versions: map[string][]*meta.Version{}}
	mustCreateBuckets(t, s, f.bucket)
	put := func(v *meta.Version) {
		t.Helper()
		got, res := mustPut(t, s, f.bucket, v, nil)
		if res.Replaced != nil {
			t.Fatalf("fixture put of %q replaced a version", v.Key)
		}
		f.versions[v.Key] = append([]*meta.Version{got}, f.versions[v.Key]...)
	}
	del := func(key string, i int) {
		t.Helper()
		v := f.versions[key][i]
		update(t, s, func(tx meta.Tx) error {
			_, err := tx.DeleteVersion(f.bucket, key, v.VersionID)
			return err
		})
		f.versions[key] = slices.Delete(f.versions[key], i, i+1)
		if len(f.versions[key]) == 0 {
			delete(f.versions, key)
		}
	}
	// Interleave keys so that no backend gets them in order.
	var order []string
	for i := len(listKeys) - 1; i >= 0; i -= 2 {
		order = append(order, listKeys[i])
	}
	for i := len(listKeys) - 2; i >= 0; i -= 2 {
		order = append(order, listKeys[i])
	}
	for i, k := range order {
		put(newObject(k))
		if i%3 == 1 {
			put(newObject(k))
		}
	}
	put(newMarker("a/c"))
	put(withID(newObject("b"), meta.NullVersionID))
	put(newObject("b"))
	put(withID(newObject("ab"), meta.NullVersionID))
	put(newObject("gone"))
	del("gone", 0)
	put(newObject("a\x00b"))
	del("a\x00b", 0)
	put(newMarker("only-marker"))
	return f
}

// keys returns the keys with versions in order.
func (f *listFixture) keys() []string { return sortedKeys(f.versions) }

// all returns every version in listing order.
func (f *listFixture) all() []*meta.Version {
	var out []*meta.Version
	for _, k := range f.keys() {
		out = append(out, f.versions[k]...)
	}
	return out
}

// q quotes a key for a subtest or error message.
func q(s string) string { return fmt.Sprintf("%+q", s) }

func testListObjects(t *testing.T, s meta.Store) {
	f := newListFixture(t, s)
	prefixes := []string{"", "a", "a/", "a/b", "a\x00", "a\x00\xff", "b", "b\xff", "\xff", "é", "x", "a/b/c/d", "only"}
	for _, prefix := range prefixes {
		t.Run("Prefix="+q(prefix), func(t *testing.T) {
			view(t, s, func(tx meta.Tx) error {
				for _, after := range listBounds {
					for _, inclusive := range []bool{false, true} {
						opts := meta.ListOptions{Prefix: prefix, After: after, Inclusive: inclusive}
						var want []*meta.Version
						for _, k := range f.keys() {
							if strings.HasPrefix(k, prefix) && (after == "" || k > after || inclusive && k == after) {
								want = append(want, f.versions[k][0])
							}
						}
						got, err := collect(tx.Objects(f.bucket, opts))
						if err != nil {
							return fmt.Errorf("Objects(%+v): %w", opts, err)
						}
						checkVersions(t, fmt.Sprintf("Objects(Prefix=%s After=%s Inclusive=%v)", q(prefix), q(after), inclusive), got, want)
					}
				}
				return nil
			})
		})
	}
	// Objects yields the whole latest version.
	view(t, s, func(tx meta.Tx) error {
		got, err := collect(tx.Objects(f.bucket, meta.ListOptions{Prefix: "a/c"}))
		if err != nil {
			return err
		}
		if len(got) != 1 {
			t.Errorf("Objects(a/c) = %s", versionNames(got))
			return nil
		}
		checkVersion(t, "Objects(a/c)[0]", got[0], f.versions["a/c"][0])
		if !got[0].DeleteMarker {
			t.Errorf("Objects hid the delete marker on top of a/c")
		}
		return nil
	})
}

// testListObjectPages pages through Objects the way ListObjects does.
func testListObjectPages(t *testing.T, s meta.Store) {
	f := newListFixture(t, s)
	for _, size := range []int{1, 2, 5, 100} {
		var got []*meta.Version
		after := ""
		for page := 0; ; page++ {
			if page > len(listKeys)+5 {
				t.Fatalf("page size %d: listing does not end", size)
			}
			var batch []*meta.Version
			view(t, s, func(tx meta.Tx) error {
				batch = batch[:0]
				for v, err := range tx.Objects(f.bucket, meta.ListOptions{After: after}) {
					if err != nil {
						return err
					}
					batch = append(batch, v)
					if len(batch) == size {
						break
					}
				}
				return nil
			})
			got = append(got, batch...)
			if len(batch) < size {
				break
			}
			after = batch[len(batch)-1].Key
		}
		var want []*meta.Version
		for _, k := range f.keys() {
			want = append(want, f.versions[k][0])
		}
		checkVersions(t, fmt.Sprintf("pages of %d", size), got, want)
	}
}

func testListVersions(t *testing.T, s meta.Store) {
	f := newListFixture(t, s)
	all := f.all()
	run := func(t *testing.T, tx meta.Tx, opts meta.VersionListOptions, keep func(v *meta.Version) bool) error {
		t.Helper()
		var want []*meta.Version
		for _, v := range all {
			if strings.HasPrefix(v.Key, opts.Prefix) && keep(v) {
				want = append(want, v)
			}
		}
		got, err := collect(tx.Versions(f.bucket, opts))
		if err != nil {
			return fmt.Errorf("Versions(%+v): %w", opts, err)
		}
		what := fmt.Sprintf("Versions(Prefix=%s KeyMarker=%s VersionIDMarker=%s From=%s)",
			q(opts.Prefix), q(opts.KeyMarker), opts.VersionIDMarker, q(opts.From))
		checkVersions(t, what, got, want)
		if !t.Failed() {
			for i := range got {
				checkVersion(t, what, got[i], want[i])
			}
		}
		return nil
	}
	prefixes := []string{"", "a", "a\x00", "b", "b\xff", "only", "x"}
	for _, prefix := range prefixes {
		t.Run("Prefix="+q(prefix), func(t *testing.T) {
			view(t, s, func(tx meta.Tx) error {
				everything := func(*meta.Version) bool { return true }
				if err := run(t, tx, meta.VersionListOptions{Prefix: prefix}, everything); err != nil {
					return err
				}
				for _, km := range listBounds {
					if km == "" {
						continue
					}
					afterKey := func(v *meta.Version) bool { return v.Key > km }
					if err := run(t, tx, meta.VersionListOptions{Prefix: prefix, KeyMarker: km}, afterKey); err != nil {
						return err
					}
					from := func(v *meta.Version) bool { return v.Key >= km }
					if err := run(t, tx, meta.VersionListOptions{Prefix: prefix, From: km}, from); err != nil {
						return err
					}
					// From overrides the markers.
					opts := meta.VersionListOptions{Prefix: prefix, From: km, KeyMarker: "zzz", VersionIDMarker: all[0].VersionID}
					if err := run(t, tx, opts, from); err != nil {
						return err
					}
				}
				// Every version as the marker, the null versions
				// included.
				for _, m := range all {
					after := func(v *meta.Version) bool {
						return v.Key > m.Key || v.Key == m.Key && v.Seq < m.Seq
					}
					opts := meta.VersionListOptions{Prefix: prefix, KeyMarker: m.Key, VersionIDMarker: m.VersionID}
					if err := run(t, tx, opts, after); err != nil {
						return err
					}
				}
				return nil
			})
		})
	}
	var nulls int
	for _, v := range all {
		if v.IsNull() {
			nulls++
		}
	}
	if nulls != 2 {
		t.Fatalf("fixture has %d null versions, want 2 (one latest, one not)", nulls)
	}
}

// testListVersionPages pages through Versions the way ListObjectVersions
// does.
func testListVersionPages(t *testing.T, s meta.Store) {
	f := newListFixture(t, s)
	want := f.all()
	for _, size := range []int{1, 2, 3, 7, 1000} {
		var got []*meta.Version
		var opts meta.VersionListOptions
		for page := 0; ; page++ {
			if page > len(want)+5 {
				t.Fatalf("page size %d: listing does not end", size)
			}
			var batch []*meta.Version
			view(t, s, func(tx meta.Tx) error {
				batch = batch[:0]
				for v, err := range tx.Versions(f.bucket, opts) {
					if err != nil {
						return err
					}
					batch = append(batch, v)
					if len(batch) == size {
						break
					}
				}
				return nil
			})
			got = append(got, batch...)
			if len(batch) < size {
				break
			}
			last := batch[len(batch)-1]
			opts = meta.VersionListOptions{KeyMarker: last.Key, VersionIDMarker: last.VersionID}
		}
		checkVersions(t, fmt.Sprintf("pages of %d", size), got, want)
	}
	// Sorting the model the documented way gives the same order.
	sorted := slices.Clone(want)
	slices.SortFunc(sorted, func(a, b *meta.Version) int {
		return cmp.Or(strings.Compare(a.Key, b.Key), cmp.Compare(b.Seq, a.Seq))
	})
	checkVersions(t, "model order", want, sorted)
}

// testListEarlyBreak stops every iterator after its first element; the
// iterator must not call yield again (range-over-func panics if it does),
// and the transaction stays usable.
func testListEarlyBreak(t *testing.T, s meta.Store) {
	mustCreateBuckets(t, s, "b", "c")
	var up *meta.Upload
	update(t, s, func(tx meta.Tx) error {
		for _, k := range []string{"x", "y", "z"} {
			for range 2 {
				if _, err := tx.PutVersion("b", newObject(k), nil); err != nil {
					return err
				}
			}
		}
		for _, k := range []string{"x", "x", "y"} {
			u := &meta.Upload{Key: k, Initiated: t0}
			if err := tx.CreateUpload("b", u); err != nil {
				return err
			}
			up = u
		}
		for n := 1; n <= 3; n++ {
			if _, err := tx.PutPart("b", up.Key, up.UploadID, &meta.UploadPart{Number: n, Size: 1, ETag: "e", BlobID: "p", LastModified: t0}); err != nil {
				return err
			}
		}
		for _, n := range []string{"u1", "u2"} {
			if err := tx.PutUser(&meta.User{Name: n, ID: "id-" + n, Created: t0}, true); err != nil {
				return err
			}
		}
		for _, id := range []string{"K1", "K2"} {
			if err := tx.PutAccessKey(&meta.AccessKey{ID: id, Secret: "s", UserName: "u1", Status: "Active", Created: t0}, true); err != nil {
				return err
			}
		}
		return nil
	})
	iterators := []struct {
		name string
		seq  func(tx meta.Tx) func(yield func(any, error) bool)
	}{
		{"Buckets", func(tx meta.Tx) func(func(any, error) bool) { return anySeq(tx.Buckets()) }},
		{"Objects", func(tx meta.Tx) func(func(any, error) bool) { return anySeq(tx.Objects("b", meta.ListOptions{})) }},
		{"Versions", func(tx meta.Tx) func(func(any, error) bool) {
			return anySeq(tx.Versions("b", meta.VersionListOptions{}))
		}},
		{"Uploads", func(tx meta.Tx) func(func(any, error) bool) {
			return anySeq(tx.Uploads("b", meta.UploadListOptions{}))
		}},
		{"Parts", func(tx meta.Tx) func(func(any, error) bool) { return anySeq(tx.Parts("b", up.Key, up.UploadID, 0)) }},
		{"Users", func(tx meta.Tx) func(func(any, error) bool) { return anySeq(tx.Users()) }},
		{"AccessKeys", func(tx meta.Tx) func(func(any, error) bool) { return anySeq(tx.AccessKeys("u1")) }},
		{"MissingBucket", func(tx meta.Tx) func(func(any, error) bool) {
			return anySeq(tx.Objects("nope", meta.ListOptions{}))
		}},
	}
	for _, it := range iterators {
		t.Run(it.name, func(t *testing.T) {
			check := func(tx meta.Tx) error {
				n := 0
				for range it.seq(tx) {
					n++
					break
				}
				if n != 1 {
					return fmt.Errorf("%s yielded nothing", it.name)
				}
				// Nested: break the inner listing inside an outer one.
				for range it.seq(tx) {
					for range it.seq(tx) {
						break
					}
					break
				}
				// The transaction is still usable.
				_, err := tx.Latest("b", "y")
				return err
			}
			if err := inView(t, s, check); err != nil {
				t.Errorf("in View: %v", err)
			}
			if err := inUpdate(t, s, func(tx meta.Tx) error {
				if err := check(tx); err != nil {
					return err
				}
				// And writable after the abandoned iterator.
				_, err := tx.PutVersion("c", newObject("after-break"), nil)
				return err
			}); err != nil {
				t.Errorf("in Update: %v", err)
			}
		})
	}
}
