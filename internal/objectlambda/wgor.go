package objectlambda

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/internal/iam"
	"github.com/sluicehq/sluice/internal/sigv4"
)

// The statuses a WriteGetObjectResponse may forward (the model's list).
var fwdStatuses = map[int]bool{
	200: true, 206: true, 304: true, 400: true, 401: true, 403: true, 404: true, 405: true,
	409: true, 411: true, 412: true, 416: true, 500: true, 503: true,
}

// reErrorCode is the model's pattern for x-amz-fwd-error-code.
var reErrorCode = regexp.MustCompile(`^[A-Z][a-zA-Z]+$`)

const fwdHeaderPrefix = "X-Amz-Fwd-Header-"

func validationError(msg string) *Error {
	return errorf(http.StatusBadRequest, "ValidationError", msg)
}

// serveWGOR serves POST /WriteGetObjectResponse.
func (s *Service) serveWGOR(w http.ResponseWriter, r *http.Request) {
	id := requestID()
	w.Header().Set("x-amz-request-id", id)
	w.Header().Set("x-amz-id-2", s.hostID)
	if err := s.wgor(w, r); err != nil {
		if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
			return
		}
		var e *Error
		if !errors.As(err, &e) {
			s.log.Error("WriteGetObjectResponse failed", "request_id", id, "err", err)
		}
		writeError(w, r, id, s.hostID, err)
	}
}

// wgor authenticates a WriteGetObjectResponse call (any principal of the
// account may make it), claims its single-use token, hands the call to
// the waiting caller and answers 200 once the caller has the whole
// response.
func (s *Service) wgor(w http.ResponseWriter, r *http.Request) error {
	auth, err := s.cfg.Verifier.Verify(r)
	if err != nil {
		return err
	}
	if auth.Method == sigv4.MethodAnonymous {
		return errorf(http.StatusForbidden, "AccessDenied", "Access Denied")
	}
	if _, err := s.cfg.Principals.Principal(r.Context(), auth.AccessKeyID); err != nil {
		return err
	}
	hd := r.Header
	route, token := hd.Get("x-amz-request-route"), hd.Get("x-amz-request-token")
	if route == "" || token == "" {
		return validationError("The x-amz-request-route and x-amz-request-token headers are required.")
	}
	status := http.StatusOK
	if v := hd.Get("x-amz-fwd-status"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || !fwdStatuses[n] {
			return validationError("Invalid x-amz-fwd-status: " + v + ".")
		}
		status = n
	}
	code, msg := hd.Get("x-amz-fwd-error-code"), hd.Get("x-amz-fwd-error-message")
	if code != "" {
		if !reErrorCode.MatchString(code) {
			return validationError("Invalid x-amz-fwd-error-code: " + code + ".")
		}
		if status < 400 {
			return validationError("x-amz-fwd-error-code is not allowed with a success status.")
		}
	}
	p := s.take(token)
	if p == nil || p.route != route {
		return validationError("The request token is not valid: it is unknown, expired or already used.")
	}
	_ = http.NewResponseController(w).SetReadDeadline(p.deadline)
	resp := &response{
		status: status, errCode: code, errMessage: msg,
		header: forwardedHeaders(hd), length: bodyLength(r, auth),
		done: make(chan error, 1),
	}
	if code == "" && auth.Payload == sigv4.PayloadUnsigned && r.TLS == nil && r.ContentLength >= spliceMin {
		if err := hijack(w, r, resp, p.deadline); err != nil {
			return err
		}
	}
	if resp.raw == nil {
		resp.body = auth.Body(r)
	}
	select {
	case p.responses <- resp:
	case <-p.gone:
		err := validationError("The request this token answers is no longer waiting (it timed out or its client went away).")
		if resp.raw != nil {
			answerRaw(resp.raw, w.Header(), err)
			return nil
		}
		return err
	}
	err = <-resp.done
	if err != nil {
		err = errorf(http.StatusBadRequest, "ConnectionClosedByRequester",
			"The response could not be delivered completely: "+err.Error())
	}
	if resp.raw != nil {
		answerRaw(resp.raw, w.Header(), err)
		return nil
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// spliceMin is the smallest body worth taking the connection over for:
// smaller ones are copied through the server, keeping the connection
// alive for the function's next call.
const spliceMin = 1 << 20

// hijack takes over the connection of a WriteGetObjectResponse call with
// a plain (unsigned, not aws-chunked) body of known length, so that the
// relay can splice the body to the caller without copying it through the
// process. The answer to the call is then written on the connection,
// which is closed.
func hijack(w http.ResponseWriter, r *http.Request, resp *response, deadline time.Time) error {
	if strings.Contains(strings.ToLower(r.Header.Get("Content-Encoding")), "aws-chunked") {
		return nil
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return nil // not a hijackable connection (HTTP/2, a test recorder): copy instead
	}
	_ = conn.SetDeadline(deadline)
	if strings.EqualFold(r.Header.Get("Expect"), "100-continue") {
		if _, err := io.WriteString(conn, "HTTP/1.1 100 Continue\r\n\r\n"); err != nil {
			conn.Close()
			return err
		}
	}
	n := min(brw.Reader.Buffered(), int(r.ContentLength))
	prefix, _ := brw.Reader.Peek(n)
	resp.prefix = append([]byte(nil), prefix...)
	resp.raw = conn
	resp.length = r.ContentLength
	return nil
}

// answerRaw answers a hijacked WriteGetObjectResponse call (200, or err
// as S3's error document) and closes its connection.
func answerRaw(conn net.Conn, hd http.Header, err error) {
	defer conn.Close()
	status, body := http.StatusOK, []byte(nil)
	if err != nil {
		var rec headerRecorder
		rec.h = http.Header{}
		writeError(&rec, &http.Request{Method: http.MethodPost}, hd.Get("x-amz-request-id"), hd.Get("x-amz-id-2"), err)
		status, body = rec.status, rec.body.Bytes()
		for k, v := range rec.h {
			hd[k] = v
		}
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "HTTP/1.1 %d %s\r\n", status, http.StatusText(status))
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	hd.Set("Connection", "close")
	hd.Write(&b)
	b.WriteString("\r\n")
	b.Write(body)
	_, _ = conn.Write(b.Bytes())
}

// headerRecorder captures a response written by writeError.
type headerRecorder struct {
	h      http.Header
	status int
	body   bytes.Buffer
}

func (r *headerRecorder) Header() http.Header         { return r.h }
func (r *headerRecorder) WriteHeader(status int)      { r.status = status }
func (r *headerRecorder) Write(b []byte) (int, error) { return r.body.Write(b) }

// forwardedHeaders are the caller's headers from a WriteGetObjectResponse
// call: x-amz-fwd-header-X becomes X, x-amz-meta-* stay as they are.
func forwardedHeaders(in http.Header) http.Header {
	out := http.Header{}
	for k, v := range in {
		switch {
		case strings.HasPrefix(k, fwdHeaderPrefix) && len(k) > len(fwdHeaderPrefix):
			out[http.CanonicalHeaderKey(k[len(fwdHeaderPrefix):])] = v
		case strings.HasPrefix(k, "X-Amz-Meta-"):
			out[k] = v
		}
	}
	return out
}

// bodyLength is the length of the decoded body, -1 if unknown.
func bodyLength(r *http.Request, auth *sigv4.Auth) int64 {
	if auth.Payload.Streaming() || strings.Contains(r.Header.Get("Content-Encoding"), "aws-chunked") {
		n, err := strconv.ParseInt(r.Header.Get("X-Amz-Decoded-Content-Length"), 10, 64)
		if err != nil {
			return -1
		}
		return n
	}
	return r.ContentLength
}

// errorDoc is S3's error document.
type errorDoc struct {
	XMLName   xml.Name `xml:"Error"`
	Code      string   `xml:"Code"`
	Message   string   `xml:"Message"`
	RequestID string   `xml:"RequestId"`
	HostID    string   `xml:"HostId"`
}

// writeError is the one place errors of the Object Lambda surface
// (WriteGetObjectResponse) become responses.
func writeError(w http.ResponseWriter, r *http.Request, id, hostID string, err error) {
	var (
		e  *Error
		se *sigv4.Error
		ie *iam.Error
	)
	switch {
	case errors.As(err, &e):
	case errors.As(err, &se):
		e = errorf(se.Status, se.Code, se.Message)
	case errors.As(err, &ie):
		e = errorf(http.StatusForbidden, ie.Code, ie.Message)
	default:
		e = errorf(http.StatusInternalServerError, "InternalError", "We encountered an internal error. Please try again.")
	}
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	_ = xml.NewEncoder(&buf).Encode(&errorDoc{Code: e.Code, Message: e.Message, RequestID: id, HostID: hostID})
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(e.Status)
	if r.Method != http.MethodHead {
		w.Write(buf.Bytes())
	}
}
