package e2e

import (
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
	env := clientEnv(home,
		"AWS_ENDPOINT_URL="+n.Endpoint,
		"AWS_REGION="+servertest.Region,
		"PYTHONDONTWRITEBYTECODE=1",
		"PYTHONWARNINGS=ignore",
	)
	runClient(t, clientScript, 3*time.Minute, home, env, python, filepath.Join(root, clientScript))
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
