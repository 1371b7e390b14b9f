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
	params    pathParams
	principal *iam.Principal
	body      io.Reader
	maxBody   int64
}

func (rq *request) ctx() context.Context { return rq.r.Context() }

// query returns a query parameter ("" when absent).
func (rq *request) query(name string) string {
	if rq.r.URL.RawQuery == "" {
		return ""
	}
	return rq.r.URL.Query().Get(name)
}

// param returns a path parameter ("" when the route has none by that name).
func (rq *request) param(name string) string { return rq.params.get(name) }

// maxPathParams is the most "{X}" segments a route has.
const maxPathParams = 2

// pathParams are the parameters a route bound, in path order.
type pathParams struct {
	n     int
	names [maxPathParams]string
	vals  [maxPathParams]string
}

func (p *pathParams) get(name string) string {
	for i := range p.n {
		if p.names[i] == name {
			return p.vals[i]
		}
	}
	return ""
}

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
	segs := strings.Split(strings.Trim(path, "/"), "/")
	if len(segs) > maxSegments || strings.Count(path, "{") > maxPathParams {
		panic("lambdaapi: route " + path + " is longer than match allows")
	}
	return route{method: method, path: segs, op: op, fn: fn, maxBody: maxBody}
}

// maxSegments is the most segments a route's path has.
const maxSegments = 8

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
func match(method string, u *url.URL) (*route, pathParams, bool) {
	var buf [maxSegments]string
	segs := buf[:0]
	for s := range strings.SplitSeq(strings.Trim(u.EscapedPath(), "/"), "/") {
		if len(segs) == len(buf) {
			return nil, pathParams{}, false // longer than every route
		}
		d, err := url.PathUnescape(s)
		if err != nil {
			return nil, pathParams{}, false
		}
		segs = append(segs, d)
	}
	known := false
	for i := range routes {
		rt := &routes[i]
		params, ok := rt.bind(segs)
		if !ok {
			continue
		}
		known = true
		if rt.method == method {
			return rt, params, true
		}
	}
	return nil, pathParams{}, known
}

func (rt *route) bind(segs []string) (pathParams, bool) {
	var params pathParams
	if len(segs) != len(rt.path) {
		return params, false
	}
	for i, p := range rt.path {
		if strings.HasPrefix(p, "{") {
			if segs[i] == "" {
				return params, false
			}
			params.names[params.n], params.vals[params.n] = p[1:len(p)-1], segs[i]
			params.n++
		} else if p != segs[i] {
			return params, false
		}
	}
	return params, true
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rq := &request{id: newRequestID(), r: r, w: w}
	// The canonical form of x-amzn-RequestId, set without Set's
	// canonicalisation.
	w.Header()["X-Amzn-Requestid"] = []string{rq.id}
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
	var action string
	switch rq.op {
	case "Invoke", "InvokeAsync":
		action = "lambda:InvokeFunction"
	case opCodePackage:
		action = "lambda:GetFunction"
	default:
		action = "lambda:" + rq.op
	}
	resource := "*"
	if name := rq.param("FunctionName"); name != "" {
		resource = h.lambda.FunctionARN(name)
		if strings.HasPrefix(name, "arn:") {
			resource = name
		}
	} else if res := rq.param("Resource"); res != "" {
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
	data, err := rq.readAll()
	if errors.Is(err, errBodyTooLarge) {
		return nil, errorf("RequestEntityTooLargeException", "Request must be smaller than "+
			strconv.FormatInt(rq.maxBody, 10)+" bytes for the "+rq.op+" operation")
	}
	return data, err
}

// readAll reads the body to its end (or its limit) into a buffer sized
// from Content-Length, as io.ReadAll would without the guessing.
func (rq *request) readAll() ([]byte, error) {
	size := int64(512)
	if n := rq.r.ContentLength; n >= 0 && n < rq.maxBody {
		size = n + 1 // one more, to see the end without growing
	}
	b := make([]byte, 0, size)
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := rq.body.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
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
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	hex.Encode(s[9:13], b[4:6])
	hex.Encode(s[14:18], b[6:8])
	hex.Encode(s[19:23], b[8:10])
	hex.Encode(s[24:], b[10:])
	s[8], s[13], s[18], s[23] = '-', '-', '-', '-'
	return string(s[:])
}
