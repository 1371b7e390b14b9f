// Package lambda is sluice's function service: the Lambda control plane
// (functions, versions, aliases, resource policies, concurrency, event
// invoke configs, tags), kept as documents in the metadata store, and the
// invocation path that resolves a function name, ARN or qualifier to a
// Deployment and hands it to an Engine that runs it.
//
// The split:
//
//	lambda            domain: configuration, validation, ARNs, versions and
//	                  aliases, policies; Service.Invoke resolves and calls
//	                  the Engine (sync) or the async queue (Event)
//	lambdaapi         the Lambda REST-JSON HTTP adapter (one error mapper)
//	lambda/engine     runs Deployments: instance pool, Runtime API, processes,
//	                  timeouts, concurrency, logs
//
// This file is the contract between the control plane and the engine.
package lambda

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// Deployment is everything the engine needs to run one function version.
// The control plane builds it from the stored configuration; the engine
// never reads the metadata store.
type Deployment struct {
	FunctionName string
	// FunctionARN is the unqualified function ARN.
	FunctionARN string
	// Version is "$LATEST" or a published version number.
	Version string
	Runtime string
	Handler string
	Timeout time.Duration
	// MemoryMB is the configured MemorySize.
	MemoryMB int
	// Environment holds the user's variables (reserved ones excluded).
	Environment map[string]string
	// CodeSHA256 is the hex SHA-256 of the code zip. The engine unpacks
	// each distinct package once and caches it by this hash.
	CodeSHA256 string
	// OpenCode opens the code zip.
	OpenCode func(ctx context.Context) (io.ReadCloser, error)
	// Revision changes whenever the code or configuration of this
	// version changes; instances of an older revision are retired.
	Revision string
	// ReservedConcurrency caps concurrent instances of the function
	// (all versions together); nil means unreserved.
	ReservedConcurrency *int
	// Credentials are the function's own (non-root) credentials, put in
	// its environment with AWS_ENDPOINT_URL.
	Credentials Credentials
	// RecursiveLoop is the function's recursion config:
	// RecursiveLoopTerminate (also "") or RecursiveLoopAllow.
	RecursiveLoop string
}

// Credentials are an access key pair for a function's AWS SDK calls.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
}

// Invocation is one call of a function.
type Invocation struct {
	RequestID string
	// InvokedARN is the ARN as the caller named it, qualifier included;
	// the runtime sees it as Lambda-Runtime-Invoked-Function-Arn.
	InvokedARN string
	Payload    []byte
	// ClientContext is the base64 X-Amz-Client-Context, passed through.
	ClientContext string
	// TraceID is the invocation's X-Ray trace header (Lambda-Runtime-Trace-Id,
	// _X_AMZN_TRACE_ID in the function), with the Lineage of recursive
	// loop detection (see ChainTrace); "" lets the engine make one.
	TraceID string
	// LogTail asks for the last 4 KB of the invocation's log.
	LogTail bool
}

// Result is the outcome of a completed invocation. A function that failed
// (threw, timed out, crashed) still produces a Result, with FunctionError
// set and Payload holding the error JSON, as AWS answers 200 with
// X-Amz-Function-Error.
type Result struct {
	Payload []byte
	// FunctionError is "" on success, else "Unhandled" (or the value the
	// runtime reported).
	FunctionError string
	// ExecutedVersion is the version that ran.
	ExecutedVersion string
	// Log is the invocation's log (function output framed by the
	// START/END/REPORT lines); LogTail callers send its last 4 KB.
	Log []byte
	// Duration is the run time of the handler; InitDuration the cold
	// start, zero when warm.
	Duration     time.Duration
	InitDuration time.Duration
	// MaxMemoryMB is the peak memory of the instance, when measurable.
	MaxMemoryMB int
}

// Engine runs deployments.
type Engine interface {
	// Invoke runs inv on an instance of d, starting one if none is idle.
	// It returns a *ThrottleError when concurrency limits are reached, a
	// *SetupError when the deployment cannot start (missing bootstrap,
	// interpreter or handler), and ctx's error when the caller went away.
	Invoke(ctx context.Context, d *Deployment, inv *Invocation) (*Result, error)
	// Retire stops the instances of a function (all versions), for
	// example after it is deleted or updated.
	Retire(functionName string)
	// Close stops every instance.
	Close() error
}

// ThrottleReason is the Reason of a TooManyRequestsException.
type ThrottleReason string

// Throttle reasons AWS reports.
const (
	ConcurrentInvocationLimitExceeded                 ThrottleReason = "ConcurrentInvocationLimitExceeded"
	ReservedFunctionConcurrentInvocationLimitExceeded ThrottleReason = "ReservedFunctionConcurrentInvocationLimitExceeded"
	FunctionInvocationRateLimitExceeded               ThrottleReason = "FunctionInvocationRateLimitExceeded"
	ReservedFunctionInvocationRateLimitExceeded       ThrottleReason = "ReservedFunctionInvocationRateLimitExceeded"
)

// ThrottleError means the invocation was refused for concurrency.
type ThrottleError struct {
	Reason ThrottleReason
}

func (e *ThrottleError) Error() string { return fmt.Sprintf("lambda: throttled: %s", e.Reason) }

// ErrThrottled matches every *ThrottleError with errors.Is.
var ErrThrottled = errors.New("lambda: throttled")

// Is reports whether target is ErrThrottled.
func (e *ThrottleError) Is(target error) bool { return target == ErrThrottled }

// SetupError means a deployment could not be started; Code is the AWS
// error type (for example "InvalidRuntimeException",
// "Runtime.InvalidEntrypoint").
type SetupError struct {
	Code    string
	Message string
}

func (e *SetupError) Error() string { return e.Code + ": " + e.Message }
