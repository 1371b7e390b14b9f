package objstore

import (
	"errors"
	"fmt"
	"time"
)

// Error is an S3 semantic error: Code is the S3 error code (for example
// "NoSuchKey"); the HTTP layer owns the status code and the wire format.
type Error struct {
	Code    string
	Message string

	// Resource details the HTTP layer may add to the response.
	DeleteMarker bool
	VersionID    string
	LastModified time.Time
	// ETag is set on NotModified: a 304 carries the ETag a 200 would.
	ETag string
	// ObjectSize is set for InvalidRange so that the response can carry
	// Content-Range: bytes */size.
	ObjectSize int64
	// Extra holds additional XML elements of the error (ArgumentName,
	// ArgumentValue, BucketName, ...), in order, as name/value pairs.
	Extra [][2]string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Is matches errors by code, so errors.Is(err, ErrNoSuchKey) holds for any
// NoSuchKey error whatever its message.
func (e *Error) Is(target error) bool {
	var t *Error
	return errors.As(target, &t) && t.Code == e.Code
}

func newErr(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Sentinels for errors.Is comparisons; the messages are AWS's defaults.
var (
	ErrNoSuchBucket            = newErr("NoSuchBucket", "The specified bucket does not exist")
	ErrNoSuchKey               = newErr("NoSuchKey", "The specified key does not exist.")
	ErrNoSuchVersion           = newErr("NoSuchVersion", "The specified version does not exist.")
	ErrNoSuchUpload            = newErr("NoSuchUpload", "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.")
	ErrNoSuchTagSet            = newErr("NoSuchTagSet", "The TagSet does not exist")
	ErrBucketNotEmpty          = newErr("BucketNotEmpty", "The bucket you tried to delete is not empty")
	ErrBucketAlreadyOwnedByYou = newErr("BucketAlreadyOwnedByYou", "Your previous request to create the named bucket succeeded and you already own it.")
	ErrBucketAlreadyExists     = newErr("BucketAlreadyExists", "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.")
	ErrInvalidBucketName       = newErr("InvalidBucketName", "The specified bucket is not valid.")
	ErrKeyTooLong              = newErr("KeyTooLongError", "Your key is too long")
	ErrInvalidRange            = newErr("InvalidRange", "The requested range is not satisfiable")
	ErrInvalidPartNumber       = newErr("InvalidPartNumber", "The requested partnumber is not satisfiable")
	ErrPreconditionFailed      = newErr("PreconditionFailed", "At least one of the pre-conditions you specified did not hold")
	ErrNotModified             = newErr("NotModified", "Not Modified")
	ErrBadDigest               = newErr("BadDigest", "The Content-MD5 you specified did not match what we received.")
	ErrInvalidDigest           = newErr("InvalidDigest", "The Content-MD5 you specified was invalid.")
	ErrEntityTooSmall          = newErr("EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size")
	ErrEntityTooLarge          = newErr("EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")
	ErrInvalidPart             = newErr("InvalidPart", "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.")
	ErrInvalidPartOrder        = newErr("InvalidPartOrder", "The list of parts was not in ascending order. Parts must be ordered by part number.")
	ErrMethodNotAllowed        = newErr("MethodNotAllowed", "The specified method is not allowed against this resource.")
	ErrInvalidTag              = newErr("InvalidTag", "The TagSet is not valid.")
	ErrMetadataTooLarge        = newErr("MetadataTooLarge", "Your metadata headers exceed the maximum allowed metadata size")
	ErrIncompleteBody          = newErr("IncompleteBody", "You did not provide the number of bytes specified by the Content-Length HTTP header.")
	ErrInvalidRequest          = newErr("InvalidRequest", "Invalid Request")
	ErrInvalidArgument         = newErr("InvalidArgument", "Invalid Argument")
	ErrMalformedXML            = newErr("MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")
	ErrIllegalVersioningConfig = newErr("IllegalVersioningConfigurationException", "The Versioning element must be specified")
	ErrIllegalLocation         = newErr("IllegalLocationConstraintException", "The specified location-constraint is not valid")
	ErrAccessDenied            = newErr("AccessDenied", "Access Denied")
	ErrNotImplemented          = newErr("NotImplemented", "A header you provided implies functionality that is not implemented")
)

// invalidArgument makes an InvalidArgument error naming the argument, as S3
// reports it.
func invalidArgument(name, value, format string, args ...any) *Error {
	e := newErr("InvalidArgument", format, args...)
	e.Extra = [][2]string{{"ArgumentName", name}, {"ArgumentValue", value}}
	return e
}

func invalidRequest(format string, args ...any) *Error {
	return newErr("InvalidRequest", format, args...)
}
