package sigv4

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"testing"
	"time"
)

// The example credentials of the AWS documentation.
const (
	testAKID   = "AKIAIOSFODNN7EXAMPLE"
	testSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

// fakeCredentials is a CredentialStore backed by a map.
type fakeCredentials map[string]string

func (f fakeCredentials) Secret(_ context.Context, id string) (string, error) {
	s, ok := f[id]
	if !ok {
		return "", ErrInvalidAccessKeyID
	}
	return s, nil
}

var _ CredentialStore = fakeCredentials(nil)

// newVerifier returns a Verifier knowing the test key whose clock is
// stuck at now.
func newVerifier(now time.Time) *Verifier {
	return &Verifier{
		Credentials: fakeCredentials{testAKID: testSecret},
		Now:         func() time.Time { return now },
	}
}

// serverSide returns req as a server would see it: it is written in wire
// format and parsed back with http.ReadRequest.
func serverSide(tb testing.TB, req *http.Request) *http.Request {
	tb.Helper()
	var buf bytes.Buffer
	if err := req.Write(&buf); err != nil {
		tb.Fatalf("write request: %v", err)
	}
	return mustReadRequest(tb, buf.Bytes())
}

// mustReadRequest parses a raw HTTP/1.1 request; its body is in memory.
func mustReadRequest(tb testing.TB, raw []byte) *http.Request {
	tb.Helper()
	r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		tb.Fatalf("read request: %v", err)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		tb.Fatalf("read request body: %v", err)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return r
}

// mustReadHTTPFile parses a request stored in wire format.
func mustReadHTTPFile(tb testing.TB, path string) *http.Request {
	tb.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return mustReadRequest(tb, raw)
}

// amzTime returns the request's X-Amz-Date (header or query) as a time.
func amzTime(tb testing.TB, r *http.Request) time.Time {
	tb.Helper()
	s := r.Header.Get("X-Amz-Date")
	if s == "" {
		s = r.URL.Query().Get("X-Amz-Date")
	}
	t, err := time.Parse(amzDateLayout, s)
	if err != nil {
		tb.Fatalf("request has no usable X-Amz-Date: %v", err)
	}
	return t
}

// checkErr fails unless err matches want (nil meaning success) and, when it
// is an *Error, carries the sentinel's code and status.
func checkErr(tb testing.TB, err error, want *Error) {
	tb.Helper()
	if want == nil {
		if err != nil {
			tb.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if !errors.Is(err, want) {
		tb.Fatalf("error = %v, want %v", err, want)
	}
	var e *Error
	if !errors.As(err, &e) || e.Code != want.Code || e.Status != want.Status {
		tb.Fatalf("error = %#v, want code %s status %d", err, want.Code, want.Status)
	}
}

// readBody reads the whole Body of a verified request.
func readBody(tb testing.TB, a *Auth, r *http.Request) ([]byte, *Body, error) {
	tb.Helper()
	b := a.Body(r)
	defer b.Close()
	data, err := io.ReadAll(b)
	return data, b, err
}
