package s3control_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	"github.com/aws/smithy-go"

	"github.com/sluicehq/sluice/internal/server/servertest"
)

func TestWrappedErrors(t *testing.T) {
	n := servertest.Start(t)
	c := n.S3Control()
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
