// Package adminapi is sluice's own administrative HTTP API, served under
// /_sluice/ on the node's one endpoint (the router sends it those paths;
// no S3 bucket name can start with "_"). It is for the sluice CLI and,
// later, the web console. Requests are signed with SigV4 (any signing name)
// by the account root's credentials; answers are JSON, errors
// {"code":…,"message":…} with their HTTP status, mapped in one place.
//
// Routes:
//
//	GET /_sluice/events[?bucket=B][&after=ID][&limit=N]
//	    recent S3 event deliveries and their states (notify.Listing)
package adminapi

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/sluicehq/sluice/internal/iam"
	"github.com/sluicehq/sluice/internal/notify"
	"github.com/sluicehq/sluice/internal/router"
	"github.com/sluicehq/sluice/internal/sigv4"
)

// Prefix is the path prefix of the API.
const Prefix = router.AdminPrefix

// Events lists the event log (*notify.Service).
type Events interface {
	Events(ctx context.Context, q notify.Query) (*notify.Listing, error)
}

// Config holds the Handler's dependencies.
type Config struct {
	IAM      *iam.Service
	Verifier *sigv4.Verifier
	// Events is the event log; nil answers its route with 501.
	Events Events
	Logger *slog.Logger
}

// Handler serves the administrative API.
type Handler struct {
	iam      *iam.Service
	verifier *sigv4.Verifier
	events   Events
	log      *slog.Logger
}

// New returns a Handler.
func New(cfg Config) *Handler {
	h := &Handler{iam: cfg.IAM, verifier: cfg.Verifier, events: cfg.Events, log: cfg.Logger}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	return h
}

// Error is an answer other than success: an HTTP status, a code and a
// message.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := h.serve(w, r); err != nil {
		h.writeError(w, r, err)
	}
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request) error {
	if err := h.authenticate(r); err != nil {
		return err
	}
	switch r.URL.Path {
	case Prefix + "events":
		if r.Method != http.MethodGet {
			return &Error{http.StatusMethodNotAllowed, "MethodNotAllowed", "Use GET."}
		}
		return h.listEvents(w, r)
	}
	return &Error{http.StatusNotFound, "NotFound", "No such administrative resource: " + r.URL.Path}
}

// authenticate admits requests signed by the account root.
func (h *Handler) authenticate(r *http.Request) error {
	auth, err := h.verifier.Verify(r)
	if err != nil {
		return err
	}
	if auth.Method == sigv4.MethodAnonymous {
		return &Error{http.StatusForbidden, "AccessDenied", "Sign the request with the account root's credentials (SigV4)."}
	}
	p, err := h.iam.Principal(r.Context(), auth.AccessKeyID)
	if err != nil {
		return err
	}
	if !p.IsRoot() || p.IsFunction() {
		return &Error{http.StatusForbidden, "AccessDenied", "Only the account root may use the administrative API; " + p.ARN + " may not."}
	}
	return nil
}

func (h *Handler) listEvents(w http.ResponseWriter, r *http.Request) error {
	if h.events == nil {
		return &Error{http.StatusNotImplemented, "NotImplemented", "This server keeps no event log."}
	}
	qv := r.URL.Query()
	q := notify.Query{Bucket: qv.Get("bucket"), After: qv.Get("after")}
	if v := qv.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return &Error{http.StatusBadRequest, "InvalidArgument", "limit must be a positive integer."}
		}
		q.Limit = n
	}
	out, err := h.events.Events(r.Context(), q)
	if err != nil {
		return err
	}
	if out.Records == nil {
		out.Records = []*notify.Record{}
	}
	return writeJSON(w, http.StatusOK, out)
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)+1))
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
	return nil
}

// writeError is the one place errors become answers: the API's own
// errors and authentication failures as they are, anything else a 500,
// logged.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		return
	}
	var (
		ae *Error
		se *sigv4.Error
	)
	switch {
	case errors.As(err, &ae):
	case errors.As(err, &se):
		ae = &Error{se.Status, se.Code, se.Message}
	default:
		h.log.Error("admin request failed", "path", r.URL.Path, "err", err)
		ae = &Error{http.StatusInternalServerError, "InternalError", "We encountered an internal error. Please try again."}
	}
	writeJSON(w, ae.Status, ae)
}
