package async

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/lambda"
	"github.com/sluicehq/sluice/internal/meta"
)

// TestPreparedEventMatchesAddSourceTx: a prepared event, its holes
// filled, is byte for byte the event AddSourceTx stores (appendNewEvent,
// itself checked against encoding/json), for plain and escaped strings,
// with and without qualifier, trace and reference.
func TestPreparedEventMatchesAddSourceTx(t *testing.T) {
	h := newObservedHarness(t, &fakeEngine{}, &builder{})
	at := time.Date(2026, 1, 2, 3, 4, 5, 600, time.FixedZone("x", 3600))
	for _, ev := range []lambda.AsyncEvent{
		{FunctionName: "f", Invocation: lambda.Invocation{RequestID: "r", InvokedARN: "arn:aws:lambda:us-east-1:000000000000:function:f"}},
		{FunctionName: "f", Qualifier: "live", Invocation: lambda.Invocation{RequestID: "r", InvokedARN: "a", TraceID: "Root=1-2-3;Lineage=<x>&y"}},
		{FunctionName: "ü\"f", Invocation: lambda.Invocation{RequestID: "\x01", InvokedARN: "a\u2028", TraceID: "t"}},
	} {
		for _, ref := range []string{"", "00000000000000ff", "r\\<"} {
			source := []byte(`{"k":"a+b","s":1}`)
			p, err := h.q.PrepareSource(&ev)
			if err != nil {
				t.Fatal(err)
			}
			got := p.appendTo(nil, at, ref, source)
			e := h.q.newEvent(&ev, ref)
			e.Accepted, e.Payload, e.Source = at.UTC(), nil, source
			want, _ := json.Marshal(e)
			if !bytes.Equal(got, want) || !bytes.Equal(got, appendNewEvent(nil, e)) {
				t.Errorf("\n got %s\nwant %s", got, want)
			}
		}
	}
	// A missing request ID is generated, and the prepared event names it.
	p, err := h.q.PrepareSource(&lambda.AsyncEvent{FunctionName: "f"})
	if err != nil || len(p.RequestID()) != 36 || !bytes.Contains(p.appendTo(nil, at, "", nil), []byte(`"requestId":"`+p.RequestID()+`"`)) {
		t.Errorf("request ID %q, %v", p.RequestID(), err)
	}
}

// TestAddPreparedTx: a prepared event is queued in the caller's
// transaction and delivered with the payload built from its source.
func TestAddPreparedTx(t *testing.T) {
	eng := &fakeEngine{}
	obs := &builder{}
	h := newObservedHarness(t, eng, obs)
	h.create("fn")
	p, err := h.q.PrepareSource(&lambda.AsyncEvent{FunctionName: "fn", Invocation: lambda.Invocation{RequestID: "r1", InvokedARN: h.svc.FunctionARN("fn")}})
	if err != nil {
		t.Fatal(err)
	}
	err = h.meta.Update(context.Background(), func(tx meta.Tx) error {
		return h.q.AddPreparedTx(tx, p, time.Time{}, "ref1", []byte(`{"k":"a+b"}`))
	})
	if err != nil {
		t.Fatal(err)
	}
	h.q.Kick()
	eventually(t, "the delivery", func() bool { return len(eng.callsOf("fn")) == 1 })
	c := eng.callsOf("fn")[0]
	if string(c.inv.Payload) != `{"built":{"k":"a+b"}}` || c.inv.RequestID != "r1" {
		t.Errorf("delivered payload %s, request ID %s", c.inv.Payload, c.inv.RequestID)
	}
	h.idle()
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if len(obs.states) != 1 || obs.states[0] != "ref1:"+StateDelivered {
		t.Errorf("observed %v", obs.states)
	}
}

// TestPrepareSourceNeedsABuilder: without a PayloadBuilder nothing can
// build the payload of a prepared event, so PrepareSource refuses.
func TestPrepareSourceNeedsABuilder(t *testing.T) {
	h := newHarness(t, &fakeEngine{})
	if _, err := h.q.PrepareSource(&lambda.AsyncEvent{FunctionName: "fn"}); err == nil {
		t.Fatal("PrepareSource without a PayloadBuilder succeeded")
	}
}
