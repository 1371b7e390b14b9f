// Package load measures how busy the server is with the requests its
// clients wait for (foreground work), so that background work — deliveries
// of asynchronous invocations and S3 events — can yield to it.
//
// A Gauge measures the foreground's concurrency as the time the requests
// that ended within the last Window spent in the server, divided by the
// Window: the average number of requests in flight, counted over requests
// that finish. It calls the server saturated when that has been at least
// its limit in each of the last Windows windows (about 200 ms). A burst of short requests from clients that send the next as soon
// as the last is answered is saturation; a steady rate the server keeps up
// with is not (each request is in flight for a moment), nor are a few long
// transfers (a request counts only when it ends, and for at most the
// Window). Averaging matters: group commit answers a dozen writes at once,
// so the instantaneous count of requests in flight drops to near zero
// between commits even when clients keep the server saturated.
package load

import (
	"context"
	"net/http"
	"runtime"
	"sync/atomic"
	"time"
)

// Window is the span over which a Gauge averages.
const Window = 64 * time.Millisecond

// Windows is how many consecutive windows must each be saturated: a stall
// of the disk or of the whole machine shorter than a window, after which a
// pile of requests that waited through it all end at once, makes one
// window look saturated, not Windows of them.
const Windows = 3

// Counters cover Windows windows in slots of 2^slotShift ns (about 8.4
// ms), windowSlots to a window.
const (
	slotShift   = 23
	windowSlots = 8
	slots       = 32 // a power of two, at least Windows*windowSlots
)

// poll is how often a waiter looks again.
const poll = 10 * time.Millisecond

// Gauge tracks foreground requests. The zero value is not usable; call New.
type Gauge struct {
	limit int64
	// busy[i] sums the time (ns) in the server, up to Window each, of
	// the requests that ended in the slot numbered stamp[i] (time in
	// units of 2^slotShift ns).
	busy  [slots]atomic.Int64
	stamp [slots]atomic.Int64
	now   func() time.Time
}

// DefaultLimit is the limit New uses for limit <= 0: four requests per
// processor the Go runtime may use.
func DefaultLimit() int { return 4 * runtime.GOMAXPROCS(0) }

// New returns a Gauge that calls the server saturated when the requests
// that ended within the last Window were on average at least limit at once.
func New(limit int) *Gauge {
	if limit <= 0 {
		limit = DefaultLimit()
	}
	return &Gauge{limit: int64(limit), now: time.Now}
}

// Limit returns the gauge's limit.
func (g *Gauge) Limit() int { return int(g.limit) }

// Done records a request that started at start and has been answered.
func (g *Gauge) Done(start time.Time) {
	now := g.now()
	d := min(now.Sub(start), Window)
	t := now.UnixNano() >> slotShift
	i := t % slots
	if s := g.stamp[i].Load(); s != t && g.stamp[i].CompareAndSwap(s, t) {
		g.busy[i].Store(0)
	}
	g.busy[i].Add(int64(d))
}

// Handler measures the requests h serves.
func (g *Gauge) Handler(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := g.now()
		defer g.Done(start)
		h.ServeHTTP(w, r)
	})
}

// Concurrency returns the average number of requests in flight over about
// the last Window, counted over the requests that ended in it.
func (g *Gauge) Concurrency() float64 { return g.window(g.now().UnixNano(), 0) }

// window returns the average concurrency of window k before the current
// one (0: the current one, ending now) at time ns.
func (g *Gauge) window(ns int64, k int) float64 {
	t := ns>>slotShift - int64(k*windowSlots)
	var sum int64
	for j := range int64(windowSlots) {
		i := (t - j) % slots
		// A slot whose stamp is not the one wanted holds a sum from
		// another pass around the ring.
		if g.stamp[i].Load() == t-j {
			sum += g.busy[i].Load()
		}
	}
	covered := time.Duration(windowSlots) << slotShift
	if k == 0 {
		// The current slot is partly filled: divide by the time covered.
		covered = time.Duration(windowSlots-1)<<slotShift + time.Duration(ns&(1<<slotShift-1))
	}
	return float64(sum) / float64(covered)
}

// Saturated reports whether foreground requests saturate the server now:
// in each of the last Windows windows, their average concurrency was at
// least the limit.
func (g *Gauge) Saturated() bool {
	ns := g.now().UnixNano()
	for k := range Windows {
		if g.window(ns, k) < float64(g.limit) {
			return false
		}
	}
	return true
}

// Wait returns once the server is not saturated, or at deadline, whichever
// comes first, or with ctx's error when ctx ends before either.
func (g *Gauge) Wait(ctx context.Context, deadline time.Time) error {
	if !g.Saturated() {
		return nil
	}
	t := time.NewTimer(poll)
	defer t.Stop()
	for {
		left := deadline.Sub(g.now())
		if left <= 0 {
			return nil
		}
		t.Reset(min(poll, left))
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
		if !g.Saturated() {
			return nil
		}
	}
}
