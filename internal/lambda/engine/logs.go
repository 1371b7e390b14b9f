package engine

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// DefaultLogMaxBytes is the size at which a function's log file is rotated.
const DefaultLogMaxBytes = 16 << 20

// Log file names inside a function's log directory.
const (
	logCurrent  = "current.log"
	logPrevious = "previous.log"
)

// ErrBadFunctionName is returned for names that cannot be a log directory.
var ErrBadFunctionName = errors.New("engine: invalid function name")

// Logs keeps each function's log: every invocation's output framed by its
// START, END and REPORT lines, plus output between invocations, as plain
// text in <dir>/<function>/current.log. When that file passes the size
// limit it becomes previous.log (replacing the one before), so a function
// keeps between one and two segments.
//
// Appends are buffered in memory and written every FlushInterval (or
// when 64 KiB accumulate), never synced: logs are not durable across a
// crash, and the invoke path makes no log syscall. Readers in this
// process see everything appended; another process (`sluice logs`) sees
// it within FlushInterval. Follow handles rotation.
type Logs struct {
	dir string
	max int64

	mu     sync.Mutex
	files  map[string]*logFile
	closed bool

	stop chan struct{}
	done chan struct{}
}

// FlushInterval is how often buffered log appends are written out.
const FlushInterval = 100 * time.Millisecond

const logBufferMax = 64 << 10

type logFile struct {
	mu      sync.Mutex
	dir     string
	f       *os.File
	size    int64 // written and buffered
	buf     []byte
	waiters chan struct{} // closed on the next append; nil if nobody waits
}

// LogsDir is where an engine with data directory dataDir keeps its logs,
// for readers in another process (`sluice logs`): OpenLogs(LogsDir(d), 0).
func LogsDir(dataDir string) string { return filepath.Join(dataDir, "lambda", "logs") }

// OpenLogs opens the log store in dir. maxBytes ≤ 0 means
// DefaultLogMaxBytes. Close stops its background flusher.
func OpenLogs(dir string, maxBytes int64) (*Logs, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultLogMaxBytes
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	l := &Logs{dir: dir, max: maxBytes, files: map[string]*logFile{},
		stop: make(chan struct{}), done: make(chan struct{})}
	go l.flusher()
	return l, nil
}

// Dir is the store's directory.
func (l *Logs) Dir() string { return l.dir }

func (l *Logs) fnDir(function string) (string, error) {
	if function == "" || function == "." || function == ".." || strings.ContainsAny(function, "/\\\x00") {
		return "", ErrBadFunctionName
	}
	return filepath.Join(l.dir, function), nil
}

func (l *Logs) file(function string) (*logFile, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, os.ErrClosed
	}
	if lf := l.files[function]; lf != nil {
		return lf, nil
	}
	dir, err := l.fnDir(function)
	if err != nil {
		return nil, err
	}
	lf := &logFile{dir: dir}
	if err := lf.open(); err != nil {
		return nil, err
	}
	l.files[function] = lf
	return lf, nil
}

func (lf *logFile) open() error {
	if err := os.MkdirAll(lf.dir, 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(lf.dir, logCurrent), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	lf.f, lf.size = f, st.Size()
	return nil
}

// flushLocked writes the buffer out; lf.mu is held.
func (lf *logFile) flushLocked() error {
	if len(lf.buf) == 0 || lf.f == nil {
		return nil
	}
	_, err := lf.f.Write(lf.buf)
	lf.buf = lf.buf[:0]
	return err
}

// Append adds p, which should end with a newline, to function's log.
func (l *Logs) Append(function string, p []byte) error {
	lf, err := l.file(function)
	if err != nil {
		return err
	}
	lf.mu.Lock()
	defer lf.mu.Unlock()
	if lf.f == nil {
		return os.ErrClosed
	}
	if lf.size > 0 && lf.size+int64(len(p)) > l.max {
		if err := lf.flushLocked(); err != nil {
			return err
		}
		lf.f.Close()
		lf.f = nil
		if err := os.Rename(filepath.Join(lf.dir, logCurrent), filepath.Join(lf.dir, logPrevious)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		if err := lf.open(); err != nil {
			return err
		}
	}
	lf.buf = append(lf.buf, p...)
	lf.size += int64(len(p))
	if len(lf.buf) >= logBufferMax {
		err = lf.flushLocked()
	}
	if lf.waiters != nil {
		close(lf.waiters)
		lf.waiters = nil
	}
	return err
}

// flush writes out function's buffered appends, if this store has any.
func (l *Logs) flush(function string) {
	l.mu.Lock()
	lf := l.files[function]
	l.mu.Unlock()
	if lf != nil {
		lf.mu.Lock()
		_ = lf.flushLocked()
		lf.mu.Unlock()
	}
}

func (l *Logs) flusher() {
	defer close(l.done)
	t := time.NewTicker(FlushInterval)
	defer t.Stop()
	var files []*logFile
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		files = files[:0]
		l.mu.Lock()
		for _, lf := range l.files {
			files = append(files, lf)
		}
		l.mu.Unlock()
		for _, lf := range files {
			lf.mu.Lock()
			_ = lf.flushLocked()
			lf.mu.Unlock()
		}
	}
}

// wait returns a channel closed at function's next append.
func (l *Logs) wait(function string) <-chan struct{} {
	lf, err := l.file(function)
	if err != nil {
		return nil
	}
	lf.mu.Lock()
	defer lf.mu.Unlock()
	if lf.waiters == nil {
		lf.waiters = make(chan struct{})
	}
	return lf.waiters
}

// Read returns function's whole log: the previous segment, if any, then
// the current one. A function that never logged has an empty log.
func (l *Logs) Read(function string) ([]byte, error) {
	dir, err := l.fnDir(function)
	if err != nil {
		return nil, err
	}
	l.flush(function)
	var out []byte
	for _, name := range []string{logPrevious, logCurrent} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		out = append(out, b...)
	}
	return out, nil
}

// Tail returns the last n lines of function's log (all of it if n < 0).
func (l *Logs) Tail(function string, n int) ([]byte, error) {
	b, err := l.Read(function)
	if err != nil || n < 0 {
		return b, err
	}
	return lastLines(b, n), nil
}

func lastLines(b []byte, n int) []byte {
	if n == 0 {
		return nil
	}
	end := len(b)
	if end > 0 && b[end-1] == '\n' {
		end--
	}
	for i := end - 1; i >= 0; i-- {
		if b[i] == '\n' {
			n--
			if n == 0 {
				return b[i+1:]
			}
		}
	}
	return b
}

// Follow writes the last tail lines of function's log (all of it if tail
// < 0) to w, then everything appended after, until ctx is done or a write
// to w fails. It notices appends by this process at once and appends by
// another sluice process within poll (250 ms if zero), and follows
// rotation. It returns nil when ctx ends.
func (l *Logs) Follow(ctx context.Context, function string, tail int, poll time.Duration, w io.Writer) error {
	dir, err := l.fnDir(function)
	if err != nil {
		return err
	}
	if poll <= 0 {
		poll = 250 * time.Millisecond
	}
	// Register for wake-ups before reading, so no append is missed.
	wake := l.wait(function)
	l.flush(function)
	prev, err := os.ReadFile(filepath.Join(dir, logPrevious))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	cur := filepath.Join(dir, logCurrent)
	f, err := os.Open(cur)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	var head bytes.Buffer
	head.Write(prev)
	var off int64
	if f != nil {
		n, err := head.ReadFrom(f)
		if err != nil {
			return err
		}
		off = n
	}
	start := head.Bytes()
	if tail >= 0 {
		start = lastLines(start, tail)
	}
	if _, err := w.Write(start); err != nil {
		return err
	}
	buf := make([]byte, 64<<10)
	drain := func() error {
		l.flush(function)
		for f != nil {
			n, err := f.ReadAt(buf, off)
			if n > 0 {
				if _, werr := w.Write(buf[:n]); werr != nil {
					return werr
				}
				off += int64(n)
			}
			if err != nil {
				return nil
			}
		}
		return nil
	}
	ticker := time.NewTicker(poll)
	defer ticker.Stop()
	for {
		if err := drain(); err != nil {
			return err
		}
		// Created, or rotated, since we opened it? Finish the old file
		// (it may have grown just before the rotation), then switch.
		if st, err := os.Stat(cur); err == nil {
			var fst os.FileInfo
			if f != nil {
				fst, _ = f.Stat()
			}
			if fst == nil || !os.SameFile(st, fst) {
				if err := drain(); err != nil {
					return err
				}
				if f != nil {
					f.Close()
				}
				off = 0
				if f, err = os.Open(cur); err == nil {
					continue
				}
				f = nil
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-wake:
			wake = l.wait(function)
		case <-ticker.C:
		}
	}
}

// Close writes out buffered appends, closes the store's files and stops
// its flusher. It is idempotent.
func (l *Logs) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	close(l.stop)
	var errs []error
	for name, lf := range l.files {
		lf.mu.Lock()
		if lf.f != nil {
			errs = append(errs, lf.flushLocked(), lf.f.Close())
			lf.f = nil
		}
		if lf.waiters != nil {
			close(lf.waiters)
			lf.waiters = nil
		}
		lf.mu.Unlock()
		delete(l.files, name)
	}
	l.mu.Unlock()
	<-l.done
	return errors.Join(errs...)
}
