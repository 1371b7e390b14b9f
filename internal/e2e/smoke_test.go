package e2e

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluicehq/sluice/internal/server/servertest"
)

func TestSmoke(t *testing.T) {
	n := servertest.Start(t)
	c := n.S3()
	ctx := context.Background()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("smoke")}); err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{"hello", strings.Repeat("x", 200<<10)} {
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("smoke"), Key: aws.String("a b/c+d"), Body: strings.NewReader(body)}); err != nil {
			t.Fatal(err)
		}
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("smoke"), Key: aws.String("a b/c+d")})
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(out.Body)
		if !bytes.Equal(got, []byte(body)) {
			t.Fatalf("got %d bytes, want %d", len(got), len(body))
		}
	}
}
