package s3api

import (
	"context"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"syscall"

	"github.com/sluicehq/sluice/internal/objstore"
	"github.com/sluicehq/sluice/internal/sigv4"
)

// statusOf is the S3 error catalogue: the HTTP status of every error code
// sluice answers with. Codes not listed are 400.
var statusOf = map[string]int{
	"AccessDenied":                                    http.StatusForbidden,
	"AccessForbidden":                                 http.StatusForbidden,
	"AuthorizationHeaderMalformed":                    http.StatusBadRequest,
	"AuthorizationQueryParametersError":               http.StatusBadRequest,
	"BadDigest":                                       http.StatusBadRequest,
	"BadRequest":                                      http.StatusBadRequest,
	"BucketAlreadyExists":                             http.StatusConflict,
	"BucketAlreadyOwnedByYou":                         http.StatusConflict,
	"BucketNotEmpty":                                  http.StatusConflict,
	"ConditionalRequestConflict":                      http.StatusConflict,
	"EntityTooLarge":                                  http.StatusBadRequest,
	"EntityTooSmall":                                  http.StatusBadRequest,
	"IllegalLocationConstraintException":              http.StatusBadRequest,
	"IllegalVersioningConfigurationException":         http.StatusBadRequest,
	"IncompleteBody":                                  http.StatusBadRequest,
	"InternalError":                                   http.StatusInternalServerError,
	"InvalidAccessKeyId":                              http.StatusForbidden,
	"InvalidArgument":                                 http.StatusBadRequest,
	"InvalidBucketName":                               http.StatusBadRequest,
	"InvalidDigest":                                   http.StatusBadRequest,
	"InvalidLocationConstraint":                       http.StatusBadRequest,
	"InvalidPart":                                     http.StatusBadRequest,
	"InvalidPartNumber":                               http.StatusRequestedRangeNotSatisfiable,
	"InvalidPartOrder":                                http.StatusBadRequest,
	"InvalidRange":                                    http.StatusRequestedRangeNotSatisfiable,
	"InvalidRequest":                                  http.StatusBadRequest,
	"InvalidStorageClass":                             http.StatusBadRequest,
	"InvalidTag":                                      http.StatusBadRequest,
	"KeyTooLongError":                                 http.StatusBadRequest,
	"MalformedXML":                                    http.StatusBadRequest,
	"MalformedTrailerError":                           http.StatusBadRequest,
	"MetadataTooLarge":                                http.StatusBadRequest,
	"MethodNotAllowed":                                http.StatusMethodNotAllowed,
	"MissingContentLength":                            http.StatusLengthRequired,
	"MissingRequestBodyError":                         http.StatusBadRequest,
	"MissingSecurityHeader":                           http.StatusBadRequest,
	"NoSuchBucket":                                    http.StatusNotFound,
	"NoSuchBucketPolicy":                              http.StatusNotFound,
	"NoSuchCORSConfiguration":                         http.StatusNotFound,
	"NoSuchKey":                                       http.StatusNotFound,
	"NoSuchObjectLockConfiguration":                   http.StatusNotFound,
	"NoSuchLifecycleConfiguration":                    http.StatusNotFound,
	"NoSuchPublicAccessBlockConfiguration":            http.StatusNotFound,
	"NoSuchTagSet":                                    http.StatusNotFound,
	"NoSuchUpload":                                    http.StatusNotFound,
	"NoSuchVersion":                                   http.StatusNotFound,
	"NoSuchWebsiteConfiguration":                      http.StatusNotFound,
	"NotImplemented":                                  http.StatusNotImplemented,
	"NotModified":                                     http.StatusNotModified,
	"ObjectLockConfigurationNotFoundError":            http.StatusNotFound,
	"OwnershipControlsNotFoundError":                  http.StatusNotFound,
	"PreconditionFailed":                              http.StatusPreconditionFailed,
	"ReplicationConfigurationNotFoundError":           http.StatusNotFound,
	"RequestTimeTooSkewed":                            http.StatusForbidden,
	"ServerSideEncryptionConfigurationNotFoundError":  http.StatusNotFound,
	"SignatureDoesNotMatch":                           http.StatusForbidden,
	"SlowDown":                                        http.StatusServiceUnavailable,
	"XAmzContentSHA256Mismatch":                       http.StatusBadRequest,
	"NoSuchAccessPoint":                               http.StatusNotFound,
	"InvalidObjectState":                              http.StatusForbidden,
	"MissingAttributes":                               http.StatusBadRequest,
	"InvalidBucketState":                              http.StatusConflict,
	"UnexpectedContent":                               http.StatusBadRequest,
	"InvalidEncryptionAlgorithmError":                 http.StatusBadRequest,
	"NoSuchBucketNotificationConfigurationNotDefined": http.StatusNotFound,
}

// StatusOf returns the HTTP status S3 answers error code with, for
// reports of other surfaces (Batch Operations) that show it.
func StatusOf(code string) int { return statusFor(code) }

func statusFor(code string) int {
	if s, ok := statusOf[code]; ok {
		return s
	}
	return http.StatusBadRequest
}

// errorDoc is the S3 error document.
type errorDoc struct {
	XMLName   xml.Name `xml:"Error"`
	Code      string   `xml:"Code"`
	Message   xmlText  `xml:"Message"`
	Extra     []extraElem
	Key       string `xml:"Key,omitempty"`
	Bucket    string `xml:"BucketName,omitempty"`
	Resource  string `xml:"Resource,omitempty"`
	RequestID string `xml:"RequestId"`
	HostID    string `xml:"HostId"`
}

// xmlText is character data written as S3 writes error messages: quotes
// stay literal (policy conditions quote them), the rest is escaped as
// encoding/xml does.
type xmlText string

// MarshalXML implements xml.Marshaler.
func (t xmlText) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	var b strings.Builder
	if err := xml.EscapeText(&b, []byte(t)); err != nil {
		return err
	}
	text := strings.NewReplacer("&#34;", `"`, "&#39;", "'").Replace(b.String())
	return e.EncodeElement(struct {
		Text string `xml:",innerxml"`
	}{text}, start)
}

type extraElem struct {
	XMLName xml.Name
	Value   string `xml:",chardata"`
}

// apiError is an error ready for the wire.
type apiError struct {
	code    string
	message string
	status  int
	extra   [][2]string
	src     *objstore.Error
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

// errorf makes an apiError with a code from the catalogue.
func errorf(code, message string) *apiError {
	return &apiError{code: code, message: message, status: statusFor(code)}
}

// notImplemented is the answer for S3 features sluice does not provide.
func notImplemented(what string) *apiError {
	return errorf("NotImplemented", what+" is not implemented by sluice.")
}

// toAPIError maps any error a handler returns to its wire form; ok is false
// for errors that are not the client's fault (they become InternalError).
func toAPIError(err error) (e *apiError, ok bool) {
	var (
		ae *apiError
		oe *objstore.Error
		se *sigv4.Error
	)
	switch {
	case errors.As(err, &ae):
		return ae, true
	case errors.As(err, &oe):
		return &apiError{code: oe.Code, message: oe.Message, status: statusFor(oe.Code), extra: oe.Extra, src: oe}, true
	case errors.As(err, &se):
		e := &apiError{code: se.Code, message: se.Message, status: se.Status}
		for _, d := range se.Details {
			e.extra = append(e.extra, [2]string{d.Name, d.Value})
		}
		return e, true
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errorf("IncompleteBody", objstore.ErrIncompleteBody.Message), true
	case errors.Is(err, syscall.ENOSPC):
		return errorf("InternalError", "The server is out of disk space."), false
	}
	var maxErr *http.MaxBytesError
	if errors.As(err, &maxErr) {
		return errorf("EntityTooLarge", "Your proposed upload exceeds the maximum allowed size"), true
	}
	return errorf("InternalError", "We encountered an internal error. Please try again."), false
}

// writeError answers a failed request. Errors of the client's making are
// not logged; others are logged with the request ID. A client that went
// away is not an error at all.
func (h *Handler) writeError(rq *request, err error) {
	if errors.Is(err, context.Canceled) && rq.r.Context().Err() != nil {
		return
	}
	e, ok := toAPIError(err)
	if !ok {
		h.log.Error("request failed", "request_id", rq.id, "op", rq.opName(), "method", rq.r.Method,
			"bucket", rq.bucket, "err", err)
	}
	hd := rq.w.Header()
	if src := e.src; src != nil {
		if src.DeleteMarker {
			hd.Set("x-amz-delete-marker", "true")
		}
		if src.VersionID != "" {
			hd.Set("x-amz-version-id", src.VersionID)
		}
		if !src.LastModified.IsZero() {
			hd.Set("Last-Modified", src.LastModified.UTC().Format(http.TimeFormat))
		}
		if src.ETag != "" {
			hd.Set("ETag", `"`+src.ETag+`"`)
		}
		if src.Code == "InvalidRange" {
			hd.Set("Content-Range", "bytes */"+strconv.FormatInt(src.ObjectSize, 10))
		}
	}
	if rq.wroteHeader {
		// The body had started: all we can do is cut the connection.
		panic(http.ErrAbortHandler)
	}
	switch e.code {
	case "BadDigest", "XAmzContentSHA256Mismatch", "IncompleteBody":
		// The body was not what the client declared, so neither may its
		// framing be: bytes past a short Content-Length would be read as
		// the next request. End the connection after this answer.
		hd.Set("Connection", "close")
	}
	if e.status == http.StatusNotModified || rq.r.Method == http.MethodHead {
		rq.w.WriteHeader(e.status)
		return
	}
	doc := errorDoc{
		Code:      e.code,
		Message:   xmlText(e.message),
		Key:       rq.key,
		Bucket:    rq.bucket,
		Resource:  rq.r.URL.Path,
		RequestID: rq.id,
		HostID:    rq.hostID,
	}
	if rq.key == "" {
		doc.Key = ""
	}
	for _, x := range e.extra {
		doc.Extra = append(doc.Extra, extraElem{XMLName: xml.Name{Local: x[0]}, Value: x[1]})
	}
	writeXML(rq, e.status, &doc)
}
