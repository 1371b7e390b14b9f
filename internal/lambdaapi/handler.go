// Package lambdaapi is the HTTP adapter of the Lambda API (AWS's REST-JSON
// protocol: versioned paths such as /2015-03-31/functions/{FunctionName},
// JSON bodies, errors named by the x-amzn-ErrorType header). It decodes
// requests, calls package lambda, and encodes the answers; the rules live
// in package lambda. Requests reach it through the router when their SigV4
// signing name is "lambda" or their path is a Lambda API path.
//
// It also serves the presigned URLs GetFunction reports as Code.Location
// (GET /2015-03-31/functions/{name}/package/{sha256}.zip, signed with the
// root credentials), so a package can be fetched with plain HTTP.
package lambdaapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/internal/iam"
	"github.com/sluicehq/sluice/internal/lambda"
	"github.com/sluicehq/sluice/internal/sigv4"
)

// Config holds the Handler's dependencies.
type Config struct {
	Lambda *lambda.Service
	IAM    *iam.Service
	// Verifier authenticates requests; the one the S3 handler uses.
	Verifier *sigv4.Verifier
	// RootAccessKeyID and RootSecretAccessKey sign the Code.Location
	// URLs GetFunction returns.
	RootAccessKeyID     string
	RootSecretAccessKey string
	Logger              *slog.Logger
}

// Handler serves the Lambda API.
type Handler struct {
	lambda     *lambda.Service
	iam        *iam.Service
	verifier   *sigv4.Verifier
	rootKey    string
	rootSecret string
	log        *slog.Logger
}

// New returns a Handler.
func New(cfg Config) *Handler {
	h := &Handler{
		lambda:     cfg.Lambda,
		iam:        cfg.IAM,
		verifier:   cfg.Verifier,
		rootKey:    cfg.RootAccessKeyID,
		rootSecret: cfg.RootSecretAccessKey,
		log:        cfg.Logger,
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	return h
}

// request is the state of one Lambda API request.
type request struct {
	id        string
	r         *http.Request
	w         http.ResponseWriter
	op        string
	params    map[string]string
	principal *iam.Principal
	body      io.Reader
	maxBody   int64
}

func (rq *request) ctx() context.Context { return rq.r.Context() }

// query returns a query parameter ("" when absent).
func (rq *request) query(name string) string { return rq.r.URL.Query().Get(name) }

// route is one operation of the API: method and path template, where
// "{X}" segments bind parameters.
type route struct {
	method  string
	path    []string
	op      string
	fn      func(h *Handler, rq *request) error
	maxBody int64
}

// Body limits: code uploads carry a 50 MB zip in base64; invocations up
// to 6 MB; everything else is small.
const (
	maxBody       = 1 << 20
	maxInvokeBody = lambda.MaxSyncPayload + 1
)

func r(method, path, op string, fn func(h *Handler, rq *request) error) route {
	return route{method: method, path: strings.Split(strings.Trim(path, "/"), "/"), op: op, fn: fn, maxBody: maxBody}
}

// routes is the operation table.
var routes = []route{
	withBody(r("POST", "/2015-03-31/functions", "CreateFunction", (*Handler).createFunction), lambda.MaxCodeRequestSize),
	r("GET", "/2015-03-31/functions", "ListFunctions", (*Handler).listFunctions),
	r("GET", "/2015-03-31/functions/{FunctionName}", "GetFunction", (*Handler).getFunction),
	r("DELETE", "/2015-03-31/functions/{FunctionName}", "DeleteFunction", (*Handler).deleteFunction),
	r("GET", "/2015-03-31/functions/{FunctionName}/configuration", "GetFunctionConfiguration", (*Handler).getFunctionConfiguration),
	r("PUT", "/2015-03-31/functions/{FunctionName}/configuration", "UpdateFunctionConfiguration", (*Handler).updateFunctionConfiguration),
	withBody(r("PUT", "/2015-03-31/functions/{FunctionName}/code", "UpdateFunctionCode", (*Handler).updateFunctionCode), lambda.MaxCodeRequestSize),
	withBody(r("POST", "/2015-03-31/functions/{FunctionName}/invocations", "Invoke", (*Handler).invoke), maxInvokeBody),
	withBody(r("POST", "/2014-11-13/functions/{FunctionName}/invoke-async", "InvokeAsync", (*Handler).invokeAsync), lambda.MaxAsyncPayload+1),
	r("POST", "/2015-03-31/functions/{FunctionName}/versions", "PublishVersion", (*Handler).publishVersion),
	r("GET", "/2015-03-31/functions/{FunctionName}/versions", "ListVersionsByFunction", (*Handler).listVersions),
	r("POST", "/2015-03-31/functions/{FunctionName}/aliases", "CreateAlias", (*Handler).createAlias),
	r("GET", "/2015-03-31/functions/{FunctionName}/aliases", "ListAliases", (*Handler).listAliases),
	r("GET", "/2015-03-31/functions/{FunctionName}/aliases/{Name}", "GetAlias", (*Handler).getAlias),
	r("PUT", "/2015-03-31/functions/{FunctionName}/aliases/{Name}", "UpdateAlias", (*Handler).updateAlias),
	r("DELETE", "/2015-03-31/functions/{FunctionName}/aliases/{Name}", "DeleteAlias", (*Handler).deleteAlias),
	r("POST", "/2015-03-31/functions/{FunctionName}/policy", "AddPermission", (*Handler).addPermission),
	r("GET", "/2015-03-31/functions/{FunctionName}/policy", "GetPolicy", (*Handler).getPolicy),
	r("DELETE", "/2015-03-31/functions/{FunctionName}/policy/{StatementId}", "RemovePermission", (*Handler).removePermission),
	r("PUT", "/2017-10-31/functions/{FunctionName}/concurrency", "PutFunctionConcurrency", (*Handler).putConcurrency),
	r("GET", "/2019-09-30/functions/{FunctionName}/concurrency", "GetFunctionConcurrency", (*Handler).getConcurrency),
	r("DELETE", "/2017-10-31/functions/{FunctionName}/concurrency", "DeleteFunctionConcurrency", (*Handler).deleteConcurrency),
	r("PUT", "/2019-09-25/functions/{FunctionName}/event-invoke-config", "PutFunctionEventInvokeConfig", (*Handler).putEventInvokeConfig),
	r("POST", "/2019-09-25/functions/{FunctionName}/event-invoke-config", "UpdateFunctionEventInvokeConfig", (*Handler).updateEventInvokeConfig),
	r("GET", "/2019-09-25/functions/{FunctionName}/event-invoke-config", "GetFunctionEventInvokeConfig", (*Handler).getEventInvokeConfig),
	r("DELETE", "/2019-09-25/functions/{FunctionName}/event-invoke-config", "DeleteFunctionEventInvokeConfig", (*Handler).deleteEventInvokeConfig),
	r("GET", "/2019-09-25/functions/{FunctionName}/event-invoke-config/list", "ListFunctionEventInvokeConfigs", (*Handler).listEventInvokeConfigs),
	r("PUT", "/2024-08-31/functions/{FunctionName}/recursion-config", "PutFunctionRecursionConfig", (*Handler).putRecursionConfig),
	r("GET", "/2024-08-31/functions/{FunctionName}/recursion-config", "GetFunctionRecursionConfig", (*Handler).getRecursionConfig),
	r("POST", "/2017-03-31/tags/{Resource}", "TagResource", (*Handler).tagResource),
	r("DELETE", "/2017-03-31/tags/{Resource}", "UntagResource", (*Handler).untagResource),
	r("GET", "/2017-03-31/tags/{Resource}", "ListTags", (*Handler).listTags),
	r("GET", "/2016-08-19/account-settings", "GetAccountSettings", (*Handler).getAccountSettings),
	// Not an AWS operation: the Code.Location URLs GetFunction reports.
	r("GET", "/2015-03-31/functions/{FunctionName}/package/{Package}", opCodePackage, (*Handler).getCodePackage),
}

// opCodePackage names the route of Code.Location URLs, which only a
// presigned URL (made by GetFunction with the root credentials) may use.
const opCodePackage = "GetFunctionCodePackage"

func withBody(rt route, limit int64) route {
	rt.maxBody = limit
	return rt
}

// match finds the route of a request and its path parameters.
func match(method string, u *url.URL) (*route, map[string]string, bool) {
	raw := strings.Split(strings.Trim(u.EscapedPath(), "/"), "/")
	segs := make([]string, len(raw))
	for i, s := range raw {
		d, err := url.PathUnescape(s)
		if err != nil {
			return nil, nil, false
		}
		segs[i] = d
	}
	known := false
	for _, rt := range routes {
		params, ok := rt.bind(segs)
		if !ok {
			continue
		}
		known = true
		if rt.method == method {
			return &rt, params, true
		}
	}
	return nil, nil, known
}

func (rt *route) bind(segs []string) (map[string]string, bool) {
	if len(segs) != len(rt.path) {
		return nil, false
	}
	// Match first, so that the routes tried on the way (most have four
	// segments) allocate nothing.
	n := 0
	for i, p := range rt.path {
		if strings.HasPrefix(p, "{") {
			if segs[i] == "" {
				return nil, false
			}
			n++
		} else if p != segs[i] {
			return nil, false
		}
	}
	params := make(map[string]string, n)
	for i, p := range rt.path {
		if strings.HasPrefix(p, "{") {
			params[p[1:len(p)-1]] = segs[i]
		}
	}
	return params, true
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rq := &request{id: newRequestID(), r: r, w: w}
	w.Header().Set("x-amzn-RequestId", rq.id)
	if err := h.serve(rq); err != nil {
		h.writeError(w, rq, err)
	}
}

// serve routes, authenticates, authorizes and runs a request. Handlers
// write their own responses and return errors before writing anything.
func (h *Handler) serve(rq *request) error {
	rt, params, known := match(rq.r.Method, rq.r.URL)
	if rt == nil {
		if known {
			return &apiError{code: "UnknownOperationException", message: "The " + rq.r.Method +
				" method is not allowed on " + rq.r.URL.Path + ".", status: http.StatusMethodNotAllowed}
		}
		return &apiError{code: "ServiceException", status: http.StatusNotImplemented,
			message: "The Lambda operation " + rq.r.Method + " " + rq.r.URL.Path + " is not implemented by this sluice server."}
	}
	rq.op, rq.params = rt.op, params
	auth, err := h.verifier.Verify(rq.r)
	if err != nil {
		return err
	}
	if auth.Method == sigv4.MethodAnonymous {
		return errorf("MissingAuthenticationTokenException", "Missing Authentication Token")
	}
	if rq.principal, err = h.iam.Principal(rq.ctx(), auth.AccessKeyID); err != nil {
		return err
	}
	if rt.op == opCodePackage && auth.Method != sigv4.MethodV4Query {
		return errorf("AccessDeniedException", "A function package can only be fetched with the presigned URL GetFunction returns.")
	}
	if err := h.authorize(rq); err != nil {
		return err
	}
	body := auth.Body(rq.r)
	defer body.Close()
	rq.body, rq.maxBody = &limitedBody{r: body, n: rt.maxBody}, rt.maxBody
	return rt.fn(h, rq)
}

// authorize decides whether the principal may call the operation. Today
// only the account's authority (the root, and functions, which act with
// it) may; iam.Authorize is the seam where policies will plug in.
func (h *Handler) authorize(rq *request) error {
	action := "lambda:" + rq.op
	switch rq.op {
	case "Invoke", "InvokeAsync":
		action = "lambda:InvokeFunction"
	case opCodePackage:
		action = "lambda:GetFunction"
	}
	resource := "*"
	if name := rq.params["FunctionName"]; name != "" {
		resource = h.lambda.FunctionARN(name)
		if strings.HasPrefix(name, "arn:") {
			resource = name
		}
	} else if res := rq.params["Resource"]; res != "" {
		resource = res
	}
	return h.iam.Authorize(rq.principal, action, resource)
}

// limitedBody reads at most n bytes and then fails with
// RequestEntityTooLargeException.
type limitedBody struct {
	r io.Reader
	n int64
}

// errBodyTooLarge is returned by limitedBody past its limit.
var errBodyTooLarge = errors.New("lambdaapi: request body too large")

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.n <= 0 {
		var one [1]byte
		if n, _ := b.r.Read(one[:]); n > 0 {
			return 0, errBodyTooLarge
		}
		return 0, io.EOF
	}
	if int64(len(p)) > b.n {
		p = p[:b.n]
	}
	n, err := b.r.Read(p)
	b.n -= int64(n)
	return n, err
}

// readBody reads the whole request body.
func (rq *request) readBody() ([]byte, error) {
	data, err := io.ReadAll(rq.body)
	if errors.Is(err, errBodyTooLarge) {
		return nil, errorf("RequestEntityTooLargeException", "Request must be smaller than "+
			strconv.FormatInt(rq.maxBody, 10)+" bytes for the "+rq.op+" operation")
	}
	return data, err
}

// decode reads a JSON request body into v; an empty body decodes as {}.
func (rq *request) decode(v any) error {
	data, err := rq.readBody()
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	if err := json.Unmarshal(data, v); err != nil {
		return errorf("InvalidRequestContentException", "Could not parse request body into json: "+err.Error())
	}
	return nil
}

// writeJSON answers with a JSON document.
func writeJSON(w http.ResponseWriter, status int, v any) {
	raw, err := json.Marshal(v)
	if err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "application/json")
	hd.Set("Content-Length", strconv.Itoa(len(raw)))
	w.WriteHeader(status)
	w.Write(raw)
}

// writeEmpty answers with a status and no body.
func writeEmpty(w http.ResponseWriter, status int) {
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(status)
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
