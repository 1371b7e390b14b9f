package batch

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sluicehq/sluice/internal/checksum"
	"github.com/sluicehq/sluice/internal/meta"
	"github.com/sluicehq/sluice/internal/objstore"
)

// resultKind says what the coordinator does with a task after a run.
type resultKind int

const (
	// resultDone: the outcome is final.
	resultDone resultKind = iota
	// resultRetry: a temporary failure; the task is redriven after a
	// delay unless this was its last attempt, when the outcome is final.
	resultRetry
	// resultThrottled: the function was throttled; the task runs again
	// later and the run does not count as an attempt.
	resultThrottled
	// resultAbandoned: the job is stopping; the task was not recorded
	// and runs again when the job resumes.
	resultAbandoned
)

// result is the outcome of one run of a task.
type result struct {
	kind resultKind
	// o holds the report fields (Failed, HTTPStatus, ErrorCode,
	// Message); the coordinator fills in the task's identity.
	o outcome
}

func succeeded(msg string) result {
	return result{kind: resultDone, o: outcome{HTTPStatus: http.StatusOK, Message: msg}}
}

func failed(status int, code, msg string) result {
	return result{kind: resultDone, o: outcome{Failed: true, HTTPStatus: status, ErrorCode: code, Message: msg}}
}

// executor performs a job's operation on one task. run is called
// concurrently.
type executor interface {
	run(ctx context.Context, t *task) result
}

// executorFor builds the executor of a job's operation.
func (s *Service) executorFor(j *Job) executor {
	op := &j.Operation
	switch {
	case op.LambdaInvoke != nil:
		return s.newInvoker(j)
	case op.S3PutObjectCopy != nil:
		return &copyExec{s: s, job: j, op: op.S3PutObjectCopy}
	case op.S3PutObjectTagging != nil:
		tags := make([]meta.Tag, len(op.S3PutObjectTagging.TagSet))
		for i, t := range op.S3PutObjectTagging.TagSet {
			tags[i] = meta.Tag{Key: t.Key, Value: t.Value}
		}
		return &taggingExec{s: s, job: j, tags: tags}
	case op.S3DeleteObjectTagging != nil:
		return &taggingExec{s: s, job: j}
	case op.S3ComputeObjectChecksum != nil:
		return &checksumExec{s: s, op: op.S3ComputeObjectChecksum}
	}
	return nil
}

// decodeKey turns a manifest key into the object key: %XX escapes are
// decoded, "+" stays a plus (as the AWS samples' urllib.parse.unquote).
func decodeKey(k string) (string, error) { return url.PathUnescape(k) }

// objectTask resolves what every S3 operation needs from a task, or the
// result that fails it.
func objectTask(t *task) (string, *result) {
	if t.MissingVersion {
		r := failed(http.StatusBadRequest, "InvalidRequest", "Task failed due to missing VersionId")
		return "", &r
	}
	key, err := decodeKey(t.Key)
	if err != nil {
		r := failed(http.StatusBadRequest, "InvalidRequest", "The key in the manifest is not URL-encoded correctly: "+err.Error())
		return "", &r
	}
	return key, nil
}

// s3Result turns the error of an object store call into a result.
func (s *Service) s3Result(ctx context.Context, err error) result {
	var oe *objstore.Error
	switch {
	case errors.As(err, &oe):
		st := s.statusOf(oe.Code)
		if st >= 500 {
			return result{kind: resultRetry, o: outcome{Failed: true, HTTPStatus: st, ErrorCode: oe.Code, Message: oe.Message}}
		}
		return failed(st, oe.Code, oe.Message)
	case ctx.Err() != nil || errors.Is(err, meta.ErrClosed):
		return result{kind: resultAbandoned}
	}
	s.log.Error("batch: task failed", "err", err)
	return result{kind: resultRetry, o: outcome{Failed: true, HTTPStatus: http.StatusInternalServerError,
		ErrorCode: "InternalError", Message: "We encountered an internal error. Please try again."}}
}

// copyExec is S3PutObjectCopy.
type copyExec struct {
	s   *Service
	job *Job
	op  *CopyOp
}

func (x *copyExec) run(ctx context.Context, t *task) result {
	key, bad := objectTask(t)
	if bad != nil {
		return *bad
	}
	op := x.op
	target, _ := bucketFromARN(op.TargetResource)
	in := &objstore.CopyInput{
		Source: objstore.CopySource{Bucket: t.Bucket, Key: key, VersionID: t.VersionID},
		Bucket: target, Key: op.TargetKeyPrefix + key, Owner: x.s.owner,
		ReplaceMetadata:   op.MetadataDirective == "REPLACE",
		ChecksumAlgorithm: checksum.Algorithm(op.ChecksumAlgorithm),
		Origin:            x.s.origin(x.job.ID),
	}
	if op.ModifiedSinceConstraint != nil {
		in.Source.Conditions.IfModifiedSince = *op.ModifiedSinceConstraint
	}
	if op.UnModifiedSinceConstraint != nil {
		in.Source.Conditions.IfUnmodifiedSince = *op.UnModifiedSinceConstraint
	}
	if m := op.NewObjectMetadata; m != nil && in.ReplaceMetadata {
		in.Meta = objstore.ObjectMeta{
			ContentType: m.ContentType, ContentEncoding: m.ContentEncoding, ContentDisposition: m.ContentDisposition,
			ContentLanguage: m.ContentLanguage, CacheControl: m.CacheControl,
		}
		if m.HTTPExpiresDate != nil {
			in.Meta.Expires = m.HTTPExpiresDate.UTC().Format(http.TimeFormat)
		}
		if len(m.UserMetadata) > 0 {
			in.Meta.UserMeta = map[string]string{}
			for _, e := range m.UserMetadata {
				in.Meta.UserMeta[strings.ToLower(e.Key)] = e.Value
			}
		}
		switch m.SSEAlgorithm {
		case "AES256":
			in.Encryption.Method = objstore.SSES3
		case "KMS":
			in.Encryption.Method, in.Encryption.KMSKeyID = objstore.SSEKMS, op.SSEAwsKmsKeyID
			in.Encryption.BucketKeyEnabled = op.BucketKeyEnabled
		}
	}
	in.Meta.StorageClass = op.StorageClass
	in.Meta.WebsiteRedirect = op.RedirectLocation
	if op.NewObjectTagging != nil {
		in.ReplaceTags = true
		in.Meta.Tags = []meta.Tag{}
		for _, tg := range op.NewObjectTagging.Tags {
			in.Meta.Tags = append(in.Meta.Tags, meta.Tag{Key: tg.Key, Value: tg.Value})
		}
	}
	in.Lock = objstore.ObjectLockInput{Mode: op.ObjectLockMode, LegalHold: op.ObjectLockLegalHoldStatus}
	if op.ObjectLockRetainUntilDate != nil {
		in.Lock.RetainUntilDate = op.ObjectLockRetainUntilDate.UTC().Format(time.RFC3339)
	}
	if _, err := x.s.objects.CopyObject(ctx, in); err != nil {
		return x.s.s3Result(ctx, err)
	}
	return succeeded("Successful")
}

// taggingExec is S3PutObjectTagging (tags set) and S3DeleteObjectTagging
// (tags nil).
type taggingExec struct {
	s    *Service
	job  *Job
	tags []meta.Tag
}

func (x *taggingExec) run(ctx context.Context, t *task) result {
	key, bad := objectTask(t)
	if bad != nil {
		return *bad
	}
	tags := x.tags
	if tags != nil {
		tags = append([]meta.Tag{}, tags...)
	}
	if _, err := x.s.objects.SetObjectTags(ctx, t.Bucket, key, t.VersionID, tags, x.s.origin(x.job.ID)); err != nil {
		return x.s.s3Result(ctx, err)
	}
	return succeeded("Successful")
}

// checksumExec is S3ComputeObjectChecksum: it reads each object and
// reports its checksum in the ResultMessage.
type checksumExec struct {
	s  *Service
	op *ChecksumOp
}

// checksumResult is the ResultMessage of a computed checksum (a JSON
// object; see docs/design.md).
type checksumResult struct {
	Base64    string `json:"checksum_base64"`
	Hex       string `json:"checksum_hex"`
	Algorithm string `json:"checksumAlgorithm"`
	Type      string `json:"checksumType"`
}

func (x *checksumExec) run(ctx context.Context, t *task) result {
	key, bad := objectTask(t)
	if bad != nil {
		return *bad
	}
	alg := checksum.Algorithm(x.op.ChecksumAlgorithm)
	typ := checksum.Type(x.op.ChecksumType)
	if typ == "" {
		typ = checksum.FullObject
	}
	obj, err := x.s.objects.GetObject(ctx, &objstore.GetInput{Bucket: t.Bucket, Key: key, VersionID: t.VersionID})
	if err != nil {
		return x.s.s3Result(ctx, err)
	}
	v := obj.Version
	var sum []byte
	value := ""
	if typ == checksum.FullObject || !v.Multipart {
		h := alg.New()
		_, err = io.Copy(h, obj.Body)
		obj.Body.Close()
		if err != nil {
			return x.s.s3Result(ctx, err)
		}
		sum = h.Sum(nil)
		value = checksum.Encode(sum)
		if typ == checksum.Composite {
			value, _ = checksum.CompositeOf(alg, [][]byte{sum})
		}
	} else {
		obj.Body.Close()
		parts := make([][]byte, 0, len(v.Parts))
		for i := range v.Parts {
			p, err := x.s.objects.GetObject(ctx, &objstore.GetInput{Bucket: t.Bucket, Key: key, VersionID: v.VersionID, PartNumber: i + 1})
			if err != nil {
				return x.s.s3Result(ctx, err)
			}
			h := alg.New()
			_, err = io.Copy(h, p.Body)
			p.Body.Close()
			if err != nil {
				return x.s.s3Result(ctx, err)
			}
			parts = append(parts, h.Sum(nil))
		}
		value, err = checksum.CompositeOf(alg, parts)
		if err != nil {
			return x.s.s3Result(ctx, err)
		}
	}
	hexValue := ""
	if raw, err := checksum.Decode(alg, strings.SplitN(value, "-", 2)[0]); err == nil {
		hexValue = hex.EncodeToString(raw)
	}
	msg, _ := json.Marshal(checksumResult{Base64: value, Hex: hexValue, Algorithm: string(alg), Type: string(typ)})
	return succeeded(string(msg))
}
