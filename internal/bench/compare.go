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
	if cfg.diskDir != "" {
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
		for _, r := range targets {
			if err := r.runLarge(ctx); err != nil {
				return err
			}
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
// and fsynced before it counts as done; then reads them back (from the page
// cache, as a GET of a just-written object is served). Rows are reported
// as target "disk"; r supplies the payload and the error log.
func runDisk(ctx context.Context, r *runner, dir string) error {
	size, count := r.cfg.largeSize, r.cfg.largeCount
	label := formatSize(size)
	tmp, err := os.MkdirTemp(dir, "sluice-bench-disk-")
	if err != nil {
		return fmt.Errorf("bench s3: --disk-dir: %w", err)
	}
	defer os.RemoveAll(tmp)
	path := func(seq int64) string { return filepath.Join(tmp, strconv.FormatInt(seq, 10)) }
	report := func(op string, s *sample) {
		res := summarize(op, size, label, 1, []*sample{s})
		res.Target, res.Endpoint = diskTarget, dir
		r.rep.result(res)
	}
	measureDisk := func(op func(seq int64, buf []byte) error) *sample {
		// Not r.measure: the server process has nothing to do with it.
		return measure(ctx, &r.errs, 1, 0, int64(count), func(int) opFunc {
			buf := make([]byte, 1<<20)
			return func(_ context.Context, seq int64) (int64, error) {
				return size, op(seq, buf)
			}
		})
	}
	report("disk-write", measureDisk(func(seq int64, buf []byte) error {
		f, err := os.Create(path(seq))
		if err != nil {
			return err
		}
		_, err = io.CopyBuffer(f, newCycleReader(r.payload, seq*4099, size), buf)
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return err
	}))
	if err := ctx.Err(); err != nil {
		return err
	}
	report("disk-read", measureDisk(func(seq int64, buf []byte) error {
		f, err := os.Open(path(seq))
		if err != nil {
			return err
		}
		defer f.Close()
		n, err := io.CopyBuffer(io.Discard, f, buf)
		if err == nil && n != size {
			err = fmt.Errorf("read %d bytes of %s, want %d", n, path(seq), size)
		}
		return err
	}))
	return ctx.Err()
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
		for _, pair := range [][2]string{{"large-put", "disk-write"}, {"large-get", "disk-read"}} {
			r, ok := rows[rowKey{name, pair[0], cfg.largeSize, 1}]
			d, dok := rows[rowKey{diskTarget, pair[1], cfg.largeSize, 1}]
			if name == "" || !ok || !dok || d.MBPerSec <= 0 {
				continue
			}
			ratios = append(ratios, ratio{Type: "ratio", Op: r.Op, Size: r.Size, Concurrency: 1,
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
