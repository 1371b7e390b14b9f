package e2e

// Regression tests for what minio-go's functional tests (docs/compat.md,
// test/compat/suites/miniogo_test.go) found.

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
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

func mgoHMAC(key []byte, s string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(s))
	return m.Sum(nil)
}

func mgoSHA256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// signedTrailerPut sends body as one signed aws-chunked chunk with a
// CRC32 trailer (STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER), laid out
// byte for byte as minio-go writes it: the trailing header line ends in
// "\n" and an empty line "\r\n" precedes x-amz-trailer-signature. A
// non-empty badTrailerSig replaces the trailer signature.
func (e *env) signedTrailerPut(path string, body []byte, badTrailerSig string) (*http.Response, []byte) {
	e.t.Helper()
	const mode = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
	now := time.Now().UTC()
	amzDate := now.Format("20060102T150405Z")
	scope := now.Format("20060102") + "/" + servertest.Region + "/s3/aws4_request"
	key := []byte("AWS4" + servertest.SecretAccessKey)
	for _, s := range []string{now.Format("20060102"), servertest.Region, "s3", "aws4_request"} {
		key = mgoHMAC(key, s)
	}
	var crc [4]byte
	binary.BigEndian.PutUint32(crc[:], crc32.ChecksumIEEE(body))
	trailer := "x-amz-checksum-crc32:" + base64.StdEncoding.EncodeToString(crc[:]) + "\n"

	// The body's length must be known before signing; build it with
	// placeholder signatures of the right length, then for real.
	build := func(seed string) []byte {
		prev := seed
		chunkSig := func(data []byte) string {
			sts := "AWS4-HMAC-SHA256-PAYLOAD\n" + amzDate + "\n" + scope + "\n" + prev + "\n" + emptySHA256 + "\n" + mgoSHA256Hex(data)
			prev = hex.EncodeToString(mgoHMAC(key, sts))
			return prev
		}
		var b bytes.Buffer
		fmt.Fprintf(&b, "%x;chunk-signature=%s\r\n", len(body), chunkSig(body))
		b.Write(body)
		b.WriteString("\r\n")
		fmt.Fprintf(&b, "0;chunk-signature=%s\r\n", chunkSig(nil))
		b.WriteString(trailer)
		sts := "AWS4-HMAC-SHA256-TRAILER\n" + amzDate + "\n" + scope + "\n" + prev + "\n" + mgoSHA256Hex([]byte(trailer))
		sig := hex.EncodeToString(mgoHMAC(key, sts))
		if badTrailerSig != "" {
			sig = badTrailerSig
		}
		b.WriteString("\r\nx-amz-trailer-signature:" + sig + "\r\n\r\n")
		return b.Bytes()
	}
	size := len(build(strings.Repeat("0", 64)))

	req := newRequest(e.t, http.MethodPut, e.n.Endpoint+path, nil)
	req.ContentLength = int64(size)
	req.Header.Set("X-Amz-Content-Sha256", mode)
	req.Header.Set("X-Amz-Decoded-Content-Length", strconv.Itoa(len(body)))
	req.Header.Set("X-Amz-Trailer", "x-amz-checksum-crc32")
	req.Header.Set("Content-Encoding", "aws-chunked")
	creds := aws.Credentials{AccessKeyID: servertest.AccessKeyID, SecretAccessKey: servertest.SecretAccessKey}
	if err := v4.NewSigner().SignHTTP(e.ctx, creds, req, mode, "s3", servertest.Region, now); err != nil {
		e.t.Fatal(err)
	}
	_, seed, ok := strings.Cut(req.Header.Get("Authorization"), "Signature=")
	if !ok {
		e.t.Fatalf("no signature in %q", req.Header.Get("Authorization"))
	}
	payload := build(seed)
	if len(payload) != size {
		e.t.Fatalf("body is %d bytes, signed as %d", len(payload), size)
	}
	req.Body = io.NopCloser(bytes.NewReader(payload))
	return rawDo(e.t, req)
}

// TestMiniogoSignedTrailer: minio-go's signed-trailer bodies put an empty
// line between the trailing checksum and x-amz-trailer-signature; they
// were refused as "unexpected data after the aws-chunked trailer".
func TestMiniogoSignedTrailer(t *testing.T) {
	e := start(t)
	b := e.bucket("mgo-trailer")
	body := randBytes(70_000, 7)

	resp, out := e.signedTrailerPut("/"+b+"/obj", body, "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT = %d %s", resp.StatusCode, out)
	}
	got, _ := e.get(b, "obj")
	if !bytes.Equal(got, body) {
		t.Errorf("GET returned %d bytes, want the %d sent", len(got), len(body))
	}
	var crc [4]byte
	binary.BigEndian.PutUint32(crc[:], crc32.ChecksumIEEE(body))
	h := e.head(b, "obj", func(in *s3.HeadObjectInput) { in.ChecksumMode = types.ChecksumModeEnabled })
	if want := base64.StdEncoding.EncodeToString(crc[:]); aws.ToString(h.ChecksumCRC32) != want {
		t.Errorf("ChecksumCRC32 = %q, want %q", aws.ToString(h.ChecksumCRC32), want)
	}

	// The empty line must not let a wrong trailer signature through.
	resp, out = e.signedTrailerPut("/"+b+"/bad", body, strings.Repeat("ab", 32))
	if resp.StatusCode != http.StatusForbidden || !bytes.Contains(out, []byte("SignatureDoesNotMatch")) {
		t.Errorf("PUT with a wrong trailer signature = %d %s, want 403 SignatureDoesNotMatch", resp.StatusCode, out)
	}
}

// TestMiniogoSigV2EmptySubresource: minio-go signs "?uploads=" on the wire
// as "?uploads" in its SigV2 CanonicalizedResource (botocore signs the
// query as sent); the first was refused with SignatureDoesNotMatch, which
// broke every SigV2 multipart upload from minio-go.
func TestMiniogoSigV2EmptySubresource(t *testing.T) {
	e := start(t)
	b := e.bucket("mgo-sigv2")
	for _, tc := range []struct {
		name, signed string
		wantStatus   int
	}{
		{"bare name", "/" + b + "/k?uploads", http.StatusOK},
		{"as sent", "/" + b + "/k?uploads=", http.StatusOK},
		{"other resource", "/" + b + "/other?uploads", http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := newRequest(t, http.MethodPost, e.n.Endpoint+"/"+b+"/k?uploads=", nil)
			date := time.Now().UTC().Format(http.TimeFormat)
			req.Header.Set("Date", date)
			req.Header.Set("Content-Type", "application/octet-stream")
			m := hmac.New(sha1.New, []byte(servertest.SecretAccessKey))
			m.Write([]byte("POST\n\napplication/octet-stream\n" + date + "\n" + tc.signed))
			req.Header.Set("Authorization", "AWS "+servertest.AccessKeyID+":"+base64.StdEncoding.EncodeToString(m.Sum(nil)))
			resp, out := rawDo(t, req)
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("POST ?uploads= signed as %q = %d %s, want %d", tc.signed, resp.StatusCode, out, tc.wantStatus)
			}
			if tc.wantStatus == http.StatusOK {
				var doc struct{ UploadId string }
				if err := xml.Unmarshal(out, &doc); err != nil || doc.UploadId == "" {
					t.Errorf("no UploadId in %s (%v)", out, err)
				}
			}
		})
	}
}

// TestMiniogoCompositeChecksum: GetObjectAttributes reports a composite
// checksum without its "-N" suffix, and a copy of a multipart object is a
// single-part object with an MD5 ETag and a full-object checksum, as on
// S3 (the copy kept the source's composite checksum and multipart ETag).
func TestMiniogoCompositeChecksum(t *testing.T) {
	e := start(t)
	b := e.bucket("mgo-composite")
	id, parts, data := e.multipart(b, "src", types.ChecksumAlgorithmSha256, "", 2)
	if _, err := e.c.CompleteMultipartUpload(e.ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("src"),
		UploadId: id, MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}}); err != nil {
		t.Fatal(err)
	}
	src := e.head(b, "src", func(in *s3.HeadObjectInput) { in.ChecksumMode = types.ChecksumModeEnabled })
	composite := aws.ToString(src.ChecksumSHA256)
	value, n, ok := strings.Cut(composite, "-")
	if !ok || n != "2" || src.ChecksumType != types.ChecksumTypeComposite {
		t.Fatalf("source checksum = %q %s, want a COMPOSITE value ending in -2", composite, src.ChecksumType)
	}
	full := sha256.Sum256(data)
	fullB64 := base64.StdEncoding.EncodeToString(full[:])

	t.Run("Attributes", func(t *testing.T) {
		out, err := e.c.GetObjectAttributes(e.ctx, &s3.GetObjectAttributesInput{Bucket: aws.String(b), Key: aws.String("src"),
			ObjectAttributes: []types.ObjectAttributes{types.ObjectAttributesChecksum, types.ObjectAttributesObjectParts}})
		if err != nil {
			t.Fatal(err)
		}
		if out.Checksum == nil || aws.ToString(out.Checksum.ChecksumSHA256) != value || out.Checksum.ChecksumType != types.ChecksumTypeComposite {
			t.Errorf("Checksum = %+v, want ChecksumSHA256 %q (no -2) and COMPOSITE", out.Checksum, value)
		}
		if out.ObjectParts == nil || aws.ToInt32(out.ObjectParts.TotalPartsCount) != 2 {
			t.Errorf("ObjectParts = %+v, want 2 parts", out.ObjectParts)
		}
	})

	t.Run("Copy", func(t *testing.T) {
		if _, err := e.c.CopyObject(e.ctx, &s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String("dst"),
			CopySource: aws.String(b + "/src")}); err != nil {
			t.Fatal(err)
		}
		h := e.head(b, "dst", func(in *s3.HeadObjectInput) { in.ChecksumMode = types.ChecksumModeEnabled })
		if got := aws.ToString(h.ChecksumSHA256); got != fullB64 || h.ChecksumType != types.ChecksumTypeFullObject {
			t.Errorf("copy checksum = %q %s, want %q FULL_OBJECT", got, h.ChecksumType, fullB64)
		}
		if sum := md5.Sum(data); aws.ToString(h.ETag) != quoted(hex.EncodeToString(sum[:])) {
			t.Errorf("copy ETag = %s, want the MD5 of the data", aws.ToString(h.ETag))
		}
		if h.PartsCount != nil {
			t.Errorf("copy PartsCount = %d, want none", aws.ToInt32(h.PartsCount))
		}
		got, _ := e.get(b, "dst")
		if !bytes.Equal(got, data) {
			t.Errorf("copy has %d bytes, want the source's %d", len(got), len(data))
		}
	})
}
