package sigv4

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
)

// streamingAuth is the Auth Verify would return for a streaming upload
// signed with the test key; the seed signature is arbitrary.
func streamingAuth(mode PayloadMode) *Auth {
	a := &Auth{Payload: mode}
	if mode != PayloadStreamingUnsignedTrailer {
		a.key = signingKey(testSecret, "20240501", "us-east-1", "s3")
		a.scope = "20240501/us-east-1/s3/aws4_request"
		a.amzDate = "20240501T120000Z"
		a.seed = strings.Repeat("5e", 32)
	}
	return a
}

// encodeChunked frames data as a client would for a.Payload: signed or
// unsigned chunks of chunkSize, the final empty chunk, the trailers (and
// their signature in the signed-trailer mode). unsortedTrailerSig signs
// the trailers in the given order instead of sorted by name.
func encodeChunked(a *Auth, data []byte, chunkSize int, trailers [][2]string, unsortedTrailerSig bool) []byte {
	var buf bytes.Buffer
	signed := a.Payload != PayloadStreamingUnsignedTrailer
	prev := a.seed
	writeChunk := func(c []byte) {
		fmt.Fprintf(&buf, "%x", len(c))
		if signed {
			sts := "AWS4-HMAC-SHA256-PAYLOAD\n" + a.amzDate + "\n" + a.scope + "\n" + prev + "\n" + emptySHA256 + "\n" + sha256HexBytes(c)
			prev = fmt.Sprintf("%x", hmacSHA256(a.key, sts))
			buf.WriteString(";chunk-signature=" + prev)
		}
		buf.WriteString("\r\n")
		if len(c) > 0 {
			buf.Write(c)
			buf.WriteString("\r\n")
		}
	}
	for off := 0; off < len(data); off += chunkSize {
		writeChunk(data[off:min(off+chunkSize, len(data))])
	}
	writeChunk(nil)
	for _, t := range trailers {
		buf.WriteString(t[0] + ":" + t[1] + "\r\n")
	}
	if a.Payload == PayloadStreamingSignedTrailer {
		order := append([][2]string(nil), trailers...)
		if !unsortedTrailerSig {
			sort.Slice(order, func(i, j int) bool { return order[i][0] < order[j][0] })
		}
		var canonical strings.Builder
		for _, t := range order {
			canonical.WriteString(t[0] + ":" + t[1] + "\n")
		}
		sts := "AWS4-HMAC-SHA256-TRAILER\n" + a.amzDate + "\n" + a.scope + "\n" + prev + "\n" + sha256Hex(canonical.String())
		fmt.Fprintf(&buf, "x-amz-trailer-signature:%x\r\n", hmacSHA256(a.key, sts))
	}
	buf.WriteString("\r\n")
	return buf.Bytes()
}

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i>>8)
	}
	return b
}

func TestBodyStreaming(t *testing.T) {
	crc := [][2]string{{"x-amz-checksum-crc32", "AAAAAA=="}}
	two := [][2]string{{"x-amz-checksum-sha256", "c2hh"}, {"x-amz-checksum-crc32", "Y3Jj"}}
	flip := func(at int) func([]byte) []byte {
		return func(b []byte) []byte { b[at] ^= 1; return b }
	}
	replace := func(old, new string) func([]byte) []byte {
		return func(b []byte) []byte { return bytes.Replace(b, []byte(old), []byte(new), 1) }
	}
	cases := []struct {
		name       string
		mode       PayloadMode
		size       int
		chunk      int
		trailers   [][2]string
		unsorted   bool
		mutate     func([]byte) []byte
		decodedLen string // x-amz-decoded-content-length; "" = correct, "-" = absent
		declared   string // x-amz-trailer
		want       *Error
	}{
		{name: "signed-empty", mode: PayloadStreamingSigned, size: 0, chunk: 8192},
		{name: "signed-one-byte", mode: PayloadStreamingSigned, size: 1, chunk: 8192},
		{name: "signed-exact-chunk", mode: PayloadStreamingSigned, size: 65536, chunk: 65536},
		{name: "signed-many", mode: PayloadStreamingSigned, size: 200000, chunk: 65536},
		{name: "signed-small-chunks", mode: PayloadStreamingSigned, size: 1 << 20, chunk: 8192, decodedLen: "-"},
		{name: "signed-data-flipped", mode: PayloadStreamingSigned, size: 100, chunk: 64, mutate: flip(100), want: ErrSignatureDoesNotMatch},
		{name: "signed-sig-flipped", mode: PayloadStreamingSigned, size: 100, chunk: 64, mutate: flip(30), want: ErrSignatureDoesNotMatch},
		{name: "signed-sig-upper", mode: PayloadStreamingSigned, size: 100, chunk: 64,
			mutate: func(b []byte) []byte {
				i := bytes.Index(b, []byte("chunk-signature=")) + len("chunk-signature=")
				copy(b[i:], bytes.ToUpper(b[i:i+64]))
				return b
			}},
		{name: "signed-sig-missing", mode: PayloadStreamingSigned, size: 100, chunk: 64,
			mutate: func(b []byte) []byte { return append(b[:2:2], b[2+17+64:]...) }, want: ErrSignatureDoesNotMatch},
		{name: "signed-final-sig-wrong", mode: PayloadStreamingSigned, size: 10, chunk: 64,
			mutate: func(b []byte) []byte { b[len(b)-10] ^= 1; return b }, want: ErrSignatureDoesNotMatch},
		{name: "signed-truncated", mode: PayloadStreamingSigned, size: 100, chunk: 64,
			mutate: func(b []byte) []byte { return b[:120] }, want: ErrIncompleteBody},
		{name: "signed-no-final-chunk", mode: PayloadStreamingSigned, size: 64, chunk: 64,
			mutate: func(b []byte) []byte { return b[:bytes.LastIndex(b, []byte("0;chunk"))] }, want: ErrIncompleteBody},
		{name: "signed-unexpected-trailer", mode: PayloadStreamingSigned, size: 10, chunk: 64,
			mutate: func(b []byte) []byte { return append(b[:len(b)-2], "x-amz-checksum-crc32:AAAA\r\n\r\n"...) }, want: ErrIncompleteBody},
		{name: "signed-decoded-longer", mode: PayloadStreamingSigned, size: 100, chunk: 64, decodedLen: "99", want: ErrIncompleteBody},
		{name: "signed-decoded-shorter", mode: PayloadStreamingSigned, size: 100, chunk: 64, decodedLen: "101", want: ErrIncompleteBody},
		{name: "signed-decoded-invalid", mode: PayloadStreamingSigned, size: 100, chunk: 64, decodedLen: "x", want: ErrIncompleteBody},
		{name: "signed-trailer", mode: PayloadStreamingSignedTrailer, size: 70000, chunk: 65536, trailers: crc, declared: "x-amz-checksum-crc32"},
		{name: "signed-trailer-two", mode: PayloadStreamingSignedTrailer, size: 10, chunk: 64, trailers: two},
		{name: "signed-trailer-two-arrival-order", mode: PayloadStreamingSignedTrailer, size: 10, chunk: 64, trailers: two, unsorted: true},
		{name: "signed-trailer-none", mode: PayloadStreamingSignedTrailer, size: 10, chunk: 64},
		{name: "signed-trailer-value", mode: PayloadStreamingSignedTrailer, size: 10, chunk: 64, trailers: crc,
			mutate: replace("AAAAAA==", "AAAAAB=="), want: ErrSignatureDoesNotMatch},
		{name: "signed-trailer-sig-wrong", mode: PayloadStreamingSignedTrailer, size: 10, chunk: 64, trailers: crc,
			mutate: func(b []byte) []byte { b[len(b)-6] ^= 1; return b }, want: ErrSignatureDoesNotMatch},
		{name: "signed-trailer-sig-missing", mode: PayloadStreamingSignedTrailer, size: 10, chunk: 64, trailers: crc,
			mutate: func(b []byte) []byte { return append(b[:bytes.Index(b, []byte("x-amz-trailer-signature"))], "\r\n"...) },
			want:   ErrSignatureDoesNotMatch},
		{name: "signed-trailer-lf-only", mode: PayloadStreamingSignedTrailer, size: 10, chunk: 64, trailers: crc,
			mutate: func(b []byte) []byte {
				i := bytes.Index(b, []byte("x-amz-checksum"))
				return append(b[:i], bytes.ReplaceAll(b[i:], []byte("\r\n"), []byte("\n"))...)
			}},
		{name: "signed-trailer-no-final-crlf", mode: PayloadStreamingSignedTrailer, size: 10, chunk: 64, trailers: crc,
			mutate: func(b []byte) []byte { return b[:len(b)-4] }},
		{name: "unsigned", mode: PayloadStreamingUnsignedTrailer, size: 200000, chunk: 65536, trailers: crc, declared: "x-amz-checksum-crc32"},
		{name: "unsigned-empty", mode: PayloadStreamingUnsignedTrailer, size: 0, chunk: 65536, trailers: crc},
		{name: "unsigned-no-trailer", mode: PayloadStreamingUnsignedTrailer, size: 5, chunk: 65536},
		{name: "unsigned-declared-missing", mode: PayloadStreamingUnsignedTrailer, size: 5, chunk: 65536,
			declared: "x-amz-checksum-crc32", want: ErrMalformedTrailer},
		{name: "unsigned-data-flipped", mode: PayloadStreamingUnsignedTrailer, size: 5, chunk: 65536, mutate: flip(3)},
		{name: "unsigned-ignores-signature-ext", mode: PayloadStreamingUnsignedTrailer, size: 5, chunk: 65536,
			mutate: replace("5\r\n", "5;chunk-signature=00\r\n")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := streamingAuth(c.mode)
			data := pattern(c.size)
			wire := encodeChunked(a, data, c.chunk, c.trailers, c.unsorted)
			if c.mutate != nil {
				wire = c.mutate(wire)
			}
			r := httptest.NewRequest("PUT", "/bucket/key", bytes.NewReader(wire))
			switch c.decodedLen {
			case "":
				r.Header.Set("X-Amz-Decoded-Content-Length", strconv.Itoa(c.size))
			case "-":
			default:
				r.Header.Set("X-Amz-Decoded-Content-Length", c.decodedLen)
			}
			if c.declared != "" {
				r.Header.Set("X-Amz-Trailer", c.declared)
			}
			got, b, err := readBody(t, a, r)
			checkErr(t, err, c.want)
			if c.want != nil {
				return
			}
			if c.mutate == nil && !bytes.Equal(got, data) {
				t.Fatalf("decoded %d bytes, want %d", len(got), len(data))
			}
			for _, tr := range c.trailers {
				if v := b.Trailer().Get(tr[0]); v != tr[1] {
					t.Fatalf("trailer %s = %q, want %q (all: %v)", tr[0], v, tr[1], b.Trailer())
				}
			}
			if _, ok := b.Trailer()["X-Amz-Trailer-Signature"]; ok {
				t.Fatal("trailer signature exposed")
			}
		})
	}
}

func TestBodyUnsignedFraming(t *testing.T) {
	cases := []struct {
		name, wire, want, trailer string
		declared                  string
		err                       *Error
	}{
		{name: "plain", wire: "3\r\nabc\r\n0\r\n\r\n", want: "abc"},
		{name: "upper-hex", wire: "A\r\n0123456789\r\n0\r\n\r\n", want: "0123456789"},
		{name: "extensions", wire: "3;foo=bar;baz\r\nabc\r\n0;x=y\r\n\r\n", want: "abc"},
		{name: "lf-only", wire: "3\nabc\r\n0\nx-amz-checksum-crc32:AAAA\n\n", want: "abc", trailer: "AAAA"},
		{name: "aws-doc-quirk", wire: "3\r\nabc\r\n0\r\nx-amz-checksum-crc32:AAAA\n\r\n\r\n", want: "abc", trailer: "AAAA"},
		{name: "trailer-spaces", wire: "3\r\nabc\r\n0\r\nX-Amz-Checksum-CRC32 : AAAA \r\n\r\n", want: "abc", trailer: "AAAA",
			declared: "X-Amz-Checksum-Crc32"},
		{name: "no-final-crlf", wire: "3\r\nabc\r\n0\r\nx-amz-checksum-crc32:AAAA\r\n", want: "abc", trailer: "AAAA"},
		{name: "no-final-crlf-no-trailer", wire: "3\r\nabc\r\n0\r\n", want: "abc"},
		{name: "no-final-newline", wire: "3\r\nabc\r\n0\r\nx-amz-checksum-crc32:AAAA", want: "abc", trailer: "AAAA"},
		{name: "empty", wire: "", err: ErrIncompleteBody},
		{name: "data-longer", wire: "3\r\nabcd\r\n0\r\n\r\n", err: ErrIncompleteBody},
		{name: "data-shorter", wire: "3\r\nab\r\n0\r\n\r\n", err: ErrIncompleteBody},
		{name: "truncated-data", wire: "3\r\nab", err: ErrIncompleteBody},
		{name: "truncated-header", wire: "3", err: ErrIncompleteBody},
		{name: "no-final-chunk", wire: "3\r\nabc\r\n", err: ErrIncompleteBody},
		{name: "bad-hex", wire: "zz\r\nabc\r\n0\r\n\r\n", err: ErrIncompleteBody},
		{name: "negative", wire: "-3\r\nabc\r\n0\r\n\r\n", err: ErrIncompleteBody},
		{name: "0x", wire: "0x3\r\nabc\r\n0\r\n\r\n", err: ErrIncompleteBody},
		{name: "empty-size", wire: ";a=b\r\nabc\r\n0\r\n\r\n", err: ErrIncompleteBody},
		{name: "too-large", wire: "1000001\r\n", err: ErrIncompleteBody},
		{name: "leading-zeros", wire: "0000000000003\r\nabc\r\n0\r\n\r\n", want: "abc"},
		{name: "too-many-digits", wire: "100000000\r\nabc\r\n0\r\n\r\n", err: ErrIncompleteBody},
		{name: "garbage-after", wire: "3\r\nabc\r\n0\r\n\r\ngarbage", err: ErrIncompleteBody},
		{name: "trailer-no-colon", wire: "3\r\nabc\r\n0\r\nnocolon\r\n\r\n", err: ErrMalformedTrailer},
		{name: "trailer-no-name", wire: "3\r\nabc\r\n0\r\n:v\r\n\r\n", err: ErrMalformedTrailer},
		{name: "trailer-too-many", wire: "3\r\nabc\r\n0\r\n" + strings.Repeat("x-a:b\r\n", 65) + "\r\n", err: ErrMalformedTrailer},
		{name: "declared-missing", wire: "3\r\nabc\r\n0\r\n\r\n", declared: "x-amz-checksum-sha256", err: ErrMalformedTrailer},
		{name: "header-line-too-long", wire: strings.Repeat("0", 70000) + "\r\n", err: ErrIncompleteBody},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, slow := range []bool{false, true} {
				var src io.Reader = strings.NewReader(c.wire)
				if slow {
					src = iotest.HalfReader(iotest.OneByteReader(src))
				}
				r := httptest.NewRequest("PUT", "/b/k", src)
				if c.declared != "" {
					r.Header.Set("X-Amz-Trailer", c.declared)
				}
				b := streamingAuth(PayloadStreamingUnsignedTrailer).Body(r)
				var out io.Reader = b
				if slow {
					out = iotest.OneByteReader(b)
				}
				got, err := io.ReadAll(out)
				checkErr(t, err, c.err)
				if c.err != nil {
					if _, again := b.Read(make([]byte, 1)); !errors.Is(again, c.err) {
						t.Fatalf("error not sticky: %v", again)
					}
					continue
				}
				if string(got) != c.want {
					t.Fatalf("got %q, want %q", got, c.want)
				}
				if v := b.Trailer().Get("X-Amz-Checksum-Crc32"); v != c.trailer {
					t.Fatalf("trailer = %q, want %q", v, c.trailer)
				}
			}
		})
	}
}

// errReader returns data, then err.
type errReader struct {
	data []byte
	err  error
}

func (e *errReader) Read(p []byte) (int, error) {
	if len(e.data) == 0 {
		return 0, e.err
	}
	n := copy(p, e.data)
	e.data = e.data[n:]
	return n, nil
}

func TestBodySignedPayload(t *testing.T) {
	data := pattern(100000)
	cases := []struct {
		name string
		src  io.Reader
		hash string
		want *Error
	}{
		{"ok", bytes.NewReader(data), sha256HexBytes(data), nil},
		{"ok-upper-hash", bytes.NewReader(data), strings.ToUpper(sha256HexBytes(data)), nil},
		{"mismatch", bytes.NewReader(data[1:]), sha256HexBytes(data), ErrContentSHA256Mismatch},
		{"empty", bytes.NewReader(nil), emptySHA256, nil},
		{"truncated", &errReader{data[:10], io.ErrUnexpectedEOF}, sha256HexBytes(data), ErrIncompleteBody},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("PUT", "/b/k", c.src)
			a := &Auth{Payload: PayloadSigned, contentSHA256: strings.ToLower(c.hash)}
			_, _, err := readBody(t, a, r)
			checkErr(t, err, c.want)
		})
	}
	// Anonymous requests take the digest from the header.
	r := httptest.NewRequest("PUT", "/b/k", bytes.NewReader(data))
	r.Header.Set("X-Amz-Content-Sha256", emptySHA256)
	_, _, err := readBody(t, &Auth{Payload: PayloadSigned}, r)
	checkErr(t, err, ErrContentSHA256Mismatch)

	// Unsigned bodies pass through; a short body is still reported.
	r = httptest.NewRequest("PUT", "/b/k", &errReader{data[:10], io.ErrUnexpectedEOF})
	_, _, err = readBody(t, &Auth{Payload: PayloadUnsigned}, r)
	checkErr(t, err, ErrIncompleteBody)
	r = httptest.NewRequest("PUT", "/b/k", nil)
	r.Body = nil
	got, _, err := readBody(t, &Auth{Payload: PayloadUnsigned}, r)
	if err != nil || len(got) != 0 {
		t.Fatalf("nil body: %q %v", got, err)
	}
}

func TestBodyPassesThroughReadErrors(t *testing.T) {
	boom := errors.New("connection reset")
	for _, mode := range []PayloadMode{PayloadSigned, PayloadStreamingSigned, PayloadUnsigned} {
		a := streamingAuth(mode)
		a.contentSHA256 = emptySHA256
		r := httptest.NewRequest("PUT", "/b/k", &errReader{[]byte("5"), boom})
		_, _, err := readBody(t, a, r)
		if !errors.Is(err, boom) {
			t.Fatalf("%v: err = %v", mode, err)
		}
	}
}

// BenchmarkBody measures decode throughput of 16 MiB bodies.
func BenchmarkBody(b *testing.B) {
	data := pattern(16 << 20)
	for _, bc := range []struct {
		name  string
		mode  PayloadMode
		chunk int
	}{
		{"streaming-signed-64KiB", PayloadStreamingSigned, 64 << 10},
		{"streaming-signed-1MiB", PayloadStreamingSigned, 1 << 20},
		{"streaming-signed-trailer-64KiB", PayloadStreamingSignedTrailer, 64 << 10},
		{"streaming-unsigned-trailer-64KiB", PayloadStreamingUnsignedTrailer, 64 << 10},
		{"sha256", PayloadSigned, 0},
		{"unsigned", PayloadUnsigned, 0},
	} {
		b.Run(bc.name, func(b *testing.B) {
			a := streamingAuth(bc.mode)
			wire := data
			switch {
			case bc.mode == PayloadStreamingSigned:
				wire = encodeChunked(a, data, bc.chunk, nil, false)
			case bc.mode.Streaming():
				wire = encodeChunked(a, data, bc.chunk, [][2]string{{"x-amz-checksum-crc32", "AAAAAA=="}}, false)
			case bc.mode == PayloadSigned:
				a.contentSHA256 = sha256HexBytes(data)
			}
			src := bytes.NewReader(wire)
			r := httptest.NewRequest("PUT", "/b/k", nil)
			buf := make([]byte, 32<<10)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				src.Reset(wire)
				r.Body = io.NopCloser(src)
				body := a.Body(r)
				n, err := io.CopyBuffer(struct{ io.Writer }{io.Discard}, struct{ io.Reader }{body}, buf)
				if err != nil || n != int64(len(data)) {
					b.Fatalf("n=%d err=%v", n, err)
				}
			}
		})
	}
}

var _ io.ReadCloser = (*Body)(nil)
