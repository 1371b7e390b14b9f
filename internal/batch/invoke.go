package batch

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/sluicehq/sluice/internal/lambda"
)

// LambdaInvoke result codes.
const (
	codeSucceeded        = "Succeeded"
	codeTemporaryFailure = "TemporaryFailure"
	codePermanentFailure = "PermanentFailure"
)

// batchEvent is the event a LambdaInvoke task sends: schema 1.0
// (s3BucketArn) or 2.0 (s3Bucket, job.userArguments), always with one
// task, as AWS sends it.
type batchEvent struct {
	InvocationSchemaVersion string       `json:"invocationSchemaVersion"`
	InvocationID            string       `json:"invocationId"`
	Job                     eventJob     `json:"job"`
	Tasks                   [1]eventTask `json:"tasks"`
}

type eventJob struct {
	ID string `json:"id"`
	// UserArguments is present (possibly empty) in schema 2.0 only.
	UserArguments *map[string]string `json:"userArguments,omitempty"`
}

type eventTask struct {
	TaskID string `json:"taskId"`
	// S3Key is the key as the manifest spells it (URL-encoded).
	S3Key string `json:"s3Key"`
	// S3VersionID is null when the manifest names no version.
	S3VersionID *string `json:"s3VersionId"`
	S3BucketArn string  `json:"s3BucketArn,omitempty"`
	S3Bucket    string  `json:"s3Bucket,omitempty"`
}

// batchResponse is what the function answers.
type batchResponse struct {
	InvocationSchemaVersion string `json:"invocationSchemaVersion"`
	TreatMissingKeysAs      string `json:"treatMissingKeysAs"`
	InvocationID            string `json:"invocationId"`
	Results                 []struct {
		TaskID       string          `json:"taskId"`
		ResultCode   string          `json:"resultCode"`
		ResultString json.RawMessage `json:"resultString"`
	} `json:"results"`
}

// invoker is the LambdaInvoke executor.
type invoker struct {
	s      *Service
	job    *Job
	fn     string
	schema string
	args   map[string]string
	// taskSalt makes task IDs differ between jobs.
	taskSalt [4]byte
}

func (s *Service) newInvoker(j *Job) *invoker {
	op := j.Operation.LambdaInvoke
	x := &invoker{s: s, job: j, fn: op.FunctionArn, schema: op.InvocationSchemaVersion}
	if x.schema == "" {
		x.schema = "1.0"
	}
	if x.schema == "2.0" {
		x.args = map[string]string{}
		for _, e := range op.UserArguments {
			x.args[e.Key] = e.Value
		}
	}
	copy(x.taskSalt[:], j.ID)
	return x
}

// taskID is an opaque ID of the task, stable across its attempts.
func (x *invoker) taskID(t *task) string {
	var b [12]byte
	copy(b[:4], x.taskSalt[:])
	binary.BigEndian.PutUint64(b[4:], uint64(t.Index))
	return base64.StdEncoding.EncodeToString(b[:])
}

func newInvocationID() string {
	var b [24]byte
	rand.Read(b[:])
	return base64.StdEncoding.EncodeToString(b[:])
}

// event builds the payload of a task.
func (x *invoker) event(t *task, taskID string) ([]byte, string) {
	ev := batchEvent{InvocationSchemaVersion: x.schema, InvocationID: newInvocationID(), Job: eventJob{ID: x.job.ID}}
	et := eventTask{TaskID: taskID, S3Key: t.Key}
	if t.VersionID != "" {
		v := t.VersionID
		et.S3VersionID = &v
	}
	if x.schema == "2.0" {
		et.S3Bucket = t.Bucket
		ev.Job.UserArguments = &x.args
	} else {
		et.S3BucketArn = "arn:aws:s3:::" + t.Bucket
	}
	ev.Tasks[0] = et
	raw, _ := json.Marshal(&ev)
	return raw, ev.InvocationID
}

func (x *invoker) run(ctx context.Context, t *task) result {
	if t.MissingVersion {
		return failed(http.StatusBadRequest, "InvalidRequest", "Task failed due to missing VersionId")
	}
	id := x.taskID(t)
	payload, _ := x.event(t, id)
	out, err := x.s.functions.Invoke(ctx, &lambda.InvokeInput{FunctionName: x.fn, Payload: payload})
	if err != nil {
		return x.invokeError(ctx, err)
	}
	res := out.Result
	if res.FunctionError != "" {
		return failed(http.StatusOK, codePermanentFailure, "Lambda returned function error: "+string(bytes.TrimSpace(res.Payload)))
	}
	return interpret(res.Payload, id)
}

// interpret reads a function's answer for task taskID.
func interpret(payload []byte, taskID string) result {
	var resp batchResponse
	trimmed := bytes.TrimSpace(payload)
	if len(trimmed) == 0 || trimmed[0] != '{' || json.Unmarshal(trimmed, &resp) != nil {
		return failed(http.StatusOK, codePermanentFailure, "Invalid JSON returned in Lambda payload")
	}
	code, msg, found := "", "", false
	for _, r := range resp.Results {
		if r.TaskID == taskID {
			code, msg, found = r.ResultCode, resultString(r.ResultString), true
			break
		}
	}
	if !found {
		code = resp.TreatMissingKeysAs
		if code == "" {
			code = codeTemporaryFailure // AWS's documented default
		}
		msg = "The function's response has no result for this task."
	}
	switch code {
	case codeSucceeded:
		return succeeded(msg)
	case codeTemporaryFailure:
		return result{kind: resultRetry, o: outcome{Failed: true, HTTPStatus: http.StatusOK, ErrorCode: codeTemporaryFailure, Message: msg}}
	case codePermanentFailure:
		return failed(http.StatusOK, codePermanentFailure, msg)
	}
	return failed(http.StatusOK, codePermanentFailure, "Invalid resultCode returned in Lambda payload: "+code)
}

// resultString is a result's resultString as text: a JSON string's
// value, "" for null or absent, any other JSON value as written.
func resultString(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

// invokeError turns an Invoke error into a result: throttles are
// retried without counting, a missing function fails the task, service
// errors are redriven.
func (x *invoker) invokeError(ctx context.Context, err error) result {
	var le *lambda.Error
	switch {
	case ctx.Err() != nil:
		return result{kind: resultAbandoned}
	case errors.As(err, &le) && le.Code == lambda.CodeTooManyRequests:
		return result{kind: resultThrottled}
	case errors.Is(err, lambda.ErrThrottled):
		return result{kind: resultThrottled}
	case errors.As(err, &le) && le.Code == lambda.CodeResourceNotFound:
		return failed(http.StatusNotFound, le.Code, le.Message)
	case errors.As(err, &le) && le.Code != lambda.CodeService:
		return failed(http.StatusBadRequest, le.Code, le.Message)
	case errors.As(err, &le):
		return result{kind: resultRetry, o: outcome{Failed: true, HTTPStatus: http.StatusInternalServerError, ErrorCode: le.Code, Message: le.Message}}
	}
	return x.s.s3Result(ctx, err)
}

// maxConcurrency is the function's reserved concurrency, -1 if it has
// none.
func (x *invoker) maxConcurrency(ctx context.Context) int {
	d, err := x.s.functions.Resolve(ctx, x.fn, "")
	if err != nil || d.ReservedConcurrency == nil {
		return -1
	}
	return *d.ReservedConcurrency
}
