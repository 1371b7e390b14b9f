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
		{"PutBucketPolicy", func() error {
			_, err := e.c.PutBucketPolicy(e.ctx, &s3.PutBucketPolicyInput{
				Bucket: aws.String(b),
				Policy: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::notimpl/*"}]}`),
			})
			return err
		}},
		{"PutBucketCors", func() error {
			_, err := e.c.PutBucketCors(e.ctx, &s3.PutBucketCorsInput{Bucket: aws.String(b), CORSConfiguration: &types.CORSConfiguration{
				CORSRules: []types.CORSRule{{AllowedMethods: []string{"GET"}, AllowedOrigins: []string{"*"}}},
			}})
			return err
		}},
		{"PutBucketEncryption", func() error {
			_, err := e.c.PutBucketEncryption(e.ctx, &s3.PutBucketEncryptionInput{Bucket: aws.String(b),
				ServerSideEncryptionConfiguration: &types.ServerSideEncryptionConfiguration{Rules: []types.ServerSideEncryptionRule{{
					ApplyServerSideEncryptionByDefault: &types.ServerSideEncryptionByDefault{SSEAlgorithm: types.ServerSideEncryptionAes256},
				}}},
			})
			return err
		}},
		{"PutObjectSSE", func() error {
			_, err := e.c.PutObject(e.ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("sse"), Body: strings.NewReader("x"),
				ServerSideEncryption: types.ServerSideEncryptionAes256})
			return err
		}},
		{"PutObjectSSEKMS", func() error {
			_, err := e.c.PutObject(e.ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("sse"), Body: strings.NewReader("x"),
				ServerSideEncryption: types.ServerSideEncryptionAwsKms, SSEKMSKeyId: aws.String("alias/x")})
			return err
		}},
		{"PutObjectSSEC", func() error {
			_, err := e.c.PutObject(e.ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("ssec"), Body: strings.NewReader("x"),
				SSECustomerAlgorithm: aws.String("AES256"),
				SSECustomerKey:       aws.String("MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE="),
				SSECustomerKeyMD5:    aws.String("KYvwGXoFFJ42a2u2GDWhwQ=="), // MD5 of the key: a wrong one is InvalidArgument
			})
			return err
		}},
		{"CreateMultipartUploadSSE", func() error {
			_, err := e.c.CreateMultipartUpload(e.ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("sse"),
				ServerSideEncryption: types.ServerSideEncryptionAes256})
			return err
		}},
		{"PutObjectLockConfiguration", func() error {
			_, err := e.c.PutObjectLockConfiguration(e.ctx, &s3.PutObjectLockConfigurationInput{Bucket: aws.String(b),
				ObjectLockConfiguration: &types.ObjectLockConfiguration{ObjectLockEnabled: types.ObjectLockEnabledEnabled}})
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
		{"PostObject", http.MethodPost, "/" + b, http.StatusNotImplemented, "NotImplemented"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, raw := e.signedDo(tc.method, tc.path)
			checkErrorDoc(t, resp, raw, tc.status, tc.code)
		})
	}
}
