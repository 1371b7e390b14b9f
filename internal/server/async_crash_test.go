package server_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/sluicehq/sluice/internal/server/servertest"
)

func lambdaClient(c *servertest.Child) *lambda.Client {
	return lambda.NewFromConfig(c.AWSConfig())
}

// inParallel calls do(i) for every i in [0, n) from workers goroutines and
// returns the errors.
func inParallel(workers, n int, do func(i int) error) []error {
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		failed []error
	)
	next := make(chan int)
	for range workers {
		wg.Go(func() {
			for i := range next {
				if err := do(i); err != nil {
					mu.Lock()
					failed = append(failed, err)
					mu.Unlock()
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return failed
}

// deliveredAfterRestart is the second half of a crash test whose function
// marks each of n events by creating the file out/name(i): after the
// kill, fewer than n must be marked (or the test proves nothing); after a
// restart over dir, all n must be within 90 seconds.
func deliveredAfterRestart(t *testing.T, dir, out string, n int, name func(i int) string) {
	t.Helper()
	time.Sleep(time.Second) // instances that were running finish
	before := countFiles(t, out)
	t.Logf("%d of %d events delivered before the kill", before, n)
	if before >= n {
		t.Fatal("every event was delivered before the kill; the test proves nothing")
	}

	servertest.StartChild(t, dir)
	deadline := time.Now().Add(90 * time.Second)
	for countFiles(t, out) < n {
		if time.Now().After(deadline) {
			t.Fatalf("after the restart only %d of %d events were delivered", countFiles(t, out), n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for i := range n {
		if _, err := os.Stat(filepath.Join(out, name(i))); err != nil {
			t.Errorf("the event %s was lost: %v", name(i), err)
		}
	}
}

// slowFunction sleeps, then marks its event done by creating the file
// $OUT/<id>.
const slowFunction = `import os, time
def handler(event, context):
    time.sleep(0.3)
    with open(os.path.join(os.environ["OUT"], event["id"]), "w") as f:
        f.write(context.aws_request_id)
`

// TestCrashWithQueuedAsyncEvents kills a durable server with SIGKILL while
// accepted Event invocations wait in its queue, restarts it, and expects
// every accepted event to be delivered (at least once).
func TestCrashWithQueuedAsyncEvents(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test needs a child process and fsync; skipped with -short")
	}
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed: the test function cannot run")
	}
	dir, out := t.TempDir(), t.TempDir()
	c := servertest.StartChild(t, dir)
	lc := lambdaClient(c)
	ctx := context.Background()

	_, err := lc.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("slow"),
		Runtime:      types.RuntimePython312,
		Handler:      aws.String("app.handler"),
		Role:         aws.String("arn:aws:iam::000000000000:role/r"),
		Code:         &types.FunctionCode{ZipFile: servertest.FunctionZip(t, map[string][]byte{"app.py": []byte(slowFunction)})},
		Environment:  &types.Environment{Variables: map[string]string{"OUT": out}},
	})
	if err != nil {
		t.Fatal(err)
	}

	const events = 120
	failed := inParallel(8, events, func(i int) error {
		_, err := lc.Invoke(ctx, &lambda.InvokeInput{
			FunctionName:   aws.String("slow"),
			InvocationType: types.InvocationTypeEvent,
			Payload:        fmt.Appendf(nil, `{"id":"e%03d"}`, i),
		})
		return err
	})
	if len(failed) > 0 {
		t.Fatalf("%d invocations refused, first: %v", len(failed), failed[0])
	}
	c.Kill()
	deliveredAfterRestart(t, dir, out, events, func(i int) string { return fmt.Sprintf("e%03d", i) })
}

func countFiles(t *testing.T, dir string) int {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}
