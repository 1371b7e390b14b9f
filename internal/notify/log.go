package notify

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/sluicehq/sluice/internal/lambda/async"
	"github.com/sluicehq/sluice/internal/meta"
)

// The event log keeps one Record per delivery (an event × a configuration
// that selected it): written in the transaction that emits the event,
// updated in the transactions of the asynchronous queue that attempt it,
// listed by `sluice events`. Records of finished deliveries are pruned
// after Config.Retention or beyond the newest Config.Keep; records of
// deliveries still under way never are — the backlog is always visible.

// kindLog is the document kind of the event log; keys are the delivery's
// store sequence number, 16 hex digits, so that they sort by time.
const kindLog = "notify/event"

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

// Observe implements async.Observer: it records what became of a
// delivery attempt in the delivery's log record.
func (s *Service) Observe(tx meta.Tx, ref string, o async.Observation) error {
	raw, err := tx.Doc(kindLog, ref)
	if errors.Is(err, meta.ErrNoSuchDoc) {
		return nil // pruned, or a reference of another kind
	}
	if err != nil {
		return err
	}
	var r Record
	if err := json.Unmarshal(raw, &r); err != nil {
		s.log.Error("undecodable event log record", "id", ref, "err", err)
		return nil
	}
	r.State, r.Attempts, r.Reason, r.Updated = o.State, o.Attempts, o.Reason, o.Time
	if o.RequestID != "" {
		r.RequestID = o.RequestID
	}
	if r.State == StateDelivered {
		r.Reason = ""
	}
	return putRecord(tx, &r)
}

var _ async.Observer = (*Service)(nil)

func putRecord(tx meta.Tx, r *Record) error {
	raw, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return tx.PutDoc(kindLog, r.ID, raw)
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

// Events lists event log records.
func (s *Service) Events(ctx context.Context, q Query) (*Listing, error) {
	if q.Limit <= 0 {
		q.Limit = 100
	}
	q.Limit = min(q.Limit, 10000)
	out := &Listing{}
	err := s.meta.View(ctx, func(tx meta.Tx) error {
		*out = Listing{}
		var ring []*Record
		next := 0
		for d, err := range tx.Docs(kindLog, meta.ListOptions{}) {
			if err != nil {
				return err
			}
			var r Record
			if err := json.Unmarshal(d.Value, &r); err != nil {
				continue
			}
			if q.Bucket != "" && r.Bucket != q.Bucket {
				continue
			}
			if !r.Done() {
				out.Backlog++
			}
			switch {
			case q.After != "":
				if d.Key > q.After && len(out.Records) < q.Limit {
					out.Records = append(out.Records, &r)
				}
			case len(ring) < q.Limit:
				ring = append(ring, &r)
			default:
				ring[next] = &r
				next = (next + 1) % q.Limit
			}
		}
		if q.After == "" {
			out.Records = append(ring[next:], ring[:next]...)
		}
		return nil
	})
	return out, err
}

// prune deletes records of finished deliveries that are older than the
// retention or beyond the newest Keep, a batch per transaction.
func (s *Service) prune(ctx context.Context) error {
	const batch = 1000
	for {
		var total int
		err := s.meta.View(ctx, func(tx meta.Tx) error {
			total = 0
			for _, err := range tx.Docs(kindLog, meta.ListOptions{}) {
				if err != nil {
					return err
				}
				total++
			}
			return nil
		})
		if err != nil {
			return err
		}
		cutoff := s.now().Add(-s.retention)
		var doomed []string
		err = s.meta.View(ctx, func(tx meta.Tx) error {
			doomed = doomed[:0]
			left := total
			for d, err := range tx.Docs(kindLog, meta.ListOptions{}) {
				if err != nil {
					return err
				}
				if len(doomed) >= batch || left <= s.keep && !olderThan(d.Value, cutoff) {
					break
				}
				var r Record
				if json.Unmarshal(d.Value, &r) == nil && !r.Done() {
					continue // a delivery under way is never forgotten
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
				if err := tx.DeleteDoc(kindLog, k); err != nil && !errors.Is(err, meta.ErrNoSuchDoc) {
					return err
				}
			}
			return nil
		})
		if err != nil || len(doomed) < batch {
			return err
		}
	}
}

// olderThan reports whether a stored record was last updated before t.
func olderThan(raw []byte, t time.Time) bool {
	var r struct {
		Updated time.Time `json:"updated"`
	}
	return json.Unmarshal(raw, &r) == nil && r.Updated.Before(t)
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
