package server_test

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/sluicehq/sluice/internal/server/servertest"
)

// markFunction marks each S3 event it receives by creating the file
// $OUT/<key>, after a pause that keeps a backlog of events queued.
const markFunction = `import os, time, urllib.parse
def handler(event, context):
    for r in event.get("Records", []):
        time.sleep(0.3)
        key = urllib.parse.unquote_plus(r["s3"]["object"]["key"])
        with open(os.path.join(os.environ["OUT"], key), "w") as f:
            f.write(context.aws_request_id)
`

// TestCrashAfterNotifiedPuts kills a durable server with SIGKILL right
// after the last of a burst of PUTs was acknowledged, into a bucket whose
// notifications invoke a function, restarts it, and expects the event of
// every acknowledged PUT to be delivered: events are committed with the
// change they describe.
func TestCrashAfterNotifiedPuts(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test needs a child process and fsync; skipped with -short")
	}
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed: the test function cannot run")
	}
	dir, out := t.TempDir(), t.TempDir()
	c := servertest.StartChild(t, dir)
	lc, s3c := lambdaClient(c), s3Client(c)
	ctx := context.Background()

	if _, err := lc.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("mark"), Runtime: ltypes.RuntimePython312, Handler: aws.String("app.handler"),
		Role: aws.String("arn:aws:iam::000000000000:role/r"), Code: &ltypes.FunctionCode{ZipFile: servertest.FunctionZip(t, map[string][]byte{"app.py": []byte(markFunction)})},
		Environment: &ltypes.Environment{Variables: map[string]string{"OUT": out}},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := lc.AddPermission(ctx, &lambda.AddPermissionInput{
		FunctionName: aws.String("mark"), StatementId: aws.String("s3"), Action: aws.String("lambda:InvokeFunction"),
		Principal: aws.String("s3.amazonaws.com"), SourceArn: aws.String("arn:aws:s3:::notified"),
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("notified")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s3c.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{
		Bucket: aws.String("notified"),
		NotificationConfiguration: &types.NotificationConfiguration{LambdaFunctionConfigurations: []types.LambdaFunctionConfiguration{{
			LambdaFunctionArn: aws.String("arn:aws:lambda:us-east-1:000000000000:function:mark"),
			Events:            []types.Event{types.EventS3ObjectCreated},
		}}},
	}); err != nil {
		t.Fatal(err)
	}

	const puts = 60
	failed := inParallel(6, puts, func(i int) error {
		_, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("notified"),
			Key: aws.String(fmt.Sprintf("k%03d", i)), Body: bytes.NewReader([]byte("x"))})
		return err
	})
	c.Kill() // right after the last 200
	if len(failed) > 0 {
		t.Fatalf("%d PUTs refused, first: %v", len(failed), failed[0])
	}
	deliveredAfterRestart(t, dir, out, puts, func(i int) string { return fmt.Sprintf("k%03d", i) })
}
