package objectlambda

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sluicehq/sluice/internal/accesspoint"
	"github.com/sluicehq/sluice/internal/lambda"
)

// Serve answers a request through an Object Lambda access point if its
// action is transformed; handled is false when the request passes
// through to S3 untransformed. An error returned with handled set is the
// caller's answer if nothing was written yet; once the response has
// started, the caller's connection must be cut.
func (s *Service) Serve(w http.ResponseWriter, in *Request) (handled bool, err error) {
	switch in.Op {
	case "PostObject":
		return true, errorf(http.StatusNotImplemented, "NotImplemented",
			"POST Object is not supported through Object Lambda Access Points.")
	}
	action := in.Op
	if action == accesspoint.ActionListObjects && in.R.URL.Query().Get("list-type") == "2" {
		action = accesspoint.ActionListObjectsV2
	}
	cfg := &in.Target.ObjectLambda.Config
	tr := cfg.Transformation(action)
	if tr == nil {
		return false, nil
	}
	switch action {
	case accesspoint.ActionGetObject, accesspoint.ActionHeadObject:
		if err := checkFeatures(in.R, cfg, action); err != nil {
			return true, err
		}
	}
	switch action {
	case accesspoint.ActionGetObject:
		return true, s.get(w, in, tr)
	case accesspoint.ActionHeadObject:
		return true, s.head(w, in, tr)
	default:
		return true, s.list(w, in, tr, action)
	}
}

// checkFeatures refuses Range and partNumber (501) unless the access
// point allows them for the action; allowed ones reach the function in
// userRequest, never in inputS3Url.
func checkFeatures(r *http.Request, cfg *accesspoint.ObjectLambdaConfig, action string) error {
	q := r.URL.Query()
	if r.Header.Get("Range") != "" || q.Get("Range") != "" {
		if !cfg.Allows(action + "-Range") {
			return errorf(http.StatusNotImplemented, "NotImplemented",
				"Range requests are not enabled for this Object Lambda Access Point: add "+action+"-Range to its AllowedFeatures.")
		}
	}
	if q.Has("partNumber") {
		if !cfg.Allows(action + "-PartNumber") {
			return errorf(http.StatusNotImplemented, "NotImplemented",
				"partNumber requests are not enabled for this Object Lambda Access Point: add "+action+"-PartNumber to its AllowedFeatures.")
		}
	}
	return nil
}

// outcome is a finished invocation.
type outcome struct {
	out *lambda.InvokeOutput
	err error
}

// invoke runs the function in a goroutine the Service owns, under the
// Service's context: a function that is still running when its caller's
// response is complete finishes normally.
func (s *Service) invoke(functionARN string, ev *event) <-chan outcome {
	ch := make(chan outcome, 1)
	payload, err := json.Marshal(ev)
	if err != nil {
		ch <- outcome{err: err}
		return ch
	}
	if s.ctx.Err() != nil {
		ch <- outcome{err: s.ctx.Err()}
		return ch
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		out, err := s.cfg.Invoker.InvokeARN(s.ctx, functionARN, lambda.RequestResponse, payload)
		ch <- outcome{out, err}
	}()
	return ch
}

// resultError is the caller's error for an invocation that failed (nil
// if the function returned normally).
func resultError(o outcome) error {
	if o.err != nil {
		return invokeError(o.err)
	}
	res := o.out.Result
	if res == nil || res.FunctionError == "" {
		return nil
	}
	var doc struct {
		ErrorMessage string `json:"errorMessage"`
		ErrorType    string `json:"errorType"`
	}
	_ = json.Unmarshal(res.Payload, &doc)
	if strings.Contains(doc.ErrorMessage, "Task timed out after") {
		return ErrTimeout
	}
	detail := doc.ErrorType
	if doc.ErrorMessage != "" {
		if detail != "" {
			detail += ": "
		}
		detail += doc.ErrorMessage
	}
	return runtimeError(detail)
}

// call invokes the function and waits for its result (HEAD and LIST).
func (s *Service) call(ctx context.Context, tr *accesspoint.Transformation, ev *event) ([]byte, error) {
	done := s.invoke(tr.FunctionARN, ev)
	timer := time.NewTimer(s.timeout)
	defer timer.Stop()
	select {
	case o := <-done:
		if err := resultError(o); err != nil {
			return nil, err
		}
		return o.out.Result.Payload, nil
	case <-timer.C:
		return nil, ErrTimeout
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// pending is a GET waiting for its function's WriteGetObjectResponse.
type pending struct {
	token    string
	route    string
	deadline time.Time
	// responses hands the WriteGetObjectResponse call to the caller.
	responses chan *response
	// gone is closed when the caller stops waiting.
	gone chan struct{}
}

// response is a WriteGetObjectResponse call, relayed to the caller.
type response struct {
	status     int
	errCode    string
	errMessage string
	// header is the caller's response headers.
	header http.Header
	body   io.Reader
	// length is the body's length, -1 if unknown.
	length int64
	// raw, when set, is the WriteGetObjectResponse connection itself
	// (hijacked; body is nil): the body is prefix and then length-
	// len(prefix) bytes of raw, which the relay splices to the caller.
	raw    net.Conn
	prefix []byte
	// done receives the outcome of the relay.
	done chan error
}

func (s *Service) register() *pending {
	p := &pending{
		token:     randomToken(),
		route:     "io-sluice-" + randomHex(6),
		deadline:  time.Now().Add(s.timeout),
		responses: make(chan *response),
		gone:      make(chan struct{}),
	}
	s.mu.Lock()
	s.pending[p.token] = p
	s.mu.Unlock()
	return p
}

func (s *Service) unregister(p *pending) {
	s.mu.Lock()
	delete(s.pending, p.token)
	s.mu.Unlock()
	close(p.gone)
}

// take claims a token: it can be used once.
func (s *Service) take(token string) *pending {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pending[token]
	delete(s.pending, token)
	return p
}

// get serves a transformed GetObject: the function is invoked with a
// getObjectContext, and the caller is answered by the
// WriteGetObjectResponse that carries its output token.
func (s *Service) get(w http.ResponseWriter, in *Request, tr *accesspoint.Transformation) error {
	ctx := in.R.Context()
	q := url.Values{}
	if v := in.R.URL.Query().Get("versionId"); v != "" {
		q.Set("versionId", v)
	}
	input, err := s.inputURL(ctx, in, http.MethodGet, in.Key, q)
	if err != nil {
		return err
	}
	p := s.register()
	defer s.unregister(p)
	ev := s.newEvent(in, tr)
	ev.GetObjectContext = &getObjectContext{InputS3URL: input, OutputRoute: p.route, OutputToken: p.token}
	done := s.invoke(tr.FunctionARN, ev)
	timer := time.NewTimer(time.Until(p.deadline))
	defer timer.Stop()
	select {
	case resp := <-p.responses:
		if resp.errCode != "" {
			resp.done <- nil // forwarding an error is a successful WriteGetObjectResponse
			return &Error{Status: resp.status, Code: resp.errCode, Message: resp.errMessage}
		}
		err := s.relay(w, in, resp, p.deadline)
		resp.done <- err
		return err
	case o := <-done:
		if err := resultError(o); err != nil {
			return err
		}
		return ErrResponseNotReceived
	case <-timer.C:
		return ErrTimeout
	case <-ctx.Done():
		return ctx.Err()
	}
}

// copyBuffers are the relay's copy buffers: one per stream in flight, so
// server memory stays flat whatever the object's size.
var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// relay answers the caller from a WriteGetObjectResponse call, streaming
// its body: each chunk is written and flushed as it arrives.
func (s *Service) relay(w http.ResponseWriter, in *Request, resp *response, deadline time.Time) error {
	hd := w.Header()
	for k, v := range resp.header {
		hd[k] = v
	}
	if _, ok := hd["Content-Type"]; !ok {
		hd["Content-Type"] = nil // what the function sent, not a sniffed guess
	}
	if resp.length >= 0 {
		hd.Set("Content-Length", strconv.FormatInt(resp.length, 10))
	}
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(deadline)
	w.WriteHeader(resp.status)
	if in.R.Method == http.MethodHead {
		return nil
	}
	if resp.raw != nil {
		return spliceBody(w, resp)
	}
	bp := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(bp)
	buf := *bp
	for {
		n, err := resp.body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return werr
			}
			if ferr := rc.Flush(); ferr != nil {
				return ferr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func randomToken() string { return randomHex(64) }

// spliceBody copies a hijacked WriteGetObjectResponse body to the caller:
// the bytes already buffered, then the rest straight from connection to
// connection (the response's ReadFrom splices TCP to TCP on Linux, so the
// bytes never enter the process).
func spliceBody(w http.ResponseWriter, resp *response) error {
	if len(resp.prefix) > 0 {
		if _, err := w.Write(resp.prefix); err != nil {
			return err
		}
	}
	rest := resp.length - int64(len(resp.prefix))
	var n int64
	var err error
	if rf := readerFrom(w); rf != nil {
		n, err = rf.ReadFrom(io.LimitReader(resp.raw, rest))
	} else {
		n, err = io.Copy(w, io.LimitReader(resp.raw, rest))
	}
	if err == nil && n < rest {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// readerFrom finds the io.ReaderFrom of a response writer through its
// wrappers (Unwrap), nil if none has one.
func readerFrom(w http.ResponseWriter) io.ReaderFrom {
	for {
		if rf, ok := w.(io.ReaderFrom); ok {
			return rf
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return nil
		}
		w = u.Unwrap()
	}
}
