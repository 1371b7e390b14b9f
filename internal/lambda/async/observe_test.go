package async

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// TestAppendNewEventMatchesEncodingJSON guards AddTx's hand-written
// encoding: a field added to event must be added to appendNewEvent (or be
// omitted when empty).
func TestAppendNewEventMatchesEncodingJSON(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC)
	for _, e := range []event{
		{Function: "f", RequestID: "r", InvokedARN: "arn:aws:lambda:us-east-1:000000000000:function:f", Payload: json.RawMessage(`{"Records":[]}`), Accepted: at},
		{Function: "f", Qualifier: "live", RequestID: "r", InvokedARN: "a", Payload: json.RawMessage(`"s"`), ClientContext: "e30=",
			Accepted: at, TraceID: "Root=1-2-3;Lineage=<x>&y", Ref: "00000000000000ff"},
		{Function: "ü\"f", RequestID: "\x01", InvokedARN: "a\u2028", Payload: json.RawMessage(`null`), Accepted: at, Ref: "r\\"},
		{Function: "f", RequestID: "r", InvokedARN: "a", Accepted: at, Ref: "0000000000000100", Source: json.RawMessage(`{"k":"a+b"}`)},
	} {
		want, _ := json.Marshal(&e)
		if got := appendNewEvent(nil, &e); !bytes.Equal(got, want) {
			t.Errorf("\n got %s\nwant %s", got, want)
		}
	}
}

// TestDecodeEventMatchesEncodingJSON checks decodeEvent's fast path
// against encoding/json, on new events (which it reads) and on events with
// an outcome (which it leaves to encoding/json).
func TestDecodeEventMatchesEncodingJSON(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC)
	for _, e := range []event{
		{Function: "f", RequestID: "r", InvokedARN: "arn:aws:lambda:us-east-1:000000000000:function:f", Payload: json.RawMessage(`{"Records":[{"k":"v\"w"}]}`), Accepted: at},
		{Function: "f", Qualifier: "live", RequestID: "r", InvokedARN: "a", Payload: json.RawMessage(`"s"`), ClientContext: "e30=",
			Accepted: at, TraceID: "Root=1-2-3;Lineage=<x>&y", Ref: "00000000000000ff", Invokes: 2, Backoffs: 3},
		{Function: "ü\"f", RequestID: "\x01", InvokedARN: "a\u2028", Payload: json.RawMessage(`null`), Accepted: at, Ref: "r\\"},
		{Function: "f", RequestID: "r", InvokedARN: "a", Accepted: at, Ref: "0000000000000100", Source: json.RawMessage(`{"k":"a+b"}`)},
		{Function: "f", RequestID: "r", InvokedARN: "a", Accepted: at, Invokes: 1,
			Last: &response{StatusCode: 200, ExecutedVersion: "$LATEST", FunctionError: "Unhandled", Payload: json.RawMessage(`{"errorMessage":"x"}`)}},
	} {
		for _, raw := range [][]byte{appendNewEvent(nil, &e), must(json.Marshal(&e))} {
			var want, got event
			if err := json.Unmarshal(raw, &want); err != nil {
				t.Fatal(err)
			}
			if err := decodeEvent(raw, &got); err != nil {
				t.Fatalf("%s: %v", raw, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s:\n got %+v\nwant %+v", raw, got, want)
			}
		}
	}
	var e event
	if err := decodeEvent([]byte(`{"function":"f",`), &e); err == nil {
		t.Error("a truncated event decoded")
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}
