// Package async delivers asynchronous (Event) function invocations with
// Lambda's semantics. Queue implements lambda.AsyncQueue over a durable
// queue.Queue in the metadata store: an event is committed before Invoke
// answers 202, survives a crash, and is delivered at least once.
//
// Delivery follows AWS's asynchronous invocation rules, decided by the
// event invoke config of the invoked qualifier (else of the unqualified
// function), read when the event is delivered:
//
//   - A function error (the function threw, timed out, crashed, ran out of
//     memory, could not start) is retried up to MaximumRetryAttempts times
//     (default 2), about one minute and then two minutes later.
//   - A throttle (429) or a system error (5xx, the engine unavailable) is
//     retried with exponential backoff from one second doubling to five
//     minutes, until the event is MaximumEventAgeInSeconds old (default
//     21600 s, six hours).
//   - Reserved concurrency 0 sends an event straight to failure handling,
//     without retries.
//   - The qualifier (alias routing included) is resolved at each delivery.
//
// An event that succeeds goes, as an invocation record, to the OnSuccess
// destination; one given up on (RetriesExhausted, EventAgeExceeded) to the
// OnFailure destination: a Lambda function (invoked asynchronously with
// the record as payload) or, for failures, an S3 bucket (the record as the
// object aws/lambda/async/<function>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<uuid>).
// Nothing is dropped silently: an event given up on without a destination,
// or whose destination could not take the record, is appended to the
// function's failed-event list under Config.Dir (ReadFailed reads it;
// `sluice fn events NAME --failed` prints it) and announced by a line in the
// function's log.
package async

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/sluicehq/sluice/internal/lambda"
	"github.com/sluicehq/sluice/internal/meta"
	"github.com/sluicehq/sluice/internal/queue"
)

// AWS's defaults for asynchronous invocation.
const (
	// DefaultMaximumRetryAttempts is how often a function error is retried.
	DefaultMaximumRetryAttempts = 2
	// DefaultMaximumEventAge is how long an event is kept.
	DefaultMaximumEventAge = 6 * time.Hour
	// DefaultBackoffMin and DefaultBackoffMax bound the backoff after a
	// throttle or system error.
	DefaultBackoffMin = time.Second
	DefaultBackoffMax = 5 * time.Minute
	// DefaultWorkers is how many events are delivered at once.
	DefaultWorkers = 32
)

// DefaultRetryDelays are the waits before the second and third attempts
// after function errors.
var DefaultRetryDelays = []time.Duration{time.Minute, 2 * time.Minute}

// Conditions of an invocation record.
const (
	ConditionSuccess          = "Success"
	ConditionRetriesExhausted = "RetriesExhausted"
	ConditionEventAgeExceeded = "EventAgeExceeded"
)

// Functions is what the queue needs of the function service.
// *lambda.Service implements it.
type Functions interface {
	// Resolve returns the Deployment a function reference runs; a
	// function or alias that does not exist is a ResourceNotFoundException.
	Resolve(ctx context.Context, name, qualifier string) (*lambda.Deployment, error)
	// Run runs an invocation; see lambda.Service.Run for its errors.
	Run(ctx context.Context, d *lambda.Deployment, inv *lambda.Invocation) (*lambda.Result, error)
	// GetEventInvokeConfig returns the config of a qualifier ("" for the
	// unqualified function), or a ResourceNotFoundException if it has none.
	GetEventInvokeConfig(ctx context.Context, name, qualifier string) (*lambda.EventInvokeConfig, error)
	// InvokeARN invokes a function by ARN, for Lambda destinations.
	InvokeARN(ctx context.Context, arn string, typ lambda.InvocationType, payload []byte) (*lambda.InvokeOutput, error)
	// FunctionARN returns a function's unqualified ARN.
	FunctionARN(name string) string
}

// Objects writes objects into sluice's buckets, for S3 destinations.
type Objects interface {
	// PutObject stores body as bucket/key.
	PutObject(ctx context.Context, bucket, key, contentType string, body []byte) error
}

// LogWriter appends lines to a function's log (the engine's log store).
type LogWriter interface {
	Append(function string, p []byte) error
}

// Options are the tunables of delivery; zero values mean AWS's defaults.
// Tests shorten the delays.
type Options struct {
	// Workers is the number of events delivered at once.
	Workers int
	// RetryDelays are the waits before retry 1, 2, ... after a function
	// error; the last repeats.
	RetryDelays []time.Duration
	// BackoffMin is the first wait after a throttle or system error; it
	// doubles with each further one up to BackoffMax.
	BackoffMin time.Duration
	BackoffMax time.Duration
	// Poll is how often the queue looks for due events unprompted.
	Poll time.Duration
	// MaxDefer is the longest an event waits, counted from when it was
	// accepted, while Config.Foreground reports the server saturated
	// (default DefaultMaxDefer).
	MaxDefer time.Duration
}

// DefaultMaxDefer is how long an event may be held back for the server's
// clients: within the minute or so AWS documents for S3 event
// notifications to arrive.
const DefaultMaxDefer = 30 * time.Second

// Foreground is the server's load from its clients (*load.Gauge).
type Foreground interface {
	// Wait returns once the server is not saturated by its clients, or
	// at deadline, or with ctx's error when ctx ends first.
	Wait(ctx context.Context, deadline time.Time) error
}

// Config configures a Queue.
type Config struct {
	Meta meta.Store
	// Dir keeps the failed-event lists (see Dir).
	Dir string
	// Objects writes S3 destination records; nil makes S3 destinations
	// fail (the record then goes to the failed-event list).
	Objects Objects
	// Logs receives the lines that announce retries and given-up events;
	// nil writes none.
	Logs LogWriter
	// Observer, if set, is told what became of each attempt at an event
	// added with a reference (AddTx), in the transaction that records it.
	Observer Observer
	// Foreground, if set, holds deliveries back (each at most MaxDefer
	// after its event was accepted) while the server's clients saturate
	// it: deliveries are background work, and a burst of S3 requests runs
	// at full speed while the events it causes wait, durably, in the
	// queue. Nil delivers every event as soon as a worker is free.
	Foreground Foreground
	Options
	Logger *slog.Logger
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Queue is the asynchronous invocation queue. New, then Start once the
// function service exists (it needs the queue itself), then Close.
type Queue struct {
	cfg    Config
	log    *slog.Logger
	q      *queue.Queue
	failed *failedList

	mu  sync.Mutex
	fns Functions
}

var _ lambda.AsyncQueue = (*Queue)(nil)

// queueName is the queue's name in the metadata store.
const queueName = "lambda-async"

// New returns a Queue that keeps its events in cfg.Meta.
func New(cfg Config) (*Queue, error) {
	if cfg.Meta == nil || cfg.Dir == "" {
		return nil, errors.New("async: Meta and Dir are required")
	}
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers
	}
	if len(cfg.RetryDelays) == 0 {
		cfg.RetryDelays = DefaultRetryDelays
	}
	if cfg.BackoffMin <= 0 {
		cfg.BackoffMin = DefaultBackoffMin
	}
	if cfg.BackoffMax <= 0 {
		cfg.BackoffMax = DefaultBackoffMax
	}
	if cfg.MaxDefer <= 0 {
		cfg.MaxDefer = DefaultMaxDefer
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	failed, err := openFailedList(cfg.Dir)
	if err != nil {
		return nil, err
	}
	q := &Queue{cfg: cfg, log: log, failed: failed}
	qc := queue.Config{
		Meta: cfg.Meta, Name: queueName, Handler: q.handle,
		Workers: cfg.Workers, Poll: cfg.Poll, Logger: log, Now: cfg.Now,
	}
	if fg := cfg.Foreground; fg != nil {
		qc.Admit = func(ctx context.Context, it queue.Item) error {
			return fg.Wait(ctx, it.Enqueued.Add(cfg.MaxDefer))
		}
	}
	q.q = queue.New(qc)
	return q, nil
}

// Start starts delivering events (including those left by an earlier run)
// to fns.
func (q *Queue) Start(fns Functions) {
	q.mu.Lock()
	q.fns = fns
	q.mu.Unlock()
	q.q.Start()
}

// Close stops delivery and waits for the deliveries in progress to give up
// their events, which stay queued for the next Start.
func (q *Queue) Close() error { return q.q.Close() }

// Len returns the number of queued events (due or waiting for a retry).
func (q *Queue) Len(ctx context.Context) (int, error) { return q.q.Len(ctx) }

// event is a queued invocation with its delivery state, as stored.
type event struct {
	Function      string          `json:"function"`
	Qualifier     string          `json:"qualifier,omitempty"`
	RequestID     string          `json:"requestId"`
	InvokedARN    string          `json:"invokedArn"`
	Payload       json.RawMessage `json:"payload,omitempty"`
	ClientContext string          `json:"clientContext,omitempty"`
	Accepted      time.Time       `json:"accepted"`
	// Invokes counts the runs of the function that ended in a function
	// error; Backoffs the throttles and system errors since the last run.
	Invokes  int `json:"invokes,omitempty"`
	Backoffs int `json:"backoffs,omitempty"`
	// Last is the latest outcome, for the record of a given-up event.
	Last *response `json:"last,omitempty"`
	// TraceID is the invocation's trace header (recursive loop detection);
	// Ref the caller's reference for the Observer (see AddTx).
	TraceID string `json:"traceId,omitempty"`
	Ref     string `json:"ref,omitempty"`
	// Source, in place of Payload, is what the Observer's PayloadBuilder
	// builds the payload from when the event is handled (AddSourceTx).
	Source json.RawMessage `json:"source,omitempty"`
	// built is the source the payload was built from, during the attempt
	// that built it (for the Observer); it is not stored.
	built json.RawMessage
}

// response is what an attempt ended with.
type response struct {
	StatusCode      int             `json:"statusCode"`
	ExecutedVersion string          `json:"executedVersion,omitempty"`
	FunctionError   string          `json:"functionError,omitempty"`
	Payload         json.RawMessage `json:"payload,omitempty"`
}

// Enqueue stores ev durably (the transaction has committed when it
// returns) and wakes a worker.
func (q *Queue) Enqueue(ctx context.Context, ev *lambda.AsyncEvent) error {
	raw, err := json.Marshal(q.newEvent(ev, ""))
	if err != nil {
		return err
	}
	_, err = q.q.Enqueue(ctx, raw, 0)
	return err
}

// newEvent is the stored form of a newly accepted event.
func (q *Queue) newEvent(ev *lambda.AsyncEvent, ref string) *event {
	e := &event{
		Function:      ev.FunctionName,
		Qualifier:     ev.Qualifier,
		RequestID:     ev.Invocation.RequestID,
		InvokedARN:    ev.Invocation.InvokedARN,
		Payload:       asJSON(ev.Invocation.Payload),
		ClientContext: ev.Invocation.ClientContext,
		Accepted:      ev.Accepted.UTC(),
		TraceID:       ev.Invocation.TraceID,
		Ref:           ref,
	}
	if e.RequestID == "" {
		e.RequestID = newUUID()
	}
	if e.Accepted.IsZero() {
		e.Accepted = q.cfg.Now().UTC()
	}
	return e
}

// settings are the event invoke config that applies to an event.
type settings struct {
	retries   int
	maxAge    time.Duration
	onSuccess string
	onFailure string
}

// settings reads the config of the event's qualifier, else the
// unqualified function's, else AWS's defaults.
func (q *Queue) settings(ctx context.Context, fns Functions, e *event) (settings, error) {
	s := settings{retries: DefaultMaximumRetryAttempts, maxAge: DefaultMaximumEventAge}
	quals := []string{e.Qualifier}
	if e.Qualifier != "" && e.Qualifier != lambda.LatestVersion {
		quals = append(quals, "")
	}
	for _, qual := range quals {
		c, err := fns.GetEventInvokeConfig(ctx, e.Function, qual)
		if errors.Is(err, lambda.ErrResourceNotFound) {
			continue
		}
		if err != nil {
			return s, err
		}
		if c.MaximumRetryAttempts != nil {
			s.retries = *c.MaximumRetryAttempts
		}
		if c.MaximumEventAgeInSeconds != nil {
			s.maxAge = time.Duration(*c.MaximumEventAgeInSeconds) * time.Second
		}
		s.onSuccess, s.onFailure = c.OnSuccess, c.OnFailure
		break
	}
	return s, nil
}

// handle delivers one event.
func (q *Queue) handle(ctx context.Context, it queue.Item) queue.Outcome {
	var e event
	if err := decodeEvent(it.Payload, &e); err != nil {
		// Only a bug writes such an item; keep the evidence in the log.
		q.log.Error("undecodable async event dropped", "item", it.ID, "payload", string(it.Payload), "err", err)
		return queue.Done()
	}
	q.mu.Lock()
	fns := q.fns
	q.mu.Unlock()

	s, err := q.settings(ctx, fns, &e)
	if err != nil {
		return q.backoff(ctx, &e, s, "system error: "+err.Error())
	}
	if e.Source != nil {
		if err := q.build(&e); err != nil {
			return q.backoff(ctx, &e, s, "system error: "+err.Error())
		}
	}
	now := q.cfg.Now()
	if !now.Before(e.Accepted.Add(s.maxAge)) {
		return q.giveUp(ctx, fns, &e, s, ConditionEventAgeExceeded,
			fmt.Sprintf("event older than MaximumEventAgeInSeconds (%d)", int(s.maxAge.Seconds())))
	}
	d, err := fns.Resolve(ctx, e.Function, e.Qualifier)
	switch {
	case err != nil && ctx.Err() != nil:
		return q.interrupted(&e)
	case errors.Is(err, lambda.ErrResourceNotFound):
		e.Last = errorResponse(404, "", err)
		return q.giveUp(ctx, fns, &e, s, ConditionRetriesExhausted, "function not found: "+err.Error())
	case err != nil:
		return q.backoff(ctx, &e, s, "system error: "+err.Error())
	}
	if n := lambda.RecursionDepth(e.TraceID, d.FunctionARN); n > lambda.MaxRecursiveInvocations && d.RecursiveLoop != lambda.RecursiveLoopAllow {
		return q.stopLoop(ctx, fns, &e, s, d, n)
	}
	if d.ReservedConcurrency != nil && *d.ReservedConcurrency == 0 {
		e.Last = throttleResponse(d.Version, lambda.ReservedFunctionConcurrentInvocationLimitExceeded)
		return q.giveUp(ctx, fns, &e, s, ConditionRetriesExhausted, "reserved concurrency is 0: the function is throttled, events are not retried")
	}
	inv := &lambda.Invocation{
		RequestID:     e.RequestID,
		InvokedARN:    e.InvokedARN,
		Payload:       e.Payload,
		ClientContext: e.ClientContext,
		TraceID:       e.TraceID,
	}
	res, err := fns.Run(ctx, d, inv)
	var le *lambda.Error
	switch {
	case err != nil && ctx.Err() != nil:
		return q.interrupted(&e)
	case errors.Is(err, lambda.ErrTooManyRequests) || errors.Is(err, lambda.ErrThrottled):
		reason := lambda.ConcurrentInvocationLimitExceeded
		var te *lambda.ThrottleError
		if errors.As(err, &le) {
			reason = le.Reason
		} else if errors.As(err, &te) {
			reason = te.Reason
		}
		e.Last = throttleResponse(d.Version, reason)
		return q.backoff(ctx, &e, s, "throttled: "+string(reason))
	case err != nil:
		e.Last = errorResponse(500, d.Version, err)
		return q.backoff(ctx, &e, s, "system error: "+err.Error())
	}
	e.Invokes++
	e.Backoffs = 0
	e.Last = &response{StatusCode: 200, ExecutedVersion: res.ExecutedVersion, FunctionError: res.FunctionError, Payload: asJSON(res.Payload)}
	if e.Last.ExecutedVersion == "" {
		e.Last.ExecutedVersion = d.Version
	}
	if res.FunctionError == "" {
		if s.onSuccess != "" {
			rec := q.record(fns, &e, ConditionSuccess)
			if err := q.deliver(ctx, fns, s.onSuccess, &e, rec); err != nil {
				q.keep(&e, rec, s.onSuccess, "the event succeeded but its OnSuccess destination failed", err)
			}
		}
		return q.observe(queue.Done(), &e, StateDelivered, "")
	}
	if e.Invokes > s.retries {
		return q.giveUp(ctx, fns, &e, s, ConditionRetriesExhausted,
			fmt.Sprintf("function error (%s) on all %d attempts", res.FunctionError, e.Invokes))
	}
	delay := q.cfg.RetryDelays[min(e.Invokes, len(q.cfg.RetryDelays))-1]
	delay = min(delay, max(e.Accepted.Add(s.maxAge).Sub(q.cfg.Now()), 0))
	q.logLine(e.Function, fmt.Sprintf("ASYNC RETRY RequestId: %s\tAttempt: %d of %d\tFunction error: %s\tNext attempt in: %s\n",
		e.RequestID, e.Invokes, s.retries+1, res.FunctionError, delay))
	return q.retry(&e, delay, "function error: "+res.FunctionError)
}

// backoff reschedules an event after a throttle or system error: 1 s
// doubling to BackoffMax, never past the event's maximum age (it is then
// given up on as EventAgeExceeded when next seen).
func (q *Queue) backoff(ctx context.Context, e *event, s settings, note string) queue.Outcome {
	if ctx.Err() != nil {
		return q.interrupted(e)
	}
	delay := q.cfg.BackoffMin
	for i := 0; i < e.Backoffs && delay < q.cfg.BackoffMax; i++ {
		delay *= 2
	}
	delay = min(delay, q.cfg.BackoffMax)
	if left := e.Accepted.Add(s.maxAge).Sub(q.cfg.Now()); delay > left {
		delay = max(left, 0)
	}
	e.Backoffs++
	q.log.Debug("async event retried", "function", e.Function, "request_id", e.RequestID, "reason", note, "delay", delay)
	return q.retry(e, delay, note)
}

// interrupted puts an event back unchanged: the queue is stopping.
func (q *Queue) interrupted(e *event) queue.Outcome {
	return q.retry(e, 0, "interrupted by shutdown")
}

func (q *Queue) retry(e *event, delay time.Duration, note string) queue.Outcome {
	raw, err := json.Marshal(e)
	if err != nil {
		return q.observe(queue.Retry(delay, note), e, StateRetrying, note) // keeps the previous state
	}
	return q.observe(queue.RetryWith(delay, note, raw), e, StateRetrying, note)
}

// giveUp ends an event that failed: its record goes to the OnFailure
// destination, or to the failed-event list.
func (q *Queue) giveUp(ctx context.Context, fns Functions, e *event, s settings, condition, reason string) queue.Outcome {
	rec := q.record(fns, e, condition)
	line := fmt.Sprintf("ASYNC FAILED RequestId: %s\tCondition: %s\tApproximate Invoke Count: %d\tReason: %s\t",
		e.RequestID, condition, e.Invokes, reason)
	if s.onFailure != "" {
		err := q.deliver(ctx, fns, s.onFailure, e, rec)
		if err == nil {
			q.logLine(e.Function, line+"Record sent to: "+s.onFailure+"\n")
			return q.observe(queue.Done(), e, StateFailed, reason+" (record sent to "+s.onFailure+")")
		}
		q.logLine(e.Function, line+"Record NOT sent to "+s.onFailure+" ("+err.Error()+"): kept in the failed event list (sluice fn events "+e.Function+" --failed)\n")
		q.keep(e, rec, s.onFailure, reason, err)
		return q.observe(queue.Done(), e, StateFailed, reason+" (record kept in the failed event list: the OnFailure destination refused it)")
	}
	q.logLine(e.Function, line+"No OnFailure destination: kept in the failed event list (sluice fn events "+e.Function+" --failed)\n")
	q.keep(e, rec, "", reason, nil)
	return q.observe(queue.Done(), e, StateFailed, reason+" (record kept in the failed event list)")
}

// keep appends a record to the failed-event list. If even that fails
// (disk full), the record goes to the server log at error level: the one
// place left.
func (q *Queue) keep(e *event, rec *Record, dest, reason string, destErr error) {
	f := &FailedEvent{
		Time:        q.cfg.Now().UTC(),
		Function:    e.Function,
		RequestID:   e.RequestID,
		Condition:   rec.RequestContext.Condition,
		Reason:      reason,
		Destination: dest,
		Record:      rec,
	}
	if destErr != nil {
		f.DestinationError = destErr.Error()
	}
	q.log.Warn("async event given up", "function", e.Function, "request_id", e.RequestID,
		"condition", f.Condition, "reason", reason, "destination", dest, "destination_error", f.DestinationError)
	if err := q.failed.append(f); err != nil {
		raw, _ := json.Marshal(f)
		q.log.Error("async event could not be recorded", "function", e.Function, "request_id", e.RequestID, "record", string(raw), "err", err)
	}
}

func (q *Queue) logLine(function, line string) {
	if q.cfg.Logs != nil {
		_ = q.cfg.Logs.Append(function, []byte(line))
	}
}

// deliver sends a record to a destination ARN. The queue stopping does not
// interrupt it: the record is written either way.
func (q *Queue) deliver(ctx context.Context, fns Functions, dest string, e *event, rec *Record) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	body, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	switch {
	case strings.HasPrefix(dest, "arn:aws:lambda:"):
		_, err := fns.InvokeARN(ctx, dest, lambda.Event, body)
		return err
	case strings.HasPrefix(dest, "arn:aws:s3:::"):
		if q.cfg.Objects == nil {
			return errors.New("this server cannot write S3 destination records")
		}
		bucket := strings.TrimPrefix(dest, "arn:aws:s3:::")
		return q.cfg.Objects.PutObject(ctx, bucket, S3Key(e.Function, q.cfg.Now(), newUUID()), "application/json", body)
	}
	return fmt.Errorf("unsupported destination %s", dest)
}

// asJSON returns p if it is JSON, else p as a JSON string ("null" if
// empty), so that it can be embedded in a record.
func asJSON(p []byte) json.RawMessage {
	if len(p) == 0 {
		return json.RawMessage("null")
	}
	if json.Valid(p) {
		return json.RawMessage(p)
	}
	s, _ := json.Marshal(string(p))
	return s
}

func throttleResponse(version string, reason lambda.ThrottleReason) *response {
	doc, _ := json.Marshal(map[string]string{
		"errorType":    lambda.CodeTooManyRequests,
		"errorMessage": "Rate Exceeded. (" + string(reason) + ")",
	})
	return &response{StatusCode: 429, ExecutedVersion: version, Payload: doc}
}

func errorResponse(status int, version string, err error) *response {
	typ, msg := lambda.CodeService, err.Error()
	var le *lambda.Error
	if errors.As(err, &le) {
		typ, msg = le.Code, le.Message
	}
	doc, _ := json.Marshal(map[string]string{"errorType": typ, "errorMessage": msg})
	return &response{StatusCode: status, ExecutedVersion: version, Payload: doc}
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
