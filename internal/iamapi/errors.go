package iamapi

import (
	"context"
	"encoding/xml"
	"errors"
	"net/http"

	"github.com/sluicehq/sluice/internal/iam"
	"github.com/sluicehq/sluice/internal/sigv4"
)

// statusOf is the IAM error catalogue: the HTTP status of every error code
// sluice answers with (AWS's, from the IAM API model and its common
// errors). Codes not listed are 400.
var statusOf = map[string]int{
	"AccessDenied":               http.StatusForbidden,
	"DeleteConflict":             http.StatusConflict,
	"EntityAlreadyExists":        http.StatusConflict,
	"IncompleteSignature":        http.StatusBadRequest,
	"InvalidAction":              http.StatusBadRequest,
	"InvalidClientTokenId":       http.StatusForbidden,
	"InvalidInput":               http.StatusBadRequest,
	"LimitExceeded":              http.StatusConflict,
	"MalformedQueryString":       http.StatusBadRequest,
	"MissingAction":              http.StatusBadRequest,
	"MissingAuthenticationToken": http.StatusForbidden,
	"NoSuchEntity":               http.StatusNotFound,
	"ServiceFailure":             http.StatusInternalServerError,
	"SignatureDoesNotMatch":      http.StatusForbidden,
	"UnmodifiableEntity":         http.StatusBadRequest,
	"ValidationError":            http.StatusBadRequest,
}

// apiError is an error in its wire form.
type apiError struct {
	code    string
	message string
	status  int
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

// errorf makes an apiError with a code from the catalogue.
func errorf(code, message string) *apiError {
	status, ok := statusOf[code]
	if !ok {
		status = http.StatusBadRequest
	}
	return &apiError{code: code, message: message, status: status}
}

// Messages of the authentication failures, as IAM words them.
const (
	msgInvalidClientTokenID  = "The security token included in the request is invalid."
	msgSignatureDoesNotMatch = "The request signature we calculated does not match the signature you provided. " +
		"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	msgSignatureExpired = "Signature expired: the request time is too far from the server's time."
)

// toAPIError maps any error a handler returns to its wire form; ok is false
// for errors that are not the client's fault (they become ServiceFailure).
// It is the only place IAM API errors get their codes and statuses.
func toAPIError(err error) (e *apiError, ok bool) {
	var (
		ae *apiError
		ie *iam.Error
		se *sigv4.Error
	)
	switch {
	case errors.As(err, &ae):
		return ae, true
	case errors.As(err, &ie):
		return errorf(ie.Code, ie.Message), true
	case errors.As(err, &se):
		return authError(se), true
	}
	return errorf("ServiceFailure", "An internal error occurred. Please try again."), false
}

// authError translates an authentication failure, which package sigv4
// words as S3 does, into IAM's codes.
func authError(se *sigv4.Error) *apiError {
	switch {
	case errors.Is(se, sigv4.ErrInvalidAccessKeyID):
		return errorf("InvalidClientTokenId", msgInvalidClientTokenID)
	case errors.Is(se, sigv4.ErrSignatureDoesNotMatch):
		return errorf("SignatureDoesNotMatch", msgSignatureDoesNotMatch)
	case errors.Is(se, sigv4.ErrRequestTimeTooSkewed), errors.Is(se, sigv4.ErrRequestExpired),
		errors.Is(se, sigv4.ErrRequestNotYetValid):
		return errorf("SignatureDoesNotMatch", msgSignatureExpired)
	case errors.Is(se, sigv4.ErrAuthorizationHeaderMalformed),
		errors.Is(se, sigv4.ErrAuthorizationQueryParametersError),
		errors.Is(se, sigv4.ErrMissingDate),
		errors.Is(se, sigv4.ErrHeadersNotSigned):
		return errorf("IncompleteSignature", se.Message)
	}
	return &apiError{code: se.Code, message: se.Message, status: se.Status}
}

// errorResponse is IAM's error document.
type errorResponse struct {
	XMLName   xml.Name  `xml:"ErrorResponse"`
	NS        string    `xml:"xmlns,attr"`
	Error     errorElem `xml:"Error"`
	RequestID string    `xml:"RequestId"`
}

type errorElem struct {
	Type    string `xml:"Type"`
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

// writeError answers a failed request. Errors of the client's making are
// not logged; others are logged with the request ID. A client that went
// away is not an error at all.
func (h *Handler) writeError(w http.ResponseWriter, rq *request, err error) {
	if errors.Is(err, context.Canceled) && rq.r.Context().Err() != nil {
		return
	}
	e, ok := toAPIError(err)
	if !ok {
		h.log.Error("request failed", "request_id", rq.id, "action", rq.action, "err", err)
	}
	typ := "Sender"
	if e.status >= 500 {
		typ = "Receiver"
	}
	writeXML(w, e.status, &errorResponse{
		NS:        ns,
		Error:     errorElem{Type: typ, Code: e.code, Message: e.message},
		RequestID: rq.id,
	})
}
