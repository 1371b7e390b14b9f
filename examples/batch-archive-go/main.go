// Command batch-archive-go is an S3 Batch Operations function in Go: for
// each task of a LambdaInvoke job (schema 2.0) it copies the object to
// the bucket and under the prefix the job's user arguments name, and
// answers with a result code Batch Operations understands:
//
//   - Succeeded, with the copy's location as the result string;
//   - PermanentFailure when the object is gone or the request is refused;
//   - TemporaryFailure for throttling and server errors, which Batch
//     Operations redrives.
//
// User arguments: destinationBucket (required), destinationPrefix.
//
// Build it for the provided.al2023 runtime:
//
//	CGO_ENABLED=0 go build -o bootstrap . && zip function.zip bootstrap
//
// and create a job with, for example:
//
//	sluice job create --manifest s3://bucket/manifest.csv --invoke batch-archive-go \
//	  --arg destinationBucket=archive --arg destinationPrefix=2024/ --report s3://reports/archive
package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// copier is the part of the S3 client the function uses.
type copier interface {
	CopyObject(ctx context.Context, in *s3.CopyObjectInput, opts ...func(*s3.Options)) (*s3.CopyObjectOutput, error)
}

// archiver handles batch events.
type archiver struct{ s3 copier }

func main() {
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		panic(err)
	}
	a := &archiver{s3: s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })}
	lambda.Start(a.handle)
}

// handle answers one invocation: Batch Operations sends one task each.
func (a *archiver) handle(ctx context.Context, ev events.S3BatchJobEventV2) (events.S3BatchJobResponse, error) {
	resp := events.S3BatchJobResponse{
		InvocationSchemaVersion: ev.InvocationSchemaVersion,
		TreatMissingKeysAs:      "PermanentFailure",
		InvocationID:            ev.InvocationID,
	}
	dest := ev.Job.UserArguments["destinationBucket"]
	prefix := ev.Job.UserArguments["destinationPrefix"]
	for _, t := range ev.Tasks {
		code, msg := a.archive(ctx, t, dest, prefix)
		resp.Results = append(resp.Results, events.S3BatchJobResult{TaskID: t.TaskID, ResultCode: code, ResultString: msg})
	}
	return resp, nil
}

// archive copies one task's object and returns its result code and string.
func (a *archiver) archive(ctx context.Context, t events.S3BatchJobTaskV2, dest, prefix string) (string, string) {
	if dest == "" {
		return "PermanentFailure", "the job has no destinationBucket user argument"
	}
	// Manifest keys arrive URL-encoded.
	key, err := url.PathUnescape(t.S3Key)
	if err != nil {
		return "PermanentFailure", "bad key encoding: " + err.Error()
	}
	src := url.PathEscape(t.S3Bucket) + "/" + escapeKey(key)
	if t.S3VersionID != "" {
		src += "?versionId=" + url.QueryEscape(t.S3VersionID)
	}
	_, err = a.s3.CopyObject(ctx, &s3.CopyObjectInput{
		Bucket: aws.String(dest), Key: aws.String(prefix + key), CopySource: aws.String(src),
	})
	var ae smithy.APIError
	switch {
	case err == nil:
		return "Succeeded", fmt.Sprintf("copied to s3://%s/%s%s", dest, prefix, key)
	case errors.As(err, &ae) && temporary(ae.ErrorCode()):
		return "TemporaryFailure", ae.ErrorCode() + ": " + ae.ErrorMessage()
	case errors.As(err, &ae):
		return "PermanentFailure", ae.ErrorCode() + ": " + ae.ErrorMessage()
	}
	return "TemporaryFailure", err.Error()
}

// temporary reports whether an S3 error code is worth a redrive.
func temporary(code string) bool {
	switch code {
	case "SlowDown", "InternalError", "ServiceUnavailable", "RequestTimeout":
		return true
	}
	return false
}

// escapeKey URL-encodes a key for x-amz-copy-source, keeping its slashes.
func escapeKey(key string) string {
	u := url.URL{Path: key}
	return u.EscapedPath()
}
