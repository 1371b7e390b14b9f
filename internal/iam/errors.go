package iam

import (
	"errors"
	"fmt"
	"strings"
)

// Error is an IAM semantic error: Code is the IAM error code (for example
// "NoSuchEntity") and Message the text AWS sends with it; the HTTP layer
// owns the status code and the wire format.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Is matches errors by code, so errors.Is(err, ErrNoSuchEntity) holds for
// any NoSuchEntity error whatever its message.
func (e *Error) Is(target error) bool {
	var t *Error
	return errors.As(target, &t) && t.Code == e.Code
}

func newErr(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Sentinels for errors.Is comparisons. Errors returned by Service carry a
// message naming the entity, as AWS's do.
var (
	ErrNoSuchEntity        = newErr("NoSuchEntity", "The entity cannot be found.")
	ErrEntityAlreadyExists = newErr("EntityAlreadyExists", "The entity already exists.")
	ErrDeleteConflict      = newErr("DeleteConflict", "Cannot delete entity, must delete subordinate entities first.")
	ErrLimitExceeded       = newErr("LimitExceeded", "Cannot exceed quota.")
	ErrValidation          = newErr("ValidationError", "The input fails to satisfy the constraints specified by an AWS service.")
	ErrInvalidInput        = newErr("InvalidInput", "The input is invalid.")
	ErrUnmodifiableEntity  = newErr("UnmodifiableEntity", "The entity cannot be modified.")
	ErrAccessDenied        = newErr("AccessDenied", "Access denied.")
)

func noSuchUser(name string) *Error {
	return newErr("NoSuchEntity", "The user with name %s cannot be found.", name)
}

func noSuchKey(id string) *Error {
	return newErr("NoSuchEntity", "The Access Key with id %s cannot be found.", id)
}

// violations collects the constraint failures of one request and reports
// them the way AWS's input validation does: "N validation error(s)
// detected: Value 'x' at 'field' failed to satisfy constraint: ...; ...".
type violations []string

// add records that value (nil for a missing member) at field breaks
// constraint.
func (v *violations) add(field string, value *string, constraint string) {
	shown := "null"
	if value != nil {
		shown = "'" + *value + "'"
	}
	*v = append(*v, "Value "+shown+" at '"+field+"' failed to satisfy constraint: "+constraint)
}

// err returns the ValidationError for the collected failures, nil if none.
func (v violations) err() error {
	switch len(v) {
	case 0:
		return nil
	case 1:
		return newErr("ValidationError", "1 validation error detected: %s", v[0])
	}
	return newErr("ValidationError", "%d validation errors detected: %s", len(v), strings.Join(v, "; "))
}
