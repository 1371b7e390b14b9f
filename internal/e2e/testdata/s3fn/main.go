// Command s3fn is the Go function of the S3 notification end-to-end
// tests, built with aws-lambda-go and aws-sdk-go-v2; the handler name
// (_HANDLER) selects its behaviour:
//
//   - record: decodes the event as events.S3Event and writes what it
//     received (raw and decoded) to $OUT_BUCKET as go/<request id>.json;
//   - loop: for each record of key <prefix><n>, writes <prefix><n+1> into
//     the same bucket while n < $LOOP_MAX: a recursive loop.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

func client(ctx context.Context) (*s3.Client, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, err
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }), nil
}

func put(ctx context.Context, c *s3.Client, bucket, key string, body []byte) error {
	_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)})
	return err
}

func record(ctx context.Context, raw json.RawMessage) error {
	lc, _ := lambdacontext.FromContext(ctx)
	var ev events.S3Event
	if err := json.Unmarshal(raw, &ev); err != nil {
		return err
	}
	doc, err := json.Marshal(map[string]any{"raw": raw, "decoded": ev, "trace": os.Getenv("_X_AMZN_TRACE_ID")})
	if err != nil {
		return err
	}
	c, err := client(ctx)
	if err != nil {
		return err
	}
	return put(ctx, c, os.Getenv("OUT_BUCKET"), "go/"+lc.AwsRequestID+".json", doc)
}

func loop(ctx context.Context, ev events.S3Event) error {
	max, _ := strconv.Atoi(os.Getenv("LOOP_MAX"))
	c, err := client(ctx)
	if err != nil {
		return err
	}
	for _, r := range ev.Records {
		key := r.S3.Object.URLDecodedKey
		i := strings.LastIndexAny(key, "/-")
		n, err := strconv.Atoi(key[i+1:])
		if err != nil || n >= max {
			continue
		}
		if err := put(ctx, c, r.S3.Bucket.Name, fmt.Sprintf("%s%d", key[:i+1], n+1), []byte("again")); err != nil {
			return err
		}
	}
	return nil
}

func main() {
	switch os.Getenv("_HANDLER") {
	case "record":
		lambda.Start(record)
	case "loop":
		lambda.Start(loop)
	default:
		fmt.Fprintln(os.Stderr, "unknown handler", os.Getenv("_HANDLER"))
		os.Exit(2)
	}
}
