package e2e

import (
	"bytes"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// TestWebsiteRedirectLocation: x-amz-website-redirect-location is stored
// with the object and returned by GET and HEAD (a REST endpoint does not
// redirect: only a website endpoint would). It is set by PutObject,
// CreateMultipartUpload, CopyObject and POST, refused unless it starts
// with "/", "http://" or "https://", and never copied from a copy's
// source, whatever the metadata directive.
func TestWebsiteRedirectLocation(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.bucket("redirects")
	redirect := func(key string) string {
		t.Helper()
		h := e.head(b, key)
		_, out := e.get(b, key)
		if aws.ToString(h.WebsiteRedirectLocation) != aws.ToString(out.WebsiteRedirectLocation) {
			t.Errorf("%s: HEAD says %q, GET %q", key, aws.ToString(h.WebsiteRedirectLocation), aws.ToString(out.WebsiteRedirectLocation))
		}
		return aws.ToString(h.WebsiteRedirectLocation)
	}

	for _, loc := range []string{"/other/page.html", "http://example.com/", "https://example.com/a?b=c"} {
		e.put(b, "page", []byte("body"), func(in *s3.PutObjectInput) { in.WebsiteRedirectLocation = aws.String(loc) })
		if got := redirect("page"); got != loc {
			t.Errorf("after PUT with %q: %q", loc, got)
		}
	}
	e.put(b, "plain", []byte("body"))
	if got := redirect("plain"); got != "" {
		t.Errorf("plain: %q", got)
	}

	t.Run("Invalid", func(t *testing.T) {
		for _, loc := range []string{"ftp://example.com", "page.html", "example.com/x"} {
			_, err := e.c.PutObject(e.ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("bad"), Body: bytes.NewReader([]byte("x")), WebsiteRedirectLocation: aws.String(loc)})
			wantErr(t, err, "InvalidRedirectLocation", http.StatusBadRequest)
			_, err = e.c.CreateMultipartUpload(e.ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("bad"), WebsiteRedirectLocation: aws.String(loc)})
			wantErr(t, err, "InvalidRedirectLocation", http.StatusBadRequest)
			_, err = e.c.CopyObject(e.ctx, &s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String("bad"), CopySource: aws.String(b + "/plain"), WebsiteRedirectLocation: aws.String(loc)})
			wantErr(t, err, "InvalidRedirectLocation", http.StatusBadRequest)
		}
		_, err := e.c.HeadObject(e.ctx, &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String("bad")})
		wantErr(t, err, "NotFound", http.StatusNotFound)
	})

	t.Run("Copy", func(t *testing.T) {
		for _, c := range []struct {
			name      string
			directive types.MetadataDirective
			loc       string
		}{
			{"COPY", types.MetadataDirectiveCopy, ""},
			{"REPLACE", types.MetadataDirectiveReplace, ""},
			{"COPYWithHeader", types.MetadataDirectiveCopy, "/copied.html"},
			{"REPLACEWithHeader", types.MetadataDirectiveReplace, "https://example.org/"},
		} {
			in := &s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String("copy-" + c.name), CopySource: aws.String(b + "/page"), MetadataDirective: c.directive}
			if c.loc != "" {
				in.WebsiteRedirectLocation = aws.String(c.loc)
			}
			if _, err := e.c.CopyObject(e.ctx, in); err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if got := redirect("copy-" + c.name); got != c.loc {
				t.Errorf("%s: redirect %q, want %q (the source's is never copied)", c.name, got, c.loc)
			}
		}
		// Setting a redirect changes the object: a copy onto itself that
		// does only that is legal.
		if _, err := e.c.CopyObject(e.ctx, &s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String("plain"), CopySource: aws.String(b + "/plain"), WebsiteRedirectLocation: aws.String("/moved.html")}); err != nil {
			t.Fatal(err)
		}
		if got := redirect("plain"); got != "/moved.html" {
			t.Errorf("plain after copying onto itself: %q", got)
		}
	})

	t.Run("Multipart", func(t *testing.T) {
		cr, err := e.c.CreateMultipartUpload(e.ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("mpu"), WebsiteRedirectLocation: aws.String("/mpu.html")})
		if err != nil {
			t.Fatal(err)
		}
		up, err := e.c.UploadPart(e.ctx, &s3.UploadPartInput{Bucket: aws.String(b), Key: aws.String("mpu"), UploadId: cr.UploadId, PartNumber: aws.Int32(1), Body: bytes.NewReader([]byte("part"))})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.c.CompleteMultipartUpload(e.ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("mpu"), UploadId: cr.UploadId,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: up.ETag}}}}); err != nil {
			t.Fatal(err)
		}
		if got := redirect("mpu"); got != "/mpu.html" {
			t.Errorf("mpu: %q", got)
		}
	})

	t.Run("POST", func(t *testing.T) {
		s := rootSigner()
		conds := []any{map[string]string{"bucket": b}, []any{"starts-with", "$key", ""}, []any{"starts-with", "$x-amz-website-redirect-location", "/"}}
		fields := append([]postField{{"key", "posted"}, {"x-amz-website-redirect-location", "/posted.html"}}, s.v4Fields(s.policy(t, true, s.now.Add(time.Hour), conds...))...)
		resp, body := postForm(t, e.n.Endpoint+"/"+b, fields, postFile{body: []byte("form")})
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("POST: %d %s", resp.StatusCode, body)
		}
		if got := redirect("posted"); got != "/posted.html" {
			t.Errorf("posted: %q", got)
		}
	})
}
