package sigv4

import "net/http"

// Error is an authentication failure. Code and Status are the S3 error code
// and HTTP status AWS answers with; Message is the human-readable text.
// Details holds the extra elements AWS adds to some error documents (for
// example StringToSign and CanonicalRequest on SignatureDoesNotMatch) in the
// order AWS writes them.
//
// Every error this package returns for a rejected request is an *Error that
// matches, with errors.Is, exactly one of the exported sentinels below, even
// when its Message is more specific than the sentinel's.
type Error struct {
	Code    string
	Message string
	Status  int
	Details []Detail

	kind *Error // the sentinel this error is a variant of; nil for sentinels
}

// Detail is one extra element of an S3 error document, such as
// <StringToSign>…</StringToSign>.
type Detail struct {
	Name  string
	Value string
}

// Error returns "Code: Message".
func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Is reports whether target is e itself or the sentinel e was derived from.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && (e == t || e.kind == t)
}

// with returns a variant of sentinel e carrying a more specific message.
func (e *Error) with(message string, details ...Detail) *Error {
	if message == "" {
		message = e.Message
	}
	return &Error{Code: e.Code, Message: message, Status: e.Status, Details: details, kind: e}
}

func newError(code string, status int, message string) *Error {
	return &Error{Code: code, Message: message, Status: status}
}

// The sentinels. Messages are the ones Amazon S3 sends.
var (
	// ErrAccessDenied is a generic refusal.
	ErrAccessDenied = newError("AccessDenied", http.StatusForbidden, "Access Denied")

	// ErrSignatureDoesNotMatch means the computed signature (of the request,
	// of a payload chunk, or of the trailer) differs from the one supplied.
	ErrSignatureDoesNotMatch = newError("SignatureDoesNotMatch", http.StatusForbidden,
		"The request signature we calculated does not match the signature you provided. Check your key and signing method.")

	// ErrInvalidAccessKeyID means the CredentialStore does not know the key.
	ErrInvalidAccessKeyID = newError("InvalidAccessKeyId", http.StatusForbidden,
		"The AWS Access Key Id you provided does not exist in our records.")

	// ErrRequestTimeTooSkewed means the request date is too far from the
	// server clock.
	ErrRequestTimeTooSkewed = newError("RequestTimeTooSkewed", http.StatusForbidden,
		"The difference between the request time and the current time is too large.")

	// ErrRequestExpired is a presigned URL used after its expiry.
	ErrRequestExpired = newError("AccessDenied", http.StatusForbidden, "Request has expired")

	// ErrRequestNotYetValid is a presigned URL dated further in the future
	// than the allowed skew.
	ErrRequestNotYetValid = newError("AccessDenied", http.StatusForbidden, "Request is not yet valid")

	// ErrMissingDate means neither X-Amz-Date nor Date holds a valid date.
	ErrMissingDate = newError("AccessDenied", http.StatusForbidden,
		"AWS authentication requires a valid Date or x-amz-date header")

	// ErrHeadersNotSigned means the request carries x-amz-* headers (or
	// host) that the signature does not cover.
	ErrHeadersNotSigned = newError("AccessDenied", http.StatusForbidden,
		"There were headers present in the request which were not signed")

	// ErrMissingV2QueryParameters is a SigV2 presigned URL that lacks one of
	// AWSAccessKeyId, Signature and Expires.
	ErrMissingV2QueryParameters = newError("AccessDenied", http.StatusForbidden,
		"Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters")

	// ErrAuthorizationHeaderMalformed is an unparsable SigV4 Authorization
	// header or credential scope.
	ErrAuthorizationHeaderMalformed = newError("AuthorizationHeaderMalformed", http.StatusBadRequest,
		"The authorization header is malformed.")

	// ErrAuthorizationQueryParametersError is an incomplete or unparsable
	// set of SigV4 presign query parameters.
	ErrAuthorizationQueryParametersError = newError("AuthorizationQueryParametersError", http.StatusBadRequest,
		"Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.")

	// ErrExpiresTooLarge is a SigV4 presign whose X-Amz-Expires exceeds
	// seven days. S3 reports it as AuthorizationQueryParametersError.
	ErrExpiresTooLarge = newError("AuthorizationQueryParametersError", http.StatusBadRequest,
		"X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than 604800 seconds")

	// ErrMissingContentSHA256 is an S3 SigV4 header-signed request without
	// x-amz-content-sha256.
	ErrMissingContentSHA256 = newError("InvalidRequest", http.StatusBadRequest,
		"Missing required header for this request: x-amz-content-sha256")

	// ErrInvalidContentSHA256 is an x-amz-content-sha256 value that is
	// neither a SHA-256 hex digest nor one of the known payload tokens.
	ErrInvalidContentSHA256 = newError("InvalidArgument", http.StatusBadRequest,
		"x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a valid sha256 value.")

	// ErrUnsupportedAuthorization is an Authorization header of an unknown
	// or unsupported scheme (including SigV4a, AWS4-ECDSA-P256-SHA256).
	ErrUnsupportedAuthorization = newError("InvalidArgument", http.StatusBadRequest, "Unsupported Authorization Type")

	// ErrMultipleAuthMechanisms is a request that combines an Authorization
	// header with presign query parameters, or SigV2 with SigV4 parameters.
	ErrMultipleAuthMechanisms = newError("InvalidArgument", http.StatusBadRequest,
		"Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified")

	// ErrContentSHA256Mismatch means the body does not hash to the
	// x-amz-content-sha256 value. Returned by Body.Read at end of body.
	ErrContentSHA256Mismatch = newError("XAmzContentSHA256Mismatch", http.StatusBadRequest,
		"The provided 'x-amz-content-sha256' header does not match what was computed.")

	// ErrIncompleteBody means the body ended early, its aws-chunked framing
	// is malformed, or its decoded length differs from
	// x-amz-decoded-content-length. Returned by Body.Read.
	ErrIncompleteBody = newError("IncompleteBody", http.StatusBadRequest,
		"You did not provide the number of bytes specified by the Content-Length HTTP header.")

	// ErrMalformedTrailer is an aws-chunked trailer section that cannot be
	// parsed or lacks a trailer announced in x-amz-trailer. Returned by
	// Body.Read.
	ErrMalformedTrailer = newError("MalformedTrailerError", http.StatusBadRequest,
		"The request contained trailing data that was not well-formed or did not conform to our published schema.")

	// ErrRequestTooLarge is a non-S3 request without x-amz-content-sha256
	// whose body exceeds Verifier.MaxHashedBody, so it cannot be hashed.
	ErrRequestTooLarge = newError("EntityTooLarge", http.StatusRequestEntityTooLarge,
		"Your proposed upload exceeds the maximum allowed size")
)
