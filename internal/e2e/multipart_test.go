package e2e

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"hash/crc32"
	"hash/crc64"
	"net/http"
	"slices"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

const mib = 1 << 20

// Part bodies shared by the multipart tests: two parts of the minimum size
// and a short last part.
var (
	partA = randBytes(5*mib, 101)
	partB = randBytes(5*mib+7, 102)
	partC = randBytes(1000, 103)
)

func (e *env) createUpload(bucket, key string, fns ...func(*s3.CreateMultipartUploadInput)) string {
	e.t.Helper()
	in := &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(key)}
	for _, fn := range fns {
		fn(in)
	}
	out, err := e.c.CreateMultipartUpload(e.ctx, in)
	if err != nil {
		e.t.Fatalf("CreateMultipartUpload %s/%q: %v", bucket, key, err)
	}
	if aws.ToString(out.Bucket) != bucket || aws.ToString(out.Key) != key || aws.ToString(out.UploadId) == "" {
		e.t.Errorf("CreateMultipartUpload result: bucket %q key %q upload %q", aws.ToString(out.Bucket), aws.ToString(out.Key), aws.ToString(out.UploadId))
	}
	return aws.ToString(out.UploadId)
}

func (e *env) uploadPart(bucket, key, uploadID string, n int32, body []byte, fns ...func(*s3.UploadPartInput)) *s3.UploadPartOutput {
	e.t.Helper()
	in := &s3.UploadPartInput{
		Bucket: aws.String(bucket), Key: aws.String(key), UploadId: aws.String(uploadID),
		PartNumber: aws.Int32(n), Body: bytes.NewReader(body),
	}
	for _, fn := range fns {
		fn(in)
	}
	out, err := e.c.UploadPart(e.ctx, in)
	if err != nil {
		e.t.Fatalf("UploadPart %d of %s/%q: %v", n, bucket, key, err)
	}
	if got, want := aws.ToString(out.ETag), quoted(md5hex(body)); got != want {
		e.t.Errorf("UploadPart %d ETag = %s, want %s", n, got, want)
	}
	return out
}

func (e *env) complete(bucket, key, uploadID string, parts []types.CompletedPart, fns ...func(*s3.CompleteMultipartUploadInput)) (*s3.CompleteMultipartUploadOutput, error) {
	e.t.Helper()
	in := &s3.CompleteMultipartUploadInput{
		Bucket: aws.String(bucket), Key: aws.String(key), UploadId: aws.String(uploadID),
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	}
	for _, fn := range fns {
		fn(in)
	}
	return e.c.CompleteMultipartUpload(e.ctx, in)
}

func completed(n int32, etag *string) types.CompletedPart {
	return types.CompletedPart{PartNumber: aws.Int32(n), ETag: etag}
}

// uploadObject uploads parts as a multipart object and returns the
// completion result.
func (e *env) uploadObject(bucket, key string, parts ...[]byte) *s3.CompleteMultipartUploadOutput {
	e.t.Helper()
	id := e.createUpload(bucket, key)
	var cps []types.CompletedPart
	for i, p := range parts {
		out := e.uploadPart(bucket, key, id, int32(i+1), p)
		cps = append(cps, completed(int32(i+1), out.ETag))
	}
	out, err := e.complete(bucket, key, id, cps)
	if err != nil {
		e.t.Fatalf("CompleteMultipartUpload %s/%q: %v", bucket, key, err)
	}
	return out
}

func TestMultipartUpload(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.bucket("mpu")
	key := "dir/multi part+object"
	id := e.createUpload(b, key, func(in *s3.CreateMultipartUploadInput) {
		in.ContentType = aws.String("application/x-multi")
		in.Metadata = map[string]string{"from": "create"}
		in.Tagging = aws.String("mp=yes")
	})
	// Parts may arrive out of order and be replaced.
	e.uploadPart(b, key, id, 2, partC)
	p2 := e.uploadPart(b, key, id, 2, partB)
	p1 := e.uploadPart(b, key, id, 1, partA)
	p3 := e.uploadPart(b, key, id, 3, partC)
	out, err := e.complete(b, key, id, []types.CompletedPart{completed(1, p1.ETag), completed(2, p2.ETag), completed(3, p3.ETag)})
	if err != nil {
		t.Fatal(err)
	}
	whole := slices.Concat(partA, partB, partC)
	wantETag := multipartETag(partA, partB, partC)
	if got := aws.ToString(out.ETag); got != wantETag {
		t.Errorf("ETag = %s, want %s (MD5 of part MD5s)", got, wantETag)
	}
	if aws.ToString(out.Bucket) != b || aws.ToString(out.Key) != key || aws.ToString(out.Location) == "" {
		t.Errorf("result: bucket %q key %q location %q", aws.ToString(out.Bucket), aws.ToString(out.Key), aws.ToString(out.Location))
	}

	got, g := e.get(b, key)
	if !bytes.Equal(got, whole) {
		t.Fatalf("GET returned %d bytes, want %d", len(got), len(whole))
	}
	if aws.ToString(g.ETag) != wantETag || aws.ToString(g.ContentType) != "application/x-multi" || g.Metadata["from"] != "create" || aws.ToInt32(g.TagCount) != 1 {
		t.Errorf("GET: etag %s type %q meta %v tags %d", aws.ToString(g.ETag), aws.ToString(g.ContentType), g.Metadata, aws.ToInt32(g.TagCount))
	}
	if g.PartsCount != nil {
		t.Errorf("PartsCount %d without partNumber", aws.ToInt32(g.PartsCount))
	}

	lo, err := e.c.ListObjectsV2(e.ctx, &s3.ListObjectsV2Input{Bucket: aws.String(b), Prefix: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	if len(lo.Contents) != 1 || aws.ToString(lo.Contents[0].ETag) != wantETag || aws.ToInt64(lo.Contents[0].Size) != int64(len(whole)) {
		t.Errorf("listed as %+v, want ETag %s size %d", lo.Contents, wantETag, len(whole))
	}

	// The upload is gone once completed.
	_, err = e.c.ListParts(e.ctx, &s3.ListPartsInput{Bucket: aws.String(b), Key: aws.String(key), UploadId: aws.String(id)})
	wantErr(t, err, "NoSuchUpload", http.StatusNotFound)

	t.Run("PartNumber", func(t *testing.T) {
		offsets := []int{0, len(partA), len(partA) + len(partB), len(whole)}
		for i, want := range [][]byte{partA, partB, partC} {
			n := int32(i + 1)
			got, out := e.get(b, key, func(in *s3.GetObjectInput) { in.PartNumber = aws.Int32(n) })
			if !bytes.Equal(got, want) {
				t.Errorf("part %d: %d bytes, want %d", n, len(got), len(want))
			}
			cr := fmt.Sprintf("bytes %d-%d/%d", offsets[i], offsets[i+1]-1, len(whole))
			if aws.ToString(out.ContentRange) != cr || aws.ToInt32(out.PartsCount) != 3 || aws.ToString(out.ETag) != wantETag {
				t.Errorf("part %d: Content-Range %q (want %q) PartsCount %d ETag %s", n, aws.ToString(out.ContentRange), cr, aws.ToInt32(out.PartsCount), aws.ToString(out.ETag))
			}
			h := e.head(b, key, func(in *s3.HeadObjectInput) { in.PartNumber = aws.Int32(n) })
			if aws.ToInt64(h.ContentLength) != int64(len(want)) || aws.ToInt32(h.PartsCount) != 3 {
				t.Errorf("HEAD part %d: length %d parts %d", n, aws.ToInt64(h.ContentLength), aws.ToInt32(h.PartsCount))
			}
		}
		err := e.getErr(&s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String(key), PartNumber: aws.Int32(4)})
		wantErr(t, err, "InvalidPartNumber", http.StatusRequestedRangeNotSatisfiable)
		// S3's answer names the part asked for and how many there are (a
		// simple object is one part).
		e.put(b, "simple", []byte("one part"))
		resp, body := e.signedDo(http.MethodGet, "/"+b+"/simple?partNumber=2")
		checkErrorDoc(t, resp, body, http.StatusRequestedRangeNotSatisfiable, "InvalidPartNumber")
		if !bytes.Contains(body, []byte("<PartNumberRequested>2</PartNumberRequested><ActualPartCount>1</ActualPartCount>")) {
			t.Errorf("InvalidPartNumber body: %s", body)
		}
		err = e.getErr(&s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String(key), PartNumber: aws.Int32(1), Range: aws.String("bytes=0-1")})
		wantErr(t, err, "InvalidRequest", http.StatusBadRequest)
	})

	t.Run("RangeAcrossParts", func(t *testing.T) {
		lo, hi := len(partA)-10, len(partA)+len(partB)+10
		got, _ := e.get(b, key, func(in *s3.GetObjectInput) { in.Range = aws.String(fmt.Sprintf("bytes=%d-%d", lo, hi)) })
		if !bytes.Equal(got, whole[lo:hi+1]) {
			t.Errorf("range across parts differs (%d bytes)", len(got))
		}
	})

	t.Run("SubsetOfParts", func(t *testing.T) {
		// Parts not listed are dropped; numbers need not be contiguous.
		key := "subset"
		id := e.createUpload(b, key)
		p1 := e.uploadPart(b, key, id, 1, partA)
		e.uploadPart(b, key, id, 2, partB)
		p5 := e.uploadPart(b, key, id, 5, partC)
		out, err := e.complete(b, key, id, []types.CompletedPart{completed(1, p1.ETag), completed(5, p5.ETag)})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(out.ETag) != multipartETag(partA, partC) {
			t.Errorf("ETag = %s", aws.ToString(out.ETag))
		}
		if got, _ := e.get(b, key); !bytes.Equal(got, slices.Concat(partA, partC)) {
			t.Errorf("subset object: %d bytes", len(got))
		}
		// GetObject partNumber addresses the object's parts in order.
		if got, _ := e.get(b, key, func(in *s3.GetObjectInput) { in.PartNumber = aws.Int32(2) }); !bytes.Equal(got, partC) {
			t.Errorf("part 2 of the subset: %d bytes", len(got))
		}
	})

	t.Run("SinglePart", func(t *testing.T) {
		// One small part is a valid (last) part.
		out := e.uploadObject(b, "single", []byte("tiny"))
		if aws.ToString(out.ETag) != multipartETag([]byte("tiny")) {
			t.Errorf("ETag = %s", aws.ToString(out.ETag))
		}
		if got, _ := e.get(b, "single"); string(got) != "tiny" {
			t.Errorf("single = %q", got)
		}
	})
}

func TestMultipartErrors(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.bucket("mpu-errors")
	small := []byte("small part")

	t.Run("EntityTooSmall", func(t *testing.T) {
		id := e.createUpload(b, "small")
		p1 := e.uploadPart(b, "small", id, 1, small)
		p2 := e.uploadPart(b, "small", id, 2, small)
		_, err := e.complete(b, "small", id, []types.CompletedPart{completed(1, p1.ETag), completed(2, p2.ETag)})
		wantErr(t, err, "EntityTooSmall", http.StatusBadRequest)
		// The upload survives a failed completion.
		if _, err := e.c.ListParts(e.ctx, &s3.ListPartsInput{Bucket: aws.String(b), Key: aws.String("small"), UploadId: aws.String(id)}); err != nil {
			t.Errorf("ListParts after a failed Complete: %v", err)
		}
	})

	id := e.createUpload(b, "k")
	p1 := e.uploadPart(b, "k", id, 1, partA)
	p2 := e.uploadPart(b, "k", id, 2, small)
	for _, tc := range []struct {
		name   string
		parts  []types.CompletedPart
		code   string
		status int
	}{
		{"WrongETag", []types.CompletedPart{completed(1, p2.ETag), completed(2, p2.ETag)}, "InvalidPart", 400},
		{"MissingPart", []types.CompletedPart{completed(1, p1.ETag), completed(3, p2.ETag)}, "InvalidPart", 400},
		{"Order", []types.CompletedPart{completed(2, p2.ETag), completed(1, p1.ETag)}, "InvalidPartOrder", 400},
		{"Duplicate", []types.CompletedPart{completed(1, p1.ETag), completed(1, p1.ETag)}, "InvalidPartOrder", 400},
		{"Empty", []types.CompletedPart{}, "MalformedXML", 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.complete(b, "k", id, tc.parts)
			wantErr(t, err, tc.code, tc.status)
		})
	}
	t.Run("UnquotedETags", func(t *testing.T) {
		// ETags may be sent without their quotes.
		id := e.createUpload(b, "unquoted")
		e.uploadPart(b, "unquoted", id, 1, small)
		if _, err := e.complete(b, "unquoted", id, []types.CompletedPart{completed(1, aws.String(md5hex(small)))}); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("PartNumberRange", func(t *testing.T) {
		for _, n := range []int32{0, 10001} {
			_, err := e.c.UploadPart(e.ctx, &s3.UploadPartInput{
				Bucket: aws.String(b), Key: aws.String("k"), UploadId: aws.String(id), PartNumber: aws.Int32(n), Body: bytes.NewReader(small),
			})
			wantErr(t, err, "InvalidArgument", http.StatusBadRequest)
		}
	})

	t.Run("BadPartChecksum", func(t *testing.T) {
		_, err := e.c.UploadPart(e.ctx, &s3.UploadPartInput{
			Bucket: aws.String(b), Key: aws.String("k"), UploadId: aws.String(id), PartNumber: aws.Int32(3),
			Body: bytes.NewReader(small), ChecksumSHA256: aws.String(sum(types.ChecksumAlgorithmSha256, []byte("other"))),
		})
		wantErr(t, err, "BadDigest", http.StatusBadRequest)
	})

	t.Run("NoSuchUpload", func(t *testing.T) {
		const bogus = "bogus-upload-id"
		_, err := e.c.UploadPart(e.ctx, &s3.UploadPartInput{
			Bucket: aws.String(b), Key: aws.String("k"), UploadId: aws.String(bogus), PartNumber: aws.Int32(1), Body: bytes.NewReader(small),
		})
		wantErr(t, err, "NoSuchUpload", http.StatusNotFound)
		_, err = e.complete(b, "k", bogus, []types.CompletedPart{completed(1, p1.ETag)})
		wantErr(t, err, "NoSuchUpload", http.StatusNotFound)
		_, err = e.c.ListParts(e.ctx, &s3.ListPartsInput{Bucket: aws.String(b), Key: aws.String("k"), UploadId: aws.String(bogus)})
		wantErr(t, err, "NoSuchUpload", http.StatusNotFound)
		_, err = e.c.AbortMultipartUpload(e.ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("k"), UploadId: aws.String(bogus)})
		wantErr(t, err, "NoSuchUpload", http.StatusNotFound)
		// An upload ID belongs to its key.
		_, err = e.c.ListParts(e.ctx, &s3.ListPartsInput{Bucket: aws.String(b), Key: aws.String("other-key"), UploadId: aws.String(id)})
		wantErr(t, err, "NoSuchUpload", http.StatusNotFound)
	})

	t.Run("Abort", func(t *testing.T) {
		if _, err := e.c.AbortMultipartUpload(e.ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("k"), UploadId: aws.String(id)}); err != nil {
			t.Fatal(err)
		}
		_, err := e.complete(b, "k", id, []types.CompletedPart{completed(1, p1.ETag), completed(2, p2.ETag)})
		wantErr(t, err, "NoSuchUpload", http.StatusNotFound)
		_, err = e.c.UploadPart(e.ctx, &s3.UploadPartInput{
			Bucket: aws.String(b), Key: aws.String("k"), UploadId: aws.String(id), PartNumber: aws.Int32(1), Body: bytes.NewReader(small),
		})
		wantErr(t, err, "NoSuchUpload", http.StatusNotFound)
		_, err = e.c.HeadObject(e.ctx, &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String("k")})
		wantErr(t, err, "NotFound", http.StatusNotFound)
	})

	t.Run("CompletedTwice", func(t *testing.T) {
		id := e.createUpload(b, "twice")
		p := e.uploadPart(b, "twice", id, 1, small)
		if _, err := e.complete(b, "twice", id, []types.CompletedPart{completed(1, p.ETag)}); err != nil {
			t.Fatal(err)
		}
		_, err := e.c.AbortMultipartUpload(e.ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("twice"), UploadId: aws.String(id)})
		wantErr(t, err, "NoSuchUpload", http.StatusNotFound)
	})

	t.Run("MissingBucket", func(t *testing.T) {
		_, err := e.c.CreateMultipartUpload(e.ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("no-such-bucket"), Key: aws.String("k")})
		wantErr(t, err, "NoSuchBucket", http.StatusNotFound)
	})
}

func TestUploadPartCopy(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.versionedBucket("mpu-copy")
	src := slices.Concat(partA, partC) // 5 MiB + 1000 bytes
	srcV := aws.ToString(e.put(b, "src", src).VersionId)
	e.put(b, "src", []byte("newer version")) // the copies name srcV
	e.put(b, "small", partC)

	id := e.createUpload(b, "dst")
	copyPart := func(n int32, source, rng string) *s3.UploadPartCopyOutput {
		t.Helper()
		in := &s3.UploadPartCopyInput{
			Bucket: aws.String(b), Key: aws.String("dst"), UploadId: aws.String(id), PartNumber: aws.Int32(n), CopySource: aws.String(source),
		}
		if rng != "" {
			in.CopySourceRange = aws.String(rng)
		}
		out, err := e.c.UploadPartCopy(e.ctx, in)
		if err != nil {
			t.Fatalf("UploadPartCopy %d from %s %s: %v", n, source, rng, err)
		}
		return out
	}
	// Part 1: the first 5 MiB of src; part 2: bytes 100-199 of src; part
	// 3: all of "small".
	c1 := copyPart(1, copySource(b, "src", srcV), fmt.Sprintf("bytes=0-%d", 5*mib-1))
	if aws.ToString(c1.CopySourceVersionId) != srcV {
		t.Errorf("CopySourceVersionId = %q, want %q", aws.ToString(c1.CopySourceVersionId), srcV)
	}
	if got := aws.ToString(c1.CopyPartResult.ETag); got != quoted(md5hex(src[:5*mib])) {
		t.Errorf("part 1 ETag = %s", got)
	}
	c2 := copyPart(2, copySource(b, "src", srcV), "bytes=100-199")
	if got := aws.ToString(c2.CopyPartResult.ETag); got != quoted(md5hex(src[100:200])) {
		t.Errorf("part 2 ETag = %s", got)
	}
	c3 := copyPart(3, copySource(b, "small", ""), "")
	_, err := e.complete(b, "dst", id, []types.CompletedPart{
		completed(1, c1.CopyPartResult.ETag), completed(2, c2.CopyPartResult.ETag), completed(3, c3.CopyPartResult.ETag),
	})
	wantErr(t, err, "EntityTooSmall", http.StatusBadRequest) // part 2 is 100 bytes and not last

	// Replace part 2 by a 5 MiB range.
	c2 = copyPart(2, copySource(b, "src", srcV), fmt.Sprintf("bytes=%d-%d", 100, 100+5*mib-1))
	out, err := e.complete(b, "dst", id, []types.CompletedPart{
		completed(1, c1.CopyPartResult.ETag), completed(2, c2.CopyPartResult.ETag), completed(3, c3.CopyPartResult.ETag),
	})
	if err != nil {
		t.Fatal(err)
	}
	p1, p2, p3 := src[:5*mib], src[100:100+5*mib], partC
	if aws.ToString(out.ETag) != multipartETag(p1, p2, p3) {
		t.Errorf("ETag = %s, want %s", aws.ToString(out.ETag), multipartETag(p1, p2, p3))
	}
	if got, _ := e.get(b, "dst"); !bytes.Equal(got, slices.Concat(p1, p2, p3)) {
		t.Errorf("assembled object differs (%d bytes)", len(got))
	}

	t.Run("InvalidRanges", func(t *testing.T) {
		id := e.createUpload(b, "bad")
		for _, rng := range []string{
			fmt.Sprintf("bytes=0-%d", len(src)), // one past the end
			"bytes=10-5",
			"bytes=5-",
			"0-10",
		} {
			_, err := e.c.UploadPartCopy(e.ctx, &s3.UploadPartCopyInput{
				Bucket: aws.String(b), Key: aws.String("bad"), UploadId: aws.String(id), PartNumber: aws.Int32(1),
				CopySource: aws.String(copySource(b, "src", srcV)), CopySourceRange: aws.String(rng),
			})
			wantErr(t, err, "InvalidArgument", http.StatusBadRequest)
		}
		_, err := e.c.UploadPartCopy(e.ctx, &s3.UploadPartCopyInput{
			Bucket: aws.String(b), Key: aws.String("bad"), UploadId: aws.String(id), PartNumber: aws.Int32(1),
			CopySource: aws.String(copySource(b, "missing", "")),
		})
		wantErr(t, err, "NoSuchKey", http.StatusNotFound)
	})
}

func TestListParts(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.bucket("mpu-listparts")
	id := e.createUpload(b, "k")
	var etags []string
	for n := int32(1); n <= 7; n++ {
		body := []byte(fmt.Sprintf("part %d body", n))
		etags = append(etags, aws.ToString(e.uploadPart(b, "k", id, n, body).ETag))
	}
	out, err := e.c.ListParts(e.ctx, &s3.ListPartsInput{Bucket: aws.String(b), Key: aws.String("k"), UploadId: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Parts) != 7 || aws.ToBool(out.IsTruncated) || aws.ToString(out.UploadId) != id || out.Owner == nil || out.Initiator == nil {
		t.Fatalf("ListParts: %d parts truncated %v upload %q owner %v", len(out.Parts), aws.ToBool(out.IsTruncated), aws.ToString(out.UploadId), out.Owner)
	}
	for i, p := range out.Parts {
		if aws.ToInt32(p.PartNumber) != int32(i+1) || aws.ToString(p.ETag) != etags[i] || aws.ToInt64(p.Size) != int64(len(fmt.Sprintf("part %d body", i+1))) || p.LastModified == nil {
			t.Errorf("part %d: %+v", i+1, p)
		}
	}

	for _, max := range []int32{1, 2, 3, 7} {
		var got []int32
		in := &s3.ListPartsInput{Bucket: aws.String(b), Key: aws.String("k"), UploadId: aws.String(id), MaxParts: aws.Int32(max)}
		for pages := 0; ; pages++ {
			if pages > 20 {
				t.Fatal("ListParts does not end")
			}
			out, err := e.c.ListParts(e.ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Parts) > int(max) || aws.ToInt32(out.MaxParts) != max {
				t.Errorf("max-parts %d: page of %d, MaxParts %d", max, len(out.Parts), aws.ToInt32(out.MaxParts))
			}
			for _, p := range out.Parts {
				got = append(got, aws.ToInt32(p.PartNumber))
			}
			if !aws.ToBool(out.IsTruncated) {
				break
			}
			in.PartNumberMarker = out.NextPartNumberMarker
		}
		if want := []int32{1, 2, 3, 4, 5, 6, 7}; !slices.Equal(got, want) {
			t.Errorf("max-parts %d: parts %v, want %v", max, got, want)
		}
	}
	out, err = e.c.ListParts(e.ctx, &s3.ListPartsInput{Bucket: aws.String(b), Key: aws.String("k"), UploadId: aws.String(id), PartNumberMarker: aws.String("5")})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Parts) != 2 || aws.ToInt32(out.Parts[0].PartNumber) != 6 {
		t.Errorf("after marker 5: %d parts", len(out.Parts))
	}
}

func TestListMultipartUploads(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.bucket("mpu-listuploads")
	type upload struct{ key, id string }
	var all []upload
	for _, k := range []string{"a", "a", "dir/sub/z", "dir/x", "dir/y", "e"} {
		all = append(all, upload{k, e.createUpload(b, k)})
	}
	// Two uploads of one key are ordered by initiation; the test does not
	// depend on which comes first, only that keys are sorted.
	list := func(t *testing.T, in *s3.ListMultipartUploadsInput) ([]upload, []string) {
		t.Helper()
		var (
			got      []upload
			prefixes []string
		)
		for pages := 0; ; pages++ {
			if pages > 20 {
				t.Fatal("ListMultipartUploads does not end")
			}
			out, err := e.c.ListMultipartUploads(e.ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			if in.MaxUploads != nil && len(out.Uploads)+len(out.CommonPrefixes) > int(*in.MaxUploads) {
				t.Errorf("page of %d entries, max-uploads %d", len(out.Uploads)+len(out.CommonPrefixes), *in.MaxUploads)
			}
			for _, u := range out.Uploads {
				got = append(got, upload{aws.ToString(u.Key), aws.ToString(u.UploadId)})
				if u.Initiated == nil || u.Owner == nil {
					t.Errorf("upload entry %+v lacks Initiated/Owner", u)
				}
			}
			for _, p := range out.CommonPrefixes {
				prefixes = append(prefixes, aws.ToString(p.Prefix))
			}
			if !aws.ToBool(out.IsTruncated) {
				return got, prefixes
			}
			in.KeyMarker, in.UploadIdMarker = out.NextKeyMarker, out.NextUploadIdMarker
		}
	}
	keysOf := func(us []upload) []string {
		var ks []string
		for _, u := range us {
			ks = append(ks, u.key)
		}
		return ks
	}

	for _, tc := range []struct {
		name          string
		prefix, delim string
		keys          []string
		prefixes      []string
	}{
		{name: "All", keys: []string{"a", "a", "dir/sub/z", "dir/x", "dir/y", "e"}},
		{name: "Prefix", prefix: "dir/", keys: []string{"dir/sub/z", "dir/x", "dir/y"}},
		{name: "Delimiter", delim: "/", keys: []string{"a", "a", "e"}, prefixes: []string{"dir/"}},
		{name: "PrefixDelimiter", prefix: "dir/", delim: "/", keys: []string{"dir/x", "dir/y"}, prefixes: []string{"dir/sub/"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, max := range []int32{1000, 1, 2} {
				in := &s3.ListMultipartUploadsInput{Bucket: aws.String(b), MaxUploads: aws.Int32(max)}
				if tc.prefix != "" {
					in.Prefix = aws.String(tc.prefix)
				}
				if tc.delim != "" {
					in.Delimiter = aws.String(tc.delim)
				}
				got, prefixes := list(t, in)
				if !equalStrings(keysOf(got), tc.keys) || !equalStrings(prefixes, tc.prefixes) {
					t.Errorf("max-uploads %d: keys %q prefixes %q; want %q %q", max, keysOf(got), prefixes, tc.keys, tc.prefixes)
				}
				seen := map[string]bool{}
				for _, u := range got {
					if seen[u.id] {
						t.Errorf("max-uploads %d: upload %s listed twice", max, u.id)
					}
					seen[u.id] = true
				}
			}
		})
	}

	// Completed and aborted uploads disappear from the list.
	if _, err := e.c.AbortMultipartUpload(e.ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("e"), UploadId: aws.String(all[5].id)}); err != nil {
		t.Fatal(err)
	}
	p := e.uploadPart(b, "dir/x", all[3].id, 1, []byte("x"))
	if _, err := e.complete(b, "dir/x", all[3].id, []types.CompletedPart{completed(1, p.ETag)}); err != nil {
		t.Fatal(err)
	}
	got, _ := list(t, &s3.ListMultipartUploadsInput{Bucket: aws.String(b)})
	if want := []string{"a", "a", "dir/sub/z", "dir/y"}; !equalStrings(keysOf(got), want) {
		t.Errorf("after abort and complete: %q, want %q", keysOf(got), want)
	}
}

func TestMultipartChecksums(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.bucket("mpu-checksums")
	parts := [][]byte{partA, partB, partC}
	whole := slices.Concat(parts...)

	// upload runs a multipart upload whose parts carry alg checksums
	// (computed by the SDK) and returns the completion result.
	upload := func(t *testing.T, key string, alg types.ChecksumAlgorithm, typ types.ChecksumType, fns ...func(*s3.CompleteMultipartUploadInput)) (*s3.CompleteMultipartUploadOutput, error) {
		t.Helper()
		id := e.createUpload(b, key, func(in *s3.CreateMultipartUploadInput) {
			in.ChecksumAlgorithm = alg
			in.ChecksumType = typ
		})
		var cps []types.CompletedPart
		for i, p := range parts {
			n := int32(i + 1)
			out := e.uploadPart(b, key, id, n, p, func(in *s3.UploadPartInput) { in.ChecksumAlgorithm = alg })
			cp := completed(n, out.ETag)
			want := sum(alg, p)
			switch alg {
			case types.ChecksumAlgorithmCrc32:
				cp.ChecksumCRC32 = out.ChecksumCRC32
				if aws.ToString(out.ChecksumCRC32) != want {
					t.Errorf("part %d CRC32 = %q, want %q", n, aws.ToString(out.ChecksumCRC32), want)
				}
			case types.ChecksumAlgorithmCrc64nvme:
				cp.ChecksumCRC64NVME = out.ChecksumCRC64NVME
				if aws.ToString(out.ChecksumCRC64NVME) != want {
					t.Errorf("part %d CRC64NVME = %q, want %q", n, aws.ToString(out.ChecksumCRC64NVME), want)
				}
			}
			cps = append(cps, cp)
		}
		return e.complete(b, key, id, cps, fns...)
	}

	t.Run("CompositeCRC32", func(t *testing.T) {
		out, err := upload(t, "composite", types.ChecksumAlgorithmCrc32, types.ChecksumTypeComposite)
		if err != nil {
			t.Fatal(err)
		}
		// COMPOSITE: the CRC32 of the concatenated binary part CRC32s,
		// then "-N".
		h := crc32.NewIEEE()
		for _, p := range parts {
			h.Write(rawSum(types.ChecksumAlgorithmCrc32, p))
		}
		want := base64.StdEncoding.EncodeToString(h.Sum(nil)) + "-3"
		if aws.ToString(out.ChecksumCRC32) != want || out.ChecksumType != types.ChecksumTypeComposite {
			t.Errorf("Complete CRC32 = %q (%s), want %q COMPOSITE", aws.ToString(out.ChecksumCRC32), out.ChecksumType, want)
		}
		got, g := e.get(b, "composite", func(in *s3.GetObjectInput) { in.ChecksumMode = types.ChecksumModeEnabled })
		if !bytes.Equal(got, whole) {
			t.Error("body differs")
		}
		getChecksums(g).only(t, "GetObject", types.ChecksumAlgorithmCrc32, want, types.ChecksumTypeComposite)
		hd := e.head(b, "composite", func(in *s3.HeadObjectInput) { in.ChecksumMode = types.ChecksumModeEnabled })
		headChecksums(hd).only(t, "HeadObject", types.ChecksumAlgorithmCrc32, want, types.ChecksumTypeComposite)

		// A part read reports that part's checksum (and the SDK checks
		// the part's bytes against it).
		got, g = e.get(b, "composite", func(in *s3.GetObjectInput) {
			in.ChecksumMode = types.ChecksumModeEnabled
			in.PartNumber = aws.Int32(2)
		})
		if !bytes.Equal(got, partB) {
			t.Error("part 2 differs")
		}
		if aws.ToString(g.ChecksumCRC32) != sum(types.ChecksumAlgorithmCrc32, partB) {
			t.Errorf("part 2 CRC32 = %q, want %q", aws.ToString(g.ChecksumCRC32), sum(types.ChecksumAlgorithmCrc32, partB))
		}

		// ListParts reports the part checksums of a declared algorithm.
		id := e.createUpload(b, "listed", func(in *s3.CreateMultipartUploadInput) { in.ChecksumAlgorithm = types.ChecksumAlgorithmCrc32 })
		e.uploadPart(b, "listed", id, 1, partC, func(in *s3.UploadPartInput) { in.ChecksumAlgorithm = types.ChecksumAlgorithmCrc32 })
		lp, err := e.c.ListParts(e.ctx, &s3.ListPartsInput{Bucket: aws.String(b), Key: aws.String("listed"), UploadId: aws.String(id)})
		if err != nil {
			t.Fatal(err)
		}
		if len(lp.Parts) != 1 || aws.ToString(lp.Parts[0].ChecksumCRC32) != sum(types.ChecksumAlgorithmCrc32, partC) || lp.ChecksumAlgorithm != types.ChecksumAlgorithmCrc32 {
			t.Errorf("ListParts checksums: %+v algorithm %q", lp.Parts, lp.ChecksumAlgorithm)
		}
	})

	for _, alg := range []types.ChecksumAlgorithm{types.ChecksumAlgorithmCrc64nvme, types.ChecksumAlgorithmCrc32} {
		t.Run("FullObject"+string(alg), func(t *testing.T) {
			key := "full-" + string(alg)
			out, err := upload(t, key, alg, types.ChecksumTypeFullObject)
			if err != nil {
				t.Fatal(err)
			}
			// FULL_OBJECT: the checksum of the whole body, computed here
			// in one pass.
			var want string
			if alg == types.ChecksumAlgorithmCrc64nvme {
				var b [8]byte
				v := crc64.Checksum(whole, crc64NVMETable)
				for i := range 8 {
					b[i] = byte(v >> (56 - 8*i))
				}
				want = base64.StdEncoding.EncodeToString(b[:])
				if got := aws.ToString(out.ChecksumCRC64NVME); got != want {
					t.Errorf("Complete CRC64NVME = %q, want %q", got, want)
				}
			} else {
				v := crc32.ChecksumIEEE(whole)
				want = base64.StdEncoding.EncodeToString([]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
				if got := aws.ToString(out.ChecksumCRC32); got != want {
					t.Errorf("Complete CRC32 = %q, want %q", got, want)
				}
			}
			if out.ChecksumType != types.ChecksumTypeFullObject {
				t.Errorf("ChecksumType = %q", out.ChecksumType)
			}
			// The SDK validates the whole body against it on GET.
			got, g := e.get(b, key, func(in *s3.GetObjectInput) { in.ChecksumMode = types.ChecksumModeEnabled })
			if !bytes.Equal(got, whole) {
				t.Error("body differs")
			}
			getChecksums(g).only(t, "GetObject", alg, want, types.ChecksumTypeFullObject)
		})
	}

	t.Run("FullObjectAsserted", func(t *testing.T) {
		full := sum(types.ChecksumAlgorithmCrc32, whole)
		if _, err := upload(t, "asserted", types.ChecksumAlgorithmCrc32, types.ChecksumTypeFullObject, func(in *s3.CompleteMultipartUploadInput) {
			in.ChecksumCRC32 = aws.String(full)
			in.ChecksumType = types.ChecksumTypeFullObject
		}); err != nil {
			t.Fatal(err)
		}
		_, err := upload(t, "asserted-bad", types.ChecksumAlgorithmCrc32, types.ChecksumTypeFullObject, func(in *s3.CompleteMultipartUploadInput) {
			in.ChecksumCRC32 = aws.String(sum(types.ChecksumAlgorithmCrc32, whole[1:]))
			in.ChecksumType = types.ChecksumTypeFullObject
		})
		wantErr(t, err, "BadDigest", http.StatusBadRequest)
	})

	t.Run("NoneDeclared", func(t *testing.T) {
		// Without a declared algorithm S3 gives the object a full-object
		// CRC64NVME.
		e.uploadObject(b, "undeclared", parts...)
		got, g := e.get(b, "undeclared", func(in *s3.GetObjectInput) { in.ChecksumMode = types.ChecksumModeEnabled })
		if !bytes.Equal(got, whole) {
			t.Error("body differs")
		}
		getChecksums(g).only(t, "GetObject", types.ChecksumAlgorithmCrc64nvme, sum(types.ChecksumAlgorithmCrc64nvme, whole), types.ChecksumTypeFullObject)
	})

	t.Run("WrongPartChecksumInComplete", func(t *testing.T) {
		id := e.createUpload(b, "wrong", func(in *s3.CreateMultipartUploadInput) { in.ChecksumAlgorithm = types.ChecksumAlgorithmCrc32 })
		p := e.uploadPart(b, "wrong", id, 1, partC, func(in *s3.UploadPartInput) { in.ChecksumAlgorithm = types.ChecksumAlgorithmCrc32 })
		cp := completed(1, p.ETag)
		cp.ChecksumCRC32 = aws.String(sum(types.ChecksumAlgorithmCrc32, partA))
		_, err := e.complete(b, "wrong", id, []types.CompletedPart{cp})
		wantErr(t, err, "InvalidPart", http.StatusBadRequest)
	})

	t.Run("InvalidCombinations", func(t *testing.T) {
		for _, tc := range []struct {
			alg types.ChecksumAlgorithm
			typ types.ChecksumType
		}{
			{types.ChecksumAlgorithmCrc64nvme, types.ChecksumTypeComposite},
			{types.ChecksumAlgorithmSha256, types.ChecksumTypeFullObject},
			{types.ChecksumAlgorithmSha1, types.ChecksumTypeFullObject},
		} {
			_, err := e.c.CreateMultipartUpload(e.ctx, &s3.CreateMultipartUploadInput{
				Bucket: aws.String(b), Key: aws.String("x"), ChecksumAlgorithm: tc.alg, ChecksumType: tc.typ,
			})
			wantErr(t, err, "InvalidRequest", http.StatusBadRequest)
		}
	})

	t.Run("PartAlgorithmMismatch", func(t *testing.T) {
		id := e.createUpload(b, "mismatch", func(in *s3.CreateMultipartUploadInput) { in.ChecksumAlgorithm = types.ChecksumAlgorithmCrc32 })
		_, err := e.c.UploadPart(e.ctx, &s3.UploadPartInput{
			Bucket: aws.String(b), Key: aws.String("mismatch"), UploadId: aws.String(id), PartNumber: aws.Int32(1),
			Body: bytes.NewReader(partC), ChecksumSHA256: aws.String(sum(types.ChecksumAlgorithmSha256, partC)),
		})
		wantErr(t, err, "InvalidRequest", http.StatusBadRequest)
	})
}

// TestPartsInFlight uploads the parts of a multipart upload eight at once,
// as the SDKs' transfer managers do, beside three large PUTs: the server
// hashes MD5s side by side in vector lanes once three or more large bodies
// stream at once (objstore.md5Lanes). Every part's ETag, the upload's, each
// PUT's and every byte read back must be exact. Sizes are not multiples of
// MD5's 64-byte block.
func TestPartsInFlight(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.bucket("in-flight")
	const partSize = 5<<20 + 3
	parts := make([][]byte, 8)
	for i := range parts {
		parts[i] = randBytes(partSize+i*4099, uint64(100+i))
	}
	parts[7] = parts[7][:1<<20+33] // the last part may be small
	puts := [][]byte{randBytes(3<<20+1, 200), randBytes(2<<20+65, 201), randBytes(4<<20-1, 202)}

	id := e.createUpload(b, "whole")
	etags := make([]*string, len(parts))
	var wg sync.WaitGroup
	for i, p := range parts {
		wg.Go(func() {
			out, err := e.c.UploadPart(e.ctx, &s3.UploadPartInput{
				Bucket: aws.String(b), Key: aws.String("whole"), UploadId: aws.String(id),
				PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(p),
			})
			if err != nil {
				t.Errorf("UploadPart %d: %v", i+1, err)
				return
			}
			if got, want := aws.ToString(out.ETag), quoted(md5hex(p)); got != want {
				t.Errorf("UploadPart %d ETag = %s, want %s", i+1, got, want)
			}
			etags[i] = out.ETag
		})
	}
	for i, body := range puts {
		wg.Go(func() {
			out, err := e.c.PutObject(e.ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String(fmt.Sprintf("put-%d", i)), Body: bytes.NewReader(body)})
			if err != nil {
				t.Errorf("PutObject %d: %v", i, err)
				return
			}
			if got, want := aws.ToString(out.ETag), quoted(md5hex(body)); got != want {
				t.Errorf("PutObject %d ETag = %s, want %s", i, got, want)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	cps := make([]types.CompletedPart, len(parts))
	for i := range parts {
		cps[i] = completed(int32(i+1), etags[i])
	}
	out, err := e.complete(b, "whole", id, cps)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := aws.ToString(out.ETag), multipartETag(parts...); got != want {
		t.Errorf("CompleteMultipartUpload ETag = %s, want %s", got, want)
	}
	if got, _ := e.get(b, "whole"); !bytes.Equal(got, slices.Concat(parts...)) {
		t.Errorf("GET whole: %d bytes, not the parts' %d", len(got), len(slices.Concat(parts...)))
	}
	for i, body := range puts {
		if got, _ := e.get(b, fmt.Sprintf("put-%d", i)); !bytes.Equal(got, body) {
			t.Errorf("GET put-%d: %d bytes differ from the %d PUT", i, len(got), len(body))
		}
	}
}
