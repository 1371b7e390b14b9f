package batch_test

import (
	"bytes"
	"crypto/md5"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	"github.com/aws/aws-sdk-go-v2/service/s3control/types"

	"github.com/sluicehq/sluice/internal/lambda"
	"github.com/sluicehq/sluice/internal/server"
)

// TestReportLayout checks a completion report byte for byte against
// AWS's layout: <prefix>/job-<id>/manifest.json with its members in
// AWS's order, one CSV file per task status under results/ named by 40
// hex digits, MD5 checksums, RFC 4180 quoting, HTTP status before the
// error code, versions as the manifest gave them, SSE-S3, the
// FailedTasksOnly scope, and no report for a job that ran no task.
func TestReportLayout(t *testing.T) {
	engine := &fakeEngine{invoke: func(_ *lambda.Deployment, payload []byte) (*lambda.Result, error) {
		var ev events.S3BatchJobEvent
		if err := json.Unmarshal(payload, &ev); err != nil {
			return nil, err
		}
		switch ev.Tasks[0].S3Key {
		case "ok":
			return &lambda.Result{Payload: respond(&ev, "Succeeded", "fine")}, nil
		case "q":
			return &lambda.Result{Payload: respond(&ev, "Succeeded", "a \"quoted\", multi\nline")}, nil
		case "perm":
			return &lambda.Result{Payload: respond(&ev, "PermanentFailure", "nope")}, nil
		}
		return nil, fmt.Errorf("unexpected key %q", ev.Tasks[0].S3Key)
	}}
	e := withEngine(t, engine)
	e.bucket("data")
	e.bucket("rep")
	arn := e.function("worker", map[string]string{"app.py": "def handler(e, c): pass\n"})
	fields := []types.JobManifestFieldName{types.JobManifestFieldNameBucket, types.JobManifestFieldNameKey, types.JobManifestFieldNameVersionId}
	man := e.manifest("data", "m.csv", fields, "data,ok,v1", "data,q,v2", "data,perm,null", "data,nov,")
	op := &types.JobOperation{LambdaInvoke: &types.LambdaInvokeOperation{FunctionArn: aws.String(arn)}}

	id := e.create(&s3control.CreateJobInput{Manifest: man, Operation: op, Report: report("rep", "reports/batch")})
	j := e.wait(id, 20*time.Second, types.JobStatusComplete)
	if ps := j.ProgressSummary; aws.ToInt64(ps.NumberOfTasksSucceeded) != 2 || aws.ToInt64(ps.NumberOfTasksFailed) != 2 {
		t.Fatalf("progress %+v", *ps)
	}
	base := "reports/batch/job-" + id
	raw := e.mustGet("rep", base+"/manifest.json")
	if got := topLevelKeys(t, raw); fmt.Sprint(got) != "[Format ReportCreationDate Results ReportSchema]" {
		t.Errorf("manifest.json members %v", got)
	}
	var m reportManifest
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		t.Fatal(err)
	}
	if m.Format != "Report_CSV_20180820" || m.ReportSchema != "Bucket, Key, VersionId, TaskStatus, ErrorCode, HTTPStatusCode, ResultMessage" ||
		!regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`).MatchString(m.ReportCreationDate) {
		t.Errorf("manifest.json %s", raw)
	}
	e.wantSSES3("rep", base+"/manifest.json")
	name := regexp.MustCompile(`^` + regexp.QuoteMeta(base) + `/results/[0-9a-f]{40}\.csv$`)
	files := map[string]string{}
	for _, r := range m.Results {
		body := e.mustGet(r.Bucket, r.Key)
		sum := md5.Sum([]byte(body))
		if r.Bucket != "rep" || !name.MatchString(r.Key) || r.MD5Checksum != hex.EncodeToString(sum[:]) {
			t.Errorf("result file %+v (md5 of its body %x)", r, sum)
		}
		if _, dup := files[r.TaskExecutionStatus]; dup {
			t.Errorf("two %s files", r.TaskExecutionStatus)
		}
		files[r.TaskExecutionStatus] = body
		e.wantSSES3(r.Bucket, r.Key)
	}
	if want := "data,nov,,failed,400,InvalidRequest,Task failed due to missing VersionId\ndata,perm,null,failed,200,PermanentFailure,nope\n"; sortedRows(files["failed"]) != want {
		t.Errorf("failed file:\n%s\nwant (in some order)\n%s", files["failed"], want)
	}
	if want := "data,ok,v1,succeeded,200,,fine\ndata,q,v2,succeeded,200,,\"a \"\"quoted\"\", multi\nline\"\n"; sortedRows(files["succeeded"]) != want {
		t.Errorf("succeeded file:\n%q\nwant (in some order)\n%q", files["succeeded"], want)
	}

	// FailedTasksOnly: the failed file only.
	rep := report("rep", "failed-only")
	rep.ReportScope = types.JobReportScopeFailedTasksOnly
	id = e.create(&s3control.CreateJobInput{Manifest: man, Operation: op, Report: rep})
	e.wait(id, 20*time.Second, types.JobStatusComplete)
	m, rows := e.readReport("rep", "failed-only", id)
	if len(m.Results) != 1 || m.Results[0].TaskExecutionStatus != "failed" || len(rows) != 2 {
		t.Errorf("FailedTasksOnly report %+v with %d rows", m.Results, len(rows))
	}

	// A job cancelled before any task ran writes no report.
	id = e.create(&s3control.CreateJobInput{Manifest: man, Operation: op, Report: report("rep", "none"), ConfirmationRequired: aws.Bool(true)})
	e.wait(id, 10*time.Second, types.JobStatusSuspended)
	if _, err := e.ctl.UpdateJobStatus(e.ctx, &s3control.UpdateJobStatusInput{AccountId: aws.String(account), JobId: aws.String(id),
		RequestedJobStatus: types.RequestedJobStatusCancelled}); err != nil {
		t.Fatal(err)
	}
	e.wait(id, 10*time.Second, types.JobStatusCancelled)
	_, err := e.get("rep", "none/job-"+id+"/manifest.json")
	var nsk *s3types.NoSuchKey
	if !errors.As(err, &nsk) {
		t.Errorf("report of a job that ran no task: %v", err)
	}
}

// topLevelKeys lists the members of a JSON object in document order.
func topLevelKeys(t *testing.T, raw string) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader([]byte(raw)))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not a JSON object: %s", raw)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

// sortedRows re-serialises a CSV file with its records sorted.
func sortedRows(body string) string {
	recs, err := csv.NewReader(bytes.NewReader([]byte(body))).ReadAll()
	if err != nil {
		return "invalid CSV: " + err.Error()
	}
	sort.Slice(recs, func(a, b int) bool { return fmt.Sprint(recs[a]) < fmt.Sprint(recs[b]) })
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.WriteAll(recs)
	return buf.String()
}

func (e *env) wantSSES3(bucket, key string) {
	e.t.Helper()
	h, err := e.s3.HeadObject(e.ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil || h.ServerSideEncryption != s3types.ServerSideEncryptionAes256 {
		e.t.Errorf("%s/%s: encryption %q, %v; want AES256", bucket, key, h.ServerSideEncryption, err)
	}
}

// TestRampUp checks the throttled start of a job: its tasks in flight
// begin at RampStart and double every RampInterval up to the job's
// limit.
func TestRampUp(t *testing.T) {
	var (
		mu       sync.Mutex
		first    time.Time
		inflight int
		early    int // the most in flight in the first 80 ms
		peak     int
	)
	engine := &fakeEngine{invoke: func(_ *lambda.Deployment, payload []byte) (*lambda.Result, error) {
		var ev events.S3BatchJobEvent
		json.Unmarshal(payload, &ev)
		mu.Lock()
		now := time.Now()
		if first.IsZero() {
			first = now
		}
		inflight++
		peak = max(peak, inflight)
		if now.Sub(first) < 80*time.Millisecond {
			early = max(early, inflight)
		}
		mu.Unlock()
		time.Sleep(10 * time.Millisecond)
		mu.Lock()
		inflight--
		mu.Unlock()
		return &lambda.Result{Payload: respond(&ev, "Succeeded", "")}, nil
	}}
	e := withEngine(t, engine, func(c *server.Config) {
		c.Batch.TaskConcurrency = 32
		c.Batch.RampStart = 2
		c.Batch.RampInterval = 100 * time.Millisecond
	})
	e.bucket("data")
	arn := e.function("worker", map[string]string{"app.py": "def handler(e, c): pass\n"})
	id := e.create(&s3control.CreateJobInput{Manifest: e.manifest("data", "m.csv", bucketKey, rowsFor("data", 800)...),
		Operation: &types.JobOperation{LambdaInvoke: &types.LambdaInvokeOperation{FunctionArn: aws.String(arn)}}})
	e.wait(id, 60*time.Second, types.JobStatusComplete)
	mu.Lock()
	defer mu.Unlock()
	if early > 2 {
		t.Errorf("%d tasks in flight in the job's first 80 ms; RampStart is 2", early)
	}
	if peak < 16 || peak > 32 {
		t.Errorf("at most %d tasks in flight; want the ramp to reach 16 to 32 (the job's limit)", peak)
	}
}
