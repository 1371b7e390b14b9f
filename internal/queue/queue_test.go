package queue

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/meta"
	"github.com/sluicehq/sluice/internal/meta/bolt"
)

func openStore(t *testing.T, path string) *bolt.Store {
	t.Helper()
	s, err := bolt.Open(path, bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestHandlesEveryItemOnce(t *testing.T) {
	m := openStore(t, filepath.Join(t.TempDir(), "m.db"))
	var (
		mu   sync.Mutex
		seen = map[string]int{}
	)
	q := New(Config{Meta: m, Name: "t", Workers: 4, Handler: func(ctx context.Context, it Item) Outcome {
		mu.Lock()
		seen[string(it.Payload)]++
		mu.Unlock()
		return Done()
	}})
	q.Start()
	defer q.Close()
	const n = 500
	for i := range n {
		if _, err := q.Enqueue(context.Background(), []byte(fmt.Sprint(i)), 0); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "all items", func() bool {
		l, _ := q.Len(context.Background())
		return l == 0
	})
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != n {
		t.Fatalf("handled %d distinct items, want %d", len(seen), n)
	}
	for p, c := range seen {
		if c != 1 {
			t.Errorf("item %s handled %d times", p, c)
		}
	}
}

func TestRetryAndDelay(t *testing.T) {
	m := openStore(t, filepath.Join(t.TempDir(), "m.db"))
	var calls atomic.Int32
	var attempts []int
	var mu sync.Mutex
	q := New(Config{Meta: m, Name: "r", Poll: 10 * time.Millisecond, Handler: func(ctx context.Context, it Item) Outcome {
		mu.Lock()
		attempts = append(attempts, it.Attempts)
		mu.Unlock()
		if calls.Add(1) < 3 {
			return Retry(30*time.Millisecond, fmt.Sprintf("try %d failed", it.Attempts))
		}
		if it.Attempts == 2 && it.Note != "try 1 failed" {
			t.Errorf("note = %q", it.Note)
		}
		return Done()
	}})
	q.Start()
	defer q.Close()
	start := time.Now()
	if _, err := q.Enqueue(context.Background(), []byte("x"), 0); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "three attempts", func() bool { return calls.Load() == 3 })
	if d := time.Since(start); d < 60*time.Millisecond {
		t.Errorf("two 30 ms retries took only %v", d)
	}
	mu.Lock()
	if fmt.Sprint(attempts) != "[0 1 2]" {
		t.Errorf("attempts = %v", attempts)
	}
	mu.Unlock()
	// A delayed item waits.
	calls.Store(10)
	if _, err := q.Enqueue(context.Background(), []byte("later"), 200*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if l, _ := q.Len(context.Background()); l != 1 {
		t.Fatalf("the delayed item was handled early (len %d)", l)
	}
	waitFor(t, "the delayed item", func() bool { l, _ := q.Len(context.Background()); return l == 0 })
}

// TestSurvivesRestart: items added in a committed transaction are handled
// after the store is reopened, including one that was being handled.
func TestSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.db")
	m, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	block := make(chan struct{})
	started := make(chan struct{}, 10)
	q := New(Config{Meta: m, Name: "d", Workers: 1, Handler: func(ctx context.Context, it Item) Outcome {
		started <- struct{}{}
		select {
		case <-block:
		case <-ctx.Done():
		}
		return Retry(0, "interrupted")
	}})
	q.Start()
	// Added inside a transaction with another change: the outbox pattern.
	if err := m.Update(context.Background(), func(tx meta.Tx) error {
		for i := range 3 {
			if _, err := q.Add(tx, []byte(fmt.Sprint(i)), 0); err != nil {
				return err
			}
		}
		return tx.PutDoc("other", "k", []byte("v"))
	}); err != nil {
		t.Fatal(err)
	}
	q.Kick()
	<-started
	q.Close()
	m.Close()

	m2 := openStore(t, path)
	var got sync.Map
	q2 := New(Config{Meta: m2, Name: "d", Handler: func(ctx context.Context, it Item) Outcome {
		got.Store(string(it.Payload), it.Attempts)
		return Done()
	}})
	q2.Start()
	defer q2.Close()
	waitFor(t, "items after restart", func() bool { l, _ := q2.Len(context.Background()); return l == 0 })
	for i := range 3 {
		if _, ok := got.Load(fmt.Sprint(i)); !ok {
			t.Errorf("item %d lost across the restart", i)
		}
	}
}

func TestAddRolledBackWithItsTransaction(t *testing.T) {
	m := openStore(t, filepath.Join(t.TempDir(), "m.db"))
	q := New(Config{Meta: m, Name: "rb", Handler: func(context.Context, Item) Outcome { return Done() }})
	err := m.Update(context.Background(), func(tx meta.Tx) error {
		if _, err := q.Add(tx, []byte("x"), 0); err != nil {
			return err
		}
		return fmt.Errorf("the change failed")
	})
	if err == nil {
		t.Fatal("want the error")
	}
	if l, _ := q.Len(context.Background()); l != 0 {
		t.Fatalf("an item of a rolled-back transaction remains (len %d)", l)
	}
}

// TestRetryWithReplacesPayload: a handler's state carried in the payload
// reaches its next attempt.
func TestRetryWithReplacesPayload(t *testing.T) {
	m := openStore(t, filepath.Join(t.TempDir(), "m.db"))
	var (
		mu   sync.Mutex
		seen []string
	)
	q := New(Config{Meta: m, Name: "rw", Poll: 10 * time.Millisecond, Handler: func(ctx context.Context, it Item) Outcome {
		mu.Lock()
		seen = append(seen, string(it.Payload))
		mu.Unlock()
		if len(it.Payload) < 3 {
			return RetryWith(0, "again", append(it.Payload, '+'))
		}
		return Done()
	}})
	q.Start()
	defer q.Close()
	if _, err := q.Enqueue(context.Background(), []byte("a"), 0); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the item", func() bool { l, _ := q.Len(context.Background()); return l == 0 })
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(seen) != "[a a+ a++]" {
		t.Errorf("payloads seen = %v", seen)
	}
}

// TestKickedScansFindEveryItem adds items from many goroutines while the
// queue works, with no periodic scan to fall back on: the scans prompted
// by Kick, which read only after the last item handed out, must find every
// item, including those retried at once.
func TestKickedScansFindEveryItem(t *testing.T) {
	m := openStore(t, filepath.Join(t.TempDir(), "m.db"))
	var (
		mu   sync.Mutex
		seen = map[string][]int{}
	)
	q := New(Config{Meta: m, Name: "k", Workers: 4, Poll: time.Hour, Handler: func(ctx context.Context, it Item) Outcome {
		mu.Lock()
		seen[string(it.Payload)] = append(seen[string(it.Payload)], it.Attempts)
		mu.Unlock()
		var i int
		fmt.Sscan(string(it.Payload), &i)
		if i%5 == 0 && it.Attempts == 0 {
			return Retry(0, "again")
		}
		return Done()
	}})
	q.Start()
	defer q.Close()
	const writers, each = 8, 100
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if _, err := q.Enqueue(context.Background(), []byte(fmt.Sprint(w*each+i)), 0); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	waitFor(t, "all items", func() bool {
		l, _ := q.Len(context.Background())
		return l == 0
	})
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != writers*each {
		t.Fatalf("handled %d distinct items, want %d", len(seen), writers*each)
	}
	for p, attempts := range seen {
		var i int
		fmt.Sscan(p, &i)
		want := "[0]"
		if i%5 == 0 {
			want = "[0 1]"
		}
		if got := fmt.Sprint(attempts); got != want {
			t.Errorf("item %s: attempts %s, want %s", p, got, want)
		}
	}
}

// TestBacklogDrainsWithoutPrompting queues more items than one scan hands
// out before the queue starts, with no periodic scan and nothing added
// afterwards: the scanner must carry on while scans come back full.
func TestBacklogDrainsWithoutPrompting(t *testing.T) {
	m := openStore(t, filepath.Join(t.TempDir(), "m.db"))
	var handled atomic.Int32
	q := New(Config{Meta: m, Name: "b", Workers: 4, Poll: time.Hour, Handler: func(ctx context.Context, it Item) Outcome {
		handled.Add(1)
		return Done()
	}})
	const n = 3*scanBatch + 10
	err := m.Update(context.Background(), func(tx meta.Tx) error {
		for i := range n {
			if _, err := q.Add(tx, []byte(fmt.Sprint(i)), 0); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	q.Start()
	defer q.Close()
	waitFor(t, "the backlog", func() bool { return handled.Load() == n })
}

// TestAdmit holds items back while Admit says so, and leaves an item that
// was never admitted in the store when the queue stops.
func TestAdmit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.db")
	m := openStore(t, path)
	gate := make(chan struct{})
	var handled atomic.Int32
	q := New(Config{Meta: m, Name: "a", Workers: 2,
		Admit: func(ctx context.Context, it Item) error {
			select {
			case <-gate:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		},
		Handler: func(ctx context.Context, it Item) Outcome {
			handled.Add(1)
			return Done()
		}})
	q.Start()
	if _, err := q.Enqueue(context.Background(), []byte("held"), 0); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if n := handled.Load(); n != 0 {
		t.Fatalf("%d items handled while Admit held them", n)
	}
	q.Close()
	if l, err := q.Len(context.Background()); err != nil || l != 1 {
		t.Fatalf("after Close with an item held: Len = %d, %v; want 1", l, err)
	}

	// The next run admits it.
	close(gate)
	q2 := New(Config{Meta: m, Name: "a", Workers: 2,
		Admit:   func(ctx context.Context, it Item) error { <-gate; return nil },
		Handler: func(ctx context.Context, it Item) Outcome { handled.Add(1); return Done() }})
	q2.Start()
	defer q2.Close()
	waitFor(t, "the held item", func() bool { return handled.Load() == 1 })
	waitFor(t, "an empty queue", func() bool {
		l, _ := q2.Len(context.Background())
		return l == 0
	})
}
