// Command sluice is an S3-compatible object store that runs its users'
// functions. See README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/sluicehq/sluice/internal/batch"
	"github.com/sluicehq/sluice/internal/bench"
	"github.com/sluicehq/sluice/internal/lambda/async"
	"github.com/sluicehq/sluice/internal/server"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "sluice:", err)
		}
		os.Exit(2)
	}
}

const usage = `sluice — an S3-compatible object store that runs your functions

Usage:
  sluice server [flags]        run the server (sluice server -h for flags)
  sluice fn COMMAND            deploy, invoke and list functions (sluice fn help)
  sluice logs FUNCTION         print or follow a function's log (sluice logs -h)
  sluice events [flags]        list or follow S3 event deliveries to functions (sluice events -h)
  sluice job COMMAND           create, follow, confirm and cancel Batch Operations jobs (sluice job help)
  sluice bench s3 [flags]      load-test an S3 endpoint (sluice or another)
  sluice bench invoke [flags]  measure function invocation latency, throughput and cold starts
  sluice bench events [flags]  measure S3 event notifications: PUT → function start latency, PUT cost
  sluice bench objectlambda [flags]  measure Object Lambda: time to first byte through a transform, MB/s streamed
  sluice bench batch [flags]   measure Batch Operations: LambdaInvoke and copy tasks/s, memory of a huge manifest
`

func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return flag.ErrHelp
	}
	switch args[0] {
	case "server":
		return runServer(ctx, args[1:], getenv, stdout, stderr)
	case "fn":
		return runFn(ctx, args[1:], env{getenv, stdin, stdout, stderr})
	case "logs":
		return runLogs(ctx, args[1:], env{getenv, stdin, stdout, stderr})
	case "events":
		return runEvents(ctx, args[1:], env{getenv, stdin, stdout, stderr})
	case "job":
		return runJob(ctx, args[1:], env{getenv, stdin, stdout, stderr})
	case "bench":
		switch {
		case len(args) >= 2 && args[1] == "s3":
			return bench.RunS3(ctx, args[2:], stdout, stderr)
		case len(args) >= 2 && args[1] == "invoke":
			return bench.RunInvoke(ctx, args[2:], stdout, stderr)
		case len(args) >= 2 && args[1] == "events":
			return bench.RunEvents(ctx, args[2:], stdout, stderr)
		case len(args) >= 2 && args[1] == "objectlambda":
			return bench.RunObjectLambda(ctx, args[2:], stdout, stderr)
		case len(args) >= 2 && args[1] == "batch":
			return bench.RunBatch(ctx, args[2:], stdout, stderr)
		}
		fmt.Fprint(stderr, usage)
		return flag.ErrHelp
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

// defaultFunctionNice is --function-nice's default. Measured on a
// 2-core host (docs/benchmarks.md, "Event notifications", third pass),
// niced functions did not raise PUT throughput with notifications (the
// server, not the functions, was the limit; the CPU had idle time) and
// they slowed event delivery and warm invokes, so it is off by default.
const defaultFunctionNice = 0

func runServer(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sluice server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:9000", "listen address")
	data := fs.String("data", "./sluice-data", "data directory")
	region := fs.String("region", "us-east-1", "region reported to clients")
	account := fs.String("account-id", "000000000000", "12-digit account ID")
	domain := fs.String("domain", "localhost", "comma-separated base domains for virtual-hosted-style requests (bucket.<domain>)")
	accessKey := fs.String("access-key", getenv("SLUICE_ACCESS_KEY_ID"), "root access key ID (env SLUICE_ACCESS_KEY_ID; generated if unset)")
	secretKey := fs.String("secret-key", getenv("SLUICE_SECRET_ACCESS_KEY"), "root secret access key (env SLUICE_SECRET_ACCESS_KEY)")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn, error")
	legacyBuckets := fs.Bool("legacy-bucket-defaults", false,
		"create buckets with S3's pre-2023 defaults: ACLs enabled, no Block Public Access (for old test suites)")
	python := fs.String("python", "python3", "host interpreter for python3.x functions")
	node := fs.String("node", "node", "host interpreter for nodejs*.x functions")
	fnConcurrency := fs.Int("function-concurrency", 0, "maximum concurrent function invocations (0: engine default)")
	fnNice := fs.Int("function-nice", defaultFunctionNice,
		"run function processes this much nicer than the server (0..19; 0: same priority), so that S3 requests win a CPU that functions saturate")
	deliveryDefer := fs.Duration("delivery-defer", async.DefaultMaxDefer,
		"longest an asynchronous invocation or S3 event delivery waits, durably queued, while S3 requests saturate the server (0: deliver at once, competing with S3 requests)")
	batchJobs := fs.Int("batch-jobs", 0, "Batch Operations jobs that run at once; the others wait by priority (0: default 4)")
	batchConcurrency := fs.Int("batch-concurrency", 0, "tasks of one Batch Operations job in flight after its ramp-up (0: default 64)")
	pprofAddr := fs.String("pprof", "", "serve Go's profiling endpoints (/debug/pprof/) on this loopback `address`, e.g. 127.0.0.1:6060 (off when empty)")
	defaultSSE := fs.String("default-encryption", "",
		"encrypt new objects that ask for no encryption (and whose bucket has none) at rest: AES256 (SSE-S3, as S3 does since 2023) or empty for none")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *deliveryDefer < 0 {
		return fmt.Errorf("--delivery-defer must not be negative, got %s", *deliveryDefer)
	}
	if *fnNice < 0 || *fnNice > 19 {
		return fmt.Errorf("--function-nice must be in 0..19, got %d", *fnNice)
	}
	if !validAccountID(*account) {
		return fmt.Errorf("--account-id must be 12 digits, got %q", *account)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	if *pprofAddr != "" {
		stopPprof, err := startPprof(*pprofAddr, log)
		if err != nil {
			return err
		}
		defer stopPprof()
	}

	srv, err := server.Open(server.Config{
		DataDir:         *data,
		Region:          *region,
		AccountID:       *account,
		Domains:         strings.Split(*domain, ","),
		AccessKeyID:     *accessKey,
		SecretAccessKey: *secretKey,
		Logger:          log,
		Functions: server.FunctionsConfig{
			Python: *python, Node: *node, MaxConcurrency: *fnConcurrency, Nice: *fnNice,
			Async: async.Options{MaxDefer: *deliveryDefer}, NoDefer: *deliveryDefer == 0,
		},
		LegacyBucketDefaults: *legacyBuckets,
		DefaultEncryption:    *defaultSSE,
		Batch:                batch.Options{MaxActiveJobs: *batchJobs, TaskConcurrency: *batchConcurrency},
	})
	if err != nil {
		return err
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	endpoint := "http://" + ln.Addr().String()
	if srv.Generated {
		c := srv.Credentials()
		fmt.Fprintf(stdout, "Generated root credentials (kept in %s). Paste into your shell:\n\n", server.CredentialsPath(*data))
		fmt.Fprintf(stdout, "export AWS_ENDPOINT_URL=%s AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s AWS_REGION=%s\n\n",
			endpoint, c.AccessKeyID, c.SecretAccessKey, *region)
	}
	log.Info("sluice listening", "endpoint", endpoint, "data", *data, "region", *region, "account", *account)
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	printHostsHint(stdout, *account, port)
	err = srv.Serve(ctx, ln)
	log.Info("sluice stopping")
	return err
}

func validAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// printHostsHint says what a machine without wildcard DNS needs for S3
// Control (access points, Object Lambda, Batch Operations jobs) and for
// access points addressed by ARN: SDKs put the account ID (or the access
// point's name and account) in front of the endpoint host, so those
// calls need a host name endpoint whose prefixed names resolve (README,
// "Access points and DNS").
func printHostsHint(w io.Writer, account, port string) {
	fmt.Fprintf(w, "S3 Control (access points, Object Lambda, Batch Operations jobs): SDKs and the aws CLI call\n"+
		"%[1]s.<endpoint host>, which needs a host name. Add to /etc/hosts, and export:\n\n"+
		"    127.0.0.1 %[1]s.localhost\n"+
		"    export AWS_ENDPOINT_URL_S3_CONTROL=http://localhost:%[2]s\n\n"+
		"To address an access point by ARN, add \"127.0.0.1 <name>-%[1]s.localhost\" too and give that client\n"+
		"the endpoint http://localhost:%[2]s; an access point's alias works as a bucket name with no DNS.\n\n", account, port)
}
