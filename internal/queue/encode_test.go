package queue

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

func TestAppendNewItemMatchesEncodingJSON(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC)
	for _, it := range []Item{
		{ID: "q-1", Payload: []byte(`{"a":1}`), Enqueued: at, Due: at},
		{ID: `we"ird<id>`, Payload: []byte{0, 1, 2, 255}, Enqueued: at, Due: at.Add(time.Minute)},
		{ID: "q-3", Payload: nil, Enqueued: at, Due: at},
		{ID: "q-4", Payload: []byte{}, Enqueued: at, Due: at},
	} {
		want, _ := json.Marshal(&it)
		if got := appendNewItem(nil, &it); !bytes.Equal(got, want) {
			t.Errorf("\n got %s\nwant %s", got, want)
		}
	}
}
