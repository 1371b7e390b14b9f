package servertest

import (
	"io"
	"net/http"
)

// sdkBodyTransport works around a race in smithy-go, under every
// aws-sdk-go-v2 client, that a server as fast as sluice on loopback makes
// visible. The SDK wraps a request body in a closer whose WriteTo returns
// io.EOF as an error once closed, and closes it as soon as the response
// headers arrive. net/http, after sending Content-Length bytes, reads the
// body once more to check nothing is left over (through WriteTo when the
// body has it). When a request's headers pass the transport's 4 KiB write
// buffer (a 1,024-byte key of two-byte runes is 3 KiB percent-encoded),
// its body reaches the server before that check, the response can beat it,
// and the check fails: the transport then closes the connection under the
// response being read ("use of closed network connection" after a 200).
// With the SDK's default retries a program retries; these clients make one
// attempt so that every server error shows, so the body's WriteTo is hidden
// and the check reads a clean end of body.
type sdkBodyTransport struct{ base http.RoundTripper }

func (t sdkBodyTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return t.base.RoundTrip(req)
	}
	if _, ok := req.Body.(io.WriterTo); !ok {
		return t.base.RoundTrip(req)
	}
	r := req.Clone(req.Context())
	r.Body = readOnlyBody{req.Body}
	return t.base.RoundTrip(r)
}

// readOnlyBody is a body without WriteTo.
type readOnlyBody struct{ io.ReadCloser }

// withSDKBodyFix returns c with its transport wrapped in sdkBodyTransport.
func withSDKBodyFix(c *http.Client) *http.Client {
	base := c.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	out := *c
	out.Transport = sdkBodyTransport{base}
	return &out
}
