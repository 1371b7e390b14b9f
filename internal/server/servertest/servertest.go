// Package servertest starts real sluice nodes on loopback ports for
// end-to-end tests and builds SDK clients pointed at them.
package servertest

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluicehq/sluice/internal/server"
)

// Test credentials of every node started by Start.
const (
	AccessKeyID     = "AKIASLUICETEST000001"
	SecretAccessKey = "sluice/test/secret/key/0000000000000000000"
	Region          = "us-east-1"
	AccountID       = "000000000000"
)

// Node is a running test server.
type Node struct {
	*server.Server
	// Endpoint is the base URL, e.g. http://127.0.0.1:41234.
	Endpoint string
	// Addr is the listener's host:port.
	Addr    string
	DataDir string
	client  *http.Client
}

// Options adjust Start.
type Options struct {
	// DataDir reuses a data directory (to test restarts); "" makes one.
	DataDir string
	// Durable keeps fsync on (off by default to keep tests fast).
	Durable bool
	// Domains for virtual-hosted-style addressing.
	Domains []string
	// Configure, if set, edits the server configuration before Open.
	Configure func(*server.Config)
	// TLS serves HTTPS with a test certificate that the node's SDK
	// clients trust. aws-sdk-go-v2 only streams checksum trailers
	// (STREAMING-UNSIGNED-PAYLOAD-TRAILER) over TLS.
	TLS bool
}

// Start opens a node on a random loopback port; it is closed when the test
// ends.
func Start(tb testing.TB, opts ...Options) *Node {
	tb.Helper()
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	dir := o.DataDir
	if dir == "" {
		dir = tb.TempDir()
	}
	cfg := server.Config{
		DataDir:         dir,
		Region:          Region,
		AccountID:       AccountID,
		Domains:         o.Domains,
		AccessKeyID:     AccessKeyID,
		SecretAccessKey: SecretAccessKey,
		NoSync:          !o.Durable,
	}
	if o.Configure != nil {
		o.Configure(&cfg)
	}
	srv, err := server.Open(cfg)
	if err != nil {
		tb.Fatalf("open server: %v", err)
	}
	if o.TLS {
		hs := httptest.NewUnstartedServer(srv.Handler())
		hs.StartTLS()
		tb.Cleanup(func() {
			hs.Close()
			srv.Close()
		})
		return &Node{Server: srv, Endpoint: hs.URL, Addr: hs.Listener.Addr().String(), DataDir: dir, client: hs.Client()}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		srv.Close()
		tb.Fatalf("listen: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ctx, ln)
	}()
	tb.Cleanup(func() {
		cancel()
		srv.Close()
		<-done
	})
	return &Node{Server: srv, Endpoint: "http://" + ln.Addr().String(), Addr: ln.Addr().String(), DataDir: dir}
}

// AWSConfig returns an SDK configuration with the node's endpoint and root
// credentials and the SDK's default checksum behaviour. It uses its own
// HTTP client, so AWS_CA_BUNDLE (set in this environment) does not apply.
func (n *Node) AWSConfig() aws.Config {
	hc := &http.Client{Timeout: 5 * time.Minute}
	if n.client != nil {
		hc = n.client
	}
	hc = withSDKBodyFix(hc)
	return aws.Config{
		Region:           Region,
		Credentials:      credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, ""),
		BaseEndpoint:     aws.String(n.Endpoint),
		HTTPClient:       hc,
		RetryMaxAttempts: 1,
		// The defaults config.LoadDefaultConfig gives a real program.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenSupported,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenSupported,
	}
}

// S3 returns an S3 client for the node with the SDK's default settings
// (including its default request checksums), path-style addressing.
func (n *Node) S3(optFns ...func(*s3.Options)) *s3.Client {
	cfg := n.AWSConfig()
	return s3.NewFromConfig(cfg, append([]func(*s3.Options){func(o *s3.Options) { o.UsePathStyle = true }}, optFns...)...)
}

func init() {
	// aws-sdk-go-v2 refuses a custom HTTP client when AWS_CA_BUNDLE is
	// set; tests talk plain HTTP to loopback.
	os.Unsetenv("AWS_CA_BUNDLE")
}
