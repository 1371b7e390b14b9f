package batch_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	"github.com/aws/aws-sdk-go-v2/service/s3control/types"

	"github.com/sluicehq/sluice/internal/server"
	"github.com/sluicehq/sluice/internal/server/servertest"
)

func TestMain(m *testing.M) {
	// A node run as a child process (fsync on) with a slow job pace.
	servertest.ServeChild(func(cfg *server.Config) {
		cfg.Batch.TaskConcurrency = 4
		cfg.Batch.CheckpointInterval = 30 * time.Millisecond
	})
	os.Unsetenv("AWS_CA_BUNDLE")
	os.Exit(m.Run())
}

// childEnv returns SDK clients for a node run as a child process.
func childEnv(t *testing.T, c *servertest.Child) *env {
	node := &servertest.Node{Endpoint: c.Endpoint, Addr: c.Addr}
	return &env{t: t, n: node, ctx: context.Background(),
		s3: s3.NewFromConfig(c.AWSConfig(), func(o *s3.Options) { o.UsePathStyle = true }), ctl: node.S3Control()}
}

// TestCrashResume kills a durable node with SIGKILL in the middle of a
// copy job, restarts it and expects the job to finish with every task in
// the report exactly once: no duplicates, no gaps.
func TestCrashResume(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test needs a child process and fsync; skipped with -short")
	}
	dir := t.TempDir()
	c := servertest.StartChild(t, dir)
	e := childEnv(t, c)
	e.bucket("src")
	e.bucket("dst")
	e.bucket("rep")
	const present, missing = 2000, 200
	var (
		rows []string
		wg   sync.WaitGroup
		next = make(chan int)
	)
	for range 8 {
		wg.Go(func() {
			for i := range next {
				if _, err := e.s3.PutObject(e.ctx, &s3.PutObjectInput{Bucket: aws.String("src"), Key: aws.String(fmt.Sprintf("k%05d", i)),
					Body: strings.NewReader("body")}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	for i := range present {
		next <- i
		rows = append(rows, fmt.Sprintf("src,k%05d", i))
		if i%10 == 0 {
			rows = append(rows, fmt.Sprintf("src,gone%05d", i))
		}
	}
	close(next)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	id := e.create(&s3control.CreateJobInput{
		Manifest:  e.manifest("src", "m.csv", bucketKey, rows...),
		Operation: &types.JobOperation{S3PutObjectCopy: &types.S3CopyObjectOperation{TargetResource: aws.String("arn:aws:s3:::dst")}},
		Report:    report("rep", "crash"),
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		j := e.describe(id)
		done := aws.ToInt64(j.ProgressSummary.NumberOfTasksSucceeded) + aws.ToInt64(j.ProgressSummary.NumberOfTasksFailed)
		if done >= 400 {
			t.Logf("killing the node with %d of %d tasks done", done, len(rows))
			break
		}
		if j.Status == types.JobStatusComplete || time.Now().After(deadline) {
			t.Fatalf("job %s with %d tasks done before the kill; the test proves nothing", j.Status, done)
		}
		time.Sleep(2 * time.Millisecond)
	}
	c.Kill()

	c = servertest.StartChild(t, dir)
	e = childEnv(t, c)
	j := e.wait(id, 120*time.Second, types.JobStatusComplete, types.JobStatusFailed)
	if j.Status != types.JobStatusComplete {
		t.Fatalf("after the restart the job is %s: %v", j.Status, failures(j))
	}
	ps := j.ProgressSummary
	if aws.ToInt64(ps.NumberOfTasksSucceeded) != present || aws.ToInt64(ps.NumberOfTasksFailed) != missing {
		t.Errorf("progress %d succeeded, %d failed; want %d and %d", aws.ToInt64(ps.NumberOfTasksSucceeded), aws.ToInt64(ps.NumberOfTasksFailed), present, missing)
	}
	_, rep := e.readReport("rep", "crash", id)
	byKey := rowsByKey(t, rep) // reports duplicates
	if len(rep) != len(rows) || len(byKey) != len(rows) {
		t.Fatalf("report has %d rows (%d keys), the manifest %d", len(rep), len(byKey), len(rows))
	}
	for _, r := range rows {
		key := strings.TrimPrefix(r, "src,")
		row, ok := byKey[key]
		switch {
		case !ok:
			t.Errorf("task %s missing from the report", key)
		case strings.HasPrefix(key, "gone") && (row.Status != "failed" || row.ErrorCode != "NoSuchKey"):
			t.Errorf("row %+v", row)
		case strings.HasPrefix(key, "k") && row.Status != "succeeded":
			t.Errorf("row %+v", row)
		}
	}
	list, err := e.s3.ListObjectsV2(e.ctx, &s3.ListObjectsV2Input{Bucket: aws.String("dst")})
	if err != nil || aws.ToInt32(list.KeyCount) != 1000 || !aws.ToBool(list.IsTruncated) {
		t.Errorf("copies: %v, %d keys in the first page", err, aws.ToInt32(list.KeyCount))
	}
}
