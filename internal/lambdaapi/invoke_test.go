package lambdaapi_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/sluicehq/sluice/internal/lambda"
	"github.com/sluicehq/sluice/internal/server/servertest"
)

func TestInvoke(t *testing.T) {
	e := start(t)
	code := makeZip(t, handlerZip)
	e.create("fn-i", code, func(in *awslambda.CreateFunctionInput) {
		in.Timeout = aws.Int32(7)
		in.MemorySize = aws.Int32(256)
		in.Environment = &types.Environment{Variables: map[string]string{"GREETING": "hi"}}
	})

	out, err := e.c.Invoke(e.ctx, &awslambda.InvokeInput{FunctionName: aws.String("fn-i"), Payload: []byte(`{"x":1}`)})
	if err != nil {
		t.Fatal(err)
	}
	if out.StatusCode != 200 || string(out.Payload) != `{"x":1}` || aws.ToString(out.ExecutedVersion) != "$LATEST" || out.FunctionError != nil {
		t.Errorf("Invoke = %d %s %s %v", out.StatusCode, out.Payload, aws.ToString(out.ExecutedVersion), out.FunctionError)
	}
	d, inv := e.engine.deps[0], e.engine.calls[0]
	if d.FunctionName != "fn-i" || d.FunctionARN != arnOf("fn-i") || d.Version != "$LATEST" || d.Runtime != "python3.12" ||
		d.Handler != "index.handler" || d.Timeout != 7*time.Second || d.MemoryMB != 256 || d.Environment["GREETING"] != "hi" ||
		d.Revision == "" || d.ReservedConcurrency != nil || d.Credentials.AccessKeyID == "" {
		t.Errorf("Deployment = %+v", d)
	}
	if inv.InvokedARN != arnOf("fn-i") || !reUUID.MatchString(inv.RequestID) || inv.LogTail {
		t.Errorf("Invocation = %+v", inv)
	}
	if id, _ := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata); id != inv.RequestID {
		t.Errorf("x-amzn-RequestId %q, want the invocation's %q", id, inv.RequestID)
	}
	rc, err := d.OpenCode(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, code) || sha256b64(code) != base64Hex(d.CodeSHA256) {
		t.Errorf("OpenCode returned %d bytes, CodeSHA256 %s", len(got), d.CodeSHA256)
	}

	// An empty payload is an empty JSON object, as on AWS.
	if _, err := e.c.Invoke(e.ctx, &awslambda.InvokeInput{FunctionName: aws.String("fn-i")}); err != nil {
		t.Fatal(err)
	}
	if p := string(e.engine.calls[1].Payload); p != "{}" {
		t.Errorf("empty payload reached the engine as %q", p)
	}

	// Function errors and the log tail.
	log := strings.Repeat("a", 5000) + "END"
	e.engine.invoke = func(ctx context.Context, d *lambda.Deployment, inv *lambda.Invocation) (*lambda.Result, error) {
		return &lambda.Result{Payload: []byte(`{"errorMessage":"boom"}`), FunctionError: "Unhandled", ExecutedVersion: d.Version, Log: []byte(log)}, nil
	}
	out, err = e.c.Invoke(e.ctx, &awslambda.InvokeInput{FunctionName: aws.String("fn-i"), LogType: types.LogTypeTail})
	if err != nil {
		t.Fatal(err)
	}
	tail, _ := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
	if aws.ToString(out.FunctionError) != "Unhandled" || len(tail) != 4096 || !strings.HasSuffix(string(tail), "END") {
		t.Errorf("function error: %v, log tail %d bytes", aws.ToString(out.FunctionError), len(tail))
	}
	if !e.engine.calls[2].LogTail {
		t.Error("LogTail not passed to the engine")
	}

	// A response over 6 MB becomes Function.ResponseSizeTooLarge.
	e.engine.invoke = func(ctx context.Context, d *lambda.Deployment, inv *lambda.Invocation) (*lambda.Result, error) {
		return &lambda.Result{Payload: bytes.Repeat([]byte("x"), lambda.MaxResponsePayload+1)}, nil
	}
	out, err = e.c.Invoke(e.ctx, &awslambda.InvokeInput{FunctionName: aws.String("fn-i")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.FunctionError) != "Unhandled" || !strings.Contains(string(out.Payload), `"errorType":"Function.ResponseSizeTooLarge"`) ||
		!strings.Contains(string(out.Payload), `"errorMessage":"Response payload size (6291557 bytes) exceeded maximum allowed payload size (6291556 bytes)."`) {
		t.Errorf("large response: %v %.200s", aws.ToString(out.FunctionError), out.Payload)
	}

	// Engine errors.
	engineErrs := []struct {
		name    string
		err     error
		code    string
		status  int
		message string
	}{
		{"throttle", &lambda.ThrottleError{Reason: lambda.ConcurrentInvocationLimitExceeded}, "TooManyRequestsException", 429, "Rate Exceeded."},
		{"bad runtime", &lambda.SetupError{Code: "InvalidRuntimeException", Message: "no python"}, "InvalidRuntimeException", 502, "no python"},
		{"internal", errors.New("disk on fire"), "ServiceException", 500, "internal error"},
	}
	for _, tc := range engineErrs {
		e.engine.invoke = func(ctx context.Context, d *lambda.Deployment, inv *lambda.Invocation) (*lambda.Result, error) {
			return nil, tc.err
		}
		_, err := e.c.Invoke(e.ctx, &awslambda.InvokeInput{FunctionName: aws.String("fn-i")})
		checkErr(t, tc.name, err, tc.code, tc.status, tc.message)
		var tmr *types.TooManyRequestsException
		if errors.As(err, &tmr) && tmr.Reason != types.ThrottleReasonConcurrentInvocationLimitExceeded {
			t.Errorf("throttle Reason = %q", tmr.Reason)
		}
	}
	// A runtime that cannot start is a function error, 200.
	e.engine.invoke = func(ctx context.Context, d *lambda.Deployment, inv *lambda.Invocation) (*lambda.Result, error) {
		return nil, &lambda.SetupError{Code: "Runtime.InvalidEntrypoint", Message: "no bootstrap"}
	}
	out, err = e.c.Invoke(e.ctx, &awslambda.InvokeInput{FunctionName: aws.String("fn-i")})
	if err != nil || aws.ToString(out.FunctionError) != "Unhandled" || string(out.Payload) != `{"errorMessage":"no bootstrap","errorType":"Runtime.InvalidEntrypoint"}` {
		t.Errorf("setup failure: %v %s", err, out.Payload)
	}
	e.engine.invoke = nil

	// Throttle headers on the wire.
	if _, err := e.c.PutFunctionConcurrency(e.ctx, &awslambda.PutFunctionConcurrencyInput{FunctionName: aws.String("fn-i"), ReservedConcurrentExecutions: aws.Int32(0)}); err != nil {
		t.Fatal(err)
	}
	resp, body := e.raw("POST", "/2015-03-31/functions/fn-i/invocations", []byte("{}"), nil)
	if resp.StatusCode != 429 || resp.Header.Get("x-amzn-ErrorType") != "TooManyRequestsException" || resp.Header.Get("Retry-After") == "" ||
		string(body) != `{"Reason":"ReservedFunctionConcurrentInvocationLimitExceeded","Type":"User","message":"Rate Exceeded."}` {
		t.Errorf("reserved 0: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	if _, err := e.c.DeleteFunctionConcurrency(e.ctx, &awslambda.DeleteFunctionConcurrencyInput{FunctionName: aws.String("fn-i")}); err != nil {
		t.Fatal(err)
	}

	// Payload limits and validation.
	_, err = e.c.Invoke(e.ctx, &awslambda.InvokeInput{FunctionName: aws.String("fn-i"), Payload: bytes.Repeat([]byte(" "), lambda.MaxSyncPayload+1)})
	checkErr(t, "sync payload", err, "RequestTooLargeException", 413, "Request must be smaller than 6291456 bytes for the InvokeFunction operation")
	_, err = e.c.Invoke(e.ctx, &awslambda.InvokeInput{FunctionName: aws.String("fn-i"), InvocationType: types.InvocationTypeEvent,
		Payload: bytes.Repeat([]byte(" "), lambda.MaxAsyncPayload+1)})
	checkErr(t, "async payload", err, "RequestTooLargeException", 413, "Request must be smaller than 1048576 bytes for the InvokeFunction operation")
	_, err = e.c.Invoke(e.ctx, &awslambda.InvokeInput{FunctionName: aws.String("fn-i"), Payload: []byte("{oops")})
	checkErr(t, "not JSON", err, "InvalidRequestContentException", 400, "Could not parse request body into json: Could not parse payload into json")
	_, err = e.c.Invoke(e.ctx, &awslambda.InvokeInput{FunctionName: aws.String("nope")})
	checkErr(t, "missing function", err, "ResourceNotFoundException", 404, "Function not found: "+arnOf("nope"))
	_, err = e.c.Invoke(e.ctx, &awslambda.InvokeInput{FunctionName: aws.String("fn-i"), Qualifier: aws.String("nope")})
	checkErr(t, "missing alias", err, "ResourceNotFoundException", 404, "Function not found: "+arnOf("fn-i")+":nope")

	// DryRun and Event.
	calls := len(e.engine.calls)
	out, err = e.c.Invoke(e.ctx, &awslambda.InvokeInput{FunctionName: aws.String("fn-i"), InvocationType: types.InvocationTypeDryRun})
	if err != nil || out.StatusCode != 204 || len(e.engine.calls) != calls {
		t.Errorf("DryRun: %v %d", err, out.StatusCode)
	}
	out, err = e.c.Invoke(e.ctx, &awslambda.InvokeInput{FunctionName: aws.String(arnOf("fn-i") + ":$LATEST"), InvocationType: types.InvocationTypeEvent, Payload: []byte(`{"async":true}`)})
	if err != nil || out.StatusCode != 202 || len(e.engine.calls) != calls {
		t.Fatalf("Event: %v %d", err, out.StatusCode)
	}
	if len(e.queue.events) != 1 {
		t.Fatalf("queue has %d events", len(e.queue.events))
	}
	ev := e.queue.events[0]
	if ev.FunctionName != "fn-i" || ev.Qualifier != "$LATEST" || string(ev.Invocation.Payload) != `{"async":true}` ||
		ev.Invocation.InvokedARN != arnOf("fn-i")+":$LATEST" {
		t.Errorf("queued event = %+v", ev)
	}
	dep, err := e.n.Lambda().Resolve(e.ctx, ev.FunctionName, ev.Qualifier)
	if err != nil || dep.Version != "$LATEST" {
		t.Errorf("Resolve for the queue: %v", err)
	}
	//lint:ignore SA1019 the deprecated InvokeAsync is what this checks
	async, err := e.c.InvokeAsync(e.ctx, &awslambda.InvokeAsyncInput{FunctionName: aws.String("fn-i"), InvokeArgs: strings.NewReader(`{}`)})
	if err != nil || async.Status != 202 || len(e.queue.events) != 2 {
		t.Errorf("InvokeAsync: %v", err)
	}

	// The Go entry point.
	res, err := e.n.Lambda().InvokeARN(e.ctx, arnOf("fn-i"), lambda.RequestResponse, []byte(`{"go":1}`))
	if err != nil || string(res.Result.Payload) != `{"go":1}` {
		t.Errorf("InvokeARN: %v", err)
	}
}

func base64Hex(h string) string {
	raw := make([]byte, len(h)/2)
	for i := range raw {
		raw[i] = unhex(h[2*i])<<4 | unhex(h[2*i+1])
	}
	return base64.StdEncoding.EncodeToString(raw)
}

func unhex(c byte) byte {
	if c >= 'a' {
		return c - 'a' + 10
	}
	return c - '0'
}

func TestInvokeAliasRouting(t *testing.T) {
	e := start(t)
	e.create("fn-w", nil)
	e.publish("fn-w")
	if _, err := e.c.UpdateFunctionConfiguration(e.ctx, &awslambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("fn-w"), Description: aws.String("2")}); err != nil {
		t.Fatal(err)
	}
	e.publish("fn-w")
	if _, err := e.c.CreateAlias(e.ctx, &awslambda.CreateAliasInput{
		FunctionName: aws.String("fn-w"), Name: aws.String("canary"), FunctionVersion: aws.String("1"),
		RoutingConfig: &types.AliasRoutingConfiguration{AdditionalVersionWeights: map[string]float64{"2": 0.5}},
	}); err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for range 100 {
		out, err := e.n.Lambda().Invoke(e.ctx, &lambda.InvokeInput{FunctionName: "fn-w:canary"})
		if err != nil {
			t.Fatal(err)
		}
		count[out.ExecutedVersion]++
	}
	if count["1"] < 15 || count["2"] < 15 || count["1"]+count["2"] != 100 {
		t.Errorf("weighted routing ran versions %v", count)
	}
	out, err := e.c.Invoke(e.ctx, &awslambda.InvokeInput{FunctionName: aws.String("fn-w"), Qualifier: aws.String("2")})
	if err != nil || aws.ToString(out.ExecutedVersion) != "2" {
		t.Errorf("Invoke version 2: %v", err)
	}
	if inv := e.engine.calls[len(e.engine.calls)-1]; inv.InvokedARN != arnOf("fn-w")+":2" {
		t.Errorf("InvokedARN %s", inv.InvokedARN)
	}
}

// TestInvokeBootstrapNotExecutable drives the node's real engine with a
// custom runtime whose bootstrap lacks the executable bit: the invocation is
// answered 200 with a Runtime.InvalidEntrypoint function error, as AWS
// answers, and an Event invocation is accepted (202) into the durable queue.
func TestInvokeBootstrapNotExecutable(t *testing.T) {
	n := servertest.Start(t)
	c := awslambda.NewFromConfig(n.AWSConfig(), func(o *awslambda.Options) { o.RetryMaxAttempts = 1 })
	ctx := context.Background()
	if _, err := c.CreateFunction(ctx, &awslambda.CreateFunctionInput{
		FunctionName: aws.String("idle"), Role: aws.String(role), Runtime: types.RuntimeProvidedal2023,
		Handler: aws.String("bootstrap"), Code: &types.FunctionCode{ZipFile: makeZip(t, map[string]string{"bootstrap": "#!/bin/sh\nexit 3\n"})},
	}); err != nil {
		t.Fatal(err)
	}
	out, err := c.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("idle")})
	if err != nil {
		t.Fatal(err)
	}
	if out.StatusCode != 200 || aws.ToString(out.FunctionError) != "Unhandled" || !strings.Contains(string(out.Payload), "Runtime.InvalidEntrypoint") {
		t.Fatalf("status %d, function error %q, payload %s", out.StatusCode, aws.ToString(out.FunctionError), out.Payload)
	}
	ev, err := c.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("idle"), InvocationType: types.InvocationTypeEvent})
	if err != nil {
		t.Fatal(err)
	}
	if ev.StatusCode != 202 {
		t.Fatalf("Event invocation: status %d", ev.StatusCode)
	}
}

// TestInvokeRefusesTenantAndDurableName: an invocation naming a tenant or
// a durable execution asks for what no sluice function is configured for.
func TestInvokeRefusesTenantAndDurableName(t *testing.T) {
	e := start(t)
	e.create("fn-t", nil)
	for name, in := range map[string]*awslambda.InvokeInput{
		"TenantId":             {FunctionName: aws.String("fn-t"), TenantId: aws.String("tenant-a")},
		"DurableExecutionName": {FunctionName: aws.String("fn-t"), DurableExecutionName: aws.String("run-1")},
	} {
		_, err := e.c.Invoke(e.ctx, in)
		checkErr(t, name, err, "InvalidParameterValueException", 400, "sluice does not support "+name)
	}
	if len(e.engine.calls) != 0 {
		t.Errorf("%d invocations reached the engine", len(e.engine.calls))
	}
}
