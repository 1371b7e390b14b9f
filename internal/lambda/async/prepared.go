package async

import (
	"errors"
	"sync"
	"time"

	"github.com/sluicehq/sluice/internal/jsonscan"
	"github.com/sluicehq/sluice/internal/lambda"
	"github.com/sluicehq/sluice/internal/meta"
)

// PreparedEvent is an event to be added with AddSourceTx, encoded ahead of
// the transaction that adds it: everything but when it is accepted, its
// reference and its payload's source, which AddPreparedTx writes in,
// byte for byte the stored event AddSourceTx would write. An event source
// that emits inside its changes' transactions, which run one after the
// other on the metadata store's committer (S3 event notifications), does
// the rest of the encoding before them, concurrently.
type PreparedEvent struct {
	requestID string
	// head runs from the event's start through `"accepted":"`; trace is
	// what follows the accepted time up to the reference: its closing
	// quote and the trace ID member.
	head, trace []byte
}

// RequestID is the prepared event's invocation request ID.
func (p *PreparedEvent) RequestID() string { return p.requestID }

// PrepareSource prepares the event ev for AddPreparedTx. As with
// AddSourceTx, the Config's Observer must be a PayloadBuilder, which
// builds the event's payload from its source when it is handled;
// ev.Invocation.Payload and ev.Accepted are ignored (AddPreparedTx
// takes them). A missing request ID is generated.
func (q *Queue) PrepareSource(ev *lambda.AsyncEvent) (*PreparedEvent, error) {
	if _, ok := q.cfg.Observer.(PayloadBuilder); !ok {
		return nil, errors.New("async: AddPreparedTx needs an Observer that is a PayloadBuilder")
	}
	bare := *ev
	bare.Invocation.Payload, bare.Invocation.ClientContext = nil, ""
	e := q.newEvent(&bare, "")
	e.Payload = nil
	p := &PreparedEvent{requestID: e.RequestID}
	p.head = appendEventStart(make([]byte, 0, 160+len(e.Function)+len(e.InvokedARN)), e)
	p.trace = appendEventTrace(make([]byte, 0, 16+len(e.TraceID)), e.TraceID)
	return p, nil
}

// AddPreparedTx adds the event p inside tx, as AddSourceTx does: accepted
// at accepted (now when zero), with ref handed to the Observer with every
// outcome, and with the payload's source source. The caller guarantees
// that source is valid JSON, having encoded it itself (it is stored
// unchecked, inside the event's own JSON).
func (q *Queue) AddPreparedTx(tx meta.Tx, p *PreparedEvent, accepted time.Time, ref string, source []byte) error {
	if accepted.IsZero() {
		accepted = q.cfg.Now()
	}
	buf := eventBuffers.Get().(*[]byte)
	defer eventBuffers.Put(buf)
	b := p.appendTo((*buf)[:0], accepted, ref, source)
	*buf = b
	// AddJSON copies the event into the queue item it stores.
	_, err := q.q.AddJSON(tx, b, 0)
	return err
}

// eventBuffers are scratch buffers for AddPreparedTx.
var eventBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// appendTo appends the stored event of p, accepted at accepted, with ref
// and source.
func (p *PreparedEvent) appendTo(b []byte, accepted time.Time, ref string, source []byte) []byte {
	b = append(b, p.head...)
	b = accepted.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, p.trace...)
	if ref != "" {
		b = append(b, `,"ref":`...)
		b = jsonscan.AppendString(b, ref)
	}
	if len(source) > 0 {
		b = append(b, `,"source":`...)
		b = append(b, source...)
	}
	return append(b, '}')
}

// appendEventStart appends the members of a new event that precede its
// accepted time, and the accepted member's name and opening quote, as
// appendNewEvent writes them.
func appendEventStart(b []byte, e *event) []byte {
	b = append(b, `{"function":`...)
	b = jsonscan.AppendString(b, e.Function)
	if e.Qualifier != "" {
		b = append(b, `,"qualifier":`...)
		b = jsonscan.AppendString(b, e.Qualifier)
	}
	b = append(b, `,"requestId":`...)
	b = jsonscan.AppendString(b, e.RequestID)
	b = append(b, `,"invokedArn":`...)
	b = jsonscan.AppendString(b, e.InvokedARN)
	if len(e.Payload) > 0 {
		b = append(b, `,"payload":`...)
		b = append(b, e.Payload...)
	}
	if e.ClientContext != "" {
		b = append(b, `,"clientContext":`...)
		b = jsonscan.AppendString(b, e.ClientContext)
	}
	return append(b, `,"accepted":"`...)
}

// appendEventTrace appends what follows a new event's accepted time up to
// its reference: the time's closing quote and the trace ID, if any.
func appendEventTrace(b []byte, traceID string) []byte {
	b = append(b, '"')
	if traceID != "" {
		b = append(b, `,"traceId":`...)
		b = jsonscan.AppendString(b, traceID)
	}
	return b
}
