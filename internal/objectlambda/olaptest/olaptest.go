// Package olaptest sets up Object Lambda access points on test nodes for
// the tests of the Object Lambda examples: a node with its function
// engine, SDK clients (S3 Control, S3 by alias and by ARN, Lambda), and
// helpers that create buckets, access points and functions the way a user
// does with the SDK.
package olaptest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	cttypes "github.com/aws/aws-sdk-go-v2/service/s3control/types"

	"github.com/sluicehq/sluice/internal/lambda/engine"
	"github.com/sluicehq/sluice/internal/server/servertest"
)

// Role is the execution role test functions are created with.
const Role = "arn:aws:iam::000000000000:role/olaptest"

// Env is a node and clients for it.
type Env struct {
	TB   testing.TB
	Node *servertest.Node
	Ctx  context.Context
	// S3 is a path-style S3 client (aliases work as bucket names);
	// ARNS3 reaches access point ARN hosts (<name>-<account>.127.0.0.1)
	// through a dialer that stands in for the /etc/hosts line of README.
	S3      *s3.Client
	ARNS3   *s3.Client
	Control *s3control.Client
	Lambda  *lambda.Client
}

// Start starts a node with a function engine.
func Start(tb testing.TB, opts ...servertest.Options) *Env {
	tb.Helper()
	n := servertest.Start(tb, opts...)
	cfg := n.AWSConfig()
	cfg.HTTPClient = n.AnyHostClient()
	return &Env{
		TB: tb, Node: n, Ctx: context.Background(),
		S3:      n.S3(),
		ARNS3:   s3.NewFromConfig(cfg),
		Control: s3control.NewFromConfig(cfg),
		Lambda:  lambda.NewFromConfig(n.AWSConfig()),
	}
}

// Bucket creates a bucket with a standard access point over it and
// returns the access point's alias.
func (e *Env) Bucket(bucket, accessPoint string) string {
	e.TB.Helper()
	if _, err := e.S3.CreateBucket(e.Ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		e.TB.Fatalf("CreateBucket %s: %v", bucket, err)
	}
	out, err := e.Control.CreateAccessPoint(e.Ctx, &s3control.CreateAccessPointInput{
		AccountId: aws.String(servertest.AccountID), Name: aws.String(accessPoint), Bucket: aws.String(bucket),
	})
	if err != nil {
		e.TB.Fatalf("CreateAccessPoint %s: %v", accessPoint, err)
	}
	return aws.ToString(out.Alias)
}

// Put stores an object.
func (e *Env) Put(bucket, key string, body []byte) {
	e.TB.Helper()
	if _, err := e.S3.PutObject(e.Ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
		e.TB.Fatalf("PutObject %s/%s: %v", bucket, key, err)
	}
}

// Function creates a function from a zip package, with memoryMB as its
// MemorySize: the engine stops a function that goes over it, as Lambda
// does, and reports its peak in the REPORT line (MaxMemoryUsed).
func (e *Env) Function(name string, runtime ltypes.Runtime, handler string, pkg []byte, env map[string]string, memoryMB int32) {
	e.TB.Helper()
	if _, err := e.Lambda.CreateFunction(e.Ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String(name), Runtime: runtime, Handler: aws.String(handler), Role: aws.String(Role),
		Code: &ltypes.FunctionCode{ZipFile: pkg}, Environment: &ltypes.Environment{Variables: env},
		Timeout: aws.Int32(120), MemorySize: aws.Int32(memoryMB),
	}); err != nil {
		e.TB.Fatalf("CreateFunction %s: %v", name, err)
	}
}

// ObjectLambda creates an Object Lambda access point over the standard
// access point supporting whose actions run function, and returns its
// ARN and alias.
func (e *Env) ObjectLambda(name, supporting, function string, actions ...cttypes.ObjectLambdaTransformationConfigurationAction) (arn, alias string) {
	e.TB.Helper()
	out, err := e.Control.CreateAccessPointForObjectLambda(e.Ctx, &s3control.CreateAccessPointForObjectLambdaInput{
		AccountId: aws.String(servertest.AccountID), Name: aws.String(name),
		Configuration: &cttypes.ObjectLambdaConfiguration{
			SupportingAccessPoint: aws.String("arn:aws:s3:" + servertest.Region + ":" + servertest.AccountID + ":accesspoint/" + supporting),
			TransformationConfigurations: []cttypes.ObjectLambdaTransformationConfiguration{{
				Actions: actions,
				ContentTransformation: &cttypes.ObjectLambdaContentTransformationMemberAwsLambda{
					Value: cttypes.AwsLambdaTransformation{FunctionArn: aws.String("arn:aws:lambda:" + servertest.Region + ":" + servertest.AccountID + ":function:" + function)},
				},
			}},
		},
	})
	if err != nil {
		e.TB.Fatalf("CreateAccessPointForObjectLambda %s: %v", name, err)
	}
	return aws.ToString(out.ObjectLambdaAccessPointArn), aws.ToString(out.Alias.Value)
}

// reMaxMemory finds the peak memory in a REPORT line.
var reMaxMemory = regexp.MustCompile(`REPORT RequestId: .*\tMax Memory Used: (\d+) MB`)

// MaxMemoryUsed returns the peak resident memory, in MB, of the last
// finished invocation of function, from the REPORT line of its log (which
// reaches the log file within the log's flush interval).
func (e *Env) MaxMemoryUsed(function string) int {
	e.TB.Helper()
	path := filepath.Join(engine.LogsDir(e.Node.DataDir), function, "current.log")
	deadline := time.Now().Add(10 * time.Second)
	for {
		raw, _ := os.ReadFile(path)
		if m := reMaxMemory.FindAllSubmatch(raw, -1); len(m) > 0 {
			n, _ := strconv.Atoi(string(m[len(m)-1][1]))
			return n
		}
		if time.Now().After(deadline) {
			e.TB.Fatalf("no REPORT line with Max Memory Used in %s:\n%s", path, raw)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// NeedBoto3 skips unless python3 can import boto3.
func NeedBoto3(tb testing.TB) {
	tb.Helper()
	if out, err := exec.Command("python3", "-c", "import boto3").CombinedOutput(); err != nil {
		tb.Skipf("python3 with boto3 is needed: %v %s", err, out)
	}
}
