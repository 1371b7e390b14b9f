// Package process runs supervised function processes. Each process leads
// its own process group, so that stopping it stops everything it started;
// its standard output and standard error share one pipe and are delivered
// line by line to a callback, in the order they were written. Stop sends
// SIGTERM to the group and SIGKILL after a grace period.
//
// Sync lets the caller wait until every byte the process wrote before a
// point in time (for example before it answered an HTTP request) has been
// delivered, without a round trip through the process: the pipe is read
// under a mutex, and Sync drains it under the same mutex until the kernel
// reports it empty.
package process

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"syscall"
	"time"
)

// DefaultMaxLine is the longest line delivered whole; longer lines are
// split (CloudWatch Logs' event size limit is 256 KiB).
const DefaultMaxLine = 256 << 10

// Config describes a process to start.
type Config struct {
	// Path is the executable; Args its arguments (without argv[0]).
	Path string
	Args []string
	// Dir is the working directory.
	Dir string
	// Env is the complete environment; nothing is inherited.
	Env []string
	// Output receives every line of the combined standard output and
	// standard error, without its newline. Calls are serialized; line is
	// only valid during the call. A final line without a newline is
	// delivered when the pipe closes.
	Output func(line []byte)
	// MaxLine splits longer lines; 0 means DefaultMaxLine.
	MaxLine int
	// Nice raises the process's niceness above the caller's by this
	// much (capped at 19), so that under CPU contention the caller's
	// threads run first; 0 leaves it equal to the caller's. The child
	// has it from fork, before exec, so every thread and process it
	// starts inherits it. Negative values are refused: they would need
	// CAP_SYS_NICE and would put functions ahead of the server.
	Nice int
}

// Process is a running (or exited) supervised process.
type Process struct {
	cmd    *exec.Cmd
	cancel context.CancelFunc
	pid    int

	out     func([]byte)
	maxLine int
	r       *os.File
	rc      syscall.RawConn

	mu      sync.Mutex // serializes pipe reads and out calls
	buf     []byte     // read buffer
	line    []byte     // incomplete line
	eof     bool
	outDone chan struct{} // closed when the reader has seen EOF

	done    chan struct{} // closed when the process has been waited for
	waitErr error

	memMu  sync.Mutex
	status *os.File // /proc/PID/status, opened by Memory
}

// Start starts the process in a new process group. Exec failures (no such
// file, permission denied, exec format error) are returned as the
// *os.PathError or *exec.Error that os/exec reports.
func Start(cfg Config) (*Process, error) {
	if cfg.Nice < 0 {
		return nil, fmt.Errorf("process: negative niceness %d", cfg.Nice)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	rc, err := r.SyscallConn()
	if err != nil {
		r.Close()
		w.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, cfg.Path, cfg.Args...)
	cmd.Dir = cfg.Dir
	cmd.Env = cfg.Env
	if cmd.Env == nil {
		cmd.Env = []string{}
	}
	// The same file for both streams keeps their relative order. os/exec
	// hands it to the child in blocking mode.
	cmd.Stdout = w
	cmd.Stderr = w
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p := &Process{
		cmd:     cmd,
		cancel:  cancel,
		out:     cfg.Output,
		maxLine: cfg.MaxLine,
		r:       r,
		rc:      rc,
		buf:     make([]byte, 32<<10),
		outDone: make(chan struct{}),
		done:    make(chan struct{}),
	}
	if p.maxLine <= 0 {
		p.maxLine = DefaultMaxLine
	}
	if p.out == nil {
		p.out = func([]byte) {}
	}
	cmd.Cancel = func() error { return p.signalGroup(syscall.SIGKILL) }
	start := cmd.Start
	if cfg.Nice > 0 {
		start = func() error { return startNiced(cmd, cfg.Nice) }
	}
	if err := start(); err != nil {
		cancel()
		r.Close()
		w.Close()
		return nil, err
	}
	w.Close()
	p.pid = cmd.Process.Pid
	go p.readLoop()
	go p.wait()
	return p, nil
}

// startNiced starts cmd from an OS thread of its own whose niceness it
// first raises by nice: Linux keeps niceness per thread, a forked child
// copies the forking thread's, and os/exec forks on the calling thread,
// so the child runs niced from its first instruction; the threads and
// processes a runtime starts later inherit it, with no window in which
// one of them runs at the server's priority (setpriority after Start
// would miss threads the runtime starts before it). The goroutine exits
// still locked to the thread, which makes the Go runtime discard the
// thread rather than hand its lowered priority to server goroutines.
func startNiced(cmd *exec.Cmd, nice int) error {
	errc := make(chan error, 1)
	var run func()
	run = func() {
		runtime.LockOSThread() // never unlocked: the thread ends with this goroutine
		tid := syscall.Gettid()
		if tid == syscall.Getpid() {
			// The main thread cannot end (the runtime parks it
			// instead, niced): holding it, start over on another.
			done := make(chan struct{})
			go func() {
				run()
				close(done)
			}()
			<-done
			runtime.UnlockOSThread()
			return
		}
		// The raw system call returns 20 - niceness (1..40).
		prio, err := syscall.Getpriority(syscall.PRIO_PROCESS, tid)
		if err != nil {
			errc <- fmt.Errorf("process: getpriority: %w", err)
			return
		}
		if err := syscall.Setpriority(syscall.PRIO_PROCESS, tid, min(20-prio+nice, 19)); err != nil {
			errc <- fmt.Errorf("process: setpriority: %w", err)
			return
		}
		errc <- cmd.Start()
	}
	go run()
	return <-errc
}

// PID is the process ID, which is also its process group ID.
func (p *Process) PID() int { return p.pid }

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Err is the exit error once Done is closed: nil for exit status 0, an
// *exec.ExitError otherwise.
func (p *Process) Err() error {
	<-p.done
	return p.waitErr
}

// ExitReason describes how the process ended the way Lambda reports it:
// "exit status 2" or "signal: killed". It blocks until the process exits.
func (p *Process) ExitReason() string {
	err := p.Err()
	if err == nil {
		return "exit status 0"
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ProcessState.String()
	}
	return err.Error()
}

// Signal sends sig to the process group.
func (p *Process) Signal(sig syscall.Signal) error { return p.signalGroup(sig) }

// Kill kills the process group with SIGKILL and waits for the leader to
// exit.
func (p *Process) Kill() {
	p.cancel()
	<-p.done
}

// Stop asks the process group to stop with SIGTERM, kills it with SIGKILL
// if the leader has not exited after grace, and waits for the leader.
func (p *Process) Stop(grace time.Duration) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.signalGroup(syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.done:
	case <-t.C:
		p.Kill()
	}
}

func (p *Process) signalGroup(sig syscall.Signal) error {
	err := syscall.Kill(-p.pid, sig)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}

func (p *Process) wait() {
	p.waitErr = p.cmd.Wait()
	// Whatever the leader left behind in its group goes with it.
	_ = p.signalGroup(syscall.SIGKILL)
	close(p.done)
	p.closeStatus()
	p.cancel()
	// A descendant that left the group may hold the pipe open forever;
	// give the reader a moment to reach EOF, then close the pipe.
	t := time.NewTimer(time.Second)
	defer t.Stop()
	select {
	case <-p.outDone:
	case <-t.C:
	}
	p.cleanup()
}

// cleanup closes the read end of the pipe once the reader is done or
// abandoned. It is safe to call more than once.
func (p *Process) cleanup() {
	p.mu.Lock()
	if !p.eof {
		p.eof = true
		p.flushLine()
	}
	p.mu.Unlock()
	p.r.Close()
}

func (p *Process) readLoop() {
	defer close(p.outDone)
	for {
		var eof bool
		err := p.rc.Read(func(fd uintptr) bool {
			p.mu.Lock()
			defer p.mu.Unlock()
			again, end := p.readOnce(int(fd))
			eof = end
			return !again
		})
		if err != nil || eof {
			return
		}
	}
}

// readOnce reads one chunk with p.mu held; again means the pipe is empty.
func (p *Process) readOnce(fd int) (again, eof bool) {
	if p.eof {
		return false, true
	}
	for {
		n, err := syscall.Read(fd, p.buf)
		if err == syscall.EINTR {
			continue
		}
		if err == syscall.EAGAIN {
			return true, false
		}
		if n <= 0 || err != nil {
			p.eof = true
			p.flushLine()
			return false, true
		}
		p.consume(p.buf[:n])
		return false, false
	}
}

// Sync delivers all output the process has written so far: when it
// returns, Output has been called for everything written before Sync was
// called, a final unterminated line included (it is delivered as a line
// of its own). It reads at most a few megabytes, so a process that writes
// without pause cannot hold it forever.
func (p *Process) Sync() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.eof {
		return
	}
	_ = p.rc.Control(func(fd uintptr) {
		for range 128 {
			again, eof := p.readOnce(int(fd))
			if again || eof {
				return
			}
		}
	})
	p.flushLine()
}

func (p *Process) consume(b []byte) {
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			p.line = append(p.line, b...)
			if len(p.line) >= p.maxLine {
				p.out(p.line[:p.maxLine])
				p.line = append(p.line[:0], p.line[p.maxLine:]...)
			}
			return
		}
		if len(p.line) == 0 {
			p.emit(b[:i])
		} else {
			p.line = append(p.line, b[:i]...)
			p.emit(p.line)
			p.line = p.line[:0]
		}
		b = b[i+1:]
	}
}

func (p *Process) emit(line []byte) {
	for len(line) > p.maxLine {
		p.out(line[:p.maxLine])
		line = line[p.maxLine:]
	}
	p.out(line)
}

func (p *Process) flushLine() {
	if len(p.line) > 0 {
		p.emit(p.line)
		p.line = p.line[:0]
	}
}
