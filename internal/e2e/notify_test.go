package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/sluicehq/sluice/internal/lambda/async"
	"github.com/sluicehq/sluice/internal/notify"
	"github.com/sluicehq/sluice/internal/server"
	"github.com/sluicehq/sluice/internal/server/servertest"
)

// The S3 notification tests configure notifications with aws-sdk-go-v2
// and boto3 and let real functions — Python with boto3, Go with
// aws-lambda-go and aws-sdk-go-v2 — record what they receive into another
// bucket, where the tests read it back.

// notifyPyApp is the Python function of the notification tests.
const notifyPyApp = `import json, os, urllib.parse
import boto3

s3 = boto3.client("s3")

def record(event, context):
    out = {"raw": event, "trace": os.environ.get("_X_AMZN_TRACE_ID", "")}
    recs = event.get("Records") or []
    if recs and recs[0]["eventName"].startswith("ObjectCreated:"):
        # The example of "Using AWS Lambda with Amazon S3": read the
        # object the event names.
        bucket = recs[0]["s3"]["bucket"]["name"]
        key = urllib.parse.unquote_plus(recs[0]["s3"]["object"]["key"])
        try:
            obj = s3.get_object(Bucket=bucket, Key=key)
            out["contentType"] = obj["ContentType"]
            out["body"] = obj["Body"].read().decode("latin-1")
        except Exception as e:
            out["getError"] = str(e)
    s3.put_object(Bucket=os.environ["OUT_BUCKET"], Key="py/" + context.aws_request_id + ".json",
                  Body=json.dumps(out).encode())

def loop(event, context):
    limit = int(os.environ["LOOP_MAX"])
    for r in event.get("Records", []):
        bucket = r["s3"]["bucket"]["name"]
        key = urllib.parse.unquote_plus(r["s3"]["object"]["key"])
        i = max(key.rfind("/"), key.rfind("-"))
        n = int(key[i + 1:])
        if n < limit:
            s3.put_object(Bucket=bucket, Key=key[:i + 1] + str(n + 1), Body=b"again")
`

var (
	s3fnOnce sync.Once
	s3fnZip  []byte
	s3fnErr  error
)

// s3Function builds testdata/s3fn (once per test binary) and zips it as
// bootstrap.
func s3Function(tb testing.TB) []byte {
	tb.Helper()
	s3fnOnce.Do(func() {
		dir, err := os.MkdirTemp("", "sluice-e2e-s3fn-")
		if err != nil {
			s3fnErr = err
			return
		}
		defer os.RemoveAll(dir)
		out := filepath.Join(dir, "bootstrap")
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, "./testdata/s3fn")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			s3fnErr = fmt.Errorf("%v\n%s", err, b)
			return
		}
		bin, err := os.ReadFile(out)
		if err != nil {
			s3fnErr = err
			return
		}
		s3fnZip = zipOf(tb, map[string]zfile{"bootstrap": {body: string(bin), mode: 0o755}})
	})
	if s3fnErr != nil {
		tb.Fatalf("building the Go S3 test function: %v", s3fnErr)
	}
	return s3fnZip
}

var (
	notifyGo = runtimeCase{"go", ltypes.RuntimeProvidedal2023, s3Function, func(b string) string { return b }, func(testing.TB) {}}
	notifyPy = runtimeCase{"python", ltypes.RuntimePython312,
		func(tb testing.TB) []byte { return zipOf(tb, map[string]zfile{"app.py": {body: notifyPyApp}}) },
		func(b string) string { return "app." + b }, needBoto3}
)

func needBoto3(tb testing.TB) {
	tb.Helper()
	needPython(tb)
	if out, err := exec.Command("python3", "-c", "import boto3").CombinedOutput(); err != nil {
		tb.Skipf("boto3 is not installed: %s", lastLine(string(out)))
	}
}

// notifyEnv is a node with notification test helpers.
type notifyEnv struct {
	*fnEnv
	// seen caches the records read from the out bucket by key.
	seen map[string]map[string]any
}

func startNotify(t *testing.T) *notifyEnv {
	t.Helper()
	e := &notifyEnv{fnEnv: startFunctions(t), seen: map[string]map[string]any{}}
	for _, b := range []string{"out", "src", "vsrc", "loops"} {
		if _, err := e.s3.CreateBucket(e.ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.s3.PutBucketVersioning(e.ctx, &s3.PutBucketVersioningInput{Bucket: aws.String("vsrc"),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}}); err != nil {
		t.Fatal(err)
	}
	return e
}

// sub is e for a subtest.
func (e *notifyEnv) sub(t *testing.T) *notifyEnv {
	f := *e.fnEnv
	f.t = t
	return &notifyEnv{fnEnv: &f, seen: e.seen}
}

func withEnv(kv ...string) func(*lambda.CreateFunctionInput) {
	return func(in *lambda.CreateFunctionInput) {
		for i := 0; i+1 < len(kv); i += 2 {
			in.Environment.Variables[kv[i]] = kv[i+1]
		}
		in.Timeout = aws.Int32(30)
	}
}

// allowS3 lets S3 invoke a function for a bucket of the test account.
func (e *notifyEnv) allowS3(function, bucket string) {
	e.t.Helper()
	_, err := e.lc.AddPermission(e.ctx, &lambda.AddPermissionInput{
		FunctionName: aws.String(function), StatementId: aws.String("s3-" + bucket), Action: aws.String("lambda:InvokeFunction"),
		Principal: aws.String("s3.amazonaws.com"), SourceArn: aws.String("arn:aws:s3:::" + bucket), SourceAccount: aws.String(servertest.AccountID),
	})
	if err != nil {
		e.t.Fatalf("AddPermission %s: %v", function, err)
	}
}

func lambdaConfig(id, function string, evs []types.Event, prefix string) types.LambdaFunctionConfiguration {
	c := types.LambdaFunctionConfiguration{LambdaFunctionArn: aws.String(fnARN(function)), Events: evs}
	if id != "" {
		c.Id = aws.String(id)
	}
	if prefix != "" {
		c.Filter = &types.NotificationConfigurationFilter{Key: &types.S3KeyFilter{FilterRules: []types.FilterRule{
			{Name: types.FilterRuleNamePrefix, Value: aws.String(prefix)},
		}}}
	}
	return c
}

func (e *notifyEnv) configure(bucket string, skip bool, cfgs ...types.LambdaFunctionConfiguration) error {
	_, err := e.s3.PutBucketNotificationConfiguration(e.ctx, &s3.PutBucketNotificationConfigurationInput{
		Bucket:                    aws.String(bucket),
		NotificationConfiguration: &types.NotificationConfiguration{LambdaFunctionConfigurations: cfgs},
		SkipDestinationValidation: aws.Bool(skip),
	})
	return err
}

// records returns the records functions wrote under prefix of the out
// bucket (each read once, then cached).
func (e *notifyEnv) records(prefix string) []map[string]any {
	e.t.Helper()
	var out []map[string]any
	p := s3.NewListObjectsV2Paginator(e.s3, &s3.ListObjectsV2Input{Bucket: aws.String("out"), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(e.ctx)
		if err != nil {
			e.t.Fatal(err)
		}
		for _, o := range page.Contents {
			k := aws.ToString(o.Key)
			doc, ok := e.seen[k]
			if !ok {
				obj, err := e.s3.GetObject(e.ctx, &s3.GetObjectInput{Bucket: aws.String("out"), Key: o.Key})
				if err != nil {
					e.t.Fatal(err)
				}
				raw, _ := io.ReadAll(obj.Body)
				obj.Body.Close()
				if err := json.Unmarshal(raw, &doc); err != nil {
					e.t.Fatalf("%s: %v", k, err)
				}
				e.seen[k] = doc
			}
			out = append(out, doc)
		}
	}
	return out
}

// waitRecord waits for a record under prefix whose raw event has the
// event name and (URL-encoded) key.
func (e *notifyEnv) waitRecord(prefix, eventName, key string) map[string]any {
	e.t.Helper()
	var found map[string]any
	waitFor(e.t, prefix+" record of "+eventName+" "+key, func() bool {
		for _, doc := range e.records(prefix) {
			r := rawRecord(doc)
			if r != nil && r["eventName"] == eventName && at(r, "s3", "object", "key") == key {
				found = doc
				return true
			}
		}
		return false
	})
	return found
}

func rawRecord(doc map[string]any) map[string]any {
	raw, _ := doc["raw"].(map[string]any)
	recs, _ := raw["Records"].([]any)
	if len(recs) != 1 {
		return nil
	}
	r, _ := recs[0].(map[string]any)
	return r
}

// at walks a decoded JSON document.
func at(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

func TestS3NotificationsToFunctions(t *testing.T) {
	needBoto3(t)
	e := startNotify(t)
	e.create("py-rec", notifyPy, "record", withEnv("OUT_BUCKET", "out"))
	e.create("go-rec", notifyGo, "record", withEnv("OUT_BUCKET", "out"))

	allCreated := []types.Event{"s3:ObjectCreated:*", "s3:ObjectRemoved:*", "s3:ObjectTagging:*", "s3:ObjectAcl:Put"}
	pyCfg := lambdaConfig("py-config", "py-rec", allCreated, "py/")

	t.Run("validation", func(t *testing.T) {
		e := e.sub(t)
		// No permission for S3 yet.
		err := e.configure("src", false, pyCfg)
		wantErr(t, err, "InvalidArgument", 400)
		var ae smithy.APIError
		if errors.As(err, &ae) && ae.ErrorMessage() != "Unable to validate the following destination configurations" {
			t.Errorf("message %q", ae.ErrorMessage())
		}
		// A permission for another bucket does not count.
		e.allowS3("py-rec", "elsewhere")
		wantErr(t, e.configure("src", false, pyCfg), "InvalidArgument", 400)
		// Nor one for this bucket owned by another account (SourceAccount).
		if _, err := e.lc.AddPermission(e.ctx, &lambda.AddPermissionInput{
			FunctionName: aws.String("py-rec"), StatementId: aws.String("s3-other-account"), Action: aws.String("lambda:InvokeFunction"),
			Principal: aws.String("s3.amazonaws.com"), SourceArn: aws.String("arn:aws:s3:::src"), SourceAccount: aws.String("111122223333"),
		}); err != nil {
			t.Fatal(err)
		}
		wantErr(t, e.configure("src", false, pyCfg), "InvalidArgument", 400)
		// A function that does not exist.
		wantErr(t, e.configure("src", false, lambdaConfig("", "nope", allCreated, "")), "InvalidArgument", 400)
		// Unknown event types, overlapping rules.
		wantErr(t, e.configure("src", true, lambdaConfig("", "py-rec", []types.Event{"s3:ObjectCreated:Poke"}, "")), "InvalidArgument", 400)
		err = e.configure("src", true,
			lambdaConfig("a", "py-rec", []types.Event{"s3:ObjectCreated:*"}, "images/"),
			lambdaConfig("b", "go-rec", []types.Event{"s3:ObjectCreated:Put"}, "images/"))
		wantErr(t, err, "InvalidArgument", 400)
		if errors.As(err, &ae) && !strings.HasPrefix(ae.ErrorMessage(), "Configuration is ambiguously defined.") {
			t.Errorf("overlap message %q", ae.ErrorMessage())
		}
		// Destinations sluice cannot deliver to are refused, not stored.
		_, err = e.s3.PutBucketNotificationConfiguration(e.ctx, &s3.PutBucketNotificationConfigurationInput{
			Bucket: aws.String("src"),
			NotificationConfiguration: &types.NotificationConfiguration{QueueConfigurations: []types.QueueConfiguration{{
				QueueArn: aws.String("arn:aws:sqs:us-east-1:000000000000:q"), Events: []types.Event{"s3:ObjectCreated:*"}}}},
		})
		wantErr(t, err, "NotImplemented", 501)
		// Nothing was stored by the refused requests.
		got, err := e.s3.GetBucketNotificationConfiguration(e.ctx, &s3.GetBucketNotificationConfigurationInput{Bucket: aws.String("src")})
		if err != nil || len(got.LambdaFunctionConfigurations)+len(got.QueueConfigurations) != 0 {
			t.Fatalf("after refusals: %+v, %v", got, err)
		}
		// x-amz-skip-destination-validation: true stores a configuration
		// naming a missing function; the empty one removes it.
		if err := e.configure("src", true, lambdaConfig("", "nope", allCreated, "zzz/")); err != nil {
			t.Fatalf("skip validation: %v", err)
		}
		if err := e.configure("src", false); err != nil {
			t.Fatalf("empty configuration: %v", err)
		}
	})

	e.allowS3("py-rec", "src")
	e.allowS3("go-rec", "vsrc")
	if err := e.configure("src", false, pyCfg, lambdaConfig("", "go-rec", allCreated, "nobody/")); err == nil {
		t.Fatal("go-rec has no permission for src, yet was accepted")
	}
	if err := e.configure("src", false, pyCfg); err != nil {
		t.Fatal(err)
	}
	got, err := e.s3.GetBucketNotificationConfiguration(e.ctx, &s3.GetBucketNotificationConfigurationInput{Bucket: aws.String("src")})
	if err != nil || len(got.LambdaFunctionConfigurations) != 1 {
		t.Fatalf("GetBucketNotificationConfiguration: %+v, %v", got, err)
	}
	if c := got.LambdaFunctionConfigurations[0]; aws.ToString(c.Id) != "py-config" || aws.ToString(c.LambdaFunctionArn) != fnARN("py-rec") ||
		len(c.Events) != 4 || c.Filter == nil || len(c.Filter.Key.FilterRules) != 1 || aws.ToString(c.Filter.Key.FilterRules[0].Value) != "py/" {
		t.Errorf("configuration read back: %+v", c)
	}

	// boto3 configures the versioned bucket for the Go function, without
	// an Id: S3 makes one up.
	script := `import boto3, json, sys
s3 = boto3.client("s3")
s3.put_bucket_notification_configuration(Bucket="vsrc", NotificationConfiguration={"LambdaFunctionConfigurations": [{
    "LambdaFunctionArn": sys.argv[1], "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"],
    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "go/"}]}}}]})
print(json.dumps(s3.get_bucket_notification_configuration(Bucket="vsrc")["LambdaFunctionConfigurations"]))
`
	cmd := exec.Command("python3", "-c", script, fnARN("go-rec"))
	cmd.Env = e.pythonEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("boto3: %v\n%s", err, out)
	}
	var boto []map[string]any
	if err := json.Unmarshal([]byte(lastLine(string(out))), &boto); err != nil || len(boto) != 1 || boto[0]["Id"] == "" {
		t.Fatalf("boto3 read back %s", out)
	}
	goConfigID := boto[0]["Id"].(string)

	t.Run("test event", func(t *testing.T) {
		e := e.sub(t)
		for _, prefix := range []string{"py/", "go/"} {
			var te map[string]any
			waitFor(t, "the test event at "+prefix, func() bool {
				for _, doc := range e.records(prefix) {
					if raw, _ := doc["raw"].(map[string]any); raw["Event"] == "s3:TestEvent" {
						te = raw
						return true
					}
				}
				return false
			})
			bucket := map[string]string{"py/": "src", "go/": "vsrc"}[prefix]
			if te["Service"] != "Amazon S3" || te["Bucket"] != bucket || te["RequestId"] == "" || te["HostId"] == "" || te["Time"] == "" {
				t.Errorf("%s test event %v", prefix, te)
			}
		}
	})

	t.Run("put", func(t *testing.T) {
		e := e.sub(t)
		body := []byte("hello, function")
		put, err := e.s3.PutObject(e.ctx, &s3.PutObjectInput{Bucket: aws.String("src"), Key: aws.String("py/red flower.jpg"),
			Body: bytes.NewReader(body), ContentType: aws.String("image/jpeg")})
		if err != nil {
			t.Fatal(err)
		}
		reqID, _ := awsmiddleware.GetRequestIDMetadata(put.ResultMetadata)
		hid, _ := s3.GetHostIDMetadata(put.ResultMetadata)
		head, err := e.s3.HeadObject(e.ctx, &s3.HeadObjectInput{Bucket: aws.String("src"), Key: aws.String("py/red flower.jpg")})
		if err != nil {
			t.Fatal(err)
		}
		doc := e.waitRecord("py/", "ObjectCreated:Put", "py/red+flower.jpg")
		r := rawRecord(doc)
		want := map[string]any{"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1", "eventName": "ObjectCreated:Put"}
		for k, v := range want {
			if r[k] != v {
				t.Errorf("%s = %v, want %v", k, r[k], v)
			}
		}
		// ISO-8601 with milliseconds, UTC, the object's LastModified (which
		// HEAD reports to the second).
		et, _ := r["eventTime"].(string)
		if tm, err := time.Parse("2006-01-02T15:04:05.000Z", et); err != nil || !tm.Truncate(time.Second).Equal(head.LastModified.UTC()) {
			t.Errorf("eventTime %q, LastModified %v", et, head.LastModified)
		}
		for _, c := range []struct {
			path []string
			want any
		}{
			{[]string{"userIdentity", "principalId"}, servertest.AccountID},
			{[]string{"requestParameters", "sourceIPAddress"}, "127.0.0.1"},
			{[]string{"responseElements", "x-amz-request-id"}, reqID},
			{[]string{"responseElements", "x-amz-id-2"}, hid},
			{[]string{"s3", "s3SchemaVersion"}, "1.0"},
			{[]string{"s3", "configurationId"}, "py-config"},
			{[]string{"s3", "bucket", "name"}, "src"},
			{[]string{"s3", "bucket", "ownerIdentity", "principalId"}, servertest.AccountID},
			{[]string{"s3", "bucket", "arn"}, "arn:aws:s3:::src"},
			{[]string{"s3", "object", "size"}, float64(len(body))},
			{[]string{"s3", "object", "eTag"}, strings.Trim(aws.ToString(put.ETag), `"`)},
			{[]string{"s3", "object", "versionId"}, nil},
		} {
			if got := at(r, c.path...); got != c.want {
				t.Errorf("%s = %v, want %v", strings.Join(c.path, "."), got, c.want)
			}
		}
		if sq, _ := at(r, "s3", "object", "sequencer").(string); !regexp.MustCompile(`^[0-9A-F]{16}$`).MatchString(sq) {
			t.Errorf("sequencer %q", sq)
		}
		// The function read the object the event names.
		if doc["contentType"] != "image/jpeg" || doc["body"] != string(body) {
			t.Errorf("the function read %v %v (%v)", doc["contentType"], doc["body"], doc["getError"])
		}
		// The invocation's trace header carries the chain.
		if tr, _ := doc["trace"].(string); !strings.Contains(tr, "Lineage=") {
			t.Errorf("_X_AMZN_TRACE_ID %q", tr)
		}
	})

	t.Run("copy, multipart, tagging, delete", func(t *testing.T) {
		e := e.sub(t)
		if _, err := e.s3.CopyObject(e.ctx, &s3.CopyObjectInput{Bucket: aws.String("src"), Key: aws.String("py/copy"),
			CopySource: aws.String("src/py/red%20flower.jpg")}); err != nil {
			t.Fatal(err)
		}
		e.waitRecord("py/", "ObjectCreated:Copy", "py/copy")

		up, err := e.s3.CreateMultipartUpload(e.ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("src"), Key: aws.String("py/mp")})
		if err != nil {
			t.Fatal(err)
		}
		part, err := e.s3.UploadPart(e.ctx, &s3.UploadPartInput{Bucket: aws.String("src"), Key: aws.String("py/mp"), UploadId: up.UploadId,
			PartNumber: aws.Int32(1), Body: bytes.NewReader([]byte("only part"))})
		if err != nil {
			t.Fatal(err)
		}
		done, err := e.s3.CompleteMultipartUpload(e.ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("src"), Key: aws.String("py/mp"),
			UploadId: up.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{ETag: part.ETag, PartNumber: aws.Int32(1)}}}})
		if err != nil {
			t.Fatal(err)
		}
		r := rawRecord(e.waitRecord("py/", "ObjectCreated:CompleteMultipartUpload", "py/mp"))
		if at(r, "s3", "object", "eTag") != strings.Trim(aws.ToString(done.ETag), `"`) || at(r, "s3", "object", "size") != float64(9) {
			t.Errorf("multipart record %v", at(r, "s3", "object"))
		}

		if _, err := e.s3.PutObjectTagging(e.ctx, &s3.PutObjectTaggingInput{Bucket: aws.String("src"), Key: aws.String("py/mp"),
			Tagging: &types.Tagging{TagSet: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}}); err != nil {
			t.Fatal(err)
		}
		r = rawRecord(e.waitRecord("py/", "ObjectTagging:Put", "py/mp"))
		if r["eventVersion"] != "2.3" || at(r, "s3", "object", "eTag") == nil {
			t.Errorf("tagging record %v", r)
		}
		if _, err := e.s3.DeleteObjectTagging(e.ctx, &s3.DeleteObjectTaggingInput{Bucket: aws.String("src"), Key: aws.String("py/mp")}); err != nil {
			t.Fatal(err)
		}
		e.waitRecord("py/", "ObjectTagging:Delete", "py/mp")

		// An ACL change emits ObjectAcl:Put; the same ACL again changes
		// nothing and emits nothing.
		if _, err := e.s3.PutBucketOwnershipControls(e.ctx, &s3.PutBucketOwnershipControlsInput{Bucket: aws.String("src"),
			OwnershipControls: &types.OwnershipControls{Rules: []types.OwnershipControlsRule{{ObjectOwnership: types.ObjectOwnershipObjectWriter}}}}); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if _, err := e.s3.PutObjectAcl(e.ctx, &s3.PutObjectAclInput{Bucket: aws.String("src"), Key: aws.String("py/mp"),
				GrantRead: aws.String(`uri="http://acs.amazonaws.com/groups/s3/LogDelivery"`)}); err != nil {
				t.Fatal(err)
			}
		}
		r = rawRecord(e.waitRecord("py/", "ObjectAcl:Put", "py/mp"))
		if r["eventVersion"] != "2.3" || at(r, "s3", "object", "eTag") != strings.Trim(aws.ToString(done.ETag), `"`) || at(r, "s3", "object", "size") != nil {
			t.Errorf("ACL record %v", r)
		}
		l, err := e.n.Notifications().Events(e.ctx, notify.Query{Bucket: "src", Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		acls := 0
		for _, rec := range l.Records {
			if rec.Event == "ObjectAcl:Put" {
				acls++
			}
		}
		if acls != 1 {
			t.Errorf("%d ObjectAcl:Put events, want 1 (the repeated ACL changes nothing)", acls)
		}

		if _, err := e.s3.DeleteObject(e.ctx, &s3.DeleteObjectInput{Bucket: aws.String("src"), Key: aws.String("py/copy")}); err != nil {
			t.Fatal(err)
		}
		del := rawRecord(e.waitRecord("py/", "ObjectRemoved:Delete", "py/copy"))
		if o := at(del, "s3", "object").(map[string]any); o["size"] != nil || o["eTag"] != nil || o["versionId"] != nil {
			t.Errorf("delete record object %v", o)
		}
		created := rawRecord(e.waitRecord("py/", "ObjectCreated:Copy", "py/copy"))
		if !sequencedAfter(at(del, "s3", "object", "sequencer").(string), at(created, "s3", "object", "sequencer").(string)) {
			t.Errorf("delete sequencer %v not after the copy's %v", at(del, "s3", "object", "sequencer"), at(created, "s3", "object", "sequencer"))
		}

		// A browser upload (POST Object) and a batch delete.
		ps := rootSigner()
		fields := append([]postField{{"key", "py/posted"}}, ps.v4Fields(ps.policy(t, true, ps.now.Add(time.Hour),
			map[string]string{"bucket": "src"}, []any{"starts-with", "$key", "py/"}))...)
		if resp, body := postForm(t, e.n.Endpoint+"/src", fields, postFile{body: []byte("posted")}); resp.StatusCode != 204 {
			t.Fatalf("POST Object: %d %s", resp.StatusCode, body)
		}
		if doc := e.waitRecord("py/", "ObjectCreated:Post", "py/posted"); doc["body"] != "posted" {
			t.Errorf("POST record %v", doc)
		}
		if _, err := e.s3.DeleteObjects(e.ctx, &s3.DeleteObjectsInput{Bucket: aws.String("src"), Delete: &types.Delete{
			Objects: []types.ObjectIdentifier{{Key: aws.String("py/posted")}, {Key: aws.String("py/mp")}}}}); err != nil {
			t.Fatal(err)
		}
		e.waitRecord("py/", "ObjectRemoved:Delete", "py/posted")
		e.waitRecord("py/", "ObjectRemoved:Delete", "py/mp")

		// A failed operation emits nothing; a key outside the filter
		// neither.
		_, err = e.s3.PutObject(e.ctx, &s3.PutObjectInput{Bucket: aws.String("src"), Key: aws.String("py/failed"),
			Body: bytes.NewReader([]byte("x")), IfNoneMatch: aws.String("*")})
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.s3.PutObject(e.ctx, &s3.PutObjectInput{Bucket: aws.String("src"), Key: aws.String("py/failed"),
			Body: bytes.NewReader([]byte("y")), IfNoneMatch: aws.String("*")})
		wantErr(t, err, "PreconditionFailed", 412)
		e.putObject("src", "elsewhere/x", []byte("x"))
		l, err = e.n.Notifications().Events(e.ctx, notify.Query{Bucket: "src", Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		count := 0
		for _, rec := range l.Records {
			if rec.Key == "py/failed" {
				count++
			}
			if rec.Key == "elsewhere/x" {
				t.Error("an event outside the filter was delivered")
			}
		}
		if count != 1 {
			t.Errorf("py/failed has %d events, want 1 (the failed PUT emits none)", count)
		}
	})

	t.Run("go function, versioned bucket", func(t *testing.T) {
		e := e.sub(t)
		put := e.putObject("vsrc", "go/doc one.txt", []byte("v1"))
		doc := e.waitRecord("go/", "ObjectCreated:Put", "go/doc+one.txt")
		var dec events.S3Event
		raw, _ := json.Marshal(doc["decoded"])
		if err := json.Unmarshal(raw, &dec); err != nil || len(dec.Records) != 1 {
			t.Fatalf("decoded %s: %v", raw, err)
		}
		r := dec.Records[0]
		o := r.S3.Object
		if r.EventName != "ObjectCreated:Put" || r.EventTime.IsZero() || r.S3.ConfigurationID != goConfigID ||
			o.URLDecodedKey != "go/doc one.txt" || o.Size != 2 || o.VersionID != aws.ToString(put.VersionId) || o.ETag != md5hex([]byte("v1")) ||
			o.Sequencer == "" || r.PrincipalID.PrincipalID == "" || r.ResponseElements["x-amz-request-id"] == "" {
			t.Errorf("aws-lambda-go decoded %+v", r)
		}

		del, err := e.s3.DeleteObject(e.ctx, &s3.DeleteObjectInput{Bucket: aws.String("vsrc"), Key: aws.String("go/doc one.txt")})
		if err != nil {
			t.Fatal(err)
		}
		dm := rawRecord(e.waitRecord("go/", "ObjectRemoved:DeleteMarkerCreated", "go/doc+one.txt"))
		if at(dm, "s3", "object", "versionId") != aws.ToString(del.VersionId) || at(dm, "s3", "object", "size") != nil {
			t.Errorf("delete marker record %v (marker %s)", at(dm, "s3", "object"), aws.ToString(del.VersionId))
		}
		if _, err := e.s3.DeleteObject(e.ctx, &s3.DeleteObjectInput{Bucket: aws.String("vsrc"), Key: aws.String("go/doc one.txt"),
			VersionId: put.VersionId}); err != nil {
			t.Fatal(err)
		}
		perm := rawRecord(e.waitRecord("go/", "ObjectRemoved:Delete", "go/doc+one.txt"))
		if at(perm, "s3", "object", "versionId") != aws.ToString(put.VersionId) {
			t.Errorf("permanent delete record %v", at(perm, "s3", "object"))
		}
	})

	t.Run("event log", func(t *testing.T) {
		e := e.sub(t)
		// The administrative API answers only the account root.
		resp, err := http.Get(e.n.Endpoint + "/_sluice/events")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 403 || !strings.Contains(string(body), `"code":"AccessDenied"`) {
			t.Errorf("anonymous /_sluice/events: %d %s", resp.StatusCode, body)
		}
		waitFor(t, "every delivery done", func() bool {
			l, err := e.n.Notifications().Events(e.ctx, notify.Query{Limit: 1000})
			return err == nil && l.Backlog == 0
		})
		l, _ := e.n.Notifications().Events(e.ctx, notify.Query{Bucket: "vsrc"})
		for _, r := range l.Records {
			if r.State != notify.StateDelivered || r.Attempts != 1 || r.RequestID == "" || r.Function != fnARN("go-rec") {
				t.Errorf("log record %+v", r)
			}
		}
	})
}

func (e *notifyEnv) putObject(bucket, key string, body []byte) *s3.PutObjectOutput {
	e.t.Helper()
	out, err := e.s3.PutObject(e.ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)})
	if err != nil {
		e.t.Fatalf("PutObject %s/%s: %v", bucket, key, err)
	}
	return out
}

func (e *notifyEnv) keys(bucket string) []string {
	e.t.Helper()
	var keys []string
	p := s3.NewListObjectsV2Paginator(e.s3, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	for p.HasMorePages() {
		page, err := p.NextPage(e.ctx)
		if err != nil {
			e.t.Fatal(err)
		}
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	return keys
}

// sequencedAfter applies S3's rule: pad the shorter with zeros, compare.
func sequencedAfter(a, b string) bool {
	for len(a) < len(b) {
		a += "0"
	}
	for len(b) < len(a) {
		b += "0"
	}
	return a > b
}

// pythonEnv is the environment of boto3 scripts run against the node.
func (e *notifyEnv) pythonEnv() []string {
	return clientEnv(e.t.TempDir(), "AWS_ENDPOINT_URL="+e.n.Endpoint, "AWS_REGION="+servertest.Region)
}

// TestS3NotificationLoops runs functions that write back into their own
// trigger prefix: recursive loop detection stops each chain after 16
// invocations of the function, unless its recursion config is Allow.
func TestS3NotificationLoops(t *testing.T) {
	needBoto3(t)
	e := startNotify(t)
	cases := []struct {
		name, prefix string
		rc           runtimeCase
		allow        bool
		limit        int
		want         int // the highest key written
	}{
		{"python-terminate", "py/", notifyPy, false, 40, 16},
		{"go-terminate", "go/", notifyGo, false, 40, 16},
		{"python-allow", "pya/", notifyPy, true, 20, 20},
	}
	var cfgs []types.LambdaFunctionConfiguration
	for _, c := range cases {
		name := "loop-" + c.name
		e.create(name, c.rc, "loop", withEnv("LOOP_MAX", fmt.Sprint(c.limit)))
		e.allowS3(name, "loops")
		if c.allow {
			if _, err := e.lc.PutFunctionRecursionConfig(e.ctx, &lambda.PutFunctionRecursionConfigInput{
				FunctionName: aws.String(name), RecursiveLoop: ltypes.RecursiveLoopAllow}); err != nil {
				t.Fatal(err)
			}
		}
		cfgs = append(cfgs, lambdaConfig(c.name, name, []types.Event{"s3:ObjectCreated:Put"}, c.prefix))
	}
	if err := e.configure("loops", false, cfgs...); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		e.putObject("loops", c.prefix+"0", []byte("start"))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := e.sub(t)
			want := c.prefix + fmt.Sprint(c.want)
			waitFor(t, want, func() bool { return slicesContains(e.keys("loops"), want) })
			if !c.allow {
				// The stopped invocation is recorded: failed, with the reason,
				// in the event log, and in the function's failed-event list.
				var stopped *notify.Record
				waitFor(t, "the stopped delivery", func() bool {
					l, _ := e.n.Notifications().Events(e.ctx, notify.Query{Bucket: "loops", Limit: 1000})
					for _, r := range l.Records {
						if r.Key == want && r.State == notify.StateFailed {
							stopped = r
							return true
						}
					}
					return false
				})
				if !strings.Contains(stopped.Reason, "recursive loop") || stopped.Attempts != 0 {
					t.Errorf("stopped delivery %+v", stopped)
				}
				failed, err := async.ReadFailed(async.Dir(e.n.DataDir), "loop-"+c.name)
				if err != nil || len(failed) != 1 || failed[0].Record.ResponseContext == nil ||
					!bytes.Contains(failed[0].Record.ResponsePayload, []byte("RecursiveInvocationException")) {
					t.Errorf("failed events %+v, %v", failed, err)
				}
			}
			time.Sleep(300 * time.Millisecond) // nothing more comes
			n := 0
			for _, k := range e.keys("loops") {
				if strings.HasPrefix(k, c.prefix) {
					n++
				}
			}
			if n != c.want+1 {
				t.Errorf("%d keys under %s, want %d (0 to %d)", n, c.prefix, c.want+1, c.want)
			}
		})
	}
}

func slicesContains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestS3EventsYieldToSaturatingPuts drives a burst of PUTs from 16 callers
// (aws-sdk-go-v2) into a bucket whose events invoke a Go function, on a
// node that calls two S3 requests at once saturation: the deliveries wait,
// durably queued, until the burst is over, and then every event arrives.
func TestS3EventsYieldToSaturatingPuts(t *testing.T) {
	e := &notifyEnv{fnEnv: startFunctions(t, servertest.Options{Configure: func(c *server.Config) {
		c.Functions.DeferLimit = 1
		c.Functions.Async.MaxDefer = time.Minute
	}}), seen: map[string]map[string]any{}}
	for _, b := range []string{"burst", "burst-out"} {
		if _, err := e.s3.CreateBucket(e.ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
	e.create("go-burst", notifyGo, "record", withEnv("OUT_BUCKET", "burst-out"))
	e.allowS3("go-burst", "burst")
	if err := e.configure("burst", false, lambdaConfig("burst", "go-burst", []types.Event{"s3:ObjectCreated:*"}, "")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the test event's record", func() bool { return len(e.keys("burst-out")) == 1 })

	// A burst of 1.5 s. Its steady part starts once its load has been
	// measured (three windows of 64 ms, with a margin) and ends before
	// its last requests.
	const callers = 16
	var (
		wg           sync.WaitGroup
		puts, steady atomic.Int64
	)
	start := time.Now()
	stop := start.Add(1500 * time.Millisecond)
	steadyFrom, steadyTo := start.Add(500*time.Millisecond), stop.Add(-100*time.Millisecond)
	for c := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(stop); i++ {
				if _, err := e.s3.PutObject(e.ctx, &s3.PutObjectInput{Bucket: aws.String("burst"),
					Key: aws.String(fmt.Sprintf("k-%d-%d", c, i)), Body: strings.NewReader("x")}); err != nil {
					t.Error(err)
					return
				}
				puts.Add(1)
				if now := time.Now(); now.After(steadyFrom) && now.Before(steadyTo) {
					steady.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	n := int(puts.Load())

	// Every event is delivered once the burst is over.
	var times []time.Time
	waitFor(t, fmt.Sprintf("records of %d events", n), func() bool {
		times = times[:0]
		p := s3.NewListObjectsV2Paginator(e.s3, &s3.ListObjectsV2Input{Bucket: aws.String("burst-out")})
		for p.HasMorePages() {
			page, err := p.NextPage(e.ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range page.Contents {
				times = append(times, aws.ToTime(o.LastModified))
			}
		}
		return len(times) >= n+1
	})
	if len(times) != n+1 {
		t.Errorf("%d records for %d events and the test event", len(times), n)
	}
	// Only the first moments of the burst, before its load is measured,
	// may have delivered anything: the records are written by the
	// function, so their times are the deliveries'. In the steady part,
	// allow the deliveries already under way when the load was measured
	// (one per worker) and a quarter of the events of that part: on a
	// machine busy with other work (CI runs test packages side by side)
	// the callers slow down and the server is not saturated all the time,
	// and then deliveries rightly go ahead. Deliveries that do not wait
	// keep pace with the PUTs and write about as many records as the part
	// has PUTs.
	during := 0
	for _, tm := range times {
		if tm.After(steadyFrom) && tm.Before(steadyTo) {
			during++
		}
	}
	inSteady := int(steady.Load())
	if limit := async.DefaultWorkers + inSteady/4; during > limit {
		t.Errorf("%d records written in the steady part of the burst, which had %d PUTs (limit %d); deliveries should have waited for it", during, inSteady, limit)
	}
	t.Logf("%d PUTs in 1.5 s by %d callers, %d in its steady part; %d records written in that part", n, callers, inSteady, during)
}
