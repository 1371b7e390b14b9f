package process

import (
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

type lines struct {
	mu sync.Mutex
	l  []string
}

func (l *lines) add(b []byte) {
	l.mu.Lock()
	l.l = append(l.l, string(b))
	l.mu.Unlock()
}

func (l *lines) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.l...)
}

func start(t *testing.T, script string, maxLine int) (*Process, *lines) {
	t.Helper()
	var out lines
	p, err := Start(Config{
		Path:    "/bin/sh",
		Args:    []string{"-c", script},
		Dir:     t.TempDir(),
		Env:     []string{"PATH=/usr/bin:/bin", "X=1"},
		Output:  out.add,
		MaxLine: maxLine,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop(100 * time.Millisecond) })
	return p, &out
}

func TestOutputAndExit(t *testing.T) {
	tests := []struct {
		name    string
		script  string
		maxLine int
		want    []string
		reason  string
	}{
		{"lines", `echo a; echo b >&2; echo c`, 0, []string{"a", "b", "c"}, "exit status 0"},
		{"partial last line", `printf 'x\ny'; exit 3`, 0, []string{"x", "y"}, "exit status 3"},
		{"long line split", `printf 'abcdefgh\n'`, 3, []string{"abc", "def", "gh"}, "exit status 0"},
		{"env is only what was given", `echo "$X${HOME:-nohome}"`, 0, []string{"1nohome"}, "exit status 0"},
		{"killed by signal", `kill -9 $$`, 0, nil, "signal: killed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, out := start(t, tt.script, tt.maxLine)
			<-p.Done()
			if got := p.ExitReason(); got != tt.reason {
				t.Errorf("exit reason %q, want %q", got, tt.reason)
			}
			<-p.outDone
			if got := out.get(); strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("output %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSyncDeliversWrittenOutput(t *testing.T) {
	// The process writes a line, then signals (through a file) that it
	// did; after Sync the line must have been delivered.
	dir := t.TempDir()
	flag := dir + "/flag"
	p, out := start(t, `i=0; while [ $i -lt 50 ]; do echo line$i; : > `+flag+`$i; i=$((i+1)); sleep 0.01; done; sleep 5`, 0)
	for i := range 50 {
		name := flag + itoa(i)
		deadline := time.Now().Add(5 * time.Second)
		for {
			if _, err := os.Stat(name); err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("flag %d never appeared", i)
			}
			time.Sleep(time.Millisecond)
		}
		p.Sync()
		got := out.get()
		if len(got) < i+1 || got[i] != "line"+itoa(i) {
			t.Fatalf("after Sync %d: output %q", i, got)
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestStopKillsGroup(t *testing.T) {
	// The shell ignores SIGTERM and starts a child; Stop must kill both.
	p, out := start(t, `trap '' TERM; sleep 30 & echo child $!; wait`, 0)
	var child int
	deadline := time.Now().Add(5 * time.Second)
	for child == 0 {
		for _, l := range out.get() {
			if strings.HasPrefix(l, "child ") {
				child = atoi(l[6:])
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no child")
		}
		time.Sleep(5 * time.Millisecond)
	}
	start := time.Now()
	p.Stop(200 * time.Millisecond)
	if d := time.Since(start); d < 150*time.Millisecond || d > 3*time.Second {
		t.Errorf("Stop took %v", d)
	}
	deadline = time.Now().Add(2 * time.Second)
	for syscall.Kill(child, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatal("child survived Stop")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func atoi(s string) int {
	n, _ := strconv.Atoi(strings.TrimSpace(s))
	return n
}

func TestMemory(t *testing.T) {
	p, _ := start(t, `sleep 5`, 0)
	rss, peak, err := p.Memory()
	if err != nil {
		t.Fatal(err)
	}
	if rss == 0 || peak < rss {
		t.Errorf("rss %d peak %d", rss, peak)
	}
	// Right after fork the child may still be exec'ing; allow it a moment.
	groups := map[int]uint64{p.PID(): 0}
	deadline := time.Now().Add(2 * time.Second)
	for groups[p.PID()] == 0 {
		if err := GroupRSS(groups); err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatal("group RSS stays 0")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestStartFailure(t *testing.T) {
	tests := []struct{ name, path string }{
		{"missing", "/nonexistent/bootstrap"},
		{"not executable", "/etc/hostname"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Start(Config{Path: tt.path}); err == nil {
				t.Fatal("Start succeeded")
			}
		})
	}
}
