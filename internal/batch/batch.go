// Package batch is S3 Batch Operations: jobs that run one operation —
// invoke a function, copy, tag, untag, compute a checksum — on every
// object a manifest lists, and write a completion report.
//
// The pieces:
//
//	api.go        the jobs API, registered on the S3 Control handler
//	job.go        the job record and its statuses
//	scheduler.go  which job runs: priorities, pre-emption, confirmation,
//	              cancellation, expiry; one goroutine per job phase
//	prepare.go    Preparing: check and count the manifest, or generate one
//	manifest.go   streaming readers of CSV and inventory manifests
//	run.go        Active: the task coordinator, workers, retries, the
//	              failure threshold, checkpoints
//	outcomes.go   the per-job outcome log that makes progress durable
//	operation.go  the S3 operations a task performs
//	invoke.go     LambdaInvoke: the event, the response, result codes
//	report.go     the completion report
//
// Job records are documents of the metadata store; task outcomes are
// appended to a file per job under Config.Dir and committed by a
// high-water mark in the job's record (see outcomes.go). Manifests are
// streamed and never held in memory.
package batch

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/sluicehq/sluice/internal/lambda"
	"github.com/sluicehq/sluice/internal/meta"
	"github.com/sluicehq/sluice/internal/objstore"
)

// Objects is the object store a job reads manifests from, operates on and
// writes reports to. *objstore.Store implements it; its writes raise the
// same event notifications as the S3 API's.
type Objects interface {
	GetObject(ctx context.Context, in *objstore.GetInput) (*objstore.Object, error)
	HeadObject(ctx context.Context, in *objstore.GetInput) (*objstore.Object, error)
	PutObject(ctx context.Context, in *objstore.PutInput) (*meta.Version, error)
	CopyObject(ctx context.Context, in *objstore.CopyInput) (*objstore.CopyResult, error)
	SetObjectTags(ctx context.Context, bucket, key, versionID string, tags []meta.Tag, origin objstore.Origin) (*meta.Version, error)
	ListObjects(ctx context.Context, in *objstore.ListInput) (*objstore.ListResult, error)
	Bucket(ctx context.Context, name string) (*meta.Bucket, error)
}

// Functions runs the functions of LambdaInvoke jobs. *lambda.Service
// implements it.
type Functions interface {
	// Invoke runs a function; see lambda.Service.Invoke for its errors
	// (a *lambda.Error with code TooManyRequestsException is a throttle).
	Invoke(ctx context.Context, in *lambda.InvokeInput) (*lambda.InvokeOutput, error)
	// Resolve returns the deployment a function reference runs now.
	Resolve(ctx context.Context, name, qualifier string) (*lambda.Deployment, error)
}

// Options tune how jobs run. Zero values take the defaults.
type Options struct {
	// MaxActiveJobs is how many jobs run at once (default 4); the
	// others wait in Ready or Paused, highest priority first.
	MaxActiveJobs int
	// TaskConcurrency bounds the tasks of one job in flight (default
	// 64); a LambdaInvoke job is also bounded by its function's reserved
	// concurrency.
	TaskConcurrency int
	// RampStart is a job's concurrency when it starts (default 4); it
	// doubles every RampInterval (default 200 ms) while no throttle is
	// seen, and halves on a throttle.
	RampStart    int
	RampInterval time.Duration
	// MaxAttempts is how many times a task that reports
	// TemporaryFailure runs in all (default 3); RetryDelay is the wait
	// before its first redrive (default 1 s), doubling each time.
	MaxAttempts int
	RetryDelay  time.Duration
	// ThrottleDelay is the wait after a throttled invocation (default
	// 100 ms), doubling to at most 5 s; throttles do not count as
	// attempts.
	ThrottleDelay time.Duration
	// CheckpointInterval is how often progress is committed (default
	// 250 ms).
	CheckpointInterval time.Duration
	// Window bounds how far past its lowest unfinished task a job
	// reads its manifest (default 50,000 tasks).
	Window int
	// SuspendedTimeout fails a job that awaits confirmation this long
	// (default 30 days); Retention removes finished jobs this long after
	// they ended (default 90 days).
	SuspendedTimeout time.Duration
	Retention        time.Duration
	// ThresholdTasks is how many tasks must have run before the failure
	// rate can fail a job (default 1,000).
	ThresholdTasks int64
	// Observe, when set, is called after each committed change of a
	// job's status, in order for each job (for tests and metrics). It
	// must return quickly.
	Observe func(jobID string, from, to Status)
}

func (o *Options) defaults() {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defd := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.MaxActiveJobs, 4)
	def(&o.TaskConcurrency, 64)
	def(&o.RampStart, 4)
	def(&o.MaxAttempts, 3)
	def(&o.Window, 50_000)
	defd(&o.RampInterval, 200*time.Millisecond)
	defd(&o.RetryDelay, time.Second)
	defd(&o.ThrottleDelay, 100*time.Millisecond)
	defd(&o.CheckpointInterval, 250*time.Millisecond)
	defd(&o.SuspendedTimeout, 30*24*time.Hour)
	defd(&o.Retention, 90*24*time.Hour)
	if o.ThresholdTasks <= 0 {
		o.ThresholdTasks = 1000
	}
	if o.RampStart > o.TaskConcurrency {
		o.RampStart = o.TaskConcurrency
	}
}

// Config holds a Service's dependencies.
type Config struct {
	Meta    meta.Store
	Objects Objects
	// Functions runs LambdaInvoke tasks; without it such jobs fail.
	Functions Functions
	// Dir holds the jobs' outcome logs and generated manifests.
	Dir       string
	Region    string
	AccountID string
	// Owner is the canonical ID that owns the objects jobs write
	// (copies, reports, generated manifests).
	Owner string
	// StatusOf maps an S3 error code to its HTTP status, for reports
	// (s3api.StatusOf); nil reports 400 for every code but InternalError.
	StatusOf func(code string) int
	Options  Options
	Logger   *slog.Logger
	// NoSync skips fsync of outcome logs (tests that do not test
	// durability).
	NoSync bool
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Service runs Batch Operations jobs. Register its API with Register,
// then Start it.
type Service struct {
	meta      meta.Store
	objects   Objects
	functions Functions
	dir       string
	region    string
	account   string
	owner     string
	statusOf  func(string) int
	opts      Options
	log       *slog.Logger
	noSync    bool
	now       func() time.Time

	kick chan struct{}
	stop chan struct{}
	wg   sync.WaitGroup
	once sync.Once

	mu      sync.Mutex
	workers map[string]*worker
	closing bool
}

// New returns a Service.
func New(cfg Config) *Service {
	cfg.Options.defaults()
	s := &Service{
		meta:      cfg.Meta,
		objects:   cfg.Objects,
		functions: cfg.Functions,
		dir:       cfg.Dir,
		region:    cfg.Region,
		account:   cfg.AccountID,
		owner:     cfg.Owner,
		statusOf:  cfg.StatusOf,
		opts:      cfg.Options,
		log:       cfg.Logger,
		noSync:    cfg.NoSync,
		now:       cfg.Now,
		kick:      make(chan struct{}, 1),
		stop:      make(chan struct{}),
		workers:   map[string]*worker{},
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.region == "" {
		s.region = "us-east-1"
	}
	if s.statusOf == nil {
		s.statusOf = func(code string) int {
			if code == "InternalError" {
				return http.StatusInternalServerError
			}
			return http.StatusBadRequest
		}
	}
	return s
}

// Start runs the scheduler, which resumes the jobs a previous run left
// unfinished.
func (s *Service) Start() {
	s.wg.Add(1)
	go s.schedule()
}

// Close stops every job where it stands (their progress is committed;
// they resume at the next Start) and waits for the goroutines. It is safe
// to call more than once.
func (s *Service) Close() error {
	s.once.Do(func() {
		s.mu.Lock()
		s.closing = true
		for _, w := range s.workers {
			w.halt(stopShutdown)
		}
		s.mu.Unlock()
		close(s.stop)
	})
	s.wg.Wait()
	return nil
}

// jobDir is where a job's files live.
func (s *Service) jobDir(id string) string { return filepath.Join(s.dir, id) }

// removeJobDir deletes a job's files.
func (s *Service) removeJobDir(id string) {
	if err := os.RemoveAll(s.jobDir(id)); err != nil {
		s.log.Warn("batch: removing job files", "job", id, "err", err)
	}
}

// Kick makes the scheduler look at the jobs now.
func (s *Service) Kick() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}
