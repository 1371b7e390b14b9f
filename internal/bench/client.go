package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// unsignedPayload is the x-amz-content-sha256 value that leaves bodies out of
// the signature, so the client never hashes what it sends.
const unsignedPayload = "UNSIGNED-PAYLOAD"

// client is a minimal S3 client: path-style URLs, SigV4 header signing,
// status checking. It is safe for concurrent use.
type client struct {
	http      *http.Client
	transport *http.Transport
	signer    *v4.Signer
	creds     aws.Credentials
	anonymous bool
	region    string
	bucket    string
	// bucketURL is the escaped endpoint and bucket path, without a trailing
	// slash: "http://host:port/bucket".
	bucketURL string
}

func newClient(cfg config, conns int) *client {
	tr := newTransport(conns)
	base := strings.TrimSuffix(cfg.endpoint.String(), "/")
	return &client{
		http: &http.Client{
			Transport: tr,
			Timeout:   cfg.timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		},
		transport: tr,
		signer:    v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }),
		creds:     aws.Credentials{AccessKeyID: cfg.accessKey, SecretAccessKey: cfg.secretKey},
		anonymous: cfg.accessKey == "",
		region:    cfg.region,
		bucket:    cfg.bucket,
		bucketURL: base + "/" + escapePath(cfg.bucket),
	}
}

// newTransport returns the transport of a benchmark client that keeps up
// to conns connections to its target.
func newTransport(conns int) *http.Transport {
	return &http.Transport{
		Proxy: nil, // the target is named explicitly; never go through a proxy
		DialContext: (&net.Dialer{
			Timeout:   10 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		MaxIdleConns:          conns + 16,
		MaxIdleConnsPerHost:   conns + 16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		// Decompressing would cost client CPU and change what is measured.
		DisableCompression: true,
		// Large buffers mean fewer syscalls per large body.
		ReadBufferSize:  64 << 10,
		WriteBufferSize: 64 << 10,
	}
}

func (c *client) close() { c.transport.CloseIdleConnections() }

// request builds and signs a request for key ("" addresses the bucket).
// body may be nil; otherwise size is its exact length and newBody must
// return a fresh reader over the same bytes (used for transparent retries).
func (c *client) request(ctx context.Context, method, key, rawQuery string, size int64, newBody func() io.Reader) (*http.Request, error) {
	u := c.bucketURL
	if key != "" {
		u += "/" + escapePath(key)
	}
	if rawQuery != "" {
		u += "?" + rawQuery
	}
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return nil, err
	}
	if newBody != nil {
		req.ContentLength = size
		req.Body = io.NopCloser(newBody())
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(newBody()), nil }
		if size == 0 {
			req.Body = http.NoBody
		}
	}
	if c.anonymous {
		return req, nil
	}
	req.Header.Set("X-Amz-Content-Sha256", unsignedPayload)
	if err := c.signer.SignHTTP(ctx, c.creds, req, unsignedPayload, "s3", c.region, time.Now()); err != nil {
		return nil, fmt.Errorf("sign %s %s: %w", method, req.URL.Path, err)
	}
	return req, nil
}

// do sends req and returns the response if its status is one of ok;
// otherwise it consumes the response and returns a *statusError.
func (c *client) do(req *http.Request, ok ...int) (*http.Response, error) {
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err)
	}
	for _, code := range ok {
		if resp.StatusCode == code {
			return resp, nil
		}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	return nil, &statusError{
		method:  req.Method,
		path:    req.URL.Path,
		status:  resp.StatusCode,
		code:    xmlElement(body, "Code"),
		message: xmlElement(body, "Message"),
	}
}

// discard drains and closes a response body so its connection is reused.
func discard(resp *http.Response) {
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

// put uploads size bytes from newBody() to key in one PutObject request.
func (c *client) put(ctx context.Context, key string, size int64, newBody func() io.Reader) error {
	req, err := c.request(ctx, http.MethodPut, key, "", size, newBody)
	if err != nil {
		return err
	}
	resp, err := c.do(req, http.StatusOK)
	if err != nil {
		return err
	}
	discard(resp)
	return nil
}

// get downloads key, reading the full body through buf, and fails unless
// exactly want bytes arrive (want < 0 accepts any length). It returns the
// number of bytes read.
func (c *client) get(ctx context.Context, key string, want int64, buf []byte) (int64, error) {
	req, err := c.request(ctx, http.MethodGet, key, "", 0, nil)
	if err != nil {
		return 0, err
	}
	resp, err := c.do(req, http.StatusOK)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var n int64
	for {
		m, err := resp.Body.Read(buf)
		n += int64(m)
		if err == io.EOF {
			break
		}
		if err != nil {
			return n, fmt.Errorf("GET %s: reading body after %d bytes: %w", req.URL.Path, n, err)
		}
	}
	if want >= 0 && n != want {
		return n, fmt.Errorf("GET %s: got %d bytes, want %d", req.URL.Path, n, want)
	}
	return n, nil
}

// exists reports whether key exists, using HeadObject.
func (c *client) exists(ctx context.Context, key string) (bool, error) {
	req, err := c.request(ctx, http.MethodHead, key, "", 0, nil)
	if err != nil {
		return false, err
	}
	resp, err := c.do(req, http.StatusOK, http.StatusNotFound)
	if err != nil {
		return false, err
	}
	discard(resp)
	return resp.StatusCode == http.StatusOK, nil
}

// delete removes key. Deleting a missing key is not an error in S3.
func (c *client) delete(ctx context.Context, key string) error {
	req, err := c.request(ctx, http.MethodDelete, key, "", 0, nil)
	if err != nil {
		return err
	}
	resp, err := c.do(req, http.StatusNoContent, http.StatusOK)
	if err != nil {
		return err
	}
	discard(resp)
	return nil
}

// list sends one ListObjectsV2 request and returns how many keys the page
// holds. The body is read into buf, which is reset first.
func (c *client) list(ctx context.Context, prefix, startAfter string, maxKeys int, buf *bytes.Buffer) (int, error) {
	q := url.Values{}
	q.Set("list-type", "2")
	q.Set("max-keys", strconv.Itoa(maxKeys))
	if prefix != "" {
		q.Set("prefix", prefix)
	}
	if startAfter != "" {
		q.Set("start-after", startAfter)
	}
	req, err := c.request(ctx, http.MethodGet, "", q.Encode(), 0, nil)
	if err != nil {
		return 0, err
	}
	resp, err := c.do(req, http.StatusOK)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	buf.Reset()
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		return 0, fmt.Errorf("GET %s?list-type=2: reading body: %w", req.URL.Path, err)
	}
	// Counting elements instead of decoding keeps client CPU low; without a
	// delimiter, Key only appears inside Contents.
	return bytes.Count(buf.Bytes(), []byte("<Key>")), nil
}

// ensureBucket creates the bucket unless it already exists. It reports
// whether the bucket was created.
func (c *client) ensureBucket(ctx context.Context) (bool, error) {
	req, err := c.request(ctx, http.MethodHead, "", "", 0, nil)
	if err != nil {
		return false, err
	}
	resp, err := c.do(req, http.StatusOK, http.StatusNotFound)
	if err != nil {
		return false, err
	}
	discard(resp)
	if resp.StatusCode == http.StatusOK {
		return false, nil
	}

	var body []byte
	if c.region != "" && c.region != "us-east-1" {
		body = []byte(`<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` +
			`<LocationConstraint>` + c.region + `</LocationConstraint></CreateBucketConfiguration>`)
	}
	var newBody func() io.Reader
	if body != nil {
		newBody = func() io.Reader { return bytes.NewReader(body) }
	}
	req, err = c.request(ctx, http.MethodPut, "", "", int64(len(body)), newBody)
	if err != nil {
		return false, err
	}
	resp, err = c.do(req, http.StatusOK)
	var se *statusError
	if errors.As(err, &se) && se.code == "BucketAlreadyOwnedByYou" {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	discard(resp)
	return true, nil
}

// statusError is an unexpected HTTP status from the target.
type statusError struct {
	method, path  string
	status        int
	code, message string
}

func (e *statusError) Error() string {
	s := fmt.Sprintf("%s %s: HTTP %d", e.method, e.path, e.status)
	if e.code != "" {
		s += " " + e.code
	}
	if e.message != "" {
		s += ": " + e.message
	}
	return s
}

// xmlElement returns the text of the first <name> element in body, which is
// enough to pull Code and Message out of an S3 error document.
func xmlElement(body []byte, name string) string {
	_, rest, ok := bytes.Cut(body, []byte("<"+name+">"))
	if !ok {
		return ""
	}
	text, _, ok := bytes.Cut(rest, []byte("</"+name+">"))
	if !ok {
		return ""
	}
	return string(text)
}

// escapePath percent-encodes s the way S3 canonicalises a path: everything
// except unreserved characters and '/'.
func escapePath(s string) string {
	const hex = "0123456789ABCDEF"
	clean := true
	for i := 0; i < len(s); i++ {
		if !unreserved(s[i]) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) * 3)
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if unreserved(ch) {
			b.WriteByte(ch)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[ch>>4])
		b.WriteByte(hex[ch&15])
	}
	return b.String()
}

func unreserved(ch byte) bool {
	return 'a' <= ch && ch <= 'z' || 'A' <= ch && ch <= 'Z' || '0' <= ch && ch <= '9' ||
		ch == '-' || ch == '_' || ch == '.' || ch == '~' || ch == '/'
}
