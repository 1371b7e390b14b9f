// Package checksumtagger tests the Python batch function of this
// directory (checksum_tagger.py) on a sluice node.
package checksumtagger

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	"github.com/aws/aws-sdk-go-v2/service/s3control/types"

	"github.com/sluicehq/sluice/internal/batch/batchtest"
	"github.com/sluicehq/sluice/internal/server/servertest"
)

func TestChecksumTagger(t *testing.T) {
	if err := exec.Command("python3", "-c", "import boto3").Run(); err != nil {
		t.Skip("python3 with boto3 is not installed: the function cannot run")
	}
	src, err := os.ReadFile("checksum_tagger.py")
	if err != nil {
		t.Fatal(err)
	}
	e := batchtest.Start(t)
	e.Bucket("docs")
	e.Bucket("reports")
	e.Put("docs", "a/readme one.txt", "hello")
	if _, err := e.S3.PutObjectTagging(e.Ctx, &s3.PutObjectTaggingInput{Bucket: aws.String("docs"), Key: aws.String("a/readme one.txt"),
		Tagging: &s3types.Tagging{TagSet: []s3types.Tag{{Key: aws.String("team"), Value: aws.String("docs")}}}}); err != nil {
		t.Fatal(err)
	}
	e.Put("docs", "b.txt", "world")
	arn := e.Function("checksum-tagger", "python3.12", "checksum_tagger.handler",
		servertest.FunctionZip(t, map[string][]byte{"checksum_tagger.py": src}))
	fields := []types.JobManifestFieldName{types.JobManifestFieldNameBucket, types.JobManifestFieldNameKey}
	man := e.Manifest("docs", "manifest.csv", fields, "docs,a/readme%20one.txt", "docs,b.txt", "docs,missing.txt")

	for _, schema := range []string{"1.0", "2.0"} {
		t.Run(schema, func(t *testing.T) {
			op := &types.LambdaInvokeOperation{FunctionArn: aws.String(arn), InvocationSchemaVersion: aws.String(schema)}
			tagKey := "sha256"
			if schema == "2.0" {
				tagKey = "content-sha256"
				op.UserArguments = map[string]string{"tagKey": tagKey}
			}
			j := e.Run(&s3control.CreateJobInput{Manifest: man, Operation: &types.JobOperation{LambdaInvoke: op},
				Report: &types.JobReport{Enabled: true, Bucket: aws.String("arn:aws:s3:::reports"), Prefix: aws.String(schema),
					Format: types.JobReportFormatReportCsv20180820, ReportScope: types.JobReportScopeAllTasks}}, 3*time.Minute)
			if j.Status != types.JobStatusComplete {
				t.Fatalf("job %s %+v", j.Status, j.FailureReasons)
			}
			want := map[string]string{}
			for key, body := range map[string]string{"a/readme one.txt": "hello", "b.txt": "world"} {
				sum := sha256.Sum256([]byte(body))
				want[key] = hex.EncodeToString(sum[:])
				out, err := e.S3.GetObjectTagging(e.Ctx, &s3.GetObjectTaggingInput{Bucket: aws.String("docs"), Key: aws.String(key)})
				if err != nil {
					t.Fatal(err)
				}
				tags := map[string]string{}
				for _, tg := range out.TagSet {
					tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
				}
				if tags[tagKey] != want[key] || (key == "a/readme one.txt" && tags["team"] != "docs") {
					t.Errorf("%s tags %v", key, tags)
				}
			}
			for _, r := range e.Report("reports", schema, aws.ToString(j.JobId)) {
				switch r.Key {
				case "missing.txt":
					if r.Status != "failed" || r.ErrorCode != "PermanentFailure" || r.Message != "NoSuchKey: The specified key does not exist." {
						t.Errorf("row %+v", r)
					}
				case "a/readme%20one.txt":
					if r.Status != "succeeded" || r.Message != tagKey+"="+want["a/readme one.txt"] {
						t.Errorf("row %+v", r)
					}
				}
			}
		})
	}
}
