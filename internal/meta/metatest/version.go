package metatest

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/internal/meta"
)

var versionTests = []test{
	{"Assign", testVersionAssign},
	{"Get", testVersionGet},
	{"Null", testVersionNull},
	{"Delete", testVersionDelete},
	{"DeleteMarker", testVersionDeleteMarker},
	{"Update", testVersionUpdate},
	{"Inline", testVersionInline},
	{"Isolation", testVersionIsolation},
}

// latest returns the latest version of key, or the error.
func latest(t *testing.T, s meta.Store, bucket, key string) (*meta.Version, error) {
	t.Helper()
	var v *meta.Version
	err := inView(t, s, func(tx meta.Tx) error {
		var err error
		v, err = tx.Latest(bucket, key)
		return err
	})
	return v, err
}

// version returns one version of key, or the error.
func version(t *testing.T, s meta.Store, bucket, key, id string) (*meta.Version, error) {
	t.Helper()
	var v *meta.Version
	err := inView(t, s, func(tx meta.Tx) error {
		var err error
		v, err = tx.Version(bucket, key, id)
		return err
	})
	return v, err
}

// versionsOf lists every version of key, newest first.
func versionsOf(t *testing.T, s meta.Store, bucket, key string) []*meta.Version {
	t.Helper()
	var out []*meta.Version
	view(t, s, func(tx meta.Tx) error {
		out = out[:0]
		for v, err := range tx.Versions(bucket, meta.VersionListOptions{Prefix: key}) {
			if err != nil {
				return err
			}
			if v.Key == key {
				out = append(out, v)
			}
		}
		return nil
	})
	return out
}

// checkVersions compares a version list by key and version ID.
func checkVersions(t *testing.T, what string, got, want []*meta.Version) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d versions %s, want %d %s", what, len(got), versionNames(got), len(want), versionNames(want))
		return
	}
	for i := range got {
		if got[i].Key != want[i].Key || got[i].VersionID != want[i].VersionID {
			t.Errorf("%s: got %s, want %s", what, versionNames(got), versionNames(want))
			return
		}
	}
}

func versionNames(vs []*meta.Version) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, v := range vs {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strings.ToValidUTF8(v.Key, "?") + "@" + v.VersionID)
	}
	b.WriteByte(']')
	return b.String()
}

func testVersionAssign(t *testing.T, s meta.Store) {
	mustCreateBuckets(t, s, "b")
	var seqs []uint64
	var ids []string
	put := func(v *meta.Version) {
		t.Helper()
		got, res := mustPut(t, s, "b", v, nil)
		if res.Replaced != nil {
			t.Errorf("PutVersion of a non-null version replaced %+v", res.Replaced)
		}
		if _, err := meta.ParseID(got.VersionID); err != nil {
			t.Errorf("PutVersion assigned VersionID %q, not a meta.FormatID ID: %v", got.VersionID, err)
		}
		seqs = append(seqs, got.Seq)
		ids = append(ids, got.VersionID)
	}
	// Across keys and transactions, with a caller-supplied ID (which the
	// store must replace) and in one transaction.
	put(newObject("k"))
	put(newObject("a"))
	put(withID(newObject("k"), "caller-chose-this"))
	put(newMarker("k"))
	var inOne []*meta.Version
	update(t, s, func(tx meta.Tx) error {
		inOne = inOne[:0]
		for _, k := range []string{"z", "k", "z"} {
			v := newObject(k)
			if _, err := tx.PutVersion("b", v, nil); err != nil {
				return err
			}
			// PutVersion assigns Seq and VersionID in v itself.
			inOne = append(inOne, v)
		}
		return nil
	})
	for _, v := range inOne {
		if _, err := meta.ParseID(v.VersionID); err != nil {
			t.Errorf("PutVersion did not assign v.VersionID in place (got %q)", v.VersionID)
		}
		seqs = append(seqs, v.Seq)
		ids = append(ids, v.VersionID)
	}
	for i := 1; i < len(seqs); i++ {
		if seqs[i] <= seqs[i-1] {
			t.Errorf("Seq not increasing: %v", seqs)
			break
		}
		if ids[i] <= ids[i-1] {
			t.Errorf("version IDs do not sort in creation order: %q", ids)
			break
		}
	}
	// Each stored version reads back as put.
	for _, v := range inOne {
		got, err := version(t, s, "b", v.Key, v.VersionID)
		if err != nil {
			t.Fatalf("Version(%q, %s): %v", v.Key, v.VersionID, err)
		}
		checkVersion(t, "Version", got, v)
	}
	got, err := latest(t, s, "b", "z")
	if err != nil {
		t.Fatal(err)
	}
	checkVersion(t, "Latest(z)", got, inOne[2])
}

func testVersionGet(t *testing.T, s meta.Store) {
	mustCreateBuckets(t, s, "b")
	v1, _ := mustPut(t, s, "b", newObject("k"), nil)
	other, _ := mustPut(t, s, "b", newObject("other"), nil)
	null, _ := mustPut(t, s, "b", withID(newObject("k"), meta.NullVersionID), nil)
	v3, _ := mustPut(t, s, "b", newObject("k"), nil)

	// Same sequence number, different random part.
	flipped := v1.VersionID[:31] + "0"
	if strings.HasSuffix(v1.VersionID, "0") {
		flipped = v1.VersionID[:31] + "1"
	}
	tests := []struct {
		name string
		key  string
		id   string
		want *meta.Version
		err  error
	}{
		{"Oldest", "k", v1.VersionID, v1, nil},
		{"Null", "k", meta.NullVersionID, null, nil},
		{"Newest", "k", v3.VersionID, v3, nil},
		{"OtherKey", "other", other.VersionID, other, nil},
		{"IDOfAnotherKey", "k", other.VersionID, nil, meta.ErrNoSuchVersion},
		{"IDOfAnotherKeyReversed", "other", v1.VersionID, nil, meta.ErrNoSuchVersion},
		{"NullOfKeyWithoutNull", "other", meta.NullVersionID, nil, meta.ErrNoSuchVersion},
		{"MissingKey", "nope", v1.VersionID, nil, meta.ErrNoSuchVersion},
		{"MissingKeyNull", "nope", meta.NullVersionID, nil, meta.ErrNoSuchVersion},
		{"Empty", "k", "", nil, meta.ErrNoSuchVersion},
		{"Malformed", "k", "abc", nil, meta.ErrNoSuchVersion},
		{"Uppercase", "k", strings.ToUpper(v1.VersionID), nil, meta.ErrNoSuchVersion},
		{"WrongRandomPart", "k", flipped, nil, meta.ErrNoSuchVersion},
		{"Unknown", "k", meta.FormatID(1 << 60), nil, meta.ErrNoSuchVersion},
		{"ZeroSeq", "k", meta.FormatID(0), nil, meta.ErrNoSuchVersion},
		{"TooLong", "k", v1.VersionID + "0", nil, meta.ErrNoSuchVersion},
		{"NotHex", "k", strings.Repeat("z", 32), nil, meta.ErrNoSuchVersion},
		{"NullUppercase", "k", "NULL", nil, meta.ErrNoSuchVersion},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := version(t, s, "b", tt.key, tt.id)
			checkErr(t, "Version", err, tt.err)
			if tt.err == nil {
				checkVersion(t, "Version", got, tt.want)
			}
		})
	}
	if _, err := latest(t, s, "b", "nope"); !errors.Is(err, meta.ErrNoSuchKey) {
		t.Errorf("Latest of missing key: %v, want ErrNoSuchKey", err)
	}
	got, err := latest(t, s, "b", "k")
	if err != nil {
		t.Fatal(err)
	}
	checkVersion(t, "Latest", got, v3)
}

func testVersionNull(t *testing.T, s meta.Store) {
	mustCreateBuckets(t, s, "b")
	nullObj := func(etag string) *meta.Version {
		v := withID(newObject("k"), meta.NullVersionID)
		v.ETag = etag
		return v
	}
	n1, res := mustPut(t, s, "b", nullObj("n1"), nil)
	if res.Replaced != nil {
		t.Errorf("first null version replaced %+v", res.Replaced)
	}
	if n1.VersionID != meta.NullVersionID || !n1.IsNull() {
		t.Errorf("null version stored with VersionID %q", n1.VersionID)
	}

	// A null version that is the latest is replaced in place.
	n2, res := mustPut(t, s, "b", nullObj("n2"), nil)
	checkVersion(t, "Replaced (null was latest)", res.Replaced, n1)
	if n2.Seq <= n1.Seq {
		t.Errorf("replacing null version got Seq %d, not after %d", n2.Seq, n1.Seq)
	}
	checkVersions(t, "versions after null replaced null", versionsOf(t, s, "b", "k"), []*meta.Version{n2})

	// A null version under newer versions is replaced too, and the new
	// null version becomes the latest.
	v3, res := mustPut(t, s, "b", newObject("k"), nil)
	if res.Replaced != nil {
		t.Errorf("non-null put replaced %+v", res.Replaced)
	}
	m4, _ := mustPut(t, s, "b", newMarker("k"), nil)
	checkVersions(t, "versions", versionsOf(t, s, "b", "k"), []*meta.Version{m4, v3, n2})
	n5, res := mustPut(t, s, "b", nullObj("n5"), nil)
	checkVersion(t, "Replaced (null was oldest)", res.Replaced, n2)
	checkVersions(t, "versions after null replaced old null", versionsOf(t, s, "b", "k"), []*meta.Version{n5, m4, v3})
	got, err := latest(t, s, "b", "k")
	if err != nil {
		t.Fatal(err)
	}
	checkVersion(t, "Latest", got, n5)
	got, err = version(t, s, "b", "k", meta.NullVersionID)
	if err != nil {
		t.Fatal(err)
	}
	checkVersion(t, "Version(null)", got, n5)

	// A null delete marker is a null version like any other.
	nm, res := mustPut(t, s, "b", withID(newMarker("k"), meta.NullVersionID), nil)
	checkVersion(t, "Replaced by null delete marker", res.Replaced, n5)
	checkVersions(t, "versions after null marker", versionsOf(t, s, "b", "k"), []*meta.Version{nm, m4, v3})

	// Once deleted, the next null version replaces nothing.
	update(t, s, func(tx meta.Tx) error {
		_, err := tx.DeleteVersion("b", "k", meta.NullVersionID)
		return err
	})
	if _, err := version(t, s, "b", "k", meta.NullVersionID); !errors.Is(err, meta.ErrNoSuchVersion) {
		t.Errorf("Version(null) after delete: %v, want ErrNoSuchVersion", err)
	}
	n7, res := mustPut(t, s, "b", nullObj("n7"), nil)
	if res.Replaced != nil {
		t.Errorf("null put after null delete replaced %+v", res.Replaced)
	}
	checkVersions(t, "final versions", versionsOf(t, s, "b", "k"), []*meta.Version{n7, m4, v3})

	// Null versions of different keys are independent.
	o, res := mustPut(t, s, "b", withID(newObject("k2"), meta.NullVersionID), nil)
	if res.Replaced != nil {
		t.Errorf("null version of another key replaced %+v", res.Replaced)
	}
	checkVersions(t, "k after null put of k2", versionsOf(t, s, "b", "k"), []*meta.Version{n7, m4, v3})
	checkVersions(t, "k2", versionsOf(t, s, "b", "k2"), []*meta.Version{o})
}

func testVersionDelete(t *testing.T, s meta.Store) {
	type step struct {
		del  int // index into the versions put, -1 for the null version
		want []int
	}
	tests := []struct {
		name string
		// nullAt puts the null version at this index of the five puts
		// (-1: no null version).
		nullAt int
		steps  []step
	}{
		{"NewestFirst", -1, []step{{4, []int{3, 2, 1, 0}}, {3, []int{2, 1, 0}}, {2, []int{1, 0}}, {1, []int{0}}, {0, nil}}},
		{"OldestFirst", -1, []step{{0, []int{4, 3, 2, 1}}, {1, []int{4, 3, 2}}, {2, []int{4, 3}}, {3, []int{4}}, {4, nil}}},
		{"Middle", -1, []step{{2, []int{4, 3, 1, 0}}, {3, []int{4, 1, 0}}, {4, []int{1, 0}}, {0, []int{1}}, {1, nil}}},
		{"NullLatest", 4, []step{{4, []int{3, 2, 1, 0}}, {0, []int{3, 2, 1}}}},
		{"NullInMiddle", 2, []step{{2, []int{4, 3, 1, 0}}, {4, []int{3, 1, 0}}, {3, []int{1, 0}}}},
		{"NullOldest", 0, []step{{4, []int{3, 2, 1, 0}}, {3, []int{2, 1, 0}}, {2, []int{1, 0}}, {1, []int{0}}, {0, nil}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := strings.ToLower(tt.name)
			mustCreateBuckets(t, s, b)
			// Neighbouring keys must be untouched by every step.
			left, _ := mustPut(t, s, b, newObject("j"), nil)
			var vs []*meta.Version
			for i := range 5 {
				v := newObject("k")
				switch {
				case i == tt.nullAt:
					v.VersionID = meta.NullVersionID
				case i == 3:
					v = newMarker("k")
				}
				v.Size = int64(i)
				got, _ := mustPut(t, s, b, v, nil)
				vs = append(vs, got)
			}
			right, _ := mustPut(t, s, b, newObject("k\x00"), nil)
			for _, st := range tt.steps {
				dv := vs[st.del]
				var gone *meta.Version
				update(t, s, func(tx meta.Tx) error {
					var err error
					gone, err = tx.DeleteVersion(b, "k", dv.VersionID)
					return err
				})
				checkVersion(t, "DeleteVersion result", gone, dv)
				var want []*meta.Version
				for _, i := range st.want {
					want = append(want, vs[i])
				}
				checkVersions(t, "versions after delete", versionsOf(t, s, b, "k"), want)
				got, err := latest(t, s, b, "k")
				if len(want) == 0 {
					if !errors.Is(err, meta.ErrNoSuchKey) {
						t.Errorf("Latest after deleting the last version: %v %v, want ErrNoSuchKey", got, err)
					}
				} else if err != nil {
					t.Errorf("Latest: %v", err)
				} else {
					checkVersion(t, "Latest after delete", got, want[0])
				}
				if _, err := version(t, s, b, "k", dv.VersionID); !errors.Is(err, meta.ErrNoSuchVersion) {
					t.Errorf("Version of deleted version: %v, want ErrNoSuchVersion", err)
				}
				err = inUpdate(t, s, func(tx meta.Tx) error {
					_, err := tx.DeleteVersion(b, "k", dv.VersionID)
					return err
				})
				checkErr(t, "second DeleteVersion", err, meta.ErrNoSuchVersion)
			}
			var keys []string
			view(t, s, func(tx meta.Tx) error {
				keys = keys[:0]
				objs, err := collect(tx.Objects(b, meta.ListOptions{}))
				for _, o := range objs {
					keys = append(keys, o.Key)
				}
				return err
			})
			want := []string{"j", "k", "k\x00"}
			if len(tt.steps) == 5 {
				want = []string{"j", "k\x00"}
			}
			if strings.Join(keys, "|") != strings.Join(want, "|") {
				t.Errorf("Objects after deletes = %q, want %q", keys, want)
			}
			checkVersions(t, "left neighbour", versionsOf(t, s, b, "j"), []*meta.Version{left})
			checkVersions(t, "right neighbour", versionsOf(t, s, b, "k\x00"), []*meta.Version{right})
		})
	}

	t.Run("Errors", func(t *testing.T) {
		mustCreateBuckets(t, s, "errors")
		v, _ := mustPut(t, s, "errors", newObject("k"), nil)
		o, _ := mustPut(t, s, "errors", newObject("o"), nil)
		tests := []struct{ name, key, id string }{
			{"MissingKey", "nope", v.VersionID},
			{"IDOfOtherKey", "k", o.VersionID},
			{"NoNullVersion", "k", meta.NullVersionID},
			{"Malformed", "k", "xyz"},
			{"Empty", "k", ""},
			{"Unknown", "k", meta.FormatID(1 << 62)},
			{"Uppercase", "k", strings.ToUpper(v.VersionID)},
		}
		for _, tt := range tests {
			before := dump(t, s)
			err := inUpdate(t, s, func(tx meta.Tx) error {
				_, err := tx.DeleteVersion("errors", tt.key, tt.id)
				return err
			})
			checkErr(t, tt.name, err, meta.ErrNoSuchVersion)
			if after := dump(t, s); after != before {
				t.Errorf("%s: failed DeleteVersion changed the store", tt.name)
			}
		}
	})
}

func testVersionDeleteMarker(t *testing.T, s meta.Store) {
	mustCreateBuckets(t, s, "b")
	v1, _ := mustPut(t, s, "b", newObject("k"), nil)
	m, _ := mustPut(t, s, "b", newMarker("k"), nil)
	if !m.DeleteMarker || m.VersionID == "" || m.VersionID == meta.NullVersionID {
		t.Errorf("stored delete marker %+v", m)
	}
	got, err := latest(t, s, "b", "k")
	if err != nil {
		t.Fatalf("Latest with a delete marker on top: %v", err)
	}
	checkVersion(t, "Latest", got, m)
	got, err = version(t, s, "b", "k", m.VersionID)
	if err != nil {
		t.Fatal(err)
	}
	checkVersion(t, "Version(marker)", got, m)
	var objs []*meta.Version
	view(t, s, func(tx meta.Tx) error {
		var err error
		objs, err = collect(tx.Objects("b", meta.ListOptions{}))
		return err
	})
	checkVersions(t, "Objects lists the marker", objs, []*meta.Version{m})

	// A delete marker on a key with no versions is a key of its own.
	m2, _ := mustPut(t, s, "b", newMarker("fresh"), nil)
	got, err = latest(t, s, "b", "fresh")
	if err != nil {
		t.Fatal(err)
	}
	checkVersion(t, "Latest(fresh)", got, m2)

	update(t, s, func(tx meta.Tx) error {
		_, err := tx.DeleteVersion("b", "k", m.VersionID)
		return err
	})
	got, err = latest(t, s, "b", "k")
	if err != nil {
		t.Fatal(err)
	}
	checkVersion(t, "Latest after removing the marker", got, v1)
}

func testVersionUpdate(t *testing.T, s meta.Store) {
	mustCreateBuckets(t, s, "b")
	var vs []*meta.Version
	for range 3 {
		v, _ := mustPut(t, s, "b", newObject("k"), nil)
		vs = append(vs, v)
	}
	want := []*meta.Version{vs[2], vs[1], vs[0]}
	for i, v := range []*meta.Version{vs[1], vs[2], vs[0]} {
		c := *v
		c.Tags = []meta.Tag{{Key: "round", Value: string(rune('0' + i))}}
		c.UserMeta = map[string]string{"changed": "yes"}
		update(t, s, func(tx meta.Tx) error { u := c; return tx.UpdateVersion("b", &u) })
		*v = c
		got := versionsOf(t, s, "b", "k")
		checkVersions(t, "order after UpdateVersion", got, want)
		for j := range got {
			checkVersion(t, "after UpdateVersion", got[j], want[j])
		}
		l, err := latest(t, s, "b", "k")
		if err != nil {
			t.Fatal(err)
		}
		checkVersion(t, "Latest after UpdateVersion", l, vs[2])
		g, err := version(t, s, "b", "k", v.VersionID)
		if err != nil {
			t.Fatal(err)
		}
		checkVersion(t, "Version after UpdateVersion", g, v)
	}

	// The contract leaves the error open; the only sensible one is
	// ErrNoSuchVersion.
	gone := *vs[0]
	update(t, s, func(tx meta.Tx) error { _, err := tx.DeleteVersion("b", "k", gone.VersionID); return err })
	before := dump(t, s)
	err := inUpdate(t, s, func(tx meta.Tx) error { c := gone; return tx.UpdateVersion("b", &c) })
	checkErr(t, "UpdateVersion of deleted version", err, meta.ErrNoSuchVersion)
	if after := dump(t, s); after != before {
		t.Errorf("UpdateVersion of a deleted version changed the store:\n%s\n---\n%s", before, after)
	}
}

func testVersionInline(t *testing.T, s meta.Store) {
	mustCreateBuckets(t, s, "b")
	inlineObj := func(key string, n int) *meta.Version {
		v := newObject(key)
		v.Parts = []meta.Part{{Number: 1, Size: int64(n)}}
		v.Size = int64(n)
		v.Inline = true
		return v
	}
	read := func(v *meta.Version) ([]byte, error) {
		var data []byte
		err := inView(t, s, func(tx meta.Tx) error {
			var err error
			data, err = tx.Inline("b", v)
			return err
		})
		return data, err
	}
	bin := make([]byte, 4096)
	for i := range bin {
		bin[i] = byte(i * 7)
	}
	contents := map[string][]byte{
		"text":   []byte("hello, world"),
		"empty":  {},
		"binary": bin,
		"zeros":  make([]byte, 100),
	}
	stored := map[string]*meta.Version{}
	for _, name := range sortedKeys(contents) {
		v, _ := mustPut(t, s, "b", inlineObj(name, len(contents[name])), contents[name])
		stored[name] = v
	}
	// A second version of "text" has its own content.
	v2, _ := mustPut(t, s, "b", inlineObj("text", 3), []byte("two"))
	for _, name := range sortedKeys(contents) {
		got, err := read(stored[name])
		if err != nil {
			t.Errorf("Inline(%s): %v", name, err)
			continue
		}
		if !bytes.Equal(got, contents[name]) {
			t.Errorf("Inline(%s) = %d bytes, want %d", name, len(got), len(contents[name]))
		}
	}
	if got, err := read(v2); err != nil || string(got) != "two" {
		t.Errorf("Inline of second version = %q, %v", got, err)
	}
	// The versions read back from the store work as arguments too.
	l, err := latest(t, s, "b", "text")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := read(l); err != nil || string(got) != "two" {
		t.Errorf("Inline(Latest) = %q, %v", got, err)
	}

	// The content is readable inside the transaction that writes it, and
	// the store keeps its own copy of the caller's buffer.
	var inTx, inTxEmpty []byte
	var inTxErr, inTxEmptyErr error
	var same *meta.Version
	update(t, s, func(tx meta.Tx) error {
		buf := []byte("original")
		v := inlineObj("same-tx", len(buf))
		if _, err := tx.PutVersion("b", v, buf); err != nil {
			return err
		}
		copy(buf, "CHANGED!")
		inTx, inTxErr = tx.Inline("b", v)
		e := inlineObj("same-tx-empty", 0)
		if _, err := tx.PutVersion("b", e, nil); err != nil {
			return err
		}
		inTxEmpty, inTxEmptyErr = tx.Inline("b", e)
		same = v
		return nil
	})
	if inTxErr != nil || string(inTx) != "original" {
		t.Errorf("Inline in the writing transaction = %q, %v; want \"original\"", inTx, inTxErr)
	}
	if inTxEmptyErr != nil || len(inTxEmpty) != 0 {
		t.Errorf("Inline of empty content in the writing transaction = %q, %v", inTxEmpty, inTxEmptyErr)
	}
	if got, err := read(same); err != nil || string(got) != "original" {
		t.Errorf("Inline after commit = %q, %v; want \"original\" (store kept the caller's buffer?)", got, err)
	}
	// Changing what Inline returned does not change the store.
	got, err := read(same)
	if err == nil && len(got) > 0 {
		was := string(got)
		got[0]++
		if again, _ := read(same); string(again) != was {
			t.Errorf("modifying Inline's result changed the stored content from %q to %q", was, again)
		}
	}

	// Content goes with its version: deleted, or replaced as the null
	// version.
	update(t, s, func(tx meta.Tx) error {
		_, err := tx.DeleteVersion("b", "binary", stored["binary"].VersionID)
		return err
	})
	if data, err := read(stored["binary"]); err == nil {
		t.Errorf("Inline of a deleted version = %d bytes, want an error", len(data))
	}
	n1, _ := mustPut(t, s, "b", withID(inlineObj("null", 5), meta.NullVersionID), []byte("first"))
	n2, res := mustPut(t, s, "b", withID(inlineObj("null", 6), meta.NullVersionID), []byte("second"))
	checkVersion(t, "Replaced", res.Replaced, n1)
	if data, err := read(n1); err == nil {
		t.Errorf("Inline of a replaced null version = %q, want an error", data)
	}
	if got, err := read(n2); err != nil || string(got) != "second" {
		t.Errorf("Inline of new null version = %q, %v", got, err)
	}
	// Other keys' content is untouched.
	if got, err := read(stored["zeros"]); err != nil || !bytes.Equal(got, contents["zeros"]) {
		t.Errorf("Inline(zeros) after other deletes = %q, %v", got, err)
	}
}

// testVersionIsolation checks that buckets do not share keys.
func testVersionIsolation(t *testing.T, s meta.Store) {
	mustCreateBuckets(t, s, "a", "a2", "b")
	va, _ := mustPut(t, s, "a", newObject("k"), nil)
	vb, _ := mustPut(t, s, "b", withID(newObject("k"), meta.NullVersionID), nil)
	if _, err := latest(t, s, "a2", "k"); !errors.Is(err, meta.ErrNoSuchKey) {
		t.Errorf("Latest in bucket a2: %v, want ErrNoSuchKey", err)
	}
	if _, err := version(t, s, "b", "k", va.VersionID); !errors.Is(err, meta.ErrNoSuchVersion) {
		t.Errorf("Version of bucket a's version in bucket b: %v", err)
	}
	if _, err := version(t, s, "a", "k", meta.NullVersionID); !errors.Is(err, meta.ErrNoSuchVersion) {
		t.Errorf("bucket b's null version visible in bucket a: %v", err)
	}
	update(t, s, func(tx meta.Tx) error {
		_, err := tx.DeleteVersion("b", "k", vb.VersionID)
		return err
	})
	got, err := latest(t, s, "a", "k")
	if err != nil {
		t.Fatal(err)
	}
	checkVersion(t, "bucket a after delete in bucket b", got, va)
}
