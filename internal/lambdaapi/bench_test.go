package lambdaapi_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/sluicehq/sluice/internal/lambda"
	"github.com/sluicehq/sluice/internal/server"
	"github.com/sluicehq/sluice/internal/server/servertest"
)

// discardWriter is a ResponseWriter that keeps only the status.
type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(status int)      { w.status = status }

// BenchmarkInvokeHandler measures the server's side of a synchronous
// Invoke without HTTP transport or function: routing, SigV4, IAM, the
// function's resolution, the engine call (a fake that answers at once)
// and the response headers.
func BenchmarkInvokeHandler(b *testing.B) {
	eng := &fakeEngine{invoke: func(ctx context.Context, d *lambda.Deployment, inv *lambda.Invocation) (*lambda.Result, error) {
		return &lambda.Result{Payload: []byte("null"), ExecutedVersion: d.Version}, nil
	}}
	n := servertest.Start(b, servertest.Options{Configure: func(c *server.Config) { c.LambdaEngine = eng }})
	c := awslambda.NewFromConfig(n.AWSConfig())
	_, err := c.CreateFunction(context.Background(), &awslambda.CreateFunctionInput{
		FunctionName: aws.String("bench"),
		Role:         aws.String(role),
		Runtime:      types.RuntimePython312,
		Handler:      aws.String("index.handler"),
		Code:         &types.FunctionCode{ZipFile: makeZip(b, handlerZip)},
	})
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(`{}`)
	sum := sha256.Sum256(body)
	r, _ := http.NewRequest("POST", n.Endpoint+"/2015-03-31/functions/bench/invocations", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	creds := aws.Credentials{AccessKeyID: servertest.AccessKeyID, SecretAccessKey: servertest.SecretAccessKey}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, hex.EncodeToString(sum[:]), "lambda", region, time.Now()); err != nil {
		b.Fatal(err)
	}
	h := n.Handler()
	b.ReportAllocs()
	for b.Loop() {
		r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
		w := &discardWriter{h: http.Header{}}
		h.ServeHTTP(w, r)
		if w.status != http.StatusOK {
			b.Fatalf("status %d", w.status)
		}
	}
}
