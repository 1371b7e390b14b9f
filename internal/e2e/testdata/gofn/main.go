// Command gofn is the Go function of the end-to-end tests, built with
// aws-lambda-go; the handler name (_HANDLER) selects its behaviour.
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

func main() {
	switch os.Getenv("_HANDLER") {
	case "echo":
		lambda.Start(func(ev json.RawMessage) (json.RawMessage, error) { return ev, nil })
	case "env":
		lambda.Start(func() (map[string]string, error) {
			m := map[string]string{}
			for _, kv := range os.Environ() {
				k, v, _ := strings.Cut(kv, "=")
				m[k] = v
			}
			return m, nil
		})
	case "printer":
		lambda.Start(func(ctx context.Context) (string, error) {
			lc, _ := lambdacontext.FromContext(ctx)
			fmt.Println("go says hello from", lc.AwsRequestID)
			return "printed", nil
		})
	case "sleep":
		lambda.Start(func(ev struct {
			Ms int `json:"ms"`
		}) (string, error) {
			time.Sleep(time.Duration(ev.Ms) * time.Millisecond)
			return "slept", nil
		})
	case "fail":
		lambda.Start(func() error { return errors.New("go failure") })
	case "crash":
		lambda.Start(func() error {
			fmt.Println("exiting")
			os.Exit(3)
			return nil
		})
	default:
		fmt.Fprintln(os.Stderr, "unknown handler", os.Getenv("_HANDLER"))
		os.Exit(2)
	}
}
