package runtimeapi

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// The HTTP/1.1 side of the Runtime API: one goroutine per runtime
// connection reads requests (see readRequest: the usual ones by hand,
// any other with http.ReadRequest) and writes each response, headers
// and body, with one write. It behaves on the wire as net/http's server
// did: keep-alive, Connection: close, HTTP/1.0, Expect: 100-continue,
// the Date header, header-size limits and its replies to malformed
// requests.
//
// A /next that has to wait for its event must notice a runtime that drops
// the connection meanwhile, which takes a read. A plain keep-alive GET
// (what runtime clients send) is parked: the connection's goroutine goes
// on reading its next request, and Dispatch writes the event itself (see
// Server.Dispatch); if the read fails first, the runtime is gone and the
// /next is withdrawn, so the event stays undelivered. The goroutine
// serves the request that follows only once the event has been written.
// Nothing waits in a select, no read is interrupted and no goroutine is
// woken to write the event. Other requests that wait (HTTP/1.0,
// Connection: close, a body) keep net/http's technique: a background
// read, interrupted by a read deadline once the event comes.

const (
	// maxHeaderBytes is net/http's default limit on a request's header.
	maxHeaderBytes = 1<<20 + 4096
	// maxDrainBytes of an unread body are discarded to keep the
	// connection; beyond that it is closed (net/http's rule).
	maxDrainBytes = 256 << 10
	// maxInlineBody: smaller bodies are copied after the header into
	// one buffer; larger ones go out with writev.
	maxInlineBody = 32 << 10
)

// answer is a response to a runtime. status 0 means there is nothing to
// send: the runtime went away, or (parked) Dispatch will answer.
type answer struct {
	status int
	parked bool
	// event, when set, adds the event's Lambda-Runtime-* headers.
	event *Event
	body  []byte
}

// serve accepts the runtime's connections until the listener closes.
func (s *Server) serve() {
	defer close(s.served)
	var delay time.Duration
	for {
		c, err := s.ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || isTemporary(err) {
				// Out of file descriptors and the like: back off as
				// net/http does.
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				select {
				case <-time.After(delay):
					continue
				case <-s.closed:
				}
			}
			return
		}
		delay = 0
		if !s.track(c, true) {
			_ = c.Close()
			return
		}
		go s.serveConn(c)
	}
}

func isTemporary(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

// track adds or removes c from the connections Close ends. It reports
// false when the server is shutting down.
func (s *Server) track(c net.Conn, add bool) bool {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	if !add {
		delete(s.conns, c)
		return true
	}
	if s.shutdown {
		return false
	}
	if s.conns == nil {
		s.conns = make(map[net.Conn]struct{})
	}
	s.conns[c] = struct{}{}
	return true
}

// connReader reads from the connection, at most remain bytes while a
// request header is being read.
type connReader struct {
	c      net.Conn
	remain int64
}

func (r *connReader) Read(p []byte) (int, error) {
	if r.remain <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > r.remain {
		p = p[:r.remain]
	}
	n, err := r.c.Read(p)
	r.remain -= int64(n)
	return n, err
}

// conn is one runtime connection.
type conn struct {
	s   *Server
	c   net.Conn
	cr  connReader
	br  *bufio.Reader
	buf []byte

	// req is the request being served; pending is the /next it parked
	// (see park).
	req     *http.Request
	pending *parked

	// The background read that notices a runtime dropping its
	// connection while /next waits, for requests that cannot hand off.
	bgDone chan struct{}
	dead   chan struct{}
	bgErr  error
}

func (s *Server) serveConn(nc net.Conn) {
	c := &conn{s: s, c: nc}
	c.cr.c = nc
	c.br = bufio.NewReader(&c.cr)
	defer c.close()
	for {
		c.cr.remain = maxHeaderBytes
		req, err := c.readRequest()
		if p := c.pending; p != nil {
			// What follows a parked /next waits for its answer.
			c.pending = nil
			if !s.settle(p, err != nil && connEnded(err)) {
				return
			}
		}
		if err != nil {
			c.badRequest(err)
			return
		}
		c.cr.remain = 1<<63 - 1
		if !c.serveRequest(req) {
			return
		}
	}
}

// close ends the connection.
func (c *conn) close() {
	_ = c.c.Close()
	c.s.track(c.c, false)
}

// connEnded reports whether a failed read means the connection is gone
// (rather than that the runtime sent something malformed).
func connEnded(err error) bool {
	return err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) || isNetError(err)
}

// badRequest answers a request that could not be read, as net/http's
// server does, unless the connection simply ended.
func (c *conn) badRequest(err error) {
	var msg string
	switch {
	case c.cr.remain <= 0:
		msg = "431 Request Header Fields Too Large"
	case err == io.EOF, errors.Is(err, io.ErrUnexpectedEOF), isNetError(err):
		return
	case strings.Contains(err.Error(), "unsupported transfer encoding"):
		msg = "501 Not Implemented"
	default:
		msg = "400 Bad Request"
	}
	c.refuse(msg)
}

// refuse writes a plain-text error and ends the connection the way
// net/http does: close the write side, then give the client a moment to
// read before unread input makes the close a reset.
func (c *conn) refuse(msg string) {
	_, _ = io.WriteString(c.c, "HTTP/1.1 "+msg+"\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"+msg)
	if tc, ok := c.c.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
		time.Sleep(500 * time.Millisecond)
	}
}

func isNetError(err error) bool {
	var ne net.Error
	return errors.As(err, &ne)
}

// continueReader sends "100 Continue" before the body's first read,
// for a client that sent Expect: 100-continue.
type continueReader struct {
	io.ReadCloser
	c    net.Conn
	sent bool
}

func (r *continueReader) Read(p []byte) (int, error) {
	if !r.sent {
		r.sent = true
		if _, err := io.WriteString(r.c, "HTTP/1.1 100 Continue\r\n\r\n"); err != nil {
			return 0, err
		}
	}
	return r.ReadCloser.Read(p)
}

// serveRequest answers one request and reports whether the connection
// stays open for the next.
func (c *conn) serveRequest(req *http.Request) bool {
	is11 := req.ProtoAtLeast(1, 1)
	if is11 && req.Host == "" {
		c.badRequest(errors.New("missing required Host header"))
		return false
	}
	var cont *continueReader
	if ex := req.Header["Expect"]; len(ex) > 0 {
		if !is11 || !strings.EqualFold(ex[0], "100-continue") {
			c.refuse("417 Expectation Failed")
			return false
		}
		if req.ContentLength != 0 {
			cont = &continueReader{ReadCloser: req.Body, c: c.c}
			req.Body = cont
		}
	}

	c.req = req
	rep := c.s.route(req, c)
	c.req = nil
	if rep.parked {
		return true // Dispatch answers; serveConn reads on
	}
	if c.bgDone != nil {
		c.stopBackgroundRead()
	}
	if rep.status == 0 || c.bgErr != nil {
		return false
	}

	keep := !req.Close
	if keep && req.Body != http.NoBody {
		if cont != nil && !cont.sent {
			// The client still waits to send its body.
			keep = false
		} else if n, err := io.CopyN(io.Discard, req.Body, maxDrainBytes+1); err != io.EOF || n > maxDrainBytes {
			keep = false
		}
	}
	if err := c.write(req.Method == http.MethodHead, rep, is11, keep); err != nil {
		return false
	}
	return keep
}

// park parks the /next being served if it is a keep-alive HTTP/1.1
// request without a body, whose answer needs nothing from it; else it
// returns nil.
func (c *conn) park() *parked {
	req := c.req
	if req == nil || req.Body != http.NoBody || req.Close || !req.ProtoAtLeast(1, 1) || req.Method != http.MethodGet {
		return nil
	}
	p := &parked{c: c, done: make(chan struct{})}
	c.pending = p
	return p
}

// gone starts a background read for a /next that waits in place and
// returns the channel it closes if the connection fails.
func (c *conn) gone() <-chan struct{} {
	c.dead = make(chan struct{})
	c.bgDone = make(chan struct{})
	go func() {
		defer close(c.bgDone)
		if _, err := c.br.Peek(1); err != nil {
			c.bgErr = err
			close(c.dead)
		}
	}()
	return c.dead
}

// stopBackgroundRead interrupts the background read and waits for it.
// A read cut short that way leaves the connection usable.
func (c *conn) stopBackgroundRead() {
	_ = c.c.SetReadDeadline(time.Unix(1, 0))
	<-c.bgDone
	_ = c.c.SetReadDeadline(time.Time{})
	var ne net.Error
	if errors.As(c.bgErr, &ne) && ne.Timeout() {
		c.bgErr = nil
	}
	c.bgDone, c.dead = nil, nil
}

// write sends rep in one write: status line, headers in net/http's
// order (the handler's sorted, then Connection and Date), body.
func (c *conn) write(head bool, rep answer, is11, keep bool) error {
	b := c.buf[:0]
	if is11 {
		b = append(b, "HTTP/1.1 "...)
	} else {
		b = append(b, "HTTP/1.0 "...)
	}
	b = strconv.AppendInt(b, int64(rep.status), 10)
	b = append(b, ' ')
	b = append(b, http.StatusText(rep.status)...)
	b = append(b, "\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(rep.body)), 10)
	b = append(b, "\r\nContent-Type: application/json\r\n"...)
	if ev := rep.event; ev != nil {
		b = appendHeader(b, HeaderRequestID, ev.RequestID)
		if ev.ClientContext != "" {
			b = appendHeader(b, HeaderClientContext, ev.ClientContext)
		}
		b = append(b, HeaderDeadlineMs+": "...)
		b = strconv.AppendInt(b, ev.Deadline.UnixMilli(), 10)
		b = append(b, "\r\n"...)
		if ev.InvokedARN != "" {
			b = appendHeader(b, HeaderInvokedARN, ev.InvokedARN)
		}
		if ev.TraceID != "" {
			b = appendHeader(b, HeaderTraceID, ev.TraceID)
		}
	}
	switch {
	case !keep:
		b = append(b, "Connection: close\r\n"...)
	case !is11:
		b = append(b, "Connection: keep-alive\r\n"...)
	}
	b = append(b, "Date: "...)
	b = appendDate(b)
	b = append(b, "\r\n\r\n"...)
	body := rep.body
	if head {
		body = nil
	}
	var err error
	if len(body) <= maxInlineBody {
		b = append(b, body...)
		_, err = c.c.Write(b)
	} else {
		bufs := net.Buffers{b, body}
		_, err = bufs.WriteTo(c.c)
	}
	if cap(b) <= 2*maxInlineBody {
		c.buf = b[:0]
	}
	return err
}

// appendHeader appends "k: v\r\n", with v cleaned as net/http's
// Header.Write does: CR and LF become spaces, outer whitespace goes.
func appendHeader(b []byte, k, v string) []byte {
	b = append(b, k...)
	b = append(b, ": "...)
	if strings.ContainsAny(v, "\r\n") {
		v = strings.NewReplacer("\r", " ", "\n", " ").Replace(v)
	}
	v = strings.Trim(v, " \t\r\n")
	b = append(b, v...)
	return append(b, "\r\n"...)
}

// date caches the Date header's value for the current second.
var date atomic.Pointer[dateValue]

type dateValue struct {
	sec int64
	s   string
}

func appendDate(b []byte) []byte {
	now := time.Now()
	d := date.Load()
	if d == nil || d.sec != now.Unix() {
		d = &dateValue{now.Unix(), now.UTC().Format(http.TimeFormat)}
		date.Store(d)
	}
	return append(b, d.s...)
}
