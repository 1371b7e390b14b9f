package async

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/blob/disk"
	"github.com/sluicehq/sluice/internal/lambda"
	"github.com/sluicehq/sluice/internal/meta"
	"github.com/sluicehq/sluice/internal/meta/bolt"
	"github.com/sluicehq/sluice/internal/queue"
)

var update = flag.Bool("update", false, "rewrite golden files")

// call is one invocation the fake engine saw.
type call struct {
	function, version string
	inv               lambda.Invocation
	at                time.Time
}

// fakeEngine is a lambda.Engine whose behaviour is a function field.
type fakeEngine struct {
	// invoke decides an invocation's outcome; nil echoes the payload.
	invoke func(ctx context.Context, d *lambda.Deployment, inv *lambda.Invocation, n int) (*lambda.Result, error)

	mu    sync.Mutex
	calls []call
}

func (f *fakeEngine) Invoke(ctx context.Context, d *lambda.Deployment, inv *lambda.Invocation) (*lambda.Result, error) {
	f.mu.Lock()
	n := 0
	for _, c := range f.calls {
		if c.function == d.FunctionName {
			n++
		}
	}
	f.calls = append(f.calls, call{function: d.FunctionName, version: d.Version, inv: *inv, at: time.Now()})
	f.mu.Unlock()
	if f.invoke != nil {
		return f.invoke(ctx, d, inv, n)
	}
	return &lambda.Result{Payload: inv.Payload, ExecutedVersion: d.Version}, nil
}

func (f *fakeEngine) Retire(string) {}
func (f *fakeEngine) Close() error  { return nil }

// callsOf returns the invocations of a function so far.
func (f *fakeEngine) callsOf(function string) []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []call
	for _, c := range f.calls {
		if c.function == function {
			out = append(out, c)
		}
	}
	return out
}

// fakeObjects records S3 destination writes.
type fakeObjects struct {
	mu   sync.Mutex
	puts map[string][]byte // bucket/key → body
	err  error
}

func (f *fakeObjects) PutObject(_ context.Context, bucket, key, contentType string, body []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	if contentType != "application/json" {
		return errors.New("content type " + contentType)
	}
	if f.puts == nil {
		f.puts = map[string][]byte{}
	}
	f.puts[bucket+"/"+key] = body
	return nil
}

func (f *fakeObjects) all() map[string][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string][]byte{}
	for k, v := range f.puts {
		out[k] = v
	}
	return out
}

// fakeLogs collects function log lines.
type fakeLogs struct {
	mu    sync.Mutex
	lines map[string]string
}

func (f *fakeLogs) Append(function string, p []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.lines == nil {
		f.lines = map[string]string{}
	}
	f.lines[function] += string(p)
	return nil
}

func (f *fakeLogs) of(function string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lines[function]
}

// clock is a settable offset from the real time.
type clock struct{ offset atomic.Int64 }

func (c *clock) now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) advance(d time.Duration) { c.offset.Add(int64(d)) }

// harness is a function service with a fake engine and a started queue.
type harness struct {
	t     *testing.T
	svc   *lambda.Service
	q     *Queue
	eng   *fakeEngine
	objs  *fakeObjects
	logs  *fakeLogs
	clock *clock
	dir   string
	meta  meta.Store
}

// testOptions are short delays: function-error retries after 50 and
// 100 ms, backoff 10 ms doubling to 40 ms.
var testOptions = Options{
	RetryDelays: []time.Duration{50 * time.Millisecond, 100 * time.Millisecond},
	BackoffMin:  10 * time.Millisecond,
	BackoffMax:  40 * time.Millisecond,
	Poll:        10 * time.Millisecond,
}

func newHarness(t *testing.T, eng *fakeEngine) *harness {
	t.Helper()
	return newObservedHarness(t, eng, nil)
}

// newObservedHarness is newHarness with an Observer.
func newObservedHarness(t *testing.T, eng *fakeEngine, obs Observer, opts ...func(*Config)) *harness {
	t.Helper()
	dir := t.TempDir()
	m, err := bolt.Open(filepath.Join(dir, "meta.db"), bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	blobs, err := disk.Open(filepath.Join(dir, "blobs"), disk.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, eng: eng, objs: &fakeObjects{}, logs: &fakeLogs{}, clock: &clock{}, dir: filepath.Join(dir, "async")}
	h.meta = m
	cfg := Config{Meta: m, Dir: h.dir, Objects: h.objs, Logs: h.logs, Options: testOptions, Now: h.clock.now, Observer: obs}
	for _, o := range opts {
		o(&cfg)
	}
	h.q, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.svc = lambda.New(lambda.Config{Meta: m, Blobs: blobs, Engine: eng, Queue: h.q, AccountID: "123456789012", Now: h.clock.now})
	h.q.Start(h.svc)
	t.Cleanup(func() {
		h.q.Close()
		m.Close()
	})
	return h
}

func testZip(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("index.py")
	w.Write([]byte("def handler(e, c):\n    return e\n"))
	zw.Close()
	return buf.Bytes()
}

func (h *harness) create(name string) string {
	h.t.Helper()
	rt, hd, role := "python3.12", "index.handler", "arn:aws:iam::123456789012:role/r"
	_, err := h.svc.CreateFunction(context.Background(), &lambda.CreateFunctionInput{
		FunctionName: name,
		ConfigInput:  lambda.ConfigInput{Runtime: &rt, Handler: &hd, Role: &role},
		Code:         &lambda.CodeInput{ZipFile: testZip(h.t)},
	})
	if err != nil {
		h.t.Fatalf("CreateFunction %s: %v", name, err)
	}
	return h.svc.FunctionARN(name)
}

func (h *harness) config(name, qualifier string, retries, maxAge *int, onSuccess, onFailure string) {
	h.t.Helper()
	in := &lambda.EventInvokeConfigInput{FunctionName: name, Qualifier: qualifier, MaximumRetryAttempts: retries, MaximumEventAgeInSeconds: maxAge}
	if onSuccess != "" {
		in.OnSuccess = &onSuccess
	}
	if onFailure != "" {
		in.OnFailure = &onFailure
	}
	if _, err := h.svc.PutEventInvokeConfig(context.Background(), in, false); err != nil {
		h.t.Fatalf("PutEventInvokeConfig %s:%s: %v", name, qualifier, err)
	}
}

// invoke sends an Event invocation and returns its request ID.
func (h *harness) invoke(name, qualifier, payload string) string {
	h.t.Helper()
	out, err := h.svc.Invoke(context.Background(), &lambda.InvokeInput{
		FunctionName: name, Qualifier: qualifier, InvocationType: lambda.Event, Payload: []byte(payload),
	})
	if err != nil {
		h.t.Fatalf("Invoke %s: %v", name, err)
	}
	return out.RequestID
}

func (h *harness) idle() {
	h.t.Helper()
	eventually(h.t, "an empty queue", func() bool {
		n, err := h.q.Len(context.Background())
		return err == nil && n == 0
	})
}

func eventually(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func ptr(n int) *int { return &n }

func decodeRecord(t *testing.T, raw []byte) *Record {
	t.Helper()
	var r Record
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("record %s: %v", raw, err)
	}
	return &r
}

func functionError(payload string) func(context.Context, *lambda.Deployment, *lambda.Invocation, int) (*lambda.Result, error) {
	return func(_ context.Context, d *lambda.Deployment, _ *lambda.Invocation, _ int) (*lambda.Result, error) {
		return &lambda.Result{FunctionError: "Unhandled", Payload: []byte(payload), ExecutedVersion: d.Version}, nil
	}
}

func TestSuccessGoesToOnSuccessFunction(t *testing.T) {
	eng := &fakeEngine{invoke: func(_ context.Context, d *lambda.Deployment, inv *lambda.Invocation, _ int) (*lambda.Result, error) {
		if d.FunctionName == "worker" {
			return &lambda.Result{Payload: []byte(`{"done":true}`), ExecutedVersion: d.Version}, nil
		}
		return &lambda.Result{Payload: []byte("null"), ExecutedVersion: d.Version}, nil
	}}
	h := newHarness(t, eng)
	h.create("worker")
	sink := h.create("sink")
	h.config("worker", "", nil, nil, sink, "")
	id := h.invoke("worker", "", `{"n":1}`)
	eventually(t, "the record at the destination", func() bool { return len(eng.callsOf("sink")) == 1 })
	w := eng.callsOf("worker")
	if len(w) != 1 || w[0].inv.RequestID != id || string(w[0].inv.Payload) != `{"n":1}` {
		t.Fatalf("worker calls = %+v", w)
	}
	rec := decodeRecord(t, eng.callsOf("sink")[0].inv.Payload)
	want := RequestContext{RequestID: id, FunctionARN: "arn:aws:lambda:us-east-1:123456789012:function:worker:$LATEST", Condition: "Success", ApproximateInvokeCount: 1}
	if rec.Version != "1.0" || rec.RequestContext != want {
		t.Errorf("record = %+v, want context %+v", rec, want)
	}
	if string(rec.RequestPayload) != `{"n":1}` || string(rec.ResponsePayload) != `{"done":true}` {
		t.Errorf("payloads %s / %s", rec.RequestPayload, rec.ResponsePayload)
	}
	if rc := rec.ResponseContext; rc == nil || *rc != (ResponseContext{StatusCode: 200, ExecutedVersion: "$LATEST"}) {
		t.Errorf("responseContext = %+v", rc)
	}
	if _, err := time.Parse(timestampLayout, rec.Timestamp); err != nil {
		t.Errorf("timestamp %q: %v", rec.Timestamp, err)
	}
	h.idle()
	if f, _ := ReadFailed(h.dir, "worker"); len(f) != 0 {
		t.Errorf("failed list after success: %+v", f)
	}
}

func TestFunctionErrorRetries(t *testing.T) {
	tests := []struct {
		name    string
		retries *int
		want    int
	}{
		{"default", nil, 3},
		{"none", ptr(0), 1},
		{"one", ptr(1), 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			eng := &fakeEngine{invoke: functionError(`{"errorMessage":"boom","errorType":"Error"}`)}
			h := newHarness(t, eng)
			h.create("fn")
			h.config("fn", "", tc.retries, nil, "", "arn:aws:s3:::failures")
			id := h.invoke("fn", "", `{"k":"v"}`)
			eventually(t, "the failure record", func() bool { return len(h.objs.all()) == 1 })
			calls := eng.callsOf("fn")
			if len(calls) != tc.want {
				t.Fatalf("%d invocations, want %d", len(calls), tc.want)
			}
			for i, c := range calls {
				if c.inv.RequestID != id {
					t.Errorf("attempt %d has request ID %s, want the event's %s", i, c.inv.RequestID, id)
				}
				if i == 0 {
					continue
				}
				gap := c.at.Sub(calls[i-1].at)
				// Due times are kept to the millisecond.
				if wantGap := testOptions.RetryDelays[i-1]; gap < wantGap-time.Millisecond {
					t.Errorf("attempt %d came %v after the previous one, want ≥ %v", i+1, gap, wantGap)
				}
			}
			for key, body := range h.objs.all() {
				re := regexp.MustCompile(`^failures/aws/lambda/async/fn/\d{4}/\d{2}/\d{2}/\d{4}-\d{2}-\d{2}T\d{2}\.\d{2}\.\d{2}-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
				if !re.MatchString(key) {
					t.Errorf("S3 record key %q", key)
				}
				rec := decodeRecord(t, body)
				if rec.RequestContext.Condition != "RetriesExhausted" || rec.RequestContext.ApproximateInvokeCount != tc.want {
					t.Errorf("record context %+v", rec.RequestContext)
				}
				if rc := rec.ResponseContext; rc == nil || rc.FunctionError != "Unhandled" || rc.StatusCode != 200 {
					t.Errorf("responseContext %+v", rc)
				}
				if string(rec.ResponsePayload) != `{"errorMessage":"boom","errorType":"Error"}` {
					t.Errorf("responsePayload %s", rec.ResponsePayload)
				}
			}
			log := h.logs.of("fn")
			if got := strings.Count(log, "ASYNC RETRY RequestId: "+id); got != tc.want-1 {
				t.Errorf("%d retry lines, want %d:\n%s", got, tc.want-1, log)
			}
			if !strings.Contains(log, "ASYNC FAILED RequestId: "+id+"\tCondition: RetriesExhausted") || !strings.Contains(log, "Record sent to: arn:aws:s3:::failures") {
				t.Errorf("log lacks the failure line:\n%s", log)
			}
		})
	}
}

func TestThrottlesBackOffWithoutUsingRetries(t *testing.T) {
	eng := &fakeEngine{}
	eng.invoke = func(_ context.Context, d *lambda.Deployment, inv *lambda.Invocation, n int) (*lambda.Result, error) {
		if n < 4 {
			return nil, &lambda.ThrottleError{Reason: lambda.ConcurrentInvocationLimitExceeded}
		}
		return &lambda.Result{Payload: []byte(`1`), ExecutedVersion: d.Version}, nil
	}
	h := newHarness(t, eng)
	h.create("fn")
	sink := h.create("sink")
	h.config("fn", "", ptr(0), nil, sink, "")
	h.invoke("fn", "", `{}`)
	eventually(t, "the success record", func() bool { return len(eng.callsOf("sink")) == 1 })
	calls := eng.callsOf("fn")
	if len(calls) != 5 {
		t.Fatalf("%d attempts, want 5 (4 throttled)", len(calls))
	}
	// 10, 20, 40, 40 ms: doubling, capped at BackoffMax.
	for i, want := range []time.Duration{10, 20, 40, 40} {
		if gap := calls[i+1].at.Sub(calls[i].at); gap < (want-1)*time.Millisecond {
			t.Errorf("wait before attempt %d = %v, want ≥ %d ms", i+2, gap, want)
		}
	}
	rec := decodeRecord(t, eng.callsOf("sink")[0].inv.Payload)
	if rec.RequestContext.ApproximateInvokeCount != 1 || rec.RequestContext.Condition != "Success" {
		t.Errorf("record context %+v", rec.RequestContext)
	}
}

func TestReservedConcurrencyZeroFailsAtOnce(t *testing.T) {
	eng := &fakeEngine{}
	h := newHarness(t, eng)
	h.create("fn")
	if _, err := h.svc.PutFunctionConcurrency(context.Background(), "fn", ptr(0)); err != nil {
		t.Fatal(err)
	}
	id := h.invoke("fn", "", `{"x":1}`)
	var failed []FailedEvent
	eventually(t, "the failed-event list", func() bool {
		failed, _ = ReadFailed(h.dir, "fn")
		return len(failed) == 1
	})
	h.idle()
	if n := len(eng.callsOf("fn")); n != 0 {
		t.Errorf("the function ran %d times", n)
	}
	f := failed[0]
	if f.RequestID != id || f.Condition != "RetriesExhausted" || f.Destination != "" || !strings.Contains(f.Reason, "reserved concurrency is 0") {
		t.Errorf("failed event %+v", f)
	}
	rec := f.Record
	if rec.RequestContext.ApproximateInvokeCount != 0 || string(rec.RequestPayload) != `{"x":1}` ||
		rec.ResponseContext == nil || rec.ResponseContext.StatusCode != 429 {
		t.Errorf("record %+v %+v", rec.RequestContext, rec.ResponseContext)
	}
	if log := h.logs.of("fn"); !strings.Contains(log, "ASYNC FAILED RequestId: "+id) || !strings.Contains(log, "No OnFailure destination") {
		t.Errorf("log:\n%s", log)
	}
	if names, _ := FailedFunctions(h.dir); len(names) != 1 || names[0] != "fn" {
		t.Errorf("FailedFunctions = %v", names)
	}
}

func TestEventAgeExceeded(t *testing.T) {
	eng := &fakeEngine{}
	var h *harness
	eng.invoke = func(_ context.Context, d *lambda.Deployment, _ *lambda.Invocation, n int) (*lambda.Result, error) {
		if d.FunctionName == "fn" {
			if n == 0 {
				h.clock.advance(61 * time.Second) // the event is now past its 60 s
			}
			return nil, &lambda.ThrottleError{Reason: lambda.ReservedFunctionConcurrentInvocationLimitExceeded}
		}
		return &lambda.Result{Payload: []byte("null")}, nil
	}
	h = newHarness(t, eng)
	h.create("fn")
	sink := h.create("sink")
	h.config("fn", "", nil, ptr(60), "", sink)
	id := h.invoke("fn", "", `"hello"`)
	eventually(t, "the failure record", func() bool { return len(eng.callsOf("sink")) == 1 })
	if n := len(eng.callsOf("fn")); n != 1 {
		t.Errorf("%d attempts, want 1", n)
	}
	rec := decodeRecord(t, eng.callsOf("sink")[0].inv.Payload)
	if rec.RequestContext.Condition != "EventAgeExceeded" || rec.RequestContext.RequestID != id || rec.RequestContext.ApproximateInvokeCount != 0 {
		t.Errorf("record context %+v", rec.RequestContext)
	}
	if rc := rec.ResponseContext; rc == nil || rc.StatusCode != 429 || string(rec.RequestPayload) != `"hello"` {
		t.Errorf("record %+v %s", rc, rec.RequestPayload)
	}
}

// TestQualifierConfig: the invoked qualifier's config applies, else the
// unqualified function's; an alias resolves when the event is delivered.
func TestQualifierConfig(t *testing.T) {
	eng := &fakeEngine{invoke: functionError(`{"errorMessage":"x"}`)}
	h := newHarness(t, eng)
	h.create("fn")
	ctx := context.Background()
	if _, err := h.svc.PublishVersion(ctx, &lambda.PublishInput{FunctionName: "fn"}); err != nil {
		t.Fatal(err)
	}
	one := "1"
	if _, err := h.svc.CreateAlias(ctx, &lambda.AliasInput{FunctionName: "fn", Name: "live", FunctionVersion: &one}); err != nil {
		t.Fatal(err)
	}
	h.config("fn", "", ptr(0), nil, "", "")
	h.config("fn", "live", ptr(1), nil, "", "")
	tests := []struct {
		qualifier string
		runs      int
		arn       string
	}{
		{"live", 2, "arn:aws:lambda:us-east-1:123456789012:function:fn:live"},
		{"1", 1, "arn:aws:lambda:us-east-1:123456789012:function:fn:1"},
		{"", 1, "arn:aws:lambda:us-east-1:123456789012:function:fn:$LATEST"},
	}
	for i, tc := range tests {
		before := len(eng.callsOf("fn"))
		h.invoke("fn", tc.qualifier, `{}`)
		eventually(t, "the failure of "+tc.qualifier, func() bool {
			f, _ := ReadFailed(h.dir, "fn")
			return len(f) == i+1
		})
		calls := eng.callsOf("fn")[before:]
		if len(calls) != tc.runs {
			t.Errorf("qualifier %q: %d runs, want %d", tc.qualifier, len(calls), tc.runs)
		}
		wantVersion := "1"
		if tc.qualifier == "" {
			wantVersion = "$LATEST"
		}
		for _, c := range calls {
			if c.version != wantVersion {
				t.Errorf("qualifier %q ran version %s", tc.qualifier, c.version)
			}
		}
		f, _ := ReadFailed(h.dir, "fn")
		if got := f[i].Record.RequestContext.FunctionARN; got != tc.arn {
			t.Errorf("qualifier %q: functionArn %s, want %s", tc.qualifier, got, tc.arn)
		}
		if got := f[i].Record.ResponseContext.ExecutedVersion; got != wantVersion {
			t.Errorf("qualifier %q: executedVersion %s", tc.qualifier, got)
		}
	}
}

// TestNothingDroppedSilently: a destination that cannot take the record,
// and a function deleted while its event waits, both end in the
// failed-event list.
func TestNothingDroppedSilently(t *testing.T) {
	release := make(chan struct{})
	eng := &fakeEngine{invoke: func(ctx context.Context, d *lambda.Deployment, _ *lambda.Invocation, n int) (*lambda.Result, error) {
		if n == 0 {
			<-release
		}
		return &lambda.Result{FunctionError: "Unhandled", Payload: []byte(`{"errorMessage":"no"}`), ExecutedVersion: d.Version}, nil
	}}
	h := newHarness(t, eng)
	ctx := context.Background()

	// A destination function deleted before the record is sent.
	h.create("a")
	sink := h.create("sink")
	h.config("a", "", ptr(0), nil, "", sink)
	idA := h.invoke("a", "", `{}`)
	eventually(t, "a's first attempt", func() bool { return len(eng.callsOf("a")) == 1 })
	if err := h.svc.DeleteFunction(ctx, "sink", ""); err != nil {
		t.Fatal(err)
	}
	release <- struct{}{}
	var fa []FailedEvent
	eventually(t, "a's failed event", func() bool { fa, _ = ReadFailed(h.dir, "a"); return len(fa) == 1 })
	if f := fa[0]; f.RequestID != idA || f.Destination != sink || !strings.Contains(f.DestinationError, "ResourceNotFoundException") {
		t.Errorf("failed event %+v", f)
	}
	if log := h.logs.of("a"); !strings.Contains(log, "Record NOT sent to "+sink) {
		t.Errorf("log:\n%s", log)
	}

	// A function deleted between two attempts.
	h.create("b")
	idB := h.invoke("b", "", `{}`)
	eventually(t, "b's first attempt", func() bool { return len(eng.callsOf("b")) == 1 })
	if err := h.svc.DeleteFunction(ctx, "b", ""); err != nil {
		t.Fatal(err)
	}
	release <- struct{}{}
	var fb []FailedEvent
	eventually(t, "b's failed event", func() bool { fb, _ = ReadFailed(h.dir, "b"); return len(fb) == 1 })
	if f := fb[0]; f.RequestID != idB || !strings.Contains(f.Reason, "function not found") || f.Record.RequestContext.ApproximateInvokeCount != 1 {
		t.Errorf("failed event %+v", f)
	}
	h.idle()
}

func TestS3DestinationFailureIsKept(t *testing.T) {
	eng := &fakeEngine{invoke: functionError(`{}`)}
	h := newHarness(t, eng)
	h.objs.err = errors.New("NoSuchBucket: The specified bucket does not exist")
	h.create("fn")
	h.config("fn", "", ptr(0), nil, "", "arn:aws:s3:::gone")
	h.invoke("fn", "", `{}`)
	var f []FailedEvent
	eventually(t, "the failed event", func() bool { f, _ = ReadFailed(h.dir, "fn"); return len(f) == 1 })
	if f[0].Destination != "arn:aws:s3:::gone" || !strings.Contains(f[0].DestinationError, "NoSuchBucket") {
		t.Errorf("failed event %+v", f[0])
	}
}

// TestRecordFormat pins the record's JSON against a golden file.
func TestRecordFormat(t *testing.T) {
	h := newHarness(t, &fakeEngine{})
	at := time.Date(2019, 11, 14, 18, 16, 5, 568_000_000, time.UTC)
	h.clock.advance(time.Until(at))
	e := &event{
		Function: "my-function", RequestID: "e4b46cbf-b738-4d8e-8880-a18cdf61200e",
		Payload: json.RawMessage(`{"ORDER_IDS":["9e07af03","637de236"]}`), Invokes: 3,
		Last: &response{StatusCode: 200, ExecutedVersion: "$LATEST", FunctionError: "Unhandled",
			Payload: json.RawMessage(`{"errorMessage":"RequestId: e4b46cbf-b738-4d8e-8880-a18cdf61200e Process exited before completing request"}`)},
	}
	got, err := json.MarshalIndent(h.q.record(h.svc, e, ConditionRetriesExhausted), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "record.json")
	if *update {
		if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != string(got)+"\n" {
		t.Errorf("record:\n%s\nwant:\n%s", got, want)
	}
	if k := S3Key("my-function", at, "u-u-i-d"); k != "aws/lambda/async/my-function/2019/11/14/2019-11-14T18.16.05-u-u-i-d" {
		t.Errorf("S3Key = %s", k)
	}
}

// TestEnqueueIsDurable: an accepted event is in the store before Enqueue
// returns, and a new queue over the same store delivers it.
func TestEnqueueIsDurable(t *testing.T) {
	dir := t.TempDir()
	m, err := bolt.Open(filepath.Join(dir, "meta.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	q, err := New(Config{Meta: m, Dir: filepath.Join(dir, "async"), Options: testOptions})
	if err != nil {
		t.Fatal(err)
	}
	ev := &lambda.AsyncEvent{FunctionName: "fn", Invocation: lambda.Invocation{RequestID: "r1", Payload: []byte(`{}`)}, Accepted: time.Now()}
	if err := q.Enqueue(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	if n, err := q.Len(context.Background()); err != nil || n != 1 {
		t.Fatalf("Len = %d, %v", n, err)
	}
	q.Close() // never started: nothing delivered
	if n, _ := q.Len(context.Background()); n != 1 {
		t.Fatalf("Len after Close = %d", n)
	}
}

// builder is an Observer and PayloadBuilder: it wraps a source in
// {"built":…} and records what it observes.
type builder struct {
	mu     sync.Mutex
	builds int
	states []string
}

func (b *builder) BuildPayload(source []byte) ([]byte, error) {
	b.mu.Lock()
	b.builds++
	b.mu.Unlock()
	return append(append([]byte(`{"built":`), source...), '}'), nil
}

func (b *builder) Observe(tx meta.Tx, ref string, o Observation) error {
	b.mu.Lock()
	b.states = append(b.states, ref+":"+o.State)
	b.mu.Unlock()
	return nil
}

// TestAddSourceTx: an event added with its payload's source is delivered
// with the payload the Observer builds, built once: the retry stores the
// payload, and the failure record carries it.
func TestAddSourceTx(t *testing.T) {
	eng := &fakeEngine{invoke: functionError(`{"errorMessage":"boom"}`)}
	obs := &builder{}
	h := newObservedHarness(t, eng, obs)
	h.create("fn")
	h.config("fn", "", ptr(1), nil, "", "arn:aws:s3:::failures")
	ev := &lambda.AsyncEvent{FunctionName: "fn", Invocation: lambda.Invocation{RequestID: "r1", InvokedARN: h.svc.FunctionARN("fn"), Payload: []byte(`{"k":"a+b"}`)}}
	err := h.meta.Update(context.Background(), func(tx meta.Tx) error { return h.q.AddSourceTx(tx, ev, "ref1") })
	if err != nil {
		t.Fatal(err)
	}
	h.q.Kick()
	eventually(t, "the failure record", func() bool { return len(h.objs.all()) == 1 })
	calls := eng.callsOf("fn")
	if len(calls) != 2 {
		t.Fatalf("%d attempts, want 2", len(calls))
	}
	for _, c := range calls {
		if string(c.inv.Payload) != `{"built":{"k":"a+b"}}` || c.inv.RequestID != "r1" {
			t.Errorf("attempt with payload %s, request ID %s", c.inv.Payload, c.inv.RequestID)
		}
	}
	var body []byte
	for _, b := range h.objs.all() {
		body = b
	}
	rec := decodeRecord(t, body)
	if string(rec.RequestPayload) != `{"built":{"k":"a+b"}}` {
		t.Errorf("record's requestPayload %s", rec.RequestPayload)
	}
	h.idle()
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if obs.builds != 1 || strings.Join(obs.states, " ") != "ref1:retrying ref1:failed" {
		t.Errorf("%d builds, observed %v", obs.builds, obs.states)
	}
}

// TestAddSourceTxNeedsABuilder: without a PayloadBuilder to build the
// payload, AddSourceTx refuses the event (and aborts the transaction).
func TestAddSourceTxNeedsABuilder(t *testing.T) {
	h := newHarness(t, &fakeEngine{})
	ev := &lambda.AsyncEvent{FunctionName: "fn", Invocation: lambda.Invocation{Payload: []byte(`{}`)}}
	err := h.meta.Update(context.Background(), func(tx meta.Tx) error { return h.q.AddSourceTx(tx, ev, "ref") })
	if err == nil {
		t.Fatal("AddSourceTx without a PayloadBuilder succeeded")
	}
	if n, _ := h.q.Len(context.Background()); n != 0 {
		t.Errorf("%d events queued", n)
	}
}

// TestAddSourceTxRefusesASourceThatIsNotJSON: the queue stores the source
// unchecked inside the event's JSON, so AddSourceTx checks it.
func TestAddSourceTxRefusesASourceThatIsNotJSON(t *testing.T) {
	h := newObservedHarness(t, &fakeEngine{}, &builder{})
	ev := &lambda.AsyncEvent{FunctionName: "fn", Invocation: lambda.Invocation{Payload: []byte(`{"k":`)}}
	err := h.meta.Update(context.Background(), func(tx meta.Tx) error { return h.q.AddSourceTx(tx, ev, "ref") })
	if err == nil {
		t.Fatal("AddSourceTx took a source that is not JSON")
	}
	if n, _ := h.q.Len(context.Background()); n != 0 {
		t.Errorf("%d events queued", n)
	}
}

// TestDeliversItemsStoredInTheOldForm: an event stored before queue items
// kept JSON payloads unencoded (the item's payload base64-encoded, the
// event's payload whole) is still delivered after an upgrade.
func TestDeliversItemsStoredInTheOldForm(t *testing.T) {
	eng := &fakeEngine{}
	obs := &builder{}
	h := newObservedHarness(t, eng, obs)
	h.create("fn")
	at := h.clock.now().UTC().Add(-time.Second)
	ev, _ := json.Marshal(&event{Function: "fn", RequestID: "old-1", InvokedARN: h.svc.FunctionARN("fn"),
		Payload: json.RawMessage(`{"Records":[{"eventName":"ObjectCreated:Put"}]}`), Accepted: at, Ref: "00000000000000aa"})
	item, _ := json.Marshal(&queue.Item{ID: queueName + "-170", Payload: ev, Enqueued: at, Due: at})
	if !bytes.Contains(item, []byte(`"payload":"`)) {
		t.Fatalf("not the old form: %s", item)
	}
	var k [16]byte
	binary.BigEndian.PutUint64(k[:8], uint64(at.UnixMilli()))
	binary.BigEndian.PutUint64(k[8:], 170)
	err := h.meta.Update(context.Background(), func(tx meta.Tx) error {
		return tx.PutDoc("queue/"+queueName, hex.EncodeToString(k[:]), item)
	})
	if err != nil {
		t.Fatal(err)
	}
	h.q.Kick()
	eventually(t, "the delivery", func() bool { return len(eng.callsOf("fn")) == 1 })
	c := eng.callsOf("fn")[0]
	if c.inv.RequestID != "old-1" || string(c.inv.Payload) != `{"Records":[{"eventName":"ObjectCreated:Put"}]}` {
		t.Errorf("delivered %s with payload %s", c.inv.RequestID, c.inv.Payload)
	}
	h.idle()
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if obs.builds != 0 || strings.Join(obs.states, " ") != "00000000000000aa:delivered" {
		t.Errorf("%d builds, observed %v", obs.builds, obs.states)
	}
}

// busyForeground is a Foreground that is saturated while busy is set.
type busyForeground struct {
	busy      atomic.Bool
	mu        sync.Mutex
	deadlines []time.Time
}

func (f *busyForeground) Wait(ctx context.Context, deadline time.Time) error {
	f.mu.Lock()
	f.deadlines = append(f.deadlines, deadline)
	f.mu.Unlock()
	for f.busy.Load() && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
	return nil
}

func TestDeliveriesYieldToForeground(t *testing.T) {
	const maxDefer = 300 * time.Millisecond
	fg := &busyForeground{}
	fg.busy.Store(true)
	eng := &fakeEngine{}
	h := newObservedHarness(t, eng, nil, func(c *Config) {
		c.Foreground = fg
		c.MaxDefer = maxDefer
	})
	h.create("f")

	// Held while the foreground is saturated, delivered when it is not.
	h.invoke("f", "", `{"n":1}`)
	time.Sleep(maxDefer / 3)
	if n := len(eng.callsOf("f")); n != 0 {
		t.Fatalf("%d deliveries while the foreground was saturated", n)
	}
	fg.busy.Store(false)
	eventually(t, "the held event", func() bool { return len(eng.callsOf("f")) == 1 })
	h.idle()

	// A saturation that lasts releases an event MaxDefer after it was
	// accepted, not later.
	fg.busy.Store(true)
	accepted := time.Now()
	h.invoke("f", "", `{"n":2}`)
	eventually(t, "the deferred event", func() bool { return len(eng.callsOf("f")) == 2 })
	if d := time.Since(accepted); d < maxDefer {
		t.Errorf("delivered %v after acceptance while saturated, before MaxDefer (%v)", d, maxDefer)
	}
	fg.mu.Lock()
	last := fg.deadlines[len(fg.deadlines)-1]
	fg.mu.Unlock()
	if d := last.Sub(accepted); d < maxDefer-50*time.Millisecond || d > maxDefer+50*time.Millisecond {
		t.Errorf("deadline given to Wait is %v after acceptance, want MaxDefer (%v)", d, maxDefer)
	}
	h.idle()
}
