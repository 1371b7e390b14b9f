package bench

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	cttypes "github.com/aws/aws-sdk-go-v2/service/s3control/types"
)

// "sluice bench objectlambda" measures S3 Object Lambda on an endpoint.
// It creates a bucket, a standard access point, a Go pass-through
// transformation (aws-lambda-go; it GETs inputS3Url and streams the body
// into WriteGetObjectResponse with net/http) and an Object Lambda access
// point, then measures:
//
//   - ttfb: time to first byte of a small object through the transform
//     versus a direct GET of it, one request at a time, interleaved; the
//     overhead is the difference of the medians;
//   - stream: MB/s of one large object through the transform (and of a
//     direct GET of it), with the server's RSS sampled from /proc while it
//     streams when --server-pid is given.
//
// S3 Control calls go to <account>.<endpoint host>: the benchmark dials
// the endpoint's address whatever the host, so it needs no DNS.

type olapConfig struct {
	endpointFlags
	account     string
	samples     int
	smallSize   int64
	streamSize  int64
	streams     int
	serverPID   int
	goBootstrap string
	timeout     time.Duration
	keep        bool
	// chunked makes the transform send WriteGetObjectResponse's body
	// with chunked transfer encoding (no Content-Length), as SDK clients
	// do with streams of unknown length: the server then relays it
	// through a buffer instead of splicing it.
	chunked bool
}

// RunObjectLambda runs "sluice bench objectlambda" with args, the
// command-line arguments that follow "bench objectlambda". "-h" prints the
// usage to stderr and returns nil.
func RunObjectLambda(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseOLAPConfig(args, os.Getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	r := &olapRunner{cfg: cfg, out: stdout, log: stderr}
	return r.run(ctx)
}

func parseOLAPConfig(args []string, getenv func(string) string, stderr io.Writer) (olapConfig, error) {
	var (
		cfg    olapConfig
		small  string
		stream string
	)
	fs := flag.NewFlagSet("sluice bench objectlambda", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: sluice bench objectlambda [flags]\n\n"+
			"Measures S3 Object Lambda: time to first byte through a pass-through Go transform\n"+
			"versus a direct GET, and MB/s of a large object through it.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	cfg.register(fs, getenv, "endpoint `URL` (S3, S3 Control and Lambda)")
	fs.StringVar(&cfg.account, "account-id", "000000000000", "12-digit account ID of the endpoint")
	fs.IntVar(&cfg.samples, "samples", 500, "requests of each kind for time to first byte")
	fs.StringVar(&small, "size", "1KiB", "object size for time to first byte")
	fs.StringVar(&stream, "stream-size", "1GiB", "object size for streaming throughput")
	fs.IntVar(&cfg.streams, "streams", 3, "streams measured (the median is reported)")
	fs.IntVar(&cfg.serverPID, "server-pid", 0, "`pid` of the server, to sample its RSS from /proc while streaming (0: not sampled)")
	fs.StringVar(&cfg.goBootstrap, "go-bootstrap", "", "prebuilt `binary` of the pass-through function (default: build it with the go command)")
	fs.DurationVar(&cfg.timeout, "timeout", 5*time.Minute, "timeout of one request")
	fs.BoolVar(&cfg.keep, "keep", false, "keep the bucket, access points and function afterwards")
	fs.BoolVar(&cfg.chunked, "chunked", false, "the transform sends its body chunked, of unknown length (the server relays it through a buffer instead of splicing it)")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("bench objectlambda: unexpected argument %q", fs.Arg(0))
	}
	err := cfg.check("objectlambda")
	if err != nil {
		return olapConfig{}, err
	}
	if cfg.smallSize, err = parseSize(small); err != nil {
		return cfg, fmt.Errorf("bench objectlambda: --size: %w", err)
	}
	if cfg.streamSize, err = parseSize(stream); err != nil {
		return cfg, fmt.Errorf("bench objectlambda: --stream-size: %w", err)
	}
	if cfg.samples < 1 || cfg.streams < 1 {
		return cfg, errors.New("bench objectlambda: --samples and --streams must be positive")
	}
	return cfg, nil
}

type olapRunner struct {
	cfg olapConfig
	out io.Writer
	log io.Writer

	bucket, ap, olap, fn string
	apAlias, olapAlias   string
	control              *s3control.Client
	lambda               *lambda.Client
}

func (r *olapRunner) run(ctx context.Context) error {
	suffix := randomSuffix()
	r.bucket, r.ap, r.olap, r.fn = "sluice-bench-olap-"+suffix, "bench-ap-"+suffix, "bench-olap-"+suffix, "bench-olap-"+suffix
	// Every host (<account>.<endpoint host> included) is dialled at the
	// endpoint's address.
	addr := r.cfg.endpoint.Host
	if r.cfg.endpoint.Port() == "" {
		addr = net.JoinHostPort(r.cfg.endpoint.Hostname(), map[string]string{"https": "443"}[r.cfg.endpoint.Scheme]+map[string]string{"http": "80"}[r.cfg.endpoint.Scheme])
	}
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	awsCfg := aws.Config{
		Region:       r.cfg.region,
		Credentials:  credentials.NewStaticCredentialsProvider(r.cfg.accessKey, r.cfg.secretKey, ""),
		BaseEndpoint: aws.String(strings.TrimSuffix(r.cfg.endpoint.String(), "/")),
		HTTPClient: &http.Client{Timeout: r.cfg.timeout, Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return dialer.DialContext(ctx, network, addr)
			},
		}},
		RetryMaxAttempts: 1,
	}
	r.control = s3control.NewFromConfig(awsCfg)
	r.lambda = lambda.NewFromConfig(awsCfg)

	c := newClient(config{endpoint: r.cfg.endpoint, accessKey: r.cfg.accessKey, secretKey: r.cfg.secretKey,
		region: r.cfg.region, bucket: r.bucket, timeout: r.cfg.timeout}, 4)
	defer c.close()
	if !r.cfg.keep {
		defer r.cleanup(context.WithoutCancel(ctx), c)
	}
	if err := r.setup(ctx, c); err != nil {
		return err
	}
	body := "with its length"
	if r.cfg.chunked {
		body = "chunked, of unknown length"
	}
	fmt.Fprintf(r.out, "sluice bench objectlambda — endpoint %s, pass-through Go transform (aws-lambda-go, net/http; WriteGetObjectResponse body %s)\n\n", r.cfg.endpoint, body)
	if err := r.ttfb(ctx, c); err != nil {
		return err
	}
	return r.stream(ctx, c)
}

// setup creates the bucket, its objects, the access points and the
// function.
func (r *olapRunner) setup(ctx context.Context, c *client) error {
	fmt.Fprintf(r.log, "setting up %s (objects of %s and %s) ...\n", r.bucket, formatSize(r.cfg.smallSize), formatSize(r.cfg.streamSize))
	if _, err := c.ensureBucket(ctx); err != nil {
		return err
	}
	pattern := make([]byte, 1<<20)
	rand.Read(pattern)
	for _, o := range []struct {
		key  string
		size int64
	}{{"small", r.cfg.smallSize}, {"large", r.cfg.streamSize}} {
		if err := c.put(ctx, o.key, o.size, func() io.Reader { return newCycleReader(pattern, 0, o.size) }); err != nil {
			return fmt.Errorf("bench objectlambda: PUT %s: %w", o.key, err)
		}
	}
	ap, err := r.control.CreateAccessPoint(ctx, &s3control.CreateAccessPointInput{
		AccountId: aws.String(r.cfg.account), Name: aws.String(r.ap), Bucket: aws.String(r.bucket),
	})
	if err != nil {
		return fmt.Errorf("bench objectlambda: CreateAccessPoint: %w", err)
	}
	r.apAlias = aws.ToString(ap.Alias)
	pkg, err := r.functionZip(ctx)
	if err != nil {
		return err
	}
	if _, err := r.lambda.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String(r.fn), Runtime: ltypes.RuntimeProvidedal2023, Handler: aws.String("bootstrap"),
		Role: aws.String("arn:aws:iam::" + r.cfg.account + ":role/sluice-bench"), Code: &ltypes.FunctionCode{ZipFile: pkg},
		Timeout: aws.Int32(300), MemorySize: aws.Int32(256),
		Environment: &ltypes.Environment{Variables: map[string]string{"BENCH_CHUNKED": strconv.FormatBool(r.cfg.chunked)}},
	}); err != nil {
		return fmt.Errorf("bench objectlambda: CreateFunction: %w", err)
	}
	olap, err := r.control.CreateAccessPointForObjectLambda(ctx, &s3control.CreateAccessPointForObjectLambdaInput{
		AccountId: aws.String(r.cfg.account), Name: aws.String(r.olap),
		Configuration: &cttypes.ObjectLambdaConfiguration{
			SupportingAccessPoint: aws.String("arn:aws:s3:" + r.cfg.region + ":" + r.cfg.account + ":accesspoint/" + r.ap),
			TransformationConfigurations: []cttypes.ObjectLambdaTransformationConfiguration{{
				Actions: []cttypes.ObjectLambdaTransformationConfigurationAction{cttypes.ObjectLambdaTransformationConfigurationActionGetObject},
				ContentTransformation: &cttypes.ObjectLambdaContentTransformationMemberAwsLambda{
					Value: cttypes.AwsLambdaTransformation{FunctionArn: aws.String("arn:aws:lambda:" + r.cfg.region + ":" + r.cfg.account + ":function:" + r.fn)},
				},
			}},
		},
	})
	if err != nil {
		return fmt.Errorf("bench objectlambda: CreateAccessPointForObjectLambda: %w", err)
	}
	r.olapAlias = aws.ToString(olap.Alias.Value)
	return nil
}

func (r *olapRunner) cleanup(ctx context.Context, c *client) {
	if r.olapAlias != "" {
		r.control.DeleteAccessPointForObjectLambda(ctx, &s3control.DeleteAccessPointForObjectLambdaInput{AccountId: aws.String(r.cfg.account), Name: aws.String(r.olap)})
	}
	r.lambda.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String(r.fn)})
	if r.apAlias != "" {
		r.control.DeleteAccessPoint(ctx, &s3control.DeleteAccessPointInput{AccountId: aws.String(r.cfg.account), Name: aws.String(r.ap)})
	}
	for _, k := range []string{"small", "large"} {
		c.delete(ctx, k)
	}
	if req, err := c.request(ctx, http.MethodDelete, "", "", 0, nil); err == nil {
		if resp, err := c.do(req, http.StatusNoContent); err == nil {
			discard(resp)
		}
	}
}

// via returns a client for the same endpoint addressing bucket (an
// alias).
func (r *olapRunner) via(bucket string, conns int) *client {
	return newClient(config{endpoint: r.cfg.endpoint, accessKey: r.cfg.accessKey, secretKey: r.cfg.secretKey,
		region: r.cfg.region, bucket: bucket, timeout: r.cfg.timeout}, conns)
}

// firstByte GETs key and returns the time to the first body byte; the
// rest is read and discarded.
func firstByte(ctx context.Context, c *client, key string) (time.Duration, int64, error) {
	req, err := c.request(ctx, http.MethodGet, key, "", 0, nil)
	if err != nil {
		return 0, 0, err
	}
	start := time.Now()
	resp, err := c.do(req, http.StatusOK)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	var one [1]byte
	if _, err := io.ReadFull(resp.Body, one[:]); err != nil {
		return 0, 0, err
	}
	d := time.Since(start)
	n, err := io.Copy(io.Discard, resp.Body)
	return d, n + 1, err
}

func (r *olapRunner) ttfb(ctx context.Context, c *client) error {
	olap := r.via(r.olapAlias, 2)
	defer olap.close()
	// Warm up: connections, the function's instance.
	for range 5 {
		if _, _, err := firstByte(ctx, olap, "small"); err != nil {
			return fmt.Errorf("bench objectlambda: GET through the transform: %w", err)
		}
		if _, _, err := firstByte(ctx, c, "small"); err != nil {
			return err
		}
	}
	var direct, through []time.Duration
	for range r.cfg.samples {
		d, _, err := firstByte(ctx, c, "small")
		if err != nil {
			return err
		}
		direct = append(direct, d)
		d, _, err = firstByte(ctx, olap, "small")
		if err != nil {
			return fmt.Errorf("bench objectlambda: GET through the transform: %w", err)
		}
		through = append(through, d)
	}
	dp50, dp99 := quantiles(direct)
	tp50, tp99 := quantiles(through)
	fmt.Fprintf(r.out, "time to first byte, %s object, %d requests each, one at a time\n", formatSize(r.cfg.smallSize), r.cfg.samples)
	fmt.Fprintf(r.out, "  direct GET                      p50 %7.3f ms   p99 %7.3f ms\n", ms(dp50), ms(dp99))
	fmt.Fprintf(r.out, "  through pass-through transform  p50 %7.3f ms   p99 %7.3f ms\n", ms(tp50), ms(tp99))
	fmt.Fprintf(r.out, "  overhead (p50)                  %7.3f ms   (target ≤ 2 ms)\n\n", ms(tp50-dp50))
	return nil
}

func quantiles(ds []time.Duration) (p50, p99 time.Duration) {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2], s[min(len(s)-1, len(s)*99/100)]
}

func (r *olapRunner) stream(ctx context.Context, c *client) error {
	olap := r.via(r.olapAlias, 2)
	defer olap.close()
	measure := func(cl *client) (float64, error) {
		var rates []float64
		for range r.cfg.streams {
			start := time.Now()
			_, n, err := firstByte(ctx, cl, "large")
			if err != nil {
				return 0, err
			}
			if n != r.cfg.streamSize {
				return 0, fmt.Errorf("bench objectlambda: read %d bytes of %d", n, r.cfg.streamSize)
			}
			rates = append(rates, float64(n)/1e6/time.Since(start).Seconds())
		}
		return median(rates), nil
	}
	directRate, err := measure(c)
	if err != nil {
		return err
	}
	rss := newRSSWatch(r.cfg.serverPID)
	before := rss.now()
	stop := rss.start()
	rate, err := measure(olap)
	peak := stop()
	if err != nil {
		return fmt.Errorf("bench objectlambda: stream through the transform: %w", err)
	}
	fmt.Fprintf(r.out, "streaming a %s object (median of %d)\n", formatSize(r.cfg.streamSize), r.cfg.streams)
	fmt.Fprintf(r.out, "  direct GET                      %8.0f MB/s\n", directRate)
	fmt.Fprintf(r.out, "  through pass-through transform  %8.0f MB/s   (target ≥ 500 MB/s)\n", rate)
	if r.cfg.serverPID > 0 {
		fmt.Fprintf(r.out, "  server RSS                      %8.1f MiB before, %.1f MiB peak while streaming\n", float64(before)/(1<<20), float64(peak)/(1<<20))
	} else {
		fmt.Fprintf(r.out, "  server RSS                      not sampled (give --server-pid)\n")
	}
	return nil
}

// rssWatch samples a process's resident set from /proc.
type rssWatch struct{ pid int }

func newRSSWatch(pid int) *rssWatch { return &rssWatch{pid: pid} }

func (w *rssWatch) now() int64 {
	if w.pid <= 0 {
		return 0
	}
	f, err := os.Open("/proc/" + strconv.Itoa(w.pid) + "/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// start samples every 20 ms until the returned stop, which gives the peak.
func (w *rssWatch) start() (stop func() int64) {
	var peak atomic.Int64
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			if v := w.now(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() int64 { close(done); <-finished; return peak.Load() }
}

func randomSuffix() string {
	var b [4]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// functionZip returns the pass-through function's package.
func (r *olapRunner) functionZip(ctx context.Context) ([]byte, error) {
	var bin []byte
	var err error
	if r.cfg.goBootstrap != "" {
		bin, err = os.ReadFile(r.cfg.goBootstrap)
	} else {
		fmt.Fprintln(r.log, "building the pass-through Go function ...")
		bin, err = buildGoFunction(ctx, goPassThrough)
	}
	if err != nil {
		return nil, fmt.Errorf("bench objectlambda: the pass-through function (give a prebuilt one with --go-bootstrap): %w", err)
	}
	return zipFiles(map[string]string{"bootstrap": string(bin)})
}

// goPassThrough is the benchmark's transformation: it GETs inputS3Url and
// streams the body into WriteGetObjectResponse, signed by hand (SigV4,
// UNSIGNED-PAYLOAD) so that it needs aws-lambda-go only.
const goPassThrough = `package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
)

type event struct {
	GetObjectContext struct {
		InputS3URL  string ` + "`json:\"inputS3Url\"`" + `
		OutputRoute string ` + "`json:\"outputRoute\"`" + `
		OutputToken string ` + "`json:\"outputToken\"`" + `
	} ` + "`json:\"getObjectContext\"`" + `
}

var client = &http.Client{Transport: &http.Transport{
	MaxIdleConnsPerHost: 8, DisableCompression: true,
	ReadBufferSize: 256 << 10, WriteBufferSize: 256 << 10,
}}

func main() { lambda.Start(handle) }

func handle(ctx context.Context, raw json.RawMessage) error {
	var ev event
	if err := json.Unmarshal(raw, &ev); err != nil {
		return err
	}
	in, err := http.NewRequestWithContext(ctx, "GET", ev.GetObjectContext.InputS3URL, nil)
	if err != nil {
		return err
	}
	src, err := client.Do(in)
	if err != nil {
		return err
	}
	defer src.Body.Close()
	if src.StatusCode != 200 {
		return fmt.Errorf("GET inputS3Url: %s", src.Status)
	}
	out, err := http.NewRequestWithContext(ctx, "POST", strings.TrimSuffix(os.Getenv("AWS_ENDPOINT_URL"), "/")+"/WriteGetObjectResponse", src.Body)
	if err != nil {
		return err
	}
	out.ContentLength = src.ContentLength
	if os.Getenv("BENCH_CHUNKED") == "true" {
		out.ContentLength = -1 // chunked: a body of unknown length
	}
	out.Header.Set("x-amz-request-route", ev.GetObjectContext.OutputRoute)
	out.Header.Set("x-amz-request-token", ev.GetObjectContext.OutputToken)
	out.Header.Set("x-amz-fwd-header-Content-Type", src.Header.Get("Content-Type"))
	out.Header.Set("x-amz-fwd-header-ETag", src.Header.Get("ETag"))
	sign(out)
	resp, err := client.Do(out)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("WriteGetObjectResponse: %s", resp.Status)
	}
	return nil
}

func hmacSHA256(key []byte, s string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(s))
	return m.Sum(nil)
}

// sign signs r with SigV4 for s3-object-lambda, body unsigned.
func sign(r *http.Request) {
	now := time.Now().UTC()
	date, stamp := now.Format("20060102"), now.Format("20060102T150405Z")
	r.Header.Set("x-amz-date", stamp)
	r.Header.Set("x-amz-content-sha256", "UNSIGNED-PAYLOAD")
	if t := os.Getenv("AWS_SESSION_TOKEN"); t != "" {
		r.Header.Set("x-amz-security-token", t)
	}
	names := []string{"host"}
	for k := range r.Header {
		names = append(names, strings.ToLower(k))
	}
	sort.Strings(names)
	var canon strings.Builder
	for _, n := range names {
		v := r.Header.Get(n)
		if n == "host" {
			v = r.URL.Host
		}
		canon.WriteString(n + ":" + strings.TrimSpace(v) + "\n")
	}
	signed := strings.Join(names, ";")
	region := os.Getenv("AWS_REGION")
	scope := date + "/" + region + "/s3-object-lambda/aws4_request"
	creq := "POST\n/WriteGetObjectResponse\n\n" + canon.String() + "\n" + signed + "\nUNSIGNED-PAYLOAD"
	h := sha256.Sum256([]byte(creq))
	sts := "AWS4-HMAC-SHA256\n" + stamp + "\n" + scope + "\n" + hex.EncodeToString(h[:])
	key := hmacSHA256([]byte("AWS4"+os.Getenv("AWS_SECRET_ACCESS_KEY")), date)
	key = hmacSHA256(hmacSHA256(hmacSHA256(key, region), "s3-object-lambda"), "aws4_request")
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+os.Getenv("AWS_ACCESS_KEY_ID")+"/"+scope+
		", SignedHeaders="+signed+", Signature="+hex.EncodeToString(hmacSHA256(key, sts)))
}
`
