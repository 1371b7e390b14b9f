package bench

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

// invokePayload is the event every benchmark invoke sends.
var invokePayload = []byte(`{}`)

// lambdaClient sends Invoke requests signed with SigV4 directly, the way
// client does for S3, so the load generator spends little CPU per call.
// It is safe for concurrent use.
type lambdaClient struct {
	http        *http.Client
	transport   *http.Transport
	signer      *v4.Signer
	creds       aws.Credentials
	region      string
	base        string
	payloadHash string
}

func newLambdaClient(cfg invokeConfig, conns int) *lambdaClient {
	tr := newTransport(conns)
	sum := sha256.Sum256(invokePayload)
	return &lambdaClient{
		http:        &http.Client{Transport: tr, Timeout: cfg.timeout},
		transport:   tr,
		signer:      v4.NewSigner(),
		creds:       aws.Credentials{AccessKeyID: cfg.accessKey, SecretAccessKey: cfg.secretKey},
		region:      cfg.region,
		base:        strings.TrimSuffix(cfg.endpoint.String(), "/"),
		payloadHash: hex.EncodeToString(sum[:]),
	}
}

func (c *lambdaClient) close() { c.transport.CloseIdleConnections() }

// newLambdaAPI returns an SDK client for the control-plane calls (create,
// update, delete), with an HTTP client of its own.
func newLambdaAPI(cfg invokeConfig) *lambda.Client {
	return lambda.New(lambda.Options{
		Region:           cfg.region,
		Credentials:      credentials.NewStaticCredentialsProvider(cfg.accessKey, cfg.secretKey, ""),
		BaseEndpoint:     aws.String(strings.TrimSuffix(cfg.endpoint.String(), "/")),
		HTTPClient:       &http.Client{Timeout: cfg.timeout},
		RetryMaxAttempts: 3,
	})
}

// invokeOut is what a successful invoke reports. duration and init are
// the REPORT line's Duration and Init Duration (LogType Tail only), -1
// when absent.
type invokeOut struct {
	duration time.Duration
	init     time.Duration
}

// invoke calls a function synchronously with invokePayload; tail asks for
// the log tail and parses its REPORT line. A function error is an error.
func (c *lambdaClient) invoke(ctx context.Context, function string, tail bool) (invokeOut, error) {
	out := invokeOut{duration: -1, init: -1}
	u := c.base + "/2015-03-31/functions/" + url.PathEscape(function) + "/invocations"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(invokePayload))
	if err != nil {
		return out, err
	}
	req.Header.Set("Content-Type", "application/json")
	if tail {
		req.Header.Set("X-Amz-Log-Type", "Tail")
	}
	if err := c.signer.SignHTTP(ctx, c.creds, req, c.payloadHash, "lambda", c.region, time.Now()); err != nil {
		return out, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return out, fmt.Errorf("invoke %s: %w", function, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return out, fmt.Errorf("invoke %s: reading the response: %w", function, err)
	}
	if resp.StatusCode != http.StatusOK {
		var doc struct {
			Message  string `json:"message"`
			MessageU string `json:"Message"`
			Reason   string `json:"Reason"`
		}
		_ = json.Unmarshal(body, &doc)
		msg := doc.Message + doc.MessageU
		if doc.Reason != "" {
			msg += " (" + doc.Reason + ")"
		}
		return out, fmt.Errorf("invoke %s: HTTP %d %s: %s", function, resp.StatusCode, resp.Header.Get("X-Amzn-Errortype"), msg)
	}
	if fe := resp.Header.Get("X-Amz-Function-Error"); fe != "" {
		return out, fmt.Errorf("invoke %s: function error %s: %.300s", function, fe, body)
	}
	if tail {
		log, err := base64.StdEncoding.DecodeString(resp.Header.Get("X-Amz-Log-Result"))
		if err != nil {
			return out, fmt.Errorf("invoke %s: X-Amz-Log-Result: %w", function, err)
		}
		if d, ok := reportField(log, "Duration"); ok {
			out.duration = d
		}
		if d, ok := reportField(log, "Init Duration"); ok {
			out.init = d
		}
	}
	return out, nil
}

// reportField returns a duration field ("Duration: 1.23 ms") of the last
// REPORT line in a log.
func reportField(log []byte, name string) (time.Duration, bool) {
	i := bytes.LastIndex(log, []byte("REPORT RequestId:"))
	if i < 0 {
		return 0, false
	}
	line := log[i:]
	if j := bytes.IndexByte(line, '\n'); j >= 0 {
		line = line[:j]
	}
	for _, f := range strings.Split(string(line), "\t") {
		v, ok := strings.CutPrefix(strings.TrimSpace(f), name+": ")
		if !ok {
			continue
		}
		n, err := strconv.ParseFloat(strings.TrimSuffix(v, " ms"), 64)
		if err != nil {
			return 0, false
		}
		return time.Duration(n * float64(time.Millisecond)), true
	}
	return 0, false
}
