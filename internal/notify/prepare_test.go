package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/lambda"
	"github.com/sluicehq/sluice/internal/lambda/async"
	"github.com/sluicehq/sluice/internal/meta"
	"github.com/sluicehq/sluice/internal/meta/bolt"
	"github.com/sluicehq/sluice/internal/objstore"
)

// queueEnv is a Service with a real asynchronous queue (not started:
// nothing is delivered), whose stored invocations and log records tests
// read back.
type queueEnv struct {
	meta meta.Store
	svc  *Service
	q    *async.Queue
}

func newQueueEnv(t *testing.T) *queueEnv {
	t.Helper()
	m, err := bolt.Open(filepath.Join(t.TempDir(), "meta.db"), bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	now := time.Date(2026, 3, 4, 5, 6, 7, 891000000, time.UTC)
	clock := func() time.Time { return now }
	svc := New(Config{Meta: m, Region: "us-east-1", AccountID: "000000000000", Now: clock})
	q, err := async.New(async.Config{Meta: m, Dir: t.TempDir(), Observer: svc, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	svc.Start(q, &fakeFunctions{svc: lambda.New(lambda.Config{Meta: m}), allow: func(string, string, string) (bool, error) { return true, nil }})
	t.Cleanup(func() { svc.Close() })
	err = m.Update(context.Background(), func(tx meta.Tx) error {
		for _, b := range []*meta.Bucket{
			{Name: "photos", Owner: "o", Region: "us-east-1"},
			{Name: "versioned", Owner: "o", Region: "us-east-1", Versioning: meta.VersioningEnabled},
		} {
			if err := tx.CreateBucket(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return &queueEnv{meta: m, svc: svc, q: q}
}

// storeConfiguration stores c as bucket's configuration without
// validating it (as an older version may have stored it).
func (e *queueEnv) storeConfiguration(t *testing.T, bucket string, c *Configuration) {
	t.Helper()
	raw, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	err = e.meta.Update(context.Background(), func(tx meta.Tx) error {
		b, err := tx.Bucket(bucket)
		if err != nil {
			return err
		}
		b.Configs = map[string][]byte{ConfigName: raw}
		return tx.PutBucket(b)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// bucket reads a bucket as a request does before its transaction.
func (e *queueEnv) bucket(t *testing.T, name string) *meta.Bucket {
	t.Helper()
	var b *meta.Bucket
	err := e.meta.View(context.Background(), func(tx meta.Tx) (err error) { b, err = tx.Bucket(name); return err })
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// emit runs Emit for ev in a transaction, as objstore does, with ev's
// bucket as the transaction reads it; prepare prepares the event first,
// from the bucket as read before.
func (e *queueEnv) emit(t *testing.T, ev objstore.Event, prepare bool) bool {
	t.Helper()
	if prepare {
		ev.Prepared = e.svc.Prepare(e.bucket(t, ev.Bucket.Name), ev.Name, ev.Key, ev.Origin)
	}
	var ok bool
	err := e.meta.Update(context.Background(), func(tx meta.Tx) error {
		b, err := tx.Bucket(ev.Bucket.Name)
		if err != nil {
			return err
		}
		ev.Bucket = b
		ok, err = e.svc.Emit(tx, &ev)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// docs returns the queued items and the log records, key and value.
func (e *queueEnv) docs(t *testing.T) []string {
	t.Helper()
	var out []string
	err := e.meta.View(context.Background(), func(tx meta.Tx) error {
		for _, kind := range []string{"queue/lambda-async", kindLog} {
			for d, err := range tx.Docs(kind, meta.ListOptions{}) {
				if err != nil {
					return err
				}
				out = append(out, kind+" "+d.Key+" "+string(d.Value))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// random matches the members that are random in every event: the
// invocation's request ID and its trace header.
var random = regexp.MustCompile(`\\?"(requestId|traceId)\\?":\\?"[^"\\]*\\?"`)

// storedEvent is a queued invocation as a queue item holds it.
type storedEvent struct {
	JSON struct {
		RequestID string          `json:"requestId"`
		TraceID   string          `json:"traceId"`
		Ref       string          `json:"ref"`
		Source    json.RawMessage `json:"source"`
	} `json:"json"`
}

// TestPreparedMatchesUnprepared: an event prepared before its transaction
// stores byte for byte what the unprepared path stores (the random
// request IDs and trace headers aside), for every event type, on buckets
// with and without versioning, with one, two or no configurations
// selecting it; and its records are the golden ones.
func TestPreparedMatchesUnprepared(t *testing.T) {
	plain, prep := newQueueEnv(t), newQueueEnv(t)
	all := ev("s3:ObjectCreated:*", "s3:ObjectRemoved:*", "s3:ObjectTagging:*", "s3:ObjectAcl:Put")
	for _, e := range []*queueEnv{plain, prep} {
		e.storeConfiguration(t, "photos", &Configuration{Functions: []FunctionConfiguration{fc("created", "f", all)}})
		// Two configurations that select the same events: S3's overlap
		// rule refuses this now, but stored documents are not re-checked.
		e.storeConfiguration(t, "versioned", &Configuration{Functions: []FunctionConfiguration{
			fc("created", "f", all), fc("also<&>", "g:live", ev("s3:ObjectCreated:Put", "s3:ObjectTagging:*"), RulePrefix, "a/"),
			fc("none", "h", ev("s3:ObjectCreated:Put"), RuleSuffix, ".gif"),
		}})
	}
	at := time.Date(2026, 3, 4, 5, 6, 7, 123000000, time.UTC)
	odd := origin
	odd.RequestID, odd.TraceID = "", "Root=1-5759e988-bd862e3fe1be46a994272793;Lineage=a87bd80c:3"
	cases := []struct {
		golden string
		ev     objstore.Event
		want   bool
	}{
		{"put", objstore.Event{Name: objstore.EventObjectCreatedPut, Bucket: &meta.Bucket{Name: "photos"}, Key: "red flower.jpg",
			VersionID: "null", Size: 1024, ETag: "d41d8cd98f00b204e9800998ecf8427e", Time: at, Origin: origin}, true},
		{"put-versioned", objstore.Event{Name: objstore.EventObjectCreatedPut, Bucket: &meta.Bucket{Name: "versioned"}, Key: "a/b.txt",
			VersionID: "0000000000000007f00dfeedfacecafe", Size: 0, ETag: "d41d8cd98f00b204e9800998ecf8427e", Time: at, Origin: origin}, true},
		{"delete-marker", objstore.Event{Name: objstore.EventObjectRemovedDeleteMarkerCreated, Bucket: &meta.Bucket{Name: "versioned"}, Key: "a/b.txt",
			VersionID: "0000000000000009f00dfeedfacecafe", Time: at, Origin: origin}, true},
		{"delete", objstore.Event{Name: objstore.EventObjectRemovedDelete, Bucket: &meta.Bucket{Name: "photos"}, Key: "red flower.jpg", Time: at, Origin: origin}, true},
		{"tagging", objstore.Event{Name: objstore.EventObjectTaggingPut, Bucket: &meta.Bucket{Name: "versioned"}, Key: "a/b.txt",
			VersionID: "0000000000000007f00dfeedfacecafe", Size: 3, ETag: "900150983cd24fb0d6963f7d28e17f72", Time: at, Origin: origin}, true},
		{"acl", objstore.Event{Name: objstore.EventObjectACLPut, Bucket: &meta.Bucket{Name: "photos"}, Key: "red flower.jpg",
			VersionID: "null", Size: 3, ETag: "900150983cd24fb0d6963f7d28e17f72", Time: at, Origin: origin}, true},
		{"", objstore.Event{Name: objstore.EventObjectCreatedCopy, Bucket: &meta.Bucket{Name: "versioned"}, Key: "ü/\"x\" <&>\u2028",
			VersionID: "000000000000000af00dfeedfacecafe", Size: 1 << 40, ETag: "", Time: at.Add(-123 * time.Millisecond), Origin: odd, Seq: 77}, true},
		{"", objstore.Event{Name: objstore.EventObjectCreatedCompleteMultipartUpload, Bucket: &meta.Bucket{Name: "photos"}, Key: "k",
			VersionID: "null", Size: 5, ETag: "e-2", Time: at.Add(-120 * time.Millisecond), Origin: objstore.Origin{}}, true},
		{"", objstore.Event{Name: "ObjectRestore:Completed", Bucket: &meta.Bucket{Name: "photos"}, Key: "k", Time: at, Origin: origin}, false},
	}
	for i, tc := range cases {
		if got := plain.emit(t, tc.ev, false); got != tc.want {
			t.Fatalf("case %d: unprepared emitted %v", i, got)
		}
		if got := prep.emit(t, tc.ev, true); got != tc.want {
			t.Fatalf("case %d: prepared emitted %v", i, got)
		}
		want, got := plain.docs(t), prep.docs(t)
		if len(got) != len(want) {
			t.Fatalf("case %d: %d documents prepared, %d unprepared", i, len(got), len(want))
		}
		for j := range want {
			if w, g := random.ReplaceAllString(want[j], ""), random.ReplaceAllString(got[j], ""); w != g {
				t.Errorf("case %d:\nprepared   %s\nunprepared %s", i, g, w)
			}
		}
		if tc.golden == "" {
			continue
		}
		// The newest item is this event's (the versioned bucket's also
		// has g's before it).
		var se storedEvent
		for _, d := range got {
			if bytes.HasPrefix([]byte(d), []byte("queue/")) {
				var s storedEvent
				raw := d[bytes.IndexByte([]byte(d), '{'):]
				if err := json.Unmarshal([]byte(raw), &s); err != nil {
					t.Fatal(err)
				}
				if s.JSON.Ref > se.JSON.Ref && bytes.Contains(s.JSON.Source, []byte(`"c":"created"`)) {
					se = s
				}
			}
		}
		payload, err := prep.svc.BuildPayload(se.JSON.Source)
		if err != nil {
			t.Fatal(err)
		}
		var doc Event
		if err := json.Unmarshal(payload, &doc); err != nil {
			t.Fatal(err)
		}
		if sq := doc.Records[0].S3.Object.Sequencer; sq != "" {
			payload = bytes.Replace(payload, []byte(`"sequencer":"`+sq), []byte(`"sequencer":"0000000000000042`), 1)
		}
		var pretty bytes.Buffer
		json.Indent(&pretty, payload, "", "  ")
		pretty.WriteByte('\n')
		golden(t, filepath.Join("testdata", tc.golden+".json"), pretty.Bytes())
	}
	// Each delivery's log record names its invocation's request ID.
	recs, err := prep.svc.Events(context.Background(), Query{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for _, d := range prep.docs(t) {
		if bytes.HasPrefix([]byte(d), []byte("queue/")) {
			var s storedEvent
			json.Unmarshal([]byte(d[bytes.IndexByte([]byte(d), '{'):]), &s)
			ids[s.JSON.Ref] = s.JSON.RequestID
		}
	}
	if len(recs.Records) != len(ids) || len(ids) != 10 {
		t.Fatalf("%d log records, %d invocations", len(recs.Records), len(ids))
	}
	for _, r := range recs.Records {
		if ids[r.ID] != r.RequestID || r.RequestID == "" {
			t.Errorf("log record %s names request %q, its invocation is %q", r.ID, r.RequestID, ids[r.ID])
		}
	}
}

// TestPreparedFallsBack: when the transaction finds the bucket other than
// the event was prepared for — configuration or versioning changed, a
// configuration set where there was none — Emit ignores the preparation
// and emits what the bucket now asks for.
func TestPreparedFallsBack(t *testing.T) {
	e := newQueueEnv(t)
	at := time.Date(2026, 3, 4, 5, 6, 7, 123000000, time.UTC)
	put := objstore.Event{Name: objstore.EventObjectCreatedPut, Bucket: &meta.Bucket{Name: "photos"}, Key: "in/a.jpg",
		VersionID: "null", Size: 1, ETag: "x", Time: at, Origin: origin}
	inTx := func(t *testing.T, ev objstore.Event) bool {
		t.Helper()
		var ok bool
		err := e.meta.Update(context.Background(), func(tx meta.Tx) error {
			b, err := tx.Bucket(ev.Bucket.Name)
			if err != nil {
				return err
			}
			ev.Bucket = b
			ok, err = e.svc.Emit(tx, &ev)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	last := func(t *testing.T) (*Record, string) {
		t.Helper()
		l, err := e.svc.Events(context.Background(), Query{Limit: 1})
		if err != nil || len(l.Records) != 1 {
			t.Fatalf("events: %v, %v", l, err)
		}
		var src []byte
		for _, d := range e.docs(t) {
			if i := bytes.Index([]byte(d), []byte(`"ref":"`+l.Records[0].ID+`"`)); i >= 0 {
				var s storedEvent
				json.Unmarshal([]byte(d[bytes.IndexByte([]byte(d), '{'):]), &s)
				src = s.JSON.Source
			}
		}
		return l.Records[0], string(src)
	}

	// No configuration when prepared, one in the transaction.
	ev := put
	ev.Prepared = e.svc.Prepare(e.bucket(t, "photos"), ev.Name, ev.Key, ev.Origin)
	if ev.Prepared != nil {
		t.Fatal("prepared without a configuration")
	}
	if err := e.svc.SetConfiguration(context.Background(), "photos", &Configuration{Functions: []FunctionConfiguration{fc("one", "f", ev2("s3:ObjectCreated:*"), "prefix", "in/")}}, SetOptions{}); err != nil {
		t.Fatal(err)
	}
	if !inTx(t, ev) {
		t.Fatal("not emitted")
	}
	if r, _ := last(t); r.ConfigurationID != "one" || r.Function != fnARN+"f" {
		t.Errorf("record %+v", r)
	}

	// Prepared for "one" (f, prefix in/); the configuration becomes
	// "two" (g, prefix out/) before the transaction: nothing.
	ev = put
	ev.Prepared = e.svc.Prepare(e.bucket(t, "photos"), ev.Name, ev.Key, ev.Origin)
	if p, ok := ev.Prepared.(*prepared); !ok || len(p.deliveries) != 1 {
		t.Fatalf("prepared %#v", ev.Prepared)
	}
	if err := e.svc.SetConfiguration(context.Background(), "photos", &Configuration{Functions: []FunctionConfiguration{fc("two", "g", ev2("s3:ObjectCreated:*"), "prefix", "out/")}}, SetOptions{}); err != nil {
		t.Fatal(err)
	}
	if inTx(t, ev) {
		t.Error("emitted for a configuration replaced before the transaction")
	}
	// Prepared for "two", which selects nothing; "three" (h) selects it
	// in the transaction.
	ev.Prepared = e.svc.Prepare(e.bucket(t, "photos"), ev.Name, ev.Key, ev.Origin)
	if p, ok := ev.Prepared.(*prepared); !ok || len(p.deliveries) != 0 {
		t.Fatalf("prepared %#v", ev.Prepared)
	}
	if err := e.svc.SetConfiguration(context.Background(), "photos", &Configuration{Functions: []FunctionConfiguration{fc("three", "h", ev2("s3:ObjectCreated:*"))}}, SetOptions{}); err != nil {
		t.Fatal(err)
	}
	if !inTx(t, ev) {
		t.Fatal("not emitted")
	}
	if r, _ := last(t); r.ConfigurationID != "three" || r.Function != fnARN+"h" {
		t.Errorf("record %+v", r)
	}

	// Versioning enabled between preparation and transaction: the record
	// carries the version ID, as the unprepared path writes it.
	ev = put
	ev.VersionID = "0000000000000007f00dfeedfacecafe"
	ev.Prepared = e.svc.Prepare(e.bucket(t, "photos"), ev.Name, ev.Key, ev.Origin)
	err := e.meta.Update(context.Background(), func(tx meta.Tx) error {
		b, err := tx.Bucket("photos")
		if err != nil {
			return err
		}
		b.Versioning = meta.VersioningEnabled
		return tx.PutBucket(b)
	})
	if err != nil {
		t.Fatal(err)
	}
	if !inTx(t, ev) {
		t.Fatal("not emitted")
	}
	r, src := last(t)
	if r.VersionID != ev.VersionID || !bytes.Contains([]byte(src), []byte(`"v":"`+ev.VersionID+`"`)) {
		t.Errorf("record %+v, source %s", r, src)
	}

	// Prepared for another key, request or event than the transaction's:
	// the transaction's is emitted.
	for _, change := range []func(*objstore.Event){
		func(ev *objstore.Event) { ev.Key = "in/other.jpg" },
		func(ev *objstore.Event) { ev.Origin.RequestID = "OTHER" },
		func(ev *objstore.Event) { ev.Name = objstore.EventObjectCreatedCopy },
	} {
		ev := put
		ev.Prepared = e.svc.Prepare(e.bucket(t, "photos"), ev.Name, ev.Key, ev.Origin)
		change(&ev)
		if !inTx(t, ev) {
			t.Fatal("not emitted")
		}
		r, src := last(t)
		if r.Key != ev.Key || r.SourceRequestID != ev.Origin.RequestID || r.Event != ev.Name ||
			!bytes.Contains([]byte(src), []byte(`"n":"`+ev.Name+`"`)) {
			t.Errorf("record %+v, source %s", r, src)
		}
	}
}

// ev2 is ev, for tests where a variable named ev shadows it.
var ev2 = ev

// TestPreparedRerun: a transaction closure that the store runs twice (it
// failed after writing, so its batch was rolled back and it runs again,
// alone) with one prepared event stores the event once.
func TestPreparedRerun(t *testing.T) {
	e := newQueueEnv(t)
	if err := e.svc.SetConfiguration(context.Background(), "photos", &Configuration{Functions: []FunctionConfiguration{fc("one", "f", ev("s3:ObjectCreated:*"))}}, SetOptions{}); err != nil {
		t.Fatal(err)
	}
	before := len(e.docs(t))
	ev := objstore.Event{Name: objstore.EventObjectCreatedPut, Key: "k", VersionID: "null", Size: 1, ETag: "x", Time: time.Now(), Origin: origin}
	ev.Prepared = e.svc.Prepare(e.bucket(t, "photos"), ev.Name, ev.Key, ev.Origin)
	p, ok := ev.Prepared.(*prepared)
	if !ok || len(p.deliveries) != 1 {
		t.Fatalf("prepared %#v", ev.Prepared)
	}
	runs := 0
	err := e.meta.Update(context.Background(), func(tx meta.Tx) error {
		runs++
		b, err := tx.Bucket("photos")
		if err != nil {
			return err
		}
		ev := ev
		ev.Bucket = b
		if ok, err := e.svc.Emit(tx, &ev); err != nil || !ok {
			return errors.Join(err, errors.New("not emitted"))
		}
		if runs == 1 {
			return errors.New("fails after writing")
		}
		return nil
	})
	if err != nil || runs != 2 {
		t.Fatalf("update: %v after %d runs", err, runs)
	}
	if n := len(e.docs(t)) - before; n != 1 {
		t.Errorf("%d documents added, want the invocation alone (its log record waits for its first outcome)", n)
	}
	l, err := e.svc.Events(context.Background(), Query{Limit: 1})
	if err != nil || len(l.Records) != 1 || l.Records[0].RequestID != p.deliveries[0].event.RequestID() || l.Records[0].Key != "k" {
		t.Fatalf("events %+v, %v", l, err)
	}
}

// TestLogFromTheQueue: an event's transaction writes its invocation and
// no log record; Events shows the delivery from the queue, pending, with
// every member its record will have; the first outcome writes the record
// from the source the queue held, and later outcomes update it. Records
// written pending by earlier versions are read too, once each.
func TestLogFromTheQueue(t *testing.T) {
	e := newQueueEnv(t)
	e.storeConfiguration(t, "versioned", &Configuration{Functions: []FunctionConfiguration{
		fc("all", "f", ev("s3:ObjectCreated:*", "s3:ObjectRemoved:*")), fc("live", "g:live", ev("s3:ObjectCreated:Put")),
	}})
	at := time.Date(2026, 3, 4, 5, 6, 7, 123000000, time.UTC)
	hostile := "../a b+c/%41//ü\"<&>\u2028"
	e.emit(t, objstore.Event{Name: objstore.EventObjectCreatedPut, Bucket: &meta.Bucket{Name: "versioned"}, Key: hostile,
		VersionID: "0000000000000007f00dfeedfacecafe", Size: 3, ETag: "900150983cd24fb0d6963f7d28e17f72", Time: at, Origin: origin}, true)
	e.emit(t, objstore.Event{Name: objstore.EventObjectRemovedDeleteMarkerCreated, Bucket: &meta.Bucket{Name: "versioned"}, Key: "k",
		VersionID: "0000000000000009f00dfeedfacecafe", Time: at, Origin: origin}, false)
	for _, d := range e.docs(t) {
		if strings.HasPrefix(d, kindLog) {
			t.Fatalf("an event's transaction wrote a log record: %s", d)
		}
	}
	var queued []async.PendingEvent
	err := e.meta.View(context.Background(), func(tx meta.Tx) error {
		for p, err := range e.q.Pending(tx) {
			if err != nil {
				return err
			}
			queued = append(queued, p)
		}
		return nil
	})
	if err != nil || len(queued) != 3 {
		t.Fatalf("queue: %d pending, %v", len(queued), err)
	}

	l, err := e.svc.Events(context.Background(), Query{Bucket: "versioned"})
	if err != nil || len(l.Records) != 3 || l.Backlog != 3 {
		t.Fatalf("events: %+v, %v", l, err)
	}
	want := []Record{
		{Event: "ObjectCreated:Put", Key: hostile, VersionID: "0000000000000007f00dfeedfacecafe",
			ConfigurationID: "all", Function: fnARN + "f"},
		{Event: "ObjectCreated:Put", Key: hostile, VersionID: "0000000000000007f00dfeedfacecafe",
			ConfigurationID: "live", Function: fnARN + "g:live"},
		{Event: "ObjectRemoved:DeleteMarkerCreated", Key: "k", VersionID: "0000000000000009f00dfeedfacecafe",
			ConfigurationID: "all", Function: fnARN + "f"},
	}
	byRequest := map[string]async.PendingEvent{}
	for _, p := range queued {
		byRequest[p.RequestID] = p
	}
	for i, r := range l.Records {
		w := want[i]
		p, ok := byRequest[r.RequestID]
		if !ok || r.ID != p.Ref || r.Event != w.Event || r.Bucket != "versioned" || r.Key != w.Key || r.VersionID != w.VersionID ||
			r.Sequencer != l.Records[i/2*2].Sequencer || len(r.Sequencer) != 16 || r.ConfigurationID != w.ConfigurationID ||
			r.Function != w.Function || r.SourceRequestID != origin.RequestID || r.State != StatePending || !r.Time.Equal(at) ||
			!r.Updated.Equal(e.svc.now()) {
			t.Errorf("record %d: %+v", i, r)
		}
	}
	pending := l.Records

	// The first outcome of the first delivery, as the queue reports it,
	// writes its record; a second updates it. A record written pending by
	// an earlier version (for the third) is listed once, from the log.
	first := byRequest[pending[0].RequestID]
	err = e.meta.Update(context.Background(), func(tx meta.Tx) error {
		o := async.Observation{State: StateRetrying, RequestID: first.RequestID, Attempts: 1, Reason: "function error: Unhandled",
			Time: e.svc.now(), Accepted: first.Accepted, InvokedARN: first.InvokedARN, Source: first.Source}
		if err := e.svc.Observe(tx, first.Ref, o); err != nil {
			return err
		}
		old := *pending[2]
		return putRecord(tx, &old)
	})
	if err != nil {
		t.Fatal(err)
	}
	l, err = e.svc.Events(context.Background(), Query{Bucket: "versioned"})
	if err != nil || len(l.Records) != 3 || l.Backlog != 3 {
		t.Fatalf("events after an outcome: %+v, %v", l, err)
	}
	got := *l.Records[0]
	w := *pending[0]
	w.State, w.Attempts, w.Reason = StateRetrying, 1, "function error: Unhandled"
	if got != w {
		t.Errorf("after its first outcome:\n got %+v\nwant %+v", got, w)
	}
	if *l.Records[2] != *pending[2] {
		t.Errorf("a record written pending: %+v, want %+v", l.Records[2], pending[2])
	}
}
