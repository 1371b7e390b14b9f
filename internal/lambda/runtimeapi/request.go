package runtimeapi

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/http/httputil"
	"net/textproto"
	"net/url"
)

// readRequest reads the connection's next request. One in the shape
// runtime clients send — HTTP/1.1 GET or POST, a plain path, its whole
// header already buffered, Content-Length or chunked, nothing net/http
// would treat specially — is parsed by quickRequest without net/http's
// header map, URL parser and body machinery (about half the server's
// cost of a Runtime API request); any other goes to http.ReadRequest, so
// its handling (and its replies to malformed input) is net/http's.
func (c *conn) readRequest() (*http.Request, error) {
	if c.br.Buffered() == 0 {
		if _, err := c.br.Peek(1); err != nil {
			return nil, err
		}
	}
	if req := quickRequest(c.br); req != nil {
		return req, nil
	}
	return http.ReadRequest(c.br)
}

// chunkedTE is the TransferEncoding of a chunked request; read only.
var chunkedTE = []string{"chunked"}

// quickRequest parses the buffered request at the head of br and
// consumes its header, or returns nil (consuming nothing) when the
// request is not one it handles. The Header it returns holds only the
// Lambda-Runtime-* fields, which are all the Runtime API reads.
func quickRequest(br *bufio.Reader) *http.Request {
	buf, _ := br.Peek(br.Buffered())
	end := bytes.Index(buf, []byte("\r\n\r\n"))
	if end < 0 {
		return nil
	}
	head := buf[:end]
	i := bytes.Index(head, []byte("\r\n"))
	if i < 0 {
		i = len(head)
	}
	method, target, ok := requestLine(head[:i])
	if !ok {
		return nil
	}
	req := &http.Request{Method: method, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, RequestURI: target}
	var (
		hasHost, hasLength, chunked bool
		length                      int64
		declared                    []byte
	)
	for rest := head[min(i+2, len(head)):]; len(rest) > 0; {
		line := rest
		if j := bytes.Index(rest, []byte("\r\n")); j >= 0 {
			line, rest = rest[:j], rest[j+2:]
		} else {
			rest = nil
		}
		name, value, ok := headerLine(line)
		if !ok {
			return nil
		}
		switch {
		case is(name, "Host"):
			if hasHost {
				return nil
			}
			hasHost, req.Host = true, string(value)
		case is(name, "Content-Length"):
			if hasLength || len(value) == 0 || len(value) > 15 {
				return nil
			}
			for _, d := range value {
				if d < '0' || d > '9' {
					return nil
				}
				length = length*10 + int64(d-'0')
			}
			hasLength = true
		case is(name, "Transfer-Encoding"):
			if chunked || string(value) != "chunked" {
				return nil
			}
			chunked = true
		case is(name, "Connection"):
			switch {
			case is(value, "keep-alive"):
			case is(value, "close"):
				req.Close = true
			default:
				return nil
			}
		case is(name, "Trailer"):
			if declared != nil {
				return nil
			}
			declared = value
		case is(name, "Expect"), is(name, "Upgrade"):
			return nil
		case len(name) > len("Lambda-Runtime-") && is(name[:len("Lambda-Runtime-")], "Lambda-Runtime-"):
			if req.Header == nil {
				req.Header = make(http.Header, 2)
			}
			k := textproto.CanonicalMIMEHeaderKey(string(name))
			req.Header[k] = append(req.Header[k], string(value))
		}
	}
	if !hasHost || hasLength && chunked || (chunked || length > 0) && method != http.MethodPost {
		return nil
	}
	if declared != nil {
		if !chunked {
			return nil
		}
		// The declared names are checked as net/http checks them; the
		// Trailer map is made when a trailer arrives (see readTrailer).
		for rest, more := declared, true; more; {
			var field []byte
			field, rest, more = bytes.Cut(rest, []byte(","))
			field = bytes.Trim(field, " \t")
			if len(field) == 0 || is(field, "Transfer-Encoding") || is(field, "Trailer") || is(field, "Content-Length") {
				return nil
			}
		}
	}
	req.URL = &url.URL{Path: target}
	switch {
	case chunked:
		req.ContentLength, req.TransferEncoding = -1, chunkedTE
		req.Body = &chunkedBody{r: httputil.NewChunkedReader(br), br: br, req: req}
	case length > 0:
		req.ContentLength = length
		req.Body = &lengthBody{br: br, n: length}
	default:
		req.Body = http.NoBody
	}
	_, _ = br.Discard(end + 4)
	return req
}

// requestLine splits "GET /path HTTP/1.1", accepting only GET and POST,
// HTTP/1.1, and a path of unreserved characters and '/'.
func requestLine(line []byte) (method, target string, ok bool) {
	switch {
	case bytes.HasPrefix(line, []byte("GET ")):
		method, line = http.MethodGet, line[4:]
	case bytes.HasPrefix(line, []byte("POST ")):
		method, line = http.MethodPost, line[5:]
	default:
		return "", "", false
	}
	path, ok := bytes.CutSuffix(line, []byte(" HTTP/1.1"))
	if !ok || len(path) == 0 || path[0] != '/' {
		return "", "", false
	}
	for _, b := range path {
		if !(b == '/' || b == '-' || b == '.' || b == '_' || b == '~' ||
			'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9') {
			return "", "", false
		}
	}
	return method, string(path), true
}

// headerLine splits "Name: value", accepting a name of letters, digits
// and '-' and a value of visible characters, spaces and tabs; the value
// is trimmed.
func headerLine(line []byte) (name, value []byte, ok bool) {
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 {
		return nil, nil, false
	}
	for _, b := range line[:colon] {
		if !(b == '-' || 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9') {
			return nil, nil, false
		}
	}
	value = line[colon+1:]
	for _, b := range value {
		if b < ' ' && b != '\t' || b == 0x7f {
			return nil, nil, false
		}
	}
	return line[:colon], bytes.Trim(value, " \t"), true
}

// is reports whether b is s, ignoring ASCII case.
func is(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// lengthBody is a Content-Length body.
type lengthBody struct {
	br *bufio.Reader
	n  int64
}

func (b *lengthBody) Read(p []byte) (int, error) {
	if b.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > b.n {
		p = p[:b.n]
	}
	n, err := b.br.Read(p)
	b.n -= int64(n)
	if err == io.EOF && b.n > 0 {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

func (b *lengthBody) Close() error { return nil }

// chunkedBody is a chunked body; at its end it reads the trailer into
// the request's Trailer, as net/http does.
type chunkedBody struct {
	r    io.Reader
	br   *bufio.Reader
	req  *http.Request
	err  error
	done bool
}

func (b *chunkedBody) Read(p []byte) (int, error) {
	if b.done {
		return 0, b.err
	}
	n, err := b.r.Read(p)
	if err == io.EOF {
		if terr := b.readTrailer(); terr != nil {
			err = terr
		}
	}
	if err != nil {
		b.done, b.err = true, err
	}
	return n, err
}

func (b *chunkedBody) readTrailer() error {
	end, err := b.br.Peek(2)
	if err != nil {
		return io.ErrUnexpectedEOF
	}
	if string(end) == "\r\n" {
		_, _ = b.br.Discard(2)
		return nil
	}
	h, err := textproto.NewReader(b.br).ReadMIMEHeader()
	if err != nil {
		return err
	}
	if b.req.Trailer == nil {
		b.req.Trailer = make(http.Header, len(h))
	}
	for k, vs := range h {
		b.req.Trailer[k] = vs
	}
	return nil
}

func (b *chunkedBody) Close() error { return nil }
