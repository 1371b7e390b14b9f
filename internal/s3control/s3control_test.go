package s3control_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	"github.com/aws/smithy-go"

	"github.com/sluicehq/sluice/internal/server/servertest"
)

// client returns an s3control client for n. The SDK puts the account ID in
// front of the endpoint host (000000000000.127.0.0.1:port); the dialer
// sends every connection to the node whatever the host, as /etc/hosts or
// wildcard DNS would.
func client(n *servertest.Node) *s3control.Client {
	cfg := n.AWSConfig()
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	cfg.HTTPClient = &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, n.Addr)
		},
	}}
	return s3control.NewFromConfig(cfg)
}

func TestWrappedErrors(t *testing.T) {
	n := servertest.Start(t)
	c := client(n)
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		account string
		code    string
		status  int
	}{
		{"wrong account", "123456789012", "AccessDenied", http.StatusForbidden},
		{"unimplemented operation", servertest.AccountID, "NotImplemented", http.StatusNotImplemented},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.GetMultiRegionAccessPoint(ctx, &s3control.GetMultiRegionAccessPointInput{
				AccountId: aws.String(tc.account), Name: aws.String("mrap"),
			})
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != tc.code {
				t.Fatalf("err = %v, want code %s (the SDK must parse the wrapped error)", err, tc.code)
			}
			var re *awshttp.ResponseError
			if !errors.As(err, &re) || re.HTTPStatusCode() != tc.status {
				t.Fatalf("status: %v", err)
			}
		})
	}
}
