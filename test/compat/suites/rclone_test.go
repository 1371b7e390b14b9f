package suites

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/server/servertest"
	"github.com/sluicehq/sluice/test/compat/expect"
)

// rcloneVersion is the rclone release whose S3 backend integration tests
// (backend/s3 TestIntegration, which runs rclone's fstest/fstests) are run
// against sluice. Changing it means re-running the suite and updating
// test/compat/rclone.expected.
const rcloneVersion = "v1.76.0"

// rcloneModule is the module holding the tests.
const rcloneModule = "github.com/rclone/rclone"

// rclonePass is one run of rclone's TestIntegration against a fresh node,
// with the remote configured as a user would configure it.
type rclonePass struct {
	// Name prefixes the pass's test names in the results.
	Name string
	// Options are the remote's options beyond type, provider, endpoint
	// and keys (rclone option names, e.g. list_version). The region is
	// us-east-1 unless Options set it.
	Options map[string]string
	// Flags are extra flags for the test binary (e.g. -fast-list).
	Flags []string
	// Timeout bounds the pass (the test binary's -test.timeout).
	Timeout time.Duration
}

// rcloneBudget bounds the time all passes take together.
const rcloneBudget = 8 * time.Minute

// rclonePasses are the configurations the suite runs, each about 1-2
// minutes on a loaded two-core machine.
//
//   - Other is what `rclone config` writes for "Any other S3 compatible
//     provider": SigV4, ListObjects v1 without URL encoding, no multipart
//     ETag checks, directories implied by keys.
//   - AWSQuirks tells rclone that sluice behaves like AWS (ListObjectsV2
//     with encoding-type=url, multipart ETags, BucketAlreadyOwnedByYou,
//     SDK data-integrity checksums, never gzips), turns on directory
//     markers and lists recursively (-fast-list), as rclone's own CI does
//     for its "TestS3,directory_markers:" remote.
//   - SigV2 signs every request with signature version 2 (region
//     other-v2-signature) and uploads single-part objects with presigned
//     PUTs (use_presigned_request).
func rclonePasses() []rclonePass {
	return []rclonePass{
		{Name: "Other", Timeout: 3 * time.Minute},
		{Name: "AWSQuirks", Timeout: 2*time.Minute + 30*time.Second, Flags: []string{"-fast-list"}, Options: map[string]string{
			"list_version":                   "2",
			"list_url_encode":                "true",
			"use_multipart_etag":             "true",
			"use_already_exists":             "true",
			"use_data_integrity_protections": "true",
			"might_gzip":                     "false",
			"directory_markers":              "true",
		}},
		{Name: "SigV2", Timeout: 2*time.Minute + 30*time.Second, Options: map[string]string{
			"region":                "other-v2-signature",
			"list_url_encode":       "true",
			"use_already_exists":    "true",
			"use_presigned_request": "true",
		}},
	}
}

// TestRclone runs rclone's S3 backend integration tests (pinned to
// rcloneVersion) against sluice and compares the per-test results with
// test/compat/rclone.expected. The compiled test binary is cached in the
// tool directory; the first run builds it (a few minutes).
func TestRclone(t *testing.T) {
	needLong(t)
	bin, modDir := buildRcloneTests(t)
	results := make(map[string]string)
	output := make(map[string][]string)
	deadline := time.Now().Add(rcloneBudget)
	if d, ok := t.Deadline(); ok && d.Add(-30*time.Second).Before(deadline) {
		// go test's -timeout (10m by default) covers every suite in
		// the package; end cleanly before it panics.
		deadline = d.Add(-30 * time.Second)
	}
	for _, p := range rclonePasses() {
		// The test binary's own timeout ends a pass; leave time to
		// collect its output before the budget runs out.
		p.Timeout = min(p.Timeout, time.Until(deadline)-15*time.Second)
		if p.Timeout < 30*time.Second {
			t.Errorf("rclone %s: not run, no time left (budget %s, or go test -timeout)", p.Name, rcloneBudget)
			continue
		}
		node := startNode(t)
		runRclonePass(t, bin, filepath.Join(modDir, "backend", "s3"), node, p, results, output)
	}
	logUnexpectedFailures(t, results, output)
	checkSuite(t, "rclone", results)
}

// buildRcloneTests compiles rclone's backend/s3 tests in a scratch module
// (never sluice's go.mod) kept in the tool directory, and returns the test
// binary and the rclone module's directory in the module cache, where the
// binary must run.
func buildRcloneTests(t *testing.T) (bin, modDir string) {
	t.Helper()
	base := filepath.Join(toolDir(t), "rclone", rcloneVersion)
	mod := filepath.Join(base, "mod")
	bin = filepath.Join(base, "rclone-s3-"+runtime.Version()+".test")
	if err := os.MkdirAll(mod, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	goCmd := func(args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(ctx, goBinary(), args...)
		cmd.Dir = mod
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
		}
		return strings.TrimSpace(string(out))
	}
	if !fileExists(filepath.Join(mod, "go.sum")) {
		gomod := "module sluicecompat/rclone\n\ngo 1.26\n\nrequire " + rcloneModule + " " + rcloneVersion + "\n"
		if err := os.WriteFile(filepath.Join(mod, "go.mod"), []byte(gomod), 0o644); err != nil {
			t.Fatal(err)
		}
		goCmd("get", "-t", rcloneModule+"/backend/s3@"+rcloneVersion)
	}
	goCmd("mod", "download", rcloneModule)
	modDir = goCmd("list", "-m", "-f", "{{.Dir}}", rcloneModule)
	if modDir == "" {
		t.Fatalf("go list: no directory for %s", rcloneModule)
	}
	if !fileExists(bin) {
		t.Logf("building rclone %s backend/s3 tests (cached in %s)", rcloneVersion, base)
		tmp := bin + ".tmp"
		goCmd("test", "-c", "-o", tmp, rcloneModule+"/backend/s3")
		if err := os.Rename(tmp, bin); err != nil {
			t.Fatal(err)
		}
	}
	return bin, modDir
}

// testEvent is the part of a test2json event the suite reads.
type testEvent struct {
	Action string
	Test   string
	Output string
}

// runRclonePass runs rclone's TestIntegration against node with pass's
// remote configuration and records each test's result as
// "<pass>/<test name>" in results and its output in output.
func runRclonePass(t *testing.T, bin, dir string, node *servertest.Node, p rclonePass, results map[string]string, output map[string][]string) {
	t.Helper()
	const remote = "SLUICE"
	opts := map[string]string{
		"type":              "s3",
		"provider":          "Other",
		"endpoint":          node.Endpoint,
		"access_key_id":     servertest.AccessKeyID,
		"secret_access_key": servertest.SecretAccessKey,
		"region":            servertest.Region,
	}
	for k, v := range p.Options {
		opts[k] = v
	}
	env := []string{"RCLONE_CONFIG=" + filepath.Join(t.TempDir(), "rclone.conf")}
	for _, kv := range os.Environ() {
		// The remote is defined by the environment alone: no stray
		// rclone options or AWS settings (AWS_CA_BUNDLE) leak in.
		if !strings.HasPrefix(kv, "RCLONE_") && !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	for k, v := range opts {
		env = append(env, "RCLONE_CONFIG_"+remote+"_"+strings.ToUpper(k)+"="+v)
	}

	ctx, cancel := context.WithTimeout(context.Background(), p.Timeout+10*time.Second)
	defer cancel()
	args := append([]string{"-test.v=test2json", "-test.run", "^TestIntegration$",
		"-test.timeout", p.Timeout.String(), "-remote", remote + ":"}, p.Flags...)
	tb := exec.CommandContext(ctx, bin, args...)
	tb.Dir = dir
	tb.Env = env
	var stderr bytes.Buffer
	tb.Stderr = &stderr
	pipe, err := tb.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	conv := exec.CommandContext(ctx, goBinary(), "tool", "test2json", "-p", rcloneModule+"/backend/s3")
	conv.Stdin = pipe
	events, err := conv.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := tb.Start(); err != nil {
		t.Fatal(err)
	}
	if err := conv.Start(); err != nil {
		tb.Process.Kill()
		tb.Wait()
		t.Fatal(err)
	}

	start := time.Now()
	var log bytes.Buffer
	dec := json.NewDecoder(bufio.NewReader(events))
	passResults := make(map[string]string)
	for {
		var ev testEvent
		if err := dec.Decode(&ev); err != nil {
			if err != io.EOF {
				t.Errorf("rclone %s: reading test2json output: %v", p.Name, err)
			}
			break
		}
		if ev.Test == "" {
			log.WriteString(ev.Output)
			continue
		}
		name := p.Name + "/" + ev.Test
		switch ev.Action {
		case "output":
			log.WriteString(ev.Output)
			if len(output[name]) < 200 {
				output[name] = append(output[name], strings.TrimRight(ev.Output, "\n"))
			}
		case "pass", "fail", "skip":
			passResults[name] = ev.Action
		}
	}
	binErr := tb.Wait()
	convErr := conv.Wait()
	t.Logf("rclone pass %s: %d tests in %s (test binary: %v)", p.Name, len(passResults), time.Since(start).Round(time.Second), binErr)
	if convErr != nil {
		t.Errorf("rclone %s: test2json: %v", p.Name, convErr)
	}
	if ctx.Err() != nil {
		t.Errorf("rclone %s: killed after %s", p.Name, p.Timeout+10*time.Second)
	}
	if len(passResults) == 0 {
		t.Errorf("rclone %s: no test results; output:\n%s\n%s", p.Name, tail(log.String(), 4000), tail(stderr.String(), 4000))
	}
	if dir := os.Getenv("SLUICE_COMPAT_OUT"); dir != "" {
		os.MkdirAll(dir, 0o755)
		os.WriteFile(filepath.Join(dir, "rclone-"+p.Name+".log"), append(log.Bytes(), stderr.Bytes()...), 0o644)
	}
	for name, status := range ownResults(passResults) {
		results[name] = status
	}
}

// ownResults judges each test by its own assertions: a parent test that
// failed only because one of its subtests failed counts as passed, since
// the subtest is reported (and listed in the expected file) by itself.
// Go marks every ancestor of a failing subtest failed, which would
// otherwise hide a parent's own new failures behind a known one.
func ownResults(res map[string]string) map[string]string {
	failedBelow := make(map[string]bool)
	for name, status := range res {
		if status != "fail" {
			continue
		}
		for i := strings.LastIndexByte(name, '/'); i > 0; i = strings.LastIndexByte(name[:i], '/') {
			failedBelow[name[:i]] = true
		}
	}
	out := make(map[string]string, len(res))
	for name, status := range res {
		if status == "fail" && failedBelow[name] {
			status = "pass"
		}
		out[name] = status
	}
	return out
}

// logUnexpectedFailures logs the output of each failed test that the
// expected-results file says must pass, so that CI logs show why.
func logUnexpectedFailures(t *testing.T, results map[string]string, output map[string][]string) {
	t.Helper()
	exp, err := expect.ReadExpected(filepath.Join("..", "rclone.expected"))
	if err != nil {
		return // checkSuite reports it
	}
	var names []string
	for name, status := range results {
		if e, ok := exp[name]; status == "fail" && (!ok || e.Pass) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		t.Logf("--- %s failed:\n%s", name, strings.Join(output[name], "\n"))
	}
}

// tail returns the last n bytes of s.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return fmt.Sprintf("…%s", s[len(s)-n:])
}
