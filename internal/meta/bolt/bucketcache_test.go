package bolt

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/sluicehq/sluice/internal/meta"
)

func fullBucket() *meta.Bucket {
	return &meta.Bucket{
		Name:       "b1",
		Owner:      "owner",
		Created:    t0,
		Region:     "us-east-1",
		Versioning: meta.VersioningEnabled,
		Tags:       []meta.Tag{{Key: "k", Value: "v"}},
		Configs:    map[string][]byte{"notification": []byte(`{"a":1}`), "empty": {}},
		ACL:        &meta.ACL{Grants: []meta.Grant{{ID: "id", Permission: "READ"}}},
	}
}

// TestCachedBucketsAreCopies checks that a caller changing the bucket it
// was given, in every place a bucket holds memory, changes nothing another
// caller reads, and that reads after a change see the change.
func TestCachedBucketsAreCopies(t *testing.T) {
	ctx := context.Background()
	s := MustOpen(t, Options{NoSync: true})
	want := fullBucket()
	if err := s.Update(ctx, func(tx meta.Tx) error { return tx.CreateBucket(want) }); err != nil {
		t.Fatal(err)
	}
	read := func() *meta.Bucket {
		t.Helper()
		var b *meta.Bucket
		if err := s.View(ctx, func(tx meta.Tx) (err error) {
			b, err = tx.Bucket("b1")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return b
	}
	for i := 0; i < 3; i++ {
		b := read()
		if !reflect.DeepEqual(b, want) {
			t.Fatalf("read %d: got %+v, want %+v", i, b, want)
		}
		b.Name = "x"
		b.Tags[0].Key = "changed"
		b.Tags = append(b.Tags, meta.Tag{Key: "more"})
		b.Configs["notification"][1] = 'X'
		b.Configs["new"] = []byte("n")
		b.ACL.Grants[0].Permission = "WRITE"
		b.ACL = nil
	}

	// A change committed is seen; one rolled back is not.
	if err := s.Update(ctx, func(tx meta.Tx) error {
		b, err := tx.Bucket("b1")
		if err != nil {
			return err
		}
		b.Tags = nil
		return tx.PutBucket(b)
	}); err != nil {
		t.Fatal(err)
	}
	want.Tags = nil
	if got := read(); !reflect.DeepEqual(got, want) {
		t.Fatalf("after update: got %+v, want %+v", got, want)
	}
	boom := errors.New("boom")
	if err := s.Update(ctx, func(tx meta.Tx) error {
		b, err := tx.Bucket("b1")
		if err != nil {
			return err
		}
		b.Versioning = meta.VersioningSuspended
		if err := tx.PutBucket(b); err != nil {
			return err
		}
		if got, err := tx.Bucket("b1"); err != nil || got.Versioning != meta.VersioningSuspended {
			t.Errorf("inside the tx: %+v, %v", got, err)
		}
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("Update: %v", err)
	}
	if got := read(); !reflect.DeepEqual(got, want) {
		t.Fatalf("after rollback: got %+v, want %+v", got, want)
	}
	if err := s.Update(ctx, func(tx meta.Tx) error { return tx.DeleteBucket("b1") }); err != nil {
		t.Fatal(err)
	}
	if err := s.View(ctx, func(tx meta.Tx) error {
		_, err := tx.Bucket("b1")
		return err
	}); !errors.Is(err, meta.ErrNoSuchBucket) {
		t.Fatalf("deleted bucket: %v", err)
	}
}

// TestCloneBucketSharesNothing walks every field of meta.Bucket, so a field
// added later that holds memory fails here until cloneBucket copies it.
func TestCloneBucketSharesNothing(t *testing.T) {
	b := fullBucket()
	v := reflect.ValueOf(b).Elem()
	for i := 0; i < v.NumField(); i++ {
		if v.Field(i).IsZero() {
			t.Fatalf("fullBucket leaves %s zero: fill it so this test covers it", v.Type().Field(i).Name)
		}
	}
	c := cloneBucket(b)
	if !reflect.DeepEqual(b, c) {
		t.Fatalf("clone differs: %+v vs %+v", c, b)
	}
	var walk func(path string, a, b reflect.Value)
	walk = func(path string, a, b reflect.Value) {
		switch a.Kind() {
		case reflect.Pointer:
			if !a.IsNil() && a.Pointer() == b.Pointer() {
				t.Errorf("%s: pointer shared", path)
			}
			if !a.IsNil() {
				walk(path, a.Elem(), b.Elem())
			}
		case reflect.Slice:
			if a.Len() > 0 && a.Pointer() == b.Pointer() {
				t.Errorf("%s: slice shared", path)
			}
			for i := 0; i < a.Len(); i++ {
				walk(path+"[]", a.Index(i), b.Index(i))
			}
		case reflect.Map:
			if !a.IsNil() && a.Pointer() == b.Pointer() {
				t.Errorf("%s: map shared", path)
			}
			for _, k := range a.MapKeys() {
				walk(path+"[k]", a.MapIndex(k), b.MapIndex(k))
			}
		case reflect.Struct:
			if a.Type() == reflect.TypeOf(t0) {
				return
			}
			for i := 0; i < a.NumField(); i++ {
				walk(path+"."+a.Type().Field(i).Name, a.Field(i), b.Field(i))
			}
		case reflect.Interface, reflect.Chan, reflect.Func, reflect.UnsafePointer:
			t.Errorf("%s: kind %s not handled by cloneBucket", path, a.Kind())
		}
	}
	walk("Bucket", reflect.ValueOf(b).Elem(), reflect.ValueOf(c).Elem())
}
