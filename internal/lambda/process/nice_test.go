package process

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// helperEnv makes the test binary act as a function runtime: it starts
// threads and a child process, reports the child's PID and waits.
const helperEnv = "SLUICE_PROCESS_TEST_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "1" {
		runHelper()
		return
	}
	os.Exit(m.Run())
}

func runHelper() {
	child := exec.Command("/bin/sleep", "30")
	if err := child.Start(); err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	// Threads started after exec, as a runtime's worker pool would be.
	for range 4 {
		go func() {
			runtime.LockOSThread()
			select {}
		}()
	}
	time.Sleep(50 * time.Millisecond)
	fmt.Println("ready", child.Process.Pid)
	time.Sleep(30 * time.Second)
}

// niceness reads field 19 of /proc/PID/task/TID/stat for every thread
// of pid.
func niceness(t *testing.T, pid int) map[string]int {
	t.Helper()
	dir := "/proc/" + strconv.Itoa(pid) + "/task"
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]int{}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name(), "stat"))
		if err != nil {
			t.Fatal(err)
		}
		// Fields after the command name, which is in parentheses and
		// may contain spaces: state is field 3, nice field 19.
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		n, err := strconv.Atoi(f[19-3])
		if err != nil {
			t.Fatalf("%s: nice field %q", e.Name(), f[19-3])
		}
		m[e.Name()] = n
	}
	return m
}

func ownNiceness(t *testing.T) int {
	t.Helper()
	n := niceness(t, os.Getpid())
	first := -100
	for tid, v := range n {
		if first == -100 {
			first = v
		} else if v != first {
			t.Fatalf("test process threads differ in niceness: %v (thread %s)", n, tid)
		}
	}
	return first
}

func startHelper(t *testing.T, nice int) (p *Process, child int) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var out lines
	p, err = Start(Config{
		Path:   exe,
		Dir:    t.TempDir(),
		Env:    []string{helperEnv + "=1"},
		Output: out.add,
		Nice:   nice,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop(100 * time.Millisecond) })
	deadline := time.Now().Add(10 * time.Second)
	for child == 0 {
		for _, l := range out.get() {
			if rest, ok := strings.CutPrefix(l, "ready "); ok {
				child = atoi(rest)
			} else if strings.HasPrefix(l, "error") {
				t.Fatal(l)
			}
		}
		select {
		case <-p.Done():
			t.Fatalf("helper exited: %s, output %q", p.ExitReason(), out.get())
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("helper not ready; output %q", out.get())
		}
	}
	return p, child
}

func TestNice(t *testing.T) {
	base := ownNiceness(t)
	for _, tt := range []struct {
		name string
		nice int
		want int
	}{
		{"off", 0, base},
		{"raised", 7, min(base+7, 19)},
		{"capped", 40, 19},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, child := startHelper(t, tt.nice)
			leader := niceness(t, p.PID())
			// The Go runtime's own threads plus the four the helper
			// locked: threads started after exec are covered.
			if len(leader) < 5 {
				t.Fatalf("helper has %d threads, want at least 5", len(leader))
			}
			for tid, n := range leader {
				if n != tt.want {
					t.Errorf("thread %s of the process: nice %d, want %d", tid, n, tt.want)
				}
			}
			for tid, n := range niceness(t, child) {
				if n != tt.want {
					t.Errorf("thread %s of its child: nice %d, want %d", tid, n, tt.want)
				}
			}
			// The thread that forked was discarded: no thread of the
			// caller kept the raised niceness.
			if got := ownNiceness(t); got != base {
				t.Errorf("caller's niceness %d after Start, want %d", got, base)
			}
		})
	}
}

func TestNiceRefusesNegative(t *testing.T) {
	if _, err := Start(Config{Path: "/bin/true", Nice: -1}); err == nil {
		t.Fatal("Start with Nice -1 succeeded")
	}
}
