package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	cttypes "github.com/aws/aws-sdk-go-v2/service/s3control/types"

	"github.com/sluicehq/sluice/internal/server/servertest"
)

// These tests follow README's "Access points and DNS" on a
// machine without wildcard DNS, with the clients' own resolvers (no
// dialer standing in for DNS): S3 at the IP endpoint (path style, no DNS),
// S3 Control at http://localhost:<port> through AWS_ENDPOINT_URL_S3_CONTROL
// with "127.0.0.1 000000000000.localhost" in /etc/hosts, and an Object
// Lambda access point addressed by ARN at http://localhost:<port> with
// its "<name>-000000000000.localhost" line.

// TestAccessPointsDNSGo drives the recipe with aws-sdk-go-v2 configured
// from the environment, as a program does (config.LoadDefaultConfig).
func TestAccessPointsDNSGo(t *testing.T) {
	needHosts(t, "000000000000.localhost", "go-olap-000000000000.localhost")
	e := startOLAP(t)
	_, port, _ := net.SplitHostPort(e.n.Addr)
	home := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL":            "http://127.0.0.1:" + port,
		"AWS_ENDPOINT_URL_S3_CONTROL": "http://localhost:" + port,
		"AWS_ACCESS_KEY_ID":           servertest.AccessKeyID, "AWS_SECRET_ACCESS_KEY": servertest.SecretAccessKey,
		"AWS_REGION": servertest.Region, "AWS_CONFIG_FILE": filepath.Join(home, "config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(home, "credentials"), "AWS_PROFILE": "",
		"AWS_SESSION_TOKEN": "", "AWS_EC2_METADATA_DISABLED": "true", "AWS_CA_BUNDLE": "",
	} {
		t.Setenv(k, v)
	}
	cfg, err := config.LoadDefaultConfig(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	ctl := s3control.NewFromConfig(cfg)
	plain := s3.NewFromConfig(cfg) // an IP endpoint: path style
	// ARN-addressed requests need a host name endpoint (README).
	byARN := s3.NewFromConfig(cfg, func(o *s3.Options) { o.BaseEndpoint = aws.String("http://localhost:" + port) })

	if _, err := plain.CreateBucket(e.ctx, &s3.CreateBucketInput{Bucket: aws.String("dns-go")}); err != nil {
		t.Fatal(err)
	}
	if _, err := plain.PutObject(e.ctx, &s3.PutObjectInput{Bucket: aws.String("dns-go"), Key: aws.String("k"), Body: strings.NewReader("by name")}); err != nil {
		t.Fatal(err)
	}
	ap, err := ctl.CreateAccessPoint(e.ctx, &s3control.CreateAccessPointInput{
		AccountId: aws.String(servertest.AccountID), Name: aws.String("go-ap"), Bucket: aws.String("dns-go"),
	})
	if err != nil {
		t.Fatalf("CreateAccessPoint at 000000000000.localhost: %v", err)
	}
	e.create("go-upper", pyOLAP, "upper")
	olap, err := ctl.CreateAccessPointForObjectLambda(e.ctx, &s3control.CreateAccessPointForObjectLambdaInput{
		AccountId: aws.String(servertest.AccountID), Name: aws.String("go-olap"),
		Configuration: &cttypes.ObjectLambdaConfiguration{
			SupportingAccessPoint: ap.AccessPointArn,
			TransformationConfigurations: []cttypes.ObjectLambdaTransformationConfiguration{{
				Actions: getAction,
				ContentTransformation: &cttypes.ObjectLambdaContentTransformationMemberAwsLambda{
					Value: cttypes.AwsLambdaTransformation{FunctionArn: aws.String(fnARN("go-upper"))},
				},
			}},
		},
	})
	if err != nil {
		t.Fatalf("CreateAccessPointForObjectLambda: %v", err)
	}
	l, err := ctl.ListAccessPointsForObjectLambda(e.ctx, &s3control.ListAccessPointsForObjectLambdaInput{AccountId: aws.String(servertest.AccountID)})
	if err != nil || len(l.ObjectLambdaAccessPointList) != 1 {
		t.Fatalf("ListAccessPointsForObjectLambda: %v", err)
	}
	for name, get := range map[string]func() (*s3.GetObjectOutput, error){
		"alias, path style at the IP endpoint": func() (*s3.GetObjectOutput, error) {
			return plain.GetObject(e.ctx, &s3.GetObjectInput{Bucket: olap.Alias.Value, Key: aws.String("k")})
		},
		"ARN at go-olap-000000000000.localhost": func() (*s3.GetObjectOutput, error) {
			return byARN.GetObject(e.ctx, &s3.GetObjectInput{Bucket: olap.ObjectLambdaAccessPointArn, Key: aws.String("k")})
		},
	} {
		out, err := get()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		b, _ := io.ReadAll(out.Body)
		if string(b) != "BY NAME" {
			t.Errorf("%s: %q", name, b)
		}
	}
}

// awsCLIResult runs the aws CLI and returns its output and error.
func awsCLIResult(env []string, dir string, args ...string) (stdout, stderr string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "aws", args...)
	cmd.Env, cmd.Dir = env, dir
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

// TestAccessPointsCLI calls every access point and Object Lambda access
// point operation, and their errors, with the aws CLI set up as README
// says: AWS_ENDPOINT_URL at the IP endpoint, AWS_ENDPOINT_URL_S3_CONTROL
// at http://localhost:<port>.
func TestAccessPointsCLI(t *testing.T) {
	needCLI(t)
	needHosts(t, "000000000000.localhost")
	n := servertest.Start(t)
	_, port, _ := net.SplitHostPort(n.Addr)
	var env []string
	for _, kv := range cliEnv(t, n) {
		if !strings.HasPrefix(kv, "AWS_ENDPOINT_URL=") {
			env = append(env, kv)
		}
	}
	env = append(env, "AWS_ENDPOINT_URL=http://127.0.0.1:"+port, "AWS_ENDPOINT_URL_S3_CONTROL=http://localhost:"+port)
	dir := t.TempDir()
	run := func(args ...string) map[string]any {
		t.Helper()
		out := awsCLI(t, env, dir, append(args, "--output", "json")...)
		var doc map[string]any
		if strings.TrimSpace(out) != "" {
			if err := json.Unmarshal([]byte(out), &doc); err != nil {
				t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
			}
		}
		return doc
	}
	fails := func(code string, args ...string) {
		t.Helper()
		_, stderr, err := awsCLIResult(env, dir, args...)
		if err == nil || !strings.Contains(stderr, "("+code+")") {
			t.Errorf("aws %s: %v %q, want the error %s", strings.Join(args, " "), err, stderr, code)
		}
	}
	acct := []string{"--account-id", servertest.AccountID}
	ctl := func(op string, args ...string) []string {
		return append(append([]string{"s3control", op}, acct...), args...)
	}

	run("s3api", "create-bucket", "--bucket", "cli-ap")
	created := run(ctl("create-access-point", "--name", "cli-ap", "--bucket", "cli-ap")...)
	alias, _ := created["Alias"].(string)
	if !strings.HasSuffix(alias, "-s3alias") || created["AccessPointArn"] != "arn:aws:s3:us-east-1:000000000000:accesspoint/cli-ap" {
		t.Fatalf("create-access-point: %v", created)
	}
	if got := run(ctl("get-access-point", "--name", "cli-ap")...); got["Bucket"] != "cli-ap" || got["Alias"] != alias {
		t.Errorf("get-access-point: %v", got)
	}
	if got := run(ctl("list-access-points", "--bucket", "cli-ap")...); len(got["AccessPointList"].([]any)) != 1 {
		t.Errorf("list-access-points: %v", got)
	}
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:us-east-1:000000000000:accesspoint/cli-ap/object/*"}]}`
	run(ctl("put-access-point-policy", "--name", "cli-ap", "--policy", policy)...)
	if got := run(ctl("get-access-point-policy", "--name", "cli-ap")...); got["Policy"] != policy {
		t.Errorf("get-access-point-policy: %v", got)
	}
	run(ctl("delete-access-point-policy", "--name", "cli-ap")...)
	fails("NoSuchAccessPointPolicy", ctl("get-access-point-policy", "--name", "cli-ap")...)
	fails("MalformedPolicy", ctl("put-access-point-policy", "--name", "cli-ap", "--policy", "[]")...)

	// The alias is a bucket name at the IP endpoint: no DNS.
	body := filepath.Join(dir, "body")
	if err := os.WriteFile(body, []byte("through the alias"), 0o644); err != nil {
		t.Fatal(err)
	}
	run("s3api", "put-object", "--bucket", alias, "--key", "k", "--body", body)
	run("s3api", "get-object", "--bucket", "cli-ap", "--key", "k", filepath.Join(dir, "out"))
	if got, _ := os.ReadFile(filepath.Join(dir, "out")); string(got) != "through the alias" {
		t.Errorf("object written through the alias: %q", got)
	}

	config := func(actions string) string {
		return `{"SupportingAccessPoint":"arn:aws:s3:us-east-1:000000000000:accesspoint/cli-ap",` +
			`"AllowedFeatures":["GetObject-Range"],"CloudWatchMetricsEnabled":true,` +
			`"TransformationConfigurations":[{"Actions":[` + actions + `],"ContentTransformation":{"AwsLambda":` +
			`{"FunctionArn":"arn:aws:lambda:us-east-1:000000000000:function:f","FunctionPayload":"{\"k\":1}"}}}]}`
	}
	olap := run(ctl("create-access-point-for-object-lambda", "--name", "cli-olap", "--configuration", config(`"GetObject"`))...)
	if a, _ := olap["Alias"].(map[string]any); a == nil || !strings.HasSuffix(a["Value"].(string), "--ol-s3") || a["Status"] != "READY" ||
		olap["ObjectLambdaAccessPointArn"] != "arn:aws:s3-object-lambda:us-east-1:000000000000:accesspoint/cli-olap" {
		t.Fatalf("create-access-point-for-object-lambda: %v", olap)
	}
	if got := run(ctl("get-access-point-for-object-lambda", "--name", "cli-olap")...); got["Name"] != "cli-olap" || got["CreationDate"] == nil {
		t.Errorf("get-access-point-for-object-lambda: %v", got)
	}
	run(ctl("put-access-point-configuration-for-object-lambda", "--name", "cli-olap", "--configuration", config(`"HeadObject","ListObjectsV2"`))...)
	got := run(ctl("get-access-point-configuration-for-object-lambda", "--name", "cli-olap")...)
	c, _ := got["Configuration"].(map[string]any)
	if c == nil || !strings.Contains(jsonString(c["TransformationConfigurations"]), `"Actions":["HeadObject","ListObjectsV2"]`) ||
		!strings.Contains(jsonString(c), `"FunctionPayload":"{\"k\":1}"`) || c["CloudWatchMetricsEnabled"] != true {
		t.Errorf("get-access-point-configuration-for-object-lambda: %v", got)
	}
	if got := run(ctl("list-access-points-for-object-lambda")...); len(got["ObjectLambdaAccessPointList"].([]any)) != 1 {
		t.Errorf("list-access-points-for-object-lambda: %v", got)
	}
	fails("AccessPointAlreadyOwnedByYou", ctl("create-access-point-for-object-lambda", "--name", "cli-olap", "--configuration", config(`"GetObject"`))...)
	fails("InvalidURI", ctl("create-access-point-for-object-lambda", "--name", "Bad_Name", "--configuration", config(`"GetObject"`))...)
	fails("InvalidRequest", ctl("put-access-point-configuration-for-object-lambda", "--name", "cli-olap", "--configuration", config(`"PutObject"`))...)
	run(ctl("delete-access-point-for-object-lambda", "--name", "cli-olap")...)
	fails("NoSuchAccessPoint", ctl("get-access-point-for-object-lambda", "--name", "cli-olap")...)
	fails("NoSuchAccessPoint", ctl("delete-access-point-for-object-lambda", "--name", "cli-olap")...)
	fails("InvalidRequest", ctl("create-access-point", "--name", "no-bucket", "--bucket", "absent-bucket")...)
	run(ctl("delete-access-point", "--name", "cli-ap")...)
	fails("NoSuchAccessPoint", ctl("get-access-point", "--name", "cli-ap")...)
	fails("InvalidAccessPointAliasError", "s3api", "get-object", "--bucket", alias, "--key", "k", filepath.Join(dir, "gone"))
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
