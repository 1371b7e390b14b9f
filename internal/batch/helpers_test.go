package batch_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	"github.com/aws/aws-sdk-go-v2/service/s3control/types"

	"github.com/sluicehq/sluice/internal/batch"
	"github.com/sluicehq/sluice/internal/lambda"
	"github.com/sluicehq/sluice/internal/objstore"
	"github.com/sluicehq/sluice/internal/server"
	"github.com/sluicehq/sluice/internal/server/servertest"
)

var (
	_ batch.Objects   = (*objstore.Store)(nil)
	_ batch.Functions = (*lambda.Service)(nil)
)

const (
	account = servertest.AccountID
	role    = "arn:aws:iam::000000000000:role/batch"
)

// env is a node with SDK clients for its S3 and S3 Control APIs.
type env struct {
	t   *testing.T
	n   *servertest.Node
	s3  *s3.Client
	ctl *s3control.Client
	ctx context.Context
}

// fastBatch makes jobs run with test-sized delays.
func fastBatch(o *batch.Options) {
	o.RetryDelay = 20 * time.Millisecond
	o.ThrottleDelay = 5 * time.Millisecond
	o.CheckpointInterval = 20 * time.Millisecond
	o.RampInterval = 10 * time.Millisecond
}

// newEnv starts a node; configure may adjust its configuration.
func newEnv(t *testing.T, configure ...func(*server.Config)) *env {
	t.Helper()
	n := servertest.Start(t, servertest.Options{Configure: func(c *server.Config) {
		fastBatch(&c.Batch)
		for _, f := range configure {
			f(c)
		}
	}})
	return &env{t: t, n: n, s3: n.S3(), ctl: n.S3Control(), ctx: context.Background()}
}

func (e *env) bucket(name string) {
	e.t.Helper()
	if _, err := e.s3.CreateBucket(e.ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		e.t.Fatalf("create bucket %s: %v", name, err)
	}
}

func (e *env) versioned(name string) {
	e.t.Helper()
	e.bucket(name)
	_, err := e.s3.PutBucketVersioning(e.ctx, &s3.PutBucketVersioningInput{
		Bucket:                  aws.String(name),
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled},
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

// put writes an object and returns its ETag (without quotes) and version.
func (e *env) put(bucket, key, body string) (string, string) {
	e.t.Helper()
	out, err := e.s3.PutObject(e.ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(body)})
	if err != nil {
		e.t.Fatalf("put %s/%s: %v", bucket, key, err)
	}
	return strings.Trim(aws.ToString(out.ETag), `"`), aws.ToString(out.VersionId)
}

func (e *env) get(bucket, key string) (string, error) {
	out, err := e.s3.GetObject(e.ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return "", err
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	return string(b), err
}

func (e *env) mustGet(bucket, key string) string {
	e.t.Helper()
	s, err := e.get(bucket, key)
	if err != nil {
		e.t.Fatalf("get %s/%s: %v", bucket, key, err)
	}
	return s
}

// manifest uploads a CSV manifest and returns its JobManifest.
func (e *env) manifest(bucket, key string, fields []types.JobManifestFieldName, rows ...string) *types.JobManifest {
	e.t.Helper()
	etag, _ := e.put(bucket, key, strings.Join(rows, "\n")+"\n")
	return &types.JobManifest{
		Spec: &types.JobManifestSpec{Format: types.JobManifestFormatS3BatchOperationsCsv20180820, Fields: fields},
		Location: &types.JobManifestLocation{
			ObjectArn: aws.String("arn:aws:s3:::" + bucket + "/" + key),
			ETag:      aws.String(etag),
		},
	}
}

var bucketKey = []types.JobManifestFieldName{types.JobManifestFieldNameBucket, types.JobManifestFieldNameKey}

func report(bucket, prefix string) *types.JobReport {
	return &types.JobReport{
		Bucket: aws.String("arn:aws:s3:::" + bucket), Enabled: true, Format: types.JobReportFormatReportCsv20180820,
		Prefix: aws.String(prefix), ReportScope: types.JobReportScopeAllTasks,
	}
}

// create makes a job and returns its ID.
func (e *env) create(in *s3control.CreateJobInput) string {
	e.t.Helper()
	in.AccountId = aws.String(account)
	if in.RoleArn == nil {
		in.RoleArn = aws.String(role)
	}
	if in.Priority == nil {
		in.Priority = aws.Int32(10)
	}
	if in.Report == nil {
		in.Report = &types.JobReport{Enabled: false}
	}
	if in.ConfirmationRequired == nil {
		in.ConfirmationRequired = aws.Bool(false)
	}
	out, err := e.ctl.CreateJob(e.ctx, in)
	if err != nil {
		e.t.Fatalf("CreateJob: %v", err)
	}
	return aws.ToString(out.JobId)
}

func (e *env) describe(id string) *types.JobDescriptor {
	e.t.Helper()
	out, err := e.ctl.DescribeJob(e.ctx, &s3control.DescribeJobInput{AccountId: aws.String(account), JobId: aws.String(id)})
	if err != nil {
		e.t.Fatalf("DescribeJob %s: %v", id, err)
	}
	return out.Job
}

// wait polls a job until it reaches one of statuses.
func (e *env) wait(id string, timeout time.Duration, statuses ...types.JobStatus) *types.JobDescriptor {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		j := e.describe(id)
		for _, s := range statuses {
			if j.Status == s {
				return j
			}
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("job %s is %s after %s, want %v (failures %v)", id, j.Status, timeout, statuses, failures(j))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func failures(j *types.JobDescriptor) []string {
	var out []string
	for _, f := range j.FailureReasons {
		out = append(out, aws.ToString(f.FailureCode)+": "+aws.ToString(f.FailureReason))
	}
	return out
}

// reportRow is one row of a completion report.
type reportRow struct {
	Bucket, Key, VersionID, Status, HTTPStatus, ErrorCode, Message string
}

// reportManifest is a report's manifest.json.
type reportManifest struct {
	Format             string
	ReportCreationDate string
	Results            []struct {
		TaskExecutionStatus string
		Bucket              string
		MD5Checksum         string
		Key                 string
	}
	ReportSchema string
}

// readReport reads a job's report: its manifest.json and all rows.
func (e *env) readReport(bucket, prefix, id string) (reportManifest, []reportRow) {
	e.t.Helper()
	base := "job-" + id
	if prefix != "" {
		base = prefix + "/" + base
	}
	var m reportManifest
	if err := json.Unmarshal([]byte(e.mustGet(bucket, base+"/manifest.json")), &m); err != nil {
		e.t.Fatalf("report manifest: %v", err)
	}
	var rows []reportRow
	for _, r := range m.Results {
		if !strings.HasPrefix(r.Key, base+"/results/") || !strings.HasSuffix(r.Key, ".csv") {
			e.t.Errorf("report file %s is not under %s/results/", r.Key, base)
		}
		body := e.mustGet(r.Bucket, r.Key)
		recs, err := csv.NewReader(bytes.NewReader([]byte(body))).ReadAll()
		if err != nil {
			e.t.Fatalf("report file %s: %v", r.Key, err)
		}
		for _, rec := range recs {
			if len(rec) != 7 {
				e.t.Fatalf("report row %q has %d fields", rec, len(rec))
			}
			if rec[3] != r.TaskExecutionStatus {
				e.t.Errorf("row %q in the %s file", rec, r.TaskExecutionStatus)
			}
			rows = append(rows, reportRow{rec[0], rec[1], rec[2], rec[3], rec[4], rec[5], rec[6]})
		}
	}
	return m, rows
}

// rowsByKey indexes report rows by key.
func rowsByKey(t *testing.T, rows []reportRow) map[string]reportRow {
	t.Helper()
	m := map[string]reportRow{}
	for _, r := range rows {
		if _, dup := m[r.Key]; dup {
			t.Errorf("key %s reported twice", r.Key)
		}
		m[r.Key] = r
	}
	return m
}

func keys(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%05d", prefix, i)
	}
	return out
}
