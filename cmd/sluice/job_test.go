package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3control/types"

	"github.com/sluicehq/sluice/internal/server/servertest"
)

func TestJobCommands(t *testing.T) {
	n := servertest.Start(t)
	c := &cli{t: t, node: n, env: map[string]string{
		"AWS_ENDPOINT_URL":      n.Endpoint,
		"AWS_ACCESS_KEY_ID":     servertest.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY": servertest.SecretAccessKey,
		"AWS_CA_BUNDLE":         "/nonexistent/ca.pem",
	}}
	ctx := context.Background()
	s3c := n.S3()
	for _, b := range []string{"data", "reports"} {
		if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range []string{"a", "b"} {
		if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("data"), Key: aws.String(k), Body: strings.NewReader("x")}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("data"), Key: aws.String("m.csv"), Body: strings.NewReader("data,a\ndata,b\n")}); err != nil {
		t.Fatal(err)
	}

	id := strings.TrimSpace(c.must("job", "create", "--manifest", "s3://data/m.csv", "--tag", "cli=yes",
		"--report", "s3://reports/cli", "--confirmation-required", "--description", "from the CLI"))
	if len(id) != 36 {
		t.Fatalf("job create printed %q", id)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(c.must("job", "describe", id), "Suspended") {
		if time.Now().After(deadline) {
			t.Fatal("job never awaited confirmation")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if out := c.must("job", "ls", "--status", "Suspended"); !strings.Contains(out, id) || !strings.Contains(out, "from the CLI") {
		t.Errorf("job ls:\n%s", out)
	}
	if out := c.must("job", "confirm", id); strings.TrimSpace(out) != id+" Ready" {
		t.Errorf("job confirm: %q", out)
	}
	out := c.must("job", "watch", id, "--interval", "20ms")
	if !strings.Contains(out, "2/2 done") || !strings.Contains(out, "Complete") {
		t.Errorf("job watch:\n%q", out)
	}
	if out := c.must("job", "describe", id); !strings.Contains(out, "2 total, 2 succeeded, 0 failed") || !strings.Contains(out, "S3PutObjectTagging") {
		t.Errorf("job describe:\n%s", out)
	}
	if _, _, err := c.run(ctx, "", "job", "cancel", id); err == nil || !strings.Contains(err.Error(), "JobStatusException") {
		t.Errorf("cancelling a complete job: %v", err)
	}
	// A generated manifest, then cancelled while it awaits confirmation.
	id2 := strings.TrimSpace(c.must("job", "create", "--generate", "s3://data", "--match-prefix", "a", "--untag", "--confirmation-required"))
	for !strings.Contains(c.must("job", "describe", id2), "Suspended") {
		time.Sleep(20 * time.Millisecond)
	}
	if out := c.must("job", "cancel", id2); strings.TrimSpace(out) != id2+" Cancelled" {
		t.Errorf("job cancel: %q", out)
	}
	if _, _, err := c.run(ctx, "", "job", "create", "--manifest", "s3://data/m.csv"); err == nil {
		t.Error("job create without an operation succeeded")
	}
}

func TestProgressBar(t *testing.T) {
	var p progressBar
	t0 := time.Unix(1000, 0)
	if got := p.line(types.JobStatusPreparing, -1, 0, 0, t0); !strings.Contains(got, "0/? done") {
		t.Errorf("%q", got)
	}
	p.line(types.JobStatusActive, 1000, 100, 0, t0.Add(time.Second))
	got := p.line(types.JobStatusActive, 1000, 280, 20, t0.Add(2*time.Second))
	for _, want := range []string{"[#########.....................]", " 30%", "300/1000 done", "20 failed", "150 tasks/s", "ETA 5s", "Active"} {
		if !strings.Contains(got, want) {
			t.Errorf("%q does not contain %q", got, want)
		}
	}
}
