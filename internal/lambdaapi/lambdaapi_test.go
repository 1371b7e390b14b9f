package lambdaapi_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"

	"github.com/sluicehq/sluice/internal/lambda"
	"github.com/sluicehq/sluice/internal/server"
	"github.com/sluicehq/sluice/internal/server/servertest"
)

// Test identities.
const (
	region  = servertest.Region
	account = servertest.AccountID
	role    = "arn:aws:iam::" + account + ":role/lambda-test"
)

func arnOf(name string) string {
	return "arn:aws:lambda:" + region + ":" + account + ":function:" + name
}

// fakeEngine is a lambda.Engine whose behaviour each test sets.
type fakeEngine struct {
	mu      sync.Mutex
	invoke  func(ctx context.Context, d *lambda.Deployment, inv *lambda.Invocation) (*lambda.Result, error)
	calls   []*lambda.Invocation
	deps    []*lambda.Deployment
	retired []string
}

var _ lambda.Engine = (*fakeEngine)(nil)

func (e *fakeEngine) Invoke(ctx context.Context, d *lambda.Deployment, inv *lambda.Invocation) (*lambda.Result, error) {
	e.mu.Lock()
	e.calls = append(e.calls, inv)
	e.deps = append(e.deps, d)
	fn := e.invoke
	e.mu.Unlock()
	if fn == nil {
		return &lambda.Result{Payload: inv.Payload, ExecutedVersion: d.Version}, nil
	}
	return fn(ctx, d, inv)
}

func (e *fakeEngine) Retire(name string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.retired = append(e.retired, name)
}

func (e *fakeEngine) Close() error { return nil }

// fakeQueue is a lambda.AsyncQueue that keeps what it is given.
type fakeQueue struct {
	mu     sync.Mutex
	events []*lambda.AsyncEvent
}

func (q *fakeQueue) Enqueue(ctx context.Context, ev *lambda.AsyncEvent) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.events = append(q.events, ev)
	return nil
}

// env is a node, a Lambda client with its root credentials, and the fakes
// the node invokes.
type env struct {
	t      *testing.T
	n      *servertest.Node
	c      *awslambda.Client
	ctx    context.Context
	engine *fakeEngine
	queue  *fakeQueue
}

func start(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, ctx: context.Background(), engine: &fakeEngine{}, queue: &fakeQueue{}}
	e.n = servertest.Start(t, servertest.Options{Configure: func(c *server.Config) {
		c.LambdaEngine = e.engine
		c.LambdaQueue = e.queue
	}})
	e.c = awslambda.NewFromConfig(e.n.AWSConfig())
	return e
}

// client returns a Lambda client signing with other credentials.
func (e *env) client(keyID, secret string) *awslambda.Client {
	cfg := e.n.AWSConfig()
	cfg.Credentials = credentials.NewStaticCredentialsProvider(keyID, secret, "")
	return awslambda.NewFromConfig(cfg)
}

// makeZip returns a zip archive holding the given files.
func makeZip(tb testing.TB, files map[string]string) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range files {
		w, err := zw.Create(name)
		if err != nil {
			tb.Fatal(err)
		}
		io.WriteString(w, body)
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

var handlerZip = map[string]string{"index.py": "def handler(event, context):\n    return event\n"}

func sha256b64(b []byte) string {
	sum := sha256.Sum256(b)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// create creates a Python function from code (nil: handlerZip's).
func (e *env) create(name string, code []byte, opts ...func(*awslambda.CreateFunctionInput)) *awslambda.CreateFunctionOutput {
	e.t.Helper()
	if code == nil {
		code = makeZip(e.t, handlerZip)
	}
	in := &awslambda.CreateFunctionInput{
		FunctionName: aws.String(name),
		Role:         aws.String(role),
		Runtime:      types.RuntimePython312,
		Handler:      aws.String("index.handler"),
		Code:         &types.FunctionCode{ZipFile: code},
	}
	for _, o := range opts {
		o(in)
	}
	out, err := e.c.CreateFunction(e.ctx, in)
	if err != nil {
		e.t.Fatalf("CreateFunction %s: %v", name, err)
	}
	return out
}

func (e *env) publish(name string) *awslambda.PublishVersionOutput {
	e.t.Helper()
	out, err := e.c.PublishVersion(e.ctx, &awslambda.PublishVersionInput{FunctionName: aws.String(name)})
	if err != nil {
		e.t.Fatalf("PublishVersion %s: %v", name, err)
	}
	return out
}

// checkErr checks that err is the API error code with HTTP status, and that
// its message contains msg.
func checkErr(t *testing.T, what string, err error, code string, status int, msg string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: succeeded, want %s", what, code)
		return
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Errorf("%s: %v is not an API error", what, err)
		return
	}
	if ae.ErrorCode() != code {
		t.Errorf("%s: code %s (%s), want %s", what, ae.ErrorCode(), ae.ErrorMessage(), code)
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() != status {
		t.Errorf("%s: status %d, want %d", what, re.HTTPStatusCode(), status)
	}
	if !strings.Contains(ae.ErrorMessage(), msg) {
		t.Errorf("%s: message %q, want it to contain %q", what, ae.ErrorMessage(), msg)
	}
}

// raw sends a request signed with the root credentials and returns the
// response with its body read.
func (e *env) raw(method, path string, body []byte, hdr map[string]string) (*http.Response, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.n.Endpoint+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: servertest.AccessKeyID, SecretAccessKey: servertest.SecretAccessKey}
	if err := v4.NewSigner().SignHTTP(e.ctx, creds, req, hex.EncodeToString(sum[:]), "lambda", region, time.Now()); err != nil {
		e.t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp, data
}

func staticCreds(id, secret string) aws.CredentialsProvider {
	return credentials.NewStaticCredentialsProvider(id, secret, "")
}
