package batch_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	"github.com/aws/aws-sdk-go-v2/service/s3control/types"

	"github.com/sluicehq/sluice/internal/batch"
	"github.com/sluicehq/sluice/internal/server"
)

// transitions records the status changes of every job, as committed.
type transitions struct {
	t    *testing.T
	mu   sync.Mutex
	seen map[string][]string
}

func newTransitions(t *testing.T) *transitions {
	return &transitions{t: t, seen: map[string][]string{}}
}

func (tr *transitions) observe(id string, from, to batch.Status) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	path := tr.seen[id]
	last := ""
	if len(path) > 0 {
		last = path[len(path)-1]
	}
	if string(from) != last {
		tr.t.Errorf("job %s moved from %s, but its last status was %q", id, from, last)
	}
	tr.seen[id] = append(path, string(to))
}

// expect checks the whole path of job id, waiting a moment for the
// last transitions (DescribeJob may show a status before the observer
// of a concurrent commit ran).
func (tr *transitions) expect(id string, want ...batch.Status) {
	tr.t.Helper()
	w := make([]string, len(want))
	for i, s := range want {
		w[i] = string(s)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		tr.mu.Lock()
		got := strings.Join(tr.seen[id], " → ")
		tr.mu.Unlock()
		if got == strings.Join(w, " → ") {
			return
		}
		if time.Now().After(deadline) {
			tr.t.Errorf("job %s went\n  %s\nwant\n  %s", id, got, strings.Join(w, " → "))
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestEveryTransition drives jobs through every path of the lifecycle
// with aws-sdk-go-v2 and checks each job's exact sequence of statuses:
// confirmation, completion, manifest failure, the failure threshold,
// cancellation while awaiting confirmation and while running, and
// pre-emption by a job of higher priority (one job runs at a time).
func TestEveryTransition(t *testing.T) {
	tr := newTransitions(t)
	slow, engine := newSlowEngine(2 * time.Millisecond)
	e := withEngine(t, engine, func(c *server.Config) {
		c.Batch.MaxActiveJobs = 1
		c.Batch.TaskConcurrency = 4
		c.Batch.Observe = tr.observe
	})
	e.bucket("data")
	e.bucket("rep")
	e.put("data", "k", "x")
	arn := e.function("worker", map[string]string{"app.py": "def handler(e, c): pass\n"})
	invoke := &types.JobOperation{LambdaInvoke: &types.LambdaInvokeOperation{FunctionArn: aws.String(arn)}}
	one := e.manifest("data", "one.csv", bucketKey, "data,k")
	const (
		New        = batch.StatusNew
		Preparing  = batch.StatusPreparing
		Suspended  = batch.StatusSuspended
		Ready      = batch.StatusReady
		Active     = batch.StatusActive
		Pausing    = batch.StatusPausing
		Paused     = batch.StatusPaused
		Completing = batch.StatusCompleting
		Complete   = batch.StatusComplete
		Failing    = batch.StatusFailing
		Failed     = batch.StatusFailed
		Cancelling = batch.StatusCancelling
		Cancelled  = batch.StatusCancelled
	)
	setStatus := func(id string, to types.RequestedJobStatus) *s3control.UpdateJobStatusOutput {
		t.Helper()
		out, err := e.ctl.UpdateJobStatus(e.ctx, &s3control.UpdateJobStatusInput{AccountId: aws.String(account), JobId: aws.String(id), RequestedJobStatus: to})
		if err != nil {
			t.Fatalf("UpdateJobStatus %s: %v", to, err)
		}
		return out
	}
	waitDone := func(id string, n int64) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			ps := e.describe(id).ProgressSummary
			if aws.ToInt64(ps.NumberOfTasksSucceeded)+aws.ToInt64(ps.NumberOfTasksFailed) >= n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("job %s never ran %d tasks", id, n)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}

	t.Run("confirmed", func(t *testing.T) {
		id := e.create(&s3control.CreateJobInput{Manifest: one, Operation: tagOp(), ConfirmationRequired: aws.Bool(true)})
		e.wait(id, 10*time.Second, types.JobStatusSuspended)
		if out := setStatus(id, types.RequestedJobStatusReady); out.Status != types.JobStatusReady {
			t.Errorf("confirming answered %s", out.Status)
		}
		e.wait(id, 10*time.Second, types.JobStatusComplete)
		tr.expect(id, New, Preparing, Suspended, Ready, Active, Completing, Complete)
	})
	t.Run("manifest failure", func(t *testing.T) {
		id := e.create(&s3control.CreateJobInput{Operation: tagOp(), Manifest: &types.JobManifest{Spec: one.Spec,
			Location: &types.JobManifestLocation{ObjectArn: one.Location.ObjectArn, ETag: aws.String("0123456789abcdef0123456789abcdef")}}})
		e.wait(id, 10*time.Second, types.JobStatusFailed)
		tr.expect(id, New, Preparing, Failing, Failed)
	})
	t.Run("cancelled while suspended", func(t *testing.T) {
		id := e.create(&s3control.CreateJobInput{Manifest: one, Operation: tagOp(), ConfirmationRequired: aws.Bool(true)})
		e.wait(id, 10*time.Second, types.JobStatusSuspended)
		if out := setStatus(id, types.RequestedJobStatusCancelled); out.Status != types.JobStatusCancelled {
			t.Errorf("cancelling answered %s", out.Status)
		}
		tr.expect(id, New, Preparing, Suspended, Cancelled)
	})
	t.Run("cancelled while preparing", func(t *testing.T) {
		// Two million rows take Preparing a while to read and count.
		var big strings.Builder
		for i := range 2_000_000 {
			fmt.Fprintf(&big, "data,k%07d\n", i)
		}
		etag, _ := e.put("data", "big.csv", big.String())
		id := e.create(&s3control.CreateJobInput{Operation: tagOp(), Manifest: &types.JobManifest{Spec: one.Spec,
			Location: &types.JobManifestLocation{ObjectArn: aws.String("arn:aws:s3:::data/big.csv"), ETag: aws.String(etag)}}})
		e.wait(id, 10*time.Second, types.JobStatusPreparing)
		out := setStatus(id, types.RequestedJobStatusCancelled)
		if out.Status != types.JobStatusCancelling {
			t.Fatalf("cancelling answered %s; the job was no longer preparing, the test proves nothing", out.Status)
		}
		j := e.wait(id, 20*time.Second, types.JobStatusCancelled)
		if j.ProgressSummary.TotalNumberOfTasks != nil {
			t.Errorf("a job cancelled while preparing has a total of %d tasks", *j.ProgressSummary.TotalNumberOfTasks)
		}
		tr.expect(id, New, Preparing, Cancelling, Cancelled)
	})
	t.Run("cancelled while active", func(t *testing.T) {
		id := e.create(&s3control.CreateJobInput{Manifest: e.manifest("data", "many.csv", bucketKey, rowsFor("data", 3000)...),
			Operation: invoke, Report: report("rep", "cancel")})
		waitDone(id, 20)
		if out := setStatus(id, types.RequestedJobStatusCancelled); out.Status != types.JobStatusCancelling {
			t.Errorf("cancelling answered %s", out.Status)
		}
		e.wait(id, 20*time.Second, types.JobStatusCancelled)
		tr.expect(id, New, Preparing, Ready, Active, Cancelling, Cancelled)
		// Cancelling again, or confirming, is refused now.
		_, err := e.ctl.UpdateJobStatus(e.ctx, &s3control.UpdateJobStatusInput{AccountId: aws.String(account), JobId: aws.String(id),
			RequestedJobStatus: types.RequestedJobStatusCancelled})
		wantAPIError(t, err, "JobStatusException", http.StatusConflict)
	})
	t.Run("failure threshold", func(t *testing.T) {
		id := e.create(&s3control.CreateJobInput{Manifest: e.manifest("data", "missing.csv", bucketKey, rowsFor("data", 1200)...), Operation: tagOp()})
		e.wait(id, 60*time.Second, types.JobStatusFailed)
		tr.expect(id, New, Preparing, Ready, Active, Failing, Failed)
	})
	t.Run("pre-empted", func(t *testing.T) {
		low := e.create(&s3control.CreateJobInput{Manifest: e.manifest("data", "low.csv", bucketKey, rowsFor("data", 800)...),
			Operation: invoke, Priority: aws.Int32(1)})
		waitDone(low, 20)
		high := e.create(&s3control.CreateJobInput{Manifest: e.manifest("data", "high.csv", bucketKey, rowsFor("data", 40)...),
			Operation: invoke, Priority: aws.Int32(5)})
		e.wait(high, 20*time.Second, types.JobStatusComplete)
		if j := e.describe(low); j.Status == types.JobStatusComplete {
			t.Fatal("the low-priority job completed before the other pre-empted it; the test proves nothing")
		}
		e.wait(low, 30*time.Second, types.JobStatusComplete)
		tr.expect(high, New, Preparing, Ready, Active, Completing, Complete)
		tr.expect(low, New, Preparing, Ready, Active, Pausing, Paused, Active, Completing, Complete)
		slow.mu.Lock()
		defer slow.mu.Unlock()
		if slow.byJob[low] != 800 || slow.byJob[high] != 40 {
			t.Errorf("invocations per job %v, want each task once", slow.byJob)
		}
	})
	t.Run("cancelled while paused", func(t *testing.T) {
		low := e.create(&s3control.CreateJobInput{Manifest: e.manifest("data", "low2.csv", bucketKey, rowsFor("data", 3000)...),
			Operation: invoke, Priority: aws.Int32(1)})
		waitDone(low, 20)
		high := e.create(&s3control.CreateJobInput{Manifest: e.manifest("data", "high2.csv", bucketKey, rowsFor("data", 3000)...),
			Operation: invoke, Priority: aws.Int32(5)})
		e.wait(low, 20*time.Second, types.JobStatusPaused)
		if out := setStatus(low, types.RequestedJobStatusCancelled); out.Status != types.JobStatusCancelling {
			t.Errorf("cancelling a paused job that ran tasks answered %s", out.Status)
		}
		e.wait(low, 20*time.Second, types.JobStatusCancelled)
		setStatus(high, types.RequestedJobStatusCancelled)
		e.wait(high, 20*time.Second, types.JobStatusCancelled)
		tr.expect(low, New, Preparing, Ready, Active, Pausing, Paused, Cancelling, Cancelled)
	})
}

// TestSuspendedTimeoutAndRetention fails a job that awaits confirmation
// too long (30 days on AWS, shortened here) and forgets finished jobs
// after the retention (90 days on AWS).
func TestSuspendedTimeoutAndRetention(t *testing.T) {
	tr := newTransitions(t)
	e := newEnv(t, func(c *server.Config) {
		c.Batch.SuspendedTimeout = 300 * time.Millisecond
		c.Batch.Retention = 2 * time.Second
		c.Batch.Observe = tr.observe
	})
	e.bucket("data")
	id := e.create(&s3control.CreateJobInput{Manifest: e.manifest("data", "m.csv", bucketKey, "data,k"), Operation: tagOp(),
		ConfirmationRequired: aws.Bool(true)})
	j := e.wait(id, 10*time.Second, types.JobStatusFailed)
	if len(j.FailureReasons) != 1 || aws.ToString(j.FailureReasons[0].FailureCode) != "SuspendedTooLong" || j.TerminationDate == nil {
		t.Errorf("failure reasons %v, terminated %v", failures(j), j.TerminationDate)
	}
	tr.expect(id, batch.StatusNew, batch.StatusPreparing, batch.StatusSuspended, batch.StatusFailed)
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, err := e.ctl.DescribeJob(e.ctx, &s3control.DescribeJobInput{AccountId: aws.String(account), JobId: aws.String(id)})
		if err != nil {
			wantAPIError(t, err, "NotFoundException", http.StatusNotFound)
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the finished job was never forgotten")
		}
		time.Sleep(100 * time.Millisecond)
	}
	list, err := e.ctl.ListJobs(e.ctx, &s3control.ListJobsInput{AccountId: aws.String(account)})
	if err != nil || len(list.Jobs) != 0 {
		t.Errorf("ListJobs after retention: %v, %d jobs", err, len(list.Jobs))
	}
}
