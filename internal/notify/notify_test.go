package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"iter"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sluicehq/sluice/internal/lambda"
	"github.com/sluicehq/sluice/internal/lambda/async"
	"github.com/sluicehq/sluice/internal/meta"
	"github.com/sluicehq/sluice/internal/meta/bolt"
	"github.com/sluicehq/sluice/internal/objstore"
)

var update = flag.Bool("update", false, "rewrite golden files")

const fnARN = "arn:aws:lambda:us-east-1:000000000000:function:"

func fc(id, fn string, evs []string, rules ...string) FunctionConfiguration {
	f := FunctionConfiguration{ID: id, FunctionARN: fnARN + fn, Events: evs}
	for i := 0; i+1 < len(rules); i += 2 {
		f.Rules = append(f.Rules, FilterRule{Name: rules[i], Value: rules[i+1]})
	}
	return f
}

func ev(names ...string) []string { return names }

func TestValidate(t *testing.T) {
	put, all := "s3:ObjectCreated:Put", "s3:ObjectCreated:*"
	tests := []struct {
		name    string
		cfg     Configuration
		code    string
		message string
	}{
		{"empty", Configuration{}, "", ""},
		{"one", Configuration{Functions: []FunctionConfiguration{fc("a", "f", ev(all), "prefix", "images/", "suffix", ".jpg")}}, "", ""},
		{"unknown event", Configuration{Functions: []FunctionConfiguration{fc("a", "f", ev("s3:ObjectCreated:Poke"))}}, "InvalidArgument", msgBadEvent},
		{"event without s3:", Configuration{Functions: []FunctionConfiguration{fc("a", "f", ev("ObjectCreated:Put"))}}, "InvalidArgument", msgBadEvent},
		{"test event is not configurable", Configuration{Functions: []FunctionConfiguration{fc("a", "f", ev("s3:TestEvent"))}}, "InvalidArgument", msgBadEvent},
		{"no events", Configuration{Functions: []FunctionConfiguration{fc("a", "f", nil)}}, "MalformedXML", ""},
		{"rule name", Configuration{Functions: []FunctionConfiguration{fc("a", "f", ev(put), "infix", "x")}}, "InvalidArgument", msgBadRuleName},
		{"two prefixes", Configuration{Functions: []FunctionConfiguration{fc("a", "f", ev(put), "prefix", "a", "Prefix", "b")}}, "InvalidArgument", msgDoublePrefix},
		{"two suffixes", Configuration{Functions: []FunctionConfiguration{fc("a", "f", ev(put), "suffix", "a", "SUFFIX", "b")}}, "InvalidArgument", msgDoubleSuffix},
		{"empty value", Configuration{Functions: []FunctionConfiguration{fc("a", "f", ev(put), "prefix", "")}}, "InvalidArgument", msgEmptyValue},
		{"long value", Configuration{Functions: []FunctionConfiguration{fc("a", "f", ev(put), "prefix", strings.Repeat("x", 1025))}}, "InvalidArgument", msgLongValue},
		// S3's documented examples of overlap (notification-how-to-filtering).
		{"same prefix, different suffixes", Configuration{Functions: []FunctionConfiguration{
			fc("a", "f", ev(put), "prefix", "images/", "suffix", ".jpg"), fc("b", "g", ev(put), "prefix", "images/", "suffix", ".png")}}, "", ""},
		{"wildcard and its member overlap", Configuration{Functions: []FunctionConfiguration{
			fc("a", "f", ev(all), "prefix", "images/"), fc("b", "g", ev(put), "prefix", "images/")}}, "InvalidArgument", msgAmbiguous},
		{"different event types may overlap", Configuration{Functions: []FunctionConfiguration{
			fc("a", "f", ev(put), "prefix", "images/"), fc("b", "g", ev("s3:ObjectRemoved:*"), "prefix", "images/")}}, "", ""},
		{"nested prefixes overlap", Configuration{Functions: []FunctionConfiguration{
			fc("a", "f", ev(put), "prefix", "images/"), fc("b", "g", ev(put), "prefix", "images/2024/")}}, "InvalidArgument", msgAmbiguous},
		{"no prefix overlaps every prefix", Configuration{Functions: []FunctionConfiguration{
			fc("a", "f", ev(put), "suffix", ".jpg"), fc("b", "g", ev(put), "prefix", "images/", "suffix", ".jpg")}}, "InvalidArgument", msgAmbiguous},
		{"suffixes jpg and pg overlap", Configuration{Functions: []FunctionConfiguration{
			fc("a", "f", ev(put), "suffix", "jpg"), fc("b", "g", ev(put), "suffix", "pg")}}, "InvalidArgument", msgAmbiguous},
		{"disjoint prefixes", Configuration{Functions: []FunctionConfiguration{
			fc("a", "f", ev(put), "prefix", "images/"), fc("b", "g", ev(put), "prefix", "videos/")}}, "", ""},
		{"Put and Copy do not overlap", Configuration{Functions: []FunctionConfiguration{
			fc("a", "f", ev(put)), fc("b", "g", ev("s3:ObjectCreated:Copy"))}}, "", ""},
		{"two wildcards of one family", Configuration{Functions: []FunctionConfiguration{
			fc("a", "f", ev("s3:ObjectRemoved:*")), fc("b", "g", ev("s3:ObjectRemoved:*"), "prefix", "x")}}, "InvalidArgument", msgAmbiguous},
		{"overlapping types within one configuration", Configuration{Functions: []FunctionConfiguration{
			fc("a", "f", ev(all, put))}}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.validate()
			if tt.code == "" {
				if err != nil {
					t.Fatalf("validate: %v", err)
				}
				return
			}
			var oe *objstore.Error
			if !errors.As(err, &oe) || oe.Code != tt.code || (tt.message != "" && oe.Message != tt.message) {
				t.Fatalf("validate: %v, want %s %q", err, tt.code, tt.message)
			}
		})
	}
}

func TestValidateFillsIDsAndRuleNames(t *testing.T) {
	c := Configuration{Functions: []FunctionConfiguration{fc("", "f", ev("s3:ObjectCreated:*"), "prefix", "a/", "suffix", ".x")}}
	if err := c.validate(); err != nil {
		t.Fatal(err)
	}
	f := c.Functions[0]
	if f.ID == "" || f.Rules[0].Name != RulePrefix || f.Rules[1].Name != RuleSuffix {
		t.Errorf("after validate: %+v", f)
	}
}

func TestMatches(t *testing.T) {
	f := fc("a", "f", ev("s3:ObjectCreated:*", "s3:ObjectRemoved:Delete"), "prefix", "in+box/", "suffix", ".jpg")
	c := Configuration{Functions: []FunctionConfiguration{f}}
	if err := c.validate(); err != nil {
		t.Fatal(err)
	}
	f = c.Functions[0]
	tests := []struct {
		event, key string
		want       bool
	}{
		{"ObjectCreated:Put", "in box/a.jpg", true},
		{"ObjectCreated:CompleteMultipartUpload", "in box/a.jpg", true},
		{"ObjectRemoved:Delete", "in box/a.jpg", true},
		{"ObjectRemoved:DeleteMarkerCreated", "in box/a.jpg", false},
		{"ObjectTagging:Put", "in box/a.jpg", false},
		{"ObjectCreated:Put", "in box/a.png", false},
		{"ObjectCreated:Put", "out/a.jpg", false},
		{"ObjectCreated:Put", "in+box/a.jpg", false}, // a literal + is %2B
	}
	for _, tt := range tests {
		if got := f.matches(tt.event, EncodeKey(tt.key)); got != tt.want {
			t.Errorf("%s %q: %v, want %v", tt.event, tt.key, got, tt.want)
		}
	}
}

func TestEncodeKey(t *testing.T) {
	tests := map[string]string{
		"HappyFace.jpg":        "HappyFace.jpg",
		"red flower.jpg":       "red+flower.jpg",
		"dt=2024-01-01/a.json": "dt%3D2024-01-01/a.json",
		"a+b":                  "a%2Bb",
		"x~y(1)!":              "x%7Ey%281%29%21",
		"ünï/çødé":             "%C3%BCn%C3%AF/%C3%A7%C3%B8d%C3%A9",
		"star*_-.":             "star*_-.",
		"%41":                  "%2541",
	}
	for in, want := range tests {
		if got := EncodeKey(in); got != want {
			t.Errorf("EncodeKey(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSequencerOrder(t *testing.T) {
	// S3's rule: pad the shorter with zeros, compare as strings.
	prev := ""
	for _, seq := range []uint64{1, 9, 10, 15, 16, 255, 256, 1 << 40, 1<<63 + 5} {
		s := formatSequencer(seq)
		if len(s) != 16 || s <= prev {
			t.Fatalf("sequencer of %d is %q after %q", seq, s, prev)
		}
		prev = s
	}
}

// fakeQueue records the invocations added to it. Those added with
// AddSourceTx are recorded with the payload build makes of their source
// (as async.Queue does when it delivers them); sources keeps the sources.
type fakeQueue struct {
	mu      sync.Mutex
	added   []*lambda.AsyncEvent
	refs    []string
	sources [][]byte
	pending []async.PendingEvent
	kicks   int
	addErr  error
	build   func([]byte) ([]byte, error)
}

func (q *fakeQueue) AddSourceTx(tx meta.Tx, ev *lambda.AsyncEvent, ref string) error {
	if !json.Valid(ev.Invocation.Payload) {
		return fmt.Errorf("source is not JSON: %s", ev.Invocation.Payload)
	}
	p, err := q.build(ev.Invocation.Payload)
	if err != nil {
		return err
	}
	q.mu.Lock()
	q.sources = append(q.sources, ev.Invocation.Payload)
	q.pending = append(q.pending, async.PendingEvent{Ref: ref, Function: ev.FunctionName, Qualifier: ev.Qualifier,
		RequestID: ev.Invocation.RequestID, InvokedARN: ev.Invocation.InvokedARN, Accepted: ev.Accepted, Source: ev.Invocation.Payload})
	q.mu.Unlock()
	built := *ev
	built.Invocation.Payload = p
	return q.AddTx(tx, &built, ref)
}

func (q *fakeQueue) AddTx(tx meta.Tx, ev *lambda.AsyncEvent, ref string) error {
	if q.addErr != nil {
		return q.addErr
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.added = append(q.added, ev)
	q.refs = append(q.refs, ref)
	return nil
}

// Pending lists the invocations added with AddSourceTx (the fake never
// attempts them; Events leaves out those the log has a record of).
func (q *fakeQueue) Pending(meta.Tx) iter.Seq2[async.PendingEvent, error] {
	q.mu.Lock()
	pending := slices.Clone(q.pending)
	q.mu.Unlock()
	return func(yield func(async.PendingEvent, error) bool) {
		for _, p := range pending {
			if !yield(p, nil) {
				return
			}
		}
	}
}

// observation is o as async.Queue makes it for the delivery with
// reference ref: for the first outcome of one still pending, with its
// source (after which it is no longer pending).
func (q *fakeQueue) observation(ref string, o async.Observation) async.Observation {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, p := range q.pending {
		if p.Ref == ref {
			o.Source, o.InvokedARN, o.Accepted, o.RequestID = p.Source, p.InvokedARN, p.Accepted, p.RequestID
			q.pending = slices.Delete(q.pending, i, i+1)
			break
		}
	}
	return o
}

func (q *fakeQueue) Kick() {
	q.mu.Lock()
	q.kicks++
	q.mu.Unlock()
}

// fakeFunctions parses ARNs with a real lambda.Service and answers Allows
// with allow.
type fakeFunctions struct {
	svc   *lambda.Service
	allow func(functionARN, sourceARN, sourceAccount string) (bool, error)
}

func (f *fakeFunctions) Target(arn string) (lambda.Target, error) { return f.svc.Target(arn) }

func (f *fakeFunctions) Allows(ctx context.Context, arn, service, sourceARN, sourceAccount string) (bool, error) {
	if service != servicePrincipal {
		return false, nil
	}
	return f.allow(arn, sourceARN, sourceAccount)
}

type env struct {
	meta  meta.Store
	svc   *Service
	queue *fakeQueue
	fns   *fakeFunctions
}

func newEnv(t *testing.T) *env {
	t.Helper()
	m, err := bolt.Open(filepath.Join(t.TempDir(), "meta.db"), bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	now := time.Date(2026, 3, 4, 5, 6, 7, 891000000, time.UTC)
	svc := New(Config{Meta: m, Region: "us-east-1", AccountID: "000000000000", Now: func() time.Time { return now }})
	q := &fakeQueue{build: svc.BuildPayload}
	fns := &fakeFunctions{
		svc:   lambda.New(lambda.Config{Meta: m}),
		allow: func(string, string, string) (bool, error) { return true, nil },
	}
	svc.Start(q, fns)
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
	return &env{meta: m, svc: svc, queue: q, fns: fns}
}

func (e *env) set(t *testing.T, bucket string, c *Configuration) error {
	t.Helper()
	return e.svc.SetConfiguration(context.Background(), bucket, c, SetOptions{
		Origin: objstore.Origin{RequestID: "SETREQ0000000001", HostID: "host/id"},
	})
}

// emit runs Emit for ev in a transaction, as objstore does.
func (e *env) emit(t *testing.T, ev *objstore.Event) bool {
	t.Helper()
	var ok bool
	err := e.meta.Update(context.Background(), func(tx meta.Tx) error {
		b, err := tx.Bucket(ev.Bucket.Name)
		if err != nil {
			return err
		}
		ev.Bucket = b
		ok, err = e.svc.Emit(tx, ev)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

var origin = objstore.Origin{
	RequestID: "C3D13FE58DE4C810", HostID: "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD",
	PrincipalID: "AWS:AIDAJDPLRKLG7UEXAMPLE", SourceIP: "127.0.0.1",
}

func TestSetConfigurationSendsTestEvent(t *testing.T) {
	e := newEnv(t)
	c := &Configuration{Functions: []FunctionConfiguration{fc("cfg1", "f", ev("s3:ObjectCreated:*"), "prefix", "images/")}}
	if err := e.set(t, "photos", c); err != nil {
		t.Fatal(err)
	}
	if len(e.queue.added) != 1 || e.queue.kicks != 1 {
		t.Fatalf("added %d, kicks %d", len(e.queue.added), e.queue.kicks)
	}
	var te events.S3TestEvent
	if err := json.Unmarshal(e.queue.added[0].Invocation.Payload, &te); err != nil {
		t.Fatal(err)
	}
	if te.Service != "Amazon S3" || te.Event != "s3:TestEvent" || te.Bucket != "photos" || te.RequestID != "SETREQ0000000001" ||
		te.HostID != "host/id" || !te.Time.Equal(e.svc.now()) {
		t.Errorf("test event %+v", te)
	}
	// Setting it again adds no function: no second test event.
	if err := e.set(t, "photos", c); err != nil {
		t.Fatal(err)
	}
	if len(e.queue.added) != 1 {
		t.Errorf("a configuration that adds no function sent %d test events", len(e.queue.added)-1)
	}
	got, err := e.svc.Configuration(context.Background(), "photos")
	if err != nil || len(got.Functions) != 1 || got.Functions[0].Rules[0].Name != RulePrefix {
		t.Fatalf("Configuration: %+v, %v", got, err)
	}
	// The empty configuration turns notifications off.
	if err := e.set(t, "photos", &Configuration{}); err != nil {
		t.Fatal(err)
	}
	if e.emit(t, &objstore.Event{Name: objstore.EventObjectCreatedPut, Bucket: &meta.Bucket{Name: "photos"}, Key: "images/a"}) {
		t.Error("an event was emitted with notifications off")
	}
	if _, err := e.svc.Configuration(context.Background(), "nope"); !errors.Is(err, objstore.ErrNoSuchBucket) {
		t.Errorf("missing bucket: %v", err)
	}
}

func TestSetConfigurationValidatesDestinations(t *testing.T) {
	e := newEnv(t)
	e.fns.allow = func(arn, sourceARN, account string) (bool, error) {
		switch {
		case strings.HasSuffix(arn, ":gone"):
			return false, lambda.ErrResourceNotFound
		case strings.HasSuffix(arn, ":private"):
			return false, nil
		}
		return sourceARN == "arn:aws:s3:::photos" && account == "000000000000", nil
	}
	c := &Configuration{Functions: []FunctionConfiguration{
		fc("a", "ok", ev("s3:ObjectCreated:Put")),
		fc("b", "gone", ev("s3:ObjectCreated:Copy")),
		fc("c", "private", ev("s3:ObjectRemoved:*")),
	}}
	err := e.set(t, "photos", c)
	var oe *objstore.Error
	if !errors.As(err, &oe) || oe.Code != "InvalidArgument" || oe.Message != msgUnvalidated {
		t.Fatalf("err %v", err)
	}
	want := [][2]string{
		{"ArgumentName1", fnARN + "gone"}, {"ArgumentValue1", msgNoFunction},
		{"ArgumentName2", fnARN + "private, null"}, {"ArgumentValue2", "Not authorized to invoke function [" + fnARN + "private]"},
	}
	if len(oe.Extra) != len(want) {
		t.Fatalf("extra %q", oe.Extra)
	}
	for i := range want {
		if oe.Extra[i] != want[i] {
			t.Errorf("extra[%d] = %q, want %q", i, oe.Extra[i], want[i])
		}
	}
	if len(e.queue.added) != 0 {
		t.Error("a refused configuration sent test events")
	}
	// Skipping validation stores it.
	err = e.svc.SetConfiguration(context.Background(), "photos", c, SetOptions{SkipValidation: true})
	if err != nil || len(e.queue.added) != 3 {
		t.Fatalf("skip validation: %v, %d test events", err, len(e.queue.added))
	}
	// An ARN of another region cannot be parsed.
	c = &Configuration{Functions: []FunctionConfiguration{{FunctionARN: "arn:aws:lambda:eu-west-1:000000000000:function:f", Events: ev("s3:ObjectCreated:Put")}}}
	if err := e.set(t, "photos", c); !errors.As(err, &oe) || oe.Message != msgBadARN {
		t.Errorf("other region: %v", err)
	}
}

func TestEmitRecords(t *testing.T) {
	e := newEnv(t)
	c := &Configuration{Functions: []FunctionConfiguration{
		fc("created", "f", ev("s3:ObjectCreated:*", "s3:ObjectRemoved:*", "s3:ObjectTagging:*", "s3:ObjectAcl:Put")),
	}}
	for _, b := range []string{"photos", "versioned"} {
		if err := e.set(t, b, c); err != nil {
			t.Fatal(err)
		}
	}
	at := time.Date(2026, 3, 4, 5, 6, 7, 123000000, time.UTC)
	cases := []struct {
		golden string
		ev     objstore.Event
	}{
		{"put", objstore.Event{Name: objstore.EventObjectCreatedPut, Bucket: &meta.Bucket{Name: "photos"}, Key: "red flower.jpg",
			VersionID: "null", Size: 1024, ETag: "d41d8cd98f00b204e9800998ecf8427e", Time: at, Origin: origin}},
		{"put-versioned", objstore.Event{Name: objstore.EventObjectCreatedPut, Bucket: &meta.Bucket{Name: "versioned"}, Key: "a/b.txt",
			VersionID: "0000000000000007f00dfeedfacecafe", Size: 0, ETag: "d41d8cd98f00b204e9800998ecf8427e", Time: at, Origin: origin}},
		{"delete-marker", objstore.Event{Name: objstore.EventObjectRemovedDeleteMarkerCreated, Bucket: &meta.Bucket{Name: "versioned"}, Key: "a/b.txt",
			VersionID: "0000000000000009f00dfeedfacecafe", Time: at, Origin: origin}},
		{"delete", objstore.Event{Name: objstore.EventObjectRemovedDelete, Bucket: &meta.Bucket{Name: "photos"}, Key: "red flower.jpg", Time: at, Origin: origin}},
		{"tagging", objstore.Event{Name: objstore.EventObjectTaggingPut, Bucket: &meta.Bucket{Name: "versioned"}, Key: "a/b.txt",
			VersionID: "0000000000000007f00dfeedfacecafe", Size: 3, ETag: "900150983cd24fb0d6963f7d28e17f72", Time: at, Origin: origin}},
		{"acl", objstore.Event{Name: objstore.EventObjectACLPut, Bucket: &meta.Bucket{Name: "photos"}, Key: "red flower.jpg",
			VersionID: "null", Size: 3, ETag: "900150983cd24fb0d6963f7d28e17f72", Time: at, Origin: origin}},
	}
	for _, tc := range cases {
		t.Run(tc.golden, func(t *testing.T) {
			n := len(e.queue.added)
			if !e.emit(t, &tc.ev) {
				t.Fatal("not emitted")
			}
			if len(e.queue.added) != n+1 {
				t.Fatalf("%d invocations added", len(e.queue.added)-n)
			}
			ae := e.queue.added[n]
			if ae.FunctionName != "f" || ae.Qualifier != "" || ae.Invocation.InvokedARN != fnARN+"f" ||
				lambda.RecursionDepth(ae.Invocation.TraceID, fnARN+"f") != 1 {
				t.Errorf("invocation %+v", ae)
			}
			got := ae.Invocation.Payload
			// The transaction stored the record's source, not the record.
			if src := e.queue.sources[len(e.queue.sources)-1]; len(src) > len(got)*3/5 {
				t.Errorf("source of %d bytes for a record of %d: %s", len(src), len(got), src)
			}
			// The sequencer depends on the store's sequence: check its
			// form, then fix it for the golden file.
			var doc Event
			if err := json.Unmarshal(got, &doc); err != nil {
				t.Fatal(err)
			}
			if sq := doc.Records[0].S3.Object.Sequencer; sq != "" {
				got = bytes.Replace(got, []byte(sq), []byte("0000000000000042"), 1)
			}
			var pretty bytes.Buffer
			json.Indent(&pretty, got, "", "  ")
			pretty.WriteByte('\n')
			golden(t, filepath.Join("testdata", tc.golden+".json"), pretty.Bytes())
		})
	}
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\n%s\nwant:\n%s", path, got, want)
	}
}

// TestRecordDecodesAsS3Event decodes a record with aws-lambda-go and checks
// that it carries every field of aws-lambda-go's own sample event.
func TestRecordDecodesAsS3Event(t *testing.T) {
	e := newEnv(t)
	if err := e.set(t, "versioned", &Configuration{Functions: []FunctionConfiguration{fc("cfg", "f", ev("s3:ObjectCreated:*"))}}); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 4, 5, 6, 7, 123000000, time.UTC)
	e.emit(t, &objstore.Event{Name: objstore.EventObjectCreatedPut, Bucket: &meta.Bucket{Name: "versioned"}, Key: "Happy Face.jpg",
		VersionID: "v1", Size: 1024, ETag: "d41d8cd98f00b204e9800998ecf8427e", Time: at, Origin: origin})
	body := e.queue.added[len(e.queue.added)-1].Invocation.Payload
	var s3e events.S3Event
	if err := json.Unmarshal(body, &s3e); err != nil {
		t.Fatal(err)
	}
	r := s3e.Records[0]
	o := r.S3.Object
	if r.EventVersion != "2.1" || r.EventSource != "aws:s3" || r.AWSRegion != "us-east-1" || !r.EventTime.Equal(at) ||
		r.EventName != "ObjectCreated:Put" || r.PrincipalID.PrincipalID != origin.PrincipalID ||
		r.RequestParameters.SourceIPAddress != "127.0.0.1" || r.ResponseElements["x-amz-request-id"] != origin.RequestID ||
		r.ResponseElements["x-amz-id-2"] != origin.HostID || r.S3.SchemaVersion != "1.0" || r.S3.ConfigurationID != "cfg" ||
		r.S3.Bucket.Name != "versioned" || r.S3.Bucket.OwnerIdentity.PrincipalID != "000000000000" || r.S3.Bucket.Arn != "arn:aws:s3:::versioned" ||
		o.Key != "Happy+Face.jpg" || o.URLDecodedKey != "Happy Face.jpg" || o.Size != 1024 || o.VersionID != "v1" ||
		o.ETag != "d41d8cd98f00b204e9800998ecf8427e" || len(o.Sequencer) != 16 {
		t.Errorf("decoded %+v", r)
	}

	// Every field of aws-lambda-go's sample (events/testdata/s3-event.json)
	// is in ours.
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/aws/aws-lambda-go").Output()
	if err != nil {
		t.Fatalf("locating aws-lambda-go (a dependency of this module): %v", err)
	}
	sample, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "events", "testdata", "s3-event.json"))
	if err != nil {
		t.Fatalf("aws-lambda-go's sample: %v", err)
	}
	var want, got map[string]any
	json.Unmarshal(sample, &want)
	json.Unmarshal(body, &got)
	wantPaths, gotPaths := paths("", want), paths("", got)
	for _, p := range wantPaths {
		if !contains(gotPaths, p) {
			t.Errorf("aws-lambda-go's sample has %s; our record does not", p)
		}
	}
}

// paths lists the member paths of a decoded JSON document.
func paths(prefix string, v any) []string {
	var out []string
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			out = append(out, prefix+"."+k)
			out = append(out, paths(prefix+"."+k, c)...)
		}
	case []any:
		for _, c := range x {
			out = append(out, paths(prefix+"[]", c)...)
		}
	}
	sort.Strings(out)
	return out
}

func contains(list []string, s string) bool {
	i := sort.SearchStrings(list, s)
	return i < len(list) && list[i] == s
}

func TestEmitFiltersAndLog(t *testing.T) {
	e := newEnv(t)
	c := &Configuration{Functions: []FunctionConfiguration{
		fc("jpg", "thumbs:live", ev("s3:ObjectCreated:Put"), "prefix", "in/", "suffix", ".jpg"),
		fc("png", "other", ev("s3:ObjectCreated:*"), "prefix", "in/", "suffix", ".png"),
	}}
	if err := e.set(t, "photos", c); err != nil {
		t.Fatal(err)
	}
	tests := e.queue.added
	e.queue.added = nil
	for _, k := range []string{"in/a.jpg", "in/b.png", "out/c.jpg", "in/d.gif"} {
		e.emit(t, &objstore.Event{Name: objstore.EventObjectCreatedPut, Bucket: &meta.Bucket{Name: "photos"}, Key: k, Origin: origin})
	}
	if len(e.queue.added) != 2 || e.queue.added[0].FunctionName != "thumbs" || e.queue.added[0].Qualifier != "live" ||
		e.queue.added[0].Invocation.InvokedARN != fnARN+"thumbs:live" || e.queue.added[1].FunctionName != "other" {
		t.Fatalf("added %+v", e.queue.added)
	}
	l, err := e.svc.Events(context.Background(), Query{Bucket: "photos"})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Records) != 4 || l.Backlog != 4 {
		t.Fatalf("log: %d records, backlog %d", len(l.Records), l.Backlog)
	}
	if r := l.Records[0]; r.Event != "s3:TestEvent" || r.State != StatePending || r.RequestID != tests[0].Invocation.RequestID {
		t.Errorf("first record %+v", r)
	}
	r := l.Records[2]
	if r.Event != "ObjectCreated:Put" || r.Key != "in/a.jpg" || r.ConfigurationID != "jpg" || r.Function != fnARN+"thumbs:live" ||
		r.SourceRequestID != origin.RequestID || r.State != StatePending || r.ID != e.queue.refs[len(e.queue.refs)-2] {
		t.Errorf("record %+v", r)
	}

	// The queue's observations update the records.
	err = e.meta.Update(context.Background(), func(tx meta.Tx) error {
		id := l.Records[2].ID
		if err := e.svc.Observe(tx, id, e.queue.observation(id, async.Observation{State: StateRetrying, Attempts: 1, Reason: "function error: Unhandled", Time: e.svc.now()})); err != nil {
			return err
		}
		id = l.Records[3].ID
		return e.svc.Observe(tx, id, e.queue.observation(id, async.Observation{State: StateDelivered, Attempts: 1, Time: e.svc.now()}))
	})
	if err != nil {
		t.Fatal(err)
	}
	l, _ = e.svc.Events(context.Background(), Query{After: l.Records[1].ID})
	if len(l.Records) != 2 || l.Records[0].State != StateRetrying || l.Records[0].Reason != "function error: Unhandled" ||
		l.Records[1].State != StateDelivered || l.Backlog != 3 {
		t.Errorf("after observations: %+v %+v, backlog %d", l.Records[0], l.Records[1], l.Backlog)
	}
	// The newest N, oldest first.
	l, _ = e.svc.Events(context.Background(), Query{Limit: 2})
	if len(l.Records) != 2 || l.Records[1].Key != "in/b.png" {
		t.Errorf("newest 2: %+v", l.Records)
	}
}

func TestEmitAbortsWithQueue(t *testing.T) {
	e := newEnv(t)
	if err := e.set(t, "photos", &Configuration{Functions: []FunctionConfiguration{fc("a", "f", ev("s3:ObjectCreated:*"))}}); err != nil {
		t.Fatal(err)
	}
	e.queue.addErr = errors.New("disk full")
	err := e.meta.Update(context.Background(), func(tx meta.Tx) error {
		b, _ := tx.Bucket("photos")
		_, err := e.svc.Emit(tx, &objstore.Event{Name: objstore.EventObjectCreatedPut, Bucket: b, Key: "k"})
		return err
	})
	if err == nil {
		t.Fatal("an event that could not be queued did not abort its change")
	}
}

func TestPrune(t *testing.T) {
	e := newEnv(t)
	e.svc.keep, e.svc.retention = 3, time.Hour
	if err := e.set(t, "photos", &Configuration{Functions: []FunctionConfiguration{fc("a", "f", ev("s3:ObjectCreated:*"))}}); err != nil {
		t.Fatal(err)
	}
	for i := range 6 {
		e.emit(t, &objstore.Event{Name: objstore.EventObjectCreatedPut, Bucket: &meta.Bucket{Name: "photos"}, Key: string(rune('a' + i))})
	}
	l, _ := e.svc.Events(context.Background(), Query{})
	// Everything but the second event is done.
	err := e.meta.Update(context.Background(), func(tx meta.Tx) error {
		for i, r := range l.Records {
			if i == 2 {
				continue
			}
			if err := e.svc.Observe(tx, r.ID, e.queue.observation(r.ID, async.Observation{State: StateDelivered, Time: e.svc.now()})); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.prune(context.Background()); err != nil {
		t.Fatal(err)
	}
	l, _ = e.svc.Events(context.Background(), Query{})
	var keys []string
	for _, r := range l.Records {
		keys = append(keys, r.Key)
	}
	// 7 records (test event + 6): the newest 3 finished are kept, and the
	// pending one, older, stays too.
	if got := strings.Join(keys, ","); got != "b,d,e,f" {
		t.Errorf("after pruning: %s", got)
	}
}

// TestPruneInBatches prunes a log longer than a pruning batch, with
// records past the retention, records within it, and deliveries under way
// scattered among them.
func TestPruneInBatches(t *testing.T) {
	e := newEnv(t)
	const n, keep = 3*pruneBatch + 17, 100
	e.svc.keep, e.svc.retention = keep, time.Hour
	if err := e.set(t, "photos", &Configuration{Functions: []FunctionConfiguration{fc("a", "f", ev("s3:ObjectCreated:*"))}}); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		e.emit(t, &objstore.Event{Name: objstore.EventObjectCreatedPut, Bucket: &meta.Bucket{Name: "photos"}, Key: fmt.Sprint(i)})
	}
	l, err := e.svc.Events(context.Background(), Query{Limit: 10000})
	if err != nil || len(l.Records) != n+1 {
		t.Fatalf("log: %d records, %v", len(l.Records), err)
	}
	pending := map[string]bool{"5": true, "400": true, fmt.Sprint(n - 3): true}
	err = e.meta.Update(context.Background(), func(tx meta.Tx) error {
		for i, r := range l.Records[1:] { // the test event stays pending
			if pending[r.Key] {
				if i%2 == 0 {
					continue
				}
				if err := e.svc.Observe(tx, r.ID, e.queue.observation(r.ID, async.Observation{State: StateRetrying, Attempts: 1, Time: e.svc.now()})); err != nil {
					return err
				}
				continue
			}
			at := e.svc.now()
			if i < n/2 {
				at = at.Add(-2 * time.Hour)
			}
			state := StateDelivered
			if i%7 == 0 {
				state = StateFailed
			}
			if err := e.svc.Observe(tx, r.ID, e.queue.observation(r.ID, async.Observation{State: state, Attempts: 1, Time: at})); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.prune(context.Background()); err != nil {
		t.Fatal(err)
	}
	after, err := e.svc.Events(context.Background(), Query{Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	// Kept: the deliveries under way (the test event's and three others)
	// and the newest keep finished ones.
	var want []string
	finished := keep
	for i := len(l.Records) - 1; i >= 0; i-- {
		r := l.Records[i]
		if i == 0 || pending[r.Key] {
			want = append(want, r.ID)
		} else if finished > 0 {
			want = append(want, r.ID)
			finished--
		}
	}
	slices.Sort(want)
	var got []string
	for _, r := range after.Records {
		got = append(got, r.ID)
	}
	if !slices.Equal(got, want) {
		t.Errorf("after pruning %d records: kept %d, want %d\ngot  %v\nwant %v", n+1, len(got), len(want), got, want)
	}
	if after.Backlog != 4 {
		t.Errorf("backlog %d, want 4", after.Backlog)
	}
	// Nothing left past the retention or beyond keep: pruning again
	// changes nothing.
	if err := e.svc.prune(context.Background()); err != nil {
		t.Fatal(err)
	}
	again, _ := e.svc.Events(context.Background(), Query{Limit: 10000})
	if len(again.Records) != len(after.Records) {
		t.Errorf("second prune: %d records, had %d", len(again.Records), len(after.Records))
	}
}

// TestStatesInTheLogDocument checks that a delivery's state is kept in its
// log record's document, replaced at each attempt, and that states kept
// by earlier versions in documents of their own are still read and
// pruned.
func TestStatesInTheLogDocument(t *testing.T) {
	e := newEnv(t)
	e.svc.keep, e.svc.retention = 1, time.Hour
	if err := e.set(t, "photos", &Configuration{Functions: []FunctionConfiguration{fc("a", "f", ev("s3:ObjectCreated:*"))}}); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"new", "legacy", "last"} {
		e.emit(t, &objstore.Event{Name: objstore.EventObjectCreatedPut, Bucket: &meta.Bucket{Name: "photos"}, Key: k})
	}
	l, _ := e.svc.Events(context.Background(), Query{})
	newID, legacyID, lastID := l.Records[1].ID, l.Records[2].ID, l.Records[3].ID
	ctx := context.Background()
	err := e.meta.Update(ctx, func(tx meta.Tx) error {
		if err := e.svc.Observe(tx, newID, e.queue.observation(newID, async.Observation{State: StateRetrying, Attempts: 1, Reason: "function error: Unhandled", Time: e.svc.now()})); err != nil {
			return err
		}
		if err := e.svc.Observe(tx, newID, e.queue.observation(newID, async.Observation{State: StateDelivered, Attempts: 2, RequestID: "r2", Time: e.svc.now()})); err != nil {
			return err
		}
		// A record and a state as earlier versions wrote them: the
		// record pending, by the transaction of the event, and the state
		// in a document of its own.
		legacy := l.Records[2]
		legacy.State, legacy.Function = StatePending, fnARN+"f"
		e.queue.observation(legacyID, async.Observation{}) // the queue is done with it
		if err := putRecord(tx, legacy); err != nil {
			return err
		}
		st := deliveryState{State: StateFailed, Attempts: 3, Reason: "old failure", Updated: e.svc.now().Add(-2 * time.Hour)}
		if err := tx.PutDoc(kindState, legacyID, appendState(nil, &st)); err != nil {
			return err
		}
		// A record no longer in the log gets no state.
		return e.svc.Observe(tx, "00000000ffffffff", async.Observation{State: StateDelivered, Time: e.svc.now()})
	})
	if err != nil {
		t.Fatal(err)
	}
	err = e.meta.View(ctx, func(tx meta.Tx) error {
		doc, err := tx.Doc(kindLog, newID)
		if err != nil {
			return err
		}
		if n := bytes.Count(doc, []byte("\n")); n != 1 || !bytes.HasSuffix(doc, []byte(`"requestId":"r2","updated":"2026-03-04T05:06:07.891Z"}`)) {
			t.Errorf("log document with %d states: %s", n, doc)
		}
		for d, err := range tx.Docs(kindState, meta.ListOptions{}) {
			if err != nil {
				return err
			}
			if d.Key != legacyID {
				t.Errorf("a state document was written for %s: %s", d.Key, d.Value)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	l, _ = e.svc.Events(ctx, Query{})
	got := map[string]*Record{}
	for _, r := range l.Records {
		got[r.ID] = r
	}
	if r := got[newID]; r == nil || r.State != StateDelivered || r.Attempts != 2 || r.Reason != "" || r.RequestID != "r2" || r.Key != "new" {
		t.Errorf("new-style record: %+v", r)
	}
	if r := got[legacyID]; r == nil || r.State != StateFailed || r.Reason != "old failure" || r.Key != "legacy" {
		t.Errorf("legacy record: %+v", r)
	}
	if l.Backlog != 2 { // the test event and "last"
		t.Errorf("backlog %d", l.Backlog)
	}
	// Keep 1: both finished records go, the first beyond keep, the legacy
	// one past the retention, with its state document; the pending ones
	// stay.
	if err := e.svc.prune(ctx); err != nil {
		t.Fatal(err)
	}
	l, _ = e.svc.Events(ctx, Query{})
	if len(l.Records) != 2 || l.Records[1].ID != lastID {
		for _, r := range l.Records {
			t.Errorf("after pruning: %+v", r)
		}
	}
	e.meta.View(ctx, func(tx meta.Tx) error {
		if _, err := tx.Doc(kindState, legacyID); !errors.Is(err, meta.ErrNoSuchDoc) {
			t.Errorf("legacy state document left: %v", err)
		}
		return nil
	})
}
