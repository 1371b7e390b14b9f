package e2e

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/sluicehq/sluice/internal/server"
	"github.com/sluicehq/sluice/internal/server/servertest"
)

// Server-side encryption: SSE-S3, SSE-KMS (sluice's local key service),
// SSE-C and default bucket encryption, as the SDK drives them.

// ssecKey is an SSE-C key as the SDK sends it.
type ssecKey struct{ key, md5 string }

func newSSECKey(seed uint64) ssecKey {
	raw := randBytes(32, seed)
	sum := md5.Sum(raw)
	return ssecKey{base64.StdEncoding.EncodeToString(raw), base64.StdEncoding.EncodeToString(sum[:])}
}

func (k ssecKey) put(in *s3.PutObjectInput) {
	in.SSECustomerAlgorithm, in.SSECustomerKey, in.SSECustomerKeyMD5 = aws.String("AES256"), aws.String(k.key), aws.String(k.md5)
}

func (k ssecKey) get(in *s3.GetObjectInput) {
	in.SSECustomerAlgorithm, in.SSECustomerKey, in.SSECustomerKeyMD5 = aws.String("AES256"), aws.String(k.key), aws.String(k.md5)
}

func (k ssecKey) head(in *s3.HeadObjectInput) {
	in.SSECustomerAlgorithm, in.SSECustomerKey, in.SSECustomerKeyMD5 = aws.String("AES256"), aws.String(k.key), aws.String(k.md5)
}

func sseS3(in *s3.PutObjectInput) { in.ServerSideEncryption = types.ServerSideEncryptionAes256 }

func sseKMS(keyID string) func(*s3.PutObjectInput) {
	return func(in *s3.PutObjectInput) {
		in.ServerSideEncryption = types.ServerSideEncryptionAwsKms
		if keyID != "" {
			in.SSEKMSKeyId = aws.String(keyID)
		}
	}
}

const (
	testKeyID  = "0f2a6c1e-5b1d-4c3e-9a7b-1c2d3e4f5a6b"
	testKeyARN = "arn:aws:kms:" + servertest.Region + ":" + servertest.AccountID + ":key/" + testKeyID
)

// marked returns n bytes that repeat a marker no encrypted blob can contain
// by chance, so that the data directory can be searched for plaintext.
func marked(n int, tag string) []byte {
	m := []byte("<<sluice-plaintext-" + tag + ">>")
	return bytes.Repeat(m, n/len(m)+1)[:n]
}

// onDisk reports whether any file under dir contains needle.
func onDisk(tb testing.TB, dir string, needle []byte) bool {
	tb.Helper()
	found := false
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || found {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		found = bytes.Contains(b, needle)
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return found
}

func TestSSES3(t *testing.T) {
	e := start(t)
	b := e.bucket("sse-s3")
	for _, size := range []int{0, 1000, 200 << 10} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			key := fmt.Sprintf("obj-%d", size)
			body := randBytes(size, uint64(size))
			out := e.put(b, key, body, sseS3)
			if out.ServerSideEncryption != types.ServerSideEncryptionAes256 {
				t.Errorf("PUT: ServerSideEncryption = %q", out.ServerSideEncryption)
			}
			// SSE-S3 ETags are the MD5 of the data, as for plaintext.
			if got := aws.ToString(out.ETag); got != quoted(md5hex(body)) {
				t.Errorf("ETag = %s, want the MD5 %s", got, md5hex(body))
			}
			got, g := e.get(b, key)
			if !bytes.Equal(got, body) || g.ServerSideEncryption != types.ServerSideEncryptionAes256 {
				t.Fatalf("GET: %d bytes, ServerSideEncryption %q", len(got), g.ServerSideEncryption)
			}
			if h := e.head(b, key); h.ServerSideEncryption != types.ServerSideEncryptionAes256 || aws.ToInt64(h.ContentLength) != int64(size) {
				t.Errorf("HEAD: ServerSideEncryption %q, ContentLength %d", h.ServerSideEncryption, aws.ToInt64(h.ContentLength))
			}
			if size > 100 {
				got, _ := e.get(b, key, func(in *s3.GetObjectInput) { in.Range = aws.String("bytes=50-99") })
				if !bytes.Equal(got, body[50:100]) {
					t.Error("range read of an SSE-S3 object differs")
				}
			}
		})
	}
	// Reads name no method: x-amz-server-side-encryption on a GET is 400.
	_, err := e.c.HeadObject(e.ctx, &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String("obj-1000")},
		s3.WithAPIOptions(smithyhttp.AddHeaderValue("x-amz-server-side-encryption", "AES256")))
	if statusOf(err) != 400 {
		t.Errorf("HEAD with x-amz-server-side-encryption: %v, want 400", err)
	}
	// A plaintext object reports no encryption.
	if out := e.put(b, "plain", []byte("x")); out.ServerSideEncryption != "" {
		t.Errorf("plaintext PUT reports %q", out.ServerSideEncryption)
	}
}

func TestSSEKMS(t *testing.T) {
	e := start(t)
	b := e.bucket("sse-kms")
	body := randBytes(150<<10, 7)

	out := e.put(b, "default-key", body, sseKMS(""))
	defaultARN := aws.ToString(out.SSEKMSKeyId)
	if out.ServerSideEncryption != types.ServerSideEncryptionAwsKms ||
		!strings.HasPrefix(defaultARN, "arn:aws:kms:us-east-1:000000000000:key/") {
		t.Fatalf("PUT without a key: %q %q, want aws:kms and the ARN of aws/s3", out.ServerSideEncryption, defaultARN)
	}
	if aws.ToString(out.ETag) == quoted(md5hex(body)) {
		t.Error("an SSE-KMS ETag is the MD5 of the data; S3's is not")
	}
	// aws/s3 by alias is the same key.
	if out := e.put(b, "alias-aws-s3", body, sseKMS("alias/aws/s3")); aws.ToString(out.SSEKMSKeyId) != defaultARN {
		t.Errorf("alias/aws/s3 resolved to %s, want %s", aws.ToString(out.SSEKMSKeyId), defaultARN)
	}

	// Named keys are created on first use and reported by ARN.
	for _, ref := range []string{testKeyID, testKeyARN} {
		out := e.put(b, "named", body, sseKMS(ref))
		if got := aws.ToString(out.SSEKMSKeyId); got != testKeyARN {
			t.Errorf("key %s: SSEKMSKeyId = %s, want %s", ref, got, testKeyARN)
		}
	}
	got, g := e.get(b, "named")
	if !bytes.Equal(got, body) || g.ServerSideEncryption != types.ServerSideEncryptionAwsKms || aws.ToString(g.SSEKMSKeyId) != testKeyARN {
		t.Fatalf("GET: %d bytes, %q %q", len(got), g.ServerSideEncryption, aws.ToString(g.SSEKMSKeyId))
	}
	h := e.head(b, "named")
	if aws.ToString(h.SSEKMSKeyId) != testKeyARN || aws.ToString(h.ETag) != aws.ToString(g.ETag) {
		t.Errorf("HEAD: key %s ETag %s", aws.ToString(h.SSEKMSKeyId), aws.ToString(h.ETag))
	}
	aliasOut := e.put(b, "alias", body, sseKMS("alias/team-key"))
	if arn := aws.ToString(aliasOut.SSEKMSKeyId); arn == defaultARN || arn == testKeyARN || !strings.Contains(arn, ":key/") {
		t.Errorf("alias/team-key: SSEKMSKeyId = %s, want a new key's ARN", arn)
	}

	// Context and bucket key are reported back.
	ctxJSON, _ := json.Marshal(map[string]string{"project": "sluice"})
	ctxB64 := base64.StdEncoding.EncodeToString(ctxJSON)
	out = e.put(b, "ctx", body, sseKMS(testKeyID), func(in *s3.PutObjectInput) {
		in.SSEKMSEncryptionContext = aws.String(ctxB64)
		in.BucketKeyEnabled = aws.Bool(true)
	})
	if aws.ToString(out.SSEKMSEncryptionContext) != ctxB64 || !aws.ToBool(out.BucketKeyEnabled) {
		t.Errorf("PUT with context and bucket key: context %q, bucket key %v", aws.ToString(out.SSEKMSEncryptionContext), aws.ToBool(out.BucketKeyEnabled))
	}
	if got, g := e.get(b, "ctx"); !bytes.Equal(got, body) || !aws.ToBool(g.BucketKeyEnabled) {
		t.Error("GET of an object with a context failed or lost its bucket key flag")
	}

	// Dual-layer.
	out = e.put(b, "dsse", body, func(in *s3.PutObjectInput) {
		in.ServerSideEncryption = types.ServerSideEncryptionAwsKmsDsse
		in.SSEKMSKeyId = aws.String(testKeyID)
	})
	if out.ServerSideEncryption != types.ServerSideEncryptionAwsKmsDsse {
		t.Errorf("DSSE PUT: %q", out.ServerSideEncryption)
	}
	if got, _ := e.get(b, "dsse", func(in *s3.GetObjectInput) { in.Range = aws.String("bytes=65530-65545") }); !bytes.Equal(got, body[65530:65546]) {
		t.Error("DSSE range read across a segment boundary differs")
	}

	// Malformed and foreign key IDs are KMS.NotFoundException.
	for _, ref := range []string{"testkey-1", "arn:aws:kms:eu-west-1:000000000000:key/" + testKeyID} {
		_, err := e.c.PutObject(e.ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("bad"), Body: bytes.NewReader(body),
			ServerSideEncryption: types.ServerSideEncryptionAwsKms, SSEKMSKeyId: aws.String(ref)})
		wantErr(t, err, "KMS.NotFoundException", 400)
	}
	// A KMS key without aws:kms is refused.
	_, err := e.c.PutObject(e.ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("bad"), Body: bytes.NewReader(body),
		SSEKMSKeyId: aws.String(testKeyID)})
	wantErr(t, err, "InvalidArgument", 400)
}

func TestSSEC(t *testing.T) {
	e := start(t)
	b := e.bucket("sse-c")
	k, other := newSSECKey(1), newSSECKey(2)
	body := randBytes(5*64<<10+321, 3) // five whole segments and a short one

	out := e.put(b, "obj", body, k.put)
	if aws.ToString(out.SSECustomerAlgorithm) != "AES256" || aws.ToString(out.SSECustomerKeyMD5) != k.md5 {
		t.Errorf("PUT: algorithm %q key MD5 %q", aws.ToString(out.SSECustomerAlgorithm), aws.ToString(out.SSECustomerKeyMD5))
	}
	if aws.ToString(out.ETag) == quoted(md5hex(body)) {
		t.Error("an SSE-C ETag is the MD5 of the data; S3's is not")
	}
	got, g := e.get(b, "obj", k.get)
	if !bytes.Equal(got, body) || aws.ToString(g.SSECustomerKeyMD5) != k.md5 || aws.ToString(g.ETag) != aws.ToString(out.ETag) {
		t.Fatalf("GET with the key: %d bytes, key MD5 %q, ETag %s", len(got), aws.ToString(g.SSECustomerKeyMD5), aws.ToString(g.ETag))
	}
	if h := e.head(b, "obj", k.head); aws.ToString(h.SSECustomerAlgorithm) != "AES256" || aws.ToInt64(h.ContentLength) != int64(len(body)) {
		t.Errorf("HEAD with the key: %q, %d bytes", aws.ToString(h.SSECustomerAlgorithm), aws.ToInt64(h.ContentLength))
	}

	// Without the key: 400; with another key: 403, GET and HEAD alike.
	wantErr(t, e.getErr(&s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("obj")}), "InvalidRequest", 400)
	wantErr(t, e.getErr(withGet(b, "obj", other.get)), "AccessDenied", 403)
	_, err := e.c.HeadObject(e.ctx, &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String("obj")})
	if statusOf(err) != 400 {
		t.Errorf("HEAD without the key: %v, want 400", err)
	}
	hin := &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String("obj")}
	other.head(hin)
	if _, err := e.c.HeadObject(e.ctx, hin); statusOf(err) != 403 {
		t.Errorf("HEAD with another key: %v, want 403", err)
	}
	// A key for an object that has none is 400.
	e.put(b, "plain", []byte("plain"))
	wantErr(t, e.getErr(withGet(b, "plain", k.get)), "InvalidRequest", 400)
	// A key whose MD5 does not match is refused before anything is stored.
	_, err = e.c.PutObject(e.ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("bad"), Body: bytes.NewReader(body),
		SSECustomerAlgorithm: aws.String("AES256"), SSECustomerKey: aws.String(k.key), SSECustomerKeyMD5: aws.String(other.md5)})
	wantErr(t, err, "InvalidArgument", 400)

	// Ranges decrypt only what they need, at and across segment
	// boundaries; partNumber=1 of a simple object is all of it.
	const S = 64 << 10
	for _, r := range [][2]int{{0, 0}, {S - 1, S}, {S, S}, {S - 5, 2*S + 5}, {3 * S, 5 * S}, {5 * S, len(body) - 1}, {100, len(body) - 1}} {
		got, _ := e.get(b, "obj", k.get, func(in *s3.GetObjectInput) { in.Range = aws.String(fmt.Sprintf("bytes=%d-%d", r[0], r[1])) })
		if !bytes.Equal(got, body[r[0]:r[1]+1]) {
			t.Errorf("range %d-%d differs", r[0], r[1])
		}
	}
	got, g = e.get(b, "obj", k.get, func(in *s3.GetObjectInput) { in.PartNumber = aws.Int32(1) })
	if !bytes.Equal(got, body) || aws.ToString(g.ETag) != aws.ToString(out.ETag) {
		t.Error("partNumber=1 of an SSE-C object differs")
	}

	// GetObjectAttributes needs the key too.
	attrs := []types.ObjectAttributes{types.ObjectAttributesEtag, types.ObjectAttributesObjectSize}
	_, err = e.c.GetObjectAttributes(e.ctx, &s3.GetObjectAttributesInput{Bucket: aws.String(b), Key: aws.String("obj"), ObjectAttributes: attrs})
	if statusOf(err) != 400 {
		t.Errorf("GetObjectAttributes without the key: %v, want 400", err)
	}
	ga, err := e.c.GetObjectAttributes(e.ctx, &s3.GetObjectAttributesInput{Bucket: aws.String(b), Key: aws.String("obj"), ObjectAttributes: attrs,
		SSECustomerAlgorithm: aws.String("AES256"), SSECustomerKey: aws.String(k.key), SSECustomerKeyMD5: aws.String(k.md5)})
	if err != nil || aws.ToInt64(ga.ObjectSize) != int64(len(body)) {
		t.Errorf("GetObjectAttributes with the key: %v", err)
	}
}

func withGet(bucket, key string, fns ...func(*s3.GetObjectInput)) *s3.GetObjectInput {
	in := &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}
	for _, fn := range fns {
		fn(in)
	}
	return in
}

func TestSSEMultipart(t *testing.T) {
	e := start(t)
	b := e.bucket("sse-mp")
	k, other := newSSECKey(11), newSSECKey(12)
	parts := [][]byte{randBytes(5<<20, 21), randBytes(5<<20+3, 22), randBytes(1000, 23)}
	whole := bytes.Join(parts, nil)

	type mode struct {
		name   string
		create func(*s3.CreateMultipartUploadInput)
		part   func(*s3.UploadPartInput)
		get    func(*s3.GetObjectInput)
		check  func(*s3.GetObjectOutput) bool
	}
	modes := []mode{
		{"sse-c",
			func(in *s3.CreateMultipartUploadInput) {
				in.SSECustomerAlgorithm, in.SSECustomerKey, in.SSECustomerKeyMD5 = aws.String("AES256"), aws.String(k.key), aws.String(k.md5)
			},
			func(in *s3.UploadPartInput) {
				in.SSECustomerAlgorithm, in.SSECustomerKey, in.SSECustomerKeyMD5 = aws.String("AES256"), aws.String(k.key), aws.String(k.md5)
			},
			k.get,
			func(o *s3.GetObjectOutput) bool { return aws.ToString(o.SSECustomerKeyMD5) == k.md5 }},
		{"sse-kms",
			func(in *s3.CreateMultipartUploadInput) {
				in.ServerSideEncryption, in.SSEKMSKeyId = types.ServerSideEncryptionAwsKms, aws.String(testKeyID)
			},
			func(*s3.UploadPartInput) {}, func(*s3.GetObjectInput) {},
			func(o *s3.GetObjectOutput) bool { return aws.ToString(o.SSEKMSKeyId) == testKeyARN }},
		{"sse-s3",
			func(in *s3.CreateMultipartUploadInput) { in.ServerSideEncryption = types.ServerSideEncryptionAes256 },
			func(*s3.UploadPartInput) {}, func(*s3.GetObjectInput) {},
			func(o *s3.GetObjectOutput) bool { return o.ServerSideEncryption == types.ServerSideEncryptionAes256 }},
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			key := "mp-" + m.name
			cu, err := e.c.CreateMultipartUpload(e.ctx, withCreate(b, key, m.create))
			if err != nil {
				t.Fatal(err)
			}
			id := cu.UploadId
			var cps []types.CompletedPart
			for i, p := range parts {
				in := &s3.UploadPartInput{Bucket: aws.String(b), Key: aws.String(key), UploadId: id, PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(p)}
				m.part(in)
				out, err := e.c.UploadPart(e.ctx, in)
				if err != nil {
					t.Fatalf("UploadPart %d: %v", i+1, err)
				}
				if m.name == "sse-s3" && aws.ToString(out.ETag) != quoted(md5hex(p)) {
					t.Errorf("SSE-S3 part ETag %s is not the MD5", aws.ToString(out.ETag))
				}
				cps = append(cps, completed(int32(i+1), out.ETag))
			}
			if m.name == "sse-c" {
				// Parts without the upload's key, or with another, are refused.
				_, err := e.c.UploadPart(e.ctx, &s3.UploadPartInput{Bucket: aws.String(b), Key: aws.String(key), UploadId: id,
					PartNumber: aws.Int32(4), Body: bytes.NewReader(parts[2])})
				wantErr(t, err, "InvalidRequest", 400)
				_, err = e.c.UploadPart(e.ctx, &s3.UploadPartInput{Bucket: aws.String(b), Key: aws.String(key), UploadId: id,
					PartNumber: aws.Int32(4), Body: bytes.NewReader(parts[2]),
					SSECustomerAlgorithm: aws.String("AES256"), SSECustomerKey: aws.String(other.key), SSECustomerKeyMD5: aws.String(other.md5)})
				wantErr(t, err, "InvalidArgument", 400)
				_, err = e.complete(b, key, aws.ToString(id), cps, func(in *s3.CompleteMultipartUploadInput) {
					in.SSECustomerAlgorithm, in.SSECustomerKey, in.SSECustomerKeyMD5 = aws.String("AES256"), aws.String(other.key), aws.String(other.md5)
				})
				wantErr(t, err, "InvalidArgument", 400)
			}
			// S3 completes an SSE-C upload without the key.
			co, err := e.complete(b, key, aws.ToString(id), cps)
			if err != nil {
				t.Fatalf("CompleteMultipartUpload: %v", err)
			}
			got, g := e.get(b, key, m.get)
			if !bytes.Equal(got, whole) || !m.check(g) || aws.ToString(g.ETag) != aws.ToString(co.ETag) {
				t.Fatalf("GET: %d bytes, headers ok %v, ETag %s vs %s", len(got), m.check(g), aws.ToString(g.ETag), aws.ToString(co.ETag))
			}
			if m.name == "sse-s3" && aws.ToString(co.ETag) != multipartETag(parts...) {
				t.Errorf("SSE-S3 multipart ETag %s, want %s", aws.ToString(co.ETag), multipartETag(parts...))
			}
			got, g = e.get(b, key, m.get, func(in *s3.GetObjectInput) { in.PartNumber = aws.Int32(2) })
			if !bytes.Equal(got, parts[1]) || aws.ToInt32(g.PartsCount) != 3 {
				t.Errorf("partNumber=2: %d bytes, parts count %d", len(got), aws.ToInt32(g.PartsCount))
			}
			lo, hi := len(parts[0])-10, len(parts[0])+len(parts[1])+10
			got, _ = e.get(b, key, m.get, func(in *s3.GetObjectInput) { in.Range = aws.String(fmt.Sprintf("bytes=%d-%d", lo, hi)) })
			if !bytes.Equal(got, whole[lo:hi+1]) {
				t.Error("range across three parts differs")
			}
		})
	}
}

func withCreate(bucket, key string, fn func(*s3.CreateMultipartUploadInput)) *s3.CreateMultipartUploadInput {
	in := &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(key)}
	fn(in)
	return in
}

func TestSSECopy(t *testing.T) {
	e := start(t)
	b := e.bucket("sse-copy")
	srcKey, dstKey := newSSECKey(31), newSSECKey(32)
	type mode struct {
		name string
		put  func(*s3.PutObjectInput)
		get  func(*s3.GetObjectInput)
	}
	modes := []mode{
		{"none", func(*s3.PutObjectInput) {}, func(*s3.GetObjectInput) {}},
		{"sse-s3", sseS3, func(*s3.GetObjectInput) {}},
		{"sse-kms", sseKMS(testKeyID), func(*s3.GetObjectInput) {}},
		{"sse-c", srcKey.put, srcKey.get},
	}
	for _, size := range []int{1000, 300 << 10} {
		body := randBytes(size, uint64(size))
		for _, src := range modes {
			key := fmt.Sprintf("src-%s-%d", src.name, size)
			e.put(b, key, body, src.put)
			for _, dst := range modes {
				t.Run(fmt.Sprintf("%d/%s-to-%s", size, src.name, dst.name), func(t *testing.T) {
					in := &s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String(key + "-to-" + dst.name),
						CopySource: aws.String(b + "/" + key)}
					if src.name == "sse-c" {
						in.CopySourceSSECustomerAlgorithm = aws.String("AES256")
						in.CopySourceSSECustomerKey, in.CopySourceSSECustomerKeyMD5 = aws.String(srcKey.key), aws.String(srcKey.md5)
					}
					get := func(*s3.GetObjectInput) {}
					switch dst.name {
					case "sse-s3":
						in.ServerSideEncryption = types.ServerSideEncryptionAes256
					case "sse-kms":
						in.ServerSideEncryption, in.SSEKMSKeyId = types.ServerSideEncryptionAwsKms, aws.String("alias/copy-dest")
					case "sse-c":
						in.SSECustomerAlgorithm, in.SSECustomerKey, in.SSECustomerKeyMD5 = aws.String("AES256"), aws.String(dstKey.key), aws.String(dstKey.md5)
						get = dstKey.get
					}
					out, err := e.c.CopyObject(e.ctx, in)
					if err != nil {
						t.Fatalf("CopyObject: %v", err)
					}
					got, g := e.get(b, aws.ToString(in.Key), get)
					if !bytes.Equal(got, body) {
						t.Fatal("the copy's content differs")
					}
					wantSSE := map[string]types.ServerSideEncryption{"sse-s3": "AES256", "sse-kms": "aws:kms"}[dst.name]
					if out.ServerSideEncryption != wantSSE || g.ServerSideEncryption != wantSSE {
						t.Errorf("copy reports %q, GET %q, want %q", out.ServerSideEncryption, g.ServerSideEncryption, wantSSE)
					}
					etag := aws.ToString(out.CopyObjectResult.ETag)
					if (dst.name == "none" || dst.name == "sse-s3") != (etag == quoted(md5hex(body))) {
						t.Errorf("copy ETag %s (MD5 %s): the MD5 exactly for plaintext and SSE-S3", etag, md5hex(body))
					}
					if etag != aws.ToString(g.ETag) {
						t.Errorf("copy result ETag %s, GET ETag %s", etag, aws.ToString(g.ETag))
					}
				})
			}
		}
	}
	// An SSE-C source needs its key: none is 400, another 403.
	_, err := e.c.CopyObject(e.ctx, &s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String("x"), CopySource: aws.String(b + "/src-sse-c-1000")})
	wantErr(t, err, "InvalidRequest", 400)
	_, err = e.c.CopyObject(e.ctx, &s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String("x"), CopySource: aws.String(b + "/src-sse-c-1000"),
		CopySourceSSECustomerAlgorithm: aws.String("AES256"), CopySourceSSECustomerKey: aws.String(dstKey.key), CopySourceSSECustomerKeyMD5: aws.String(dstKey.md5)})
	wantErr(t, err, "AccessDenied", 403)
	// Copying an object onto itself to encrypt it is allowed.
	if _, err := e.c.CopyObject(e.ctx, &s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String("src-none-1000"),
		CopySource: aws.String(b + "/src-none-1000"), ServerSideEncryption: types.ServerSideEncryptionAes256}); err != nil {
		t.Errorf("in-place copy to SSE-S3: %v", err)
	}

	// Key rotation in place: SSE-C to another SSE-C key, then to plaintext.
	rot := "src-sse-c-1000"
	if _, err := e.c.CopyObject(e.ctx, &s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String(rot), CopySource: aws.String(b + "/" + rot),
		CopySourceSSECustomerAlgorithm: aws.String("AES256"), CopySourceSSECustomerKey: aws.String(srcKey.key), CopySourceSSECustomerKeyMD5: aws.String(srcKey.md5),
		SSECustomerAlgorithm: aws.String("AES256"), SSECustomerKey: aws.String(dstKey.key), SSECustomerKeyMD5: aws.String(dstKey.md5)}); err != nil {
		t.Fatalf("in-place SSE-C key rotation: %v", err)
	}
	wantErr(t, e.getErr(withGet(b, rot, srcKey.get)), "AccessDenied", 403)
	if _, err := e.c.CopyObject(e.ctx, &s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String(rot), CopySource: aws.String(b + "/" + rot),
		CopySourceSSECustomerAlgorithm: aws.String("AES256"), CopySourceSSECustomerKey: aws.String(dstKey.key), CopySourceSSECustomerKeyMD5: aws.String(dstKey.md5)}); err != nil {
		t.Fatalf("in-place decryption: %v", err)
	}
	if got, g := e.get(b, rot); !bytes.Equal(got, randBytes(1000, 1000)) || g.ServerSideEncryption != "" || g.SSECustomerAlgorithm != nil {
		t.Error("object decrypted in place differs or still reports encryption")
	}

	// UploadPartCopy from an SSE-C source into an SSE-KMS upload.
	big := randBytes(6<<20, 41)
	e.put(b, "big-c", big, srcKey.put)
	cu, err := e.c.CreateMultipartUpload(e.ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("assembled"),
		ServerSideEncryption: types.ServerSideEncryptionAwsKms, SSEKMSKeyId: aws.String(testKeyID)})
	if err != nil {
		t.Fatal(err)
	}
	pc, err := e.c.UploadPartCopy(e.ctx, &s3.UploadPartCopyInput{Bucket: aws.String(b), Key: aws.String("assembled"), UploadId: cu.UploadId,
		PartNumber: aws.Int32(1), CopySource: aws.String(b + "/big-c"), CopySourceRange: aws.String("bytes=0-5242879"),
		CopySourceSSECustomerAlgorithm: aws.String("AES256"), CopySourceSSECustomerKey: aws.String(srcKey.key), CopySourceSSECustomerKeyMD5: aws.String(srcKey.md5)})
	if err != nil {
		t.Fatalf("UploadPartCopy: %v", err)
	}
	if pc.ServerSideEncryption != types.ServerSideEncryptionAwsKms {
		t.Errorf("UploadPartCopy reports %q", pc.ServerSideEncryption)
	}
	p2, err := e.c.UploadPartCopy(e.ctx, &s3.UploadPartCopyInput{Bucket: aws.String(b), Key: aws.String("assembled"), UploadId: cu.UploadId,
		PartNumber: aws.Int32(2), CopySource: aws.String(b + "/src-sse-kms-307200")})
	if err != nil {
		t.Fatalf("UploadPartCopy from SSE-KMS: %v", err)
	}
	if _, err := e.complete(b, "assembled", aws.ToString(cu.UploadId), []types.CompletedPart{
		completed(1, pc.CopyPartResult.ETag), completed(2, p2.CopyPartResult.ETag)}); err != nil {
		t.Fatal(err)
	}
	got, _ := e.get(b, "assembled")
	if want := append(big[:5<<20:5<<20], randBytes(300<<10, 300<<10)...); !bytes.Equal(got, want) {
		t.Error("object assembled from encrypted sources differs")
	}
}

func TestBucketDefaultEncryption(t *testing.T) {
	e := start(t)
	b := e.bucket("default-enc")
	_, err := e.c.GetBucketEncryption(e.ctx, &s3.GetBucketEncryptionInput{Bucket: aws.String(b)})
	wantErr(t, err, "ServerSideEncryptionConfigurationNotFoundError", 404)

	put := func(rule types.ServerSideEncryptionRule) {
		t.Helper()
		if _, err := e.c.PutBucketEncryption(e.ctx, &s3.PutBucketEncryptionInput{Bucket: aws.String(b),
			ServerSideEncryptionConfiguration: &types.ServerSideEncryptionConfiguration{Rules: []types.ServerSideEncryptionRule{rule}}}); err != nil {
			t.Fatalf("PutBucketEncryption: %v", err)
		}
	}
	put(types.ServerSideEncryptionRule{ApplyServerSideEncryptionByDefault: &types.ServerSideEncryptionByDefault{SSEAlgorithm: types.ServerSideEncryptionAes256}})
	ge, err := e.c.GetBucketEncryption(e.ctx, &s3.GetBucketEncryptionInput{Bucket: aws.String(b)})
	if err != nil || ge.ServerSideEncryptionConfiguration.Rules[0].ApplyServerSideEncryptionByDefault.SSEAlgorithm != types.ServerSideEncryptionAes256 {
		t.Fatalf("GetBucketEncryption: %v", err)
	}
	body := marked(100<<10, "default")
	if out := e.put(b, "s3", body); out.ServerSideEncryption != types.ServerSideEncryptionAes256 {
		t.Errorf("PUT into an SSE-S3 bucket reports %q", out.ServerSideEncryption)
	}
	if cu, err := e.c.CreateMultipartUpload(e.ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("mp")}); err != nil ||
		cu.ServerSideEncryption != types.ServerSideEncryptionAes256 {
		t.Errorf("CreateMultipartUpload in an SSE-S3 bucket: %v", err)
	}
	// A request's own method wins over the default.
	if out := e.put(b, "kms", body, sseKMS(testKeyID)); aws.ToString(out.SSEKMSKeyId) != testKeyARN {
		t.Errorf("explicit SSE-KMS in an SSE-S3 bucket: %q", aws.ToString(out.SSEKMSKeyId))
	}

	put(types.ServerSideEncryptionRule{
		ApplyServerSideEncryptionByDefault: &types.ServerSideEncryptionByDefault{SSEAlgorithm: types.ServerSideEncryptionAwsKms, KMSMasterKeyID: aws.String(testKeyARN)},
		BucketKeyEnabled:                   aws.Bool(true),
	})
	ge, err = e.c.GetBucketEncryption(e.ctx, &s3.GetBucketEncryptionInput{Bucket: aws.String(b)})
	if err != nil || aws.ToString(ge.ServerSideEncryptionConfiguration.Rules[0].ApplyServerSideEncryptionByDefault.KMSMasterKeyID) != testKeyARN ||
		!aws.ToBool(ge.ServerSideEncryptionConfiguration.Rules[0].BucketKeyEnabled) {
		t.Fatalf("GetBucketEncryption (KMS): %v", err)
	}
	out := e.put(b, "by-default-kms", body)
	if out.ServerSideEncryption != types.ServerSideEncryptionAwsKms || aws.ToString(out.SSEKMSKeyId) != testKeyARN || !aws.ToBool(out.BucketKeyEnabled) {
		t.Errorf("PUT into an SSE-KMS bucket: %q %q %v", out.ServerSideEncryption, aws.ToString(out.SSEKMSKeyId), aws.ToBool(out.BucketKeyEnabled))
	}
	if got, _ := e.get(b, "by-default-kms"); !bytes.Equal(got, body) {
		t.Error("GET of a default-encrypted object differs")
	}
	// KMSMasterKeyID with AES256 is refused.
	_, err = e.c.PutBucketEncryption(e.ctx, &s3.PutBucketEncryptionInput{Bucket: aws.String(b),
		ServerSideEncryptionConfiguration: &types.ServerSideEncryptionConfiguration{Rules: []types.ServerSideEncryptionRule{{
			ApplyServerSideEncryptionByDefault: &types.ServerSideEncryptionByDefault{SSEAlgorithm: types.ServerSideEncryptionAes256, KMSMasterKeyID: aws.String(testKeyID)}}}}})
	wantErr(t, err, "InvalidArgument", 400)

	// Blocking SSE-C.
	put(types.ServerSideEncryptionRule{
		ApplyServerSideEncryptionByDefault: &types.ServerSideEncryptionByDefault{SSEAlgorithm: types.ServerSideEncryptionAes256},
		BlockedEncryptionTypes:             &types.BlockedEncryptionTypes{EncryptionType: []types.EncryptionType{types.EncryptionTypeSseC}},
	})
	k := newSSECKey(5)
	_, err = e.c.PutObject(e.ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("c"), Body: bytes.NewReader(body),
		SSECustomerAlgorithm: aws.String("AES256"), SSECustomerKey: aws.String(k.key), SSECustomerKeyMD5: aws.String(k.md5)})
	wantErr(t, err, "AccessDenied", 403)

	if _, err := e.c.DeleteBucketEncryption(e.ctx, &s3.DeleteBucketEncryptionInput{Bucket: aws.String(b)}); err != nil {
		t.Fatal(err)
	}
	_, err = e.c.GetBucketEncryption(e.ctx, &s3.GetBucketEncryptionInput{Bucket: aws.String(b)})
	wantErr(t, err, "ServerSideEncryptionConfigurationNotFoundError", 404)
	if out := e.put(b, "after-delete", []byte("x")); out.ServerSideEncryption != "" {
		t.Errorf("PUT after DeleteBucketEncryption reports %q", out.ServerSideEncryption)
	}
}

// TestSSEAtRest checks that encrypted content is not on disk in the clear,
// in blobs or inline in the metadata file, and that it survives a restart
// (the master keys are on disk too).
func TestSSEAtRest(t *testing.T) {
	dir := t.TempDir()
	e := start(t, servertest.Options{DataDir: dir})
	b := e.bucket("at-rest")
	k := newSSECKey(9)
	objects := []struct {
		key  string
		body []byte
		put  func(*s3.PutObjectInput)
		get  func(*s3.GetObjectInput)
	}{
		{"s3-small", marked(2000, "s3-small"), sseS3, nil},
		{"s3-big", marked(300<<10, "s3-big"), sseS3, nil},
		{"kms-small", marked(2000, "kms-small"), sseKMS(""), nil},
		{"kms-big", marked(300<<10, "kms-big"), sseKMS(testKeyID), nil},
		{"c-small", marked(2000, "c-small"), k.put, k.get},
		{"c-big", marked(300<<10, "c-big"), k.put, k.get},
	}
	for _, o := range objects {
		e.put(b, o.key, o.body, o.put)
	}
	// The search finds plaintext where there is some.
	plain := marked(300<<10, "plain")
	e.put(b, "plain", plain)
	if !onDisk(t, dir, plain[:64]) {
		t.Fatal("the plaintext of an unencrypted object is not found on disk: the search is broken")
	}
	for _, o := range objects {
		if onDisk(t, dir, o.body[:40]) {
			t.Errorf("%s: plaintext found on disk", o.key)
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, "kms.json")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("kms.json: %v, mode %v; want 0600", err, fi.Mode().Perm())
	}

	e.n.Close()
	e = start(t, servertest.Options{DataDir: dir})
	for _, o := range objects {
		var fns []func(*s3.GetObjectInput)
		if o.get != nil {
			fns = append(fns, o.get)
		}
		if got, _ := e.get(b, o.key, fns...); !bytes.Equal(got, o.body) {
			t.Errorf("%s after restart differs", o.key)
		}
	}
}

// TestSSETamper flips a byte of an encrypted blob on disk: the GET fails
// rather than return altered data.
func TestSSETamper(t *testing.T) {
	dir := t.TempDir()
	e := start(t, servertest.Options{DataDir: dir})
	b := e.bucket("tamper")
	body := randBytes(500<<10, 77)
	e.put(b, "obj", body, sseS3)
	var blobs []string
	filepath.WalkDir(filepath.Join(dir, "blobs"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && filepath.Base(filepath.Dir(p)) != "tmp" {
			blobs = append(blobs, p)
		}
		return nil
	})
	if len(blobs) != 1 {
		t.Fatalf("%d blobs on disk, want 1", len(blobs))
	}
	raw, err := os.ReadFile(blobs[0])
	if err != nil {
		t.Fatal(err)
	}
	raw[400<<10] ^= 1
	if err := os.WriteFile(blobs[0], raw, 0o644); err != nil {
		t.Fatal(err)
	}
	// A range before the damage still reads; one over it fails.
	if got, _ := e.get(b, "obj", func(in *s3.GetObjectInput) { in.Range = aws.String("bytes=0-1000") }); !bytes.Equal(got, body[:1001]) {
		t.Error("undamaged range differs")
	}
	out, err := e.c.GetObject(e.ctx, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("obj")})
	if err == nil {
		got, rerr := io.ReadAll(out.Body)
		out.Body.Close()
		if rerr == nil && bytes.Equal(got, body) {
			t.Fatal("GET of a tampered object returned the original data")
		}
		if rerr == nil {
			t.Fatal("GET of a tampered object returned altered data without an error")
		}
	}
}

// TestStoreDefaultEncryption runs a node that encrypts every new object
// with SSE-S3 unless asked otherwise, as S3 does since 2023.
func TestStoreDefaultEncryption(t *testing.T) {
	dir := t.TempDir()
	e := start(t, servertest.Options{DataDir: dir, Configure: func(c *server.Config) { c.DefaultEncryption = "AES256" }})
	b := e.bucket("store-default")
	ge, err := e.c.GetBucketEncryption(e.ctx, &s3.GetBucketEncryptionInput{Bucket: aws.String(b)})
	if err != nil || ge.ServerSideEncryptionConfiguration.Rules[0].ApplyServerSideEncryptionByDefault.SSEAlgorithm != types.ServerSideEncryptionAes256 {
		t.Fatalf("GetBucketEncryption of a new bucket: %v, want the SSE-S3 default", err)
	}
	body := marked(200<<10, "store-default")
	out := e.put(b, "obj", body)
	if out.ServerSideEncryption != types.ServerSideEncryptionAes256 || aws.ToString(out.ETag) != quoted(md5hex(body)) {
		t.Errorf("PUT: %q, ETag %s", out.ServerSideEncryption, aws.ToString(out.ETag))
	}
	if got, g := e.get(b, "obj"); !bytes.Equal(got, body) || g.ServerSideEncryption != types.ServerSideEncryptionAes256 {
		t.Error("GET of a default-encrypted object")
	}
	if onDisk(t, dir, body[:40]) {
		t.Error("plaintext of a default-encrypted object found on disk")
	}
	// A bucket default still wins, and DeleteBucketEncryption returns to the
	// store's default.
	if _, err := e.c.PutBucketEncryption(e.ctx, &s3.PutBucketEncryptionInput{Bucket: aws.String(b),
		ServerSideEncryptionConfiguration: &types.ServerSideEncryptionConfiguration{Rules: []types.ServerSideEncryptionRule{{
			ApplyServerSideEncryptionByDefault: &types.ServerSideEncryptionByDefault{SSEAlgorithm: types.ServerSideEncryptionAwsKms}}}}}); err != nil {
		t.Fatal(err)
	}
	if out := e.put(b, "kms", body); out.ServerSideEncryption != types.ServerSideEncryptionAwsKms {
		t.Errorf("PUT into an SSE-KMS bucket: %q", out.ServerSideEncryption)
	}
	if _, err := e.c.DeleteBucketEncryption(e.ctx, &s3.DeleteBucketEncryptionInput{Bucket: aws.String(b)}); err != nil {
		t.Fatal(err)
	}
	if out := e.put(b, "again", body); out.ServerSideEncryption != types.ServerSideEncryptionAes256 {
		t.Errorf("PUT after DeleteBucketEncryption: %q, want AES256", out.ServerSideEncryption)
	}
}
