// Package runtimeapi serves the Lambda Runtime API (version 2018-06-01) to
// one function instance. Each instance gets its own loopback listener, so
// AWS_LAMBDA_RUNTIME_API=127.0.0.1:PORT works with every runtime client
// unchanged (aws-lambda-go, awslambdaric, the Node runtime, curl loops).
//
// The engine drives a Server: it waits for Ready (the runtime's first
// /next, which ends the init phase) or InitError, hands each event to the
// runtime with Dispatch — straight to the waiting /next long-poll through
// a channel — and reads the runtime's answer from Outcomes.
package runtimeapi

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// MaxResponseSize is the largest response or error payload a runtime may
// post (Lambda's synchronous response limit).
const MaxResponseSize = 6291556

const (
	prefix         = "/2018-06-01/runtime/"
	invocationPath = prefix + "invocation/"
)

// Headers of the Runtime API.
const (
	HeaderRequestID     = "Lambda-Runtime-Aws-Request-Id"
	HeaderDeadlineMs    = "Lambda-Runtime-Deadline-Ms"
	HeaderInvokedARN    = "Lambda-Runtime-Invoked-Function-Arn"
	HeaderTraceID       = "Lambda-Runtime-Trace-Id"
	HeaderClientContext = "Lambda-Runtime-Client-Context"
	HeaderErrorType     = "Lambda-Runtime-Function-Error-Type"
	HeaderErrorBody     = "Lambda-Runtime-Function-Error-Body"
	HeaderResponseMode  = "Lambda-Runtime-Function-Response-Mode"
)

// Event is one invocation handed to the runtime.
type Event struct {
	RequestID  string
	Deadline   time.Time
	InvokedARN string
	TraceID    string
	// ClientContext is the decoded client context JSON, or "".
	ClientContext string
	Payload       []byte
}

// Outcome is the runtime's answer to an event, or its init error.
type Outcome struct {
	// Payload is the response, or the error document when Failed.
	Payload []byte
	// Failed is set when the runtime posted to .../error (or
	// /init/error), or when a streamed response ended with an error
	// trailer.
	Failed bool
	// ErrorType is the Lambda-Runtime-Function-Error-Type the runtime
	// sent, if any.
	ErrorType string
	// TooLarge is set when the response exceeded MaxResponseSize; Size
	// is then the number of bytes seen.
	TooLarge bool
	Size     int64
}

type state int

const (
	stateInit     state = iota // started, no /next yet
	stateIdle                  // waiting for an event
	stateInvoking              // an event was handed out, no answer yet
)

var stateNames = [...]string{"Init", "Ready", "Invoke"}

// Server is the Runtime API of one instance. It speaks HTTP/1.1 itself
// (see conn.go) rather than through net/http's server: a runtime makes
// two requests per invocation, and net/http's per-request machinery
// (contexts, a background read, header maps, buffered response writers)
// cost more than the rest of an invocation on the server.
type Server struct {
	ln net.Listener

	events   chan *Event
	outcomes chan Outcome
	initErr  chan Outcome
	ready    chan struct{}
	closed   chan struct{}
	served   chan struct{}

	mu        sync.Mutex
	state     state
	cur       *Event
	lastID    string
	parked    *parked // a /next waiting without a goroutine (see park)
	closeOnce sync.Once

	connMu   sync.Mutex
	conns    map[net.Conn]struct{}
	shutdown bool
}

// Listen starts a Server on a random loopback port.
func Listen() (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{
		ln:       ln,
		events:   make(chan *Event, 1),
		outcomes: make(chan Outcome, 1),
		initErr:  make(chan Outcome, 1),
		ready:    make(chan struct{}),
		closed:   make(chan struct{}),
		served:   make(chan struct{}),
	}
	go s.serve()
	return s, nil
}

// Addr is the listener's host:port, the value of AWS_LAMBDA_RUNTIME_API.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Ready is closed when the runtime first asks for an event.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// InitError delivers the error a runtime posted to /runtime/init/error.
func (s *Server) InitError() <-chan Outcome { return s.initErr }

// Outcomes delivers the runtime's answer to each dispatched event.
func (s *Server) Outcomes() <-chan Outcome { return s.outcomes }

// Dispatch hands ev to the runtime: to its waiting /next request, or to
// the next one it makes. At most one event may be outstanding; the caller
// waits for its outcome before dispatching another. A parked /next (see
// park) gets its answer written by Dispatch itself when it is small
// enough not to block, which spares waking a goroutine to write it.
func (s *Server) Dispatch(ev *Event) {
	s.mu.Lock()
	p := s.parked
	if p == nil {
		// Under mu, so that a /next cannot park between the check and
		// the send; the channel has room for the one event outstanding
		// (a caller that breaks that rule waits, without mu, as before).
		select {
		case s.events <- ev:
			s.mu.Unlock()
		default:
			s.mu.Unlock()
			s.events <- ev
		}
		return
	}
	s.parked = nil
	s.state = stateInvoking
	s.cur = ev
	s.mu.Unlock()
	if len(ev.Payload) <= maxDirectPayload {
		s.deliver(p, ev)
		return
	}
	go s.deliver(p, ev)
}

// maxDirectPayload bounds the events Dispatch writes itself: with the
// headers they fit in an idle loopback socket's send buffer, so the write
// cannot block on a runtime that does not read.
const maxDirectPayload = 8 << 10

// parked is a /next that waits for its event with no goroutine of its
// own: the connection's goroutine reads on, and Dispatch answers it.
type parked struct {
	c *conn
	// done is closed once the answer is written or abandoned; failed
	// says the connection is unusable.
	done   chan struct{}
	failed bool
}

// deliver writes ev as the answer to the parked /next p. An event that
// cannot be written goes back to the queue, undelivered.
func (s *Server) deliver(p *parked, ev *Event) {
	if err := p.c.write(false, answer{status: http.StatusOK, event: ev, body: ev.Payload}, true, true); err != nil {
		s.mu.Lock()
		if s.cur == ev {
			s.cur, s.state = nil, stateIdle
		}
		s.events <- ev
		s.mu.Unlock()
		p.failed = true
		_ = p.c.c.Close() // the reader sees it and ends the connection
	}
	close(p.done)
}

// settle is called by the goroutine reading p's connection when a
// request after the parked /next has been read, or the read failed
// (ended: the connection is gone). It waits for p's answer to be written
// and reports whether the connection is still usable.
func (s *Server) settle(p *parked, ended bool) bool {
	if ended {
		s.mu.Lock()
		if s.parked == p {
			// The runtime went away before its event: nothing was
			// handed out.
			s.parked = nil
			s.mu.Unlock()
			return false
		}
		s.mu.Unlock()
	}
	<-p.done
	return !p.failed
}

// Withdraw takes back the event id if no /next request has taken it, and
// reports whether it did: once the runtime's process has exited, such an
// event was never delivered and may run elsewhere.
func (s *Server) Withdraw(id string) bool {
	select {
	case ev := <-s.events:
		if ev.RequestID == id {
			return true
		}
		s.events <- ev
	default:
	}
	return false
}

// Close stops the server and ends pending requests.
func (s *Server) Close() error {
	s.closeOnce.Do(func() { close(s.closed) })
	err := s.ln.Close()
	s.connMu.Lock()
	s.shutdown = true
	for c := range s.conns {
		_ = c.Close()
	}
	s.connMu.Unlock()
	<-s.served
	return err
}

// apiError is a Runtime API error response.
type apiError struct {
	status int
	typ    string
	msg    string
}

func (e *apiError) Error() string { return e.typ + ": " + e.msg }

var (
	errNotFound    = &apiError{http.StatusNotFound, "InvalidRequest", "Not Found"}
	errBadMethod   = &apiError{http.StatusMethodNotAllowed, "InvalidRequest", "Method Not Allowed"}
	errBadID       = &apiError{http.StatusBadRequest, "InvalidRequestID", "Invalid request ID"}
	errTooLarge    = &apiError{http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "Exceeded maximum allowed payload size (" + strconv.Itoa(MaxResponseSize) + " bytes)."}
	errTruncated   = &apiError{http.StatusBadRequest, "TruncatedHTTPRequest", "The request body was truncated"}
	errClosed      = &apiError{http.StatusInternalServerError, "InternalServerError", "The execution environment is shutting down"}
	errBadRespMode = &apiError{http.StatusBadRequest, "InvalidFunctionResponseMode", "Invalid function response mode"}
)

func errTransition(from state, to string) *apiError {
	return &apiError{http.StatusForbidden, "InvalidStateTransition",
		"State transition from " + stateNames[from] + " to " + to + " failed for runtime. Error: State transition is not allowed"}
}

// errorReply is the one place Runtime API errors become responses.
func errorReply(err error) answer {
	var ae *apiError
	if !errors.As(err, &ae) {
		ae = &apiError{http.StatusInternalServerError, "InternalServerError", err.Error()}
	}
	body, _ := json.Marshal(struct {
		Message string `json:"errorMessage"`
		Type    string `json:"errorType"`
	}{ae.msg, ae.typ})
	return answer{status: ae.status, body: body}
}

var acceptBody = []byte(`{"status":"OK"}`)

// accepted is the reply to a runtime's response or error.
var accepted = answer{status: http.StatusAccepted, body: acceptBody}

// waiting is how a /next waits for its event on its connection.
type waiting interface {
	// park returns a parking for the request, or nil when it must wait
	// in place.
	park() *parked
	// gone starts watching the connection and returns a channel closed
	// if it ends.
	gone() <-chan struct{}
}

// route serves one request of the four Runtime API endpoints. wt is how
// a /next waits for its event.
func (s *Server) route(r *http.Request, wt waiting) answer {
	var (
		rep answer
		err error
	)
	switch p := r.URL.Path; {
	case p == invocationPath+"next":
		if r.Method != http.MethodGet {
			err = errBadMethod
			break
		}
		rep, err = s.next(wt)
	case strings.HasPrefix(p, invocationPath):
		if r.Method != http.MethodPost {
			err = errBadMethod
			break
		}
		rest := p[len(invocationPath):]
		switch {
		case strings.HasSuffix(rest, "/response"):
			rep, err = s.response(r, rest[:len(rest)-len("/response")])
		case strings.HasSuffix(rest, "/error"):
			rep, err = s.invokeError(r, rest[:len(rest)-len("/error")])
		default:
			err = errNotFound
		}
	case p == prefix+"init/error":
		if r.Method != http.MethodPost {
			err = errBadMethod
			break
		}
		rep, err = s.initError(r)
	default:
		err = errNotFound
	}
	if err != nil {
		return errorReply(err)
	}
	return rep
}

// next hands out an event. It replies with no status when the runtime
// went away before one came, and with parked set when the /next was
// parked for Dispatch to answer.
func (s *Server) next(wt waiting) (answer, error) {
	s.mu.Lock()
	switch s.state {
	case stateInvoking:
		st := s.state
		s.mu.Unlock()
		return answer{}, errTransition(st, "Ready")
	case stateInit:
		s.state = stateIdle
		close(s.ready)
	}

	var ev *Event
	select {
	case ev = <-s.events:
	case <-s.closed:
		s.mu.Unlock()
		return answer{}, errClosed
	default:
		// Nothing queued: park, or wait watching the connection.
		if p := wt.park(); p != nil {
			s.parked = p
			s.mu.Unlock()
			return answer{parked: true}, nil
		}
		s.mu.Unlock()
		select {
		case ev = <-s.events:
		case <-wt.gone():
			return answer{}, nil
		case <-s.closed:
			return answer{}, errClosed
		}
		s.mu.Lock()
	}
	s.state = stateInvoking
	s.cur = ev
	s.mu.Unlock()

	return answer{status: http.StatusOK, event: ev, body: ev.Payload}, nil
}

// claim checks that id names the event being processed and ends it.
func (s *Server) claim(id, to string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == nil || s.cur.RequestID != id {
		if id != "" && id == s.lastID {
			return errTransition(stateIdle, to)
		}
		return errBadID
	}
	s.cur = nil
	s.lastID = id
	s.state = stateIdle
	return nil
}

// valid reports whether id names the event being processed.
func (s *Server) valid(id, to string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur != nil && s.cur.RequestID == id {
		return nil
	}
	if id != "" && id == s.lastID {
		return errTransition(stateIdle, to)
	}
	return errBadID
}

func (s *Server) response(r *http.Request, id string) (answer, error) {
	if mode := r.Header.Get(HeaderResponseMode); mode != "" && mode != "streaming" {
		return answer{}, errBadRespMode
	}
	if err := s.valid(id, "InvocationResponse"); err != nil {
		return answer{}, err
	}
	body, size, err := readBody(r)
	if err != nil && err != errTooLarge {
		return answer{}, err
	}
	if cerr := s.claim(id, "InvocationResponse"); cerr != nil {
		return answer{}, cerr
	}
	if err == errTooLarge {
		s.outcomes <- Outcome{TooLarge: true, Size: size}
		return answer{}, errTooLarge
	}
	// A streamed body that failed midway carries the error in trailers
	// (aws-lambda-go's errorCapturingReader).
	if typ := r.Trailer.Get(HeaderErrorType); typ != "" {
		doc, derr := base64.StdEncoding.DecodeString(r.Trailer.Get(HeaderErrorBody))
		if derr != nil || len(doc) == 0 {
			doc, _ = json.Marshal(struct {
				Message string `json:"errorMessage"`
				Type    string `json:"errorType"`
			}{"", typ})
		}
		s.outcomes <- Outcome{Failed: true, ErrorType: typ, Payload: doc}
		return accepted, nil
	}
	s.outcomes <- Outcome{Payload: body, Size: size}
	return accepted, nil
}

func (s *Server) invokeError(r *http.Request, id string) (answer, error) {
	if err := s.valid(id, "InvocationErrorResponse"); err != nil {
		return answer{}, err
	}
	body, size, err := readBody(r)
	if err != nil && err != errTooLarge {
		return answer{}, err
	}
	if cerr := s.claim(id, "InvocationErrorResponse"); cerr != nil {
		return answer{}, cerr
	}
	if err == errTooLarge {
		s.outcomes <- Outcome{TooLarge: true, Size: size}
		return answer{}, errTooLarge
	}
	s.outcomes <- Outcome{Failed: true, ErrorType: r.Header.Get(HeaderErrorType), Payload: body, Size: size}
	return accepted, nil
}

func (s *Server) initError(r *http.Request) (answer, error) {
	s.mu.Lock()
	st := s.state
	if st == stateInit {
		s.state = stateIdle
	}
	s.mu.Unlock()
	if st != stateInit {
		return answer{}, errTransition(st, "InitError")
	}
	body, size, err := readBody(r)
	if err != nil && err != errTooLarge {
		return answer{}, err
	}
	if err == errTooLarge {
		body = nil
	}
	select {
	case s.initErr <- Outcome{Failed: true, ErrorType: r.Header.Get(HeaderErrorType), Payload: body, Size: size}:
	default:
	}
	return accepted, nil
}

// readBody reads a request body of at most MaxResponseSize bytes. When the
// body is larger it returns errTooLarge and the size seen (the declared
// length, or what was read before giving up).
func readBody(r *http.Request) ([]byte, int64, error) {
	if r.ContentLength > MaxResponseSize {
		// Drain (bounded) so the runtime reads the 413 rather than a
		// connection reset.
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 64<<20))
		return nil, r.ContentLength, errTooLarge
	}
	if r.ContentLength >= 0 {
		body := make([]byte, r.ContentLength)
		if _, err := io.ReadFull(r.Body, body); err != nil {
			return nil, 0, errTruncated
		}
		return body, r.ContentLength, nil
	}
	// Chunked: most answers are small (a no-op's is "null"), so start
	// small rather than at bytes.Buffer's 512 bytes.
	b := make([]byte, 0, 64)
	for int64(len(b)) <= MaxResponseSize {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Body.Read(b[len(b):min(cap(b), MaxResponseSize+1)])
		b = b[:len(b)+n]
		if err == io.EOF && len(b) <= MaxResponseSize {
			return b, int64(len(b)), nil
		}
		if err == io.EOF {
			return nil, int64(len(b)), errTooLarge
		}
		if err != nil {
			return nil, 0, errTruncated
		}
	}
	n := int64(len(b))
	m, _ := io.Copy(io.Discard, io.LimitReader(r.Body, 64<<20))
	return nil, n + m, errTooLarge
}
