package s3api

import (
	"encoding/xml"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/internal/objstore"
)

// CORS: a bucket's configuration (Put/Get/DeleteBucketCors), preflight
// OPTIONS requests, which are never authenticated, and the
// Access-Control-* headers of actual requests that carry Origin.

// corsConfiguration is the CORSConfiguration document.
type corsConfiguration struct {
	XMLName xml.Name      `xml:"CORSConfiguration"`
	NS      string        `xml:"xmlns,attr,omitempty"`
	Rules   []corsRuleXML `xml:"CORSRule"`
}

type corsRuleXML struct {
	ID             string   `xml:"ID,omitempty"`
	AllowedHeaders []string `xml:"AllowedHeader"`
	AllowedMethods []string `xml:"AllowedMethod"`
	AllowedOrigins []string `xml:"AllowedOrigin"`
	ExposeHeaders  []string `xml:"ExposeHeader"`
	MaxAgeSeconds  *int     `xml:"MaxAgeSeconds"`
}

func (h *Handler) putBucketCORS(rq *request) error {
	var doc corsConfiguration
	if err := readXML(rq, &doc, false); err != nil {
		return err
	}
	rules := make([]objstore.CORSRule, len(doc.Rules))
	for i, r := range doc.Rules {
		rules[i] = objstore.CORSRule{
			ID:             r.ID,
			AllowedOrigins: r.AllowedOrigins,
			AllowedMethods: r.AllowedMethods,
			AllowedHeaders: r.AllowedHeaders,
			ExposeHeaders:  r.ExposeHeaders,
			MaxAgeSeconds:  r.MaxAgeSeconds,
		}
	}
	if err := h.store.SetBucketCORS(rq.ctx(), rq.bucket, rules); err != nil {
		return err
	}
	return rq.ok()
}

func (h *Handler) getBucketCORS(rq *request) error {
	rules, err := h.store.BucketCORS(rq.ctx(), rq.bucket)
	if err != nil {
		return err
	}
	out := corsConfiguration{NS: s3NS, Rules: make([]corsRuleXML, len(rules))}
	for i, r := range rules {
		out.Rules[i] = corsRuleXML{
			ID:             r.ID,
			AllowedHeaders: r.AllowedHeaders,
			AllowedMethods: r.AllowedMethods,
			AllowedOrigins: r.AllowedOrigins,
			ExposeHeaders:  r.ExposeHeaders,
			MaxAgeSeconds:  r.MaxAgeSeconds,
		}
	}
	writeXML(rq, http.StatusOK, &out)
	return nil
}

func (h *Handler) deleteBucketCORS(rq *request) error {
	if err := h.store.SetBucketCORS(rq.ctx(), rq.bucket, nil); err != nil {
		return err
	}
	return rq.noContent()
}

// preflightOp is the operation of every OPTIONS request on a bucket or an
// object, whatever its query: a CORS preflight.
var preflightOp = op{http.MethodOptions, scopeBucket, "", "PreflightRequest", (*Handler).preflight}

// corsVary is the Vary of every answer a CORS rule shaped.
const corsVary = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"

// corsNotAllowed is S3's message for a preflight no rule allows (its
// spelling).
const corsNotAllowed = "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec."

// requestedHeaders splits Access-Control-Request-Headers into lower-case
// names.
func requestedHeaders(hd http.Header) []string {
	var out []string
	for _, v := range hd.Values("Access-Control-Request-Headers") {
		for _, name := range strings.Split(v, ",") {
			if name = strings.ToLower(strings.TrimSpace(name)); name != "" {
				out = append(out, name)
			}
		}
	}
	return out
}

// preflight answers an OPTIONS request on a bucket or object: 200 with the
// Access-Control-* headers of the first rule that allows the origin, the
// requested method and headers, or S3's refusal.
func (h *Handler) preflight(rq *request) error {
	hd := rq.r.Header
	origin := hd.Get("Origin")
	if origin == "" {
		rq.w.Header().Set("Connection", "close")
		return errorf("BadRequest", "Insufficient information. Origin request header needed.")
	}
	method := hd.Get("Access-Control-Request-Method")
	forbidden := func(message string) error {
		e := errorf("AccessForbidden", message)
		m, resource := method, "BUCKET"
		if m == "" {
			m = http.MethodOptions
		}
		if rq.key != "" {
			resource = "OBJECT"
		}
		e.extra = [][2]string{{"Method", m}, {"ResourceType", resource}}
		return e
	}
	b, err := h.store.Bucket(rq.ctx(), rq.bucket)
	if errors.Is(err, objstore.ErrNoSuchBucket) {
		return forbidden("CORSResponse: Bucket not found")
	}
	if err != nil {
		return err
	}
	rules, err := objstore.CORSOf(b)
	if err != nil {
		return err
	}
	if rules == nil {
		return forbidden("CORSResponse: CORS is not enabled for this bucket.")
	}
	if method == "" {
		return errorf("BadRequest", "Invalid Access-Control-Request-Method: null")
	}
	headers := requestedHeaders(hd)
	rule := objstore.MatchCORS(rules, origin, method, headers)
	if rule == nil {
		return forbidden(corsNotAllowed)
	}
	out := rq.w.Header()
	setCORSHeaders(out, rule, origin)
	if len(headers) > 0 {
		out.Set("Access-Control-Allow-Headers", strings.Join(headers, ", "))
	}
	return rq.ok()
}

// applyCORS adds the Access-Control-* headers to the answer of an actual
// (non-preflight) request that carries Origin, when a rule of the bucket
// allows it. The method a rule must allow is Access-Control-Request-Method
// if the request has one (S3 weighs it as a preflight would), else the
// request's own; likewise Access-Control-Request-Headers. Nothing is
// added when no rule matches, and a bucket that cannot be read is left to
// the operation to report.
func (h *Handler) applyCORS(rq *request) {
	hd := rq.r.Header
	origin := hd.Get("Origin")
	if origin == "" || rq.bucket == "" {
		return
	}
	b, err := h.store.Bucket(rq.ctx(), rq.bucket)
	if err != nil {
		return
	}
	rules, err := objstore.CORSOf(b)
	if err != nil || rules == nil {
		return
	}
	method := hd.Get("Access-Control-Request-Method")
	if method == "" {
		method = rq.r.Method
	}
	if rule := objstore.MatchCORS(rules, origin, method, requestedHeaders(hd)); rule != nil {
		setCORSHeaders(rq.w.Header(), rule, origin)
	}
}

// setCORSHeaders writes what a matching rule grants. A rule that matched
// the origin only through "*" grants "*" without credentials; otherwise
// the origin is echoed and credentials allowed.
func setCORSHeaders(out http.Header, rule *objstore.CORSRule, origin string) {
	wildcard := !slices.ContainsFunc(rule.AllowedOrigins, func(p string) bool {
		return p != "*" && objstore.MatchOrigin(p, origin)
	})
	if wildcard {
		out.Set("Access-Control-Allow-Origin", "*")
	} else {
		out.Set("Access-Control-Allow-Origin", origin)
		out.Set("Access-Control-Allow-Credentials", "true")
	}
	out.Set("Access-Control-Allow-Methods", strings.Join(rule.AllowedMethods, ", "))
	if len(rule.ExposeHeaders) > 0 {
		out.Set("Access-Control-Expose-Headers", strings.Join(rule.ExposeHeaders, ", "))
	}
	if rule.MaxAgeSeconds != nil {
		out.Set("Access-Control-Max-Age", strconv.Itoa(*rule.MaxAgeSeconds))
	}
	out.Set("Vary", corsVary)
}
