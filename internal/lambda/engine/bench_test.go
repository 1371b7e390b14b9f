package engine

import (
	"context"
	"sort"
	"syscall"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/lambda"
)

// BenchmarkInvokeGoNoop measures warm invocations of an aws-lambda-go
// no-op: throughput with 32×GOMAXPROCS concurrent callers (64 on two
// cores), each call one Invoke through Runtime API, process and back.
func BenchmarkInvokeGoNoop(b *testing.B) {
	e := newEngine(b, Config{MaxConcurrency: 1000})
	d := deploy("bench-noop", "provided.al2023", "noop", goFunc(b))
	inv := &lambda.Invocation{RequestID: "bench", Payload: []byte(`{}`)}
	invoke(b, e, d, `{}`)
	b.SetParallelism(32)
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu0 := time.Now(), processCPU(b)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			res, err := e.Invoke(context.Background(), d, inv)
			if err != nil || res.FunctionError != "" {
				b.Errorf("invoke: %v %s", err, res.Payload)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "invokes/s")
	// The CPU this process (the engine and its Runtime API servers, not
	// the functions) spent per invoke: less sensitive than the rate to
	// what else the machine runs.
	b.ReportMetric(float64((processCPU(b)-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
}

// processCPU is the user and system CPU time this process has used.
func processCPU(tb testing.TB) time.Duration {
	tb.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkInvokeGoNoopSerial measures the latency of one warm invoke at
// a time; it reports the median and 99th percentile.
func BenchmarkInvokeGoNoopSerial(b *testing.B) {
	e := newEngine(b)
	d := deploy("bench-serial", "provided.al2023", "noop", goFunc(b))
	inv := &lambda.Invocation{RequestID: "bench", Payload: []byte(`{}`)}
	invoke(b, e, d, `{}`)
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		if _, err := e.Invoke(context.Background(), d, inv); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	reportPercentiles(b, lat)
}

func reportPercentiles(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkColdStart measures a cold invoke of a no-op per runtime: the
// whole Invoke (process start, init, invoke) and the Init Duration.
func BenchmarkColdStart(b *testing.B) {
	cases := []struct {
		name, runtime, handler string
		need                   func(testing.TB)
		zip                    func(testing.TB) []byte
	}{
		{"go", "provided.al2023", "noop", func(testing.TB) {}, goFunc},
		{"python", "python3.12", "app.handler", needPython, func(tb testing.TB) []byte {
			return zipOf(tb, map[string]zfile{"app.py": {body: "def handler(e, c):\n    return None\n"}})
		}},
		{"node", "nodejs20.x", "index.handler", needNode, func(tb testing.TB) []byte {
			return zipOf(tb, map[string]zfile{"index.js": {body: "exports.handler = async () => null;"}})
		}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			c.need(b)
			e := newEngine(b)
			d := deploy("cold-"+c.name, c.runtime, c.handler, c.zip(b))
			if err := e.Prepare(context.Background(), d); err != nil {
				b.Fatal(err)
			}
			invoke(b, e, d, `{}`) // interpreter resolution, page cache
			var init time.Duration
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for b.Loop() {
				e.Retire(d.FunctionName)
				t0 := time.Now()
				res := invoke(b, e, d, `{}`)
				lat = append(lat, time.Since(t0))
				init += res.InitDuration
			}
			b.ReportMetric(float64(init.Microseconds())/1000/float64(len(lat)), "init-ms")
			reportPercentiles(b, lat)
		})
	}
}
