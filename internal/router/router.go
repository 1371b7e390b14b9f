// Package router dispatches the requests of sluice's single endpoint to
// its API surfaces. S3, S3 Control, Object Lambda, Lambda and IAM share one
// listener, as AWS's SDKs can be pointed at one AWS_ENDPOINT_URL; a request
// is classified by its path and by the SigV4 signing name of its
// credential scope, without verifying the signature (each surface does that
// and reports failures in its own error format).
package router

import (
	"encoding/json"
	"encoding/xml"
	"net/http"
	"strings"

	"github.com/sluicehq/sluice/internal/sigv4"
)

// Surface is an API family served on the endpoint.
type Surface int

// The surfaces.
const (
	S3 Surface = iota
	S3Control
	ObjectLambda
	Lambda
	IAM
	// Admin is sluice's own administrative API (package adminapi).
	Admin
)

func (s Surface) String() string {
	return [...]string{"s3", "s3-control", "s3-object-lambda", "lambda", "iam", "admin"}[s]
}

// lambdaPrefixes are the API-version path prefixes of the Lambda REST API.
var lambdaPrefixes = []string{
	"/2015-03-31/", "/2016-08-19/", "/2017-03-31/", "/2017-10-31/", "/2018-10-31/",
	"/2019-09-25/", "/2019-09-30/", "/2020-04-22/", "/2020-06-30/", "/2021-10-31/", "/2022-10-31/",
}

// AdminPrefix is the path prefix of sluice's administrative API; no S3
// bucket name can start with "_".
const AdminPrefix = "/_sluice/"

// Classify returns the surface a request is for.
func Classify(r *http.Request) Surface {
	p := r.URL.Path
	if strings.HasPrefix(p, "/v20180820/") {
		return S3Control
	}
	if strings.HasPrefix(p, AdminPrefix) {
		return Admin
	}
	service, _, _, _ := sigv4.Peek(r)
	switch service {
	case "lambda":
		return Lambda
	case "iam":
		return IAM
	case "s3-object-lambda":
		return ObjectLambda
	}
	for _, pre := range lambdaPrefixes {
		if strings.HasPrefix(p, pre) {
			return Lambda
		}
	}
	if p == "/WriteGetObjectResponse" && r.Method == http.MethodPost {
		return ObjectLambda
	}
	return S3
}

// Router serves every surface; a surface without a handler answers
// NotImplemented in that surface's error format.
type Router struct {
	handlers map[Surface]http.Handler
}

// New returns a Router with the S3 handler; add others with Handle.
func New(s3 http.Handler) *Router {
	return &Router{handlers: map[Surface]http.Handler{S3: s3}}
}

// Handle sets the handler of a surface.
func (rt *Router) Handle(s Surface, h http.Handler) { rt.handlers[s] = h }

// ServeHTTP implements http.Handler.
func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s := Classify(r)
	if h, ok := rt.handlers[s]; ok {
		h.ServeHTTP(w, r)
		return
	}
	notImplemented(w, s)
}

// notImplemented answers for a surface sluice does not serve yet, in the
// error format that surface's SDK clients parse.
func notImplemented(w http.ResponseWriter, s Surface) {
	msg := "The " + s.String() + " API is not implemented by this sluice server."
	switch s {
	case Lambda:
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("x-amzn-ErrorType", "ServiceException")
		w.WriteHeader(http.StatusNotImplemented)
		json.NewEncoder(w).Encode(map[string]string{"Type": "Service", "message": msg})
	default:
		type errBody struct {
			Code    string `xml:"Code"`
			Message string `xml:"Message"`
		}
		type errorResponse struct {
			XMLName xml.Name `xml:"ErrorResponse"`
			Error   errBody  `xml:"Error"`
		}
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusNotImplemented)
		w.Write([]byte(xml.Header))
		xml.NewEncoder(w).Encode(errorResponse{Error: errBody{Code: "NotImplemented", Message: msg}})
	}
}
