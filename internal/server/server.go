// Package server assembles a sluice node from its parts — metadata store,
// blob store, object store, IAM and the HTTP surfaces — and runs it. It is
// used by cmd/sluice and by end-to-end tests, which start real nodes on
// loopback ports.
package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/sluicehq/sluice/internal/accesspoint"
	"github.com/sluicehq/sluice/internal/adminapi"
	"github.com/sluicehq/sluice/internal/batch"
	"github.com/sluicehq/sluice/internal/blob/disk"
	"github.com/sluicehq/sluice/internal/iam"
	"github.com/sluicehq/sluice/internal/iamapi"
	"github.com/sluicehq/sluice/internal/kms"
	"github.com/sluicehq/sluice/internal/lambda"
	"github.com/sluicehq/sluice/internal/lambda/async"
	"github.com/sluicehq/sluice/internal/lambda/engine"
	"github.com/sluicehq/sluice/internal/lambdaapi"
	"github.com/sluicehq/sluice/internal/load"
	"github.com/sluicehq/sluice/internal/meta/bolt"
	"github.com/sluicehq/sluice/internal/notify"
	"github.com/sluicehq/sluice/internal/objectlambda"
	"github.com/sluicehq/sluice/internal/objstore"
	"github.com/sluicehq/sluice/internal/router"
	"github.com/sluicehq/sluice/internal/s3api"
	"github.com/sluicehq/sluice/internal/s3control"
	"github.com/sluicehq/sluice/internal/sigv4"
)

// Config configures a node.
type Config struct {
	// DataDir holds all state: metadata, blobs, generated credentials.
	DataDir   string
	Region    string
	AccountID string
	// Domains are the virtual-hosted-style base domains.
	Domains []string
	// AccessKeyID and SecretAccessKey are the root credentials; when both
	// are empty they are loaded from (or generated into) DataDir.
	AccessKeyID     string
	SecretAccessKey string
	Logger          *slog.Logger
	// NoSync turns off fsync: for tests that do not test durability.
	NoSync bool
	// InlineMax overrides objstore.DefaultInlineMax.
	InlineMax int64
	// DefaultEncryption is the server-side encryption of new objects that
	// ask for none and whose bucket has no default encryption: "" (none)
	// or objstore.SSES3. See docs/design.md.
	DefaultEncryption string
	// LegacyBucketDefaults gives new buckets S3's defaults from before
	// April 2023 (ACLs enabled, no Block Public Access) instead of AWS's
	// current ones; for test suites written against them (docs/design.md,
	// "Authorization").
	LegacyBucketDefaults bool
	// Functions configures the function engine the node runs.
	Functions FunctionsConfig
	// LambdaEngine replaces the node's own function engine (tests); the
	// node does not close it. LambdaQueue replaces its asynchronous
	// invocation queue (an async.Queue over the metadata store by
	// default); the node does not close it either.
	LambdaEngine lambda.Engine
	LambdaQueue  lambda.AsyncQueue
	// ObjectLambdaTimeout bounds a GET through an Object Lambda access
	// point (objectlambda.DefaultTimeout, AWS's 60 s, if 0).
	ObjectLambdaTimeout time.Duration
	// Batch tunes how Batch Operations jobs run (zero values are the
	// defaults of batch.Options).
	Batch batch.Options
}

// FunctionsConfig configures how the node runs functions.
type FunctionsConfig struct {
	// Python and Node are the host interpreters of the python3.x and
	// nodejs*.x runtimes (paths or names on PATH; defaults python3, node).
	Python string
	Node   string
	// MaxConcurrency caps concurrent invocations (engine default if 0).
	MaxConcurrency int
	// IdleTimeout is how long an unused instance stays warm (engine
	// default if 0).
	IdleTimeout time.Duration
	// Nice raises function processes' niceness above the server's by
	// this much (0..19; 0 leaves it equal), so that the server's own
	// requests win the CPU when the machine is saturated.
	Nice int
	// Async tunes asynchronous invocation (retry delays, backoff,
	// workers); zero values are AWS's defaults. Async.MaxDefer is how
	// long a delivery may be held back while S3 requests saturate the
	// node (package load; 0: async.DefaultMaxDefer).
	Async async.Options
	// NoDefer delivers asynchronous invocations and S3 events as soon as
	// a worker is free, however busy the node is with S3 requests.
	NoDefer bool
	// DeferLimit is how many S3 requests at once, on average, saturate
	// the node (0: load.DefaultLimit, four per processor).
	DeferLimit int
	// EventLog bounds the log of S3 event deliveries (sluice events):
	// finished deliveries are kept for EventLogRetention (default 24 h)
	// and at most EventLogKeep of them (default 10,000).
	EventLogRetention time.Duration
	EventLogKeep      int
}

// Credentials are root credentials.
type Credentials struct {
	AccessKeyID     string `json:"access_key_id"`
	SecretAccessKey string `json:"secret_access_key"`
}

// Server is a running sluice node.
type Server struct {
	cfg     Config
	log     *slog.Logger
	meta    *bolt.Store
	store   *objstore.Store
	lambda  *lambda.Service
	engine  *engine.Engine
	async   *async.Queue
	notify  *notify.Service
	control *s3control.Handler
	olambda *objectlambda.Service
	batch   *batch.Service
	handler http.Handler
	// foreground counts the S3 requests in flight (see package load).
	foreground *load.Gauge
	creds      Credentials
	// Generated is set when the credentials were created by this Open.
	Generated bool

	mu      sync.Mutex
	servers []*http.Server
	closed  bool
}

// Open opens (creating if needed) a node's state and builds its handler.
func Open(cfg Config) (*Server, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("server: no data directory")
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.AccountID == "" {
		cfg.AccountID = "000000000000"
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: log}
	creds, generated, err := loadCredentials(cfg)
	if err != nil {
		return nil, err
	}
	s.creds, s.Generated = creds, generated

	if cfg.DefaultEncryption != "" && cfg.DefaultEncryption != objstore.SSES3 {
		return nil, fmt.Errorf("server: default encryption %q: want %q or none", cfg.DefaultEncryption, objstore.SSES3)
	}
	m, err := bolt.Open(filepath.Join(cfg.DataDir, "meta.db"), bolt.Options{Logger: log, NoSync: cfg.NoSync})
	if err != nil {
		return nil, err
	}
	blobs, err := disk.Open(filepath.Join(cfg.DataDir, "blobs"), disk.Options{NoSync: cfg.NoSync})
	if err != nil {
		m.Close()
		return nil, err
	}
	keys, err := kms.Open(filepath.Join(cfg.DataDir, "kms.json"), cfg.Region, cfg.AccountID)
	if err != nil {
		m.Close()
		return nil, err
	}
	s.meta = m
	s.notify = notify.New(notify.Config{
		Meta: m, Region: cfg.Region, AccountID: cfg.AccountID, Logger: log,
		Retention: cfg.Functions.EventLogRetention, Keep: cfg.Functions.EventLogKeep,
	})
	s.store = objstore.New(objstore.Config{
		Meta: m, Blobs: blobs, Region: cfg.Region, Logger: log, InlineMax: cfg.InlineMax,
		Keys: keys, DefaultEncryption: cfg.DefaultEncryption, Events: s.notify,
	})
	s.store.Start()

	ids := iam.New(m, cfg.AccountID, creds.AccessKeyID, creds.SecretAccessKey)
	var s3h *s3api.Handler
	verifier := &sigv4.Verifier{
		Credentials: ids,
		V2Resource:  func(r *http.Request) string { return s3h.V2Resource(r) },
	}
	aps := accesspoint.New(accesspoint.Config{Meta: m, Region: cfg.Region, AccountID: cfg.AccountID, Logger: log})
	s.olambda = objectlambda.New(objectlambda.Config{
		Invoker: functionInvoker{s}, Secrets: ids, Principals: ids, Verifier: verifier,
		S3:     http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s3h.ServeHTTP(w, r) }),
		Region: cfg.Region, AccountID: cfg.AccountID, Timeout: cfg.ObjectLambdaTimeout, Logger: log,
	})
	s3h = s3api.New(s3api.Config{
		Store: s.store, IAM: ids, Verifier: verifier, Domains: cfg.Domains, Logger: log,
		LegacyBucketDefaults: cfg.LegacyBucketDefaults, Notifications: s.notify,
		AccessPoints: aps, ObjectLambda: s.olambda,
	})
	// S3 requests are the foreground that deliveries yield to.
	s.foreground = load.New(cfg.Functions.DeferLimit)
	rt := router.New(s.foreground.Handler(s3h))
	rt.Handle(router.Admin, adminapi.New(adminapi.Config{IAM: ids, Verifier: verifier, Events: s.notify, Logger: log}))
	rt.Handle(router.IAM, iamapi.New(iamapi.Config{IAM: ids, Verifier: verifier, Logger: log}))
	s.control = s3control.New(s3control.Config{IAM: ids, Verifier: verifier, AccountID: cfg.AccountID, Logger: log})
	rt.Handle(router.S3Control, s.control)
	aps.Register(s.control)
	rt.Handle(router.ObjectLambda, s.olambda)
	fnEngine := cfg.LambdaEngine
	if fnEngine == nil {
		e, err := engine.New(engine.Config{
			DataDir: cfg.DataDir, Region: cfg.Region, Logger: log,
			Python: cfg.Functions.Python, Node: cfg.Functions.Node,
			MaxConcurrency: cfg.Functions.MaxConcurrency, IdleTimeout: cfg.Functions.IdleTimeout,
			Nice: cfg.Functions.Nice,
		})
		if err != nil {
			s.store.Close()
			m.Close()
			return nil, err
		}
		s.engine, fnEngine = e, e
	}
	fnQueue := cfg.LambdaQueue
	if fnQueue == nil {
		acfg := async.Config{
			Meta: m, Dir: async.Dir(cfg.DataDir), Options: cfg.Functions.Async, Logger: log,
			Objects:  objectWriter{store: s.store, owner: iam.CanonicalID(cfg.AccountID, ""), origin: objstore.Origin{PrincipalID: cfg.AccountID}},
			Observer: s.notify,
		}
		if !cfg.Functions.NoDefer {
			acfg.Foreground = s.foreground
		}
		if s.engine != nil {
			acfg.Logs = s.engine.Logs()
		}
		q, err := async.New(acfg)
		if err != nil {
			if s.engine != nil {
				s.engine.Close()
			}
			s.store.Close()
			m.Close()
			return nil, err
		}
		s.async, fnQueue = q, q
	}
	s.lambda = lambda.New(lambda.Config{
		Meta: m, Blobs: blobs, Keys: ids, Code: codeSource{s.store},
		Engine: fnEngine, Queue: fnQueue,
		Region: cfg.Region, AccountID: cfg.AccountID, Logger: log,
	})
	if s.async != nil {
		s.async.Start(s.lambda)
		s.notify.Start(s.async, s.lambda)
	} else if q, ok := fnQueue.(notify.Queue); ok {
		s.notify.Start(q, s.lambda)
	}
	s.batch = batch.New(batch.Config{
		Meta: m, Objects: s.store, Functions: s.lambda, Dir: filepath.Join(cfg.DataDir, "batch"),
		Region: cfg.Region, AccountID: cfg.AccountID, Owner: iam.CanonicalID(cfg.AccountID, ""),
		StatusOf: s3api.StatusOf, Options: cfg.Batch, Logger: log, NoSync: cfg.NoSync,
	})
	s.batch.Register(s.control)
	s.batch.Start()
	rt.Handle(router.Lambda, lambdaapi.New(lambdaapi.Config{
		Lambda: s.lambda, IAM: ids, Verifier: verifier,
		RootAccessKeyID: creds.AccessKeyID, RootSecretAccessKey: creds.SecretAccessKey, Logger: log,
	}))
	s.handler = rt
	return s, nil
}

// functionInvoker invokes functions for Object Lambda through the node's
// function service, which is built after the S3 handler that needs it.
type functionInvoker struct{ s *Server }

var _ objectlambda.Invoker = functionInvoker{}

func (f functionInvoker) InvokeARN(ctx context.Context, functionARN string, typ lambda.InvocationType, payload []byte) (*lambda.InvokeOutput, error) {
	return f.s.lambda.InvokeARN(ctx, functionARN, typ, payload)
}

// Lambda is the node's function service, for sluice's own event sources.
func (s *Server) Lambda() *lambda.Service { return s.lambda }

// Notifications is the node's bucket notification service (its event log
// included).
func (s *Server) Notifications() *notify.Service { return s.notify }

var _ lambda.FunctionKeys = (*iam.Service)(nil)

// codeSource reads function packages from the node's buckets.
type codeSource struct{ store *objstore.Store }

var _ lambda.CodeSource = codeSource{}

func (c codeSource) OpenObject(ctx context.Context, bucket, key, versionID string) (io.ReadCloser, error) {
	obj, err := c.store.GetObject(ctx, &objstore.GetInput{Bucket: bucket, Key: key, VersionID: versionID})
	var oe *objstore.Error
	if errors.As(err, &oe) {
		return nil, &lambda.ObjectError{Code: oe.Code, Message: oe.Message}
	}
	if err != nil {
		return nil, err
	}
	return obj.Body, nil
}

// objectWriter writes asynchronous invocation records into the node's
// buckets (S3 failure destinations), as the account root.
type objectWriter struct {
	store  *objstore.Store
	owner  string
	origin objstore.Origin
}

var _ async.Objects = objectWriter{}

func (o objectWriter) PutObject(ctx context.Context, bucket, key, contentType string, body []byte) error {
	_, err := o.store.PutObject(ctx, &objstore.PutInput{
		Bucket: bucket, Key: key, Owner: o.owner,
		Body: bytes.NewReader(body), Size: int64(len(body)),
		Meta:   objstore.ObjectMeta{ContentType: contentType},
		Origin: o.origin,
	})
	return err
}

// Handler is the node's HTTP handler (every API surface).
func (s *Server) Handler() http.Handler { return s.handler }

// Credentials returns the root credentials.
func (s *Server) Credentials() Credentials { return s.creds }

// Serve serves HTTP on ln until Close or ctx ends.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errors.New("server: closed")
	}
	if len(s.servers) == 0 {
		// Functions' SDKs (and Object Lambda functions' inputS3Url) call
		// this node at the first address it serves.
		if s.engine != nil {
			s.engine.SetEndpoint(endpointURL(ln))
		}
		s.olambda.SetEndpoint(endpointURL(ln))
	}
	s.servers = append(s.servers, hs)
	s.mu.Unlock()
	stop := context.AfterFunc(ctx, func() { hs.Close() })
	defer stop()
	err := hs.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Close stops serving (letting in-flight requests finish for up to
// 10 seconds), then stops background work and closes the stores. It is safe
// to call more than once.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	servers := s.servers
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, hs := range servers {
		if err := hs.Shutdown(ctx); err != nil {
			hs.Close()
		}
	}
	s.batch.Close() // before the engine and the store: running jobs commit their progress
	if s.async != nil {
		s.async.Close() // before the engine: deliveries in progress stop first
	}
	s.olambda.Close() // before the engine: transformations in progress stop first
	if s.engine != nil {
		s.engine.Close()
	}
	s.store.Close()
	s.notify.Close()
	return s.meta.Close()
}

// endpointURL is the URL clients on this host use for a listener: a
// wildcard address is reached through loopback.
func endpointURL(ln net.Listener) string {
	addr, ok := ln.Addr().(*net.TCPAddr)
	if !ok {
		return "http://" + ln.Addr().String()
	}
	host := addr.IP.String()
	if addr.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(addr.Port))
}

// credentialsFile is where generated root credentials are kept.
const credentialsFile = "credentials.json"

func loadCredentials(cfg Config) (Credentials, bool, error) {
	if cfg.AccessKeyID != "" || cfg.SecretAccessKey != "" {
		if cfg.AccessKeyID == "" || cfg.SecretAccessKey == "" {
			return Credentials{}, false, errors.New("server: both an access key ID and a secret access key are needed")
		}
		return Credentials{AccessKeyID: cfg.AccessKeyID, SecretAccessKey: cfg.SecretAccessKey}, false, nil
	}
	path := filepath.Join(cfg.DataDir, credentialsFile)
	raw, err := os.ReadFile(path)
	if err == nil {
		var c Credentials
		if err := json.Unmarshal(raw, &c); err != nil || c.AccessKeyID == "" || c.SecretAccessKey == "" {
			return Credentials{}, false, fmt.Errorf("server: malformed %s", path)
		}
		return c, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return Credentials{}, false, err
	}
	c := Credentials{AccessKeyID: "SLUICE" + randomString(14, upperAlnum), SecretAccessKey: randomString(40, secretChars)}
	raw, _ = json.MarshalIndent(c, "", "  ")
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(raw, '\n'), 0o600); err != nil {
		return Credentials{}, false, err
	}
	if err := os.Rename(tmp, path); err != nil {
		return Credentials{}, false, err
	}
	return c, true, nil
}

const (
	upperAlnum  = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	secretChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
)

func randomString(n int, alphabet string) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// CredentialsPath returns where generated credentials of dataDir live.
func CredentialsPath(dataDir string) string { return filepath.Join(dataDir, credentialsFile) }

// Control is the node's S3 Control handler, on which the access point and
// Batch Operations services register their operations.
func (s *Server) Control() *s3control.Handler { return s.control }
