package bench

import (
	"bytes"
	"context"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluicehq/sluice/internal/server/servertest"
)

func TestParseBatchConfig(t *testing.T) {
	keys := []string{"--access-key", "AK", "--secret-key", "SK"}
	for _, tc := range []struct {
		args []string
		err  string
	}{
		{args: keys},
		{args: []string{}, err: "--access-key and --secret-key"},
		{args: append([]string{"--phases", "invoke,dance"}, keys...), err: `unknown phase "dance"`},
		{args: append([]string{"--tasks", "0"}, keys...), err: "must be positive"},
		{args: append([]string{"--endpoint", "ftp://x"}, keys...), err: "want http(s)://host[:port]"},
		{args: append([]string{"extra"}, keys...), err: `unexpected argument "extra"`},
	} {
		cfg, err := parseBatchConfig(tc.args, noEnv, io.Discard)
		if tc.err == "" {
			if err != nil {
				t.Errorf("%v: %v", tc.args, err)
			} else if cfg.tasks != 100_000 || cfg.copyTasks != 100_000 || cfg.copySize != 4<<10 || cfg.lines != 10_000_000 ||
				strings.Join(cfg.phases, ",") != "invoke,copy,rss" {
				t.Errorf("defaults: %+v", cfg)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%v: error %v, want %q", tc.args, err, tc.err)
		}
	}
}

// TestRunBatch runs every phase of "bench batch", small, against a test
// node (in this process, so the memory phase samples this process), and
// checks what it reports and that it cleans up.
func TestRunBatch(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a Go function; skipped with -short")
	}
	n := servertest.Start(t)
	args := []string{
		"--endpoint", n.Endpoint, "--access-key", servertest.AccessKeyID, "--secret-key", servertest.SecretAccessKey,
		"--tasks", "60", "--copy-tasks", "50", "--copy-size", "1KiB", "--manifest-lines", "5000", "--rss-duration", "300ms",
		"--server-pid", strconv.Itoa(os.Getpid()), "--function-concurrency", "4",
	}
	var stdout, stderr bytes.Buffer
	if err := RunBatch(context.Background(), args, &stdout, &stderr); err != nil {
		t.Fatalf("bench batch: %v\nstderr:\n%s", err, stderr.String())
	}
	out := stdout.String()
	for _, re := range []string{
		`(?m)^  job Complete: 60 tasks \(0 failed\); active .* → \d+ tasks/s`,
		`(?m)^  job Complete: 50 tasks \(0 failed\); active .* → \d+ tasks/s`,
		`(?m)^  job (Cancelled|Complete) after \d+ tasks; server RSS before the manifest upload \S+, peak while the job ran [1-9]\S*`,
		`(?m)^  invoke: \d+ tasks/s (met|MISSED)$`,
		`(?m)^  copy: \d+ tasks/s (met|MISSED)$`,
		`(?m)^  rss: peak \S+ (met|MISSED)$`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("output does not match %s:\n%s", re, out)
		}
	}
	buckets, err := n.S3().ListBuckets(context.Background(), &s3.ListBucketsInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range buckets.Buckets {
		t.Errorf("bucket %s left behind", *b.Name)
	}
}
