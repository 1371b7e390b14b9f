package runtimeapi

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// rawConn opens a plain TCP connection to s, to check the wire.
func rawConn(t *testing.T, s *Server) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return c, bufio.NewReader(c)
}

func readResp(t *testing.T, br *bufio.Reader) (*http.Response, string) {
	t.Helper()
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// TestKeepAlive runs two invocations over one connection, with a
// chunked response carrying no trailers, and checks the headers.
func TestKeepAlive(t *testing.T) {
	s, _ := listen(t)
	c, br := rawConn(t, s)
	deadline := time.UnixMilli(1700000000123)
	for i, id := range []string{"id-1", "id-2"} {
		if _, err := io.WriteString(c, "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		s.Dispatch(&Event{RequestID: id, Deadline: deadline, InvokedARN: "arn:fn",
			ClientContext: "{\n \"a\": 1}\n", Payload: []byte(`{"n":1}`)})
		resp, body := readResp(t, br)
		h := resp.Header
		if resp.StatusCode != 200 || body != `{"n":1}` || resp.Close || h.Get(HeaderRequestID) != id ||
			h.Get(HeaderDeadlineMs) != "1700000000123" || h.Get(HeaderInvokedARN) != "arn:fn" ||
			h.Get(HeaderClientContext) != `{  "a": 1}` || h.Get("Content-Type") != "application/json" ||
			h.Get("Date") == "" || h.Get(HeaderTraceID) != "" {
			t.Fatalf("next %d: %d %q %+v", i, resp.StatusCode, body, h)
		}
		if _, err := io.WriteString(c, "POST /2018-06-01/runtime/invocation/"+id+"/response HTTP/1.1\r\nHost: x\r\n"+
			"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		resp, body = readResp(t, br)
		if resp.StatusCode != 202 || body != `{"status":"OK"}` || resp.Close {
			t.Fatalf("response %d: %d %q", i, resp.StatusCode, body)
		}
		if o := <-s.Outcomes(); string(o.Payload) != "abcde" || o.Failed {
			t.Fatalf("outcome %+v", o)
		}
	}
}

// TestConnectionClose: a request asking to close, and HTTP/1.0, get
// Connection headers as net/http gives them.
func TestConnectionClose(t *testing.T) {
	s, _ := listen(t)
	c, br := rawConn(t, s)
	io.WriteString(c, "GET /nothing HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
	resp, _ := readResp(t, br)
	if resp.StatusCode != 404 || resp.Header.Get("Connection") != "keep-alive" || resp.Proto != "HTTP/1.0" {
		t.Fatalf("HTTP/1.0 keep-alive: %d %s %v", resp.StatusCode, resp.Proto, resp.Header)
	}
	io.WriteString(c, "GET /nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	resp, _ = readResp(t, br)
	if resp.StatusCode != 404 || !resp.Close {
		t.Fatalf("close: %d %v", resp.StatusCode, resp.Header)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("connection still open: %v", err)
	}
	c2, br2 := rawConn(t, s)
	io.WriteString(c2, "GET /x HTTP/1.1\r\n\r\n")
	resp, body := readResp(t, br2)
	if resp.StatusCode != 400 || body != "400 Bad Request" {
		t.Fatalf("no Host: %d %q", resp.StatusCode, body)
	}
	c3, br3 := rawConn(t, s)
	io.WriteString(c3, "GET /x HTTP/1.1\r\nHost: x\r\nX: "+strings.Repeat("a", maxHeaderBytes)+"\r\n\r\n")
	if resp, _ = readResp(t, br3); resp.StatusCode != 431 {
		t.Fatalf("big header: %d", resp.StatusCode)
	}
}

// TestExpectContinue: a client that waits for 100 Continue before its
// body (curl does for large bodies) gets it.
func TestExpectContinue(t *testing.T) {
	s, _ := listen(t)
	c, br := rawConn(t, s)
	io.WriteString(c, "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n")
	s.Dispatch(&Event{RequestID: "r", Deadline: time.Now().Add(time.Minute), Payload: []byte(`{}`)})
	readResp(t, br)
	io.WriteString(c, "POST /2018-06-01/runtime/invocation/r/response HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
	line, err := br.ReadString('\n')
	if err != nil || line != "HTTP/1.1 100 Continue\r\n" {
		t.Fatalf("got %q, %v", line, err)
	}
	br.ReadString('\n')
	io.WriteString(c, "hello")
	if resp, _ := readResp(t, br); resp.StatusCode != 202 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if o := <-s.Outcomes(); string(o.Payload) != "hello" {
		t.Fatalf("outcome %+v", o)
	}
}

// TestNextClientGone: a runtime that drops its /next connection leaves
// the next event undelivered, so the engine can withdraw it; a new
// connection then gets events.
func TestNextClientGone(t *testing.T) {
	s, _ := listen(t)
	c, _ := rawConn(t, s)
	io.WriteString(c, "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n")
	<-s.Ready()
	time.Sleep(50 * time.Millisecond)
	c.Close()
	time.Sleep(50 * time.Millisecond)
	s.Dispatch(&Event{RequestID: "e1", Deadline: time.Now().Add(time.Minute), Payload: []byte(`{}`)})
	time.Sleep(50 * time.Millisecond)
	if !s.Withdraw("e1") {
		t.Fatal("event was taken by a closed connection")
	}
	c2, br2 := rawConn(t, s)
	io.WriteString(c2, "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n")
	s.Dispatch(&Event{RequestID: "e2", Deadline: time.Now().Add(time.Minute), Payload: []byte(`{}`)})
	if resp, _ := readResp(t, br2); resp.Header.Get(HeaderRequestID) != "e2" {
		t.Fatalf("got %v", resp.Header)
	}
}

// TestNextPipelined sends a second request behind a /next that waits: the
// goroutine that reads it meanwhile answers it only after the event.
func TestNextPipelined(t *testing.T) {
	s, _ := listen(t)
	c, br := rawConn(t, s)
	next := "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n"
	io.WriteString(c, next+next)
	<-s.Ready()
	time.Sleep(50 * time.Millisecond)
	s.Dispatch(&Event{RequestID: "e1", Deadline: time.Now().Add(time.Minute), Payload: []byte(`{"n":1}`)})
	resp, body := readResp(t, br)
	if resp.StatusCode != 200 || resp.Header.Get(HeaderRequestID) != "e1" || body != `{"n":1}` {
		t.Fatalf("first: %d %q %v", resp.StatusCode, body, resp.Header)
	}
	// The second /next comes while e1 is being processed.
	if resp, body := readResp(t, br); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "InvalidStateTransition") {
		t.Fatalf("second: %d %q", resp.StatusCode, body)
	}
	io.WriteString(c, "POST /2018-06-01/runtime/invocation/e1/response HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nok")
	if resp, _ := readResp(t, br); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("response: %d", resp.StatusCode)
	}
	if o := <-s.Outcomes(); string(o.Payload) != "ok" {
		t.Fatalf("outcome %q", o.Payload)
	}
}

// TestNextClientGoneHTTP10 is TestNextClientGone for a keep-alive
// HTTP/1.0 /next, which waits with a background read.
func TestNextClientGoneHTTP10(t *testing.T) {
	s, _ := listen(t)
	c, _ := rawConn(t, s)
	io.WriteString(c, "GET /2018-06-01/runtime/invocation/next HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
	<-s.Ready()
	time.Sleep(50 * time.Millisecond)
	c.Close()
	time.Sleep(50 * time.Millisecond)
	s.Dispatch(&Event{RequestID: "e1", Deadline: time.Now().Add(time.Minute), Payload: []byte(`{}`)})
	time.Sleep(50 * time.Millisecond)
	if !s.Withdraw("e1") {
		t.Fatal("event was taken by a closed connection")
	}
}

// TestNextMalformedWhileWaiting: bytes that are no request, sent while
// /next waits, get their 400 after the event, not instead of it.
func TestNextMalformedWhileWaiting(t *testing.T) {
	s, _ := listen(t)
	c, br := rawConn(t, s)
	io.WriteString(c, "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\nNOT HTTP\r\n\r\n")
	<-s.Ready()
	time.Sleep(50 * time.Millisecond)
	s.Dispatch(&Event{RequestID: "e1", Deadline: time.Now().Add(time.Minute), Payload: []byte(`{}`)})
	if resp, _ := readResp(t, br); resp.StatusCode != 200 || resp.Header.Get(HeaderRequestID) != "e1" {
		t.Fatalf("first: %d %v", resp.StatusCode, resp.Header)
	}
	if resp, _ := readResp(t, br); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("second: %d", resp.StatusCode)
	}
}
