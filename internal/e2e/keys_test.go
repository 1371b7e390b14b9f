package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/sluicehq/sluice/internal/server/servertest"
)

// hostileKeys are keys that trip up path handling, URL encoding, XML and
// signing.
var hostileKeys = []string{
	"../a",
	"a/../../b",
	"./.",
	"a//b",
	"%",
	"%2F",
	"%00",
	"+",
	"a+b c",
	"a b",
	" leading and trailing space ",
	"emoji 🪣/😀",
	"/leading-slash",
	"//double-leading",
	"trailing-slash/",
	"?",
	"a?b=c&d",
	"#",
	"a#frag",
	"semi;colon,comma=eq@at:colon$dollar!bang*star'quote(paren)",
	"<xml>&amp;\"quotes\"</xml>",
	"back\\slash",
	"tilde~caret^pipe|brace{}bracket[]`",
	"ünïcödé/日本語",
	strings.Repeat("k", 1024),
	strings.Repeat("é", 512), // 1,024 bytes of two-byte runes
}

// runHostileKeys drives every key-addressed operation with each hostile key.
func runHostileKeys(t *testing.T, e *env, b string) {
	e.put(b, "plain-source", []byte("plain"))
	for i, key := range hostileKeys {
		t.Run(fmt.Sprintf("%02d_%s", i, url.PathEscape(shortKey(key))), func(t *testing.T) {
			body := []byte("body of " + key)
			put := e.put(b, key, body, func(in *s3.PutObjectInput) { in.Metadata = map[string]string{"k": "v"} })
			if aws.ToString(put.ETag) != quoted(md5hex(body)) {
				t.Errorf("PUT ETag = %s", aws.ToString(put.ETag))
			}
			if got, _ := e.get(b, key); !bytes.Equal(got, body) {
				t.Errorf("GET = %q", got)
			}
			if h := e.head(b, key); aws.ToInt64(h.ContentLength) != int64(len(body)) || h.Metadata["k"] != "v" {
				t.Errorf("HEAD: length %d meta %v", aws.ToInt64(h.ContentLength), h.Metadata)
			}

			// Listed under its exact name, plain and URL-encoded.
			out, err := e.c.ListObjectsV2(e.ctx, &s3.ListObjectsV2Input{Bucket: aws.String(b), Prefix: aws.String(key)})
			if err != nil {
				t.Fatalf("ListObjectsV2: %v", err)
			}
			if !listed(out.Contents, key, nil) {
				t.Errorf("not listed: %q", keysOfObjects(out.Contents))
			}
			out, err = e.c.ListObjectsV2(e.ctx, &s3.ListObjectsV2Input{Bucket: aws.String(b), Prefix: aws.String(key), EncodingType: types.EncodingTypeUrl})
			if err != nil {
				t.Fatalf("ListObjectsV2 encoding-type=url: %v", err)
			}
			if !listed(out.Contents, key, func(s string) (string, error) { return url.QueryUnescape(s) }) {
				t.Errorf("not listed URL-encoded: %q", keysOfObjects(out.Contents))
			}

			// Copied from and onto.
			dst := fmt.Sprintf("copies/%02d", i)
			e.copy(&s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String(dst), CopySource: aws.String(copySource(b, key, ""))})
			if got, _ := e.get(b, dst); !bytes.Equal(got, body) {
				t.Errorf("copy from: %q", got)
			}
			e.copy(&s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String(key), CopySource: aws.String(copySource(b, "plain-source", ""))})
			if got, _ := e.get(b, key); string(got) != "plain" {
				t.Errorf("copy onto: %q", got)
			}

			// Tagging.
			if _, err := e.c.PutObjectTagging(e.ctx, &s3.PutObjectTaggingInput{Bucket: aws.String(b), Key: aws.String(key), Tagging: tagSet("t", key[:min(len(key), 256)])}); err != nil {
				t.Fatalf("PutObjectTagging: %v", err)
			}
			if tags := e.tags(b, key, ""); tags["t"] != key[:min(len(key), 256)] {
				t.Errorf("tags = %v", tags)
			}
			if _, err := e.c.DeleteObjectTagging(e.ctx, &s3.DeleteObjectTaggingInput{Bucket: aws.String(b), Key: aws.String(key)}); err != nil {
				t.Fatalf("DeleteObjectTagging: %v", err)
			}

			// Multipart.
			id := e.createUpload(b, key)
			ups, err := e.c.ListMultipartUploads(e.ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(b), Prefix: aws.String(key)})
			if err != nil {
				t.Fatalf("ListMultipartUploads: %v", err)
			}
			if len(ups.Uploads) == 0 || aws.ToString(ups.Uploads[0].Key) != key {
				t.Errorf("uploads listed: %+v", ups.Uploads)
			}
			p := e.uploadPart(b, key, id, 1, body)
			lp, err := e.c.ListParts(e.ctx, &s3.ListPartsInput{Bucket: aws.String(b), Key: aws.String(key), UploadId: aws.String(id)})
			if err != nil || len(lp.Parts) != 1 || aws.ToString(lp.Key) != key {
				t.Fatalf("ListParts: %v, %+v", err, lp)
			}
			mp, err := e.complete(b, key, id, []types.CompletedPart{completed(1, p.ETag)})
			if err != nil {
				t.Fatalf("CompleteMultipartUpload: %v", err)
			}
			if aws.ToString(mp.Key) != key {
				t.Errorf("Complete Key = %q", aws.ToString(mp.Key))
			}
			checkLocation(t, aws.ToString(mp.Location), b, key)
			if got, _ := e.get(b, key); !bytes.Equal(got, body) {
				t.Errorf("GET after multipart = %q", got)
			}

			// Deleted, singly and in a batch.
			if _, err := e.c.DeleteObject(e.ctx, &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String(key)}); err != nil {
				t.Fatalf("DeleteObject: %v", err)
			}
			_, err = e.c.HeadObject(e.ctx, &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String(key)})
			wantErr(t, err, "NotFound", http.StatusNotFound)
			e.put(b, key, body)
			dout, err := e.c.DeleteObjects(e.ctx, &s3.DeleteObjectsInput{Bucket: aws.String(b), Delete: &types.Delete{
				Objects: []types.ObjectIdentifier{{Key: aws.String(key)}, {Key: aws.String(dst)}},
			}})
			if err != nil {
				t.Fatalf("DeleteObjects: %v", err)
			}
			if len(dout.Deleted) != 2 || len(dout.Errors) != 0 {
				t.Errorf("DeleteObjects: deleted %d errors %+v", len(dout.Deleted), dout.Errors)
			}
			for _, d := range dout.Deleted {
				if k := aws.ToString(d.Key); k != key && k != dst {
					t.Errorf("DeleteObjects reports key %q", k)
				}
			}
			_, err = e.c.HeadObject(e.ctx, &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String(key)})
			wantErr(t, err, "NotFound", http.StatusNotFound)
		})
	}

	t.Run("KeyTooLong", func(t *testing.T) {
		long := strings.Repeat("x", 1025)
		_, err := e.c.PutObject(e.ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String(long), Body: strings.NewReader("x")})
		wantErr(t, err, "KeyTooLongError", http.StatusBadRequest)
		_, err = e.c.CopyObject(e.ctx, &s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String(long), CopySource: aws.String(copySource(b, "plain-source", ""))})
		wantErr(t, err, "KeyTooLongError", http.StatusBadRequest)
		_, err = e.c.CreateMultipartUpload(e.ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(b), Key: aws.String(long)})
		wantErr(t, err, "KeyTooLongError", http.StatusBadRequest)
		// 1,025 bytes in 513 runes.
		_, err = e.c.PutObject(e.ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String(strings.Repeat("é", 512) + "x"), Body: strings.NewReader("x")})
		wantErr(t, err, "KeyTooLongError", http.StatusBadRequest)
	})

	t.Run("AllListed", func(t *testing.T) {
		// Every hostile key at once, in one bucket listing.
		for _, k := range hostileKeys {
			e.put(b, k, []byte("x"))
		}
		got := e.listKeys(b)
		want := append([]string{"plain-source"}, hostileKeys...)
		if len(got) != len(want) {
			t.Fatalf("listed %d keys, want %d: %q", len(got), len(want), got)
		}
		seen := map[string]bool{}
		for _, k := range got {
			seen[k] = true
		}
		for _, k := range want {
			if !seen[k] {
				t.Errorf("key %q not listed", shortKey(k))
			}
		}
	})
}

// checkLocation checks the Location of a completed upload: a URL of the
// object, path-style or virtual-hosted.
func checkLocation(t *testing.T, loc, bucket, key string) {
	t.Helper()
	u, err := url.Parse(loc)
	if err != nil {
		t.Errorf("Location %q is not a URL: %v", loc, err)
		return
	}
	want := "/" + bucket + "/" + key
	if strings.HasPrefix(u.Host, bucket+".") {
		want = "/" + key
	}
	if u.Path != want || u.RawQuery != "" || u.Fragment != "" {
		t.Errorf("Location %q addresses path %q (query %q, fragment %q), want %q", loc, u.Path, u.RawQuery, u.Fragment, want)
	}
}

func listed(objs []types.Object, key string, decode func(string) (string, error)) bool {
	for _, o := range objs {
		k := aws.ToString(o.Key)
		if decode != nil {
			var err error
			if k, err = decode(k); err != nil {
				return false
			}
		}
		if k == key {
			return true
		}
	}
	return false
}

func keysOfObjects(objs []types.Object) []string {
	var ks []string
	for _, o := range objs {
		ks = append(ks, shortKey(aws.ToString(o.Key)))
	}
	return ks
}

func TestHostileKeysPathStyle(t *testing.T) {
	t.Parallel()
	e := start(t)
	runHostileKeys(t, e, e.bucket("hostile"))
}

func TestHostileKeysVirtualHosted(t *testing.T) {
	t.Parallel()
	const domain = "s3.sluice.test"
	n := servertest.Start(t, servertest.Options{Domains: []string{domain}})
	_, port, err := net.SplitHostPort(n.Addr)
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		hosts = map[string]bool{}
	)
	c := n.S3(checkRequestID(t), func(o *s3.Options) {
		o.UsePathStyle = false
		o.BaseEndpoint = aws.String("http://" + domain + ":" + port)
		o.HTTPClient = n.AnyHostClient() // whatever the host name, connect to the node
		o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
			return st.Finalize.Add(middleware.FinalizeMiddlewareFunc("e2eRecordHost",
				func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
					if req, ok := in.Request.(*smithyhttp.Request); ok {
						mu.Lock()
						hosts[req.URL.Host] = true
						mu.Unlock()
					}
					return next.HandleFinalize(ctx, in)
				}), middleware.After)
		})
	})
	e := &env{t: t, n: n, c: c, ctx: context.Background()}
	b := e.bucket("vhost")
	runHostileKeys(t, e, b)

	out, err := c.ListBuckets(e.ctx, &s3.ListBucketsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Buckets) != 1 || aws.ToString(out.Buckets[0].Name) != b {
		t.Errorf("ListBuckets = %+v", out.Buckets)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := b + "." + domain + ":" + port; !hosts[want] {
		t.Errorf("no request was sent to %s (hosts: %v): virtual-hosted addressing is not covered", want, hosts)
	}
}
