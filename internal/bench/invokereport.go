package bench

import (
	"fmt"
	"io"
	"runtime"
	"strings"
	"time"
)

// invokeResult is one output row of "bench invoke".
type invokeResult struct {
	Type     string `json:"type"` // always "result"
	Endpoint string `json:"endpoint"`
	// Phase is warm, overhead or cold.
	Phase   string `json:"phase"`
	Family  string `json:"family"` // go, python, node
	Runtime string `json:"runtime"`

	Concurrency   int     `json:"concurrency"`
	Runs          int     `json:"runs"`
	Invokes       int64   `json:"invokes"`
	Seconds       float64 `json:"seconds"`
	InvokesPerSec float64 `json:"invokes_per_sec"`
	// P50ms and P99ms are invoke latencies (warm, cold) or the server's
	// overhead (overhead: latency minus the REPORT Duration).
	P50ms float64 `json:"p50_ms"`
	P99ms float64 `json:"p99_ms"`
	// InvokeP50ms and FunctionP50ms (overhead phase) are the median
	// latency and the median REPORT Duration; InitP50ms (cold phase) the
	// median Init Duration.
	InvokeP50ms   float64 `json:"invoke_p50_ms,omitempty"`
	FunctionP50ms float64 `json:"function_p50_ms,omitempty"`
	InitP50ms     float64 `json:"init_p50_ms,omitempty"`
	ClientCPU     float64 `json:"client_cpu_pct"`
	Errors        int64   `json:"errors"`
}

// summarizeInvoke folds the runs of a warm measurement into a row.
func summarizeInvoke(phase string, fn *benchFunction, conc int, samples []*sample) invokeResult {
	s := summarize(phase, 0, "", conc, samples)
	return invokeResult{
		Phase: phase, Family: fn.family, Runtime: fn.runtime, Concurrency: conc, Runs: s.Runs,
		Invokes: s.Ops, Seconds: s.Seconds, InvokesPerSec: s.OpsPerSec, P50ms: s.P50ms, P99ms: s.P99ms,
		ClientCPU: s.ClientCPU, Errors: s.Errors,
	}
}

// finish sets the rates and quantiles of a sequential phase.
func (r *invokeResult) finish(elapsed, cpu time.Duration, h *histogram) {
	r.Seconds = elapsed.Seconds()
	if r.Seconds > 0 {
		r.InvokesPerSec = float64(r.Invokes) / r.Seconds
		r.ClientCPU = 100 * cpu.Seconds() / r.Seconds
	}
	r.P50ms = ms(h.quantile(0.50))
	r.P99ms = ms(h.quantile(0.99))
}

// invokeEnv is the first line of --json output.
type invokeEnv struct {
	Type            string  `json:"type"` // always "env"
	Endpoint        string  `json:"endpoint"`
	Region          string  `json:"region"`
	NumCPU          int     `json:"nproc"`
	GOMAXPROCS      int     `json:"gomaxprocs"`
	GOOS            string  `json:"goos"`
	GOARCH          string  `json:"goarch"`
	GoVersion       string  `json:"go"`
	Runtimes        string  `json:"runtimes"`
	Concurrency     string  `json:"concurrency"`
	DurationS       float64 `json:"duration_s"`
	Runs            int     `json:"runs"`
	OverheadSamples int     `json:"overhead_samples"`
	ColdSamples     int     `json:"cold_samples"`
	MemoryMB        int     `json:"memory_mb"`
	Start           string  `json:"start"`
}

// target is a goal of docs/benchmarks.md and whether a run met it.
type target struct {
	Type     string  `json:"type"` // always "target"
	Name     string  `json:"name"`
	Goal     string  `json:"goal"`
	Measured float64 `json:"measured"`
	Unit     string  `json:"unit"`
	Met      bool    `json:"met"`
}

// invokeReporter prints "bench invoke" output as a table or JSON lines.
type invokeReporter struct {
	w            io.Writer
	json         bool
	endpoint     string
	tableStarted bool
}

const invokeTableFormat = "%-9s %-16s %5s %10s %9s %9s  %-36s %5s %7s\n"

func (p *invokeReporter) header(cfg invokeConfig) {
	info := invokeEnv{
		Type: "env", Endpoint: p.endpoint, Region: cfg.region,
		NumCPU: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0),
		GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, GoVersion: runtime.Version(),
		Runtimes: strings.Join(cfg.runtimes, ","), Concurrency: (*intList)(&cfg.concurrency).String(),
		DurationS: cfg.duration.Seconds(), Runs: cfg.runs,
		OverheadSamples: cfg.overheadSamples, ColdSamples: cfg.coldSamples, MemoryMB: cfg.memory,
		Start: time.Now().UTC().Format(time.RFC3339),
	}
	if p.json {
		(&reporter{w: p.w}).writeJSON(info)
		return
	}
	fmt.Fprintf(p.w, "sluice bench invoke: %s (region %s)\n", info.Endpoint, info.Region)
	fmt.Fprintf(p.w, "machine: nproc %d, GOMAXPROCS %d, %s/%s, %s\n", info.NumCPU, info.GOMAXPROCS, info.GOOS, info.GOARCH, info.GoVersion)
	fmt.Fprintf(p.w, "runtimes %s (no-op functions, %d MB); warm: concurrency %s, %s per measurement, %d run(s); overhead: %d sequential invokes; cold: %d starts\n",
		info.Runtimes, cfg.memory, info.Concurrency, cfg.duration, cfg.runs, cfg.overheadSamples, cfg.coldSamples)
	fmt.Fprintf(p.w, "warm/cold P50, P99: invoke latency seen by this client; overhead P50, P99: latency minus the REPORT line's Duration\n\n")
}

func (p *invokeReporter) result(res invokeResult) {
	res.Type, res.Endpoint = "result", p.endpoint
	if p.json {
		(&reporter{w: p.w}).writeJSON(res)
		return
	}
	if !p.tableStarted {
		fmt.Fprintf(p.w, invokeTableFormat, "PHASE", "RUNTIME", "CONC", "INVOKES/S", "P50", "P99", "DETAIL", "CPU%", "ERRORS")
		p.tableStarted = true
	}
	var detail string
	switch res.Phase {
	case "overhead":
		detail = "invoke p50 " + formatLatency(res.InvokeP50ms) + ", function p50 " + formatLatency(res.FunctionP50ms)
	case "cold":
		detail = "init duration p50 " + formatLatency(res.InitP50ms)
	}
	fmt.Fprintf(p.w, invokeTableFormat, res.Phase, res.Runtime, fmt.Sprint(res.Concurrency),
		fmt.Sprintf("%.1f", res.InvokesPerSec), formatLatency(res.P50ms), formatLatency(res.P99ms), detail,
		fmt.Sprintf("%.0f", res.ClientCPU), fmt.Sprint(res.Errors))
}

// targets compares the results with the goals sluice sets itself and
// prints the comparison.
func (p *invokeReporter) targets(results []invokeResult) {
	var ts []target
	bestGo := -1.0
	for _, r := range results {
		switch {
		case r.Phase == "overhead":
			ts = append(ts, target{Name: "server overhead on a warm invoke, p50 (" + r.Family + ")", Goal: "≤ 0.5 ms",
				Measured: r.P50ms, Unit: "ms", Met: r.P50ms <= 0.5})
		case r.Phase == "warm" && r.Family == "go":
			bestGo = max(bestGo, r.InvokesPerSec)
		case r.Phase == "cold" && r.Family == "go":
			ts = append(ts, target{Name: "cold start, p50 (Go)", Goal: "≤ 20 ms", Measured: r.P50ms, Unit: "ms", Met: r.P50ms <= 20})
		case r.Phase == "cold" && r.Family == "python":
			ts = append(ts, target{Name: "cold start, p50 (Python, no boto3)", Goal: "≤ 80 ms", Measured: r.P50ms, Unit: "ms", Met: r.P50ms <= 80})
		}
	}
	if bestGo >= 0 {
		ts = append(ts, target{Name: "Go no-op warm invokes/s (best concurrency)", Goal: "≥ 5,000/s", Measured: bestGo, Unit: "invokes/s", Met: bestGo >= 5000})
	}
	if len(ts) == 0 {
		return
	}
	if p.json {
		for _, t := range ts {
			t.Type = "target"
			(&reporter{w: p.w}).writeJSON(t)
		}
		return
	}
	fmt.Fprintf(p.w, "\ntargets (cold start: the whole cold invoke as the client sees it):\n")
	for _, t := range ts {
		measured := fmt.Sprintf("%.0f %s", t.Measured, t.Unit)
		if t.Unit == "ms" {
			measured = formatLatency(t.Measured)
		}
		verdict := "met"
		if !t.Met {
			verdict = "MISSED"
		}
		fmt.Fprintf(p.w, "  %-48s %-10s %10s  %s\n", t.Name, t.Goal, measured, verdict)
	}
}
