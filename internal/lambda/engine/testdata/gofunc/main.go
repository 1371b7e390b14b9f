// Command gofunc is a test function built with aws-lambda-go: its
// behaviour is chosen by the handler name (_HANDLER).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type sleepEvent struct {
	Ms int `json:"ms"`
}

func main() {
	switch os.Getenv("_HANDLER") {
	case "noop":
		lambda.Start(func() error { return nil })
	case "echo":
		lambda.Start(func(ev json.RawMessage) (json.RawMessage, error) { return ev, nil })
	case "pid":
		lambda.Start(func() (int, error) { return os.Getpid(), nil })
	case "env":
		lambda.Start(func() (map[string]string, error) {
			m := map[string]string{}
			for _, kv := range os.Environ() {
				k, v, _ := strings.Cut(kv, "=")
				m[k] = v
			}
			return m, nil
		})
	case "context":
		lambda.Start(func(ctx context.Context) (map[string]any, error) {
			lc, _ := lambdacontext.FromContext(ctx)
			dl, _ := ctx.Deadline()
			return map[string]any{
				"requestId":   lc.AwsRequestID,
				"arn":         lc.InvokedFunctionArn,
				"custom":      lc.ClientContext.Custom,
				"remainingMs": time.Until(dl).Milliseconds(),
				"name":        lambdacontext.FunctionName,
				"trace":       os.Getenv("_X_AMZN_TRACE_ID"),
			}, nil
		})
	case "sleep":
		lambda.Start(func(ev sleepEvent) (string, error) {
			fmt.Println("sleeping", ev.Ms)
			time.Sleep(time.Duration(ev.Ms) * time.Millisecond)
			return "slept", nil
		})
	case "fail":
		lambda.Start(func() error { return errors.New("go boom") })
	case "crash":
		lambda.Start(func() error {
			fmt.Println("about to exit")
			os.Exit(3)
			return nil
		})
	case "big":
		lambda.Start(func() (string, error) { return strings.Repeat("x", 7<<20), nil })
	case "print":
		lambda.Start(func() (string, error) {
			fmt.Println("to stdout")
			fmt.Fprintln(os.Stderr, "to stderr")
			return "printed", nil
		})
	default:
		fmt.Fprintln(os.Stderr, "unknown handler", os.Getenv("_HANDLER"))
		os.Exit(2)
	}
}
