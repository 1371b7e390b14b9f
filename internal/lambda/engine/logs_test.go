package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestLogsReadTailRotate(t *testing.T) {
	l, err := OpenLogs(t.TempDir(), 100)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var want strings.Builder
	for i := range 10 {
		line := fmt.Sprintf("line %02d of the log\n", i) // 20 bytes
		want.WriteString(line)
		if err := l.Append("fn", []byte(line)); err != nil {
			t.Fatal(err)
		}
	}
	// 100-byte segments: the last 10 lines are split over previous and
	// current, of which Read returns both.
	all, err := l.Read("fn")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(want.String(), string(all)) || len(all) < 100 {
		t.Errorf("Read %q", all)
	}
	tail, _ := l.Tail("fn", 2)
	if string(tail) != "line 08 of the log\nline 09 of the log\n" {
		t.Errorf("Tail %q", tail)
	}
	if b, err := l.Read("never-logged"); err != nil || len(b) != 0 {
		t.Errorf("empty log: %q %v", b, err)
	}
	for _, bad := range []string{"", "..", "a/b", "x\x00"} {
		if err := l.Append(bad, []byte("x\n")); !errors.Is(err, ErrBadFunctionName) {
			t.Errorf("Append(%q): %v", bad, err)
		}
	}
}

func TestLogsFollow(t *testing.T) {
	dir := t.TempDir()
	l, err := OpenLogs(dir, 200)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.Append("fn", []byte("old 1\nold 2\n"))
	tests := []struct {
		name   string
		reader *Logs // the follower's store: same process, or "another process"
	}{
		{"same process", l},
		{"other process", mustOpenLogs(t, dir)},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			var out syncBuffer
			done := make(chan error, 1)
			go func() { done <- tt.reader.Follow(ctx, "fn", 1, 20*time.Millisecond, &out) }()
			eventually(t, "the tail", func() bool { return strings.HasSuffix(out.String(), "\n") })
			if out.String() != lastLineBefore(t, l) {
				t.Errorf("tail %q", out.String())
			}
			// Enough appends to rotate a few times.
			var want strings.Builder
			want.WriteString(out.String())
			for j := range 30 {
				line := fmt.Sprintf("follow %d line %02d\n", i, j)
				want.WriteString(line)
				l.Append("fn", []byte(line))
				if j%7 == 0 {
					time.Sleep(30 * time.Millisecond)
				}
			}
			eventually(t, "all lines", func() bool { return out.String() == want.String() })
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Follow: %v", err)
			}
		})
	}
}

func lastLineBefore(t *testing.T, l *Logs) string {
	b, err := l.Tail("fn", 1)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func mustOpenLogs(t *testing.T, dir string) *Logs {
	l, err := OpenLogs(dir, 200)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}
