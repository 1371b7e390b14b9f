package engine

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/lambda"
)

func TestNodeFunctions(t *testing.T) {
	needNode(t)
	e := newEngine(t)
	const reqID = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
	payloadIs := func(want string) func(t *testing.T, res *lambda.Result) {
		return func(t *testing.T, res *lambda.Result) {
			t.Helper()
			wantOK(t, res)
			if string(res.Payload) != want {
				t.Errorf("payload %s, want %s", res.Payload, want)
			}
		}
	}
	errorIs := func(typ, msg string) func(t *testing.T, res *lambda.Result) {
		return func(t *testing.T, res *lambda.Result) {
			t.Helper()
			if d := decodeErr(t, res); d.Type != typ || !strings.Contains(d.Message, msg) {
				t.Errorf("error %+v, want %s containing %q", d, typ, msg)
			}
		}
	}
	tests := []struct {
		name    string
		runtime string
		files   map[string]zfile
		handler string
		payload string
		timeout time.Duration
		check   func(t *testing.T, res *lambda.Result)
	}{
		{"async commonjs", "nodejs20.x", map[string]zfile{"index.js": {body: "exports.handler = async (event, context) => ({ got: event, id: context.awsRequestId });"}},
			"index.handler", `{"a":1}`, 0, payloadIs(`{"got":{"a":1},"id":"` + reqID + `"}`)},
		{"callback", "nodejs18.x", map[string]zfile{"index.js": {body: "exports.handler = (event, context, callback) => { setTimeout(() => callback(null, 'cb ' + event.n), 5); };"}},
			"index.handler", `{"n":7}`, 0, payloadIs(`"cb 7"`)},
		{"callback error", "nodejs22.x", map[string]zfile{"index.js": {body: "exports.handler = (e, c, cb) => cb(new Error('cb boom'));"}},
			"index.handler", `{}`, 0, errorIs("Error", "cb boom")},
		{"esm .mjs", "nodejs22.x", map[string]zfile{"index.mjs": {body: "import os from 'node:os';\nexport const handler = async () => 'esm ' + typeof os.hostname;"}},
			"index.handler", `{}`, 0, payloadIs(`"esm function"`)},
		{"type module .js", "nodejs20.x", map[string]zfile{"package.json": {body: `{"type":"module"}`}, "lib/app.js": {body: "export async function run() { return 'module'; }"}},
			"lib/app.run", `{}`, 0, payloadIs(`"module"`)},
		{".cjs", "nodejs20.x", map[string]zfile{"fn.cjs": {body: "module.exports = { handler: async () => 'cjs' };"}},
			"fn.handler", `{}`, 0, payloadIs(`"cjs"`)},
		{"undefined result is null", "nodejs20.x", map[string]zfile{"index.js": {body: "exports.handler = async () => {};"}},
			"index.handler", `{}`, 0, payloadIs(`null`)},
		{"thrown error", "nodejs20.x", map[string]zfile{"index.js": {body: "exports.handler = async () => { throw new TypeError('bad input'); };"}},
			"index.handler", `{}`, 0, func(t *testing.T, res *lambda.Result) {
				d := decodeErr(t, res)
				if d.Type != "TypeError" || d.Message != "bad input" || len(d.Trace) < 2 || d.Trace[0] != "TypeError: bad input" {
					t.Errorf("error %+v", d)
				}
				if !strings.Contains(string(res.Log), "\tERROR\tInvoke Error \t{\"errorType\":\"TypeError\"") {
					t.Errorf("log:\n%s", res.Log)
				}
			}},
		{"handler missing", "nodejs20.x", map[string]zfile{"index.js": {body: "exports.other = 1;"}},
			"index.handler", `{}`, 0, errorIs("Runtime.HandlerNotFound", "index.handler is undefined or not exported")},
		{"module missing", "nodejs20.x", map[string]zfile{"other.js": {body: ""}},
			"index.handler", `{}`, 0, errorIs("Runtime.ImportModuleError", "Error: Cannot find module 'index'")},
		{"dependency missing", "nodejs20.x", map[string]zfile{"index.js": {body: "require('no-such-package-xyz'); exports.handler = async () => 1;"}},
			"index.handler", `{}`, 0, errorIs("Runtime.ImportModuleError", "no-such-package-xyz")},
		{"syntax error", "nodejs20.x", map[string]zfile{"index.js": {body: "exports.handler = async () => {;"}},
			"index.handler", `{}`, 0, errorIs("Runtime.UserCodeSyntaxError", "SyntaxError")},
		{"timeout", "nodejs20.x", map[string]zfile{"index.js": {body: "exports.handler = () => new Promise(() => { setInterval(() => {}, 1000); });"}},
			"index.handler", `{}`, 400 * time.Millisecond, func(t *testing.T, res *lambda.Result) {
				var doc map[string]string
				_ = json.Unmarshal(res.Payload, &doc)
				if res.FunctionError != "Unhandled" || !timeoutRE.MatchString(doc["errorMessage"]) {
					t.Errorf("payload %s", res.Payload)
				}
			}},
		{"console and context", "nodejs20.x", map[string]zfile{"index.js": {body: `console.log('at init');
exports.handler = async (event, context) => {
  console.log('hello', { a: 1 });
  console.error('oops');
  console.warn('careful');
  return {
    name: context.functionName, version: context.functionVersion, arn: context.invokedFunctionArn,
    mem: context.memoryLimitInMB, group: context.logGroupName, wait: context.callbackWaitsForEmptyEventLoop,
    left: context.getRemainingTimeInMillis(), env: process.env.AWS_EXECUTION_ENV, trace: process.env._X_AMZN_TRACE_ID,
  };
};`}}, "index.handler", `{}`, 0, func(t *testing.T, res *lambda.Result) {
			wantOK(t, res)
			var c map[string]any
			_ = json.Unmarshal(res.Payload, &c)
			if c["name"] != "node-console-and-context" || c["version"] != "$LATEST" || c["mem"] != "128" || c["wait"] != true ||
				c["group"] != "/aws/lambda/node-console-and-context" || c["env"] != "AWS_Lambda_nodejs20.x" ||
				!strings.HasSuffix(c["arn"].(string), ":function:node-console-and-context") || !strings.HasPrefix(c["trace"].(string), "Root=1-") {
				t.Errorf("context %s", res.Payload)
			}
			if left, _ := c["left"].(float64); left < 2000 || left > 3000 {
				t.Errorf("remaining %v", c["left"])
			}
			ts := `\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z`
			for _, re := range []string{
				`(?s)^` + ts + `\tundefined\tINFO\tat init\nSTART RequestId: `,
				`\n` + ts + `\t` + reqID + `\tINFO\thello { a: 1 }\n`,
				`\n` + ts + `\t` + reqID + `\tERROR\toops\n`,
				`\n` + ts + `\t` + reqID + `\tWARN\tcareful\nEND RequestId: `,
			} {
				if !regexp.MustCompile(re).MatchString(string(res.Log)) {
					t.Errorf("log does not match %s:\n%s", re, res.Log)
				}
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := deploy("node-"+strings.NewReplacer(" ", "-", ".", "").Replace(tt.name), tt.runtime, tt.handler, zipOf(t, tt.files))
			if tt.timeout > 0 {
				d.Timeout = tt.timeout
			}
			res, err := e.Invoke(context.Background(), d, &lambda.Invocation{RequestID: reqID, Payload: []byte(tt.payload)})
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
