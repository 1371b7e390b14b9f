package e2e

import (
	"bytes"
	"crypto/md5"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// bodies returns n distinct bodies of size bytes and an index of their
// MD5s.
func bodies(n, size int, seed uint64) ([][]byte, map[[16]byte]int) {
	bs := make([][]byte, n)
	idx := make(map[[16]byte]int, n)
	for i := range bs {
		bs[i] = randBytes(size, seed+uint64(i))
		idx[md5.Sum(bs[i])] = i
	}
	return bs, idx
}

func TestConcurrentPuts(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.bucket("concurrent-puts")
	bs, idx := bodies(32, 256<<10, 1000)
	var wg sync.WaitGroup
	errs := make(chan error, len(bs))
	for _, body := range bs {
		wg.Go(func() {
			_, err := e.c.PutObject(e.ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("k"), Body: bytes.NewReader(body)})
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("PutObject: %v", err)
	}
	got, out := e.get(b, "k")
	i, ok := idx[md5.Sum(got)]
	if !ok {
		t.Fatalf("the object (%d bytes) is none of the bodies written", len(got))
	}
	if aws.ToString(out.ETag) != quoted(md5hex(bs[i])) {
		t.Errorf("ETag %s does not describe the body (body %d)", aws.ToString(out.ETag), i)
	}
	if keys := e.listKeys(b); len(keys) != 1 {
		t.Errorf("keys = %q", keys)
	}
}

func TestReadsRacingOverwrites(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.bucket("racing")
	// Above the inline threshold (blob-backed, so overwrites release blobs
	// a reader may still be streaming), and one inline size.
	for _, size := range []int{256 << 10, 4 << 10} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			key := fmt.Sprint("k", size)
			bs, idx := bodies(8, size, uint64(size))
			e.put(b, key, bs[0])
			const writers, rounds, readers = 4, 6, 4
			var (
				wg    sync.WaitGroup
				done  atomic.Bool
				reads atomic.Int64
				errc  = make(chan error, writers+readers)
			)
			for w := range writers {
				wg.Go(func() {
					for r := range rounds {
						body := bs[(w*rounds+r)%len(bs)]
						if _, err := e.c.PutObject(e.ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
							errc <- fmt.Errorf("PutObject: %w", err)
							return
						}
					}
				})
			}
			var rg sync.WaitGroup
			for range readers {
				rg.Go(func() {
					for n := 0; !done.Load() || n < 3; n++ {
						out, err := e.c.GetObject(e.ctx, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String(key)})
						if err != nil {
							errc <- fmt.Errorf("GetObject: %w", err)
							return
						}
						got, err := io.ReadAll(out.Body)
						out.Body.Close()
						if err != nil {
							errc <- fmt.Errorf("reading GetObject body: %w", err)
							return
						}
						reads.Add(1)
						i, ok := idx[md5.Sum(got)]
						if !ok {
							errc <- fmt.Errorf("GET returned %d bytes that are none of the bodies (a mix?)", len(got))
							return
						}
						if aws.ToString(out.ETag) != quoted(md5hex(bs[i])) {
							errc <- errors.New("GET: ETag and body disagree")
							return
						}
					}
				})
			}
			wg.Wait()
			done.Store(true)
			rg.Wait()
			close(errc)
			for err := range errc {
				t.Error(err)
			}
			t.Logf("%d reads raced %d writes", reads.Load(), writers*rounds)
		})
	}
}

func TestSlowReaderOutlivesOverwrite(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.bucket("slow-reader")
	old := randBytes(8<<20, 77)
	e.put(b, "k", old)
	out, err := e.c.GetObject(e.ctx, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	defer out.Body.Close()
	head := make([]byte, 1)
	if _, err := io.ReadFull(out.Body, head); err != nil {
		t.Fatal(err)
	}
	// Replace and then delete the object while the GET is in flight, and
	// give the blob collector time to run (its grace period is 2 s).
	e.put(b, "k", []byte("new"))
	if _, err := e.c.DeleteObject(e.ctx, &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String("k")}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2500 * time.Millisecond)
	rest, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatalf("reading the rest: %v", err)
	}
	if got := append(head, rest...); !bytes.Equal(got, old) {
		t.Fatalf("in-flight GET returned %d bytes, not the old body", len(got))
	}
}
