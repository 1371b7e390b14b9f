package bench

import (
	"bufio"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"
)

// decodeAll parses --json output into rows, ratios and target verdicts.
func decodeAll(t *testing.T, out string) ([]result, []ratio, []s3Verdict) {
	t.Helper()
	var rows []result
	var ratios []ratio
	var verdicts []s3Verdict
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var probe struct{ Type string }
		if err := json.Unmarshal(sc.Bytes(), &probe); err != nil {
			t.Fatalf("line %q is not JSON: %v", sc.Text(), err)
		}
		var v any
		switch probe.Type {
		case "env":
			continue
		case "result":
			rows = append(rows, result{})
			v = &rows[len(rows)-1]
		case "ratio":
			ratios = append(ratios, ratio{})
			v = &ratios[len(ratios)-1]
		case "target":
			verdicts = append(verdicts, s3Verdict{})
			v = &verdicts[len(verdicts)-1]
		default:
			t.Fatalf("line %q has unknown type", sc.Text())
		}
		if err := json.Unmarshal(sc.Bytes(), v); err != nil {
			t.Fatal(err)
		}
	}
	return rows, ratios, verdicts
}

func TestRunS3PeerDiskAndServerProcess(t *testing.T) {
	a, srvA := newFakeS3(t)
	b, srvB := newFakeS3(t)
	pid := strconv.Itoa(os.Getpid()) // this test process stands in for a server
	out, errOut, err := runFake(t, srvA.URL, "--json", "--sizes", "4KiB", "--concurrency", "2", "--runs", "2",
		"--ops", "put,get,large", "--name", "one", "--pid", pid,
		"--peer", srvB.URL, "--peer-name", "two", "--peer-access-key", "K2", "--peer-secret-key", "S2", "--peer-pid", pid,
		"--disk-dir", t.TempDir())
	if err != nil {
		t.Fatalf("RunS3: %v\nstderr:\n%s", err, errOut)
	}
	rows, ratios, verdicts := decodeAll(t, out)

	seen := map[string]int{}
	for _, r := range rows {
		seen[r.Target+" "+r.Op]++
		if r.Errors != 0 || r.Ops == 0 {
			t.Errorf("row %+v: errors or no operations", r)
		}
		if r.Target != diskTarget && (r.ServerRSSMiB <= 0 || r.ServerAnonMiB <= 0 || r.ServerAnonMiB > r.ServerRSSMiB) {
			t.Errorf("row %+v: no server RSS", r)
		}
		if r.Target == diskTarget && r.ServerRSSMiB != 0 {
			t.Errorf("disk row %+v has a server RSS", r)
		}
	}
	for _, want := range []string{"one put", "one get", "two put", "two get", "one large-put", "one large-get",
		"two large-put", "two large-get", "disk disk-write", "disk disk-read"} {
		if seen[want] != 1 {
			t.Errorf("%d rows %q, want 1 (rows: %v)", seen[want], want, seen)
		}
	}
	// Each target got its own requests, signed with its own key.
	a.mu.Lock()
	aAuth := strings.Join(a.authz, "\n")
	a.mu.Unlock()
	b.mu.Lock()
	bAuth := strings.Join(b.authz, "\n")
	bPuts := b.puts
	b.mu.Unlock()
	if !strings.Contains(aAuth, "Credential=AKID/") || strings.Contains(aAuth, "K2/") {
		t.Errorf("target's requests signed wrongly: %s", aAuth)
	}
	if !strings.Contains(bAuth, "Credential=K2/") || len(bPuts) == 0 {
		t.Errorf("peer's requests signed wrongly or missing: %s", bAuth)
	}

	gotRatios := map[string]ratio{}
	for _, r := range ratios {
		gotRatios[r.Op+" "+r.Target+" "+r.Against] = r
		if r.Base <= 0 || r.Ratio <= 0 || r.Ratio != r.Value/r.Base {
			t.Errorf("ratio %+v is inconsistent", r)
		}
	}
	for _, want := range []string{"put one two", "get one two", "large-put one two", "large-get one two",
		"large-put one disk", "large-get one disk", "large-put two disk", "large-get two disk"} {
		if _, ok := gotRatios[want]; !ok {
			t.Errorf("no ratio %q (have %v)", want, gotRatios)
		}
	}
	goals := map[string]bool{}
	for _, v := range verdicts {
		goals[v.Goal] = true
	}
	for _, want := range []string{"one 4KiB put ops/s >= 1.2× two", "one 4KiB get ops/s >= 1.2× two",
		"one large-put MB/s >= 80% of disk-write", "one large-get MB/s >= 80% of disk-read"} {
		if !goals[want] {
			t.Errorf("no verdict %q (have %v)", want, goals)
		}
	}
}

func TestRunS3PeerTable(t *testing.T) {
	_, srvA := newFakeS3(t)
	_, srvB := newFakeS3(t)
	out, errOut, err := runFake(t, srvA.URL, "--sizes", "4KiB", "--concurrency", "2", "--ops", "put,get",
		"--name", "sluice", "--peer", srvB.URL, "--peer-name", "minio", "--peer-access-key", "K", "--peer-secret-key", "S")
	if err != nil {
		t.Fatalf("RunS3: %v\nstderr:\n%s", err, errOut)
	}
	for _, want := range []string{"TARGET", "ratios (sluice ÷ the other", "targets:", "sluice 4KiB put ops/s >= 1.2× minio"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	rows := 0
	for line := range strings.Lines(out) {
		if f := strings.Fields(line); len(f) == 10 && (f[0] == "sluice" || f[0] == "minio") && (f[1] == "put" || f[1] == "get") {
			rows++
		}
	}
	if rows != 4 {
		t.Errorf("%d target rows, want 4:\n%s", rows, out)
	}
	if strings.Contains(out, "SRV-RSS") {
		t.Errorf("server columns without --pid:\n%s", out)
	}
}

func TestS3Verdicts(t *testing.T) {
	cfg := config{name: "sluice", peer: &peerConfig{name: "minio"}}
	ratios := []ratio{
		{Op: "put", Size: "4KiB", Concurrency: 16, Target: "sluice", Against: "minio", Ratio: 1.5},
		{Op: "put", Size: "4KiB", Concurrency: 64, Target: "sluice", Against: "minio", Ratio: 1.19},
		{Op: "get", Size: "4KiB", Concurrency: 16, Target: "sluice", Against: "minio", Ratio: 1.2},
		{Op: "put", Size: "1MiB", Concurrency: 16, Target: "sluice", Against: "minio", Ratio: 0.1},
		{Op: "large-put", Target: "sluice", Against: diskTarget, AgainstOp: "disk-write", Ratio: 0.81, Value: 81, Base: 100},
		{Op: "large-get", Target: "sluice", Against: diskTarget, AgainstOp: "disk-read", Ratio: 0.5, Value: 5, Base: 10},
		{Op: "large-put", Target: "minio", Against: diskTarget, AgainstOp: "disk-write", Ratio: 0.1},
	}
	got := map[string]bool{}
	for _, v := range s3Verdicts(cfg, ratios) {
		got[v.Goal] = v.Met
	}
	want := map[string]bool{
		"sluice 4KiB put ops/s >= 1.2× minio":        false, // 1.19 at c64
		"sluice 4KiB get ops/s >= 1.2× minio":        true,
		"sluice large-put MB/s >= 80% of disk-write": true,
		"sluice large-get MB/s >= 80% of disk-read":  false,
	}
	if len(got) != len(want) {
		t.Errorf("verdicts %v, want %v", got, want)
	}
	for g, met := range want {
		if m, ok := got[g]; !ok || m != met {
			t.Errorf("verdict %q = %v (present %v), want %v", g, m, ok, met)
		}
	}
}

func TestReadProc(t *testing.T) {
	st, err := readProc(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if st.rss < 1<<20 || st.anon <= 0 || st.anon > st.rss || st.cpu < 0 {
		t.Errorf("readProc(self) = %+v", st)
	}
	if _, err := readProc(1 << 30); err == nil {
		t.Error("readProc of a missing process succeeded")
	}
	if _, _, err := runFake(t, "http://127.0.0.1:1", "--pid", strconv.Itoa(1<<30)); err == nil || !strings.Contains(err.Error(), "--pid") {
		t.Errorf("--pid of a missing process: %v", err)
	}
}
