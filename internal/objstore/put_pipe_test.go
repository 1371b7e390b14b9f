package objstore

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/sluicehq/sluice/internal/blob"
	"github.com/sluicehq/sluice/internal/blob/disk"
	"github.com/sluicehq/sluice/internal/checksum"
	"github.com/sluicehq/sluice/internal/meta/bolt"
)

// TestPutLargeBodies stores bodies around and well past the size of the
// read buffer, arriving in reads of odd sizes, and checks that each reads
// back byte for byte with the right ETag and CRC64NVME, also for an
// upload part, a declared SHA256 and SSE.
func TestPutLargeBodies(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	buf := int(1 << 20)
	for _, size := range []int{buf - 1, buf, buf + 1, 2 * buf, 3*buf + 7, 7*buf + 12345} {
		body := make([]byte, size)
		rand.Read(body)
		sum := md5.Sum(body)
		crc := checksum.CRC64NVME.New()
		crc.Write(body)
		for _, enc := range []Encryption{{}, {Method: SSES3}} {
			key := "k"
			if _, err := s.PutObject(ctx, &PutInput{Bucket: "bkt", Key: key, Body: &netReader{b: body, max: 65521}, Size: int64(size), Encryption: enc}); err != nil {
				t.Fatalf("size %d: %v", size, err)
			}
			o, err := s.GetObject(ctx, &GetInput{Bucket: "bkt", Key: key})
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(o.Body)
			o.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, body) {
				t.Fatalf("size %d enc %q: content differs", size, enc.Method)
			}
			if want := hex.EncodeToString(sum[:]); enc.Method == "" && o.Version.ETag != want {
				t.Fatalf("size %d: ETag %s, want %s", size, o.Version.ETag, want)
			}
			if want := checksum.Encode(crc.Sum(nil)); o.Version.Checksum.Value != want {
				t.Fatalf("size %d: CRC64NVME %s, want %s", size, o.Version.Checksum.Value, want)
			}
		}
		// A declared checksum that does not match is refused after the
		// whole body went through the pipeline.
		sha := checksum.SHA256.New()
		sha.Write(body)
		good := checksum.Encode(sha.Sum(nil))
		if _, err := s.PutObject(ctx, &PutInput{Bucket: "bkt", Key: "sha", Body: &netReader{b: body, max: 1 << 20}, Size: int64(size),
			Checksum: ChecksumInput{Algorithm: checksum.SHA256, Value: good}}); err != nil {
			t.Fatalf("size %d, right SHA256: %v", size, err)
		}
		bad := body[: len(body)-1 : len(body)-1]
		bad = append(bad, body[len(body)-1]^1)
		if _, err := s.PutObject(ctx, &PutInput{Bucket: "bkt", Key: "sha", Body: &netReader{b: bad, max: 1 << 20}, Size: int64(size),
			Checksum: ChecksumInput{Algorithm: checksum.SHA256, Value: good}}); err == nil {
			t.Fatalf("size %d: a wrong SHA256 was accepted", size)
		}
	}
}

// failingReader yields n bytes and then fails with err.
type failingReader struct {
	n   int
	err error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, r.err
	}
	if len(p) > r.n {
		p = p[:r.n]
	}
	r.n -= len(p)
	return len(p), nil
}

// TestPutBodyFailsMidway checks that a body failing after several buffers
// fails the PUT with the reader's error (an unexpected end as
// IncompleteBody), stores nothing and leaves no file being written.
func TestPutBodyFailsMidway(t *testing.T) {
	dir := t.TempDir()
	s := newTestStoreAt(t, dir)
	ctx := context.Background()
	boom := errors.New("connection reset")
	for _, tc := range []struct {
		err, want error
	}{
		{boom, boom},
		{io.ErrUnexpectedEOF, ErrIncompleteBody},
	} {
		// 8 MiB declared goes through the page cache, directPutMin past it.
		for _, declared := range []int64{8 << 20, directPutMin} {
			for _, n := range []int{1<<20 + 5, 5 << 20} {
				_, err := s.PutObject(ctx, &PutInput{Bucket: "bkt", Key: "k", Body: &failingReader{n: n, err: tc.err}, Size: declared})
				if !errors.Is(err, tc.want) {
					t.Fatalf("declared %d, after %d bytes: got %v, want %v", declared, n, err, tc.want)
				}
			}
		}
	}
	if _, err := s.GetObject(ctx, &GetInput{Bucket: "bkt", Key: "k"}); !errors.Is(err, ErrNoSuchKey) {
		t.Fatalf("GetObject after failed PUTs: %v", err)
	}
	left, err := os.ReadDir(filepath.Join(dir, "blobs", "tmp"))
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Fatalf("%d files left in blobs/tmp", len(left))
	}
}

// newTestStoreAt is newTestStore on dir, with blobs stored through wrap.
func newTestStoreAt(tb testing.TB, dir string, wrap ...func(blob.Store) blob.Store) *Store {
	tb.Helper()
	m, err := bolt.Open(filepath.Join(dir, "meta.db"), bolt.Options{NoSync: true})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { m.Close() })
	var blobs blob.Store
	blobs, err = disk.Open(filepath.Join(dir, "blobs"), disk.Options{NoSync: true})
	if err != nil {
		tb.Fatal(err)
	}
	for _, w := range wrap {
		blobs = w(blobs)
	}
	s := New(Config{Meta: m, Blobs: blobs})
	if err := s.CreateBucket(context.Background(), "bkt", "owner", ""); err != nil {
		tb.Fatal(err)
	}
	return s
}

// fullStore is a blob store whose writers fail once they hold room bytes,
// like a full disk.
type fullStore struct {
	blob.Store
	room int
}

var errDiskFull = errors.New("no space left on device")

func (s fullStore) Create(ctx context.Context) (blob.Writer, error) {
	w, err := s.Store.Create(ctx)
	return &fullWriter{Writer: w, room: s.room}, err
}

type fullWriter struct {
	blob.Writer
	room int
}

func (w *fullWriter) Write(p []byte) (int, error) {
	if len(p) > w.room {
		n, _ := w.Writer.Write(p[:w.room])
		w.room = 0
		return n, errDiskFull
	}
	w.room -= len(p)
	return w.Writer.Write(p)
}

// TestPutBlobWriteFails checks that a blob write failing in the middle of
// a large body fails the PUT with that error, without waiting for the rest
// of the body, and leaves nothing behind.
func TestPutBlobWriteFails(t *testing.T) {
	dir := t.TempDir()
	s := newTestStoreAt(t, dir, func(b blob.Store) blob.Store { return fullStore{Store: b, room: 3<<20 + 100} })
	ctx := context.Background()
	body := &failingReader{n: 1 << 30, err: io.EOF}
	_, err := s.PutObject(ctx, &PutInput{Bucket: "bkt", Key: "k", Body: body, Size: 1 << 30})
	if !errors.Is(err, errDiskFull) {
		t.Fatalf("got %v, want %v", err, errDiskFull)
	}
	if read := 1<<30 - body.n; read > 16<<20 {
		t.Fatalf("read %d bytes of the body after the write failed at 3 MiB", read)
	}
	if _, err := s.GetObject(ctx, &GetInput{Bucket: "bkt", Key: "k"}); !errors.Is(err, ErrNoSuchKey) {
		t.Fatalf("GetObject after a failed PUT: %v", err)
	}
	left, err := os.ReadDir(filepath.Join(dir, "blobs", "tmp"))
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Fatalf("%d files left in blobs/tmp", len(left))
	}
}

// placementStore counts the blobs written through the page cache and past
// it.
type placementStore struct {
	blob.Store
	cached, direct *int
}

func (s placementStore) Create(ctx context.Context) (blob.Writer, error) {
	*s.cached++
	return s.Store.Create(ctx)
}

func (s placementStore) CreateDirect(ctx context.Context) (blob.Writer, error) {
	*s.direct++
	return s.Store.(directCreator).CreateDirect(ctx)
}

// zeros reads n zero bytes.
type zeros struct{ n int64 }

func (z *zeros) Read(p []byte) (int, error) {
	if z.n == 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), z.n)]
	clear(p)
	z.n -= int64(len(p))
	return len(p), nil
}

// TestPlacement checks which bodies are written past the page cache: a
// PUT declaring at least directPutMin bytes and every part; not a smaller
// PUT, nor one of unknown size. Each reads back with the right ETag.
func TestPlacement(t *testing.T) {
	var cached, direct int
	s := newTestStoreAt(t, t.TempDir(), func(b blob.Store) blob.Store { return placementStore{b, &cached, &direct} })
	ctx := context.Background()
	id := ""
	for _, tc := range []struct {
		name     string
		size     int64
		declared int64
		part     bool
		direct   bool
	}{
		{"small PUT", 2 << 20, 2 << 20, false, false},
		{"PUT of unknown size", 2 << 20, -1, false, false},
		{"PUT just under", directPutMin - 1, directPutMin - 1, false, false},
		{"large PUT", directPutMin, directPutMin, false, true},
		{"part", 2 << 20, 2 << 20, true, true},
	} {
		cached, direct = 0, 0
		var etag string
		if tc.part {
			if id == "" {
				u, err := s.CreateMultipartUpload(ctx, &CreateUploadInput{Bucket: "bkt", Key: "mp", Owner: "owner"})
				if err != nil {
					t.Fatal(err)
				}
				id = u.UploadID
			}
			p, err := s.UploadPart(ctx, &PartInput{Bucket: "bkt", Key: "mp", UploadID: id, PartNumber: 1, Body: &zeros{tc.size}, Size: tc.declared})
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			etag = p.ETag
		} else {
			v, err := s.PutObject(ctx, &PutInput{Bucket: "bkt", Key: tc.name, Body: &zeros{tc.size}, Size: tc.declared})
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			etag = v.ETag
			o, err := s.GetObject(ctx, &GetInput{Bucket: "bkt", Key: tc.name})
			if err != nil {
				t.Fatal(err)
			}
			h := md5.New()
			n, err := io.Copy(h, o.Body)
			o.Body.Close()
			if err != nil || n != tc.size || hex.EncodeToString(h.Sum(nil)) != etag {
				t.Errorf("%s: read back %d bytes (%v), MD5 %x, ETag %s", tc.name, n, err, h.Sum(nil), etag)
			}
		}
		want := md5.New()
		io.Copy(want, &zeros{tc.size})
		if etag != hex.EncodeToString(want.Sum(nil)) {
			t.Errorf("%s: ETag %s", tc.name, etag)
		}
		if got := direct == 1 && cached == 0; got != tc.direct || cached+direct != 1 {
			t.Errorf("%s: %d blobs through the page cache, %d past it; want past it: %v", tc.name, cached, direct, tc.direct)
		}
	}
}
