package e2e

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// copySource builds x-amz-copy-source: bucket/key, the key percent-encoded
// except for '/', and an optional version.
func copySource(bucket, key, versionID string) string {
	var sb strings.Builder
	sb.WriteString(bucket + "/")
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', strings.IndexByte("-_.~/", c) >= 0:
			sb.WriteByte(c)
		default:
			fmt.Fprintf(&sb, "%%%02X", c)
		}
	}
	if versionID != "" {
		sb.WriteString("?versionId=" + versionID)
	}
	return sb.String()
}

func (e *env) copy(in *s3.CopyObjectInput) *s3.CopyObjectOutput {
	e.t.Helper()
	out, err := e.c.CopyObject(e.ctx, in)
	if err != nil {
		e.t.Fatalf("CopyObject %s → %s/%q: %v", aws.ToString(in.CopySource), aws.ToString(in.Bucket), aws.ToString(in.Key), err)
	}
	return out
}

func TestCopyObject(t *testing.T) {
	t.Parallel()
	e := start(t)
	src := e.bucket("copy-src")
	dst := e.bucket("copy-dst")
	body := []byte("copy me")
	e.put(src, "s", body, func(in *s3.PutObjectInput) {
		in.ContentType = aws.String("text/x-source")
		in.CacheControl = aws.String("no-store")
		in.Metadata = map[string]string{"origin": "source"}
		in.Tagging = aws.String("t1=v1&t2=v%202")
	})

	t.Run("CopyDirectives", func(t *testing.T) {
		out := e.copy(&s3.CopyObjectInput{Bucket: aws.String(dst), Key: aws.String("d"), CopySource: aws.String(copySource(src, "s", ""))})
		if got := aws.ToString(out.CopyObjectResult.ETag); got != quoted(md5hex(body)) {
			t.Errorf("copy ETag = %s, want %s", got, quoted(md5hex(body)))
		}
		if out.CopyObjectResult.LastModified == nil {
			t.Error("no LastModified in CopyObjectResult")
		}
		got, g := e.get(dst, "d")
		if !bytes.Equal(got, body) {
			t.Errorf("copy body = %q", got)
		}
		if aws.ToString(g.ContentType) != "text/x-source" || aws.ToString(g.CacheControl) != "no-store" || g.Metadata["origin"] != "source" {
			t.Errorf("metadata not copied: %q %q %v", aws.ToString(g.ContentType), aws.ToString(g.CacheControl), g.Metadata)
		}
		if aws.ToInt32(g.TagCount) != 2 {
			t.Errorf("x-amz-tagging-count = %d, want 2", aws.ToInt32(g.TagCount))
		}
		if tags := e.tags(dst, "d", ""); len(tags) != 2 || tags["t2"] != "v 2" {
			t.Errorf("tags = %v", tags)
		}
	})

	t.Run("ReplaceDirectives", func(t *testing.T) {
		e.copy(&s3.CopyObjectInput{
			Bucket: aws.String(dst), Key: aws.String("r"), CopySource: aws.String(copySource(src, "s", "")),
			MetadataDirective: types.MetadataDirectiveReplace,
			ContentType:       aws.String("application/x-replaced"),
			Metadata:          map[string]string{"new": "yes"},
			TaggingDirective:  types.TaggingDirectiveReplace,
			Tagging:           aws.String("only=one"),
		})
		h := e.head(dst, "r")
		if aws.ToString(h.ContentType) != "application/x-replaced" || h.CacheControl != nil || len(h.Metadata) != 1 || h.Metadata["new"] != "yes" {
			t.Errorf("replaced metadata: %q %q %v", aws.ToString(h.ContentType), aws.ToString(h.CacheControl), h.Metadata)
		}
		if tags := e.tags(dst, "r", ""); len(tags) != 1 || tags["only"] != "one" {
			t.Errorf("tags = %v", tags)
		}
	})

	t.Run("ReplaceTagsWithNone", func(t *testing.T) {
		e.copy(&s3.CopyObjectInput{
			Bucket: aws.String(dst), Key: aws.String("notags"), CopySource: aws.String(copySource(src, "s", "")),
			TaggingDirective: types.TaggingDirectiveReplace,
		})
		if tags := e.tags(dst, "notags", ""); len(tags) != 0 {
			t.Errorf("tags = %v, want none", tags)
		}
		// Metadata is still copied.
		if h := e.head(dst, "notags"); h.Metadata["origin"] != "source" {
			t.Errorf("metadata = %v", h.Metadata)
		}
	})

	t.Run("SourceConditions", func(t *testing.T) {
		h := e.head(src, "s")
		etag, lm := aws.ToString(h.ETag), *h.LastModified
		for _, tc := range []struct {
			name string
			set  func(*s3.CopyObjectInput)
			ok   bool
		}{
			{"IfMatch", func(in *s3.CopyObjectInput) { in.CopySourceIfMatch = aws.String(etag) }, true},
			{"IfMatchFails", func(in *s3.CopyObjectInput) { in.CopySourceIfMatch = aws.String(`"0000"`) }, false},
			{"IfNoneMatch", func(in *s3.CopyObjectInput) { in.CopySourceIfNoneMatch = aws.String(`"0000"`) }, true},
			{"IfNoneMatchFails", func(in *s3.CopyObjectInput) { in.CopySourceIfNoneMatch = aws.String(etag) }, false},
			{"IfModifiedSince", func(in *s3.CopyObjectInput) { in.CopySourceIfModifiedSince = aws.Time(lm.Add(-time.Hour)) }, true},
			{"IfModifiedSinceFails", func(in *s3.CopyObjectInput) { in.CopySourceIfModifiedSince = aws.Time(lm.Add(time.Hour)) }, false},
			{"IfUnmodifiedSince", func(in *s3.CopyObjectInput) { in.CopySourceIfUnmodifiedSince = aws.Time(lm.Add(time.Hour)) }, true},
			{"IfUnmodifiedSinceFails", func(in *s3.CopyObjectInput) { in.CopySourceIfUnmodifiedSince = aws.Time(lm.Add(-time.Hour)) }, false},
			{"IfMatchTrueUnmodifiedFalse", func(in *s3.CopyObjectInput) {
				in.CopySourceIfMatch = aws.String(etag)
				in.CopySourceIfUnmodifiedSince = aws.Time(lm.Add(-time.Hour))
			}, true},
			{"IfNoneMatchFalseModifiedTrue", func(in *s3.CopyObjectInput) {
				in.CopySourceIfNoneMatch = aws.String(etag)
				in.CopySourceIfModifiedSince = aws.Time(lm.Add(-time.Hour))
			}, false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				key := "cond-" + tc.name
				in := &s3.CopyObjectInput{Bucket: aws.String(dst), Key: aws.String(key), CopySource: aws.String(copySource(src, "s", ""))}
				tc.set(in)
				_, err := e.c.CopyObject(e.ctx, in)
				if tc.ok {
					if err != nil {
						t.Fatal(err)
					}
					return
				}
				wantErr(t, err, "PreconditionFailed", http.StatusPreconditionFailed)
				_, err = e.c.HeadObject(e.ctx, &s3.HeadObjectInput{Bucket: aws.String(dst), Key: aws.String(key)})
				wantErr(t, err, "NotFound", http.StatusNotFound)
			})
		}
	})

	t.Run("OntoItself", func(t *testing.T) {
		e.put(src, "self", []byte("self"), func(in *s3.PutObjectInput) { in.ContentType = aws.String("text/old") })
		_, err := e.c.CopyObject(e.ctx, &s3.CopyObjectInput{Bucket: aws.String(src), Key: aws.String("self"), CopySource: aws.String(copySource(src, "self", ""))})
		wantErr(t, err, "InvalidRequest", http.StatusBadRequest)
		// An explicit COPY directive is the same request.
		_, err = e.c.CopyObject(e.ctx, &s3.CopyObjectInput{
			Bucket: aws.String(src), Key: aws.String("self"), CopySource: aws.String(copySource(src, "self", "")),
			MetadataDirective: types.MetadataDirectiveCopy,
		})
		wantErr(t, err, "InvalidRequest", http.StatusBadRequest)
		e.copy(&s3.CopyObjectInput{
			Bucket: aws.String(src), Key: aws.String("self"), CopySource: aws.String(copySource(src, "self", "")),
			MetadataDirective: types.MetadataDirectiveReplace, ContentType: aws.String("text/new"),
		})
		got, g := e.get(src, "self")
		if string(got) != "self" || aws.ToString(g.ContentType) != "text/new" {
			t.Errorf("after REPLACE onto itself: %q, %q", got, aws.ToString(g.ContentType))
		}
	})

	t.Run("LeadingSlashSource", func(t *testing.T) {
		// x-amz-copy-source may start with a slash.
		e.copy(&s3.CopyObjectInput{Bucket: aws.String(dst), Key: aws.String("slash"), CopySource: aws.String("/" + copySource(src, "s", ""))})
		if got, _ := e.get(dst, "slash"); !bytes.Equal(got, body) {
			t.Errorf("copy = %q", got)
		}
	})

	t.Run("MissingSource", func(t *testing.T) {
		_, err := e.c.CopyObject(e.ctx, &s3.CopyObjectInput{Bucket: aws.String(dst), Key: aws.String("x"), CopySource: aws.String(copySource(src, "missing", ""))})
		wantErr(t, err, "NoSuchKey", http.StatusNotFound)
		_, err = e.c.CopyObject(e.ctx, &s3.CopyObjectInput{Bucket: aws.String(dst), Key: aws.String("x"), CopySource: aws.String(copySource("no-such-bucket", "s", ""))})
		wantErr(t, err, "NoSuchBucket", http.StatusNotFound)
	})

	t.Run("LargeSource", func(t *testing.T) {
		big := randBytes(1<<20+3, 7)
		e.put(src, "big", big)
		out := e.copy(&s3.CopyObjectInput{Bucket: aws.String(dst), Key: aws.String("big"), CopySource: aws.String(copySource(src, "big", ""))})
		if got := aws.ToString(out.CopyObjectResult.ETag); got != quoted(md5hex(big)) {
			t.Errorf("ETag = %s", got)
		}
		// The copy is independent of the source.
		e.put(src, "big", []byte("overwritten"))
		if _, err := e.c.DeleteObject(e.ctx, &s3.DeleteObjectInput{Bucket: aws.String(src), Key: aws.String("big")}); err != nil {
			t.Fatal(err)
		}
		if got, _ := e.get(dst, "big"); !bytes.Equal(got, big) {
			t.Errorf("copy changed with its source (%d bytes)", len(got))
		}
	})
}

func TestCopyVersions(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.versionedBucket("copy-versions")
	v1 := aws.ToString(e.put(b, "k", []byte("one")).VersionId)
	v2 := aws.ToString(e.put(b, "k", []byte("two")).VersionId)
	if v1 == "" || v2 == "" || v1 == v2 {
		t.Fatalf("version IDs %q, %q", v1, v2)
	}

	t.Run("SourceVersion", func(t *testing.T) {
		out := e.copy(&s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String("old"), CopySource: aws.String(copySource(b, "k", v1))})
		if got := aws.ToString(out.CopySourceVersionId); got != v1 {
			t.Errorf("CopySourceVersionId = %q, want %q", got, v1)
		}
		if aws.ToString(out.VersionId) == "" {
			t.Error("no VersionId for the copy in a versioned bucket")
		}
		if got, _ := e.get(b, "old"); string(got) != "one" {
			t.Errorf("copy of v1 = %q", got)
		}
		// Without a version the latest is copied, and reported.
		out = e.copy(&s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String("new"), CopySource: aws.String(copySource(b, "k", ""))})
		if got := aws.ToString(out.CopySourceVersionId); got != v2 {
			t.Errorf("CopySourceVersionId = %q, want %q", got, v2)
		}
	})

	t.Run("RestoreOntoItself", func(t *testing.T) {
		// Copying a named version onto its own key restores it.
		out := e.copy(&s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String("k"), CopySource: aws.String(copySource(b, "k", v1))})
		v3 := aws.ToString(out.VersionId)
		if v3 == "" || v3 == v1 || v3 == v2 {
			t.Errorf("restored version ID = %q", v3)
		}
		if got, _ := e.get(b, "k"); string(got) != "one" {
			t.Errorf("after restore: %q, want one", got)
		}
		if got, _ := e.get(b, "k", func(in *s3.GetObjectInput) { in.VersionId = aws.String(v2) }); string(got) != "two" {
			t.Errorf("v2 = %q", got)
		}
	})

	t.Run("DeleteMarkerSource", func(t *testing.T) {
		e.put(b, "gone", []byte("x"))
		del, err := e.c.DeleteObject(e.ctx, &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String("gone")})
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.c.CopyObject(e.ctx, &s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String("x"), CopySource: aws.String(copySource(b, "gone", ""))})
		wantErr(t, err, "NoSuchKey", http.StatusNotFound)
		_, err = e.c.CopyObject(e.ctx, &s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String("x"), CopySource: aws.String(copySource(b, "gone", aws.ToString(del.VersionId)))})
		wantErr(t, err, "InvalidRequest", http.StatusBadRequest)
	})
}
