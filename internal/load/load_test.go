package load

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newGauge(limit int) (*Gauge, *clock) {
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	g := New(limit)
	g.now = c.now
	return g, c
}

func TestSaturated(t *testing.T) {
	tests := []struct {
		name string
		// every: one request of length dur ends every step, for span.
		step, dur, span time.Duration
		want            bool
	}{
		{"idle", 0, 0, 0, false},
		// 16 callers back to back: 16 requests of 3 ms every 3 ms.
		{"closed loop of 16", 3 * time.Millisecond / 16, 3 * time.Millisecond, 300 * time.Millisecond, true},
		// 1,000 requests a second of 1 ms each: one in flight on average.
		{"steady rate kept up with", time.Millisecond, time.Millisecond, 300 * time.Millisecond, false},
		// 10,000 a second of 1 ms: ten at once on average.
		{"fast steady rate", 100 * time.Microsecond, time.Millisecond, 300 * time.Millisecond, true},
		// A long transfer ending every 10 ms: each counts for at most
		// the window, once.
		{"a stall", 0, 0, 0, false},
		{"long transfers", 10 * time.Millisecond, time.Minute, 300 * time.Millisecond, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, c := newGauge(8)
			if tt.name == "a stall" {
				// 1,000 a second of 1 ms, then a 50 ms stall after
				// which the 50 requests that waited end at once.
				for range 300 {
					c.add(time.Millisecond)
					g.Done(c.now().Add(-time.Millisecond))
				}
				c.add(50 * time.Millisecond)
				for i := range 50 {
					g.Done(c.now().Add(-time.Duration(50-i) * time.Millisecond))
				}
			}
			for el := time.Duration(0); tt.step > 0 && el < tt.span; el += tt.step {
				c.add(tt.step)
				g.Done(c.now().Add(-tt.dur))
			}
			if got := g.Saturated(); got != tt.want {
				t.Errorf("Saturated() = %v (concurrency %.2f), want %v", got, g.Concurrency(), tt.want)
			}
		})
	}
}

func TestSaturationEndsWithTheWindow(t *testing.T) {
	g, c := newGauge(4)
	for range 1200 {
		c.add(250 * time.Microsecond)
		g.Done(c.now().Add(-2 * time.Millisecond)) // 8 at once
	}
	if !g.Saturated() {
		t.Fatalf("not saturated during the burst (concurrency %.2f)", g.Concurrency())
	}
	c.add(Window / 4)
	if !g.Saturated() {
		t.Fatalf("not saturated a quarter of a window after the burst (concurrency %.2f)", g.Concurrency())
	}
	c.add(Window + time.Duration(1)<<slotShift)
	if g.Saturated() || g.Concurrency() != 0 {
		t.Fatalf("still saturated a window after the burst (concurrency %.2f)", g.Concurrency())
	}
}

func TestWait(t *testing.T) {
	g := New(1)
	ctx := context.Background()
	if err := g.Wait(ctx, time.Now().Add(time.Hour)); err != nil {
		t.Fatalf("Wait on an idle gauge: %v", err)
	}

	// Saturate it: every slot of the ring as busy as four requests.
	saturate := func() {
		t := time.Now().UnixNano() >> slotShift
		for j := range int64(slots) {
			i := (t - j) % slots
			g.stamp[i].Store(t - j)
			g.busy[i].Store(4 << slotShift)
		}
	}
	saturate()
	if !g.Saturated() {
		t.Fatalf("not saturated (concurrency %.2f)", g.Concurrency())
	}

	// The deadline releases a waiter even while saturation lasts.
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
				saturate()
			}
		}
	}()
	start := time.Now()
	if err := g.Wait(ctx, start.Add(50*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Errorf("Wait returned after %v, before its deadline, while saturated", d)
	}

	// A cancelled context ends the wait with its error.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := g.Wait(cctx, time.Now().Add(time.Hour)); err != context.Canceled {
		t.Errorf("Wait with a cancelled context = %v, want context.Canceled", err)
	}
	close(stop)

	// The end of the saturation releases a waiter well before its deadline.
	saturate()
	start = time.Now()
	if err := g.Wait(ctx, start.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 10*Window {
		t.Errorf("Wait took %v after the load stopped", d)
	}
}

func TestHandler(t *testing.T) {
	g, c := newGauge(1)
	h := g.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.add(Window) // the request takes a whole window
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	if got := g.Concurrency(); got < 0.99 {
		t.Errorf("concurrency after one request of a window = %.2f, want about 1", got)
	}
}
