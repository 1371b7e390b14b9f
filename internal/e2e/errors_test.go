package e2e

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

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
	e.put(b, "annotated", []byte("the object"))
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
		// S3's 2025–2026 additions: tags that control access (ABAC), S3
		// Metadata's tables, object annotations. Each is selected by a
		// subresource that must not fall through to CreateBucket,
		// ListObjects, PutObject or GetObject.
		{"PutBucketAbac", func() error {
			_, err := e.c.PutBucketAbac(e.ctx, &s3.PutBucketAbacInput{Bucket: aws.String(b), AbacStatus: &types.AbacStatus{Status: types.BucketAbacStatusEnabled}})
			return err
		}},
		{"GetBucketAbac", func() error {
			_, err := e.c.GetBucketAbac(e.ctx, &s3.GetBucketAbacInput{Bucket: aws.String(b)})
			return err
		}},
		{"UpdateBucketMetadataJournalTableConfiguration", func() error {
			_, err := e.c.UpdateBucketMetadataJournalTableConfiguration(e.ctx, &s3.UpdateBucketMetadataJournalTableConfigurationInput{
				Bucket: aws.String(b), JournalTableConfiguration: &types.JournalTableConfigurationUpdates{RecordExpiration: &types.RecordExpiration{Expiration: types.ExpirationStateDisabled}},
			})
			return err
		}},
		{"UpdateBucketMetadataInventoryTableConfiguration", func() error {
			_, err := e.c.UpdateBucketMetadataInventoryTableConfiguration(e.ctx, &s3.UpdateBucketMetadataInventoryTableConfigurationInput{
				Bucket: aws.String(b), InventoryTableConfiguration: &types.InventoryTableConfigurationUpdates{ConfigurationState: types.InventoryConfigurationStateEnabled},
			})
			return err
		}},
		{"UpdateBucketMetadataAnnotationTableConfiguration", func() error {
			_, err := e.c.UpdateBucketMetadataAnnotationTableConfiguration(e.ctx, &s3.UpdateBucketMetadataAnnotationTableConfigurationInput{
				Bucket: aws.String(b), AnnotationTableConfiguration: &types.AnnotationTableConfigurationUpdates{ConfigurationState: types.AnnotationConfigurationStateEnabled},
			})
			return err
		}},
		{"PutObjectAnnotation", func() error {
			_, err := e.c.PutObjectAnnotation(e.ctx, &s3.PutObjectAnnotationInput{
				Bucket: aws.String(b), Key: aws.String("annotated"), AnnotationName: aws.String("summary"),
				AnnotationPayload: strings.NewReader(`{"note":"not the object"}`),
			})
			return err
		}},
		{"GetObjectAnnotation", func() error {
			_, err := e.c.GetObjectAnnotation(e.ctx, &s3.GetObjectAnnotationInput{Bucket: aws.String(b), Key: aws.String("annotated"), AnnotationName: aws.String("summary")})
			return err
		}},
		{"ListObjectAnnotations", func() error {
			_, err := e.c.ListObjectAnnotations(e.ctx, &s3.ListObjectAnnotationsInput{Bucket: aws.String(b), Key: aws.String("annotated")})
			return err
		}},
		{"DeleteObjectAnnotation", func() error {
			_, err := e.c.DeleteObjectAnnotation(e.ctx, &s3.DeleteObjectAnnotationInput{Bucket: aws.String(b), Key: aws.String("annotated"), AnnotationName: aws.String("summary")})
			return err
		}},
		// Headers asking for what sluice does not do (an event hold, an
		// append, annotations, a directory bucket's conditional abort, an
		// account regional namespace): refused, not ignored.
		{"PutObjectEventHold", func() error {
			_, err := e.c.PutObject(e.ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("annotated"), Body: strings.NewReader("replaced"),
				ObjectLockEventHold: types.ObjectLockEventHoldOn})
			return err
		}},
		{"CreateMultipartUploadEventHoldDays", func() error {
			_, err := e.c.CreateMultipartUpload(e.ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("held"),
				ObjectLockEventHoldDurationDays: aws.Int32(30)})
			return err
		}},
		{"PutObjectAppend", func() error {
			_, err := e.c.PutObject(e.ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("annotated"), Body: strings.NewReader(" appended"),
				WriteOffsetBytes: aws.Int64(10)})
			return err
		}},
		{"CopyObjectAnnotationDirective", func() error {
			_, err := e.c.CopyObject(e.ctx, &s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String("annotated"), CopySource: aws.String(b + "/annotated"),
				MetadataDirective: types.MetadataDirectiveReplace, AnnotationDirective: types.AnnotationDirectiveExclude})
			return err
		}},
		{"AbortMultipartUploadIfMatchInitiatedTime", func() error {
			cr, err := e.c.CreateMultipartUpload(e.ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("upload")})
			if err != nil {
				return err
			}
			_, err = e.c.AbortMultipartUpload(e.ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("upload"), UploadId: cr.UploadId,
				IfMatchInitiatedTime: aws.Time(time.Now())})
			if _, lerr := e.c.ListParts(e.ctx, &s3.ListPartsInput{Bucket: aws.String(b), Key: aws.String("upload"), UploadId: cr.UploadId}); lerr != nil {
				t.Errorf("the upload is gone after a refused abort: %v", lerr)
			}
			e.c.AbortMultipartUpload(e.ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("upload"), UploadId: cr.UploadId})
			return err
		}},
		{"CreateBucketAccountRegionalNamespace", func() error {
			_, err := e.c.CreateBucket(e.ctx, &s3.CreateBucketInput{Bucket: aws.String("regional-000000000000-us-east-1-an"), BucketNamespace: types.BucketNamespaceAccountRegional})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			wantErr(t, err, "NotImplemented", http.StatusNotImplemented)
		})
	}
	// Nothing was stored, replaced or deleted by the refused requests.
	if keys := e.listKeys(b); len(keys) != 1 || keys[0] != "annotated" {
		t.Errorf("keys = %q", keys)
	}
	if got, _ := e.get(b, "annotated"); string(got) != "the object" {
		t.Errorf("annotated = %q, want the object as PUT", got)
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
