package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Targets of issue 2 that "bench s3" checks when it has the rows for them.
const (
	// targetSmallRatio is the 4 KiB PUT and GET ops/s sluice must reach,
	// relative to the peer.
	targetSmallRatio = 1.2
	targetSmallSize  = 4 << 10
	// targetDiskShare is the share of the raw disk's MB/s that large
	// objects must reach.
	targetDiskShare = 0.8
)

// diskTarget labels the disk baseline's rows.
const diskTarget = "disk"

// runTargets runs every selected phase against the target and, with
// --peer, the peer, interleaved phase by phase, then prints how they
// compare.
func runTargets(ctx context.Context, cfg config, stdout, stderr io.Writer) error {
	rep := &reporter{w: stdout, json: cfg.json, targets: cfg.peer != nil || cfg.diskDir != "",
		server: cfg.pid != 0 || (cfg.peer != nil && cfg.peer.pid != 0)}
	targets := []*runner{newRunner(cfg, cfg.name, cfg.pid, rep, stderr)}
	if p := cfg.peer; p != nil {
		pc := cfg
		pc.endpoint, pc.accessKey, pc.secretKey = p.endpoint, p.accessKey, p.secretKey
		targets = append(targets, newRunner(pc, p.name, p.pid, rep, stderr))
	}
	for _, r := range targets {
		defer r.close()
	}

	rep.header(cfg)
	for _, r := range targets {
		if r.client.anonymous {
			fmt.Fprintf(stderr, "warning: no access key for %s: sending unsigned requests\n", r.name)
		}
		if err := r.preflight(ctx); err != nil {
			return err
		}
	}
	if cfg.diskDir != "" && !cfg.ops.large {
		if err := runDisk(ctx, targets[0], cfg.diskDir); err != nil {
			return err
		}
	}
	if cfg.ops.put || cfg.ops.get {
		if err := runPutGet(ctx, cfg, targets); err != nil {
			return err
		}
	}
	if cfg.ops.large {
		if err := runLarge(ctx, cfg, targets); err != nil {
			return err
		}
	}
	if cfg.ops.list {
		for _, r := range targets {
			if err := r.runList(ctx); err != nil {
				return err
			}
		}
	}
	rep.compare(cfg)

	var failed []string
	for _, r := range targets {
		if n := r.errs.count(); n > 0 {
			failed = append(failed, fmt.Sprintf("%d operations against %s failed (the first %d are printed above)",
				n, r.cfg.endpoint, min(n, printedErrors)))
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("bench s3: %s", strings.Join(failed, "; "))
	}
	return nil
}

// runDisk measures the disk under dir the way "dd bs=1M conv=fsync" does:
// --large-count files of --large-size bytes, each written in 1 MiB writes
// and fsynced before it counts as done; then reads them back from the disk
// (O_DIRECT, as "dd iflag=direct" does, on Linux). Rows are reported
// as target "disk"; r supplies the payload and the error log. With the
// large phase, runLarge measures the disk object by object instead,
// between the targets' PUTs and GETs.
func runDisk(ctx context.Context, r *runner, dir string) error {
	d, err := newDiskBench(r, dir)
	if err != nil {
		return err
	}
	defer d.close()
	count := int64(r.cfg.largeCount)
	d.report("disk-write", []*sample{measureEach(ctx, &r.errs, count, d.write)})
	if err := ctx.Err(); err != nil {
		return err
	}
	d.report("disk-read", []*sample{measureEach(ctx, &r.errs, count, d.read)})
	return ctx.Err()
}

// diskBench writes and reads files of --large-size in a temporary
// directory, as dd does.
type diskBench struct {
	r    *runner
	dir  string
	tmp  string
	size int64
	buf  []byte
}

func newDiskBench(r *runner, dir string) (*diskBench, error) {
	tmp, err := os.MkdirTemp(dir, "sluice-bench-disk-")
	if err != nil {
		return nil, fmt.Errorf("bench s3: --disk-dir: %w", err)
	}
	return &diskBench{r: r, dir: dir, tmp: tmp, size: r.cfg.largeSize, buf: directBuffer(1 << 20)}, nil
}

func (d *diskBench) close() { os.RemoveAll(d.tmp) }

func (d *diskBench) path(seq int64) string { return filepath.Join(d.tmp, strconv.FormatInt(seq, 10)) }

// report prints the disk's row for op from samples.
func (d *diskBench) report(op string, samples []*sample) {
	res := summarize(op, d.size, formatSize(d.size), 1, samples)
	res.Target, res.Endpoint = diskTarget, d.dir
	d.r.rep.result(res)
}

// write writes file seq in 1 MiB writes and fsyncs it.
func (d *diskBench) write(_ context.Context, seq int64) (int64, error) {
	f, err := os.Create(d.path(seq))
	if err != nil {
		return 0, err
	}
	_, err = io.CopyBuffer(f, newCycleReader(d.r.payload, seq*4099, d.size), d.buf)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return d.size, err
}

// read reads file seq back from the disk, not the page cache (O_DIRECT,
// as "dd iflag=direct bs=1M" does), where the system allows it.
func (d *diskBench) read(_ context.Context, seq int64) (int64, error) {
	f, err := openDirect(d.path(seq))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var n int64
	for {
		m, err := f.Read(d.buf)
		n += int64(m)
		if err == io.EOF {
			break
		}
		if err != nil {
			return n, err
		}
	}
	if err == nil && n != d.size {
		err = fmt.Errorf("read %d bytes of %s, want %d", n, d.path(seq), d.size)
	}
	return n, err
}

// measureEach times op on seq 0..count-1, one at a time, as one sample.
func measureEach(ctx context.Context, errs *errorLog, count int64, op opFunc) *sample {
	return measure(ctx, errs, 1, 0, count, func(int) opFunc { return op })
}

// ratio is one line of the comparison: a row of the target against the
// same row of the peer or of the disk baseline.
type ratio struct {
	Type        string  `json:"type"` // always "ratio"
	Op          string  `json:"op"`
	Size        string  `json:"size"`
	Concurrency int     `json:"concurrency"`
	Target      string  `json:"target"`
	Against     string  `json:"against"`
	AgainstOp   string  `json:"against_op"`
	Metric      string  `json:"metric"` // "ops/s" or "MB/s"
	Value       float64 `json:"value"`
	Base        float64 `json:"base"`
	Ratio       float64 `json:"ratio"`
}

// s3Verdict is an issue target checked against the ratios.
type s3Verdict struct {
	Type   string `json:"type"` // always "target"
	Goal   string `json:"goal"`
	Detail string `json:"detail"`
	Met    bool   `json:"met"`
}

type rowKey struct {
	target, op string
	size       int64
	conc       int
}

// compare prints the target's rows against the peer's and the disk
// baseline's, and the verdicts on issue 2's targets.
func (p *reporter) compare(cfg config) {
	rows := map[rowKey]result{}
	for _, r := range p.results {
		rows[rowKey{r.Target, r.Op, r.SizeBytes, r.Concurrency}] = r
	}
	var ratios []ratio
	var peerName string
	if cfg.peer != nil {
		peerName = cfg.peer.name
		for _, r := range p.results {
			if r.Target != cfg.name {
				continue
			}
			b, ok := rows[rowKey{peerName, r.Op, r.SizeBytes, r.Concurrency}]
			if !ok || b.OpsPerSec <= 0 {
				continue
			}
			ratios = append(ratios, ratio{Type: "ratio", Op: r.Op, Size: r.Size, Concurrency: r.Concurrency,
				Target: r.Target, Against: peerName, AgainstOp: r.Op, Metric: "ops/s",
				Value: r.OpsPerSec, Base: b.OpsPerSec, Ratio: r.OpsPerSec / b.OpsPerSec})
		}
	}
	for _, name := range []string{cfg.name, peerName} {
		for _, pair := range [][2]string{{"large-put", "disk-write"}, {"large-get", "disk-read"}, {"large-mpu-put", "disk-write"}, {"large-range-get", "disk-read"}} {
			r, ok := rows[rowKey{name, pair[0], cfg.largeSize, cfg.largeConcurrency}]
			d, dok := rows[rowKey{diskTarget, pair[1], cfg.largeSize, 1}]
			if name == "" || !ok || !dok || d.MBPerSec <= 0 {
				continue
			}
			ratios = append(ratios, ratio{Type: "ratio", Op: r.Op, Size: r.Size, Concurrency: r.Concurrency,
				Target: name, Against: diskTarget, AgainstOp: d.Op, Metric: "MB/s",
				Value: r.MBPerSec, Base: d.MBPerSec, Ratio: r.MBPerSec / d.MBPerSec})
		}
	}
	verdicts := s3Verdicts(cfg, ratios)
	if p.json {
		for _, r := range ratios {
			p.writeJSON(r)
		}
		for _, v := range verdicts {
			p.writeJSON(v)
		}
		return
	}
	if len(ratios) > 0 {
		fmt.Fprintf(p.w, "\nratios (%s ÷ the other; above 1 means %s is faster):\n", cfg.name, cfg.name)
		const f = "%-10s %10s %5s %-6s %-8s %11s %-10s %11s %7s\n"
		fmt.Fprintf(p.w, f, "OP", "SIZE", "CONC", "METRIC", "TARGET", "VALUE", "AGAINST", "VALUE", "RATIO")
		for _, r := range ratios {
			fmt.Fprintf(p.w, f, r.Op, r.Size, fmt.Sprint(r.Concurrency), r.Metric, r.Target,
				fmt.Sprintf("%.1f", r.Value), r.Against+" "+strings.TrimPrefix(r.AgainstOp, "disk-"),
				fmt.Sprintf("%.1f", r.Base), fmt.Sprintf("%.2f", r.Ratio))
		}
	}
	if len(verdicts) > 0 {
		fmt.Fprintf(p.w, "\ntargets:\n")
		for _, v := range verdicts {
			word := "MISSED"
			if v.Met {
				word = "met"
			}
			fmt.Fprintf(p.w, "  %-48s %-6s %s\n", v.Goal, word, v.Detail)
		}
	}
}

// s3Verdicts checks issue 2's targets: the target's 4 KiB PUT and GET ops/s
// at least 1.2× the peer's at every concurrency measured, and its large
// object PUT and GET at least 80% of the disk's write and read MB/s.
func s3Verdicts(cfg config, ratios []ratio) []s3Verdict {
	var out []s3Verdict
	for _, op := range []string{"put", "get"} {
		var parts []string
		met, n := true, 0
		for _, r := range ratios {
			if r.Target != cfg.name || r.Op != op || r.Size != formatSize(targetSmallSize) || r.Against == diskTarget {
				continue
			}
			n++
			parts = append(parts, fmt.Sprintf("c%d %.2f×", r.Concurrency, r.Ratio))
			met = met && r.Ratio >= targetSmallRatio
		}
		if n > 0 {
			out = append(out, s3Verdict{Type: "target",
				Goal:   fmt.Sprintf("%s 4KiB %s ops/s >= %.1f× %s", cfg.name, op, targetSmallRatio, cfg.peer.name),
				Detail: strings.Join(parts, ", "), Met: met})
		}
	}
	for _, r := range ratios {
		if r.Target != cfg.name || r.Against != diskTarget {
			continue
		}
		out = append(out, s3Verdict{Type: "target",
			Goal:   fmt.Sprintf("%s %s MB/s >= %.0f%% of %s", cfg.name, r.Op, 100*targetDiskShare, r.AgainstOp),
			Detail: fmt.Sprintf("%.0f%% (%.1f of %.1f MB/s)", 100*r.Ratio, r.Value, r.Base), Met: r.Ratio >= targetDiskShare})
	}
	return out
}
