package batch_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	"github.com/aws/aws-sdk-go-v2/service/s3control/types"

	"github.com/sluicehq/sluice/internal/server"
	"github.com/sluicehq/sluice/internal/server/servertest"
)

// childEnv names the data directory of a node run as a child process.
const childEnv = "SLUICE_BATCH_CRASH_CHILD"

func TestMain(m *testing.M) {
	if dir := os.Getenv(childEnv); dir != "" {
		runChild(dir)
		return
	}
	os.Unsetenv("AWS_CA_BUNDLE")
	os.Exit(m.Run())
}

// runChild serves a durable node (fsync on) with a slow job pace, and
// prints its address.
func runChild(dir string) {
	cfg := server.Config{
		DataDir: dir, AccessKeyID: servertest.AccessKeyID, SecretAccessKey: servertest.SecretAccessKey,
		AccountID: servertest.AccountID, Region: servertest.Region,
	}
	cfg.Batch.TaskConcurrency = 4
	cfg.Batch.CheckpointInterval = 30 * time.Millisecond
	srv, err := server.Open(cfg)
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(1)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(1)
	}
	fmt.Println("ADDR", ln.Addr().String())
	srv.Serve(context.Background(), ln)
}

type child struct {
	cmd  *exec.Cmd
	addr string
}

func startChild(t *testing.T, dir string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "ADDR ") {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child: %q %v", line, err)
	}
	c := &child{cmd: cmd, addr: strings.TrimSpace(strings.TrimPrefix(line, "ADDR "))}
	t.Cleanup(c.kill)
	return c
}

func (c *child) kill() {
	if c.cmd.ProcessState == nil {
		c.cmd.Process.Signal(syscall.SIGKILL)
		c.cmd.Wait()
	}
}

// env returns SDK clients for the child.
func (c *child) env(t *testing.T) *env {
	node := &servertest.Node{Endpoint: "http://" + c.addr, Addr: c.addr}
	hc := &http.Client{Timeout: time.Minute}
	cfg := aws.Config{
		Region: servertest.Region, BaseEndpoint: aws.String(node.Endpoint), HTTPClient: hc, RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(servertest.AccessKeyID, servertest.SecretAccessKey, ""),
	}
	return &env{t: t, n: node, ctx: context.Background(),
		s3: s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }), ctl: controlClient(node)}
}

// TestCrashResume kills a durable node with SIGKILL in the middle of a
// copy job, restarts it and expects the job to finish with every task in
// the report exactly once: no duplicates, no gaps.
func TestCrashResume(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test needs a child process and fsync; skipped with -short")
	}
	dir := t.TempDir()
	c := startChild(t, dir)
	e := c.env(t)
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
	c.kill()

	c = startChild(t, dir)
	e = c.env(t)
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
