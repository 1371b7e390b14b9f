package server_test

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

func (c *child) lambda() *lambda.Client {
	return lambda.New(lambda.Options{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider(crashKey, crashSecret, ""),
		BaseEndpoint:     aws.String("http://" + c.addr),
		HTTPClient:       &http.Client{Timeout: time.Minute},
		RetryMaxAttempts: 1,
	})
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
	c := startChild(t, dir)
	lc := c.lambda()
	ctx := context.Background()

	var zbuf bytes.Buffer
	zw := zip.NewWriter(&zbuf)
	w, _ := zw.Create("app.py")
	w.Write([]byte(slowFunction))
	zw.Close()
	_, err := lc.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("slow"),
		Runtime:      types.RuntimePython312,
		Handler:      aws.String("app.handler"),
		Role:         aws.String("arn:aws:iam::000000000000:role/r"),
		Code:         &types.FunctionCode{ZipFile: zbuf.Bytes()},
		Environment:  &types.Environment{Variables: map[string]string{"OUT": out}},
	})
	if err != nil {
		t.Fatal(err)
	}

	const events = 120
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		failed []error
	)
	next := make(chan int)
	for range 8 {
		wg.Go(func() {
			for i := range next {
				_, err := lc.Invoke(ctx, &lambda.InvokeInput{
					FunctionName:   aws.String("slow"),
					InvocationType: types.InvocationTypeEvent,
					Payload:        fmt.Appendf(nil, `{"id":"e%03d"}`, i),
				})
				if err != nil {
					mu.Lock()
					failed = append(failed, err)
					mu.Unlock()
				}
			}
		})
	}
	for i := range events {
		next <- i
	}
	close(next)
	wg.Wait()
	if len(failed) > 0 {
		t.Fatalf("%d invocations refused, first: %v", len(failed), failed[0])
	}
	c.kill()
	// Instances that were running finish their sleep on their own.
	time.Sleep(time.Second)
	before := countFiles(t, out)
	t.Logf("%d of %d events delivered before the kill", before, events)
	if before >= events {
		t.Fatal("every event was delivered before the kill; the test proves nothing")
	}

	startChild(t, dir)
	deadline := time.Now().Add(90 * time.Second)
	for countFiles(t, out) < events {
		if time.Now().After(deadline) {
			t.Fatalf("after the restart only %d of %d accepted events were delivered", countFiles(t, out), events)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for i := range events {
		if _, err := os.Stat(filepath.Join(out, fmt.Sprintf("e%03d", i))); err != nil {
			t.Errorf("event e%03d lost: %v", i, err)
		}
	}
}

func countFiles(t *testing.T, dir string) int {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}
