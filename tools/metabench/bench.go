package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"time"
)

// config holds the workload parameters.
type config struct {
	keys      int
	loadBatch int
	loadOrder string // "time" or "random"
	commitDur time.Duration
	readDur   time.Duration
	conc      []int
	bodies    []int
	readers   int
	listOps   int
	pageSize  int
	delimPage int
}

// bench runs the workload; keyTable holds objectKey(i) for i < 2*keys: the
// first half is loaded, the second half is fresh keys for commits.
type bench struct {
	cfg      config
	keyTable [][]byte
	body     []byte
	res      *results
	logf     func(format string, args ...any)
}

func newBench(cfg config, res *results, logf func(string, ...any)) *bench {
	b := &bench{cfg: cfg, res: res, logf: logf}
	b.keyTable = make([][]byte, 2*cfg.keys)
	for i := range b.keyTable {
		b.keyTable[i] = objectKey(i)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	b.body = make([]byte, 4096)
	for i := range b.body {
		b.body[i] = byte(rng.Uint32())
	}
	return b
}

// runEngine measures one engine once, in a fresh directory under parent that
// is removed afterwards.
func (b *bench) runEngine(ctx context.Context, e engine, parent string) (err error) {
	dir, err := os.MkdirTemp(parent, "metabench-"+e.name+"-")
	if err != nil {
		return err
	}
	defer func() {
		if rmErr := os.RemoveAll(dir); err == nil {
			err = rmErr
		}
	}()
	s, err := e.open(dir)
	if err != nil {
		return fmt.Errorf("open %s: %w", e.name, err)
	}
	defer func() {
		if cErr := s.close(); err == nil && cErr != nil {
			err = fmt.Errorf("close %s: %w", e.name, cErr)
		}
	}()

	loadTime, err := b.load(ctx, s)
	if err != nil {
		return fmt.Errorf("%s load: %w", e.name, err)
	}
	b.res.add(e.name, "load_s", loadTime.Seconds())
	size, err := diskUsage(dir)
	if err != nil {
		return err
	}
	b.res.add(e.name, "disk_mib", float64(size)/(1<<20))
	b.logf("%s: loaded %d keys in %.1fs, %.0f MiB on disk", e.name, b.cfg.keys, loadTime.Seconds(), float64(size)/(1<<20))

	// Read and list right after the bulk load, while an LSM may still be
	// compacting it, then again after the commit phase has given background
	// work time to settle.
	if err := b.readPhase(ctx, e.name, s, phaseLoad); err != nil {
		return err
	}
	for _, c := range s.committers() {
		for _, body := range b.cfg.bodies {
			for _, n := range b.cfg.conc {
				if err := ctx.Err(); err != nil {
					return err
				}
				ops, lat, err := b.commits(c, n, body)
				if err != nil {
					return fmt.Errorf("%s commits (%d goroutines): %w", c.name, n, err)
				}
				id := commitID(c.name, body, n)
				b.res.add(id, "ops", ops)
				b.res.add(id, "p50_ms", millis(lat.percentile(0.50)))
				b.res.add(id, "p99_ms", millis(lat.percentile(0.99)))
				b.logf("%s body=%d c=%d: %.0f commits/s p50 %v p99 %v", c.name, body, n, ops,
					lat.percentile(0.5), lat.percentile(0.99))
			}
		}
	}
	return b.readPhase(ctx, e.name, s, phaseSettled)
}

// Read phases: right after the bulk load, and after the commit phase.
const (
	phaseLoad    = "load"
	phaseSettled = "settled"
)

// readPhase measures point reads, list pages and delimiter pages, recording
// metrics named with the phase suffix.
func (b *bench) readPhase(ctx context.Context, name string, s store, phase string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	ops, lat, err := b.reads(s)
	if err != nil {
		return fmt.Errorf("%s reads: %w", name, err)
	}
	b.res.add(name, "get_ops@"+phase, ops)
	b.res.add(name, "get_p50_us@"+phase, micros(lat.percentile(0.50)))
	b.res.add(name, "get_p99_us@"+phase, micros(lat.percentile(0.99)))
	b.logf("%s (%s): get %.0f ops/s p50 %v p99 %v", name, phase, ops, lat.percentile(0.5), lat.percentile(0.99))

	page, err := b.listPages(s)
	if err != nil {
		return fmt.Errorf("%s list: %w", name, err)
	}
	b.res.add(name, "list_p50_ms@"+phase, millis(page.percentile(0.50)))
	b.res.add(name, "list_p99_ms@"+phase, millis(page.percentile(0.99)))
	delim, err := b.delimiterPages(s)
	if err != nil {
		return fmt.Errorf("%s delimiter list: %w", name, err)
	}
	b.res.add(name, "delim_p50_ms@"+phase, millis(delim.percentile(0.50)))
	b.res.add(name, "delim_p99_ms@"+phase, millis(delim.percentile(0.99)))
	b.logf("%s (%s): list page p50 %v p99 %v; delimiter page p50 %v p99 %v", name, phase,
		page.percentile(0.5), page.percentile(0.99), delim.percentile(0.5), delim.percentile(0.99))
	return nil
}

func commitID(variant string, body, conc int) string {
	return fmt.Sprintf("commit|%s|%d|%d", variant, body, conc)
}

// load writes the first cfg.keys keys, each with a head and one version, in
// batches of cfg.loadBatch, in time order or random order.
func (b *bench) load(ctx context.Context, s store) (time.Duration, error) {
	order := make([]int, b.cfg.keys)
	for i := range order {
		order[i] = i
	}
	rng := rand.New(rand.NewPCG(3, 4))
	if b.cfg.loadOrder == "random" {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	}
	var total time.Duration
	items := make([]loadItem, 0, b.cfg.loadBatch)
	for start := 0; start < len(order); start += b.cfg.loadBatch {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		items = items[:0]
		for _, i := range order[start:min(start+b.cfg.loadBatch, len(order))] {
			vid := newVersionID()
			items = append(items, loadItem{
				key:     b.keyTable[i],
				vid:     vid,
				head:    makeRecord(rng, vid),
				version: makeRecord(rng, vid),
			})
		}
		t0 := time.Now()
		if err := s.load(items); err != nil {
			return 0, err
		}
		total += time.Since(t0)
	}
	return total, nil
}

// reads runs cfg.readers goroutines doing random head GETs of loaded keys.
func (b *bench) reads(s store) (float64, latencies, error) {
	return b.parallel(b.cfg.readers, b.cfg.readDur, func(rng *rand.Rand) error {
		key := b.keyTable[rng.IntN(b.cfg.keys)]
		v, err := s.get(key)
		if err != nil {
			return err
		}
		if len(v) != recordSize {
			return fmt.Errorf("head of %q: got %d bytes", key, len(v))
		}
		return nil
	})
}

// commits runs n goroutines committing read-head/write-head+version(+body)
// transactions on random keys, half of them existing.
func (b *bench) commits(c committer, n, body int) (float64, latencies, error) {
	return b.parallel(n, b.cfg.commitDur, func(rng *rand.Rand) error {
		key := b.keyTable[rng.IntN(len(b.keyTable))]
		vid := newVersionID()
		rec := makeRecord(rng, vid)
		return c.update(key, func(t txn) error {
			h, err := t.head(key)
			if err != nil {
				return err
			}
			if h != nil && len(h) != recordSize {
				return fmt.Errorf("head of %q: got %d bytes", key, len(h))
			}
			if err := t.putHead(key, rec); err != nil {
				return err
			}
			if err := t.putVersion(key, vid, rec); err != nil {
				return err
			}
			if body > 0 {
				return t.putBody(key, vid, b.body[:body])
			}
			return nil
		})
	})
}

// parallel runs op in n goroutines for d and returns ops/s and latencies.
func (b *bench) parallel(n int, d time.Duration, op func(*rand.Rand) error) (float64, latencies, error) {
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		all      latencies
		firstErr error
		stop     = make(chan struct{})
		once     sync.Once
	)
	start := time.Now()
	deadline := start.Add(d)
	for g := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), uint64(start.UnixNano())))
			var lat latencies
			for time.Now().Before(deadline) {
				select {
				case <-stop:
					return
				default:
				}
				t0 := time.Now()
				if err := op(rng); err != nil {
					once.Do(func() { firstErr = err; close(stop) })
					return
				}
				lat = append(lat, time.Since(t0))
			}
			mu.Lock()
			all = append(all, lat...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if firstErr != nil {
		return 0, nil, firstErr
	}
	return float64(len(all)) / elapsed.Seconds(), all, nil
}

// listPages measures ListObjectsV2-style pages: open a snapshot, seek to a
// random loaded key, read cfg.pageSize consecutive heads.
func (b *bench) listPages(s store) (latencies, error) {
	rng := rand.New(rand.NewPCG(5, 6))
	var lat latencies
	for range b.cfg.listOps {
		start := b.keyTable[rng.IntN(b.cfg.keys)]
		t0 := time.Now()
		it, err := s.iter()
		if err != nil {
			return nil, err
		}
		n, bytesRead := 0, 0
		var prev []byte
		for ok := it.seekGE(start); ok && n < b.cfg.pageSize; ok = it.next() {
			k := it.key()
			if prev != nil && bytes.Compare(prev, k) >= 0 {
				it.close()
				return nil, fmt.Errorf("keys out of order: %q then %q", prev, k)
			}
			prev = append(prev[:0], k...)
			bytesRead += len(it.value())
			n++
		}
		if err := it.close(); err != nil {
			return nil, err
		}
		lat = append(lat, time.Since(t0))
		if n == 0 || bytesRead != n*recordSize {
			return nil, fmt.Errorf("page from %q: %d keys, %d bytes", start, n, bytesRead)
		}
	}
	return lat, nil
}

// delimiterPages measures delimiter listings: in a random month directory,
// from a random host, collect cfg.delimPage common prefixes ("host-123/"),
// seeking past each prefix instead of reading its keys.
func (b *bench) delimiterPages(s store) (latencies, error) {
	rng := rand.New(rand.NewPCG(7, 8))
	months := max(1, b.cfg.keys/keysPerMonth)
	var lat latencies
	for range b.cfg.listOps {
		month := monthPrefix(rng.IntN(months))
		seek := fmt.Appendf(slices.Clone(month), "host-%03d/", rng.IntN(hostsPerMonth/2))
		t0 := time.Now()
		it, err := s.iter()
		if err != nil {
			return nil, err
		}
		n := 0
		for n < b.cfg.delimPage && it.seekGE(seek) {
			k := it.key()
			if !bytes.HasPrefix(k, month) {
				break
			}
			j := bytes.IndexByte(k[len(month):], '/')
			if j < 0 {
				return nil, fmt.Errorf("unexpected key %q", k)
			}
			// The next key after every key with this common prefix: bump the
			// delimiter byte.
			seek = append(seek[:0], k[:len(month)+j+1]...)
			seek[len(seek)-1]++
			n++
		}
		if err := it.close(); err != nil {
			return nil, err
		}
		lat = append(lat, time.Since(t0))
		if n == 0 {
			return nil, fmt.Errorf("no common prefixes under %q", month)
		}
	}
	return lat, nil
}

// diskUsage returns the bytes allocated to files under dir (sparse,
// preallocated files count only what is allocated).
func diskUsage(dir string) (int64, error) {
	var total int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			total += st.Blocks * 512
		} else {
			total += fi.Size()
		}
		return nil
	})
	return total, err
}

// fsyncLatency measures write(4 KiB)+fdatasync on dir, like
// dd bs=4k oflag=dsync.
func fsyncLatency(dir string, n int) (latencies, error) {
	f, err := os.CreateTemp(dir, "metabench-fsync-")
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	buf := make([]byte, 4096)
	var lat latencies
	for range n {
		t0 := time.Now()
		if _, err := f.Write(buf); err != nil {
			return nil, err
		}
		if err := f.Sync(); err != nil {
			return nil, err
		}
		lat = append(lat, time.Since(t0))
	}
	return lat, nil
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
