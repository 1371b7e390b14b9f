package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"time"
)

const (
	// listPage is the max-keys of every timed ListObjectsV2 request.
	listPage = 1000
	// maxListKeys keeps listKey's fixed-width fields in lexical order.
	maxListKeys = 99_999_999
	// listObjectSize is the body size of each key in the list key space.
	listObjectSize = 32
	// maxSliceBody is the largest object served as a slice of the payload
	// buffer; larger objects cycle through it.
	maxSliceBody = 64 << 20
	// minPayload keeps the period of cycled bodies long enough that a
	// compressing or deduplicating server gains little from it.
	minPayload = 16 << 20
	// payloadSlack lets consecutive objects start at different offsets.
	payloadSlack = 1 << 20
	// cleanupConcurrency is the number of concurrent DELETEs when cleaning up.
	cleanupConcurrency = 32
	// printedErrors is how many failed operations are printed in full.
	printedErrors = 5
)

// runner carries the state of "bench s3" against one target.
type runner struct {
	cfg    config // with the target's endpoint and credentials
	name   string
	pid    int // the target server's process, 0 if unknown
	client *client
	rep    *reporter
	stderr io.Writer
	errs   errorLog
	// payload is the random data every request body is cut from.
	payload []byte
	// prefix namespaces the keys of this invocation (except the list key
	// space, which is shared between invocations on purpose).
	prefix string
}

func newRunner(cfg config, name string, pid int, rep *reporter, stderr io.Writer) *runner {
	largest := int64(0)
	for _, s := range cfg.sizes {
		largest = max(largest, s)
	}
	payload := make([]byte, max(min(largest, maxSliceBody), minPayload)+payloadSlack)
	var seed [32]byte
	now := time.Now().UnixNano()
	for i := range 8 {
		seed[i] = byte(now >> (8 * i))
	}
	_, _ = rand.NewChaCha8(seed).Read(payload)

	return &runner{
		cfg:     cfg,
		name:    name,
		pid:     pid,
		client:  newClient(cfg, cfg.maxConcurrency()),
		rep:     rep,
		stderr:  stderr,
		errs:    errorLog{w: stderr, limit: printedErrors},
		payload: payload,
		prefix:  "bench-" + strconv.FormatInt(now, 36) + "/",
	}
}

func (r *runner) close() { r.client.close() }

// report prints res as a row of this target.
func (r *runner) report(res result) {
	res.Target = r.name
	res.Endpoint = r.cfg.endpoint.String()
	r.rep.result(res)
}

// preflight creates the bucket if needed and round-trips one object, so a
// wrong endpoint or bad credentials fail at once with the server's reason.
func (r *runner) preflight(ctx context.Context) error {
	created, err := r.client.ensureBucket(ctx)
	if err != nil {
		return fmt.Errorf("bench s3: preparing bucket %q at %s: %w", r.cfg.bucket, r.cfg.endpoint, err)
	}
	if created {
		fmt.Fprintf(r.stderr, "created bucket %q\n", r.cfg.bucket)
	}
	key := r.prefix + "probe"
	const size = 1 << 10
	if err := r.client.put(ctx, key, size, r.body(size, 0)); err != nil {
		return fmt.Errorf("bench s3: preflight: %w", err)
	}
	if _, err := r.client.get(ctx, key, size, make([]byte, size)); err != nil {
		return fmt.Errorf("bench s3: preflight: %w", err)
	}
	if err := r.client.delete(ctx, key); err != nil {
		return fmt.Errorf("bench s3: preflight: %w", err)
	}
	return nil
}

// body returns a body factory for object number seq of the given size. Small
// objects are slices of the payload at seq-dependent offsets; objects larger
// than the payload cycle through it.
func (r *runner) body(size, seq int64) func() io.Reader {
	if size > int64(len(r.payload)) {
		return func() io.Reader { return newCycleReader(r.payload, seq*4099, size) }
	}
	span := int64(len(r.payload)) - size + 1
	off := (seq * 4099) % span
	b := r.payload[off : off+size]
	return func() io.Reader { return bytes.NewReader(b) }
}

// bodyRange returns a reader over bytes [off, off+n) of the body that
// body(size, seq) returns, for uploading it in parts.
func (r *runner) bodyRange(size, seq, off, n int64) io.Reader {
	if size > int64(len(r.payload)) {
		return newCycleReader(r.payload, seq*4099+off, n)
	}
	span := int64(len(r.payload)) - size + 1
	start := (seq*4099)%span + off
	return bytes.NewReader(r.payload[start : start+n])
}

// readBuffer returns a per-worker buffer for reading bodies of size bytes.
func readBuffer(size int64) []byte {
	return make([]byte, min(max(size, 4<<10), 256<<10))
}

// runPutGet measures PUT and GET for every size and concurrency on every
// target. The targets take turns at each run, in alternating order, so that
// a change of load on a shared machine falls on all of them alike.
func runPutGet(ctx context.Context, cfg config, targets []*runner) error {
	for _, size := range cfg.sizes {
		label := formatSize(size)
		seeded := make([][]string, len(targets))
		if !cfg.ops.put {
			for i, r := range targets {
				var err error
				if seeded[i], err = r.seed(ctx, size); err != nil {
					return err
				}
			}
		}
		for _, conc := range cfg.concurrency {
			puts := make([][]*sample, len(targets))
			gets := make([][]*sample, len(targets))
			for run := range cfg.runs {
				for j := range targets {
					i := j
					if run%2 == 1 {
						i = len(targets) - 1 - j
					}
					r := targets[i]
					keys := seeded[i]
					if cfg.ops.put {
						prefix := fmt.Sprintf("%sobj/%s/c%d/r%d/", r.prefix, label, conc, run)
						s, written := r.measurePut(ctx, size, conc, prefix)
						puts[i] = append(puts[i], s)
						keys = written
					}
					if cfg.ops.get && ctx.Err() == nil {
						if len(keys) == 0 {
							r.errs.note(fmt.Errorf("get %s c%d: no objects to read (every PUT failed)", label, conc))
						} else {
							gets[i] = append(gets[i], r.measureGet(ctx, size, conc, keys))
						}
					}
					if cfg.ops.put {
						r.cleanup(ctx, keys)
					}
					if err := ctx.Err(); err != nil {
						return err
					}
				}
			}
			for i, r := range targets {
				if len(puts[i]) > 0 {
					r.report(summarize("put", size, label, conc, puts[i]))
				}
				if len(gets[i]) > 0 {
					r.report(summarize("get", size, label, conc, gets[i]))
				}
			}
		}
		for i, r := range targets {
			r.cleanup(ctx, seeded[i])
		}
	}
	return ctx.Err()
}

// measurePut writes objects of size bytes under prefix for one measurement
// and returns the keys that were written.
func (r *runner) measurePut(ctx context.Context, size int64, conc int, prefix string) (*sample, []string) {
	written := make([][]string, conc)
	s := r.measure(ctx, conc, r.cfg.duration, 0, func(w int) opFunc {
		return func(ctx context.Context, seq int64) (int64, error) {
			key := prefix + strconv.FormatInt(seq, 10)
			if err := r.client.put(ctx, key, size, r.body(size, seq)); err != nil {
				return 0, err
			}
			written[w] = append(written[w], key)
			return size, nil
		}
	})
	var keys []string
	for _, k := range written {
		keys = append(keys, k...)
	}
	return s, keys
}

// measureGet reads random objects among keys, each exactly size bytes long.
func (r *runner) measureGet(ctx context.Context, size int64, conc int, keys []string) *sample {
	return r.measure(ctx, conc, r.cfg.duration, 0, func(int) opFunc {
		buf := readBuffer(size)
		return func(ctx context.Context, _ int64) (int64, error) {
			return r.client.get(ctx, keys[rand.IntN(len(keys))], size, buf)
		}
	})
}

// seed writes --get-objects objects of size bytes for a get-only run.
func (r *runner) seed(ctx context.Context, size int64) ([]string, error) {
	keys := make([]string, r.cfg.getObjects)
	for i := range keys {
		keys[i] = fmt.Sprintf("%sseed/%s/%d", r.prefix, formatSize(size), i)
	}
	failed := r.parallel(ctx, len(keys), max(r.cfg.concurrency[0], 16), "", func(ctx context.Context, i int) error {
		return r.client.put(ctx, keys[i], size, r.body(size, int64(i)))
	})
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if failed > 0 {
		return nil, fmt.Errorf("bench s3: seeding %s objects for get: %d of %d PUTs failed", formatSize(size), failed, len(keys))
	}
	return keys, nil
}

// cleanup deletes keys unless --keep was given or the run was interrupted.
func (r *runner) cleanup(ctx context.Context, keys []string) {
	if len(keys) == 0 {
		return
	}
	if r.cfg.keep || ctx.Err() != nil {
		fmt.Fprintf(r.stderr, "left %d objects under %s\n", len(keys), r.prefix)
		return
	}
	progress := ""
	if len(keys) >= 50_000 {
		progress = "cleanup: deleting"
	}
	r.parallel(ctx, len(keys), cleanupConcurrency, progress, func(ctx context.Context, i int) error {
		return r.client.delete(ctx, keys[i])
	})
}

// listKey returns key i of a list key space rooted at prefix. The fields
// have fixed widths, so lexical order is index order: the key after
// listKey(i) is listKey(i+1).
func listKey(prefix string, i int) string {
	return fmt.Sprintf("%stenant-%04d/batch-%02d/obj-%09d.json", prefix, i/10_000, (i/100)%100, i)
}

// runList populates the list key space unless its marker object says it is
// already there, then times ListObjectsV2 pages starting after random keys.
func (r *runner) runList(ctx context.Context) error {
	n := r.cfg.listKeys
	prefix := fmt.Sprintf("list-%d/", n)
	marker := fmt.Sprintf("list-%d.populated", n)
	present, err := r.client.exists(ctx, marker)
	if err != nil {
		return fmt.Errorf("bench s3: list: checking marker %s: %w", marker, err)
	}
	if present {
		fmt.Fprintf(r.stderr, "list: marker %s found, reusing %d keys under %s\n", marker, n, prefix)
	} else {
		if err := r.populate(ctx, prefix, marker, n); err != nil {
			return err
		}
	}

	want := min(n, listPage)
	s := r.measure(ctx, r.cfg.listConcurrency, 0, int64(r.cfg.listSamples), func(int) opFunc {
		var buf bytes.Buffer
		return func(ctx context.Context, _ int64) (int64, error) {
			startAfter := ""
			if n > listPage {
				// Any start in [0, n-listPage) leaves a full page after it.
				startAfter = listKey(prefix, rand.IntN(n-listPage))
			}
			got, err := r.client.list(ctx, prefix, startAfter, listPage, &buf)
			if err != nil {
				return 0, err
			}
			if got != want {
				return 0, fmt.Errorf("ListObjectsV2 prefix=%s start-after=%q: %d keys, want %d", prefix, startAfter, got, want)
			}
			return 0, nil
		}
	})
	res := summarize("list", 0, countLabel(n)+" keys", r.cfg.listConcurrency, []*sample{s})
	res.Keys = n
	r.report(res)
	return ctx.Err()
}

// populate writes the n keys of the list key space, then the marker object
// that lets later runs skip this step.
func (r *runner) populate(ctx context.Context, prefix, marker string, n int) error {
	conc := r.cfg.populateConcurrency
	fmt.Fprintf(r.stderr, "list: populating %d keys under %s with %d concurrent PUTs\n", n, prefix, conc)
	start := time.Now()
	failed := r.parallel(ctx, n, conc, "list: populating", func(ctx context.Context, i int) error {
		return r.client.put(ctx, listKey(prefix, i), listObjectSize, r.body(listObjectSize, int64(i)))
	})
	if err := ctx.Err(); err != nil {
		return err
	}
	if failed > 0 {
		return fmt.Errorf("bench s3: list: %d of %d PUTs failed while populating; marker not written", failed, n)
	}
	elapsed := time.Since(start)
	fmt.Fprintf(r.stderr, "list: populated %d keys in %s (%.0f PUT/s)\n", n, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds())
	count := []byte(strconv.Itoa(n))
	err := r.client.put(ctx, marker, int64(len(count)), func() io.Reader { return bytes.NewReader(count) })
	if err != nil {
		return fmt.Errorf("bench s3: list: writing marker: %w", err)
	}
	return nil
}

// countLabel renders n compactly: 1000000 → "1M", 100000 → "100k".
func countLabel(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return strconv.Itoa(n/1_000_000) + "M"
	case n >= 1_000 && n%1_000 == 0:
		return strconv.Itoa(n/1_000) + "k"
	default:
		return strconv.Itoa(n)
	}
}
