package main

import (
	"archive/zip"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/sluicehq/sluice/internal/server/servertest"
)

// cli runs sluice commands in-process against a test node.
type cli struct {
	t    *testing.T
	node *servertest.Node
	env  map[string]string
}

func newCLI(t *testing.T) *cli {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed: the test functions cannot run")
	}
	n := servertest.Start(t)
	return &cli{t: t, node: n, env: map[string]string{
		"AWS_ENDPOINT_URL":      n.Endpoint,
		"AWS_ACCESS_KEY_ID":     servertest.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY": servertest.SecretAccessKey,
		"AWS_CA_BUNDLE":         "/nonexistent/ca.pem", // must not matter: the CLI brings its own HTTP client
	}}
}

// run runs sluice with args and stdin, returning stdout, stderr and the
// error.
func (c *cli) run(ctx context.Context, stdin string, args ...string) (string, string, error) {
	var stdout, stderr bytes.Buffer
	err := run(ctx, args, func(k string) string { return c.env[k] }, strings.NewReader(stdin), &stdout, &stderr)
	return stdout.String(), stderr.String(), err
}

// must runs a command that must succeed and returns its stdout.
func (c *cli) must(args ...string) string {
	c.t.Helper()
	out, errOut, err := c.run(context.Background(), "", args...)
	if err != nil {
		c.t.Fatalf("sluice %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

// writeDir writes files into a new directory.
func writeDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const greeter = `import os
def handler(event, context):
    print("greeting", event.get("name"))
    if event.get("fail"):
        raise ValueError("asked to fail")
    return {"greeting": os.environ.get("GREETING", "hello") + " " + str(event.get("name")), "v": VERSION}
`

func TestFnDeployInvokeList(t *testing.T) {
	c := newCLI(t)
	dir := writeDir(t, map[string]string{"app.py": "VERSION = 1\n" + greeter, "lib/data.txt": "x"})
	out := c.must("fn", "deploy", dir, "--name", "greeter", "--runtime", "python3.12", "--handler", "app.handler",
		"--env", "GREETING=hi", "--timeout", "5", "--memory", "256")
	if !strings.Contains(out, "created arn:aws:lambda:us-east-1:000000000000:function:greeter (python3.12") {
		t.Errorf("deploy output: %s", out)
	}
	if out := c.must("fn", "invoke", "greeter", `{"name":"ann"}`); strings.TrimSpace(out) != `{"greeting": "hi ann", "v": 1}` {
		t.Errorf("invoke output: %q", out)
	}

	// An update: new code, one setting changed, the others kept.
	if err := os.WriteFile(filepath.Join(dir, "app.py"), []byte("VERSION = 2\n"+greeter), 0o644); err != nil {
		t.Fatal(err)
	}
	out = c.must("fn", "deploy", "--name", "greeter", dir, "--env", "GREETING=hey")
	if !strings.HasPrefix(out, "updated arn:aws:lambda:us-east-1:000000000000:function:greeter (python3.12") {
		t.Errorf("update output: %s", out)
	}
	got, err := lambda.NewFromConfig(c.node.AWSConfig()).GetFunctionConfiguration(context.Background(),
		&lambda.GetFunctionConfigurationInput{FunctionName: aws.String("greeter")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt32(got.Timeout) != 5 || aws.ToInt32(got.MemorySize) != 256 || got.Environment.Variables["GREETING"] != "hey" {
		t.Errorf("configuration after update: timeout %d memory %d env %v", aws.ToInt32(got.Timeout), aws.ToInt32(got.MemorySize), got.Environment.Variables)
	}

	// The payload from stdin, and the log tail.
	out, errOut, err := c.run(context.Background(), `{"name":"bob"}`, "fn", "invoke", "greeter", "-", "--log")
	if err != nil || strings.TrimSpace(out) != `{"greeting": "hey bob", "v": 2}` {
		t.Errorf("invoke -: %v %q", err, out)
	}
	if !strings.Contains(errOut, "greeting bob") || !strings.Contains(errOut, "REPORT RequestId: ") {
		t.Errorf("--log printed:\n%s", errOut)
	}

	// A function error prints the error document and fails.
	out, _, err = c.run(context.Background(), "", "fn", "invoke", "greeter", `{"fail":true}`)
	if err == nil || !strings.Contains(err.Error(), "function error (Unhandled)") || !strings.Contains(out, `"errorType": "ValueError"`) {
		t.Errorf("failing invoke: %v\n%s", err, out)
	}

	// Asynchronous: accepted at once, run later.
	out = c.must("fn", "invoke", "greeter", `{"name":"async"}`, "--async")
	if !strings.HasPrefix(out, "accepted: request ID ") || !strings.Contains(out, "(status 202)") {
		t.Errorf("async output: %s", out)
	}
	id := strings.Fields(strings.TrimPrefix(out, "accepted: request ID "))[0]
	eventually(t, "the async run in the log", func() bool {
		out, _, _ := c.run(context.Background(), "", "logs", "greeter", "--data", c.node.DataDir)
		return strings.Contains(out, "START RequestId: "+id) && strings.Contains(out, "greeting async")
	})

	out = c.must("fn", "ls")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "NAME") || !strings.HasPrefix(lines[1], "greeter") ||
		!strings.Contains(lines[1], "python3.12") || !strings.Contains(lines[1], "256 MB") {
		t.Errorf("fn ls:\n%s", out)
	}
}

func TestFnDeployErrors(t *testing.T) {
	c := newCLI(t)
	empty := t.TempDir()
	dir := writeDir(t, map[string]string{"app.py": "def handler(e, c): pass\n"})
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"fn", "deploy", dir}, "--name is required"},
		{[]string{"fn", "deploy", "--name", "x"}, "want exactly one directory"},
		{[]string{"fn", "deploy", empty, "--name", "x"}, "has no files"},
		{[]string{"fn", "deploy", dir, "--name", "x"}, "--runtime and --handler are required"},
		{[]string{"fn", "deploy", dir, "--name", "x", "--env", "novalue"}, "want KEY=VALUE"},
		{[]string{"fn", "deploy", dir, "--name", "x", "--runtime", "cobol", "--handler", "a.b"}, "InvalidParameterValueException"},
		{[]string{"fn", "invoke", "missing"}, "ResourceNotFoundException"},
		{[]string{"fn", "frobnicate"}, `unknown fn command "frobnicate"`},
	}
	for _, tc := range tests {
		_, _, err := c.run(context.Background(), "", tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("sluice %s: %v, want %q", strings.Join(tc.args, " "), err, tc.want)
		}
	}
}

func TestZipDirKeepsModes(t *testing.T) {
	dir := writeDir(t, map[string]string{"bootstrap": "#!/bin/sh\n", "a/b.txt": "b"})
	if err := os.Chmod(filepath.Join(dir, "bootstrap"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("a/b.txt", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	data, err := zipDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	modes := map[string]os.FileMode{}
	for _, f := range zr.File {
		modes[f.Name] = f.Mode()
	}
	if modes["bootstrap"].Perm() != 0o755 || modes["a/"]&os.ModeDir == 0 || modes["a/b.txt"].Perm() != 0o644 || modes["link"]&os.ModeSymlink == 0 {
		t.Errorf("zip entries %v", modes)
	}
}

func TestLogsFollowAndEvents(t *testing.T) {
	c := newCLI(t)
	dir := writeDir(t, map[string]string{"app.py": "VERSION = 1\n" + greeter})
	c.must("fn", "deploy", dir, "--name", "greeter", "--runtime", "python3.12", "--handler", "app.handler")
	ctx := context.Background()
	retries := int32(0)
	if _, err := lambda.NewFromConfig(c.node.AWSConfig()).PutFunctionEventInvokeConfig(ctx, &lambda.PutFunctionEventInvokeConfigInput{
		FunctionName: aws.String("greeter"), MaximumRetryAttempts: &retries,
	}); err != nil {
		t.Fatal(err)
	}

	// Follow the log while invoking.
	fctx, stop := context.WithCancel(ctx)
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		follow bytes.Buffer
	)
	wg.Go(func() {
		err := run(fctx, []string{"logs", "-f", "greeter", "--data", c.node.DataDir}, func(k string) string { return c.env[k] },
			strings.NewReader(""), lockedWriter{&mu, &follow}, os.Stderr)
		if err != nil {
			t.Errorf("logs -f: %v", err)
		}
	})
	c.must("fn", "invoke", "greeter", `{"name":"followed"}`)
	eventually(t, "the followed invocation", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return strings.Contains(follow.String(), "greeting followed") && strings.Contains(follow.String(), "REPORT RequestId:")
	})

	// An async event that fails, with no retries and no destination.
	out := c.must("fn", "invoke", "greeter", `{"fail":true}`, "--async")
	id := strings.Fields(strings.TrimPrefix(out, "accepted: request ID "))[0]
	eventually(t, "the failed event", func() bool {
		out, _, err := c.run(ctx, "", "fn", "events", "greeter", "--failed", "--data", c.node.DataDir)
		return err == nil && strings.Contains(out, id)
	})
	eventually(t, "the failure line in the followed log", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return strings.Contains(follow.String(), "ASYNC FAILED RequestId: "+id+"\tCondition: RetriesExhausted")
	})
	stop()
	wg.Wait()

	out = c.must("fn", "events", "--failed", "--data", c.node.DataDir)
	if !strings.Contains(out, "greeter") || !strings.Contains(out, "RetriesExhausted") || !strings.Contains(out, "function error (Unhandled) on all 1 attempts") {
		t.Errorf("fn events:\n%s", out)
	}
	out = c.must("fn", "events", "greeter", "--failed", "--json", "--data", c.node.DataDir)
	if !strings.Contains(out, `"requestPayload":{"fail":true}`) || !strings.Contains(out, `"errorType":"ValueError"`) {
		t.Errorf("fn events --json:\n%s", out)
	}
	if _, _, err := c.run(ctx, "", "fn", "events", "greeter"); err == nil || !strings.Contains(err.Error(), "only --failed") {
		t.Errorf("fn events without --failed: %v", err)
	}
	if _, _, err := c.run(ctx, "", "logs", "greeter", "--data", t.TempDir()); err == nil || !strings.Contains(err.Error(), "no function logs") {
		t.Errorf("logs with a wrong --data: %v", err)
	}
	// --tail
	out = c.must("logs", "greeter", "--tail", "1", "--data", c.node.DataDir)
	if strings.Count(out, "\n") != 1 {
		t.Errorf("logs --tail 1:\n%s", out)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
