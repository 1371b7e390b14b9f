package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

func noEnv(string) string { return "" }

// runFake runs "bench s3" against srv with args appended to a fast base
// configuration and returns stdout, stderr and the error.
func runFake(t *testing.T, srvURL string, args ...string) (string, string, error) {
	t.Helper()
	base := []string{
		"--endpoint", srvURL, "--access-key", "AKID", "--secret-key", "SECRET",
		"--duration", "50ms", "--sizes", "1KiB,64KiB", "--concurrency", "1,4",
		"--large-size", "3MiB", "--large-count", "2",
		"--list-keys", "2500", "--list-samples", "20", "--populate-concurrency", "8",
	}
	var stdout, stderr bytes.Buffer
	err := runS3(context.Background(), append(base, args...), noEnv, &stdout, &stderr)
	return stdout.String(), stderr.String(), err
}

// decodeLines parses --json output into the env line and the result rows.
func decodeLines(t *testing.T, out string) (envInfo, []result) {
	t.Helper()
	var env envInfo
	var rows []result
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var probe struct{ Type string }
		if err := json.Unmarshal(sc.Bytes(), &probe); err != nil {
			t.Fatalf("line %q is not JSON: %v", sc.Text(), err)
		}
		switch probe.Type {
		case "env":
			if err := json.Unmarshal(sc.Bytes(), &env); err != nil {
				t.Fatal(err)
			}
		case "result":
			var r result
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				t.Fatal(err)
			}
			rows = append(rows, r)
		default:
			t.Fatalf("line %q has unknown type", sc.Text())
		}
	}
	return env, rows
}

func TestRunS3AllOps(t *testing.T) {
	fake, srv := newFakeS3(t)
	out, errOut, err := runFake(t, srv.URL, "--ops", "put,get,large,list", "--json")
	if err != nil {
		t.Fatalf("RunS3: %v\nstderr:\n%s", err, errOut)
	}
	env, rows := decodeLines(t, out)
	if env.Endpoint != srv.URL || env.NumCPU < 1 || env.GOOS == "" || env.Bucket != "sluice-bench" {
		t.Errorf("env line = %+v", env)
	}

	type rowKey struct {
		op   string
		size int64
		conc int
	}
	got := map[rowKey]result{}
	for _, r := range rows {
		got[rowKey{r.Op, r.SizeBytes, r.Concurrency}] = r
	}
	want := []rowKey{
		{"put", 1 << 10, 1}, {"get", 1 << 10, 1}, {"put", 1 << 10, 4}, {"get", 1 << 10, 4},
		{"put", 64 << 10, 1}, {"get", 64 << 10, 1}, {"put", 64 << 10, 4}, {"get", 64 << 10, 4},
		{"large-put", 3 << 20, 1}, {"large-get", 3 << 20, 1},
		{"list", 0, 1},
	}
	if len(rows) != len(want) {
		t.Errorf("got %d rows, want %d: %+v", len(rows), len(want), rows)
	}
	for _, k := range want {
		r, ok := got[k]
		if !ok {
			t.Errorf("missing row %+v", k)
			continue
		}
		if r.Ops == 0 || r.OpsPerSec <= 0 || r.P50ms <= 0 || r.P99ms < r.P50ms || r.Errors != 0 || r.Endpoint != srv.URL {
			t.Errorf("row %+v = %+v", k, r)
		}
		if k.size > 0 && r.MBPerSec <= 0 {
			t.Errorf("row %+v has no MB/s: %+v", k, r)
		}
	}
	if r := got[rowKey{"large-put", 3 << 20, 1}]; r.Ops != 2 {
		t.Errorf("large-put ops = %d, want 2", r.Ops)
	}
	if r := got[rowKey{"list", 0, 1}]; r.Ops != 20 || r.Keys != 2500 {
		t.Errorf("list row = %+v, want 20 ops over 2500 keys", r)
	}

	// Everything but the list key space and its marker was cleaned up.
	keys := fake.keys("sluice-bench")
	if len(keys) != 2501 || !slices.Contains(keys, "list-2500.populated") {
		t.Errorf("bucket holds %d keys after the run, want the 2500 list keys and the marker; first: %q", len(keys), keys[:min(len(keys), 3)])
	}

	fake.mu.Lock()
	defer fake.mu.Unlock()
	for i, a := range fake.authz {
		if !strings.HasPrefix(a, "AWS4-HMAC-SHA256 Credential=AKID/") || !strings.Contains(a, "x-amz-content-sha256") {
			t.Errorf("request %d Authorization = %q", i, a)
		}
		if fake.sha[i] != unsignedPayload {
			t.Errorf("request %d X-Amz-Content-Sha256 = %q", i, fake.sha[i])
		}
	}
}

func TestRunS3ListReusesPopulatedKeys(t *testing.T) {
	fake, srv := newFakeS3(t)
	for run := range 2 {
		if _, errOut, err := runFake(t, srv.URL, "--ops", "list", "--json"); err != nil {
			t.Fatalf("run %d: %v\nstderr:\n%s", run, err, errOut)
		}
		if n := fake.putCount("list-2500"); n != 2500 {
			t.Fatalf("after run %d: %d PUTs to the list key space, want 2500", run, n)
		}
	}
}

func TestRunS3GetOnlySeeds(t *testing.T) {
	fake, srv := newFakeS3(t)
	out, errOut, err := runFake(t, srv.URL, "--ops", "get", "--sizes", "4KiB", "--get-objects", "10", "--json")
	if err != nil {
		t.Fatalf("RunS3: %v\nstderr:\n%s", err, errOut)
	}
	_, rows := decodeLines(t, out)
	if len(rows) != 2 || rows[0].Op != "get" || rows[0].Ops == 0 {
		t.Errorf("rows = %+v, want two get rows", rows)
	}
	if keys := fake.keys("sluice-bench"); len(keys) != 0 {
		t.Errorf("seeded objects left behind: %q", keys[:min(3, len(keys))])
	}
}

func TestRunS3Table(t *testing.T) {
	_, srv := newFakeS3(t)
	out, errOut, err := runFake(t, srv.URL, "--sizes", "4KiB", "--concurrency", "2", "--runs", "3", "--keep")
	if err != nil {
		t.Fatalf("RunS3: %v\nstderr:\n%s", err, errOut)
	}
	for _, want := range []string{
		"sluice bench s3: " + srv.URL,
		"machine: nproc ",
		"OP ",
		"ERRORS",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	var rows int
	for line := range strings.Lines(out) {
		f := strings.Fields(line)
		if len(f) == 9 && (f[0] == "put" || f[0] == "get") {
			rows++
			if f[1] != "4KiB" || f[2] != "2" || f[8] != "0" {
				t.Errorf("row %q", line)
			}
		}
	}
	if rows != 2 {
		t.Errorf("got %d put/get rows, want 2:\n%s", rows, out)
	}
	if !strings.Contains(errOut, "left ") {
		t.Errorf("--keep did not say what it left: %q", errOut)
	}
}

func TestRunS3FailsLoudly(t *testing.T) {
	fake, srv := newFakeS3(t)
	// Fail every GET of a benchmark object after the preflight probe.
	fake.fail = func(r *http.Request) int {
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/obj/") {
			return http.StatusInternalServerError
		}
		return 0
	}
	out, errOut, err := runFake(t, srv.URL, "--sizes", "1KiB", "--concurrency", "2", "--json")
	if err == nil || !strings.Contains(err.Error(), "operations against") {
		t.Fatalf("RunS3 error = %v, want a count of failed operations", err)
	}
	if !strings.Contains(errOut, "HTTP 500 InternalError: injected failure") {
		t.Errorf("stderr does not show the failure:\n%s", errOut)
	}
	if n := strings.Count(errOut, "error: GET"); n != printedErrors {
		t.Errorf("stderr shows %d failures, want the first %d", n, printedErrors)
	}
	_, rows := decodeLines(t, out)
	for _, r := range rows {
		if r.Op == "get" && r.Errors == 0 {
			t.Errorf("get row reports no errors: %+v", r)
		}
	}
}

func TestRunS3Preflight(t *testing.T) {
	fake, srv := newFakeS3(t)
	fake.fail = func(r *http.Request) int {
		if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "probe") {
			return http.StatusForbidden
		}
		return 0
	}
	_, _, err := runFake(t, srv.URL)
	if err == nil || !strings.Contains(err.Error(), "preflight") || !strings.Contains(err.Error(), "HTTP 403") {
		t.Fatalf("RunS3 error = %v, want a preflight failure with the status", err)
	}
}

func TestRunS3Help(t *testing.T) {
	var stderr bytes.Buffer
	if err := runS3(context.Background(), []string{"-h"}, noEnv, io.Discard, &stderr); err != nil {
		t.Fatalf("RunS3 -h: %v", err)
	}
	if !strings.Contains(stderr.String(), "--list-keys") && !strings.Contains(stderr.String(), "-list-keys") {
		t.Errorf("usage lacks flags:\n%s", stderr.String())
	}
}

func TestParseConfig(t *testing.T) {
	env := func(k string) string {
		return map[string]string{"AWS_ACCESS_KEY_ID": "envkey", "AWS_SECRET_ACCESS_KEY": "envsecret"}[k]
	}
	cfg, err := parseConfig(nil, env, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.endpoint.String() != "http://127.0.0.1:9000" || cfg.accessKey != "envkey" || cfg.secretKey != "envsecret" ||
		cfg.bucket != "sluice-bench" || cfg.region != "us-east-1" || cfg.duration != 10*time.Second ||
		!slices.Equal(cfg.sizes, []int64{4 << 10, 1 << 20}) || !slices.Equal(cfg.concurrency, []int{16, 64}) ||
		cfg.ops != (opSet{put: true, get: true}) || cfg.largeSize != 256<<20 || cfg.listKeys != 1_000_000 {
		t.Errorf("defaults = %+v", cfg)
	}

	bad := []struct {
		name string
		args []string
	}{
		{"unknown op", []string{"--ops", "put,delete"}},
		{"bad size", []string{"--sizes", "4XB"}},
		{"zero concurrency", []string{"--concurrency", "0"}},
		{"bad endpoint", []string{"--endpoint", "127.0.0.1:9000"}},
		{"key without secret", []string{"--secret-key", ""}},
		{"extra argument", []string{"extra"}},
		{"zero runs", []string{"--runs", "0"}},
		{"too many list keys", []string{"--list-keys", "100000000"}},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := parseConfig(tt.args, env, io.Discard); err == nil {
				t.Errorf("parseConfig(%q) succeeded", tt.args)
			}
		})
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
	}{
		{"4KiB", 4 << 10},
		{"1MiB", 1 << 20},
		{"256mib", 256 << 20},
		{"1GiB", 1 << 30},
		{"1MB", 1_000_000},
		{"4k", 4 << 10},
		{"512", 512},
		{"100B", 100},
	}
	for _, tt := range tests {
		got, err := parseSize(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{"", "KiB", "-1", "0", "1.5MiB", "1TiB"} {
		if _, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) succeeded", in)
		}
	}
}

func TestFormatSize(t *testing.T) {
	tests := []struct {
		in   int64
		want string
	}{
		{4 << 10, "4KiB"}, {1 << 20, "1MiB"}, {256 << 20, "256MiB"}, {2 << 30, "2GiB"}, {1000, "1000B"}, {0, "-"},
	}
	for _, tt := range tests {
		if got := formatSize(tt.in); got != tt.want {
			t.Errorf("formatSize(%d) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestHistogramQuantiles(t *testing.T) {
	var h histogram
	if got := h.quantile(0.5); got != 0 {
		t.Errorf("empty quantile = %v", got)
	}
	// 1..10000 µs, shuffled: p50 ≈ 5ms, p99 ≈ 9.9ms.
	vals := make([]time.Duration, 10000)
	for i := range vals {
		vals[i] = time.Duration(i+1) * time.Microsecond
	}
	rand.Shuffle(len(vals), func(i, j int) { vals[i], vals[j] = vals[j], vals[i] })
	var a, b histogram
	for i, v := range vals {
		if i%2 == 0 {
			a.record(v)
		} else {
			b.record(v)
		}
	}
	h.merge(&a)
	h.merge(&b)
	tests := []struct {
		q    float64
		want time.Duration
	}{
		{0.5, 5 * time.Millisecond},
		{0.99, 9900 * time.Microsecond},
		{1, 10 * time.Millisecond},
		{0.0001, time.Microsecond},
	}
	for _, tt := range tests {
		got := h.quantile(tt.q)
		if diff := float64(got-tt.want) / float64(tt.want); diff < -0.01 || diff > 0.01 {
			t.Errorf("quantile(%v) = %v, want %v ±1%%", tt.q, got, tt.want)
		}
	}
}

func TestHistogramBuckets(t *testing.T) {
	// Every value maps to a bucket whose midpoint is within 1/histSub.
	for _, v := range []uint64{0, 1, 255, 256, 257, 1000, 123456789, 1 << 40, 1<<63 + 12345} {
		i := histIndex(v)
		if i < 0 || i >= histBuckets {
			t.Fatalf("histIndex(%d) = %d out of range", v, i)
		}
		mid := histValue(i)
		if diff := float64(mid) - float64(v); diff > float64(v)/histSub+1 || -diff > float64(v)/histSub+1 {
			t.Errorf("value %d: bucket %d midpoint %d", v, i, mid)
		}
	}
}

func TestListKeyOrder(t *testing.T) {
	for _, i := range []int{0, 98, 99, 100, 9_999, 10_000, 99_999, 1_000_000, maxListKeys - 1} {
		if a, b := listKey("p/", i), listKey("p/", i+1); a >= b {
			t.Errorf("listKey(%d) = %q does not sort before listKey(%d) = %q", i, a, i+1, b)
		}
	}
}

func TestEscapePath(t *testing.T) {
	tests := []struct{ in, want string }{
		{"a/b-c_d.e~f", "a/b-c_d.e~f"},
		{"a b+c=d", "a%20b%2Bc%3Dd"},
		{"é", "%C3%A9"},
	}
	for _, tt := range tests {
		if got := escapePath(tt.in); got != tt.want {
			t.Errorf("escapePath(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCycleReader(t *testing.T) {
	buf := []byte("0123456789")
	got, err := io.ReadAll(newCycleReader(buf, 7, 25))
	if err != nil {
		t.Fatal(err)
	}
	if want := "7890123456789012345678901"; string(got) != want {
		t.Errorf("read %q, want %q", got, want)
	}
}
