package bench

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluicehq/sluice/internal/server/servertest"
)

func TestParts(t *testing.T) {
	for _, tc := range []struct {
		size, part int64
		want       [][2]int64
	}{
		{size: 10, part: 4, want: [][2]int64{{0, 4}, {4, 4}, {8, 2}}},
		{size: 8, part: 4, want: [][2]int64{{0, 4}, {4, 4}}},
		{size: 3, part: 4, want: [][2]int64{{0, 3}}},
	} {
		got := parts(tc.size, tc.part)
		if len(got) != len(tc.want) {
			t.Errorf("parts(%d, %d) = %v, want %v", tc.size, tc.part, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("parts(%d, %d) = %v, want %v", tc.size, tc.part, got, tc.want)
				break
			}
		}
	}
}

func TestLargePartFlags(t *testing.T) {
	base := []string{"--access-key", "AK", "--secret-key", "SK", "--ops", "large"}
	for _, tc := range []struct {
		args []string
		err  string
	}{
		{args: []string{"--large-part-size", "1MiB"}, err: "at least 5MiB"},
		{args: []string{"--large-size", "100GiB", "--large-part-size", "5MiB"}, err: "more than 10000 parts"},
		{args: []string{"--large-part-size", "8MiB", "--large-part-concurrency", "0"}, err: "must be positive"},
		{args: []string{"--large-concurrency", "0"}, err: "must be positive"},
	} {
		_, err := parseConfig(append(base, tc.args...), noEnv, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%v: err %v, want %q", tc.args, err, tc.err)
		}
	}
	cfg, err := parseConfig(append(base, "--large-part-size", "8MiB", "--large-part-concurrency", "99"), noEnv, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.largePartSize != 8<<20 || cfg.maxConcurrency() < 99 {
		t.Errorf("part size %d, connections %d", cfg.largePartSize, cfg.maxConcurrency())
	}
	cfg, err = parseConfig(append(base, "--large-part-size", "8MiB", "--large-part-concurrency", "8", "--large-concurrency", "4"), noEnv, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.largeConcurrency != 4 || cfg.maxConcurrency() < 32 {
		t.Errorf("large concurrency %d, connections %d, want 4 and at least 32", cfg.largeConcurrency, cfg.maxConcurrency())
	}
}

// TestLargePartsOnSluice moves large objects in single requests and as a
// transfer manager does (multipart PUT, ranged GETs) against a real node,
// and checks with aws-sdk-go-v2 that what the bench left is what it
// uploaded, with no upload left open.
func TestLargePartsOnSluice(t *testing.T) {
	n := servertest.Start(t)
	const bucket = "bench-parts"
	args := []string{
		"--endpoint", n.Endpoint, "--access-key", servertest.AccessKeyID, "--secret-key", servertest.SecretAccessKey,
		"--bucket", bucket, "--ops", "large", "--large-size", "12MiB", "--large-count", "2",
		"--large-part-size", "5MiB", "--large-part-concurrency", "2", "--keep", "--json",
	}
	var stdout, stderr bytes.Buffer
	if err := runS3(context.Background(), args, noEnv, &stdout, &stderr); err != nil {
		t.Fatalf("bench s3: %v\nstderr:\n%s", err, stderr.String())
	}
	_, rows := decodeLines(t, stdout.String())
	seen := map[string]bool{}
	for _, r := range rows {
		seen[r.Op] = true
		if r.Errors != 0 || r.Ops != 2 || r.MBPerSec <= 0 {
			t.Errorf("row %+v: want 2 operations, no errors", r)
		}
	}
	for _, op := range []string{"large-put", "large-get", "large-mpu-put", "large-range-get"} {
		if !seen[op] {
			t.Errorf("no %s row (rows %v)", op, seen)
		}
	}

	c := n.S3()
	ctx := context.Background()
	list, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	// Two objects PUT in one request, two uploaded in 3 parts.
	if len(list.Contents) != 4 {
		t.Fatalf("%d objects left, want 4", len(list.Contents))
	}
	multipart := 0
	for _, o := range list.Contents {
		key, etag := aws.ToString(o.Key), aws.ToString(o.ETag)
		if aws.ToInt64(o.Size) != 12<<20 {
			t.Errorf("%s: size %d, want 12 MiB", key, aws.ToInt64(o.Size))
		}
		if strings.Contains(key, "/multipart-") {
			multipart++
			if !strings.HasSuffix(etag, `-3"`) {
				t.Errorf("%s: ETag %s, want one of 3 parts", key, etag)
			}
		} else if strings.Contains(etag, "-") {
			t.Errorf("%s: ETag %s, want a single-request object's", key, etag)
		}
	}
	if multipart != 2 {
		t.Errorf("%d multipart objects, want 2", multipart)
	}
	ups, err := c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	if len(ups.Uploads) != 0 {
		t.Errorf("%d uploads left open", len(ups.Uploads))
	}
}

// TestLargeConcurrencyOnSluice moves three large objects at once per step
// against a real node: each row counts three operations at concurrency 3,
// and the objects left are three of each kind, whole.
func TestLargeConcurrencyOnSluice(t *testing.T) {
	n := servertest.Start(t)
	const bucket = "bench-large-conc"
	args := []string{
		"--endpoint", n.Endpoint, "--access-key", servertest.AccessKeyID, "--secret-key", servertest.SecretAccessKey,
		"--bucket", bucket, "--ops", "large", "--large-size", "6MiB", "--large-count", "1", "--large-concurrency", "3",
		"--large-part-size", "5MiB", "--large-part-concurrency", "2", "--keep", "--json",
	}
	var stdout, stderr bytes.Buffer
	if err := runS3(context.Background(), args, noEnv, &stdout, &stderr); err != nil {
		t.Fatalf("bench s3: %v\nstderr:\n%s", err, stderr.String())
	}
	_, rows := decodeLines(t, stdout.String())
	if len(rows) != 4 {
		t.Errorf("%d rows, want 4", len(rows))
	}
	for _, r := range rows {
		if r.Errors != 0 || r.Ops != 3 || r.Concurrency != 3 || r.MBPerSec <= 0 {
			t.Errorf("row %+v: want 3 operations at concurrency 3, no errors", r)
		}
	}
	list, err := n.S3().ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	single, multipart := 0, 0
	for _, o := range list.Contents {
		if aws.ToInt64(o.Size) != 6<<20 {
			t.Errorf("%s: size %d, want 6 MiB", aws.ToString(o.Key), aws.ToInt64(o.Size))
		}
		if strings.HasSuffix(aws.ToString(o.ETag), `-2"`) {
			multipart++
		} else {
			single++
		}
	}
	if single != 3 || multipart != 3 {
		t.Errorf("%d single-request and %d multipart objects left, want 3 and 3", single, multipart)
	}
}
