package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// "sluice bench events" measures S3 event notifications to functions on a
// sluice endpoint on this host. It creates two buckets and a function
// (Python by default) that, on each event, sends a UDP datagram with the
// object key and the time it started to this process; one bucket's
// notifications invoke it. Then:
//
//   - latency: at each --rates PUT/s (open loop, fixed intervals) for
//     --duration, the time from a PUT's 200 (as the client sees it) to the
//     function starting on its event, p50/p99/max. The function's clock is
//     this host's, so the bench must run where the server runs.
//   - throughput: closed-loop PUTs with --concurrency callers for
//     --duration, alternately into the bucket without and with
//     notifications (--runs times each); the median ops/s of each and
//     their ratio, the cost of having notifications on (the functions run
//     on the same machine, so their CPU is part of the cost).
//
// It prints the targets of docs/benchmarks.md next to the results.

// RunEvents runs "sluice bench events" with args, the arguments after
// "bench events".
func RunEvents(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseEventsConfig(args, os.Getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	r := &eventsRunner{cfg: cfg, stdout: stdout, stderr: stderr}
	return r.run(ctx)
}

// eventsConfig is the parsed command line of "bench events".
type eventsConfig struct {
	endpointFlags
	rates       []int
	duration    time.Duration
	warmup      time.Duration
	concurrency int
	runs        int
	size        int64
	runtime     string
	prefix      string
	timeout     time.Duration
	json        bool
	keep        bool
}

func parseEventsConfig(args []string, getenv func(string) string, stderr io.Writer) (eventsConfig, error) {
	var (
		cfg   eventsConfig
		rates = intList{100, 1000}
		size  = sizeValue(1 << 10)
	)
	fs := flag.NewFlagSet("sluice bench events", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: sluice bench events [flags]\n\n"+
			"Measures S3 event notifications on a sluice endpoint on this host: the time from\n"+
			"a PUT's 200 to the notified function starting (at fixed PUT rates), and the PUT\n"+
			"throughput with notifications on against off.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	cfg.register(fs, getenv, "sluice endpoint `URL` (on this host)")
	fs.Var(&rates, "rates", "comma-separated PUT `rates` (per second) of the latency phase")
	fs.DurationVar(&cfg.duration, "duration", 10*time.Second, "length of each measurement")
	fs.DurationVar(&cfg.warmup, "warmup", 3*time.Second, "PUTs at each rate before measuring (starts function instances)")
	fs.IntVar(&cfg.concurrency, "concurrency", 16, "concurrent PUT callers of the throughput phase (0 skips it)")
	fs.IntVar(&cfg.runs, "runs", 3, "throughput runs with and without notifications (medians are reported)")
	fs.Var(&size, "size", "object size")
	fs.StringVar(&cfg.runtime, "runtime", "python3.12", "runtime of the notified function: python3.x, nodejs*.x, or go (aws-lambda-go on provided.al2023, built with the go command)")
	fs.StringVar(&cfg.prefix, "prefix", "sluice-bench-events", "name prefix of the buckets and function created")
	fs.DurationVar(&cfg.timeout, "timeout", time.Minute, "per-request timeout")
	fs.BoolVar(&cfg.json, "json", false, "print one JSON object per result line instead of a table")
	fs.BoolVar(&cfg.keep, "keep", false, "keep the buckets and the function")
	if err := fs.Parse(args); err != nil {
		return eventsConfig{}, err
	}
	if fs.NArg() > 0 {
		return eventsConfig{}, fmt.Errorf("bench events: unexpected argument %q", fs.Arg(0))
	}
	if err := cfg.check("events"); err != nil {
		return eventsConfig{}, err
	}
	cfg.rates, cfg.size = rates, int64(size)
	switch {
	case cfg.duration <= 0 || cfg.runs < 1 || cfg.concurrency < 0 || cfg.warmup < 0:
		return eventsConfig{}, errors.New("bench events: --duration must be positive, --runs at least 1, --concurrency and --warmup not negative")
	case !strings.HasPrefix(cfg.runtime, "python3") && !strings.HasPrefix(cfg.runtime, "nodejs") && cfg.runtime != "go":
		return eventsConfig{}, fmt.Errorf("bench events: --runtime %q: want python3.x, nodejs*.x or go", cfg.runtime)
	}
	for _, r := range cfg.rates {
		if r <= 0 {
			return eventsConfig{}, fmt.Errorf("bench events: rate %d: want a positive number of PUTs per second", r)
		}
	}
	return cfg, nil
}

// The notified function reports "<key> <unix nanoseconds at start>" to
// BENCH_ADDR over UDP.
const (
	eventsPython = `import os, socket, time, urllib.parse
host, port = os.environ["BENCH_ADDR"].rsplit(":", 1)
addr = (host, int(port))
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

def handler(event, context):
    start = time.time_ns()
    for r in event.get("Records", []):
        key = urllib.parse.unquote_plus(r["s3"]["object"]["key"])
        sock.sendto(("%s %d" % (key, start)).encode(), addr)
`
	eventsNode = `const dgram = require('dgram');
const [host, port] = process.env.BENCH_ADDR.split(':');
const sock = dgram.createSocket('udp4');
exports.handler = async (event) => {
  const start = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));
  for (const r of event.Records || []) {
    const key = decodeURIComponent(r.s3.object.key.replace(/\+/g, ' '));
    await new Promise((ok) => sock.send(key + ' ' + start, Number(port), host, ok));
  }
};
`
	eventsGo = `package main

import (
	"context"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	conn, err := net.Dial("udp", os.Getenv("BENCH_ADDR"))
	if err != nil {
		panic(err)
	}
	lambda.Start(func(ctx context.Context, ev events.S3Event) error {
		start := time.Now().UnixNano()
		for _, r := range ev.Records {
			conn.Write([]byte(r.S3.Object.URLDecodedKey + " " + strconv.FormatInt(start, 10)))
		}
		return nil
	})
}
`
)

// eventsRunner carries the state of one "bench events".
type eventsRunner struct {
	cfg    eventsConfig
	stdout io.Writer
	stderr io.Writer

	lc        *lambda.Client
	s3c       *s3.Client
	on, off   string // buckets with and without notifications
	function  string
	listener  *net.UDPConn
	starts    sync.Map // key → function start (unix ns)
	putErrors atomic.Int64
}

// eventsResult is one line of the report.
type eventsResult struct {
	Phase string `json:"phase"`
	// Latency phase.
	Rate       int     `json:"rate,omitempty"`
	AchievedPS float64 `json:"achieved_per_s,omitempty"`
	Events     int     `json:"events,omitempty"`
	Missing    int     `json:"missing,omitempty"`
	P50ms      float64 `json:"p50_ms,omitempty"`
	P99ms      float64 `json:"p99_ms,omitempty"`
	Maxms      float64 `json:"max_ms,omitempty"`
	// Throughput phase.
	Concurrency int     `json:"concurrency,omitempty"`
	OffPS       float64 `json:"off_per_s,omitempty"`
	OnPS        float64 `json:"on_per_s,omitempty"`
	Ratio       float64 `json:"ratio,omitempty"`
	// Of the runs with notifications (medians): the share of their events
	// whose function started before the run's last PUT was answered, the
	// time from then to the last event's function start, and the PUTs
	// per second counted until that start (PUTs and their events done).
	// Events and Missing count those runs' events.
	DuringShare float64 `json:"during_share,omitempty"`
	LagS        float64 `json:"lag_s,omitempty"`
	DonePS      float64 `json:"done_per_s,omitempty"`
}

func (r *eventsRunner) run(ctx context.Context) (err error) {
	base := strings.TrimSuffix(r.cfg.endpoint.String(), "/")
	hc := &http.Client{Timeout: r.cfg.timeout}
	creds := credentials.NewStaticCredentialsProvider(r.cfg.accessKey, r.cfg.secretKey, "")
	r.lc = lambda.New(lambda.Options{Region: r.cfg.region, Credentials: creds, BaseEndpoint: aws.String(base), HTTPClient: hc, RetryMaxAttempts: 3})
	r.s3c = s3.New(s3.Options{Region: r.cfg.region, Credentials: creds, BaseEndpoint: aws.String(base), HTTPClient: hc, UsePathStyle: true, RetryMaxAttempts: 3})

	r.listener, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return err
	}
	r.listener.SetReadBuffer(8 << 20)
	defer r.listener.Close()
	go r.receive()

	suffix := strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
	r.on, r.off, r.function = r.cfg.prefix+"-on-"+suffix, r.cfg.prefix+"-off-"+suffix, r.cfg.prefix+"-"+suffix
	defer func() {
		if cerr := r.cleanup(); err == nil {
			err = cerr
		}
	}()
	if err := r.setup(ctx); err != nil {
		return err
	}
	r.header()
	var results []eventsResult
	for _, rate := range r.cfg.rates {
		res, err := r.latency(ctx, rate)
		if err != nil {
			return err
		}
		results = append(results, res)
		r.report(res)
	}
	if r.cfg.concurrency > 0 {
		res, err := r.throughput(ctx)
		if err != nil {
			return err
		}
		results = append(results, res)
		r.report(res)
	}
	r.targets(results)
	if !r.cfg.json {
		fmt.Fprintf(r.stdout, "\nat the end%s\n", loadAverage())
	}
	if n := r.putErrors.Load(); n > 0 {
		return fmt.Errorf("bench events: %d PUTs failed", n)
	}
	return nil
}

// receive records the function starts reported over UDP.
func (r *eventsRunner) receive() {
	buf := make([]byte, 2048)
	for {
		n, err := r.listener.Read(buf)
		if err != nil {
			return
		}
		key, ns, ok := strings.Cut(string(buf[:n]), " ")
		t, err := strconv.ParseInt(ns, 10, 64)
		if ok && err == nil {
			r.starts.LoadOrStore(key, t)
		}
	}
}

// setup creates the buckets and the function and connects them.
func (r *eventsRunner) setup(ctx context.Context) error {
	for _, b := range []string{r.on, r.off} {
		if _, err := r.s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			return fmt.Errorf("bench events: creating bucket %s: %w", b, err)
		}
	}
	files, handler, rt := map[string]string{"app.py": eventsPython}, "app.handler", r.cfg.runtime
	switch {
	case strings.HasPrefix(rt, "nodejs"):
		files, handler = map[string]string{"index.js": eventsNode}, "index.handler"
	case rt == "go":
		bin, err := buildGoFunction(ctx, eventsGo)
		if err != nil {
			return err
		}
		files, handler, rt = map[string]string{"bootstrap": string(bin)}, "bootstrap", "provided.al2023"
	}
	code, err := zipFiles(files)
	if err != nil {
		return err
	}
	out, err := r.lc.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String(r.function), Runtime: ltypes.Runtime(rt), Handler: aws.String(handler),
		Role: aws.String("arn:aws:iam::000000000000:role/sluice-bench"), Timeout: aws.Int32(30),
		Code:        &ltypes.FunctionCode{ZipFile: code},
		Environment: &ltypes.Environment{Variables: map[string]string{"BENCH_ADDR": r.listener.LocalAddr().String()}},
	})
	if err != nil {
		return fmt.Errorf("bench events: creating the function: %w", err)
	}
	if _, err := r.lc.AddPermission(ctx, &lambda.AddPermissionInput{
		FunctionName: aws.String(r.function), StatementId: aws.String("s3"), Action: aws.String("lambda:InvokeFunction"),
		Principal: aws.String("s3.amazonaws.com"), SourceArn: aws.String("arn:aws:s3:::" + r.on),
	}); err != nil {
		return fmt.Errorf("bench events: AddPermission: %w", err)
	}
	if _, err := r.s3c.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{
		Bucket: aws.String(r.on),
		NotificationConfiguration: &s3types.NotificationConfiguration{LambdaFunctionConfigurations: []s3types.LambdaFunctionConfiguration{{
			Id: aws.String("bench"), LambdaFunctionArn: out.FunctionArn, Events: []s3types.Event{s3types.EventS3ObjectCreated},
		}}},
	}); err != nil {
		return fmt.Errorf("bench events: PutBucketNotificationConfiguration: %w", err)
	}
	return nil
}

func (r *eventsRunner) client(bucket string, conns int) *client {
	return newClient(config{endpoint: r.cfg.endpoint, accessKey: r.cfg.accessKey, secretKey: r.cfg.secretKey,
		region: r.cfg.region, bucket: bucket, timeout: r.cfg.timeout}, conns)
}

// buildGoFunction builds a function's main package (aws-lambda-go, the
// version bench invoke pins) with the go command.
func buildGoFunction(ctx context.Context, main string) ([]byte, error) {
	dir, err := os.MkdirTemp("", "sluice-bench-events-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	for name, body := range map[string]string{"main.go": main, "go.mod": goNoopModule, "go.sum": goNoopSum} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			return nil, err
		}
	}
	path := filepath.Join(dir, "bootstrap")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", path, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=mod")
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("bench events: building the Go function: %v\n%s", err, out)
	}
	return os.ReadFile(path)
}

// latency PUTs at a fixed rate into the notified bucket: a warm-up, then
// the measurement, and waits for the functions to report.
func (r *eventsRunner) latency(ctx context.Context, rate int) (eventsResult, error) {
	c := r.client(r.on, 256)
	defer c.close()
	body := bytes.Repeat([]byte{'e'}, int(r.cfg.size))
	newBody := func() io.Reader { return bytes.NewReader(body) }
	run := func(prefix string, d time.Duration) (map[string]int64, float64) {
		n := int(d.Seconds() * float64(rate))
		acks := make(map[string]int64, n)
		var mu sync.Mutex
		sem := make(chan struct{}, 256)
		var wg sync.WaitGroup
		interval := time.Second / time.Duration(rate)
		start := time.Now()
		for i := range n {
			if ctx.Err() != nil {
				break
			}
			if wait := time.Until(start.Add(time.Duration(i) * interval)); wait > 0 {
				time.Sleep(wait)
			}
			sem <- struct{}{}
			key := fmt.Sprintf("%s/%d/%07d", prefix, rate, i)
			wg.Go(func() {
				defer func() { <-sem }()
				if err := c.put(ctx, key, int64(len(body)), newBody); err != nil {
					if r.putErrors.Add(1) <= 5 {
						fmt.Fprintf(r.stderr, "bench events: PUT %s: %v\n", key, err)
					}
					return
				}
				t := time.Now().UnixNano()
				mu.Lock()
				acks[key] = t
				mu.Unlock()
			})
		}
		wg.Wait()
		return acks, float64(n) / time.Since(start).Seconds()
	}
	if r.cfg.warmup > 0 {
		warm, _ := run("warmup", r.cfg.warmup)
		r.await(warm, 30*time.Second)
	}
	acks, achieved := run("measure", r.cfg.duration)
	missing := r.await(acks, 30*time.Second)
	// A function can start before the client has read its 200: such a
	// latency is negative, and kept so.
	var lat []time.Duration
	for key, ack := range acks {
		if v, ok := r.starts.Load(key); ok {
			lat = append(lat, time.Duration(v.(int64)-ack))
		}
	}
	slices.Sort(lat)
	res := eventsResult{Phase: "latency", Rate: rate, AchievedPS: achieved, Events: len(lat), Missing: missing}
	if len(lat) > 0 {
		res.P50ms, res.P99ms, res.Maxms = ms(quantile(lat, 0.5)), ms(quantile(lat, 0.99)), ms(lat[len(lat)-1])
	}
	return res, ctx.Err()
}

func quantile(sorted []time.Duration, q float64) time.Duration {
	i := int(float64(len(sorted))*q+0.999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// await waits up to limit for the functions to report every key of acks
// and returns how many never did.
func (r *eventsRunner) await(acks map[string]int64, limit time.Duration) int {
	deadline := time.Now().Add(limit)
	for {
		missing := 0
		for key := range acks {
			if _, ok := r.starts.Load(key); !ok {
				missing++
			}
		}
		if missing == 0 || time.Now().After(deadline) {
			return missing
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// throughput measures closed-loop PUT ops/s into the buckets without and
// with notifications, alternating.
func (r *eventsRunner) throughput(ctx context.Context) (eventsResult, error) {
	body := bytes.Repeat([]byte{'t'}, int(r.cfg.size))
	newBody := func() io.Reader { return bytes.NewReader(body) }
	// measureOne runs one closed loop of PUTs into bucket and returns
	// its rate, the keys it wrote and when it started and ended.
	measureOne := func(bucket string, run int) (float64, []string, time.Time, time.Time) {
		c := r.client(bucket, r.cfg.concurrency)
		defer c.close()
		var n atomic.Int64
		deadline := time.Now().Add(r.cfg.duration)
		start := time.Now()
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			keys []string
		)
		for w := range r.cfg.concurrency {
			wg.Go(func() {
				var mine []string
				for i := 0; time.Now().Before(deadline) && ctx.Err() == nil; i++ {
					key := fmt.Sprintf("tput/%d/%d/%d", run, w, i)
					if err := c.put(ctx, key, int64(len(body)), newBody); err != nil {
						if r.putErrors.Add(1) <= 5 {
							fmt.Fprintf(r.stderr, "bench events: PUT %s: %v\n", key, err)
						}
						continue
					}
					n.Add(1)
					mine = append(mine, key)
				}
				mu.Lock()
				keys = append(keys, mine...)
				mu.Unlock()
			})
		}
		wg.Wait()
		end := time.Now()
		return float64(n.Load()) / end.Sub(start).Seconds(), keys, start, end
	}
	var off, on, during, lag, done []float64
	res := eventsResult{Phase: "throughput", Concurrency: r.cfg.concurrency}
	for i := range r.cfg.runs {
		ps, _, _, _ := measureOne(r.off, i)
		off = append(off, ps)
		ps, keys, start, end := measureOne(r.on, i)
		on = append(on, ps)
		// Wait for the notified PUTs' events (before the next run, too),
		// and see when they ran: during the burst, or after it.
		acks := make(map[string]int64, len(keys))
		for _, k := range keys {
			acks[k] = 0
		}
		res.Events += len(keys)
		res.Missing += r.await(acks, 2*time.Minute)
		var last time.Time
		early := 0
		for _, k := range keys {
			v, ok := r.starts.Load(k)
			if !ok {
				continue
			}
			t := time.Unix(0, v.(int64))
			if t.Before(end) {
				early++
			}
			if t.After(last) {
				last = t
			}
		}
		if len(keys) > 0 && !last.IsZero() {
			during = append(during, float64(early)/float64(len(keys)))
			lag = append(lag, max(last.Sub(end), 0).Seconds())
			finish := end
			if last.After(end) {
				finish = last
			}
			done = append(done, float64(len(keys))/finish.Sub(start).Seconds())
		}
		r.drain(ctx, 60*time.Second)
	}
	res.OffPS, res.OnPS = median(off), median(on)
	if res.OffPS > 0 {
		res.Ratio = res.OnPS / res.OffPS
	}
	if len(during) > 0 {
		res.DuringShare, res.LagS, res.DonePS = median(during), median(lag), median(done)
	}
	return res, ctx.Err()
}

// drain waits until the function stops reporting new starts (the backlog
// of events is delivered) or limit passes.
func (r *eventsRunner) drain(ctx context.Context, limit time.Duration) {
	count := func() int {
		n := 0
		r.starts.Range(func(any, any) bool { n++; return true })
		return n
	}
	deadline := time.Now().Add(limit)
	last := count()
	for time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(500 * time.Millisecond)
		n := count()
		if n == last {
			return
		}
		last = n
	}
}

func (r *eventsRunner) header() {
	if r.cfg.json {
		return
	}
	fmt.Fprintf(r.stdout, "sluice bench events — %s, %s/%s, %d CPUs, function %s, objects %s%s\n\n",
		r.cfg.endpoint, runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), r.cfg.runtime, formatSize(r.cfg.size), loadAverage())
}

// loadAverage is ", load average A B C" from /proc/loadavg, or "" where
// there is none: results on a shared machine need it beside them.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return ", load average " + strings.Join(f[:3], " ")
}

func (r *eventsRunner) report(res eventsResult) {
	if r.cfg.json {
		b, _ := json.Marshal(res)
		fmt.Fprintf(r.stdout, "%s\n", b)
		return
	}
	tw := tabwriter.NewWriter(r.stdout, 0, 4, 2, ' ', 0)
	switch res.Phase {
	case "latency":
		fmt.Fprintf(tw, "PUT→function start\t%d PUT/s (achieved %.0f)\tevents %d\tmissing %d\tp50 %s\tp99 %s\tmax %s\n",
			res.Rate, res.AchievedPS, res.Events, res.Missing, formatLatency(res.P50ms), formatLatency(res.P99ms), formatLatency(res.Maxms))
	case "throughput":
		fmt.Fprintf(tw, "PUT throughput\t%d callers\twithout notifications %.0f/s\twith %.0f/s\tratio %.1f%%\n",
			res.Concurrency, res.OffPS, res.OnPS, 100*res.Ratio)
		fmt.Fprintf(tw, "their events\t%d\tmissing %d\tstarted during the PUTs %.0f%%\tlast %.1fs after them\tPUTs with events done %.0f/s\n",
			res.Events, res.Missing, 100*res.DuringShare, res.LagS, res.DonePS)
	}
	tw.Flush()
}

// targets prints docs/benchmarks.md's targets next to the results.
func (r *eventsRunner) targets(results []eventsResult) {
	if r.cfg.json {
		return
	}
	fmt.Fprintln(r.stdout, "\ntargets (docs/benchmarks.md): p50 ≤ 2 ms, p99 ≤ 20 ms; PUT/s with notifications ≥ 90% of without")
	for _, res := range results {
		switch res.Phase {
		case "latency":
			fmt.Fprintf(r.stdout, "  %5d PUT/s: p50 %s %s, p99 %s %s\n", res.Rate,
				formatLatency(res.P50ms), verdict(res.P50ms <= 2), formatLatency(res.P99ms), verdict(res.P99ms <= 20 && res.Missing == 0))
		case "throughput":
			fmt.Fprintf(r.stdout, "  throughput ratio %.1f%% %s\n", 100*res.Ratio, verdict(res.Ratio >= 0.9))
		}
	}
}

func verdict(ok bool) string {
	if ok {
		return "(met)"
	}
	return "(MISSED)"
}

// cleanup removes what setup created, unless --keep.
func (r *eventsRunner) cleanup() error {
	if r.cfg.keep {
		fmt.Fprintf(r.stderr, "kept buckets %s, %s and function %s\n", r.on, r.off, r.function)
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var first error
	note := func(err error) {
		if err != nil && first == nil {
			first = err
		}
	}
	// Turn notifications off first, so that deleting objects emits nothing.
	if _, err := r.s3c.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{
		Bucket: aws.String(r.on), NotificationConfiguration: &s3types.NotificationConfiguration{}}); err != nil {
		var nsb *s3types.NoSuchBucket
		if !errors.As(err, &nsb) {
			note(err)
		}
	}
	for _, b := range []string{r.on, r.off} {
		note(emptyAndDelete(ctx, r.s3c, b))
	}
	if _, err := r.lc.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String(r.function)}); err != nil {
		var nf *ltypes.ResourceNotFoundException
		if !errors.As(err, &nf) {
			note(err)
		}
	}
	return first
}

// emptyAndDelete deletes every object of a bucket, then the bucket.
func emptyAndDelete(ctx context.Context, c *s3.Client, bucket string) error {
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			var nsb *s3types.NoSuchBucket
			if errors.As(err, &nsb) {
				return nil
			}
			return err
		}
		if len(page.Contents) == 0 {
			break
		}
		ids := make([]s3types.ObjectIdentifier, 0, len(page.Contents))
		for _, o := range page.Contents {
			ids = append(ids, s3types.ObjectIdentifier{Key: o.Key})
		}
		if _, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(bucket), Delete: &s3types.Delete{Objects: ids, Quiet: aws.Bool(true)}}); err != nil {
			return err
		}
	}
	_, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(bucket)})
	return err
}
