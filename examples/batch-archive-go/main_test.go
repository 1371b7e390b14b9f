package main

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	"github.com/aws/aws-sdk-go-v2/service/s3control/types"
	"github.com/aws/smithy-go"

	"github.com/sluicehq/sluice/internal/batch/batchtest"
	"github.com/sluicehq/sluice/internal/server/servertest"
)

// fakeCopier answers CopyObject with a function of its input.
type fakeCopier func(*s3.CopyObjectInput) error

func (f fakeCopier) CopyObject(_ context.Context, in *s3.CopyObjectInput, _ ...func(*s3.Options)) (*s3.CopyObjectOutput, error) {
	return &s3.CopyObjectOutput{}, f(in)
}

func TestResultCodes(t *testing.T) {
	var sources []string
	a := &archiver{s3: fakeCopier(func(in *s3.CopyObjectInput) error {
		sources = append(sources, aws.ToString(in.CopySource))
		switch {
		case strings.Contains(aws.ToString(in.CopySource), "gone"):
			return &smithy.GenericAPIError{Code: "NoSuchKey", Message: "The specified key does not exist."}
		case strings.Contains(aws.ToString(in.CopySource), "busy"):
			return &smithy.GenericAPIError{Code: "SlowDown", Message: "Please reduce your request rate."}
		}
		return nil
	})}
	for _, tc := range []struct {
		key, version, code, msg, source string
	}{
		{"a%20b.txt", "", "Succeeded", "copied to s3://arch/2024/a b.txt", "src/a%20b.txt"},
		{"x/y", "v1", "Succeeded", "copied to s3://arch/2024/x/y", "src/x/y?versionId=v1"},
		{"gone", "", "PermanentFailure", "NoSuchKey: The specified key does not exist.", "src/gone"},
		{"busy", "", "TemporaryFailure", "SlowDown: Please reduce your request rate.", "src/busy"},
	} {
		sources = nil
		resp, err := a.handle(context.Background(), events.S3BatchJobEventV2{
			InvocationSchemaVersion: "2.0", InvocationID: "inv",
			Job:   events.S3BatchJobV2{ID: "job", UserArguments: map[string]string{"destinationBucket": "arch", "destinationPrefix": "2024/"}},
			Tasks: []events.S3BatchJobTaskV2{{TaskID: "t1", S3Key: tc.key, S3VersionID: tc.version, S3Bucket: "src"}},
		})
		if err != nil || len(resp.Results) != 1 || resp.InvocationID != "inv" || resp.Results[0].TaskID != "t1" {
			t.Fatalf("%s: %+v %v", tc.key, resp, err)
		}
		if r := resp.Results[0]; r.ResultCode != tc.code || r.ResultString != tc.msg || sources[0] != tc.source {
			t.Errorf("%s: %+v from %v", tc.key, r, sources)
		}
	}
}

// TestOnSluice runs the function on a sluice node in a LambdaInvoke job.
func TestOnSluice(t *testing.T) {
	e := batchtest.Start(t)
	for _, b := range []string{"photos", "archive", "reports"} {
		e.Bucket(b)
	}
	e.Put("photos", "2024/cat one.jpg", "meow")
	e.Put("photos", "2024/dog.jpg", "woof")
	wd, _ := os.Getwd()
	arn := e.Function("batch-archive-go", "provided.al2023", "bootstrap", servertest.GoFunction(t, wd))
	fields := []types.JobManifestFieldName{types.JobManifestFieldNameBucket, types.JobManifestFieldNameKey}
	j := e.Run(&s3control.CreateJobInput{
		Manifest: e.Manifest("photos", "manifest.csv", fields, "photos,2024/cat%20one.jpg", "photos,2024/dog.jpg", "photos,2024/gone.jpg"),
		Operation: &types.JobOperation{LambdaInvoke: &types.LambdaInvokeOperation{
			FunctionArn: aws.String(arn), InvocationSchemaVersion: aws.String("2.0"),
			UserArguments: map[string]string{"destinationBucket": "archive", "destinationPrefix": "backup/"},
		}},
		Report: &types.JobReport{Enabled: true, Bucket: aws.String("arn:aws:s3:::reports"), Format: types.JobReportFormatReportCsv20180820,
			ReportScope: types.JobReportScopeAllTasks},
	}, 2*time.Minute)
	if j.Status != types.JobStatusComplete {
		t.Fatalf("job %s %+v", j.Status, j.FailureReasons)
	}
	for key, body := range map[string]string{"backup/2024/cat one.jpg": "meow", "backup/2024/dog.jpg": "woof"} {
		if got, err := e.Get("archive", key); err != nil || got != body {
			t.Errorf("%s: %q %v", key, got, err)
		}
	}
	rows := e.Report("reports", "", aws.ToString(j.JobId))
	failed := 0
	for _, r := range rows {
		if r.Status == "failed" {
			failed++
			if r.Key != "2024/gone.jpg" || r.ErrorCode != "PermanentFailure" || !strings.HasPrefix(r.Message, "NoSuchKey") {
				t.Errorf("failed row %+v", r)
			}
		}
	}
	if len(rows) != 3 || failed != 1 {
		t.Errorf("report rows %+v", rows)
	}
}
