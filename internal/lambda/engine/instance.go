package engine

import (
	"bytes"
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sluicehq/sluice/internal/lambda"
	"github.com/sluicehq/sluice/internal/lambda/process"
	"github.com/sluicehq/sluice/internal/lambda/runtimeapi"
	"github.com/sluicehq/sluice/internal/lambda/runtimes"
)

// Defaults applied to a Deployment that leaves them unset.
const (
	defaultTimeout  = 3 * time.Second
	defaultMemoryMB = 128
)

// maxLogBuffer bounds the log kept in memory for one invocation; beyond
// it, older output goes to the log store early and Result.Log keeps the
// tail (LogTail callers need only the last 4 KB).
const maxLogBuffer = 1 << 20

var emptyEvent = []byte("{}")

// instance is one execution environment: a process, its Runtime API
// server and its temporary directory.
type instance struct {
	e        *Engine
	fn       *function
	function string
	id       string
	key      string // version\x00revision
	version  string
	revision string
	memoryMB int
	memLimit uint64
	provided bool
	stream   string
	tmpDir   string
	started  time.Time
	proc     *process.Process
	api      *runtimeapi.Server

	// Guarded by e.mu.
	busy     bool
	retired  bool
	lastUsed time.Time

	// Owned by the goroutine running the invocation.
	initDuration time.Duration
	memReadAt    time.Time

	peak atomic.Uint64 // bytes
	oom  atomic.Bool

	outMu     sync.Mutex
	capturing bool   // output belongs to the current invocation (or init)
	logBuf    []byte // the current invocation's log

	stopOnce sync.Once
}

// reservedEnv are the variables Lambda sets and functions cannot.
var reservedEnv = map[string]bool{
	"_HANDLER": true, "_X_AMZN_TRACE_ID": true, "AWS_REGION": true, "AWS_DEFAULT_REGION": true,
	"AWS_EXECUTION_ENV": true, "AWS_LAMBDA_FUNCTION_NAME": true, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": true,
	"AWS_LAMBDA_FUNCTION_VERSION": true, "AWS_LAMBDA_INITIALIZATION_TYPE": true,
	"AWS_LAMBDA_LOG_GROUP_NAME": true, "AWS_LAMBDA_LOG_STREAM_NAME": true, "AWS_ACCESS_KEY": true,
	"AWS_ACCESS_KEY_ID": true, "AWS_SECRET_ACCESS_KEY": true, "AWS_SESSION_TOKEN": true,
	"AWS_LAMBDA_RUNTIME_API": true, "LAMBDA_TASK_ROOT": true, "LAMBDA_RUNTIME_DIR": true, "TZ": true,
}

// start starts an instance for d and waits for its init phase. It
// returns the instance (registered in fn and busy), or a Result when the
// function failed to start in a way Lambda reports as a function error
// (missing or unrunnable bootstrap, init error, exit or timeout during
// init), or an error.
func (e *Engine) start(ctx context.Context, fn *function, d *lambda.Deployment, rt runtimes.Runtime, id string) (*instance, *lambda.Result, error) {
	codeDir, err := e.code.get(ctx, d)
	if err != nil {
		return nil, nil, err
	}
	var interp string
	if rt.Family != runtimes.Provided {
		if interp, err = e.interpreter(ctx, rt); err != nil {
			return nil, nil, err
		}
	}
	memoryMB := d.MemoryMB
	if memoryMB <= 0 {
		memoryMB = defaultMemoryMB
	}
	now := time.Now()
	in := &instance{
		e:         e,
		fn:        fn,
		function:  d.FunctionName,
		id:        randomHex(16),
		key:       d.Version + "\x00" + d.Revision,
		version:   d.Version,
		revision:  d.Revision,
		memoryMB:  memoryMB,
		memLimit:  uint64(memoryMB) << 20,
		provided:  rt.Family == runtimes.Provided,
		started:   now,
		capturing: true,
	}
	in.stream = now.UTC().Format("2006/01/02") + "/[" + d.Version + "]" + in.id

	path, args := rt.Command(interp, e.runtimeDir, codeDir)
	if in.provided {
		if _, err := os.Stat(path); err != nil {
			return nil, in.initFailure(d, id, "Runtime.InvalidEntrypoint",
				"RequestId: "+id+" Error: Couldn't find valid bootstrap(s): ["+path+"]", nil), nil
		}
	}
	in.tmpDir = filepath.Join(e.tmpDir, in.id)
	if err := os.Mkdir(in.tmpDir, 0o700); err != nil {
		return nil, nil, err
	}
	if in.api, err = runtimeapi.Listen(); err != nil {
		in.stop()
		return nil, nil, err
	}
	in.proc, err = process.Start(process.Config{
		Path:   path,
		Args:   args,
		Dir:    codeDir,
		Env:    in.environment(d, rt, codeDir, interp),
		Output: in.output,
		Nice:   e.cfg.Nice,
	})
	if err != nil {
		in.stop()
		return nil, in.initFailure(d, id, "Runtime.InvalidEntrypoint", "RequestId: "+id+" Error: "+err.Error(), nil), nil
	}

	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		in.stop()
		return nil, nil, ErrClosed
	}
	fn.all[in] = struct{}{}
	in.busy = true
	in.retired = e.fns[fn.name] != fn
	e.mu.Unlock()

	fail := func(res *lambda.Result) (*instance, *lambda.Result, error) {
		e.mu.Lock()
		delete(fn.all, in)
		e.mu.Unlock()
		in.stop()
		return nil, res, nil
	}
	timer := time.NewTimer(e.cfg.InitTimeout)
	defer timer.Stop()
	// The caller's ctx is not watched: like Lambda, a started invocation
	// runs to its end even if the caller goes away (Invoke detaches it).
	select {
	case <-in.api.Ready():
		in.initDuration = time.Since(now)
		in.proc.Sync() // init output belongs before START
		return in, nil, nil
	case o := <-in.api.InitError():
		return fail(in.initError(d, id, o))
	case <-in.proc.Done():
		select {
		case o := <-in.api.InitError():
			return fail(in.initError(d, id, o))
		default:
		}
		msg := "RequestId: " + id + " Error: Runtime exited with error: " + in.proc.ExitReason()
		return fail(in.initFailure(d, id, "Runtime.ExitError", msg, nil))
	case <-timer.C:
		in.proc.Kill()
		msg := "RequestId: " + id + " Error: Task timed out after " +
			strconv.FormatFloat(time.Since(now).Seconds(), 'f', 2, 64) + " seconds"
		return fail(in.initFailure(d, id, "Sandbox.Timedout", msg, nil))
	}
}

// initError is the Result of an error the runtime posted to
// /runtime/init/error: its document, as Lambda returns it.
func (in *instance) initError(d *lambda.Deployment, id string, o runtimeapi.Outcome) *lambda.Result {
	doc := o.Payload
	if len(bytes.TrimSpace(doc)) == 0 {
		typ := o.ErrorType
		if typ == "" {
			typ = "Runtime.Unknown"
		}
		doc = errorDoc(typ, "RequestId: "+id+" Error: the runtime failed to initialize")
	}
	return in.initFailure(d, id, "", "", doc)
}

// initFailure builds the Result of a failed start: either a document
// (doc) or an error type and message, logged between START and END.
func (in *instance) initFailure(d *lambda.Deployment, id, typ, msg string, doc []byte) *lambda.Result {
	if in.proc != nil {
		in.proc.Kill()
		in.proc.Sync()
	}
	elapsed := time.Since(in.started)
	if doc == nil {
		doc = errorDoc(typ, msg)
	}
	peak := in.peak.Load()
	in.outMu.Lock()
	b := appendStart(in.logBuf, id, d.Version)
	if msg != "" {
		b = append(b, msg...)
		b = append(b, '\n')
		b = append(b, typ...)
		b = append(b, '\n')
	}
	b = appendEnd(b, id)
	b = appendReport(b, id, elapsed, billedMs(elapsed), in.memoryMB, mebibytes(peak), 0)
	log := bytes.Clone(b)
	in.logBuf = b[:0]
	in.capturing = false
	in.outMu.Unlock()
	_ = in.e.logs.Append(in.function, log)
	return &lambda.Result{
		Payload:         doc,
		FunctionError:   "Unhandled",
		ExecutedVersion: d.Version,
		Log:             log,
		Duration:        elapsed,
		MaxMemoryMB:     mebibytes(peak),
	}
}

func (in *instance) environment(d *lambda.Deployment, rt runtimes.Runtime, codeDir, interp string) []string {
	e := in.e
	rtDir := e.runtimeDir
	path := "/usr/local/bin:/usr/bin/:/bin:/opt/bin"
	if interp != "" {
		path = filepath.Dir(interp) + ":" + path
	}
	env := make([]string, 0, 32+len(d.Environment))
	// Defaults the function may override.
	env = append(env,
		"PATH="+path,
		"LANG=en_US.UTF-8",
		"LD_LIBRARY_PATH=/lib64:/usr/lib64:"+rtDir+":"+rtDir+"/lib:"+codeDir+":"+codeDir+"/lib:/opt/lib",
		"TMPDIR="+in.tmpDir,
		"HOME="+in.tmpDir,
		"GOMAXPROCS="+strconv.Itoa(cpuShare(in.memoryMB, runtime.NumCPU())),
	)
	if ep := *e.endpoint.Load(); ep != "" {
		env = append(env, "AWS_ENDPOINT_URL="+ep)
	}
	for k, v := range d.Environment {
		if !reservedEnv[k] {
			env = append(env, k+"="+v)
		}
	}
	// Reserved: after the function's variables, so that they win.
	region := e.cfg.Region
	env = append(env,
		"_HANDLER="+d.Handler,
		"AWS_LAMBDA_RUNTIME_API="+in.api.Addr(),
		"LAMBDA_TASK_ROOT="+codeDir,
		"LAMBDA_RUNTIME_DIR="+rtDir,
		"AWS_LAMBDA_FUNCTION_NAME="+d.FunctionName,
		"AWS_LAMBDA_FUNCTION_VERSION="+d.Version,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE="+strconv.Itoa(in.memoryMB),
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/"+d.FunctionName,
		"AWS_LAMBDA_LOG_STREAM_NAME="+in.stream,
		"AWS_LAMBDA_INITIALIZATION_TYPE=on-demand",
		"AWS_REGION="+region,
		"AWS_DEFAULT_REGION="+region,
		"TZ=:UTC",
	)
	if x := rt.ExecutionEnv(); x != "" {
		env = append(env, "AWS_EXECUTION_ENV="+x)
	}
	c := d.Credentials
	if c.AccessKeyID != "" {
		env = append(env, "AWS_ACCESS_KEY_ID="+c.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+c.SecretAccessKey)
	}
	if c.SessionToken != "" {
		env = append(env, "AWS_SESSION_TOKEN="+c.SessionToken)
	}
	return env
}

// mbPerVCPU is the memory size at which Lambda gives a function the CPU
// time of one vCPU: it allocates CPU in proportion to memory (six vCPUs at
// 10,240 MB).
const mbPerVCPU = 1769

// cpuShare is the GOMAXPROCS of an instance of memoryMB: the vCPUs Lambda
// would give it, at least one, at most the host's CPUs. Go reads it; the
// Python and Node.js interpreters ignore it. Without it, every Go function
// runs as many scheduler threads as the host has CPUs although a 128 MB
// function gets a fraction of one, and each invocation's handoffs between
// aws-lambda-go's goroutines wake threads on other CPUs; with it, the same
// handoffs stay on one thread (on two cores, 16 warm aws-lambda-go
// instances served about a sixth more invokes/s). A function's own
// GOMAXPROCS variable wins.
func cpuShare(memoryMB, host int) int {
	return max(1, min((memoryMB+mbPerVCPU-1)/mbPerVCPU, host))
}

// output receives the process's output lines.
func (in *instance) output(line []byte) {
	in.outMu.Lock()
	if in.capturing {
		if len(in.logBuf)+len(line) > maxLogBuffer {
			keep := maxLogBuffer / 16
			if cut := len(in.logBuf) - keep; cut > 0 {
				_ = in.e.logs.Append(in.function, in.logBuf[:cut])
				in.logBuf = append(in.logBuf[:0], in.logBuf[cut:]...)
			}
		}
		in.logBuf = append(in.logBuf, line...)
		in.logBuf = append(in.logBuf, '\n')
		in.outMu.Unlock()
		return
	}
	in.outMu.Unlock()
	// Between invocations (background threads, timers): straight to the
	// function's log.
	b := make([]byte, len(line)+1)
	copy(b, line)
	b[len(line)] = '\n'
	_ = in.e.logs.Append(in.function, b)
}

type waitKind int

const (
	waitDone waitKind = iota
	waitExit
	waitTimeout
	waitCanceled
)

// invoke runs one invocation on a ready instance and releases it.
func (in *instance) invoke(ctx context.Context, d *lambda.Deployment, inv *lambda.Invocation, id string, cold bool) (*lambda.Result, error) {
	payload := inv.Payload
	if len(payload) == 0 {
		payload = emptyEvent
	}
	arn := inv.InvokedARN
	if arn == "" {
		arn = d.FunctionARN
	}
	timeout := d.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	in.outMu.Lock()
	if !cold {
		in.logBuf = in.logBuf[:0]
	}
	in.logBuf = appendStart(in.logBuf, id, d.Version)
	in.capturing = true
	in.outMu.Unlock()

	start := time.Now()
	trace := inv.TraceID
	if trace == "" {
		trace = traceID(id, start)
	}
	in.api.Dispatch(&runtimeapi.Event{
		RequestID:     id,
		Deadline:      start.Add(timeout),
		InvokedARN:    arn,
		TraceID:       trace,
		ClientContext: decodeClientContext(inv.ClientContext),
		Payload:       payload,
	})
	timer := time.NewTimer(timeout)
	o, kind := in.await(ctx.Done(), timer.C)
	if kind == waitExit && !cold && in.api.Withdraw(id) {
		// The process exited between invocations (a runtime client that
		// exits after reporting an uncaught error): the event never
		// reached it, and runs on a fresh instance instead.
		timer.Stop()
		in.outMu.Lock()
		in.logBuf = in.logBuf[:0]
		in.capturing = false
		in.outMu.Unlock()
		in.e.release(in, false)
		return nil, errUndelivered
	}
	if kind == waitCanceled {
		// The caller went away; the function runs on, as on Lambda.
		e := in.e
		e.mu.Lock()
		tracked := !e.closed
		if tracked {
			e.wg.Add(1)
		}
		e.mu.Unlock()
		go func() {
			if tracked {
				defer e.wg.Done()
			}
			o, kind := in.await(nil, timer.C)
			timer.Stop()
			in.finish(d, id, start, cold, o, kind)
		}()
		return nil, ctx.Err()
	}
	timer.Stop()
	return in.finish(d, id, start, cold, o, kind), nil
}

func (in *instance) await(cancel <-chan struct{}, timeout <-chan time.Time) (runtimeapi.Outcome, waitKind) {
	select {
	case o := <-in.api.Outcomes():
		return o, waitDone
	case <-in.proc.Done():
		select {
		case o := <-in.api.Outcomes():
			return o, waitDone
		default:
			return runtimeapi.Outcome{}, waitExit
		}
	case <-timeout:
		return runtimeapi.Outcome{}, waitTimeout
	case <-cancel:
		return runtimeapi.Outcome{}, waitCanceled
	}
}

// finish turns the outcome into a Result, writes the log and releases the
// instance.
func (in *instance) finish(d *lambda.Deployment, id string, start time.Time, cold bool, o runtimeapi.Outcome, kind waitKind) *lambda.Result {
	end := time.Now()
	dur := end.Sub(start)
	healthy := true
	res := &lambda.Result{ExecutedVersion: d.Version, Duration: dur}
	var failure, failureType, after string
	switch kind {
	case waitDone:
		switch {
		case o.TooLarge:
			// Some runtimes (aws-lambda-go) exit when their response is
			// refused; do not hand the next invocation to a dying one.
			healthy = false
			res.FunctionError = "Unhandled"
			res.Payload = errorDoc("Function.ResponseSizeTooLarge", lambda.ResponseTooLargeMessage(o.Size))
		case o.Failed:
			res.FunctionError = "Unhandled"
			res.Payload = o.Payload
			if len(bytes.TrimSpace(res.Payload)) == 0 {
				typ := o.ErrorType
				if typ == "" {
					typ = "Unhandled"
				}
				res.Payload = errorDoc(typ, "")
			}
		default:
			res.Payload = o.Payload
		}
	case waitExit:
		healthy = false
		failureType = "Runtime.ExitError"
		if in.oom.Load() {
			failureType = "Runtime.OutOfMemory"
		}
		failure = "RequestId: " + id + " Error: Runtime exited with error: " + in.proc.ExitReason()
	case waitTimeout:
		healthy = false
		in.proc.Kill()
		after = timeoutLine(end, id, dur)
		res.FunctionError = "Unhandled"
		res.Payload = timeoutDoc(after)
	}
	in.proc.Sync()
	peak := in.measure(dur, cold)
	if healthy && !in.e.cfg.NoMemoryLimit && peak > in.memLimit {
		// Over its memory, however briefly: Lambda would have killed it.
		in.oom.Store(true)
		in.proc.Kill()
		healthy = false
		failureType = "Runtime.OutOfMemory"
		failure = "RequestId: " + id + " Error: Runtime exited with error: signal: killed"
	}
	if failure != "" {
		res.FunctionError = "Unhandled"
		res.Payload = errorDoc(failureType, failure)
	}
	var init time.Duration
	if cold {
		init = in.initDuration
		res.InitDuration = init
	}
	billed := billedMs(dur)
	if in.provided && cold {
		// Custom runtimes are billed for their init.
		billed = billedMs(dur + init)
	}
	res.MaxMemoryMB = mebibytes(peak)

	in.outMu.Lock()
	b := in.logBuf
	if failure != "" {
		b = append(b, failure...)
		b = append(b, '\n')
		b = append(b, failureType...)
		b = append(b, '\n')
	}
	b = appendEnd(b, id)
	b = appendReport(b, id, dur, billed, in.memoryMB, res.MaxMemoryMB, init)
	if after != "" {
		b = append(b, after...)
		b = append(b, '\n')
	}
	res.Log = bytes.Clone(b)
	in.logBuf = b[:0]
	in.capturing = false
	in.outMu.Unlock()
	_ = in.e.logs.Append(in.function, res.Log)

	if healthy {
		select {
		case <-in.proc.Done():
			healthy = false
		default:
		}
	}
	in.e.release(in, healthy)
	return res
}

// measure returns the instance's peak memory. It reads the process's
// high-water mark after a cold start and otherwise at most every 250 ms
// (so after every invocation longer than that): the mark is monotonic, so
// a spike in a short invocation is still caught, by the next reading or
// the watchdog, and warm invocations in quick succession share a reading.
func (in *instance) measure(dur time.Duration, cold bool) uint64 {
	now := time.Now()
	if cold || now.Sub(in.memReadAt) >= 250*time.Millisecond {
		if _, hwm, err := in.proc.Memory(); err == nil {
			in.notePeak(hwm)
		}
		in.memReadAt = now
	}
	return in.peak.Load()
}

func (in *instance) notePeak(v uint64) {
	for {
		cur := in.peak.Load()
		if v <= cur || in.peak.CompareAndSwap(cur, v) {
			return
		}
	}
}

// checkMemory kills the instance's process group if it is over its
// memory size; the invocation then ends with Runtime.OutOfMemory.
func (in *instance) checkMemory() {
	if in.e.cfg.NoMemoryLimit || in.peak.Load() <= in.memLimit {
		return
	}
	if in.oom.CompareAndSwap(false, true) {
		_ = in.proc.Signal(syscall.SIGKILL)
	}
}

// stop ends the instance: SIGTERM, SIGKILL after the grace period, then
// its Runtime API listener and temporary directory. Idempotent.
func (in *instance) stop() {
	in.stopOnce.Do(func() {
		if in.proc != nil {
			in.proc.Stop(in.e.cfg.StopGrace)
		}
		if in.api != nil {
			in.api.Close()
		}
		if in.tmpDir != "" {
			removeAll(in.tmpDir)
		}
	})
}

// traceID makes an X-Ray trace header for an invocation; the root ID's
// random part comes from the request ID.
func traceID(id string, t time.Time) string {
	var h [24]byte
	n := 0
	for i := 0; i < len(id) && n < len(h); i++ {
		if c := id[i]; c >= '0' && c <= '9' || c >= 'a' && c <= 'f' {
			h[n] = c
			n++
		}
	}
	for ; n < len(h); n++ {
		h[n] = '0'
	}
	var buf [64]byte
	b := append(buf[:0], "Root=1-"...)
	var sbuf [16]byte
	secs := strconv.AppendUint(sbuf[:0], uint64(t.Unix()), 16)
	for range 8 - len(secs) {
		b = append(b, '0')
	}
	b = append(b, secs...)
	b = append(b, '-')
	b = append(b, h[:]...)
	b = append(b, ";Sampled=0"...)
	return string(b)
}

// decodeClientContext turns X-Amz-Client-Context (base64 JSON) into the
// JSON runtimes receive.
func decodeClientContext(s string) string {
	if s == "" {
		return ""
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return s
	}
	return string(b)
}
