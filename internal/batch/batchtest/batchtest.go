// Package batchtest runs Batch Operations jobs against a real test node,
// for the tests of batch functions (examples/): deploy a function, upload
// a manifest, run a job to its end with the SDK, read its report.
package batchtest

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	"github.com/aws/aws-sdk-go-v2/service/s3control/types"

	"github.com/sluicehq/sluice/internal/server/servertest"
)

// Env is a running node and SDK clients for it.
type Env struct {
	TB      testing.TB
	Node    *servertest.Node
	S3      *s3.Client
	Control *s3control.Client
	Lambda  *lambda.Client
	Ctx     context.Context
}

// Start starts a node (closed when the test ends).
func Start(tb testing.TB, opts ...servertest.Options) *Env {
	tb.Helper()
	n := servertest.Start(tb, opts...)
	return &Env{TB: tb, Node: n, S3: n.S3(), Control: n.S3Control(), Lambda: lambda.NewFromConfig(n.AWSConfig()), Ctx: context.Background()}
}

// Bucket creates a bucket.
func (e *Env) Bucket(name string) {
	e.TB.Helper()
	if _, err := e.S3.CreateBucket(e.Ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		e.TB.Fatalf("create bucket %s: %v", name, err)
	}
}

// Put writes an object and returns its ETag (unquoted).
func (e *Env) Put(bucket, key, body string) string {
	e.TB.Helper()
	out, err := e.S3.PutObject(e.Ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(body)})
	if err != nil {
		e.TB.Fatalf("put %s/%s: %v", bucket, key, err)
	}
	return strings.Trim(aws.ToString(out.ETag), `"`)
}

// Get reads an object.
func (e *Env) Get(bucket, key string) (string, error) {
	out, err := e.S3.GetObject(e.Ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return "", err
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	return string(b), err
}

// Function creates a function from a zip package and returns its ARN.
func (e *Env) Function(name, runtime, handler string, pkg []byte) string {
	e.TB.Helper()
	out, err := e.Lambda.CreateFunction(e.Ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String(name), Runtime: ltypes.Runtime(runtime), Handler: aws.String(handler),
		Role: aws.String("arn:aws:iam::" + servertest.AccountID + ":role/batch-function"), Code: &ltypes.FunctionCode{ZipFile: pkg},
		Timeout: aws.Int32(60), MemorySize: aws.Int32(256),
	})
	if err != nil {
		e.TB.Fatalf("CreateFunction %s: %v", name, err)
	}
	return aws.ToString(out.FunctionArn)
}

// Manifest uploads a CSV manifest of rows (bucket,key[,version]) and
// returns it as a JobManifest with the given fields.
func (e *Env) Manifest(bucket, key string, fields []types.JobManifestFieldName, rows ...string) *types.JobManifest {
	e.TB.Helper()
	etag := e.Put(bucket, key, strings.Join(rows, "\n")+"\n")
	return &types.JobManifest{
		Spec: &types.JobManifestSpec{Format: types.JobManifestFormatS3BatchOperationsCsv20180820, Fields: fields},
		Location: &types.JobManifestLocation{
			ObjectArn: aws.String("arn:aws:s3:::" + bucket + "/" + key), ETag: aws.String(etag),
		},
	}
}

// Run creates a job (filling in the account, a role, priority and no
// confirmation where in leaves them out) and waits for it to end.
func (e *Env) Run(in *s3control.CreateJobInput, timeout time.Duration) *types.JobDescriptor {
	e.TB.Helper()
	in.AccountId = aws.String(servertest.AccountID)
	if in.RoleArn == nil {
		in.RoleArn = aws.String("arn:aws:iam::" + servertest.AccountID + ":role/batch")
	}
	if in.Priority == nil {
		in.Priority = aws.Int32(10)
	}
	if in.ConfirmationRequired == nil {
		in.ConfirmationRequired = aws.Bool(false)
	}
	if in.Report == nil {
		in.Report = &types.JobReport{Enabled: false}
	}
	out, err := e.Control.CreateJob(e.Ctx, in)
	if err != nil {
		e.TB.Fatalf("CreateJob: %v", err)
	}
	deadline := time.Now().Add(timeout)
	for {
		d, err := e.Control.DescribeJob(e.Ctx, &s3control.DescribeJobInput{AccountId: aws.String(servertest.AccountID), JobId: out.JobId})
		if err != nil {
			e.TB.Fatalf("DescribeJob: %v", err)
		}
		switch d.Job.Status {
		case types.JobStatusComplete, types.JobStatusFailed, types.JobStatusCancelled:
			return d.Job
		}
		if time.Now().After(deadline) {
			e.TB.Fatalf("job %s is %s after %s", aws.ToString(out.JobId), d.Job.Status, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Row is one row of a completion report.
type Row struct {
	Bucket, Key, VersionID, Status, HTTPStatus, ErrorCode, Message string
}

// Report reads every row of a job's completion report.
func (e *Env) Report(bucket, prefix, jobID string) []Row {
	e.TB.Helper()
	base := "job-" + jobID
	if prefix != "" {
		base = prefix + "/" + base
	}
	raw, err := e.Get(bucket, base+"/manifest.json")
	if err != nil {
		e.TB.Fatalf("report manifest: %v", err)
	}
	var m struct {
		Results []struct{ Bucket, Key string }
	}
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		e.TB.Fatalf("report manifest: %v", err)
	}
	var rows []Row
	for _, r := range m.Results {
		body, err := e.Get(r.Bucket, r.Key)
		if err != nil {
			e.TB.Fatalf("report file %s: %v", r.Key, err)
		}
		recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
		if err != nil {
			e.TB.Fatalf("report file %s: %v", r.Key, err)
		}
		for _, rec := range recs {
			rows = append(rows, Row{rec[0], rec[1], rec[2], rec[3], rec[4], rec[5], rec[6]})
		}
	}
	return rows
}
