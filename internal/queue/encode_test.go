package queue

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

func TestStoredItemForms(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC)
	for _, tc := range []struct {
		it   Item
		want string
	}{
		{Item{ID: "q-1", Payload: []byte(`{"a":1}`), Enqueued: at, Due: at},
			`{"id":"q-1","json":{"a":1},"attempts":0,"enqueued":"2026-01-02T03:04:05.0000006Z","due":"2026-01-02T03:04:05.0000006Z"}`},
		{Item{ID: `we"ird<id>`, Payload: []byte{0, 1, 2, 255}, Attempts: 2, Enqueued: at, Due: at.Add(time.Minute), Note: "function error: \"x\""},
			`{"id":"we\"ird\u003cid\u003e","payload":"AAEC/w==","attempts":2,"enqueued":"2026-01-02T03:04:05.0000006Z","due":"2026-01-02T03:05:05.0000006Z","note":"function error: \"x\""}`},
		{Item{ID: "q-3", Payload: nil, Enqueued: at, Due: at},
			`{"id":"q-3","payload":null,"attempts":0,"enqueued":"2026-01-02T03:04:05.0000006Z","due":"2026-01-02T03:04:05.0000006Z"}`},
		{Item{ID: "q-4", Payload: []byte{}, Enqueued: at, Due: at},
			`{"id":"q-4","payload":"","attempts":0,"enqueued":"2026-01-02T03:04:05.0000006Z","due":"2026-01-02T03:04:05.0000006Z"}`},
		// A JSON string payload is JSON too: stored as is, not mistaken for base64.
		{Item{ID: "q-5", Payload: []byte(`"AAEC"`), Enqueued: at, Due: at},
			`{"id":"q-5","json":"AAEC","attempts":0,"enqueued":"2026-01-02T03:04:05.0000006Z","due":"2026-01-02T03:04:05.0000006Z"}`},
	} {
		got := appendItem(nil, &tc.it, false)
		if string(got) != tc.want {
			t.Errorf("\n got %s\nwant %s", got, tc.want)
		}
		if !json.Valid(got) {
			t.Errorf("invalid JSON: %s", got)
		}
		if json.Valid(tc.it.Payload) {
			if trusted := appendItem(nil, &tc.it, true); !bytes.Equal(trusted, got) {
				t.Errorf("a payload known to be JSON stored as\n%s\nnot as\n%s", trusted, got)
			}
		}
		back, err := decodeItem(got)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back, tc.it) && !(len(back.Payload) == 0 && len(tc.it.Payload) == 0 && back.ID == tc.it.ID) {
			t.Errorf("round trip of %s: got %+v, want %+v", got, back, tc.it)
		}
	}
}

// TestDecodeOldItems reads items as sluice stored them before payloads
// that are JSON were kept as they are: json.Marshal of Item, base64.
func TestDecodeOldItems(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC)
	for _, it := range []Item{
		{ID: "lambda-async-7", Payload: []byte(`{"function":"f","payload":{"Records":[]}}`), Enqueued: at, Due: at},
		{ID: "q-2", Payload: []byte{0, 1, 2, 255}, Attempts: 3, Enqueued: at, Due: at.Add(time.Second), Note: "throttled"},
	} {
		old, _ := json.Marshal(&it)
		if !bytes.Contains(old, []byte(`"payload":"`)) {
			t.Fatalf("not the old form: %s", old)
		}
		got, err := decodeItem(old)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, it) {
			t.Errorf("decode %s: got %+v, want %+v", old, got, it)
		}
	}
}

// TestScanItemMatchesEncodingJSON checks that the fast path reads the
// items appendItem writes with a JSON payload, exactly as encoding/json
// reads them, and declines the rest.
func TestScanItemMatchesEncodingJSON(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC)
	for _, it := range []Item{
		{ID: "q-1", Payload: []byte(`{"a":[1,"x\"y"],"b":{"c":null}}`), Enqueued: at, Due: at},
		{ID: `we"ird<id>é`, Payload: []byte(`"AAEC"`), Attempts: 7, Enqueued: at, Due: at.Add(time.Hour), Note: "function error: \"x\"\n"},
	} {
		raw := appendItem(nil, &it, false)
		fast, err := scanItem(raw)
		if err != nil {
			t.Fatalf("%s: fast path declined: %v", raw, err)
		}
		var s storedItem
		if err := json.Unmarshal(raw, &s); err != nil {
			t.Fatal(err)
		}
		slow := Item{ID: s.ID, Payload: []byte(s.JSON), Attempts: s.Attempts, Enqueued: s.Enqueued, Due: s.Due, Note: s.Note}
		if !reflect.DeepEqual(fast, slow) || !reflect.DeepEqual(fast, it) {
			t.Errorf("%s:\nfast %+v\nslow %+v\nwant %+v", raw, fast, slow, it)
		}
	}
	for _, raw := range []string{
		`{"id":"q","payload":"AAEC","attempts":0,"enqueued":"2026-01-02T03:04:05Z","due":"2026-01-02T03:04:05Z"}`,
		`{"ID":"q","json":{},"attempts":0,"enqueued":"2026-01-02T03:04:05Z","due":"2026-01-02T03:04:05Z"}`,
		`{"id":"q","json":null}`,
	} {
		if _, err := scanItem([]byte(raw)); err == nil {
			t.Errorf("fast path took %s", raw)
		}
		if _, err := decodeItem([]byte(raw)); err != nil {
			t.Errorf("decodeItem(%s): %v", raw, err)
		}
	}
}
