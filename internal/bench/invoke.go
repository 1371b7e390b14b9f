package bench

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// "sluice bench invoke" measures a Lambda-compatible endpoint's function
// invocations. For each runtime it creates a no-op function (Go built with
// aws-lambda-go, Python, Node.js), then measures:
//
//   - warm: synchronous invokes/s and p50/p99 latency at each --concurrency
//     (median of --runs runs of --duration each);
//   - overhead: --overhead-samples invokes one at a time with LogType Tail;
//     each one's latency minus the function's own Duration from its REPORT
//     line is the server's overhead (HTTP, authentication, resolving the
//     function, dispatch through the Runtime API and back);
//   - cold: --cold-samples invokes, each after UpdateFunctionConfiguration
//     (a new environment variable) has made every instance stale, so each
//     starts a new one; the latency is the whole cold invoke and the
//     detail its REPORT line's Init Duration.
//
// It then prints the targets of docs/benchmarks.md next to the results.

// RunInvoke runs "sluice bench invoke" with args, the command-line
// arguments that follow "bench invoke". It returns an error if the flags
// are invalid, the functions cannot be created or any invocation failed.
// "-h" prints the usage to stderr and returns nil.
func RunInvoke(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runInvoke(ctx, args, os.Getenv, stdout, stderr)
}

func runInvoke(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseInvokeConfig(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	r := newInvokeRunner(cfg, stdout, stderr)
	defer r.close()
	return r.run(ctx)
}

// invokeConfig is the parsed command line of "bench invoke".
type invokeConfig struct {
	endpointFlags

	runtimes        []string // families: go, python, node
	pythonRuntime   string
	nodeRuntime     string
	goBootstrap     string
	memory          int
	concurrency     []int
	duration        time.Duration
	runs            int
	overheadSamples int
	coldSamples     int
	prefix          string

	timeout time.Duration
	json    bool
	keep    bool
}

func parseInvokeConfig(args []string, getenv func(string) string, stderr io.Writer) (invokeConfig, error) {
	var (
		cfg  invokeConfig
		rts  = "go,python,node"
		conc = intList{1, 16, 64}
	)
	fs := flag.NewFlagSet("sluice bench invoke", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: sluice bench invoke [flags]\n\n"+
			"Measures function invocations on a Lambda-compatible endpoint: warm invokes/s\n"+
			"and latency, the server's overhead per invoke, and cold starts, for no-op\n"+
			"functions in Go (aws-lambda-go), Python and Node.js.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	cfg.register(fs, getenv, "Lambda endpoint `URL`")
	fs.StringVar(&rts, "runtimes", rts, "comma-separated runtimes to measure: go, python, node")
	fs.StringVar(&cfg.pythonRuntime, "python-runtime", "python3.12", "runtime of the Python function")
	fs.StringVar(&cfg.nodeRuntime, "node-runtime", "nodejs20.x", "runtime of the Node.js function")
	fs.StringVar(&cfg.goBootstrap, "go-bootstrap", "", "prebuilt aws-lambda-go no-op `binary` for the Go function (default: build one with the go command)")
	fs.IntVar(&cfg.memory, "memory", 128, "MemorySize of the functions, in MB")
	fs.Var(&conc, "concurrency", "comma-separated `list` of concurrent callers for the warm phase")
	fs.DurationVar(&cfg.duration, "duration", 10*time.Second, "length of each warm measurement")
	fs.IntVar(&cfg.runs, "runs", 1, "repeat each warm measurement this many times and report medians")
	fs.IntVar(&cfg.overheadSamples, "overhead-samples", 1000, "sequential invokes with LogType Tail for the overhead phase (0 skips it)")
	fs.IntVar(&cfg.coldSamples, "cold-samples", 20, "cold starts to time per runtime (0 skips the cold phase)")
	fs.StringVar(&cfg.prefix, "prefix", "sluice-bench-", "name prefix of the functions created")
	fs.DurationVar(&cfg.timeout, "timeout", time.Minute, "per-request timeout")
	fs.BoolVar(&cfg.json, "json", false, "print one JSON object per line instead of a table")
	fs.BoolVar(&cfg.keep, "keep", false, "keep the functions")
	if err := fs.Parse(args); err != nil {
		return invokeConfig{}, err
	}
	if fs.NArg() > 0 {
		return invokeConfig{}, fmt.Errorf("bench invoke: unexpected argument %q", fs.Arg(0))
	}
	if err := cfg.check("invoke"); err != nil {
		return invokeConfig{}, err
	}
	cfg.concurrency = conc
	seen := map[string]bool{}
	for _, rt := range splitList(rts) {
		rt = strings.ToLower(rt)
		switch rt {
		case "go", "python", "node":
		default:
			return invokeConfig{}, fmt.Errorf("bench invoke: unknown runtime %q (want go, python, node)", rt)
		}
		if !seen[rt] {
			seen[rt] = true
			cfg.runtimes = append(cfg.runtimes, rt)
		}
	}
	switch {
	case len(cfg.runtimes) == 0:
		return invokeConfig{}, errors.New("bench invoke: --runtimes is empty")
	case len(cfg.concurrency) == 0:
		return invokeConfig{}, errors.New("bench invoke: --concurrency is empty")
	case cfg.duration <= 0 || cfg.runs < 1:
		return invokeConfig{}, errors.New("bench invoke: --duration must be positive and --runs at least 1")
	case cfg.overheadSamples < 0 || cfg.coldSamples < 0:
		return invokeConfig{}, errors.New("bench invoke: --overhead-samples and --cold-samples must not be negative")
	case cfg.memory < 128:
		return invokeConfig{}, errors.New("bench invoke: --memory must be at least 128")
	case cfg.timeout <= 0:
		return invokeConfig{}, errors.New("bench invoke: --timeout must be positive")
	}
	return cfg, nil
}

// benchFunction is one function under test.
type benchFunction struct {
	family  string // go, python, node
	runtime string
	name    string
}

// invokeRunner carries the state of one "bench invoke".
type invokeRunner struct {
	cfg     invokeConfig
	client  *lambdaClient
	api     *lambda.Client
	rep     *invokeReporter
	stderr  io.Writer
	errs    errorLog
	created []string
	results []invokeResult
	tmp     string
}

func newInvokeRunner(cfg invokeConfig, stdout, stderr io.Writer) *invokeRunner {
	conns := 1
	for _, c := range cfg.concurrency {
		conns = max(conns, c)
	}
	return &invokeRunner{
		cfg:    cfg,
		client: newLambdaClient(cfg, conns),
		api:    newLambdaAPI(cfg),
		rep:    &invokeReporter{w: stdout, json: cfg.json, endpoint: cfg.endpoint.String()},
		stderr: stderr,
		errs:   errorLog{w: stderr, limit: printedErrors},
	}
}

func (r *invokeRunner) close() {
	r.client.close()
	if r.tmp != "" {
		os.RemoveAll(r.tmp)
	}
}

func (r *invokeRunner) run(ctx context.Context) (err error) {
	r.rep.header(r.cfg)
	defer func() {
		if cerr := r.cleanup(); err == nil {
			err = cerr
		}
	}()
	for _, family := range r.cfg.runtimes {
		fn, err := r.prepare(ctx, family)
		if err != nil {
			return err
		}
		if err := r.measureFunction(ctx, fn); err != nil {
			return err
		}
	}
	r.rep.targets(r.results)
	if n := r.errs.count(); n > 0 {
		return fmt.Errorf("bench invoke: %d invocations against %s failed (the first %d are printed above)",
			n, r.cfg.endpoint, min(n, printedErrors))
	}
	return nil
}

// prepare creates the no-op function of a runtime family and invokes it
// once (its first cold start, which also unpacks the code).
func (r *invokeRunner) prepare(ctx context.Context, family string) (*benchFunction, error) {
	fn := &benchFunction{family: family, name: r.cfg.prefix + family + "-" + strconv.FormatInt(time.Now().UnixNano()%1e9, 36)}
	var (
		code    []byte
		handler string
		err     error
	)
	switch family {
	case "go":
		fn.runtime, handler = "provided.al2023", "bootstrap"
		code, err = r.goZip(ctx)
	case "python":
		fn.runtime, handler = r.cfg.pythonRuntime, "app.handler"
		code, err = zipFiles(map[string]string{"app.py": "def handler(event, context):\n    return None\n"})
	case "node":
		fn.runtime, handler = r.cfg.nodeRuntime, "index.handler"
		code, err = zipFiles(map[string]string{"index.js": "exports.handler = async () => null;\n"})
	}
	if err != nil {
		return nil, err
	}
	mem := int32(r.cfg.memory)
	_, err = r.api.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String(fn.name),
		Runtime:      types.Runtime(fn.runtime),
		Handler:      aws.String(handler),
		Role:         aws.String("arn:aws:iam::000000000000:role/sluice-bench"),
		MemorySize:   &mem,
		// Far above a no-op's run time, so that a loaded machine shows
		// as latency, not as timeouts.
		Timeout: aws.Int32(30),
		Code:    &types.FunctionCode{ZipFile: code},
	})
	if err != nil {
		return nil, fmt.Errorf("bench invoke: creating the %s function at %s: %w", family, r.cfg.endpoint, err)
	}
	r.created = append(r.created, fn.name)
	if _, err := r.client.invoke(ctx, fn.name, true); err != nil {
		return nil, fmt.Errorf("bench invoke: first invoke of the %s function: %w", family, err)
	}
	return fn, nil
}

// goNoop is the Go function: aws-lambda-go's loop around a handler that
// does nothing.
const goNoop = `package main

import "github.com/aws/aws-lambda-go/lambda"

func main() { lambda.Start(func() error { return nil }) }
`

// goNoopModule pins aws-lambda-go (the version sluice's own tests use);
// goNoopSum holds its checksums, so the build needs only the module proxy.
const (
	goNoopModule = "module sluicebench/noop\n\ngo 1.26\n\nrequire github.com/aws/aws-lambda-go v1.55.1\n"
	goNoopSum    = "github.com/aws/aws-lambda-go v1.55.1 h1:We2cCp4BwqqH/JW+bEEo1FhgG71rslvjfi4y7KmlrR0=\n" +
		"github.com/aws/aws-lambda-go v1.55.1/go.mod h1:V+NzkHNR6vBC8C1PDloqSLE+7jYWFiPvJJFiCiTm8nE=\n"
)

// goZip returns the Go function's package: the --go-bootstrap binary, or
// one built now from goNoop.
func (r *invokeRunner) goZip(ctx context.Context) ([]byte, error) {
	path := r.cfg.goBootstrap
	if path == "" {
		dir, err := os.MkdirTemp("", "sluice-bench-go-")
		if err != nil {
			return nil, err
		}
		r.tmp = dir
		for name, body := range map[string]string{"main.go": goNoop, "go.mod": goNoopModule, "go.sum": goNoopSum} {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
				return nil, err
			}
		}
		path = filepath.Join(dir, "bootstrap")
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", path, ".")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=mod")
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("bench invoke: building the Go no-op function (give a prebuilt one with --go-bootstrap): %v\n%s", err, out)
		}
	}
	bin, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("bench invoke: --go-bootstrap: %w", err)
	}
	return zipFiles(map[string]string{"bootstrap": string(bin)})
}

// zipFiles zips files; bootstrap is made executable.
func zipFiles(files map[string]string) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range files {
		h := &zip.FileHeader{Name: name, Method: zip.Deflate}
		h.SetMode(0o644)
		if name == "bootstrap" {
			h.SetMode(0o755)
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			return nil, err
		}
		if _, err := io.WriteString(w, body); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// measureFunction runs the warm, overhead and cold phases on fn.
func (r *invokeRunner) measureFunction(ctx context.Context, fn *benchFunction) error {
	for _, conc := range r.cfg.concurrency {
		// Start conc instances first, so that the measurement is warm.
		measure(ctx, &r.errs, conc, 0, int64(4*conc), func(int) opFunc {
			return func(ctx context.Context, _ int64) (int64, error) {
				_, err := r.client.invoke(ctx, fn.name, false)
				return 0, err
			}
		})
		var samples []*sample
		for range r.cfg.runs {
			samples = append(samples, measure(ctx, &r.errs, conc, r.cfg.duration, 0, func(int) opFunc {
				return func(ctx context.Context, _ int64) (int64, error) {
					_, err := r.client.invoke(ctx, fn.name, false)
					return 0, err
				}
			}))
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		r.report(summarizeInvoke("warm", fn, conc, samples))
	}
	if r.cfg.overheadSamples > 0 {
		r.report(r.overhead(ctx, fn))
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if r.cfg.coldSamples > 0 {
		res, err := r.cold(ctx, fn)
		if err != nil {
			return err
		}
		r.report(res)
	}
	return ctx.Err()
}

// overhead times sequential invokes with LogType Tail: latency minus the
// REPORT line's Duration.
func (r *invokeRunner) overhead(ctx context.Context, fn *benchFunction) invokeResult {
	var over, lat, dur histogram
	res := invokeResult{Phase: "overhead", Runtime: fn.runtime, Family: fn.family, Concurrency: 1, Runs: 1}
	start, cpu0 := time.Now(), cpuTime()
	for i := 0; i < r.cfg.overheadSamples && ctx.Err() == nil; i++ {
		t0 := time.Now()
		out, err := r.client.invoke(ctx, fn.name, true)
		l := time.Since(t0)
		if err == nil && out.duration < 0 {
			err = fmt.Errorf("invoke %s: no REPORT Duration in the log tail", fn.name)
		}
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			res.Errors++
			r.errs.note(err)
			continue
		}
		lat.record(l)
		dur.record(out.duration)
		over.record(max(l-out.duration, 0))
		res.Invokes++
	}
	res.finish(time.Since(start), cpuTime()-cpu0, &over)
	res.InvokeP50ms = ms(lat.quantile(0.5))
	res.FunctionP50ms = ms(dur.quantile(0.5))
	return res
}

// cold times invokes that each start a new instance: before each one,
// UpdateFunctionConfiguration changes an environment variable, which makes
// the function's instances stale. The first sample, which also stops the
// instances the warm phase left, is not counted.
func (r *invokeRunner) cold(ctx context.Context, fn *benchFunction) (invokeResult, error) {
	var lat, init histogram
	res := invokeResult{Phase: "cold", Runtime: fn.runtime, Family: fn.family, Concurrency: 1, Runs: 1}
	var spent time.Duration
	cpu0 := cpuTime()
	for i := 0; i <= r.cfg.coldSamples && ctx.Err() == nil; i++ {
		_, err := r.api.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
			FunctionName: aws.String(fn.name),
			Environment:  &types.Environment{Variables: map[string]string{"BENCH_SAMPLE": strconv.Itoa(i)}},
		})
		if err != nil {
			return res, fmt.Errorf("bench invoke: updating %s to force a cold start: %w", fn.name, err)
		}
		t0 := time.Now()
		out, err := r.client.invoke(ctx, fn.name, true)
		l := time.Since(t0)
		if err == nil && out.init < 0 {
			err = fmt.Errorf("invoke %s after a configuration change was not a cold start (no Init Duration)", fn.name)
		}
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			res.Errors++
			r.errs.note(err)
			continue
		}
		if i == 0 {
			continue
		}
		spent += l
		lat.record(l)
		init.record(out.init)
		res.Invokes++
	}
	res.finish(spent, cpuTime()-cpu0, &lat)
	res.InitP50ms = ms(init.quantile(0.5))
	return res, nil
}

func (r *invokeRunner) report(res invokeResult) {
	r.results = append(r.results, res)
	r.rep.result(res)
}

// cleanup deletes the functions unless --keep was given.
func (r *invokeRunner) cleanup() error {
	if r.cfg.keep {
		if len(r.created) > 0 {
			fmt.Fprintf(r.stderr, "kept functions: %s\n", strings.Join(r.created, ", "))
		}
		return nil
	}
	var errs []error
	for _, name := range r.created {
		ctx, cancel := context.WithTimeout(context.Background(), r.cfg.timeout)
		_, err := r.api.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String(name)})
		cancel()
		if err != nil {
			errs = append(errs, fmt.Errorf("bench invoke: deleting %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}
