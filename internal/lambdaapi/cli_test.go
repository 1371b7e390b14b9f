package lambdaapi_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/internal/server/servertest"
)

// TestAWSCLI drives a node with the aws CLI (botocore), which serializes
// and parses the Lambda API independently of aws-sdk-go-v2.
func TestAWSCLI(t *testing.T) {
	aws, err := exec.LookPath("aws")
	if err != nil {
		t.Skip("aws CLI not on PATH: skipping the CLI test")
	}
	n := servertest.Start(t)
	dir := t.TempDir()
	zipPath := filepath.Join(dir, "fn.zip")
	if err := os.WriteFile(zipPath, makeZip(t, handlerZip), 0o644); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(),
		"AWS_ACCESS_KEY_ID="+servertest.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY="+servertest.SecretAccessKey,
		"AWS_DEFAULT_REGION="+region,
		"AWS_CONFIG_FILE="+filepath.Join(dir, "none"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "none"),
		"AWS_PAGER=",
	)
	run := func(args ...string) map[string]any {
		t.Helper()
		cmd := exec.Command(aws, append([]string{"--endpoint-url", n.Endpoint, "--output", "json", "lambda"}, args...)...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("aws lambda %v: %v\n%s", args, err, out)
		}
		var doc map[string]any
		if len(out) > 0 {
			if err := json.Unmarshal(out, &doc); err != nil {
				t.Fatalf("aws lambda %v: output is not JSON: %v\n%s", args, err, out)
			}
		}
		return doc
	}

	created := run("create-function", "--function-name", "cli-fn", "--runtime", "python3.12",
		"--handler", "index.handler", "--role", role, "--zip-file", "fileb://"+zipPath)
	if created["FunctionArn"] != arnOf("cli-fn") || created["State"] != "Pending" {
		t.Errorf("create-function = %v", created)
	}
	got := run("get-function", "--function-name", "cli-fn")
	cfg, _ := got["Configuration"].(map[string]any)
	code, _ := got["Code"].(map[string]any)
	if cfg["State"] != "Active" || cfg["CodeSha256"] != created["CodeSha256"] || code["Location"] == "" {
		t.Errorf("get-function = %v", got)
	}
	list := run("list-functions")
	fns, _ := list["Functions"].([]any)
	if len(fns) != 1 || fns[0].(map[string]any)["FunctionName"] != "cli-fn" {
		t.Errorf("list-functions = %v", list)
	}
	run("delete-function", "--function-name", "cli-fn")
	cmd := exec.Command(aws, "--endpoint-url", n.Endpoint, "lambda", "get-function", "--function-name", "cli-fn")
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "ResourceNotFoundException") || !strings.Contains(string(out), "Function not found: "+arnOf("cli-fn")) {
		t.Errorf("get-function after delete: %v\n%s", err, out)
	}
}
