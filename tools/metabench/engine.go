package main

import (
	"fmt"
	"sort"
	"sync"
)

// txn is the view a commit closure has of one read-write transaction. It is
// the smallest surface the S3 put path needs: read the head record of a key,
// then write a new head, a version record and optionally an inline body.
//
// Byte slices returned by head are valid only until the transaction ends.
type txn interface {
	// head returns the head record stored for key, or nil, nil when the key
	// has no head.
	head(key []byte) ([]byte, error)
	putHead(key, rec []byte) error
	putVersion(key, vid, rec []byte) error
	putBody(key, vid, body []byte) error
}

// committer is one way of running a durable read-modify-write closure on a
// store. update returns only after the closure's writes are fsync'd. The key
// argument is a hint naming the object the closure touches; only engines that
// lock per key use it. The closure may run more than once.
type committer struct {
	name   string
	update func(key []byte, fn func(txn) error) error
}

// iterator walks head records in key order.
type iterator interface {
	// seekGE positions the iterator at the first head whose key is >= key and
	// reports whether there is one.
	seekGE(key []byte) bool
	// next advances and reports whether the iterator is still positioned.
	next() bool
	key() []byte
	value() []byte
	close() error
}

// loadItem is one object written by the bulk load: its head and one version.
type loadItem struct {
	key, vid, head, version []byte
}

// store is one opened database of one engine.
type store interface {
	// committers returns the commit strategies this engine is measured with.
	committers() []committer
	// load writes items in one durable batch or transaction.
	load(items []loadItem) error
	// get returns a copy of the head record of key, or nil when absent.
	get(key []byte) ([]byte, error)
	// iter opens an iterator over a consistent snapshot of the heads.
	iter() (iterator, error)
	close() error
}

// engine describes one candidate metadata engine.
type engine struct {
	name string
	// order sorts engines in reports.
	order int
	// optIn engines (tuning variants) run only when named in -engines.
	optIn bool
	open  func(dir string) (store, error)
}

// engines holds the engines compiled into this binary. Each adapter file adds
// itself from init, so build tags alone decide what gets linked; this is the
// one piece of package state and it is written only before main runs.
var engines []engine

func register(e engine) {
	engines = append(engines, e)
	sort.Slice(engines, func(i, j int) bool { return engines[i].order < engines[j].order })
}

func lookupEngine(name string) (engine, error) {
	for _, e := range engines {
		if e.name == name {
			return e, nil
		}
	}
	return engine{}, fmt.Errorf("unknown or not compiled-in engine %q", name)
}

// group is a group-commit loop for engines with a single writer: one
// goroutine takes every queued closure, runs them all in one transaction,
// commits (and fsyncs) once, then answers every caller.
type group struct {
	reqs     chan groupReq
	maxBatch int
	// run executes fns in one durable transaction and stores each closure's
	// outcome in errs (same index). A failing closure must not prevent the
	// others from committing.
	run  func(fns []func(txn) error, errs []error)
	done sync.WaitGroup
}

type groupReq struct {
	fn  func(txn) error
	res chan error
}

func newGroup(maxBatch int, run func([]func(txn) error, []error)) *group {
	g := &group{reqs: make(chan groupReq, maxBatch), maxBatch: maxBatch, run: run}
	g.done.Add(1)
	go g.loop()
	return g
}

// update queues fn and waits until the batch holding it is durable.
func (g *group) update(_ []byte, fn func(txn) error) error {
	res := make(chan error, 1)
	g.reqs <- groupReq{fn: fn, res: res}
	return <-res
}

func (g *group) loop() {
	defer g.done.Done()
	var (
		batch []groupReq
		fns   []func(txn) error
		errs  []error
	)
	for first := range g.reqs {
		batch = append(batch[:0], first)
	drain:
		for len(batch) < g.maxBatch {
			select {
			case r, ok := <-g.reqs:
				if !ok {
					break drain
				}
				batch = append(batch, r)
			default:
				break drain
			}
		}
		fns = fns[:0]
		for _, r := range batch {
			fns = append(fns, r.fn)
		}
		errs = append(errs[:0], make([]error, len(batch))...)
		g.run(fns, errs)
		for i, r := range batch {
			r.res <- errs[i]
		}
	}
}

// close stops the loop; no update may be in flight or follow.
func (g *group) close() {
	close(g.reqs)
	g.done.Wait()
}

// runWithRetry is a group run for engines without savepoints (bbolt): it runs
// all pending closures in one transaction via tx; when closure i fails, the
// transaction is rolled back, i is answered with its error, and the rest are
// run again without it.
func runWithRetry(tx func(func(txn) error) error, fns []func(txn) error, errs []error) {
	pending := make([]bool, len(fns))
	for i := range pending {
		pending[i] = true
	}
	for {
		failed := -1
		err := tx(func(t txn) error {
			for i, fn := range fns {
				if !pending[i] {
					continue
				}
				if err := fn(t); err != nil {
					failed = i
					return err
				}
			}
			return nil
		})
		if failed >= 0 {
			errs[failed] = err
			pending[failed] = false
			continue
		}
		for i := range fns {
			if pending[i] {
				errs[i] = err
			}
		}
		return
	}
}
