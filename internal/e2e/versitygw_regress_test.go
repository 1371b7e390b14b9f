package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/sluicehq/sluice/internal/server/servertest"
)

// Regression tests for what versitygw's tester (test/compat, docs/compat.md)
// found. Expected behaviour is Amazon S3's.

// signedRaw sends a SigV4-signed request with the given headers (all
// signed) and body, then adds the unsigned headers, and returns the
// response with its body read.
func (e *env) signedRaw(method, path string, signed map[string]string, body []byte, unsigned map[string]string) (*http.Response, []byte) {
	e.t.Helper()
	req := newRequest(e.t, method, e.n.Endpoint+path, bytes.NewReader(body))
	sum := sha256.Sum256(body)
	payload := hex.EncodeToString(sum[:])
	req.Header.Set("X-Amz-Content-Sha256", payload)
	for k, v := range signed {
		req.Header[http.CanonicalHeaderKey(k)] = []string{v}
	}
	creds := aws.Credentials{AccessKeyID: servertest.AccessKeyID, SecretAccessKey: servertest.SecretAccessKey}
	if err := v4.NewSigner().SignHTTP(e.ctx, creds, req, payload, "s3", servertest.Region, time.Now()); err != nil {
		e.t.Fatal(err)
	}
	for k, v := range unsigned {
		req.Header.Set(k, v)
	}
	return rawDo(e.t, req)
}

// wantXMLError checks a raw response's status and error code.
func wantXMLError(tb testing.TB, resp *http.Response, body []byte, status int, code string) {
	tb.Helper()
	if resp.StatusCode != status || !bytes.Contains(body, []byte("<Code>"+code+"</Code>")) {
		tb.Errorf("got %d %s, want %d %s", resp.StatusCode, body, status, code)
	}
}

func TestVersitygwRanges(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.bucket("ranges")
	data := randBytes(100, 1)
	e.put(b, "obj", data)
	e.put(b, "empty", nil)

	tests := []struct {
		name, key, rng string
		status         int
		body           []byte
	}{
		// A blank inside the range makes it one S3 ignores.
		{"BlankBeforeSuffix", "obj", "bytes= -1", http.StatusOK, data},
		{"BlankBeforeDash", "obj", "bytes=0 -1", http.StatusOK, data},
		{"Suffix", "obj", "bytes=-1", http.StatusPartialContent, data[99:]},
		// A suffix range of an empty object is the (empty) whole.
		{"EmptySuffix", "empty", "bytes=-1", http.StatusOK, nil},
		{"EmptyFirstByte", "empty", "bytes=0-0", http.StatusRequestedRangeNotSatisfiable, nil},
		{"EmptySuffixZero", "empty", "bytes=-0", http.StatusRequestedRangeNotSatisfiable, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := e.signedRaw(http.MethodGet, "/"+b+"/"+tt.key, map[string]string{"Range": tt.rng}, nil, nil)
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d %s, want %d", resp.StatusCode, body, tt.status)
			}
			if tt.status < 300 && !bytes.Equal(body, tt.body) {
				t.Errorf("body = %d bytes, want %d", len(body), len(tt.body))
			}
			if cr := resp.Header.Get("Content-Range"); tt.status == http.StatusOK && cr != "" {
				t.Errorf("Content-Range = %q on a 200", cr)
			}
		})
	}

	t.Run("EmptyPartNumber1", func(t *testing.T) {
		// The one part of an empty object has no byte range to name
		// (this was "bytes 0--1/0").
		body, out := e.get(b, "empty", func(in *s3.GetObjectInput) { in.PartNumber = aws.Int32(1) })
		if len(body) != 0 || out.ContentRange != nil {
			t.Errorf("got %d bytes, Content-Range %q; want 0 bytes, none", len(body), aws.ToString(out.ContentRange))
		}
	})
}

func TestVersitygwCommonHeaders(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.bucket("common")
	e.put(b, "obj", []byte("data"))

	t.Run("EmptyContentMD5", func(t *testing.T) {
		resp, body := e.signedRaw(http.MethodPut, "/"+b+"/md5", map[string]string{"Content-MD5": ""}, []byte("dummy"), nil)
		wantXMLError(t, resp, body, http.StatusBadRequest, "InvalidDigest")
	})

	t.Run("ExpectedBucketOwner", func(t *testing.T) {
		_, err := e.c.HeadObject(e.ctx, &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String("obj"),
			ExpectedBucketOwner: aws.String(servertest.AccountID)})
		if err != nil {
			t.Errorf("the node's account: %v", err)
		}
		_, err = e.c.DeleteObject(e.ctx, &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String("obj"),
			ExpectedBucketOwner: aws.String("111111111111")})
		wantErr(t, err, "AccessDenied", http.StatusForbidden)
		_, err = e.c.CopyObject(e.ctx, &s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String("copy"),
			CopySource: aws.String(b + "/obj"), ExpectedSourceBucketOwner: aws.String("111111111111")})
		wantErr(t, err, "AccessDenied", http.StatusForbidden)
		e.head(b, "obj") // still there
	})

	t.Run("HeadersNotSignedSorted", func(t *testing.T) {
		resp, body := e.signedRaw(http.MethodPut, "/"+b+"/unsigned", nil, nil,
			map[string]string{"X-Amz-Tagging": "a=b", "X-Amz-Copy-Source": "src/key"})
		wantXMLError(t, resp, body, http.StatusForbidden, "AccessDenied")
		if !bytes.Contains(body, []byte("x-amz-copy-source, x-amz-tagging")) {
			t.Errorf("HeadersNotSigned not sorted: %s", body)
		}
	})
}

func TestVersitygwTaggingHeader(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.bucket("tagging")
	tests := []struct {
		header string
		want   map[string]string // nil: rejected
	}{
		{"&", map[string]string{}},
		{"&&&", map[string]string{}},
		{"key", map[string]string{"key": ""}},
		{"a=1&&b=2&", map[string]string{"a": "1", "b": "2"}},
		{"=", nil},
		{"=v", nil},
		{"k=v&k=w", nil},
	}
	for i, tt := range tests {
		t.Run(tt.header, func(t *testing.T) {
			key := string(rune('a' + i))
			_, err := e.c.PutObject(e.ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String(key), Tagging: aws.String(tt.header)})
			if tt.want == nil {
				wantErr(t, err, "InvalidArgument", http.StatusBadRequest)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			out, err := e.c.GetObjectTagging(e.ctx, &s3.GetObjectTaggingInput{Bucket: aws.String(b), Key: aws.String(key)})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, tag := range out.TagSet {
				got[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("tags = %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("tags = %v, want %v", got, tt.want)
				}
			}
		})
	}
}

func TestVersitygwObjectAttributes(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.bucket("attrs")
	e.put(b, "obj", []byte("data"))
	tests := []struct {
		name, header, missingKey string
		status                   int
		code                     string
	}{
		{"Empty", "", "", http.StatusBadRequest, "InvalidRequest"},
		{"Unknown", "ETag,Invalid_argument", "", http.StatusBadRequest, "InvalidArgument"},
		// Validated before the object is looked up.
		{"UnknownMissingObject", "invalid_attr", "nope", http.StatusBadRequest, "InvalidArgument"},
		{"Valid", "ETag, ObjectSize", "", http.StatusOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := "obj"
			if tt.missingKey != "" {
				key = tt.missingKey
			}
			resp, body := e.signedRaw(http.MethodGet, "/"+b+"/"+key+"?attributes",
				map[string]string{"X-Amz-Object-Attributes": tt.header}, nil, nil)
			if tt.code == "" {
				if resp.StatusCode != tt.status || !bytes.Contains(body, []byte("<ObjectSize>4</ObjectSize>")) {
					t.Errorf("got %d %s", resp.StatusCode, body)
				}
				return
			}
			wantXMLError(t, resp, body, tt.status, tt.code)
		})
	}
}

func TestVersitygwNullVersionByName(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.bucket("nullversion")
	e.put(b, "obj", []byte("before versioning"))
	e.setVersioning(b, types.BucketVersioningStatusEnabled)
	_, out := e.get(b, "obj", func(in *s3.GetObjectInput) { in.VersionId = aws.String("null") })
	if aws.ToString(out.VersionId) != "null" {
		t.Errorf("VersionId = %q, want null", aws.ToString(out.VersionId))
	}
}

func TestVersitygwChecksumHeaders(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.bucket("checksums")

	t.Run("Empty", func(t *testing.T) {
		resp, body := e.signedRaw(http.MethodPut, "/"+b+"/empty", map[string]string{"X-Amz-Checksum-Crc32": ""}, []byte("x"), nil)
		wantXMLError(t, resp, body, http.StatusBadRequest, "InvalidRequest")
		if !bytes.Contains(body, []byte("Value for x-amz-checksum-crc32 header is invalid.")) {
			t.Errorf("message: %s", body)
		}
	})
	t.Run("TwoEmpty", func(t *testing.T) {
		resp, body := e.signedRaw(http.MethodPut, "/"+b+"/two",
			map[string]string{"X-Amz-Checksum-Crc32": "", "X-Amz-Checksum-Sha1": ""}, []byte("x"), nil)
		wantXMLError(t, resp, body, http.StatusBadRequest, "InvalidRequest")
		if !bytes.Contains(body, []byte("Multiple checksum Types are not allowed")) {
			t.Errorf("message: %s", body)
		}
	})
	t.Run("UnsupportedAlgorithm", func(t *testing.T) {
		// Not stored unverified.
		resp, body := e.signedRaw(http.MethodPut, "/"+b+"/sha512", map[string]string{"X-Amz-Checksum-Sha512": "AAAA"}, []byte("x"), nil)
		wantXMLError(t, resp, body, http.StatusBadRequest, "InvalidRequest")
		if _, err := e.c.HeadObject(e.ctx, &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String("sha512")}); err == nil {
			t.Error("object stored")
		}
	})
	t.Run("UnknownAlgorithmHeader", func(t *testing.T) {
		// x-amz-checksum-<name> for a name that is no algorithm: refused
		// before anything is stored, on PutObject and UploadPart alike.
		resp, body := e.signedRaw(http.MethodPut, "/"+b+"/foo", map[string]string{"X-Amz-Checksum-Foo": "AAAA"}, []byte("x"), nil)
		wantXMLError(t, resp, body, http.StatusBadRequest, "InvalidRequest")
		if !bytes.Contains(body, []byte("The algorithm type you specified in x-amz-checksum- header is invalid.")) {
			t.Errorf("message: %s", body)
		}
		if _, err := e.c.HeadObject(e.ctx, &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String("foo")}); err == nil {
			t.Error("object stored")
		}
		up, err := e.c.CreateMultipartUpload(e.ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("mp")})
		if err != nil {
			t.Fatal(err)
		}
		resp, body = e.signedRaw(http.MethodPut, "/"+b+"/mp?partNumber=1&uploadId="+url.QueryEscape(*up.UploadId),
			map[string]string{"X-Amz-Checksum-Crc33": "AAAA"}, []byte("x"), nil)
		wantXMLError(t, resp, body, http.StatusBadRequest, "InvalidRequest")
		// The headers that share the prefix but name no checksum are not
		// refused.
		resp, body = e.signedRaw(http.MethodPut, "/"+b+"/typed",
			map[string]string{"X-Amz-Checksum-Type": "FULL_OBJECT", "X-Amz-Checksum-Mode": "ENABLED"}, []byte("x"), nil)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%d %s", resp.StatusCode, body)
		}
	})
	t.Run("DefaultCRC64NVME", func(t *testing.T) {
		// S3 computes CRC64NVME for an object sent without a checksum
		// and says so in the PutObject answer.
		resp, body := e.signedRaw(http.MethodPut, "/"+b+"/plain", nil, []byte("plain"), nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		if resp.Header.Get("x-amz-checksum-crc64nvme") == "" || resp.Header.Get("x-amz-checksum-type") != "FULL_OBJECT" {
			t.Errorf("headers %v", resp.Header)
		}
	})
}

// uploadPartNoChecksum uploads a part without any checksum header.
func (e *env) uploadPartNoChecksum(b, key string, id *string, n int32, data []byte) *http.Response {
	e.t.Helper()
	resp, body := e.signedRaw(http.MethodPut, "/"+b+"/"+key+"?partNumber="+strconv.Itoa(int(n))+"&uploadId="+aws.ToString(id), nil, data, nil)
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("UploadPart: %d %s", resp.StatusCode, body)
	}
	return resp
}

func TestVersitygwPartChecksums(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.bucket("parts")
	e.put(b, "src", []byte("source data"), func(in *s3.PutObjectInput) { in.ChecksumAlgorithm = types.ChecksumAlgorithmSha1 })

	create := func(key string, alg types.ChecksumAlgorithm, ct types.ChecksumType) *string {
		up, err := e.c.CreateMultipartUpload(e.ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(b), Key: aws.String(key),
			ChecksumAlgorithm: alg, ChecksumType: ct})
		if err != nil {
			t.Fatal(err)
		}
		return up.UploadId
	}

	t.Run("DeclaredComputed", func(t *testing.T) {
		// A part sent without a checksum to an upload that declared one
		// gets the computed checksum in the answer.
		id := create("declared", types.ChecksumAlgorithmCrc32, types.ChecksumTypeFullObject)
		resp := e.uploadPartNoChecksum(b, "declared", id, 1, []byte("part data"))
		if resp.Header.Get("x-amz-checksum-crc32") == "" {
			t.Errorf("no x-amz-checksum-crc32: %v", resp.Header)
		}
		cp, err := e.c.UploadPartCopy(e.ctx, &s3.UploadPartCopyInput{Bucket: aws.String(b), Key: aws.String("declared"),
			UploadId: id, PartNumber: aws.Int32(2), CopySource: aws.String(b + "/src")})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(cp.CopyPartResult.ChecksumCRC32) == "" || cp.CopyPartResult.ChecksumSHA1 != nil {
			t.Errorf("CopyPartResult: %+v", cp.CopyPartResult)
		}
	})
	t.Run("UndeclaredNotReported", func(t *testing.T) {
		id := create("undeclared", "", "")
		resp := e.uploadPartNoChecksum(b, "undeclared", id, 1, []byte("part data"))
		for k := range resp.Header {
			if strings.HasPrefix(strings.ToLower(k), "x-amz-checksum-") {
				t.Errorf("unexpected %s", k)
			}
		}
		cp, err := e.c.UploadPartCopy(e.ctx, &s3.UploadPartCopyInput{Bucket: aws.String(b), Key: aws.String("undeclared"),
			UploadId: id, PartNumber: aws.Int32(2), CopySource: aws.String(b + "/src")})
		if err != nil {
			t.Fatal(err)
		}
		r := cp.CopyPartResult
		if r.ChecksumCRC32 != nil || r.ChecksumCRC64NVME != nil || r.ChecksumSHA1 != nil {
			t.Errorf("CopyPartResult carries a checksum: %+v", r)
		}
	})
}

func TestVersitygwCompleteMultipart(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.bucket("complete")
	complete := func(key string, id *string, parts []types.CompletedPart, fns ...func(*s3.CompleteMultipartUploadInput)) error {
		in := &s3.CompleteMultipartUploadInput{Bucket: aws.String(b), Key: aws.String(key), UploadId: id,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}}
		for _, fn := range fns {
			fn(in)
		}
		_, err := e.c.CompleteMultipartUpload(e.ctx, in)
		return err
	}
	strip := func(parts []types.CompletedPart) []types.CompletedPart {
		out := make([]types.CompletedPart, len(parts))
		for i, p := range parts {
			out[i] = types.CompletedPart{PartNumber: p.PartNumber, ETag: p.ETag}
		}
		return out
	}

	t.Run("ChecksumTypeMismatch", func(t *testing.T) {
		id, parts, _ := e.multipart(b, "mode", types.ChecksumAlgorithmCrc32, types.ChecksumTypeFullObject, 2)
		err := complete("mode", id, parts, func(in *s3.CompleteMultipartUploadInput) { in.ChecksumType = types.ChecksumTypeComposite })
		wantErr(t, err, "InvalidRequest", http.StatusBadRequest)
		err = complete("mode", id, parts, func(in *s3.CompleteMultipartUploadInput) { in.ChecksumType = "invalid_type" })
		wantErr(t, err, "InvalidRequest", http.StatusBadRequest)
		if err := complete("mode", id, parts, func(in *s3.CompleteMultipartUploadInput) { in.ChecksumType = types.ChecksumTypeFullObject }); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("CompositeNeedsPartChecksums", func(t *testing.T) {
		id, parts, _ := e.multipart(b, "composite", types.ChecksumAlgorithmSha256, types.ChecksumTypeComposite, 2)
		missing := append(strip(parts[:1]), parts[1:]...)
		err := complete("composite", id, missing)
		wantErr(t, err, "InvalidRequest", http.StatusBadRequest)
		if err != nil && !strings.Contains(err.Error(), "It was missing for part 1") {
			t.Errorf("message: %v", err)
		}
		if err := complete("composite", id, parts); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("PartChecksumOfAnotherAlgorithm", func(t *testing.T) {
		id, parts, _ := e.multipart(b, "other", types.ChecksumAlgorithmCrc32, types.ChecksumTypeFullObject, 2)
		bad := strip(parts)
		bad[0].ChecksumSHA256 = aws.String("n2alat9FhKiZXkZO18V2LLcZFM3IT8R7DjSMvK//7WU=")
		wantErr(t, complete("other", id, bad), "BadDigest", http.StatusBadRequest)
	})
	t.Run("PartChecksumMalformedOrTwo", func(t *testing.T) {
		id, parts, _ := e.multipart(b, "malformed", types.ChecksumAlgorithmCrc32, types.ChecksumTypeComposite, 2)
		bad := append([]types.CompletedPart(nil), parts...)
		bad[0].ChecksumCRC32 = aws.String("invalid_checksum")
		wantErr(t, complete("malformed", id, bad), "InvalidArgument", http.StatusBadRequest)
		two := append([]types.CompletedPart(nil), parts...)
		two[0].ChecksumSHA1 = aws.String("Kq5sNclPz7QV2+lfQIuc6R7oRu0=")
		wantErr(t, complete("malformed", id, two), "InvalidArgument", http.StatusBadRequest)
	})
	t.Run("ObjectSize", func(t *testing.T) {
		id, parts, data := e.multipart(b, "size", "", "", 2)
		wantErr(t, complete("size", id, parts, func(in *s3.CompleteMultipartUploadInput) { in.MpuObjectSize = aws.Int64(-1) }),
			"InvalidRequest", http.StatusBadRequest)
		wantErr(t, complete("size", id, parts, func(in *s3.CompleteMultipartUploadInput) { in.MpuObjectSize = aws.Int64(213123) }),
			"InvalidRequest", http.StatusBadRequest)
		if err := complete("size", id, parts, func(in *s3.CompleteMultipartUploadInput) { in.MpuObjectSize = aws.Int64(int64(len(data))) }); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("MissingPartFields", func(t *testing.T) {
		id, parts, _ := e.multipart(b, "fields", "", "", 1)
		for name, doc := range map[string]string{
			"NoETag":       `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>`,
			"NoPartNumber": `<CompleteMultipartUpload><Part><ETag>` + aws.ToString(parts[0].ETag) + `</ETag></Part></CompleteMultipartUpload>`,
		} {
			resp, body := e.signedRaw(http.MethodPost, "/"+b+"/fields?uploadId="+aws.ToString(id), nil, []byte(doc), nil)
			if resp.StatusCode != http.StatusBadRequest || !bytes.Contains(body, []byte("MalformedXML")) {
				t.Errorf("%s: %d %s", name, resp.StatusCode, body)
			}
		}
	})
	t.Run("TwoFinalChecksums", func(t *testing.T) {
		id, parts, _ := e.multipart(b, "final", types.ChecksumAlgorithmCrc32, types.ChecksumTypeFullObject, 1)
		doc := `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>` + aws.ToString(parts[0].ETag) + `</ETag></Part></CompleteMultipartUpload>`
		resp, body := e.signedRaw(http.MethodPost, "/"+b+"/final?uploadId="+aws.ToString(id),
			map[string]string{"X-Amz-Checksum-Crc32": "AAAAAA==", "X-Amz-Checksum-Sha1": "Kq5sNclPz7QV2+lfQIuc6R7oRu0="}, []byte(doc), nil)
		wantXMLError(t, resp, body, http.StatusBadRequest, "InvalidRequest")
	})
}

func TestVersitygwCopyDirectives(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.bucket("directives")
	e.put(b, "src", []byte("data"))
	for _, tt := range []struct {
		name string
		fn   func(*s3.CopyObjectInput)
		msg  string
	}{
		{"Metadata", func(in *s3.CopyObjectInput) { in.MetadataDirective = "invalid" }, "Unknown metadata directive."},
		{"Tagging", func(in *s3.CopyObjectInput) { in.TaggingDirective = "invalid" }, "Unknown tagging directive."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := &s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String("dst"), CopySource: aws.String(b + "/src")}
			tt.fn(in)
			_, err := e.c.CopyObject(e.ctx, in)
			wantErr(t, err, "InvalidArgument", http.StatusBadRequest)
			if err != nil && !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("message: %v, want %q", err, tt.msg)
			}
		})
	}
}

func TestVersitygwErrorMessages(t *testing.T) {
	// S3's wire messages, as its clients print them (no final period).
	t.Parallel()
	e := start(t)
	b := e.bucket("messages")
	t.Run("MetadataTooLarge", func(t *testing.T) {
		_, err := e.c.PutObject(e.ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("meta"),
			Metadata: map[string]string{strings.Repeat("k", 2048): "v"}})
		wantErr(t, err, "MetadataTooLarge", http.StatusBadRequest)
		if err != nil && !strings.HasSuffix(err.Error(), "Your metadata headers exceed the maximum allowed metadata size") {
			t.Errorf("message: %v", err)
		}
	})
	t.Run("EntityTooSmall", func(t *testing.T) {
		up, err := e.c.CreateMultipartUpload(e.ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("small")})
		if err != nil {
			t.Fatal(err)
		}
		var parts []types.CompletedPart
		for i := int32(1); i <= 2; i++ {
			out, err := e.c.UploadPart(e.ctx, &s3.UploadPartInput{Bucket: aws.String(b), Key: aws.String("small"), UploadId: up.UploadId,
				PartNumber: aws.Int32(i), Body: bytes.NewReader([]byte("tiny"))})
			if err != nil {
				t.Fatal(err)
			}
			parts = append(parts, types.CompletedPart{PartNumber: aws.Int32(i), ETag: out.ETag})
		}
		_, err = e.c.CompleteMultipartUpload(e.ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("small"),
			UploadId: up.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
		wantErr(t, err, "EntityTooSmall", http.StatusBadRequest)
		if err != nil && !strings.HasSuffix(err.Error(), "Your proposed upload is smaller than the minimum allowed size") {
			t.Errorf("message: %v", err)
		}
	})
}

func TestVersitygwVersionedBucketNotEmpty(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.versionedBucket("versioned-not-empty")
	e.put(b, "obj", []byte("v1"))
	if _, err := e.c.DeleteObject(e.ctx, &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String("obj")}); err != nil {
		t.Fatal(err)
	}
	_, err := e.c.DeleteBucket(e.ctx, &s3.DeleteBucketInput{Bucket: aws.String(b)})
	wantErr(t, err, "BucketNotEmpty", http.StatusConflict)
	if err != nil && !strings.Contains(err.Error(), "You must delete all versions in the bucket.") {
		t.Errorf("message: %v", err)
	}
}
