package bench

import (
	"context"
	"fmt"
	"io"
)

// largeStep is one kind of large-object operation, measured on every
// target and compared with the disk's write or read.
type largeStep struct {
	op     string
	diskOp string // the disk baseline's row compared with it
	// set names the objects the step works on: the multipart steps use
	// objects of their own, so that no measured PUT overwrites an object
	// (and pays for deleting the old one).
	set string
	run func(r *runner, ctx context.Context, key string, seq int64, buf []byte) (int64, error)
}

var (
	largePut = largeStep{op: "large-put", diskOp: "disk-write", set: "single",
		run: func(r *runner, ctx context.Context, key string, seq int64, _ []byte) (int64, error) {
			size := r.cfg.largeSize
			return size, r.client.put(ctx, key, size, r.body(size, seq))
		}}
	largeGet = largeStep{op: "large-get", diskOp: "disk-read", set: "single",
		run: func(r *runner, ctx context.Context, key string, _ int64, buf []byte) (int64, error) {
			return r.client.get(ctx, key, r.cfg.largeSize, buf)
		}}
	// largeMPUPut and largeRangeGet move the object as the SDKs' transfer
	// managers and the aws CLI do: a multipart upload of
	// --large-part-size parts, --large-part-concurrency in flight, and
	// ranged GETs the same way.
	largeMPUPut = largeStep{op: "large-mpu-put", diskOp: "disk-write", set: "multipart",
		run: func(r *runner, ctx context.Context, key string, seq int64, _ []byte) (int64, error) {
			size := r.cfg.largeSize
			return size, r.client.putMultipart(ctx, key, size, r.cfg.largePartSize, r.cfg.largePartConcurrency,
				func(off, n int64) io.Reader { return r.bodyRange(size, seq, off, n) })
		}}
	largeRangeGet = largeStep{op: "large-range-get", diskOp: "disk-read", set: "multipart",
		run: func(r *runner, ctx context.Context, key string, _ int64, _ []byte) (int64, error) {
			return r.client.getRanges(ctx, key, r.cfg.largeSize, r.cfg.largePartSize, r.cfg.largePartConcurrency)
		}}
)

// runLarge moves --large-count objects of --large-size bytes through every
// target, one request (or one transfer) at a time: single-request PUTs,
// then GETs, then, with --large-part-size, multipart PUTs and ranged GETs.
// With --large-concurrency N, each of those objects is N objects moved at
// once, each by a request (or transfer) of its own, and its rate is theirs
// together; the disk still writes (or reads) one file.
//
// The disk baseline (--disk-dir) is measured object by object in between:
// for each object the disk writes (or reads) its file and every target
// PUTs (or GETs) its object, in an order that rotates from one object to
// the next. A disk's write rate depends on what was written just before
// (its cache, the page cache's dirty data still being flushed), so each
// target is compared with the disk under the same conditions rather than
// with a disk measured before anything else ran; and before each object
// every dirty page on this machine is written back (sync(2), not timed),
// so that no write pays for the one before it. Each row is the median of
// the per-object rates; the disk's rows pool its writes (or reads) of every
// step.
func runLarge(ctx context.Context, cfg config, targets []*runner) error {
	size, count, conc := cfg.largeSize, cfg.largeCount, cfg.largeConcurrency
	label := formatSize(size)
	var disk *diskBench
	if cfg.diskDir != "" {
		var err error
		if disk, err = newDiskBench(targets[0], cfg.diskDir); err != nil {
			return err
		}
		defer disk.close()
	}
	steps := []largeStep{largePut, largeGet}
	if cfg.largePartSize > 0 {
		steps = append(steps, largeMPUPut, largeRangeGet)
	}
	// keys[t][set] are target t's object keys for a set of steps.
	keys := make([]map[string][]string, len(targets))
	for t, r := range targets {
		keys[t] = map[string][]string{}
		for _, step := range steps {
			if keys[t][step.set] != nil {
				continue
			}
			ks := make([]string, count*conc)
			for i := range ks {
				ks[i] = fmt.Sprintf("%slarge/%s/%s-%d", r.prefix, label, step.set, i)
			}
			keys[t][step.set] = ks
		}
	}
	bufs := make([][]byte, conc)
	for w := range bufs {
		bufs[w] = make([]byte, 1<<20)
	}
	diskSamples := map[string][]*sample{}
	results := make([][]result, len(targets))
	writes := -1 // disk files of the latest write step: writes*count + i
	for _, step := range steps {
		if step.diskOp == "disk-write" {
			writes++
		}
		samples := make([][]*sample, len(targets))
		for i := range count {
			seq := int64(i)
			diskSeq := int64(writes*count + i)
			// Who goes first rotates from one object to the next.
			n := len(targets)
			if disk != nil {
				n++
			}
			for k := range n {
				j := (k + i) % n
				settle()
				if j == len(targets) {
					diskOp := disk.write
					if step.diskOp == "disk-read" {
						diskOp = disk.read
					}
					diskSamples[step.diskOp] = append(diskSamples[step.diskOp], measure(ctx, &targets[0].errs, 1, 0, 1, func(int) opFunc {
						return func(ctx context.Context, _ int64) (int64, error) { return diskOp(ctx, diskSeq) }
					}))
					continue
				}
				r := targets[j]
				samples[j] = append(samples[j], r.measure(ctx, conc, 0, int64(conc), func(w int) opFunc {
					// Each of the conc operations moves its own object.
					return func(ctx context.Context, k int64) (int64, error) {
						return step.run(r, ctx, keys[j][step.set][i*conc+int(k)], seq*int64(conc)+k, bufs[w])
					}
				}))
				if err := ctx.Err(); err != nil {
					return err
				}
			}
		}
		for j := range targets {
			results[j] = append(results[j], summarize(step.op, size, label, conc, samples[j]))
		}
	}
	if disk != nil {
		for _, op := range []string{"disk-write", "disk-read"} {
			disk.report(op, diskSamples[op])
		}
	}
	for j, r := range targets {
		for _, res := range results[j] {
			r.report(res)
		}
	}
	for j, r := range targets {
		for _, ks := range keys[j] {
			r.cleanup(ctx, ks)
		}
	}
	return ctx.Err()
}
