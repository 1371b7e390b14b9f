// Package notify is S3 event notifications to functions: the bucket
// notification configuration (CloudFunctionConfiguration: events, key
// filters, S3's validation and overlap rules), the event records S3 sends,
// and their delivery.
//
// Delivery is an outbox. objstore calls Service.Emit inside the metadata
// transaction of every object change; Emit matches the bucket's
// configuration and, in that same transaction, adds one asynchronous
// invocation per matching configuration to the functions' durable queue
// (package lambda/async: retries, maximum event age, destinations) and a
// record to the event log. The queued invocation holds the event record's
// source, the fields that vary, which the queue has the Service build into
// the record when it delivers it (BuildPayload): half the bytes in the
// transaction of every event. After the commit, Dispatch wakes the queue. So
// an event exists exactly when its change is committed: a crash right
// after a PUT's 200 still delivers it, at least once, after the restart.
// Nothing is kept only in memory and nothing is capped: a backlog is
// visible in the log (Service.Events, `sluice events`), not dropped.
//
// Recursive loops: a request made with a function's own credentials
// carries its invocation's trace header (objstore.Origin.TraceID), and the
// invocation an event causes gets the next link of that chain
// (lambda.ChainTrace). The queue stops the chain when it invokes one
// function more than lambda.MaxRecursiveInvocations times, unless the
// function's recursion config is Allow.
package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/sluicehq/sluice/internal/lambda"
	"github.com/sluicehq/sluice/internal/lambda/async"
	"github.com/sluicehq/sluice/internal/meta"
	"github.com/sluicehq/sluice/internal/objstore"
)

// ConfigName is the bucket configuration document holding a bucket's
// notification configuration (meta.Bucket.Configs).
const ConfigName = "notification"

// servicePrincipal is the principal S3 invokes functions as.
const servicePrincipal = "s3.amazonaws.com"

// Queue is the functions' asynchronous invocation queue (*async.Queue).
type Queue interface {
	// AddTx adds an invocation inside tx; ref identifies its event log
	// record to the queue's Observer.
	AddTx(tx meta.Tx, ev *lambda.AsyncEvent, ref string) error
	// AddSourceTx is AddTx for an invocation whose payload is a record
	// source, built into the record when it is delivered (by the
	// Service, the queue's Observer, as an async.PayloadBuilder).
	AddSourceTx(tx meta.Tx, ev *lambda.AsyncEvent, ref string) error
	// Pending lists the invocations added with AddSourceTx (or prepared)
	// that have had no outcome yet: the deliveries the event log shows
	// from the queue, having no record of them before their first
	// outcome.
	Pending(tx meta.Tx) iter.Seq2[async.PendingEvent, error]
	// Kick wakes the queue after a transaction that added to it.
	Kick()
}

// Functions is what notifications need of the function service
// (*lambda.Service).
type Functions interface {
	// Target parses a function ARN of a configuration, without I/O.
	Target(functionARN string) (lambda.Target, error)
	// Allows evaluates the function's resource policy for a service
	// principal; ResourceNotFoundException if the function does not
	// exist.
	Allows(ctx context.Context, functionARN, principalService, sourceARN, sourceAccount string) (bool, error)
}

// Config configures a Service.
type Config struct {
	Meta      meta.Store
	Region    string
	AccountID string
	Logger    *slog.Logger
	// Retention and Keep bound the event log: records of finished
	// deliveries are pruned once older than Retention (default 24 h) or
	// beyond the newest Keep finished ones (default 10,000). PruneEvery is how often
	// (default 1 min).
	Retention  time.Duration
	Keep       int
	PruneEvery time.Duration
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Service keeps bucket notification configurations and turns object
// changes into function invocations. New it before the object store (which
// calls Emit), Start it once the queue and the function service exist.
type Service struct {
	meta       meta.Store
	region     string
	account    string
	log        *slog.Logger
	now        func() time.Time
	retention  time.Duration
	keep       int
	pruneEvery time.Duration

	mu     sync.RWMutex
	queue  Queue
	fns    Functions
	parsed map[string]*compiled // stored configuration → compiled form

	stop chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

var _ async.PayloadBuilder = (*Service)(nil)

// New returns a Service.
func New(cfg Config) *Service {
	s := &Service{
		meta: cfg.Meta, region: cfg.Region, account: cfg.AccountID, log: cfg.Logger, now: cfg.Now,
		retention: cfg.Retention, keep: cfg.Keep, pruneEvery: cfg.PruneEvery,
		parsed: make(map[string]*compiled), stop: make(chan struct{}),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.region == "" {
		s.region = "us-east-1"
	}
	if s.account == "" {
		s.account = "000000000000"
	}
	if s.retention <= 0 {
		s.retention = 24 * time.Hour
	}
	if s.keep <= 0 {
		s.keep = 10000
	}
	if s.pruneEvery <= 0 {
		s.pruneEvery = time.Minute
	}
	return s
}

// Start connects the Service to the queue that delivers its invocations
// and the function service, and starts pruning the event log.
func (s *Service) Start(q Queue, fns Functions) {
	s.mu.Lock()
	s.queue, s.fns = q, fns
	s.parsed = make(map[string]*compiled)
	s.mu.Unlock()
	s.wg.Add(1)
	go s.pruneLoop()
}

// Close stops the pruning; it is safe to call more than once.
func (s *Service) Close() error {
	s.once.Do(func() { close(s.stop) })
	s.wg.Wait()
	return nil
}

// errNotStarted refuses notifications on a server without an
// asynchronous invocation queue (some test configurations).
var errNotStarted = &objstore.Error{Code: "NotImplemented",
	Message: "Bucket notifications are not available on this server: it has no asynchronous invocation queue."}

func (s *Service) deps() (Queue, Functions) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.queue, s.fns
}

// compiled is a stored configuration parsed, with its functions resolved.
type compiled struct {
	cfg     *Configuration
	targets []lambda.Target // per cfg.Functions
}

// maxCompiled bounds the cache of compiled configurations.
const maxCompiled = 1024

// compile returns the compiled form of a stored configuration, cached.
func (s *Service) compile(raw []byte, fns Functions) (*compiled, error) {
	s.mu.RLock()
	c := s.parsed[string(raw)]
	s.mu.RUnlock()
	if c != nil {
		return c, nil
	}
	cfg, err := parseConfiguration(raw)
	if err != nil {
		return nil, err
	}
	c = &compiled{cfg: cfg, targets: make([]lambda.Target, len(cfg.Functions))}
	for i, f := range cfg.Functions {
		if c.targets[i], err = fns.Target(f.FunctionARN); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	if len(s.parsed) >= maxCompiled {
		clear(s.parsed)
	}
	s.parsed[string(raw)] = c
	s.mu.Unlock()
	return c, nil
}

// Emit implements objstore.Events: inside the transaction of an object
// change, it adds an invocation of every function whose configuration
// selects the event: the only document a delivery adds to the change's
// transaction (its event log record is written by its first outcome, see
// Observe; Events shows it from the queue until then). An event that Prepare
// prepared, and that still fits, only has the holes of its encodings
// filled here (prepare.go).
//
// The event's sequencer is the sequence number its change drew for it
// (ev.Seq: a new version's), else a new one; the first delivery's log
// record is keyed by that same number, the others by new ones. Sequence
// numbers are store-wide, each drawn once, so no two records share a key.
func (s *Service) Emit(tx meta.Tx, ev *objstore.Event) (bool, error) {
	raw := ev.Bucket.Configs[ConfigName]
	if len(raw) == 0 {
		return false, nil
	}
	q, fns := s.deps()
	if q == nil || fns == nil {
		return false, errNotStarted
	}
	if p, ok := ev.Prepared.(*prepared); ok && p.fits(ev, raw, q) {
		return s.emitPrepared(tx, ev, p)
	}
	c, err := s.compile(raw, fns)
	if err != nil {
		return false, err
	}
	key := EncodeKey(ev.Key)
	sequencer := ""
	emitted := false
	for i := range c.cfg.Functions {
		f := &c.cfg.Functions[i]
		if !f.matches(ev.Name, key) {
			continue
		}
		var logSeq uint64
		if sequencer == "" {
			if logSeq, err = s.sequence(tx, ev); err != nil {
				return false, err
			}
			sequencer = formatSequencer(logSeq)
		} else if logSeq, err = tx.NextSeq(); err != nil {
			return false, err
		}
		src := s.source(ev, key, f.ID, sequencer)
		body := appendSource(make([]byte, 0, 384), &src)
		if _, err := s.deliver(tx, q.AddSourceTx, c.targets[i], body, ev.Origin.TraceID, logSeq); err != nil {
			return false, err
		}
		emitted = true
	}
	return emitted, nil
}

// deliver adds the invocation of t with body (with add: Queue.AddTx or
// Queue.AddSourceTx) to tx, with the reference of its event log record,
// the key of seq, and returns the invocation. The record itself is
// written by the queue's first outcome (Observe); until then Events
// shows the delivery from the queue.
func (s *Service) deliver(tx meta.Tx, add func(meta.Tx, *lambda.AsyncEvent, string) error, t lambda.Target, body []byte, trace string, seq uint64) (*lambda.AsyncEvent, error) {
	now := s.now()
	ae := &lambda.AsyncEvent{
		FunctionName: t.Name,
		Qualifier:    t.Qualifier,
		Invocation: lambda.Invocation{
			RequestID:  newUUID(),
			InvokedARN: t.InvokedARN,
			Payload:    body,
			TraceID:    lambda.ChainTrace(trace, t.FunctionARN, now),
		},
		Accepted: now,
	}
	return ae, add(tx, ae, logKey(seq))
}

// Dispatch implements objstore.Events: it wakes the queue after a
// transaction that emitted events has committed.
func (s *Service) Dispatch() {
	if q, _ := s.deps(); q != nil {
		q.Kick()
	}
}

// Configuration returns a bucket's notification configuration (empty when
// none is set). Errors: objstore.ErrNoSuchBucket.
func (s *Service) Configuration(ctx context.Context, bucket string) (*Configuration, error) {
	var raw []byte
	err := s.meta.View(ctx, func(tx meta.Tx) error {
		b, err := tx.Bucket(bucket)
		if err != nil {
			return err
		}
		raw = b.Configs[ConfigName]
		return nil
	})
	if errors.Is(err, meta.ErrNoSuchBucket) {
		return nil, objstore.ErrNoSuchBucket
	}
	if err != nil || len(raw) == 0 {
		return &Configuration{}, err
	}
	return parseConfiguration(raw)
}

// SetOptions qualify SetConfiguration.
type SetOptions struct {
	// Origin is the request that sets the configuration; its IDs go into
	// the s3:TestEvent message.
	Origin objstore.Origin
	// SkipValidation skips checking that the functions exist and let S3
	// invoke them (x-amz-skip-destination-validation: true).
	SkipValidation bool
}

// SetConfiguration replaces a bucket's notification configuration; an
// empty one turns notifications off. It validates it as S3 does (event
// types, filter rules, overlapping rules for the same event type, and,
// unless skipped, that each function exists and that its resource policy
// lets s3.amazonaws.com invoke it for this bucket and account), fills in
// missing IDs, and sends the s3:TestEvent message to each function the
// configuration adds, in the transaction that stores it. Errors:
// *objstore.Error (InvalidArgument, MalformedXML, NoSuchBucket).
func (s *Service) SetConfiguration(ctx context.Context, bucket string, cfg *Configuration, opts SetOptions) error {
	q, fns := s.deps()
	if fns == nil {
		return errNotStarted
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	targets := make([]lambda.Target, len(cfg.Functions))
	for i, f := range cfg.Functions {
		t, err := fns.Target(f.FunctionARN)
		if err != nil {
			return invalidArgument(msgBadARN, "CloudFunction", f.FunctionARN)
		}
		targets[i] = t
	}
	if !opts.SkipValidation {
		if err := s.validateDestinations(ctx, fns, bucket, cfg); err != nil {
			return err
		}
	}
	var raw []byte
	if len(cfg.Functions) > 0 {
		var err error
		if raw, err = json.Marshal(cfg); err != nil {
			return err
		}
	}
	now := s.now()
	body, err := testPayload(bucket, opts.Origin, now)
	if err != nil {
		return err
	}
	tested := false
	err = s.meta.Update(ctx, func(tx meta.Tx) error {
		tested = false
		b, err := tx.Bucket(bucket)
		if err != nil {
			return err
		}
		old := map[string]bool{}
		if prev := b.Configs[ConfigName]; len(prev) > 0 {
			if pc, err := parseConfiguration(prev); err == nil {
				for _, f := range pc.Functions {
					old[f.FunctionARN] = true
				}
			}
		}
		if raw == nil {
			delete(b.Configs, ConfigName)
		} else {
			if b.Configs == nil {
				b.Configs = map[string][]byte{}
			}
			b.Configs[ConfigName] = raw
		}
		if err := tx.PutBucket(b); err != nil {
			return err
		}
		for i, f := range cfg.Functions {
			if old[f.FunctionARN] {
				continue
			}
			old[f.FunctionARN] = true
			if q == nil {
				return errNotStarted
			}
			seq, err := tx.NextSeq()
			if err != nil {
				return err
			}
			// The test message is queued whole, not as a record source,
			// so its log record is written now.
			ae, err := s.deliver(tx, q.AddTx, targets[i], body, "", seq)
			if err != nil {
				return err
			}
			err = putRecord(tx, &Record{ID: logKey(seq), Time: now.UTC(), Updated: ae.Accepted.UTC(), Event: testEventName, Bucket: bucket,
				ConfigurationID: f.ID, Function: f.FunctionARN, RequestID: ae.Invocation.RequestID,
				SourceRequestID: opts.Origin.RequestID, State: StatePending})
			if err != nil {
				return err
			}
			tested = true
		}
		return nil
	})
	if errors.Is(err, meta.ErrNoSuchBucket) {
		return objstore.ErrNoSuchBucket
	}
	if err != nil {
		return err
	}
	if tested {
		s.Dispatch()
	}
	return nil
}

// validateDestinations checks that S3 may invoke each function of cfg on
// behalf of the bucket; it reports every destination that fails, as S3
// does (ArgumentName1/ArgumentValue1, ...).
func (s *Service) validateDestinations(ctx context.Context, fns Functions, bucket string, cfg *Configuration) error {
	var bad [][2]string
	seen := map[string]bool{}
	for _, f := range cfg.Functions {
		if seen[f.FunctionARN] {
			continue
		}
		seen[f.FunctionARN] = true
		ok, err := fns.Allows(ctx, f.FunctionARN, servicePrincipal, "arn:aws:s3:::"+bucket, s.account)
		switch {
		case errors.Is(err, lambda.ErrResourceNotFound):
			bad = append(bad, [2]string{f.FunctionARN, msgNoFunction})
		case err != nil:
			var le *lambda.Error
			if errors.As(err, &le) {
				bad = append(bad, [2]string{f.FunctionARN, le.Message})
				continue
			}
			return err
		case !ok:
			bad = append(bad, [2]string{f.FunctionARN + ", null", fmt.Sprintf(msgNotAuthz, f.FunctionARN)})
		}
	}
	if len(bad) == 0 {
		return nil
	}
	e := &objstore.Error{Code: "InvalidArgument", Message: msgUnvalidated}
	for i, b := range bad {
		n := strconv.Itoa(i + 1)
		e.Extra = append(e.Extra, [2]string{"ArgumentName" + n, b[0]}, [2]string{"ArgumentValue" + n, b[1]})
	}
	return e
}
