package metatest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/meta"
)

var txTests = []test{
	{"Rollback", testTxRollback},
	{"Panic", testTxPanic},
	{"ReadOnly", testTxReadOnly},
	{"ReadYourWrites", testTxReadYourWrites},
	{"Snapshot", testTxSnapshot},
	{"SnapshotUnderLoad", testTxSnapshotUnderLoad},
	{"Serializable", testTxSerializable},
	{"FailuresInBatch", testTxFailuresInBatch},
	{"Close", testTxClose},
	{"CloseWhileBusy", testTxCloseWhileBusy},
	{"CancelledContext", testTxCancelledContext},
}

// errFail is returned by closures that fail on purpose.
var errFail = errors.New("metatest: closure failed on purpose")

// counter reads the integer kept in bucket's "n" configuration document.
func counter(tx meta.Tx, bucket string) (int, error) {
	b, err := tx.Bucket(bucket)
	if err != nil {
		return 0, err
	}
	if b.Configs["n"] == nil {
		return 0, nil
	}
	return strconv.Atoi(string(b.Configs["n"]))
}

// addCounter adds d to bucket's counter.
func addCounter(tx meta.Tx, bucket string, d int) error {
	b, err := tx.Bucket(bucket)
	if err != nil {
		return err
	}
	n := 0
	if b.Configs["n"] != nil {
		if n, err = strconv.Atoi(string(b.Configs["n"])); err != nil {
			return err
		}
	}
	b.Configs = map[string][]byte{"n": []byte(strconv.Itoa(n + d))}
	return tx.PutBucket(b)
}

// readCounter reads a counter in its own View.
func readCounter(t *testing.T, s meta.Store, bucket string) int {
	t.Helper()
	var n int
	view(t, s, func(tx meta.Tx) error {
		var err error
		n, err = counter(tx, bucket)
		return err
	})
	return n
}

// within runs fn and fails the test if it does not return in time.
func within(t *testing.T, d time.Duration, what string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s did not return within %v", what, d)
	}
}

// txFixture is a store with something of every kind in it, for tests that
// check that a failed transaction changes nothing.
type txFixture struct {
	v1, v2, null *meta.Version // versions of "k" in bucket "keep", v2 latest
	upload       *meta.Upload  // with parts 1 and 2
	blobs        []string      // referenced: blobs[0:2]; released: blobs[2:4]
}

func newTxFixture(t *testing.T, s meta.Store) *txFixture {
	t.Helper()
	f := &txFixture{blobs: []string{"ref-0", "ref-1", "rel-2", "rel-3", "never-4"}}
	mustCreateBuckets(t, s, "keep", "empty")
	inline := newObject("inline")
	inline.Parts, inline.Inline = nil, true
	update(t, s, func(tx meta.Tx) error {
		f.null = withID(newObject("k"), meta.NullVersionID)
		f.v1, f.v2 = newObject("k"), newObject("k")
		for _, v := range []*meta.Version{f.null, f.v1, f.v2} {
			if _, err := tx.PutVersion("keep", v, nil); err != nil {
				return err
			}
		}
		if _, err := tx.PutVersion("keep", inline, []byte("inline data")); err != nil {
			return err
		}
		f.upload = newUpload("up")
		if err := tx.CreateUpload("keep", f.upload); err != nil {
			return err
		}
		for _, n := range []int{1, 2} {
			if _, err := tx.PutPart("keep", "up", f.upload.UploadID, newPart(n)); err != nil {
				return err
			}
		}
		for _, id := range f.blobs[:4] {
			if err := tx.RefBlob(id); err != nil {
				return err
			}
		}
		if err := tx.ReleaseBlobs(f.blobs[2:4]...); err != nil {
			return err
		}
		if err := tx.PutUser(&meta.User{Name: "alice", ID: "AIDA1", Created: t0}, true); err != nil {
			return err
		}
		return tx.PutAccessKey(&meta.AccessKey{ID: "AKIA1", Secret: "s", UserName: "alice", Status: "Active", Created: t0}, true)
	})
	return f
}

func (f *txFixture) dump(t *testing.T, s meta.Store) string {
	t.Helper()
	return dump(t, s, f.blobs...)
}

// mutations returns closures that each change the fixture in one way, and
// one that makes every change; each returns an error only if a write
// unexpectedly failed.
func (f *txFixture) mutations() []struct {
	name string
	fn   func(tx meta.Tx) error
} {
	type mut = struct {
		name string
		fn   func(tx meta.Tx) error
	}
	ms := []mut{
		{"CreateBucket", func(tx meta.Tx) error { return tx.CreateBucket(newBucket("new")) }},
		{"CreateBucketWithContent", func(tx meta.Tx) error {
			if err := tx.CreateBucket(newBucket("new")); err != nil {
				return err
			}
			if _, err := tx.PutVersion("new", newObject("x"), nil); err != nil {
				return err
			}
			return tx.CreateUpload("new", newUpload("y"))
		}},
		{"PutBucket", func(tx meta.Tx) error {
			b := newBucket("keep")
			b.Versioning = meta.VersioningEnabled
			return tx.PutBucket(b)
		}},
		{"DeleteBucket", func(tx meta.Tx) error { return tx.DeleteBucket("empty") }},
		{"PutVersion", func(tx meta.Tx) error { _, err := tx.PutVersion("keep", newObject("k"), nil); return err }},
		{"PutVersionInline", func(tx meta.Tx) error {
			v := newObject("new-inline")
			v.Parts, v.Inline = nil, true
			_, err := tx.PutVersion("keep", v, []byte("new data"))
			return err
		}},
		{"ReplaceNull", func(tx meta.Tx) error {
			_, err := tx.PutVersion("keep", withID(newObject("k"), meta.NullVersionID), nil)
			return err
		}},
		{"DeleteLatest", func(tx meta.Tx) error { _, err := tx.DeleteVersion("keep", "k", f.v2.VersionID); return err }},
		{"DeleteNull", func(tx meta.Tx) error { _, err := tx.DeleteVersion("keep", "k", meta.NullVersionID); return err }},
		{"DeleteAllVersions", func(tx meta.Tx) error {
			for _, v := range []*meta.Version{f.v2, f.null, f.v1} {
				if _, err := tx.DeleteVersion("keep", "k", v.VersionID); err != nil {
					return err
				}
			}
			return nil
		}},
		{"DeleteInline", func(tx meta.Tx) error {
			v, err := tx.Latest("keep", "inline")
			if err != nil {
				return err
			}
			_, err = tx.DeleteVersion("keep", "inline", v.VersionID)
			return err
		}},
		{"UpdateVersion", func(tx meta.Tx) error {
			v := *f.v1
			v.Tags = []meta.Tag{{Key: "x", Value: "y"}}
			return tx.UpdateVersion("keep", &v)
		}},
		{"CreateUpload", func(tx meta.Tx) error { return tx.CreateUpload("keep", newUpload("up")) }},
		{"PutPart", func(tx meta.Tx) error {
			if _, err := tx.PutPart("keep", "up", f.upload.UploadID, newPart(3)); err != nil {
				return err
			}
			p := newPart(1)
			p.ETag = "replaced"
			_, err := tx.PutPart("keep", "up", f.upload.UploadID, p)
			return err
		}},
		{"DeleteUpload", func(tx meta.Tx) error { _, err := tx.DeleteUpload("keep", "up", f.upload.UploadID); return err }},
		{"RefBlob", func(tx meta.Tx) error { return tx.RefBlob(f.blobs[4]) }},
		{"ReleaseBlobs", func(tx meta.Tx) error { return tx.ReleaseBlobs(f.blobs[0]) }},
		{"ForgetReleased", func(tx meta.Tx) error { return tx.ForgetReleased(f.blobs[2:4]...) }},
		{"PutUser", func(tx meta.Tx) error {
			if err := tx.PutUser(&meta.User{Name: "bob", ID: "AIDA2"}, true); err != nil {
				return err
			}
			return tx.PutUser(&meta.User{Name: "alice", ID: "AIDA1", Path: "/moved/"}, false)
		}},
		{"DeleteUser", func(tx meta.Tx) error { return tx.DeleteUser("alice") }},
		{"PutAccessKey", func(tx meta.Tx) error {
			if err := tx.PutAccessKey(&meta.AccessKey{ID: "AKIA2", Secret: "t", UserName: "alice"}, true); err != nil {
				return err
			}
			return tx.PutAccessKey(&meta.AccessKey{ID: "AKIA1", Secret: "changed", UserName: "alice"}, false)
		}},
		{"DeleteAccessKey", func(tx meta.Tx) error { return tx.DeleteAccessKey("AKIA1") }},
	}
	// Every change at once, in an order where later ones build on
	// earlier ones.
	all := slices.Clone(ms)
	ms = append(ms, mut{"Everything", func(tx meta.Tx) error {
		for _, m := range all {
			switch m.name {
			case "DeleteAllVersions":
				continue // UpdateVersion, later, needs f.v1
			case "CreateBucket":
				continue // CreateBucketWithContent creates the same bucket
			}
			if err := m.fn(tx); err != nil {
				return fmt.Errorf("%s: %w", m.name, err)
			}
		}
		return nil
	}})
	return ms
}

// testTxRollback checks that an error from the closure rolls back all the
// closure's writes and is returned unchanged.
func testTxRollback(t *testing.T, s meta.Store) {
	f := newTxFixture(t, s)
	before := f.dump(t, s)
	for _, m := range f.mutations() {
		t.Run(m.name, func(t *testing.T) {
			var wrote error
			err := s.Update(context.Background(), func(tx meta.Tx) error {
				if wrote = m.fn(tx); wrote != nil {
					return wrote
				}
				return errFail
			})
			if wrote != nil {
				t.Fatalf("the mutation itself failed: %v", wrote)
			}
			if err != errFail {
				t.Errorf("Update returned %v, want the closure's error unchanged", err)
			}
			if after := f.dump(t, s); after != before {
				t.Errorf("failed Update left changes:\n%s\n---\n%s", before, after)
			}
		})
	}
	// The store is still writable, and a successful mutation does show.
	update(t, s, func(tx meta.Tx) error { return tx.CreateBucket(newBucket("new")) })
	if after := f.dump(t, s); after == before {
		t.Errorf("a successful Update changed nothing")
	}

	// A wrapped error is returned as is, too.
	wrapped := fmt.Errorf("context: %w", errFail)
	err := s.Update(context.Background(), func(tx meta.Tx) error {
		if err := tx.DeleteBucket("empty"); err != nil {
			return err
		}
		return wrapped
	})
	if err != wrapped {
		t.Errorf("Update returned %v, want %v", err, wrapped)
	}
	// An error without writes is returned unchanged.
	if err := s.Update(context.Background(), func(tx meta.Tx) error { return errFail }); err != errFail {
		t.Errorf("Update of a read-only failing closure returned %v", err)
	}
	// A domain error from a failed write is the caller's to return.
	err = s.Update(context.Background(), func(tx meta.Tx) error { return tx.CreateBucket(newBucket("keep")) })
	if !errors.Is(err, meta.ErrBucketExists) {
		t.Errorf("Update returning ErrBucketExists returned %v", err)
	}
}

// testTxPanic checks that a closure that panics reports an error and leaves
// no writes, in Update and View, and that the store survives it.
func testTxPanic(t *testing.T, s meta.Store) {
	f := newTxFixture(t, s)
	before := f.dump(t, s)
	for _, m := range f.mutations() {
		t.Run(m.name, func(t *testing.T) {
			var wrote error
			var err error
			within(t, hang, "Update with a panicking closure", func() {
				err = s.Update(context.Background(), func(tx meta.Tx) error {
					if wrote = m.fn(tx); wrote != nil {
						return wrote
					}
					panic("metatest: panic on purpose")
				})
			})
			if wrote != nil {
				t.Fatalf("the mutation itself failed: %v", wrote)
			}
			if err == nil {
				t.Errorf("Update with a panicking closure returned nil")
			}
			if after := f.dump(t, s); after != before {
				t.Errorf("panicking Update left changes:\n%s\n---\n%s", before, after)
			}
		})
	}
	var err error
	within(t, hang, "View with a panicking closure", func() {
		err = s.View(context.Background(), func(tx meta.Tx) error { panic("metatest: panic in View") })
	})
	if err == nil {
		t.Errorf("View with a panicking closure returned nil")
	}
	update(t, s, func(tx meta.Tx) error { return addCounter(tx, "keep", 1) })
	if n := readCounter(t, s, "keep"); n != 1 {
		t.Errorf("store after panics: counter = %d, want 1", n)
	}
}

// testTxReadOnly checks that every write in a View fails with ErrReadOnly
// and changes nothing.
func testTxReadOnly(t *testing.T, s meta.Store) {
	f := newTxFixture(t, s)
	before := f.dump(t, s)
	ops := []struct {
		name string
		op   func(tx meta.Tx) error
	}{
		{"CreateBucket", func(tx meta.Tx) error { return tx.CreateBucket(newBucket("new")) }},
		{"PutBucket", func(tx meta.Tx) error { return tx.PutBucket(newBucket("keep")) }},
		{"DeleteBucket", func(tx meta.Tx) error { return tx.DeleteBucket("empty") }},
		{"PutVersion", func(tx meta.Tx) error { _, err := tx.PutVersion("keep", newObject("k"), nil); return err }},
		{"UpdateVersion", func(tx meta.Tx) error { v := *f.v1; v.Size = 1; return tx.UpdateVersion("keep", &v) }},
		{"DeleteVersion", func(tx meta.Tx) error { _, err := tx.DeleteVersion("keep", "k", f.v2.VersionID); return err }},
		{"CreateUpload", func(tx meta.Tx) error { return tx.CreateUpload("keep", newUpload("x")) }},
		{"DeleteUpload", func(tx meta.Tx) error { _, err := tx.DeleteUpload("keep", "up", f.upload.UploadID); return err }},
		{"PutPart", func(tx meta.Tx) error { _, err := tx.PutPart("keep", "up", f.upload.UploadID, newPart(9)); return err }},
		{"RefBlob", func(tx meta.Tx) error { return tx.RefBlob("x") }},
		{"ReleaseBlobs", func(tx meta.Tx) error { return tx.ReleaseBlobs(f.blobs[0]) }},
		{"ForgetReleased", func(tx meta.Tx) error { return tx.ForgetReleased(f.blobs[2]) }},
		{"PutUser", func(tx meta.Tx) error { return tx.PutUser(&meta.User{Name: "bob"}, true) }},
		{"DeleteUser", func(tx meta.Tx) error { return tx.DeleteUser("alice") }},
		{"PutAccessKey", func(tx meta.Tx) error { return tx.PutAccessKey(&meta.AccessKey{ID: "AKIA9"}, true) }},
		{"DeleteAccessKey", func(tx meta.Tx) error { return tx.DeleteAccessKey("AKIA1") }},
	}
	for _, tt := range ops {
		t.Run(tt.name, func(t *testing.T) {
			err := inView(t, s, tt.op)
			checkErr(t, tt.name+" in View", err, meta.ErrReadOnly)
			if after := f.dump(t, s); after != before {
				t.Errorf("%s in View changed the store:\n%s\n---\n%s", tt.name, before, after)
			}
		})
	}
}

// testTxReadYourWrites checks that a transaction sees its own writes,
// including across several methods.
func testTxReadYourWrites(t *testing.T, s meta.Store) {
	var problems []string
	update(t, s, func(tx meta.Tx) error {
		problems = problems[:0]
		fail := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
		if err := tx.CreateBucket(newBucket("b")); err != nil {
			return err
		}
		if _, err := tx.Bucket("b"); err != nil {
			fail("Bucket after CreateBucket: %v", err)
		}
		v := newObject("k")
		if _, err := tx.PutVersion("b", v, nil); err != nil {
			return err
		}
		if l, err := tx.Latest("b", "k"); err != nil || l.VersionID != v.VersionID {
			fail("Latest after PutVersion: %v %v", l, err)
		}
		if objs, err := collect(tx.Objects("b", meta.ListOptions{})); err != nil || len(objs) != 1 {
			fail("Objects after PutVersion: %d %v", len(objs), err)
		}
		if _, err := tx.DeleteVersion("b", "k", v.VersionID); err != nil {
			return err
		}
		if _, err := tx.Latest("b", "k"); !errors.Is(err, meta.ErrNoSuchKey) {
			fail("Latest after DeleteVersion: %v", err)
		}
		u := newUpload("u")
		if err := tx.CreateUpload("b", u); err != nil {
			return err
		}
		if _, err := tx.PutPart("b", "u", u.UploadID, newPart(1)); err != nil {
			return err
		}
		if parts, err := collect(tx.Parts("b", "u", u.UploadID, 0)); err != nil || len(parts) != 1 {
			fail("Parts after PutPart: %d %v", len(parts), err)
		}
		if err := tx.DeleteBucket("b"); !errors.Is(err, meta.ErrBucketNotEmpty) {
			fail("DeleteBucket with an upload made in the same transaction: %v", err)
		}
		if _, err := tx.DeleteUpload("b", "u", u.UploadID); err != nil {
			return err
		}
		if err := tx.DeleteBucket("b"); err != nil {
			fail("DeleteBucket after emptying it in the same transaction: %v", err)
		}
		if _, err := tx.Bucket("b"); !errors.Is(err, meta.ErrNoSuchBucket) {
			fail("Bucket after DeleteBucket: %v", err)
		}
		if err := tx.PutUser(&meta.User{Name: "u"}, true); err != nil {
			return err
		}
		if _, err := tx.User("u"); err != nil {
			fail("User after PutUser: %v", err)
		}
		return nil
	})
	for _, p := range problems {
		t.Error(p)
	}
}

// testTxSnapshot checks that a View keeps seeing the state it started with
// while an Update commits, even in the middle of an iteration.
func testTxSnapshot(t *testing.T, s meta.Store) {
	mustCreateBuckets(t, s, "c")
	var keys []string
	for i := range 10 {
		keys = append(keys, fmt.Sprintf("k%d", i))
	}
	update(t, s, func(tx meta.Tx) error {
		for _, k := range keys {
			if _, err := tx.PutVersion("c", newObject(k), nil); err != nil {
				return err
			}
		}
		return nil
	})
	start := make(chan struct{})
	var once sync.Once
	done := make(chan error, 1)
	go func() {
		<-start
		done <- s.Update(context.Background(), func(tx meta.Tx) error {
			if err := addCounter(tx, "c", 1); err != nil {
				return err
			}
			if err := tx.CreateBucket(newBucket("late")); err != nil {
				return err
			}
			for _, k := range []string{"k0", "k05", "k9x", "zz"} {
				if _, err := tx.PutVersion("c", newObject(k), nil); err != nil {
					return err
				}
			}
			l, err := tx.Latest("c", "k8")
			if err != nil {
				return err
			}
			_, err = tx.DeleteVersion("c", "k8", l.VersionID)
			return err
		})
	}()

	var seen []string
	var n0, n1 int
	var buckets []string
	var k0Versions int
	var writerErr error
	err := s.View(context.Background(), func(tx meta.Tx) error {
		seen, buckets, k0Versions = seen[:0], buckets[:0], 0
		var err error
		if n0, err = counter(tx, "c"); err != nil {
			return err
		}
		for v, err := range tx.Objects("c", meta.ListOptions{}) {
			if err != nil {
				return err
			}
			seen = append(seen, v.Key)
			if len(seen) == 1 {
				// Let the writer commit in the middle of the listing.
				once.Do(func() { close(start) })
				select {
				case writerErr = <-done:
				case <-time.After(hang):
					return errors.New("an Update could not commit while a View was open")
				}
			}
		}
		if n1, err = counter(tx, "c"); err != nil {
			return err
		}
		bs, err := collect(tx.Buckets())
		for _, b := range bs {
			buckets = append(buckets, b.Name)
		}
		if err != nil {
			return err
		}
		vs, err := collect(tx.Versions("c", meta.VersionListOptions{Prefix: "k0"}))
		k0Versions = len(vs)
		return err
	})
	if err != nil {
		t.Fatalf("View: %v", err)
	}
	if writerErr != nil {
		t.Fatalf("concurrent Update: %v", writerErr)
	}
	if n0 != 0 || n1 != 0 {
		t.Errorf("View saw counter %d then %d, want 0 both times", n0, n1)
	}
	if !slices.Equal(seen, keys) {
		t.Errorf("View listed %q while an Update committed, want %q", seen, keys)
	}
	if !slices.Equal(buckets, []string{"c"}) {
		t.Errorf("View listed buckets %q, want [c]", buckets)
	}
	if k0Versions != 1 {
		t.Errorf("View saw %d versions of k0, want 1", k0Versions)
	}
	// A new View sees the commit.
	if n := readCounter(t, s, "c"); n != 1 {
		t.Errorf("counter after commit = %d, want 1", n)
	}
}

// testTxSnapshotUnderLoad checks an invariant that every committed state
// holds (x + y = 0, and y equals the number of keys in bucket "log") from
// Views running while many Updates commit.
func testTxSnapshotUnderLoad(t *testing.T, s meta.Store) {
	mustCreateBuckets(t, s, "x", "y", "log")
	const writers, rounds, readers = 8, 40, 2
	ctx := context.Background()
	var wg sync.WaitGroup
	var stop atomic.Bool
	errs := make(chan error, writers+readers)
	for w := range writers {
		wg.Go(func() {
			for i := range rounds {
				err := s.Update(ctx, func(tx meta.Tx) error {
					if err := addCounter(tx, "x", -1); err != nil {
						return err
					}
					if err := addCounter(tx, "y", 1); err != nil {
						return err
					}
					_, err := tx.PutVersion("log", newObject(fmt.Sprintf("w%d/%d", w, i)), nil)
					return err
				})
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	var views atomic.Int64
	var rg sync.WaitGroup
	for range readers {
		rg.Go(func() {
			for !stop.Load() {
				var x, y, n int
				err := s.View(ctx, func(tx meta.Tx) error {
					var err error
					if x, err = counter(tx, "x"); err != nil {
						return err
					}
					if y, err = counter(tx, "y"); err != nil {
						return err
					}
					objs, err := collect(tx.Objects("log", meta.ListOptions{}))
					n = len(objs)
					return err
				})
				if err == nil && (x+y != 0 || n != y) {
					err = fmt.Errorf("inconsistent view: x=%d y=%d and %d log keys", x, y, n)
				}
				if err != nil {
					errs <- err
					return
				}
				views.Add(1)
				// Leave the writers some CPU.
				time.Sleep(100 * time.Microsecond)
			}
		})
	}
	wg.Wait()
	stop.Store(true)
	rg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := readCounter(t, s, "y"); n != writers*rounds {
		t.Errorf("y = %d, want %d", n, writers*rounds)
	}
	t.Logf("%d consistent views", views.Load())
}

// testTxSerializable runs many concurrent read-modify-write Updates; none
// may be lost.
func testTxSerializable(t *testing.T, s meta.Store) {
	const goroutines, increments, groups = 64, 50, 8
	mustCreateBuckets(t, s, "total")
	for g := range groups {
		mustCreateBuckets(t, s, fmt.Sprintf("group-%d", g))
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	start := make(chan struct{})
	for g := range goroutines {
		wg.Go(func() {
			<-start
			for range increments {
				err := s.Update(ctx, func(tx meta.Tx) error {
					if err := addCounter(tx, "total", 1); err != nil {
						return err
					}
					return addCounter(tx, fmt.Sprintf("group-%d", g%groups), 1)
				})
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Update: %v", err)
	}
	if n := readCounter(t, s, "total"); n != goroutines*increments {
		t.Errorf("total = %d after %d increments: lost updates", n, goroutines*increments)
	}
	sum := 0
	for g := range groups {
		n := readCounter(t, s, fmt.Sprintf("group-%d", g))
		if want := goroutines / groups * increments; n != want {
			t.Errorf("group-%d = %d, want %d", g, n, want)
		}
		sum += n
	}
	if sum != goroutines*increments {
		t.Errorf("group counters sum to %d, want %d", sum, goroutines*increments)
	}
}

// opError identifies one failing closure of testTxFailuresInBatch.
type opError struct{ g, i int }

func (e *opError) Error() string { return fmt.Sprintf("op %d/%d failed on purpose", e.g, e.i) }

// testTxFailuresInBatch mixes succeeding closures with ones that fail
// before writing, fail after writing and panic, all at once, so that a
// backend that groups closures into one commit meets every case; each
// closure's outcome must be its own.
func testTxFailuresInBatch(t *testing.T, s meta.Store) {
	const goroutines, ops = 48, 20
	mustCreateBuckets(t, s, "n", "ok", "bad")
	type outcome int
	const (
		succeed outcome = iota
		failAfterWrite
		failBeforeWrite
		panicAfterWrite
	)
	kind := func(g, i int) outcome {
		switch (g*31 + i*7) % 6 {
		case 0, 1, 2:
			return succeed
		case 3:
			return failAfterWrite
		case 4:
			return failBeforeWrite
		default:
			return panicAfterWrite
		}
	}
	ctx := context.Background()
	results := make([][]error, goroutines)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for g := range goroutines {
		results[g] = make([]error, ops)
		wg.Go(func() {
			<-start
			for i := range ops {
				k := kind(g, i)
				key := fmt.Sprintf("%02d/%02d", g, i)
				results[g][i] = s.Update(ctx, func(tx meta.Tx) error {
					if k == failBeforeWrite {
						if _, err := counter(tx, "n"); err != nil {
							return err
						}
						return &opError{g, i}
					}
					if err := addCounter(tx, "n", 1); err != nil {
						return err
					}
					target := "ok"
					if k != succeed {
						target = "bad"
					}
					if _, err := tx.PutVersion(target, newObject(key), nil); err != nil {
						return err
					}
					switch k {
					case failAfterWrite:
						return &opError{g, i}
					case panicAfterWrite:
						panic(&opError{g, i})
					}
					return nil
				})
			}
		})
	}
	close(start)
	within(t, 2*hang, "concurrent Updates", wg.Wait)

	var okKeys []string
	for g := range goroutines {
		for i := range ops {
			err := results[g][i]
			switch kind(g, i) {
			case succeed:
				if err != nil {
					t.Errorf("op %d/%d: %v, want success", g, i, err)
				}
				okKeys = append(okKeys, fmt.Sprintf("%02d/%02d", g, i))
			case failAfterWrite, failBeforeWrite:
				var oe *opError
				if !errors.As(err, &oe) || *oe != (opError{g, i}) {
					t.Errorf("op %d/%d: %v, want its own error", g, i, err)
				}
			case panicAfterWrite:
				if err == nil {
					t.Errorf("op %d/%d panicked but Update returned nil", g, i)
				}
			}
		}
	}
	if n := readCounter(t, s, "n"); n != len(okKeys) {
		t.Errorf("counter = %d, want %d (one per successful closure)", n, len(okKeys))
	}
	var got, bad []string
	view(t, s, func(tx meta.Tx) error {
		got, bad = got[:0], bad[:0]
		for _, b := range []string{"ok", "bad"} {
			objs, err := collect(tx.Objects(b, meta.ListOptions{}))
			if err != nil {
				return err
			}
			for _, o := range objs {
				if b == "ok" {
					got = append(got, o.Key)
				} else {
					bad = append(bad, o.Key)
				}
			}
		}
		return nil
	})
	if !slices.Equal(got, okKeys) {
		t.Errorf("bucket ok holds %d keys, want %d", len(got), len(okKeys))
	}
	if len(bad) != 0 {
		t.Errorf("failed closures left %d keys: %q", len(bad), bad)
	}
}

// testTxClose checks that a closed store refuses work without running it.
func testTxClose(t *testing.T, s meta.Store) {
	mustCreateBuckets(t, s, "c")
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	// Repeat: a backend that races "closed" against "queue has room"
	// fails only some of the time.
	ctx := context.Background()
	var ran atomic.Int64
	within(t, hang, "Update and View after Close", func() {
		for i := range 200 {
			err := s.Update(ctx, func(tx meta.Tx) error {
				ran.Add(1)
				return addCounter(tx, "c", 1)
			})
			if !errors.Is(err, meta.ErrClosed) {
				t.Errorf("Update %d after Close: %v, want ErrClosed", i, err)
				return
			}
			err = s.View(ctx, func(tx meta.Tx) error {
				ran.Add(1)
				return nil
			})
			if !errors.Is(err, meta.ErrClosed) {
				t.Errorf("View %d after Close: %v, want ErrClosed", i, err)
				return
			}
		}
	})
	if n := ran.Load(); n != 0 {
		t.Errorf("%d closures ran after Close", n)
	}
	if err := s.Close(); err != nil && !errors.Is(err, meta.ErrClosed) {
		t.Errorf("second Close: %v", err)
	}
}

// testTxCloseWhileBusy closes the store under concurrent Updates and Views:
// every call must return, with nil or ErrClosed.
func testTxCloseWhileBusy(t *testing.T, s meta.Store) {
	mustCreateBuckets(t, s, "c")
	ctx := context.Background()
	const updaters, viewers = 16, 4
	var wg sync.WaitGroup
	var okUpdates atomic.Int64
	errs := make(chan error, updaters+viewers)
	for range updaters {
		wg.Go(func() {
			for {
				err := s.Update(ctx, func(tx meta.Tx) error { return addCounter(tx, "c", 1) })
				if err != nil {
					errs <- err
					return
				}
				okUpdates.Add(1)
			}
		})
	}
	for range viewers {
		wg.Go(func() {
			for {
				err := s.View(ctx, func(tx meta.Tx) error { _, err := counter(tx, "c"); return err })
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	// Let some work commit first.
	deadline := time.Now().Add(hang)
	for okUpdates.Load() < 50 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	var closeErr error
	within(t, hang, "Close under load", func() { closeErr = s.Close() })
	if closeErr != nil {
		t.Errorf("Close: %v", closeErr)
	}
	within(t, hang, "Updates and Views racing Close", wg.Wait)
	close(errs)
	for err := range errs {
		if !errors.Is(err, meta.ErrClosed) {
			t.Errorf("call racing Close returned %v, want ErrClosed", err)
		}
	}
	t.Logf("%d updates before Close", okUpdates.Load())
}

// testTxCancelledContext checks that Update with a context that is already
// done returns the context's error and changes nothing.
func testTxCancelledContext(t *testing.T, s meta.Store) {
	mustCreateBuckets(t, s, "c")
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel2()
	tests := []struct {
		name string
		ctx  context.Context
		want error
	}{
		{"Canceled", cancelled, context.Canceled},
		{"DeadlineExceeded", expired, context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Repeat: a backend that races "context done" against "queue
			// has room" fails only some of the time.
			for i := range 200 {
				err := s.Update(tt.ctx, func(tx meta.Tx) error { return addCounter(tx, "c", 1) })
				if !errors.Is(err, tt.want) {
					t.Fatalf("Update %d with a done context: %v, want %v", i, err, tt.want)
				}
			}
			if n := readCounter(t, s, "c"); n != 0 {
				t.Errorf("Updates with a done context changed the counter to %d", n)
			}
		})
	}
}
