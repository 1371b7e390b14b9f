package main

import (
	"archive/zip"
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	cttypes "github.com/aws/aws-sdk-go-v2/service/s3control/types"

	"github.com/sluicehq/sluice/internal/objectlambda/olaptest"
	"github.com/sluicehq/sluice/internal/server/servertest"
)

// TestZipTenThousandObjects zips a prefix of 10,000 objects (160 MiB)
// through the example and checks that the server's heap stays flat while
// the archive streams through it.
func TestZipTenThousandObjects(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 10,000 objects")
	}
	e := olaptest.Start(t)
	alias := e.Bucket("archive", "archive-ap")
	const n, size = 10000, 16 << 10
	var wg sync.WaitGroup
	var failed atomic.Value
	keys := make(chan int)
	start := time.Now()
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := make([]byte, size)
			for i := range keys {
				rand.Read(body)
				body[0] = byte(i)
				if _, err := e.S3.PutObject(e.Ctx, &s3.PutObjectInput{Bucket: aws.String("archive"),
					Key: aws.String(fmt.Sprintf("logs/%05d.bin", i)), Body: bytes.NewReader(body)}); err != nil {
					failed.Store(err)
				}
			}
		}()
	}
	for i := range n {
		keys <- i
	}
	close(keys)
	wg.Wait()
	t.Logf("wrote %d objects in %v", n, time.Since(start))
	if err, _ := failed.Load().(error); err != nil {
		t.Fatal(err)
	}
	e.Put("archive", "logs-index.txt", []byte("not under logs/"))
	wd, _ := os.Getwd()
	e.Function("zip-prefix-go", "provided.al2023", "bootstrap", servertest.GoFunction(t, wd),
		map[string]string{"ACCESS_POINT_ALIAS": alias}, 256)
	arn, _ := e.ObjectLambda("zip-go", "archive-ap", "zip-prefix-go", cttypes.ObjectLambdaTransformationConfigurationActionGetObject)

	base, peak := heapWatch(t)
	start = time.Now()
	out, err := e.ARNS3.GetObject(e.Ctx, &s3.GetObjectInput{Bucket: aws.String(arn), Key: aws.String("logs/")})
	if err != nil {
		t.Fatalf("GetObject: %v", err)
	}
	path := filepath.Join(t.TempDir(), "logs.zip")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	written, err := io.Copy(f, out.Body)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	growth := peak() - base
	t.Logf("zipped in %v", time.Since(start))
	t.Logf("zip of %d objects: %d MiB; server heap grew by at most %d MiB", n, written>>20, growth>>20)
	if growth > 48<<20 {
		t.Errorf("heap grew by %d MiB while streaming %d MiB: the stream is being buffered", growth>>20, written>>20)
	}
	if peak := e.MaxMemoryUsed("zip-prefix-go"); peak >= 128 {
		t.Errorf("the function peaked at %d MB for a %d MiB zip: it is not streaming", peak, written>>20)
	} else {
		t.Logf("the function's peak memory: %d MB", peak)
	}
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatalf("not a zip: %v", err)
	}
	defer zr.Close()
	if len(zr.File) != n {
		t.Fatalf("%d entries, want %d", len(zr.File), n)
	}
	for _, zf := range zr.File[:10] {
		if zf.UncompressedSize64 != size {
			t.Errorf("%s: %d bytes", zf.Name, zf.UncompressedSize64)
		}
	}
}

// heapWatch samples the process's live heap every 10 ms until the test
// ends; it returns the heap now (after a GC) and a function giving the
// peak seen so far.
func heapWatch(t *testing.T) (uint64, func() uint64) {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 { metrics.Read(sample); return sample[0].Value.Uint64() }
	base := read()
	var peak atomic.Uint64
	peak.Store(base)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if v := read(); v > peak.Load() {
					peak.Store(v)
				}
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-done })
	return base, peak.Load
}
