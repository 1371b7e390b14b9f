// Command zip-prefix-go is an S3 Object Lambda transform in Go: a GET of
// key K through the Object Lambda access point answers with a zip of
// every object whose key starts with K, streamed — the archive is written
// into WriteGetObjectResponse's body while the objects are read, so
// neither the function nor the server holds it whole.
//
// Environment: ACCESS_POINT_ALIAS, the alias of the supporting access
// point, through which the function lists and reads.
//
// Build it for the provided.al2023 runtime:
//
//	CGO_ENABLED=0 go build -o bootstrap . && zip function.zip bootstrap
package main

import (
	"archive/zip"
	"context"
	"io"
	"net/url"
	"os"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

func main() {
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		panic(err)
	}
	t := &transform{
		s3:    s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }),
		alias: os.Getenv("ACCESS_POINT_ALIAS"),
	}
	lambda.Start(t.handle)
}

// WriteGetObjectResponseOptions are the options a Go function gives
// WriteGetObjectResponse:
//
//   - no host prefix: the SDK sends the call to "<outputRoute>.<endpoint
//     host>", which needs wildcard DNS; on sluice the endpoint is the node
//     itself. This is the one middleware a Go function needs (the Python
//     and Node.js runtimes of sluice set the equivalent SDK options
//     themselves). On AWS it is harmless to leave out.
//   - an unsigned payload: over plain HTTP the SDK hashes the body before
//     sending it, which needs a seekable body; a streamed body is sent
//     UNSIGNED-PAYLOAD, as the SDK does over HTTPS anyway.
func WriteGetObjectResponseOptions(o *s3.Options) {
	o.APIOptions = append(o.APIOptions,
		func(stack *middleware.Stack) error {
			return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("DisableHostPrefix",
				func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (
					middleware.InitializeOutput, middleware.Metadata, error,
				) {
					return next.HandleInitialize(smithyhttp.DisableEndpointHostPrefix(ctx, true), in)
				}), middleware.Before)
		},
		v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware,
	)
}

type transform struct {
	s3    *s3.Client
	alias string
}

func (t *transform) handle(ctx context.Context, ev events.S3ObjectLambdaEvent) error {
	gc := ev.GetObjectContext
	// The requested key is the prefix: inputS3Url's path is /<key>.
	u, err := url.Parse(gc.InputS3URL)
	if err != nil {
		return err
	}
	prefix := strings.TrimPrefix(u.Path, "/")
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(t.writeZip(ctx, pw, prefix)) }()
	_, err = t.s3.WriteGetObjectResponse(ctx, &s3.WriteGetObjectResponseInput{
		RequestRoute: aws.String(gc.OutputRoute),
		RequestToken: aws.String(gc.OutputToken),
		Body:         pr,
		ContentType:  aws.String("application/zip"),
	}, WriteGetObjectResponseOptions)
	pr.CloseWithError(err) // stops the writer if the call failed
	return err
}

// writeZip writes a zip of every object under prefix to w.
func (t *transform) writeZip(ctx context.Context, w io.Writer, prefix string) error {
	zw := zip.NewWriter(w)
	pages := s3.NewListObjectsV2Paginator(t.s3, &s3.ListObjectsV2Input{Bucket: aws.String(t.alias), Prefix: aws.String(prefix)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, obj := range page.Contents {
			if err := t.add(ctx, zw, obj.Key); err != nil {
				return err
			}
		}
	}
	return zw.Close()
}

func (t *transform) add(ctx context.Context, zw *zip.Writer, key *string) error {
	out, err := t.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(t.alias), Key: key})
	if err != nil {
		return err
	}
	defer out.Body.Close()
	h := &zip.FileHeader{Name: aws.ToString(key), Method: zip.Deflate}
	if out.LastModified != nil {
		h.Modified = *out.LastModified
	}
	f, err := zw.CreateHeader(h)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, out.Body)
	return err
}
