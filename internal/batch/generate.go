package batch

import (
	"bufio"
	"compress/gzip"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/internal/meta"
	"github.com/sluicehq/sluice/internal/objstore"
)

// localManifest is the generated manifest in a job's directory: CSV rows
// bucket,key,versionId with URL-encoded keys and an empty version for
// null versions.
func localManifest(dir string) string { return filepath.Join(dir, "manifest.csv") }

// generate runs a job's ManifestGenerator: it lists the source bucket's
// current versions, keeps those the filter matches, writes them to the
// job's local manifest and, with EnableManifestOutput, to the output
// location as an S3InventoryReport_CSV_20211130 manifest.
func (s *Service) generate(ctx context.Context, j *Job) (*Source, int64, *generatedManifest, error) {
	g := j.Generator.S3JobManifestGenerator
	bucket, _ := bucketFromARN(g.SourceBucket)
	if _, err := s.objects.Bucket(ctx, bucket); err != nil {
		var oe *objstore.Error
		if errors.As(err, &oe) {
			return nil, 0, nil, manifestErrorf(failManifestRead, "Listing the source bucket %s failed: %s", bucket, oe.Code)
		}
		return nil, 0, nil, err
	}
	dir := s.jobDir(j.ID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, 0, nil, err
	}
	tmp := localManifest(dir) + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return nil, 0, nil, err
	}
	defer os.Remove(tmp)
	defer f.Close()
	local := bufio.NewWriterSize(f, 256<<10)

	var out *generatedOutput
	if g.EnableManifestOutput {
		if out, err = s.newGeneratedOutput(dir); err != nil {
			return nil, 0, nil, err
		}
		defer out.discard()
	}
	var n int64
	after := ""
	for {
		page, err := s.objects.ListObjects(ctx, &objstore.ListInput{Bucket: bucket, After: after, MaxKeys: objstore.MaxListKeys})
		if err != nil {
			return nil, 0, nil, err
		}
		for _, v := range page.Objects {
			if !matches(g.Filter, v) {
				continue
			}
			vid := v.VersionID
			if vid == meta.NullVersionID {
				vid = ""
			}
			key := encodeKey(v.Key)
			writeCSVRow(local, bucket, key, vid)
			if out != nil {
				if err := out.write(bucket, key, vid); err != nil {
					return nil, 0, nil, err
				}
			}
			n++
		}
		if !page.IsTruncated {
			break
		}
		after = page.Next
		if err := ctx.Err(); err != nil {
			return nil, 0, nil, err
		}
	}
	if n == 0 {
		return nil, 0, nil, manifestErrorf(failNoKeys, "Manifest generation found no keys matching the filter criteria")
	}
	if err := local.Flush(); err != nil {
		return nil, 0, nil, err
	}
	if !s.noSync {
		if err := f.Sync(); err != nil {
			return nil, 0, nil, err
		}
	}
	if err := os.Rename(tmp, localManifest(dir)); err != nil {
		return nil, 0, nil, err
	}
	var desc *generatedManifest
	if out != nil {
		if desc, err = s.publishGenerated(ctx, j, bucket, out); err != nil {
			return nil, 0, nil, err
		}
	}
	return &Source{Format: formatLocal}, n, desc, nil
}

// writeCSVRow writes a row of a manifest (fields with commas, quotes or
// line breaks are quoted; URL-encoded keys have none).
func writeCSVRow(w *bufio.Writer, fields ...string) {
	for i, f := range fields {
		if i > 0 {
			w.WriteByte(',')
		}
		if strings.ContainsAny(f, ",\"\r\n") {
			w.WriteByte('"')
			w.WriteString(strings.ReplaceAll(f, `"`, `""`))
			w.WriteByte('"')
		} else {
			w.WriteString(f)
		}
	}
	w.WriteByte('\n')
}

// encodeKey URL-encodes a key for a manifest: every byte but the
// unreserved characters and "/" becomes %XX (a space is %20, never "+").
func encodeKey(key string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(key); i++ {
		c := key[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-_.~/", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

// matches applies a generator filter to a current version.
func matches(f *GeneratorFilter, v *meta.Version) bool {
	if f == nil {
		return true
	}
	if f.CreatedAfter != nil && !v.LastModified.After(*f.CreatedAfter) {
		return false
	}
	if f.CreatedBefore != nil && !v.LastModified.Before(*f.CreatedBefore) {
		return false
	}
	if f.ObjectSizeGreaterThanBytes != nil && v.Size <= *f.ObjectSizeGreaterThanBytes {
		return false
	}
	if f.ObjectSizeLessThanBytes != nil && v.Size >= *f.ObjectSizeLessThanBytes {
		return false
	}
	if k := f.KeyNameConstraint; k != nil {
		if !anyMatch(k.MatchAnyPrefix, func(p string) bool { return strings.HasPrefix(v.Key, p) }) ||
			!anyMatch(k.MatchAnySuffix, func(p string) bool { return strings.HasSuffix(v.Key, p) }) ||
			!anyMatch(k.MatchAnySubstring, func(p string) bool { return strings.Contains(v.Key, p) }) {
			return false
		}
	}
	if len(f.MatchAnyStorageClass) > 0 {
		sc := v.StorageClass
		if sc == "" {
			sc = "STANDARD"
		}
		if !contains(f.MatchAnyStorageClass, sc) {
			return false
		}
	}
	if len(f.MatchAnyObjectEncryption) > 0 && !anyMatch(f.MatchAnyObjectEncryption, func(e EncryptionFilter) bool { return e.matches(v.SSE) }) {
		return false
	}
	return true
}

// anyMatch is true for an empty list, else when some element matches.
func anyMatch[T any](list []T, fn func(T) bool) bool {
	if len(list) == 0 {
		return true
	}
	for _, x := range list {
		if fn(x) {
			return true
		}
	}
	return false
}

func (e EncryptionFilter) matches(sse *meta.Encryption) bool {
	method := ""
	if sse != nil {
		method = sse.Method
	}
	switch {
	case e.NotSSE != nil:
		return method == ""
	case e.SSES3 != nil:
		return method == objstore.SSES3
	case e.SSEKMS != nil:
		return method == objstore.SSEKMS && (e.SSEKMS.KmsKeyArn == "" || sse.KeyID == e.SSEKMS.KmsKeyArn)
	case e.DSSEKMS != nil:
		return method == objstore.SSEKMSDual && (e.DSSEKMS.KmsKeyArn == "" || sse.KeyID == e.DSSEKMS.KmsKeyArn)
	case e.SSEC != nil:
		return method == objstore.SSECustomer
	}
	return false
}

// generatedOutput is the gzip CSV data file of a generated manifest,
// written to the job's directory before it is uploaded.
type generatedOutput struct {
	path string
	f    *os.File
	md5  hash.Hash
	gz   *gzip.Writer
}

func (s *Service) newGeneratedOutput(dir string) (*generatedOutput, error) {
	path := filepath.Join(dir, "generated.csv.gz")
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	o := &generatedOutput{path: path, f: f, md5: md5.New()}
	o.gz = gzip.NewWriter(io.MultiWriter(f, o.md5))
	return o, nil
}

// write adds a row; inventory files quote every field (none of these
// holds a quote: bucket names cannot, keys are URL-encoded).
func (o *generatedOutput) write(bucket, key, versionID string) error {
	_, err := io.WriteString(o.gz, `"`+bucket+`","`+key+`","`+versionID+"\"\n")
	return err
}

func (o *generatedOutput) discard() {
	o.f.Close()
	os.Remove(o.path)
}

// publishGenerated uploads a generated manifest: the data file under
// <prefix>/job-<id>/data/ and manifest.json (and manifest.checksum, its
// MD5) under <prefix>/job-<id>/.
func (s *Service) publishGenerated(ctx context.Context, j *Job, source string, o *generatedOutput) (*generatedManifest, error) {
	if err := o.gz.Close(); err != nil {
		return nil, err
	}
	size, err := o.f.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, err
	}
	if _, err := o.f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	loc := j.Generator.S3JobManifestGenerator.ManifestOutputLocation
	bucket, _ := bucketFromARN(loc.Bucket)
	base := "job-" + j.ID
	if loc.ManifestPrefix != "" {
		base = strings.TrimSuffix(loc.ManifestPrefix, "/") + "/" + base
	}
	sum := hex.EncodeToString(o.md5.Sum(nil))
	dataKey := base + "/data/" + sum + ".csv.gz"
	enc := objstore.Encryption{}
	if e := loc.ManifestEncryption; e != nil {
		switch {
		case e.SSES3 != nil:
			enc.Method = objstore.SSES3
		case e.SSEKMS != nil:
			enc.Method, enc.KMSKeyID = objstore.SSEKMS, e.SSEKMS.KeyID
		}
	}
	if _, err := s.objects.PutObject(ctx, &objstore.PutInput{
		Bucket: bucket, Key: dataKey, Owner: s.owner, Body: o.f, Size: size,
		Meta: objstore.ObjectMeta{ContentType: "application/x-gzip"}, Encryption: enc, Origin: s.origin(j.ID),
	}); err != nil {
		return nil, s.outputError(err, bucket)
	}
	m := map[string]any{
		"sourceBucket":      source,
		"destinationBucket": loc.Bucket,
		"version":           "2021-11-30",
		"creationTimestamp": strconv.FormatInt(s.now().UnixMilli(), 10),
		"fileFormat":        "CSV",
		"fileSchema":        "Bucket, Key, VersionId",
		"files":             []map[string]any{{"key": dataKey, "size": size, "MD5checksum": sum}},
	}
	raw, _ := json.MarshalIndent(m, "", "  ")
	v, err := s.putSmall(ctx, j.ID, bucket, base+"/manifest.json", "application/json", raw, enc)
	if err != nil {
		return nil, s.outputError(err, bucket)
	}
	ms := md5.Sum(raw)
	if _, err := s.putSmall(ctx, j.ID, bucket, base+"/manifest.checksum", "text/plain", []byte(hex.EncodeToString(ms[:])), enc); err != nil {
		return nil, s.outputError(err, bucket)
	}
	return &generatedManifest{
		Format: FormatInventory2021,
		Location: ManifestLocation{
			ObjectArn: "arn:aws:s3:::" + bucket + "/" + base + "/manifest.json",
			ETag:      v.ETag, ObjectVersionID: versionOf(v),
		},
	}, nil
}

func versionOf(v *meta.Version) string {
	if v.VersionID == meta.NullVersionID {
		return ""
	}
	return v.VersionID
}

func (s *Service) outputError(err error, bucket string) error {
	var oe *objstore.Error
	if errors.As(err, &oe) {
		return manifestErrorf(failManifestRead, "Writing the generated manifest to bucket %s failed: %s", bucket, oe.Code)
	}
	return err
}

// putSmall writes a small object as the job.
func (s *Service) putSmall(ctx context.Context, jobID, bucket, key, contentType string, body []byte, enc objstore.Encryption) (*meta.Version, error) {
	return s.objects.PutObject(ctx, &objstore.PutInput{
		Bucket: bucket, Key: key, Owner: s.owner, Body: strings.NewReader(string(body)), Size: int64(len(body)),
		Meta: objstore.ObjectMeta{ContentType: contentType}, Encryption: enc, Origin: s.origin(jobID),
	})
}

// origin is the Origin of the changes a job makes, for their events.
func (s *Service) origin(jobID string) objstore.Origin {
	return objstore.Origin{PrincipalID: s.account, RequestID: "batch-" + jobID}
}
