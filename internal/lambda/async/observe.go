package async

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"time"

	"github.com/sluicehq/sluice/internal/jsonscan"
	"github.com/sluicehq/sluice/internal/lambda"
	"github.com/sluicehq/sluice/internal/meta"
	"github.com/sluicehq/sluice/internal/queue"
)

// Delivery states an Observer is told about.
const (
	// StateRetrying: an attempt failed (function error, throttle, system
	// error) and the event waits for the next one.
	StateRetrying = "retrying"
	// StateDelivered: the function ran and succeeded.
	StateDelivered = "delivered"
	// StateFailed: the event was given up on; Reason says why and where
	// its record went.
	StateFailed = "failed"
)

// Observation is what became of one attempt at an event.
type Observation struct {
	// State is StateRetrying, StateDelivered or StateFailed.
	State string
	// RequestID is the invocation's request ID.
	RequestID string
	// Attempts counts the runs of the function so far.
	Attempts int
	// Reason explains a retry or a failure.
	Reason string
	Time   time.Time
	// Source is the source of the event's payload (AddSourceTx,
	// AddPreparedTx) when this is the outcome of the attempt that built
	// the payload from it, or of an attempt that ended before that; nil
	// otherwise. An Observer that keeps nothing for an event until its
	// first outcome (the event log) makes its record from it.
	Source json.RawMessage
	// Accepted is when the event was accepted; InvokedARN the function
	// ARN as the event names it.
	Accepted   time.Time
	InvokedARN string
}

// Observer learns what becomes of events added with a reference (AddTx),
// for event sources that show their deliveries (sluice events).
type Observer interface {
	// Observe records o for the event added with ref, inside tx, the
	// transaction that deletes or reschedules the event. It may run more
	// than once for one outcome. An error aborts that transaction and the
	// event is handled again, so Observe fails only when the store does.
	Observe(tx meta.Tx, ref string, o Observation) error
}

// AddTx adds ev to the queue inside the caller's metadata transaction tx,
// so that the event exists exactly when the caller's change is committed
// (an outbox). ref, if not empty, is handed to the Observer with every
// outcome. It has no effect outside tx; call Kick once tx has committed.
func (q *Queue) AddTx(tx meta.Tx, ev *lambda.AsyncEvent, ref string) error {
	_, err := q.q.AddJSON(tx, appendNewEvent(make([]byte, 0, 512+len(ev.Invocation.Payload)), q.newEvent(ev, ref)), 0)
	return err
}

// PayloadBuilder is implemented by an Observer whose events are added
// with AddSourceTx: it builds an event's payload from its source when
// the event is handled.
type PayloadBuilder interface {
	// BuildPayload returns the payload built from source, the same bytes
	// every time.
	BuildPayload(source []byte) ([]byte, error)
}

// AddSourceTx is AddTx for an event whose payload is built when it is
// handled: ev.Invocation.Payload is not the payload but its source, valid
// JSON, usually much smaller, that the Config's Observer (a
// PayloadBuilder) builds the payload from. An event source whose payloads
// repeat what it can derive (S3 event records) stores less in the
// transaction of each event this way.
func (q *Queue) AddSourceTx(tx meta.Tx, ev *lambda.AsyncEvent, ref string) error {
	if _, ok := q.cfg.Observer.(PayloadBuilder); !ok {
		return errors.New("async: AddSourceTx needs an Observer that is a PayloadBuilder")
	}
	src := ev.Invocation.Payload
	if !json.Valid(src) {
		return errors.New("async: the source of an event's payload is not JSON")
	}
	bare := *ev
	bare.Invocation.Payload = nil
	e := q.newEvent(&bare, ref)
	e.Payload, e.Source = nil, json.RawMessage(src)
	_, err := q.q.AddJSON(tx, appendNewEvent(make([]byte, 0, 512+len(e.Source)), e), 0)
	return err
}

// build replaces the source of an event added with AddSourceTx with the
// payload built from it; the event is stored with its payload from then
// on (retries), like any other. The source stays in e.built for the
// Observer of this attempt's outcome.
func (q *Queue) build(e *event) error {
	b, ok := q.cfg.Observer.(PayloadBuilder)
	if !ok {
		return errors.New("the event's payload is built by an event source that is not configured")
	}
	p, err := b.BuildPayload(e.Source)
	if err != nil {
		return fmt.Errorf("building the event's payload: %w", err)
	}
	e.Payload, e.Source, e.built = asJSON(p), nil, e.Source
	return nil
}

// PendingEvent is a queued event added with a reference and the source of
// its payload (AddSourceTx, AddPreparedTx) that has had no outcome yet:
// not attempted, or being attempted for the first time.
type PendingEvent struct {
	Ref        string
	Function   string
	Qualifier  string
	RequestID  string
	InvokedARN string
	Accepted   time.Time
	Source     json.RawMessage
}

// Pending lists, in tx, the events with a reference and a payload source
// that have had no outcome yet, in the order they fall due: what an
// Observer that keeps nothing for an event before its first outcome shows
// as waiting. Items that cannot be decoded are left out (handling one
// logs and drops it); an error is the store's, and ends the listing.
func (q *Queue) Pending(tx meta.Tx) iter.Seq2[PendingEvent, error] {
	return func(yield func(PendingEvent, error) bool) {
		for it, err := range q.q.Items(tx) {
			if errors.Is(err, queue.ErrUndecodable) {
				continue
			}
			if err != nil {
				yield(PendingEvent{}, err)
				return
			}
			var e event
			if decodeEvent(it.Payload, &e) != nil || e.Ref == "" || e.Source == nil {
				continue
			}
			p := PendingEvent{Ref: e.Ref, Function: e.Function, Qualifier: e.Qualifier, RequestID: e.RequestID,
				InvokedARN: e.InvokedARN, Accepted: e.Accepted, Source: e.Source}
			if !yield(p, nil) {
				return
			}
		}
	}
}

// appendNewEvent appends the stored form of a newly accepted event, as
// json.Marshal writes it (observe_test.go checks that they agree), but
// several times faster: AddTx runs inside the caller's transaction, on the
// metadata store's one committer. It trusts e.Payload and e.Source to be
// valid JSON, as newEvent makes them.
func appendNewEvent(b []byte, e *event) []byte {
	b = appendEventStart(b, e)
	b = e.Accepted.AppendFormat(b, time.RFC3339Nano)
	b = append(b, '"')
	if e.TraceID != "" {
		b = append(b, `,"traceId":`...)
		b = jsonscan.AppendString(b, e.TraceID)
	}
	if e.Ref != "" {
		b = append(b, `,"ref":`...)
		b = jsonscan.AppendString(b, e.Ref)
	}
	if len(e.Source) > 0 {
		b = append(b, `,"source":`...)
		b = append(b, e.Source...)
	}
	return append(b, '}')
}

// decodeEvent decodes a stored event. The members an event has until its
// first outcome (appendNewEvent's) are read without reflection: every
// event is decoded once per attempt, on the delivery path. Anything else
// (Last, after a retry) is left to encoding/json, which then decodes the
// whole event.
func decodeEvent(raw []byte, e *event) error {
	var fast event
	err := jsonscan.Object(raw, func(k string, v []byte) error {
		var err error
		var n int64
		switch k {
		case "function":
			fast.Function, err = jsonscan.String(v)
		case "qualifier":
			fast.Qualifier, err = jsonscan.String(v)
		case "requestId":
			fast.RequestID, err = jsonscan.String(v)
		case "invokedArn":
			fast.InvokedARN, err = jsonscan.String(v)
		case "payload":
			fast.Payload, err = jsonscan.Raw(v)
		case "clientContext":
			fast.ClientContext, err = jsonscan.String(v)
		case "accepted":
			fast.Accepted, err = jsonscan.Time(v)
		case "invokes":
			n, err = jsonscan.Int(v)
			fast.Invokes = int(n)
		case "backoffs":
			n, err = jsonscan.Int(v)
			fast.Backoffs = int(n)
		case "traceId":
			fast.TraceID, err = jsonscan.String(v)
		case "ref":
			fast.Ref, err = jsonscan.String(v)
		case "source":
			fast.Source, err = jsonscan.Raw(v)
		default:
			err = jsonscan.ErrSlow
		}
		return err
	})
	if err == nil {
		*e = fast
		return nil
	}
	return json.Unmarshal(raw, e)
}

// Kick makes the queue look for due events now, after a transaction that
// added some has committed.
func (q *Queue) Kick() { q.q.Kick() }

// observe attaches the Observer's record of an outcome to it.
func (q *Queue) observe(out queue.Outcome, e *event, state, reason string) queue.Outcome {
	obs := q.cfg.Observer
	if obs == nil || e.Ref == "" {
		return out
	}
	o := Observation{State: state, RequestID: e.RequestID, Attempts: e.Invokes, Reason: reason, Time: q.cfg.Now().UTC(), Accepted: e.Accepted, InvokedARN: e.InvokedARN, Source: e.Source}
	if o.Source == nil {
		o.Source = e.built
	}
	ref := e.Ref
	return out.Also(func(tx meta.Tx) error { return obs.Observe(tx, ref, o) })
}

// stopLoop gives up an event whose chain of events has invoked its
// function more than MaxRecursiveInvocations times: recursive loop
// detection, for a function whose recursion config is Terminate. As on
// AWS, the event goes to the OnFailure destination (or the failed-event
// list) without running the function.
func (q *Queue) stopLoop(ctx context.Context, fns Functions, e *event, s settings, d *lambda.Deployment, n int) queue.Outcome {
	msg := fmt.Sprintf("Lambda has detected your function %s being invoked in a recursive loop (invocation %d of one chain of events, more than %d) and stopped it; set its recursion config to Allow to let it run.",
		d.FunctionARN, n, lambda.MaxRecursiveInvocations)
	e.Last = errorResponse(400, d.Version, &lambda.Error{Code: lambda.CodeRecursiveInvocation, Message: msg})
	q.log.Warn("recursive loop stopped", "function", e.Function, "request_id", e.RequestID, "depth", n)
	return q.giveUp(ctx, fns, e, s, ConditionRetriesExhausted,
		fmt.Sprintf("recursive loop detected: invocation %d of the same chain of events (more than %d); recursion config Terminate", n, lambda.MaxRecursiveInvocations))
}
