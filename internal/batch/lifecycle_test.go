package batch_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	"github.com/aws/aws-sdk-go-v2/service/s3control/types"

	"github.com/sluicehq/sluice/internal/lambda"
	"github.com/sluicehq/sluice/internal/server"
	"github.com/sluicehq/sluice/internal/server/servertest"
)

// slowEngine answers every task Succeeded after a delay, tracking the
// largest number of invocations in flight.
type slowEngine struct {
	delay    time.Duration
	inflight atomic.Int64
	peak     atomic.Int64
	mu       sync.Mutex
	byJob    map[string]int
	versions map[string]int
}

func (s *slowEngine) Invoke(d *lambda.Deployment, payload []byte) (*lambda.Result, error) {
	n := s.inflight.Add(1)
	defer s.inflight.Add(-1)
	for {
		p := s.peak.Load()
		if n <= p || s.peak.CompareAndSwap(p, n) {
			break
		}
	}
	var ev events.S3BatchJobEvent
	json.Unmarshal(payload, &ev)
	s.mu.Lock()
	s.byJob[ev.Job.ID]++
	s.versions[d.Version]++
	s.mu.Unlock()
	time.Sleep(s.delay)
	return &lambda.Result{Payload: respond(&ev, "Succeeded", "ok")}, nil
}

func newSlowEngine(delay time.Duration) (*slowEngine, *fakeEngine) {
	s := &slowEngine{delay: delay, byJob: map[string]int{}, versions: map[string]int{}}
	return s, &fakeEngine{invoke: s.Invoke}
}

func rowsFor(bucket string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s,k%05d", bucket, i)
	}
	return out
}

// TestPriorityPreemption runs one job slot: a running job pauses for a
// job of higher priority and resumes when it is done.
func TestPriorityPreemption(t *testing.T) {
	slow, engine := newSlowEngine(2 * time.Millisecond)
	e := withEngine(t, engine, func(c *server.Config) {
		c.Batch.MaxActiveJobs = 1
		c.Batch.TaskConcurrency = 4
	})
	e.bucket("data")
	e.bucket("rep")
	arn := e.function("worker", map[string]string{"app.py": "def handler(e, c): pass\n"})
	op := &types.JobOperation{LambdaInvoke: &types.LambdaInvokeOperation{FunctionArn: aws.String(arn)}}

	low := e.create(&s3control.CreateJobInput{Manifest: e.manifest("data", "low.csv", bucketKey, rowsFor("data", 600)...),
		Operation: op, Priority: aws.Int32(1), Report: report("rep", "low")})
	e.wait(low, 10*time.Second, types.JobStatusActive)
	for aws.ToInt64(e.describe(low).ProgressSummary.NumberOfTasksSucceeded) < 20 {
		time.Sleep(5 * time.Millisecond)
	}
	high := e.create(&s3control.CreateJobInput{Manifest: e.manifest("data", "high.csv", bucketKey, rowsFor("data", 50)...),
		Operation: op, Priority: aws.Int32(5), Report: report("rep", "high")})
	j := e.wait(low, 10*time.Second, types.JobStatusPausing, types.JobStatusPaused, types.JobStatusComplete)
	if j.Status == types.JobStatusComplete {
		t.Fatal("the low-priority job completed before the high-priority job pre-empted it; the test proves nothing")
	}
	paused := e.wait(low, 10*time.Second, types.JobStatusPaused)
	doneAtPause := aws.ToInt64(paused.ProgressSummary.NumberOfTasksSucceeded)
	e.wait(high, 20*time.Second, types.JobStatusComplete)
	// While the high job ran, the paused one did not move.
	if j := e.describe(low); j.Status == types.JobStatusPaused && aws.ToInt64(j.ProgressSummary.NumberOfTasksSucceeded) != doneAtPause {
		t.Errorf("paused job progressed from %d to %d", doneAtPause, aws.ToInt64(j.ProgressSummary.NumberOfTasksSucceeded))
	}
	j = e.wait(low, 30*time.Second, types.JobStatusComplete)
	if aws.ToInt64(j.ProgressSummary.NumberOfTasksSucceeded) != 600 {
		t.Fatalf("low job: %d succeeded", aws.ToInt64(j.ProgressSummary.NumberOfTasksSucceeded))
	}
	_, rows := e.readReport("rep", "low", low)
	if len(rowsByKey(t, rows)) != 600 {
		t.Fatalf("report has %d rows", len(rows))
	}
	slow.mu.Lock()
	defer slow.mu.Unlock()
	if slow.byJob[low] != 600 || slow.byJob[high] != 50 {
		t.Errorf("invocations per job: %v (each task once)", slow.byJob)
	}
}

// TestCancelRunningJob cancels an Active job: it passes through
// Cancelling, writes a report of the tasks that ran, and ends Cancelled.
func TestCancelRunningJob(t *testing.T) {
	_, engine := newSlowEngine(5 * time.Millisecond)
	e := withEngine(t, engine, func(c *server.Config) { c.Batch.TaskConcurrency = 2 })
	e.bucket("data")
	e.bucket("rep")
	arn := e.function("worker", map[string]string{"app.py": "def handler(e, c): pass\n"})
	id := e.create(&s3control.CreateJobInput{Manifest: e.manifest("data", "m.csv", bucketKey, rowsFor("data", 2000)...),
		Operation: &types.JobOperation{LambdaInvoke: &types.LambdaInvokeOperation{FunctionArn: aws.String(arn)}},
		Report:    report("rep", "")})
	e.wait(id, 10*time.Second, types.JobStatusActive)
	for aws.ToInt64(e.describe(id).ProgressSummary.NumberOfTasksSucceeded) < 10 {
		time.Sleep(5 * time.Millisecond)
	}
	out, err := e.ctl.UpdateJobStatus(e.ctx, &s3control.UpdateJobStatusInput{AccountId: aws.String(account), JobId: aws.String(id),
		RequestedJobStatus: types.RequestedJobStatusCancelled, StatusUpdateReason: aws.String("changed my mind")})
	if err != nil {
		t.Fatal(err)
	}
	if out.Status != types.JobStatusCancelling {
		t.Errorf("UpdateJobStatus answered %s, want Cancelling", out.Status)
	}
	j := e.wait(id, 20*time.Second, types.JobStatusCancelled)
	done := aws.ToInt64(j.ProgressSummary.NumberOfTasksSucceeded)
	if done == 0 || done >= 2000 || j.TerminationDate == nil || aws.ToString(j.StatusUpdateReason) != "changed my mind" {
		t.Fatalf("cancelled job: %d done, terminated %v, reason %q", done, j.TerminationDate, aws.ToString(j.StatusUpdateReason))
	}
	_, rows := e.readReport("rep", "", id)
	if int64(len(rowsByKey(t, rows))) != done {
		t.Fatalf("report has %d rows, job counted %d", len(rows), done)
	}
}

// TestFailureThreshold fails a job once more than half of at least 1,000
// tasks failed.
func TestFailureThreshold(t *testing.T) {
	e := newEnv(t)
	e.bucket("data")
	e.bucket("rep")
	for _, k := range keys("ok/", 100) {
		e.put("data", k, "x")
	}
	var rows []string
	for _, k := range keys("ok/", 100) {
		rows = append(rows, "data,"+k)
	}
	rows = append(rows, rowsFor("data", 3000)...) // none exist
	id := e.create(&s3control.CreateJobInput{Manifest: e.manifest("data", "m.csv", bucketKey, rows...),
		Operation: tagOp(), Report: report("rep", "r")})
	j := e.wait(id, 60*time.Second, types.JobStatusFailed, types.JobStatusComplete)
	if j.Status != types.JobStatusFailed {
		t.Fatalf("status %s", j.Status)
	}
	if len(j.FailureReasons) != 1 || aws.ToString(j.FailureReasons[0].FailureCode) != "TaskFailureThresholdExceeded" {
		t.Fatalf("failure reasons %v", failures(j))
	}
	ps := j.ProgressSummary
	ran := aws.ToInt64(ps.NumberOfTasksSucceeded) + aws.ToInt64(ps.NumberOfTasksFailed)
	if ran < 1000 || ran >= 3100 || aws.ToInt64(ps.NumberOfTasksFailed)*2 <= ran {
		t.Fatalf("progress %d succeeded, %d failed", aws.ToInt64(ps.NumberOfTasksSucceeded), aws.ToInt64(ps.NumberOfTasksFailed))
	}
	_, rep := e.readReport("rep", "r", id)
	if int64(len(rep)) != ran {
		t.Fatalf("report has %d rows, %d tasks ran", len(rep), ran)
	}
}

func TestManifestFailures(t *testing.T) {
	e := newEnv(t)
	e.bucket("data")
	man := e.manifest("data", "m.csv", bucketKey, "data,k")
	for _, tc := range []struct {
		name     string
		manifest *types.JobManifest
		code     string
		reason   string
	}{
		{"etag mismatch", &types.JobManifest{Spec: man.Spec, Location: &types.JobManifestLocation{
			ObjectArn: man.Location.ObjectArn, ETag: aws.String("0123456789abcdef0123456789abcdef")}}, "ManifestETagMismatch", "does not match"},
		{"missing manifest", &types.JobManifest{Spec: man.Spec, Location: &types.JobManifestLocation{
			ObjectArn: aws.String("arn:aws:s3:::data/nope.csv"), ETag: aws.String("x")}}, "ManifestReadFailed", "NoSuchKey"},
		{"short row", e.manifest("data", "short.csv", []types.JobManifestFieldName{types.JobManifestFieldNameBucket,
			types.JobManifestFieldNameKey, types.JobManifestFieldNameVersionId}, "data,a,1", "data"), "ManifestMalformed", "row 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := e.create(&s3control.CreateJobInput{Manifest: tc.manifest, Operation: tagOp()})
			j := e.wait(id, 10*time.Second, types.JobStatusFailed)
			if len(j.FailureReasons) != 1 || aws.ToString(j.FailureReasons[0].FailureCode) != tc.code ||
				!strings.Contains(aws.ToString(j.FailureReasons[0].FailureReason), tc.reason) {
				t.Fatalf("failure reasons %v", failures(j))
			}
			if j.TerminationDate == nil {
				t.Error("no TerminationDate")
			}
		})
	}
	t.Run("function missing", func(t *testing.T) {
		id := e.create(&s3control.CreateJobInput{Manifest: man, Operation: &types.JobOperation{LambdaInvoke: &types.LambdaInvokeOperation{
			FunctionArn: aws.String("arn:aws:lambda:us-east-1:000000000000:function:nope")}}})
		j := e.wait(id, 10*time.Second, types.JobStatusFailed)
		if aws.ToString(j.FailureReasons[0].FailureCode) != "FunctionNotFound" {
			t.Fatalf("failure reasons %v", failures(j))
		}
	})
}

// TestAliasAndConcurrency runs a job on an alias that is moved to a new
// version mid-job, on a function with reserved concurrency 2.
func TestAliasAndConcurrency(t *testing.T) {
	slow, engine := newSlowEngine(3 * time.Millisecond)
	e := withEngine(t, engine)
	e.bucket("data")
	name := "aliased"
	e.function(name, map[string]string{"app.py": "def handler(e, c): pass\n"})
	lc := e.lambda()
	v1, err := lc.PublishVersion(e.ctx, &awslambda.PublishVersionInput{FunctionName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	alias, err := lc.CreateAlias(e.ctx, &awslambda.CreateAliasInput{FunctionName: aws.String(name), Name: aws.String("live"), FunctionVersion: v1.Version})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lc.PutFunctionConcurrency(e.ctx, &awslambda.PutFunctionConcurrencyInput{FunctionName: aws.String(name), ReservedConcurrentExecutions: aws.Int32(2)}); err != nil {
		t.Fatal(err)
	}
	id := e.create(&s3control.CreateJobInput{Manifest: e.manifest("data", "m.csv", bucketKey, rowsFor("data", 400)...),
		Operation: &types.JobOperation{LambdaInvoke: &types.LambdaInvokeOperation{FunctionArn: alias.AliasArn}}})
	for aws.ToInt64(e.describe(id).ProgressSummary.NumberOfTasksSucceeded) < 50 {
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := lc.UpdateFunctionConfiguration(e.ctx, &awslambda.UpdateFunctionConfigurationInput{FunctionName: aws.String(name), Description: aws.String("v2")}); err != nil {
		t.Fatal(err)
	}
	v2, err := lc.PublishVersion(e.ctx, &awslambda.PublishVersionInput{FunctionName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lc.UpdateAlias(e.ctx, &awslambda.UpdateAliasInput{FunctionName: aws.String(name), Name: aws.String("live"), FunctionVersion: v2.Version}); err != nil {
		t.Fatal(err)
	}
	j := e.wait(id, 60*time.Second, types.JobStatusComplete)
	if aws.ToInt64(j.ProgressSummary.NumberOfTasksSucceeded) != 400 {
		t.Fatalf("%d succeeded", aws.ToInt64(j.ProgressSummary.NumberOfTasksSucceeded))
	}
	slow.mu.Lock()
	defer slow.mu.Unlock()
	if slow.versions[aws.ToString(v1.Version)] == 0 || slow.versions[aws.ToString(v2.Version)] == 0 {
		t.Errorf("versions run: %v; want both %s and %s", slow.versions, aws.ToString(v1.Version), aws.ToString(v2.Version))
	}
	if p := slow.peak.Load(); p > 2 {
		t.Errorf("%d invocations in flight at once; the function's reserved concurrency is 2", p)
	}
}

// TestRestartsWithOutOfOrderTasks stops and restarts a node several
// times while a job's tasks finish out of order (some are slow), and
// expects each task in the report exactly once.
func TestRestartsWithOutOfOrderTasks(t *testing.T) {
	var (
		mu    sync.Mutex
		calls = map[string]int{}
	)
	engine := &fakeEngine{invoke: func(_ *lambda.Deployment, payload []byte) (*lambda.Result, error) {
		var ev events.S3BatchJobEvent
		json.Unmarshal(payload, &ev)
		key := ev.Tasks[0].S3Key
		mu.Lock()
		calls[key]++
		mu.Unlock()
		var n int
		fmt.Sscanf(key, "k%d", &n)
		if n%13 == 0 {
			time.Sleep(150 * time.Millisecond)
		} else {
			time.Sleep(time.Millisecond)
		}
		code := "Succeeded"
		if n%7 == 0 {
			code = "PermanentFailure"
		}
		return &lambda.Result{Payload: respond(&ev, code, key)}, nil
	}}
	dir := t.TempDir()
	configure := func(c *server.Config) {
		c.LambdaEngine = engine
		c.Batch.TaskConcurrency = 16
		c.Batch.RampStart = 16
	}
	start := func() *env {
		n := servertest.Start(t, servertest.Options{DataDir: dir, Configure: func(c *server.Config) { fastBatch(&c.Batch); configure(c) }})
		return &env{t: t, n: n, s3: n.S3(), ctl: n.S3Control(), ctx: context.Background()}
	}
	e := start()
	e.bucket("data")
	e.bucket("rep")
	arn := e.function("worker", map[string]string{"app.py": "def handler(e, c): pass\n"})
	const tasks = 1500
	id := e.create(&s3control.CreateJobInput{Manifest: e.manifest("data", "m.csv", bucketKey, rowsFor("data", tasks)...),
		Operation: &types.JobOperation{LambdaInvoke: &types.LambdaInvokeOperation{FunctionArn: aws.String(arn)}},
		Report:    report("rep", "")})
	for range 4 {
		time.Sleep(300 * time.Millisecond)
		if e.describe(id).Status == types.JobStatusComplete {
			break
		}
		e.n.Close()
		e = start()
	}
	j := e.wait(id, 60*time.Second, types.JobStatusComplete)
	ps := j.ProgressSummary
	wantFailed := int64(0)
	for i := range tasks {
		if i%7 == 0 {
			wantFailed++
		}
	}
	if aws.ToInt64(ps.NumberOfTasksFailed) != wantFailed || aws.ToInt64(ps.NumberOfTasksSucceeded) != tasks-wantFailed {
		t.Errorf("progress %d succeeded, %d failed", aws.ToInt64(ps.NumberOfTasksSucceeded), aws.ToInt64(ps.NumberOfTasksFailed))
	}
	_, rows := e.readReport("rep", "", id)
	byKey := rowsByKey(t, rows)
	if len(rows) != tasks || len(byKey) != tasks {
		t.Fatalf("report: %d rows, %d keys; want %d", len(rows), len(byKey), tasks)
	}
	mu.Lock()
	defer mu.Unlock()
	again := 0
	for k, n := range calls {
		if n > 1 {
			again++
		}
		if byKey[k].Message != k {
			t.Errorf("row of %s: %+v", k, byKey[k])
		}
	}
	t.Logf("%d tasks ran more than once (abandoned at a stop)", again)
}
