package e2e

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/sluicehq/sluice/internal/server/servertest"
)

func TestCreateBucket(t *testing.T) {
	t.Parallel()
	e := start(t)

	t.Run("InvalidNames", func(t *testing.T) {
		for _, name := range []string{
			"ab",                    // too short
			strings.Repeat("a", 64), // too long
			"Upper",                 // upper case
			"under_score",
			"-leading-hyphen",
			"trailing-hyphen-",
			".leading-dot",
			"two..dots",
			"dash.-dot",
			"192.168.5.4", // an IP address
			"xn--punycode",
			"sthree-prefix",
			"name-s3alias",
			"name--ol-s3",
		} {
			t.Run(name, func(t *testing.T) {
				_, err := e.c.CreateBucket(e.ctx, &s3.CreateBucketInput{Bucket: aws.String(name)})
				wantErr(t, err, "InvalidBucketName", http.StatusBadRequest)
			})
		}
	})

	t.Run("ValidNames", func(t *testing.T) {
		for _, name := range []string{"abc", strings.Repeat("b", 63), "with.dots.and-dashes", "0-leading-digit"} {
			t.Run(name, func(t *testing.T) {
				e.bucket(name)
				if _, err := e.c.HeadBucket(e.ctx, &s3.HeadBucketInput{Bucket: aws.String(name)}); err != nil {
					t.Fatal(err)
				}
			})
		}
	})

	t.Run("AlreadyOwnedByYou", func(t *testing.T) {
		// Every region, us-east-1 included (docs/design.md, Decisions).
		e.bucket("twice")
		_, err := e.c.CreateBucket(e.ctx, &s3.CreateBucketInput{Bucket: aws.String("twice")})
		wantErr(t, err, "BucketAlreadyOwnedByYou", http.StatusConflict)
	})

	t.Run("LocationConstraint", func(t *testing.T) {
		_, err := e.c.CreateBucket(e.ctx, &s3.CreateBucketInput{
			Bucket:                    aws.String("here"),
			CreateBucketConfiguration: &types.CreateBucketConfiguration{LocationConstraint: types.BucketLocationConstraint(servertest.Region)},
		})
		// us-east-1 is never a valid explicit constraint on AWS, but
		// other S3 implementations accept their own region; both answers
		// are tolerated, anything else is not.
		if err != nil {
			wantErr(t, err, "InvalidLocationConstraint", http.StatusBadRequest)
		}
		_, err = e.c.CreateBucket(e.ctx, &s3.CreateBucketInput{
			Bucket:                    aws.String("elsewhere"),
			CreateBucketConfiguration: &types.CreateBucketConfiguration{LocationConstraint: types.BucketLocationConstraintEuWest1},
		})
		wantErr(t, err, "IllegalLocationConstraintException", http.StatusBadRequest)
	})
}

func TestHeadAndDeleteBucket(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.bucket("hd-b")

	out, err := e.c.HeadBucket(e.ctx, &s3.HeadBucketInput{Bucket: aws.String(b)})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(out.BucketRegion); got != servertest.Region {
		t.Errorf("BucketRegion = %q, want %q", got, servertest.Region)
	}
	_, err = e.c.HeadBucket(e.ctx, &s3.HeadBucketInput{Bucket: aws.String("missing")})
	wantErr(t, err, "NotFound", http.StatusNotFound)

	e.put(b, "k", []byte("x"))
	_, err = e.c.DeleteBucket(e.ctx, &s3.DeleteBucketInput{Bucket: aws.String(b)})
	wantErr(t, err, "BucketNotEmpty", http.StatusConflict)

	if _, err := e.c.DeleteObject(e.ctx, &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String("k")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.DeleteBucket(e.ctx, &s3.DeleteBucketInput{Bucket: aws.String(b)}); err != nil {
		t.Fatal(err)
	}
	_, err = e.c.HeadBucket(e.ctx, &s3.HeadBucketInput{Bucket: aws.String(b)})
	wantErr(t, err, "NotFound", http.StatusNotFound)
	_, err = e.c.DeleteBucket(e.ctx, &s3.DeleteBucketInput{Bucket: aws.String(b)})
	wantErr(t, err, "NoSuchBucket", http.StatusNotFound)

	t.Run("VersionsKeepBucketNonEmpty", func(t *testing.T) {
		// A versioned bucket whose only key is a delete marker still holds
		// the old version and the marker.
		b := e.versionedBucket("hd-versioned")
		e.put(b, "k", []byte("x"))
		if _, err := e.c.DeleteObject(e.ctx, &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String("k")}); err != nil {
			t.Fatal(err)
		}
		_, err := e.c.DeleteBucket(e.ctx, &s3.DeleteBucketInput{Bucket: aws.String(b)})
		wantErr(t, err, "BucketNotEmpty", http.StatusConflict)
	})

	t.Run("OpsOnMissingBucket", func(t *testing.T) {
		_, err := e.c.PutObject(e.ctx, &s3.PutObjectInput{Bucket: aws.String("nope"), Key: aws.String("k"), Body: strings.NewReader("x")})
		wantErr(t, err, "NoSuchBucket", http.StatusNotFound)
		_, err = e.c.ListObjectsV2(e.ctx, &s3.ListObjectsV2Input{Bucket: aws.String("nope")})
		wantErr(t, err, "NoSuchBucket", http.StatusNotFound)
		err = e.getErr(&s3.GetObjectInput{Bucket: aws.String("nope"), Key: aws.String("k")})
		wantErr(t, err, "NoSuchBucket", http.StatusNotFound)
		_, err = e.c.GetBucketVersioning(e.ctx, &s3.GetBucketVersioningInput{Bucket: aws.String("nope")})
		wantErr(t, err, "NoSuchBucket", http.StatusNotFound)
		_, err = e.c.DeleteObjects(e.ctx, &s3.DeleteObjectsInput{Bucket: aws.String("nope"), Delete: &types.Delete{
			Objects: []types.ObjectIdentifier{{Key: aws.String("k")}},
		}})
		wantErr(t, err, "NoSuchBucket", http.StatusNotFound)
		_, err = e.c.CreateMultipartUpload(e.ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("nope"), Key: aws.String("k")})
		wantErr(t, err, "NoSuchBucket", http.StatusNotFound)
	})
}

func TestListBuckets(t *testing.T) {
	t.Parallel()
	e := start(t)
	names := []string{"lb-c", "lb-a", "lb-b"}
	for _, n := range names {
		e.bucket(n)
	}
	out, err := e.c.ListBuckets(e.ctx, &s3.ListBucketsInput{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, b := range out.Buckets {
		got = append(got, aws.ToString(b.Name))
		if b.CreationDate == nil || b.CreationDate.IsZero() {
			t.Errorf("bucket %s has no CreationDate", aws.ToString(b.Name))
		}
	}
	want := slices.Clone(names)
	slices.Sort(want)
	if !equalStrings(got, want) {
		t.Errorf("buckets = %q, want %q (sorted)", got, want)
	}
	if out.Owner == nil || aws.ToString(out.Owner.ID) == "" {
		t.Errorf("Owner = %+v, want an ID", out.Owner)
	}

	// BucketRegion filters by region: every bucket is in the server's.
	for region, want := range map[string]int{servertest.Region: len(names), "eu-west-3": 0} {
		out, err := e.c.ListBuckets(e.ctx, &s3.ListBucketsInput{BucketRegion: aws.String(region)})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Buckets) != want {
			t.Errorf("BucketRegion %s: %d buckets, want %d", region, len(out.Buckets), want)
		}
	}
}

func TestGetBucketLocation(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.bucket("loc")
	out, err := e.c.GetBucketLocation(e.ctx, &s3.GetBucketLocationInput{Bucket: aws.String(b)})
	if err != nil {
		t.Fatal(err)
	}
	// us-east-1 is reported as an empty constraint.
	if out.LocationConstraint != "" {
		t.Errorf("LocationConstraint = %q, want empty for us-east-1", out.LocationConstraint)
	}
	_, err = e.c.GetBucketLocation(e.ctx, &s3.GetBucketLocationInput{Bucket: aws.String("missing")})
	wantErr(t, err, "NoSuchBucket", http.StatusNotFound)
}

func TestBucketVersioningConfig(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.bucket("ver")
	get := func() types.BucketVersioningStatus {
		t.Helper()
		out, err := e.c.GetBucketVersioning(e.ctx, &s3.GetBucketVersioningInput{Bucket: aws.String(b)})
		if err != nil {
			t.Fatal(err)
		}
		return out.Status
	}
	if s := get(); s != "" {
		t.Errorf("new bucket versioning = %q, want unset", s)
	}
	for _, s := range []types.BucketVersioningStatus{types.BucketVersioningStatusEnabled, types.BucketVersioningStatusSuspended, types.BucketVersioningStatusEnabled} {
		e.setVersioning(b, s)
		if got := get(); got != s {
			t.Errorf("versioning = %q, want %q", got, s)
		}
	}
	_, err := e.c.PutBucketVersioning(e.ctx, &s3.PutBucketVersioningInput{
		Bucket:                  aws.String(b),
		VersioningConfiguration: &types.VersioningConfiguration{Status: "Bogus"},
	})
	wantErr(t, err, "MalformedXML", http.StatusBadRequest)
}

func TestBucketTagging(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.bucket("tags")

	_, err := e.c.GetBucketTagging(e.ctx, &s3.GetBucketTaggingInput{Bucket: aws.String(b)})
	wantErr(t, err, "NoSuchTagSet", http.StatusNotFound)

	tags := []types.Tag{{Key: aws.String("env"), Value: aws.String("test")}, {Key: aws.String("a b/c"), Value: aws.String("")}}
	if _, err := e.c.PutBucketTagging(e.ctx, &s3.PutBucketTaggingInput{Bucket: aws.String(b), Tagging: &types.Tagging{TagSet: tags}}); err != nil {
		t.Fatal(err)
	}
	out, err := e.c.GetBucketTagging(e.ctx, &s3.GetBucketTaggingInput{Bucket: aws.String(b)})
	if err != nil {
		t.Fatal(err)
	}
	if got := tagMap(out.TagSet); len(got) != 2 || got["env"] != "test" || got["a b/c"] != "" {
		t.Errorf("tags = %v", got)
	}

	for name, bad := range map[string][]types.Tag{
		"AWSPrefix":    {{Key: aws.String("aws:x"), Value: aws.String("v")}},
		"DuplicateKey": {{Key: aws.String("k"), Value: aws.String("1")}, {Key: aws.String("k"), Value: aws.String("2")}},
		"LongKey":      {{Key: aws.String(strings.Repeat("k", 129)), Value: aws.String("v")}},
		"LongValue":    {{Key: aws.String("k"), Value: aws.String(strings.Repeat("v", 257))}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := e.c.PutBucketTagging(e.ctx, &s3.PutBucketTaggingInput{Bucket: aws.String(b), Tagging: &types.Tagging{TagSet: bad}})
			wantErr(t, err, "InvalidTag", http.StatusBadRequest)
		})
	}

	if _, err := e.c.DeleteBucketTagging(e.ctx, &s3.DeleteBucketTaggingInput{Bucket: aws.String(b)}); err != nil {
		t.Fatal(err)
	}
	_, err = e.c.GetBucketTagging(e.ctx, &s3.GetBucketTaggingInput{Bucket: aws.String(b)})
	wantErr(t, err, "NoSuchTagSet", http.StatusNotFound)
}

// TestCreateBucketWithTags: CreateBucketConfiguration's Tags (S3, 2025)
// tag the bucket as it is created, checked as PutBucketTagging checks
// them; a bad set creates nothing. What sluice has no equivalent for (a
// directory bucket's Location and Bucket) is refused, never ignored.
func TestCreateBucketWithTags(t *testing.T) {
	t.Parallel()
	e := start(t)

	tags := []types.Tag{{Key: aws.String("team"), Value: aws.String("data")}, {Key: aws.String("cost center"), Value: aws.String("")}}
	if _, err := e.c.CreateBucket(e.ctx, &s3.CreateBucketInput{
		Bucket:                    aws.String("created-tagged"),
		CreateBucketConfiguration: &types.CreateBucketConfiguration{Tags: tags},
	}); err != nil {
		t.Fatal(err)
	}
	out, err := e.c.GetBucketTagging(e.ctx, &s3.GetBucketTaggingInput{Bucket: aws.String("created-tagged")})
	if err != nil {
		t.Fatal(err)
	}
	if got := tagMap(out.TagSet); len(got) != 2 || got["team"] != "data" || got["cost center"] != "" {
		t.Errorf("tags = %v", got)
	}

	// A configuration without tags leaves the bucket untagged.
	if _, err := e.c.CreateBucket(e.ctx, &s3.CreateBucketInput{
		Bucket:                    aws.String("created-untagged"),
		CreateBucketConfiguration: &types.CreateBucketConfiguration{LocationConstraint: ""},
	}); err != nil {
		t.Fatal(err)
	}
	_, err = e.c.GetBucketTagging(e.ctx, &s3.GetBucketTaggingInput{Bucket: aws.String("created-untagged")})
	wantErr(t, err, "NoSuchTagSet", http.StatusNotFound)

	tooMany := make([]types.Tag, 51)
	for i := range tooMany {
		tooMany[i] = types.Tag{Key: aws.String(fmt.Sprint("k", i)), Value: aws.String("v")}
	}
	for i, c := range []struct {
		name   string
		cfg    types.CreateBucketConfiguration
		code   string
		status int
	}{
		{"AWSPrefix", types.CreateBucketConfiguration{Tags: []types.Tag{{Key: aws.String("aws:x"), Value: aws.String("v")}}}, "InvalidTag", http.StatusBadRequest},
		{"DuplicateKey", types.CreateBucketConfiguration{Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("1")}, {Key: aws.String("k"), Value: aws.String("2")}}}, "InvalidTag", http.StatusBadRequest},
		{"LongKey", types.CreateBucketConfiguration{Tags: []types.Tag{{Key: aws.String(strings.Repeat("k", 129)), Value: aws.String("v")}}}, "InvalidTag", http.StatusBadRequest},
		{"LongValue", types.CreateBucketConfiguration{Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String(strings.Repeat("v", 257))}}}, "InvalidTag", http.StatusBadRequest},
		{"TooMany", types.CreateBucketConfiguration{Tags: tooMany}, "InvalidTag", http.StatusBadRequest},
		{"DirectoryBucket", types.CreateBucketConfiguration{
			Location: &types.LocationInfo{Type: types.LocationTypeAvailabilityZone, Name: aws.String("use1-az4")},
			Bucket:   &types.BucketInfo{Type: types.BucketTypeDirectory, DataRedundancy: types.DataRedundancySingleAvailabilityZone},
		}, "NotImplemented", http.StatusNotImplemented},
	} {
		t.Run(c.name, func(t *testing.T) {
			name := fmt.Sprint("refused-", i)
			_, err := e.c.CreateBucket(e.ctx, &s3.CreateBucketInput{Bucket: aws.String(name), CreateBucketConfiguration: &c.cfg})
			wantErr(t, err, c.code, c.status)
			_, err = e.c.HeadBucket(e.ctx, &s3.HeadBucketInput{Bucket: aws.String(name)})
			wantErr(t, err, "NotFound", http.StatusNotFound)
		})
	}
}

func tagMap(tags []types.Tag) map[string]string {
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}
