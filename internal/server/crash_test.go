package server_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/sluicehq/sluice/internal/server/servertest"
)

func TestMain(m *testing.M) {
	// The crash tests re-execute this test binary as a child server
	// process (so that it can be killed with SIGKILL without killing the
	// test).
	servertest.ServeChild(nil)
	os.Unsetenv("AWS_CA_BUNDLE")
	os.Exit(m.Run())
}

// s3Client returns an S3 client for a node run as a child process.
func s3Client(c *servertest.Child) *s3.Client {
	return s3.NewFromConfig(c.AWSConfig(), func(o *s3.Options) { o.UsePathStyle = true })
}

// keyState records what a writer knows about one key.
type keyState struct {
	acked    []byte // last acknowledged body, nil if none
	inflight []byte // body of a PUT that had not answered at the kill
}

// TestCrashDuringConcurrentPuts kills a durable server with SIGKILL while
// writers overwrite keys, then restarts it: every acknowledged write must
// read back byte-identical, and a write in flight at the kill is either
// absent or whole — never torn, mixed or half-visible.
func TestCrashDuringConcurrentPuts(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test needs a child process and fsync; skipped with -short")
	}
	dir := t.TempDir()
	c := servertest.StartChild(t, dir)
	s3c := s3Client(c)
	ctx := context.Background()
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("crash")}); err != nil {
		t.Fatal(err)
	}

	const writers = 12
	var (
		mu     sync.Mutex
		states = map[string]*keyState{}
		wg     sync.WaitGroup
		stop   = make(chan struct{})
		acks   int
	)
	// put PUTs body at key, noting it in flight and then acknowledged; it
	// reports false once the server is gone.
	put := func(key string, body []byte) bool {
		mu.Lock()
		st := states[key]
		if st == nil {
			st = &keyState{}
			states[key] = st
		}
		st.inflight = body
		mu.Unlock()
		_, err := s3c.PutObject(ctx, &s3.PutObjectInput{
			Bucket: aws.String("crash"), Key: aws.String(key), Body: bytes.NewReader(body),
		})
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			return false
		}
		st.acked, st.inflight = body, nil
		acks++
		return true
	}
	// writer PUTs what next makes until stop, or until the server is gone,
	// and returns how many PUTs were acknowledged.
	writer := func(next func() (string, []byte)) (acked int) {
		for {
			select {
			case <-stop:
				return acked
			default:
			}
			if !put(next()) {
				return acked
			}
			acked++
		}
	}
	for w := range writers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			writer(func() (string, []byte) {
				// Each writer owns its keys: some small (inline in the
				// metadata store), some larger (blob files), with
				// overwrites of the same keys.
				key := fmt.Sprintf("w%02d/k%03d %%/../é", w, rng.IntN(40))
				body := make([]byte, []int{0, 100, 4 << 10, 70 << 10, 300 << 10, 3 << 20}[rng.IntN(6)])
				for j := range body {
					body[j] = byte(rng.Uint32())
				}
				return key, body
			})
		})
	}
	// One writer of objects large enough to be written past the page
	// cache (objstore's directPutMin, 64 MiB), over two keys.
	var largeAcks int
	wg.Go(func() {
		rng := rand.New(rand.NewPCG(99, 7))
		i := 0
		largeAcks = writer(func() (string, []byte) {
			i++
			body := make([]byte, 64<<20+rng.IntN(4096))
			for j := 0; j+8 <= len(body); j += 8 {
				binary.LittleEndian.PutUint64(body[j:], rng.Uint64())
			}
			return fmt.Sprintf("large/%d", i%2), body
		})
	})
	time.Sleep(1500 * time.Millisecond)
	c.Kill()
	close(stop)
	wg.Wait()
	if acks < 20 {
		t.Fatalf("only %d writes acknowledged before the kill; the test proves little", acks)
	}
	t.Logf("%d writes acknowledged (%d of 64 MiB), %d keys", acks, largeAcks, len(states))

	c2 := servertest.StartChild(t, dir)
	s3c = s3Client(c2)
	listed := map[string]int64{}
	p := s3.NewListObjectsV2Paginator(s3c, &s3.ListObjectsV2Input{Bucket: aws.String("crash")})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Contents {
			listed[aws.ToString(o.Key)] = aws.ToInt64(o.Size)
		}
	}
	for key, st := range states {
		out, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("crash"), Key: aws.String(key)})
		var nsk *types.NoSuchKey
		if errors.As(err, &nsk) {
			if st.acked != nil {
				t.Errorf("%q: acknowledged write lost", key)
			}
			if _, ok := listed[key]; ok {
				t.Errorf("%q: listed but not readable", key)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%q: %v", key, err)
		}
		got, err := io.ReadAll(out.Body)
		out.Body.Close()
		if err != nil {
			t.Fatalf("%q: read: %v", key, err)
		}
		switch {
		case st.acked != nil && bytes.Equal(got, st.acked):
		case st.inflight != nil && bytes.Equal(got, st.inflight):
		default:
			t.Errorf("%q: read %d bytes (md5 %x) matching neither the acknowledged (%d bytes) nor the in-flight write",
				key, len(got), md5.Sum(got), len(st.acked))
		}
		if n, ok := listed[key]; !ok || n != int64(len(got)) {
			t.Errorf("%q: listing says size %d (present %v), object has %d bytes", key, n, ok, len(got))
		}
	}
	for key := range listed {
		if _, ok := states[key]; !ok {
			t.Errorf("listing shows %q, which no one wrote", key)
		}
	}
}
