package e2e

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/server/servertest"
)

// seedFunctions is where the founding documents' example functions live,
// relative to the module root: AWS's code stays outside the project.
const seedFunctions = "../shared/seeds/functions"

// seedFunction returns the path of a seed function, skipping the test
// when the seeds are not beside the checkout.
func seedFunction(t *testing.T, name string) string {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(root, seedFunctions, name)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("seed function %s not found (%v): the seeds live in shared/seeds beside the checkout", p, err)
	}
	return p
}

// needHosts skips unless every name resolves to loopback: the host names
// SDKs build for S3 Control (<account>.localhost) and for Object Lambda
// access point ARNs (<name>-<account>.localhost). README says which
// /etc/hosts line to add; .ci/run adds it.
func needHosts(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range names {
		addrs, err := net.LookupHost(n)
		if err != nil || len(addrs) == 0 || !net.ParseIP(addrs[0]).IsLoopback() {
			t.Skipf("%s does not resolve to loopback (%v): add \"127.0.0.1 %s\" to /etc/hosts (see README, \"Access points and DNS\")",
				n, err, strings.Join(names, " "))
		}
	}
}

// needCLI skips unless python3 with boto3 and the aws CLI are installed.
func needCLI(t *testing.T) {
	t.Helper()
	needBoto3(t)
	if _, err := exec.LookPath("aws"); err != nil {
		t.Skip("the aws CLI is not installed")
	}
}

// cliEnv is the environment of aws CLI and boto3 processes run against n
// at http://localhost:<port>, so that account and access point host
// prefixes resolve through /etc/hosts.
func cliEnv(t *testing.T, n *servertest.Node) []string {
	t.Helper()
	_, port, _ := net.SplitHostPort(n.Addr)
	home := t.TempDir()
	env := []string{
		"AWS_ENDPOINT_URL=http://localhost:" + port,
		"AWS_ACCESS_KEY_ID=" + servertest.AccessKeyID, "AWS_SECRET_ACCESS_KEY=" + servertest.SecretAccessKey,
		"AWS_REGION=" + servertest.Region, "AWS_DEFAULT_REGION=" + servertest.Region,
		"AWS_CONFIG_FILE=" + filepath.Join(home, "config"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "credentials"),
		"AWS_EC2_METADATA_DISABLED=true", "PYTHONDONTWRITEBYTECODE=1", "PYTHONWARNINGS=ignore",
		"HOME=" + home,
	}
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "AWS_") || name == "PYTHONWARNINGS" || name == "HOME" {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// aws runs the aws CLI and returns its standard output.
func awsCLI(t *testing.T, env []string, dir string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "aws", args...)
	cmd.Env, cmd.Dir = env, dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("aws %s: %v\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// TestSeedZipPrefix is seed 000's acceptance test: the post's function,
// unmodified, deployed as the post describes (a bucket, a standard access
// point, the function with ACCOUNT_ID and ACCESS_POINT_ALIAS, an Object
// Lambda access point over the standard one), all with the aws CLI; then
// `aws s3api get-object --bucket <Object Lambda ARN> --key 2020 out.zip`
// returns a zip of every object under 2020.
func TestSeedZipPrefix(t *testing.T) {
	fn := seedFunction(t, "zip_prefix.py")
	needCLI(t)
	needHosts(t, "000000000000.localhost", "seed-zip-000000000000.localhost")
	n := servertest.Start(t)
	env := cliEnv(t, n)
	dir := t.TempDir()

	awsCLI(t, env, dir, "s3api", "create-bucket", "--bucket", "deepdive-zip")
	want := map[string]string{}
	for i := range 5 {
		key := fmt.Sprintf("2020/%02d/report-%d.csv", i+1, i)
		want[key] = strings.Repeat(fmt.Sprintf("row %d,", i), 100*(i+1))
	}
	other := map[string]string{"2021/01/report.csv": "not in 2020", "2019/12/report.csv": "not in 2020 either"}
	for k, v := range mergeMaps(want, other) {
		p := filepath.Join(dir, "body")
		if err := os.WriteFile(p, []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
		awsCLI(t, env, dir, "s3api", "put-object", "--bucket", "deepdive-zip", "--key", k, "--body", p)
	}
	alias := strings.TrimSpace(awsCLI(t, env, dir, "s3control", "create-access-point", "--account-id", servertest.AccountID,
		"--name", "deepdive-zip-archive-standard-access-point", "--bucket", "deepdive-zip", "--query", "Alias", "--output", "text"))

	src, err := os.ReadFile(fn)
	if err != nil {
		t.Fatal(err)
	}
	pkg := filepath.Join(dir, "function.zip")
	if err := os.WriteFile(pkg, zipOf(t, map[string]zfile{"zip_prefix.py": {body: string(src)}}), 0o644); err != nil {
		t.Fatal(err)
	}
	awsCLI(t, env, dir, "lambda", "create-function", "--function-name", "deepdive-zip-archive",
		"--runtime", "python3.12", "--handler", "zip_prefix.main", "--role", fnRole,
		"--zip-file", "fileb://"+pkg, "--timeout", "60", "--memory-size", "512",
		"--environment", "Variables={ACCOUNT_ID="+servertest.AccountID+",ACCESS_POINT_ALIAS="+alias+"}")
	config := `{"SupportingAccessPoint":"arn:aws:s3:us-east-1:000000000000:accesspoint/deepdive-zip-archive-standard-access-point",` +
		`"TransformationConfigurations":[{"Actions":["GetObject"],"ContentTransformation":{"AwsLambda":` +
		`{"FunctionArn":"arn:aws:lambda:us-east-1:000000000000:function:deepdive-zip-archive"}}}]}`
	awsCLI(t, env, dir, "s3control", "create-access-point-for-object-lambda", "--account-id", servertest.AccountID,
		"--name", "seed-zip", "--configuration", config)

	awsCLI(t, env, dir, "s3api", "get-object", "--key", "2020",
		"--bucket", "arn:aws:s3-object-lambda:us-east-1:000000000000:accesspoint/seed-zip", "out.zip")
	raw, err := os.ReadFile(filepath.Join(dir, "out.zip"))
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(raw), int64(len(raw)))
	if err != nil {
		t.Fatalf("out.zip (%d bytes) is not a zip: %v", len(raw), err)
	}
	got := map[string]string{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if _, err := b.ReadFrom(rc); err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		rc.Close()
		got[f.Name] = b.String()
	}
	if len(got) != len(want) {
		t.Errorf("zip holds %v, want %v", sortedKeys(got), sortedKeys(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %d bytes, want %d", k, len(got[k]), len(v))
		}
	}
}

func mergeMaps(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// TestAccessPointsBoto3 runs test/clients/test_access_points.py: every
// access point and Object Lambda access point operation and error with
// boto3, against http://localhost:<port> with the account and access point
// host names resolved through /etc/hosts.
func TestAccessPointsBoto3(t *testing.T) {
	needCLI(t)
	needHosts(t, "000000000000.localhost", "py-olap-000000000000.localhost")
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	n := servertest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	script := filepath.Join(root, "test/clients/test_access_points.py")
	cmd := exec.CommandContext(ctx, "python3", script, "-v")
	cmd.Env, cmd.Dir = cliEnv(t, n), t.TempDir()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", script, err, out)
	}
	t.Logf("%s", out)
}
