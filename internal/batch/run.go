package batch

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// run is the Active phase of a job: one coordinator goroutine reads the
// manifest, hands tasks to a pool of workers, appends their outcomes to
// the outcome log, redrives temporary failures and throttles, watches the
// failure threshold and commits checkpoints. It returns when the job is
// done, fails, or is asked to stop (pause, cancel, shutdown), after the
// tasks in flight have returned and their outcomes are committed.
func (s *Service) run(ctx context.Context, w *worker, j *Job) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The scheduler decided from a snapshot: the job may have moved on
	// (and an earlier worker committed progress) since. Run only what
	// the store says is Active, from its committed checkpoint.
	j, err := s.job(ctx, j.ID)
	if err != nil || j.Status != StatusActive {
		return
	}
	c, err := s.newCoordinator(ctx, w, j)
	if err != nil {
		if ctx.Err() == nil && w.stopped() == stopNone {
			s.failRun(j.ID, err)
		}
		return
	}
	defer c.close()
	go func() {
		select {
		case <-w.stopCh:
			if w.stopped() == stopShutdown {
				cancel() // in-flight tasks are abandoned and run again later
			}
		case <-ctx.Done():
		}
	}()
	c.loop(ctx)
}

// failRun fails a job whose run cannot go on.
func (s *Service) failRun(id string, err error) {
	code, reason := failureOf(err)
	if code == "InternalError" {
		s.log.Error("batch: running job", "job", id, "err", err)
	}
	s.transition(context.Background(), id, StatusFailing, func(j *Job) { j.fail(code, reason) }, StatusActive, StatusPausing)
}

// entry is a task the coordinator has read: in flight, waiting for a
// redrive, or done.
type entry struct {
	t task
	// logOff is a log offset at or below which no outcome of a task at
	// or after this one lies (for the checkpoint's ScanFrom).
	logOff    int64
	done      bool
	attempts  int
	throttles int
	due       time.Time
	res       result
}

// coordinator is the state of one running job, owned by its goroutine.
type coordinator struct {
	s    *Service
	w    *worker
	job  *Job
	exec executor
	out  *outcomeLog

	reader taskReader
	next   *task    // the next task of the manifest, read ahead; nil at the end
	endPos Position // the manifest's end, once next is nil
	// skip holds tasks at or past the checkpoint's Low whose outcome the
	// log already has (from before a restart), and recoveredMax the
	// highest of them.
	skip         map[int64]struct{}
	recoveredMax int64
	scanFloor    int64

	queue    []*entry // tasks read and not yet popped, in index order
	head     int
	retries  retryHeap
	inflight int
	limit    int
	maxLimit int
	work     chan *entry
	results  chan *entry

	succeeded, failed int64
	throttled         bool // since the last ramp-up step
	lastShrink        time.Time
	failure           error // ends the run: the job fails
}

func (s *Service) newCoordinator(ctx context.Context, w *worker, j *Job) (*coordinator, error) {
	if j.Source == nil {
		return nil, errors.New("batch: running a job that was never prepared")
	}
	dir := s.jobDir(j.ID)
	cp := j.Progress
	out, err := openOutcomeLog(dir, cp.LogSize, s.noSync)
	if err != nil {
		return nil, err
	}
	c := &coordinator{
		s: s, w: w, job: j, out: out, exec: s.executorFor(j),
		skip: map[int64]struct{}{}, recoveredMax: -1, scanFloor: cp.ScanFrom,
		succeeded: cp.Succeeded, failed: cp.Failed,
	}
	if c.exec == nil {
		out.close()
		return nil, fmt.Errorf("batch: job %s has no operation sluice runs", j.ID)
	}
	err = scanOutcomes(dir, cp.ScanFrom, cp.LogSize, func(_ int64, o *outcome) error {
		if o.Index >= cp.Low {
			c.skip[o.Index] = struct{}{}
			c.recoveredMax = max(c.recoveredMax, o.Index)
		}
		return nil
	})
	if err != nil {
		out.close()
		return nil, err
	}
	pos := cp.Pos
	pos.Index = cp.Low
	if c.reader, err = s.openTasks(ctx, j.Source, dir, pos); err != nil {
		out.close()
		return nil, err
	}
	if err := c.readNext(); err != nil {
		c.close()
		return nil, err
	}
	c.maxLimit = s.opts.TaskConcurrency
	c.limit = min(s.opts.RampStart, c.maxLimit)
	c.work = make(chan *entry, s.opts.TaskConcurrency)
	c.results = make(chan *entry, s.opts.TaskConcurrency)
	w.succeeded.Store(c.succeeded)
	w.failed.Store(c.failed)
	w.live.Store(true)
	return c, nil
}

func (c *coordinator) close() {
	if c.reader != nil {
		c.reader.Close()
	}
	c.out.close()
}

// readNext reads the next task of the manifest into c.next.
func (c *coordinator) readNext() error {
	t, err := c.reader.Next()
	if err == io.EOF {
		c.next = nil
		c.endPos = c.reader.Position()
		return nil
	}
	if err != nil {
		return err
	}
	c.next = &t
	return nil
}

// low is the index of the lowest task not yet done.
func (c *coordinator) low() int64 {
	if c.head < len(c.queue) {
		return c.queue[c.head].t.Index
	}
	if c.next != nil {
		return c.next.Index
	}
	return c.endPos.Index
}

// pop drops done tasks from the front of the queue.
func (c *coordinator) pop() {
	for c.head < len(c.queue) && c.queue[c.head].done {
		c.queue[c.head] = nil
		c.head++
	}
	if c.head > 1024 && c.head*2 > len(c.queue) {
		c.queue = append(c.queue[:0], c.queue[c.head:]...)
		c.head = 0
	}
}

// take returns the next entry to run: a redrive that is due, else a new
// task of the manifest if the window allows, else nil.
func (c *coordinator) take(now time.Time) (*entry, error) {
	if len(c.retries) > 0 && !c.retries[0].due.After(now) {
		return heap.Pop(&c.retries).(*entry), nil
	}
	for c.next != nil {
		if c.next.Index-c.low() >= int64(c.s.opts.Window) {
			return nil, nil
		}
		t := *c.next
		if err := c.readNext(); err != nil {
			return nil, err
		}
		e := &entry{t: t, logOff: c.out.size}
		if t.Index <= c.recoveredMax {
			e.logOff = c.scanFloor
		}
		c.queue = append(c.queue, e)
		if _, ok := c.skip[t.Index]; ok {
			delete(c.skip, t.Index)
			e.done = true
			c.pop()
			continue
		}
		return e, nil
	}
	return nil, nil
}

// finished reports whether every task is done.
func (c *coordinator) finished() bool {
	return c.next == nil && c.head == len(c.queue) && c.inflight == 0
}

func (c *coordinator) loop(ctx context.Context) {
	opts := &c.s.opts
	var workers sync.WaitGroup
	defer workers.Wait()
	for range opts.TaskConcurrency {
		workers.Go(func() {
			for e := range c.work {
				e.res = c.exec.run(ctx, &e.t)
				c.results <- e
			}
		})
	}
	defer close(c.work)
	stopCh := c.w.stopCh

	tick := time.NewTicker(min(opts.CheckpointInterval, opts.RampInterval))
	defer tick.Stop()
	retry := time.NewTimer(time.Hour)
	defer retry.Stop()
	lastCommit, lastRamp, lastLimit := time.Now(), time.Now(), time.Time{}
	c.refreshLimit(ctx)

	for {
		stopping := c.w.stopped() != stopNone || c.failure != nil
		if !stopping {
			now := time.Now()
			for c.inflight < c.limit {
				e, err := c.take(now)
				if err != nil {
					c.failure = err
					break
				}
				if e == nil {
					break
				}
				c.work <- e
				c.inflight++
			}
			if c.failure == nil && c.finished() {
				c.end(StatusCompleting, nil)
				return
			}
		}
		if (stopping || c.failure != nil) && c.inflight == 0 {
			c.end("", c.failure)
			return
		}
		if len(c.retries) > 0 && c.inflight < c.limit && !stopping {
			retry.Reset(time.Until(c.retries[0].due))
		} else {
			retry.Stop()
		}
		select {
		case e := <-c.results:
			c.handle(e)
			for more := true; more; {
				select {
				case e := <-c.results:
					c.handle(e)
				default:
					more = false
				}
			}
		case <-retry.C:
		case <-stopCh:
			stopCh = nil
		case now := <-tick.C:
			if now.Sub(lastCommit) >= opts.CheckpointInterval {
				if err := c.commit(); err != nil && c.failure == nil {
					c.failure = err
				}
				lastCommit = now
			}
			if now.Sub(lastLimit) >= time.Second {
				c.refreshLimit(ctx)
				lastLimit = now
			}
			if now.Sub(lastRamp) >= opts.RampInterval {
				if !c.throttled && c.inflight >= c.limit && c.limit < c.maxLimit {
					c.limit = min(c.limit*2, c.maxLimit)
				}
				c.throttled = false
				lastRamp = now
			}
		}
	}
}

// refreshLimit bounds the concurrency by the function's reserved
// concurrency, read again every second (it may change mid-job).
func (c *coordinator) refreshLimit(ctx context.Context) {
	c.maxLimit = c.s.opts.TaskConcurrency
	if inv, ok := c.exec.(*invoker); ok {
		if r := inv.maxConcurrency(ctx); r >= 0 {
			c.maxLimit = max(1, min(c.maxLimit, r))
		}
	}
	c.limit = max(1, min(c.limit, c.maxLimit))
}

// handle records the result of one run of a task.
func (c *coordinator) handle(e *entry) {
	c.inflight--
	opts := &c.s.opts
	switch e.res.kind {
	case resultAbandoned:
		return
	case resultThrottled:
		e.throttles++
		d := opts.ThrottleDelay << min(e.throttles-1, 10)
		e.due = time.Now().Add(min(d, 5*time.Second))
		heap.Push(&c.retries, e)
		c.throttled = true
		if now := time.Now(); now.Sub(c.lastShrink) >= opts.RampInterval/2 {
			c.limit = max(1, c.limit/2)
			c.lastShrink = now
		}
		return
	case resultRetry:
		e.attempts++
		if e.attempts < opts.MaxAttempts && c.w.stopped() == stopNone {
			e.due = time.Now().Add(opts.RetryDelay << min(e.attempts-1, 16))
			heap.Push(&c.retries, e)
			return
		}
		if e.attempts < opts.MaxAttempts {
			return // stopping: the task is redriven when the job resumes
		}
	}
	o := e.res.o
	o.Index, o.Bucket, o.Key, o.VersionID = e.t.Index, e.t.Bucket, e.t.Key, e.t.VersionID
	if _, err := c.out.append(&o); err != nil {
		if c.failure == nil {
			c.failure = err
		}
		return
	}
	e.done = true
	e.res = result{}
	if o.Failed {
		c.failed++
		c.w.failed.Add(1)
	} else {
		c.succeeded++
		c.w.succeeded.Add(1)
	}
	c.pop()
	if n := c.succeeded + c.failed; n >= opts.ThresholdTasks && c.failed*2 > n && c.failure == nil {
		c.failure = manifestErrorf(failThreshold,
			"The job failed because %d of the %d tasks that ran failed, more than 50%% (the failure threshold applies after %d tasks).",
			c.failed, n, opts.ThresholdTasks)
	}
}

// commit makes the log durable and records the checkpoint.
func (c *coordinator) commit() error {
	if err := c.out.sync(c.s.noSync); err != nil {
		return err
	}
	cp := Checkpoint{Succeeded: c.succeeded, Failed: c.failed, LogSize: c.out.size, ScanFrom: c.out.size}
	switch {
	case c.head < len(c.queue):
		front := c.queue[c.head]
		cp.Low, cp.Pos, cp.ScanFrom = front.t.Index, front.t.Pos, front.logOff
	case c.next != nil:
		cp.Low, cp.Pos = c.next.Index, c.next.Pos
		if c.next.Index <= c.recoveredMax {
			cp.ScanFrom = c.scanFloor
		}
	default:
		cp.Low, cp.Pos = c.endPos.Index, c.endPos
	}
	_, err := c.s.updateJob(context.Background(), c.job.ID, func(j *Job) error {
		j.Progress = cp
		return nil
	})
	return err
}

// end commits and moves the job on: to status (Completing) when every
// task is done, to Failing when failure is set; otherwise the job was
// stopped and the scheduler decides.
func (c *coordinator) end(status Status, failure error) {
	if err := c.commit(); err != nil {
		if failure == nil && !errors.Is(err, context.Canceled) {
			failure = err
		}
		if c.w.stopped() == stopShutdown {
			return
		}
	}
	ctx := context.Background()
	switch {
	case failure != nil:
		c.s.failRun(c.job.ID, failure)
	case status != "":
		c.s.transition(ctx, c.job.ID, status, nil, StatusActive, StatusPausing)
	}
}

// retryHeap orders waiting redrives by due time.
type retryHeap []*entry

func (h retryHeap) Len() int           { return len(h) }
func (h retryHeap) Less(i, j int) bool { return h[i].due.Before(h[j].due) }
func (h retryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *retryHeap) Push(x any)        { *h = append(*h, x.(*entry)) }
func (h *retryHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return e
}
