package lambda

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Exception names of the Lambda API that the control plane returns. The
// HTTP layer owns their statuses and wire format.
const (
	CodeAccessDenied            = "AccessDeniedException"
	CodeCodeStorageExceeded     = "CodeStorageExceededException"
	CodeInvalidParameterValue   = "InvalidParameterValueException"
	CodeInvalidRequestContent   = "InvalidRequestContentException"
	CodeInvalidRuntime          = "InvalidRuntimeException"
	CodeInvalidZipFile          = "InvalidZipFileException"
	CodePolicyLengthExceeded    = "PolicyLengthExceededException"
	CodePreconditionFailed      = "PreconditionFailedException"
	CodeRequestEntityTooLarge   = "RequestEntityTooLargeException"
	CodeRequestTooLarge         = "RequestTooLargeException"
	CodeResourceConflict        = "ResourceConflictException"
	CodeResourceNotFound        = "ResourceNotFoundException"
	CodeResourceNotReady        = "ResourceNotReadyException"
	CodeService                 = "ServiceException"
	CodeTooManyRequests         = "TooManyRequestsException"
	CodeUnsupportedMediaType    = "UnsupportedMediaTypeException"
	CodeValidation              = "ValidationException"
	CodeProvisionedConfNotFound = "ProvisionedConcurrencyConfigNotFoundException"
)

// Error is a Lambda API error: Code is the exception name AWS answers with
// (for example "ResourceNotFoundException") and Message its text.
type Error struct {
	Code    string
	Message string
	// Reason is set on TooManyRequestsException.
	Reason ThrottleReason
	// RetryAfter is set on TooManyRequestsException: how long the caller
	// should wait before trying again.
	RetryAfter time.Duration
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Is matches errors by code, so errors.Is(err, ErrResourceNotFound) holds
// for any ResourceNotFoundException whatever its message.
func (e *Error) Is(target error) bool {
	var t *Error
	return errors.As(target, &t) && t.Code == e.Code
}

func errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Sentinels for errors.Is comparisons. Errors returned by Service carry
// AWS's message for the case at hand.
var (
	ErrResourceNotFound      = errorf(CodeResourceNotFound, "The resource you requested does not exist.")
	ErrResourceConflict      = errorf(CodeResourceConflict, "The resource already exists, or another operation is in progress.")
	ErrInvalidParameterValue = errorf(CodeInvalidParameterValue, "One of the parameters in the request is not valid.")
	ErrPreconditionFailed    = errorf(CodePreconditionFailed, "The RevisionId provided does not match the latest RevisionId.")
	ErrValidation            = errorf(CodeValidation, "The request failed validation.")
	ErrTooManyRequests       = errorf(CodeTooManyRequests, "Rate Exceeded.")
	ErrAccessDenied          = errorf(CodeAccessDenied, "Access denied.")
)

// Messages AWS uses in several places.
const (
	msgNoResource        = "The resource you requested does not exist."
	msgRevisionMismatch  = "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id"
	msgPolicyRevMismatch = "The Revision Id provided does not match the latest Revision Id. Call the GetPolicy API to retrieve the latest Revision Id"
	msgFunctionOnly      = "This operation is permitted on Lambda functions only. Aliases and versions do not support this operation. Please specify either a function name or an unqualified function ARN."
	msgQualifierMismatch = "The derived qualifier from the function name does not match the specified qualifier."
	msgBadZip            = "Could not unzip uploaded file. Please check your file, then try to upload again."
)

func notFound(arn string) *Error {
	return errorf(CodeResourceNotFound, "Function not found: %s", arn)
}

func invalidParam(format string, args ...any) *Error {
	return errorf(CodeInvalidParameterValue, format, args...)
}

// violations collects the constraint failures of one request and reports
// them as AWS's input validation does: "1 validation error detected: Value
// 'x' at 'field' failed to satisfy constraint: ...".
type violations []string

// add records that value at field breaks constraint; value is shown
// quoted, or as null when nil.
func (v *violations) add(field string, value *string, constraint string) {
	shown := "null"
	if value != nil {
		shown = "'" + *value + "'"
	}
	*v = append(*v, "Value "+shown+" at '"+field+"' failed to satisfy constraint: "+constraint)
}

// missing records a required member that was not given.
func (v *violations) missing(field string) {
	v.add(field, nil, "Member must not be null")
}

// err returns the violations as an error of the given code (AWS reports
// most as ValidationException, a few as InvalidParameterValueException),
// nil if there are none.
func (v violations) err(code string) error {
	switch len(v) {
	case 0:
		return nil
	case 1:
		return errorf(code, "1 validation error detected: %s", v[0])
	}
	return errorf(code, "%d validation errors detected: %s", len(v), strings.Join(v, "; "))
}

// ObjectError is an S3 error a CodeSource reports for an object that
// cannot be read (NoSuchBucket, NoSuchKey, ...).
type ObjectError struct {
	Code    string
	Message string
}

func (e *ObjectError) Error() string { return e.Code + ": " + e.Message }
