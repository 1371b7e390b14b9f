package suites

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
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

	"github.com/sluicehq/sluice/internal/lambda/runtimeapi"
	"github.com/sluicehq/sluice/test/compat/expect"
)

// ricVersion is the release of aws-lambda-ric, AWS's Node.js runtime
// interface client (Apache-2.0, from the npm registry), that runs as the
// bootstrap of provided.al2023 functions against sluice's Runtime API.
// Its native part (aws-lambda-cpp over libcurl) does /next, /response and
// /error; its JavaScript part posts /init/error and streamed responses.
// Changing it means re-running the suite and updating
// test/compat/aws-lambda-ric.expected.
const ricVersion = "3.3.0"

// ricBuildTools are the programs the package's install scripts run to
// build its native addon (curl with autotools, aws-lambda-cpp with cmake,
// the addon with node-gyp).
var ricBuildTools = []string{"cmake", "autoconf", "automake", "libtoolize", "make", "g++", "python3"}

// TestAWSLambdaRIC runs functions whose bootstrap is aws-lambda-ric on a
// sluice node, through sluice's Lambda API, and checks each case's result
// against test/compat/aws-lambda-ric.expected. Each case creates its own
// function ("ric-<case>"), so a runtime left broken by one case cannot
// affect another.
func TestAWSLambdaRIC(t *testing.T) {
	needLong(t)
	nodeBin, err := exec.LookPath("node")
	if err != nil {
		t.Skip("aws-lambda-ric needs node and npm on PATH: node is missing")
	}
	if _, err := exec.LookPath("npm"); err != nil {
		t.Skip("aws-lambda-ric needs node and npm on PATH: npm is missing")
	}
	ric := installRIC(t, nodeBin)
	e := &ricEnv{
		t:   t,
		ctx: context.Background(),
		out: t.TempDir(),
	}
	n := startNode(t)
	e.lc = lambda.NewFromConfig(n.AWSConfig(), func(o *lambda.Options) { o.RetryMaxAttempts = 1 })
	e.zip = ricZip(t, nodeBin, filepath.Join(ric, "node_modules", "aws-lambda-ric", "bin", "index.mjs"))

	results := make(map[string]string)
	start := time.Now()
	for _, c := range ricCases {
		caseStart := time.Now()
		err := c.run(e, "ric-"+c.name)
		if err != nil {
			results[c.name] = "fail"
			t.Logf("FAIL %s (%s): %v", c.name, time.Since(caseStart).Round(time.Millisecond), err)
			continue
		}
		results[c.name] = "pass"
	}
	t.Logf("aws-lambda-ric %s: %d cases in %s", ricVersion, len(ricCases), time.Since(start).Round(time.Second))
	checkSuite(t, "aws-lambda-ric", results)
}

// installRIC installs aws-lambda-ric@ricVersion, building its native
// addon, into the tool cache and returns the npm prefix holding
// node_modules/aws-lambda-ric. A finished install is reused.
//
// npm 11 runs a dependency's install scripts only when the project's
// package.json approves them (the allowScripts field that `npm
// install-scripts approve aws-lambda-ric` writes), so the prefix gets a
// package.json with the approval before `npm install`. Older npm ignores
// the field and runs the scripts anyway.
func installRIC(t *testing.T, nodeBin string) string {
	t.Helper()
	dir := filepath.Join(toolDir(t), "npm", "aws-lambda-ric-"+ricVersion)
	if ricInstalled(dir) {
		return dir
	}
	var missing []string
	for _, tool := range ricBuildTools {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) > 0 {
		t.Skipf("aws-lambda-ric %s builds a native addon and needs %s (Debian: apt-get install cmake autoconf automake libtool g++ make python3; .ci/run installs them)",
			ricVersion, strings.Join(missing, ", "))
	}
	env := os.Environ()
	if os.Getenv("npm_config_nodedir") == "" {
		// node-gyp would download the headers of the running node; use
		// the ones installed beside it (no network but the registry).
		prefix := filepath.Dir(filepath.Dir(nodeBin))
		if !fileExists(filepath.Join(prefix, "include", "node", "node.h")) {
			if !npmConfigured("nodedir") {
				t.Skipf("aws-lambda-ric's addon build needs node's headers: %s/include/node/node.h is missing and npm has no nodedir", prefix)
			}
		} else {
			env = append(env, "npm_config_nodedir="+prefix)
		}
	}

	// Install beside the final directory and rename, so that an
	// interrupted install never looks finished.
	tmp := fmt.Sprintf("%s.tmp%d", dir, os.Getpid())
	if err := os.RemoveAll(tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	pkg := `{"private": true, "dependencies": {"aws-lambda-ric": "` + ricVersion + `"}, "allowScripts": {"aws-lambda-ric": true}}` + "\n"
	if err := os.WriteFile(filepath.Join(tmp, "package.json"), []byte(pkg), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "install", "--prefix", tmp, "--no-audit", "--no-fund", "--no-update-notifier")
	cmd.Dir = tmp
	cmd.Env = env
	began := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("npm install aws-lambda-ric@%s: %v\n%s", ricVersion, err, ricTail(string(out), 8000))
	}
	if !ricInstalled(tmp) {
		t.Fatalf("npm install aws-lambda-ric@%s did not build dist/rapid-client.node (install scripts not run?)\n%s", ricVersion, ricTail(string(out), 8000))
	}
	t.Logf("installed aws-lambda-ric %s in %s", ricVersion, time.Since(began).Round(time.Second))
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, dir); err != nil && !ricInstalled(dir) {
		t.Fatal(err)
	}
	return dir
}

// ricInstalled reports whether prefix holds a built aws-lambda-ric.
func ricInstalled(prefix string) bool {
	pkg := filepath.Join(prefix, "node_modules", "aws-lambda-ric")
	return fileExists(filepath.Join(pkg, "bin", "index.mjs")) && fileExists(filepath.Join(pkg, "dist", "rapid-client.node"))
}

// npmConfigured reports whether npm's configuration sets key.
func npmConfigured(key string) bool {
	out, err := exec.Command("npm", "config", "get", key).Output()
	v := strings.TrimSpace(string(out))
	return err == nil && v != "" && v != "undefined" && v != "null"
}

// ricTail returns the last n bytes of s.
func ricTail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// ricBootstrap is the functions' bootstrap: it starts the runtime
// interface client with the configured handler, as AWS's documentation
// for custom runtimes on provided.al2023 does. %s are the node binary and
// the client's bin/index.mjs, single-quoted.
const ricBootstrap = `#!/bin/sh
# aws-lambda-ric takes the handler as its argument and reads
# AWS_LAMBDA_RUNTIME_API; the working directory is LAMBDA_TASK_ROOT.
exec %s %s "$_HANDLER"
`

// ricIndex is the CommonJS module of most handlers.
const ricIndex = `const fs = require("fs");
const path = require("path");

let count = 0;

exports.echo = async (event) => event;
exports.nothing = async () => undefined;
exports.asyncSleep = async (event) => {
  await new Promise((resolve) => setTimeout(resolve, event.ms));
  return { slept: event.ms };
};
exports.count = async () => ++count;
exports.throws = async () => { throw new TypeError("ric failure"); };
exports.throwsSync = () => { throw new RangeError("sync failure"); };
exports.throwsString = async () => { throw "plain string"; };
exports.callback = (event, context, callback) => {
  setTimeout(() => callback(null, { via: "callback", event }), 10);
};
exports.callbackError = (event, context, callback) => callback(new Error("callback failure"));
exports.callbackNoWait = (event, context, callback) => {
  context.callbackWaitsForEmptyEventLoop = false;
  setTimeout(() => {}, 30000);
  callback(null, "early");
};
exports.uncaught = (event, context, callback) => {
  if (event.ok) return callback(null, "ok");
  setTimeout(() => { throw new Error("uncaught boom"); }, 10);
};
exports.context = async (event, context) => ({
  awsRequestId: context.awsRequestId,
  invokedFunctionArn: context.invokedFunctionArn,
  functionName: context.functionName,
  functionVersion: context.functionVersion,
  memoryLimitInMB: context.memoryLimitInMB,
  logGroupName: context.logGroupName,
  logStreamName: context.logStreamName,
  remaining: context.getRemainingTimeInMillis(),
  deadline: Date.now() + context.getRemainingTimeInMillis(),
  clientContext: context.clientContext,
  traceId: process.env._X_AMZN_TRACE_ID,
});
exports.big = async (event) => "x".repeat(event.n);
exports.sleep = async (event) => {
  await new Promise((resolve) => setTimeout(resolve, event.ms));
  return "slept";
};
exports.logs = async (event, context) => {
  console.log("ric says hello", context.awsRequestId);
  console.error("ric error line");
  return "logged";
};
exports.mark = async (event, context) => {
  fs.writeFileSync(path.join(process.env.OUT, event.id), context.awsRequestId);
};
exports.notAFunction = 42;
exports.stream = awslambda.streamifyResponse(async (event, responseStream) => {
  responseStream.setContentType("text/plain");
  for (let i = 0; i < 3; i++) {
    responseStream.write("chunk" + i + "\n");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  responseStream.end();
});
exports.streamError = awslambda.streamifyResponse(async (event, responseStream) => {
  responseStream.write("partial");
  throw new Error("stream failure");
});
`

// ricModules are the other files of the package.
var ricModules = map[string]string{
	"esm.mjs":       "export const handler = async (event) => ({ esm: true, event });\n",
	"broken.js":     "exports.handler = async (event) => { return event;\n",
	"initthrow.js":  "throw new Error(\"init boom\");\n",
	"package.json":  "{}\n",
	"README.sluice": "test functions of test/compat/suites/ric_test.go\n",
}

// ricZip builds the functions' package: the bootstrap and the handler
// modules. The client itself stays in the tool cache.
func ricZip(t *testing.T, nodeBin, entry string) []byte {
	t.Helper()
	files := map[string]string{
		"bootstrap": fmt.Sprintf(ricBootstrap, shellQuote(nodeBin), shellQuote(entry)),
		"index.js":  ricIndex,
	}
	for n, body := range ricModules {
		files[n] = body
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, n := range names {
		h := &zip.FileHeader{Name: n, Method: zip.Deflate}
		mode := fs.FileMode(0o644)
		if n == "bootstrap" {
			mode = 0o755
		}
		h.SetMode(mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(files[n])); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// shellQuote quotes s for sh.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// ricEnv is the node and client the cases use.
type ricEnv struct {
	t   *testing.T
	ctx context.Context
	lc  *lambda.Client
	zip []byte
	// out is where functions leave evidence ($OUT).
	out string
}

// ricTimeout is the functions' timeout unless a case sets one: cold
// starts of node on a loaded two-core machine take a while.
const ricTimeout = 15

// create creates a provided.al2023 function running the client with
// handler.
func (e *ricEnv) create(name, handler string, mods ...func(*lambda.CreateFunctionInput)) (*lambda.CreateFunctionOutput, error) {
	in := &lambda.CreateFunctionInput{
		FunctionName: aws.String(name),
		Runtime:      ltypes.RuntimeProvidedal2023,
		Handler:      aws.String(handler),
		Role:         aws.String("arn:aws:iam::000000000000:role/ric"),
		Code:         &ltypes.FunctionCode{ZipFile: e.zip},
		Timeout:      aws.Int32(ricTimeout),
		MemorySize:   aws.Int32(256),
		Environment:  &ltypes.Environment{Variables: map[string]string{"OUT": e.out}},
	}
	for _, m := range mods {
		m(in)
	}
	out, err := e.lc.CreateFunction(e.ctx, in)
	if err != nil {
		return nil, fmt.Errorf("CreateFunction %s: %w", name, err)
	}
	return out, nil
}

func (e *ricEnv) invoke(name, payload string, mods ...func(*lambda.InvokeInput)) (*lambda.InvokeOutput, error) {
	in := &lambda.InvokeInput{FunctionName: aws.String(name), Payload: []byte(payload)}
	for _, m := range mods {
		m(in)
	}
	out, err := e.lc.Invoke(e.ctx, in)
	if err != nil {
		return nil, fmt.Errorf("Invoke %s: %w", name, err)
	}
	return out, nil
}

// createInvoke creates a function and invokes it once.
func (e *ricEnv) createInvoke(name, handler, payload string, mods ...func(*lambda.CreateFunctionInput)) (*lambda.InvokeOutput, error) {
	if _, err := e.create(name, handler, mods...); err != nil {
		return nil, err
	}
	return e.invoke(name, payload)
}

func withMemory(mb int32) func(*lambda.CreateFunctionInput) {
	return func(in *lambda.CreateFunctionInput) { in.MemorySize = aws.Int32(mb) }
}

// ricOK checks a successful invocation and returns its payload.
func ricOK(out *lambda.InvokeOutput, err error) ([]byte, error) {
	if err != nil {
		return nil, err
	}
	if out.StatusCode != 200 || out.FunctionError != nil {
		return nil, fmt.Errorf("status %d, function error %q: %s", out.StatusCode, aws.ToString(out.FunctionError), ricTail(string(out.Payload), 600))
	}
	return out.Payload, nil
}

// ricErrorDoc is the error document a runtime reports.
type ricErrorDoc struct {
	Type    string   `json:"errorType"`
	Message string   `json:"errorMessage"`
	Trace   []string `json:"trace"`
}

// ricFailed returns a check of an invocation that ended with a function
// error of type typ whose message contains msg; the check returns the
// error document. It takes the invocation's two results, so that
// ricFailed(typ, msg)(e.invoke(...)) reads as one step.
func ricFailed(typ, msg string) func(*lambda.InvokeOutput, error) (*ricErrorDoc, error) {
	return func(out *lambda.InvokeOutput, err error) (*ricErrorDoc, error) {
		if err != nil {
			return nil, err
		}
		if out.StatusCode != 200 || aws.ToString(out.FunctionError) != "Unhandled" {
			return nil, fmt.Errorf("want a function error, got status %d, function error %q: %s", out.StatusCode, aws.ToString(out.FunctionError), ricTail(string(out.Payload), 600))
		}
		var doc ricErrorDoc
		if err := json.Unmarshal(out.Payload, &doc); err != nil {
			return nil, fmt.Errorf("error document %q: %v", ricTail(string(out.Payload), 600), err)
		}
		if doc.Type != typ || !strings.Contains(doc.Message, msg) {
			return nil, fmt.Errorf("error %s %q, want %s containing %q (%s)", doc.Type, doc.Message, typ, msg, ricTail(string(out.Payload), 600))
		}
		return &doc, nil
	}
}

// ricJSONEqual compares two JSON documents.
func ricJSONEqual(got []byte, want string) error {
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		return fmt.Errorf("payload %q: %v", ricTail(string(got), 600), err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		return err
	}
	if !reflect.DeepEqual(g, w) {
		return fmt.Errorf("payload %s, want %s", ricTail(string(got), 600), want)
	}
	return nil
}

// ricCase is one named check.
type ricCase struct {
	name string
	// run runs the case with fn as its function's name.
	run func(e *ricEnv, fn string) error
}

// ricEcho invokes handler and compares the payload with want.
func ricEcho(handler, payload, want string) func(*ricEnv, string) error {
	return func(e *ricEnv, fn string) error {
		got, err := ricOK(e.createInvoke(fn, handler, payload))
		if err != nil {
			return err
		}
		return ricJSONEqual(got, want)
	}
}

// ricInitError checks that a function whose init fails reports typ (and a
// message containing msg) on every invocation.
func ricInitError(handler, typ, msg string) func(*ricEnv, string) error {
	return func(e *ricEnv, fn string) error {
		if _, err := ricFailed(typ, msg)(e.createInvoke(fn, handler, `{}`)); err != nil {
			return err
		}
		if _, err := ricFailed(typ, msg)(e.invoke(fn, `{}`)); err != nil {
			return fmt.Errorf("second invocation: %w", err)
		}
		return nil
	}
}

var ricCases = []ricCase{
	{"echo", ricEcho("index.echo", `{"a":[1,"two"],"b":{"c":null,"d":"ünï"}}`, `{"a":[1,"two"],"b":{"c":null,"d":"ünï"}}`)},
	{"async-handler", ricEcho("index.asyncSleep", `{"ms":50}`, `{"slept":50}`)},
	{"undefined-result", ricEcho("index.nothing", `{}`, `null`)},
	{"esm-handler", ricEcho("esm.handler", `{"k":1}`, `{"esm":true,"event":{"k":1}}`)},
	{"callback", ricEcho("index.callback", `{"k":1}`, `{"via":"callback","event":{"k":1}}`)},
	{"warm-reuse", func(e *ricEnv, fn string) error {
		// The client loops on /next: the module state survives.
		if _, err := e.create(fn, "index.count"); err != nil {
			return err
		}
		for i := 1; i <= 3; i++ {
			got, err := ricOK(e.invoke(fn, `{}`))
			if err != nil {
				return err
			}
			if string(got) != fmt.Sprint(i) {
				return fmt.Errorf("invocation %d returned %s: not the same instance", i, got)
			}
		}
		return nil
	}},
	{"callback-no-wait", func(e *ricEnv, fn string) error {
		// callbackWaitsForEmptyEventLoop=false: the response goes out
		// with a 30 s timer pending, and the next /next follows.
		if _, err := e.create(fn, "index.callbackNoWait"); err != nil {
			return err
		}
		for i := range 2 {
			began := time.Now()
			got, err := ricOK(e.invoke(fn, `{}`))
			if err != nil {
				return err
			}
			if string(got) != `"early"` || time.Since(began) > 10*time.Second {
				return fmt.Errorf("invocation %d: %s after %s", i+1, got, time.Since(began))
			}
		}
		return nil
	}},
	{"error-async-throw", func(e *ricEnv, fn string) error {
		doc, err := ricFailed("TypeError", "ric failure")(e.createInvoke(fn, "index.throws", `{}`))
		if err != nil {
			return err
		}
		if len(doc.Trace) < 2 || doc.Trace[0] != "TypeError: ric failure" {
			return fmt.Errorf("trace %q", doc.Trace)
		}
		return nil
	}},
	{"error-sync-throw", func(e *ricEnv, fn string) error {
		doc, err := ricFailed("RangeError", "sync failure")(e.createInvoke(fn, "index.throwsSync", `{}`))
		if err == nil && (len(doc.Trace) == 0 || doc.Trace[0] != "RangeError: sync failure") {
			err = fmt.Errorf("trace %q", doc.Trace)
		}
		return err
	}},
	{"error-non-error-value", func(e *ricEnv, fn string) error {
		doc, err := ricFailed("string", "plain string")(e.createInvoke(fn, "index.throwsString", `{}`))
		if err == nil && (doc.Trace == nil || len(doc.Trace) != 0) {
			err = fmt.Errorf("trace %q, want []", doc.Trace)
		}
		return err
	}},
	{"error-callback", func(e *ricEnv, fn string) error {
		_, err := ricFailed("Error", "callback failure")(e.createInvoke(fn, "index.callbackError", `{}`))
		return err
	}},
	{"uncaught-exception", func(e *ricEnv, fn string) error {
		// The client reports the error, then exits (129); the next
		// invocation gets a new instance.
		if _, err := ricFailed("Error", "uncaught boom")(e.createInvoke(fn, "index.uncaught", `{}`)); err != nil {
			return err
		}
		got, err := ricOK(e.invoke(fn, `{"ok":true}`))
		if err != nil {
			return fmt.Errorf("after the exit: %w", err)
		}
		if string(got) != `"ok"` {
			return fmt.Errorf("after the exit: %s", got)
		}
		return nil
	}},
	{"context-fields", ricContextFields},
	{"context-alias-arn", func(e *ricEnv, fn string) error {
		created, err := e.create(fn, "index.context")
		if err != nil {
			return err
		}
		v, err := e.lc.PublishVersion(e.ctx, &lambda.PublishVersionInput{FunctionName: aws.String(fn)})
		if err != nil {
			return err
		}
		if _, err := e.lc.CreateAlias(e.ctx, &lambda.CreateAliasInput{FunctionName: aws.String(fn), Name: aws.String("live"), FunctionVersion: v.Version}); err != nil {
			return err
		}
		got, err := ricOK(e.invoke(fn, `{}`, func(in *lambda.InvokeInput) { in.Qualifier = aws.String("live") }))
		if err != nil {
			return err
		}
		var c ricContext
		if err := json.Unmarshal(got, &c); err != nil {
			return err
		}
		if want := aws.ToString(created.FunctionArn) + ":live"; c.InvokedFunctionArn != want || c.FunctionVersion != aws.ToString(v.Version) {
			return fmt.Errorf("invokedFunctionArn %q version %q, want %q and %q", c.InvokedFunctionArn, c.FunctionVersion, want, aws.ToString(v.Version))
		}
		return nil
	}},
	{"client-context", func(e *ricEnv, fn string) error {
		if _, err := e.create(fn, "index.context"); err != nil {
			return err
		}
		cc := `{"client":{"installation_id":"i-1","app_title":"ric"},"custom":{"greeting":"hej"},"env":{"platform":"sluice"}}`
		got, err := ricOK(e.invoke(fn, `{}`, func(in *lambda.InvokeInput) {
			in.ClientContext = aws.String(base64.StdEncoding.EncodeToString([]byte(cc)))
		}))
		if err != nil {
			return err
		}
		var c ricContext
		if err := json.Unmarshal(got, &c); err != nil {
			return err
		}
		if err := ricJSONEqual(c.ClientContext, cc); err != nil {
			return fmt.Errorf("clientContext: %w", err)
		}
		// Without the header, the context has none.
		if got, err = ricOK(e.invoke(fn, `{}`)); err != nil {
			return err
		}
		c = ricContext{}
		if err := json.Unmarshal(got, &c); err != nil {
			return err
		}
		if c.ClientContext != nil {
			return fmt.Errorf("clientContext without the header: %s", c.ClientContext)
		}
		return nil
	}},
	{"logs", func(e *ricEnv, fn string) error {
		if _, err := e.create(fn, "index.logs"); err != nil {
			return err
		}
		out, err := e.invoke(fn, `{}`, func(in *lambda.InvokeInput) { in.LogType = ltypes.LogTypeTail })
		if _, err := ricOK(out, err); err != nil {
			return err
		}
		id, _ := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
		tail, err := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
		if err != nil {
			return fmt.Errorf("X-Amz-Log-Result: %v", err)
		}
		for _, want := range []string{
			"START RequestId: " + id + " Version: $LATEST",
			"\t" + id + "\tINFO\tric says hello " + id,
			"\t" + id + "\tERROR\tric error line",
			"END RequestId: " + id,
			"REPORT RequestId: " + id + "\tDuration: ",
		} {
			if !bytes.Contains(tail, []byte(want)) {
				return fmt.Errorf("log tail lacks %q:\n%s", want, tail)
			}
		}
		return nil
	}},
	{"event-large", func(e *ricEnv, fn string) error {
		// A 5 MiB event through /next (the client reads it with curl).
		payload := `{"s":"` + strings.Repeat("e", 5<<20) + `"}`
		got, err := ricOK(e.createInvoke(fn, "index.echo", payload, withMemory(1024)))
		if err != nil {
			return err
		}
		if string(got) != payload {
			return fmt.Errorf("echoed %d bytes, want the %d sent", len(got), len(payload))
		}
		return nil
	}},
	{"response-at-limit", func(e *ricEnv, fn string) error {
		// A JSON string of exactly MaxResponseSize bytes.
		n := runtimeapi.MaxResponseSize - 2
		got, err := ricOK(e.createInvoke(fn, "index.big", fmt.Sprintf(`{"n":%d}`, n), withMemory(1024)))
		if err != nil {
			return err
		}
		if len(got) != runtimeapi.MaxResponseSize {
			return fmt.Errorf("response of %d bytes, want %d", len(got), runtimeapi.MaxResponseSize)
		}
		return nil
	}},
	{"response-too-large", func(e *ricEnv, fn string) error {
		n := runtimeapi.MaxResponseSize - 1
		if _, err := ricFailed("Function.ResponseSizeTooLarge", "exceeded maximum allowed payload size")(e.createInvoke(fn, "index.big", fmt.Sprintf(`{"n":%d}`, n), withMemory(1024))); err != nil {
			return err
		}
		got, err := ricOK(e.invoke(fn, `{"n":3}`))
		if err != nil || string(got) != `"xxx"` {
			return fmt.Errorf("after the refused response: %s %v", got, err)
		}
		return nil
	}},
	{"init-import-module-error", ricInitError("missing.handler", "Runtime.ImportModuleError", "Cannot find module 'missing'")},
	{"init-handler-not-found", ricInitError("index.nope", "Runtime.HandlerNotFound", "index.nope is undefined or not exported")},
	{"init-handler-not-a-function", ricInitError("index.notAFunction", "Runtime.HandlerNotFound", "index.notAFunction is not a function")},
	{"init-malformed-handler", ricInitError("nodot", "Runtime.MalformedHandlerName", "Bad handler")},
	{"init-syntax-error", ricInitError("broken.handler", "Runtime.UserCodeSyntaxError", "SyntaxError")},
	{"init-module-throws", ricInitError("initthrow.handler", "Error", "init boom")},
	{"timeout", func(e *ricEnv, fn string) error {
		out, err := e.createInvoke(fn, "index.sleep", `{"ms":4000}`, func(in *lambda.CreateFunctionInput) { in.Timeout = aws.Int32(1) })
		if err != nil {
			return err
		}
		if aws.ToString(out.FunctionError) != "Unhandled" || !regexp.MustCompile(`^\{"errorMessage":"\S+ \S+ Task timed out after 1\.\d\d seconds"\}$`).Match(out.Payload) {
			return fmt.Errorf("timeout: function error %q: %s", aws.ToString(out.FunctionError), out.Payload)
		}
		got, err := ricOK(e.invoke(fn, `{"ms":10}`))
		if err != nil || string(got) != `"slept"` {
			return fmt.Errorf("after the timeout: %s %v", got, err)
		}
		return nil
	}},
	{"event-invocation", func(e *ricEnv, fn string) error {
		if _, err := e.create(fn, "index.mark"); err != nil {
			return err
		}
		out, err := e.invoke(fn, `{"id":"event-invocation"}`, func(in *lambda.InvokeInput) { in.InvocationType = ltypes.InvocationTypeEvent })
		if err != nil {
			return err
		}
		if out.StatusCode != 202 {
			return fmt.Errorf("status %d", out.StatusCode)
		}
		id, _ := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
		deadline := time.Now().Add(30 * time.Second)
		for {
			b, err := os.ReadFile(filepath.Join(e.out, "event-invocation"))
			if err == nil && len(b) > 0 {
				if string(b) != id {
					return fmt.Errorf("awsRequestId %q, want the Invoke's %q", b, id)
				}
				return nil
			}
			if time.Now().After(deadline) {
				return errors.New("the function did not run within 30 s")
			}
			time.Sleep(50 * time.Millisecond)
		}
	}},
	{"concurrent", func(e *ricEnv, fn string) error {
		if _, err := e.create(fn, "index.asyncSleep"); err != nil {
			return err
		}
		const n = 3
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got, err := ricOK(e.invoke(fn, `{"ms":300}`))
				if err == nil {
					err = ricJSONEqual(got, `{"slept":300}`)
				}
				errs[i] = err
			}()
		}
		wg.Wait()
		return errors.Join(errs...)
	}},
	{"stream", func(e *ricEnv, fn string) error {
		// Lambda-Runtime-Function-Response-Mode: streaming, chunked, with
		// the error trailers declared; Invoke returns the whole body.
		got, err := ricOK(e.createInvoke(fn, "index.stream", `{}`))
		if err != nil {
			return err
		}
		if want := "chunk0\nchunk1\nchunk2\n"; string(got) != want {
			return fmt.Errorf("streamed response %q, want %q", got, want)
		}
		return nil
	}},
	{"stream-error", func(e *ricEnv, fn string) error {
		_, err := ricFailed("Error", "stream failure")(e.createInvoke(fn, "index.streamError", `{}`))
		return err
	}},
}

// ricContext is what index.context returns.
type ricContext struct {
	AWSRequestID       string          `json:"awsRequestId"`
	InvokedFunctionArn string          `json:"invokedFunctionArn"`
	FunctionName       string          `json:"functionName"`
	FunctionVersion    string          `json:"functionVersion"`
	MemoryLimitInMB    string          `json:"memoryLimitInMB"`
	LogGroupName       string          `json:"logGroupName"`
	LogStreamName      string          `json:"logStreamName"`
	Remaining          int64           `json:"remaining"`
	Deadline           int64           `json:"deadline"`
	ClientContext      json.RawMessage `json:"clientContext"`
	TraceID            string          `json:"traceId"`
}

// ricContextFields checks the context object the client builds from the
// /next headers and the environment.
func ricContextFields(e *ricEnv, fn string) error {
	created, err := e.create(fn, "index.context")
	if err != nil {
		return err
	}
	began := time.Now()
	out, err := e.invoke(fn, `{}`)
	ended := time.Now()
	got, err := ricOK(out, err)
	if err != nil {
		return err
	}
	var c ricContext
	if err := json.Unmarshal(got, &c); err != nil {
		return err
	}
	id, _ := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
	var errs []error
	check := func(what string, ok bool, got any) {
		if !ok {
			errs = append(errs, fmt.Errorf("%s: %v", what, got))
		}
	}
	check("awsRequestId is the Invoke's request ID", c.AWSRequestID == id && id != "", c.AWSRequestID+" vs "+id)
	check("invokedFunctionArn is the function's ARN", c.InvokedFunctionArn == aws.ToString(created.FunctionArn), c.InvokedFunctionArn)
	check("functionName", c.FunctionName == fn, c.FunctionName)
	check("functionVersion", c.FunctionVersion == "$LATEST", c.FunctionVersion)
	check("memoryLimitInMB", c.MemoryLimitInMB == "256", c.MemoryLimitInMB)
	check("logGroupName", c.LogGroupName == "/aws/lambda/"+fn, c.LogGroupName)
	check("logStreamName", regexp.MustCompile(`^\d{4}/\d\d/\d\d/\[\$LATEST\]\w+$`).MatchString(c.LogStreamName), c.LogStreamName)
	check("getRemainingTimeInMillis within the timeout", c.Remaining > 0 && c.Remaining <= ricTimeout*1000, c.Remaining)
	// The deadline is the invocation's start plus the timeout.
	lo, hi := began.Add(ricTimeout*time.Second-time.Second).UnixMilli(), ended.Add(ricTimeout*time.Second+time.Second).UnixMilli()
	check("deadline is the start plus the timeout", c.Deadline >= lo && c.Deadline <= hi, fmt.Sprintf("%d not in [%d, %d]", c.Deadline, lo, hi))
	check("_X_AMZN_TRACE_ID", strings.HasPrefix(c.TraceID, "Root=1-"), c.TraceID)
	return errors.Join(errs...)
}

// TestRICHelpers checks the suite's own pieces that need no node.
func TestRICHelpers(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/usr/bin/node", `'/usr/bin/node'`},
		{"/a b/it's", `'/a b/it'\''s'`},
	} {
		if got := shellQuote(tc.in); got != tc.want {
			t.Errorf("shellQuote(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
	seen := make(map[string]bool)
	for _, c := range ricCases {
		if seen[c.name] || c.run == nil || !regexp.MustCompile(`^[a-z0-9-]+$`).MatchString(c.name) {
			t.Errorf("case %q: duplicate, unnamed function or bad name", c.name)
		}
		seen[c.name] = true
	}
	exp, err := expect.ReadExpected(filepath.Join("..", "aws-lambda-ric.expected"))
	if err != nil {
		t.Fatal(err)
	}
	for name := range exp {
		if !seen[name] {
			t.Errorf("aws-lambda-ric.expected lists %q, which is no case", name)
		}
	}
	for name := range seen {
		if _, ok := exp[name]; !ok {
			t.Errorf("case %q is missing from aws-lambda-ric.expected", name)
		}
	}
}
