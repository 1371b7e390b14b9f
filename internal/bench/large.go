package bench

import (
	"context"
	"fmt"
	"io"
)

// largeStep is one kind of large-object operation, measured on every
// target (and, for the plain PUT and GET, on the disk).
type largeStep struct {
	op     string
	diskOp string // the disk baseline's row compared with it ("" for none)
	run    func(r *runner, ctx context.Context, key string, seq int64, buf []byte) (int64, error)
}

var (
	largePut = largeStep{op: "large-put", diskOp: "disk-write",
		run: func(r *runner, ctx context.Context, key string, seq int64, _ []byte) (int64, error) {
			size := r.cfg.largeSize
			return size, r.client.put(ctx, key, size, r.body(size, seq))
		}}
	largeGet = largeStep{op: "large-get", diskOp: "disk-read",
		run: func(r *runner, ctx context.Context, key string, _ int64, buf []byte) (int64, error) {
			return r.client.get(ctx, key, r.cfg.largeSize, buf)
		}}
	// largeMPUPut and largeRangeGet move the object as the SDKs' transfer
	// managers and the aws CLI do: a multipart upload of
	// --large-part-size parts, --large-part-concurrency in flight, and
	// ranged GETs the same way. The multipart PUT rewrites the object.
	largeMPUPut = largeStep{op: "large-mpu-put", diskOp: "disk-write",
		run: func(r *runner, ctx context.Context, key string, seq int64, _ []byte) (int64, error) {
			size := r.cfg.largeSize
			return size, r.client.putMultipart(ctx, key, size, r.cfg.largePartSize, r.cfg.largePartConcurrency,
				func(off, n int64) io.Reader { return r.bodyRange(size, seq, off, n) })
		}}
	largeRangeGet = largeStep{op: "large-range-get", diskOp: "disk-read",
		run: func(r *runner, ctx context.Context, key string, _ int64, _ []byte) (int64, error) {
			return r.client.getRanges(ctx, key, r.cfg.largeSize, r.cfg.largePartSize, r.cfg.largePartConcurrency)
		}}
)

// runLarge moves --large-count objects of --large-size bytes through every
// target, one request (or one transfer) at a time: single-request PUTs,
// then GETs, then, with --large-part-size, multipart PUTs and ranged GETs.
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
	size, count := cfg.largeSize, cfg.largeCount
	label := formatSize(size)
	var disk *diskBench
	if cfg.diskDir != "" {
		var err error
		if disk, err = newDiskBench(targets[0], cfg.diskDir); err != nil {
			return err
		}
		defer disk.close()
	}
	keys := make([][]string, len(targets))
	for t, r := range targets {
		keys[t] = make([]string, count)
		for i := range keys[t] {
			keys[t][i] = fmt.Sprintf("%slarge/%s/%d", r.prefix, label, i)
		}
	}
	steps := []largeStep{largePut, largeGet}
	if cfg.largePartSize > 0 {
		steps = append(steps, largeMPUPut, largeRangeGet)
	}
	buf := make([]byte, 1<<20)
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
				key := keys[j][i]
				samples[j] = append(samples[j], r.measure(ctx, 1, 0, 1, func(int) opFunc {
					return func(ctx context.Context, _ int64) (int64, error) { return step.run(r, ctx, key, seq, buf) }
				}))
				if err := ctx.Err(); err != nil {
					return err
				}
			}
		}
		for j := range targets {
			results[j] = append(results[j], summarize(step.op, size, label, 1, samples[j]))
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
		r.cleanup(ctx, keys[j])
	}
	return ctx.Err()
}
