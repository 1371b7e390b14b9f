package suites

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/server"
	"github.com/sluicehq/sluice/internal/server/servertest"
)

// miniogoVersion is the minio-go release whose functional tests
// (functional_tests.go, the suite MinIO's "mint" runs) are run.
const miniogoVersion = "v7.4.1"

// miniogoModes are the suite's MINT_MODE values: "core" runs only
// testFunctional and testFunctionalV2, "full" runs everything.
var miniogoModes = []struct {
	mode    string
	timeout time.Duration
}{
	{"core", 2 * time.Minute},
	{"full", 6 * time.Minute},
}

// miniogoNode is the node the suite runs against. TLS: the suite runs its
// SSE-C tests (and compares more checksums) only over HTTPS, and minio-go
// sends no SSE-C key over plain HTTP; the suite's SKIP_CERT_VALIDATION
// accepts the test certificate. Legacy bucket defaults: the suite, written
// for MinIO, sets public bucket policies and object ACLs on the buckets it
// creates, which S3's defaults since April 2023 (Block Public Access,
// BucketOwnerEnforced) refuse, as they do on AWS; with the earlier defaults
// those tests exercise policies and ACLs instead of stopping at their first
// step. The new defaults are covered by sluice's own tests.
var miniogoNode = servertest.Options{TLS: true, Configure: func(c *server.Config) { c.LegacyBucketDefaults = true }}

// TestMinioGo runs minio-go's functional tests against a sluice node in
// both modes and checks the results against test/compat/minio-go.expected.
// A result is named "<mode>/<test function>"; see miniogoResults.
func TestMinioGo(t *testing.T) {
	needLong(t)
	bin := buildMiniogoFunctional(t, miniogoVersion)
	results := make(map[string]string)
	for _, m := range miniogoModes {
		node := startNode(t, miniogoNode)
		runMiniogo(t, bin, node, m.mode, m.timeout, results)
	}
	checkSuite(t, "minio-go", results)
}

// buildMiniogoFunctional builds minio-go's functional_tests.go at version
// into the tool cache and returns the binary's path. The file is a
// "package main" in the module root behind the "mint" build tag, so it is
// copied, without its build constraint, into a module of its own that
// requires minio-go at version; sluice's go.mod is not involved.
func buildMiniogoFunctional(t *testing.T, version string) string {
	t.Helper()
	bin := filepath.Join(toolDir(t), "bin", version, "minio-go-functional")
	if fileExists(bin) {
		return bin
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	src := filepath.Join(toolDir(t), "src", "minio-go-functional-"+version)
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	goCmd := func(args ...string) []byte {
		t.Helper()
		cmd := exec.CommandContext(ctx, goBinary(), args...)
		cmd.Dir = src
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod -buildvcs=false", "GOWORK=off", "CGO_ENABLED=0")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		return out
	}
	gomod := "module sluice.invalid/miniogo-functional\n\ngo 1.26\n\nrequire github.com/minio/minio-go/v7 " + version + "\n"
	if err := os.WriteFile(filepath.Join(src, "go.mod"), []byte(gomod), 0o644); err != nil {
		t.Fatal(err)
	}
	var mod struct{ Dir, Error string }
	if err := json.Unmarshal(goCmd("mod", "download", "-json", "github.com/minio/minio-go/v7@"+version), &mod); err != nil || mod.Dir == "" {
		t.Fatalf("go mod download minio-go %s: %v %s", version, err, mod.Error)
	}
	code, err := os.ReadFile(filepath.Join(mod.Dir, "functional_tests.go"))
	if err != nil {
		t.Fatal(err)
	}
	code = bytes.Replace(code, []byte("//go:build mint\n"), nil, 1)
	if err := os.WriteFile(filepath.Join(src, "main.go"), code, 0o644); err != nil {
		t.Fatal(err)
	}
	// Build beside the final path and rename, so that a concurrent or
	// interrupted build never leaves a partial binary in the cache.
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		t.Fatal(err)
	}
	tmp := fmt.Sprintf("%s.tmp%d", bin, os.Getpid())
	goCmd("build", "-o", tmp, ".")
	if err := os.Rename(tmp, bin); err != nil {
		t.Fatal(err)
	}
	return bin
}

// runMiniogo runs the suite binary in mode against node and adds its
// results to results.
func runMiniogo(t *testing.T, bin string, node *servertest.Node, mode string, timeout time.Duration, results map[string]string) {
	t.Helper()
	dir := t.TempDir() // the suite writes downloads to its working directory and temp files to TMPDIR
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"SERVER_ENDPOINT="+node.Addr,
		"ACCESS_KEY="+servertest.AccessKeyID,
		"SECRET_KEY="+servertest.SecretAccessKey,
		"ENABLE_HTTPS=1",         // see miniogoNode
		"SKIP_CERT_VALIDATION=1", // the node's test certificate
		"ENABLE_KMS=1",           // its "KMS" tests are SSE-S3 tests
		"MINT_MODE="+mode,
		"RUN_ON_FAIL=1", // log a failure and go on to the next test
		"MINT_DATA_DIR=",
		"MINT_NO_FULL_OBJECT=",
		"NOTIFY_BUCKET=", // no bucket notification target
		"MINIO_GO_TEST_BUCKET_CORS=",
		"TMPDIR="+dir,
	)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	runs, parseErr := miniogoResults(stdout)
	io.Copy(io.Discard, stdout)
	waitErr := cmd.Wait()
	t.Logf("minio-go %s mode: %d tests in %s", mode, len(runs), time.Since(start).Round(time.Second))
	for _, r := range runs {
		results[mode+"/"+r.name] = r.status
		if r.status == "fail" {
			t.Logf("  FAIL %s/%s: %s", mode, r.name, r.detail)
		}
	}
	if parseErr != nil {
		t.Errorf("minio-go %s mode: reading its log: %v", mode, parseErr)
	}
	if waitErr != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			t.Errorf("minio-go %s mode timed out after %s", mode, timeout)
		}
		t.Errorf("minio-go %s mode: %v\nstderr:\n%s", mode, waitErr, miniogoTail(stderr.String(), 4000))
	}
}

// miniogoRun is one test function's result.
type miniogoRun struct {
	name, status, detail string
}

// miniogoResults parses the suite's log: one JSON object per line with
// "name" ("minio-go: <test function>"), "status" (PASS, FAIL or NA: not
// applicable, the server answered NotImplemented), "function", "message"
// and "error". A test function can log several lines (one per checksum
// type, or a failure followed by its final PASS); its result is fail if
// any line failed, else pass if any passed, else skip. Some functions run
// more than once with different clients (testComposeMultipleSources with
// a SigV2 client, then with SigV4): a repeated run of a name seen before
// another test is named "<name>#2", "#3", ...
func miniogoResults(r io.Reader) ([]miniogoRun, error) {
	var runs []miniogoRun
	seen := make(map[string]int)
	last := ""
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var line struct {
			Name, Status, Function, Message string
			Error                           json.RawMessage
		}
		if json.Unmarshal(sc.Bytes(), &line) != nil {
			continue
		}
		name, ok := strings.CutPrefix(line.Name, "minio-go: ")
		if !ok || line.Status == "" {
			continue
		}
		if name != last {
			last = name
			seen[name]++
			run := name
			if n := seen[name]; n > 1 {
				run = fmt.Sprintf("%s#%d", name, n)
			}
			runs = append(runs, miniogoRun{name: run, status: "skip"})
		}
		cur := &runs[len(runs)-1]
		switch line.Status {
		case "FAIL":
			if cur.status != "fail" {
				cur.detail = strings.TrimSpace(line.Function + ": " + line.Message + " " + string(line.Error))
			}
			cur.status = "fail"
		case "PASS":
			if cur.status == "skip" {
				cur.status = "pass"
			}
		}
	}
	return runs, sc.Err()
}

// miniogoTail returns the last n bytes of s.
func miniogoTail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

func TestMiniogoResults(t *testing.T) {
	log := strings.Join([]string{
		`{"level":"INFO","name":"minio-go: testA","function":"F","status":"PASS"}`,
		`{"level":"INFO","name":"minio-go: testA","function":"F","status":"PASS"}`,
		`{"level":"ERROR","name":"minio-go: testB","function":"G","status":"FAIL","message":"bad","error":"boom"}`,
		`{"level":"INFO","name":"minio-go: testB","function":"G","status":"PASS"}`,
		`{"level":"INFO","msg":"found object","key":"k"}`,
		`not json`,
		`{"level":"INFO","name":"minio-go: testC","status":"NA","alert":"X is NotImplemented"}`,
		`{"level":"INFO","name":"minio-go: testA","function":"F","status":"PASS"}`,
		`{"level":"ERROR","name":"minio-go: testB","function":"G","status":"FAIL","message":"again"}`,
	}, "\n")
	runs, err := miniogoResults(strings.NewReader(log))
	if err != nil {
		t.Fatal(err)
	}
	want := []miniogoRun{
		{"testA", "pass", ""},
		{"testB", "fail", `G: bad "boom"`},
		{"testC", "skip", ""},
		{"testA#2", "pass", ""},
		{"testB#2", "fail", "G: again"},
	}
	if len(runs) != len(want) {
		t.Fatalf("got %d runs %+v, want %d", len(runs), runs, len(want))
	}
	for i := range want {
		if runs[i] != want[i] {
			t.Errorf("run %d = %+v, want %+v", i, runs[i], want[i])
		}
	}
}
