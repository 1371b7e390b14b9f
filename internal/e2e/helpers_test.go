// Package e2e drives real sluice nodes with the AWS SDK for Go v2: every
// test starts a server on a loopback port (servertest.Start) and talks to it
// the way applications do, so what is checked is S3's wire behaviour, not
// sluice's internals. Expected behaviour is Amazon S3's.
package e2e

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/sluicehq/sluice/internal/server/servertest"
)

// env is a running node and an SDK client for it.
type env struct {
	t   *testing.T
	n   *servertest.Node
	c   *s3.Client
	ctx context.Context
}

// start starts a node and returns a client with the SDK's default settings
// (request checksums included) that also fails the test if any response
// lacks x-amz-request-id.
func start(t *testing.T, opts ...servertest.Options) *env {
	t.Helper()
	n := servertest.Start(t, opts...)
	return &env{t: t, n: n, c: n.S3(checkRequestID(t)), ctx: context.Background()}
}

// checkRequestID installs a middleware that checks every raw response for
// an x-amz-request-id header.
func checkRequestID(t *testing.T) func(*s3.Options) {
	return func(o *s3.Options) {
		o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
			return st.Deserialize.Add(middleware.DeserializeMiddlewareFunc("e2eCheckRequestID",
				func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (
					middleware.DeserializeOutput, middleware.Metadata, error,
				) {
					out, md, err := next.HandleDeserialize(ctx, in)
					if resp, ok := out.RawResponse.(*smithyhttp.Response); ok && resp.Header.Get("x-amz-request-id") == "" {
						t.Errorf("%s %s: response %d without x-amz-request-id", resp.Request.Method, resp.Request.URL, resp.StatusCode)
					}
					return out, md, err
				}), middleware.After)
		})
	}
}

// bucket creates a bucket and returns its name.
func (e *env) bucket(name string) string {
	e.t.Helper()
	if _, err := e.c.CreateBucket(e.ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		e.t.Fatalf("CreateBucket %s: %v", name, err)
	}
	return name
}

// versionedBucket creates a bucket with versioning enabled.
func (e *env) versionedBucket(name string) string {
	e.t.Helper()
	e.bucket(name)
	e.setVersioning(name, types.BucketVersioningStatusEnabled)
	return name
}

func (e *env) setVersioning(bucket string, status types.BucketVersioningStatus) {
	e.t.Helper()
	if _, err := e.c.PutBucketVersioning(e.ctx, &s3.PutBucketVersioningInput{
		Bucket:                  aws.String(bucket),
		VersioningConfiguration: &types.VersioningConfiguration{Status: status},
	}); err != nil {
		e.t.Fatalf("PutBucketVersioning %s %s: %v", bucket, status, err)
	}
}

// put stores body under key; fns may adjust the input.
func (e *env) put(bucket, key string, body []byte, fns ...func(*s3.PutObjectInput)) *s3.PutObjectOutput {
	e.t.Helper()
	in := &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)}
	for _, fn := range fns {
		fn(in)
	}
	out, err := e.c.PutObject(e.ctx, in)
	if err != nil {
		e.t.Fatalf("PutObject %s/%q: %v", bucket, key, err)
	}
	return out
}

// get reads an object whole; fns may adjust the input.
func (e *env) get(bucket, key string, fns ...func(*s3.GetObjectInput)) ([]byte, *s3.GetObjectOutput) {
	e.t.Helper()
	in := &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}
	for _, fn := range fns {
		fn(in)
	}
	out, err := e.c.GetObject(e.ctx, in)
	if err != nil {
		e.t.Fatalf("GetObject %s/%q: %v", bucket, key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		e.t.Fatalf("GetObject %s/%q: reading body: %v", bucket, key, err)
	}
	return b, out
}

// head heads an object; fns may adjust the input.
func (e *env) head(bucket, key string, fns ...func(*s3.HeadObjectInput)) *s3.HeadObjectOutput {
	e.t.Helper()
	in := &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}
	for _, fn := range fns {
		fn(in)
	}
	out, err := e.c.HeadObject(e.ctx, in)
	if err != nil {
		e.t.Fatalf("HeadObject %s/%q: %v", bucket, key, err)
	}
	return out
}

// getErr runs a GetObject that must fail and returns its error (the body of
// an unexpected success is closed).
func (e *env) getErr(in *s3.GetObjectInput) error {
	e.t.Helper()
	out, err := e.c.GetObject(e.ctx, in)
	if err == nil {
		out.Body.Close()
		e.t.Fatalf("GetObject %s/%q succeeded, want an error", aws.ToString(in.Bucket), aws.ToString(in.Key))
	}
	return err
}

// listKeys lists every key of a bucket (ListObjectsV2, all pages).
func (e *env) listKeys(bucket string) []string {
	e.t.Helper()
	var keys []string
	p := s3.NewListObjectsV2Paginator(e.c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	for p.HasMorePages() {
		page, err := p.NextPage(e.ctx)
		if err != nil {
			e.t.Fatalf("ListObjectsV2 %s: %v", bucket, err)
		}
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	return keys
}

// wantErr checks that err is an S3 error with the given code and HTTP
// status.
func wantErr(tb testing.TB, err error, code string, status int) {
	tb.Helper()
	if err == nil {
		tb.Fatalf("got success, want %s (%d)", code, status)
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		tb.Fatalf("got %v (%T), want API error %s", err, err, code)
	}
	if ae.ErrorCode() != code {
		tb.Errorf("error code = %q (%v), want %q", ae.ErrorCode(), err, code)
	}
	if got := statusOf(err); got != status {
		tb.Errorf("status = %d (%v), want %d", got, err, status)
	}
}

// statusOf is the HTTP status of a failed SDK call, 0 if it had no response.
func statusOf(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// errHeader returns a header of the HTTP response of a failed SDK call.
func errHeader(tb testing.TB, err error, name string) string {
	tb.Helper()
	var re *awshttp.ResponseError
	if !errors.As(err, &re) {
		tb.Fatalf("%v has no HTTP response", err)
	}
	return re.Response.Header.Get(name)
}

// randBytes returns n pseudo-random bytes determined by seed.
func randBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := 0; i < n; i += 8 {
		v := r.Uint64()
		for j := 0; j < 8 && i+j < n; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b
}

func md5hex(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

// quoted is an ETag as S3 sends it.
func quoted(etag string) string { return `"` + etag + `"` }

// multipartETag is the ETag S3 gives a multipart object: the MD5 of the
// concatenated binary MD5s of its parts, then "-" and the part count.
func multipartETag(parts ...[]byte) string {
	h := md5.New()
	for _, p := range parts {
		s := md5.Sum(p)
		h.Write(s[:])
	}
	return fmt.Sprintf(`"%s-%d"`, hex.EncodeToString(h.Sum(nil)), len(parts))
}

// rawDo sends an unsigned (or presigned) HTTP request to the node and
// returns the response with its body read. Like every response, it must
// carry x-amz-request-id.
func rawDo(tb testing.TB, req *http.Request) (*http.Response, []byte) {
	tb.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("%s %s: reading body: %v", req.Method, req.URL, err)
	}
	if resp.Header.Get("x-amz-request-id") == "" {
		tb.Errorf("%s %s: response %d without x-amz-request-id", req.Method, req.URL, resp.StatusCode)
	}
	return resp, b
}

func newRequest(tb testing.TB, method, url string, body io.Reader) *http.Request {
	tb.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		tb.Fatal(err)
	}
	return req
}

// shortKey abbreviates a long key for subtest names.
func shortKey(k string) string {
	if len(k) > 24 {
		return fmt.Sprintf("%s...(%d bytes)", k[:8], len(k))
	}
	return k
}

// equalStrings compares string lists, nil equal to empty.
func equalStrings(a, b []string) bool { return slices.Equal(a, b) }

// emptySHA256 is the SHA-256 of an empty payload.
const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// signedDo sends a SigV4-signed request without a body to path (which may
// carry a query) and returns the response with its body read.
func (e *env) signedDo(method, path string) (*http.Response, []byte) {
	e.t.Helper()
	req := newRequest(e.t, method, e.n.Endpoint+path, nil)
	req.Header.Set("X-Amz-Content-Sha256", emptySHA256)
	creds := aws.Credentials{AccessKeyID: servertest.AccessKeyID, SecretAccessKey: servertest.SecretAccessKey}
	if err := v4.NewSigner().SignHTTP(e.ctx, creds, req, emptySHA256, "s3", servertest.Region, time.Now()); err != nil {
		e.t.Fatal(err)
	}
	return rawDo(e.t, req)
}
