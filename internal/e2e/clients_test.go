package e2e

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/server/servertest"
)

// clientScript is the Python client suite, relative to the module root.
const clientScript = "test/clients/test_boto3_cli.py"

// TestPythonClients runs the boto3 and aws CLI suite of test/clients
// against a node. It needs python3 with boto3 and the aws CLI on PATH (CI
// installs them) and is skipped, naming what is missing, without them.
func TestPythonClients(t *testing.T) {
	t.Parallel()
	var missing []string
	python, err := exec.LookPath("python3")
	if err != nil {
		missing = append(missing, "python3")
	} else if out, err := exec.Command(python, "-c", "import boto3").CombinedOutput(); err != nil {
		missing = append(missing, "boto3 for "+python+" ("+strings.TrimSpace(lastLine(string(out)))+")")
	}
	if _, err := exec.LookPath("aws"); err != nil {
		missing = append(missing, "the aws CLI")
	}
	if len(missing) > 0 {
		t.Skip("missing " + strings.Join(missing, ", "))
	}
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}

	n := servertest.Start(t)
	home := t.TempDir()
	env := []string{
		"AWS_ENDPOINT_URL=" + n.Endpoint,
		"AWS_ACCESS_KEY_ID=" + servertest.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + servertest.SecretAccessKey,
		"AWS_REGION=" + servertest.Region,
		"AWS_DEFAULT_REGION=" + servertest.Region,
		// Keep the developer's own AWS configuration out of the run.
		"AWS_CONFIG_FILE=" + filepath.Join(home, "config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "credentials"),
		"AWS_EC2_METADATA_DISABLED=true",
		"PYTHONDONTWRITEBYTECODE=1",
		"PYTHONWARNINGS=ignore",
	}
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "AWS_") || name == "PYTHONWARNINGS" {
			continue
		}
		env = append(env, kv)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, filepath.Join(root, clientScript))
	cmd.Dir = home
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			t.Fatalf("%s timed out:\n%s", clientScript, out)
		}
		t.Fatalf("%s: %v\n%s", clientScript, err, out)
	}
	t.Logf("%s:\n%s", clientScript, out)
}

// moduleRoot finds the directory holding go.mod above the working directory.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = parent
	}
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}
