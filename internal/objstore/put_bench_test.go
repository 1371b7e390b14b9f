package objstore

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"path/filepath"
	"testing"

	"github.com/sluicehq/sluice/internal/blob/disk"
	"github.com/sluicehq/sluice/internal/meta/bolt"
)

// netReader hands out a body in reads of at most max bytes, the way a
// request body arrives from a socket.
type netReader struct {
	b   []byte
	max int
}

func (r *netReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	if len(p) > r.max {
		p = p[:r.max]
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}

// BenchmarkPutLarge measures PutObject of one large body through the
// whole write path (hashing, blob writes, fsync and commit), in process.
// The sync variant is what a server does; nosync isolates the CPU work.
func BenchmarkPutLarge(b *testing.B) {
	for _, size := range []int{64 << 20} {
		body := make([]byte, size)
		rand.Read(body)
		for _, sync := range []bool{true, false} {
			name := fmt.Sprintf("%dMiB/sync=%v", size>>20, sync)
			b.Run(name, func(b *testing.B) {
				dir := b.TempDir()
				m, err := bolt.Open(filepath.Join(dir, "meta.db"), bolt.Options{NoSync: !sync})
				if err != nil {
					b.Fatal(err)
				}
				defer m.Close()
				blobs, err := disk.Open(filepath.Join(dir, "blobs"), disk.Options{NoSync: !sync})
				if err != nil {
					b.Fatal(err)
				}
				s := New(Config{Meta: m, Blobs: blobs})
				ctx := context.Background()
				if err := s.CreateBucket(ctx, "bkt", "owner", ""); err != nil {
					b.Fatal(err)
				}
				b.SetBytes(int64(size))
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					// One key: each PUT replaces the last, whose blob the
					// collector removes, so the disk does not fill up.
					_, err := s.PutObject(ctx, &PutInput{Bucket: "bkt", Key: "big", Body: &netReader{b: body, max: 256 << 10}, Size: int64(size)})
					if err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
