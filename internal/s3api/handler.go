// Package s3api is the HTTP adapter of the S3 API: it resolves the bucket
// and key of a request (path-style or virtual-hosted), authenticates it,
// finds its operation in one table, and turns the operation's result or
// error into S3's wire format. S3 semantics live in package objstore.
package s3api

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/sluicehq/sluice/internal/iam"
	"github.com/sluicehq/sluice/internal/meta"
	"github.com/sluicehq/sluice/internal/objstore"
	"github.com/sluicehq/sluice/internal/sigv4"
)

// Config holds the Handler's dependencies.
type Config struct {
	Store    *objstore.Store
	IAM      *iam.Service
	Verifier *sigv4.Verifier
	// Domains are the host names under which buckets are addressed
	// virtual-hosted style (bucket.<domain>).
	Domains []string
	Logger  *slog.Logger
	// LegacyBucketDefaults creates buckets the way S3 did before April
	// 2023: ACLs enabled (no ownership controls, objects owned by their
	// writer) and no Block Public Access configuration. Without it, new
	// buckets get AWS's current defaults, BucketOwnerEnforced and all
	// four public access blocks on.
	LegacyBucketDefaults bool
	// Notifications keeps bucket notification configurations; nil answers
	// ?notification with NotImplemented.
	Notifications Notifications
	// AccessPoints resolves access point aliases and ARN hosts; nil
	// serves no access points. ObjectLambda transforms requests through
	// Object Lambda access points.
	AccessPoints AccessPoints
	ObjectLambda ObjectLambda
}

// Handler serves the S3 API.
type Handler struct {
	store    *objstore.Store
	iam      *iam.Service
	verifier *sigv4.Verifier
	domains  []string
	log      *slog.Logger
	hostID   string
	// legacyDefaults is Config.LegacyBucketDefaults.
	legacyDefaults bool
	notify         Notifications
	accessPoints   AccessPoints
	objectLambda   ObjectLambda
	policies       policyCache
	names          nameCache
}

// New returns a Handler.
func New(cfg Config) *Handler {
	h := &Handler{
		store:    cfg.Store,
		iam:      cfg.IAM,
		verifier: cfg.Verifier,
		log:      cfg.Logger,

		legacyDefaults: cfg.LegacyBucketDefaults,
		notify:         cfg.Notifications,
		accessPoints:   cfg.AccessPoints,
		objectLambda:   cfg.ObjectLambda,
	}
	for _, d := range cfg.Domains {
		if d = strings.Trim(strings.ToLower(d), "."); d != "" {
			h.domains = append(h.domains, d)
		}
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	var b [24]byte
	_, _ = rand.Read(b[:])
	h.hostID = hex.EncodeToString(b[:])
	return h
}

// request is the state of one S3 request.
type request struct {
	id        string
	hostID    string
	r         *http.Request
	w         http.ResponseWriter
	query     url.Values
	bucket    string
	key       string
	vhost     bool
	op        *op
	auth      *sigv4.Auth
	principal *iam.Principal
	// bucketMeta is the request's bucket as authorization loaded it.
	bucketMeta *meta.Bucket
	body       io.ReadCloser
	// trailer returns the aws-chunked trailers once the body is read.
	trailer func() http.Header
	// via is set when the request is addressed through an access point.
	via         *via
	wroteHeader bool
}

func (rq *request) opName() string {
	if rq.op == nil {
		return ""
	}
	return rq.op.name
}

// NewRequestID returns an S3-style request ID (16 upper-case hex digits).
func NewRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return strings.ToUpper(hex.EncodeToString(b[:]))
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rq := &request{id: NewRequestID(), hostID: h.hostID, r: r, w: w, query: r.URL.Query()}
	hd := w.Header()
	hd.Set("x-amz-request-id", rq.id)
	hd.Set("x-amz-id-2", h.hostID)
	hd.Set("Server", "sluice")
	if err := h.serve(rq); err != nil {
		h.writeError(rq, err)
	}
	// The request body is left to net/http, which closes it after the
	// response is written: closing it here would drain a body the client
	// has not sent (Expect: 100-continue) before the answer goes out.
}

func (h *Handler) serve(rq *request) error {
	if err := h.resolve(rq); err != nil {
		return err
	}
	if rq.r.Method != http.MethodOptions {
		h.applyCORS(rq)
	}
	op, err := route(rq)
	if err != nil {
		return err
	}
	rq.op = op
	if err := h.checkAccessPointOp(rq); err != nil {
		return err
	}
	if op.authenticatesItself() {
		return op.fn(h, rq)
	}
	auth, err := h.verifier.Verify(rq.r)
	if err != nil {
		return err
	}
	rq.auth = auth
	if err := h.checkRegion(auth); err != nil {
		return err
	}
	if auth.Method == sigv4.MethodAnonymous {
		rq.principal = iam.Anonymous()
	} else {
		p, err := h.iam.Principal(rq.r.Context(), auth.AccessKeyID)
		if err != nil {
			return err
		}
		rq.principal = p
	}
	body := auth.Body(rq.r)
	rq.body = body
	rq.trailer = body.Trailer
	if err := h.checkAccessPoint(rq); err != nil {
		return err
	}
	if err := h.authorize(rq); err != nil {
		return err
	}
	if err := h.checkCommonHeaders(rq); err != nil {
		return err
	}
	if handled, err := h.serveObjectLambda(rq); handled {
		return err
	}
	return op.fn(h, rq)
}

// checkCommonHeaders checks the request headers every operation honours:
// the expected owners of the bucket and of a copy source (every bucket
// belongs to the node's one account; a mismatch is AccessDenied, as on
// S3), and a Content-MD5 that is present but empty, which is no digest.
func (h *Handler) checkCommonHeaders(rq *request) error {
	hd := rq.r.Header
	for _, name := range []string{"x-amz-expected-bucket-owner", "x-amz-source-expected-bucket-owner"} {
		if want := hd.Get(name); want != "" && want != h.iam.AccountID() {
			return errorf("AccessDenied", "Access Denied")
		}
	}
	if v, ok := hd["Content-Md5"]; ok && strings.TrimSpace(strings.Join(v, "")) == "" {
		return objstore.ErrInvalidDigest
	}
	return nil
}

// resolve finds the bucket and key of a request from its Host (virtual-
// hosted style under one of h.domains) or its path.
func (h *Handler) resolve(rq *request) error {
	if ok, err := h.resolveAccessPoint(rq); ok || err != nil {
		return err
	}
	path := rq.r.URL.Path
	if host := hostname(rq.r.Host); host != "" {
		for _, d := range h.domains {
			if b, ok := strings.CutSuffix(host, "."+d); ok && b != "" {
				rq.bucket, rq.vhost = b, true
				rq.key = strings.TrimPrefix(path, "/")
				return h.resolveAlias(rq)
			}
		}
	}
	p := strings.TrimPrefix(path, "/")
	rq.bucket, rq.key, _ = strings.Cut(p, "/")
	return h.resolveAlias(rq)
}

func hostname(hostport string) string {
	h, _, err := net.SplitHostPort(hostport)
	if err != nil {
		h = hostport
	}
	return strings.ToLower(strings.TrimSuffix(h, "."))
}

// V2Resource returns the SigV2 canonical resource of r, which depends on
// whether the bucket came from the host.
func (h *Handler) V2Resource(r *http.Request) string {
	rq := &request{r: r}
	h.resolve(rq)
	if rq.vhost {
		return sigv4.CanonicalV2Resource(rq.bucket, r)
	}
	return sigv4.CanonicalV2Resource("", r)
}

// Response helpers.

const s3NS = "http://s3.amazonaws.com/doc/2006-03-01/"

func writeXML(rq *request, status int, v any) {
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	if err := xml.NewEncoder(&buf).Encode(v); err != nil {
		rq.w.WriteHeader(http.StatusInternalServerError)
		return
	}
	hd := rq.w.Header()
	hd.Set("Content-Type", "application/xml")
	hd.Set("Content-Length", itoa(int64(buf.Len())))
	rq.w.WriteHeader(status)
	rq.wroteHeader = true
	rq.w.Write(buf.Bytes())
}

func (rq *request) noContent() error {
	rq.w.WriteHeader(http.StatusNoContent)
	rq.wroteHeader = true
	return nil
}

func (rq *request) ok() error {
	rq.w.Header().Set("Content-Length", "0")
	rq.w.WriteHeader(http.StatusOK)
	rq.wroteHeader = true
	return nil
}

// maxXMLBody bounds request documents (DeleteObjects with 1,000 long keys
// is the largest).
const maxXMLBody = 4 << 20

// readXML reads and decodes an XML request document, verifying any
// Content-MD5 or x-amz-checksum-* the client sent for it. A missing body
// is MalformedXML unless allowEmpty.
func readXML(rq *request, v any, allowEmpty bool) error {
	raw, err := readSmallBody(rq)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		if allowEmpty {
			return nil
		}
		return errorf("MissingRequestBodyError", "Request Body is empty")
	}
	if err := xml.Unmarshal(raw, v); err != nil {
		return errorf("MalformedXML", objstore.ErrMalformedXML.Message)
	}
	return nil
}

// readSmallBody reads a bounded request body and checks its integrity
// headers.
func readSmallBody(rq *request) ([]byte, error) {
	raw, err := io.ReadAll(io.LimitReader(rq.body, maxXMLBody+1))
	if err != nil {
		return nil, err
	}
	if len(raw) > maxXMLBody {
		return nil, errorf("MaxMessageLengthExceeded", "Your request was too big.")
	}
	ck, err := checksumInput(rq)
	if err != nil {
		return nil, err
	}
	if err := objstore.VerifyBytes(raw, rq.r.Header.Get("Content-MD5"), ck); err != nil {
		return nil, err
	}
	return raw, nil
}

// ctx returns the request's context.
func (rq *request) ctx() context.Context { return rq.r.Context() }

// Time formats.
const iso8601 = "2006-01-02T15:04:05.000Z"

func isoTime(t time.Time) string { return t.UTC().Format(iso8601) }

func httpTime(t time.Time) string { return t.UTC().Format(http.TimeFormat) }

// owner is the Owner element of listings.
type owner struct {
	ID          string `xml:"ID"`
	DisplayName string `xml:"DisplayName,omitempty"`
}

func (h *Handler) ownerOf(id string) owner {
	return owner{ID: id, DisplayName: h.displayName(id)}
}

// awsRegionName matches the names of AWS regions (us-east-1,
// ap-southeast-2, us-gov-west-1, ...).
var awsRegionName = regexp.MustCompile(`^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]+$`)

// checkRegion refuses a SigV4 signature scoped to another region, as S3
// does; the error names the right region (SDKs such as boto3 retry with
// it).
func (h *Handler) checkRegion(a *sigv4.Auth) error {
	region := h.store.Region()
	if a.Region == "" || a.Region == region || !awsRegionName.MatchString(a.Region) {
		// A scope that names no AWS region at all (rclone signs with
		// "other-v2-signature" for S3-compatible stores) is not a
		// misconfigured client pointed at the wrong region: accept it.
		return nil
	}
	var e *apiError
	switch a.Method {
	case sigv4.MethodV4Header:
		e = errorf("AuthorizationHeaderMalformed",
			"The authorization header is malformed; the region '"+a.Region+"' is wrong; expecting '"+region+"'")
	case sigv4.MethodV4Query:
		e = errorf("AuthorizationQueryParametersError",
			"Error parsing the X-Amz-Credential parameter; the region '"+a.Region+"' is wrong; expecting '"+region+"'")
	default:
		return nil
	}
	e.extra = [][2]string{{"Region", region}}
	return e
}
