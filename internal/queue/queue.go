// Package queue is a durable work queue kept in the metadata store, for
// work that must never be lost: asynchronous function invocations, S3
// event deliveries, job tasks.
//
// Items are added inside the caller's metadata transaction (Add), so an
// item exists exactly when the change that caused it was committed — the
// outbox pattern. A Queue's workers take due items, hand them to a handler
// and, by the handler's Outcome, delete them, reschedule them, or (for
// work given up on) delete them after the handler has recorded why.
// Delivery is at least once: an item being handled when the process dies
// is handled again after restart.
package queue

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/sluicehq/sluice/internal/jsonscan"
	"github.com/sluicehq/sluice/internal/meta"
)

// Item is one unit of work.
type Item struct {
	// ID identifies the item for its whole life (it survives
	// rescheduling).
	ID string `json:"id"`
	// Payload is the caller's data.
	Payload []byte `json:"payload"`
	// Attempts counts completed handler calls that asked for a retry.
	Attempts int `json:"attempts"`
	// Enqueued is when the item was added.
	Enqueued time.Time `json:"enqueued"`
	// Due is when the item may next be handled.
	Due time.Time `json:"due"`
	// Note is free text the handler attached on its last retry (for
	// example the last error), for operators and for the final record.
	Note string `json:"note,omitempty"`

	key string
}

// Outcome is what a handler decided about an item.
type Outcome struct {
	kind    int
	after   time.Duration
	note    string
	payload []byte // replaces the item's payload on retry when non-nil
	// also runs inside the transaction that applies the outcome.
	also func(meta.Tx) error
}

// Also returns o with fn run inside the transaction that applies it (which
// deletes or reschedules the item), for handlers that record what became
// of an item atomically with it. fn may run more than once; it is not run
// if the outcome was applied already.
func (o Outcome) Also(fn func(meta.Tx) error) Outcome {
	o.also = fn
	return o
}

// Done removes the item: it was handled (or given up on and recorded).
func Done() Outcome { return Outcome{kind: done} }

// Retry reschedules the item after d, recording note.
func Retry(d time.Duration, note string) Outcome { return Outcome{kind: retry, after: d, note: note} }

// RetryWith is Retry that also replaces the item's payload, for handlers
// that carry state from one attempt to the next (counters, the last
// error) in the item itself.
func RetryWith(d time.Duration, note string, payload []byte) Outcome {
	return Outcome{kind: retry, after: d, note: note, payload: payload}
}

const (
	done = iota
	retry
)

// Handler handles one item. It runs concurrently with other items' handlers.
// ctx is cancelled when the queue stops; an Outcome returned then is still
// applied.
type Handler func(ctx context.Context, it Item) Outcome

// Config configures a Queue.
type Config struct {
	Meta meta.Store
	// Name distinguishes queues in the metadata store.
	Name    string
	Handler Handler
	// Workers is the number of items handled at once (default 8).
	Workers int
	// Poll is how often the queue looks for due items without being
	// kicked (default 1 s).
	Poll   time.Duration
	Logger *slog.Logger
	// Now returns the current time (tests); nil means time.Now.
	Now func() time.Time
	// Admit, if set, is called by a worker before it hands an item to
	// Handler, and may hold the item back (background work yielding to
	// the server's clients, package load). An error — ctx ended: the
	// queue is stopping — leaves the item in the store unhandled.
	Admit func(ctx context.Context, it Item) error
}

// Queue is a durable work queue. Start it to run its workers.
type Queue struct {
	cfg  Config
	kind string
	log  *slog.Logger

	kick chan struct{}
	work chan Item
	// outcomes carries handled items to the applier, which records their
	// outcomes in batches, so that a worker moves on without waiting for
	// a commit (an fsync); the item stays in flight until it is recorded.
	outcomes chan handled

	mu       sync.Mutex
	inflight map[string]bool // store keys of the items being handled
	// gen numbers scans; finished maps the keys of items handled (and
	// removed) to the number of the latest scan that had started by
	// then: a scan with that number or lower may still see them in its
	// snapshot.
	gen      uint64
	finished map[string]uint64
	// cursor is the store key of the last item a scan handed out; a scan
	// prompted by Kick looks only after it (see due).
	cursor string
	// resets counts the times the cursor was reset.
	resets uint64

	stop   chan struct{}
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

// New returns a Queue.
func New(cfg Config) *Queue {
	if cfg.Workers <= 0 {
		cfg.Workers = 8
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Queue{
		cfg:      cfg,
		kind:     "queue/" + cfg.Name,
		log:      log.With("queue", cfg.Name),
		kick:     make(chan struct{}, 1),
		work:     make(chan Item),
		outcomes: make(chan handled, cfg.Workers),
		inflight: make(map[string]bool),
		finished: make(map[string]uint64),
		stop:     make(chan struct{}),
	}
}

// key orders items by due time, then by sequence.
func key(due time.Time, seq uint64) string {
	var b [16]byte
	ms := due.UnixMilli()
	if ms < 0 {
		ms = 0
	}
	binary.BigEndian.PutUint64(b[:8], uint64(ms))
	binary.BigEndian.PutUint64(b[8:], seq)
	return hex.EncodeToString(b[:])
}

// Add enqueues payload inside tx, due now plus delay. Call Kick after the
// transaction commits for prompt handling.
func (q *Queue) Add(tx meta.Tx, payload []byte, delay time.Duration) (string, error) {
	seq, err := tx.NextSeq()
	if err != nil {
		return "", err
	}
	now := q.cfg.Now().UTC()
	it := Item{ID: q.cfg.Name + "-" + strconv.FormatUint(seq, 10), Payload: payload, Enqueued: now, Due: now.Add(delay)}
	return it.ID, tx.PutDoc(q.kind, key(it.Due, seq), appendItem(make([]byte, 0, 160+len(payload)), &it, false))
}

// AddJSON is Add for a payload that the caller guarantees to be valid
// JSON (it encoded it itself): it is stored as it is without checking
// it, which Add does at some cost to the caller's transaction. An invalid
// payload makes an item that can never be decoded.
func (q *Queue) AddJSON(tx meta.Tx, payload []byte, delay time.Duration) (string, error) {
	seq, err := tx.NextSeq()
	if err != nil {
		return "", err
	}
	now := q.cfg.Now().UTC()
	it := Item{ID: q.cfg.Name + "-" + strconv.FormatUint(seq, 10), Payload: payload, Enqueued: now, Due: now.Add(delay)}
	return it.ID, tx.PutDoc(q.kind, key(it.Due, seq), appendItem(make([]byte, 0, 160+len(payload)), &it, len(payload) > 0))
}

// An item is stored as a JSON object. A payload that is valid JSON (the
// usual case: asynchronous invocations are JSON documents) is stored as
// it is, under "json"; any other payload base64-encoded under "payload",
// as encoding/json writes a []byte. Items stored before "json" existed
// have only the "payload" form; decodeItem reads both.
type storedItem struct {
	ID       string          `json:"id"`
	Payload  []byte          `json:"payload"`
	JSON     json.RawMessage `json:"json"`
	Attempts int             `json:"attempts"`
	Enqueued time.Time       `json:"enqueued"`
	Due      time.Time       `json:"due"`
	Note     string          `json:"note"`
}

// decodeItem decodes a stored item.
func decodeItem(raw []byte) (Item, error) {
	if it, err := scanItem(raw); err == nil {
		return it, nil
	}
	var s storedItem
	if err := json.Unmarshal(raw, &s); err != nil {
		return Item{}, err
	}
	it := Item{ID: s.ID, Payload: s.Payload, Attempts: s.Attempts, Enqueued: s.Enqueued, Due: s.Due, Note: s.Note}
	if s.JSON != nil {
		it.Payload = []byte(s.JSON)
	}
	return it, nil
}

// scanItem is decodeItem's fast path, for the members appendItem writes;
// on any error decodeItem decodes with encoding/json instead.
func scanItem(raw []byte) (Item, error) {
	var it Item
	err := jsonscan.Object(raw, func(k string, v []byte) error {
		var err error
		switch k {
		case "id":
			it.ID, err = jsonscan.String(v)
		case "json":
			it.Payload, err = jsonscan.Raw(v)
		case "attempts":
			var n int64
			n, err = jsonscan.Int(v)
			it.Attempts = int(n)
		case "enqueued":
			it.Enqueued, err = jsonscan.Time(v)
		case "due":
			it.Due, err = jsonscan.Time(v)
		case "note":
			it.Note, err = jsonscan.String(v)
		default: // "payload" (base64) and anything unexpected
			err = jsonscan.ErrSlow
		}
		return err
	})
	return it, err
}

// appendItem appends the stored form of an item, without encoding/json's
// reflection: Add runs inside the caller's transaction, on the metadata
// store's one committer. isJSON says the payload is known to be valid
// JSON.
func appendItem(b []byte, it *Item, isJSON bool) []byte {
	b = append(b, `{"id":`...)
	b = jsonscan.AppendString(b, it.ID)
	switch {
	case it.Payload == nil:
		b = append(b, `,"payload":null`...)
	case isJSON || len(it.Payload) > 0 && json.Valid(it.Payload):
		b = append(b, `,"json":`...)
		b = append(b, it.Payload...)
	default:
		b = append(b, `,"payload":"`...)
		b = base64.StdEncoding.AppendEncode(b, it.Payload)
		b = append(b, '"')
	}
	b = append(b, `,"attempts":`...)
	b = strconv.AppendInt(b, int64(it.Attempts), 10)
	b = append(b, `,"enqueued":"`...)
	b = it.Enqueued.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","due":"`...)
	b = it.Due.AppendFormat(b, time.RFC3339Nano)
	b = append(b, '"')
	if it.Note != "" {
		b = append(b, `,"note":`...)
		b = jsonscan.AppendString(b, it.Note)
	}
	return append(b, '}')
}

// Enqueue adds payload in a transaction of its own and kicks the queue.
func (q *Queue) Enqueue(ctx context.Context, payload []byte, delay time.Duration) (string, error) {
	var id string
	err := q.cfg.Meta.Update(ctx, func(tx meta.Tx) error {
		var err error
		id, err = q.Add(tx, payload, delay)
		return err
	})
	if err == nil {
		q.Kick()
	}
	return id, err
}

// Kick makes the queue look for due items now.
func (q *Queue) Kick() {
	select {
	case q.kick <- struct{}{}:
	default:
	}
}

// Start runs the scanner, the workers and the applier until Close.
func (q *Queue) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	q.cancel = cancel
	q.wg.Add(2)
	go q.scan()
	go q.applier()
	var workers sync.WaitGroup
	workers.Add(q.cfg.Workers)
	for range q.cfg.Workers {
		go func() {
			defer workers.Done()
			q.worker(ctx)
		}()
	}
	go func() {
		workers.Wait()
		close(q.outcomes) // the applier records what is left, then returns
	}()
}

// Close stops the queue and waits for handlers to return. Items being
// handled stay in the store and are handled again after the next Start.
func (q *Queue) Close() error {
	q.once.Do(func() {
		close(q.stop)
		if q.cancel != nil {
			q.cancel()
		}
	})
	q.wg.Wait()
	return nil
}

// scan feeds due items to the workers.
func (q *Queue) scan() {
	defer q.wg.Done()
	defer close(q.work)
	tick := time.NewTicker(q.cfg.Poll)
	defer tick.Stop()
	full := true
	for {
		items := q.due(full)
		for _, it := range items {
			select {
			case q.work <- it:
			case <-q.stop:
				return
			}
		}
		if len(items) == scanBatch {
			// More may be due: a backlog drains at the workers' pace,
			// not a batch per kick or tick.
			full = false
			continue
		}
		select {
		case <-q.stop:
			return
		case <-q.kick:
			full = false
		case <-tick.C:
			full = true
		}
	}
}

// scanBatch bounds the items one scan hands out.
const scanBatch = 256

// due returns up to a batch of due items that are not in flight, marking
// them in flight.
//
// A full scan reads the queue from its first item; an incremental one
// (prompted by Kick: after every transaction that adds an item) only from
// after the last item handed out, instead of reading again, under load,
// every item being handled. That finds every new item: keys are due time
// then store sequence number, both taken inside the adding transaction, on
// the store's one committer, so an item committed after a scan's snapshot
// sorts after everything that scan saw, and an item due later sorts after
// the items handed out before it is due. What it can miss — an item whose
// outcome could not be recorded (release resets the cursor), keys out of
// order after the clock stepped back — the periodic full scan finds.
func (q *Queue) due(full bool) []Item {
	now := key(q.cfg.Now(), ^uint64(0))
	q.mu.Lock()
	q.gen++
	g := q.gen
	for k, r := range q.finished {
		if r < g-1 {
			delete(q.finished, k)
		}
	}
	after, resets := q.cursor, q.resets
	if full {
		after = ""
	}
	q.mu.Unlock()
	var out []Item
	err := q.cfg.Meta.View(context.Background(), func(tx meta.Tx) error {
		out = out[:0]
		for d, err := range tx.Docs(q.kind, meta.ListOptions{After: after}) {
			if err != nil {
				return err
			}
			if d.Key > now || len(out) >= scanBatch {
				break
			}
			if q.taken(d.Key, g) {
				continue
			}
			it, err := decodeItem(d.Value)
			if err != nil {
				q.log.Error("undecodable queue item", "key", d.Key, "err", err)
				continue
			}
			it.key = d.Key
			out = append(out, it)
		}
		return nil
	})
	if err != nil {
		if !errors.Is(err, meta.ErrClosed) {
			q.log.Error("queue scan", "err", err)
		}
		return nil
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, it := range out {
		q.inflight[it.key] = true
	}
	if len(out) > 0 && q.resets == resets {
		q.cursor = out[len(out)-1].key
	}
	return out
}

// taken reports whether scan g must skip the item stored under key: it is
// being handled, or was handled after scan g's snapshot was taken.
func (q *Queue) taken(key string, g uint64) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.inflight[key] {
		return true
	}
	r, ok := q.finished[key]
	return ok && r >= g
}

// release marks the item stored under key as no longer in flight; its
// store entry is gone (or the update failed and it must be retried).
func (q *Queue) release(key string, removed bool) {
	q.mu.Lock()
	delete(q.inflight, key)
	if removed {
		q.finished[key] = q.gen
	} else {
		q.cursor, q.resets = "", q.resets+1 // it is handled again: look from the start
	}
	q.mu.Unlock()
}

// handled is an item and its handler's outcome, on the way to the store.
type handled struct {
	it  Item
	out Outcome
}

func (q *Queue) worker(ctx context.Context) {
	for it := range q.work {
		if q.cfg.Admit != nil {
			if err := q.cfg.Admit(ctx, it); err != nil {
				q.release(it.key, false) // handled after the next Start
				continue
			}
		}
		q.outcomes <- handled{it, q.cfg.Handler(ctx, it)}
	}
}

// maxApplyBatch bounds the outcomes recorded in one transaction.
const maxApplyBatch = 256

// applier records outcomes as they come, all those waiting in one
// transaction; if that fails, one by one.
func (q *Queue) applier() {
	defer q.wg.Done()
	batch := make([]handled, 0, maxApplyBatch)
	for h := range q.outcomes {
		batch = append(batch[:0], h)
	more:
		for len(batch) < maxApplyBatch {
			select {
			case h, ok := <-q.outcomes:
				if !ok {
					break more
				}
				batch = append(batch, h)
			default:
				break more
			}
		}
		err := q.apply(batch...)
		if err != nil && len(batch) > 1 {
			for _, h := range batch {
				q.finish(h, q.apply(h))
			}
			continue
		}
		for _, h := range batch {
			q.finish(h, err)
		}
	}
}

// finish ends an item's handling once its outcome is recorded (err nil)
// or could not be (the item will be handled again).
func (q *Queue) finish(h handled, err error) {
	if err != nil {
		q.log.Error("queue update failed; the item will be handled again", "item", h.it.ID, "err", err)
	}
	q.release(h.it.key, err == nil)
	if h.out.kind == retry && h.out.after <= 0 {
		q.Kick()
	}
}

// apply records handlers' outcomes in one transaction.
func (q *Queue) apply(hs ...handled) error {
	return q.cfg.Meta.Update(context.Background(), func(tx meta.Tx) error {
		for _, h := range hs {
			if err := q.applyOne(tx, h.it, h.out); err != nil {
				return err
			}
		}
		return nil
	})
}

// applyOne records one outcome inside tx.
func (q *Queue) applyOne(tx meta.Tx, it Item, out Outcome) error {
	if err := tx.DeleteDoc(q.kind, it.key); err != nil {
		if errors.Is(err, meta.ErrNoSuchDoc) {
			return nil // applied already (a rerun closure)
		}
		return err
	}
	if out.also != nil {
		if err := out.also(tx); err != nil {
			return err
		}
	}
	if out.kind == done {
		return nil
	}
	seq, err := tx.NextSeq()
	if err != nil {
		return err
	}
	next := it
	next.Attempts++
	next.Note = out.note
	if out.payload != nil {
		next.Payload = out.payload
	}
	next.Due = q.cfg.Now().UTC().Add(out.after)
	return tx.PutDoc(q.kind, key(next.Due, seq), appendItem(make([]byte, 0, 160+len(next.Note)+len(next.Payload)), &next, false))
}

// ErrUndecodable is the error Items reports for an item it cannot decode
// (wrapped, with the item's key).
var ErrUndecodable = errors.New("undecodable queue item")

// Items lists the queue's items in tx (due or not, those being handled
// included), in the order they fall due, for callers that show what is
// waiting. An item that cannot be decoded is reported as an
// ErrUndecodable error and the listing goes on; any other error is the
// store's and ends it.
func (q *Queue) Items(tx meta.Tx) iter.Seq2[Item, error] {
	return func(yield func(Item, error) bool) {
		for d, err := range tx.Docs(q.kind, meta.ListOptions{}) {
			if err != nil {
				yield(Item{}, err)
				return
			}
			it, err := decodeItem(d.Value)
			if err != nil {
				err = fmt.Errorf("queue %s: item %s: %w: %v", q.cfg.Name, d.Key, ErrUndecodable, err)
			}
			it.key = d.Key
			if !yield(it, err) {
				return
			}
		}
	}
}

// Len returns the number of items in the queue (due or not), for tests
// and metrics.
func (q *Queue) Len(ctx context.Context) (int, error) {
	n := 0
	err := q.cfg.Meta.View(ctx, func(tx meta.Tx) error {
		n = 0
		for _, err := range tx.Docs(q.kind, meta.ListOptions{}) {
			if err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}
