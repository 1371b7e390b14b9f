package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// TestConditionalDeletes: DeleteObject with If-Match and DeleteObjects
// entries with an ETag delete only the object they name (S3, September
// 2025): "*" an existing one, an ETag one that has it; no object is 404
// NoSuchKey, another ETag 412 PreconditionFailed, and nothing is deleted.
// The conditions S3 evaluates in directory buckets only are 501, never
// ignored.
func TestConditionalDeletes(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.bucket("conddelete")
	del := func(key, ifMatch string, set ...func(*s3.DeleteObjectInput)) error {
		in := &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String(key)}
		if ifMatch != "" {
			in.IfMatch = aws.String(ifMatch)
		}
		for _, f := range set {
			f(in)
		}
		_, err := e.c.DeleteObject(e.ctx, in)
		return err
	}
	etag := aws.ToString(e.put(b, "k", []byte("kept")).ETag)

	wantErr(t, del("k", `"0123456789abcdef0123456789abcdef"`), "PreconditionFailed", http.StatusPreconditionFailed)
	wantErr(t, del("absent", etag), "NoSuchKey", http.StatusNotFound)
	wantErr(t, del("absent", "*"), "NoSuchKey", http.StatusNotFound)
	wantErr(t, del("k", etag, func(in *s3.DeleteObjectInput) { in.IfMatchSize = aws.Int64(4) }), "NotImplemented", http.StatusNotImplemented)
	if got, _ := e.get(b, "k"); string(got) != "kept" {
		t.Fatalf("k = %q after refused deletes", got)
	}
	if err := del("k", strings.Trim(etag, `"`)); err != nil { // unquoted, as S3 accepts it
		t.Fatalf("delete with the current ETag: %v", err)
	}
	e.put(b, "k", []byte("again"))
	if err := del("k", "*"); err != nil {
		t.Fatalf("delete with If-Match *: %v", err)
	}
	if keys := e.listKeys(b); len(keys) != 0 {
		t.Errorf("keys = %q", keys)
	}

	t.Run("Versioned", func(t *testing.T) {
		vb := e.versionedBucket("conddelete-v")
		out := e.put(vb, "k", []byte("v1"))
		v1, etag1 := aws.ToString(out.VersionId), aws.ToString(out.ETag)
		dm, err := e.c.DeleteObject(e.ctx, &s3.DeleteObjectInput{Bucket: aws.String(vb), Key: aws.String("k"), IfMatch: aws.String(etag1)})
		if err != nil || !aws.ToBool(dm.DeleteMarker) {
			t.Fatalf("conditional delete on a versioned bucket: %v %+v", err, dm)
		}
		// The current version is now a delete marker: no object.
		_, err = e.c.DeleteObject(e.ctx, &s3.DeleteObjectInput{Bucket: aws.String(vb), Key: aws.String("k"), IfMatch: aws.String("*")})
		wantErr(t, err, "NoSuchKey", http.StatusNotFound)
		// A version named is the one the condition is evaluated on.
		_, err = e.c.DeleteObject(e.ctx, &s3.DeleteObjectInput{Bucket: aws.String(vb), Key: aws.String("k"), VersionId: aws.String(v1), IfMatch: aws.String(`"00"`)})
		wantErr(t, err, "PreconditionFailed", http.StatusPreconditionFailed)
		if _, err := e.c.DeleteObject(e.ctx, &s3.DeleteObjectInput{Bucket: aws.String(vb), Key: aws.String("k"), VersionId: aws.String(v1), IfMatch: aws.String(etag1)}); err != nil {
			t.Fatalf("delete of the version with its ETag: %v", err)
		}
		vs, err := e.c.ListObjectVersions(e.ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(vb)})
		if err != nil || len(vs.Versions) != 0 || len(vs.DeleteMarkers) != 1 {
			t.Errorf("versions %d, markers %d (%v)", len(vs.Versions), len(vs.DeleteMarkers), err)
		}
	})

	t.Run("DeleteObjects", func(t *testing.T) {
		e.put(b, "keep", []byte("1"))
		gone := aws.ToString(e.put(b, "gone", []byte("2")).ETag)
		e.put(b, "star", []byte("3"))
		out, err := e.c.DeleteObjects(e.ctx, &s3.DeleteObjectsInput{Bucket: aws.String(b), Delete: &types.Delete{Objects: []types.ObjectIdentifier{
			{Key: aws.String("keep"), ETag: aws.String(gone)},
			{Key: aws.String("gone"), ETag: aws.String(gone)},
			{Key: aws.String("star"), ETag: aws.String("*")},
			{Key: aws.String("nothing"), ETag: aws.String("*")},
		}}})
		if err != nil {
			t.Fatal(err)
		}
		deleted := map[string]bool{}
		for _, d := range out.Deleted {
			deleted[aws.ToString(d.Key)] = true
		}
		errs := map[string]string{}
		for _, x := range out.Errors {
			errs[aws.ToString(x.Key)] = aws.ToString(x.Code)
		}
		if !deleted["gone"] || !deleted["star"] || len(deleted) != 2 || errs["keep"] != "PreconditionFailed" || errs["nothing"] != "NoSuchKey" {
			t.Errorf("deleted %v, errors %v", deleted, errs)
		}
		if got, _ := e.get(b, "keep"); string(got) != "1" {
			t.Errorf("keep = %q", got)
		}
		_, err = e.c.DeleteObjects(e.ctx, &s3.DeleteObjectsInput{Bucket: aws.String(b), Delete: &types.Delete{Objects: []types.ObjectIdentifier{
			{Key: aws.String("keep"), Size: aws.Int64(1)},
		}}})
		wantErr(t, err, "NotImplemented", http.StatusNotImplemented)
		if got, _ := e.get(b, "keep"); string(got) != "1" {
			t.Errorf("keep = %q after a refused size condition", got)
		}
	})

	// A delete conditional on an ETag needs s3:GetObject as well: the
	// answer tells whether the object has that ETag. "*" does not.
	t.Run("Permissions", func(t *testing.T) {
		ctx := context.Background()
		_, bob := newUser(t, e.n, iam.NewFromConfig(e.n.AWSConfig()), "bob")
		pb := e.bucket("conddelete-policy")
		policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:user/bob"},"Action":"s3:DeleteObject","Resource":"arn:aws:s3:::conddelete-policy/*"}]}`
		if _, err := e.c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(pb), Policy: aws.String(policy)}); err != nil {
			t.Fatal(err)
		}
		etag := aws.ToString(e.put(pb, "k", []byte("x")).ETag)
		_, err := bob.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(pb), Key: aws.String("k"), IfMatch: aws.String(etag)})
		wantErr(t, err, "AccessDenied", http.StatusForbidden)
		if _, err := bob.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(pb), Key: aws.String("k"), IfMatch: aws.String("*")}); err != nil {
			t.Errorf("If-Match * with s3:DeleteObject alone: %v", err)
		}
	})
}
