package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
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

// TestServerPrintsHostsHint: `sluice server` prints what S3 Control and
// access point ARNs need on a machine without wildcard DNS, with the port
// it listens on (README, "Access points and DNS").
func TestServerPrintsHostsHint(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- runServer(ctx, []string{"--addr", "127.0.0.1:0", "--data", t.TempDir(), "--account-id", "123456789012"},
			func(string) string { return "" }, &stdout, io.Discard)
	}()
	re := regexp.MustCompile(`export AWS_ENDPOINT_URL=http://(127\.0\.0\.1:\d+) `)
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(stdout.String(), "alias works") {
		if time.Now().After(deadline) {
			t.Fatalf("no hosts hint in:\n%s", stdout.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	out := stdout.String()
	m := re.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no endpoint in:\n%s", out)
	}
	_, port, _ := net.SplitHostPort(m[1])
	for _, want := range []string{
		"    127.0.0.1 123456789012.localhost\n",
		"    export AWS_ENDPOINT_URL_S3_CONTROL=http://localhost:" + port + "\n",
		`"127.0.0.1 <name>-123456789012.localhost"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	cancel()
	if err := <-done; err != nil && err != context.Canceled {
		t.Errorf("runServer: %v", err)
	}
}
