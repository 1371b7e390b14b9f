package e2e

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

func TestPutGetHeadMetadata(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.bucket("meta")
	body := []byte("hello, metadata")
	expires := time.Date(2031, 1, 2, 3, 4, 5, 0, time.UTC)
	put := e.put(b, "doc.txt", body, func(in *s3.PutObjectInput) {
		in.ContentType = aws.String("text/plain; charset=utf-8")
		in.ContentEncoding = aws.String("identity")
		in.ContentDisposition = aws.String(`attachment; filename="doc.txt"`)
		in.ContentLanguage = aws.String("en-GB")
		in.CacheControl = aws.String("max-age=60")
		in.Expires = aws.Time(expires)
		in.Metadata = map[string]string{"color": "blue", "Mixed-Case": "Value With Spaces"}
	})
	if got, want := aws.ToString(put.ETag), quoted(md5hex(body)); got != want {
		t.Errorf("PutObject ETag = %s, want %s", got, want)
	}

	check := func(t *testing.T, op string, etag, ct, ce, cd, cl, cc, exp *string, meta map[string]string, length *int64) {
		t.Helper()
		for _, f := range []struct{ name, got, want string }{
			{"ETag", aws.ToString(etag), quoted(md5hex(body))},
			{"Content-Type", aws.ToString(ct), "text/plain; charset=utf-8"},
			{"Content-Encoding", aws.ToString(ce), "identity"},
			{"Content-Disposition", aws.ToString(cd), `attachment; filename="doc.txt"`},
			{"Content-Language", aws.ToString(cl), "en-GB"},
			{"Cache-Control", aws.ToString(cc), "max-age=60"},
			{"Expires", aws.ToString(exp), expires.Format(http.TimeFormat)},
			{"x-amz-meta-color", meta["color"], "blue"},
			{"x-amz-meta-mixed-case", meta["mixed-case"], "Value With Spaces"},
		} {
			if f.got != f.want {
				t.Errorf("%s %s = %q, want %q", op, f.name, f.got, f.want)
			}
		}
		if len(meta) != 2 {
			t.Errorf("%s metadata = %v, want 2 entries", op, meta)
		}
		if aws.ToInt64(length) != int64(len(body)) {
			t.Errorf("%s Content-Length = %d, want %d", op, aws.ToInt64(length), len(body))
		}
	}
	got, g := e.get(b, "doc.txt")
	if !bytes.Equal(got, body) {
		t.Errorf("GetObject body = %q, want %q", got, body)
	}
	check(t, "GetObject", g.ETag, g.ContentType, g.ContentEncoding, g.ContentDisposition, g.ContentLanguage, g.CacheControl, g.ExpiresString, g.Metadata, g.ContentLength)
	if g.LastModified == nil || time.Since(*g.LastModified) > time.Minute {
		t.Errorf("GetObject LastModified = %v", g.LastModified)
	}
	if aws.ToString(g.AcceptRanges) != "bytes" {
		t.Errorf("Accept-Ranges = %q, want bytes", aws.ToString(g.AcceptRanges))
	}
	h := e.head(b, "doc.txt")
	check(t, "HeadObject", h.ETag, h.ContentType, h.ContentEncoding, h.ContentDisposition, h.ContentLanguage, h.CacheControl, h.ExpiresString, h.Metadata, h.ContentLength)

	t.Run("DefaultContentType", func(t *testing.T) {
		// The SDK always sends a Content-Type; a presigned PUT from plain
		// net/http sends none.
		resp, _ := e.presignedDo(http.MethodPut, b, "plain", []byte("x"))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("presigned PUT: %s", resp.Status)
		}
		if ct := aws.ToString(e.head(b, "plain").ContentType); ct != "binary/octet-stream" {
			t.Errorf("Content-Type = %q, want binary/octet-stream", ct)
		}
	})

	t.Run("EmptyObject", func(t *testing.T) {
		put := e.put(b, "empty", nil)
		if got, want := aws.ToString(put.ETag), `"d41d8cd98f00b204e9800998ecf8427e"`; got != want {
			t.Errorf("ETag = %s, want %s", got, want)
		}
		got, out := e.get(b, "empty")
		if len(got) != 0 || aws.ToInt64(out.ContentLength) != 0 {
			t.Errorf("got %d bytes, Content-Length %d", len(got), aws.ToInt64(out.ContentLength))
		}
	})

	t.Run("Overwrite", func(t *testing.T) {
		e.put(b, "ow", []byte("first"))
		e.put(b, "ow", []byte("second"))
		if got, _ := e.get(b, "ow"); string(got) != "second" {
			t.Errorf("got %q, want second", got)
		}
	})

	t.Run("LargeBody", func(t *testing.T) {
		// Larger than the inline threshold: stored as a blob.
		body := randBytes(3<<20+17, 1)
		put := e.put(b, "large", body)
		if got, want := aws.ToString(put.ETag), quoted(md5hex(body)); got != want {
			t.Errorf("ETag = %s, want %s", got, want)
		}
		got, _ := e.get(b, "large")
		if !bytes.Equal(got, body) {
			t.Errorf("large body differs (got %d bytes)", len(got))
		}
	})

	t.Run("MetadataTooLarge", func(t *testing.T) {
		_, err := e.c.PutObject(e.ctx, &s3.PutObjectInput{
			Bucket: aws.String(b), Key: aws.String("big-meta"), Body: strings.NewReader("x"),
			Metadata: map[string]string{"big": strings.Repeat("m", 2100)},
		})
		wantErr(t, err, "MetadataTooLarge", http.StatusBadRequest)
	})

	t.Run("Missing", func(t *testing.T) {
		err := e.getErr(&s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("nope")})
		wantErr(t, err, "NoSuchKey", http.StatusNotFound)
		_, err = e.c.HeadObject(e.ctx, &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String("nope")})
		wantErr(t, err, "NotFound", http.StatusNotFound)
	})
}

func TestContentMD5(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.bucket("md5")
	body := []byte("content md5 body")
	sum := md5.Sum(body)
	good := base64.StdEncoding.EncodeToString(sum[:])
	other := md5.Sum([]byte("other"))
	for _, tc := range []struct {
		name, md5 string
		code      string
	}{
		{"Correct", good, ""},
		{"Mismatch", base64.StdEncoding.EncodeToString(other[:]), "BadDigest"},
		{"Malformed", "not-base64!", "InvalidDigest"},
		{"WrongLength", base64.StdEncoding.EncodeToString([]byte("short")), "InvalidDigest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.c.PutObject(e.ctx, &s3.PutObjectInput{
				Bucket: aws.String(b), Key: aws.String(tc.name), Body: bytes.NewReader(body), ContentMD5: aws.String(tc.md5),
			})
			if tc.code == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantErr(t, err, tc.code, http.StatusBadRequest)
			// Nothing is stored by a failed upload.
			_, err = e.c.HeadObject(e.ctx, &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String(tc.name)})
			wantErr(t, err, "NotFound", http.StatusNotFound)
		})
	}
}

func TestGetRange(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.bucket("range")
	body := randBytes(100, 2)
	e.put(b, "k", body)
	for _, tc := range []struct {
		rng          string
		status       int    // 0 means an error is expected
		first, last  int    // served bytes, inclusive, for 206
		contentRange string // for 206
	}{
		{rng: "bytes=0-9", status: 206, first: 0, last: 9, contentRange: "bytes 0-9/100"},
		{rng: "bytes=0-0", status: 206, first: 0, last: 0, contentRange: "bytes 0-0/100"},
		{rng: "bytes=10-19", status: 206, first: 10, last: 19, contentRange: "bytes 10-19/100"},
		{rng: "bytes=90-", status: 206, first: 90, last: 99, contentRange: "bytes 90-99/100"},
		{rng: "bytes=0-", status: 206, first: 0, last: 99, contentRange: "bytes 0-99/100"},
		{rng: "bytes=-10", status: 206, first: 90, last: 99, contentRange: "bytes 90-99/100"},
		{rng: "bytes=-100", status: 206, first: 0, last: 99, contentRange: "bytes 0-99/100"},
		{rng: "bytes=-500", status: 206, first: 0, last: 99, contentRange: "bytes 0-99/100"},
		{rng: "bytes=95-500", status: 206, first: 95, last: 99, contentRange: "bytes 95-99/100"},
		{rng: "bytes=99-99", status: 206, first: 99, last: 99, contentRange: "bytes 99-99/100"},
		{rng: "bytes=100-", status: 0},
		{rng: "bytes=100-200", status: 0},
		{rng: "bytes=1000-1001", status: 0},
		// Syntactically invalid ranges are ignored: the whole object.
		{rng: "bytes=9-5", status: 200},
		{rng: "bytes=abc", status: 200},
		{rng: "lines=1-2", status: 200},
	} {
		t.Run(tc.rng, func(t *testing.T) {
			in := &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("k"), Range: aws.String(tc.rng)}
			if tc.status == 0 {
				err := e.getErr(in)
				wantErr(t, err, "InvalidRange", http.StatusRequestedRangeNotSatisfiable)
				if cr := errHeader(t, err, "Content-Range"); cr != "bytes */100" {
					t.Errorf("416 Content-Range = %q, want bytes */100", cr)
				}
				return
			}
			got, out := e.get(b, "k", func(g *s3.GetObjectInput) { g.Range = aws.String(tc.rng) })
			if tc.status == 200 {
				if !bytes.Equal(got, body) || out.ContentRange != nil {
					t.Errorf("got %d bytes, Content-Range %q; want the whole object", len(got), aws.ToString(out.ContentRange))
				}
				return
			}
			if want := body[tc.first : tc.last+1]; !bytes.Equal(got, want) {
				t.Errorf("got %d bytes, want bytes %d-%d", len(got), tc.first, tc.last)
			}
			if cr := aws.ToString(out.ContentRange); cr != tc.contentRange {
				t.Errorf("Content-Range = %q, want %q", cr, tc.contentRange)
			}
			if n := aws.ToInt64(out.ContentLength); n != int64(tc.last-tc.first+1) {
				t.Errorf("Content-Length = %d, want %d", n, tc.last-tc.first+1)
			}
			// The ETag is that of the whole object.
			if got := aws.ToString(out.ETag); got != quoted(md5hex(body)) {
				t.Errorf("ETag = %s", got)
			}
		})
	}

	t.Run("Head", func(t *testing.T) {
		out := e.head(b, "k", func(in *s3.HeadObjectInput) { in.Range = aws.String("bytes=10-14") })
		if aws.ToInt64(out.ContentLength) != 5 || aws.ToString(out.ContentRange) != "bytes 10-14/100" {
			t.Errorf("HEAD range: Content-Length %d, Content-Range %q", aws.ToInt64(out.ContentLength), aws.ToString(out.ContentRange))
		}
	})

	t.Run("PartNumberOnSimpleObject", func(t *testing.T) {
		// A simple object is one part: part 1 is all of it, as a 206.
		got, out := e.get(b, "k", func(in *s3.GetObjectInput) { in.PartNumber = aws.Int32(1) })
		if !bytes.Equal(got, body) {
			t.Errorf("part 1 is %d bytes, want the whole object", len(got))
		}
		if cr := aws.ToString(out.ContentRange); cr != "bytes 0-99/100" {
			t.Errorf("Content-Range = %q, want bytes 0-99/100", cr)
		}
		err := e.getErr(&s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("k"), PartNumber: aws.Int32(2)})
		wantErr(t, err, "InvalidPartNumber", http.StatusRequestedRangeNotSatisfiable)
	})
}

func TestGetConditional(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.bucket("cond")
	body := []byte("conditional")
	e.put(b, "k", body)
	h := e.head(b, "k")
	etag := aws.ToString(h.ETag)
	lm := *h.LastModified
	past, future := lm.Add(-time.Hour), lm.Add(time.Hour)

	type cond struct {
		ifMatch, ifNoneMatch     string
		ifModSince, ifUnmodSince time.Time
	}
	for _, tc := range []struct {
		name   string
		c      cond
		status int // 200, 304 or 412
	}{
		{"IfMatch", cond{ifMatch: etag}, 200},
		{"IfMatchUnquoted", cond{ifMatch: strings.Trim(etag, `"`)}, 200},
		{"IfMatchStar", cond{ifMatch: "*"}, 200},
		{"IfMatchList", cond{ifMatch: `"nope", ` + etag}, 200},
		{"IfMatchFails", cond{ifMatch: `"0123"`}, 412},
		{"IfNoneMatch", cond{ifNoneMatch: `"0123"`}, 200},
		{"IfNoneMatchFails", cond{ifNoneMatch: etag}, 304},
		{"IfNoneMatchStar", cond{ifNoneMatch: "*"}, 304},
		{"IfModifiedSincePast", cond{ifModSince: past}, 200},
		{"IfModifiedSinceNow", cond{ifModSince: lm}, 304},
		{"IfModifiedSinceFuture", cond{ifModSince: future}, 304},
		{"IfUnmodifiedSincePast", cond{ifUnmodSince: past}, 412},
		{"IfUnmodifiedSinceNow", cond{ifUnmodSince: lm}, 200},
		{"IfUnmodifiedSinceFuture", cond{ifUnmodSince: future}, 200},
		// S3: If-Match true and If-Unmodified-Since false → 200.
		{"IfMatchTrueUnmodifiedFalse", cond{ifMatch: etag, ifUnmodSince: past}, 200},
		// S3: If-None-Match false and If-Modified-Since true → 304.
		{"IfNoneMatchFalseModifiedTrue", cond{ifNoneMatch: etag, ifModSince: past}, 304},
		{"IfMatchFailsWithNoneMatch", cond{ifMatch: `"0123"`, ifNoneMatch: etag}, 412},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gi := &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("k")}
			hi := &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String("k")}
			if tc.c.ifMatch != "" {
				gi.IfMatch, hi.IfMatch = aws.String(tc.c.ifMatch), aws.String(tc.c.ifMatch)
			}
			if tc.c.ifNoneMatch != "" {
				gi.IfNoneMatch, hi.IfNoneMatch = aws.String(tc.c.ifNoneMatch), aws.String(tc.c.ifNoneMatch)
			}
			if !tc.c.ifModSince.IsZero() {
				gi.IfModifiedSince, hi.IfModifiedSince = aws.Time(tc.c.ifModSince), aws.Time(tc.c.ifModSince)
			}
			if !tc.c.ifUnmodSince.IsZero() {
				gi.IfUnmodifiedSince, hi.IfUnmodifiedSince = aws.Time(tc.c.ifUnmodSince), aws.Time(tc.c.ifUnmodSince)
			}
			switch tc.status {
			case 200:
				got, _ := e.get(b, "k", func(in *s3.GetObjectInput) { *in = *gi })
				if !bytes.Equal(got, body) {
					t.Errorf("body = %q", got)
				}
				if _, err := e.c.HeadObject(e.ctx, hi); err != nil {
					t.Errorf("HeadObject: %v", err)
				}
			case 304:
				err := e.getErr(gi)
				wantErr(t, err, "NotModified", http.StatusNotModified)
				if got := errHeader(t, err, "ETag"); got != etag {
					t.Errorf("304 ETag = %q, want %q", got, etag)
				}
				_, err = e.c.HeadObject(e.ctx, hi)
				wantErr(t, err, "NotModified", http.StatusNotModified)
			case 412:
				wantErr(t, e.getErr(gi), "PreconditionFailed", http.StatusPreconditionFailed)
				_, err := e.c.HeadObject(e.ctx, hi)
				wantErr(t, err, "PreconditionFailed", http.StatusPreconditionFailed)
			}
		})
	}
}

func TestResponseOverrides(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.bucket("overrides")
	e.put(b, "k", []byte("body"), func(in *s3.PutObjectInput) {
		in.ContentType = aws.String("text/plain")
		in.CacheControl = aws.String("no-cache")
	})
	exp := time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC)
	got, out := e.get(b, "k", func(in *s3.GetObjectInput) {
		in.ResponseContentType = aws.String("application/x-override")
		in.ResponseContentDisposition = aws.String(`attachment; filename="x y.bin"`)
		in.ResponseContentEncoding = aws.String("x-custom")
		in.ResponseContentLanguage = aws.String("fr")
		in.ResponseCacheControl = aws.String("max-age=5")
		in.ResponseExpires = aws.Time(exp)
	})
	if string(got) != "body" {
		t.Errorf("body = %q", got)
	}
	for _, f := range []struct{ name, got, want string }{
		{"Content-Type", aws.ToString(out.ContentType), "application/x-override"},
		{"Content-Disposition", aws.ToString(out.ContentDisposition), `attachment; filename="x y.bin"`},
		{"Content-Encoding", aws.ToString(out.ContentEncoding), "x-custom"},
		{"Content-Language", aws.ToString(out.ContentLanguage), "fr"},
		{"Cache-Control", aws.ToString(out.CacheControl), "max-age=5"},
		{"Expires", aws.ToString(out.ExpiresString), exp.Format(http.TimeFormat)},
	} {
		if f.got != f.want {
			t.Errorf("%s = %q, want %q", f.name, f.got, f.want)
		}
	}
	// The stored metadata is unchanged.
	if ct := aws.ToString(e.head(b, "k").ContentType); ct != "text/plain" {
		t.Errorf("stored Content-Type = %q", ct)
	}
}

func TestDeleteObject(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.bucket("del")
	e.put(b, "k", []byte("x"))
	out, err := e.c.DeleteObject(e.ctx, &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	if out.VersionId != nil || aws.ToBool(out.DeleteMarker) {
		t.Errorf("unversioned delete: VersionId %v, DeleteMarker %v", aws.ToString(out.VersionId), aws.ToBool(out.DeleteMarker))
	}
	wantErr(t, e.getErr(&s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("k")}), "NoSuchKey", http.StatusNotFound)
	// Deleting what does not exist succeeds.
	if _, err := e.c.DeleteObject(e.ctx, &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String("k")}); err != nil {
		t.Errorf("second delete: %v", err)
	}
	if keys := e.listKeys(b); len(keys) != 0 {
		t.Errorf("keys after delete = %q", keys)
	}
}

func TestDeleteObjects(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.bucket("multidel")
	keys := []string{"a", "b/c", "d e", "f+g"}
	for _, k := range keys {
		e.put(b, k, []byte(k))
	}
	ids := func(keys ...string) []types.ObjectIdentifier {
		var out []types.ObjectIdentifier
		for _, k := range keys {
			out = append(out, types.ObjectIdentifier{Key: aws.String(k)})
		}
		return out
	}

	out, err := e.c.DeleteObjects(e.ctx, &s3.DeleteObjectsInput{
		Bucket: aws.String(b),
		Delete: &types.Delete{Objects: ids("a", "b/c", "missing")},
	})
	if err != nil {
		t.Fatal(err)
	}
	var deleted []string
	for _, d := range out.Deleted {
		deleted = append(deleted, aws.ToString(d.Key))
	}
	slices.Sort(deleted)
	// A key that does not exist is reported deleted.
	if want := []string{"a", "b/c", "missing"}; !equalStrings(deleted, want) {
		t.Errorf("Deleted = %q, want %q", deleted, want)
	}
	if len(out.Errors) != 0 {
		t.Errorf("Errors = %+v", out.Errors)
	}
	if got := e.listKeys(b); !equalStrings(got, []string{"d e", "f+g"}) {
		t.Errorf("keys left = %q", got)
	}

	t.Run("Quiet", func(t *testing.T) {
		out, err := e.c.DeleteObjects(e.ctx, &s3.DeleteObjectsInput{
			Bucket: aws.String(b),
			Delete: &types.Delete{Objects: ids("d e"), Quiet: aws.Bool(true)},
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Deleted) != 0 || len(out.Errors) != 0 {
			t.Errorf("quiet: Deleted %d, Errors %d; want none", len(out.Deleted), len(out.Errors))
		}
		if got := e.listKeys(b); !equalStrings(got, []string{"f+g"}) {
			t.Errorf("keys left = %q", got)
		}
	})

	t.Run("PerKeyErrors", func(t *testing.T) {
		// A malformed version ID fails that key only (S3 reports it as
		// NoSuchVersion); quiet mode still reports errors.
		for _, quiet := range []bool{false, true} {
			e.put(b, "ok", []byte("x"))
			out, err := e.c.DeleteObjects(e.ctx, &s3.DeleteObjectsInput{
				Bucket: aws.String(b),
				Delete: &types.Delete{Quiet: aws.Bool(quiet), Objects: []types.ObjectIdentifier{
					{Key: aws.String("ok")},
					{Key: aws.String("f+g"), VersionId: aws.String("not-a-version")},
				}},
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Errors) != 1 {
				t.Fatalf("quiet=%v: Errors = %+v, want one", quiet, out.Errors)
			}
			er := out.Errors[0]
			if aws.ToString(er.Key) != "f+g" || aws.ToString(er.Code) != "NoSuchVersion" || aws.ToString(er.VersionId) != "not-a-version" || aws.ToString(er.Message) == "" {
				t.Errorf("quiet=%v: error = key %q code %q version %q message %q", quiet,
					aws.ToString(er.Key), aws.ToString(er.Code), aws.ToString(er.VersionId), aws.ToString(er.Message))
			}
			if wantDeleted := map[bool]int{false: 1, true: 0}[quiet]; len(out.Deleted) != wantDeleted {
				t.Errorf("quiet=%v: Deleted = %d entries, want %d", quiet, len(out.Deleted), wantDeleted)
			}
			if got := e.listKeys(b); !equalStrings(got, []string{"f+g"}) {
				t.Errorf("keys left = %q", got)
			}
		}
	})

	t.Run("TooMany", func(t *testing.T) {
		var many []string
		for i := range 1001 {
			many = append(many, fmt.Sprint(i))
		}
		_, err := e.c.DeleteObjects(e.ctx, &s3.DeleteObjectsInput{Bucket: aws.String(b), Delete: &types.Delete{Objects: ids(many...)}})
		wantErr(t, err, "MalformedXML", http.StatusBadRequest)
	})
}

func TestConditionalWrites(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.bucket("condwrite")
	put := func(key string, set func(*s3.PutObjectInput)) error {
		in := &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String(key), Body: strings.NewReader(key)}
		set(in)
		_, err := e.c.PutObject(e.ctx, in)
		return err
	}
	// If-None-Match: * creates only what does not exist.
	if err := put("new", func(in *s3.PutObjectInput) { in.IfNoneMatch = aws.String("*") }); err != nil {
		t.Fatal(err)
	}
	err := put("new", func(in *s3.PutObjectInput) { in.IfNoneMatch = aws.String("*") })
	wantErr(t, err, "PreconditionFailed", http.StatusPreconditionFailed)

	etag := aws.ToString(e.head(b, "new").ETag)
	if err := put("new", func(in *s3.PutObjectInput) { in.IfMatch = aws.String(etag) }); err != nil {
		t.Errorf("If-Match with the current ETag: %v", err)
	}
	err = put("new", func(in *s3.PutObjectInput) { in.IfMatch = aws.String(`"00000000000000000000000000000000"`) })
	wantErr(t, err, "PreconditionFailed", http.StatusPreconditionFailed)
	err = put("absent", func(in *s3.PutObjectInput) { in.IfMatch = aws.String(etag) })
	wantErr(t, err, "NoSuchKey", http.StatusNotFound)

	// What S3 does not implement is 501 whether or not the condition
	// would hold or the key exists: If-None-Match with an ETag, and
	// If-None-Match with If-Match. Nothing is written.
	etag = aws.ToString(e.head(b, "new").ETag)
	for _, c := range []struct{ name, key, ifMatch, ifNoneMatch string }{
		{"IfNoneMatchETag", "new", "", etag},
		{"IfNoneMatchOtherETag", "new", "", `"0123"`},
		{"IfNoneMatchETagAbsent", "absent", "", etag},
		{"BothMatching", "new", etag, "*"},
		{"BothAbsent", "absent", etag, "*"},
		{"BothETags", "new", etag, etag},
	} {
		t.Run(c.name, func(t *testing.T) {
			set := func(ifMatch, ifNoneMatch **string) {
				if c.ifMatch != "" {
					*ifMatch = aws.String(c.ifMatch)
				}
				*ifNoneMatch = aws.String(c.ifNoneMatch)
			}
			err := put(c.key, func(in *s3.PutObjectInput) { set(&in.IfMatch, &in.IfNoneMatch) })
			wantErr(t, err, "NotImplemented", http.StatusNotImplemented)
			if err != nil && !strings.Contains(err.Error(), "A header you provided implies functionality that is not implemented") {
				t.Errorf("message: %v", err)
			}

			cr, err := e.c.CreateMultipartUpload(e.ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(b), Key: aws.String(c.key)})
			if err != nil {
				t.Fatal(err)
			}
			up, err := e.c.UploadPart(e.ctx, &s3.UploadPartInput{Bucket: aws.String(b), Key: aws.String(c.key), UploadId: cr.UploadId, PartNumber: aws.Int32(1), Body: strings.NewReader("part")})
			if err != nil {
				t.Fatal(err)
			}
			in := &s3.CompleteMultipartUploadInput{Bucket: aws.String(b), Key: aws.String(c.key), UploadId: cr.UploadId,
				MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: up.ETag}}}}
			set(&in.IfMatch, &in.IfNoneMatch)
			_, err = e.c.CompleteMultipartUpload(e.ctx, in)
			wantErr(t, err, "NotImplemented", http.StatusNotImplemented)
			if _, err := e.c.AbortMultipartUpload(e.ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String(b), Key: aws.String(c.key), UploadId: cr.UploadId}); err != nil {
				t.Errorf("the refused completion left no upload to abort: %v", err)
			}
		})
	}
	if got, _ := e.get(b, "new"); string(got) != "new" {
		t.Errorf("new = %q after refused writes", got)
	}
	_, err = e.c.HeadObject(e.ctx, &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String("absent")})
	wantErr(t, err, "NotFound", http.StatusNotFound)
}
