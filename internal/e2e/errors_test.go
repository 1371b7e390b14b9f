package e2e

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

func TestNotImplemented(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.bucket("notimpl")
	for _, tc := range []struct {
		name string
		call func() error
	}{
		{"PutBucketLifecycleConfiguration", func() error {
			_, err := e.c.PutBucketLifecycleConfiguration(e.ctx, &s3.PutBucketLifecycleConfigurationInput{
				Bucket: aws.String(b),
				LifecycleConfiguration: &types.BucketLifecycleConfiguration{Rules: []types.LifecycleRule{{
					ID: aws.String("expire"), Status: types.ExpirationStatusEnabled,
					Filter:     &types.LifecycleRuleFilter{Prefix: aws.String("tmp/")},
					Expiration: &types.LifecycleExpiration{Days: aws.Int32(1)},
				}}},
			})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			wantErr(t, err, "NotImplemented", http.StatusNotImplemented)
		})
	}
	// Nothing was stored by the refused PUTs.
	if keys := e.listKeys(b); len(keys) != 0 {
		t.Errorf("keys = %q", keys)
	}
	// Configurations that do not exist read as absent.
	_, err := e.c.GetBucketPolicy(e.ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(b)})
	wantErr(t, err, "NoSuchBucketPolicy", http.StatusNotFound)
	_, err = e.c.GetBucketLifecycleConfiguration(e.ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: aws.String(b)})
	wantErr(t, err, "NoSuchLifecycleConfiguration", http.StatusNotFound)
}

func TestErrorResponses(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.bucket("errors")

	// The SDK finds the request ID of an error response in both the header
	// and the XML document; they agree.
	err := e.getErr(&s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("missing")})
	var re *awshttp.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("%v is not an HTTP response error", err)
	}
	if id := re.ServiceRequestID(); id == "" || id != re.Response.Header.Get("x-amz-request-id") {
		t.Errorf("request ID %q, header %q", id, re.Response.Header.Get("x-amz-request-id"))
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorMessage() == "" || ae.ErrorFault() != smithy.FaultClient {
		t.Errorf("API error %v: message %q fault %v", ae, ae.ErrorMessage(), ae.ErrorFault())
	}

	// Successful responses carry a request ID too (and every response of
	// the suite is checked by checkRequestID).
	out, err := e.c.ListBuckets(e.ctx, &s3.ListBucketsInput{})
	if err != nil {
		t.Fatal(err)
	}
	id1, ok := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
	out, err = e.c.ListBuckets(e.ctx, &s3.ListBucketsInput{})
	if err != nil {
		t.Fatal(err)
	}
	id2, _ := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
	if !ok || id1 == "" || id1 == id2 {
		t.Errorf("request IDs %q and %q: want non-empty and distinct", id1, id2)
	}

	// The raw error document.
	resp, raw := e.presignedDo(http.MethodGet, "no-such-bucket", "k", nil)
	doc := checkErrorDoc(t, resp, raw, http.StatusNotFound, "NoSuchBucket")
	if doc.Bucket != "no-such-bucket" || !strings.Contains(doc.Resource, "no-such-bucket") {
		t.Errorf("BucketName %q Resource %q", doc.Bucket, doc.Resource)
	}

	for _, tc := range []struct {
		name   string
		method string
		path   string
		status int
		code   string
	}{
		{"UnknownSubresource", http.MethodGet, "/" + b + "?analytics", http.StatusNotImplemented, "NotImplemented"},
		// A bucket POST is a browser upload, whose body must be a form.
		{"PostObjectNotAForm", http.MethodPost, "/" + b, http.StatusPreconditionFailed, "PreconditionFailed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, raw := e.signedDo(tc.method, tc.path)
			checkErrorDoc(t, resp, raw, tc.status, tc.code)
		})
	}
}
