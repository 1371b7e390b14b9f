package notify

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// tricky strings exercise JSON escaping: quotes, backslashes, control
// characters, HTML characters, non-ASCII, invalid UTF-8, U+2028.
var tricky = []string{"", "plain", `q"uo\te`, "tab\there\nnl\r\x00\x1f\b\f", "<a href='x'>&amp;</a>", "ünï €", "bad\xffutf8\xc3", "line\u2028sep\u2029"}

func TestEncodersMatchEncodingJSON(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 6000000, time.UTC)
	for i, s := range tricky {
		size := int64(i * 100)
		r := EventRecord{
			EventVersion: "2.1", EventSource: "aws:s3", AWSRegion: s, EventTime: s, EventName: s,
			UserIdentity: Identity{s}, RequestParameters: RequestParameters{s}, ResponseElements: ResponseElements{s, s},
			S3: Entity{SchemaVersion: "1.0", ConfigurationID: s, Bucket: BucketEntity{s, Identity{s}, s},
				Object: ObjectEntity{Key: s, ETag: s, VersionID: s, Sequencer: s}},
		}
		if i%2 == 0 {
			r.S3.Object.Size = &size
		}
		want, _ := json.Marshal(Event{Records: []EventRecord{r}})
		if got := appendRecordPayload(nil, &r); !bytes.Equal(got, want) {
			t.Errorf("record %q:\n got %s\nwant %s", s, got, want)
		}
		rec := Record{ID: s, Time: at, Updated: at.Add(time.Duration(i) * time.Hour), Event: s, Bucket: s, Key: s, VersionID: s,
			Sequencer: s, ConfigurationID: s, Function: s, RequestID: s, SourceRequestID: s, State: s, Attempts: i, Reason: s}
		want, _ = json.Marshal(&rec)
		if got := appendLogRecord(nil, &rec); !bytes.Equal(got, want) {
			t.Errorf("log record %q:\n got %s\nwant %s", s, got, want)
		}
		src := recordSource{Region: s, Time: s, Name: s, Principal: s, SourceIP: s, RequestID: s, HostID: s, ConfigID: s,
			Bucket: s, Owner: s, Key: s, ETag: s, VersionID: s, Sequencer: s}
		if i%2 == 0 {
			src.Size = &size
		}
		want, _ = json.Marshal(&src)
		if got := appendSource(nil, &src); !bytes.Equal(got, want) {
			t.Errorf("record source %q:\n got %s\nwant %s", s, got, want)
		}
		var back, slow recordSource
		if err := decodeSource(want, &back); err != nil {
			t.Errorf("decode source %s: %v", want, err)
		}
		json.Unmarshal(want, &slow)
		if !reflect.DeepEqual(back, slow) {
			t.Errorf("decode source %s:\n got %+v\nwant %+v", want, back, slow)
		}
		st := deliveryState{State: s, Attempts: i, Reason: s, RequestID: s, Updated: at}
		want, _ = json.Marshal(&st)
		if got := appendState(nil, &st); !bytes.Equal(got, want) {
			t.Errorf("state %q:\n got %s\nwant %s", s, got, want)
		}
	}
}
