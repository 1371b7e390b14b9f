package lambda

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"time"

	"github.com/sluicehq/sluice/internal/blob"
	"github.com/sluicehq/sluice/internal/meta"
)

// Limits AWS documents, which sluice enforces.
const (
	// MaxZipSize is the largest ZipFile a request may carry.
	MaxZipSize = 52428800
	// MaxUnzippedSize bounds the unpacked size of a package.
	MaxUnzippedSize = 262144000
	// MaxCodeRequestSize is the largest CreateFunction or
	// UpdateFunctionCode request body (a 50 MB zip in base64 and JSON).
	MaxCodeRequestSize = 70167211
	// MaxEnvironmentSize bounds the JSON form of a function's variables.
	MaxEnvironmentSize = 4096
	// MaxSyncPayload and MaxAsyncPayload bound Invoke request payloads.
	MaxSyncPayload  = 6291456
	MaxAsyncPayload = 1048576
	// MaxResponsePayload bounds a synchronous invocation's response; a
	// larger one becomes a Function.ResponseSizeTooLarge function error.
	MaxResponsePayload = 6291556
	// MaxListItems is the largest page ListFunctions and friends return.
	MaxListItems = 50
	// MaxTags is how many tags a function may have.
	MaxTags = 50
	// MaxPolicySize bounds a resource policy document.
	MaxPolicySize = 20480

	// DefaultTimeout and MaxTimeout are in seconds.
	DefaultTimeout = 3
	MaxTimeout     = 900
	// DefaultMemorySize, MinMemorySize and MaxMemorySize are in MB.
	DefaultMemorySize = 128
	MinMemorySize     = 128
	MaxMemorySize     = 10240
	// DefaultEphemeralStorage is /tmp's size in MB (512–10,240).
	DefaultEphemeralStorage = 512

	// DefaultConcurrencyLimit is the account's concurrent executions.
	DefaultConcurrencyLimit = 1000
	// MinUnreservedConcurrency is what reservations must leave free.
	MinUnreservedConcurrency = 100
	// DefaultCodeStorageLimit is the account's total code size (75 GB).
	DefaultCodeStorageLimit = 80530636800
)

// CodeSource reads function packages from sluice's own S3 buckets, for
// Code.S3Bucket/S3Key/S3ObjectVersion.
type CodeSource interface {
	// OpenObject opens an object ("" versionID: the latest version). An
	// object that cannot be read through the caller's fault (no such
	// bucket, key or version) is an *ObjectError carrying S3's code and
	// message; other errors are passed on as failures.
	OpenObject(ctx context.Context, bucket, key, versionID string) (io.ReadCloser, error)
}

// FunctionKeys mints the access keys functions run with. Its methods run
// inside the caller's metadata transaction, so that a function and its key
// are created and deleted together. *iam.Service implements it.
type FunctionKeys interface {
	// PutFunctionKey returns the access key of the function, creating it
	// if it has none and recording roleARN as the role it acts with.
	PutFunctionKey(tx meta.Tx, functionARN, roleARN string) (accessKeyID, secret string, err error)
	// FunctionKey returns the function's access key; ok is false if it
	// has none.
	FunctionKey(tx meta.Tx, functionARN string) (accessKeyID, secret string, ok bool, err error)
	// DeleteFunctionKey revokes the function's access key, if any.
	DeleteFunctionKey(tx meta.Tx, functionARN string) error
}

// AsyncEvent is an asynchronous (Event) invocation accepted for delivery.
type AsyncEvent struct {
	// FunctionName is the function's name.
	FunctionName string
	// Qualifier is the version or alias the caller named ("" for the
	// unqualified function); the queue resolves it when it delivers,
	// through Service.Resolve.
	Qualifier  string
	Invocation Invocation
	// Accepted is when Invoke accepted the event (for event age).
	Accepted time.Time
}

// AsyncQueue keeps Event invocations until they are delivered. It is
// implemented by the asynchronous invocation engine.
type AsyncQueue interface {
	// Enqueue stores ev durably and returns once it is stored; an error
	// means the event was not accepted.
	Enqueue(ctx context.Context, ev *AsyncEvent) error
}

// Config holds a Service's dependencies and settings.
type Config struct {
	Meta  meta.Store
	Blobs blob.Store
	// Keys mints function credentials; nil leaves Deployment.Credentials
	// empty.
	Keys FunctionKeys
	// Code reads packages given as S3 objects; nil refuses them.
	Code CodeSource
	// Engine runs invocations; nil makes every invocation fail with a
	// ServiceException.
	Engine Engine
	// Queue accepts Event invocations; nil makes them fail with a
	// ServiceException.
	Queue     AsyncQueue
	Region    string
	AccountID string
	// ConcurrencyLimit is the account's concurrent executions; 0 means
	// DefaultConcurrencyLimit.
	ConcurrencyLimit int
	// CodeStorageLimit is the account's total code size in bytes; 0
	// means DefaultCodeStorageLimit.
	CodeStorageLimit int64
	Logger           *slog.Logger
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Service is the Lambda control plane and invocation front door. It keeps
// functions as documents in the metadata store and their packages in the
// blob store. It is safe for concurrent use.
type Service struct {
	meta        meta.Store
	blobs       blob.Store
	keys        FunctionKeys
	code        CodeSource
	engine      Engine
	queue       AsyncQueue
	region      string
	account     string
	concurrency int
	codeLimit   int64
	log         *slog.Logger
	now         func() time.Time

	deployments deploymentCache
}

// New returns a Service.
func New(cfg Config) *Service {
	s := &Service{
		meta:        cfg.Meta,
		blobs:       cfg.Blobs,
		keys:        cfg.Keys,
		code:        cfg.Code,
		engine:      cfg.Engine,
		queue:       cfg.Queue,
		region:      cfg.Region,
		account:     cfg.AccountID,
		concurrency: cfg.ConcurrencyLimit,
		codeLimit:   cfg.CodeStorageLimit,
		log:         cfg.Logger,
		now:         cfg.Now,
	}
	if s.region == "" {
		s.region = "us-east-1"
	}
	if s.account == "" {
		s.account = "000000000000"
	}
	if s.concurrency <= 0 {
		s.concurrency = DefaultConcurrencyLimit
	}
	if s.codeLimit <= 0 {
		s.codeLimit = DefaultCodeStorageLimit
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.meta != nil {
		// Writes invalidate the resolved Deployments (resolvecache.go).
		s.meta = genStore{Store: s.meta, gen: &s.deployments.gen}
	}
	return s
}

// Region is the region the service reports in ARNs.
func (s *Service) Region() string { return s.region }

// AccountID is the account the service's functions belong to.
func (s *Service) AccountID() string { return s.account }

// timestamp is the current time at the millisecond precision Lambda
// reports.
func (s *Service) timestamp() time.Time {
	return s.now().UTC().Truncate(time.Millisecond)
}

// newRevisionID returns a random UUID, the form of Lambda's RevisionId.
func newRevisionID() string { return newUUID() }

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// TimeLayout is the form of FunctionConfiguration.LastModified.
const TimeLayout = "2006-01-02T15:04:05.000-0700"
