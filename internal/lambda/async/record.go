package async

import (
	"encoding/json"
	"time"

	"github.com/sluicehq/sluice/internal/lambda"
)

// Record is Lambda's invocation record, what destinations receive:
//
//	{"version":"1.0","timestamp":"2019-11-14T18:16:05.568Z",
//	 "requestContext":{"requestId":"…","functionArn":"…:my-function:$LATEST",
//	                   "condition":"RetriesExhausted","approximateInvokeCount":3},
//	 "requestPayload":{…},
//	 "responseContext":{"statusCode":200,"executedVersion":"$LATEST","functionError":"Unhandled"},
//	 "responsePayload":{"errorMessage":"…"}}
//
// responseContext and responsePayload are absent when the event never got
// an answer (it expired before its first attempt). When the last attempt
// was refused rather than run, sluice reports what refused it:
// statusCode 429 and {"errorType":"TooManyRequestsException",…} for a
// throttle (reserved concurrency 0 included), 404 for a function that no
// longer exists, 500 for a system error.
type Record struct {
	Version         string           `json:"version"`
	Timestamp       string           `json:"timestamp"`
	RequestContext  RequestContext   `json:"requestContext"`
	RequestPayload  json.RawMessage  `json:"requestPayload"`
	ResponseContext *ResponseContext `json:"responseContext,omitempty"`
	ResponsePayload json.RawMessage  `json:"responsePayload,omitempty"`
}

// RequestContext identifies the invocation a Record is about.
type RequestContext struct {
	RequestID string `json:"requestId"`
	// FunctionARN is qualified: $LATEST for the unqualified function.
	FunctionARN string `json:"functionArn"`
	// Condition is ConditionSuccess, ConditionRetriesExhausted or
	// ConditionEventAgeExceeded.
	Condition string `json:"condition"`
	// ApproximateInvokeCount is how many times the function ran.
	ApproximateInvokeCount int `json:"approximateInvokeCount"`
}

// ResponseContext is the outcome of the last attempt.
type ResponseContext struct {
	StatusCode      int    `json:"statusCode"`
	ExecutedVersion string `json:"executedVersion,omitempty"`
	FunctionError   string `json:"functionError,omitempty"`
}

// RecordVersion is the version of the record format.
const RecordVersion = "1.0"

// timestampLayout is the record's timestamp: UTC, milliseconds.
const timestampLayout = "2006-01-02T15:04:05.000Z"

// record builds the invocation record of an event.
func (q *Queue) record(fns Functions, e *event, condition string) *Record {
	qual := e.Qualifier
	if qual == "" {
		qual = lambda.LatestVersion
	}
	r := &Record{
		Version:   RecordVersion,
		Timestamp: q.cfg.Now().UTC().Format(timestampLayout),
		RequestContext: RequestContext{
			RequestID:              e.RequestID,
			FunctionARN:            fns.FunctionARN(e.Function) + ":" + qual,
			Condition:              condition,
			ApproximateInvokeCount: e.Invokes,
		},
		RequestPayload: e.Payload,
	}
	if e.Last != nil {
		r.ResponseContext = &ResponseContext{
			StatusCode:      e.Last.StatusCode,
			ExecutedVersion: e.Last.ExecutedVersion,
			FunctionError:   e.Last.FunctionError,
		}
		r.ResponsePayload = e.Last.Payload
		if len(r.ResponsePayload) == 0 {
			r.ResponsePayload = json.RawMessage("null")
		}
	}
	return r
}

// S3Key is the object key of a record sent to an S3 bucket destination at
// time t, AWS's naming:
// aws/lambda/async/<function>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<uuid>.
func S3Key(function string, t time.Time, uuid string) string {
	return "aws/lambda/async/" + function + "/" + t.UTC().Format("2006/01/02/2006-01-02T15.04.05") + "-" + uuid
}
