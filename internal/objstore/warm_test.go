package objstore

import (
	"bytes"
	"context"
	"io"
	"slices"
	"sync"
	"testing"

	"github.com/sluicehq/sluice/internal/blob"
)

// warmLog is a blob store that records the blobs it is asked to warm and
// passes them on to the disk store underneath.
type warmLog struct {
	blob.Store
	mu  sync.Mutex
	ids [][]string
}

func (s *warmLog) Warm(ids []string) {
	s.mu.Lock()
	s.ids = append(s.ids, slices.Clone(ids))
	s.mu.Unlock()
	s.Store.(warmer).Warm(ids)
}

// TestCompleteWarmsParts: completing a multipart upload asks the blob
// store to warm the object's part blobs, in part order; a single PUT does
// not; and the object reads back whole.
func TestCompleteWarmsParts(t *testing.T) {
	var log *warmLog
	s := newTestStoreAt(t, t.TempDir(), func(b blob.Store) blob.Store {
		log = &warmLog{Store: b}
		return log
	})
	ctx := context.Background()
	if _, err := s.PutObject(ctx, &PutInput{Bucket: "bkt", Key: "single", Body: bytes.NewReader(bytes.Repeat([]byte("s"), 2<<20)), Size: 2 << 20}); err != nil {
		t.Fatal(err)
	}
	u, err := s.CreateMultipartUpload(ctx, &CreateUploadInput{Bucket: "bkt", Key: "mpu", Owner: "owner"})
	if err != nil {
		t.Fatal(err)
	}
	sizes := []int{5 << 20, 5 << 20, 3<<20 + 11}
	var want []byte
	var done []CompletedPart
	for i, n := range sizes {
		body := bytes.Repeat([]byte{byte('a' + i)}, n)
		want = append(want, body...)
		p, err := s.UploadPart(ctx, &PartInput{Bucket: "bkt", Key: "mpu", UploadID: u.UploadID, PartNumber: i + 1, Body: bytes.NewReader(body), Size: int64(n)})
		if err != nil {
			t.Fatal(err)
		}
		done = append(done, CompletedPart{Number: i + 1, ETag: p.ETag})
	}
	if len(log.ids) != 0 {
		t.Fatalf("warmed %v before the upload completed", log.ids)
	}
	v, err := s.CompleteMultipartUpload(ctx, &CompleteInput{Bucket: "bkt", Key: "mpu", UploadID: u.UploadID, Parts: done, ObjectSize: -1})
	if err != nil {
		t.Fatal(err)
	}
	if len(log.ids) != 1 || !slices.Equal(log.ids[0], v.BlobIDs()) || len(log.ids[0]) != len(sizes) {
		t.Fatalf("warmed %v, want once the parts %v", log.ids, v.BlobIDs())
	}
	obj, err := s.GetObject(ctx, &GetInput{Bucket: "bkt", Key: "mpu"})
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Body.Close()
	got, err := io.ReadAll(obj.Body)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("read back %d bytes, %v; equal %v", len(got), err, bytes.Equal(got, want))
	}
}
