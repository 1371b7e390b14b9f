package e2e

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluicehq/sluice/internal/lambda/async"
	"github.com/sluicehq/sluice/internal/server"
	"github.com/sluicehq/sluice/internal/server/servertest"
)

// The functions tests run real functions — Go (aws-lambda-go), Python and
// Node.js — on a real node's engine, driven by aws-sdk-go-v2's Lambda
// client.

const fnRole = "arn:aws:iam::000000000000:role/e2e"

// pyApp is the Python test function; the handler selects the behaviour.
// Functions that leave evidence write it under $OUT.
const pyApp = `import json, os, time

def echo(event, context):
    return event

def env(event, context):
    return dict(os.environ)

def printer(event, context):
    print("python says hello from", context.aws_request_id)
    return "printed"

def sleep(event, context):
    time.sleep(event.get("ms", 0) / 1000)
    return "slept"

def fail(event, context):
    with open(os.path.join(os.environ["OUT"], "attempts-" + context.function_name), "a") as f:
        f.write(context.aws_request_id + "\n")
    raise RuntimeError("failing on purpose")

def record(event, context):
    name = context.function_name + "-" + event["requestContext"]["requestId"] + ".json"
    with open(os.path.join(os.environ["OUT"], name), "w") as f:
        json.dump(event, f)

def mark(event, context):
    time.sleep(event.get("ms", 0) / 1000)
    with open(os.path.join(os.environ["OUT"], event["id"]), "w") as f:
        f.write(context.aws_request_id)

def s3put(event, context):
    import boto3
    s3 = boto3.client("s3")
    s3.put_object(Bucket=event["bucket"], Key=event["key"], Body=event["body"].encode())
    return {"boto3": boto3.__version__, "body": s3.get_object(Bucket=event["bucket"], Key=event["key"])["Body"].read().decode()}
`

// nodeApp is the Node.js test function.
const nodeApp = `exports.echo = async (event) => event;
exports.env = async () => ({ ...process.env });
exports.printer = async (event, context) => { console.log("node says hello from", context.awsRequestId); return "printed"; };
exports.fail = async () => { throw new TypeError("node failure"); };
`

// zfile is an entry of a test zip.
type zfile struct {
	body string
	mode fs.FileMode
}

func zipOf(tb testing.TB, files map[string]zfile) []byte {
	tb.Helper()
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, n := range names {
		h := &zip.FileHeader{Name: n, Method: zip.Deflate}
		mode := files[n].mode
		if mode == 0 {
			mode = 0o644
		}
		h.SetMode(mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			tb.Fatal(err)
		}
		io.WriteString(w, files[n].body)
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

var (
	goFnOnce sync.Once
	goFnZip  []byte
)

// goFunction builds testdata/gofn (once per test binary) and zips it as
// bootstrap.
func goFunction(tb testing.TB) []byte {
	tb.Helper()
	goFnOnce.Do(func() { goFnZip = servertest.GoFunction(tb, "testdata/gofn") })
	if goFnZip == nil {
		tb.Fatal("building the Go test function failed (see the first test that built it)")
	}
	return goFnZip
}

// runtimeCase is a runtime under test: its id, its package and its
// handler names by behaviour.
type runtimeCase struct {
	name    string
	runtime ltypes.Runtime
	zip     func(testing.TB) []byte
	handler func(behaviour string) string
	need    func(testing.TB)
}

func needPython(tb testing.TB) {
	tb.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		tb.Skip("python3 is not installed: skipping the Python functions")
	}
}

func needNode(tb testing.TB) {
	tb.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		tb.Skip("node is not installed: skipping the Node.js functions")
	}
}

var runtimeCases = []runtimeCase{
	{"go", ltypes.RuntimeProvidedal2023, goFunction, func(b string) string { return b }, func(testing.TB) {}},
	{"python", ltypes.RuntimePython312, func(tb testing.TB) []byte { return zipOf(tb, map[string]zfile{"app.py": {body: pyApp}}) },
		func(b string) string { return "app." + b }, needPython},
	{"node", ltypes.RuntimeNodejs20x, func(tb testing.TB) []byte { return zipOf(tb, map[string]zfile{"index.js": {body: nodeApp}}) },
		func(b string) string { return "index." + b }, needNode},
}

// fnEnv is a node with a function engine and SDK clients for it.
type fnEnv struct {
	t   *testing.T
	n   *servertest.Node
	lc  *lambda.Client
	s3  *s3.Client
	ctx context.Context
	// out is where test functions leave evidence ($OUT).
	out string
}

// fastAsync shortens the asynchronous queue's delays (AWS: 1 and 2
// minutes, backoff 1 s to 5 min).
var fastAsync = async.Options{
	RetryDelays: []time.Duration{100 * time.Millisecond, 200 * time.Millisecond},
	BackoffMin:  20 * time.Millisecond,
	BackoffMax:  200 * time.Millisecond,
	Poll:        20 * time.Millisecond,
}

func startFunctions(t *testing.T, opts ...servertest.Options) *fnEnv {
	t.Helper()
	var o servertest.Options
	if len(opts) > 0 {
		o = opts[0]
	}
	configure := o.Configure
	o.Configure = func(c *server.Config) {
		c.Functions.Async = fastAsync
		if configure != nil {
			configure(c)
		}
	}
	n := servertest.Start(t, o)
	return &fnEnv{
		t: t, n: n, ctx: context.Background(), out: t.TempDir(),
		lc: lambda.NewFromConfig(n.AWSConfig(), func(o *lambda.Options) { o.RetryMaxAttempts = 1 }),
		s3: n.S3(),
	}
}

// create creates a function whose environment has OUT.
func (e *fnEnv) create(name string, rc runtimeCase, behaviour string, mods ...func(*lambda.CreateFunctionInput)) {
	e.t.Helper()
	in := &lambda.CreateFunctionInput{
		FunctionName: aws.String(name),
		Runtime:      rc.runtime,
		Handler:      aws.String(rc.handler(behaviour)),
		Role:         aws.String(fnRole),
		Code:         &ltypes.FunctionCode{ZipFile: rc.zip(e.t)},
		Environment:  &ltypes.Environment{Variables: map[string]string{"OUT": e.out}},
	}
	for _, m := range mods {
		m(in)
	}
	if _, err := e.lc.CreateFunction(e.ctx, in); err != nil {
		e.t.Fatalf("CreateFunction %s: %v", name, err)
	}
}

func (e *fnEnv) invoke(name, payload string, mods ...func(*lambda.InvokeInput)) *lambda.InvokeOutput {
	e.t.Helper()
	out, err := e.invokeErr(name, payload, mods...)
	if err != nil {
		e.t.Fatalf("Invoke %s: %v", name, err)
	}
	return out
}

func (e *fnEnv) invokeErr(name, payload string, mods ...func(*lambda.InvokeInput)) (*lambda.InvokeOutput, error) {
	in := &lambda.InvokeInput{FunctionName: aws.String(name), Payload: []byte(payload)}
	for _, m := range mods {
		m(in)
	}
	return e.lc.Invoke(e.ctx, in)
}

func withQualifier(q string) func(*lambda.InvokeInput) {
	return func(in *lambda.InvokeInput) { in.Qualifier = aws.String(q) }
}

func asEvent(in *lambda.InvokeInput)  { in.InvocationType = ltypes.InvocationTypeEvent }
func withTail(in *lambda.InvokeInput) { in.LogType = ltypes.LogTypeTail }

func requestID(out *lambda.InvokeOutput) string {
	id, _ := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
	return id
}

// waitFor polls cond for up to 30 s (cold starts on a busy two-core
// machine are slow).
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestFunctionRuntimes(t *testing.T) {
	e := startFunctions(t)
	for _, rc := range runtimeCases {
		t.Run(rc.name, func(t *testing.T) {
			rc.need(t)
			e := *e
			e.t = t
			name := "rt-" + rc.name
			e.create(name+"-echo", rc, "echo")
			out := e.invoke(name+"-echo", `{"a":[1,"two"]}`)
			var got map[string]any
			if err := json.Unmarshal(out.Payload, &got); err != nil || fmt.Sprint(got["a"]) != "[1 two]" {
				t.Errorf("echo: %s (%v)", out.Payload, err)
			}
			if out.StatusCode != 200 || aws.ToString(out.ExecutedVersion) != "$LATEST" || out.FunctionError != nil {
				t.Errorf("echo: status %d version %s error %v", out.StatusCode, aws.ToString(out.ExecutedVersion), out.FunctionError)
			}
			if out := e.invoke(name+"-echo", `{}`, func(in *lambda.InvokeInput) { in.InvocationType = ltypes.InvocationTypeDryRun }); out.StatusCode != 204 {
				t.Errorf("DryRun status %d", out.StatusCode)
			}
			if out := e.invoke(name+"-echo", `{}`, asEvent); out.StatusCode != 202 || len(out.Payload) != 0 {
				t.Errorf("Event status %d payload %q", out.StatusCode, out.Payload)
			}

			e.create(name+"-fail", rc, "fail")
			out = e.invoke(name+"-fail", `{}`)
			var doc struct {
				Message string `json:"errorMessage"`
				Type    string `json:"errorType"`
			}
			json.Unmarshal(out.Payload, &doc)
			wantType := map[string]string{"go": "errorString", "python": "RuntimeError", "node": "TypeError"}[rc.name]
			if aws.ToString(out.FunctionError) != "Unhandled" || doc.Type != wantType || doc.Message == "" {
				t.Errorf("function error: %v %s", out.FunctionError, out.Payload)
			}

			e.create(name+"-env", rc, "env", func(in *lambda.CreateFunctionInput) {
				in.Environment.Variables["GREETING"] = "hej"
				in.MemorySize = aws.Int32(256)
			})
			out = e.invoke(name+"-env", `{}`)
			var env map[string]string
			if err := json.Unmarshal(out.Payload, &env); err != nil {
				t.Fatalf("env: %s", out.Payload)
			}
			for k, want := range map[string]string{
				"GREETING": "hej", "AWS_LAMBDA_FUNCTION_NAME": name + "-env", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
				"AWS_LAMBDA_FUNCTION_VERSION": "$LATEST", "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": e.n.Endpoint,
			} {
				if env[k] != want {
					t.Errorf("env %s = %q, want %q", k, env[k], want)
				}
			}
			if !strings.HasPrefix(env["AWS_ACCESS_KEY_ID"], "ASIA") || env["AWS_SECRET_ACCESS_KEY"] == "" {
				t.Errorf("function credentials %q", env["AWS_ACCESS_KEY_ID"])
			}
			if env["AWS_SECRET_ACCESS_KEY"] == servertest.SecretAccessKey {
				t.Error("the function runs with the root credentials")
			}

			e.create(name+"-print", rc, "printer")
			out = e.invoke(name+"-print", `{}`, withTail)
			id := requestID(out)
			tail, err := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
			if err != nil || len(tail) > 4096 {
				t.Fatalf("X-Amz-Log-Result: %v, %d bytes", err, len(tail))
			}
			for _, want := range []string{"START RequestId: " + id + " Version: $LATEST", "says hello from " + id, "END RequestId: " + id, "REPORT RequestId: " + id + "\tDuration: "} {
				if !bytes.Contains(tail, []byte(want)) {
					t.Errorf("log tail lacks %q:\n%s", want, tail)
				}
			}
		})
	}
}

func TestFunctionTimeoutAndCrash(t *testing.T) {
	e := startFunctions(t)
	rc := runtimeCases[0]
	e.create("sleeper", rc, "sleep", func(in *lambda.CreateFunctionInput) { in.Timeout = aws.Int32(1) })
	out := e.invoke("sleeper", `{"ms":3000}`, withTail)
	if aws.ToString(out.FunctionError) != "Unhandled" || !regexp.MustCompile(`^\{"errorMessage":"\S+ \S+ Task timed out after 1\.\d\d seconds"\}$`).Match(out.Payload) {
		t.Errorf("timeout: %v %s", out.FunctionError, out.Payload)
	}
	if tail, _ := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult)); !bytes.Contains(tail, []byte("Task timed out after 1.")) {
		t.Errorf("timeout log:\n%s", tail)
	}
	if out := e.invoke("sleeper", `{"ms":10}`); out.FunctionError != nil || string(out.Payload) != `"slept"` {
		t.Errorf("after a timeout: %v %s", out.FunctionError, out.Payload)
	}

	e.create("crasher", rc, "crash")
	out = e.invoke("crasher", `{}`)
	var doc struct {
		Message string `json:"errorMessage"`
		Type    string `json:"errorType"`
	}
	json.Unmarshal(out.Payload, &doc)
	if aws.ToString(out.FunctionError) != "Unhandled" || doc.Type != "Runtime.ExitError" || !strings.Contains(doc.Message, "Runtime exited with error: exit status 3") {
		t.Errorf("crash: %v %s", out.FunctionError, out.Payload)
	}
}

func TestFunctionConcurrencyAndThrottling(t *testing.T) {
	needPython(t)
	e := startFunctions(t)
	rc := runtimeCases[1]
	e.create("sleepy", rc, "sleep")
	e.invoke("sleepy", `{}`) // the code is unpacked, the interpreter found

	// Concurrent invocations run in parallel instances.
	const n = 6
	var wg sync.WaitGroup
	errs := make(chan error, n)
	start := time.Now()
	for range n {
		wg.Go(func() {
			out, err := e.invokeErr("sleepy", `{"ms":1500}`)
			if err == nil && out.FunctionError != nil {
				err = fmt.Errorf("function error %s", out.Payload)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent invoke: %v", err)
		}
	}
	if d := time.Since(start); d > n*1500*time.Millisecond*2/3 {
		t.Errorf("%d concurrent 1.5 s invocations took %v: not run in parallel", n, d)
	}

	// Reserved concurrency 1: a second concurrent call is throttled.
	if _, err := e.lc.PutFunctionConcurrency(e.ctx, &lambda.PutFunctionConcurrencyInput{
		FunctionName: aws.String("sleepy"), ReservedConcurrentExecutions: aws.Int32(1),
	}); err != nil {
		t.Fatal(err)
	}
	hold := func() chan error {
		done := make(chan error, 1)
		go func() {
			_, err := e.invokeErr("sleepy", `{"ms":2000}`)
			done <- err
		}()
		return done
	}
	done := hold()
	var (
		throttled *ltypes.TooManyRequestsException
		err       error
	)
	waitFor(t, "a throttled second call", func() bool {
		select {
		case <-done: // a probe took the slot first, or the call is over
			done = hold()
			time.Sleep(50 * time.Millisecond)
			return false
		default:
		}
		_, err = e.invokeErr("sleepy", `{}`)
		return errors.As(err, &throttled)
	})
	if throttled.Reason != ltypes.ThrottleReasonReservedFunctionConcurrentInvocationLimitExceeded || statusOf(err) != 429 {
		t.Errorf("throttle: %v (reason %s, status %d)", err, throttled.Reason, statusOf(err))
	}
	if err := <-done; err != nil {
		t.Errorf("the running call: %v", err)
	}
	// The running call has finished: its slot is free again.
	if _, err := e.invokeErr("sleepy", `{}`); err != nil {
		t.Errorf("after the running call: %v", err)
	}

	// Reserved concurrency 0 throttles everything.
	if _, err := e.lc.PutFunctionConcurrency(e.ctx, &lambda.PutFunctionConcurrencyInput{
		FunctionName: aws.String("sleepy"), ReservedConcurrentExecutions: aws.Int32(0),
	}); err != nil {
		t.Fatal(err)
	}
	_, err = e.invokeErr("sleepy", `{}`)
	if !errors.As(err, &throttled) || throttled.Reason != ltypes.ThrottleReasonReservedFunctionConcurrentInvocationLimitExceeded || statusOf(err) != 429 {
		t.Errorf("reserved 0: %v", err)
	}
}

func TestFunctionVersionsAndAliases(t *testing.T) {
	e := startFunctions(t)
	rc := runtimeCases[0]
	e.create("versioned", rc, "env", func(in *lambda.CreateFunctionInput) { in.Environment.Variables["VER"] = "one" })
	publish := func() string {
		t.Helper()
		out, err := e.lc.PublishVersion(e.ctx, &lambda.PublishVersionInput{FunctionName: aws.String("versioned")})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.Version)
	}
	v1 := publish()
	if _, err := e.lc.UpdateFunctionConfiguration(e.ctx, &lambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String("versioned"), Environment: &ltypes.Environment{Variables: map[string]string{"VER": "two"}},
	}); err != nil {
		t.Fatal(err)
	}
	v2 := publish()
	if v1 != "1" || v2 != "2" {
		t.Fatalf("versions %s, %s", v1, v2)
	}
	envOf := func(out *lambda.InvokeOutput) map[string]string {
		var m map[string]string
		json.Unmarshal(out.Payload, &m)
		return m
	}
	for q, want := range map[string]string{"": "two", "$LATEST": "two", "1": "one", "2": "two"} {
		var mods []func(*lambda.InvokeInput)
		if q != "" {
			mods = append(mods, withQualifier(q))
		}
		out := e.invoke("versioned", `{}`, mods...)
		if got := envOf(out); got["VER"] != want || got["AWS_LAMBDA_FUNCTION_VERSION"] != aws.ToString(out.ExecutedVersion) {
			t.Errorf("qualifier %q: VER=%s version %s (env says %s)", q, got["VER"], aws.ToString(out.ExecutedVersion), got["AWS_LAMBDA_FUNCTION_VERSION"])
		}
	}
	if _, err := e.lc.CreateAlias(e.ctx, &lambda.CreateAliasInput{
		FunctionName: aws.String("versioned"), Name: aws.String("live"), FunctionVersion: aws.String("1"),
		RoutingConfig: &ltypes.AliasRoutingConfiguration{AdditionalVersionWeights: map[string]float64{"2": 0.3}},
	}); err != nil {
		t.Fatal(err)
	}
	const calls = 300
	count := map[string]int{}
	for range calls {
		out := e.invoke("versioned", `{}`, withQualifier("live"))
		count[aws.ToString(out.ExecutedVersion)]++
		if v := envOf(out)["VER"]; (aws.ToString(out.ExecutedVersion) == "1") != (v == "one") {
			t.Fatalf("version %s ran with VER=%s", aws.ToString(out.ExecutedVersion), v)
		}
	}
	// 30% of 300 is 90, standard deviation about 8: 4.5 deviations either side.
	if count["1"]+count["2"] != calls || count["2"] < 55 || count["2"] > 125 {
		t.Errorf("weighted alias (30%% to version 2) ran %v", count)
	}
	t.Logf("weighted routing, 30%% to version 2 over %d calls: %v", calls, count)
	if _, err := e.lc.UpdateAlias(e.ctx, &lambda.UpdateAliasInput{
		FunctionName: aws.String("versioned"), Name: aws.String("live"), FunctionVersion: aws.String("2"),
		RoutingConfig: &ltypes.AliasRoutingConfiguration{AdditionalVersionWeights: map[string]float64{}},
	}); err != nil {
		t.Fatal(err)
	}
	for range 10 {
		if out := e.invoke("versioned", `{}`, withQualifier("live")); aws.ToString(out.ExecutedVersion) != "2" {
			t.Fatalf("alias moved to 2 ran %s", aws.ToString(out.ExecutedVersion))
		}
	}
}

// readRecord waits for the record a destination function wrote.
func (e *fnEnv) readRecord(sink, requestID string) *async.Record {
	e.t.Helper()
	path := filepath.Join(e.out, sink+"-"+requestID+".json")
	var raw []byte
	waitFor(e.t, "the record at "+sink, func() bool {
		var err error
		raw, err = os.ReadFile(path)
		return err == nil && json.Valid(raw)
	})
	var rec async.Record
	if err := json.Unmarshal(raw, &rec); err != nil {
		e.t.Fatal(err)
	}
	return &rec
}

func (e *fnEnv) eventConfig(name string, retries *int32, onSuccess, onFailure string) {
	e.t.Helper()
	in := &lambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String(name), MaximumRetryAttempts: retries}
	if onSuccess != "" || onFailure != "" {
		in.DestinationConfig = &ltypes.DestinationConfig{}
		if onSuccess != "" {
			in.DestinationConfig.OnSuccess = &ltypes.OnSuccess{Destination: aws.String(onSuccess)}
		}
		if onFailure != "" {
			in.DestinationConfig.OnFailure = &ltypes.OnFailure{Destination: aws.String(onFailure)}
		}
	}
	if _, err := e.lc.PutFunctionEventInvokeConfig(e.ctx, in); err != nil {
		e.t.Fatalf("PutFunctionEventInvokeConfig %s: %v", name, err)
	}
}

func fnARN(name string) string { return "arn:aws:lambda:us-east-1:000000000000:function:" + name }

func TestAsyncRetriesAndDestinations(t *testing.T) {
	needPython(t)
	e := startFunctions(t)
	py := runtimeCases[1]
	e.create("sink", py, "record")

	// Function errors: the default two retries, then OnFailure.
	e.create("failing", py, "fail")
	e.eventConfig("failing", nil, "", fnARN("sink"))
	id := requestID(e.invoke("failing", `{"order":7}`, asEvent))
	rec := e.readRecord("sink", id)
	attempts, _ := os.ReadFile(filepath.Join(e.out, "attempts-failing"))
	if got := strings.Fields(string(attempts)); len(got) != 3 || got[0] != id || got[1] != id || got[2] != id {
		t.Errorf("attempts (request IDs) %q, want 3 × %s", got, id)
	}
	want := async.RequestContext{RequestID: id, FunctionARN: fnARN("failing") + ":$LATEST", Condition: "RetriesExhausted", ApproximateInvokeCount: 3}
	if rec.Version != "1.0" || rec.RequestContext != want || string(rec.RequestPayload) != `{"order": 7}` && string(rec.RequestPayload) != `{"order":7}` {
		t.Errorf("failure record %+v %s", rec.RequestContext, rec.RequestPayload)
	}
	if rc := rec.ResponseContext; rc == nil || rc.StatusCode != 200 || rc.FunctionError != "Unhandled" || rc.ExecutedVersion != "$LATEST" ||
		!strings.Contains(string(rec.ResponsePayload), "failing on purpose") {
		t.Errorf("failure record response %+v %s", rc, rec.ResponsePayload)
	}

	// Success: the record, with the function's response, goes to OnSuccess.
	e.create("works", py, "echo")
	e.eventConfig("works", nil, fnARN("sink"), "")
	id = requestID(e.invoke("works", `{"x":"y"}`, asEvent))
	rec = e.readRecord("sink", id)
	if rec.RequestContext.Condition != "Success" || rec.RequestContext.ApproximateInvokeCount != 1 ||
		rec.ResponseContext == nil || rec.ResponseContext.FunctionError != "" || !strings.Contains(string(rec.ResponsePayload), `"x"`) {
		t.Errorf("success record %+v %+v %s", rec.RequestContext, rec.ResponseContext, rec.ResponsePayload)
	}

	// An S3 bucket on failure, no retries.
	e.s3.CreateBucket(e.ctx, &s3.CreateBucketInput{Bucket: aws.String("dead-letters")})
	e.create("failing-s3", py, "fail")
	e.eventConfig("failing-s3", aws.Int32(0), "", "arn:aws:s3:::dead-letters")
	id = requestID(e.invoke("failing-s3", `{"n":1}`, asEvent))
	var key string
	waitFor(t, "the record in the bucket", func() bool {
		out, err := e.s3.ListObjectsV2(e.ctx, &s3.ListObjectsV2Input{Bucket: aws.String("dead-letters"), Prefix: aws.String("aws/lambda/async/failing-s3/")})
		if err != nil || len(out.Contents) == 0 {
			return false
		}
		key = aws.ToString(out.Contents[0].Key)
		return true
	})
	if !regexp.MustCompile(`^aws/lambda/async/failing-s3/\d{4}/\d{2}/\d{2}/\d{4}-\d{2}-\d{2}T\d{2}\.\d{2}\.\d{2}-[0-9a-f-]{36}$`).MatchString(key) {
		t.Errorf("S3 record key %q", key)
	}
	obj, err := e.s3.GetObject(e.ctx, &s3.GetObjectInput{Bucket: aws.String("dead-letters"), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(obj.Body)
	obj.Body.Close()
	var srec async.Record
	if err := json.Unmarshal(body, &srec); err != nil || srec.RequestContext.RequestID != id || srec.RequestContext.ApproximateInvokeCount != 1 ||
		srec.RequestContext.Condition != "RetriesExhausted" || aws.ToString(obj.ContentType) != "application/json" {
		t.Errorf("S3 record %s (%v), content type %s", body, err, aws.ToString(obj.ContentType))
	}
	if a, _ := os.ReadFile(filepath.Join(e.out, "attempts-failing-s3")); strings.Count(string(a), "\n") != 1 {
		t.Errorf("MaximumRetryAttempts 0 ran %q", a)
	}

	// Reserved concurrency 0: straight to failure handling, never run.
	e.create("stopped", py, "fail")
	e.eventConfig("stopped", nil, "", fnARN("sink"))
	if _, err := e.lc.PutFunctionConcurrency(e.ctx, &lambda.PutFunctionConcurrencyInput{
		FunctionName: aws.String("stopped"), ReservedConcurrentExecutions: aws.Int32(0),
	}); err != nil {
		t.Fatal(err)
	}
	id = requestID(e.invoke("stopped", `{}`, asEvent))
	rec = e.readRecord("sink", id)
	if rec.RequestContext.ApproximateInvokeCount != 0 || rec.ResponseContext == nil || rec.ResponseContext.StatusCode != 429 {
		t.Errorf("reserved 0 record %+v %+v", rec.RequestContext, rec.ResponseContext)
	}
	if _, err := os.Stat(filepath.Join(e.out, "attempts-stopped")); err == nil {
		t.Error("a function with reserved concurrency 0 ran")
	}

	// Without a destination, the event lands in the failed-event list.
	e.create("lost", py, "fail")
	e.eventConfig("lost", aws.Int32(0), "", "")
	id = requestID(e.invoke("lost", `{"keep":"me"}`, asEvent))
	var failed []async.FailedEvent
	waitFor(t, "the failed-event list", func() bool {
		failed, _ = async.ReadFailed(async.Dir(e.n.DataDir), "lost")
		return len(failed) == 1
	})
	if f := failed[0]; f.RequestID != id || string(f.Record.RequestPayload) != `{"keep":"me"}` {
		t.Errorf("failed event %+v", f)
	}
}

// TestAsyncEventsSurviveRestart closes a node while accepted events wait
// (its engine runs one invocation at a time, so most are throttled and
// backing off) and expects the restarted node to deliver every one.
func TestAsyncEventsSurviveRestart(t *testing.T) {
	needPython(t)
	dir := t.TempDir()
	e := startFunctions(t, servertest.Options{DataDir: dir, Durable: true, Configure: func(c *server.Config) {
		c.Functions.MaxConcurrency = 1
	}})
	e.create("marker", runtimeCases[1], "mark")
	const events = 8
	for i := range events {
		e.invoke("marker", fmt.Sprintf(`{"id":"m%d","ms":300}`, i), asEvent)
	}
	if err := e.n.Close(); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(e.out)
	t.Logf("%d of %d events delivered before the restart", len(entries), events)
	if len(entries) == events {
		t.Fatal("every event was delivered before the restart; the test proves nothing")
	}

	startFunctions(t, servertest.Options{DataDir: dir})
	waitFor(t, "every event after the restart", func() bool {
		entries, _ := os.ReadDir(e.out)
		return len(entries) == events
	})
}

// TestBoto3FunctionWritesS3 runs a Python function that uses boto3 with
// no endpoint in its code: sluice's AWS_ENDPOINT_URL (boto3 ≥ 1.28) or its
// bootstrap's redirect (older boto3, such as Debian's 1.26) sends it to
// the node. Each host interpreter with boto3 is tried.
func TestBoto3FunctionWritesS3(t *testing.T) {
	var interps []string
	seen := map[string]bool{}
	for _, p := range []string{"python3", "/usr/bin/python3"} {
		path, err := exec.LookPath(p)
		if err != nil {
			continue
		}
		out, err := exec.Command(path, "-c", "import boto3, sys; print(sys.executable, boto3.__version__)").Output()
		if err != nil {
			continue
		}
		fields := strings.Fields(string(out))
		if len(fields) != 2 || seen[fields[0]] {
			continue
		}
		seen[fields[0]] = true
		interps = append(interps, path)
	}
	if len(interps) == 0 {
		t.Skip("no python3 with boto3: skipping the boto3 function")
	}
	for _, py := range interps {
		t.Run(strings.ReplaceAll(py, "/", "_"), func(t *testing.T) {
			e := startFunctions(t, servertest.Options{Configure: func(c *server.Config) { c.Functions.Python = py }})
			e.s3.CreateBucket(e.ctx, &s3.CreateBucketInput{Bucket: aws.String("from-functions")})
			e.create("writer", runtimeCases[1], "s3put", func(in *lambda.CreateFunctionInput) { in.Timeout = aws.Int32(30) })
			out := e.invoke("writer", `{"bucket":"from-functions","key":"hello.txt","body":"written by boto3"}`)
			if out.FunctionError != nil {
				t.Fatalf("function error: %s", out.Payload)
			}
			var res struct{ Boto3, Body string }
			json.Unmarshal(out.Payload, &res)
			t.Logf("%s: boto3 %s", py, res.Boto3)
			if res.Body != "written by boto3" {
				t.Errorf("function read back %q", res.Body)
			}
			obj, err := e.s3.GetObject(e.ctx, &s3.GetObjectInput{Bucket: aws.String("from-functions"), Key: aws.String("hello.txt")})
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(obj.Body)
			obj.Body.Close()
			if string(body) != "written by boto3" {
				t.Errorf("object %q", body)
			}
		})
	}
}
