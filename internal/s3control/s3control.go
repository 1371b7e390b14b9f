// Package s3control is the HTTP adapter of the S3 Control API
// (`/v20180820/...`: Batch Operations jobs, access points, Object Lambda
// access points). It authenticates requests (SigV4, signing name "s3"),
// checks the x-amz-account-id header, routes by method and path pattern to
// operations that other packages register, and writes errors in the
// wrapped `<ErrorResponse>` form that aws-sdk-go-v2's s3control client
// requires.
//
// SDKs send S3 Control requests to `<account-id>.<endpoint host>`; the
// router sends every `/v20180820/` path here whatever the Host, so the
// account label in front of the host needs no handling beyond name
// resolution on the client (see README).
package s3control

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/sluicehq/sluice/internal/iam"
	"github.com/sluicehq/sluice/internal/sigv4"
)

// Namespace is the XML namespace of S3 Control documents.
const Namespace = "http://awss3control.amazonaws.com/doc/2018-08-20/"

// Prefix is the path prefix of every S3 Control operation.
const Prefix = "/v20180820/"

// Error is an S3 Control error: Code is the error shape's name (for
// example "NoSuchAccessPoint", "BadRequestException"), Status its HTTP
// status.
type Error struct {
	Code    string
	Message string
	Status  int
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf makes an *Error.
func Errorf(status int, code, message string) *Error {
	return &Error{Code: code, Message: message, Status: status}
}

// Request is one S3 Control request as a handler sees it.
type Request struct {
	ID string
	R  *http.Request
	W  http.ResponseWriter
	// Params holds the path parameters of the pattern ({id} → "id").
	Params map[string]string
	Query  url.Values
	// AccountID is the x-amz-account-id the caller named.
	AccountID string
	Principal *iam.Principal
	Auth      *sigv4.Auth
	// Body is the verified request body.
	Body io.Reader

	wrote bool
}

// Context returns the request's context.
func (r *Request) Context() context.Context { return r.R.Context() }

// Param returns a path parameter.
func (r *Request) Param(name string) string { return r.Params[name] }

// ReadXML decodes an XML request document of at most 4 MiB. Element order
// must not matter to v (SDKs differ).
func (r *Request) ReadXML(v any) error {
	raw, err := io.ReadAll(io.LimitReader(r.Body, 4<<20+1))
	if err != nil {
		return err
	}
	if len(raw) > 4<<20 {
		return Errorf(http.StatusBadRequest, "InvalidRequest", "The request body is too large.")
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return Errorf(http.StatusBadRequest, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")
	}
	if err := xml.Unmarshal(raw, v); err != nil {
		return Errorf(http.StatusBadRequest, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")
	}
	return nil
}

// WriteXML answers with status and the XML document v (whose root element
// the SDKs do not check).
func (r *Request) WriteXML(status int, v any) error {
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	if err := xml.NewEncoder(&buf).Encode(v); err != nil {
		return err
	}
	r.W.Header().Set("Content-Type", "application/xml")
	r.W.WriteHeader(status)
	r.wrote = true
	_, err := r.W.Write(buf.Bytes())
	return err
}

// NoContent answers with status and no body (204 for deletes, 200 for
// empty results).
func (r *Request) NoContent(status int) error {
	r.W.WriteHeader(status)
	r.wrote = true
	return nil
}

// HandlerFunc serves one operation.
type HandlerFunc func(*Request) error

type route struct {
	method  string
	pattern []string // path segments after Prefix; "{x}" binds a parameter
	name    string
	fn      HandlerFunc
}

// Config holds the Handler's dependencies.
type Config struct {
	IAM       *iam.Service
	Verifier  *sigv4.Verifier
	AccountID string
	Logger    *slog.Logger
}

// Handler serves the S3 Control API.
type Handler struct {
	iam     *iam.Service
	verify  *sigv4.Verifier
	account string
	log     *slog.Logger
	routes  []route
}

// New returns a Handler with no operations; register them with Handle.
func New(cfg Config) *Handler {
	h := &Handler{iam: cfg.IAM, verify: cfg.Verifier, account: cfg.AccountID, log: cfg.Logger}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	return h
}

// Handle registers an operation: method and a pattern such as
// "jobs/{id}/status" (relative to /v20180820/), with the operation's AWS
// name for logs and authorization.
func (h *Handler) Handle(method, pattern, name string, fn HandlerFunc) {
	h.routes = append(h.routes, route{method: method, pattern: strings.Split(pattern, "/"), name: name, fn: fn})
}

// match finds the route of a request and binds its parameters.
func (h *Handler) match(method, path string) (*route, map[string]string, bool) {
	rest, ok := strings.CutPrefix(path, Prefix)
	if !ok {
		return nil, nil, false
	}
	segs := strings.Split(strings.TrimSuffix(rest, "/"), "/")
	pathKnown := false
	for i := range h.routes {
		rt := &h.routes[i]
		if len(rt.pattern) != len(segs) {
			continue
		}
		params := map[string]string{}
		ok := true
		for j, p := range rt.pattern {
			if strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}") {
				if segs[j] == "" {
					ok = false
					break
				}
				params[p[1:len(p)-1]] = segs[j]
				continue
			}
			if p != segs[j] {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		pathKnown = true
		if rt.method == method {
			return rt, params, true
		}
	}
	return nil, nil, pathKnown
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rq := &Request{ID: newRequestID(), R: r, W: w, Query: r.URL.Query()}
	w.Header().Set("x-amz-request-id", rq.ID)
	if err := h.serve(rq); err != nil {
		h.writeError(rq, err)
	}
}

func (h *Handler) serve(rq *Request) error {
	auth, err := h.verify.Verify(rq.R)
	if err != nil {
		return err
	}
	if auth.Method == sigv4.MethodAnonymous {
		return Errorf(http.StatusForbidden, "AccessDenied", "Access Denied")
	}
	p, err := h.iam.Principal(rq.Context(), auth.AccessKeyID)
	if err != nil {
		return err
	}
	rq.Auth, rq.Principal = auth, p
	body := auth.Body(rq.R)
	defer body.Close()
	rq.Body = body
	acct := rq.R.Header.Get("x-amz-account-id")
	if acct == "" {
		return Errorf(http.StatusBadRequest, "InvalidRequest", "Missing required header for this request: x-amz-account-id")
	}
	if acct != h.account {
		return Errorf(http.StatusForbidden, "AccessDenied", "Access Denied")
	}
	rq.AccountID = acct
	rt, params, pathKnown := h.match(rq.R.Method, rq.R.URL.Path)
	if rt == nil {
		if pathKnown {
			return Errorf(http.StatusMethodNotAllowed, "MethodNotAllowed", "The specified method is not allowed against this resource.")
		}
		return Errorf(http.StatusNotImplemented, "NotImplemented", "The S3 Control operation "+rq.R.Method+" "+rq.R.URL.Path+" is not implemented by sluice.")
	}
	rq.Params = params
	if err := h.iam.Authorize(p, "s3:"+rt.name, "*"); err != nil {
		return Errorf(http.StatusForbidden, "AccessDenied", err.Error())
	}
	return rt.fn(rq)
}

// errorResponse is the wrapped error document aws-sdk-go-v2's s3control
// client requires (an unwrapped <Error> decodes as UnknownError there).
type errorResponse struct {
	XMLName   xml.Name `xml:"ErrorResponse"`
	Error     errorBody
	RequestID string `xml:"RequestId"`
	HostID    string `xml:"HostId"`
}

type errorBody struct {
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

// writeError is the one place S3 Control errors become responses.
func (h *Handler) writeError(rq *Request, err error) {
	if errors.Is(err, context.Canceled) && rq.R.Context().Err() != nil {
		return
	}
	var (
		ce *Error
		se *sigv4.Error
		ie *iam.Error
	)
	switch {
	case errors.As(err, &ce):
	case errors.As(err, &se):
		ce = &Error{Code: se.Code, Message: se.Message, Status: se.Status}
	case errors.As(err, &ie):
		ce = Errorf(http.StatusForbidden, ie.Code, ie.Message)
	default:
		h.log.Error("s3control request failed", "request_id", rq.ID, "method", rq.R.Method, "path", rq.R.URL.Path, "err", err)
		ce = Errorf(http.StatusInternalServerError, "InternalError", "We encountered an internal error. Please try again.")
	}
	if rq.wrote {
		panic(http.ErrAbortHandler)
	}
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	xml.NewEncoder(&buf).Encode(&errorResponse{
		Error:     errorBody{Code: ce.Code, Message: ce.Message},
		RequestID: rq.ID,
	})
	rq.W.Header().Set("Content-Type", "application/xml")
	rq.W.WriteHeader(ce.Status)
	rq.W.Write(buf.Bytes())
}

func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return strings.ToUpper(hex.EncodeToString(b[:]))
}
