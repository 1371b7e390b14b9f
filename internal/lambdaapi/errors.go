package lambdaapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/sluicehq/sluice/internal/iam"
	"github.com/sluicehq/sluice/internal/lambda"
	"github.com/sluicehq/sluice/internal/sigv4"
)

// shape is how an error code goes on the wire: its HTTP status, and
// whether its body's message member is "Message" (else "message"), as each
// exception shape of the Lambda model spells it.
type shape struct {
	status  int
	capital bool
}

// catalogue is the Lambda error catalogue: every exception of the Lambda
// model (botocore lambda/2015-03-31), plus the unmodelled errors AWS's
// front end answers with (validation, authentication, request size).
// Codes not listed are 400 with "message".
var catalogue = map[string]shape{
	"AliasLimitExceededException":                               {400, false},
	"CallbackTimeoutException":                                  {400, true},
	"CapacityProviderLimitExceededException":                    {400, false},
	"CodeArtifactUserDeletedException":                          {409, false},
	"CodeArtifactUserFailedException":                           {409, false},
	"CodeArtifactUserPendingException":                          {409, false},
	"CodeSigningConfigNotFoundException":                        {404, true},
	"CodeStorageExceededException":                              {400, false},
	"CodeVerificationFailedException":                           {400, true},
	"DurableExecutionAlreadyStartedException":                   {409, true},
	"EC2AccessDeniedException":                                  {502, true},
	"EC2ThrottledException":                                     {502, true},
	"EC2UnexpectedException":                                    {502, true},
	"EFSIOException":                                            {410, true},
	"EFSMountConnectivityException":                             {408, true},
	"EFSMountFailureException":                                  {403, true},
	"EFSMountTimeoutException":                                  {408, true},
	"ENILimitReachedException":                                  {502, true},
	"ENINotReadyException":                                      {502, true},
	"FunctionVersionsPerCapacityProviderLimitExceededException": {400, false},
	"InvalidCodeSignatureException":                             {400, true},
	"InvalidParameterValueException":                            {400, false},
	"InvalidRequestContentException":                            {400, false},
	"InvalidRuntimeException":                                   {502, true},
	"InvalidSecurityGroupIDException":                           {502, true},
	"InvalidSubnetIDException":                                  {502, true},
	"InvalidZipFileException":                                   {502, true},
	"KMSAccessDeniedException":                                  {502, true},
	"KMSDisabledException":                                      {502, true},
	"KMSInvalidStateException":                                  {502, true},
	"KMSNotFoundException":                                      {502, true},
	"ModeNotSupportedException":                                 {400, false},
	"NoPublishedVersionException":                               {400, true},
	"PolicyLengthExceededException":                             {400, false},
	"PreconditionFailedException":                               {412, false},
	"ProvisionedConcurrencyConfigNotFoundException":             {404, false},
	"PublicPolicyException":                                     {400, true},
	"RecursiveInvocationException":                              {400, true},
	"RequestTooLargeException":                                  {413, false},
	"ResourceConflictException":                                 {409, false},
	"ResourceInUseException":                                    {400, true},
	"ResourceNotFoundException":                                 {404, true},
	"ResourceNotReadyException":                                 {502, false},
	"S3FilesMountConnectivityException":                         {408, true},
	"S3FilesMountFailureException":                              {403, true},
	"S3FilesMountTimeoutException":                              {408, true},
	"SerializedRequestEntityTooLargeException":                  {413, false},
	"ServiceException":                                          {500, true},
	"ServiceQuotaExceededException":                             {402, true},
	"SnapStartException":                                        {400, true},
	"SnapStartNotReadyException":                                {409, true},
	"SnapStartRegenerationFailureException":                     {409, true},
	"SnapStartTimeoutException":                                 {408, true},
	"SubnetIPAddressLimitReachedException":                      {502, true},
	"TooManyRequestsException":                                  {429, false},
	"UnsupportedMediaTypeException":                             {415, false},

	// Not in the model: AWS's request validation, authentication and
	// front-end limits.
	"ValidationException":                 {400, false},
	"AccessDeniedException":               {403, true},
	"RequestEntityTooLargeException":      {413, false},
	"UnrecognizedClientException":         {403, false},
	"InvalidSignatureException":           {403, false},
	"IncompleteSignatureException":        {400, false},
	"MissingAuthenticationTokenException": {403, false},
	"UnknownOperationException":           {404, false},
}

// apiError is an error in its wire form.
type apiError struct {
	code    string
	message string
	// reason and retryAfter are set on TooManyRequestsException.
	reason     string
	retryAfter int
	// status overrides the catalogue's when not 0.
	status int
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func errorf(code, message string) *apiError { return &apiError{code: code, message: message} }

// Messages of authentication failures, as Lambda words them.
const (
	msgInvalidToken      = "The security token included in the request is invalid."
	msgSignatureMismatch = "The request signature we calculated does not match the signature you provided. " +
		"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	msgSignatureExpired = "Signature expired: the request time is too far from the server's time."
)

// toAPIError maps any error a handler returns to its wire form; ok is false
// for errors that are not the client's fault (they become
// ServiceException and are logged). It is the only place Lambda API errors
// get their codes.
func toAPIError(err error) (e *apiError, ok bool) {
	var (
		ae *apiError
		le *lambda.Error
		ie *iam.Error
		se *sigv4.Error
	)
	switch {
	case errors.As(err, &ae):
		return ae, true
	case errors.As(err, &le):
		e := &apiError{code: le.Code, message: le.Message, reason: string(le.Reason)}
		if le.RetryAfter > 0 {
			e.retryAfter = max(1, int(le.RetryAfter.Seconds()))
		}
		return e, le.Code != lambda.CodeService
	case errors.As(err, &ie):
		if ie.Code == "AccessDenied" {
			return errorf("AccessDeniedException", ie.Message), true
		}
		return errorf(ie.Code, ie.Message), true
	case errors.As(err, &se):
		return authError(se), true
	}
	return errorf("ServiceException", "An internal error occurred. Please try again."), false
}

// authError translates an authentication failure, which package sigv4
// words as S3 does, into the codes of AWS's JSON services.
func authError(se *sigv4.Error) *apiError {
	switch {
	case errors.Is(se, sigv4.ErrInvalidAccessKeyID):
		return errorf("UnrecognizedClientException", msgInvalidToken)
	case errors.Is(se, sigv4.ErrSignatureDoesNotMatch):
		return errorf("InvalidSignatureException", msgSignatureMismatch)
	case errors.Is(se, sigv4.ErrRequestTimeTooSkewed), errors.Is(se, sigv4.ErrRequestExpired),
		errors.Is(se, sigv4.ErrRequestNotYetValid):
		return errorf("InvalidSignatureException", msgSignatureExpired)
	case errors.Is(se, sigv4.ErrRequestTooLarge):
		return errorf("RequestEntityTooLargeException", "Request must be smaller than "+
			strconv.Itoa(lambda.MaxCodeRequestSize)+" bytes for the CreateFunction operation")
	case errors.Is(se, sigv4.ErrAccessDenied):
		return errorf("AccessDeniedException", se.Message)
	}
	return errorf("IncompleteSignatureException", se.Message)
}

// writeError answers a failed request in Lambda's error format: the
// x-amzn-ErrorType header and a JSON body with Type and the message
// member the shape uses. Errors of the client's making are not logged;
// others are logged with the request ID. A client that went away is not
// an error at all.
func (h *Handler) writeError(w http.ResponseWriter, rq *request, err error) {
	if errors.Is(err, context.Canceled) && rq.r.Context().Err() != nil {
		return
	}
	e, ok := toAPIError(err)
	if !ok {
		h.log.Error("request failed", "request_id", rq.id, "op", rq.op, "err", err)
	}
	sh, known := catalogue[e.code]
	if !known {
		sh = shape{status: http.StatusBadRequest}
	}
	if e.status != 0 {
		sh.status = e.status
	}
	body := map[string]any{"Type": "User"}
	if sh.status >= 500 {
		body["Type"] = "Service"
	}
	if sh.capital {
		body["Message"] = e.message
	} else {
		body["message"] = e.message
	}
	hd := w.Header()
	if e.reason != "" {
		body["Reason"] = e.reason
	}
	if e.retryAfter > 0 {
		hd.Set("Retry-After", strconv.Itoa(e.retryAfter))
	}
	hd.Set("x-amzn-ErrorType", e.code)
	raw, _ := json.Marshal(body)
	hd.Set("Content-Type", "application/json")
	hd.Set("Content-Length", strconv.Itoa(len(raw)))
	w.WriteHeader(sh.status)
	w.Write(raw)
}
