package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/internal/lambda/async"
	"github.com/sluicehq/sluice/internal/meta"
)

// The event log keeps one Record per delivery (an event × a configuration
// that selected it), listed by `sluice events`. A delivery not attempted
// yet is shown from the asynchronous queue, which holds its invocation
// with the record's source (Queue.Pending): the transaction that emits an
// event — an object change, on the metadata store's single committer —
// writes that one document per delivery and no log record. The record is
// written by the transaction of the delivery's first outcome (Observe),
// built from the same source, and updated by the later ones. Records of
// finished deliveries are pruned after Config.Retention or beyond the
// newest Config.Keep; deliveries still under way never are — the backlog
// is always visible. (Stores written before this kept a pending record
// from the emitting transaction on; Events and Observe read those too.)

// kindLog is the document kind of the event log; keys are the delivery's
// store sequence number, 16 hex digits, so that they sort by time. A
// record is written pending, as its JSON; once the queue has attempted the
// delivery, the document is the record's JSON, a newline and the state's
// JSON (deliveryState), the state replaced at each attempt without
// decoding the record. Earlier versions kept the state in a document of
// kindState under the same key: such states are still read (and pruned)
// for records that have none inline.
const (
	kindLog   = "notify/event"
	kindState = "notify/state"
)

// Delivery states of a Record.
const (
	// StatePending: queued, not attempted yet.
	StatePending = "pending"
	// StateRetrying, StateDelivered, StateFailed: see package async.
	StateRetrying  = async.StateRetrying
	StateDelivered = async.StateDelivered
	StateFailed    = async.StateFailed
)

// Record is one delivery of an event to a function, with its state.
type Record struct {
	// ID is the record's key in the log (see Query.After).
	ID string `json:"id"`
	// Time is the event's time; Updated when the state last changed.
	Time    time.Time `json:"time"`
	Updated time.Time `json:"updated"`
	// Event is the event type without "s3:" ("ObjectCreated:Put"), or
	// "s3:TestEvent".
	Event     string `json:"event"`
	Bucket    string `json:"bucket"`
	Key       string `json:"key,omitempty"`
	VersionID string `json:"versionId,omitempty"`
	// Sequencer is the record's sequencer (events of keys only).
	Sequencer string `json:"sequencer,omitempty"`
	// ConfigurationID and Function are the configuration that selected
	// the event and the function ARN it names.
	ConfigurationID string `json:"configurationId,omitempty"`
	Function        string `json:"function"`
	// RequestID is the invocation's request ID (the function's log shows
	// it); SourceRequestID the x-amz-request-id of the S3 request that
	// caused the event.
	RequestID       string `json:"requestId"`
	SourceRequestID string `json:"sourceRequestId,omitempty"`
	// State is StatePending, StateRetrying, StateDelivered or
	// StateFailed; Reason explains the last two failing states.
	State    string `json:"state"`
	Attempts int    `json:"attempts,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

// Done reports whether the delivery is over (delivered or failed).
func (r *Record) Done() bool { return r.State == StateDelivered || r.State == StateFailed }

// logKey is the log key of a sequence number.
func logKey(seq uint64) string {
	const digits = "0123456789abcdef"
	var b [16]byte
	for i := 15; i >= 0; i-- {
		b[i] = digits[seq&15]
		seq >>= 4
	}
	return string(b[:])
}

// deliveryState is a record's state once the queue has attempted it.
type deliveryState struct {
	State     string    `json:"state"`
	Attempts  int       `json:"attempts,omitempty"`
	Reason    string    `json:"reason,omitempty"`
	RequestID string    `json:"requestId,omitempty"`
	Updated   time.Time `json:"updated"`
}

// Observe implements async.Observer: it records what became of a
// delivery attempt as the state of the delivery's log record, in the
// record's own document: the state is written next to the record rather
// than in a B+tree of its own. The first outcome of a delivery writes the
// record, built from the record source the queue held (o.Source), and its
// state. A record no longer in the log, and without a source to build it
// from (pruned), gets no state.
func (s *Service) Observe(tx meta.Tx, ref string, o async.Observation) error {
	st := deliveryState{State: o.State, Attempts: o.Attempts, Reason: o.Reason, RequestID: o.RequestID, Updated: o.Time.UTC()}
	if st.State == StateDelivered {
		st.Reason = ""
	}
	doc, err := tx.Doc(kindLog, ref)
	if errors.Is(err, meta.ErrNoSuchDoc) {
		if o.Source == nil {
			return nil
		}
		r, err := recordFromSource(ref, o.InvokedARN, o.RequestID, o.Accepted, o.Source)
		if err != nil {
			s.log.Error("event log: undecodable record source", "id", ref, "err", err)
			return nil
		}
		doc = appendLogRecord(make([]byte, 0, 512), r)
	} else if err != nil {
		return err
	}
	rec, _ := splitState(doc)
	out := make([]byte, 0, len(rec)+160+len(st.Reason)+len(st.RequestID))
	out = append(append(out, rec...), '\n')
	return tx.PutDoc(kindLog, ref, appendState(out, &st))
}

// splitState splits a log document into the record and its state (nil
// when the delivery has not been attempted, or its state is in a kindState
// document). JSON as sluice writes it has no raw newline.
func splitState(doc []byte) (rec, state []byte) {
	if i := bytes.IndexByte(doc, '\n'); i >= 0 {
		return doc[:i], doc[i+1:]
	}
	return doc, nil
}

// stateOf returns the state of the log record stored as d: inline, or
// in a kindState document; nil while the delivery is pending.
func stateOf(tx meta.Tx, d meta.Doc) ([]byte, error) {
	if _, st := splitState(d.Value); st != nil {
		return st, nil
	}
	raw, err := tx.Doc(kindState, d.Key)
	if errors.Is(err, meta.ErrNoSuchDoc) {
		return nil, nil
	}
	return raw, err
}

// loadRecord decodes a log record and applies its state, if any.
func loadRecord(tx meta.Tx, d meta.Doc) (*Record, error) {
	var r Record
	rec, _ := splitState(d.Value)
	if err := json.Unmarshal(rec, &r); err != nil {
		return nil, err
	}
	raw, err := stateOf(tx, d)
	if err != nil || raw == nil {
		return &r, err
	}
	var st deliveryState
	if err := json.Unmarshal(raw, &st); err != nil {
		return nil, err
	}
	r.State, r.Attempts, r.Reason, r.Updated = st.State, st.Attempts, st.Reason, st.Updated
	if st.RequestID != "" {
		r.RequestID = st.RequestID
	}
	return &r, nil
}

var _ async.Observer = (*Service)(nil)

// recordFromSource is the pending log record of the delivery with
// reference id whose invocation of function (the ARN as configured) has
// request ID requestID, was accepted at accepted, and carries the record
// source source.
func recordFromSource(id, function, requestID string, accepted time.Time, source []byte) (*Record, error) {
	var src recordSource
	if err := decodeSource(source, &src); err != nil {
		return nil, err
	}
	key, err := url.QueryUnescape(src.Key) // EncodeKey's inverse
	if err != nil {
		return nil, err
	}
	t, err := time.Parse(timeLayout, src.Time)
	if err != nil {
		return nil, err
	}
	return &Record{
		ID: id, Time: t, Updated: accepted.UTC(), Event: src.Name, Bucket: src.Bucket, Key: key,
		VersionID: src.VersionID, Sequencer: src.Sequencer, ConfigurationID: src.ConfigID,
		Function: function, RequestID: requestID, SourceRequestID: src.RequestID, State: StatePending,
	}, nil
}

func putRecord(tx meta.Tx, r *Record) error {
	return tx.PutDoc(kindLog, r.ID, appendLogRecord(make([]byte, 0, 512), r))
}

// Query selects event log records.
type Query struct {
	// Bucket restricts the records to one bucket ("" for all).
	Bucket string
	// After lists the records after this ID, oldest first; "" lists the
	// newest Limit records (still oldest first).
	After string
	// Limit bounds the records returned (default 100, at most 10,000).
	Limit int
}

// Listing is a page of the event log.
type Listing struct {
	Records []*Record `json:"events"`
	// Backlog counts the deliveries not yet done (pending or retrying)
	// among all the log's records of the bucket queried.
	Backlog int `json:"backlog"`
}

// Events lists event log records: those in the log and, merged in key
// order, those of the deliveries the queue has not attempted yet.
func (s *Service) Events(ctx context.Context, q Query) (*Listing, error) {
	if q.Limit <= 0 {
		q.Limit = 100
	}
	q.Limit = min(q.Limit, 10000)
	out := &Listing{}
	err := s.meta.View(ctx, func(tx meta.Tx) error {
		*out = Listing{}
		pending, err := s.pendingRecords(tx, q.Bucket)
		if err != nil {
			return err
		}
		var ring []*Record
		next := 0
		visit := func(r *Record) {
			if !r.Done() {
				out.Backlog++
			}
			switch {
			case q.After != "":
				if r.ID > q.After && len(out.Records) < q.Limit {
					out.Records = append(out.Records, r)
				}
			case len(ring) < q.Limit:
				ring = append(ring, r)
			default:
				ring[next] = r
				next = (next + 1) % q.Limit
			}
		}
		i := 0
		for d, err := range tx.Docs(kindLog, meta.ListOptions{}) {
			if err != nil {
				return err
			}
			for ; i < len(pending) && pending[i].ID < d.Key; i++ {
				visit(pending[i])
			}
			if i < len(pending) && pending[i].ID == d.Key {
				i++ // a record written before its first outcome (older stores)
			}
			r, err := loadRecord(tx, d)
			if err != nil {
				s.log.Error("undecodable event log record", "id", d.Key, "err", err)
				continue
			}
			if q.Bucket != "" && r.Bucket != q.Bucket {
				continue
			}
			visit(r)
		}
		for ; i < len(pending); i++ {
			visit(pending[i])
		}
		if q.After == "" {
			out.Records = append(ring[next:], ring[:next]...)
		}
		return nil
	})
	return out, err
}

// pendingRecords returns the records of the deliveries of bucket's events
// ("" for all buckets) that the queue holds unattempted, in key order.
func (s *Service) pendingRecords(tx meta.Tx, bucket string) ([]*Record, error) {
	q, _ := s.deps()
	if q == nil {
		return nil, nil
	}
	var recs []*Record
	for p, err := range q.Pending(tx) {
		if err != nil {
			return nil, err
		}
		r, err := recordFromSource(p.Ref, p.InvokedARN, p.RequestID, p.Accepted, p.Source)
		if err != nil {
			s.log.Error("event log: undecodable record source", "id", p.Ref, "err", err)
			continue
		}
		if bucket == "" || r.Bucket == bucket {
			recs = append(recs, r)
		}
	}
	slices.SortFunc(recs, func(a, b *Record) int { return strings.Compare(a.ID, b.ID) })
	return recs, nil
}

// pruneBatch is how many records one pruning transaction deletes. The
// transaction shares a group commit with object changes waiting for the
// committer, so it is kept small enough not to hold them up.
const pruneBatch = 256

// prune deletes records of finished deliveries that are older than the
// retention or beyond the newest Keep finished ones, a batch per
// transaction. It decides from the key order and the small states alone:
// a record without one is pending, never pruned (as are the deliveries
// the queue holds unattempted, which have no record yet), and the state
// holds what a finished record's age is measured by, so the records
// themselves are not decoded.
func (s *Service) prune(ctx context.Context) error {
	var finished int
	err := s.meta.View(ctx, func(tx meta.Tx) error {
		finished = 0
		for d, err := range tx.Docs(kindLog, meta.ListOptions{}) {
			if err != nil {
				return err
			}
			if st, err := prunable(tx, d); err != nil {
				return err
			} else if st != nil {
				finished++
			}
		}
		return nil
	})
	if err != nil || finished <= 0 {
		return err
	}
	cutoff := s.now().Add(-s.retention)
	left, after := finished, ""
	for {
		var doomed []string
		done := true
		err := s.meta.View(ctx, func(tx meta.Tx) error {
			doomed, done = doomed[:0], true
			for d, err := range tx.Docs(kindLog, meta.ListOptions{After: after}) {
				if err != nil {
					return err
				}
				if len(doomed) >= pruneBatch {
					done = false
					break
				}
				after = d.Key
				st, err := prunable(tx, d)
				if err != nil {
					return err
				}
				if st == nil {
					continue // a delivery under way is never forgotten
				}
				if left <= s.keep && !st.Updated.Before(cutoff) {
					break
				}
				doomed = append(doomed, d.Key)
				left--
			}
			return nil
		})
		if err != nil || len(doomed) == 0 {
			return err
		}
		err = s.meta.Update(ctx, func(tx meta.Tx) error {
			for _, k := range doomed {
				for _, kind := range []string{kindLog, kindState} {
					if err := tx.DeleteDoc(kind, k); err != nil && !errors.Is(err, meta.ErrNoSuchDoc) {
						return err
					}
				}
			}
			return nil
		})
		if err != nil || done {
			return err
		}
	}
}

// prunable returns the state of the log record stored as d if its
// delivery is finished, nil if it is under way. A state that cannot be
// decoded counts as finished long ago (it would otherwise stay forever).
func prunable(tx meta.Tx, d meta.Doc) (*prunedState, error) {
	raw, err := stateOf(tx, d)
	if err != nil || raw == nil {
		return nil, err
	}
	var st prunedState
	if err := json.Unmarshal(raw, &st); err != nil {
		return &prunedState{State: StateFailed}, nil
	}
	if st.State != StateDelivered && st.State != StateFailed {
		return nil, nil
	}
	return &st, nil
}

// prunedState is what prune reads of a deliveryState.
type prunedState struct {
	State   string    `json:"state"`
	Updated time.Time `json:"updated"`
}

// pruneLoop prunes the log now and then until Close.
func (s *Service) pruneLoop() {
	defer s.wg.Done()
	tick := time.NewTicker(s.pruneEvery)
	defer tick.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-tick.C:
		}
		if err := s.prune(context.Background()); err != nil && !errors.Is(err, meta.ErrClosed) {
			s.log.Error("event log pruning", "err", err)
		}
	}
}

// formatSequencer is an event's sequencer: its store sequence number in
// 16 upper-case hex digits. Sequence numbers grow with every commit, so
// the later of two events of a key has the greater sequencer; the fixed
// width makes S3's comparison rule (pad, then compare as strings) agree.
func formatSequencer(seq uint64) string {
	s := strconv.FormatUint(seq, 16)
	b := make([]byte, 0, 16)
	for range 16 - len(s) {
		b = append(b, '0')
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' {
			c -= 'a' - 'A'
		}
		b = append(b, c)
	}
	return string(b)
}
