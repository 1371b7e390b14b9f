package metatest

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/internal/meta"
)

var blobTests = []test{
	{"Refs", testBlobRefs},
	{"Released", testBlobReleased},
}

var identityTests = []test{
	{"Users", testUsers},
	{"AccessKeys", testAccessKeys},
}

func referenced(t *testing.T, s meta.Store, id string) bool {
	t.Helper()
	var ok bool
	view(t, s, func(tx meta.Tx) error {
		var err error
		ok, err = tx.BlobReferenced(id)
		return err
	})
	return ok
}

func released(t *testing.T, s meta.Store, limit int) []string {
	t.Helper()
	var ids []string
	view(t, s, func(tx meta.Tx) error {
		var err error
		ids, err = tx.ReleasedBlobs(limit)
		return err
	})
	slices.Sort(ids)
	return ids
}

func testBlobRefs(t *testing.T, s meta.Store) {
	ids := []string{"0123456789abcdef0123456789abcdef", "b1", "b2", "b3"}
	var inTx []bool
	update(t, s, func(tx meta.Tx) error {
		inTx = inTx[:0]
		for _, id := range ids {
			if err := tx.RefBlob(id); err != nil {
				return err
			}
			// The reference is visible inside the transaction that
			// makes it.
			ok, err := tx.BlobReferenced(id)
			if err != nil {
				return err
			}
			inTx = append(inTx, ok)
		}
		return nil
	})
	for i, ok := range inTx {
		if !ok {
			t.Errorf("BlobReferenced(%s) = false in the transaction that called RefBlob", ids[i])
		}
	}
	for _, id := range ids {
		if !referenced(t, s, id) {
			t.Errorf("BlobReferenced(%s) = false after RefBlob", id)
		}
	}
	for _, id := range []string{"", "b", "b10", "0123456789abcdef0123456789abcdeF", "unknown"} {
		if referenced(t, s, id) {
			t.Errorf("BlobReferenced(%q) = true, never referenced", id)
		}
	}
	// Referencing twice is harmless.
	update(t, s, func(tx meta.Tx) error { return tx.RefBlob("b1") })
	if !referenced(t, s, "b1") {
		t.Errorf("BlobReferenced(b1) = false after second RefBlob")
	}
	if got := released(t, s, 100); len(got) != 0 {
		t.Errorf("ReleasedBlobs before any release = %q", got)
	}
}

func testBlobReleased(t *testing.T, s meta.Store) {
	var ids []string
	for i := range 10 {
		ids = append(ids, fmt.Sprintf("blob-%02d", i))
	}
	update(t, s, func(tx meta.Tx) error {
		for _, id := range ids {
			if err := tx.RefBlob(id); err != nil {
				return err
			}
		}
		return nil
	})
	update(t, s, func(tx meta.Tx) error { return tx.ReleaseBlobs(ids[:3]...) })
	update(t, s, func(tx meta.Tx) error { return tx.ReleaseBlobs(ids[3:6]...) })
	update(t, s, func(tx meta.Tx) error { return tx.ReleaseBlobs() })
	for i, id := range ids {
		if got, want := referenced(t, s, id), i >= 6; got != want {
			t.Errorf("BlobReferenced(%s) = %v after release, want %v", id, got, want)
		}
	}
	if got := released(t, s, 100); !slices.Equal(got, ids[:6]) {
		t.Errorf("ReleasedBlobs(100) = %q, want %q", got, ids[:6])
	}
	// limit bounds the answer; every ID returned is queued.
	for _, limit := range []int{1, 4, 6} {
		got := released(t, s, limit)
		if len(got) != limit {
			t.Errorf("ReleasedBlobs(%d) returned %d IDs", limit, len(got))
		}
		for _, id := range got {
			if !slices.Contains(ids[:6], id) {
				t.Errorf("ReleasedBlobs(%d) returned %q, never released", limit, id)
			}
		}
	}
	update(t, s, func(tx meta.Tx) error { return tx.ForgetReleased(ids[1], ids[4], "never-released") })
	want := []string{ids[0], ids[2], ids[3], ids[5]}
	if got := released(t, s, 100); !slices.Equal(got, want) {
		t.Errorf("ReleasedBlobs after ForgetReleased = %q, want %q", got, want)
	}
	// Draining the queue the way a collector does ends.
	for range 10 {
		batch := released(t, s, 3)
		if len(batch) == 0 {
			break
		}
		update(t, s, func(tx meta.Tx) error { return tx.ForgetReleased(batch...) })
	}
	if got := released(t, s, 100); len(got) != 0 {
		t.Errorf("queue not drained: %q", got)
	}
	for i, id := range ids {
		if got, want := referenced(t, s, id), i >= 6; got != want {
			t.Errorf("BlobReferenced(%s) = %v after ForgetReleased, want %v", id, got, want)
		}
	}
}

func testUsers(t *testing.T, s meta.Store) {
	alice := &meta.User{Name: "alice", ID: "AIDAALICE", ARN: "arn:aws:iam::000000000000:user/alice", Path: "/", Created: t0}
	bob := &meta.User{Name: "bob", ID: "AIDABOB", ARN: "arn:aws:iam::000000000000:user/eng/bob", Path: "/eng/", Created: t0,
		Tags: []meta.Tag{{Key: "team", Value: "eng"}, {Key: "empty", Value: ""}}}
	get := func(name string) (*meta.User, error) {
		var u *meta.User
		err := inView(t, s, func(tx meta.Tx) error {
			var err error
			u, err = tx.User(name)
			return err
		})
		return u, err
	}
	check := func(what string, want *meta.User) {
		t.Helper()
		got, err := get(want.Name)
		if err != nil {
			t.Errorf("%s: User(%s): %v", what, want.Name, err)
			return
		}
		g, w := *got, *want
		g.Created, w.Created = g.Created.UTC(), w.Created.UTC()
		if !reflect.DeepEqual(g, w) {
			t.Errorf("%s: got %+v, want %+v", what, g, w)
		}
	}
	list := func() []string {
		var names []string
		view(t, s, func(tx meta.Tx) error {
			names = names[:0]
			us, err := collect(tx.Users())
			for _, u := range us {
				names = append(names, u.Name)
			}
			return err
		})
		slices.Sort(names)
		return names
	}
	if _, err := get("alice"); err == nil {
		t.Fatal("User of an empty store succeeded")
	} else {
		checkErr(t, "User(missing)", err, meta.ErrNoSuchUser)
	}
	if got := list(); len(got) != 0 {
		t.Errorf("Users() of an empty store = %q", got)
	}
	update(t, s, func(tx meta.Tx) error { return tx.PutUser(alice, true) })
	update(t, s, func(tx meta.Tx) error { return tx.PutUser(bob, true) })
	check("created", alice)
	check("created", bob)

	tests := []struct {
		name string
		op   func(tx meta.Tx) error
		err  error
	}{
		{"CreateExisting", func(tx meta.Tx) error { return tx.PutUser(&meta.User{Name: "alice", ID: "X"}, true) }, meta.ErrUserExists},
		{"UpdateMissing", func(tx meta.Tx) error { return tx.PutUser(&meta.User{Name: "carol", ID: "X"}, false) }, meta.ErrNoSuchUser},
		{"DeleteMissing", func(tx meta.Tx) error { return tx.DeleteUser("carol") }, meta.ErrNoSuchUser},
	}
	for _, tt := range tests {
		before := dump(t, s)
		checkErr(t, tt.name, inUpdate(t, s, tt.op), tt.err)
		if after := dump(t, s); after != before {
			t.Errorf("%s changed the store", tt.name)
		}
	}

	moved := *bob
	moved.Path = "/ops/"
	update(t, s, func(tx meta.Tx) error { return tx.PutUser(&moved, false) })
	check("updated", &moved)
	if got := list(); !slices.Equal(got, []string{"alice", "bob"}) {
		t.Errorf("Users() = %q", got)
	}
	update(t, s, func(tx meta.Tx) error { return tx.DeleteUser("alice") })
	if _, err := get("alice"); err == nil {
		t.Errorf("User(alice) after delete succeeded")
	} else {
		checkErr(t, "User after delete", err, meta.ErrNoSuchUser)
	}
	checkErr(t, "second DeleteUser", inUpdate(t, s, func(tx meta.Tx) error { return tx.DeleteUser("alice") }), meta.ErrNoSuchUser)
	if got := list(); !slices.Equal(got, []string{"bob"}) {
		t.Errorf("Users() after delete = %q", got)
	}
	// The name can be created again.
	update(t, s, func(tx meta.Tx) error { return tx.PutUser(alice, true) })
	check("re-created", alice)
}

func testAccessKeys(t *testing.T, s meta.Store) {
	keys := []*meta.AccessKey{
		{ID: "AKIAROOT0000000001", Secret: "root-secret", Status: "Active", Created: t0},
		{ID: "AKIAALICE000000001", Secret: "a1", UserName: "alice", Status: "Active", Created: t0},
		{ID: "AKIAALICE000000002", Secret: "a2", UserName: "alice", Status: "Inactive", Created: t0},
		{ID: "AKIABOB00000000001", Secret: "b1", UserName: "bob", Status: "Active", Created: t0},
		{ID: "AKIAALIC", Secret: "prefix-of-another-id", UserName: "alicea", Status: "Active", Created: t0},
	}
	update(t, s, func(tx meta.Tx) error {
		for _, k := range keys {
			if err := tx.PutAccessKey(k, true); err != nil {
				return err
			}
		}
		return nil
	})
	get := func(id string) (*meta.AccessKey, error) {
		var k *meta.AccessKey
		err := inView(t, s, func(tx meta.Tx) error {
			var err error
			k, err = tx.AccessKey(id)
			return err
		})
		return k, err
	}
	same := func(a, b *meta.AccessKey) bool {
		x, y := *a, *b
		x.Created, y.Created = x.Created.UTC(), y.Created.UTC()
		return reflect.DeepEqual(x, y)
	}
	for _, k := range keys {
		got, err := get(k.ID)
		if err != nil {
			t.Errorf("AccessKey(%s): %v", k.ID, err)
		} else if !same(got, k) {
			t.Errorf("AccessKey(%s) = %+v, want %+v", k.ID, got, k)
		}
	}
	list := func(user string) []string {
		var ids []string
		view(t, s, func(tx meta.Tx) error {
			ids = ids[:0]
			ks, err := collect(tx.AccessKeys(user))
			for _, k := range ks {
				ids = append(ids, k.ID)
			}
			return err
		})
		slices.Sort(ids)
		return ids
	}
	lists := []struct {
		user string
		want []string
	}{
		{"", []string{"AKIAROOT0000000001"}},
		{"alice", []string{"AKIAALICE000000001", "AKIAALICE000000002"}},
		{"alicea", []string{"AKIAALIC"}},
		{"bob", []string{"AKIABOB00000000001"}},
		{"carol", nil},
		{"ALICE", nil},
	}
	for _, l := range lists {
		if got := list(l.user); !slices.Equal(got, l.want) {
			t.Errorf("AccessKeys(%q) = %q, want %q", l.user, got, l.want)
		}
	}

	errs := []struct {
		name string
		op   func(tx meta.Tx) error
		err  error
	}{
		{"CreateExisting", func(tx meta.Tx) error {
			return tx.PutAccessKey(&meta.AccessKey{ID: keys[1].ID, Secret: "stolen", UserName: "mallory"}, true)
		}, meta.ErrAccessKeyExists},
		{"UpdateMissing", func(tx meta.Tx) error {
			return tx.PutAccessKey(&meta.AccessKey{ID: "AKIANOPE", Secret: "x"}, false)
		}, meta.ErrNoSuchAccessKey},
		{"DeleteMissing", func(tx meta.Tx) error { return tx.DeleteAccessKey("AKIANOPE") }, meta.ErrNoSuchAccessKey},
		{"DeleteByPrefix", func(tx meta.Tx) error { return tx.DeleteAccessKey("AKIA") }, meta.ErrNoSuchAccessKey},
	}
	for _, tt := range errs {
		before := dump(t, s)
		checkErr(t, tt.name, inUpdate(t, s, tt.op), tt.err)
		if after := dump(t, s); after != before {
			t.Errorf("%s changed the store", tt.name)
		}
	}
	if _, err := get("AKIANOPE"); err == nil {
		t.Errorf("AccessKey(missing) succeeded")
	} else {
		checkErr(t, "AccessKey(missing)", err, meta.ErrNoSuchAccessKey)
	}

	off := *keys[1]
	off.Status = "Inactive"
	update(t, s, func(tx meta.Tx) error { return tx.PutAccessKey(&off, false) })
	if got, err := get(off.ID); err != nil || !same(got, &off) {
		t.Errorf("AccessKey after update = %+v, %v", got, err)
	}
	update(t, s, func(tx meta.Tx) error { return tx.DeleteAccessKey(keys[2].ID) })
	if _, err := get(keys[2].ID); err == nil {
		t.Errorf("AccessKey after delete succeeded")
	}
	checkErr(t, "second DeleteAccessKey", inUpdate(t, s, func(tx meta.Tx) error { return tx.DeleteAccessKey(keys[2].ID) }), meta.ErrNoSuchAccessKey)
	if got := list("alice"); strings.Join(got, ",") != keys[1].ID {
		t.Errorf("AccessKeys(alice) after delete = %q", got)
	}
}
