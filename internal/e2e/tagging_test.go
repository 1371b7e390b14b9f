package e2e

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// tags returns the tag set of an object (version) as a map.
func (e *env) tags(bucket, key, versionID string) map[string]string {
	e.t.Helper()
	in := &s3.GetObjectTaggingInput{Bucket: aws.String(bucket), Key: aws.String(key)}
	if versionID != "" {
		in.VersionId = aws.String(versionID)
	}
	out, err := e.c.GetObjectTagging(e.ctx, in)
	if err != nil {
		e.t.Fatalf("GetObjectTagging %s/%q: %v", bucket, key, err)
	}
	return tagMap(out.TagSet)
}

func tagSet(kv ...string) *types.Tagging {
	t := &types.Tagging{TagSet: []types.Tag{}}
	for i := 0; i+1 < len(kv); i += 2 {
		t.TagSet = append(t.TagSet, types.Tag{Key: aws.String(kv[i]), Value: aws.String(kv[i+1])})
	}
	return t
}

func TestObjectTagging(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.bucket("otags")

	e.put(b, "k", []byte("x"), func(in *s3.PutObjectInput) { in.Tagging = aws.String("a=1&b%20c=d%26e&empty=") })
	if got := e.tags(b, "k", ""); len(got) != 3 || got["a"] != "1" || got["b c"] != "d&e" || got["empty"] != "" {
		t.Errorf("tags from x-amz-tagging = %v", got)
	}
	if n := aws.ToInt32(e.head(b, "k").TagCount); n != 3 {
		t.Errorf("HEAD x-amz-tagging-count = %d, want 3", n)
	}
	if _, g := e.get(b, "k"); aws.ToInt32(g.TagCount) != 3 {
		t.Errorf("GET x-amz-tagging-count = %d, want 3", aws.ToInt32(g.TagCount))
	}

	if _, err := e.c.PutObjectTagging(e.ctx, &s3.PutObjectTaggingInput{Bucket: aws.String(b), Key: aws.String("k"), Tagging: tagSet("z", "26")}); err != nil {
		t.Fatal(err)
	}
	if got := e.tags(b, "k", ""); len(got) != 1 || got["z"] != "26" {
		t.Errorf("tags after PutObjectTagging = %v", got)
	}

	if _, err := e.c.DeleteObjectTagging(e.ctx, &s3.DeleteObjectTaggingInput{Bucket: aws.String(b), Key: aws.String("k")}); err != nil {
		t.Fatal(err)
	}
	if got := e.tags(b, "k", ""); len(got) != 0 {
		t.Errorf("tags after DeleteObjectTagging = %v", got)
	}
	if h := e.head(b, "k"); h.TagCount != nil {
		t.Errorf("x-amz-tagging-count = %d on an untagged object", aws.ToInt32(h.TagCount))
	}

	t.Run("Invalid", func(t *testing.T) {
		var eleven []string
		for i := range 11 {
			eleven = append(eleven, fmt.Sprint("k", i), "v")
		}
		for _, tc := range []struct {
			name string
			tags *types.Tagging
			code string
		}{
			{"TooMany", tagSet(eleven...), "BadRequest"},
			{"AWSPrefix", tagSet("aws:reserved", "v"), "InvalidTag"},
			{"EmptyKey", tagSet("", "v"), "InvalidTag"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := e.c.PutObjectTagging(e.ctx, &s3.PutObjectTaggingInput{Bucket: aws.String(b), Key: aws.String("k"), Tagging: tc.tags})
				wantErr(t, err, tc.code, http.StatusBadRequest)
			})
		}
		_, err := e.c.PutObject(e.ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("bad"), Tagging: aws.String("aws:x=1")})
		wantErr(t, err, "InvalidTag", http.StatusBadRequest)
	})

	t.Run("MissingObject", func(t *testing.T) {
		_, err := e.c.GetObjectTagging(e.ctx, &s3.GetObjectTaggingInput{Bucket: aws.String(b), Key: aws.String("missing")})
		wantErr(t, err, "NoSuchKey", http.StatusNotFound)
		_, err = e.c.PutObjectTagging(e.ctx, &s3.PutObjectTaggingInput{Bucket: aws.String(b), Key: aws.String("missing"), Tagging: tagSet("a", "b")})
		wantErr(t, err, "NoSuchKey", http.StatusNotFound)
	})

	t.Run("Versions", func(t *testing.T) {
		vb := e.versionedBucket("otags-versioned")
		v1 := aws.ToString(e.put(vb, "k", []byte("1"), func(in *s3.PutObjectInput) { in.Tagging = aws.String("v=1") }).VersionId)
		v2 := aws.ToString(e.put(vb, "k", []byte("2"), func(in *s3.PutObjectInput) { in.Tagging = aws.String("v=2") }).VersionId)
		out, err := e.c.PutObjectTagging(e.ctx, &s3.PutObjectTaggingInput{
			Bucket: aws.String(vb), Key: aws.String("k"), VersionId: aws.String(v1), Tagging: tagSet("v", "one"),
		})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(out.VersionId) != v1 {
			t.Errorf("PutObjectTagging VersionId = %q, want %q", aws.ToString(out.VersionId), v1)
		}
		if got := e.tags(vb, "k", v1); got["v"] != "one" {
			t.Errorf("v1 tags = %v", got)
		}
		if got := e.tags(vb, "k", ""); got["v"] != "2" {
			t.Errorf("latest tags = %v", got)
		}
		g, err := e.c.GetObjectTagging(e.ctx, &s3.GetObjectTaggingInput{Bucket: aws.String(vb), Key: aws.String("k")})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(g.VersionId) != v2 {
			t.Errorf("GetObjectTagging VersionId = %q, want %q", aws.ToString(g.VersionId), v2)
		}
	})
}
