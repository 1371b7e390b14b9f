// Package objectlambda is the data plane of S3 Object Lambda access
// points: it builds the event AWS sends a transforming function, invokes
// the function synchronously, and answers the caller from what the
// function returns — for GET, from the WriteGetObjectResponse call the
// function makes, streamed to the waiting caller as it arrives (the
// rendezvous of an output token with a waiting request); for HEAD and LIST,
// from the function's JSON result.
//
// The S3 adapter (s3api) resolves Object Lambda access points, verifies
// and authorizes the caller, and hands the requests of transformed actions
// to Service.Serve. The Object Lambda surface of the router (requests signed
// for s3-object-lambda, POST /WriteGetObjectResponse) is Service.ServeHTTP:
// it serves WriteGetObjectResponse and passes everything else to S3.
package objectlambda

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice/internal/iam"
	"github.com/sluicehq/sluice/internal/lambda"
	"github.com/sluicehq/sluice/internal/sigv4"
)

// AccessPointParam is the query parameter that addresses a supporting
// access point (by alias) in the inputS3Url sluice hands a function: the
// URL's path stays exactly /<key>, as on AWS, and its host is the node's
// own endpoint, which needs no DNS.
const AccessPointParam = "x-sluice-access-point"

// DefaultTimeout is how long a GET through an Object Lambda access point
// waits for the function to complete its WriteGetObjectResponse, as on
// AWS.
const DefaultTimeout = 60 * time.Second

// presignExpiry is how long an inputS3Url stays valid.
const presignExpiry = time.Hour

// Invoker runs functions synchronously (lambda.Service).
type Invoker interface {
	// InvokeARN invokes a function by name or ARN; errors are
	// *lambda.Error values for what Lambda's API would refuse.
	InvokeARN(ctx context.Context, functionARN string, typ lambda.InvocationType, payload []byte) (*lambda.InvokeOutput, error)
}

// Secrets resolves an access key to its secret (iam.Service), so that
// inputS3Url is presigned as the caller.
type Secrets interface {
	Secret(ctx context.Context, accessKeyID string) (string, error)
}

// Principals maps an access key to its principal (iam.Service).
type Principals interface {
	Principal(ctx context.Context, accessKeyID string) (*iam.Principal, error)
}

// Config holds a Service's dependencies.
type Config struct {
	Invoker    Invoker
	Secrets    Secrets
	Principals Principals
	// Verifier authenticates WriteGetObjectResponse calls.
	Verifier *sigv4.Verifier
	// S3 serves the requests of the Object Lambda surface that are not
	// WriteGetObjectResponse (data requests signed for s3-object-lambda).
	S3        http.Handler
	Region    string
	AccountID string
	// Timeout bounds a GET from its invocation to the end of the
	// transformed response; 0 means DefaultTimeout.
	Timeout time.Duration
	Logger  *slog.Logger
}

// Service is the Object Lambda data plane.
type Service struct {
	cfg      Config
	log      *slog.Logger
	timeout  time.Duration
	endpoint atomic.Pointer[string]
	hostID   string

	mu      sync.Mutex
	pending map[string]*pending // by output token

	// ctx is cancelled by Close; invocations run under it (not under the
	// caller's request, so a function finishing after its response is
	// complete is not killed), and wg waits for them.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New returns a Service.
func New(cfg Config) *Service {
	s := &Service{cfg: cfg, log: cfg.Logger, timeout: cfg.Timeout, pending: map[string]*pending{}}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.timeout <= 0 {
		s.timeout = DefaultTimeout
	}
	s.hostID = randomHex(24)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s
}

// SetEndpoint sets the base URL (http://host:port) functions reach this
// node at, the host of every inputS3Url. Until it is set, the address
// the caller's connection arrived on is used.
func (s *Service) SetEndpoint(url string) { s.endpoint.Store(&url) }

// Close cancels the invocations still running and waits for them. It is
// safe to call more than once.
func (s *Service) Close() error {
	s.cancel()
	s.wg.Wait()
	return nil
}

// ServeHTTP serves the Object Lambda surface: POST /WriteGetObjectResponse
// here, every other request (data requests signed for s3-object-lambda)
// by S3.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost && r.URL.Path == "/WriteGetObjectResponse" {
		s.serveWGOR(w, r)
		return
	}
	if s.cfg.S3 == nil {
		writeError(w, r, randomHex(8), s.hostID, errorf(http.StatusNotImplemented, "NotImplemented", "Object Lambda data requests are not served by this handler."))
		return
	}
	s.cfg.S3.ServeHTTP(w, r)
}

// Error is an Object Lambda error as the caller (or a function calling
// WriteGetObjectResponse) sees it.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func errorf(status int, code, message string) *Error {
	return &Error{Status: status, Code: code, Message: message}
}

// The errors S3 Object Lambda answers callers with.
var (
	ErrResponseNotReceived = errorf(http.StatusInternalServerError, "LambdaResponseNotReceived",
		"The Lambda exited without successfully calling WriteGetObjectResponse.")
	ErrTimeout = errorf(http.StatusInternalServerError, "LambdaTimeout",
		"The Lambda function did not respond in the allowed time.")
)

func runtimeError(detail string) *Error {
	msg := "The Lambda function failed during execution."
	if detail != "" {
		msg += " " + detail
	}
	return errorf(http.StatusInternalServerError, "LambdaRuntimeError", msg)
}

func invalidResponse(detail string) *Error {
	return errorf(http.StatusBadRequest, "LambdaInvalidResponse", "The Lambda function returned an invalid response: "+detail)
}

// invokeError maps an error of the Lambda service to the caller's error.
func invokeError(err error) error {
	var le *lambda.Error
	if !errors.As(err, &le) {
		return err
	}
	switch le.Code {
	case lambda.CodeResourceNotFound:
		return errorf(http.StatusNotFound, "LambdaNotFound", "The AWS Lambda function was not found: "+le.Message)
	case lambda.CodeTooManyRequests:
		return errorf(http.StatusServiceUnavailable, "SlowDown", "Please reduce your request rate: the AWS Lambda function was throttled.")
	case lambda.CodeAccessDenied:
		return errorf(http.StatusForbidden, "LambdaPermissionError", "The caller is not authorized to invoke the AWS Lambda function.")
	}
	return errorf(http.StatusBadRequest, "LambdaInvocationFailed", "The AWS Lambda function could not be invoked: "+le.Code+": "+le.Message)
}

func randomHex(n int) string {
	b := make([]byte, (n+1)/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)[:n]
}

// requestID is an S3-style request ID.
func requestID() string { return strings.ToUpper(randomHex(16)) }
