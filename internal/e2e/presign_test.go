package e2e

import (
	"bytes"
	"context"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluicehq/sluice/internal/server/servertest"
)

// s3ErrorDoc is S3's error document.
type s3ErrorDoc struct {
	XMLName   xml.Name `xml:"Error"`
	Code      string   `xml:"Code"`
	Message   string   `xml:"Message"`
	Resource  string   `xml:"Resource"`
	RequestID string   `xml:"RequestId"`
	Key       string   `xml:"Key"`
	Bucket    string   `xml:"BucketName"`
}

// checkErrorDoc checks that a raw response is an S3 error document with
// the given status and code whose RequestId is the x-amz-request-id
// header.
func checkErrorDoc(tb testing.TB, resp *http.Response, body []byte, status int, code string) s3ErrorDoc {
	tb.Helper()
	if resp.StatusCode != status {
		tb.Errorf("status = %d, want %d (body %s)", resp.StatusCode, status, body)
	}
	var doc s3ErrorDoc
	if err := xml.Unmarshal(body, &doc); err != nil {
		tb.Fatalf("error body is not S3 XML: %v\n%s", err, body)
	}
	if doc.Code != code {
		tb.Errorf("Code = %q, want %q (message %q)", doc.Code, code, doc.Message)
	}
	if doc.Message == "" {
		tb.Errorf("error document has no Message")
	}
	id := resp.Header.Get("x-amz-request-id")
	if id == "" || doc.RequestID != id {
		tb.Errorf("RequestId = %q, x-amz-request-id = %q: want equal and non-empty", doc.RequestID, id)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.Contains(ct, "xml") {
		tb.Errorf("error Content-Type = %q", ct)
	}
	return doc
}

// presignedDo presigns a GET or PUT of bucket/key with the node's client
// and sends it with plain net/http (body only for PUT).
func (e *env) presignedDo(method, bucket, key string, body []byte) (*http.Response, []byte) {
	e.t.Helper()
	return e.presignedDoWith(e.c, method, bucket, key, body, nil)
}

func (e *env) presignedDoWith(c *s3.Client, method, bucket, key string, body []byte, tamper func(*url.URL)) (*http.Response, []byte) {
	e.t.Helper()
	pc := s3.NewPresignClient(c, s3.WithPresignExpires(5*time.Minute))
	var (
		req *v4.PresignedHTTPRequest
		err error
	)
	switch method {
	case http.MethodGet:
		req, err = pc.PresignGetObject(e.ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	case http.MethodPut:
		req, err = pc.PresignPutObject(e.ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	default:
		e.t.Fatalf("presign %s: unsupported", method)
	}
	if err != nil {
		e.t.Fatalf("presign %s %s/%s: %v", method, bucket, key, err)
	}
	u, err := url.Parse(req.URL)
	if err != nil {
		e.t.Fatal(err)
	}
	if tamper != nil {
		tamper(u)
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	hr := newRequest(e.t, req.Method, u.String(), rd)
	for name, vals := range req.SignedHeader {
		if strings.EqualFold(name, "host") {
			continue
		}
		hr.Header[name] = vals
	}
	return rawDo(e.t, hr)
}

func TestPresigned(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.bucket("presign")
	body := []byte("presigned body")

	resp, _ := e.presignedDo(http.MethodPut, b, "dir/a b+c", body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("presigned PUT: %s", resp.Status)
	}
	if got := resp.Header.Get("ETag"); got != quoted(md5hex(body)) {
		t.Errorf("presigned PUT ETag = %s", got)
	}
	resp, got := e.presignedDo(http.MethodGet, b, "dir/a b+c", nil)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(got, body) {
		t.Fatalf("presigned GET: %s, %q", resp.Status, got)
	}
	if sdkGot, _ := e.get(b, "dir/a b+c"); !bytes.Equal(sdkGot, body) {
		t.Errorf("SDK read of a presigned PUT = %q", sdkGot)
	}

	t.Run("MissingKey", func(t *testing.T) {
		resp, raw := e.presignedDo(http.MethodGet, b, "missing", nil)
		doc := checkErrorDoc(t, resp, raw, http.StatusNotFound, "NoSuchKey")
		if doc.Key != "missing" {
			t.Errorf("Key = %q, want missing", doc.Key)
		}
		if doc.Resource == "" {
			t.Errorf("error document has no Resource")
		}
	})

	t.Run("Expired", func(t *testing.T) {
		// The presign client signs as of an hour ago, for 60 seconds.
		pc := s3.NewPresignClient(e.c, s3.WithPresignExpires(time.Minute), func(o *s3.PresignOptions) {
			o.Presigner = agedPresigner{age: time.Hour}
		})
		for _, method := range []string{http.MethodGet, http.MethodPut} {
			var (
				req *v4.PresignedHTTPRequest
				err error
				rd  io.Reader
			)
			if method == http.MethodGet {
				req, err = pc.PresignGetObject(e.ctx, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("dir/a b+c")})
			} else {
				req, err = pc.PresignPutObject(e.ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("dir/a b+c")})
				rd = strings.NewReader("overwrite")
			}
			if err != nil {
				t.Fatal(err)
			}
			resp, raw := rawDo(t, newRequest(t, method, req.URL, rd))
			if doc := checkErrorDoc(t, resp, raw, http.StatusForbidden, "AccessDenied"); !strings.Contains(doc.Message, "expired") {
				t.Errorf("%s: message %q does not say the request expired", method, doc.Message)
			}
		}
		if got, _ := e.get(b, "dir/a b+c"); !bytes.Equal(got, body) {
			t.Errorf("expired PUT changed the object: %q", got)
		}
	})

	t.Run("Tampered", func(t *testing.T) {
		for name, tamper := range map[string]func(*url.URL){
			"OtherKey": func(u *url.URL) { u.Path += "x"; u.RawPath = "" },
			"Expires": func(u *url.URL) {
				q := u.Query()
				q.Set("X-Amz-Expires", "3600")
				u.RawQuery = q.Encode()
			},
			"Signature": func(u *url.URL) {
				q := u.Query()
				sig := []byte(q.Get("X-Amz-Signature"))
				sig[0] ^= 1
				q.Set("X-Amz-Signature", string(sig))
				u.RawQuery = q.Encode()
			},
			"ExtraParam": func(u *url.URL) { u.RawQuery += "&response-content-type=text%2Fhtml" },
		} {
			t.Run(name, func(t *testing.T) {
				resp, raw := e.presignedDoWith(e.c, http.MethodGet, b, "dir/a b+c", nil, tamper)
				checkErrorDoc(t, resp, raw, http.StatusForbidden, "SignatureDoesNotMatch")
			})
		}
	})

	t.Run("WrongSecret", func(t *testing.T) {
		c := e.n.S3(func(o *s3.Options) {
			o.Credentials = credentials.NewStaticCredentialsProvider(servertest.AccessKeyID, "wrong-secret", "")
		})
		resp, raw := e.presignedDoWith(c, http.MethodGet, b, "dir/a b+c", nil, nil)
		checkErrorDoc(t, resp, raw, http.StatusForbidden, "SignatureDoesNotMatch")
		_, err := c.HeadBucket(e.ctx, &s3.HeadBucketInput{Bucket: aws.String(b)})
		wantErr(t, err, "Forbidden", http.StatusForbidden)
		_, err = c.ListObjectsV2(e.ctx, &s3.ListObjectsV2Input{Bucket: aws.String(b)})
		wantErr(t, err, "SignatureDoesNotMatch", http.StatusForbidden)
	})

	t.Run("UnknownKey", func(t *testing.T) {
		c := e.n.S3(func(o *s3.Options) {
			o.Credentials = credentials.NewStaticCredentialsProvider("AKIAUNKNOWN000000000", servertest.SecretAccessKey, "")
		})
		resp, raw := e.presignedDoWith(c, http.MethodGet, b, "dir/a b+c", nil, nil)
		checkErrorDoc(t, resp, raw, http.StatusForbidden, "InvalidAccessKeyId")
		_, err := c.ListBuckets(e.ctx, &s3.ListBucketsInput{})
		wantErr(t, err, "InvalidAccessKeyId", http.StatusForbidden)
	})

	t.Run("Anonymous", func(t *testing.T) {
		for _, tc := range []struct{ method, path string }{
			{http.MethodGet, "/"},
			{http.MethodGet, "/" + b},
			{http.MethodGet, "/" + b + "/dir/a%20b%2Bc"},
			{http.MethodPut, "/" + b + "/anon"},
			{http.MethodDelete, "/" + b + "/dir/a%20b%2Bc"},
		} {
			t.Run(tc.method+tc.path, func(t *testing.T) {
				var rd io.Reader
				if tc.method == http.MethodPut {
					rd = strings.NewReader("anonymous")
				}
				resp, raw := rawDo(t, newRequest(t, tc.method, e.n.Endpoint+tc.path, rd))
				checkErrorDoc(t, resp, raw, http.StatusForbidden, "AccessDenied")
			})
		}
		// Nothing was changed.
		if got, _ := e.get(b, "dir/a b+c"); !bytes.Equal(got, body) {
			t.Errorf("object changed: %q", got)
		}
	})
}

// agedPresigner presigns as if at a time age ago.
type agedPresigner struct{ age time.Duration }

func (p agedPresigner) PresignHTTP(ctx context.Context, creds aws.Credentials, r *http.Request, payloadHash, service, region string,
	signingTime time.Time, optFns ...func(*v4.SignerOptions),
) (string, http.Header, error) {
	return v4.NewSigner().PresignHTTP(ctx, creds, r, payloadHash, service, region, signingTime.Add(-p.age), optFns...)
}
