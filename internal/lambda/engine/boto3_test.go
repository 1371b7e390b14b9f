package engine_test

import (
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluicehq/sluice/internal/lambda"
	"github.com/sluicehq/sluice/internal/lambda/engine"
	"github.com/sluicehq/sluice/internal/server/servertest"
)

const boto3Function = `import boto3, botocore

def handler(event, context):
    bucket = event["bucket"]
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=bucket)
    for i in range(5):
        s3.put_object(Bucket=bucket, Key="k%d" % i, Body=b"v%d" % i)
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, PaginationConfig={"PageSize": 2}):
        keys += [o["Key"] for o in page.get("Contents", [])]
    res = boto3.resource("s3")
    body = res.Object(bucket, "k1").get()["Body"].read().decode()
    objs = sorted(o.key for o in res.Bucket(bucket).objects.all())
    return {"keys": keys, "body": body, "objs": objs, "endpoint": s3.meta.endpoint_url,
            "boto3": boto3.__version__, "botocore": botocore.__version__}
`

// TestBoto3ReachesSluice runs a function written for AWS — boto3.client,
// boto3.resource, a paginator, no endpoint in its code — against a real
// sluice node, with each host Python that has boto3: a current one
// (reads AWS_ENDPOINT_URL) and Debian's 1.26 (patched by the bootstrap).
func TestBoto3ReachesSluice(t *testing.T) {
	var pythons []string
	for _, py := range []string{"python3", "/usr/bin/python3"} {
		if exec.Command(py, "-c", "import boto3").Run() == nil {
			pythons = append(pythons, py)
		}
	}
	if len(pythons) == 0 {
		t.Skip("no python3 with boto3 on this host")
	}
	node := servertest.Start(t)
	client := node.S3()
	for i, py := range pythons {
		t.Run(py, func(t *testing.T) {
			e, err := engine.New(engine.Config{DataDir: t.TempDir(), EndpointURL: node.Endpoint, Region: servertest.Region, Python: py})
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			d := engine.DeployForTest("boto", "python3.12", "app.handler", engine.ZipOfForTest(t, map[string]string{"app.py": boto3Function}))
			d.Timeout = 60e9
			d.Credentials = lambda.Credentials{AccessKeyID: servertest.AccessKeyID, SecretAccessKey: servertest.SecretAccessKey}
			bucket := "boto-fn-" + string(rune('a'+i))
			res, err := e.Invoke(context.Background(), d, &lambda.Invocation{Payload: []byte(`{"bucket":"` + bucket + `"}`)})
			if err != nil {
				t.Fatal(err)
			}
			if res.FunctionError != "" {
				t.Fatalf("function error %s\n%s", res.Payload, res.Log)
			}
			var out struct {
				Keys, Objs               []string
				Body, Endpoint, Botocore string
				Boto3                    string
			}
			if err := json.Unmarshal(res.Payload, &out); err != nil {
				t.Fatal(err)
			}
			t.Logf("boto3 %s, botocore %s", out.Boto3, out.Botocore)
			want := "k0 k1 k2 k3 k4"
			if strings.Join(out.Keys, " ") != want || strings.Join(out.Objs, " ") != want || out.Body != "v1" || out.Endpoint != node.Endpoint {
				t.Errorf("function saw %+v", out)
			}
			got, err := client.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: &bucket})
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Contents) != 5 {
				t.Errorf("bucket holds %d objects, want 5", len(got.Contents))
			}
		})
	}
}
