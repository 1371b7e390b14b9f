package e2e

import (
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// versionEntry is one row of ListObjectVersions: a version or a marker.
type versionEntry struct {
	key, id string
	marker  bool
	latest  bool
}

func (v versionEntry) String() string {
	kind := "V"
	if v.marker {
		kind = "DM"
	}
	if v.latest {
		kind += "*"
	}
	return kind + "(" + v.key + "," + v.id + ")"
}

// entriesOf returns the Versions and then the DeleteMarkers of a page. The
// SDK splits S3's interleaved list in two, so callers compare entries as
// sets (sameEntries) and check the order within Versions separately.
func entriesOf(out *s3.ListObjectVersionsOutput) []versionEntry {
	var es []versionEntry
	for _, v := range out.Versions {
		es = append(es, versionEntry{key: aws.ToString(v.Key), id: aws.ToString(v.VersionId), latest: aws.ToBool(v.IsLatest)})
	}
	for _, m := range out.DeleteMarkers {
		es = append(es, versionEntry{key: aws.ToString(m.Key), id: aws.ToString(m.VersionId), marker: true, latest: aws.ToBool(m.IsLatest)})
	}
	return es
}

// listVersions returns every version and marker of a bucket under prefix.
func (e *env) listVersions(bucket, prefix string) []versionEntry {
	e.t.Helper()
	out, err := e.c.ListObjectVersions(e.ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	if err != nil {
		e.t.Fatalf("ListObjectVersions: %v", err)
	}
	if aws.ToBool(out.IsTruncated) {
		e.t.Fatal("unexpectedly truncated")
	}
	return entriesOf(out)
}

// sameEntries compares version rows regardless of list (Versions vs
// DeleteMarkers) order.
func sameEntries(got, want []versionEntry) bool {
	if len(got) != len(want) {
		return false
	}
	seen := map[versionEntry]int{}
	for _, g := range got {
		seen[g]++
	}
	for _, w := range want {
		if seen[w] == 0 {
			return false
		}
		seen[w]--
	}
	return true
}

func TestVersioningDeleteMarkers(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.versionedBucket("versions")

	v1 := aws.ToString(e.put(b, "k", []byte("one")).VersionId)
	v2 := aws.ToString(e.put(b, "k", []byte("two")).VersionId)
	if v1 == "" || v2 == "" || v1 == v2 || v1 == "null" || v2 == "null" {
		t.Fatalf("version IDs %q %q", v1, v2)
	}
	for _, tc := range []struct{ id, want string }{{v1, "one"}, {v2, "two"}, {"", "two"}} {
		got, out := e.get(b, "k", func(in *s3.GetObjectInput) {
			if tc.id != "" {
				in.VersionId = aws.String(tc.id)
			}
		})
		if string(got) != tc.want {
			t.Errorf("GET version %q = %q, want %q", tc.id, got, tc.want)
		}
		if want := map[bool]string{true: v2, false: tc.id}[tc.id == ""]; aws.ToString(out.VersionId) != want {
			t.Errorf("GET version %q: x-amz-version-id = %q, want %q", tc.id, aws.ToString(out.VersionId), want)
		}
	}
	if h := e.head(b, "k", func(in *s3.HeadObjectInput) { in.VersionId = aws.String(v1) }); aws.ToInt64(h.ContentLength) != 3 || aws.ToString(h.VersionId) != v1 {
		t.Errorf("HEAD v1: length %d version %q", aws.ToInt64(h.ContentLength), aws.ToString(h.VersionId))
	}

	// DELETE without a version creates a delete marker.
	del, err := e.c.DeleteObject(e.ctx, &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	dm := aws.ToString(del.VersionId)
	if !aws.ToBool(del.DeleteMarker) || dm == "" || dm == v1 || dm == v2 {
		t.Fatalf("DELETE: DeleteMarker %v VersionId %q", aws.ToBool(del.DeleteMarker), dm)
	}

	t.Run("GetLatestIsMarker", func(t *testing.T) {
		err := e.getErr(&s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("k")})
		wantErr(t, err, "NoSuchKey", http.StatusNotFound)
		if errHeader(t, err, "x-amz-delete-marker") != "true" || errHeader(t, err, "x-amz-version-id") != dm {
			t.Errorf("GET 404 headers: delete-marker %q version %q", errHeader(t, err, "x-amz-delete-marker"), errHeader(t, err, "x-amz-version-id"))
		}
		_, err = e.c.HeadObject(e.ctx, &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String("k")})
		wantErr(t, err, "NotFound", http.StatusNotFound)
		if errHeader(t, err, "x-amz-delete-marker") != "true" {
			t.Error("HEAD 404 without x-amz-delete-marker: true")
		}
	})

	t.Run("GetMarkerVersion", func(t *testing.T) {
		err := e.getErr(&s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("k"), VersionId: aws.String(dm)})
		wantErr(t, err, "MethodNotAllowed", http.StatusMethodNotAllowed)
		if errHeader(t, err, "x-amz-delete-marker") != "true" || errHeader(t, err, "Last-Modified") == "" {
			t.Errorf("405 headers: delete-marker %q last-modified %q", errHeader(t, err, "x-amz-delete-marker"), errHeader(t, err, "Last-Modified"))
		}
		_, err = e.c.HeadObject(e.ctx, &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String("k"), VersionId: aws.String(dm)})
		wantErr(t, err, "MethodNotAllowed", http.StatusMethodNotAllowed)
		// Old versions stay readable.
		if got, _ := e.get(b, "k", func(in *s3.GetObjectInput) { in.VersionId = aws.String(v1) }); string(got) != "one" {
			t.Errorf("v1 = %q", got)
		}
	})

	t.Run("Listed", func(t *testing.T) {
		want := []versionEntry{{key: "k", id: dm, marker: true, latest: true}, {key: "k", id: v2}, {key: "k", id: v1}}
		if got := e.listVersions(b, ""); !sameEntries(got, want) {
			t.Errorf("versions = %v, want %v", got, want)
		}
		out, err := e.c.ListObjectVersions(e.ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(b)})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.DeleteMarkers) != 1 || out.DeleteMarkers[0].Owner == nil || out.DeleteMarkers[0].LastModified == nil {
			t.Errorf("DeleteMarkers = %+v", out.DeleteMarkers)
		}
		for _, v := range out.Versions {
			if aws.ToString(v.ETag) == "" || v.Size == nil {
				t.Errorf("version entry without ETag/Size: %+v", v)
			}
		}
		// Versions of a key are listed newest first.
		if len(out.Versions) != 2 || aws.ToString(out.Versions[0].VersionId) != v2 || aws.ToString(out.Versions[1].VersionId) != v1 {
			t.Errorf("Versions = %v, want v2 then v1", entriesOf(&s3.ListObjectVersionsOutput{Versions: out.Versions}))
		}
		if keys := e.listKeys(b); len(keys) != 0 {
			t.Errorf("ListObjectsV2 shows %q behind a delete marker", keys)
		}
	})

	t.Run("DeleteMarkerRemoved", func(t *testing.T) {
		out, err := e.c.DeleteObject(e.ctx, &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String("k"), VersionId: aws.String(dm)})
		if err != nil {
			t.Fatal(err)
		}
		if !aws.ToBool(out.DeleteMarker) || aws.ToString(out.VersionId) != dm {
			t.Errorf("DELETE marker: DeleteMarker %v VersionId %q", aws.ToBool(out.DeleteMarker), aws.ToString(out.VersionId))
		}
		if got, _ := e.get(b, "k"); string(got) != "two" {
			t.Errorf("after removing the marker: %q, want two", got)
		}
		want := []versionEntry{{key: "k", id: v2, latest: true}, {key: "k", id: v1}}
		if got := e.listVersions(b, ""); !sameEntries(got, want) {
			t.Errorf("versions = %v, want %v", got, want)
		}
	})

	t.Run("DeleteVersion", func(t *testing.T) {
		out, err := e.c.DeleteObject(e.ctx, &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String("k"), VersionId: aws.String(v2)})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToBool(out.DeleteMarker) || aws.ToString(out.VersionId) != v2 {
			t.Errorf("DELETE v2: DeleteMarker %v VersionId %q", aws.ToBool(out.DeleteMarker), aws.ToString(out.VersionId))
		}
		if got, _ := e.get(b, "k"); string(got) != "one" {
			t.Errorf("after deleting v2: %q, want one", got)
		}
		err = e.getErr(&s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("k"), VersionId: aws.String(v2)})
		wantErr(t, err, "NoSuchVersion", http.StatusNotFound)
		// Deleting it again succeeds.
		if _, err := e.c.DeleteObject(e.ctx, &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String("k"), VersionId: aws.String(v2)}); err != nil {
			t.Errorf("second DELETE of v2: %v", err)
		}
	})

	t.Run("BadVersionID", func(t *testing.T) {
		err := e.getErr(&s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("k"), VersionId: aws.String("not-a-version")})
		wantErr(t, err, "InvalidArgument", http.StatusBadRequest)
		_, err = e.c.DeleteObject(e.ctx, &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String("k"), VersionId: aws.String("not-a-version")})
		wantErr(t, err, "InvalidArgument", http.StatusBadRequest)
	})

	t.Run("MultipartVersions", func(t *testing.T) {
		// A completed upload is a new version like any PUT.
		e.put(b, "mp", []byte("put"))
		out := e.uploadObject(b, "mp", []byte("multipart"))
		id := aws.ToString(out.VersionId)
		if id == "" || id == "null" {
			t.Fatalf("Complete VersionId = %q", id)
		}
		if got, g := e.get(b, "mp"); string(got) != "multipart" || aws.ToString(g.VersionId) != id {
			t.Errorf("latest = %q version %q", got, aws.ToString(g.VersionId))
		}
		if n := len(e.listVersions(b, "mp")); n != 2 {
			t.Errorf("%d versions of mp, want 2", n)
		}
	})

	t.Run("DeleteObjectsMarkers", func(t *testing.T) {
		e.put(b, "m", []byte("m"))
		out, err := e.c.DeleteObjects(e.ctx, &s3.DeleteObjectsInput{Bucket: aws.String(b), Delete: &types.Delete{
			Objects: []types.ObjectIdentifier{{Key: aws.String("m")}},
		}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Deleted) != 1 || !aws.ToBool(out.Deleted[0].DeleteMarker) || aws.ToString(out.Deleted[0].DeleteMarkerVersionId) == "" {
			t.Fatalf("Deleted = %+v", out.Deleted)
		}
		marker := aws.ToString(out.Deleted[0].DeleteMarkerVersionId)
		out, err = e.c.DeleteObjects(e.ctx, &s3.DeleteObjectsInput{Bucket: aws.String(b), Delete: &types.Delete{
			Objects: []types.ObjectIdentifier{{Key: aws.String("m"), VersionId: aws.String(marker)}},
		}})
		if err != nil {
			t.Fatal(err)
		}
		d := out.Deleted[0]
		if !aws.ToBool(d.DeleteMarker) || aws.ToString(d.VersionId) != marker || aws.ToString(d.DeleteMarkerVersionId) != marker {
			t.Errorf("deleting the marker: %+v", d)
		}
		if got, _ := e.get(b, "m"); string(got) != "m" {
			t.Errorf("m = %q", got)
		}
	})
}

func TestVersioningSuspended(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.bucket("suspended")

	// Written before versioning: the null version.
	if out := e.put(b, "k", []byte("pre")); out.VersionId != nil {
		t.Errorf("unversioned PUT returned VersionId %q", aws.ToString(out.VersionId))
	}
	if got := e.listVersions(b, ""); !sameEntries(got, []versionEntry{{key: "k", id: "null", latest: true}}) {
		t.Errorf("unversioned listing = %v", got)
	}
	e.setVersioning(b, types.BucketVersioningStatusEnabled)
	v1 := aws.ToString(e.put(b, "k", []byte("v1")).VersionId)
	if got, _ := e.get(b, "k", func(in *s3.GetObjectInput) { in.VersionId = aws.String("null") }); string(got) != "pre" {
		t.Errorf("null version after enabling = %q", got)
	}

	e.setVersioning(b, types.BucketVersioningStatusSuspended)
	out := e.put(b, "k", []byte("s1"))
	if id := aws.ToString(out.VersionId); id != "" && id != "null" {
		t.Errorf("suspended PUT VersionId = %q, want null or none", id)
	}
	e.put(b, "k", []byte("s2"))
	// Overwrites replace the null version; v1 is kept.
	want := []versionEntry{{key: "k", id: "null", latest: true}, {key: "k", id: v1}}
	if got := e.listVersions(b, ""); !sameEntries(got, want) {
		t.Errorf("versions = %v, want %v", got, want)
	}
	if got, _ := e.get(b, "k"); string(got) != "s2" {
		t.Errorf("latest = %q", got)
	}
	if got, _ := e.get(b, "k", func(in *s3.GetObjectInput) { in.VersionId = aws.String(v1) }); string(got) != "v1" {
		t.Errorf("v1 = %q", got)
	}

	// DELETE makes a null delete marker, replacing the null version.
	del, err := e.c.DeleteObject(e.ctx, &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	if !aws.ToBool(del.DeleteMarker) || aws.ToString(del.VersionId) != "null" {
		t.Errorf("suspended DELETE: DeleteMarker %v VersionId %q", aws.ToBool(del.DeleteMarker), aws.ToString(del.VersionId))
	}
	want = []versionEntry{{key: "k", id: "null", marker: true, latest: true}, {key: "k", id: v1}}
	if got := e.listVersions(b, ""); !sameEntries(got, want) {
		t.Errorf("versions = %v, want %v", got, want)
	}
	err = e.getErr(&s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("k"), VersionId: aws.String("null")})
	wantErr(t, err, "MethodNotAllowed", http.StatusMethodNotAllowed)

	// A new PUT replaces the null marker.
	e.put(b, "k", []byte("s3"))
	want = []versionEntry{{key: "k", id: "null", latest: true}, {key: "k", id: v1}}
	if got := e.listVersions(b, ""); !sameEntries(got, want) {
		t.Errorf("versions = %v, want %v", got, want)
	}

	// Deleting the null version by ID leaves v1 as the latest.
	if _, err := e.c.DeleteObject(e.ctx, &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String("k"), VersionId: aws.String("null")}); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.get(b, "k"); string(got) != "v1" {
		t.Errorf("after deleting null: %q, want v1", got)
	}

	// Re-enabling keeps the versions; new ones get real IDs.
	e.setVersioning(b, types.BucketVersioningStatusEnabled)
	if id := aws.ToString(e.put(b, "k", []byte("v2")).VersionId); id == "" || id == "null" {
		t.Errorf("re-enabled PUT VersionId = %q", id)
	}
}

func TestListObjectVersionsPaging(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.versionedBucket("vpaging")
	for _, k := range []string{"a", "b/1", "b/2", "c"} {
		for i := range 3 {
			e.put(b, k, []byte(strings.Repeat("x", i)))
		}
	}
	for _, k := range []string{"b/2", "c"} {
		if _, err := e.c.DeleteObject(e.ctx, &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String(k)}); err != nil {
			t.Fatal(err)
		}
	}
	full, err := e.c.ListObjectVersions(e.ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(b)})
	if err != nil {
		t.Fatal(err)
	}
	all := entriesOf(full)
	if len(all) != 14 || len(full.DeleteMarkers) != 2 {
		t.Fatalf("%d entries (%d markers), want 14 (2)", len(all), len(full.DeleteMarkers))
	}
	latest := 0
	for _, v := range all {
		if v.latest {
			latest++
		}
	}
	if latest != 4 {
		t.Errorf("%d entries are latest, want one per key (4)", latest)
	}

	for _, tc := range []struct {
		name          string
		prefix, delim string
		want          int
		prefixes      []string
	}{
		{name: "All", want: 14},
		{name: "Prefix", prefix: "b/", want: 7},
		{name: "Delimiter", delim: "/", want: 7, prefixes: []string{"b/"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, max := range []int32{1, 2, 5} {
				in := &s3.ListObjectVersionsInput{Bucket: aws.String(b), MaxKeys: aws.Int32(max)}
				if tc.prefix != "" {
					in.Prefix = aws.String(tc.prefix)
				}
				if tc.delim != "" {
					in.Delimiter = aws.String(tc.delim)
				}
				var (
					got      []versionEntry
					prefixes []string
				)
				for pages := 0; ; pages++ {
					if pages > 50 {
						t.Fatal("listing does not end")
					}
					out, err := e.c.ListObjectVersions(e.ctx, in)
					if err != nil {
						t.Fatal(err)
					}
					page := entriesOf(out)
					for _, p := range out.CommonPrefixes {
						prefixes = append(prefixes, aws.ToString(p.Prefix))
					}
					if n := len(page) + len(out.CommonPrefixes); n > int(max) {
						t.Errorf("page of %d entries, max-keys %d", n, max)
					}
					got = append(got, page...)
					if !aws.ToBool(out.IsTruncated) {
						break
					}
					if out.NextKeyMarker == nil {
						t.Fatal("truncated without NextKeyMarker")
					}
					in.KeyMarker, in.VersionIdMarker = out.NextKeyMarker, out.NextVersionIdMarker
				}
				if len(got) != tc.want || !equalStrings(prefixes, tc.prefixes) {
					t.Errorf("max-keys %d: %d entries %v, prefixes %q; want %d, %q", max, len(got), got, prefixes, tc.want, tc.prefixes)
				}
				seen := map[versionEntry]bool{}
				for _, v := range got {
					if seen[v] {
						t.Errorf("max-keys %d: %v listed twice", max, v)
					}
					seen[v] = true
				}
			}
		})
	}

	t.Run("VersionIDMarker", func(t *testing.T) {
		// Continuing after the middle version of "a" yields its oldest.
		var aIDs []string
		for _, v := range full.Versions {
			if aws.ToString(v.Key) == "a" {
				aIDs = append(aIDs, aws.ToString(v.VersionId))
			}
		}
		out, err := e.c.ListObjectVersions(e.ctx, &s3.ListObjectVersionsInput{
			Bucket: aws.String(b), KeyMarker: aws.String("a"), VersionIdMarker: aws.String(aIDs[1]), MaxKeys: aws.Int32(1),
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Versions) != 1 || aws.ToString(out.Versions[0].VersionId) != aIDs[2] {
			t.Errorf("after %s: %v, want %s", aIDs[1], entriesOf(out), aIDs[2])
		}
		// A key marker alone skips all of that key's versions.
		out, err = e.c.ListObjectVersions(e.ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(b), KeyMarker: aws.String("a"), MaxKeys: aws.Int32(1)})
		if err != nil {
			t.Fatal(err)
		}
		if es := entriesOf(out); len(es) != 1 || es[0].key != "b/1" {
			t.Errorf("after key a: %v", es)
		}
		_, err = e.c.ListObjectVersions(e.ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(b), VersionIdMarker: aws.String(aIDs[1])})
		wantErr(t, err, "InvalidArgument", http.StatusBadRequest)
	})
}
