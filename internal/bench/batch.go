package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	ctltypes "github.com/aws/aws-sdk-go-v2/service/s3control/types"
	smithyendpoints "github.com/aws/smithy-go/endpoints"
)

// "sluice bench batch" measures Batch Operations on a sluice endpoint:
//
//   - invoke: a LambdaInvoke job of --tasks tasks on a no-op Go function
//     (aws-lambda-go, events.S3BatchJobEventV2 in, Succeeded out);
//   - copy: an S3PutObjectCopy job of --copy-tasks objects of --copy-size;
//   - rss: a LambdaInvoke job over a --manifest-lines manifest, run for
//     --rss-duration and then cancelled, while the server's resident
//     memory (VmRSS of --server-pid, read from /proc) is sampled.
//
// For the two throughput phases it reports tasks/s from the first task's
// outcome to the last (the Active phase, as DescribeJob's live counters
// show it) and the whole job (create to Complete, which includes
// Preparing and the report). It prints the targets of docs/benchmarks.md
// next to the results.

// RunBatch runs "sluice bench batch" with args, the arguments after
// "bench batch".
func RunBatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseBatchConfig(args, os.Getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	r := newBatchRunner(cfg, stdout, stderr)
	defer r.close()
	return r.run(ctx)
}

type batchConfig struct {
	endpointFlags
	account     string
	tasks       int
	copyTasks   int
	copySize    int64
	lines       int
	rssDuration time.Duration
	serverPID   int
	goBootstrap string
	fnConc      int
	prefix      string
	keep        bool
	phases      []string
}

func parseBatchConfig(args []string, getenv func(string) string, stderr io.Writer) (batchConfig, error) {
	var (
		cfg    batchConfig
		size   = sizeValue(4 << 10)
		phases = "invoke,copy,rss"
	)
	fs := flag.NewFlagSet("sluice bench batch", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: sluice bench batch [flags]\n\n"+
			"Measures Batch Operations jobs on a sluice endpoint: tasks/s of a LambdaInvoke job on a\n"+
			"no-op Go function and of an S3PutObjectCopy job, and the server's memory while a job\n"+
			"reads a very large manifest.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	cfg.register(fs, getenv, "sluice endpoint `URL`")
	fs.StringVar(&cfg.account, "account-id", "000000000000", "the server's account ID")
	fs.StringVar(&phases, "phases", phases, "comma-separated phases to run: invoke, copy, rss")
	fs.IntVar(&cfg.tasks, "tasks", 100_000, "tasks of the LambdaInvoke job")
	fs.IntVar(&cfg.copyTasks, "copy-tasks", 100_000, "objects of the S3PutObjectCopy job")
	fs.Var(&size, "copy-size", "size of the copied objects")
	fs.IntVar(&cfg.lines, "manifest-lines", 10_000_000, "lines of the manifest of the memory phase")
	fs.DurationVar(&cfg.rssDuration, "rss-duration", 30*time.Second, "how long the memory phase's job runs before it is cancelled")
	fs.IntVar(&cfg.serverPID, "server-pid", 0, "the server's process `ID`, whose VmRSS the memory phase samples (skipped without it)")
	fs.IntVar(&cfg.fnConc, "function-concurrency", 0, "reserved concurrency of the no-op function, which bounds the LambdaInvoke job's tasks in flight (0: none; the job's own limit applies)")
	fs.StringVar(&cfg.goBootstrap, "go-bootstrap", "", "prebuilt no-op batch function `binary` (default: build one with the go command)")
	fs.StringVar(&cfg.prefix, "prefix", "sluice-bench-batch", "name prefix of the buckets and function created")
	fs.BoolVar(&cfg.keep, "keep", false, "keep the buckets, objects and function")
	if err := fs.Parse(args); err != nil {
		return batchConfig{}, err
	}
	if fs.NArg() > 0 {
		return batchConfig{}, fmt.Errorf("bench batch: unexpected argument %q", fs.Arg(0))
	}
	if err := cfg.check("batch"); err != nil {
		return batchConfig{}, err
	}
	cfg.copySize = int64(size)
	cfg.phases = splitList(phases)
	for _, p := range cfg.phases {
		if p != "invoke" && p != "copy" && p != "rss" {
			return batchConfig{}, fmt.Errorf("bench batch: unknown phase %q", p)
		}
	}
	switch {
	case cfg.tasks < 1 || cfg.copyTasks < 1 || cfg.lines < 1:
		return batchConfig{}, errors.New("bench batch: --tasks, --copy-tasks and --manifest-lines must be positive")
	}
	return cfg, nil
}

// goBatchNoop answers every task Succeeded.
const goBatchNoop = `package main

import (
	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(ev events.S3BatchJobEventV2) (events.S3BatchJobResponse, error) {
		return events.S3BatchJobResponse{
			InvocationSchemaVersion: ev.InvocationSchemaVersion,
			TreatMissingKeysAs:      "PermanentFailure",
			InvocationID:            ev.InvocationID,
			Results:                 []events.S3BatchJobResult{{TaskID: ev.Tasks[0].TaskID, ResultCode: "Succeeded"}},
		}, nil
	})
}
`

type batchRunner struct {
	cfg    batchConfig
	stdout io.Writer
	stderr io.Writer
	s3     *s3.Client
	ctl    *s3control.Client
	fn     *lambda.Client
	bucket string
	fnName string
	fnARN  string
	tmp    string
	made   bool
}

// fixedEndpoint sends S3 Control requests to the endpoint as given, not
// to <account>.<host>.
type fixedEndpoint struct{ u url.URL }

func (f fixedEndpoint) ResolveEndpoint(context.Context, s3control.EndpointParameters) (smithyendpoints.Endpoint, error) {
	return smithyendpoints.Endpoint{URI: f.u}, nil
}

func newBatchRunner(cfg batchConfig, stdout, stderr io.Writer) *batchRunner {
	base := strings.TrimSuffix(cfg.endpoint.String(), "/")
	tr := newTransport(256)
	acfg := aws.Config{
		Region:           cfg.region,
		Credentials:      credentials.NewStaticCredentialsProvider(cfg.accessKey, cfg.secretKey, ""),
		BaseEndpoint:     aws.String(base),
		HTTPClient:       &http.Client{Transport: tr, Timeout: 30 * time.Minute},
		RetryMaxAttempts: 3,
	}
	stamp := strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
	return &batchRunner{
		cfg: cfg, stdout: stdout, stderr: stderr,
		s3:     s3.NewFromConfig(acfg, func(o *s3.Options) { o.UsePathStyle = true }),
		ctl:    s3control.NewFromConfig(acfg, func(o *s3control.Options) { o.EndpointResolverV2 = fixedEndpoint{*cfg.endpoint} }),
		fn:     lambda.NewFromConfig(acfg),
		bucket: cfg.prefix + "-" + stamp,
		fnName: cfg.prefix + "-noop-" + stamp,
	}
}

func (r *batchRunner) close() {
	if r.tmp != "" {
		os.RemoveAll(r.tmp)
	}
}

func (r *batchRunner) has(phase string) bool {
	for _, p := range r.cfg.phases {
		if p == phase {
			return true
		}
	}
	return false
}

func (r *batchRunner) run(ctx context.Context) (err error) {
	fmt.Fprintf(r.stdout, "sluice bench batch — %s, %s/%s, %d CPUs\n\n", r.cfg.endpoint, runtime.GOOS, runtime.GOARCH, runtime.NumCPU())
	if _, err := r.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(r.bucket)}); err != nil {
		return fmt.Errorf("bench batch: creating bucket %s: %w", r.bucket, err)
	}
	r.made = true
	defer func() {
		if !r.cfg.keep {
			if cerr := r.cleanup(context.WithoutCancel(ctx)); cerr != nil && err == nil {
				err = cerr
			}
		}
	}()
	var results []batchResult
	if r.has("invoke") || r.has("rss") {
		if err := r.createFunction(ctx); err != nil {
			return err
		}
	}
	if r.has("invoke") {
		res, err := r.invokePhase(ctx)
		if err != nil {
			return err
		}
		results = append(results, res)
	}
	if r.has("copy") {
		res, err := r.copyPhase(ctx)
		if err != nil {
			return err
		}
		results = append(results, res)
	}
	if r.has("rss") {
		res, err := r.rssPhase(ctx)
		if err != nil {
			return err
		}
		results = append(results, res)
	}
	r.targets(results)
	return nil
}

// batchResult is one phase's outcome.
type batchResult struct {
	phase     string
	tasks     int64
	activeTPS float64
	wholeTPS  float64
	active    time.Duration
	whole     time.Duration
	failed    int64
	baseRSS   int64 // bytes
	peakRSS   int64
	status    string
}

func (r *batchRunner) createFunction(ctx context.Context) error {
	path := r.cfg.goBootstrap
	if path == "" {
		dir, err := os.MkdirTemp("", "sluice-bench-batch-")
		if err != nil {
			return err
		}
		r.tmp = dir
		for name, body := range map[string]string{"main.go": goBatchNoop, "go.mod": goNoopModule, "go.sum": goNoopSum} {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
				return err
			}
		}
		path = filepath.Join(dir, "bootstrap")
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", path, ".")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=mod")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("bench batch: building the Go batch function (give a prebuilt one with --go-bootstrap): %v\n%s", err, out)
		}
	}
	bin, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	code, err := zipFiles(map[string]string{"bootstrap": string(bin)})
	if err != nil {
		return err
	}
	out, err := r.fn.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String(r.fnName), Runtime: ltypes.RuntimeProvidedal2023, Handler: aws.String("bootstrap"),
		Role: aws.String("arn:aws:iam::" + r.cfg.account + ":role/sluice-bench"), Timeout: aws.Int32(30),
		Code: &ltypes.FunctionCode{ZipFile: code},
	})
	if err != nil {
		return fmt.Errorf("bench batch: creating the function: %w", err)
	}
	r.fnARN = aws.ToString(out.FunctionArn)
	if r.cfg.fnConc > 0 {
		if _, err := r.fn.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{
			FunctionName: aws.String(r.fnName), ReservedConcurrentExecutions: aws.Int32(int32(r.cfg.fnConc)),
		}); err != nil {
			return fmt.Errorf("bench batch: setting the function's concurrency: %w", err)
		}
	}
	return nil
}

// manifestBody is a CSV manifest of n fixed-width rows "bucket,<prefix>%09d",
// computed from the offset asked for: it seeks, so the SDK can sign it,
// and is never held in memory.
type manifestBody struct {
	row    string // the row format
	rowLen int64
	n      int64
	off    int64
}

func newManifestBody(bucket, prefix string, n int) *manifestBody {
	row := bucket + "," + prefix + "%09d\n"
	return &manifestBody{row: row, rowLen: int64(len(fmt.Sprintf(row, 0))), n: int64(n)}
}

func (m *manifestBody) size() int64 { return m.rowLen * m.n }

func (m *manifestBody) Read(p []byte) (int, error) {
	if m.off >= m.size() {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && m.off < m.size() {
		i := m.off / m.rowLen
		line := fmt.Sprintf(m.row, i)
		c := copy(p[n:], line[m.off%m.rowLen:])
		n += c
		m.off += int64(c)
	}
	return n, nil
}

func (m *manifestBody) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
		m.off = off
	case io.SeekCurrent:
		m.off += off
	case io.SeekEnd:
		m.off = m.size() + off
	}
	return m.off, nil
}

// putManifest uploads a manifest and returns the job's JobManifest.
func (r *batchRunner) putManifest(ctx context.Context, key, prefix string, n int) (*ctltypes.JobManifest, error) {
	body := newManifestBody(r.bucket, prefix, n)
	out, err := r.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(r.bucket), Key: aws.String(key),
		Body: body, ContentLength: aws.Int64(body.size())})
	if err != nil {
		return nil, fmt.Errorf("bench batch: uploading manifest %s: %w", key, err)
	}
	return &ctltypes.JobManifest{
		Spec: &ctltypes.JobManifestSpec{Format: ctltypes.JobManifestFormatS3BatchOperationsCsv20180820,
			Fields: []ctltypes.JobManifestFieldName{ctltypes.JobManifestFieldNameBucket, ctltypes.JobManifestFieldNameKey}},
		Location: &ctltypes.JobManifestLocation{ObjectArn: aws.String("arn:aws:s3:::" + r.bucket + "/" + key),
			ETag: aws.String(strings.Trim(aws.ToString(out.ETag), `"`))},
	}, nil
}

func (r *batchRunner) createJob(ctx context.Context, man *ctltypes.JobManifest, op *ctltypes.JobOperation, reportPrefix string) (string, error) {
	out, err := r.ctl.CreateJob(ctx, &s3control.CreateJobInput{
		AccountId: aws.String(r.cfg.account), Manifest: man, Operation: op, Priority: aws.Int32(10),
		RoleArn: aws.String("arn:aws:iam::" + r.cfg.account + ":role/sluice-bench"), ConfirmationRequired: aws.Bool(false),
		Report: &ctltypes.JobReport{Enabled: true, Bucket: aws.String("arn:aws:s3:::" + r.bucket), Prefix: aws.String(reportPrefix),
			Format: ctltypes.JobReportFormatReportCsv20180820, ReportScope: ctltypes.JobReportScopeAllTasks},
	})
	if err != nil {
		return "", fmt.Errorf("bench batch: CreateJob: %w", err)
	}
	return aws.ToString(out.JobId), nil
}

// follow polls a job until it ends (or stop says so), measuring its
// Active phase by its live counters.
func (r *batchRunner) follow(ctx context.Context, id string, created time.Time, stop func(done int64, since time.Duration) bool) (batchResult, error) {
	var (
		res          batchResult
		first, last  time.Time
		lastDone     int64
		total        int64 = -1
		lastProgress       = time.Now()
	)
	for {
		out, err := r.ctl.DescribeJob(ctx, &s3control.DescribeJobInput{AccountId: aws.String(r.cfg.account), JobId: aws.String(id)})
		if err != nil {
			return res, err
		}
		j := out.Job
		now := time.Now()
		p := j.ProgressSummary
		done := aws.ToInt64(p.NumberOfTasksSucceeded) + aws.ToInt64(p.NumberOfTasksFailed)
		if p.TotalNumberOfTasks != nil {
			total = *p.TotalNumberOfTasks
		}
		if done > 0 && first.IsZero() {
			first = now
		}
		if done != lastDone {
			lastDone, lastProgress = done, now
			if done == total {
				last = now
			}
		}
		fmt.Fprintf(r.stderr, "\r  %-10s %d/%d tasks   ", j.Status, done, total)
		switch j.Status {
		case ctltypes.JobStatusComplete, ctltypes.JobStatusFailed, ctltypes.JobStatusCancelled:
			fmt.Fprintln(r.stderr)
			if last.IsZero() {
				last = lastProgress
			}
			res.tasks, res.failed, res.status = done, aws.ToInt64(p.NumberOfTasksFailed), string(j.Status)
			res.active, res.whole = last.Sub(first), now.Sub(created)
			if res.active > 0 {
				res.activeTPS = float64(done) / res.active.Seconds()
			}
			res.wholeTPS = float64(done) / res.whole.Seconds()
			for _, f := range j.FailureReasons {
				fmt.Fprintf(r.stderr, "  failure: %s: %s\n", aws.ToString(f.FailureCode), aws.ToString(f.FailureReason))
			}
			return res, nil
		}
		if stop != nil && !first.IsZero() && stop(done, now.Sub(first)) {
			if _, err := r.ctl.UpdateJobStatus(ctx, &s3control.UpdateJobStatusInput{AccountId: aws.String(r.cfg.account), JobId: aws.String(id),
				RequestedJobStatus: ctltypes.RequestedJobStatusCancelled}); err != nil {
				return res, err
			}
			stop = nil
		}
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (r *batchRunner) invokePhase(ctx context.Context) (batchResult, error) {
	fmt.Fprintf(r.stdout, "invoke: LambdaInvoke job, %d tasks, no-op Go function\n", r.cfg.tasks)
	man, err := r.putManifest(ctx, "invoke.csv", "invoke/", r.cfg.tasks)
	if err != nil {
		return batchResult{}, err
	}
	op := &ctltypes.JobOperation{LambdaInvoke: &ctltypes.LambdaInvokeOperation{FunctionArn: aws.String(r.fnARN), InvocationSchemaVersion: aws.String("2.0")}}
	created := time.Now()
	id, err := r.createJob(ctx, man, op, "reports")
	if err != nil {
		return batchResult{}, err
	}
	res, err := r.follow(ctx, id, created, nil)
	res.phase = "invoke"
	r.print(res)
	return res, err
}

func (r *batchRunner) copyPhase(ctx context.Context) (batchResult, error) {
	fmt.Fprintf(r.stdout, "copy: S3PutObjectCopy job, %d objects of %s\n", r.cfg.copyTasks, formatSize(r.cfg.copySize))
	body := bytes.Repeat([]byte("x"), int(r.cfg.copySize))
	var (
		next = make(chan int)
		wg   sync.WaitGroup
		errs atomic.Int64
		once sync.Once
		ferr error
	)
	for range 32 {
		wg.Go(func() {
			for i := range next {
				_, err := r.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(r.bucket), Key: aws.String(fmt.Sprintf("copy/%09d", i)),
					Body: bytes.NewReader(body), ContentLength: aws.Int64(r.cfg.copySize)})
				if err != nil {
					errs.Add(1)
					once.Do(func() { ferr = err })
				}
			}
		})
	}
	start := time.Now()
	for i := range r.cfg.copyTasks {
		next <- i
		if i%10000 == 0 {
			fmt.Fprintf(r.stderr, "\r  writing source objects %d/%d", i, r.cfg.copyTasks)
		}
	}
	close(next)
	wg.Wait()
	fmt.Fprintf(r.stderr, "\r  wrote %d source objects in %s\n", r.cfg.copyTasks, time.Since(start).Round(time.Millisecond))
	if ferr != nil {
		return batchResult{}, fmt.Errorf("bench batch: %d PUTs failed, first: %w", errs.Load(), ferr)
	}
	man, err := r.putManifest(ctx, "copy.csv", "copy/", r.cfg.copyTasks)
	if err != nil {
		return batchResult{}, err
	}
	op := &ctltypes.JobOperation{S3PutObjectCopy: &ctltypes.S3CopyObjectOperation{
		TargetResource: aws.String("arn:aws:s3:::" + r.bucket), TargetKeyPrefix: aws.String("copied/")}}
	created := time.Now()
	id, err := r.createJob(ctx, man, op, "reports")
	if err != nil {
		return batchResult{}, err
	}
	res, err := r.follow(ctx, id, created, nil)
	res.phase = "copy"
	r.print(res)
	return res, err
}

// readRSS returns a process's resident set size in bytes.
func readRSS(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmRSS")
}

func (r *batchRunner) rssPhase(ctx context.Context) (batchResult, error) {
	if r.cfg.serverPID == 0 {
		fmt.Fprintln(r.stdout, "rss: skipped (give --server-pid to sample the server's memory)")
		return batchResult{phase: "rss", status: "skipped"}, nil
	}
	base, err := readRSS(r.cfg.serverPID)
	if err != nil {
		return batchResult{}, fmt.Errorf("bench batch: --server-pid %d: %w", r.cfg.serverPID, err)
	}
	fmt.Fprintf(r.stdout, "rss: LambdaInvoke job over a %d-line manifest, cancelled after %s\n", r.cfg.lines, r.cfg.rssDuration)
	man, err := r.putManifest(ctx, "big.csv", "big/", r.cfg.lines)
	if err != nil {
		return batchResult{}, err
	}
	// peak is the largest sample taken while the job exists (from its
	// creation to its end), whatever the memory before it.
	var peak atomic.Int64
	sctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			if v, err := readRSS(r.cfg.serverPID); err == nil && v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-sctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	})
	op := &ctltypes.JobOperation{LambdaInvoke: &ctltypes.LambdaInvokeOperation{FunctionArn: aws.String(r.fnARN), InvocationSchemaVersion: aws.String("2.0")}}
	created := time.Now()
	id, err := r.createJob(ctx, man, op, "big-reports")
	if err != nil {
		stop()
		wg.Wait()
		return batchResult{}, err
	}
	res, err := r.follow(ctx, id, created, func(_ int64, since time.Duration) bool { return since >= r.cfg.rssDuration })
	stop()
	wg.Wait()
	res.phase, res.baseRSS, res.peakRSS = "rss", base, peak.Load()
	r.print(res)
	return res, err
}

func (r *batchRunner) print(res batchResult) {
	switch res.phase {
	case "rss":
		fmt.Fprintf(r.stdout, "  job %s after %d tasks; server RSS before the manifest upload %s, peak while the job ran %s\n\n", res.status, res.tasks,
			formatSize(res.baseRSS), formatSize(res.peakRSS))
	default:
		fmt.Fprintf(r.stdout, "  job %s: %d tasks (%d failed); active %s → %.0f tasks/s; create to end %s → %.0f tasks/s\n\n",
			res.status, res.tasks, res.failed, res.active.Round(time.Millisecond), res.activeTPS, res.whole.Round(time.Millisecond), res.wholeTPS)
	}
}

// targets prints docs/benchmarks.md's targets next to the results.
func (r *batchRunner) targets(results []batchResult) {
	fmt.Fprintln(r.stdout, "targets (docs/benchmarks.md): ≥ 5,000 tasks/s for LambdaInvoke and S3PutObjectCopy; server RSS < 200 MB during a 10M-line manifest job")
	mark := func(ok bool) string {
		if ok {
			return "met"
		}
		return "MISSED"
	}
	for _, res := range results {
		switch {
		case res.phase == "rss" && res.status == "skipped":
		case res.phase == "rss":
			fmt.Fprintf(r.stdout, "  rss: peak %s %s\n", formatSize(res.peakRSS), mark(res.peakRSS < 200<<20))
		default:
			fmt.Fprintf(r.stdout, "  %s: %.0f tasks/s %s\n", res.phase, res.activeTPS, mark(res.activeTPS >= 5000 && res.failed == 0 && res.status == "Complete"))
		}
	}
}

// cleanup deletes what the bench made.
func (r *batchRunner) cleanup(ctx context.Context) error {
	if r.fnARN != "" {
		r.fn.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String(r.fnName)})
	}
	if !r.made {
		return nil
	}
	p := s3.NewListObjectsV2Paginator(r.s3, &s3.ListObjectsV2Input{Bucket: aws.String(r.bucket)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		if len(page.Contents) == 0 {
			continue
		}
		del := &s3types.Delete{Quiet: aws.Bool(true)}
		for _, o := range page.Contents {
			del.Objects = append(del.Objects, s3types.ObjectIdentifier{Key: o.Key})
		}
		if _, err := r.s3.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(r.bucket), Delete: del}); err != nil {
			return err
		}
	}
	_, err := r.s3.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(r.bucket)})
	return err
}
