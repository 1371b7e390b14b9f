package servertest

import (
	"context"
	"net"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3control"
)

// AnyHostClient returns an HTTP client that connects to the node whatever
// the host of a request's URL, as wildcard DNS or the /etc/hosts line of
// README would: S3 Control requests go to <account>.<host>, requests to
// access point ARNs to <name>-<account>.<host>.
func (n *Node) AnyHostClient() *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	addr := n.Addr
	return withSDKBodyFix(&http.Client{Timeout: 5 * time.Minute, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, addr)
		},
		MaxIdleConnsPerHost: 64,
	}})
}

// S3Control returns an S3 Control client for the node (the SDK puts the
// account ID in front of the endpoint's host; AnyHostClient connects it).
func (n *Node) S3Control() *s3control.Client {
	cfg := n.AWSConfig()
	cfg.HTTPClient = n.AnyHostClient()
	return s3control.NewFromConfig(cfg)
}
