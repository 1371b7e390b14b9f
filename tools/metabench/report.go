package main

import (
	"fmt"
	"math"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
)

// results collects every repetition's value of every metric, keyed by a
// subject (an engine name or a commit ID) and a metric name.
type results struct {
	mu    sync.Mutex
	vals  map[string]map[string][]float64
	order []string // subjects in first-seen order
}

func newResults() *results {
	return &results{vals: map[string]map[string][]float64{}}
}

func (r *results) add(subject, metric string, v float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m, ok := r.vals[subject]
	if !ok {
		m = map[string][]float64{}
		r.vals[subject] = m
		r.order = append(r.order, subject)
	}
	m[metric] = append(m[metric], v)
}

// median returns the median of a metric, or NaN when it was not measured.
func (r *results) median(subject, metric string) float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return median(r.vals[subject][metric])
}

// spread returns (max-min)/median of a metric across repetitions.
func (r *results) spread(subject, metric string) float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	xs := r.vals[subject][metric]
	if len(xs) < 2 {
		return 0
	}
	return (slices.Max(xs) - slices.Min(xs)) / median(xs)
}

// report renders the Markdown report.
type report struct {
	args    []string
	cfg     config
	reps    int
	engines []engine
	res     *results
	fsync   latencies
	sizes   []binaryReport
	elapsed time.Duration
	load    [2]string // load averages at start and end
}

func (rp *report) write(w *strings.Builder) {
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	fmt.Fprintf(w, "## Run\n\n")
	fmt.Fprintf(w, "- command: `metabench %s`\n", strings.Join(rp.args, " "))
	fmt.Fprintf(w, "- CPUs: %d, kernel: %s, Go: %s %s/%s\n", runtime.NumCPU(),
		strings.TrimSpace(string(kernel)), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(w, "- in-process fsync probe (4 KiB write + fdatasync, 500×): p50 %s ms, p99 %s ms\n",
		num(millis(rp.fsync.percentile(0.5))), num(millis(rp.fsync.percentile(0.99))))
	fmt.Fprintf(w, "- load average (1/5/15 min) at start: %s; at end: %s\n", rp.load[0], rp.load[1])
	fmt.Fprintf(w, "- %d repetitions, medians reported; %d keys loaded (%s order, %d per batch); "+
		"commit runs %v each; wall time %v\n\n",
		rp.reps, rp.cfg.keys, rp.cfg.loadOrder, rp.cfg.loadBatch, rp.cfg.commitDur, rp.elapsed.Round(time.Second))

	var spreads []float64
	for _, body := range rp.cfg.bodies {
		fmt.Fprintf(w, "## Durable commits, inline body %d B\n\n", body)
		fmt.Fprintf(w, "Each commit: read head, write head + version record")
		if body > 0 {
			fmt.Fprintf(w, " + %d B body", body)
		}
		fmt.Fprintf(w, "; fsync'd before returning. Throughput in commits/s; latency in ms.\n\n")
		fmt.Fprintf(w, "| variant |")
		for _, n := range rp.cfg.conc {
			fmt.Fprintf(w, " c=%d commits/s | p50 | p99 |", n)
		}
		fmt.Fprintf(w, "\n|---|")
		for range rp.cfg.conc {
			fmt.Fprintf(w, "--:|--:|--:|")
		}
		fmt.Fprintln(w)
		for _, v := range rp.variants() {
			fmt.Fprintf(w, "| %s |", v)
			for _, n := range rp.cfg.conc {
				id := commitID(v, body, n)
				fmt.Fprintf(w, " %s | %s | %s |", num(rp.res.median(id, "ops")),
					num(rp.res.median(id, "p50_ms")), num(rp.res.median(id, "p99_ms")))
				spreads = append(spreads, rp.res.spread(id, "ops"))
			}
			fmt.Fprintln(w)
		}
		fmt.Fprintln(w)
	}

	fmt.Fprintf(w, "## Bulk load (%d keys, head + version each)\n\n", rp.cfg.keys)
	fmt.Fprintf(w, "Disk is the space allocated under the database directory right after the load "+
		"(for LSMs: WAL and not-yet-compacted levels included).\n\n")
	fmt.Fprintf(w, "| engine | load s | disk MiB |\n|---|--:|--:|\n")
	for _, e := range rp.engines {
		fmt.Fprintf(w, "| %s | %s | %s |\n", e.name,
			num(rp.res.median(e.name, "load_s")), num(rp.res.median(e.name, "disk_mib")))
		spreads = append(spreads, rp.res.spread(e.name, "load_s"))
	}
	fmt.Fprintln(w)
	for _, ph := range []struct{ phase, title string }{
		{phaseLoad, "immediately after the bulk load"},
		{phaseSettled, "after the commit phase (background work settled)"},
	} {
		fmt.Fprintf(w, "## Point reads and listing, %s\n\n", ph.title)
		fmt.Fprintf(w, "GET: %d goroutines, random loaded keys. List: open snapshot, seek to a random key, "+
			"read %d heads. Delimiter: collect %d common prefixes (`host-NNN/`) under a month prefix, "+
			"seeking past each.\n\n", rp.cfg.readers, rp.cfg.pageSize, rp.cfg.delimPage)
		fmt.Fprintf(w, "| engine | GET ops/s | GET p50 µs | GET p99 µs | "+
			"list p50 ms | list p99 ms | delim p50 ms | delim p99 ms |\n")
		fmt.Fprintf(w, "|---|--:|--:|--:|--:|--:|--:|--:|\n")
		for _, e := range rp.engines {
			fmt.Fprintf(w, "| %s |", e.name)
			for _, m := range []string{"get_ops", "get_p50_us", "get_p99_us",
				"list_p50_ms", "list_p99_ms", "delim_p50_ms", "delim_p99_ms"} {
				fmt.Fprintf(w, " %s |", num(rp.res.median(e.name, m+"@"+ph.phase)))
			}
			fmt.Fprintln(w)
			spreads = append(spreads, rp.res.spread(e.name, "get_ops@"+ph.phase))
		}
		fmt.Fprintln(w)
	}
	if len(spreads) > 0 {
		fmt.Fprintf(w, "Noise: across repetitions, (max−min)/median of the throughput figures "+
			"has median %.0f%% and maximum %.0f%%.\n\n", 100*median(spreads), 100*slices.Max(spreads))
	}

	if len(rp.sizes) > 0 {
		fmt.Fprintf(w, "## Binary size (this program built with one engine)\n\n")
		fmt.Fprintf(w, "| build | binary MiB | Δ MiB | stripped MiB | Δ stripped MiB | non-std packages | modules |\n")
		fmt.Fprintf(w, "|---|--:|--:|--:|--:|--:|--:|\n")
		base := rp.sizes[0]
		for _, s := range rp.sizes {
			if s.err != "" {
				fmt.Fprintf(w, "| %s | build failed: %s | | | | | |\n", s.name, s.err)
				continue
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %d | %d |\n", s.name,
				num(mib(s.size)), num(mib(s.size-base.size)),
				num(mib(s.stripped)), num(mib(s.stripped-base.stripped)), s.packages, s.modules)
		}
		fmt.Fprintln(w)
	}
}

// variants lists commit variants in the order they were first measured.
func (rp *report) variants() []string {
	var vs []string
	for _, s := range rp.res.order {
		parts := strings.Split(s, "|")
		if len(parts) == 4 && parts[0] == "commit" && !slices.Contains(vs, parts[1]) {
			vs = append(vs, parts[1])
		}
	}
	return vs
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

// num formats a value with about three significant digits.
func num(v float64) string {
	switch {
	case math.IsNaN(v):
		return "–"
	case math.Abs(v) >= 100:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 10:
		return fmt.Sprintf("%.1f", v)
	case math.Abs(v) >= 1:
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.3f", v)
	}
}
