package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	cttypes "github.com/aws/aws-sdk-go-v2/service/s3control/types"
	"github.com/aws/smithy-go"

	"github.com/sluicehq/sluice/internal/server"
	"github.com/sluicehq/sluice/internal/server/servertest"
)

// The Object Lambda tests drive access points and Object Lambda access
// points with aws-sdk-go-v2: S3 Control to configure them, S3 through
// aliases and ARNs, and Python transformation functions (urllib for
// inputS3Url, boto3 for WriteGetObjectResponse, as functions written for
// AWS do).

// olapPyApp holds the Python transformations; the handler selects one.
const olapPyApp = `import json, os, time, urllib.request
import boto3

s3 = boto3.client("s3")

def fetch(url, method="GET", headers=None):
    req = urllib.request.Request(url, method=method, headers=headers or {})
    with urllib.request.urlopen(req) as r:
        return r.status, dict(r.headers), r.read()

def upper(event, context):
    ctx = event["getObjectContext"]
    _, _, body = fetch(ctx["inputS3Url"])
    s3.write_get_object_response(Body=body.upper(), RequestRoute=ctx["outputRoute"],
        RequestToken=ctx["outputToken"], ContentType="text/plain", Metadata={"transformed": "yes"})
    return {"status_code": 200}

def echo_event(event, context):
    ctx = event["getObjectContext"]
    s3.write_get_object_response(Body=json.dumps(event).encode(), RequestRoute=ctx["outputRoute"],
        RequestToken=ctx["outputToken"], ContentType="application/json")

def forward_error(event, context):
    ctx = event["getObjectContext"]
    s3.write_get_object_response(RequestRoute=ctx["outputRoute"], RequestToken=ctx["outputToken"],
        StatusCode=404, ErrorCode="NoSuchKey", ErrorMessage="transformed away")

def twice(event, context):
    ctx = event["getObjectContext"]
    s3.write_get_object_response(Body=b"first", RequestRoute=ctx["outputRoute"], RequestToken=ctx["outputToken"])
    try:
        s3.write_get_object_response(Body=b"second", RequestRoute=ctx["outputRoute"], RequestToken=ctx["outputToken"])
        result = "accepted"
    except Exception as e:
        result = e.response["Error"]["Code"]
    with open(os.path.join(os.environ["OUT"], "twice"), "w") as f:
        f.write(result)

def ranged(event, context):
    ctx = event["getObjectContext"]
    rng = event["userRequest"]["headers"].get("Range", "")
    _, _, body = fetch(ctx["inputS3Url"])
    start, end = (int(x) for x in rng[len("bytes="):].split("-"))
    s3.write_get_object_response(Body=body[start:end + 1], RequestRoute=ctx["outputRoute"],
        RequestToken=ctx["outputToken"], StatusCode=206,
        ContentRange="bytes %d-%d/%d" % (start, end, len(body)))

unsigned = boto3.client("s3", config=__import__("botocore.config").config.Config(s3={"payload_signing_enabled": False}))

def big(event, context):
    # 3 MiB with a Content-Length, unsigned: the server splices it.
    ctx = event["getObjectContext"]
    _, _, body = fetch(ctx["inputS3Url"])
    unsigned.write_get_object_response(Body=body * (3 * 1024 * 1024 // len(body) + 1), RequestRoute=ctx["outputRoute"],
        RequestToken=ctx["outputToken"], ContentType="application/octet-stream")

def headers(event, context):
    # Every forwarded header AWS lists, and the status.
    ctx = event["getObjectContext"]
    import datetime
    s3.write_get_object_response(Body=b"partial", RequestRoute=ctx["outputRoute"], RequestToken=ctx["outputToken"],
        StatusCode=206, ContentRange="bytes 0-6/20", AcceptRanges="bytes", CacheControl="max-age=60",
        ContentDisposition='attachment; filename="x.txt"', ContentEncoding="identity", ContentLanguage="fr",
        ContentType="text/x-test", ETag='"abc"', Expires=datetime.datetime(2030, 1, 2, 3, 4, 5),
        LastModified=datetime.datetime(2024, 5, 6, 7, 8, 9), ChecksumCRC32="AAAAAA==", StorageClass="STANDARD_IA",
        VersionId="v-123", TagCount=3, ObjectLockMode="GOVERNANCE", ObjectLockLegalHoldStatus="ON",
        ObjectLockRetainUntilDate=datetime.datetime(2031, 1, 1), ServerSideEncryption="AES256",
        Metadata={"a": "1", "b": "two"}, MissingMeta=2, ReplicationStatus="COMPLETED")

def invalid(event, context):
    # An error code with a success status: WriteGetObjectResponse refuses it.
    ctx = event["getObjectContext"]
    try:
        s3.write_get_object_response(RequestRoute=ctx["outputRoute"], RequestToken=ctx["outputToken"],
            StatusCode=200, ErrorCode="NoSuchKey", ErrorMessage="contradiction")
        result = "accepted"
    except Exception as e:
        result = e.response["Error"]["Code"]
    with open(os.path.join(os.environ["OUT"], "invalid"), "w") as f:
        f.write(result)

class Failing:
    """A body that fails after its first megabyte."""
    def __init__(self):
        self.sent = 0
    def read(self, size=-1):
        if self.sent >= 1 << 20:
            raise IOError("the transformation broke mid-stream")
        self.sent += 64 << 10
        return b"x" * (64 << 10)

def mid_stream(event, context):
    ctx = event["getObjectContext"]
    unsigned.write_get_object_response(Body=Failing(), RequestRoute=ctx["outputRoute"], RequestToken=ctx["outputToken"])

def no_response(event, context):
    return {"status_code": 200}

def crash(event, context):
    raise ValueError("transformation failed")

def slow(event, context):
    time.sleep(20)

def head(event, context):
    status, headers, _ = fetch(event["headObjectContext"]["inputS3Url"], method="HEAD")
    return {"statusCode": 200, "headers": {"Content-Length": int(headers["Content-Length"]) * 2,
        "Content-Type": "text/doubled", "x-amz-meta-original-length": headers["Content-Length"]}}

def head_missing(event, context):
    return {"statusCode": 404, "errorCode": "NoSuchKey", "errorMessage": "hidden"}

def list_v2(event, context):
    import xml.etree.ElementTree as ET
    _, _, body = fetch(event["listObjectsV2Context"]["inputS3Url"])
    ns = {"s3": "http://s3.amazonaws.com/doc/2006-03-01/"}
    root = ET.fromstring(body)
    keys = [c.find("s3:Key", ns).text for c in root.findall("s3:Contents", ns)]
    return {"statusCode": 200, "listBucketResult": {
        "name": "transformed", "prefix": "", "keyCount": len(keys), "maxKeys": 1000, "isTruncated": False,
        "contents": [{"key": k.upper(), "size": 1, "eTag": '"x"', "lastModified": "2024-01-02T03:04:05.000Z"} for k in keys]}}

def list_v1(event, context):
    return {"statusCode": 200, "listResultXml": '<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>raw</Name><Prefix></Prefix><Marker></Marker><MaxKeys>1</MaxKeys><IsTruncated>false</IsTruncated><Contents><Key>from-xml</Key><Size>3</Size></Contents></ListBucketResult>'}
`

// olapEnv is a node with functions, an S3 Control client and helpers for
// access points.
type olapEnv struct {
	*fnEnv
	ctl *s3control.Client
	// arnS3 is an S3 client that reaches access point ARN hosts
	// (<name>-<account>.127.0.0.1) through a dialer, as /etc/hosts would.
	arnS3 *s3.Client
}

func startOLAP(t *testing.T, configure ...func(*server.Config)) *olapEnv {
	t.Helper()
	needBoto3(t)
	e := startFunctions(t, servertest.Options{Configure: func(c *server.Config) {
		for _, f := range configure {
			f(c)
		}
	}})
	cfg := e.n.AWSConfig()
	cfg.HTTPClient = e.n.AnyHostClient()
	return &olapEnv{
		fnEnv: e,
		ctl:   s3control.NewFromConfig(cfg),
		arnS3: s3.NewFromConfig(cfg),
	}
}

// accessPoint creates a bucket and a standard access point over it and
// returns the access point's alias.
func (e *olapEnv) accessPoint(bucket, name string) string {
	e.t.Helper()
	if _, err := e.s3.CreateBucket(e.ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		e.t.Fatalf("CreateBucket: %v", err)
	}
	out, err := e.ctl.CreateAccessPoint(e.ctx, &s3control.CreateAccessPointInput{
		AccountId: aws.String(servertest.AccountID), Name: aws.String(name), Bucket: aws.String(bucket),
	})
	if err != nil {
		e.t.Fatalf("CreateAccessPoint: %v", err)
	}
	return aws.ToString(out.Alias)
}

// olap creates an Object Lambda access point over the access point ap
// whose actions run function, and returns its alias.
func (e *olapEnv) olap(name, ap, function string, actions []cttypes.ObjectLambdaTransformationConfigurationAction, features ...cttypes.ObjectLambdaAllowedFeature) string {
	e.t.Helper()
	out, err := e.ctl.CreateAccessPointForObjectLambda(e.ctx, &s3control.CreateAccessPointForObjectLambdaInput{
		AccountId: aws.String(servertest.AccountID), Name: aws.String(name),
		Configuration: &cttypes.ObjectLambdaConfiguration{
			SupportingAccessPoint: aws.String("arn:aws:s3:us-east-1:000000000000:accesspoint/" + ap),
			AllowedFeatures:       features,
			TransformationConfigurations: []cttypes.ObjectLambdaTransformationConfiguration{{
				Actions: actions,
				ContentTransformation: &cttypes.ObjectLambdaContentTransformationMemberAwsLambda{
					Value: cttypes.AwsLambdaTransformation{FunctionArn: aws.String(fnARN(function)), FunctionPayload: aws.String(`{"p":1}`)},
				},
			}},
		},
	})
	if err != nil {
		e.t.Fatalf("CreateAccessPointForObjectLambda %s: %v", name, err)
	}
	return aws.ToString(out.Alias.Value)
}

var pyOLAP = runtimeCase{"python", "python3.12",
	func(tb testing.TB) []byte { return zipOf(tb, map[string]zfile{"app.py": {body: olapPyApp}}) },
	func(b string) string { return "app." + b }, needBoto3}

func olapARN(name string) string {
	return "arn:aws:s3-object-lambda:us-east-1:000000000000:accesspoint/" + name
}

// apiError returns the code and status of an SDK error.
func apiError(err error) (string, int) {
	var ae smithy.APIError
	var re *awshttp.ResponseError
	code, status := "", 0
	if errors.As(err, &ae) {
		code = ae.ErrorCode()
	}
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	return code, status
}

var getAction = []cttypes.ObjectLambdaTransformationConfigurationAction{cttypes.ObjectLambdaTransformationConfigurationActionGetObject}

func TestObjectLambdaGet(t *testing.T) {
	e := startOLAP(t)
	apAlias := e.accessPoint("olap-src", "src-ap")
	if _, err := e.s3.PutObject(e.ctx, &s3.PutObjectInput{Bucket: aws.String("olap-src"), Key: aws.String("docs/a b.txt"), Body: strings.NewReader("hello object lambda")}); err != nil {
		t.Fatal(err)
	}
	// Through the access point's alias, the bucket's objects.
	got, err := e.s3.GetObject(e.ctx, &s3.GetObjectInput{Bucket: aws.String(apAlias), Key: aws.String("docs/a b.txt")})
	if err != nil {
		t.Fatalf("GetObject through access point alias: %v", err)
	}
	b, _ := io.ReadAll(got.Body)
	if string(b) != "hello object lambda" {
		t.Fatalf("through alias: %q", b)
	}

	e.create("upper", pyOLAP, "upper")
	e.create("echo-event", pyOLAP, "echo_event")
	upperAlias := e.olap("upper-olap", "src-ap", "upper", getAction)
	e.olap("echo-olap", "src-ap", "echo-event", getAction)

	check := func(t *testing.T, out *s3.GetObjectOutput, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("GetObject: %v", err)
		}
		b, _ := io.ReadAll(out.Body)
		if string(b) != "HELLO OBJECT LAMBDA" || aws.ToString(out.ContentType) != "text/plain" || out.Metadata["transformed"] != "yes" {
			t.Fatalf("transformed: %q type %q meta %v", b, aws.ToString(out.ContentType), out.Metadata)
		}
	}
	t.Run("alias", func(t *testing.T) {
		out, err := e.s3.GetObject(e.ctx, &s3.GetObjectInput{Bucket: aws.String(upperAlias), Key: aws.String("docs/a b.txt")})
		check(t, out, err)
	})
	t.Run("arn", func(t *testing.T) {
		out, err := e.arnS3.GetObject(e.ctx, &s3.GetObjectInput{Bucket: aws.String(olapARN("upper-olap")), Key: aws.String("docs/a b.txt")})
		check(t, out, err)
	})
	t.Run("event", func(t *testing.T) {
		out, err := e.arnS3.GetObject(e.ctx, &s3.GetObjectInput{Bucket: aws.String(olapARN("echo-olap")), Key: aws.String("docs/a b.txt")})
		if err != nil {
			t.Fatal(err)
		}
		var ev struct {
			XAmzRequestID    string `json:"xAmzRequestId"`
			GetObjectContext struct {
				InputS3URL  string `json:"inputS3Url"`
				OutputRoute string `json:"outputRoute"`
				OutputToken string `json:"outputToken"`
			} `json:"getObjectContext"`
			Configuration struct {
				AccessPointARN           string `json:"accessPointArn"`
				SupportingAccessPointARN string `json:"supportingAccessPointArn"`
				Payload                  string `json:"payload"`
			} `json:"configuration"`
			UserRequest struct {
				URL     string            `json:"url"`
				Headers map[string]string `json:"headers"`
			} `json:"userRequest"`
			UserIdentity struct {
				Type      string `json:"type"`
				AccountID string `json:"accountId"`
			} `json:"userIdentity"`
			ProtocolVersion string `json:"protocolVersion"`
		}
		raw, _ := io.ReadAll(out.Body)
		if err := json.Unmarshal(raw, &ev); err != nil {
			t.Fatalf("event %s: %v", raw, err)
		}
		u, err := url.Parse(ev.GetObjectContext.InputS3URL)
		if err != nil || u.EscapedPath() != "/docs/a%20b.txt" || u.Query().Get("X-Amz-Signature") == "" {
			t.Errorf("inputS3Url %q: path must be /<key>, presigned", ev.GetObjectContext.InputS3URL)
		}
		// Plain HTTP, no SDK, no DNS: the original object.
		resp, err := http.Get(ev.GetObjectContext.InputS3URL)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != "hello object lambda" {
			t.Errorf("GET inputS3Url: %d %q", resp.StatusCode, body)
		}
		if ev.Configuration.AccessPointARN != olapARN("echo-olap") ||
			ev.Configuration.SupportingAccessPointARN != "arn:aws:s3:us-east-1:000000000000:accesspoint/src-ap" ||
			ev.Configuration.Payload != `{"p":1}` || ev.ProtocolVersion != "1.00" || ev.XAmzRequestID == "" ||
			ev.GetObjectContext.OutputRoute == "" || ev.GetObjectContext.OutputToken == "" {
			t.Errorf("event: %s", raw)
		}
		if !strings.HasPrefix(ev.UserRequest.URL, "http://echo-olap-000000000000.") || !strings.Contains(ev.UserRequest.URL, "/docs/a%20b.txt") ||
			ev.UserRequest.Headers["Authorization"] != "" || ev.UserRequest.Headers["Host"] == "" {
			t.Errorf("userRequest: %+v", ev.UserRequest)
		}
		if ev.UserIdentity.Type != "Root" || ev.UserIdentity.AccountID != servertest.AccountID {
			t.Errorf("userIdentity: %+v", ev.UserIdentity)
		}
	})
	t.Run("large unsigned body", func(t *testing.T) {
		e.create("big", pyOLAP, "big")
		e.olap("big-olap", "src-ap", "big", getAction)
		for i := range 3 { // the function's connection is taken over each time
			out, err := e.arnS3.GetObject(e.ctx, &s3.GetObjectInput{Bucket: aws.String(olapARN("big-olap")), Key: aws.String("docs/a b.txt")})
			if err != nil {
				t.Fatalf("GetObject %d: %v", i, err)
			}
			b, err := io.ReadAll(out.Body)
			unit := "hello object lambda"
			if err != nil || len(b) < 3<<20 || len(b)%len(unit) != 0 || string(b[len(b)-len(unit):]) != unit || aws.ToInt64(out.ContentLength) != int64(len(b)) {
				t.Fatalf("body: %d bytes, Content-Length %d, %v", len(b), aws.ToInt64(out.ContentLength), err)
			}
		}
	})
	t.Run("forwarded headers", func(t *testing.T) {
		e.create("headers", pyOLAP, "headers")
		e.olap("headers-olap", "src-ap", "headers", getAction)
		out, err := e.arnS3.GetObject(e.ctx, &s3.GetObjectInput{Bucket: aws.String(olapARN("headers-olap")), Key: aws.String("docs/a b.txt")})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(out.Body)
		for _, c := range []struct{ name, got, want string }{
			{"body", string(b), "partial"},
			{"Content-Range", aws.ToString(out.ContentRange), "bytes 0-6/20"},
			{"Accept-Ranges", aws.ToString(out.AcceptRanges), "bytes"},
			{"Cache-Control", aws.ToString(out.CacheControl), "max-age=60"},
			{"Content-Disposition", aws.ToString(out.ContentDisposition), `attachment; filename="x.txt"`},
			{"Content-Encoding", aws.ToString(out.ContentEncoding), "identity"},
			{"Content-Language", aws.ToString(out.ContentLanguage), "fr"},
			{"Content-Type", aws.ToString(out.ContentType), "text/x-test"},
			{"ETag", aws.ToString(out.ETag), `"abc"`},
			{"Expires", aws.ToString(out.ExpiresString), "Wed, 02 Jan 2030 03:04:05 GMT"},
			{"Last-Modified", aws.ToTime(out.LastModified).UTC().Format(time.RFC3339), "2024-05-06T07:08:09Z"},
			{"x-amz-checksum-crc32", aws.ToString(out.ChecksumCRC32), "AAAAAA=="},
			{"x-amz-storage-class", string(out.StorageClass), "STANDARD_IA"},
			{"x-amz-version-id", aws.ToString(out.VersionId), "v-123"},
			{"x-amz-tagging-count", fmt.Sprint(aws.ToInt32(out.TagCount)), "3"},
			{"x-amz-object-lock-mode", string(out.ObjectLockMode), "GOVERNANCE"},
			{"x-amz-object-lock-legal-hold", string(out.ObjectLockLegalHoldStatus), "ON"},
			{"x-amz-object-lock-retain-until-date", aws.ToTime(out.ObjectLockRetainUntilDate).UTC().Format(time.RFC3339), "2031-01-01T00:00:00Z"},
			{"x-amz-server-side-encryption", string(out.ServerSideEncryption), "AES256"},
			{"x-amz-missing-meta", fmt.Sprint(aws.ToInt32(out.MissingMeta)), "2"},
			{"x-amz-replication-status", string(out.ReplicationStatus), "COMPLETED"},
			{"x-amz-meta-*", out.Metadata["a"] + "," + out.Metadata["b"], "1,two"},
		} {
			if c.got != c.want {
				t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
			}
		}
	})
	t.Run("pass through", func(t *testing.T) {
		// PutObject and HeadObject are not transformed: they act on the bucket.
		if _, err := e.s3.PutObject(e.ctx, &s3.PutObjectInput{Bucket: aws.String(upperAlias), Key: aws.String("via-olap"), Body: strings.NewReader("abc")}); err != nil {
			t.Fatalf("PutObject through Object Lambda alias: %v", err)
		}
		h, err := e.s3.HeadObject(e.ctx, &s3.HeadObjectInput{Bucket: aws.String("olap-src"), Key: aws.String("via-olap")})
		if err != nil || aws.ToInt64(h.ContentLength) != 3 {
			t.Fatalf("HeadObject in bucket: %v", err)
		}
		h, err = e.s3.HeadObject(e.ctx, &s3.HeadObjectInput{Bucket: aws.String(upperAlias), Key: aws.String("via-olap")})
		if err != nil || aws.ToInt64(h.ContentLength) != 3 {
			t.Fatalf("HeadObject through Object Lambda alias: %v", err)
		}
	})
}

func TestObjectLambdaErrors(t *testing.T) {
	e := startOLAP(t, func(c *server.Config) { c.ObjectLambdaTimeout = 6 * time.Second })
	e.accessPoint("olap-err", "err-ap")
	if _, err := e.s3.PutObject(e.ctx, &s3.PutObjectInput{Bucket: aws.String("olap-err"), Key: aws.String("k"), Body: strings.NewReader("0123456789")}); err != nil {
		t.Fatal(err)
	}
	for _, fn := range []struct{ name, handler string }{
		{"no-response", "no_response"}, {"crash", "crash"}, {"slow", "slow"},
		{"forward-error", "forward_error"}, {"twice", "twice"}, {"ranged", "ranged"},
	} {
		e.create(fn.name, pyOLAP, fn.handler)
		e.olap(fn.name, "err-ap", fn.name, getAction, cttypes.ObjectLambdaAllowedFeatureGetObjectRange)
	}
	e.create("mid-stream", pyOLAP, "mid_stream")
	e.olap("mid-stream", "err-ap", "mid-stream", getAction)
	e.create("invalid", pyOLAP, "invalid")
	e.olap("invalid", "err-ap", "invalid", getAction)
	e.olap("missing-fn", "err-ap", "does-not-exist", getAction)
	e.olap("no-range", "err-ap", "ranged", getAction)

	get := func(olap string, mods ...func(*s3.GetObjectInput)) (*s3.GetObjectOutput, error) {
		in := &s3.GetObjectInput{Bucket: aws.String(olapARN(olap)), Key: aws.String("k")}
		for _, m := range mods {
			m(in)
		}
		return e.arnS3.GetObject(e.ctx, in)
	}
	for _, tc := range []struct {
		olap   string
		code   string
		status int
		rng    string
	}{
		{"no-response", "LambdaResponseNotReceived", 500, ""},
		{"crash", "LambdaRuntimeError", 500, ""},
		{"slow", "LambdaTimeout", 500, ""},
		{"forward-error", "NoSuchKey", 404, ""},
		{"missing-fn", "LambdaNotFound", 404, ""},
		{"invalid", "LambdaResponseNotReceived", 500, ""},
		{"no-range", "NotImplemented", 501, "bytes=0-3"},
	} {
		t.Run(tc.olap, func(t *testing.T) {
			_, err := get(tc.olap, func(in *s3.GetObjectInput) {
				if tc.rng != "" {
					in.Range = aws.String(tc.rng)
				}
			})
			if code, status := apiError(err); code != tc.code || status != tc.status {
				t.Fatalf("err = %v, want %s %d", err, tc.code, tc.status)
			}
		})
	}
	t.Run("single-use token", func(t *testing.T) {
		out, err := get("twice")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(out.Body)
		if string(b) != "first" {
			t.Fatalf("body %q", b)
		}
		waitFor(t, "the function's second WriteGetObjectResponse", func() bool {
			got, _ := os.ReadFile(filepath.Join(e.out, "twice"))
			return len(got) > 0
		})
		if got, _ := os.ReadFile(filepath.Join(e.out, "twice")); string(got) != "ValidationError" {
			t.Fatalf("second WriteGetObjectResponse: %q", got)
		}
	})
	t.Run("failure mid-stream", func(t *testing.T) {
		// The function fails after its response has started: the caller's
		// response is cut short, never completed.
		out, err := get("mid-stream")
		if err != nil {
			if code, _ := apiError(err); code == "" {
				t.Fatalf("GetObject: %v", err)
			}
			t.Logf("failed before the response started: %v", err)
			return // also not a complete body
		}
		b, err := io.ReadAll(out.Body)
		if err == nil {
			t.Fatalf("read %d bytes and a clean end: the truncated response looks complete", len(b))
		}
		t.Logf("cut after %d bytes: %v", len(b), err)
	})
	t.Run("partNumber", func(t *testing.T) {
		_, err := get("no-range", func(in *s3.GetObjectInput) { in.PartNumber = aws.Int32(1) })
		if code, status := apiError(err); code != "NotImplemented" || status != 501 {
			t.Fatalf("partNumber without GetObject-PartNumber: %v", err)
		}
	})
	t.Run("invalid WriteGetObjectResponse", func(t *testing.T) {
		// The function saw WriteGetObjectResponse refuse its call.
		waitFor(t, "the function's verdict", func() bool {
			got, _ := os.ReadFile(filepath.Join(e.out, "invalid"))
			return len(got) > 0
		})
		if got, _ := os.ReadFile(filepath.Join(e.out, "invalid")); string(got) != "ValidationError" {
			t.Fatalf("WriteGetObjectResponse with an error code and status 200: %q", got)
		}
	})
	t.Run("range allowed", func(t *testing.T) {
		out, err := get("ranged", func(in *s3.GetObjectInput) { in.Range = aws.String("bytes=2-5") })
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(out.Body)
		if string(b) != "2345" || aws.ToString(out.ContentRange) != "bytes 2-5/10" {
			t.Fatalf("range: %q %q", b, aws.ToString(out.ContentRange))
		}
	})
	t.Run("unsupported", func(t *testing.T) {
		// A copy whose source is an Object Lambda access point.
		_, err := e.s3.CopyObject(e.ctx, &s3.CopyObjectInput{
			Bucket: aws.String("olap-err"), Key: aws.String("copy"), CopySource: aws.String(olapARN("crash") + "/object/k"),
		})
		if code, status := apiError(err); code != "NotImplemented" || status != 501 {
			t.Fatalf("copy from Object Lambda: %v", err)
		}
		alias := e.olap("unsupported", "err-ap", "crash", getAction)
		// SelectObjectContent through the Object Lambda access point.
		_, err = e.s3.SelectObjectContent(e.ctx, &s3.SelectObjectContentInput{
			Bucket: aws.String(alias), Key: aws.String("k"), Expression: aws.String("select * from s3object"),
			ExpressionType:      s3types.ExpressionTypeSql,
			InputSerialization:  &s3types.InputSerialization{CSV: &s3types.CSVInput{}},
			OutputSerialization: &s3types.OutputSerialization{CSV: &s3types.CSVOutput{}},
		})
		if code, status := apiError(err); code != "NotImplemented" || status != 501 {
			t.Fatalf("SelectObjectContent through Object Lambda: %v", err)
		}
		// A browser-form POST upload to the Object Lambda access point.
		var form bytes.Buffer
		mw := multipart.NewWriter(&form)
		mw.WriteField("key", "posted")
		fw, _ := mw.CreateFormFile("file", "posted")
		fw.Write([]byte("body"))
		mw.Close()
		resp, err := http.Post(e.n.Endpoint+"/"+alias, mw.FormDataContentType(), &form)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 501 || !strings.Contains(string(b), "<Code>NotImplemented</Code>") {
			t.Fatalf("POST Object through Object Lambda: %d %s", resp.StatusCode, b)
		}
		if _, err := e.s3.HeadObject(e.ctx, &s3.HeadObjectInput{Bucket: aws.String("olap-err"), Key: aws.String("posted")}); err == nil {
			t.Fatal("the refused POST wrote the object")
		}
	})
}

func TestObjectLambdaHeadAndList(t *testing.T) {
	e := startOLAP(t)
	e.accessPoint("olap-hl", "hl-ap")
	for _, k := range []string{"a", "b/c"} {
		if _, err := e.s3.PutObject(e.ctx, &s3.PutObjectInput{Bucket: aws.String("olap-hl"), Key: aws.String(k), Body: strings.NewReader("12345")}); err != nil {
			t.Fatal(err)
		}
	}
	e.create("head", pyOLAP, "head")
	e.create("head-missing", pyOLAP, "head_missing")
	e.create("list-v2", pyOLAP, "list_v2")
	e.create("list-v1", pyOLAP, "list_v1")
	e.olap("head-olap", "hl-ap", "head", []cttypes.ObjectLambdaTransformationConfigurationAction{cttypes.ObjectLambdaTransformationConfigurationActionHeadObject})
	e.olap("head-missing", "hl-ap", "head-missing", []cttypes.ObjectLambdaTransformationConfigurationAction{cttypes.ObjectLambdaTransformationConfigurationActionHeadObject})
	listAlias := e.olap("list-olap", "hl-ap", "list-v2", []cttypes.ObjectLambdaTransformationConfigurationAction{cttypes.ObjectLambdaTransformationConfigurationActionListObjectsV2})
	e.olap("list-xml", "hl-ap", "list-v1", []cttypes.ObjectLambdaTransformationConfigurationAction{cttypes.ObjectLambdaTransformationConfigurationActionListObjects})

	h, err := e.arnS3.HeadObject(e.ctx, &s3.HeadObjectInput{Bucket: aws.String(olapARN("head-olap")), Key: aws.String("a")})
	if err != nil {
		t.Fatalf("HeadObject: %v", err)
	}
	if aws.ToInt64(h.ContentLength) != 10 || aws.ToString(h.ContentType) != "text/doubled" || h.Metadata["original-length"] != "5" {
		t.Errorf("HEAD transformed: length %d type %q meta %v", aws.ToInt64(h.ContentLength), aws.ToString(h.ContentType), h.Metadata)
	}
	_, err = e.arnS3.HeadObject(e.ctx, &s3.HeadObjectInput{Bucket: aws.String(olapARN("head-missing")), Key: aws.String("a")})
	if _, status := apiError(err); status != 404 {
		t.Errorf("HEAD with errorCode: %v", err)
	}
	// Range and partNumber on a transformed HEAD without HeadObject-Range/-PartNumber.
	_, err = e.arnS3.HeadObject(e.ctx, &s3.HeadObjectInput{Bucket: aws.String(olapARN("head-olap")), Key: aws.String("a"), Range: aws.String("bytes=0-1")})
	if _, status := apiError(err); status != 501 {
		t.Errorf("HEAD with Range: %v", err)
	}
	_, err = e.arnS3.HeadObject(e.ctx, &s3.HeadObjectInput{Bucket: aws.String(olapARN("head-olap")), Key: aws.String("a"), PartNumber: aws.Int32(1)})
	if _, status := apiError(err); status != 501 {
		t.Errorf("HEAD with partNumber: %v", err)
	}
	// HEAD is not transformed by the GET-only access point: it passes through.
	l, err := e.s3.ListObjectsV2(e.ctx, &s3.ListObjectsV2Input{Bucket: aws.String(listAlias)})
	if err != nil {
		t.Fatalf("ListObjectsV2: %v", err)
	}
	var keys []string
	for _, c := range l.Contents {
		keys = append(keys, aws.ToString(c.Key))
	}
	if strings.Join(keys, ",") != "A,B/C" || aws.ToString(l.Name) != "transformed" || aws.ToInt32(l.KeyCount) != 2 {
		t.Errorf("ListObjectsV2 transformed: %v name %q", keys, aws.ToString(l.Name))
	}
	l1, err := e.arnS3.ListObjects(e.ctx, &s3.ListObjectsInput{Bucket: aws.String(olapARN("list-xml"))})
	if err != nil {
		t.Fatalf("ListObjects: %v", err)
	}
	if len(l1.Contents) != 1 || aws.ToString(l1.Contents[0].Key) != "from-xml" {
		t.Errorf("ListObjects from listResultXml: %+v", l1.Contents)
	}
	// ListObjectsV2 through the V1-only access point passes through.
	l2, err := e.arnS3.ListObjectsV2(e.ctx, &s3.ListObjectsV2Input{Bucket: aws.String(olapARN("list-xml"))})
	if err != nil || len(l2.Contents) != 2 {
		t.Errorf("ListObjectsV2 pass-through: %v", err)
	}
}

// jsSDK returns the node_modules directory holding @aws-sdk/client-s3
// ($SLUICE_JS_SDK/node_modules, default ~/.cache/sluice/js-sdk; .ci/run
// installs it there), skipping the test without it.
func jsSDK(t *testing.T) string {
	t.Helper()
	needNode(t)
	dir := os.Getenv("SLUICE_JS_SDK")
	if dir == "" {
		home, _ := os.UserHomeDir()
		dir = filepath.Join(home, ".cache", "sluice", "js-sdk")
	}
	mods := filepath.Join(dir, "node_modules")
	if _, err := os.Stat(filepath.Join(mods, "@aws-sdk", "client-s3", "package.json")); err != nil {
		t.Skipf("@aws-sdk/client-s3 is not installed in %s (npm install --prefix %s @aws-sdk/client-s3; .ci/run does)", dir, dir)
	}
	return mods
}

// olapNodeApp is a Node.js transformation with the JS SDK v3: it calls
// WriteGetObjectResponse with a default S3Client, which the Node.js
// bootstrap keeps from prefixing the host with the output route.
const olapNodeApp = `const { S3Client, WriteGetObjectResponseCommand } = require('@aws-sdk/client-s3');
const s3 = new S3Client({});
exports.handler = async (event) => {
  const ctx = event.getObjectContext;
  const res = await fetch(ctx.inputS3Url);
  const text = await res.text();
  await s3.send(new WriteGetObjectResponseCommand({
    RequestRoute: ctx.outputRoute, RequestToken: ctx.outputToken,
    Body: Buffer.from(text.split('').reverse().join('')), ContentType: 'text/reversed',
  }));
};
`

func TestObjectLambdaNodeSDK(t *testing.T) {
	mods := jsSDK(t)
	e := startOLAP(t)
	e.accessPoint("olap-node", "node-ap")
	if _, err := e.s3.PutObject(e.ctx, &s3.PutObjectInput{Bucket: aws.String("olap-node"), Key: aws.String("k"), Body: strings.NewReader("stressed")}); err != nil {
		t.Fatal(err)
	}
	rc := runtimeCase{"node", "nodejs20.x", func(tb testing.TB) []byte { return zipOf(tb, map[string]zfile{"index.js": {body: olapNodeApp}}) },
		func(b string) string { return "index." + b }, needNode}
	e.create("reverse", rc, "handler", withEnv("NODE_PATH", mods))
	alias := e.olap("node-olap", "node-ap", "reverse", getAction)
	out, err := e.s3.GetObject(e.ctx, &s3.GetObjectInput{Bucket: aws.String(alias), Key: aws.String("k")})
	if err != nil {
		t.Fatalf("GetObject: %v", err)
	}
	b, _ := io.ReadAll(out.Body)
	if string(b) != "desserts" || aws.ToString(out.ContentType) != "text/reversed" {
		t.Fatalf("got %q (%s)", b, aws.ToString(out.ContentType))
	}
}
