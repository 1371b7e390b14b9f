package s3api

import (
	"net/http"
)

// scope is what a request addresses.
type scope int

const (
	scopeService scope = iota // no bucket
	scopeBucket               // a bucket, no key
	scopeObject               // a key in a bucket
)

// op is one S3 operation: the request shape that selects it and its
// handler. Metrics, authorization and events key on the name.
type op struct {
	method string
	scope  scope
	// sub is the query parameter (subresource) that selects the
	// operation, "" when none of the known subresources is present.
	sub  string
	name string
	fn   func(*Handler, *request) error
}

// ops is the S3 operation table. Order matters only among entries that
// share method, scope and subresource presence: the first match wins.
var ops = []op{
	{http.MethodGet, scopeService, "", "ListBuckets", (*Handler).listBuckets},

	{http.MethodPut, scopeBucket, "", "CreateBucket", (*Handler).createBucket},
	{http.MethodHead, scopeBucket, "", "HeadBucket", (*Handler).headBucket},
	{http.MethodDelete, scopeBucket, "", "DeleteBucket", (*Handler).deleteBucket},
	{http.MethodGet, scopeBucket, "location", "GetBucketLocation", (*Handler).getBucketLocation},
	{http.MethodGet, scopeBucket, "versioning", "GetBucketVersioning", (*Handler).getBucketVersioning},
	{http.MethodPut, scopeBucket, "versioning", "PutBucketVersioning", (*Handler).putBucketVersioning},
	{http.MethodGet, scopeBucket, "tagging", "GetBucketTagging", (*Handler).getBucketTagging},
	{http.MethodPut, scopeBucket, "tagging", "PutBucketTagging", (*Handler).putBucketTagging},
	{http.MethodDelete, scopeBucket, "tagging", "DeleteBucketTagging", (*Handler).deleteBucketTagging},
	{http.MethodGet, scopeBucket, "versions", "ListObjectVersions", (*Handler).listObjectVersions},
	{http.MethodGet, scopeBucket, "uploads", "ListMultipartUploads", (*Handler).listMultipartUploads},
	{http.MethodGet, scopeBucket, "acl", "GetBucketAcl", (*Handler).getBucketACL},
	{http.MethodPut, scopeBucket, "acl", "PutBucketAcl", (*Handler).putBucketACL},
	{http.MethodGet, scopeBucket, "", "ListObjects", (*Handler).listObjects},
	{http.MethodPost, scopeBucket, "delete", "DeleteObjects", (*Handler).deleteObjects},
	{http.MethodPost, scopeBucket, "", "PostObject", (*Handler).postObject},
	{http.MethodGet, scopeBucket, "policy", "GetBucketPolicy", (*Handler).getBucketPolicy},
	{http.MethodPut, scopeBucket, "policy", "PutBucketPolicy", (*Handler).putBucketPolicy},
	{http.MethodGet, scopeBucket, "policyStatus", "GetBucketPolicyStatus", (*Handler).getBucketPolicyStatus},
	{http.MethodGet, scopeBucket, "cors", "GetBucketCors", (*Handler).getBucketCORS},
	{http.MethodPut, scopeBucket, "cors", "PutBucketCors", (*Handler).putBucketCORS},
	{http.MethodGet, scopeBucket, "lifecycle", "GetBucketLifecycleConfiguration", notConfigured("NoSuchLifecycleConfiguration", "The lifecycle configuration does not exist")},
	{http.MethodGet, scopeBucket, "website", "GetBucketWebsite", notConfigured("NoSuchWebsiteConfiguration", "The specified bucket does not have a website configuration")},
	{http.MethodGet, scopeBucket, "encryption", "GetBucketEncryption", (*Handler).getBucketEncryption},
	{http.MethodPut, scopeBucket, "encryption", "PutBucketEncryption", (*Handler).putBucketEncryption},
	{http.MethodDelete, scopeBucket, "encryption", "DeleteBucketEncryption", (*Handler).deleteBucketEncryption},
	{http.MethodGet, scopeBucket, "replication", "GetBucketReplication", notConfigured("ReplicationConfigurationNotFoundError", "The replication configuration was not found")},
	{http.MethodGet, scopeBucket, "object-lock", "GetObjectLockConfiguration", (*Handler).getObjectLockConfiguration},
	{http.MethodPut, scopeBucket, "object-lock", "PutObjectLockConfiguration", (*Handler).putObjectLockConfiguration},
	{http.MethodGet, scopeBucket, "publicAccessBlock", "GetPublicAccessBlock", (*Handler).getPublicAccessBlock},
	{http.MethodPut, scopeBucket, "publicAccessBlock", "PutPublicAccessBlock", (*Handler).putPublicAccessBlock},
	{http.MethodDelete, scopeBucket, "publicAccessBlock", "DeletePublicAccessBlock", (*Handler).deletePublicAccessBlock},
	{http.MethodGet, scopeBucket, "ownershipControls", "GetBucketOwnershipControls", (*Handler).getBucketOwnershipControls},
	{http.MethodPut, scopeBucket, "ownershipControls", "PutBucketOwnershipControls", (*Handler).putBucketOwnershipControls},
	{http.MethodDelete, scopeBucket, "ownershipControls", "DeleteBucketOwnershipControls", (*Handler).deleteBucketOwnershipControls},
	{http.MethodGet, scopeBucket, "notification", "GetBucketNotificationConfiguration", (*Handler).getBucketNotification},
	{http.MethodPut, scopeBucket, "notification", "PutBucketNotificationConfiguration", (*Handler).putBucketNotification},
	{http.MethodDelete, scopeBucket, "policy", "DeleteBucketPolicy", (*Handler).deleteBucketPolicy},
	{http.MethodDelete, scopeBucket, "cors", "DeleteBucketCors", (*Handler).deleteBucketCORS},
	{http.MethodDelete, scopeBucket, "lifecycle", "DeleteBucketLifecycle", (*Handler).noConfigToDelete},
	{http.MethodDelete, scopeBucket, "website", "DeleteBucketWebsite", (*Handler).noConfigToDelete},

	{http.MethodPut, scopeObject, "tagging", "PutObjectTagging", (*Handler).putObjectTagging},
	{http.MethodGet, scopeObject, "tagging", "GetObjectTagging", (*Handler).getObjectTagging},
	{http.MethodDelete, scopeObject, "tagging", "DeleteObjectTagging", (*Handler).deleteObjectTagging},
	{http.MethodPost, scopeObject, "uploads", "CreateMultipartUpload", (*Handler).createMultipartUpload},
	{http.MethodPut, scopeObject, "uploadId", "UploadPart", (*Handler).uploadPart},
	{http.MethodPost, scopeObject, "uploadId", "CompleteMultipartUpload", (*Handler).completeMultipartUpload},
	{http.MethodDelete, scopeObject, "uploadId", "AbortMultipartUpload", (*Handler).abortMultipartUpload},
	{http.MethodGet, scopeObject, "uploadId", "ListParts", (*Handler).listParts},
	{http.MethodGet, scopeObject, "acl", "GetObjectAcl", (*Handler).getObjectACL},
	{http.MethodPut, scopeObject, "acl", "PutObjectAcl", (*Handler).putObjectACL},
	{http.MethodGet, scopeObject, "attributes", "GetObjectAttributes", (*Handler).getObjectAttributes},
	{http.MethodGet, scopeObject, "retention", "GetObjectRetention", (*Handler).getObjectRetention},
	{http.MethodPut, scopeObject, "retention", "PutObjectRetention", (*Handler).putObjectRetention},
	{http.MethodGet, scopeObject, "legal-hold", "GetObjectLegalHold", (*Handler).getObjectLegalHold},
	{http.MethodPut, scopeObject, "legal-hold", "PutObjectLegalHold", (*Handler).putObjectLegalHold},
	{http.MethodPut, scopeObject, "", "PutObject", (*Handler).putObject},
	{http.MethodGet, scopeObject, "", "GetObject", (*Handler).getObject},
	{http.MethodHead, scopeObject, "", "HeadObject", (*Handler).headObject},
	{http.MethodDelete, scopeObject, "", "DeleteObject", (*Handler).deleteObject},
}

// subresources are the query parameters that name a sub-resource of a
// bucket or object; a request carrying one that sluice does not serve is
// answered NotImplemented rather than treated as a plain object request.
// It holds every subresource of the S3 API model (aws-sdk-go-v2's
// service/s3 at the version in go.mod): one missing here would turn, say,
// PutObjectAnnotation into a PutObject that replaces the object with the
// annotation, and DeleteObjectAnnotation into a DeleteObject.
var subresources = []string{
	"abac", "accelerate", "acl", "analytics", "annotation", "attributes", "cors", "delete", "encryption",
	"intelligent-tiering", "inventory", "legal-hold", "lifecycle", "location", "logging",
	"metadataAnnotationTable", "metadataConfiguration", "metadataInventoryTable", "metadataJournalTable",
	"metadataTable", "metrics", "notification", "object-lock", "ownershipControls", "policy", "policyStatus",
	"publicAccessBlock", "renameObject", "replication", "requestPayment", "restore", "retention", "select",
	"session", "tagging", "torrent", "uploadId", "uploads", "versioning", "versions", "website",
}

// route finds the operation of a request.
func route(rq *request) (*op, error) {
	sc := scopeObject
	switch {
	case rq.bucket == "":
		sc = scopeService
	case rq.key == "":
		sc = scopeBucket
	}
	if rq.r.Method == http.MethodOptions && sc != scopeService {
		return &preflightOp, nil
	}
	var present []string
	for _, s := range subresources {
		if _, ok := rq.query[s]; ok {
			present = append(present, s)
		}
	}
	methodKnown := false
	for i := range ops {
		o := &ops[i]
		if o.scope != sc {
			continue
		}
		if o.method != rq.r.Method {
			continue
		}
		methodKnown = true
		if o.sub == "" {
			if len(present) == 0 {
				return o, nil
			}
			continue
		}
		for _, p := range present {
			if p == o.sub {
				return o, nil
			}
		}
	}
	if len(present) > 0 {
		return nil, notImplemented("The " + rq.r.Method + " ?" + present[0] + " operation")
	}
	if !methodKnown || sc == scopeService {
		return nil, errorf("MethodNotAllowed", "The specified method is not allowed against this resource.")
	}
	return nil, errorf("MethodNotAllowed", "The specified method is not allowed against this resource.")
}

// notConfigured answers a Get of a bucket configuration sluice never
// stores: there is none, exactly as on a bucket where it was never set.
func notConfigured(code, message string) func(*Handler, *request) error {
	return func(h *Handler, rq *request) error {
		return errorf(code, message)
	}
}

// noConfigToDelete answers the Delete of a configuration that cannot exist.
func (h *Handler) noConfigToDelete(rq *request) error { return rq.noContent() }
