package e2e

import (
	"encoding/xml"
	"io"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// TestWrongSigningRegion: S3 refuses a signature scoped to another region
// and names the right one in the error (boto3 retries with it).
func TestWrongSigningRegion(t *testing.T) {
	e := start(t)
	b := e.bucket("region")
	other := e.n.S3(func(o *s3.Options) { o.Region = "eu-west-1" })
	_, err := other.HeadBucket(e.ctx, &s3.HeadBucketInput{Bucket: aws.String(b)})
	wantErr(t, err, "BadRequest", http.StatusBadRequest) // HEAD: no body, the SDK names the status
	_, err = other.ListObjectsV2(e.ctx, &s3.ListObjectsV2Input{Bucket: aws.String(b)})
	wantErr(t, err, "AuthorizationHeaderMalformed", http.StatusBadRequest)

	ps := s3.NewPresignClient(other)
	req, err := ps.PresignGetObject(e.ctx, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(req.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var doc struct {
		Code   string `xml:"Code"`
		Region string `xml:"Region"`
	}
	xml.Unmarshal(body, &doc)
	if resp.StatusCode != http.StatusBadRequest || doc.Code != "AuthorizationQueryParametersError" || doc.Region != "us-east-1" {
		t.Fatalf("presigned with the wrong region: %d %s", resp.StatusCode, body)
	}
}
