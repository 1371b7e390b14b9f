package engine

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/lambda"
)

var (
	reportRE  = regexp.MustCompile(`(?m)^REPORT RequestId: ([0-9a-f-]+)\tDuration: \d+\.\d\d ms\tBilled Duration: \d+ ms\tMemory Size: 128 MB\tMax Memory Used: \d+ MB\t(Init Duration: \d+\.\d\d ms\t)?$`)
	timeoutRE = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z [0-9a-f-]+ Task timed out after 0\.\d\d seconds$`)
)

func TestGoFunctions(t *testing.T) {
	zip := goFunc(t)
	e := newEngine(t, Config{EndpointURL: "http://127.0.0.1:1", Region: "eu-west-1"})
	tests := []struct {
		name    string
		handler string
		payload string
		timeout time.Duration
		check   func(t *testing.T, res *lambda.Result)
	}{
		{"noop", "noop", `{}`, 0, func(t *testing.T, res *lambda.Result) {
			wantOK(t, res)
			if string(res.Payload) != "null" {
				t.Errorf("payload %s", res.Payload)
			}
		}},
		{"echo", "echo", `{"a":[1,2,"x"]}`, 0, func(t *testing.T, res *lambda.Result) {
			wantOK(t, res)
			if string(res.Payload) != `{"a":[1,2,"x"]}` {
				t.Errorf("payload %s", res.Payload)
			}
		}},
		{"empty payload is an empty object", "echo", ``, 0, func(t *testing.T, res *lambda.Result) {
			if string(res.Payload) != `{}` {
				t.Errorf("payload %s", res.Payload)
			}
		}},
		{"function error", "fail", `{}`, 0, func(t *testing.T, res *lambda.Result) {
			d := decodeErr(t, res)
			if d.Type != "errorString" || d.Message != "go boom" {
				t.Errorf("error %+v", d)
			}
		}},
		{"stdout and stderr in the log", "print", `{}`, 0, func(t *testing.T, res *lambda.Result) {
			wantOK(t, res)
			if !strings.Contains(string(res.Log), "to stdout\nto stderr\nEND RequestId: ") {
				t.Errorf("log:\n%s", res.Log)
			}
		}},
		{"crash", "crash", `{}`, 0, func(t *testing.T, res *lambda.Result) {
			d := decodeErr(t, res)
			if d.Type != "Runtime.ExitError" || !strings.HasSuffix(d.Message, " Error: Runtime exited with error: exit status 3") ||
				!strings.HasPrefix(d.Message, "RequestId: ") {
				t.Errorf("error %+v", d)
			}
			if !strings.Contains(string(res.Log), "about to exit\nRequestId: ") || !strings.Contains(string(res.Log), "\nRuntime.ExitError\nEND RequestId:") {
				t.Errorf("log:\n%s", res.Log)
			}
		}},
		{"timeout", "sleep", `{"ms":5000}`, 300 * time.Millisecond, func(t *testing.T, res *lambda.Result) {
			var doc map[string]string
			if err := json.Unmarshal(res.Payload, &doc); err != nil || res.FunctionError != "Unhandled" || len(doc) != 1 {
				t.Fatalf("payload %s (%q): %v", res.Payload, res.FunctionError, err)
			}
			if !timeoutRE.MatchString(doc["errorMessage"]) {
				t.Errorf("errorMessage %q", doc["errorMessage"])
			}
			lines := strings.Split(strings.TrimSuffix(string(res.Log), "\n"), "\n")
			if last := lines[len(lines)-1]; last != doc["errorMessage"] {
				t.Errorf("last log line %q, want the timeout line", last)
			}
			if res.Duration < 300*time.Millisecond || res.Duration > 2*time.Second {
				t.Errorf("duration %v", res.Duration)
			}
		}},
		{"response too large", "big", `{}`, 0, func(t *testing.T, res *lambda.Result) {
			d := decodeErr(t, res)
			if d.Type != "Function.ResponseSizeTooLarge" || d.Message != "Response payload size (7340034 bytes) exceeded maximum allowed payload size (6291556 bytes)." {
				t.Errorf("error %+v", d)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := deploy("go-"+strings.ReplaceAll(tt.name, " ", "-"), "provided.al2023", tt.handler, zip)
			if tt.timeout > 0 {
				d.Timeout = tt.timeout
			}
			res := invoke(t, e, d, tt.payload)
			tt.check(t, res)
			log := string(res.Log)
			if !strings.Contains(log, "START RequestId: ") || !strings.Contains(log, " Version: $LATEST\n") || !reportRE.MatchString(log) {
				t.Errorf("log framing:\n%s", log)
			}
			if res.ExecutedVersion != "$LATEST" || res.InitDuration <= 0 {
				t.Errorf("version %q init %v", res.ExecutedVersion, res.InitDuration)
			}
			stored, err := e.Logs().Read(d.FunctionName)
			if err != nil || !strings.Contains(string(stored), log) {
				t.Errorf("stored log %q (%v), want it to hold the result's", stored, err)
			}
		})
	}
}

func TestCPUShare(t *testing.T) {
	tests := []struct{ memoryMB, host, want int }{
		{128, 2, 1},
		{1769, 8, 1},
		{1770, 8, 2},
		{3008, 8, 2},
		{10240, 8, 6},
		{10240, 2, 2},
		{10240, 0, 1},
	}
	for _, tt := range tests {
		if got := cpuShare(tt.memoryMB, tt.host); got != tt.want {
			t.Errorf("cpuShare(%d, %d) = %d, want %d", tt.memoryMB, tt.host, got, tt.want)
		}
	}
}

func TestGoEnvironmentAndContext(t *testing.T) {
	zip := goFunc(t)
	e := newEngine(t, Config{EndpointURL: "http://127.0.0.1:9999", Region: "eu-west-1"})
	t.Setenv("SLUICE_SERVER_SECRET", "do-not-leak")
	d := deploy("envfn", "provided.al2", "env", zip)
	d.Environment = map[string]string{"USER_VAR": "v1", "AWS_REGION": "ignored", "LANG": "C.UTF-8"}
	d.Credentials = lambda.Credentials{AccessKeyID: "AKIAFUNC", SecretAccessKey: "secret", SessionToken: "tok"}
	d.MemoryMB = 256
	res := invoke(t, e, d, `{}`)
	wantOK(t, res)
	var env map[string]string
	if err := json.Unmarshal(res.Payload, &env); err != nil {
		t.Fatal(err)
	}
	codeDir := filepath.Join(e.cfg.DataDir, "lambda", "code", d.CodeSHA256)
	want := map[string]string{
		"_HANDLER":                        "env",
		"LAMBDA_TASK_ROOT":                codeDir,
		"AWS_LAMBDA_FUNCTION_NAME":        "envfn",
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/envfn",
		"AWS_LAMBDA_INITIALIZATION_TYPE":  "on-demand",
		"AWS_REGION":                      "eu-west-1",
		"AWS_DEFAULT_REGION":              "eu-west-1",
		"AWS_ENDPOINT_URL":                "http://127.0.0.1:9999",
		"AWS_ACCESS_KEY_ID":               "AKIAFUNC",
		"AWS_SECRET_ACCESS_KEY":           "secret",
		"AWS_SESSION_TOKEN":               "tok",
		"TZ":                              ":UTC",
		"LANG":                            "C.UTF-8",
		"USER_VAR":                        "v1",
		"PATH":                            "/usr/local/bin:/usr/bin/:/bin:/opt/bin",
		"GOMAXPROCS":                      "1", // 256 MB: a fraction of a vCPU
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s = %q, want %q", k, env[k], v)
		}
	}
	for _, k := range []string{"SLUICE_SERVER_SECRET", "AWS_EXECUTION_ENV", "AWS_CA_BUNDLE"} {
		if v, ok := env[k]; ok {
			t.Errorf("%s = %q leaked into the function", k, v)
		}
	}
	if !strings.HasPrefix(env["AWS_LAMBDA_RUNTIME_API"], "127.0.0.1:") {
		t.Errorf("AWS_LAMBDA_RUNTIME_API %q", env["AWS_LAMBDA_RUNTIME_API"])
	}
	if !regexp.MustCompile(`^\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{32}$`).MatchString(env["AWS_LAMBDA_LOG_STREAM_NAME"]) {
		t.Errorf("log stream %q", env["AWS_LAMBDA_LOG_STREAM_NAME"])
	}
	tmp := env["TMPDIR"]
	if tmp == "" || env["HOME"] != tmp || !strings.HasPrefix(tmp, filepath.Join(e.cfg.DataDir, "lambda", "tmp")) {
		t.Errorf("TMPDIR %q HOME %q", tmp, env["HOME"])
	}

	// The context: request ID, invoked ARN, client context, deadline.
	d2 := deploy("ctxfn", "provided", "context", zip)
	cc := base64.StdEncoding.EncodeToString([]byte(`{"custom":{"k":"v"},"client":{},"env":{}}`))
	res, err := e.Invoke(context.Background(), d2, &lambda.Invocation{
		RequestID: "11111111-2222-4333-8444-555555555555", InvokedARN: d2.FunctionARN + ":live",
		ClientContext: cc, Payload: []byte(`{}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	wantOK(t, res)
	var c map[string]any
	_ = json.Unmarshal(res.Payload, &c)
	if c["requestId"] != "11111111-2222-4333-8444-555555555555" || c["arn"] != d2.FunctionARN+":live" || c["name"] != "ctxfn" {
		t.Errorf("context %v", c)
	}
	if m, _ := c["custom"].(map[string]any); m["k"] != "v" {
		t.Errorf("client context %v", c["custom"])
	}
	if ms, _ := c["remainingMs"].(float64); ms < 2000 || ms > 3000 {
		t.Errorf("remaining %v ms of a 3 s timeout", c["remainingMs"])
	}
	if tr, _ := c["trace"].(string); !strings.HasPrefix(tr, "Root=1-") {
		t.Errorf("trace %q", tr)
	}
}

func pidOf(t *testing.T, res *lambda.Result) int {
	t.Helper()
	wantOK(t, res)
	pid, err := strconv.Atoi(string(res.Payload))
	if err != nil {
		t.Fatalf("pid payload %s", res.Payload)
	}
	return pid
}

func TestWarmReuseAndFreshAfterFailure(t *testing.T) {
	zip := goFunc(t)
	e := newEngine(t)
	d := deploy("reuse", "provided.al2023", "pid", zip)
	first := invoke(t, e, d, `{}`)
	pid := pidOf(t, first)
	second := invoke(t, e, d, `{}`)
	if got := pidOf(t, second); got != pid {
		t.Errorf("warm invoke ran in pid %d, want %d", got, pid)
	}
	if second.InitDuration != 0 || strings.Contains(string(second.Log), "Init Duration") {
		t.Errorf("warm invoke reported init %v", second.InitDuration)
	}
	if first.InitDuration == 0 || !strings.Contains(string(first.Log), "\tInit Duration: ") {
		t.Errorf("cold invoke reported no init:\n%s", first.Log)
	}

	// A new revision gets a new instance; the old one is stopped.
	d2 := *d
	d2.Revision = "r2"
	if got := pidOf(t, invoke(t, e, &d2, `{}`)); got == pid {
		t.Errorf("new revision reused pid %d", pid)
	}
	eventually(t, "old revision's process to stop", func() bool { return !alive(pid) })

	// A crash or a timeout leaves a fresh instance for the next invoke.
	crash := deploy("crashy", "provided.al2023", "crash", zip)
	if d := decodeErr(t, invoke(t, e, crash, `{}`)); d.Type != "Runtime.ExitError" {
		t.Errorf("crash: %+v", d)
	}
	if res := invoke(t, e, crash, `{}`); res.InitDuration == 0 {
		t.Errorf("invoke after a crash was warm")
	}
	slow := deploy("slow", "provided.al2023", "sleep", zip)
	slow.Timeout = 200 * time.Millisecond
	invoke(t, e, slow, `{"ms":1000}`)
	res := invoke(t, e, slow, `{"ms":1}`)
	wantOK(t, res)
	if res.InitDuration == 0 {
		t.Errorf("invoke after a timeout was warm")
	}
}

func TestConcurrencyAndThrottling(t *testing.T) {
	zip := goFunc(t)
	e := newEngine(t, Config{MaxConcurrency: 4})
	sleep := func(name string, reserved *int) *lambda.Deployment {
		d := deploy(name, "provided.al2023", "sleep", zip)
		d.ReservedConcurrency = reserved
		return d
	}
	two, zero := 2, 0

	// Reserved concurrency 0: always throttled.
	_, err := e.Invoke(context.Background(), sleep("off", &zero), &lambda.Invocation{Payload: []byte(`{}`)})
	var te *lambda.ThrottleError
	if !errors.As(err, &te) || te.Reason != lambda.ReservedFunctionConcurrentInvocationLimitExceeded || !errors.Is(err, lambda.ErrThrottled) {
		t.Fatalf("reserved 0: %v", err)
	}

	// N parallel invokes start N instances, up to the reserved limit.
	d := sleep("res2", &two)
	var wg sync.WaitGroup
	pids := make(chan string, 2)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := e.Invoke(context.Background(), d, &lambda.Invocation{Payload: []byte(`{"ms":600}`)})
			if err != nil {
				t.Error(err)
				return
			}
			pids <- string(res.Log)
		}()
	}
	eventually(t, "two busy invocations", func() bool {
		e.mu.Lock()
		defer e.mu.Unlock()
		return e.fns["res2"] != nil && e.fns["res2"].busy == 2
	})
	_, err = e.Invoke(context.Background(), d, &lambda.Invocation{Payload: []byte(`{}`)})
	if !errors.As(err, &te) || te.Reason != lambda.ReservedFunctionConcurrentInvocationLimitExceeded {
		t.Errorf("third invoke of a function reserved at 2: %v", err)
	}

	// The global limit (4): two more fit, the fifth is throttled.
	other := sleep("other", nil)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := e.Invoke(context.Background(), other, &lambda.Invocation{Payload: []byte(`{"ms":600}`)}); err != nil {
				t.Error(err)
			}
		}()
	}
	eventually(t, "four busy invocations", func() bool {
		e.mu.Lock()
		defer e.mu.Unlock()
		return e.busy == 4
	})
	_, err = e.Invoke(context.Background(), other, &lambda.Invocation{Payload: []byte(`{}`)})
	if !errors.As(err, &te) || te.Reason != lambda.ConcurrentInvocationLimitExceeded {
		t.Errorf("fifth invoke: %v", err)
	}
	wg.Wait()
	close(pids)
	e.mu.Lock()
	n := len(e.fns["res2"].all)
	e.mu.Unlock()
	if n != 2 {
		t.Errorf("res2 has %d instances, want 2", n)
	}
}

func TestRetireAndIdleReap(t *testing.T) {
	zip := goFunc(t)
	e := newEngine(t, Config{IdleTimeout: 300 * time.Millisecond})
	d := deploy("retired", "provided.al2023", "pid", zip)
	pid := pidOf(t, invoke(t, e, d, `{}`))
	e.Retire("retired")
	if alive(pid) {
		t.Errorf("process %d alive after Retire", pid)
	}
	if got := pidOf(t, invoke(t, e, d, `{}`)); got == pid {
		t.Errorf("invoke after Retire reused the instance")
	}

	idle := deploy("idle", "provided.al2023", "pid", zip)
	pid = pidOf(t, invoke(t, e, idle, `{}`))
	eventually(t, "idle instance to be reaped", func() bool { return !alive(pid) })
	eventually(t, "instance temp dirs to be removed", func() bool {
		entries, _ := os.ReadDir(filepath.Join(e.cfg.DataDir, "lambda", "tmp"))
		return len(entries) == 0
	})
}

func TestCallerGoesAway(t *testing.T) {
	zip := goFunc(t)
	e := newEngine(t)
	d := deploy("detached", "provided.al2023", "sleep", zip)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := e.Invoke(ctx, d, &lambda.Invocation{Payload: []byte(`{"ms":400}`)})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v", err)
	}
	// The invocation runs on and is logged.
	eventually(t, "the detached invocation's REPORT", func() bool {
		b, _ := e.Logs().Read("detached")
		return strings.Contains(string(b), "REPORT RequestId:")
	})
	wantOK(t, invoke(t, e, d, `{"ms":1}`))
}

func TestSetupErrors(t *testing.T) {
	e := newEngine(t, Config{Python: "/nonexistent/python3"})
	tests := []struct {
		name     string
		d        *lambda.Deployment
		code     string // SetupError code, or "" for a function error
		errType  string
		contains string
	}{
		{"unknown runtime", deploy("u", "cobol85", "x", zipOf(t, map[string]zfile{"a": {body: "x"}})), "InvalidRuntimeException", "", "cobol85"},
		{"no interpreter", deploy("p", "python3.12", "app.handler", zipOf(t, map[string]zfile{"app.py": {body: "def handler(e, c): pass"}})), "InvalidRuntimeException", "", "/nonexistent/python3"},
		{"missing bootstrap", deploy("b", "provided.al2023", "x", zipOf(t, map[string]zfile{"main": {body: "x", mode: 0o755}})), "", "Runtime.InvalidEntrypoint", "Couldn't find valid bootstrap(s): ["},
		{"bootstrap not executable", deploy("nx", "provided.al2023", "x", zipOf(t, map[string]zfile{"bootstrap": {body: "#!/bin/sh\n"}})), "", "Runtime.InvalidEntrypoint", "permission denied"},
		{"bootstrap exits during init", deploy("ex", "provided.al2023", "x", zipOf(t, map[string]zfile{"bootstrap": {body: "#!/bin/sh\necho bye\nexit 4\n", mode: 0o755}})), "", "Runtime.ExitError", "Runtime exited with error: exit status 4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := e.Invoke(context.Background(), tt.d, &lambda.Invocation{Payload: []byte(`{}`)})
			if tt.code != "" {
				var se *lambda.SetupError
				if !errors.As(err, &se) || se.Code != tt.code || !strings.Contains(se.Message, tt.contains) {
					t.Fatalf("err %v, want SetupError %s containing %q", err, tt.code, tt.contains)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			d := decodeErr(t, res)
			if d.Type != tt.errType || !strings.Contains(d.Message, tt.contains) {
				t.Errorf("error %+v", d)
			}
			if !strings.Contains(string(res.Log), "END RequestId: ") {
				t.Errorf("log:\n%s", res.Log)
			}
		})
	}
	e.mu.Lock()
	live, busy := e.live, e.busy
	e.mu.Unlock()
	if live != 0 || busy != 0 {
		t.Errorf("after failed starts: live %d busy %d", live, busy)
	}
}

// TestShellBootstrap runs the custom runtime of AWS's tutorial: a shell
// loop with curl, parsing the request ID out of the /next headers.
func TestShellBootstrap(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed")
	}
	bootstrap := `#!/bin/sh
set -eu
. "$LAMBDA_TASK_ROOT/$(echo $_HANDLER | cut -d. -f1).sh"
while true; do
  HEADERS="$(mktemp)"
  EVENT_DATA=$(curl -sS -LD "$HEADERS" "http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation/next")
  REQUEST_ID=$(grep -Fi Lambda-Runtime-Aws-Request-Id "$HEADERS" | tr -d '[:space:]' | cut -d: -f2)
  RESPONSE=$($(echo "$_HANDLER" | cut -d. -f2) "$EVENT_DATA")
  curl -sS "http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation/$REQUEST_ID/response" -d "$RESPONSE" >/dev/null
done
`
	fn := "handler () {\n  echo \"handled: $1\" 1>&2\n  echo \"{\\\"echo\\\": $1}\"\n}\n"
	e := newEngine(t)
	d := deploy("shell", "provided.al2", "function.handler", zipOf(t, map[string]zfile{
		"bootstrap":   {body: bootstrap, mode: 0o755},
		"function.sh": {body: fn},
	}))
	for i := range 2 {
		res := invoke(t, e, d, `{"n":`+strconv.Itoa(i)+`}`)
		wantOK(t, res)
		if want := `{"echo": {"n":` + strconv.Itoa(i) + `}}`; string(res.Payload) != want {
			t.Errorf("payload %s, want %s", res.Payload, want)
		}
		if !strings.Contains(string(res.Log), `handled: {"n":`+strconv.Itoa(i)+"}\n") {
			t.Errorf("log:\n%s", res.Log)
		}
	}
}

// TestExitAfterError is a runtime client that reports an uncaught error
// and then exits (as aws-lambda-ric does, with 129) while the engine
// already holds it as idle: the next invocation, never taken by the dying
// process, runs on a fresh instance instead of failing with its exit.
func TestExitAfterError(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed")
	}
	bootstrap := `#!/bin/sh
set -eu
api="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation"
while true; do
  HEADERS="$(mktemp)"
  EVENT_DATA=$(curl -sS -LD "$HEADERS" "$api/next")
  REQUEST_ID=$(grep -Fi Lambda-Runtime-Aws-Request-Id "$HEADERS" | tr -d '[:space:]' | cut -d: -f2)
  if [ "$EVENT_DATA" = '"boom"' ]; then
    curl -sS "$api/$REQUEST_ID/error" -d '{"errorMessage":"boom","errorType":"Error"}' >/dev/null
    sleep 0.3
    exit 129
  fi
  curl -sS "$api/$REQUEST_ID/response" -d '"ok"' >/dev/null
done
`
	e := newEngine(t)
	d := deploy("exits", "provided.al2", "x.y", zipOf(t, map[string]zfile{"bootstrap": {body: bootstrap, mode: 0o755}}))
	for i := range 3 {
		res := invoke(t, e, d, `"boom"`)
		if res.FunctionError == "" || !strings.Contains(string(res.Payload), `"boom"`) {
			t.Fatalf("round %d: boom: %q %s", i, res.FunctionError, res.Payload)
		}
		res = invoke(t, e, d, `"fine"`)
		wantOK(t, res)
		if string(res.Payload) != `"ok"` {
			t.Fatalf("round %d: after the exit: %s", i, res.Payload)
		}
	}
}
