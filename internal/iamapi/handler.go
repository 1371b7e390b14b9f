// Package iamapi is the HTTP adapter of the IAM API (the AWS query
// protocol: form-encoded Action=...&Version=2010-05-08 requests, XML
// responses). It serves the users and access keys subset; the domain rules
// live in package iam. Requests reach it through the router when their
// SigV4 signing name is "iam".
package iamapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"

	"github.com/sluicehq/sluice/internal/iam"
	"github.com/sluicehq/sluice/internal/sigv4"
)

// apiVersion is the only version of the IAM API.
const apiVersion = "2010-05-08"

// ns is the XML namespace of every IAM response.
const ns = "https://iam.amazonaws.com/doc/2010-05-08/"

// maxBody bounds a request's form body; IAM requests are small.
const maxBody = 1 << 20

// Config holds the Handler's dependencies.
type Config struct {
	IAM *iam.Service
	// Verifier authenticates requests; the one the S3 handler uses.
	Verifier *sigv4.Verifier
	Logger   *slog.Logger
}

// Handler serves the IAM API.
type Handler struct {
	iam      *iam.Service
	verifier *sigv4.Verifier
	log      *slog.Logger
}

// New returns a Handler.
func New(cfg Config) *Handler {
	h := &Handler{iam: cfg.IAM, verifier: cfg.Verifier, log: cfg.Logger}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	return h
}

// request is the state of one IAM request.
type request struct {
	id        string
	r         *http.Request
	params    url.Values
	action    string
	principal *iam.Principal
}

func (rq *request) ctx() context.Context { return rq.r.Context() }

// param returns a request parameter ("" when absent).
func (rq *request) param(name string) string { return rq.params.Get(name) }

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rq := &request{id: newRequestID(), r: r}
	w.Header().Set("x-amzn-RequestId", rq.id)
	result, err := h.serve(rq)
	if err != nil {
		h.writeError(w, rq, err)
		return
	}
	writeXML(w, http.StatusOK, &envelope{
		XMLName:  xml.Name{Local: rq.action + "Response"},
		NS:       ns,
		Result:   result,
		Metadata: responseMetadata{RequestID: rq.id},
	})
}

// serve authenticates and runs a request, returning the operation's result
// element (nil for operations without one).
func (h *Handler) serve(rq *request) (any, error) {
	auth, err := h.verifier.Verify(rq.r)
	if err != nil {
		return nil, err
	}
	if auth.Method == sigv4.MethodAnonymous {
		return nil, errorf("MissingAuthenticationToken", "Request is missing Authentication Token")
	}
	p, err := h.iam.Principal(rq.ctx(), auth.AccessKeyID)
	if err != nil {
		return nil, err
	}
	rq.principal = p
	body := auth.Body(rq.r)
	defer body.Close()
	if rq.params, err = readParams(rq.r, body); err != nil {
		return nil, err
	}
	rq.action = rq.param("Action")
	if rq.action == "" {
		return nil, errorf("MissingAction", "Missing Action")
	}
	o, ok := ops[rq.action]
	if v := rq.param("Version"); !ok || (v != "" && v != apiVersion) {
		return nil, errorf("InvalidAction", "Could not find operation "+rq.param("Action")+" for version "+rq.param("Version"))
	}
	if err := h.iam.Authorize(p, "iam:"+rq.action, o.resource(h, rq)); err != nil {
		return nil, err
	}
	return o.fn(h, rq)
}

// readParams returns the query parameters of r merged with its form body
// (the body wins).
func readParams(r *http.Request, body io.Reader) (url.Values, error) {
	params := r.URL.Query()
	raw, err := io.ReadAll(io.LimitReader(body, maxBody+1))
	if err != nil {
		return nil, err
	}
	if len(raw) > maxBody {
		return nil, errorf("ValidationError", "Request body is larger than "+strconv.Itoa(maxBody)+" bytes.")
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return params, nil
	}
	form, err := url.ParseQuery(string(raw))
	if err != nil {
		return nil, errorf("MalformedQueryString", "The request body is not a well-formed form-encoded query string.")
	}
	for k, vs := range form {
		params[k] = vs
	}
	return params, nil
}

// newRequestID returns an AWS-style request ID (a random UUID).
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	s := hex.EncodeToString(b[:])
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:]
}

// envelope is the document of every successful response:
// <XResponse><XResult>…</XResult><ResponseMetadata>…</ResponseMetadata></XResponse>.
type envelope struct {
	XMLName xml.Name
	NS      string `xml:"xmlns,attr"`
	// Result is a pointer to a result type, whose XMLName names the
	// XResult element; nil for operations without a result.
	Result   any
	Metadata responseMetadata `xml:"ResponseMetadata"`
}

type responseMetadata struct {
	RequestID string `xml:"RequestId"`
}

func writeXML(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	if err := xml.NewEncoder(&buf).Encode(v); err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/xml")
	hd.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}
