package e2e

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/sluicehq/sluice/internal/server/servertest"
)

// The checksums are computed here from the standard library, independently
// of sluice's checksum package. CRC-64/NVME is the reflected CRC-64 with
// polynomial 0xAD93D23594C93659 (reversed: 0x9A6C9329AC4BC9B5), initial
// value and final XOR all ones, which is exactly what hash/crc64 computes
// for that table.
var (
	crc32cTable    = crc32.MakeTable(crc32.Castagnoli)
	crc64NVMETable = crc64.MakeTable(0x9a6c9329ac4bc9b5)
)

var allAlgorithms = []types.ChecksumAlgorithm{
	types.ChecksumAlgorithmCrc32, types.ChecksumAlgorithmCrc32c, types.ChecksumAlgorithmCrc64nvme,
	types.ChecksumAlgorithmSha1, types.ChecksumAlgorithmSha256,
}

func newHash(alg types.ChecksumAlgorithm) hash.Hash {
	switch alg {
	case types.ChecksumAlgorithmCrc32:
		return crc32.NewIEEE()
	case types.ChecksumAlgorithmCrc32c:
		return crc32.New(crc32cTable)
	case types.ChecksumAlgorithmCrc64nvme:
		return crc64.New(crc64NVMETable)
	case types.ChecksumAlgorithmSha1:
		return sha1.New()
	case types.ChecksumAlgorithmSha256:
		return sha256.New()
	}
	panic("unknown algorithm " + alg)
}

// rawSum is the binary checksum of b (CRCs big-endian, as S3 encodes them).
func rawSum(alg types.ChecksumAlgorithm, b []byte) []byte {
	h := newHash(alg)
	h.Write(b)
	return h.Sum(nil)
}

// sum is the base64 checksum S3 reports for b.
func sum(alg types.ChecksumAlgorithm, b []byte) string {
	return base64.StdEncoding.EncodeToString(rawSum(alg, b))
}

func TestCRC64NVMECheckValue(t *testing.T) {
	// The catalogued check value of CRC-64/NVME.
	if got := crc64.Checksum([]byte("123456789"), crc64NVMETable); got != 0xae8b14860a799888 {
		t.Fatalf("CRC-64/NVME(123456789) = %#x, want 0xae8b14860a799888", got)
	}
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], 0xae8b14860a799888)
	if got := sum(types.ChecksumAlgorithmCrc64nvme, []byte("123456789")); got != base64.StdEncoding.EncodeToString(b[:]) {
		t.Fatalf("sum is not big-endian: %s", got)
	}
}

// checksums is the set of Checksum* fields of an SDK output.
type checksums struct {
	crc32, crc32c, crc64nvme, sha1, sha256 *string
	typ                                    types.ChecksumType
}

func (c checksums) get(alg types.ChecksumAlgorithm) string {
	return aws.ToString(map[types.ChecksumAlgorithm]*string{
		types.ChecksumAlgorithmCrc32: c.crc32, types.ChecksumAlgorithmCrc32c: c.crc32c,
		types.ChecksumAlgorithmCrc64nvme: c.crc64nvme, types.ChecksumAlgorithmSha1: c.sha1,
		types.ChecksumAlgorithmSha256: c.sha256,
	}[alg])
}

// only checks that c holds exactly the checksum want for alg.
func (c checksums) only(tb testing.TB, op string, alg types.ChecksumAlgorithm, want string, typ types.ChecksumType) {
	tb.Helper()
	for _, a := range allAlgorithms {
		got := c.get(a)
		switch {
		case a == alg && got != want:
			tb.Errorf("%s %s = %q, want %q", op, a, got, want)
		case a != alg && got != "":
			tb.Errorf("%s carries an unexpected %s checksum %q", op, a, got)
		}
	}
	if typ != "" && c.typ != typ {
		tb.Errorf("%s checksum type = %q, want %q", op, c.typ, typ)
	}
}

func putChecksums(o *s3.PutObjectOutput) checksums {
	return checksums{o.ChecksumCRC32, o.ChecksumCRC32C, o.ChecksumCRC64NVME, o.ChecksumSHA1, o.ChecksumSHA256, o.ChecksumType}
}

func getChecksums(o *s3.GetObjectOutput) checksums {
	return checksums{o.ChecksumCRC32, o.ChecksumCRC32C, o.ChecksumCRC64NVME, o.ChecksumSHA1, o.ChecksumSHA256, o.ChecksumType}
}

func headChecksums(o *s3.HeadObjectOutput) checksums {
	return checksums{o.ChecksumCRC32, o.ChecksumCRC32C, o.ChecksumCRC64NVME, o.ChecksumSHA1, o.ChecksumSHA256, o.ChecksumType}
}

// setChecksum sets the precomputed checksum header of a PutObject.
func setChecksum(in *s3.PutObjectInput, alg types.ChecksumAlgorithm, v string) {
	switch alg {
	case types.ChecksumAlgorithmCrc32:
		in.ChecksumCRC32 = aws.String(v)
	case types.ChecksumAlgorithmCrc32c:
		in.ChecksumCRC32C = aws.String(v)
	case types.ChecksumAlgorithmCrc64nvme:
		in.ChecksumCRC64NVME = aws.String(v)
	case types.ChecksumAlgorithmSha1:
		in.ChecksumSHA1 = aws.String(v)
	case types.ChecksumAlgorithmSha256:
		in.ChecksumSHA256 = aws.String(v)
	}
}

// checkStored reads an object back with checksum mode on and checks the
// stored checksum (HEAD and GET; the SDK also validates the GET body
// against it).
func (e *env) checkStored(t *testing.T, bucket, key string, body []byte, alg types.ChecksumAlgorithm) {
	t.Helper()
	got, g := e.get(bucket, key, func(in *s3.GetObjectInput) { in.ChecksumMode = types.ChecksumModeEnabled })
	if !bytes.Equal(got, body) {
		t.Errorf("GET returned %d bytes, want %d", len(got), len(body))
	}
	getChecksums(g).only(t, "GetObject", alg, sum(alg, body), types.ChecksumTypeFullObject)
	h := e.head(bucket, key, func(in *s3.HeadObjectInput) { in.ChecksumMode = types.ChecksumModeEnabled })
	headChecksums(h).only(t, "HeadObject", alg, sum(alg, body), types.ChecksumTypeFullObject)
}

func TestChecksumHeaders(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.bucket("ck-headers")
	body := randBytes(100<<10+1, 3) // above the inline threshold
	for _, alg := range allAlgorithms {
		t.Run(string(alg), func(t *testing.T) {
			key := "h/" + string(alg)
			out := e.put(b, key, body, func(in *s3.PutObjectInput) { setChecksum(in, alg, sum(alg, body)) })
			putChecksums(out).only(t, "PutObject", alg, sum(alg, body), types.ChecksumTypeFullObject)
			e.checkStored(t, b, key, body, alg)

			// A value that does not match the body is refused.
			_, err := e.c.PutObject(e.ctx, func() *s3.PutObjectInput {
				in := &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String(key + "-bad"), Body: bytes.NewReader(body)}
				setChecksum(in, alg, sum(alg, []byte("something else")))
				return in
			}())
			wantErr(t, err, "BadDigest", http.StatusBadRequest)
			_, err = e.c.HeadObject(e.ctx, &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String(key + "-bad")})
			wantErr(t, err, "NotFound", http.StatusNotFound)

			// Small (inline) bodies are verified too.
			_, err = e.c.PutObject(e.ctx, func() *s3.PutObjectInput {
				in := &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String(key + "-small"), Body: strings.NewReader("small")}
				setChecksum(in, alg, sum(alg, []byte("smalL")))
				return in
			}())
			wantErr(t, err, "BadDigest", http.StatusBadRequest)
		})
	}

	t.Run("Malformed", func(t *testing.T) {
		_, err := e.c.PutObject(e.ctx, &s3.PutObjectInput{
			Bucket: aws.String(b), Key: aws.String("malformed"), Body: strings.NewReader("x"), ChecksumCRC32: aws.String("!!"),
		})
		wantErr(t, err, "InvalidRequest", http.StatusBadRequest)
	})

	t.Run("NoChecksumSent", func(t *testing.T) {
		// S3 computes a CRC64NVME for an object uploaded without any
		// checksum (here: a presigned PUT from net/http).
		body := []byte("no checksum from the client")
		if resp, raw := e.presignedDo(http.MethodPut, b, "none", body); resp.StatusCode != http.StatusOK {
			t.Fatalf("presigned PUT: %s %s", resp.Status, raw)
		}
		e.checkStored(t, b, "none", body, types.ChecksumAlgorithmCrc64nvme)
	})

	t.Run("SDKDefault", func(t *testing.T) {
		// With default settings the SDK sends a CRC32 of every upload.
		body := []byte("sdk default checksum")
		out := e.put(b, "default", body)
		putChecksums(out).only(t, "PutObject", types.ChecksumAlgorithmCrc32, sum(types.ChecksumAlgorithmCrc32, body), types.ChecksumTypeFullObject)
		e.checkStored(t, b, "default", body, types.ChecksumAlgorithmCrc32)
	})

	t.Run("NotOnRanges", func(t *testing.T) {
		// A range is not the object: no checksum is reported for it.
		_, g := e.get(b, "h/CRC32", func(in *s3.GetObjectInput) {
			in.ChecksumMode = types.ChecksumModeEnabled
			in.Range = aws.String("bytes=0-99")
		})
		getChecksums(g).only(t, "ranged GetObject", "", "", "")
	})

	t.Run("CopyWithNewAlgorithm", func(t *testing.T) {
		out, err := e.c.CopyObject(e.ctx, &s3.CopyObjectInput{
			Bucket: aws.String(b), Key: aws.String("copied"), CopySource: aws.String(copySource(b, "h/CRC32", "")),
			ChecksumAlgorithm: types.ChecksumAlgorithmSha256,
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := aws.ToString(out.CopyObjectResult.ChecksumSHA256); got != sum(types.ChecksumAlgorithmSha256, body) {
			t.Errorf("copy SHA256 = %q", got)
		}
		e.checkStored(t, b, "copied", body, types.ChecksumAlgorithmSha256)
		// Without a new algorithm the source's checksum is kept.
		out, err = e.c.CopyObject(e.ctx, &s3.CopyObjectInput{
			Bucket: aws.String(b), Key: aws.String("copied2"), CopySource: aws.String(copySource(b, "h/CRC32C", "")),
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := aws.ToString(out.CopyObjectResult.ChecksumCRC32C); got != sum(types.ChecksumAlgorithmCrc32c, body) {
			t.Errorf("copy CRC32C = %q", got)
		}
		e.checkStored(t, b, "copied2", body, types.ChecksumAlgorithmCrc32c)
	})
}

// TestChecksumTrailers uploads with ChecksumAlgorithm set, which the SDK
// sends as an aws-chunked trailer; it only does so over TLS.
func TestChecksumTrailers(t *testing.T) {
	t.Parallel()
	n := servertest.Start(t, servertest.Options{TLS: true})
	var (
		mu       sync.Mutex
		trailers []string
	)
	record := func(o *s3.Options) {
		o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
			return st.Finalize.Add(middleware.FinalizeMiddlewareFunc("e2eRecordTrailer",
				func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
					if req, ok := in.Request.(*smithyhttp.Request); ok && req.Method == http.MethodPut {
						mu.Lock()
						trailers = append(trailers, req.Header.Get("X-Amz-Trailer"))
						mu.Unlock()
					}
					return next.HandleFinalize(ctx, in)
				}), middleware.After)
		})
	}
	e := &env{t: t, n: n, c: n.S3(checkRequestID(t), record), ctx: context.Background()}
	b := e.bucket("ck-trailers")
	for _, size := range []int{0, 1000, 300 << 10} {
		body := randBytes(size, uint64(size))
		for _, alg := range allAlgorithms {
			t.Run(fmt.Sprintf("%s/%d", alg, size), func(t *testing.T) {
				mu.Lock()
				trailers = trailers[:0]
				mu.Unlock()
				key := fmt.Sprintf("t/%s/%d", alg, size)
				out := e.put(b, key, body, func(in *s3.PutObjectInput) { in.ChecksumAlgorithm = alg })
				mu.Lock()
				sent := strings.Join(trailers, ",")
				mu.Unlock()
				// An empty body gets its checksum as a header.
				if want := "x-amz-checksum-" + strings.ToLower(string(alg)); size > 0 && sent != want {
					t.Fatalf("the SDK sent trailer %q, want %q: the test no longer covers trailers", sent, want)
				}
				putChecksums(out).only(t, "PutObject", alg, sum(alg, body), types.ChecksumTypeFullObject)
				e.checkStored(t, b, key, body, alg)
			})
		}
	}
}

// TestChecksumTrailerMismatch sends hand-built aws-chunked uploads with a
// checksum trailer (the SDK cannot be made to send a wrong one): a trailer
// that does not match the body is refused with BadDigest.
func TestChecksumTrailerMismatch(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.bucket("ck-trailer-bad")
	body := randBytes(70<<10, 9)
	send := func(t *testing.T, key string, alg types.ChecksumAlgorithm, value string) *http.Response {
		t.Helper()
		resp, raw := e.sendTrailer(t, b, key, body, alg, value)
		if resp.StatusCode != http.StatusOK {
			checkErrorDoc(t, resp, raw, http.StatusBadRequest, "BadDigest")
		}
		return resp
	}
	for _, alg := range allAlgorithms {
		t.Run(string(alg), func(t *testing.T) {
			if resp := send(t, "good-"+string(alg), alg, sum(alg, body)); resp.StatusCode != http.StatusOK {
				t.Fatalf("matching trailer: %s", resp.Status)
			}
			e.checkStored(t, b, "good-"+string(alg), body, alg)
			if resp := send(t, "bad-"+string(alg), alg, sum(alg, body[1:])); resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("mismatched trailer: %s, want 400 BadDigest", resp.Status)
			}
			_, err := e.c.HeadObject(e.ctx, &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String("bad-" + string(alg))})
			wantErr(t, err, "NotFound", http.StatusNotFound)
		})
	}
}
