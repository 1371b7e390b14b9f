package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	smithymiddleware "github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/sluicehq/sluice/internal/server/servertest"
)

// TestDefaultSDKOverTLS drives a node over HTTPS, where aws-sdk-go-v2 with
// its default settings streams bodies as STREAMING-UNSIGNED-PAYLOAD-TRAILER
// with an x-amz-checksum-crc32 trailer: the mode most real uploads use.
func TestDefaultSDKOverTLS(t *testing.T) {
	n := servertest.Start(t, servertest.Options{TLS: true})
	var (
		mu    sync.Mutex
		modes []string
	)
	record := func(o *s3.Options) {
		o.APIOptions = append(o.APIOptions, func(st *smithymiddleware.Stack) error {
			return st.Finalize.Add(smithymiddleware.FinalizeMiddlewareFunc("record", func(ctx context.Context, in smithymiddleware.FinalizeInput, next smithymiddleware.FinalizeHandler) (smithymiddleware.FinalizeOutput, smithymiddleware.Metadata, error) {
				if req, ok := in.Request.(*smithyhttp.Request); ok {
					mu.Lock()
					modes = append(modes, req.Header.Get("X-Amz-Content-Sha256"))
					mu.Unlock()
				}
				return next.HandleFinalize(ctx, in)
			}), smithymiddleware.After)
		})
	}
	c := n.S3(record)
	ctx := context.Background()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("tls")}); err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 6<<20)
	rand.Read(big)
	for _, tc := range []struct {
		name string
		body []byte
		alg  types.ChecksumAlgorithm
	}{
		{"default small", []byte("hello, trailer"), ""},
		{"default large", big, ""},
		{"crc32c", big[:1<<20], types.ChecksumAlgorithmCrc32c},
		{"sha256", big[:100], types.ChecksumAlgorithmSha256},
		{"crc64nvme", big[:70<<10], types.ChecksumAlgorithmCrc64nvme},
		{"sha1", []byte{}, types.ChecksumAlgorithmSha1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := "k/" + strings.ReplaceAll(tc.name, " ", "+")
			if _, err := c.PutObject(ctx, &s3.PutObjectInput{
				Bucket: aws.String("tls"), Key: aws.String(key), Body: bytes.NewReader(tc.body), ChecksumAlgorithm: tc.alg,
			}); err != nil {
				t.Fatal(err)
			}
			out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("tls"), Key: aws.String(key), ChecksumMode: types.ChecksumModeEnabled})
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(out.Body)
			out.Body.Close()
			if err != nil {
				t.Fatal(err) // includes the SDK's response checksum validation
			}
			if !bytes.Equal(got, tc.body) {
				t.Fatalf("read %d bytes, wrote %d", len(got), len(tc.body))
			}
		})
	}
	mu.Lock()
	defer mu.Unlock()
	trailers := 0
	for _, m := range modes {
		if m == "STREAMING-UNSIGNED-PAYLOAD-TRAILER" {
			trailers++
		}
	}
	if trailers == 0 {
		t.Fatalf("the SDK never used a checksum trailer (payload modes %q): the test no longer covers it", modes)
	}
	_ = http.StatusOK
}
