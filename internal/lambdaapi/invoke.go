package lambdaapi

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/sluicehq/sluice/internal/lambda"
)

// logTailSize is how much of the log X-Amz-Log-Result carries.
const logTailSize = 4096

// readPayload reads an invocation payload; a payload past the route's
// limit is returned truncated just beyond it, so that package lambda
// reports it with its own error.
func (rq *request) readPayload() ([]byte, error) {
	data, err := rq.readAll()
	if errors.Is(err, errBodyTooLarge) {
		return data, nil
	}
	return data, err
}

func (h *Handler) invoke(rq *request) error {
	hd := rq.r.Header
	typ := hd.Get("X-Amz-Invocation-Type")
	logType := hd.Get("X-Amz-Log-Type")
	switch logType {
	case "", "None", "Tail":
	default:
		return errorf("ValidationException", "1 validation error detected: Value '"+logType+
			"' at 'logType' failed to satisfy constraint: Member must satisfy enum value set: [None, Tail]")
	}
	// A tenant (tenant isolation) and a durable execution name (durable
	// functions) belong to functions configured for them, which sluice
	// refuses to create (configRequest.input).
	if hd.Get("X-Amz-Tenant-Id") != "" {
		return unsupported("TenantId (tenant isolation)")
	}
	if hd.Get("X-Amz-Durable-Execution-Name") != "" {
		return unsupported("DurableExecutionName (durable functions)")
	}
	payload, err := rq.readPayload()
	if err != nil {
		return err
	}
	out, err := h.lambda.Invoke(rq.ctx(), &lambda.InvokeInput{
		FunctionName:   rq.param("FunctionName"),
		Qualifier:      rq.query("Qualifier"),
		InvocationType: lambda.InvocationType(typ),
		LogTail:        logType == "Tail",
		ClientContext:  hd.Get("X-Amz-Client-Context"),
		Payload:        payload,
		// As on AWS, the response's request ID (x-amzn-RequestId, set by
		// ServeHTTP) is the invocation's: the one the function's context,
		// its log lines and its async records carry.
		RequestID: rq.id,
	})
	if err != nil {
		return err
	}
	w := rq.w
	switch lambda.InvocationType(typ) {
	case lambda.DryRun:
		writeEmpty(w, http.StatusNoContent)
		return nil
	case lambda.Event:
		writeEmpty(w, http.StatusAccepted)
		return nil
	}
	res := out.Result
	wh := w.Header()
	wh.Set("X-Amz-Executed-Version", out.ExecutedVersion)
	if res.FunctionError != "" {
		wh.Set("X-Amz-Function-Error", res.FunctionError)
	}
	if logType == "Tail" {
		tail := res.Log
		if len(tail) > logTailSize {
			tail = tail[len(tail)-logTailSize:]
		}
		wh.Set("X-Amz-Log-Result", base64.StdEncoding.EncodeToString(tail))
	}
	wh.Set("Content-Type", "application/json")
	wh.Set("Content-Length", strconv.Itoa(len(res.Payload)))
	w.WriteHeader(http.StatusOK)
	w.Write(res.Payload)
	return nil
}

// invokeAsync serves the deprecated InvokeAsync operation: an Event
// invocation answered with {"Status":202}.
func (h *Handler) invokeAsync(rq *request) error {
	payload, err := rq.readPayload()
	if err != nil {
		return err
	}
	_, err = h.lambda.Invoke(rq.ctx(), &lambda.InvokeInput{
		FunctionName:   rq.param("FunctionName"),
		InvocationType: lambda.Event,
		Payload:        payload,
	})
	if err != nil {
		return err
	}
	writeJSON(rq.w, http.StatusAccepted, &struct {
		Status int `json:"Status"`
	}{http.StatusAccepted})
	return nil
}

// codeURLExpiry is how long a Code.Location URL works, as on AWS.
const codeURLExpiry = 10 * time.Minute

// emptySHA256 is the hex SHA-256 of an empty payload, which a presigned
// GET signs.
const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// codeLocation returns the URL GetFunction reports as Code.Location: this
// adapter's package path on the host the caller used, presigned with the
// root credentials for ten minutes.
func (h *Handler) codeLocation(rq *request, function, sha string) (string, error) {
	scheme := "http"
	if rq.r.TLS != nil {
		scheme = "https"
	}
	u := url.URL{Scheme: scheme, Host: rq.r.Host, Path: "/2015-03-31/functions/" + function + "/package/" + sha + ".zip"}
	u.RawQuery = url.Values{"X-Amz-Expires": {strconv.Itoa(int(codeURLExpiry.Seconds()))}}.Encode()
	req, err := http.NewRequestWithContext(rq.ctx(), http.MethodGet, u.String(), nil)
	if err != nil {
		return "", err
	}
	creds := aws.Credentials{AccessKeyID: h.rootKey, SecretAccessKey: h.rootSecret}
	signed, _, err := v4.NewSigner().PresignHTTP(context.WithoutCancel(rq.ctx()), creds, req, emptySHA256, "lambda", h.lambda.Region(), time.Now())
	return signed, err
}

// getCodePackage serves a Code.Location URL (its presigned signature was
// verified by serve).
func (h *Handler) getCodePackage(rq *request) error {
	pkg := rq.param("Package")
	sha, ok := strings.CutSuffix(pkg, ".zip")
	if !ok || len(sha) != 64 {
		return errorf("ResourceNotFoundException", "The resource you requested does not exist.")
	}
	body, err := h.lambda.OpenCode(rq.ctx(), rq.param("FunctionName"), sha)
	if err != nil {
		return err
	}
	defer body.Close()
	wh := rq.w.Header()
	wh.Set("Content-Type", "application/zip")
	wh.Set("Content-Length", strconv.FormatInt(body.Size(), 10))
	rq.w.WriteHeader(http.StatusOK)
	if rq.r.Method != http.MethodHead {
		io.Copy(rq.w, body)
	}
	return nil
}
