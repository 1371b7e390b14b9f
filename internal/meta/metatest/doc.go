package metatest

import (
	"errors"
	"slices"
	"testing"

	"github.com/sluicehq/sluice/internal/meta"
)

var docTests = []test{
	{"CRUD", testDocCRUD},
	{"List", testDocList},
	{"Seq", testNextSeq},
}

func testDocCRUD(t *testing.T, s meta.Store) {
	if err := inView(t, s, func(tx meta.Tx) error { _, err := tx.Doc("k", "a"); return err }); !errors.Is(err, meta.ErrNoSuchDoc) {
		t.Fatalf("Doc of an empty kind: %v, want ErrNoSuchDoc", err)
	}
	if err := inView(t, s, func(tx meta.Tx) error { return tx.PutDoc("k", "a", []byte("x")) }); !errors.Is(err, meta.ErrReadOnly) {
		t.Fatalf("PutDoc in View: %v, want ErrReadOnly", err)
	}
	update(t, s, func(tx meta.Tx) error {
		if err := tx.PutDoc("k", "a", []byte("one")); err != nil {
			return err
		}
		if err := tx.PutDoc("other", "a", []byte("elsewhere")); err != nil {
			return err
		}
		// Empty values are values.
		return tx.PutDoc("k", "empty", nil)
	})
	for _, tc := range []struct {
		kind, key, want string
	}{{"k", "a", "one"}, {"other", "a", "elsewhere"}, {"k", "empty", ""}} {
		var got []byte
		view(t, s, func(tx meta.Tx) error {
			var err error
			got, err = tx.Doc(tc.kind, tc.key)
			return err
		})
		if string(got) != tc.want {
			t.Errorf("Doc(%q, %q) = %q, want %q", tc.kind, tc.key, got, tc.want)
		}
	}
	update(t, s, func(tx meta.Tx) error { return tx.PutDoc("k", "a", []byte("two")) })
	view(t, s, func(tx meta.Tx) error {
		got, err := tx.Doc("k", "a")
		if err == nil && string(got) != "two" {
			t.Errorf("after replace: %q", got)
		}
		return err
	})
	if err := inUpdate(t, s, func(tx meta.Tx) error { return tx.DeleteDoc("k", "missing") }); !errors.Is(err, meta.ErrNoSuchDoc) {
		t.Fatalf("DeleteDoc of a missing key: %v", err)
	}
	update(t, s, func(tx meta.Tx) error { return tx.DeleteDoc("k", "a") })
	if err := inView(t, s, func(tx meta.Tx) error { _, err := tx.Doc("k", "a"); return err }); !errors.Is(err, meta.ErrNoSuchDoc) {
		t.Fatalf("Doc after delete: %v", err)
	}
}

func testDocList(t *testing.T, s meta.Store) {
	keys := []string{"a", "a/1", "a/2", "b", "b\x00c", "c/\xff", "é"}
	update(t, s, func(tx meta.Tx) error {
		for i, k := range slices.Backward(keys) {
			if err := tx.PutDoc("list", k, []byte{byte(i)}); err != nil {
				return err
			}
		}
		return nil
	})
	for _, tc := range []struct {
		name string
		opts meta.ListOptions
		want []string
	}{
		{"all", meta.ListOptions{}, keys},
		{"prefix", meta.ListOptions{Prefix: "a/"}, []string{"a/1", "a/2"}},
		{"after", meta.ListOptions{After: "a/1"}, []string{"a/2", "b", "b\x00c", "c/\xff", "é"}},
		{"after inclusive", meta.ListOptions{After: "b", Inclusive: true}, []string{"b", "b\x00c", "c/\xff", "é"}},
		{"after below prefix", meta.ListOptions{Prefix: "b", After: "a"}, []string{"b", "b\x00c"}},
		{"nothing", meta.ListOptions{Prefix: "z"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			view(t, s, func(tx meta.Tx) error {
				got = got[:0]
				for d, err := range tx.Docs("list", tc.opts) {
					if err != nil {
						return err
					}
					got = append(got, d.Key)
				}
				return nil
			})
			if !slices.Equal(got, tc.want) {
				t.Errorf("Docs(%+v) = %q, want %q", tc.opts, got, tc.want)
			}
		})
	}
	// An early break must be harmless.
	view(t, s, func(tx meta.Tx) error {
		for range tx.Docs("list", meta.ListOptions{}) {
			break
		}
		return nil
	})
}

func testNextSeq(t *testing.T, s meta.Store) {
	var a, b uint64
	update(t, s, func(tx meta.Tx) error {
		var err error
		if a, err = tx.NextSeq(); err != nil {
			return err
		}
		b, err = tx.NextSeq()
		return err
	})
	var c uint64
	update(t, s, func(tx meta.Tx) error {
		var err error
		c, err = tx.NextSeq()
		return err
	})
	if !(a < b && b < c) {
		t.Fatalf("NextSeq not increasing: %d, %d, %d", a, b, c)
	}
	if err := inView(t, s, func(tx meta.Tx) error { _, err := tx.NextSeq(); return err }); !errors.Is(err, meta.ErrReadOnly) {
		t.Fatalf("NextSeq in View: %v, want ErrReadOnly", err)
	}
}
