package e2e

import (
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

var listKeys = []string{
	"a", "a/b", "a/b/c", "a/c", "b", "b/x/y", "c#d", "dir/sub/file", "x::y", "x::y::z", "z",
}

// listPage is one page of a listing, reduced to what the tests compare.
type listPage struct {
	keys, prefixes []string
	truncated      bool
}

func pageOf(objs []types.Object, cps []types.CommonPrefix, truncated *bool) listPage {
	var p listPage
	for _, o := range objs {
		p.keys = append(p.keys, aws.ToString(o.Key))
	}
	for _, c := range cps {
		p.prefixes = append(p.prefixes, aws.ToString(c.Prefix))
	}
	p.truncated = aws.ToBool(truncated)
	return p
}

// listAllV2 pages through ListObjectsV2 with the given page size and
// returns every key and common prefix, checking KeyCount on the way.
func (e *env) listAllV2(t *testing.T, in s3.ListObjectsV2Input) listPage {
	t.Helper()
	var all listPage
	for pages := 0; ; pages++ {
		if pages > 100 {
			t.Fatal("listing does not end")
		}
		out, err := e.c.ListObjectsV2(e.ctx, &in)
		if err != nil {
			t.Fatal(err)
		}
		p := pageOf(out.Contents, out.CommonPrefixes, out.IsTruncated)
		if n := len(p.keys) + len(p.prefixes); int(aws.ToInt32(out.KeyCount)) != n {
			t.Errorf("KeyCount = %d, page has %d entries", aws.ToInt32(out.KeyCount), n)
		}
		if in.MaxKeys != nil && len(p.keys)+len(p.prefixes) > int(*in.MaxKeys) {
			t.Errorf("page has %d entries, max-keys %d", len(p.keys)+len(p.prefixes), *in.MaxKeys)
		}
		all.keys = append(all.keys, p.keys...)
		all.prefixes = append(all.prefixes, p.prefixes...)
		if !p.truncated {
			if out.NextContinuationToken != nil {
				t.Errorf("NextContinuationToken on the last page")
			}
			return all
		}
		if out.NextContinuationToken == nil {
			t.Fatal("truncated page without NextContinuationToken")
		}
		// start-after stays: a continuation token overrides it.
		in.ContinuationToken = out.NextContinuationToken
		if aws.ToString(out.StartAfter) != aws.ToString(in.StartAfter) {
			t.Errorf("StartAfter echoed as %q, want %q", aws.ToString(out.StartAfter), aws.ToString(in.StartAfter))
		}
	}
}

func TestListObjectsV2(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.bucket("listv2")
	for _, k := range listKeys {
		e.put(b, k, []byte(k))
	}

	for _, tc := range []struct {
		name                 string
		prefix, delim, after string
		keys, prefixes       []string
	}{
		{name: "All", keys: listKeys},
		{name: "Prefix", prefix: "a/", keys: []string{"a/b", "a/b/c", "a/c"}},
		{name: "PrefixNoMatch", prefix: "nope"},
		{name: "Delimiter", delim: "/", keys: []string{"a", "b", "c#d", "x::y", "x::y::z", "z"}, prefixes: []string{"a/", "b/", "dir/"}},
		{name: "PrefixDelimiter", prefix: "a/", delim: "/", keys: []string{"a/b", "a/c"}, prefixes: []string{"a/b/"}},
		{name: "PrefixIsPrefixOnly", prefix: "a/b/", delim: "/", keys: []string{"a/b/c"}},
		{name: "NestedPrefix", prefix: "dir/", delim: "/", prefixes: []string{"dir/sub/"}},
		{name: "MultiCharDelimiter", delim: "::", keys: []string{"a", "a/b", "a/b/c", "a/c", "b", "b/x/y", "c#d", "dir/sub/file", "z"}, prefixes: []string{"x::"}},
		{name: "MultiCharDelimiterPrefix", prefix: "x::", delim: "::", keys: []string{"x::y"}, prefixes: []string{"x::y::"}},
		{name: "DelimiterNotInKeys", delim: "|", keys: listKeys},
		{name: "StartAfter", after: "b", keys: []string{"b/x/y", "c#d", "dir/sub/file", "x::y", "x::y::z", "z"}},
		{name: "StartAfterNonKey", after: "c", keys: []string{"c#d", "dir/sub/file", "x::y", "x::y::z", "z"}},
		{name: "StartAfterDelimiter", after: "a/", delim: "/", keys: []string{"b", "c#d", "x::y", "x::y::z", "z"}, prefixes: []string{"b/", "dir/"}},
		{name: "StartAfterEnd", after: "zz"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, max := range []int32{1000, 1, 2, 3} {
				in := s3.ListObjectsV2Input{Bucket: aws.String(b), MaxKeys: aws.Int32(max)}
				if tc.prefix != "" {
					in.Prefix = aws.String(tc.prefix)
				}
				if tc.delim != "" {
					in.Delimiter = aws.String(tc.delim)
				}
				if tc.after != "" {
					in.StartAfter = aws.String(tc.after)
				}
				got := e.listAllV2(t, in)
				if !equalStrings(got.keys, tc.keys) || !equalStrings(got.prefixes, tc.prefixes) {
					t.Errorf("max-keys %d: keys %q prefixes %q; want %q %q", max, got.keys, got.prefixes, tc.keys, tc.prefixes)
				}
			}
		})
	}

	t.Run("PageShape", func(t *testing.T) {
		out, err := e.c.ListObjectsV2(e.ctx, &s3.ListObjectsV2Input{Bucket: aws.String(b), MaxKeys: aws.Int32(2), Delimiter: aws.String("/")})
		if err != nil {
			t.Fatal(err)
		}
		p := pageOf(out.Contents, out.CommonPrefixes, out.IsTruncated)
		// Keys and prefixes are counted together, in key order: a, a/.
		if !equalStrings(p.keys, []string{"a"}) || !equalStrings(p.prefixes, []string{"a/"}) || !p.truncated {
			t.Errorf("first page: %+v", p)
		}
		if aws.ToInt32(out.MaxKeys) != 2 || aws.ToString(out.Delimiter) != "/" || aws.ToString(out.Name) != b {
			t.Errorf("echoed MaxKeys %d Delimiter %q Name %q", aws.ToInt32(out.MaxKeys), aws.ToString(out.Delimiter), aws.ToString(out.Name))
		}
		o := out.Contents[0]
		if aws.ToInt64(o.Size) != 1 || aws.ToString(o.ETag) != quoted(md5hex([]byte("a"))) || o.LastModified == nil || o.StorageClass != types.ObjectStorageClassStandard {
			t.Errorf("object entry: size %d etag %s lm %v class %q", aws.ToInt64(o.Size), aws.ToString(o.ETag), o.LastModified, o.StorageClass)
		}
		if o.Owner != nil {
			t.Errorf("Owner without fetch-owner: %+v", o.Owner)
		}
	})

	t.Run("FetchOwner", func(t *testing.T) {
		out, err := e.c.ListObjectsV2(e.ctx, &s3.ListObjectsV2Input{Bucket: aws.String(b), FetchOwner: aws.Bool(true), MaxKeys: aws.Int32(1)})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Contents) != 1 || out.Contents[0].Owner == nil || aws.ToString(out.Contents[0].Owner.ID) == "" {
			t.Errorf("fetch-owner: %+v", out.Contents)
		}
	})

	t.Run("BadContinuationToken", func(t *testing.T) {
		_, err := e.c.ListObjectsV2(e.ctx, &s3.ListObjectsV2Input{Bucket: aws.String(b), ContinuationToken: aws.String("!!not a token!!")})
		wantErr(t, err, "InvalidArgument", http.StatusBadRequest)
	})
}

func TestListEncodingURL(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.bucket("listenc")
	keys := []string{"ctl\x01char", "dir one/a b", "p%20q", "plus+sign", "snow☃/x", "tab\tkey"}
	for _, k := range keys {
		e.put(b, k, []byte("x"))
	}
	decode := func(t *testing.T, s string) string {
		t.Helper()
		d, err := url.QueryUnescape(s)
		if err != nil {
			t.Fatalf("%q is not URL-encoded: %v", s, err)
		}
		return d
	}

	out, err := e.c.ListObjectsV2(e.ctx, &s3.ListObjectsV2Input{Bucket: aws.String(b), EncodingType: types.EncodingTypeUrl})
	if err != nil {
		t.Fatal(err)
	}
	if out.EncodingType != types.EncodingTypeUrl {
		t.Errorf("EncodingType = %q", out.EncodingType)
	}
	var got []string
	for _, o := range out.Contents {
		got = append(got, decode(t, aws.ToString(o.Key)))
	}
	if !equalStrings(got, keys) {
		t.Errorf("decoded keys = %q, want %q", got, keys)
	}

	out, err = e.c.ListObjectsV2(e.ctx, &s3.ListObjectsV2Input{
		Bucket: aws.String(b), EncodingType: types.EncodingTypeUrl, Delimiter: aws.String(" "), Prefix: aws.String("dir"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.CommonPrefixes) != 1 || decode(t, aws.ToString(out.CommonPrefixes[0].Prefix)) != "dir " {
		t.Errorf("common prefixes = %+v", out.CommonPrefixes)
	}
	if decode(t, aws.ToString(out.Delimiter)) != " " {
		t.Errorf("Delimiter = %q", aws.ToString(out.Delimiter))
	}

	v1, err := e.c.ListObjects(e.ctx, &s3.ListObjectsInput{Bucket: aws.String(b), EncodingType: types.EncodingTypeUrl})
	if err != nil {
		t.Fatal(err)
	}
	got = got[:0]
	for _, o := range v1.Contents {
		got = append(got, decode(t, aws.ToString(o.Key)))
	}
	if !equalStrings(got, keys) {
		t.Errorf("v1 decoded keys = %q, want %q", got, keys)
	}

	vs, err := e.c.ListObjectVersions(e.ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(b), EncodingType: types.EncodingTypeUrl})
	if err != nil {
		t.Fatal(err)
	}
	got = got[:0]
	for _, v := range vs.Versions {
		got = append(got, decode(t, aws.ToString(v.Key)))
	}
	if !equalStrings(got, keys) {
		t.Errorf("versions decoded keys = %q, want %q", got, keys)
	}

	for _, k := range keys {
		// Not e.createUpload: XML cannot echo the control character in
		// the result's Key.
		if _, err := e.c.CreateMultipartUpload(e.ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(b), Key: aws.String(k)}); err != nil {
			t.Fatal(err)
		}
	}
	ups, err := e.c.ListMultipartUploads(e.ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(b), EncodingType: types.EncodingTypeUrl})
	if err != nil {
		t.Fatal(err)
	}
	got = got[:0]
	for _, u := range ups.Uploads {
		got = append(got, decode(t, aws.ToString(u.Key)))
	}
	if !equalStrings(got, keys) {
		t.Errorf("uploads decoded keys = %q, want %q", got, keys)
	}

	_, err = e.c.ListObjectsV2(e.ctx, &s3.ListObjectsV2Input{Bucket: aws.String(b), EncodingType: "base64"})
	wantErr(t, err, "InvalidArgument", http.StatusBadRequest)
}

func TestListObjectsV1(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.bucket("listv1")
	for _, k := range listKeys {
		e.put(b, k, []byte(k))
	}

	all := func(t *testing.T, in s3.ListObjectsInput) listPage {
		t.Helper()
		var res listPage
		for pages := 0; ; pages++ {
			if pages > 100 {
				t.Fatal("listing does not end")
			}
			out, err := e.c.ListObjects(e.ctx, &in)
			if err != nil {
				t.Fatal(err)
			}
			p := pageOf(out.Contents, out.CommonPrefixes, out.IsTruncated)
			for _, o := range out.Contents {
				if o.Owner == nil || aws.ToString(o.Owner.ID) == "" {
					t.Errorf("v1 entry %s has no Owner", aws.ToString(o.Key))
				}
			}
			res.keys = append(res.keys, p.keys...)
			res.prefixes = append(res.prefixes, p.prefixes...)
			if !p.truncated {
				return res
			}
			// NextMarker is only sent with a delimiter; otherwise the
			// last key is the marker.
			next := aws.ToString(out.NextMarker)
			if in.Delimiter == nil {
				if next != "" {
					t.Errorf("NextMarker %q without a delimiter", next)
				}
				next = p.keys[len(p.keys)-1]
			} else if next == "" {
				t.Fatal("truncated page with a delimiter but no NextMarker")
			}
			in.Marker = aws.String(next)
		}
	}
	for _, tc := range []struct {
		name                  string
		prefix, delim, marker string
		keys, prefixes        []string
	}{
		{name: "All", keys: listKeys},
		{name: "Delimiter", delim: "/", keys: []string{"a", "b", "c#d", "x::y", "x::y::z", "z"}, prefixes: []string{"a/", "b/", "dir/"}},
		{name: "PrefixDelimiter", prefix: "a/", delim: "/", keys: []string{"a/b", "a/c"}, prefixes: []string{"a/b/"}},
		{name: "MultiCharDelimiter", delim: "::", keys: []string{"a", "a/b", "a/b/c", "a/c", "b", "b/x/y", "c#d", "dir/sub/file", "z"}, prefixes: []string{"x::"}},
		{name: "Marker", marker: "c#d", keys: []string{"dir/sub/file", "x::y", "x::y::z", "z"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, max := range []int32{1000, 1, 2} {
				in := s3.ListObjectsInput{Bucket: aws.String(b), MaxKeys: aws.Int32(max)}
				if tc.prefix != "" {
					in.Prefix = aws.String(tc.prefix)
				}
				if tc.delim != "" {
					in.Delimiter = aws.String(tc.delim)
				}
				if tc.marker != "" {
					in.Marker = aws.String(tc.marker)
				}
				got := all(t, in)
				if !equalStrings(got.keys, tc.keys) || !equalStrings(got.prefixes, tc.prefixes) {
					t.Errorf("max-keys %d: keys %q prefixes %q; want %q %q", max, got.keys, got.prefixes, tc.keys, tc.prefixes)
				}
			}
		})
	}
	if !slices.IsSorted(listKeys) {
		t.Fatal("listKeys must be sorted")
	}
}
