package engine

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/lambda"
)

func TestPythonFunctions(t *testing.T) {
	needPython(t)
	e := newEngine(t, Config{Region: "ap-south-1"})
	const reqID = "0f0e0d0c-0b0a-4908-8706-050403020100"
	tests := []struct {
		name    string
		files   map[string]zfile
		handler string
		payload string
		timeout time.Duration
		memory  int
		check   func(t *testing.T, res *lambda.Result)
	}{
		{"echo", map[string]zfile{"app.py": {body: "def handler(event, context):\n    return {'got': event, 'n': 1.5}\n"}}, "app.handler",
			`{"k":["v",2]}`, 0, 0, func(t *testing.T, res *lambda.Result) {
				wantOK(t, res)
				if string(res.Payload) != `{"got": {"k": ["v", 2]}, "n": 1.5}` {
					t.Errorf("payload %s", res.Payload)
				}
			}},
		{"no-op", map[string]zfile{"app.py": {body: "import sys\n\ndef handler(event, context):\n    assert event == {} and type(event) is dict\n    print('socket' in sys.modules)\n"}}, "app.handler",
			`{}`, 0, 0, func(t *testing.T, res *lambda.Result) {
				wantOK(t, res)
				// The runtime's client needs no socket module (enum,
				// selectors: milliseconds of every cold start).
				if string(res.Payload) != `null` || !strings.Contains(string(res.Log), "\nFalse\n") {
					t.Errorf("payload %s, log %s", res.Payload, res.Log)
				}
			}},
		{"nested module", map[string]zfile{"pkg/sub/mod.py": {body: "def fn(event, context):\n    return 'nested'\n"}}, "pkg.sub.mod.fn",
			`{}`, 0, 0, func(t *testing.T, res *lambda.Result) {
				wantOK(t, res)
				if string(res.Payload) != `"nested"` {
					t.Errorf("payload %s", res.Payload)
				}
			}},
		{"error", map[string]zfile{"app.py": {body: "def helper():\n    raise ValueError('boom')\n\ndef handler(event, context):\n    helper()\n"}}, "app.handler",
			`{}`, 0, 0, func(t *testing.T, res *lambda.Result) {
				d := decodeErr(t, res)
				if d.Type != "ValueError" || d.Message != "boom" || d.RequestID == nil || *d.RequestID != reqID {
					t.Errorf("error %+v", d)
				}
				var frames []string
				for _, f := range d.StackTrace {
					var s string
					if err := json.Unmarshal(f, &s); err != nil {
						t.Fatalf("stack frame %s is not a string", f)
					}
					frames = append(frames, s)
				}
				if len(frames) != 2 || !strings.Contains(frames[0], "app.py\", line 5, in handler") || !strings.Contains(frames[1], "raise ValueError('boom')") {
					t.Errorf("stackTrace %q", frames)
				}
				if !strings.Contains(string(res.Log), "[ERROR] ValueError: boom\nTraceback (most recent call last):\n") {
					t.Errorf("log:\n%s", res.Log)
				}
			}},
		{"import error", map[string]zfile{"app.py": {body: "import no_such_module_xyz\n"}}, "app.handler",
			`{}`, 0, 0, func(t *testing.T, res *lambda.Result) {
				d := decodeErr(t, res)
				if d.Type != "Runtime.ImportModuleError" || d.Message != "Unable to import module 'app': No module named 'no_such_module_xyz'" {
					t.Errorf("error %+v", d)
				}
			}},
		{"missing module", map[string]zfile{"other.py": {body: ""}}, "app.handler",
			`{}`, 0, 0, func(t *testing.T, res *lambda.Result) {
				if d := decodeErr(t, res); d.Type != "Runtime.ImportModuleError" || d.Message != "Unable to import module 'app': No module named 'app'" {
					t.Errorf("error %+v", d)
				}
			}},
		{"handler missing", map[string]zfile{"app.py": {body: "def other(e, c):\n    pass\n"}}, "app.handler",
			`{}`, 0, 0, func(t *testing.T, res *lambda.Result) {
				if d := decodeErr(t, res); d.Type != "Runtime.HandlerNotFound" || d.Message != "Handler 'handler' missing on module 'app'" {
					t.Errorf("error %+v", d)
				}
			}},
		{"malformed handler", map[string]zfile{"app.py": {body: ""}}, "app",
			`{}`, 0, 0, func(t *testing.T, res *lambda.Result) {
				if d := decodeErr(t, res); d.Type != "Runtime.MalformedHandlerName" {
					t.Errorf("error %+v", d)
				}
			}},
		{"syntax error", map[string]zfile{"app.py": {body: "def handler(e, c)\n    pass\n"}}, "app.handler",
			`{}`, 0, 0, func(t *testing.T, res *lambda.Result) {
				if d := decodeErr(t, res); d.Type != "Runtime.UserCodeSyntaxError" || !strings.HasPrefix(d.Message, "Syntax error in module 'app': ") {
					t.Errorf("error %+v", d)
				}
			}},
		{"print and logging", map[string]zfile{"app.py": {body: `import logging
logger = logging.getLogger()
logger.setLevel(logging.INFO)
print("init print")

def handler(event, context):
    print("hello", event["x"])
    logger.info("info %s", 1)
    logging.getLogger("child").warning("warned")
    logger.debug("not shown")
    print("no newline", end="")
    return "ok"
`}}, "app.handler", `{"x":42}`, 0, 0, func(t *testing.T, res *lambda.Result) {
			wantOK(t, res)
			log := string(res.Log)
			for _, re := range []string{
				`(?s)^init print\nSTART RequestId: ` + reqID + ` Version: \$LATEST\nhello 42\n`,
				`\n\[INFO\]\t\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\t` + reqID + `\tinfo 1\n`,
				`\n\[WARNING\]\t[0-9T:.Z-]+\t` + reqID + `\twarned\n`,
				`\nno newline\nEND RequestId: `,
			} {
				if !regexp.MustCompile(re).MatchString(log) {
					t.Errorf("log does not match %s:\n%s", re, log)
				}
			}
			if strings.Contains(log, "not shown") {
				t.Errorf("debug record logged at INFO level")
			}
		}},
		{"timeout", map[string]zfile{"app.py": {body: "import time\ndef handler(e, c):\n    print('waiting')\n    time.sleep(10)\n"}}, "app.handler",
			`{}`, 400 * time.Millisecond, 0, func(t *testing.T, res *lambda.Result) {
				var doc map[string]string
				_ = json.Unmarshal(res.Payload, &doc)
				if res.FunctionError != "Unhandled" || !timeoutRE.MatchString(doc["errorMessage"]) || !strings.Contains(doc["errorMessage"], reqID) {
					t.Errorf("payload %s", res.Payload)
				}
				if !strings.Contains(string(res.Log), "waiting\nEND") {
					t.Errorf("log:\n%s", res.Log)
				}
			}},
		{"sys.exit", map[string]zfile{"app.py": {body: "import sys\ndef handler(e, c):\n    sys.exit(2)\n"}}, "app.handler",
			`{}`, 0, 0, func(t *testing.T, res *lambda.Result) {
				d := decodeErr(t, res)
				if d.Type != "Runtime.ExitError" || d.Message != "RequestId: "+reqID+" Error: Runtime exited with error: exit status 2" {
					t.Errorf("error %+v", d)
				}
			}},
		{"environment", map[string]zfile{"app.py": {body: "import os, sys\ndef handler(e, c):\n    return {k: os.environ.get(k) for k in e} | {'path0': sys.path[0], 'cwd': os.getcwd()}\n"}}, "app.handler",
			`["AWS_EXECUTION_ENV","LAMBDA_RUNTIME_DIR","AWS_REGION","_HANDLER","TZ","PYTHONPATH"]`, 0, 0, func(t *testing.T, res *lambda.Result) {
				wantOK(t, res)
				var env map[string]*string
				_ = json.Unmarshal(res.Payload, &env)
				str := func(k string) string {
					if env[k] == nil {
						return "<nil>"
					}
					return *env[k]
				}
				if str("AWS_EXECUTION_ENV") != "AWS_Lambda_python3.12" || str("AWS_REGION") != "ap-south-1" || str("_HANDLER") != "app.handler" ||
					str("TZ") != ":UTC" || env["PYTHONPATH"] != nil || !strings.HasPrefix(str("LAMBDA_RUNTIME_DIR"), filepath.Join(e.cfg.DataDir, "lambda", "runtime")) ||
					str("path0") != str("cwd") {
					t.Errorf("env %s", res.Payload)
				}
			}},
		{"context", map[string]zfile{"app.py": {body: `def handler(event, context):
    cc = context.client_context
    return {
        "aws_request_id": context.aws_request_id,
        "function_name": context.function_name,
        "function_version": context.function_version,
        "invoked_function_arn": context.invoked_function_arn,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
        "remaining": context.get_remaining_time_in_millis(),
        "custom": cc.custom if cc else None,
        "identity": context.identity,
    }
`}}, "app.handler", `{}`, 0, 0, func(t *testing.T, res *lambda.Result) {
			wantOK(t, res)
			var c map[string]any
			_ = json.Unmarshal(res.Payload, &c)
			want := map[string]any{
				"aws_request_id": reqID, "function_name": "py-context", "function_version": "$LATEST",
				"invoked_function_arn": "arn:aws:lambda:us-east-1:000000000000:function:py-context:prod",
				"memory_limit_in_mb":   "128", "log_group_name": "/aws/lambda/py-context", "identity": nil,
			}
			for k, v := range want {
				if c[k] != v {
					t.Errorf("%s = %v, want %v", k, c[k], v)
				}
			}
			if r, _ := c["remaining"].(float64); r < 2000 || r > 3000 {
				t.Errorf("remaining %v", c["remaining"])
			}
			if m, _ := c["custom"].(map[string]any); m["a"] != "b" {
				t.Errorf("custom %v", c["custom"])
			}
			if s, _ := c["log_stream_name"].(string); !strings.Contains(s, "[$LATEST]") {
				t.Errorf("log stream %v", c["log_stream_name"])
			}
		}},
		{"response too large", map[string]zfile{"app.py": {body: "def handler(e, c):\n    return 'x' * (7 << 20)\n"}}, "app.handler",
			`{}`, 0, 0, func(t *testing.T, res *lambda.Result) {
				if d := decodeErr(t, res); d.Type != "Function.ResponseSizeTooLarge" {
					t.Errorf("error %+v", d)
				}
			}},
		{"out of memory", map[string]zfile{"app.py": {body: "def handler(e, c):\n    b = bytearray(300 << 20)\n    return len(b)\n"}}, "app.handler",
			`{}`, 0, 128, func(t *testing.T, res *lambda.Result) {
				d := decodeErr(t, res)
				if d.Type != "Runtime.OutOfMemory" || d.Message != "RequestId: "+reqID+" Error: Runtime exited with error: signal: killed" {
					t.Errorf("error %+v", d)
				}
				if res.MaxMemoryMB < 128 {
					t.Errorf("max memory %d MB", res.MaxMemoryMB)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := deploy("py-"+strings.ReplaceAll(tt.name, " ", "-"), "python3.12", tt.handler, zipOf(t, tt.files))
			if tt.timeout > 0 {
				d.Timeout = tt.timeout
			}
			if tt.memory > 0 {
				d.MemoryMB = tt.memory
			}
			cc := base64.StdEncoding.EncodeToString([]byte(`{"custom":{"a":"b"},"env":{},"client":{"app_title":"t"}}`))
			res, err := e.Invoke(context.Background(), d, &lambda.Invocation{
				RequestID: reqID, InvokedARN: d.FunctionARN + ":prod", Payload: []byte(tt.payload), ClientContext: cc,
			})
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, res)
			if !reportRE.MatchString(string(res.Log)) {
				t.Errorf("no REPORT line:\n%s", res.Log)
			}
		})
	}
}

func TestPythonWarmAfterErrors(t *testing.T) {
	needPython(t)
	e := newEngine(t)
	code := zipOf(t, map[string]zfile{"app.py": {body: `import os
def handler(event, context):
    if event.get("fail"):
        raise RuntimeError("asked to")
    return os.getpid()
`}})
	d := deploy("py-warm", "python3.11", "app.handler", code)
	pid := string(invoke(t, e, d, `{}`).Payload)
	for _, ev := range []string{`{"fail":true}`, `{}`} {
		res := invoke(t, e, d, ev)
		if res.InitDuration != 0 {
			t.Errorf("%s: cold start", ev)
		}
		if ev == `{}` && string(res.Payload) != pid {
			t.Errorf("pid %s, want %s", res.Payload, pid)
		}
	}
}

// TestPythonLazyJSON checks that the empty event and a None result cost
// no json import (milliseconds of a cold start), and that a real event
// still decodes.
func TestPythonLazyJSON(t *testing.T) {
	needPython(t)
	e := newEngine(t)
	code := zipOf(t, map[string]zfile{"app.py": {body: `import sys
def handler(event, context):
    print("json loaded:", "json" in sys.modules)
    if event:
        return event
`}})
	d := deploy("py-lazy", "python3.12", "app.handler", code)
	res := invoke(t, e, d, `{}`)
	if string(res.Payload) != "null" || !strings.Contains(string(res.Log), "json loaded: False\n") {
		t.Errorf("empty event: payload %s, log %s", res.Payload, res.Log)
	}
	res = invoke(t, e, d, `{"a": [1, "b"]}`)
	if string(res.Payload) != `{"a": [1, "b"]}` || !strings.Contains(string(res.Log), "json loaded: True\n") {
		t.Errorf("event: payload %s, log %s", res.Payload, res.Log)
	}
}
