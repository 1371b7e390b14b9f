package bolt

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"

	"github.com/sluicehq/sluice/internal/meta"
)

// benchVersion is a version of key with the metadata a typical PUT leaves.
func benchVersion(key string) *meta.Version {
	return &meta.Version{
		Key:          key,
		LastModified: t0,
		Owner:        "0123456789abcdef0123456789abcdef01234567",
		Size:         123456,
		ETag:         "9e107d9d372bb6826bd81d3542a419d6",
		StorageClass: "STANDARD",
		ContentType:  "image/jpeg",
		Parts: []meta.Part{{
			Number: 1, Size: 123456, ETag: "9e107d9d372bb6826bd81d3542a419d6",
			BlobID: "5d41402abc4b2a76b9719d911017c592",
		}},
	}
}

// BenchmarkListPage1M measures listing one 1,000-key page, starting at a
// random key, of a bucket holding 1,000,000 keys: the work of one
// ListObjectsV2 request without its XML.
func BenchmarkListPage1M(b *testing.B) {
	if testing.Short() {
		b.Skip("loads 1,000,000 keys")
	}
	const total, page, perTx = 1_000_000, 1000, 25_000
	s := MustOpen(b, Options{NoSync: true})
	ctx := context.Background()
	keys := make([]string, total)
	for i := range keys {
		keys[i] = fmt.Sprintf("photos/%03d/%02d/img-%07d.jpg", i/10000, i/100%100, i)
	}
	if err := s.Update(ctx, func(tx meta.Tx) error {
		return tx.CreateBucket(&meta.Bucket{Name: "bench", Created: t0})
	}); err != nil {
		b.Fatal(err)
	}
	for lo := 0; lo < total; lo += perTx {
		err := s.Update(ctx, func(tx meta.Tx) error {
			for _, k := range keys[lo : lo+perTx] {
				if _, err := tx.PutVersion("bench", benchVersion(k), nil); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))

	b.Run("Objects", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			after := keys[rng.IntN(total-page)]
			n := 0
			err := s.View(ctx, func(tx meta.Tx) error {
				n = 0
				for _, err := range tx.Objects("bench", meta.ListOptions{After: after}) {
					if err != nil {
						return err
					}
					if n++; n == page {
						break
					}
				}
				return nil
			})
			if err != nil || n != page {
				b.Fatalf("listed %d keys: %v", n, err)
			}
		}
	})
	b.Run("Versions", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			marker := keys[rng.IntN(total-page)]
			n := 0
			err := s.View(ctx, func(tx meta.Tx) error {
				n = 0
				for _, err := range tx.Versions("bench", meta.VersionListOptions{KeyMarker: marker}) {
					if err != nil {
						return err
					}
					if n++; n == page {
						break
					}
				}
				return nil
			})
			if err != nil || n != page {
				b.Fatalf("listed %d versions: %v", n, err)
			}
		}
	})
}

// BenchmarkUpdateParallel measures durable Updates of one PutVersion each
// from p concurrent callers per GOMAXPROCS, which is what the group commit
// is for: ns/op is wall time per Update, commits/s the Updates that
// returned (each durably committed) per second.
func BenchmarkUpdateParallel(b *testing.B) {
	for _, p := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("p=%d", p), func(b *testing.B) {
			s := MustOpen(b, Options{})
			ctx := context.Background()
			if err := s.Update(ctx, func(tx meta.Tx) error {
				return tx.CreateBucket(&meta.Bucket{Name: "bench", Created: t0})
			}); err != nil {
				b.Fatal(err)
			}
			var seq atomic.Int64
			b.SetParallelism(p)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					key := fmt.Sprintf("k/%09d", seq.Add(1))
					err := s.Update(ctx, func(tx meta.Tx) error {
						_, err := tx.PutVersion("bench", benchVersion(key), nil)
						return err
					})
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "commits/s")
		})
	}
}
