package batch_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	"github.com/aws/aws-sdk-go-v2/service/s3control/types"

	"github.com/sluicehq/sluice/internal/server/servertest"
)

// The founding documents' batch functions (../shared/seeds/functions,
// beside the repository) run unmodified on sluice's Python runtime, with
// boto3 calling back into the node, on jobs created as the documents
// create them.

// seedFunction returns the source of a founding function, skipping the
// test when the seeds or python3 with boto3 are not available.
func seedFunction(t *testing.T, name string) []byte {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(root, "..", "shared", "seeds", "functions", name)
	src, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("founding function %s is not available (%v): the acceptance test needs ../shared/seeds/functions beside the repository", name, err)
	}
	if err := exec.Command("python3", "-c", "import boto3").Run(); err != nil {
		t.Skip("python3 with boto3 is not installed: the founding functions cannot run")
	}
	return src
}

// deploySeed creates a Python function from a founding function's file.
func (e *env) deploySeed(fn, file string, src []byte) string {
	e.t.Helper()
	module := strings.TrimSuffix(file, ".py")
	out, err := e.lambda().CreateFunction(e.ctx, &awslambda.CreateFunctionInput{
		FunctionName: aws.String(fn), Runtime: ltypes.RuntimePython312, Handler: aws.String(module + ".lambda_handler"),
		Role: aws.String("arn:aws:iam::000000000000:role/batch-fn"), Code: &ltypes.FunctionCode{ZipFile: servertest.FunctionZip(e.t, map[string][]byte{file: src})},
		Timeout: aws.Int32(60), MemorySize: aws.Int32(256),
	})
	if err != nil {
		e.t.Fatalf("CreateFunction %s: %v", fn, err)
	}
	return aws.ToString(out.FunctionArn)
}

// TestSeedBatchCopy is seed 001: schema 2.0 with UserArguments, a
// function that copies each object to another bucket under a new key.
func TestSeedBatchCopy(t *testing.T) {
	src := seedFunction(t, "batch_copy.py")
	e := newEnv(t)
	e.bucket("source-bucket")
	e.bucket("destination-bucket")
	e.bucket("report-bucket")
	arn := e.deploySeed("s3batchops-function", "batch_copy.py", src)
	objects := map[string]string{"photos/a.jpg": "A", "photos/with space.jpg": "B", "data/c+d.csv": "C"}
	var rows []string
	for k, body := range objects {
		e.put("source-bucket", k, body)
		rows = append(rows, "source-bucket,"+strings.ReplaceAll(strings.ReplaceAll(k, " ", "%20"), "+", "%2B"))
	}
	rows = append(rows, "source-bucket,missing.txt")
	man := e.manifest("source-bucket", "manifest.csv", bucketKey, rows...)
	// As the post's aws s3control create-job command.
	out, err := e.ctl.CreateJob(e.ctx, &s3control.CreateJobInput{
		AccountId: aws.String(account),
		Operation: &types.JobOperation{LambdaInvoke: &types.LambdaInvokeOperation{
			FunctionArn: aws.String(arn), InvocationSchemaVersion: aws.String("2.0"),
			UserArguments: map[string]string{
				"MyDestinationBucket": "destination-bucket", "MyDestinationBucketRegion": "us-east-1",
				"MyDestinationPrefix": "copied/", "MyDestinationObjectKeySuffix": "_new_suffix",
			},
		}},
		Manifest:             man,
		Priority:             aws.Int32(1),
		RoleArn:              aws.String("arn:aws:iam::000000000000:role/batch-role"),
		ConfirmationRequired: aws.Bool(false),
		Report: &types.JobReport{Bucket: aws.String("arn:aws:s3:::report-bucket"), Format: types.JobReportFormatReportCsv20180820,
			Enabled: true, Prefix: aws.String("ReportPrefix"), ReportScope: types.JobReportScopeAllTasks},
	})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(out.JobId)
	j := e.wait(id, 3*time.Minute, types.JobStatusComplete, types.JobStatusFailed)
	if j.Status != types.JobStatusComplete {
		t.Fatalf("job %s: %v", j.Status, failures(j))
	}
	for k, body := range objects {
		if got := e.mustGet("destination-bucket", "copied/"+k+"_new_suffix"); got != body {
			t.Errorf("copy of %s = %q", k, got)
		}
	}
	_, rep := e.readReport("report-bucket", "ReportPrefix", id)
	byKey := rowsByKey(t, rep)
	for _, r := range rows[:len(rows)-1] {
		row := byKey[strings.TrimPrefix(r, "source-bucket,")]
		if row.Status != "succeeded" || row.HTTPStatus != "200" || !strings.Contains(row.Message, "CopyObjectResult") {
			t.Errorf("row %+v", row)
		}
	}
	if row := byKey["missing.txt"]; row.Status != "failed" || row.ErrorCode != "PermanentFailure" || !strings.HasPrefix(row.Message, "NoSuchKey: ") {
		t.Errorf("missing row %+v", row)
	}
}

// TestSeedUndelete is seed 002's first function: remove delete markers
// named by a Bucket,Key,VersionId manifest (schema 1.0).
func TestSeedUndelete(t *testing.T) {
	src := seedFunction(t, "undelete.py")
	e := newEnv(t)
	e.versioned("versioned-bucket")
	e.bucket("report-bucket")
	arn := e.deploySeed("undelete", "undelete.py", src)
	var rows []string
	for _, k := range []string{"doc one.txt", "doc2.txt"} {
		e.put("versioned-bucket", k, "content of "+k)
		del, err := e.s3.DeleteObject(e.ctx, &s3.DeleteObjectInput{Bucket: aws.String("versioned-bucket"), Key: aws.String(k)})
		if err != nil || !aws.ToBool(del.DeleteMarker) {
			t.Fatalf("delete %s: %v", k, err)
		}
		rows = append(rows, "versioned-bucket,"+strings.ReplaceAll(k, " ", "%20")+","+aws.ToString(del.VersionId))
	}
	_, live := e.put("versioned-bucket", "alive.txt", "still here")
	rows = append(rows, "versioned-bucket,alive.txt,"+live)
	fields := []types.JobManifestFieldName{types.JobManifestFieldNameBucket, types.JobManifestFieldNameKey, types.JobManifestFieldNameVersionId}
	man := e.manifest("versioned-bucket", "manifest.csv", fields, rows...)
	// As the user guide's aws s3control create-job command (no schema:
	// 1.0).
	out, err := e.ctl.CreateJob(e.ctx, &s3control.CreateJobInput{
		AccountId: aws.String(account),
		Operation: &types.JobOperation{LambdaInvoke: &types.LambdaInvokeOperation{FunctionArn: aws.String(arn)}},
		Manifest:  man,
		Report: &types.JobReport{Bucket: aws.String("arn:aws:s3:::report-bucket"), Format: types.JobReportFormatReportCsv20180820,
			Enabled: true, Prefix: aws.String("ReportPrefix"), ReportScope: types.JobReportScopeAllTasks},
		Priority: aws.Int32(2), RoleArn: aws.String("arn:aws:iam::000000000000:role/BatchOperationsRole"),
		Description: aws.String("Lambda Function"), ConfirmationRequired: aws.Bool(false),
	})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(out.JobId)
	j := e.wait(id, 3*time.Minute, types.JobStatusComplete, types.JobStatusFailed)
	if j.Status != types.JobStatusComplete {
		t.Fatalf("job %s: %v", j.Status, failures(j))
	}
	for _, k := range []string{"doc one.txt", "doc2.txt"} {
		if got, err := e.get("versioned-bucket", k); err != nil || got != "content of "+k {
			t.Errorf("%s after undelete: %q %v", k, got, err)
		}
	}
	_, rep := e.readReport("report-bucket", "ReportPrefix", id)
	byKey := rowsByKey(t, rep)
	if r := byKey["doc%20one.txt"]; r.Status != "succeeded" || !strings.HasPrefix(r.Message, "Successfully removed delete marker ") {
		t.Errorf("row %+v", r)
	}
	if r := byKey["alive.txt"]; r.Status != "failed" || r.ErrorCode != "PermanentFailure" || !strings.Contains(r.Message, "is not a delete marker") {
		t.Errorf("row %+v", r)
	}
}

// TestSeedRevisions is seed 002's second function: task data packed into
// URL-encoded, pipe-delimited manifest keys.
func TestSeedRevisions(t *testing.T) {
	src := seedFunction(t, "revisions.py")
	e := newEnv(t)
	e.bucket("stanzas")
	e.bucket("report-bucket")
	arn := e.deploySeed("revisions", "revisions.py", src)
	stanza := "Once upon a Midnight Dreary"
	for _, k := range []string{"object1key", "object2key", "object3key", "object4key"} {
		e.put("stanzas", k, stanza)
	}
	man := e.manifest("stanzas", "manifest.csv", bucketKey,
		"stanzas,object1key%7Clower", "stanzas,object2key%7Cupper", "stanzas,object3key%7Creverse",
		"stanzas,object4key%7Cdelete", "stanzas,object5key%7Cupper")
	out, err := e.ctl.CreateJob(e.ctx, &s3control.CreateJobInput{
		AccountId: aws.String(account),
		Operation: &types.JobOperation{LambdaInvoke: &types.LambdaInvokeOperation{FunctionArn: aws.String(arn)}},
		Manifest:  man,
		Report: &types.JobReport{Bucket: aws.String("arn:aws:s3:::report-bucket"), Format: types.JobReportFormatReportCsv20180820,
			Enabled: true, Prefix: aws.String("ReportPrefix"), ReportScope: types.JobReportScopeAllTasks},
		Priority: aws.Int32(2), RoleArn: aws.String("arn:aws:iam::000000000000:role/BatchOperationsRole"),
		ConfirmationRequired: aws.Bool(false),
	})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(out.JobId)
	j := e.wait(id, 3*time.Minute, types.JobStatusComplete, types.JobStatusFailed)
	if j.Status != types.JobStatusComplete || aws.ToInt64(j.ProgressSummary.NumberOfTasksSucceeded) != 5 {
		t.Fatalf("job %s %v: %+v", j.Status, failures(j), *j.ProgressSummary)
	}
	reversed := []rune(stanza)
	for i, k := 0, len(reversed)-1; i < k; i, k = i+1, k-1 {
		reversed[i], reversed[k] = reversed[k], reversed[i]
	}
	for k, want := range map[string]string{"object1key": strings.ToLower(stanza), "object2key": strings.ToUpper(stanza), "object3key": string(reversed)} {
		if got := e.mustGet("stanzas", k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if _, err := e.get("stanzas", "object4key"); err == nil {
		t.Error("object4key was not deleted")
	}
	_, rep := e.readReport("report-bucket", "ReportPrefix", id)
	byKey := rowsByKey(t, rep)
	for key, msg := range map[string]string{
		"object1key%7Clower":  "Applied revision type 'lower' to stanza object1key.",
		"object4key%7Cdelete": "Deleted stanza object4key.",
		"object5key%7Cupper":  "Stanza object5key not found, assuming it was deleted in an earlier revision.",
	} {
		if r := byKey[key]; r.Status != "succeeded" || r.Message != msg {
			t.Errorf("row %s: %+v", key, r)
		}
	}
}
