package batch_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	"github.com/aws/aws-sdk-go-v2/service/s3control/types"

	"github.com/sluicehq/sluice/internal/lambda"
	"github.com/sluicehq/sluice/internal/server"
	"github.com/sluicehq/sluice/internal/server/servertest"
)

// fakeEngine is a lambda.Engine that answers with a function of the
// invocation, recording every call.
type fakeEngine struct {
	mu     sync.Mutex
	invoke func(d *lambda.Deployment, payload []byte) (*lambda.Result, error)
	calls  [][]byte
	vers   []string
}

var _ lambda.Engine = (*fakeEngine)(nil)

func (f *fakeEngine) Invoke(ctx context.Context, d *lambda.Deployment, inv *lambda.Invocation) (*lambda.Result, error) {
	f.mu.Lock()
	f.calls = append(f.calls, inv.Payload)
	f.vers = append(f.vers, d.Version)
	fn := f.invoke
	f.mu.Unlock()
	return fn(d, inv.Payload)
}

func (f *fakeEngine) Retire(string) {}
func (f *fakeEngine) Close() error  { return nil }

func (f *fakeEngine) payloads() [][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([][]byte(nil), f.calls...)
}

// respond is the answer of a batch function to a task.
func respond(ev *events.S3BatchJobEvent, code, msg string, extra ...string) []byte {
	resp := map[string]any{
		"invocationSchemaVersion": ev.InvocationSchemaVersion,
		"invocationId":            ev.InvocationID,
		"results":                 []map[string]any{{"taskId": ev.Tasks[0].TaskID, "resultCode": code, "resultString": msg}},
	}
	if len(extra) == 1 {
		resp["treatMissingKeysAs"] = extra[0]
	}
	raw, _ := json.Marshal(resp)
	return raw
}

// withEngine starts a node whose functions run on engine.
func withEngine(t *testing.T, engine lambda.Engine, configure ...func(*server.Config)) *env {
	return newEnv(t, append([]func(*server.Config){func(c *server.Config) { c.LambdaEngine = engine }}, configure...)...)
}

// function creates a (Python) function; with a fake engine its code never
// runs.
func (e *env) function(name string, files map[string]string, opts ...func(*awslambda.CreateFunctionInput)) string {
	e.t.Helper()
	pkg := map[string][]byte{}
	for n, body := range files {
		pkg[n] = []byte(body)
	}
	in := &awslambda.CreateFunctionInput{
		FunctionName: aws.String(name), Runtime: ltypes.RuntimePython312, Handler: aws.String("app.handler"),
		Role: aws.String("arn:aws:iam::000000000000:role/fn"), Code: &ltypes.FunctionCode{ZipFile: servertest.FunctionZip(e.t, pkg)},
		Timeout: aws.Int32(30),
	}
	for _, o := range opts {
		o(in)
	}
	out, err := e.lambda().CreateFunction(e.ctx, in)
	if err != nil {
		e.t.Fatalf("CreateFunction %s: %v", name, err)
	}
	return aws.ToString(out.FunctionArn)
}

func (e *env) lambda() *awslambda.Client { return awslambda.NewFromConfig(e.n.AWSConfig()) }

func TestLambdaInvokeResultCodes(t *testing.T) {
	var (
		mu    sync.Mutex
		seen  = map[string]int{}
		calls = func(k string) int { mu.Lock(); defer mu.Unlock(); seen[k]++; return seen[k] }
	)
	engine := &fakeEngine{invoke: func(_ *lambda.Deployment, payload []byte) (*lambda.Result, error) {
		var ev events.S3BatchJobEvent
		if err := json.Unmarshal(payload, &ev); err != nil {
			return nil, err
		}
		key := ev.Tasks[0].S3Key
		n := calls(key)
		ok := func(b []byte) (*lambda.Result, error) { return &lambda.Result{Payload: b}, nil }
		switch key {
		case "ok":
			return ok(respond(&ev, "Succeeded", "done: "+key))
		case "perm":
			return ok(respond(&ev, "PermanentFailure", "cannot do it"))
		case "temp":
			return ok(respond(&ev, "TemporaryFailure", fmt.Sprintf("try %d", n)))
		case "temp-once":
			if n == 1 {
				return ok(respond(&ev, "TemporaryFailure", "later"))
			}
			return ok(respond(&ev, "Succeeded", "second time"))
		case "fnerr":
			return &lambda.Result{Payload: []byte(`{"errorMessage":"boom","errorType":"RuntimeError"}`), FunctionError: "Unhandled"}, nil
		case "notjson":
			return ok([]byte("hello"))
		case "missing":
			return ok([]byte(`{"invocationSchemaVersion":"1.0","treatMissingKeysAs":"PermanentFailure","invocationId":"x","results":[]}`))
		case "missing-default":
			return ok([]byte(`{"invocationSchemaVersion":"1.0","invocationId":"x","results":[]}`))
		case "throttle":
			if n <= 3 {
				return nil, &lambda.ThrottleError{Reason: lambda.ConcurrentInvocationLimitExceeded}
			}
			return ok(respond(&ev, "Succeeded", "after throttles"))
		case "long":
			return ok(respond(&ev, "Succeeded", strings.Repeat("é", 2000)))
		case "a%2Cb%20c":
			return ok(respond(&ev, "Succeeded", `quote " and, comma`))
		}
		return nil, fmt.Errorf("unexpected key %q", key)
	}}
	e := withEngine(t, engine)
	e.bucket("data")
	e.bucket("rep")
	arn := e.function("worker", map[string]string{"app.py": "def handler(e, c): pass\n"})
	keys := []string{"ok", "perm", "temp", "temp-once", "fnerr", "notjson", "missing", "missing-default", "throttle", "long", "a%2Cb%20c"}
	var rows []string
	for _, k := range keys {
		rows = append(rows, "data,"+k)
	}
	id := e.create(&s3control.CreateJobInput{
		Manifest:  e.manifest("data", "m.csv", bucketKey, rows...),
		Operation: &types.JobOperation{LambdaInvoke: &types.LambdaInvokeOperation{FunctionArn: aws.String(arn)}},
		Report:    report("rep", "r"),
	})
	j := e.wait(id, 30*time.Second, types.JobStatusComplete, types.JobStatusFailed)
	if j.Status != types.JobStatusComplete {
		t.Fatalf("status %s %v", j.Status, failures(j))
	}
	_, rep := e.readReport("rep", "r", id)
	got := rowsByKey(t, rep)
	want := map[string]reportRow{
		"ok":              {"data", "ok", "", "succeeded", "200", "", "done: ok"},
		"perm":            {"data", "perm", "", "failed", "200", "PermanentFailure", "cannot do it"},
		"temp":            {"data", "temp", "", "failed", "200", "TemporaryFailure", "try 3"},
		"temp-once":       {"data", "temp-once", "", "succeeded", "200", "", "second time"},
		"fnerr":           {"data", "fnerr", "", "failed", "200", "PermanentFailure", `Lambda returned function error: {"errorMessage":"boom","errorType":"RuntimeError"}`},
		"notjson":         {"data", "notjson", "", "failed", "200", "PermanentFailure", "Invalid JSON returned in Lambda payload"},
		"missing":         {"data", "missing", "", "failed", "200", "PermanentFailure", "The function's response has no result for this task."},
		"missing-default": {"data", "missing-default", "", "failed", "200", "TemporaryFailure", "The function's response has no result for this task."},
		"throttle":        {"data", "throttle", "", "succeeded", "200", "", "after throttles"},
		"long":            {"data", "long", "", "succeeded", "200", "", strings.Repeat("é", 1024)},
		"a%2Cb%20c":       {"data", "a%2Cb%20c", "", "succeeded", "200", "", `quote " and, comma`},
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s:\n got %+v\nwant %+v", k, got[k], w)
		}
	}
	if seen["temp"] != 3 || seen["missing-default"] != 3 {
		t.Errorf("temporary failures ran %d and %d times, want 3 (MaxAttempts)", seen["temp"], seen["missing-default"])
	}
	if seen["throttle"] != 4 {
		t.Errorf("throttled task ran %d times, want 4", seen["throttle"])
	}
	if ps := j.ProgressSummary; aws.ToInt64(ps.NumberOfTasksSucceeded) != 5 || aws.ToInt64(ps.NumberOfTasksFailed) != 6 {
		t.Errorf("progress %d succeeded, %d failed", aws.ToInt64(ps.NumberOfTasksSucceeded), aws.ToInt64(ps.NumberOfTasksFailed))
	}
}

// TestEventSchemas decodes what sluice sends with aws-lambda-go's types
// and compares the JSON fields with aws-lambda-go's testdata events.
func TestEventSchemas(t *testing.T) {
	engine := &fakeEngine{invoke: func(_ *lambda.Deployment, payload []byte) (*lambda.Result, error) {
		var ev events.S3BatchJobEvent
		json.Unmarshal(payload, &ev)
		return &lambda.Result{Payload: respond(&ev, "Succeeded", "")}, nil
	}}
	e := withEngine(t, engine)
	e.versioned("data")
	_, vid := e.put("data", "customerImage1.jpg", "x")
	arn := e.function("worker", map[string]string{"app.py": "def handler(e, c): pass\n"})
	fieldsV := []types.JobManifestFieldName{types.JobManifestFieldNameBucket, types.JobManifestFieldNameKey, types.JobManifestFieldNameVersionId}

	for _, tc := range []struct {
		schema   string
		testdata string
		fields   []types.JobManifestFieldName
		row      string
		args     map[string]string
	}{
		{"1.0", "s3-batch-job-event-request-1.0.json", fieldsV, "data,customerImage1.jpg," + vid, nil},
		{"2.0", "s3-batch-job-event-request-2.0.json", fieldsV, "data,customerImage1.jpg," + vid, map[string]string{"k1": "v1", "k2": "v2"}},
		{"2.0", "s3-batch-job-event-request-2.0.json", bucketKey, "data,customerImage1.jpg", map[string]string{"k1": "v1"}},
	} {
		t.Run(tc.schema+"-"+fmt.Sprint(len(tc.fields)), func(t *testing.T) {
			before := len(engine.payloads())
			op := &types.LambdaInvokeOperation{FunctionArn: aws.String(arn), InvocationSchemaVersion: aws.String(tc.schema), UserArguments: tc.args}
			id := e.create(&s3control.CreateJobInput{
				Manifest:  e.manifest("data", "m-"+tc.schema+".csv", tc.fields, tc.row),
				Operation: &types.JobOperation{LambdaInvoke: op},
			})
			e.wait(id, 20*time.Second, types.JobStatusComplete)
			calls := engine.payloads()
			if len(calls) != before+1 {
				t.Fatalf("%d invocations, want 1", len(calls)-before)
			}
			payload := calls[len(calls)-1]
			// Every field of aws-lambda-go's example is in what sluice sends.
			sample, err := os.ReadFile(filepath.Join(lambdaGoTestdata(t), tc.testdata))
			if err != nil {
				t.Fatal(err)
			}
			if w, g := fieldPaths(t, sample), fieldPaths(t, payload); !reflect.DeepEqual(w, g) {
				t.Errorf("fields:\n got %v\nwant %v\npayload %s", g, w, payload)
			}
			var raw map[string]any
			json.Unmarshal(payload, &raw)
			task := raw["tasks"].([]any)[0].(map[string]any)
			if len(tc.fields) == 2 {
				if v, ok := task["s3VersionId"]; !ok || v != nil {
					t.Errorf("s3VersionId = %v (present %v), want null", v, ok)
				}
			} else if task["s3VersionId"] != vid {
				t.Errorf("s3VersionId = %v, want %s", task["s3VersionId"], vid)
			}
			if tc.schema == "1.0" {
				var ev events.S3BatchJobEvent
				if err := json.Unmarshal(payload, &ev); err != nil {
					t.Fatal(err)
				}
				if ev.Job.ID != id || ev.Tasks[0].S3BucketARN != "arn:aws:s3:::data" || ev.Tasks[0].S3Key != "customerImage1.jpg" || ev.InvocationID == "" || ev.Tasks[0].TaskID == "" {
					t.Errorf("event %+v", ev)
				}
			} else {
				var ev events.S3BatchJobEventV2
				if err := json.Unmarshal(payload, &ev); err != nil {
					t.Fatal(err)
				}
				if ev.Job.ID != id || ev.Tasks[0].S3Bucket != "data" || !reflect.DeepEqual(ev.Job.UserArguments, tc.args) || ev.InvocationSchemaVersion != "2.0" {
					t.Errorf("event %+v", ev)
				}
			}
		})
	}
}

// lambdaGoTestdata is aws-lambda-go's events/testdata, in the module
// cache at the version go.mod requires (the tests import the module, so
// it is there).
func lambdaGoTestdata(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/aws/aws-lambda-go").Output()
	if err != nil {
		t.Fatalf("go list -m github.com/aws/aws-lambda-go: %v", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "events", "testdata")
	if _, err := os.Stat(filepath.Join(dir, "s3-batch-job-event-response.json")); err != nil {
		t.Fatalf("aws-lambda-go's batch testdata: %v", err)
	}
	return dir
}

// TestLambdaGoResponses answers tasks in the format of aws-lambda-go's
// events/testdata/s3-batch-job-event-response.json and with its
// events.S3BatchJobResponse type: sluice must accept both as AWS does.
func TestLambdaGoResponses(t *testing.T) {
	sample, err := os.ReadFile(filepath.Join(lambdaGoTestdata(t), "s3-batch-job-event-response.json"))
	if err != nil {
		t.Fatal(err)
	}
	engine := &fakeEngine{invoke: func(_ *lambda.Deployment, payload []byte) (*lambda.Result, error) {
		var ev events.S3BatchJobEventV2
		if err := json.Unmarshal(payload, &ev); err != nil {
			return nil, err
		}
		switch ev.Tasks[0].S3Key {
		case "echo":
			// The sample, with this task's IDs echoed.
			var resp map[string]any
			json.Unmarshal(sample, &resp)
			resp["invocationId"] = ev.InvocationID
			resp["invocationSchemaVersion"] = ev.InvocationSchemaVersion
			resp["results"].([]any)[0].(map[string]any)["taskId"] = ev.Tasks[0].TaskID
			raw, _ := json.Marshal(resp)
			return &lambda.Result{Payload: raw}, nil
		case "verbatim":
			// The sample as is: its taskId is not this task's, so its
			// treatMissingKeysAs (PermanentFailure) decides.
			return &lambda.Result{Payload: sample}, nil
		case "typed":
			raw, _ := json.Marshal(events.S3BatchJobResponse{
				InvocationSchemaVersion: ev.InvocationSchemaVersion, TreatMissingKeysAs: "PermanentFailure", InvocationID: ev.InvocationID,
				Results: []events.S3BatchJobResult{{TaskID: ev.Tasks[0].TaskID, ResultCode: "Succeeded", ResultString: "typed " + ev.Job.UserArguments["who"]}},
			})
			return &lambda.Result{Payload: raw}, nil
		}
		return nil, fmt.Errorf("unexpected key %q", ev.Tasks[0].S3Key)
	}}
	e := withEngine(t, engine)
	e.bucket("data")
	e.bucket("rep")
	arn := e.function("worker", map[string]string{"app.py": "def handler(e, c): pass\n"})
	id := e.create(&s3control.CreateJobInput{
		Manifest: e.manifest("data", "m.csv", bucketKey, "data,echo", "data,verbatim", "data,typed"),
		Operation: &types.JobOperation{LambdaInvoke: &types.LambdaInvokeOperation{FunctionArn: aws.String(arn),
			InvocationSchemaVersion: aws.String("2.0"), UserArguments: map[string]string{"who": "go"}}},
		Report: report("rep", ""),
	})
	e.wait(id, 30*time.Second, types.JobStatusComplete)
	_, rows := e.readReport("rep", "", id)
	got := rowsByKey(t, rows)
	want := map[string]reportRow{
		"echo":     {"data", "echo", "", "succeeded", "200", "", `["Mary Major", "John Stiles"]`},
		"verbatim": {"data", "verbatim", "", "failed", "200", "PermanentFailure", "The function's response has no result for this task."},
		"typed":    {"data", "typed", "", "succeeded", "200", "", "typed go"},
	}
	if len(got) != len(want) {
		t.Errorf("report rows %+v", rows)
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s:\n got %+v\nwant %+v", k, got[k], w)
		}
	}
}

// fieldPaths lists the paths of every field of a JSON document
// (job.id, tasks[].s3Key, ...).
func fieldPaths(t *testing.T, raw []byte) []string {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	var out []string
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				p := k
				if prefix != "" {
					p = prefix + "." + k
				}
				if strings.HasSuffix(prefix, "userArguments") {
					continue
				}
				out = append(out, p)
				walk(p, c)
			}
		case []any:
			for _, c := range x {
				walk(prefix+"[]", c)
			}
		}
	}
	walk("", v)
	sort.Strings(out)
	return out
}
