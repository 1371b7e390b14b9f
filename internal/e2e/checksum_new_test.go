package e2e

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/cespare/xxhash/v2"
	"github.com/zeebo/xxh3"

	"github.com/sluicehq/sluice/internal/server/servertest"
)

// The checksum algorithms S3 added in 2025. aws-sdk-go-v2 sends any of
// them given a precomputed value and computes only SHA512 itself (asked to
// compute the others it fails before sending); it validates SHA512 on
// download. The digests are computed here from the standard library and
// the xxHash libraries directly, not through sluice's checksum package.
var newAlgorithms = []types.ChecksumAlgorithm{
	types.ChecksumAlgorithmSha512, types.ChecksumAlgorithmMd5,
	types.ChecksumAlgorithmXxhash64, types.ChecksumAlgorithmXxhash3, types.ChecksumAlgorithmXxhash128,
}

func newAlgHash(alg types.ChecksumAlgorithm) hash.Hash {
	switch alg {
	case types.ChecksumAlgorithmSha512:
		return sha512.New()
	case types.ChecksumAlgorithmMd5:
		return md5.New()
	case types.ChecksumAlgorithmXxhash64:
		return xxhash.New()
	case types.ChecksumAlgorithmXxhash3:
		return xxh3.New()
	case types.ChecksumAlgorithmXxhash128:
		return xxh3.New128()
	}
	return newHash(alg)
}

// newSum is the base64 checksum S3 reports for b under any algorithm.
func newSum(alg types.ChecksumAlgorithm, b []byte) string {
	h := newAlgHash(alg)
	h.Write(b)
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// newComposite is the COMPOSITE checksum of parts: the digest of the
// concatenated raw part digests, then "-" and the part count.
func newComposite(alg types.ChecksumAlgorithm, parts ...[]byte) string {
	h := newAlgHash(alg)
	for _, p := range parts {
		ph := newAlgHash(alg)
		ph.Write(p)
		h.Write(ph.Sum(nil))
	}
	return fmt.Sprintf("%s-%d", base64.StdEncoding.EncodeToString(h.Sum(nil)), len(parts))
}

// The xxHash digests are sent in canonical big-endian form; these are the
// AWS common runtime's own vectors (aws-c-checksums tests/xxhash_test.c),
// which the SDKs' CRT-based implementations produce.
func TestNewChecksumVectors(t *testing.T) {
	for alg, want := range map[types.ChecksumAlgorithm]string{
		types.ChecksumAlgorithmXxhash64:  "c500b0c912b376d8",
		types.ChecksumAlgorithmXxhash3:   "b6acb9d84a38ff74",
		types.ChecksumAlgorithmXxhash128: "7351f89812f97382b91d05b31e04dd7f",
	} {
		raw, _ := base64.StdEncoding.DecodeString(newSum(alg, []byte("Hello world")))
		if got := fmt.Sprintf("%x", raw); got != want {
			t.Errorf("%s(Hello world) = %s, want %s", alg, got, want)
		}
	}
}

// checksumField returns the Checksum<ALG> field of an SDK input or output
// struct (every algorithm's field is named so), or an invalid Value.
func checksumField(v any, alg types.ChecksumAlgorithm) reflect.Value {
	return reflect.Indirect(reflect.ValueOf(v)).FieldByName("Checksum" + string(alg))
}

// setSum sets the precomputed checksum of an SDK input.
func setSum(in any, alg types.ChecksumAlgorithm, v string) {
	checksumField(in, alg).Set(reflect.ValueOf(aws.String(v)))
}

// sumsOf returns the non-empty Checksum<ALG> fields of an SDK struct.
func sumsOf(v any) map[types.ChecksumAlgorithm]string {
	out := map[types.ChecksumAlgorithm]string{}
	for _, a := range types.ChecksumAlgorithmCrc32.Values() {
		if f := checksumField(v, a); f.IsValid() && !f.IsNil() && f.Elem().String() != "" {
			out[a] = f.Elem().String()
		}
	}
	return out
}

// wantOnly checks that an SDK struct carries exactly one checksum, want
// under alg.
func wantOnly(tb testing.TB, op string, v any, alg types.ChecksumAlgorithm, want string) {
	tb.Helper()
	got := sumsOf(v)
	if len(got) != 1 || got[alg] != want {
		tb.Errorf("%s checksums = %v, want only %s %s", op, got, alg, want)
	}
}

// checkStoredNew reads an object back with checksum mode on (GET, HEAD,
// GetObjectAttributes) and checks its checksum, want of type typ.
func (e *env) checkStoredNew(t *testing.T, bucket, key string, body []byte, alg types.ChecksumAlgorithm, want string, typ types.ChecksumType) {
	t.Helper()
	got, g := e.get(bucket, key, func(in *s3.GetObjectInput) { in.ChecksumMode = types.ChecksumModeEnabled })
	if !bytes.Equal(got, body) {
		t.Errorf("GET returned %d bytes, want %d", len(got), len(body))
	}
	wantOnly(t, "GetObject", g, alg, want)
	h := e.head(bucket, key, func(in *s3.HeadObjectInput) { in.ChecksumMode = types.ChecksumModeEnabled })
	wantOnly(t, "HeadObject", h, alg, want)
	if g.ChecksumType != typ || h.ChecksumType != typ {
		t.Errorf("checksum type GET %q HEAD %q, want %q", g.ChecksumType, h.ChecksumType, typ)
	}
	attrs, err := e.c.GetObjectAttributes(e.ctx, &s3.GetObjectAttributesInput{Bucket: aws.String(bucket), Key: aws.String(key),
		ObjectAttributes: []types.ObjectAttributes{types.ObjectAttributesChecksum}})
	if err != nil {
		t.Fatalf("GetObjectAttributes: %v", err)
	}
	if attrs.Checksum == nil {
		t.Fatal("GetObjectAttributes: no Checksum")
	}
	// Reported without a composite "-N".
	wantOnly(t, "GetObjectAttributes", attrs.Checksum, alg, strings.Split(want, "-")[0])
	if attrs.Checksum.ChecksumType != typ {
		t.Errorf("GetObjectAttributes checksum type %q, want %q", attrs.Checksum.ChecksumType, typ)
	}
}

func TestNewChecksumHeaders(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.bucket("ck-new-headers")
	body := randBytes(100<<10+1, 31) // above the inline threshold
	e.put(b, "crc32", body)          // a copy source (the SDK sends a CRC32)
	for _, alg := range newAlgorithms {
		t.Run(string(alg), func(t *testing.T) {
			key := "h/" + string(alg)
			out := e.put(b, key, body, func(in *s3.PutObjectInput) { setSum(in, alg, newSum(alg, body)) })
			wantOnly(t, "PutObject", out, alg, newSum(alg, body))
			if out.ChecksumType != types.ChecksumTypeFullObject {
				t.Errorf("PutObject checksum type %q", out.ChecksumType)
			}
			e.checkStoredNew(t, b, key, body, alg, newSum(alg, body), types.ChecksumTypeFullObject)

			lo, err := e.c.ListObjectsV2(e.ctx, &s3.ListObjectsV2Input{Bucket: aws.String(b), Prefix: aws.String(key)})
			if err != nil {
				t.Fatal(err)
			}
			if len(lo.Contents) != 1 || len(lo.Contents[0].ChecksumAlgorithm) != 1 || lo.Contents[0].ChecksumAlgorithm[0] != alg {
				t.Errorf("ListObjectsV2 contents %+v", lo.Contents)
			}

			for _, bad := range []struct {
				name, key string
				body      []byte
			}{{"Stored", key + "-bad", body}, {"Inline", key + "-small", []byte("small")}} {
				in := &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String(bad.key), Body: bytes.NewReader(bad.body)}
				setSum(in, alg, newSum(alg, []byte("something else")))
				_, err := e.c.PutObject(e.ctx, in)
				wantErr(t, err, "BadDigest", http.StatusBadRequest)
				_, err = e.c.HeadObject(e.ctx, &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String(bad.key)})
				wantErr(t, err, "NotFound", http.StatusNotFound)
			}

			// A value of the wrong length for the algorithm is malformed.
			in := &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String(key + "-malformed"), Body: bytes.NewReader(body)}
			setSum(in, alg, base64.StdEncoding.EncodeToString([]byte("abc")))
			_, err = e.c.PutObject(e.ctx, in)
			wantErr(t, err, "InvalidRequest", http.StatusBadRequest)

			// CopyObject computes the requested algorithm over the source.
			co, err := e.c.CopyObject(e.ctx, &s3.CopyObjectInput{
				Bucket: aws.String(b), Key: aws.String(key + "-copy"), CopySource: aws.String(copySource(b, "crc32", "")),
				ChecksumAlgorithm: alg,
			})
			if err != nil {
				t.Fatal(err)
			}
			wantOnly(t, "CopyObject", co.CopyObjectResult, alg, newSum(alg, body))
			e.checkStoredNew(t, b, key+"-copy", body, alg, newSum(alg, body), types.ChecksumTypeFullObject)
			// and keeps it when copied on without an algorithm.
			co, err = e.c.CopyObject(e.ctx, &s3.CopyObjectInput{
				Bucket: aws.String(b), Key: aws.String(key + "-copy2"), CopySource: aws.String(copySource(b, key, "")),
			})
			if err != nil {
				t.Fatal(err)
			}
			wantOnly(t, "CopyObject", co.CopyObjectResult, alg, newSum(alg, body))
		})
	}

	t.Run("SDKComputesSHA512", func(t *testing.T) {
		// The SDK computes SHA512 itself (a header over plain HTTP).
		out := e.put(b, "sdk-sha512", body, func(in *s3.PutObjectInput) { in.ChecksumAlgorithm = types.ChecksumAlgorithmSha512 })
		wantOnly(t, "PutObject", out, types.ChecksumAlgorithmSha512, newSum(types.ChecksumAlgorithmSha512, body))
	})

	t.Run("UnknownAlgorithm", func(t *testing.T) {
		_, err := e.c.CopyObject(e.ctx, &s3.CopyObjectInput{
			Bucket: aws.String(b), Key: aws.String("x"), CopySource: aws.String(copySource(b, "crc32", "")),
			ChecksumAlgorithm: "BLAKE3",
		})
		wantErr(t, err, "InvalidRequest", http.StatusBadRequest)
		_, err = e.c.CreateMultipartUpload(e.ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("x"), ChecksumAlgorithm: "BLAKE3"})
		wantErr(t, err, "InvalidRequest", http.StatusBadRequest)
		if !strings.Contains(err.Error(), "[CRC32, CRC32C, CRC64NVME, MD5, SHA1, SHA256, SHA512, XXHASH128, XXHASH3, XXHASH64]") {
			t.Errorf("message: %v", err)
		}
	})
}

// sendTrailer PUTs body as an unsigned aws-chunked upload whose checksum
// comes in a trailer, as the SDKs send it.
func (e *env) sendTrailer(t *testing.T, bucket, key string, body []byte, alg types.ChecksumAlgorithm, value string) (*http.Response, []byte) {
	t.Helper()
	name := "x-amz-checksum-" + strings.ToLower(string(alg))
	var chunked bytes.Buffer
	for off := 0; off < len(body); off += 32 << 10 {
		chunk := body[off:min(off+32<<10, len(body))]
		fmt.Fprintf(&chunked, "%x\r\n", len(chunk))
		chunked.Write(chunk)
		chunked.WriteString("\r\n")
	}
	fmt.Fprintf(&chunked, "0\r\n%s:%s\r\n\r\n", name, value)
	req := newRequest(t, http.MethodPut, e.n.Endpoint+"/"+bucket+"/"+key, bytes.NewReader(chunked.Bytes()))
	req.Header.Set("Content-Encoding", "aws-chunked")
	req.Header.Set("X-Amz-Content-Sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
	req.Header.Set("X-Amz-Decoded-Content-Length", fmt.Sprint(len(body)))
	req.Header.Set("X-Amz-Trailer", name)
	req.Header.Set("X-Amz-Sdk-Checksum-Algorithm", string(alg))
	creds := aws.Credentials{AccessKeyID: servertest.AccessKeyID, SecretAccessKey: servertest.SecretAccessKey}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "s3", servertest.Region, time.Now()); err != nil {
		t.Fatal(err)
	}
	return rawDo(t, req)
}

// TestNewChecksumTrailers sends the new algorithms as aws-chunked trailers:
// hand-built (the SDK computes none but SHA512), and SHA512 from the SDK
// over TLS.
func TestNewChecksumTrailers(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.bucket("ck-new-trailers")
	body := randBytes(70<<10, 32)
	for _, alg := range newAlgorithms {
		t.Run(string(alg), func(t *testing.T) {
			key := "good-" + string(alg)
			resp, raw := e.sendTrailer(t, b, key, body, alg, newSum(alg, body))
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("matching trailer: %s %s", resp.Status, raw)
			}
			if got := resp.Header.Get("x-amz-checksum-" + strings.ToLower(string(alg))); got != newSum(alg, body) {
				t.Errorf("PUT answered checksum %q, want %q", got, newSum(alg, body))
			}
			e.checkStoredNew(t, b, key, body, alg, newSum(alg, body), types.ChecksumTypeFullObject)

			resp, raw = e.sendTrailer(t, b, "bad-"+string(alg), body, alg, newSum(alg, body[1:]))
			checkErrorDoc(t, resp, raw, http.StatusBadRequest, "BadDigest")
			_, err := e.c.HeadObject(e.ctx, &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String("bad-" + string(alg))})
			wantErr(t, err, "NotFound", http.StatusNotFound)
		})
	}

	t.Run("SDKSHA512OverTLS", func(t *testing.T) {
		n := servertest.Start(t, servertest.Options{TLS: true})
		var trailer string
		record := func(o *s3.Options) {
			o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
				return st.Finalize.Add(middleware.FinalizeMiddlewareFunc("e2eRecordTrailer",
					func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
						if req, ok := in.Request.(*smithyhttp.Request); ok && req.Method == http.MethodPut {
							trailer = req.Header.Get("X-Amz-Trailer")
						}
						return next.HandleFinalize(ctx, in)
					}), middleware.After)
			})
		}
		te := &env{t: t, n: n, c: n.S3(checkRequestID(t), record), ctx: context.Background()}
		tb := te.bucket("ck-new-tls")
		alg := types.ChecksumAlgorithmSha512
		out := te.put(tb, "sha512", body, func(in *s3.PutObjectInput) { in.ChecksumAlgorithm = alg })
		if trailer != "x-amz-checksum-sha512" {
			t.Fatalf("the SDK sent trailer %q: the test no longer covers SHA512 trailers", trailer)
		}
		wantOnly(t, "PutObject", out, alg, newSum(alg, body))
		// The SDK validates the SHA512 of the GET body.
		te.checkStoredNew(t, tb, "sha512", body, alg, newSum(alg, body), types.ChecksumTypeFullObject)

		// Multipart, the SDK computing each part's SHA512 trailer.
		id := te.createUpload(tb, "mpu", func(in *s3.CreateMultipartUploadInput) { in.ChecksumAlgorithm = alg })
		p1 := te.uploadPart(tb, "mpu", id, 1, partA, func(in *s3.UploadPartInput) { in.ChecksumAlgorithm = alg })
		p2 := te.uploadPart(tb, "mpu", id, 2, partC, func(in *s3.UploadPartInput) { in.ChecksumAlgorithm = alg })
		wantOnly(t, "UploadPart 1", p1, alg, newSum(alg, partA))
		cps := []types.CompletedPart{
			{PartNumber: aws.Int32(1), ETag: p1.ETag, ChecksumSHA512: p1.ChecksumSHA512},
			{PartNumber: aws.Int32(2), ETag: p2.ETag, ChecksumSHA512: p2.ChecksumSHA512},
		}
		co, err := te.complete(tb, "mpu", id, cps)
		if err != nil {
			t.Fatal(err)
		}
		wantOnly(t, "CompleteMultipartUpload", co, alg, newComposite(alg, partA, partC))
	})
}

// TestNewChecksumMultipart: the new algorithms are COMPOSITE only (only
// the CRCs combine into a FULL_OBJECT checksum).
func TestNewChecksumMultipart(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.bucket("ck-new-mpu")
	e.put(b, "src", partC)
	for _, alg := range newAlgorithms {
		t.Run(string(alg), func(t *testing.T) {
			key := "mpu-" + string(alg)
			_, err := e.c.CreateMultipartUpload(e.ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(b), Key: aws.String(key),
				ChecksumAlgorithm: alg, ChecksumType: types.ChecksumTypeFullObject})
			wantErr(t, err, "InvalidRequest", http.StatusBadRequest)
			want := fmt.Sprintf("The FULL_OBJECT checksum type cannot be used with the %s checksum algorithm.", strings.ToLower(string(alg)))
			if !strings.Contains(err.Error(), want) {
				t.Errorf("message: %v", err)
			}

			cu, err := e.c.CreateMultipartUpload(e.ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(b), Key: aws.String(key),
				ChecksumAlgorithm: types.ChecksumAlgorithm(strings.ToLower(string(alg)))})
			if err != nil {
				t.Fatal(err)
			}
			if cu.ChecksumAlgorithm != alg || cu.ChecksumType != types.ChecksumTypeComposite {
				t.Errorf("CreateMultipartUpload: %s %s, want %s COMPOSITE", cu.ChecksumAlgorithm, cu.ChecksumType, alg)
			}
			id := aws.ToString(cu.UploadId)

			p1 := e.uploadPart(b, key, id, 1, partA, func(in *s3.UploadPartInput) { setSum(in, alg, newSum(alg, partA)) })
			wantOnly(t, "UploadPart", p1, alg, newSum(alg, partA))
			// A part with a wrong checksum is refused.
			_, err = e.c.UploadPart(e.ctx, func() *s3.UploadPartInput {
				in := &s3.UploadPartInput{Bucket: aws.String(b), Key: aws.String(key), UploadId: aws.String(id),
					PartNumber: aws.Int32(2), Body: bytes.NewReader(partC)}
				setSum(in, alg, newSum(alg, partA))
				return in
			}())
			wantErr(t, err, "BadDigest", http.StatusBadRequest)
			// The last part is copied: S3 computes its checksum.
			cp, err := e.c.UploadPartCopy(e.ctx, &s3.UploadPartCopyInput{Bucket: aws.String(b), Key: aws.String(key), UploadId: aws.String(id),
				PartNumber: aws.Int32(2), CopySource: aws.String(copySource(b, "src", ""))})
			if err != nil {
				t.Fatal(err)
			}
			wantOnly(t, "UploadPartCopy", cp.CopyPartResult, alg, newSum(alg, partC))

			lp, err := e.c.ListParts(e.ctx, &s3.ListPartsInput{Bucket: aws.String(b), Key: aws.String(key), UploadId: aws.String(id)})
			if err != nil {
				t.Fatal(err)
			}
			if lp.ChecksumAlgorithm != alg || lp.ChecksumType != types.ChecksumTypeComposite || len(lp.Parts) != 2 {
				t.Fatalf("ListParts: %s %s %d parts", lp.ChecksumAlgorithm, lp.ChecksumType, len(lp.Parts))
			}
			wantOnly(t, "ListParts part 1", lp.Parts[0], alg, newSum(alg, partA))
			wantOnly(t, "ListParts part 2", lp.Parts[1], alg, newSum(alg, partC))

			parts := make([]types.CompletedPart, 2)
			for i, p := range lp.Parts {
				parts[i] = types.CompletedPart{PartNumber: p.PartNumber, ETag: p.ETag}
				setSum(&parts[i], alg, sumsOf(p)[alg])
			}
			composite := newComposite(alg, partA, partC)
			// A wrong whole-object checksum is refused, the upload kept.
			_, err = e.complete(b, key, id, parts, func(in *s3.CompleteMultipartUploadInput) {
				setSum(in, alg, newComposite(alg, partC, partA))
			})
			wantErr(t, err, "BadDigest", http.StatusBadRequest)
			co, err := e.complete(b, key, id, parts, func(in *s3.CompleteMultipartUploadInput) { setSum(in, alg, composite) })
			if err != nil {
				t.Fatal(err)
			}
			wantOnly(t, "CompleteMultipartUpload", co, alg, composite)
			if co.ChecksumType != types.ChecksumTypeComposite {
				t.Errorf("CompleteMultipartUpload checksum type %q", co.ChecksumType)
			}
			e.checkStoredNew(t, b, key, append(append([]byte(nil), partA...), partC...), alg, composite, types.ChecksumTypeComposite)

			// A part read reports that part's checksum.
			_, g := e.get(b, key, func(in *s3.GetObjectInput) {
				in.ChecksumMode = types.ChecksumModeEnabled
				in.PartNumber = aws.Int32(2)
			})
			wantOnly(t, "GetObject part 2", g, alg, newSum(alg, partC))

			attrs, err := e.c.GetObjectAttributes(e.ctx, &s3.GetObjectAttributesInput{Bucket: aws.String(b), Key: aws.String(key),
				ObjectAttributes: []types.ObjectAttributes{types.ObjectAttributesObjectParts}})
			if err != nil {
				t.Fatal(err)
			}
			if attrs.ObjectParts == nil || len(attrs.ObjectParts.Parts) != 2 {
				t.Fatalf("GetObjectAttributes parts: %+v", attrs.ObjectParts)
			}
			wantOnly(t, "GetObjectAttributes part 1", attrs.ObjectParts.Parts[0], alg, newSum(alg, partA))
		})
	}
}

// botoScript drives boto3 (botocore computes SHA512 itself; MD5 and the
// xxHashes are sent precomputed, or computed by the AWS CRT when it is
// installed). Its expected xxHash values come from the Go test in
// SLUICE_EXPECT; it computes the rest with hashlib.
const botoScript = `
import base64, hashlib, json, os, sys
import boto3, botocore
from botocore.config import Config

expect = json.loads(os.environ["SLUICE_EXPECT"])
body = bytes(i % 251 for i in range(70000))
part = bytes(range(256)) * (5 << 12)  # 5 MiB

def b64(d):
    return base64.b64encode(d).decode()

def text(v):
    return v.decode() if isinstance(v, bytes) else v

def client(endpoint):
    return boto3.client("s3", endpoint_url=endpoint, verify=False,
                        config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}))

def check(got, want, what):
    if got != want:
        sys.exit("%s: got %r, want %r" % (what, got, want))

s3 = client(os.environ["SLUICE_HTTP"])
s3.create_bucket(Bucket="boto")
expect["SHA512"] = b64(hashlib.sha512(body).digest())
expect["MD5"] = b64(hashlib.md5(body).digest())
for alg in ["SHA512", "MD5", "XXHASH64", "XXHASH3", "XXHASH128"]:
    key = "obj-" + alg
    field = "Checksum" + alg
    r = s3.put_object(Bucket="boto", Key=key, Body=body, **{field: expect[alg]})
    check(r.get(field), expect[alg], "put_object " + alg)
    r = s3.head_object(Bucket="boto", Key=key, ChecksumMode="ENABLED")
    check((r.get(field), r.get("ChecksumType")), (expect[alg], "FULL_OBJECT"), "head_object " + alg)
    r = s3.get_object(Bucket="boto", Key=key, ChecksumMode="ENABLED")
    check((r["Body"].read() == body, r.get(field)), (True, expect[alg]), "get_object " + alg)
    try:
        s3.put_object(Bucket="boto", Key=key + "-bad", Body=body[1:], **{field: expect[alg]})
        sys.exit("put_object %s with a wrong checksum succeeded" % alg)
    except botocore.exceptions.ClientError as e:
        check(e.response["Error"]["Code"], "BadDigest", "wrong " + alg)
    print("ok", alg)

# botocore computes SHA512: a header over HTTP, a trailer over HTTPS.
for endpoint in [os.environ["SLUICE_HTTP"], os.environ["SLUICE_HTTPS"]]:
    c = client(endpoint)
    if endpoint.startswith("https"):
        c.create_bucket(Bucket="boto")
    sent = {}
    c.meta.events.register("before-send.s3.PutObject",
                           lambda request, **kw: sent.update((k.lower(), text(v)) for k, v in request.headers.items()))
    r = c.put_object(Bucket="boto", Key="sdk-sha512", Body=body, ChecksumAlgorithm="SHA512")
    check(r.get("ChecksumSHA512"), expect["SHA512"], "SDK SHA512 " + endpoint)
    if endpoint.startswith("https"):
        check(sent.get("x-amz-trailer"), "x-amz-checksum-sha512", "SDK SHA512 trailer")
    else:
        check(sent.get("x-amz-checksum-sha512"), expect["SHA512"], "SDK SHA512 header")
    print("ok sdk SHA512", endpoint.split(":")[0])
    r = c.get_object(Bucket="boto", Key="sdk-sha512", ChecksumMode="ENABLED")
    check(r["Body"].read() == body, True, "get sdk-sha512")

    up = c.create_multipart_upload(Bucket="boto", Key="mpu", ChecksumAlgorithm="SHA512")
    check((up.get("ChecksumAlgorithm"), up.get("ChecksumType")), ("SHA512", "COMPOSITE"), "create_multipart_upload")
    parts, digests = [], b""
    for n, data in [(1, part), (2, body)]:
        r = c.upload_part(Bucket="boto", Key="mpu", UploadId=up["UploadId"], PartNumber=n, Body=data, ChecksumAlgorithm="SHA512")
        check(r.get("ChecksumSHA512"), b64(hashlib.sha512(data).digest()), "upload_part")
        parts.append({"PartNumber": n, "ETag": r["ETag"], "ChecksumSHA512": r["ChecksumSHA512"]})
        digests += hashlib.sha512(data).digest()
    r = c.complete_multipart_upload(Bucket="boto", Key="mpu", UploadId=up["UploadId"], MultipartUpload={"Parts": parts})
    check((r.get("ChecksumSHA512"), r.get("ChecksumType")), (b64(hashlib.sha512(digests).digest()) + "-2", "COMPOSITE"), "complete")
    print("ok sdk SHA512 multipart")

try:
    from botocore.httpchecksum import _CRT_CHECKSUM_CLS
except ImportError:
    _CRT_CHECKSUM_CLS = {}
for alg in ["XXHASH64", "XXHASH3", "XXHASH128"]:
    if alg.lower() not in _CRT_CHECKSUM_CLS:
        print("skip: botocore computes", alg, "only with a recent awscrt")
        continue
    r = s3.put_object(Bucket="boto", Key="crt-" + alg, Body=body, ChecksumAlgorithm=alg)
    check(r.get("Checksum" + alg), expect[alg], "CRT " + alg)
    print("ok crt", alg)
`

// TestNewChecksumBoto3 runs botoScript against a node (plain HTTP) and a
// TLS node. It is skipped without python3 and boto3.
func TestNewChecksumBoto3(t *testing.T) {
	t.Parallel()
	needBoto3(t)
	plain := servertest.Start(t)
	tls := servertest.Start(t, servertest.Options{TLS: true})

	body := make([]byte, 70000)
	for i := range body {
		body[i] = byte(i % 251)
	}
	expect := map[string]string{}
	for _, alg := range []types.ChecksumAlgorithm{types.ChecksumAlgorithmXxhash64, types.ChecksumAlgorithmXxhash3, types.ChecksumAlgorithmXxhash128} {
		expect[string(alg)] = newSum(alg, body)
	}
	exp, err := json.Marshal(expect)
	if err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	env := clientEnv(home,
		"SLUICE_HTTP="+plain.Endpoint,
		"SLUICE_HTTPS="+tls.Endpoint,
		"SLUICE_EXPECT="+string(exp),
		"PYTHONDONTWRITEBYTECODE=1",
		"PYTHONWARNINGS=ignore", // the test certificate is not verified
	)
	runClient(t, "boto3 script", 2*time.Minute, home, env, "python3", "-c", botoScript)
}
