// Package engine runs Lambda functions on the host: it implements
// lambda.Engine. An instance (execution environment) is one supervised
// process — the package's bootstrap, or sluice's Python or Node.js
// bootstrap on a host interpreter — with its own Runtime API listener,
// process group, temporary directory and log stream.
//
// Invoke takes an idle instance of the deployment's version and revision,
// or starts one (a cold start) when concurrency allows; the event goes
// straight to the runtime's waiting /next request. Instances are reused
// until they crash, time out, exceed their memory, become stale (a newer
// Revision was seen), are retired or stay idle too long.
//
// On disk, under <data>/lambda:
//
//	code/<sha256>/        unpacked packages, one per distinct code zip, read-only
//	runtime/<hash>/       the embedded Python and Node.js bootstraps
//	tmp/<instance>/       each instance's TMPDIR and HOME, removed with it
//	logs/<function>/      each function's log (see Logs)
package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice/internal/lambda"
	"github.com/sluicehq/sluice/internal/lambda/process"
	"github.com/sluicehq/sluice/internal/lambda/runtimes"
)

// Defaults of Config.
const (
	DefaultMaxConcurrency = 128
	DefaultIdleTimeout    = 5 * time.Minute
	DefaultInitTimeout    = 10 * time.Second
	DefaultStopGrace      = 500 * time.Millisecond
	DefaultMemoryPoll     = 200 * time.Millisecond
)

// ErrClosed is returned by Invoke after Close.
var ErrClosed = errors.New("engine: closed")

// Config configures an Engine.
type Config struct {
	// DataDir is the node's data directory; the engine keeps its files
	// under DataDir/lambda.
	DataDir string
	// EndpointURL is what functions' AWS SDKs call (AWS_ENDPOINT_URL),
	// for example http://127.0.0.1:9000. SetEndpoint changes it later.
	EndpointURL string
	// Region is AWS_REGION and AWS_DEFAULT_REGION; default us-east-1.
	Region string
	// Python and Node are the host interpreters of the python3.x and
	// nodejs*.x runtimes: a path or a name looked up on PATH; defaults
	// "python3" and "node". Interpreters overrides them per runtime
	// ("python3.12": "/usr/bin/python3.12").
	Python       string
	Node         string
	Interpreters map[string]string
	// MaxConcurrency caps concurrent invocations over all functions, and
	// the number of live instances; default DefaultMaxConcurrency.
	MaxConcurrency int
	// IdleTimeout is how long an unused instance stays warm.
	IdleTimeout time.Duration
	// InitTimeout bounds a cold start (AWS: 10 s).
	InitTimeout time.Duration
	// StopGrace is the time between SIGTERM and SIGKILL when an
	// instance is stopped.
	StopGrace time.Duration
	// MemoryPoll is the interval of the memory watchdog.
	MemoryPoll time.Duration
	// NoMemoryLimit only measures memory, never kills for it.
	NoMemoryLimit bool
	// LogMaxBytes is the size at which a function's log rotates.
	LogMaxBytes int64
	// Nice raises function processes' niceness above the server's by
	// this much (capped at 19; 0: same as the server's), so that S3 and
	// the other APIs win the CPU when functions would saturate it.
	Nice   int
	Logger *slog.Logger
}

// Engine runs deployments; it implements lambda.Engine.
type Engine struct {
	cfg        Config
	log        *slog.Logger
	runtimeDir string
	tmpDir     string
	code       *codeCache
	logs       *Logs
	endpoint   atomic.Pointer[string]

	interpMu sync.Mutex
	interps  map[string]string // configured name → resolved executable

	mu     sync.Mutex
	fns    map[string]*function
	busy   int // invocations in flight, cold starts included
	live   int // instances alive or starting
	closed bool

	stop chan struct{}
	wg   sync.WaitGroup
}

var _ lambda.Engine = (*Engine)(nil)

// function is the pool of one function's instances, all versions.
type function struct {
	name string
	busy int
	idle map[string][]*instance // by version\x00revision; most recently used last
	all  map[*instance]struct{}
	revs map[string]string // version → newest revision seen
}

// New creates the engine's directories, installs the runtime bootstraps
// and starts its background work (idle reaper, memory watchdog).
func New(cfg Config) (*Engine, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("engine: no data directory")
	}
	if cfg.Nice < 0 || cfg.Nice > 19 {
		return nil, fmt.Errorf("engine: function niceness %d is not in 0..19", cfg.Nice)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.Python == "" {
		cfg.Python = runtimes.Python.DefaultInterpreter()
	}
	if cfg.Node == "" {
		cfg.Node = runtimes.Node.DefaultInterpreter()
	}
	if cfg.MaxConcurrency <= 0 {
		cfg.MaxConcurrency = DefaultMaxConcurrency
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.InitTimeout <= 0 {
		cfg.InitTimeout = DefaultInitTimeout
	}
	if cfg.StopGrace <= 0 {
		cfg.StopGrace = DefaultStopGrace
	}
	if cfg.MemoryPoll <= 0 {
		cfg.MemoryPoll = DefaultMemoryPoll
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	root := filepath.Join(cfg.DataDir, "lambda")
	e := &Engine{
		cfg:     cfg,
		log:     log,
		tmpDir:  filepath.Join(root, "tmp"),
		interps: map[string]string{},
		fns:     map[string]*function{},
		stop:    make(chan struct{}),
	}
	e.SetEndpoint(cfg.EndpointURL)
	// Temporary directories of instances of a previous run.
	if err := os.RemoveAll(e.tmpDir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(e.tmpDir, 0o755); err != nil {
		return nil, err
	}
	var err error
	if e.runtimeDir, err = runtimes.Install(filepath.Join(root, "runtime")); err != nil {
		return nil, err
	}
	if e.code, err = newCodeCache(filepath.Join(root, "code")); err != nil {
		return nil, err
	}
	if e.logs, err = OpenLogs(LogsDir(cfg.DataDir), cfg.LogMaxBytes); err != nil {
		return nil, err
	}
	e.wg.Add(2)
	go e.reaper()
	go e.watchdog()
	return e, nil
}

// SetEndpoint sets the URL given to instances started from now on as
// AWS_ENDPOINT_URL (for when the listener's address is known only after
// the engine is built).
func (e *Engine) SetEndpoint(url string) { e.endpoint.Store(&url) }

// Logs is the per-function log store.
func (e *Engine) Logs() *Logs { return e.logs }

// Prepare readies d without starting an instance: it checks the runtime
// is known and its host interpreter present, and unpacks the package (once
// per code SHA-256), so the first invoke does not pay for it. Problems are
// *lambda.SetupError values. A missing bootstrap is not one: Lambda
// accepts such a package and fails its invocations (Invoke reports
// Runtime.InvalidEntrypoint). To validate a package when it is uploaded,
// use CheckZip.
func (e *Engine) Prepare(ctx context.Context, d *lambda.Deployment) error {
	rt, ok := runtimes.Lookup(d.Runtime)
	if !ok {
		return unknownRuntime(d.Runtime)
	}
	if rt.Family != runtimes.Provided {
		if _, err := e.interpreter(ctx, rt); err != nil {
			return err
		}
	}
	_, err := e.code.get(ctx, d)
	return err
}

func unknownRuntime(id string) error {
	return &lambda.SetupError{Code: "InvalidRuntimeException",
		Message: fmt.Sprintf("The runtime parameter of %s is not supported by sluice (supported: %s)", id, strings.Join(runtimes.IDs(), ", "))}
}

// errUndelivered is what an instance's invoke returns when its process
// exited before taking the invocation; Invoke then tries another instance.
var errUndelivered = errors.New("lambda engine: invocation not delivered")

// maxUndelivered bounds those retries.
const maxUndelivered = 3

// Invoke runs inv on an instance of d. See lambda.Engine.
//
// A function that fails — throws, times out, crashes, runs out of memory,
// answers more than 6 MB, fails its init or lacks its bootstrap — yields a
// Result with FunctionError "Unhandled" and Lambda's error document, as
// Lambda answers 200 with X-Amz-Function-Error. Invoke returns a
// *lambda.ThrottleError at the concurrency limits, a *lambda.SetupError
// when sluice cannot run the deployment at all (unknown runtime, no host
// interpreter, bad package), and ctx's error when the caller goes away
// during the invocation; the invocation then runs on to its end, as on
// Lambda, and is logged. ctx bounds fetching the code, not a cold start
// (InitTimeout does).
func (e *Engine) Invoke(ctx context.Context, d *lambda.Deployment, inv *lambda.Invocation) (*lambda.Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rt, ok := runtimes.Lookup(d.Runtime)
	if !ok {
		return nil, unknownRuntime(d.Runtime)
	}
	id := inv.RequestID
	if id == "" {
		id = newRequestID()
	}
	in, fn, err := e.acquire(d)
	for attempt := 0; err == nil && in != nil; attempt++ {
		res, ierr := in.invoke(ctx, d, inv, id, false)
		if ierr != errUndelivered || attempt == maxUndelivered {
			if ierr == errUndelivered {
				ierr = errors.New("lambda engine: instances keep exiting before taking an invocation")
			}
			return res, ierr
		}
		in, fn, err = e.acquire(d)
	}
	if err != nil {
		return nil, err
	}
	in, res, err := e.start(ctx, fn, d, rt, id)
	if in == nil {
		e.mu.Lock()
		e.live--
		e.unbusy(fn)
		e.mu.Unlock()
		return res, err
	}
	return in.invoke(ctx, d, inv, id, true)
}

// acquire reserves capacity for an invocation of d and returns an idle
// instance, or nil when a new one must be started (live has been
// incremented for it), and the function's pool.
func (e *Engine) acquire(d *lambda.Deployment) (*instance, *function, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, nil, ErrClosed
	}
	fn := e.fns[d.FunctionName]
	if fn == nil {
		fn = &function{name: d.FunctionName, idle: map[string][]*instance{},
			all: map[*instance]struct{}{}, revs: map[string]string{}}
		e.fns[d.FunctionName] = fn
	}
	if rev, seen := fn.revs[d.Version]; rev != d.Revision {
		fn.revs[d.Version] = d.Revision
		if seen {
			e.retireStale(fn, d.Version)
		}
	}
	if d.ReservedConcurrency != nil && fn.busy >= *d.ReservedConcurrency {
		return nil, nil, &lambda.ThrottleError{Reason: lambda.ReservedFunctionConcurrentInvocationLimitExceeded}
	}
	if e.busy >= e.cfg.MaxConcurrency {
		return nil, nil, &lambda.ThrottleError{Reason: lambda.ConcurrentInvocationLimitExceeded}
	}
	fn.busy++
	e.busy++
	key := d.Version + "\x00" + d.Revision
	for stack := fn.idle[key]; len(stack) > 0; stack = fn.idle[key] {
		in := stack[len(stack)-1]
		stack[len(stack)-1] = nil
		fn.idle[key] = stack[:len(stack)-1]
		select {
		case <-in.proc.Done():
			// Exited while idle: start afresh.
			e.dropLocked(in)
			continue
		default:
		}
		in.busy = true
		return in, fn, nil
	}
	if e.live >= e.cfg.MaxConcurrency {
		e.evictOldestIdle()
	}
	e.live++
	return nil, fn, nil
}

// unbusy ends an invocation's hold on capacity; e.mu is held.
func (e *Engine) unbusy(fn *function) {
	e.busy--
	if fn != nil {
		fn.busy--
	}
}

// retireStale stops idle instances of version whose revision is not the
// newest; busy ones are stopped when they finish. e.mu is held.
func (e *Engine) retireStale(fn *function, version string) {
	want := fn.revs[version]
	for key, stack := range fn.idle {
		v, rev, _ := strings.Cut(key, "\x00")
		if v != version || rev == want {
			continue
		}
		delete(fn.idle, key)
		for _, in := range stack {
			e.dropLocked(in)
		}
	}
}

// evictOldestIdle stops the least recently used idle instance of any
// function, to make room. e.mu is held.
func (e *Engine) evictOldestIdle() {
	var victim *instance
	var vkey string
	for _, fn := range e.fns {
		for key, stack := range fn.idle {
			if len(stack) > 0 && (victim == nil || stack[0].lastUsed.Before(victim.lastUsed)) {
				victim, vkey = stack[0], key
			}
		}
	}
	if victim == nil {
		return
	}
	fn := victim.fn
	fn.idle[vkey] = fn.idle[vkey][1:]
	if len(fn.idle[vkey]) == 0 {
		delete(fn.idle, vkey)
	}
	e.dropLocked(victim)
}

// dropLocked forgets an instance that is not busy and stops it in the
// background. e.mu is held.
func (e *Engine) dropLocked(in *instance) {
	delete(in.fn.all, in)
	e.live--
	in.retired = true
	if e.closed {
		return // Close stops every instance it found
	}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		in.stop()
	}()
}

// release returns an instance after an invocation: back to the idle pool
// if it is healthy and current, otherwise it is stopped.
func (e *Engine) release(in *instance, healthy bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	fn := in.fn
	e.unbusy(fn)
	in.busy = false
	if !healthy || in.retired || e.closed || e.fns[fn.name] != fn || fn.revs[in.version] != in.revision {
		e.dropLocked(in)
		return
	}
	in.lastUsed = time.Now()
	fn.idle[in.key] = append(fn.idle[in.key], in)
}

// Retire stops the instances of a function, all versions: idle ones now,
// busy ones when their invocation ends.
func (e *Engine) Retire(functionName string) {
	e.mu.Lock()
	fn := e.fns[functionName]
	if fn == nil {
		e.mu.Unlock()
		return
	}
	delete(e.fns, functionName)
	var idle []*instance
	for in := range fn.all {
		in.retired = true
		if !in.busy {
			idle = append(idle, in)
			delete(fn.all, in)
			e.live--
		}
	}
	fn.idle = map[string][]*instance{}
	e.mu.Unlock()
	var wg sync.WaitGroup
	for _, in := range idle {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in.stop()
		}()
	}
	wg.Wait()
}

// Close stops every instance and the engine's background work. Busy
// invocations end with Runtime.ExitError. Close is idempotent.
func (e *Engine) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	close(e.stop)
	var all []*instance
	for _, fn := range e.fns {
		for in := range fn.all {
			in.retired = true
			all = append(all, in)
		}
		fn.idle = map[string][]*instance{}
	}
	e.mu.Unlock()
	var wg sync.WaitGroup
	for _, in := range all {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in.stop()
		}()
	}
	wg.Wait()
	e.wg.Wait()
	return e.logs.Close()
}

// reaper stops instances idle for longer than IdleTimeout.
func (e *Engine) reaper() {
	defer e.wg.Done()
	period := min(max(e.cfg.IdleTimeout/4, 10*time.Millisecond), 30*time.Second)
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-e.stop:
			return
		case now := <-t.C:
			e.mu.Lock()
			for _, fn := range e.fns {
				for key, stack := range fn.idle {
					n := 0
					for n < len(stack) && now.Sub(stack[n].lastUsed) > e.cfg.IdleTimeout {
						e.dropLocked(stack[n])
						n++
					}
					if n == len(stack) {
						delete(fn.idle, key)
					} else if n > 0 {
						fn.idle[key] = append(stack[:0], stack[n:]...)
					}
				}
			}
			e.mu.Unlock()
		}
	}
}

// watchdog measures the resident memory of busy instances' process
// groups and kills those over their MemorySize.
func (e *Engine) watchdog() {
	defer e.wg.Done()
	t := time.NewTicker(e.cfg.MemoryPoll)
	defer t.Stop()
	var busy []*instance
	groups := map[int]uint64{}
	for {
		select {
		case <-e.stop:
			return
		case <-t.C:
		}
		busy = busy[:0]
		e.mu.Lock()
		for _, fn := range e.fns {
			for in := range fn.all {
				if in.busy && in.proc != nil {
					busy = append(busy, in)
				}
			}
		}
		e.mu.Unlock()
		if len(busy) == 0 {
			continue
		}
		clear(groups)
		for _, in := range busy {
			groups[in.proc.PID()] = 0
		}
		if err := process.GroupRSS(groups); err != nil {
			continue
		}
		for _, in := range busy {
			in.notePeak(groups[in.proc.PID()])
			in.checkMemory()
		}
	}
}

// interpreter resolves the host interpreter of rt once: a name is looked
// up on PATH, and a script (such as a pyenv or nvm shim) is asked for the
// real executable, so that instances start without the shim's overhead.
func (e *Engine) interpreter(ctx context.Context, rt runtimes.Runtime) (string, error) {
	name := e.cfg.Interpreters[rt.ID]
	if name == "" {
		if rt.Family == runtimes.Python {
			name = e.cfg.Python
		} else {
			name = e.cfg.Node
		}
	}
	e.interpMu.Lock()
	defer e.interpMu.Unlock()
	if p, ok := e.interps[name]; ok {
		return p, nil
	}
	missing := func(err error) error {
		return &lambda.SetupError{Code: "InvalidRuntimeException",
			Message: fmt.Sprintf("Runtime %s needs a %s interpreter on the sluice host: %v", rt.ID, rt.Family, err)}
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", missing(err)
	}
	if p, err = filepath.Abs(p); err != nil {
		return "", missing(err)
	}
	if isScript(p) {
		var probe []string
		if rt.Family == runtimes.Python {
			probe = []string{"-c", "import sys; sys.stdout.write(sys.executable)"}
		} else {
			probe = []string{"-e", "process.stdout.write(process.execPath)"}
		}
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		out, err := exec.CommandContext(cctx, p, probe...).Output()
		cancel()
		if err != nil {
			return "", missing(fmt.Errorf("%s: %v", p, err))
		}
		if real := strings.TrimSpace(string(out)); real != "" {
			p = real
		}
	}
	e.interps[name] = p
	return p, nil
}

// isScript reports whether the file starts with "#!".
func isScript(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	var b [2]byte
	n, _ := f.Read(b[:])
	return n == 2 && b[0] == '#' && b[1] == '!'
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newRequestID makes a UUID v4, Lambda's request ID format.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
