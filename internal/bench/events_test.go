package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/sluicehq/sluice/internal/server"
	"github.com/sluicehq/sluice/internal/server/servertest"
)

// TestBenchEvents runs both phases of sluice bench events against a node
// that calls one S3 request at once, on average, saturation: the latency phase's
// events reach the function, and the throughput phase's wait for the end
// of each run of PUTs, then all arrive.
func TestBenchEvents(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a Go function and starts function processes; skipped with -short")
	}
	n := servertest.Start(t, servertest.Options{Configure: func(c *server.Config) { c.Functions.DeferLimit = 1 }})
	args := []string{
		"--endpoint", n.Endpoint, "--access-key", servertest.AccessKeyID, "--secret-key", servertest.SecretAccessKey,
		"--runtime", "go", "--rates", "50", "--duration", "1s", "--warmup", "200ms",
		"--runs", "1", "--concurrency", "16", "--json",
	}
	var stdout, stderr bytes.Buffer
	if err := RunEvents(context.Background(), args, &stdout, &stderr); err != nil {
		t.Fatalf("bench events: %v\nstderr:\n%s", err, stderr.String())
	}
	var rows []eventsResult
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		var r eventsResult
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		rows = append(rows, r)
	}
	if len(rows) != 2 {
		t.Fatalf("rows %+v", rows)
	}
	lat, tput := rows[0], rows[1]
	if lat.Phase != "latency" || lat.Events != 50 || lat.Missing != 0 || lat.P50ms <= 0 {
		t.Errorf("latency row %+v", lat)
	}
	if tput.Phase != "throughput" || tput.OffPS <= 0 || tput.OnPS <= 0 || tput.Events == 0 || tput.Missing != 0 || tput.DonePS <= 0 {
		t.Errorf("throughput row %+v", tput)
	}
	t.Logf("throughput row %+v", tput)
	if tput.DuringShare > 0.5 {
		t.Errorf("%.0f%% of the throughput run's events started during it; they should have waited for it", 100*tput.DuringShare)
	}
}
