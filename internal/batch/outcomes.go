package batch

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Task outcomes are not metadata records: a job of ten million tasks
// would mean ten million documents. Each job appends them to its outcome
// log (<data>/batch/<job>/outcomes), a file of length-prefixed records in
// completion order. The log is fsynced before each checkpoint that counts
// its records is committed to the job's document; the committed LogSize
// is its high-water mark. After a crash the log is cut back to that mark,
// so a task is in the log (and the report) exactly once: tasks whose
// outcome was past the mark run again.

// outcome is the result of one task, as the report shows it.
type outcome struct {
	Index      int64
	Failed     bool
	HTTPStatus int
	Bucket     string
	Key        string
	VersionID  string
	ErrorCode  string
	Message    string
}

// maxResultMessage bounds a report's ResultMessage, as AWS truncates the
// result string to 1,024 characters.
const maxResultMessage = 1024

// outcomeLog appends outcomes to a job's log. It is used by one
// goroutine at a time.
type outcomeLog struct {
	f    *os.File
	w    *bufio.Writer
	size int64 // bytes appended, flushed or not
	buf  []byte
}

func outcomePath(dir string) string { return filepath.Join(dir, "outcomes") }

// openOutcomeLog opens the log of the job in dir for appending after
// cutting it back to size, the committed high-water mark.
func openOutcomeLog(dir string, size int64, noSync bool) (*outcomeLog, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(outcomePath(dir), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if st.Size() < size {
		f.Close()
		return nil, fmt.Errorf("batch: outcome log %s has %d bytes, fewer than the %d committed", f.Name(), st.Size(), size)
	}
	if st.Size() > size {
		if err := f.Truncate(size); err != nil {
			f.Close()
			return nil, err
		}
		if !noSync {
			if err := f.Sync(); err != nil {
				f.Close()
				return nil, err
			}
		}
	}
	if _, err := f.Seek(size, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	return &outcomeLog{f: f, w: bufio.NewWriterSize(f, 256<<10), size: size}, nil
}

// append adds o and returns the offset it was written at.
func (l *outcomeLog) append(o *outcome) (int64, error) {
	l.buf = encodeOutcome(l.buf[:0], o)
	var hdr [binary.MaxVarintLen64]byte
	n := binary.PutUvarint(hdr[:], uint64(len(l.buf)))
	off := l.size
	if _, err := l.w.Write(hdr[:n]); err != nil {
		return 0, err
	}
	if _, err := l.w.Write(l.buf); err != nil {
		return 0, err
	}
	l.size += int64(n + len(l.buf))
	return off, nil
}

// sync makes everything appended durable.
func (l *outcomeLog) sync(noSync bool) error {
	if err := l.w.Flush(); err != nil {
		return err
	}
	if noSync {
		return nil
	}
	return l.f.Sync()
}

func (l *outcomeLog) close() error { return l.f.Close() }

func encodeOutcome(b []byte, o *outcome) []byte {
	b = binary.AppendUvarint(b, uint64(o.Index))
	flags := byte(0)
	if o.Failed {
		flags = 1
	}
	b = append(b, flags)
	b = binary.AppendUvarint(b, uint64(o.HTTPStatus))
	msg := truncateChars(o.Message, maxResultMessage)
	for _, s := range [...]string{o.Bucket, o.Key, o.VersionID, o.ErrorCode, msg} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return b
}

var errCorrupt = errors.New("batch: corrupt outcome record")

func decodeOutcome(b []byte, o *outcome) error {
	idx, n := binary.Uvarint(b)
	if n <= 0 || len(b) < n+1 {
		return errCorrupt
	}
	o.Index = int64(idx)
	b = b[n:]
	o.Failed = b[0] == 1
	b = b[1:]
	st, n := binary.Uvarint(b)
	if n <= 0 {
		return errCorrupt
	}
	o.HTTPStatus = int(st)
	b = b[n:]
	for _, p := range [...]*string{&o.Bucket, &o.Key, &o.VersionID, &o.ErrorCode, &o.Message} {
		l, n := binary.Uvarint(b)
		if n <= 0 || uint64(len(b)-n) < l {
			return errCorrupt
		}
		*p = string(b[n : n+int(l)])
		b = b[n+int(l):]
	}
	return nil
}

// scanOutcomes calls fn for each record of the log in dir between
// offsets from and to.
func scanOutcomes(dir string, from, to int64, fn func(off int64, o *outcome) error) error {
	f, err := os.Open(outcomePath(dir))
	if errors.Is(err, os.ErrNotExist) && to == 0 {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.Seek(from, io.SeekStart); err != nil {
		return err
	}
	r := bufio.NewReaderSize(io.LimitReader(f, to-from), 256<<10)
	off := from
	var (
		buf []byte
		o   outcome
	)
	for off < to {
		l, err := binary.ReadUvarint(r)
		if err != nil {
			return fmt.Errorf("batch: outcome log at %d: %w", off, err)
		}
		if l > 16<<20 {
			return errCorrupt
		}
		if cap(buf) < int(l) {
			buf = make([]byte, l)
		}
		buf = buf[:l]
		if _, err := io.ReadFull(r, buf); err != nil {
			return fmt.Errorf("batch: outcome log at %d: %w", off, err)
		}
		if err := decodeOutcome(buf, &o); err != nil {
			return err
		}
		if err := fn(off, &o); err != nil {
			return err
		}
		off += int64(uvarintLen(l)) + int64(l)
	}
	return nil
}

func uvarintLen(x uint64) int {
	var b [binary.MaxVarintLen64]byte
	return binary.PutUvarint(b[:], x)
}

// truncateChars cuts s to at most n characters.
func truncateChars(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := 0
	for off := range s {
		if i == n {
			return s[:off]
		}
		i++
	}
	return s
}
