package s3api

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/sluicehq/sluice/internal/accesspoint"
	"github.com/sluicehq/sluice/internal/objectlambda"
	"github.com/sluicehq/sluice/internal/sigv4"
)

// AccessPoints looks up access points for requests addressed through them
// (accesspoint.Service).
type AccessPoints interface {
	// Get returns a standard access point by name or alias;
	// accesspoint.ErrNoSuchAccessPoint if there is none.
	Get(ctx context.Context, nameOrAlias string) (*accesspoint.AccessPoint, error)
	// ObjectLambdaTarget returns an Object Lambda access point (by name
	// or alias) and its supporting access point;
	// accesspoint.ErrNoSuchAccessPoint if either is missing.
	ObjectLambdaTarget(ctx context.Context, nameOrAlias string) (*accesspoint.Target, error)
	// ARN and ObjectLambdaARN name access points.
	ARN(name string) string
	ObjectLambdaARN(name string) string
}

// ObjectLambda serves the transformed actions of Object Lambda access
// points (objectlambda.Service).
type ObjectLambda interface {
	// Serve answers in if its action is transformed (handled), else the
	// request passes through to S3.
	Serve(w http.ResponseWriter, in *objectlambda.Request) (handled bool, err error)
}

// via is how a request reached its bucket when it was addressed through
// an access point.
type via struct {
	ap   *accesspoint.AccessPoint // the standard (or supporting) access point
	olap *accesspoint.Target      // set for Object Lambda access points
}

// Access points are addressed three ways, besides the bucket-style alias
// that takes a bucket's place (resolveAlias):
//
//   - by ARN: SDKs send "<name>-<account>.<endpoint host>/<key>", signed
//     for s3 (access points) or s3-object-lambda (Object Lambda);
//   - by the AccessPointParam query parameter of the inputS3Url handed to
//     Object Lambda functions, whose path is /<key> and whose host is the
//     node's own address (no DNS needed).

// resolveAccessPoint addresses rq through an access point if its host or
// query says so; ok reports that rq.bucket and rq.key are set.
func (h *Handler) resolveAccessPoint(rq *request) (ok bool, err error) {
	if h.accessPoints == nil {
		return false, nil
	}
	ctx := rq.ctx()
	key := strings.TrimPrefix(rq.r.URL.Path, "/")
	if label, rest, found := strings.Cut(hostname(rq.r.Host), "."); found && rest != "" {
		if name, isAP := strings.CutSuffix(label, "-"+h.iam.AccountID()); isAP && name != "" {
			if service, _, _, _ := sigv4.Peek(rq.r); service == "s3-object-lambda" {
				t, err := h.accessPoints.ObjectLambdaTarget(ctx, name)
				if err != nil {
					return true, accessPointError(err)
				}
				h.setVia(rq, &via{ap: t.Supporting, olap: t}, key)
				return true, nil
			}
			ap, err := h.accessPoints.Get(ctx, name)
			switch {
			case err == nil:
				h.setVia(rq, &via{ap: ap}, key)
				return true, nil
			case !errors.Is(err, accesspoint.ErrNoSuchAccessPoint):
				return true, err
			}
			// Not an access point: a bucket whose name looks like one.
		}
	}
	if alias := rq.query.Get(objectlambda.AccessPointParam); alias != "" {
		ap, err := h.accessPoints.Get(ctx, alias)
		if err != nil {
			return true, accessPointError(err)
		}
		h.setVia(rq, &via{ap: ap}, key)
		return true, nil
	}
	return false, nil
}

// resolveAlias replaces a bucket that is an access point alias by the
// access point's bucket.
func (h *Handler) resolveAlias(rq *request) error {
	if h.accessPoints == nil || isCreateBucket(rq) {
		// CreateBucket names a bucket to be: an alias-shaped name is
		// an invalid bucket name there, never an access point.
		return nil
	}
	switch {
	case accesspoint.IsObjectLambdaAlias(rq.bucket):
		t, err := h.accessPoints.ObjectLambdaTarget(rq.ctx(), rq.bucket)
		if err != nil {
			return aliasError(err)
		}
		h.setVia(rq, &via{ap: t.Supporting, olap: t}, rq.key)
	case accesspoint.IsAlias(rq.bucket):
		ap, err := h.accessPoints.Get(rq.ctx(), rq.bucket)
		if err != nil {
			return aliasError(err)
		}
		h.setVia(rq, &via{ap: ap}, rq.key)
	}
	return nil
}

func isCreateBucket(rq *request) bool {
	return rq.r.Method == http.MethodPut && rq.key == "" && len(rq.query) == 0
}

func (h *Handler) setVia(rq *request, v *via, key string) {
	rq.via = v
	rq.bucket, rq.key = v.ap.Bucket, key
}

func accessPointError(err error) error {
	if errors.Is(err, accesspoint.ErrNoSuchAccessPoint) {
		return errorf("NoSuchAccessPoint", "The specified accesspoint does not exist")
	}
	return err
}

func aliasError(err error) error {
	if errors.Is(err, accesspoint.ErrNoSuchAccessPoint) {
		return errorf("InvalidAccessPointAliasError", "The specified access point alias is not valid.")
	}
	return err
}

// apBucketOps are the bucket-level operations access points serve (AWS's
// list); object operations are all served.
var apBucketOps = map[string]bool{
	"HeadBucket": true, "ListObjects": true, "ListObjectVersions": true, "ListMultipartUploads": true,
	"GetBucketLocation": true, "GetBucketAcl": true, "GetBucketCors": true, "GetBucketPolicy": true,
	"GetBucketNotificationConfiguration": true, "DeleteObjects": true,
}

// checkAccessPointOp runs once the operation is known, before
// authentication: it refuses what access points do not serve and a
// signing name that does not match the address.
func (h *Handler) checkAccessPointOp(rq *request) error {
	if rq.via == nil {
		if h.accessPoints != nil {
			if service, _, _, _ := sigv4.Peek(rq.r); service == "s3-object-lambda" {
				return errorf("InvalidRequest", "Requests signed for s3-object-lambda must address an Object Lambda Access Point.")
			}
		}
		return nil
	}
	name := rq.opName()
	if name == "PostObject" || rq.key == "" && !apBucketOps[name] && rq.r.Method != http.MethodOptions {
		if rq.via.olap != nil {
			return errorf("NotImplemented", "The "+name+" operation is not supported through Object Lambda Access Points.")
		}
		return errorf("InvalidRequest", "The "+name+" operation is not supported through an access point.")
	}
	return nil
}

// checkAccessPoint runs after authentication, before authorization: it
// rewrites a copy source named through an access point to its bucket.
func (h *Handler) checkAccessPoint(rq *request) error {
	if src := rq.r.Header.Get("x-amz-copy-source"); src != "" && h.accessPoints != nil {
		return h.rewriteCopySource(rq, src)
	}
	return nil
}

// rewriteCopySource turns a copy source given as an access point alias or
// ARN ("arn:aws:s3:<region>:<account>:accesspoint/<name>/object/<key>")
// into "<bucket>/<key>". Object Lambda access points cannot be copy
// sources.
func (h *Handler) rewriteCopySource(rq *request, src string) error {
	path, query, _ := strings.Cut(src, "?")
	p, err := url.PathUnescape(path)
	if err != nil {
		return nil // parseCopySource reports it
	}
	p = strings.TrimPrefix(p, "/")
	var name, key string
	if strings.HasPrefix(p, "arn:") {
		if _, _, rest, ok := accesspoint.ParseObjectLambdaARN(p); ok && rest != "" {
			return errorf("NotImplemented", "An Object Lambda Access Point cannot be a copy source.")
		}
		_, account, rest, ok := accesspoint.ParseARN(p)
		if !ok || account != h.iam.AccountID() {
			return nil
		}
		var found bool
		if name, key, found = strings.Cut(rest, "/object/"); !found {
			return errorf("InvalidArgument", "Invalid copy source object key")
		}
	} else {
		b, k, _ := strings.Cut(p, "/")
		switch {
		case accesspoint.IsObjectLambdaAlias(b):
			return errorf("NotImplemented", "An Object Lambda Access Point cannot be a copy source.")
		case !accesspoint.IsAlias(b):
			return nil
		}
		name, key = b, k
	}
	ap, err := h.accessPoints.Get(rq.ctx(), name)
	if err != nil {
		return accessPointError(err)
	}
	v := url.PathEscape(ap.Bucket) + "/" + escapePath(key)
	if query != "" {
		v += "?" + query
	}
	rq.r.Header.Set("x-amz-copy-source", v)
	return nil
}

// escapePath escapes a key for a copy source, keeping "/".
func escapePath(key string) string {
	parts := strings.Split(key, "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return strings.Join(parts, "/")
}

// serveObjectLambda hands a request through an Object Lambda access point
// to the transformer; handled is false for actions that pass through.
func (h *Handler) serveObjectLambda(rq *request) (handled bool, err error) {
	if rq.via == nil || rq.via.olap == nil {
		return false, nil
	}
	if h.objectLambda == nil {
		return true, notImplemented("Object Lambda")
	}
	t := rq.via.olap
	tw := &trackingWriter{ResponseWriter: rq.w, rq: rq}
	handled, err = h.objectLambda.Serve(tw, &objectlambda.Request{
		ID: rq.id, R: rq.r, Op: rq.opName(), Key: rq.key, Target: t,
		ObjectLambdaARN: h.accessPoints.ObjectLambdaARN(t.ObjectLambda.Name),
		SupportingARN:   h.accessPoints.ARN(t.Supporting.Name),
		Principal:       rq.principal, Auth: rq.auth,
	})
	var oe *objectlambda.Error
	if errors.As(err, &oe) {
		err = &apiError{code: oe.Code, message: oe.Message, status: oe.Status}
	}
	return handled, err
}

// trackingWriter notes that the response has started, so that an error
// after that cuts the connection instead of writing a second answer.
type trackingWriter struct {
	http.ResponseWriter
	rq *request
}

func (w *trackingWriter) WriteHeader(status int) {
	w.rq.wroteHeader = true
	w.ResponseWriter.WriteHeader(status)
}

func (w *trackingWriter) Write(b []byte) (int, error) {
	w.rq.wroteHeader = true
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *trackingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
