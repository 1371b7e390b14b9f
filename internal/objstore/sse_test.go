package objstore

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"path/filepath"
	"testing"

	"github.com/sluicehq/sluice/internal/blob/disk"
	"github.com/sluicehq/sluice/internal/kms"
	"github.com/sluicehq/sluice/internal/meta/bolt"
)

// newTestStore opens a store on a temporary directory (no fsync) with a
// key service and one bucket, "bkt".
func newTestStore(tb testing.TB) *Store {
	tb.Helper()
	dir := tb.TempDir()
	m, err := bolt.Open(filepath.Join(dir, "meta.db"), bolt.Options{NoSync: true})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { m.Close() })
	blobs, err := disk.Open(filepath.Join(dir, "blobs"), disk.Options{NoSync: true})
	if err != nil {
		tb.Fatal(err)
	}
	keys, err := kms.Open(filepath.Join(dir, "kms.json"), "us-east-1", "000000000000")
	if err != nil {
		tb.Fatal(err)
	}
	s := New(Config{Meta: m, Blobs: blobs, Keys: keys})
	if err := s.CreateBucket(context.Background(), "bkt", "owner", ""); err != nil {
		tb.Fatal(err)
	}
	return s
}

func mustPut(tb testing.TB, s *Store, key string, body []byte, enc Encryption) {
	tb.Helper()
	if _, err := s.PutObject(context.Background(), &PutInput{Bucket: "bkt", Key: key, Body: bytes.NewReader(body), Size: int64(len(body)), Encryption: enc}); err != nil {
		tb.Fatal(err)
	}
}

// TestCopyEncryptionPlan checks when a copy links the source's blobs
// (sealing its data key again) and when it rewrites the content.
func TestCopyEncryptionPlan(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	ck := &CustomerKey{Key: bytes.Repeat([]byte{7}, 32)}
	encs := map[string]Encryption{
		"none":    {},
		"sse-s3":  {Method: SSES3},
		"sse-kms": {Method: SSEKMS},
		"dsse":    {Method: SSEKMSDual},
		"sse-c":   {Customer: ck},
	}
	body := make([]byte, 200<<10)
	rand.Read(body)
	for name, enc := range encs {
		mustPut(t, s, name, body, enc)
	}
	tests := []struct {
		src, dst string
		link     bool
	}{
		{"none", "none", true},
		{"none", "sse-s3", false},
		{"sse-s3", "none", false},
		{"sse-s3", "sse-s3", true},
		{"sse-s3", "sse-kms", true},
		{"sse-s3", "sse-c", true},
		{"sse-kms", "sse-s3", false}, // an SSE-S3 ETag must be the MD5
		{"sse-kms", "sse-c", true},
		{"sse-c", "sse-kms", true},
		{"sse-c", "sse-c", true},
		{"sse-kms", "dsse", false}, // another number of layers
		{"dsse", "dsse", true},
	}
	b, err := s.Bucket(ctx, "bkt")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.src+"-to-"+tc.dst, func(t *testing.T) {
			cs := CopySource{Bucket: "bkt", Key: tc.src}
			if tc.src == "sse-c" {
				cs.CustomerKey = ck
			}
			src, err := s.openSource(ctx, cs)
			if err != nil {
				t.Fatal(err)
			}
			defer src.close()
			_, link, _, err := s.copyEncryption(b, encs[tc.dst], src)
			if err != nil || link != tc.link {
				t.Fatalf("link = %v, %v; want %v", link, err, tc.link)
			}
		})
	}
}

// Benchmarks of the cost of SSE-S3 in the object store itself (no HTTP):
//
//	go test ./internal/objstore -run '^$' -bench SSE
func BenchmarkSSEPut(b *testing.B) {
	for _, size := range []int{4 << 10, 1 << 20, 64 << 20} {
		for _, enc := range []Encryption{{}, {Method: SSES3}} {
			b.Run(fmt.Sprintf("%s/%d", methodName(enc), size), func(b *testing.B) {
				s := newTestStore(b)
				body := make([]byte, size)
				rand.Read(body)
				b.SetBytes(int64(size))
				i := 0
				for b.Loop() {
					i++
					mustPut(b, s, fmt.Sprint("k", i%64), body, enc)
				}
			})
		}
	}
}

func BenchmarkSSEGet(b *testing.B) {
	for _, size := range []int{4 << 10, 1 << 20, 64 << 20} {
		for _, enc := range []Encryption{{}, {Method: SSES3}} {
			b.Run(fmt.Sprintf("%s/%d", methodName(enc), size), func(b *testing.B) {
				s := newTestStore(b)
				body := make([]byte, size)
				rand.Read(body)
				mustPut(b, s, "k", body, enc)
				b.SetBytes(int64(size))
				for b.Loop() {
					obj, err := s.GetObject(context.Background(), &GetInput{Bucket: "bkt", Key: "k"})
					if err != nil {
						b.Fatal(err)
					}
					if _, err := io.Copy(io.Discard, obj.Body); err != nil {
						b.Fatal(err)
					}
					obj.Body.Close()
				}
			})
		}
	}
}

func methodName(e Encryption) string {
	if e.Method == "" {
		return "plain"
	}
	return e.Method
}
