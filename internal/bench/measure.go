package bench

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// opFunc performs operation number seq of a measurement and returns the
// payload bytes it moved.
type opFunc func(ctx context.Context, seq int64) (int64, error)

// sample is the outcome of one measurement.
type sample struct {
	ops     int64 // successful operations
	errors  int64
	bytes   int64
	elapsed time.Duration
	cpu     time.Duration // client CPU (user+system) spent meanwhile; 0 if unknown
	hist    histogram     // latencies of successful operations
	// server is the target server's peak RSS and CPU meanwhile, when its
	// process is known (--pid).
	server *procUsage
}

// measure runs conc workers until dur has passed (dur > 0) or maxOps
// operations have been started (maxOps > 0), whichever comes first. newOp is
// called once per worker, before the clock starts, so per-worker state (read
// buffers, written-key lists) is set up outside the measurement.
func (r *runner) measure(ctx context.Context, conc int, dur time.Duration, maxOps int64, newOp func(worker int) opFunc) *sample {
	if r.pid == 0 {
		return measure(ctx, &r.errs, conc, dur, maxOps, newOp)
	}
	w := watchProc(r.pid, r.stderr)
	s := measure(ctx, &r.errs, conc, dur, maxOps, newOp)
	s.server = w.stop()
	return s
}

// measure is runner.measure for any benchmark: failed operations are
// noted in errs.
func measure(ctx context.Context, errs *errorLog, conc int, dur time.Duration, maxOps int64, newOp func(worker int) opFunc) *sample {
	type workerState struct {
		op     opFunc
		hist   histogram
		ops    int64
		errors int64
		bytes  int64
	}
	workers := make([]*workerState, conc)
	for i := range workers {
		workers[i] = &workerState{op: newOp(i)}
	}

	var stop atomic.Bool
	var next atomic.Int64
	stopCtx := context.AfterFunc(ctx, func() { stop.Store(true) })
	defer stopCtx()

	cpu0 := cpuTime()
	start := time.Now()
	if dur > 0 {
		t := time.AfterFunc(dur, func() { stop.Store(true) })
		defer t.Stop()
	}
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Go(func() {
			for !stop.Load() {
				seq := next.Add(1) - 1
				if maxOps > 0 && seq >= maxOps {
					return
				}
				t0 := time.Now()
				n, err := w.op(ctx, seq)
				d := time.Since(t0)
				if err != nil {
					if ctx.Err() != nil {
						return // interrupted, not a failure of the target
					}
					w.errors++
					errs.note(err)
					continue
				}
				w.hist.record(d)
				w.ops++
				w.bytes += n
			}
		})
	}
	wg.Wait()

	s := &sample{elapsed: time.Since(start)}
	if cpu1 := cpuTime(); cpu0 > 0 && cpu1 > 0 {
		s.cpu = cpu1 - cpu0
	}
	for _, w := range workers {
		s.ops += w.ops
		s.errors += w.errors
		s.bytes += w.bytes
		s.hist.merge(&w.hist)
	}
	return s
}

// parallel calls fn(i) for every i in [0, n) from conc goroutines and
// returns how many calls failed; failures are noted in the error log. If
// progress is non-empty, a line reporting the rate goes to stderr every ten
// seconds, prefixed with it.
func (r *runner) parallel(ctx context.Context, n, conc int, progress string, fn func(ctx context.Context, i int) error) int64 {
	var next, done, failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	finished := make(chan struct{})
	if progress != "" {
		wg.Go(func() {
			tick := time.NewTicker(10 * time.Second)
			defer tick.Stop()
			for {
				select {
				case <-finished:
					return
				case <-tick.C:
					d := done.Load()
					fmt.Fprintf(r.stderr, "%s: %d/%d (%.0f/s)\n", progress, d, n, float64(d)/time.Since(start).Seconds())
				}
			}
		})
	}
	var workers sync.WaitGroup
	for range min(conc, n) {
		workers.Go(func() {
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				if err := fn(ctx, int(i)); err != nil {
					if ctx.Err() != nil {
						return
					}
					failed.Add(1)
					r.errs.note(err)
				}
				done.Add(1)
			}
		})
	}
	workers.Wait()
	close(finished)
	wg.Wait()
	return failed.Load()
}

// errorLog counts failed operations and prints the first few.
type errorLog struct {
	w     io.Writer
	limit int64
	n     atomic.Int64
	mu    sync.Mutex // serialises writes to w
}

func (l *errorLog) note(err error) {
	n := l.n.Add(1)
	if n > l.limit {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, "error: %v\n", err)
	if n == l.limit {
		fmt.Fprintf(l.w, "error: further errors are counted but not printed\n")
	}
}

func (l *errorLog) count() int64 { return l.n.Load() }

// cycleReader yields size bytes by cycling through buf from offset off,
// so bodies of any size come from one shared buffer without allocation.
type cycleReader struct {
	buf    []byte
	off    int
	remain int64
}

func newCycleReader(buf []byte, off int64, size int64) *cycleReader {
	return &cycleReader{buf: buf, off: int(off % int64(len(buf))), remain: size}
}

func (c *cycleReader) Read(p []byte) (int, error) {
	if c.remain <= 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(int64(len(p)), c.remain)], c.buf[c.off:])
	c.off = (c.off + n) % len(c.buf)
	c.remain -= int64(n)
	return n, nil
}
