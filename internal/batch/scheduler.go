package batch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice/internal/meta"
)

// Error is a jobs API error: Code is the S3 Control exception name (for
// example "NotFoundException"); the HTTP adapter owns the status.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Exception names of the jobs API.
const (
	CodeBadRequest       = "BadRequestException"
	CodeNotFound         = "NotFoundException"
	CodeJobStatus        = "JobStatusException"
	CodeIdempotency      = "IdempotencyException"
	CodeInvalidRequest   = "InvalidRequestException"
	CodeInvalidNextToken = "InvalidNextTokenException"
	CodeTooManyTags      = "TooManyTagsException"
)

func errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

func noSuchJob() *Error { return errorf(CodeNotFound, "No such job") }

// Metadata document kinds.
const (
	kindJob   = "batch/job"
	kindToken = "batch/token"
)

// tokenRecord maps a ClientRequestToken to the job it created.
type tokenRecord struct {
	JobID    string `json:"job"`
	SpecHash string `json:"hash"`
}

func loadJob(tx meta.Tx, id string) (*Job, error) {
	raw, err := tx.Doc(kindJob, id)
	if errors.Is(err, meta.ErrNoSuchDoc) {
		return nil, noSuchJob()
	}
	if err != nil {
		return nil, err
	}
	var j Job
	if err := json.Unmarshal(raw, &j); err != nil {
		return nil, fmt.Errorf("batch: job %s: %w", id, err)
	}
	return &j, nil
}

func putJob(tx meta.Tx, j *Job) error {
	raw, err := json.Marshal(j)
	if err != nil {
		return err
	}
	return tx.PutDoc(kindJob, j.ID, raw)
}

// job reads a job's record.
func (s *Service) job(ctx context.Context, id string) (*Job, error) {
	var j *Job
	err := s.meta.View(ctx, func(tx meta.Tx) error {
		var err error
		j, err = loadJob(tx, id)
		return err
	})
	return j, err
}

// errUnchanged makes updateJob leave a job as it is.
var errUnchanged = errors.New("batch: unchanged")

// updateJob changes a job's record with fn in a transaction and returns
// the record as committed. fn may run more than once; returning
// errUnchanged commits nothing and returns the record as read.
func (s *Service) updateJob(ctx context.Context, id string, fn func(j *Job) error) (*Job, error) {
	var (
		out  *Job
		from Status
	)
	err := s.meta.Update(ctx, func(tx meta.Tx) error {
		j, err := loadJob(tx, id)
		if err != nil {
			return err
		}
		from = j.Status
		if err := fn(j); err != nil {
			if errors.Is(err, errUnchanged) {
				out = j
				from = j.Status
				return nil
			}
			return err
		}
		out = j
		return putJob(tx, j)
	})
	if err == nil && out.Status != from && s.opts.Observe != nil {
		s.opts.Observe(id, from, out.Status)
	}
	return out, err
}

// transition moves a job from one of the statuses in from to status to,
// and reports whether it did.
func (s *Service) transition(ctx context.Context, id string, to Status, edit func(*Job), from ...Status) (bool, error) {
	moved := false
	_, err := s.updateJob(ctx, id, func(j *Job) error {
		moved = false
		if !contains(statusStrings(from), string(j.Status)) {
			return errUnchanged
		}
		j.setStatus(to, s.now().UTC())
		if edit != nil {
			edit(j)
		}
		moved = true
		return nil
	})
	return moved, err
}

func statusStrings(ss []Status) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = string(s)
	}
	return out
}

// allJobs reads every job record.
func (s *Service) allJobs(ctx context.Context) ([]*Job, error) {
	var jobs []*Job
	err := s.meta.View(ctx, func(tx meta.Tx) error {
		jobs = jobs[:0]
		for d, err := range tx.Docs(kindJob, meta.ListOptions{}) {
			if err != nil {
				return err
			}
			var j Job
			if err := json.Unmarshal(d.Value, &j); err != nil {
				return fmt.Errorf("batch: job %s: %w", d.Key, err)
			}
			jobs = append(jobs, &j)
		}
		return nil
	})
	return jobs, err
}

// stopReason says why a worker is asked to stop.
type stopReason int32

const (
	stopNone     stopReason = iota
	stopPause               // a job of higher priority needs the slot
	stopCancel              // the job is cancelled (or failing)
	stopShutdown            // the node stops; the job resumes later
)

// Worker kinds: the phase of a job a goroutine runs.
const (
	workPrepare = "prepare"
	workRun     = "run"
	workFinish  = "finish"
)

// worker is the goroutine that runs one phase of a job.
type worker struct {
	kind   string
	reason atomic.Int32
	stopCh chan struct{}
	once   sync.Once
	// Succeeded and failed count the outcomes of a running job,
	// committed or not, for DescribeJob.
	succeeded atomic.Int64
	failed    atomic.Int64
	live      atomic.Bool
}

// halt asks the worker to stop (the first reason wins, except that a
// shutdown overrides a pause).
func (w *worker) halt(r stopReason) {
	w.reason.CompareAndSwap(int32(stopNone), int32(r))
	if r == stopShutdown {
		w.reason.Store(int32(r))
	}
	w.once.Do(func() { close(w.stopCh) })
}

func (w *worker) stopped() stopReason { return stopReason(w.reason.Load()) }

// spawn starts fn as the worker of phase kind of job j, unless the
// service is closing or the job has a worker.
func (s *Service) spawn(kind string, j *Job, fn func(ctx context.Context, w *worker, j *Job)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing || s.workers[j.ID] != nil {
		return
	}
	w := &worker{kind: kind, stopCh: make(chan struct{})}
	s.workers[j.ID] = w
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer func() {
			s.mu.Lock()
			delete(s.workers, j.ID)
			s.mu.Unlock()
			s.Kick()
		}()
		fn(context.Background(), w, j)
	}()
}

func (s *Service) workerOf(id string) *worker {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.workers[id]
}

// schedule runs scheduling passes until Close.
func (s *Service) schedule() {
	defer s.wg.Done()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		if err := s.pass(context.Background()); err != nil && !errors.Is(err, meta.ErrClosed) {
			s.log.Error("batch: scheduling", "err", err)
		}
		select {
		case <-s.stop:
			return
		case <-s.kick:
		case <-tick.C:
		}
	}
}

// pass looks at every job once and starts, stops or moves what needs it.
func (s *Service) pass(ctx context.Context) error {
	jobs, err := s.allJobs(ctx)
	if err != nil {
		return err
	}
	now := s.now().UTC()
	var runnable []*Job
	for _, j := range jobs {
		w := s.workerOf(j.ID)
		switch j.Status {
		case StatusNew:
			if w == nil {
				if ok, err := s.transition(ctx, j.ID, StatusPreparing, nil, StatusNew); err != nil || !ok {
					continue
				}
				j.Status = StatusPreparing
				s.spawn(workPrepare, j, s.prepare)
			}
		case StatusPreparing:
			if w == nil {
				s.spawn(workPrepare, j, s.prepare)
			}
		case StatusSuspended:
			if now.Sub(j.SuspendedDate) > s.opts.SuspendedTimeout {
				s.transition(ctx, j.ID, StatusFailed, func(j *Job) {
					j.fail(failSuspendedTooLong, fmt.Sprintf("The job awaited confirmation for more than %s.", s.opts.SuspendedTimeout))
				}, StatusSuspended)
			}
		case StatusCompleting, StatusFailing, StatusCancelling:
			switch {
			case w == nil:
				s.spawn(workFinish, j, s.finish)
			case w.kind != workFinish:
				w.halt(stopCancel)
			}
		case StatusPausing:
			if w == nil {
				s.transition(ctx, j.ID, StatusPaused, nil, StatusPausing)
				j.Status = StatusPaused
			}
			runnable = append(runnable, j)
		case StatusReady, StatusActive, StatusPaused:
			runnable = append(runnable, j)
		default:
			if j.Status.Terminal() && now.Sub(j.TerminationDate) > s.opts.Retention {
				s.expire(ctx, j)
			}
		}
	}

	// Highest priority first; among equals, the oldest.
	sort.SliceStable(runnable, func(a, b int) bool {
		if runnable[a].Priority != runnable[b].Priority {
			return runnable[a].Priority > runnable[b].Priority
		}
		if !runnable[a].Created.Equal(runnable[b].Created) {
			return runnable[a].Created.Before(runnable[b].Created)
		}
		return runnable[a].ID < runnable[b].ID
	})
	busy := 0
	for i, j := range runnable {
		inTop := i < s.opts.MaxActiveJobs
		w := s.workerOf(j.ID)
		switch j.Status {
		case StatusActive:
			switch {
			case !inTop && w != nil:
				if ok, _ := s.transition(ctx, j.ID, StatusPausing, nil, StatusActive); ok {
					w.halt(stopPause)
				}
				busy++
			case !inTop:
				s.transition(ctx, j.ID, StatusPaused, nil, StatusActive)
			default:
				if w == nil {
					s.spawn(workRun, j, s.run)
				}
				busy++
			}
		case StatusPausing:
			busy++
		}
	}
	for i, j := range runnable {
		if i >= s.opts.MaxActiveJobs || busy >= s.opts.MaxActiveJobs {
			break
		}
		if j.Status != StatusReady && j.Status != StatusPaused {
			continue
		}
		if ok, err := s.transition(ctx, j.ID, StatusActive, nil, StatusReady, StatusPaused); err != nil || !ok {
			continue
		}
		j.Status = StatusActive
		busy++
		s.spawn(workRun, j, s.run)
	}
	return nil
}

// expire forgets a job that ended more than the retention ago.
func (s *Service) expire(ctx context.Context, j *Job) {
	err := s.meta.Update(ctx, func(tx meta.Tx) error {
		if err := tx.DeleteDoc(kindJob, j.ID); err != nil && !errors.Is(err, meta.ErrNoSuchDoc) {
			return err
		}
		if err := tx.DeleteDoc(kindToken, j.Token); err != nil && !errors.Is(err, meta.ErrNoSuchDoc) {
			return err
		}
		return nil
	})
	if err != nil {
		s.log.Warn("batch: expiring job", "job", j.ID, "err", err)
		return
	}
	s.removeJobDir(j.ID)
}
