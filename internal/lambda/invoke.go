package lambda

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/internal/meta"
)

// InvocationType says how Invoke runs a function.
type InvocationType string

// The invocation types.
const (
	// RequestResponse runs the function and returns its result.
	RequestResponse InvocationType = "RequestResponse"
	// Event queues the invocation for asynchronous delivery.
	Event InvocationType = "Event"
	// DryRun checks the parameters and permissions only.
	DryRun InvocationType = "DryRun"
)

// InvokeInput is an Invoke request.
type InvokeInput struct {
	// FunctionName is a name, partial ARN or ARN, optionally qualified.
	FunctionName string
	// Qualifier is a version, alias or "$LATEST"; "" when not given.
	Qualifier string
	// InvocationType "" means RequestResponse.
	InvocationType InvocationType
	// LogTail asks for the end of the log (RequestResponse only).
	LogTail bool
	// ClientContext is the base64 X-Amz-Client-Context.
	ClientContext string
	Payload       []byte
	// RequestID is the invocation's ID (a UUID), when the caller already
	// has one for the request, as the Lambda API does; Invoke makes one
	// when it is "".
	RequestID string
}

// InvokeOutput is the outcome of Invoke.
type InvokeOutput struct {
	// Result is the completed invocation (RequestResponse only).
	Result *Result
	// ExecutedVersion is the version that ran, or would run.
	ExecutedVersion string
	// RequestID identifies the invocation.
	RequestID string
}

// Time a throttled caller is told to wait.
const throttleRetryAfter = time.Second

// maxClientContext bounds the base64 X-Amz-Client-Context.
const maxClientContext = 3583

// Invoke resolves a function reference (alias routing included) and runs
// the invocation: on the engine for RequestResponse, into the async queue
// for Event, nowhere for DryRun. A function that fails still yields a
// Result (FunctionError set). Errors: ValidationException,
// ResourceNotFoundException, InvalidParameterValueException,
// RequestTooLargeException, InvalidRequestContentException,
// TooManyRequestsException (Reason set), the code of an engine
// *SetupError, ServiceException when no engine or queue is configured,
// and ctx's error.
func (s *Service) Invoke(ctx context.Context, in *InvokeInput) (*InvokeOutput, error) {
	typ := in.InvocationType
	if typ == "" {
		typ = RequestResponse
	}
	r, err := s.parseName(in.FunctionName, in.Qualifier, kindNamespaced)
	if err != nil {
		return nil, err
	}
	var v violations
	switch typ {
	case RequestResponse, Event, DryRun:
	default:
		t := string(typ)
		v.add("invocationType", &t, "Member must satisfy enum value set: [Event, RequestResponse, DryRun]")
	}
	if err := v.err(CodeValidation); err != nil {
		return nil, err
	}
	limit := MaxSyncPayload
	if typ == Event {
		limit = MaxAsyncPayload
	}
	if len(in.Payload) > limit {
		return nil, errorf(CodeRequestTooLarge, "Request must be smaller than %d bytes for the InvokeFunction operation", limit)
	}
	if len(in.Payload) > 0 && !json.Valid(in.Payload) {
		var x any
		err := json.Unmarshal(in.Payload, &x)
		return nil, errorf(CodeInvalidRequestContent, "Could not parse request body into json: Could not parse payload into json: %v", err)
	}
	if cc := in.ClientContext; cc != "" {
		if _, err := base64.StdEncoding.DecodeString(cc); err != nil || len(cc) > maxClientContext {
			return nil, invalidParam("Client context must be a valid Base64-encoded JSON object.")
		}
	}
	payload := in.Payload
	if len(payload) == 0 {
		payload = []byte("{}")
	}
	d, err := s.resolve(ctx, r)
	if err != nil {
		return nil, err
	}
	id := in.RequestID
	if id == "" {
		id = newUUID()
	}
	inv := &Invocation{
		RequestID:     id,
		InvokedARN:    s.qualifiedARN(r.name, r.qualifier),
		Payload:       payload,
		ClientContext: in.ClientContext,
		LogTail:       in.LogTail && typ == RequestResponse,
	}
	out := &InvokeOutput{ExecutedVersion: d.Version, RequestID: inv.RequestID}
	switch typ {
	case DryRun:
		return out, nil
	case Event:
		if s.queue == nil {
			return nil, errorf(CodeService, "Asynchronous invocation (InvocationType Event) is not available: this sluice server has no event queue.")
		}
		ev := &AsyncEvent{FunctionName: r.name, Qualifier: r.qualifier, Invocation: *inv, Accepted: s.now()}
		if err := s.queue.Enqueue(ctx, ev); err != nil {
			return nil, err
		}
		return out, nil
	}
	res, err := s.run(ctx, d, inv)
	if err != nil {
		return nil, err
	}
	out.Result = res
	if res.ExecutedVersion != "" {
		out.ExecutedVersion = res.ExecutedVersion
	}
	return out, nil
}

// InvokeARN invokes a function by ARN (or name, optionally qualified) from
// Go, for sluice's own event sources (S3 notifications, Object Lambda,
// Batch Operations). See Invoke for errors.
func (s *Service) InvokeARN(ctx context.Context, functionARN string, typ InvocationType, payload []byte) (*InvokeOutput, error) {
	return s.Invoke(ctx, &InvokeInput{FunctionName: functionARN, InvocationType: typ, Payload: payload})
}

// Run runs inv on d, a Deployment from Resolve, as a RequestResponse
// Invoke does once it has resolved the function: the asynchronous queue
// delivers events with it. A function that fails yields a Result with
// FunctionError set. Errors: TooManyRequestsException (reserved
// concurrency 0, or the engine's limits), the code of an engine
// *SetupError that is an API exception, ServiceException when no engine is
// configured, and ctx's error.
func (s *Service) Run(ctx context.Context, d *Deployment, inv *Invocation) (*Result, error) {
	return s.run(ctx, d, inv)
}

// run calls the engine and maps its outcome to the API's.
func (s *Service) run(ctx context.Context, d *Deployment, inv *Invocation) (*Result, error) {
	if s.engine == nil {
		return nil, errorf(CodeService, "This sluice server has no function engine configured; functions cannot run.")
	}
	if d.ReservedConcurrency != nil && *d.ReservedConcurrency == 0 {
		return nil, throttled(ReservedFunctionConcurrentInvocationLimitExceeded)
	}
	res, err := s.engine.Invoke(ctx, d, inv)
	var (
		te *ThrottleError
		se *SetupError
	)
	switch {
	case errors.As(err, &te):
		return nil, throttled(te.Reason)
	case errors.As(err, &se) && strings.HasSuffix(se.Code, "Exception"):
		return nil, errorf(se.Code, "%s", se.Message)
	case errors.As(err, &se):
		// A runtime that cannot start ("Runtime.InvalidEntrypoint", ...)
		// is a function error, as AWS reports it: 200 and an error payload.
		payload, _ := json.Marshal(&struct {
			ErrorMessage string `json:"errorMessage"`
			ErrorType    string `json:"errorType"`
		}{se.Message, se.Code})
		return &Result{Payload: payload, FunctionError: "Unhandled", ExecutedVersion: d.Version}, nil
	case err != nil:
		return nil, err
	}
	if len(res.Payload) > MaxResponsePayload {
		x := *res
		x.FunctionError = "Unhandled"
		x.Payload, _ = json.Marshal(&struct {
			ErrorMessage string `json:"errorMessage"`
			ErrorType    string `json:"errorType"`
		}{ResponseTooLargeMessage(int64(len(res.Payload))), "Function.ResponseSizeTooLarge"})
		res = &x
	}
	return res, nil
}

// ResponseTooLargeMessage is the errorMessage of a
// Function.ResponseSizeTooLarge error, for a response of size bytes.
func ResponseTooLargeMessage(size int64) string {
	return "Response payload size (" + strconv.FormatInt(size, 10) + " bytes) exceeded maximum allowed payload size (" +
		strconv.Itoa(MaxResponsePayload) + " bytes)."
}

func throttled(reason ThrottleReason) *Error {
	return &Error{Code: CodeTooManyRequests, Message: "Rate Exceeded.", Reason: reason, RetryAfter: throttleRetryAfter}
}

// Resolve returns the Deployment a function reference (name or ARN,
// optionally qualified; qualifier may also be given apart) runs, routing
// between an alias's versions by their weights. It is the entry point of
// the asynchronous queue when it delivers an event. Errors:
// ResourceNotFoundException, ValidationException.
func (s *Service) Resolve(ctx context.Context, name, qualifier string) (*Deployment, error) {
	r, err := s.parseName(name, qualifier, kindNamespaced)
	if err != nil {
		return nil, err
	}
	return s.resolve(ctx, r)
}

// resolve returns the Deployment r runs: from the deployment cache while
// nothing has been written since it was loaded (see resolvecache.go),
// else from the metadata store.
func (s *Service) resolve(ctx context.Context, r ref) (*Deployment, error) {
	if res := s.deployments.get(r); res != nil {
		return res.pick(), nil
	}
	var (
		gen     = s.deployments.gen.Load()
		mint    bool
		f       *function
		alias   *Alias
		configs []*VersionConfig
		arn     = s.FunctionARN(r.name)
		ident   Credentials
	)
	err := s.meta.View(ctx, func(tx meta.Tx) error {
		var err error
		if f, alias, configs, err = s.resolveTargets(tx, r); err != nil {
			return err
		}
		if s.keys != nil {
			id, secret, ok, err := s.keys.FunctionKey(tx, arn)
			if err != nil {
				return err
			}
			mint = !ok
			ident = Credentials{AccessKeyID: id, SecretAccessKey: secret}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if mint {
		err := s.meta.Update(ctx, func(tx meta.Tx) error {
			id, secret, err := s.keys.PutFunctionKey(tx, arn, f.Latest.Role)
			ident = Credentials{AccessKeyID: id, SecretAccessKey: secret}
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	res := &resolution{gen: gen, alias: alias}
	for _, c := range configs {
		d := &Deployment{
			FunctionName:        f.Name,
			FunctionARN:         arn,
			Version:             c.Version,
			Runtime:             c.Runtime,
			Handler:             c.Handler,
			Timeout:             time.Duration(c.Timeout) * time.Second,
			MemoryMB:            c.MemorySize,
			Environment:         c.Environment,
			CodeSHA256:          c.CodeSHA256,
			OpenCode:            s.openCode(c.CodeSHA256),
			Revision:            configHash(c), // not RevisionId: publishing changes that without changing $LATEST
			ReservedConcurrency: f.Reserved,
			Credentials:         ident,
			RecursiveLoop:       f.RecursiveLoop,
		}
		if alias == nil {
			res.d = d
			break
		}
		if res.deployments == nil {
			res.deployments = make(map[string]*Deployment, len(configs))
		}
		res.deployments[c.Version] = d
	}
	s.deployments.put(r, res)
	return res.pick(), nil
}

// resolveTargets reads what r can run: for a version ($LATEST or a
// number), its configuration; for an alias, the alias and the
// configuration of every version of its routing (its version first).
func (s *Service) resolveTargets(tx meta.Tx, r ref) (*function, *Alias, []*VersionConfig, error) {
	q := r.qualifier
	if q == "" || q == LatestVersion || isVersionNumber(q) || strings.Contains(q, ".") {
		f, c, err := s.resolveConfig(tx, r)
		if err != nil {
			return nil, nil, nil, err
		}
		return f, nil, []*VersionConfig{c}, nil
	}
	a, err := getDoc[Alias](tx, kindAlias, r.name+"/"+q)
	if errors.Is(err, meta.ErrNoSuchDoc) {
		// Reports the missing function or alias.
		f, c, err := s.resolveConfig(tx, r)
		if err != nil {
			return nil, nil, nil, err
		}
		return f, nil, []*VersionConfig{c}, nil
	}
	if err != nil {
		return nil, nil, nil, err
	}
	versions := []string{a.FunctionVersion}
	for v := range a.Weights {
		versions = append(versions, v)
	}
	var (
		f       *function
		configs []*VersionConfig
	)
	for _, v := range versions {
		fv, c, err := s.resolveConfig(tx, ref{name: r.name, qualifier: v})
		if err != nil {
			return nil, nil, nil, err
		}
		f, configs = fv, append(configs, c)
	}
	return f, a, configs, nil
}
