package bolt

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/meta"
	"github.com/sluicehq/sluice/internal/meta/metatest"
)

// MustOpen opens a store in a new temporary directory and closes it when
// the test ends.
func MustOpen(tb testing.TB, opts Options) *Store {
	tb.Helper()
	return mustOpenPath(tb, filepath.Join(tb.TempDir(), "meta.db"), opts)
}

func mustOpenPath(tb testing.TB, path string, opts Options) *Store {
	tb.Helper()
	s, err := Open(path, opts)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	tests := []struct {
		name string
		opts Options
	}{
		{"Durable", Options{}},
		{"NoSync", Options{NoSync: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			metatest.Run(t, func(t *testing.T) meta.Store { return MustOpen(t, tt.opts) })
		})
	}
}

var t0 = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

// TestReopen checks that everything committed before Close is there after
// reopening the file, and nothing rolled back is.
func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "dir", "meta.db")
	ctx := context.Background()
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var v1, v2, inline *meta.Version
	var up *meta.Upload
	err = s.Update(ctx, func(tx meta.Tx) error {
		b := &meta.Bucket{Name: "b", Owner: "o", Created: t0, Versioning: meta.VersioningEnabled,
			Tags: []meta.Tag{{Key: "k", Value: "v"}}, Configs: map[string][]byte{"cors": []byte("<x/>")}}
		if err := tx.CreateBucket(b); err != nil {
			return err
		}
		v1 = &meta.Version{Key: "k\x00\xff", LastModified: t0, Size: 3, Parts: []meta.Part{{Number: 1, Size: 3, BlobID: "blob1"}}}
		v2 = &meta.Version{Key: "k\x00\xff", VersionID: meta.NullVersionID, LastModified: t0, Size: 3}
		inline = &meta.Version{Key: "small", LastModified: t0, Size: 5, Inline: true}
		for _, v := range []*meta.Version{v1, v2} {
			if _, err := tx.PutVersion("b", v, nil); err != nil {
				return err
			}
		}
		if _, err := tx.PutVersion("b", inline, []byte("hello")); err != nil {
			return err
		}
		up = &meta.Upload{Key: "big", Initiated: t0}
		if err := tx.CreateUpload("b", up); err != nil {
			return err
		}
		if _, err := tx.PutPart("b", "big", up.UploadID, &meta.UploadPart{Number: 7, Size: 9, ETag: "e", BlobID: "p7", LastModified: t0}); err != nil {
			return err
		}
		for _, id := range []string{"blob1", "p7", "old"} {
			if err := tx.RefBlob(id); err != nil {
				return err
			}
		}
		if err := tx.ReleaseBlobs("old"); err != nil {
			return err
		}
		if err := tx.PutUser(&meta.User{Name: "alice", ID: "AIDA", Created: t0}, true); err != nil {
			return err
		}
		return tx.PutAccessKey(&meta.AccessKey{ID: "AKIA", Secret: "s", UserName: "alice", Status: "Active", Created: t0}, true)
	})
	if err != nil {
		t.Fatal(err)
	}
	// A rolled-back change must not reach the file.
	errBoom := errors.New("boom")
	if err := s.Update(ctx, func(tx meta.Tx) error {
		if err := tx.CreateBucket(&meta.Bucket{Name: "ghost", Created: t0}); err != nil {
			return err
		}
		return errBoom
	}); !errors.Is(err, errBoom) {
		t.Fatalf("failing Update: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = mustOpenPath(t, path, Options{})
	var problems []string
	err = s.View(ctx, func(tx meta.Tx) error {
		fail := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
		b, err := tx.Bucket("b")
		if err != nil || b.Versioning != meta.VersioningEnabled || string(b.Configs["cors"]) != "<x/>" || len(b.Tags) != 1 {
			fail("Bucket(b) = %+v, %v", b, err)
		}
		if _, err := tx.Bucket("ghost"); !errors.Is(err, meta.ErrNoSuchBucket) {
			fail("rolled-back bucket after reopen: %v", err)
		}
		l, err := tx.Latest("b", "k\x00\xff")
		if err != nil || l.VersionID != meta.NullVersionID || l.Seq != v2.Seq {
			fail("Latest = %+v, %v", l, err)
		}
		if v, err := tx.Version("b", "k\x00\xff", v1.VersionID); err != nil || v.Seq != v1.Seq || v.Parts[0].BlobID != "blob1" {
			fail("Version(v1) = %+v, %v", v, err)
		}
		if data, err := tx.Inline("b", inline); err != nil || string(data) != "hello" {
			fail("Inline = %q, %v", data, err)
		}
		parts, err := collectParts(tx, up)
		if err != nil || len(parts) != 1 || parts[0].Number != 7 {
			fail("Parts = %+v, %v", parts, err)
		}
		for id, want := range map[string]bool{"blob1": true, "p7": true, "old": false} {
			if ok, err := tx.BlobReferenced(id); err != nil || ok != want {
				fail("BlobReferenced(%s) = %v, %v", id, ok, err)
			}
		}
		if ids, err := tx.ReleasedBlobs(10); err != nil || len(ids) != 1 || ids[0] != "old" {
			fail("ReleasedBlobs = %q, %v", ids, err)
		}
		if u, err := tx.User("alice"); err != nil || u.ID != "AIDA" {
			fail("User = %+v, %v", u, err)
		}
		if k, err := tx.AccessKey("AKIA"); err != nil || k.Secret != "s" {
			fail("AccessKey = %+v, %v", k, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
	// Sequence numbers continue after the reopen.
	var v3 meta.Version
	if err := s.Update(ctx, func(tx meta.Tx) error {
		v3 = meta.Version{Key: "k\x00\xff", LastModified: t0}
		_, err := tx.PutVersion("b", &v3, nil)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if v3.Seq <= v2.Seq {
		t.Errorf("Seq after reopen = %d, not after %d", v3.Seq, v2.Seq)
	}
}

func collectParts(tx meta.Tx, up *meta.Upload) ([]*meta.UploadPart, error) {
	var out []*meta.UploadPart
	for p, err := range tx.Parts("b", up.Key, up.UploadID, 0) {
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// TestCloseWhileBusyDurable closes the store under concurrent Updates and
// checks after reopening that exactly the Updates that returned nil were
// committed: an Update that returns ErrClosed never ran.
func TestCloseWhileBusyDurable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "meta.db")
	ctx := context.Background()
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Update(ctx, func(tx meta.Tx) error {
		return tx.CreateBucket(&meta.Bucket{Name: "c", Created: t0})
	}); err != nil {
		t.Fatal(err)
	}
	var ok atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for g := range 32 {
		wg.Go(func() {
			for i := 0; ; i++ {
				err := s.Update(ctx, func(tx meta.Tx) error {
					_, err := tx.PutVersion("c", &meta.Version{Key: fmt.Sprintf("%02d/%06d", g, i), LastModified: t0}, nil)
					return err
				})
				if err != nil {
					errs <- err
					return
				}
				ok.Add(1)
			}
		})
	}
	for deadline := time.Now().Add(10 * time.Second); ok.Load() < 200 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if !errors.Is(err, meta.ErrClosed) {
			t.Errorf("Update racing Close: %v", err)
		}
	}

	s = mustOpenPath(t, path, Options{})
	var n int64
	if err := s.View(ctx, func(tx meta.Tx) error {
		n = 0
		for _, err := range tx.Objects("c", meta.ListOptions{}) {
			if err != nil {
				return err
			}
			n++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n != ok.Load() {
		t.Errorf("%d versions after reopen, but %d Updates reported success", n, ok.Load())
	}
}
