package async

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

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
	raw, err := json.Marshal(q.newEvent(ev, ref))
	if err != nil {
		return err
	}
	_, err = q.q.Add(tx, raw, 0)
	return err
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
	o := Observation{State: state, RequestID: e.RequestID, Attempts: e.Invokes, Reason: reason, Time: q.cfg.Now().UTC()}
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
