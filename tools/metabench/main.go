// Command metabench measures candidate embedded metadata engines for sluice
// (bbolt, pebble, SQLite via modernc.org/sqlite and mattn/go-sqlite3, badger)
// under an S3-like metadata workload: durable read-modify-write commits under
// concurrency, point reads, and ListObjectsV2-style range scans over a
// million realistic keys. It prints a Markdown report.
//
// It lives in its own module so the candidates never become dependencies of
// the sluice binary. See README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "metabench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("metabench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		dir       = fs.String("dir", os.TempDir(), "parent `directory` for the databases (each run uses a fresh subdirectory, removed afterwards)")
		names     = fs.String("engines", "", "comma-separated engines to run (default: all compiled in except tuning variants such as bbolt-fill90)")
		reps      = fs.Int("reps", 3, "repetitions of every measurement; medians are reported")
		keys      = fs.Int("keys", 1_000_000, "objects loaded for the read and list measurements")
		loadBatch = fs.Int("load-batch", 10_000, "objects per load transaction")
		loadOrder = fs.String("load-order", "time", "load order: time (month by month, hosts interleaved) or random")
		commitDur = fs.Duration("commit-dur", 1500*time.Millisecond, "duration of each commit measurement")
		readDur   = fs.Duration("read-dur", 2*time.Second, "duration of the point-read measurement")
		conc      = fs.String("conc", "1,16,64", "comma-separated committer goroutine counts")
		bodies    = fs.String("bodies", "0,4096", "comma-separated inline body sizes written by commits")
		readers   = fs.Int("readers", 16, "point-read goroutines")
		listOps   = fs.Int("list-ops", 300, "list and delimiter pages measured per run")
		pageSize  = fs.Int("page", 1000, "keys per list page")
		delimPage = fs.Int("delim-page", 100, "common prefixes per delimiter page")
		binSize   = fs.Bool("binsize", true, "build the program once per engine to report binary size (needs the go tool)")
		src       = fs.String("src", ".", "module `directory` of metabench, for -binsize")
		out       = fs.String("out", "", "also write the Markdown report to this `file`")
	)
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg := config{
		keys: *keys, loadBatch: *loadBatch, loadOrder: *loadOrder,
		commitDur: *commitDur, readDur: *readDur, readers: *readers,
		listOps: *listOps, pageSize: *pageSize, delimPage: *delimPage,
	}
	var err error
	if cfg.conc, err = parseInts(*conc); err != nil {
		return fmt.Errorf("-conc: %w", err)
	}
	if cfg.bodies, err = parseInts(*bodies); err != nil {
		return fmt.Errorf("-bodies: %w", err)
	}
	if cfg.loadOrder != "time" && cfg.loadOrder != "random" {
		return fmt.Errorf("-load-order: want time or random, got %q", cfg.loadOrder)
	}
	if cfg.keys < 1 || cfg.loadBatch < 1 || *reps < 1 {
		return errors.New("-keys, -load-batch and -reps must be positive")
	}
	var selected []engine
	if *names == "" {
		for _, e := range engines {
			if !e.optIn {
				selected = append(selected, e)
			}
		}
	} else {
		for _, n := range strings.Split(*names, ",") {
			e, err := lookupEngine(strings.TrimSpace(n))
			if err != nil {
				return err
			}
			selected = append(selected, e)
		}
	}
	if len(selected) == 0 {
		return errors.New("no engines compiled in")
	}

	began := time.Now()
	loadStart := loadAverage()
	logf := func(format string, args ...any) {
		fmt.Fprintf(stderr, "[%6.1fs] "+format+"\n", append([]any{time.Since(began).Seconds()}, args...)...)
	}
	fsync, err := fsyncLatency(*dir, 500)
	if err != nil {
		return fmt.Errorf("fsync probe: %w", err)
	}
	logf("fsync (4 KiB write + fdatasync) p50 %v p99 %v", fsync.percentile(0.5), fsync.percentile(0.99))

	res := newResults()
	b := newBench(cfg, res, logf)
	// Repetitions are the outer loop so slow drift of the machine (other
	// tenants, page cache, SSD state) spreads over all engines alike.
	for rep := range *reps {
		for _, e := range selected {
			logf("rep %d/%d: %s", rep+1, *reps, e.name)
			if err := b.runEngine(ctx, e, *dir); err != nil {
				return err
			}
		}
	}
	var sizes []binaryReport
	if *binSize {
		logf("building one binary per engine for size")
		if sizes, err = measureBinaries(ctx, *src); err != nil {
			return fmt.Errorf("binary size: %w", err)
		}
	}
	rep := report{
		args:    args,
		cfg:     cfg,
		reps:    *reps,
		engines: selected,
		res:     res,
		fsync:   fsync,
		sizes:   sizes,
		elapsed: time.Since(began),
		load:    [2]string{loadStart, loadAverage()},
	}
	var sb strings.Builder
	rep.write(&sb)
	if _, err := io.WriteString(stdout, sb.String()); err != nil {
		return err
	}
	if *out != "" {
		return os.WriteFile(*out, []byte(sb.String()), 0o644)
	}
	return nil
}

// loadAverage returns the 1-, 5- and 15-minute load averages, to show
// whether other work shared the machine.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func parseInts(s string) ([]int, error) {
	var xs []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, err
		}
		if n < 0 {
			return nil, fmt.Errorf("negative value %d", n)
		}
		xs = append(xs, n)
	}
	return xs, nil
}
