package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/sluicehq/sluice/internal/server/servertest"
)

func TestParseInvokeConfig(t *testing.T) {
	keys := []string{"--access-key", "AK", "--secret-key", "SK"}
	tests := []struct {
		args []string
		err  string
	}{
		{args: keys},
		{args: append([]string{"--runtimes", "go,ruby"}, keys...), err: `unknown runtime "ruby"`},
		{args: append([]string{"--runtimes", ""}, keys...), err: "--runtimes is empty"},
		{args: []string{}, err: "--access-key and --secret-key"},
		{args: append([]string{"--endpoint", "ftp://x"}, keys...), err: "want http(s)://host[:port]"},
		{args: append([]string{"--cold-samples", "-1"}, keys...), err: "must not be negative"},
		{args: append([]string{"--memory", "64"}, keys...), err: "--memory must be at least 128"},
		{args: append([]string{"extra"}, keys...), err: `unexpected argument "extra"`},
	}
	for _, tc := range tests {
		cfg, err := parseInvokeConfig(tc.args, noEnv, io.Discard)
		if tc.err == "" {
			if err != nil {
				t.Errorf("%v: %v", tc.args, err)
			} else if strings.Join(cfg.runtimes, ",") != "go,python,node" || cfg.coldSamples != 20 {
				t.Errorf("defaults: %+v", cfg)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%v: error %v, want %q", tc.args, err, tc.err)
		}
	}
}

func TestReportField(t *testing.T) {
	log := []byte("START RequestId: a Version: $LATEST\nEND RequestId: a\n" +
		"REPORT RequestId: a\tDuration: 1.25 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\tMax Memory Used: 9 MB\tInit Duration: 12.50 ms\t\n")
	tests := []struct {
		field string
		want  time.Duration
		ok    bool
	}{
		{"Duration", 1250 * time.Microsecond, true},
		{"Init Duration", 12500 * time.Microsecond, true},
		{"Billed Duration", 2 * time.Millisecond, true},
		{"Restore Duration", 0, false},
	}
	for _, tc := range tests {
		got, ok := reportField(log, tc.field)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s = %v, %v; want %v, %v", tc.field, got, ok, tc.want, tc.ok)
		}
	}
	if _, ok := reportField([]byte("no report"), "Duration"); ok {
		t.Error("a log without REPORT has a Duration")
	}
}

// TestBenchInvoke runs the benchmark, briefly, against a real node.
func TestBenchInvoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a Go function and starts function processes; skipped with -short")
	}
	n := servertest.Start(t)
	runtimes := "go"
	if _, err := exec.LookPath("python3"); err == nil {
		runtimes += ",python"
	}
	args := []string{
		"--endpoint", n.Endpoint, "--access-key", servertest.AccessKeyID, "--secret-key", servertest.SecretAccessKey,
		"--runtimes", runtimes, "--duration", "200ms", "--concurrency", "1,2",
		"--overhead-samples", "20", "--cold-samples", "2", "--json",
	}
	var stdout, stderr bytes.Buffer
	if err := runInvoke(context.Background(), args, noEnv, &stdout, &stderr); err != nil {
		t.Fatalf("bench invoke: %v\nstderr:\n%s", err, stderr.String())
	}
	phases := map[string]int{}
	var targets []target
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		var probe struct{ Type string }
		if err := json.Unmarshal(sc.Bytes(), &probe); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		switch probe.Type {
		case "result":
			var r invokeResult
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				t.Fatal(err)
			}
			phases[r.Family+"/"+r.Phase]++
			if r.Errors != 0 || r.Invokes == 0 || r.P50ms <= 0 {
				t.Errorf("row %s", sc.Text())
			}
			if r.Phase == "cold" && (r.Invokes != 2 || r.InitP50ms <= 0) {
				t.Errorf("cold row %s", sc.Text())
			}
			if r.Phase == "overhead" && (r.FunctionP50ms <= 0 || r.InvokeP50ms < r.P50ms) {
				t.Errorf("overhead row %s", sc.Text())
			}
		case "target":
			var tg target
			if err := json.Unmarshal(sc.Bytes(), &tg); err != nil {
				t.Fatal(err)
			}
			targets = append(targets, tg)
		}
	}
	for _, rt := range strings.Split(runtimes, ",") {
		if phases[rt+"/warm"] != 2 || phases[rt+"/overhead"] != 1 || phases[rt+"/cold"] != 1 {
			t.Errorf("%s phases %v", rt, phases)
		}
	}
	if len(targets) < 3 {
		t.Errorf("targets %+v", targets)
	}
	fns, err := lambda.NewFromConfig(n.AWSConfig()).ListFunctions(context.Background(), &lambda.ListFunctionsInput{})
	if err != nil || len(fns.Functions) != 0 {
		t.Errorf("functions left behind: %v %v", fns, err)
	}
}
