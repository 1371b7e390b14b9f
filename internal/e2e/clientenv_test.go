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

// clientEnv is the environment of an AWS client (boto3, the aws CLI) run
// against a test node: the test credentials and region, configuration
// files in home (so the developer's own AWS configuration stays out of
// the run), then vars ("NAME=value"), then this process's environment
// without its AWS_ variables and without the names vars sets.
func clientEnv(home string, vars ...string) []string {
	env := []string{
		"AWS_ACCESS_KEY_ID=" + servertest.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + servertest.SecretAccessKey,
		"AWS_DEFAULT_REGION=" + servertest.Region,
		"AWS_CONFIG_FILE=" + filepath.Join(home, "config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "credentials"),
		"AWS_EC2_METADATA_DISABLED=true",
	}
	env = append(env, vars...)
	set := map[string]bool{}
	for _, kv := range vars {
		name, _, _ := strings.Cut(kv, "=")
		set[name] = true
	}
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); !strings.HasPrefix(name, "AWS_") && !set[name] {
			env = append(env, kv)
		}
	}
	return env
}

// runClient runs name with args in dir with env, fails the test if it
// fails or runs longer than timeout, and logs its output under label.
func runClient(t *testing.T, label string, timeout time.Duration, dir string, env []string, name string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			t.Fatalf("%s timed out:\n%s", label, out)
		}
		t.Fatalf("%s: %v\n%s", label, err, out)
	}
	t.Logf("%s:\n%s", label, out)
}
