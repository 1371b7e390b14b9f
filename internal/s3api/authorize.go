package s3api

import (
	"errors"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/internal/iam"
	"github.com/sluicehq/sluice/internal/iam/policy"
	"github.com/sluicehq/sluice/internal/meta"
	"github.com/sluicehq/sluice/internal/objstore"
	"github.com/sluicehq/sluice/internal/sigv4"
)

// Authorization. Every request — anonymous ones too — is evaluated for
// the S3 action of its operation (opActions) on the bucket's or object's
// ARN, as S3 does:
//
//  1. an explicit Deny in the bucket policy refuses (the account root
//     and the bucket owner keep Get/Put/DeleteBucketPolicy, so that a
//     policy cannot lock them out for good);
//  2. the principal's own authority allows: the account root (iam's
//     Evaluate, the seam of identity policies), the bucket owner on the
//     bucket and what is written into it, an object's owner on the
//     object;
//  3. ACL grants allow (unless the bucket enforces bucket ownership, which
//     disables ACLs; IgnorePublicAcls disregards grants to AllUsers and
//     AuthenticatedUsers);
//  4. an Allow in the bucket policy allows (RestrictPublicBuckets keeps a
//     public policy's grants from anonymous requests);
//  5. anything else is AccessDenied.

// opActions maps operations (the op table's names) to the S3 action they
// are authorized as. Operations that address an object version
// (?versionId=) are authorized as the action in versionActions when it
// has one.
var opActions = map[string]string{
	"ListBuckets":                        "s3:ListAllMyBuckets",
	"CreateBucket":                       "s3:CreateBucket",
	"HeadBucket":                         "s3:ListBucket",
	"DeleteBucket":                       "s3:DeleteBucket",
	"ListObjects":                        "s3:ListBucket",
	"ListObjectVersions":                 "s3:ListBucketVersions",
	"ListMultipartUploads":               "s3:ListBucketMultipartUploads",
	"GetBucketLocation":                  "s3:GetBucketLocation",
	"GetBucketVersioning":                "s3:GetBucketVersioning",
	"PutBucketVersioning":                "s3:PutBucketVersioning",
	"GetBucketTagging":                   "s3:GetBucketTagging",
	"PutBucketTagging":                   "s3:PutBucketTagging",
	"DeleteBucketTagging":                "s3:PutBucketTagging",
	"GetBucketAcl":                       "s3:GetBucketAcl",
	"PutBucketAcl":                       "s3:PutBucketAcl",
	"GetBucketPolicy":                    "s3:GetBucketPolicy",
	"PutBucketPolicy":                    "s3:PutBucketPolicy",
	"DeleteBucketPolicy":                 "s3:DeleteBucketPolicy",
	"GetBucketPolicyStatus":              "s3:GetBucketPolicyStatus",
	"GetPublicAccessBlock":               "s3:GetBucketPublicAccessBlock",
	"PutPublicAccessBlock":               "s3:PutBucketPublicAccessBlock",
	"DeletePublicAccessBlock":            "s3:PutBucketPublicAccessBlock",
	"GetBucketOwnershipControls":         "s3:GetBucketOwnershipControls",
	"PutBucketOwnershipControls":         "s3:PutBucketOwnershipControls",
	"DeleteBucketOwnershipControls":      "s3:PutBucketOwnershipControls",
	"GetBucketCors":                      "s3:GetBucketCORS",
	"PutBucketCors":                      "s3:PutBucketCORS",
	"DeleteBucketCors":                   "s3:PutBucketCORS",
	"GetBucketLifecycleConfiguration":    "s3:GetLifecycleConfiguration",
	"PutBucketLifecycleConfiguration":    "s3:PutLifecycleConfiguration",
	"DeleteBucketLifecycle":              "s3:PutLifecycleConfiguration",
	"GetBucketWebsite":                   "s3:GetBucketWebsite",
	"PutBucketWebsite":                   "s3:PutBucketWebsite",
	"DeleteBucketWebsite":                "s3:DeleteBucketWebsite",
	"GetBucketEncryption":                "s3:GetEncryptionConfiguration",
	"PutBucketEncryption":                "s3:PutEncryptionConfiguration",
	"DeleteBucketEncryption":             "s3:PutEncryptionConfiguration",
	"GetBucketReplication":               "s3:GetReplicationConfiguration",
	"PutBucketReplication":               "s3:PutReplicationConfiguration",
	"DeleteBucketReplication":            "s3:PutReplicationConfiguration",
	"GetObjectLockConfiguration":         "s3:GetBucketObjectLockConfiguration",
	"PutObjectLockConfiguration":         "s3:PutBucketObjectLockConfiguration",
	"GetBucketNotificationConfiguration": "s3:GetBucketNotification",
	"PutBucketNotificationConfiguration": "s3:PutBucketNotification",
	"GetBucketLogging":                   "s3:GetBucketLogging",
	"PutBucketLogging":                   "s3:PutBucketLogging",
	"GetBucketAccelerateConfiguration":   "s3:GetAccelerateConfiguration",
	"PutBucketAccelerateConfiguration":   "s3:PutAccelerateConfiguration",
	"GetBucketRequestPayment":            "s3:GetBucketRequestPayment",
	"PutBucketRequestPayment":            "s3:PutBucketRequestPayment",
	"PostObject":                         "s3:PutObject",

	"GetObject":               "s3:GetObject",
	"HeadObject":              "s3:GetObject",
	"PutObject":               "s3:PutObject",
	"DeleteObject":            "s3:DeleteObject",
	"GetObjectAcl":            "s3:GetObjectAcl",
	"PutObjectAcl":            "s3:PutObjectAcl",
	"GetObjectTagging":        "s3:GetObjectTagging",
	"PutObjectTagging":        "s3:PutObjectTagging",
	"DeleteObjectTagging":     "s3:DeleteObjectTagging",
	"GetObjectAttributes":     "s3:GetObjectAttributes",
	"GetObjectRetention":      "s3:GetObjectRetention",
	"PutObjectRetention":      "s3:PutObjectRetention",
	"GetObjectLegalHold":      "s3:GetObjectLegalHold",
	"PutObjectLegalHold":      "s3:PutObjectLegalHold",
	"RestoreObject":           "s3:RestoreObject",
	"GetObjectTorrent":        "s3:GetObjectTorrent",
	"CreateMultipartUpload":   "s3:PutObject",
	"UploadPart":              "s3:PutObject",
	"CompleteMultipartUpload": "s3:PutObject",
	"AbortMultipartUpload":    "s3:AbortMultipartUpload",
	"ListParts":               "s3:ListMultipartUploadParts",
}

// versionActions are the actions of operations on a named version.
var versionActions = map[string]string{
	"s3:GetObject":           "s3:GetObjectVersion",
	"s3:DeleteObject":        "s3:DeleteObjectVersion",
	"s3:GetObjectAcl":        "s3:GetObjectVersionAcl",
	"s3:PutObjectAcl":        "s3:PutObjectVersionAcl",
	"s3:GetObjectTagging":    "s3:GetObjectVersionTagging",
	"s3:PutObjectTagging":    "s3:PutObjectVersionTagging",
	"s3:DeleteObjectTagging": "s3:DeleteObjectVersionTagging",
	"s3:GetObjectAttributes": "s3:GetObjectVersionAttributes",
	"s3:GetObjectTorrent":    "s3:GetObjectVersionTorrent",
}

// existingObjectActions act on an object version that must exist; their
// authorization looks at it (its owner, ACL and tags).
var existingObjectActions = map[string]bool{
	"s3:GetObject": true, "s3:GetObjectVersion": true, "s3:GetObjectAcl": true, "s3:GetObjectVersionAcl": true,
	"s3:PutObjectAcl": true, "s3:PutObjectVersionAcl": true, "s3:GetObjectTagging": true,
	"s3:GetObjectVersionTagging": true, "s3:PutObjectTagging": true, "s3:PutObjectVersionTagging": true,
	"s3:DeleteObjectTagging": true, "s3:DeleteObjectVersionTagging": true, "s3:GetObjectAttributes": true,
	"s3:GetObjectVersionAttributes": true, "s3:GetObjectRetention": true, "s3:PutObjectRetention": true,
	"s3:GetObjectLegalHold": true, "s3:PutObjectLegalHold": true, "s3:RestoreObject": true,
	"s3:GetObjectTorrent": true, "s3:GetObjectVersionTorrent": true,
}

// objectReadActions are the object actions governed by the object's own
// ACL and ownership rather than by the bucket's.
var objectReadActions = map[string]string{
	"s3:GetObject": permRead, "s3:GetObjectVersion": permRead, "s3:GetObjectAttributes": permRead,
	"s3:GetObjectVersionAttributes": permRead, "s3:GetObjectTorrent": permRead, "s3:GetObjectVersionTorrent": permRead,
	"s3:GetObjectAcl": permReadACP, "s3:GetObjectVersionAcl": permReadACP,
	"s3:PutObjectAcl": permWriteACP, "s3:PutObjectVersionAcl": permWriteACP,
}

// bucketACLActions are the actions a bucket ACL permission grants.
var bucketACLActions = map[string]string{
	"s3:ListBucket": permRead, "s3:ListBucketVersions": permRead, "s3:ListBucketMultipartUploads": permRead,
	"s3:PutObject": permWrite, "s3:DeleteObject": permWrite, "s3:DeleteObjectVersion": permWrite,
	"s3:AbortMultipartUpload": permWrite, "s3:ListMultipartUploadParts": permWrite,
	"s3:GetBucketAcl": permReadACP, "s3:PutBucketAcl": permWriteACP,
}

// bucketWriteActions are object actions authorized as writes into the
// bucket: the bucket owner's, whoever owns the object.
var bucketWriteActions = map[string]bool{
	"s3:PutObject": true, "s3:DeleteObject": true, "s3:DeleteObjectVersion": true,
	"s3:AbortMultipartUpload": true, "s3:ListMultipartUploadParts": true,
}

func errAccessDenied() *apiError { return errorf("AccessDenied", "Access Denied") }

// requestAction is the S3 action of rq's operation ("" if unknown).
func requestAction(rq *request) string {
	a := opActions[rq.op.name]
	if _, ok := rq.query["versionId"]; ok {
		if v, ok := versionActions[a]; ok {
			a = v
		}
	}
	return a
}

// authorize decides whether rq's principal may perform its operation.
// A missing bucket is reported as such, before anything else.
func (h *Handler) authorize(rq *request) error {
	p := rq.principal
	if rq.op.scope == scopeService || rq.op.name == "CreateBucket" {
		// ListBuckets lists what the principal owns; any signed
		// principal may create buckets.
		if p.Anonymous {
			return errAccessDenied()
		}
		return nil
	}
	b, err := h.requestBucket(rq)
	if err != nil {
		return err
	}
	action := requestAction(rq)
	switch {
	case rq.op.name == "DeleteObjects":
		return nil // each key is authorized as DeleteObject (see allowDelete)
	case action == "":
		// An operation without a known action: the bucket owner's.
		if !iam.CanAccessBucket(p, b.Owner) {
			return errAccessDenied()
		}
		return nil
	}
	key := ""
	if rq.op.scope == scopeObject {
		key = rq.key
	}
	if err := h.authorizeAction(rq, b, action, key, rq.query.Get("versionId")); err != nil {
		return err
	}
	if rq.op.name == "DeleteObject" {
		return h.authorizeDeleteMatch(rq, b, key, rq.query.Get("versionId"), rq.r.Header.Get("If-Match"))
	}
	return nil
}

// authorizeDeleteMatch: a delete conditional on an ETag reveals whether
// the object has it, so S3 asks s3:GetObject (or GetObjectVersion) of it
// too; If-Match: * asks nothing more.
func (h *Handler) authorizeDeleteMatch(rq *request, b *meta.Bucket, key, versionID, ifMatch string) error {
	if ifMatch == "" || ifMatch == "*" {
		return nil
	}
	action := "s3:GetObject"
	if versionID != "" {
		action = "s3:GetObjectVersion"
	}
	return h.authorizeAction(rq, b, action, key, versionID)
}

// authorizeAction decides whether rq's principal may perform action on
// bucket b (key "") or on one of its objects.
func (h *Handler) authorizeAction(rq *request, b *meta.Bucket, action, key, versionID string) error {
	az, err := h.authzFor(rq, b)
	if err != nil {
		return err
	}
	if az.policy == nil && rq.principal.IsRoot() {
		return nil // the account's authority, and no policy to deny it
	}
	var v *meta.Version
	if key != "" && existingObjectActions[action] && (az.policy != nil || !rq.principal.IsRoot()) {
		v, err = h.store.ObjectVersion(rq.ctx(), b.Name, key, versionID)
		if err != nil {
			if !isMissing(err) {
				return err
			}
			// S3 tells a missing object (404) only to those who may list
			// the bucket; others cannot tell it from a forbidden one.
			list := az.decide(rq, "s3:ListBucket", "", nil, map[string]string{"s3:prefix": key})
			if !list {
				return errAccessDenied()
			}
			return nil // the operation reports the missing object
		}
	}
	if !az.decide(rq, action, key, v, nil) {
		return errAccessDenied()
	}
	return nil
}

// isMissing reports whether a lookup found no object version (or a
// delete marker where an object was wanted).
func isMissing(err error) bool {
	var oe *objstore.Error
	if !errors.As(err, &oe) {
		return false
	}
	switch oe.Code {
	case "NoSuchKey", "NoSuchVersion", "MethodNotAllowed":
		return true
	}
	return false
}

// authz holds what authorizing requests on one bucket needs.
type authz struct {
	h      *Handler
	b      *meta.Bucket
	policy *policy.Policy
	acls   bool // ACLs are in effect (not BucketOwnerEnforced)

	pab       publicAccessBlock
	pabLoaded bool
}

func (h *Handler) authzFor(rq *request, b *meta.Bucket) (*authz, error) {
	p, err := h.bucketPolicy(b)
	if err != nil {
		return nil, err
	}
	return &authz{h: h, b: b, policy: p, acls: ownershipOf(b) != ownershipEnforced}, nil
}

// publicAccessBlock returns the bucket's Block Public Access settings,
// decoded once.
func (az *authz) publicAccessBlock() publicAccessBlock {
	if !az.pabLoaded {
		az.pab, az.pabLoaded = publicAccessBlockOf(az.b), true
	}
	return az.pab
}

// policyActions are the actions a bucket policy's Deny cannot take from
// the account root or the bucket owner.
var policyActions = map[string]bool{"s3:GetBucketPolicy": true, "s3:PutBucketPolicy": true, "s3:DeleteBucketPolicy": true}

// decide evaluates action on the bucket (key "") or an object (v, when
// the action needs the existing version, else nil) for rq's principal;
// extra adds condition keys.
func (az *authz) decide(rq *request, action, key string, v *meta.Version, extra map[string]string) bool {
	p := rq.principal
	resource := "arn:aws:s3:::" + az.b.Name
	if key != "" {
		resource += "/" + key
	}
	var cctx policy.Context
	pd := policy.NoMatch
	if az.policy != nil {
		cctx = az.h.conditionContext(rq, v, extra)
		pd = az.policy.Evaluate(&policy.Request{
			Principal:     p.PolicyPrincipal(),
			Action:        action,
			Resource:      resource,
			Context:       cctx,
			NoPublicAllow: p.Anonymous && az.publicAccessBlock().RestrictPublicBuckets,
		})
		if pd == policy.Denied && !(policyActions[action] && (p.IsRoot() || p.ID == az.b.Owner)) {
			return false
		}
	}
	switch az.h.iam.Evaluate(p, action, resource, cctx) {
	case policy.Denied:
		return false
	case policy.Allowed:
		return true
	}
	if az.ownerAllows(p, action, v) || az.aclAllows(p, action, v) {
		return true
	}
	return pd == policy.Allowed
}

// ownerAllows reports whether p may act as an owner: the bucket owner on
// the bucket and on what is written into it, an object's owner (and the
// bucket owner) on the object — except reading it and its ACL, which an
// object's owner alone may do when ACLs are in effect.
func (az *authz) ownerAllows(p *iam.Principal, action string, v *meta.Version) bool {
	if p.Anonymous {
		return false
	}
	if _, ok := objectReadActions[action]; ok && v != nil {
		return p.ID == objectOwner(az.b, v)
	}
	if p.ID == az.b.Owner {
		return true
	}
	return v != nil && !bucketWriteActions[action] && p.ID == objectOwner(az.b, v)
}

// aclAllows reports whether the bucket's or the object's ACL grants p
// the permission action needs.
func (az *authz) aclAllows(p *iam.Principal, action string, v *meta.Version) bool {
	if !az.acls {
		return false
	}
	if perm, ok := objectReadActions[action]; ok {
		return v != nil && grants(v.ACL, objectOwner(az.b, v), p, perm, az.publicAccessBlock().IgnorePublicAcls)
	}
	perm, ok := bucketACLActions[action]
	return ok && grants(az.b.ACL, az.b.Owner, p, perm, az.publicAccessBlock().IgnorePublicAcls)
}

// grants reports whether an ACL (nil: the default) of a resource owned by
// owner gives p permission perm. FULL_CONTROL implies every permission;
// AllUsers covers everyone, AuthenticatedUsers every signed request;
// ignorePublic disregards both groups.
func grants(a *meta.ACL, owner string, p *iam.Principal, perm string, ignorePublic bool) bool {
	list := []meta.Grant{{ID: owner, Permission: permFullControl}}
	if a != nil {
		list = a.Grants
	}
	for _, g := range list {
		if g.Permission != perm && g.Permission != permFullControl {
			continue
		}
		switch {
		case g.URI == groupAllUsers && !ignorePublic:
			return true
		case g.URI == groupAuthenticated && !ignorePublic && !p.Anonymous:
			return true
		case g.ID != "" && !p.Anonymous && g.ID == p.ID:
			return true
		}
	}
	return false
}

// conditionContext gathers the condition keys of a request: the global
// ones (source IP, transport, time, principal), S3's authentication keys,
// the ACL, copy, encryption, Object Lock and tagging headers, listing
// parameters, the version ID and the existing object's tags.
func (h *Handler) conditionContext(rq *request, v *meta.Version, extra map[string]string) policy.Context {
	c := policy.Context{}
	r := rq.r
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		c.Set("aws:SourceIp", host)
	}
	c.Set("aws:SecureTransport", strconv.FormatBool(r.TLS != nil))
	now := time.Now().UTC()
	c.Set("aws:CurrentTime", now.Format(time.RFC3339))
	c.Set("aws:EpochTime", strconv.FormatInt(now.Unix(), 10))
	if ua := r.Header.Get("User-Agent"); ua != "" {
		c.Set("aws:UserAgent", ua)
	}
	if ref := r.Header.Get("Referer"); ref != "" {
		c.Set("aws:Referer", ref)
	}
	rq.principal.Context(c)
	if rq.auth != nil {
		switch rq.auth.Method {
		case sigv4.MethodV4Header, sigv4.MethodV4Query, sigv4.MethodV4Post:
			c.Set("s3:signatureversion", "AWS4-HMAC-SHA256")
		case sigv4.MethodV2Header, sigv4.MethodV2Query, sigv4.MethodV2Post:
			c.Set("s3:signatureversion", "AWS")
		}
		switch rq.auth.Method {
		case sigv4.MethodV4Header, sigv4.MethodV2Header:
			c.Set("s3:authType", "REST-HEADER")
		case sigv4.MethodV4Query, sigv4.MethodV2Query:
			c.Set("s3:authType", "REST-QUERY-STRING")
		case sigv4.MethodV4Post, sigv4.MethodV2Post:
			c.Set("s3:authType", "POST")
		}
		if !rq.auth.Time.IsZero() {
			c.Set("s3:signatureAge", strconv.FormatInt(time.Since(rq.auth.Time).Milliseconds(), 10))
		}
	}
	if r.TLS != nil {
		c.Set("s3:TlsVersion", tlsVersion(r.TLS.Version))
	}
	hd := r.Header
	for _, name := range []string{
		"x-amz-acl", "x-amz-grant-read", "x-amz-grant-write", "x-amz-grant-read-acp", "x-amz-grant-write-acp",
		"x-amz-grant-full-control", "x-amz-metadata-directive", "x-amz-server-side-encryption",
		"x-amz-server-side-encryption-aws-kms-key-id", "x-amz-server-side-encryption-customer-algorithm",
		"x-amz-storage-class", "x-amz-website-redirect-location", "x-amz-content-sha256", "x-amz-object-ownership",
	} {
		if v := hd.Get(name); v != "" {
			c.Set("s3:"+name, v)
		}
	}
	for header, key := range map[string]string{
		"x-amz-object-lock-mode": "s3:object-lock-mode", "x-amz-object-lock-retain-until-date": "s3:object-lock-retain-until-date",
		"x-amz-object-lock-legal-hold": "s3:object-lock-legal-hold", "If-Match": "s3:if-match", "If-None-Match": "s3:if-none-match",
	} {
		if v := hd.Get(header); v != "" {
			c.Set(key, v)
		}
	}
	if cs := hd.Get("x-amz-copy-source"); cs != "" {
		if u, err := url.PathUnescape(cs); err == nil {
			cs = u
		}
		c.Set("s3:x-amz-copy-source", strings.TrimPrefix(cs, "/"))
	}
	if t := hd.Values("x-amz-tagging"); t != nil {
		if tags, err := parseTagQuery(t[0]); err == nil {
			keys := make([]string, 0, len(tags))
			for _, tag := range tags {
				c.Set("s3:RequestObjectTag/"+tag.Key, tag.Value)
				keys = append(keys, tag.Key)
			}
			c.Set("s3:RequestObjectTagKeys", keys...)
		}
	}
	if rq.op.name == "ListObjects" || rq.op.name == "ListObjectVersions" {
		for _, param := range []string{"prefix", "delimiter", "max-keys"} {
			if vals, ok := rq.query[param]; ok && len(vals) > 0 {
				c.Set("s3:"+param, vals[0])
			}
		}
	}
	if vid := rq.query.Get("versionId"); vid != "" {
		c.Set("s3:VersionId", vid)
	}
	if v != nil {
		for _, t := range v.Tags {
			c.Set("s3:ExistingObjectTag/"+t.Key, t.Value)
		}
	}
	c.Set("s3:ResourceAccount", h.iam.AccountID())
	for k, val := range extra {
		c.Set(k, val)
	}
	return c
}

func tlsVersion(v uint16) string {
	switch v {
	case 0x0301:
		return "1.0"
	case 0x0302:
		return "1.1"
	case 0x0303:
		return "1.2"
	case 0x0304:
		return "1.3"
	}
	return ""
}

// authorizeSource checks that the principal may read the source of a
// copy (s3:GetObject, s3:GetObjectVersion for a named version).
func (h *Handler) authorizeSource(rq *request, cs objstore.CopySource) error {
	b, err := h.store.Bucket(rq.ctx(), cs.Bucket)
	if err != nil {
		return err
	}
	action := "s3:GetObject"
	if cs.VersionID != "" {
		action = "s3:GetObjectVersion"
	}
	return h.authorizeAction(rq, b, action, cs.Key, cs.VersionID)
}

// allowDelete reports whether the principal may delete one key (a
// version of it, when versionID is set) of DeleteObjects.
func (h *Handler) allowDelete(rq *request, key, versionID, ifMatch string) (bool, error) {
	b, err := h.requestBucket(rq)
	if err != nil {
		return false, err
	}
	action := "s3:DeleteObject"
	if versionID != "" {
		action = "s3:DeleteObjectVersion"
	}
	err = h.authorizeAction(rq, b, action, key, versionID)
	if err == nil {
		err = h.authorizeDeleteMatch(rq, b, key, versionID, ifMatch)
	}
	var ae *apiError
	if errors.As(err, &ae) && ae.code == "AccessDenied" {
		return false, nil
	}
	return err == nil, err
}
