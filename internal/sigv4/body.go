package sigv4

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"net/http"
	"net/textproto"
	"sort"
	"strconv"
	"strings"
)

// MaxChunkSize is the largest aws-chunked chunk Body accepts.
const MaxChunkSize = 16 << 20

const (
	bodyBufferSize  = 64 << 10
	maxTrailerLines = 64
	maxTrailerJunk  = 1 << 10 // stray CR/LF tolerated after the trailer section
)

// Body reads a request body and enforces the payload protection of its
// Auth. It decodes aws-chunked framing for the streaming modes.
//
// Read returns io.EOF only once everything has been checked: the body hash,
// every chunk and trailer signature, the decoded length and the trailer
// section. Bytes are handed out as they arrive, never buffered beyond a
// 64 KiB read buffer (a chunk's signature is checked when its last byte
// has been read, before anything of the next chunk is returned), so a
// caller must discard what it has read when Read returns any error other
// than io.EOF. Errors are *Error values (ErrContentSHA256Mismatch,
// ErrIncompleteBody, ErrSignatureDoesNotMatch, ErrMalformedTrailer) or
// errors from the underlying body, and are sticky.
type Body struct {
	src  io.ReadCloser
	br   *bufio.Reader
	mode PayloadMode
	err  error // sticky

	// PayloadSigned.
	want   string // expected lower-case hex digest
	hasher hash.Hash

	// Streaming.
	verify      bool // check chunk signatures
	amzDate     string
	scope       string
	prevSig     [64]byte  // lower-case hex of the previous signature
	chunkSig    [64]byte  // signature announced for the current chunk
	mac         hash.Hash // HMAC-SHA256 with the signing key
	sts         []byte    // scratch for strings to sign
	sum         [sha256.Size]byte
	state       int
	remaining   int64 // bytes left in the current chunk
	decoded     int64
	wantDecoded int64 // -1: unknown
	declared    []string
	trailer     http.Header
	trailerRaw  [][2]string // lower-case name, value, in arrival order
}

const (
	stateChunkHeader = iota
	stateChunkData
	stateChunkEnd
	stateTrailer
	stateDone
)

// Body wraps r.Body according to a.Payload (see Body). Call it at most once
// per request, after Verify.
func (a *Auth) Body(r *http.Request) *Body {
	src := r.Body
	if src == nil {
		src = http.NoBody
	}
	b := &Body{src: src, mode: a.Payload, wantDecoded: -1}
	switch a.Payload {
	case PayloadSigned:
		if a.bodyHashed {
			// Verify hashed the in-memory body it put in r.Body.
			b.mode = PayloadUnsigned
			break
		}
		want := a.contentSHA256
		if want == "" { // anonymous or SigV2 request with a hex header
			want = strings.ToLower(r.Header.Get("X-Amz-Content-Sha256"))
		}
		b.want, b.hasher = want, sha256.New()
	case PayloadStreamingSigned, PayloadStreamingSignedTrailer, PayloadStreamingUnsignedTrailer:
		b.br = bufio.NewReaderSize(src, bodyBufferSize)
		if h := r.Header.Get("X-Amz-Decoded-Content-Length"); h != "" {
			if n, err := strconv.ParseInt(h, 10, 64); err == nil && n >= 0 {
				b.wantDecoded = n
			} else {
				b.err = ErrIncompleteBody.with("x-amz-decoded-content-length is not a valid length: " + h)
			}
		}
		for _, h := range r.Header.Values("X-Amz-Trailer") {
			for name := range strings.SplitSeq(h, ",") {
				if name = strings.ToLower(strings.TrimSpace(name)); name != "" {
					b.declared = append(b.declared, name)
				}
			}
		}
		if a.Payload != PayloadStreamingUnsignedTrailer && a.key != nil {
			b.verify = true
			b.amzDate, b.scope = a.amzDate, a.scope
			copy(b.prevSig[:], a.seed)
			b.mac = hmac.New(sha256.New, a.key)
			b.hasher = sha256.New()
		}
	}
	return b
}

// Trailer returns the trailing headers of an aws-chunked body (for example
// X-Amz-Checksum-Crc32), keys in canonical form, without
// X-Amz-Trailer-Signature. It is complete only after Read returned io.EOF;
// it is empty for other payload modes.
func (b *Body) Trailer() http.Header {
	if b.trailer == nil {
		return http.Header{}
	}
	return b.trailer
}

// Close closes the underlying body.
func (b *Body) Close() error { return b.src.Close() }

// Read reads decoded payload bytes (see Body).
func (b *Body) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	var n int
	var err error
	switch b.mode {
	case PayloadSigned:
		n, err = b.readSigned(p)
	case PayloadStreamingSigned, PayloadStreamingSignedTrailer, PayloadStreamingUnsignedTrailer:
		n, err = b.readChunked(p)
	default:
		n, err = b.src.Read(p)
		if errors.Is(err, io.ErrUnexpectedEOF) {
			err = ErrIncompleteBody
		}
	}
	if err != nil {
		b.err = err
	}
	return n, err
}

func (b *Body) readSigned(p []byte) (int, error) {
	n, err := b.src.Read(p)
	b.hasher.Write(p[:n])
	switch {
	case err == io.EOF:
		var got [2 * sha256.Size]byte
		hex.Encode(got[:], b.hasher.Sum(b.sum[:0]))
		if string(got[:]) != b.want {
			return n, ErrContentSHA256Mismatch.with("",
				Detail{"ClientComputedContentSHA256", b.want},
				Detail{"S3ComputedContentSHA256", string(got[:])})
		}
	case errors.Is(err, io.ErrUnexpectedEOF):
		err = ErrIncompleteBody
	}
	return n, err
}

// readChunked runs the aws-chunked state machine until it has bytes for p
// or reaches the end.
func (b *Body) readChunked(p []byte) (int, error) {
	for {
		switch b.state {
		case stateChunkHeader:
			if err := b.readChunkHeader(); err != nil {
				return 0, err
			}
		case stateChunkData:
			if len(p) == 0 {
				return 0, nil
			}
			if int64(len(p)) > b.remaining {
				p = p[:b.remaining]
			}
			n, err := b.br.Read(p)
			if n > 0 {
				if b.verify {
					b.hasher.Write(p[:n])
				}
				b.remaining -= int64(n)
				b.decoded += int64(n)
				if b.wantDecoded >= 0 && b.decoded > b.wantDecoded {
					return 0, ErrIncompleteBody.with("the decoded body is longer than x-amz-decoded-content-length")
				}
				if b.remaining == 0 {
					b.state = stateChunkEnd
				}
				return n, nil
			}
			return 0, truncated(err)
		case stateChunkEnd:
			if err := b.readChunkEnd(); err != nil {
				return 0, err
			}
		case stateTrailer:
			if err := b.readTrailer(); err != nil {
				return 0, err
			}
			b.state = stateDone
		default:
			return 0, io.EOF
		}
	}
}

// truncated maps the end of the underlying body in mid-frame to
// ErrIncompleteBody and passes other errors through.
func truncated(err error) error {
	if err == nil || err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		return ErrIncompleteBody
	}
	return err
}

// readLine returns the next line without its "\n" or "\r\n". The slice is
// valid until the next read. A line longer than the buffer is malformed.
func (b *Body) readLine() ([]byte, error) {
	line, err := b.br.ReadSlice('\n')
	if err != nil {
		if err == bufio.ErrBufferFull {
			return nil, ErrIncompleteBody.with("aws-chunked line too long")
		}
		return line, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

// readChunkHeader parses "hex-size[;chunk-signature=sig][;ext...]".
func (b *Body) readChunkHeader() error {
	line, err := b.readLine()
	if err != nil {
		return truncated(err)
	}
	sizeField, exts, _ := bytes.Cut(line, []byte{';'})
	size, ok := parseHexSize(bytes.TrimSpace(sizeField))
	if !ok {
		return ErrIncompleteBody.with("invalid aws-chunked chunk size: " + strconv.Quote(string(sizeField)))
	}
	if size > MaxChunkSize {
		return ErrIncompleteBody.with("aws-chunked chunk larger than 16 MiB")
	}
	if b.verify {
		sig := chunkSignature(exts)
		if len(sig) != 64 {
			return ErrSignatureDoesNotMatch.with("missing or malformed chunk-signature")
		}
		for i, c := range sig {
			if 'A' <= c && c <= 'F' {
				c += 'a' - 'A'
			}
			b.chunkSig[i] = c
		}
		b.hasher.Reset()
	}
	b.remaining = size
	if size == 0 {
		if err := b.checkChunkSignature(); err != nil {
			return err
		}
		if b.wantDecoded >= 0 && b.decoded != b.wantDecoded {
			return ErrIncompleteBody.with("the decoded body is shorter than x-amz-decoded-content-length")
		}
		b.state = stateTrailer
		return nil
	}
	b.state = stateChunkData
	return nil
}

// chunkSignature finds the chunk-signature extension value.
func chunkSignature(exts []byte) []byte {
	for len(exts) > 0 {
		var ext []byte
		ext, exts, _ = bytes.Cut(exts, []byte{';'})
		k, v, _ := bytes.Cut(ext, []byte{'='})
		if string(bytes.TrimSpace(k)) == "chunk-signature" {
			return bytes.TrimSpace(v)
		}
	}
	return nil
}

// parseHexSize parses hex digits (no sign, no 0x); leading zeros aside,
// at most 8 of them.
func parseHexSize(s []byte) (int64, bool) {
	if len(s) == 0 {
		return 0, false
	}
	for len(s) > 1 && s[0] == '0' {
		s = s[1:]
	}
	if len(s) > 8 {
		return 0, false
	}
	var n int64
	for _, c := range s {
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		n = n<<4 | int64(d)
	}
	return n, true
}

// readChunkEnd consumes the CRLF after chunk data and checks the chunk
// signature. Unlike other line ends, this one must be exactly CRLF: a bare
// LF would let a short chunk swallow the CR.
func (b *Body) readChunkEnd() error {
	crlf, err := b.br.Peek(2)
	if err != nil {
		return truncated(err)
	}
	if crlf[0] != '\r' || crlf[1] != '\n' {
		return ErrIncompleteBody.with("aws-chunked chunk data does not match its declared size")
	}
	b.br.Discard(2)
	if err := b.checkChunkSignature(); err != nil {
		return err
	}
	b.state = stateChunkHeader
	return nil
}

// checkChunkSignature verifies the current chunk (its data is in
// b.hasher) against b.chunkSig and advances the signature chain.
func (b *Body) checkChunkSignature() error {
	if !b.verify {
		return nil
	}
	var dataHex [2 * sha256.Size]byte
	hex.Encode(dataHex[:], b.hasher.Sum(b.sum[:0]))
	b.sts = b.sts[:0]
	b.sts = append(b.sts, "AWS4-HMAC-SHA256-PAYLOAD\n"...)
	b.sts = append(b.sts, b.amzDate...)
	b.sts = append(b.sts, '\n')
	b.sts = append(b.sts, b.scope...)
	b.sts = append(b.sts, '\n')
	b.sts = append(b.sts, b.prevSig[:]...)
	b.sts = append(b.sts, '\n')
	b.sts = append(b.sts, emptySHA256...)
	b.sts = append(b.sts, '\n')
	b.sts = append(b.sts, dataHex[:]...)
	if !b.macEquals(b.chunkSig[:]) {
		return ErrSignatureDoesNotMatch.with("The chunk signature we calculated does not match the signature you provided.")
	}
	b.prevSig = b.chunkSig
	return nil
}

// macEquals computes the HMAC of b.sts and compares its hex with want.
func (b *Body) macEquals(want []byte) bool {
	b.mac.Reset()
	b.mac.Write(b.sts)
	var got [2 * sha256.Size]byte
	hex.Encode(got[:], b.mac.Sum(b.sum[:0]))
	return hmac.Equal(got[:], want)
}

// readTrailer reads the trailer section after the final chunk: lines
// "name:value" up to an empty line or the end of the body, the signed
// mode's x-amz-trailer-signature among them. Real clients differ in line
// endings, so "\n" and "\r\n" are both accepted, as are stray line breaks
// after the section.
func (b *Body) readTrailer() error {
	var sig string
	for lines := 0; ; lines++ {
		line, err := b.readLine()
		if err == io.EOF && len(line) == 0 {
			break
		}
		if err == io.EOF {
			line = bytes.TrimRight(line, "\r") // last line without its newline
		} else if err != nil {
			return truncated(err)
		}
		if len(line) == 0 {
			// minio-go ends its trailing headers with "\n\r\n", an empty
			// line before x-amz-trailer-signature: keep looking for it.
			if b.mode == PayloadStreamingSignedTrailer && sig == "" && len(b.trailerRaw) > 0 && lines < maxTrailerLines {
				continue
			}
			break
		}
		if b.mode == PayloadStreamingSigned {
			return ErrIncompleteBody.with("unexpected data after the final aws-chunked chunk")
		}
		if lines >= maxTrailerLines {
			return ErrMalformedTrailer.with("too many trailing headers")
		}
		name, value, ok := bytes.Cut(line, []byte{':'})
		if !ok || len(bytes.TrimSpace(name)) == 0 {
			return ErrMalformedTrailer
		}
		n := strings.ToLower(string(bytes.TrimSpace(name)))
		v := string(bytes.TrimSpace(value))
		if n == "x-amz-trailer-signature" {
			sig = v
		} else {
			b.trailerRaw = append(b.trailerRaw, [2]string{n, v})
		}
		if err == io.EOF {
			break
		}
	}
	if err := b.drain(); err != nil {
		return err
	}
	if b.mode == PayloadStreamingSignedTrailer && b.verify {
		if err := b.checkTrailerSignature(sig); err != nil {
			return err
		}
	}
	b.trailer = make(http.Header, len(b.trailerRaw))
	for _, kv := range b.trailerRaw {
		b.trailer.Add(textproto.CanonicalMIMEHeaderKey(kv[0]), kv[1])
	}
	for _, name := range b.declared {
		if _, ok := b.trailer[textproto.CanonicalMIMEHeaderKey(name)]; !ok {
			return ErrMalformedTrailer.with("The trailing header " + name + " announced in x-amz-trailer is missing.")
		}
	}
	return nil
}

// drain accepts only line breaks between the trailer section and the end
// of the body.
func (b *Body) drain() error {
	for i := 0; ; i++ {
		c, err := b.br.ReadByte()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if (c != '\r' && c != '\n') || i >= maxTrailerJunk {
			return ErrIncompleteBody.with("unexpected data after the aws-chunked trailer")
		}
	}
}

// checkTrailerSignature verifies x-amz-trailer-signature: the HMAC of
//
//	AWS4-HMAC-SHA256-TRAILER\n<date>\n<scope>\n<final chunk signature>\n<hex sha256(trailers)>
//
// where trailers is "name:value\n" for each trailing header, names lower
// case and sorted (as the AWS SDKs for .NET, Kotlin and the CRT write it);
// the order of arrival is tried too, which differs only with several
// trailers.
func (b *Body) checkTrailerSignature(sig string) error {
	if len(sig) != 64 {
		return ErrSignatureDoesNotMatch.with("missing or malformed x-amz-trailer-signature")
	}
	want := []byte(strings.ToLower(sig))
	sorted := make([][2]string, len(b.trailerRaw))
	copy(sorted, b.trailerRaw)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i][0] < sorted[j][0] })
	for _, order := range [][][2]string{sorted, b.trailerRaw} {
		h := sha256.New()
		for _, kv := range order {
			h.Write([]byte(kv[0]))
			h.Write([]byte{':'})
			h.Write([]byte(kv[1]))
			h.Write([]byte{'\n'})
		}
		var sum [sha256.Size]byte
		var trailerHex [2 * sha256.Size]byte
		hex.Encode(trailerHex[:], h.Sum(sum[:0]))
		b.sts = b.sts[:0]
		b.sts = append(b.sts, "AWS4-HMAC-SHA256-TRAILER\n"...)
		b.sts = append(b.sts, b.amzDate...)
		b.sts = append(b.sts, '\n')
		b.sts = append(b.sts, b.scope...)
		b.sts = append(b.sts, '\n')
		b.sts = append(b.sts, b.prevSig[:]...)
		b.sts = append(b.sts, '\n')
		b.sts = append(b.sts, trailerHex[:]...)
		if b.macEquals(want) {
			return nil
		}
	}
	return ErrSignatureDoesNotMatch.with("The trailer signature we calculated does not match the signature you provided.")
}
