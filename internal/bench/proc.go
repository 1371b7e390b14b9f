package bench

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"time"
)

// procSampleEvery is how often a watched server's RSS is read.
const procSampleEvery = 50 * time.Millisecond

// clockTicks is the unit of utime and stime in /proc/<pid>/stat (USER_HZ,
// 100 on every Linux architecture Go supports).
const clockTicks = 100

// procStat is one reading of a process's resident set and CPU time.
type procStat struct {
	rss  int64         // bytes
	anon int64         // bytes of rss not backed by files (heap, stacks): rss less mapped files such as a database
	cpu  time.Duration // user + system
}

// readProc reads the resident set size and CPU time of process pid from
// Linux's /proc.
func readProc(pid int) (procStat, error) {
	dir := "/proc/" + strconv.Itoa(pid) + "/"
	status, err := os.ReadFile(dir + "status")
	if err != nil {
		return procStat{}, err
	}
	var st procStat
	for line := range bytes.Lines(status) {
		name, v, _ := bytes.Cut(line, []byte(":"))
		var dst *int64
		switch string(name) {
		case "VmRSS":
			dst = &st.rss
		case "RssAnon":
			dst = &st.anon
		default:
			continue
		}
		f := bytes.Fields(v)
		if len(f) != 2 || string(f[1]) != "kB" {
			return procStat{}, fmt.Errorf("%sstatus: unexpected line %q", dir, line)
		}
		kb, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil {
			return procStat{}, fmt.Errorf("%sstatus: %w", dir, err)
		}
		*dst = kb << 10
	}
	if st.rss == 0 {
		return procStat{}, fmt.Errorf("%sstatus has no VmRSS (not a running process?)", dir)
	}
	stat, err := os.ReadFile(dir + "stat")
	if err != nil {
		return procStat{}, err
	}
	// The command name (field 2) is in parentheses and may contain spaces;
	// fields are counted from the last ')'.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return procStat{}, errors.New(dir + "stat: no command name")
	}
	f := bytes.Fields(stat[i+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return procStat{}, errors.New(dir + "stat: too few fields")
	}
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(string(s), 10, 64)
		if err != nil {
			return procStat{}, fmt.Errorf("%sstat: %w", dir, err)
		}
		ticks += n
	}
	st.cpu = time.Duration(ticks) * time.Second / clockTicks
	return st, nil
}

// procUsage is what a server process used during one measurement.
type procUsage struct {
	peakRSS  int64         // largest RSS seen, bytes
	peakAnon int64         // largest anonymous RSS seen, bytes
	cpu      time.Duration // CPU time spent
}

// procWatch samples a process's RSS until stopped.
type procWatch struct {
	pid    int
	stderr io.Writer
	start  procStat
	done   chan struct{}
	wg     sync.WaitGroup
	peak   procStat
	failed error
}

// watchProc starts sampling process pid. Failures are reported once, on
// stderr, and make stop return nil.
func watchProc(pid int, stderr io.Writer) *procWatch {
	w := &procWatch{pid: pid, stderr: stderr, done: make(chan struct{})}
	w.start, w.failed = readProc(pid)
	w.peak = w.start
	w.wg.Go(func() {
		t := time.NewTicker(procSampleEvery)
		defer t.Stop()
		for w.failed == nil {
			select {
			case <-w.done:
				return
			case <-t.C:
				st, err := readProc(pid)
				if err != nil {
					w.failed = err
					return
				}
				w.peak.rss = max(w.peak.rss, st.rss)
				w.peak.anon = max(w.peak.anon, st.anon)
			}
		}
	})
	return w
}

// stop ends the sampling and returns the usage since watchProc.
func (w *procWatch) stop() *procUsage {
	close(w.done)
	w.wg.Wait()
	end, err := readProc(w.pid)
	if err == nil && w.failed == nil {
		return &procUsage{peakRSS: max(w.peak.rss, end.rss), peakAnon: max(w.peak.anon, end.anon), cpu: end.cpu - w.start.cpu}
	}
	if w.failed == nil {
		w.failed = err
	}
	fmt.Fprintf(w.stderr, "warning: server process %d: %v\n", w.pid, w.failed)
	return nil
}
