package runtimeapi

import (
	"bufio"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

// The requests runtime clients send, and near misses.
var quickCases = []struct {
	name  string
	raw   string
	quick bool // quickRequest takes it
}{
	{"next", "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: 127.0.0.1:4\r\nUser-Agent: aws-lambda-go/go1.26\r\nAccept-Encoding: gzip\r\n\r\n", true},
	{"aws-lambda-go response", "POST /2018-06-01/runtime/invocation/60f0d2d4-77a8/response HTTP/1.1\r\nHost: 127.0.0.1:4\r\nUser-Agent: x\r\n" +
		"Transfer-Encoding: chunked\r\nContent-Type: application/json\r\nTrailer: Lambda-Runtime-Function-Error-Body,Lambda-Runtime-Function-Error-Type\r\n" +
		"Accept-Encoding: gzip\r\n\r\n4\r\nnull\r\n0\r\n\r\n", true},
	{"aws-lambda-go error trailer", "POST /2018-06-01/runtime/invocation/id/response HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n" +
		"Trailer: Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body\r\n\r\n3\r\nabc\r\n0\r\n" +
		"Lambda-Runtime-Function-Error-Type: Runtime.Boom\r\nLambda-Runtime-Function-Error-Body: eyJ9\r\n\r\n", true},
	{"chunk extension", "POST /2018-06-01/runtime/invocation/id/response HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\n\r\n", true},
	{"content length", "POST /2018-06-01/runtime/invocation/id/error HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n" +
		"Lambda-Runtime-Function-Error-Type: Handled\r\nlambda-runtime-function-error-type: Second\r\nContent-Type: application/json\r\n\r\nhello", true},
	{"connection close", "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", true},
	{"keep-alive, zero length", "POST /2018-06-01/runtime/init/error HTTP/1.1\r\nHost: h\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n", true},
	{"pipelined", "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: h\r\n\r\nGET /x HTTP/1.1\r\nHost: h\r\n\r\n", true},
	{"HTTP/1.0", "GET /2018-06-01/runtime/invocation/next HTTP/1.0\r\n\r\n", false},
	{"no host", "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\n\r\n", false},
	{"two hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", false},
	{"escaped path", "GET /a%20b HTTP/1.1\r\nHost: h\r\n\r\n", false},
	{"query", "GET /next?x=1 HTTP/1.1\r\nHost: h\r\n\r\n", false},
	{"absolute URI", "GET http://h/next HTTP/1.1\r\nHost: h\r\n\r\n", false},
	{"other method", "PUT /x HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\nx", false},
	{"expect", "POST /x HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx", false},
	{"length and chunked", "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", false},
	{"gzip encoding", "POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", false},
	{"bad length", "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 1x\r\n\r\nx", false},
	{"two lengths", "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", false},
	{"folded header", "GET /x HTTP/1.1\r\nHost: h\r\nX-A: a\r\n b\r\n\r\n", false},
	{"bare LF", "GET /x HTTP/1.1\nHost: h\n\n", false},
	{"space in name", "GET /x HTTP/1.1\r\nHost: h\r\nX A: a\r\n\r\n", false},
	{"control in value", "GET /x HTTP/1.1\r\nHost: h\r\nX-A: a\x01\r\n\r\n", false},
	{"GET with body", "GET /x HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\nx", false},
	{"upgrade", "GET /x HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", false},
	{"bad trailer key", "POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTrailer: Content-Length\r\n\r\n0\r\n\r\n", false},
	{"trailer without chunks", "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nTrailer: X-A\r\n\r\nx", false},
	{"incomplete header", "GET /x HTTP/1.1\r\nHost: h\r\n", false},
}

// summary is what the Runtime API uses of a request, its body, and what
// is left on the connection after it.
type summary struct {
	Method, Path, Host string
	Close              bool
	ContentLength      int64
	Runtime            http.Header
	Body               string
	BodyErr            bool
	Trailer            http.Header
	Rest               string
}

func summarize(t *testing.T, req *http.Request, br *bufio.Reader) summary {
	t.Helper()
	s := summary{Method: req.Method, Path: req.URL.Path, Host: req.Host, Close: req.Close, ContentLength: req.ContentLength, Runtime: http.Header{}}
	for k, v := range req.Header {
		if strings.HasPrefix(k, "Lambda-Runtime-") {
			s.Runtime[k] = v
		}
	}
	body, err := io.ReadAll(req.Body)
	s.Body, s.BodyErr = string(body), err != nil
	s.Trailer = http.Header{}
	for k, v := range req.Trailer {
		if len(v) > 0 {
			s.Trailer[k] = v
		}
	}
	rest, _ := io.ReadAll(br)
	s.Rest = string(rest)
	return s
}

// TestQuickRequestMatchesReadRequest checks quickRequest against
// http.ReadRequest on every request it takes, and that it takes exactly
// the ones it should.
func TestQuickRequestMatchesReadRequest(t *testing.T) {
	for _, c := range quickCases {
		t.Run(c.name, func(t *testing.T) {
			br := bufio.NewReader(strings.NewReader(c.raw))
			br.Peek(1)
			req := quickRequest(br)
			if (req != nil) != c.quick {
				t.Fatalf("quickRequest took it: %v, want %v", req != nil, c.quick)
			}
			if req == nil {
				if br.Buffered() != len(c.raw) {
					t.Fatalf("quickRequest consumed input it did not take")
				}
				return
			}
			got := summarize(t, req, br)
			wbr := bufio.NewReader(strings.NewReader(c.raw))
			wreq, err := http.ReadRequest(wbr)
			if err != nil {
				t.Fatalf("http.ReadRequest: %v", err)
			}
			if want := summarize(t, wreq, wbr); !reflect.DeepEqual(got, want) {
				t.Fatalf("quickRequest:\n%+v\nhttp.ReadRequest:\n%+v", got, want)
			}
		})
	}
}

// TestQuickRequestTruncatedBody: a chunked body cut short is an error,
// as net/http reports it.
func TestQuickRequestTruncatedBody(t *testing.T) {
	for _, raw := range []string{
		"POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
		"POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n",
		"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nab",
	} {
		br := bufio.NewReader(strings.NewReader(raw))
		br.Peek(1)
		req := quickRequest(br)
		if req == nil {
			t.Fatalf("%q: not taken", raw)
		}
		if _, err := io.ReadAll(req.Body); err == nil {
			t.Errorf("%q: body read without error", raw)
		}
	}
}

func BenchmarkReadRequest(b *testing.B) {
	for _, c := range quickCases[:2] {
		for _, quick := range []bool{false, true} {
			name := c.name + "/net-http"
			if quick {
				name = c.name + "/quick"
			}
			b.Run(name, func(b *testing.B) {
				sr := strings.NewReader(c.raw)
				br := bufio.NewReader(sr)
				b.ReportAllocs()
				for b.Loop() {
					sr.Reset(c.raw)
					br.Reset(sr)
					br.Peek(1)
					var req *http.Request
					if quick {
						req = quickRequest(br)
					} else {
						req, _ = http.ReadRequest(br)
					}
					io.Copy(io.Discard, req.Body)
				}
			})
		}
	}
}
