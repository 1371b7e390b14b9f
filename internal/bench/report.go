package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"time"
)

// result is one output row: one phase at one size and concurrency,
// summarised over its runs. With --json it is printed as one JSON object.
type result struct {
	Type        string  `json:"type"` // always "result"
	Target      string  `json:"target"`
	Endpoint    string  `json:"endpoint"`
	Op          string  `json:"op"`
	SizeBytes   int64   `json:"size_bytes"`
	Size        string  `json:"size"`
	Keys        int     `json:"keys,omitempty"`
	Concurrency int     `json:"concurrency"`
	Runs        int     `json:"runs"`
	Ops         int64   `json:"ops"`
	Seconds     float64 `json:"seconds"`
	OpsPerSec   float64 `json:"ops_per_sec"`
	MBPerSec    float64 `json:"mb_per_sec"`
	P50ms       float64 `json:"p50_ms"`
	P99ms       float64 `json:"p99_ms"`
	ClientCPU   float64 `json:"client_cpu_pct"`
	// ServerRSSMiB and ServerCPU are the target server's peak RSS and CPU
	// (percent of one core), when its process is known.
	ServerRSSMiB  float64 `json:"server_peak_rss_mib,omitempty"`
	ServerAnonMiB float64 `json:"server_peak_anon_mib,omitempty"`
	ServerCPU     float64 `json:"server_cpu_pct,omitempty"`
	Errors        int64   `json:"errors"`
}

// envInfo is the first line of --json output: where and how it ran.
type envInfo struct {
	Type       string  `json:"type"` // always "env"
	Endpoint   string  `json:"endpoint"`
	Bucket     string  `json:"bucket"`
	Region     string  `json:"region"`
	NumCPU     int     `json:"nproc"`
	GOMAXPROCS int     `json:"gomaxprocs"`
	GOOS       string  `json:"goos"`
	GOARCH     string  `json:"goarch"`
	GoVersion  string  `json:"go"`
	Ops        string  `json:"ops"`
	DurationS  float64 `json:"duration_s"`
	Runs       int     `json:"runs"`
	Start      string  `json:"start"`
}

// summarize folds the runs of one measurement into a row. Rates and
// latencies are the medians over the runs; op and error counts are totals.
func summarize(op string, size int64, label string, conc int, samples []*sample) result {
	res := result{
		Type:        "result",
		Op:          op,
		SizeBytes:   size,
		Size:        label,
		Concurrency: conc,
		Runs:        len(samples),
	}
	var opsPerSec, mbPerSec, p50, p99, cpu, srvRSS, srvAnon, srvCPU []float64
	for _, s := range samples {
		secs := s.elapsed.Seconds()
		res.Ops += s.ops
		res.Errors += s.errors
		res.Seconds += secs
		if secs <= 0 {
			continue
		}
		opsPerSec = append(opsPerSec, float64(s.ops)/secs)
		mbPerSec = append(mbPerSec, float64(s.bytes)/secs/1e6)
		p50 = append(p50, ms(s.hist.quantile(0.50)))
		p99 = append(p99, ms(s.hist.quantile(0.99)))
		cpu = append(cpu, 100*s.cpu.Seconds()/secs)
		if s.server != nil {
			srvRSS = append(srvRSS, float64(s.server.peakRSS)/(1<<20))
			srvAnon = append(srvAnon, float64(s.server.peakAnon)/(1<<20))
			srvCPU = append(srvCPU, 100*s.server.cpu.Seconds()/secs)
		}
	}
	res.OpsPerSec = median(opsPerSec)
	res.MBPerSec = median(mbPerSec)
	res.P50ms = median(p50)
	res.P99ms = median(p99)
	res.ClientCPU = median(cpu)
	res.ServerRSSMiB = median(srvRSS)
	res.ServerAnonMiB = median(srvAnon)
	res.ServerCPU = median(srvCPU)
	return res
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	v = slices.Clone(v)
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// reporter prints the header and result rows as a table or as JSON lines,
// and keeps the rows for the comparison of targets.
type reporter struct {
	w    io.Writer
	json bool
	// targets shows a TARGET column (several targets); server shows the
	// server RSS and CPU columns (a server process is known).
	targets, server bool
	// tableStarted records whether the column headings have been printed.
	tableStarted bool
	results      []result
}

const (
	tableFormat  = "%-10s %10s %5s %11s %9s %9s %9s %5s %7s"
	targetFormat = "%-10s "
	serverFormat = " %8s %9s %7s"
)

func (p *reporter) header(cfg config) {
	endpoint := cfg.endpoint.String()
	if cfg.peer != nil {
		endpoint = cfg.name + " " + endpoint + ", " + cfg.peer.name + " " + cfg.peer.endpoint.String()
	}
	info := envInfo{
		Type:       "env",
		Endpoint:   endpoint,
		Bucket:     cfg.bucket,
		Region:     cfg.region,
		NumCPU:     runtime.NumCPU(),
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		GOOS:       runtime.GOOS,
		GOARCH:     runtime.GOARCH,
		GoVersion:  runtime.Version(),
		Ops:        (*opList)(&cfg.ops).String(),
		DurationS:  cfg.duration.Seconds(),
		Runs:       cfg.runs,
		Start:      time.Now().UTC().Format(time.RFC3339),
	}
	if p.json {
		p.writeJSON(info)
		return
	}
	fmt.Fprintf(p.w, "sluice bench s3: %s (bucket %s, region %s)\n", info.Endpoint, info.Bucket, info.Region)
	fmt.Fprintf(p.w, "machine: nproc %d, GOMAXPROCS %d, %s/%s, %s\n", info.NumCPU, info.GOMAXPROCS, info.GOOS, info.GOARCH, info.GoVersion)
	var plan []string
	if cfg.ops.put || cfg.ops.get {
		plan = append(plan, fmt.Sprintf("sizes %s, concurrency %s, %s per measurement, %d run(s)",
			(*sizeList)(&cfg.sizes).String(), (*intList)(&cfg.concurrency).String(), cfg.duration, cfg.runs))
	}
	if cfg.ops.large {
		if cfg.largeConcurrency > 1 {
			plan = append(plan, fmt.Sprintf("large %d x %d x %s, %d at once", cfg.largeCount, cfg.largeConcurrency, formatSize(cfg.largeSize), cfg.largeConcurrency))
		} else {
			plan = append(plan, fmt.Sprintf("large %d x %s", cfg.largeCount, formatSize(cfg.largeSize)))
		}
		if cfg.largePartSize > 0 {
			plan = append(plan, fmt.Sprintf("then multipart/ranged in %s parts, %d in flight", formatSize(cfg.largePartSize), cfg.largePartConcurrency))
		}
	}
	if cfg.ops.list {
		plan = append(plan, fmt.Sprintf("list %d samples over %d keys", cfg.listSamples, cfg.listKeys))
	}
	fmt.Fprintf(p.w, "ops: %s; %s\n", info.Ops, strings.Join(plan, "; "))
	if cfg.diskDir != "" {
		fmt.Fprintf(p.w, "disk baseline: %d x %s written to %s with fsync, then read back\n", cfg.largeCount, formatSize(cfg.largeSize), cfg.diskDir)
	}
	fmt.Fprintf(p.w, "MB/s is 10^6 bytes/s; latencies are per request, full body included; CPU%% is this client's, of one core\n")
	if p.server {
		fmt.Fprintf(p.w, "SRV-RSS is the server's peak resident set during the measurement, SRV-ANON the part of it not\n"+
			"backed by files (heap, stacks; not a memory-mapped database); SRV-CPU%% its CPU, of one core\n")
	}
	fmt.Fprintln(p.w)
}

func (p *reporter) result(res result) {
	p.results = append(p.results, res)
	if p.json {
		p.writeJSON(res)
		return
	}
	if !p.tableStarted {
		p.row("TARGET", "OP", "SIZE", "CONC", "OPS/S", "MB/S", "P50", "P99", "CPU%", "ERRORS", "SRV-RSS", "SRV-ANON", "SRV-CPU%")
		p.tableStarted = true
	}
	mbps := "-"
	if res.SizeBytes > 0 {
		mbps = fmt.Sprintf("%.1f", res.MBPerSec)
	}
	rss, anon, srvCPU := "-", "-", "-"
	if res.ServerRSSMiB > 0 {
		rss, anon, srvCPU = fmt.Sprintf("%.0fMiB", res.ServerRSSMiB), fmt.Sprintf("%.0fMiB", res.ServerAnonMiB), fmt.Sprintf("%.0f", res.ServerCPU)
	}
	p.row(res.Target, res.Op, res.Size, fmt.Sprint(res.Concurrency),
		fmt.Sprintf("%.1f", res.OpsPerSec), mbps, formatLatency(res.P50ms), formatLatency(res.P99ms),
		fmt.Sprintf("%.0f", res.ClientCPU), fmt.Sprint(res.Errors), rss, anon, srvCPU)
}

// row prints one table line; the target and server columns only when the
// run has them.
func (p *reporter) row(target, op, size, conc, ops, mbps, p50, p99, cpu, errs, rss, anon, srvCPU string) {
	if p.targets {
		fmt.Fprintf(p.w, targetFormat, target)
	}
	fmt.Fprintf(p.w, tableFormat, op, size, conc, ops, mbps, p50, p99, cpu, errs)
	if p.server {
		fmt.Fprintf(p.w, serverFormat, rss, anon, srvCPU)
	}
	fmt.Fprintln(p.w)
}

func (p *reporter) writeJSON(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // plain structs of numbers and strings always marshal
	}
	b = append(b, '\n')
	_, _ = p.w.Write(b)
}

// formatLatency renders milliseconds with three significant digits.
func formatLatency(ms float64) string {
	switch {
	case ms <= 0:
		return "-"
	case ms < 1:
		return fmt.Sprintf("%.0fµs", ms*1000)
	case ms < 10:
		return fmt.Sprintf("%.2fms", ms)
	case ms < 100:
		return fmt.Sprintf("%.1fms", ms)
	case ms < 1000:
		return fmt.Sprintf("%.0fms", ms)
	default:
		return fmt.Sprintf("%.2fs", ms/1000)
	}
}
