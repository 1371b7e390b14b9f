package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/sluicehq/sluice/internal/notify"
)

const notified = `def handler(event, context):
    recs = event.get("Records") or []
    if recs and recs[0]["s3"]["object"]["key"].startswith("bad"):
        raise ValueError("bad key")
`

func TestEvents(t *testing.T) {
	c := newCLI(t)
	ctx := context.Background()
	dir := writeDir(t, map[string]string{"app.py": notified})
	c.must("fn", "deploy", dir, "--name", "watcher", "--runtime", "python3.12", "--handler", "app.handler")
	lc := lambda.NewFromConfig(c.node.AWSConfig())
	if _, err := lc.AddPermission(ctx, &lambda.AddPermissionInput{FunctionName: aws.String("watcher"), StatementId: aws.String("s3"),
		Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("s3.amazonaws.com")}); err != nil {
		t.Fatal(err)
	}
	if _, err := lc.PutFunctionEventInvokeConfig(ctx, &lambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String("watcher"),
		MaximumRetryAttempts: aws.Int32(0)}); err != nil {
		t.Fatal(err)
	}
	s3c := c.node.S3()
	for _, b := range []string{"watched", "other"} {
		if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
		if _, err := s3c.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{Bucket: aws.String(b),
			NotificationConfiguration: &types.NotificationConfiguration{LambdaFunctionConfigurations: []types.LambdaFunctionConfiguration{{
				Id: aws.String("cfg-" + b), LambdaFunctionArn: aws.String("arn:aws:lambda:us-east-1:000000000000:function:watcher"),
				Events: []types.Event{types.EventS3ObjectCreated}}}}}); err != nil {
			t.Fatal(err)
		}
	}

	// --follow prints deliveries as they come and change.
	fctx, cancel := context.WithCancel(ctx)
	var follow bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- run(fctx, []string{"events", "--follow", "--bucket", "watched", "--json", "--interval", "50ms"},
			func(k string) string { return c.env[k] }, strings.NewReader(""), &follow, &bytes.Buffer{})
	}()
	for _, k := range []string{"good one", "bad one"} {
		if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("watched"), Key: aws.String(k), Body: strings.NewReader("x")}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("other"), Key: aws.String("elsewhere"), Body: strings.NewReader("x")}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "both deliveries done", func() bool {
		out := c.must("events", "--bucket", "watched")
		// The test event's delivery and the good one's, and the bad one's failure.
		return strings.Count(out, "delivered") == 2 && strings.Contains(out, "failed")
	})
	out := c.must("events", "--bucket", "watched")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "TIME") {
		t.Fatalf("sluice events:\n%s", out)
	}
	for i, want := range []string{"s3:TestEvent", "good one", "bad one"} {
		if !strings.Contains(lines[i+1], want) || !strings.Contains(lines[i+1], "watcher") {
			t.Errorf("line %d lacks %q: %s", i+1, want, lines[i+1])
		}
	}
	if !strings.Contains(lines[2], "delivered") || !strings.Contains(lines[3], "failed") || !strings.Contains(lines[3], "function error (Unhandled)") {
		t.Errorf("states:\n%s", out)
	}
	if all := c.must("events"); !strings.Contains(all, "elsewhere") {
		t.Errorf("without --bucket:\n%s", all)
	}

	time.Sleep(200 * time.Millisecond)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("events --follow: %v", err)
	}
	states := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(follow.String()), "\n") {
		var r notify.Record
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("--json line %q: %v", line, err)
		}
		states[r.Key] = append(states[r.Key], r.State)
	}
	for key, final := range map[string]string{"good one": "delivered", "bad one": "failed"} {
		s := states[key]
		if len(s) == 0 || s[len(s)-1] != final {
			t.Errorf("--follow showed %s as %v, want it to end %s", key, s, final)
		}
	}
	if _, ok := states["elsewhere"]; ok {
		t.Error("--follow --bucket watched showed another bucket's event")
	}

	// Only the account root may read the log.
	c.env["AWS_SECRET_ACCESS_KEY"] = "wrong"
	if _, _, err := c.run(ctx, "", "events"); err == nil || !strings.Contains(err.Error(), "SignatureDoesNotMatch") {
		t.Errorf("with a wrong secret: %v", err)
	}
}
