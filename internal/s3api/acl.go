package s3api

import (
	"context"
	"encoding/xml"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/sluicehq/sluice/internal/iam"
	"github.com/sluicehq/sluice/internal/meta"
	"github.com/sluicehq/sluice/internal/objstore"
)

// ACLs: canned ACLs, x-amz-grant-* headers and AccessControlPolicy
// documents are turned into meta.ACL grants, stored on the bucket or the
// object version, and reported back by GetBucketAcl/GetObjectAcl. How
// grants are enforced is in authorize.go.

// ACL permissions.
const (
	permRead        = "READ"
	permWrite       = "WRITE"
	permReadACP     = "READ_ACP"
	permWriteACP    = "WRITE_ACP"
	permFullControl = "FULL_CONTROL"
)

// The predefined groups S3 grants to.
const (
	groupAllUsers      = "http://acs.amazonaws.com/groups/global/AllUsers"
	groupAuthenticated = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
	groupLogDelivery   = "http://acs.amazonaws.com/groups/s3/LogDelivery"
)

// ec2ID is the canonical user aws-exec-read grants READ to (EC2, which
// reads AMI bundles).
const ec2ID = "6aa5a366c34c1cbe25dc49211496e913e0351eb0e8c37aa3477e40942ec6b97c"

const xsiNS = "http://www.w3.org/2001/XMLSchema-instance"

// grantHeaders maps the x-amz-grant-* headers to the permission each
// grants.
var grantHeaders = []struct{ header, perm string }{
	{"x-amz-grant-read", permRead},
	{"x-amz-grant-write", permWrite},
	{"x-amz-grant-read-acp", permReadACP},
	{"x-amz-grant-write-acp", permWriteACP},
	{"x-amz-grant-full-control", permFullControl},
}

var cannedACLs = map[string]bool{
	"private": true, "public-read": true, "public-read-write": true, "authenticated-read": true,
	"aws-exec-read": true, "bucket-owner-read": true, "bucket-owner-full-control": true, "log-delivery-write": true,
}

// checkCannedACL refuses an x-amz-acl that is no canned ACL: the client's
// mistake, as on S3. Whether the ACL is allowed is decided later (see
// requestACL).
func checkCannedACL(hd http.Header) error {
	if acl := hd.Get("x-amz-acl"); acl != "" && !cannedACLs[acl] {
		e := errorf("InvalidArgument", "")
		e.extra = [][2]string{{"ArgumentName", "x-amz-acl"}, {"ArgumentValue", acl}}
		return e
	}
	return nil
}

// cannedGrants expands a canned ACL for a resource owned by owner in a
// bucket owned by bucketOwner. Group grants come first, then the owner's,
// as S3 lists them.
func cannedGrants(canned, owner, bucketOwner string, forBucket bool) []meta.Grant {
	full := meta.Grant{ID: owner, Permission: permFullControl}
	switch canned {
	case "public-read":
		return []meta.Grant{{URI: groupAllUsers, Permission: permRead}, full}
	case "public-read-write":
		return []meta.Grant{{URI: groupAllUsers, Permission: permRead}, {URI: groupAllUsers, Permission: permWrite}, full}
	case "authenticated-read":
		return []meta.Grant{{URI: groupAuthenticated, Permission: permRead}, full}
	case "aws-exec-read":
		return []meta.Grant{full, {ID: ec2ID, Permission: permRead}}
	case "log-delivery-write":
		if forBucket {
			return []meta.Grant{{URI: groupLogDelivery, Permission: permWrite}, {URI: groupLogDelivery, Permission: permReadACP}, full}
		}
	case "bucket-owner-read":
		if !forBucket && bucketOwner != owner {
			return []meta.Grant{full, {ID: bucketOwner, Permission: permRead}}
		}
	case "bucket-owner-full-control":
		if !forBucket && bucketOwner != owner {
			return []meta.Grant{full, {ID: bucketOwner, Permission: permFullControl}}
		}
	}
	return []meta.Grant{full}
}

// aclSpec is an ACL a request specifies.
type aclSpec struct {
	// specified is false when the request names no ACL at all.
	specified bool
	// canned is the x-amz-acl value ("" for explicit grants).
	canned string
	// grants are the explicit grants (headers or document).
	grants []meta.Grant
	// docOwner is the Owner ID of an AccessControlPolicy document.
	docOwner string
}

// aclHeaders reads the ACL headers of a request: x-amz-acl or
// x-amz-grant-* (not both).
func (h *Handler) aclHeaders(rq *request) (aclSpec, error) {
	hd := rq.r.Header
	var s aclSpec
	if err := checkCannedACL(hd); err != nil {
		return s, err
	}
	s.canned = hd.Get("x-amz-acl")
	var names map[string]string
	for _, gh := range grantHeaders {
		v := strings.TrimSpace(hd.Get(gh.header))
		if v == "" {
			continue
		}
		if s.canned != "" {
			return s, errorf("InvalidRequest", "Specifying both Canned ACLs and Header Grants is not allowed")
		}
		for _, item := range splitGrantees(v) {
			typ, val, ok := strings.Cut(item, "=")
			val = strings.Trim(strings.TrimSpace(val), `"`)
			if !ok || val == "" {
				e := errorf("InvalidArgument", "Argument format not recognized")
				e.extra = [][2]string{{"ArgumentName", gh.header}, {"ArgumentValue", v}}
				return s, e
			}
			g := meta.Grant{Permission: gh.perm}
			switch strings.ToLower(strings.TrimSpace(typ)) {
			case "id":
				g.ID = val
			case "uri":
				g.URI = val
			case "emailaddress":
				return s, errEmailGrantee()
			default:
				e := errorf("InvalidArgument", "Argument format not recognized")
				e.extra = [][2]string{{"ArgumentName", gh.header}, {"ArgumentValue", v}}
				return s, e
			}
			if names == nil {
				var err error
				if names, err = h.iam.CanonicalNames(rq.ctx()); err != nil {
					return s, err
				}
			}
			if err := checkGrantee(g, names); err != nil {
				return s, err
			}
			s.grants = append(s.grants, g)
		}
	}
	s.specified = s.canned != "" || len(s.grants) > 0
	return s, nil
}

// splitGrantees splits a grant header's comma-separated grantees,
// keeping commas inside quotes.
func splitGrantees(v string) []string {
	var out []string
	inQuote, start := false, 0
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '"':
			inQuote = !inQuote
		case ',':
			if !inQuote {
				out = append(out, strings.TrimSpace(v[start:i]))
				start = i + 1
			}
		}
	}
	return append(out, strings.TrimSpace(v[start:]))
}

// errEmailGrantee answers grants to an e-mail address: S3 stopped
// supporting them on October 1, 2025 (HTTP 405 in us-east-1 and the
// other large regions); sluice's users have no e-mail addresses anyway.
func errEmailGrantee() *apiError {
	return errorf("MethodNotAllowed", "The specified method is not allowed against this resource.")
}

func errMalformedACL() *apiError {
	return errorf("MalformedACLError", "The XML you provided was not well-formed or did not validate against our published schema")
}

// checkGrantee refuses grantees S3 would not resolve: canonical IDs of
// nobody the node knows, and groups that do not exist.
func checkGrantee(g meta.Grant, names map[string]string) error {
	if g.URI != "" {
		switch g.URI {
		case groupAllUsers, groupAuthenticated, groupLogDelivery:
			return nil
		}
		e := errorf("InvalidArgument", "Invalid group uri")
		e.extra = [][2]string{{"ArgumentName", "Group/URI"}, {"ArgumentValue", g.URI}}
		return e
	}
	if _, ok := names[g.ID]; (!ok && g.ID != ec2ID) || g.ID == iam.AnonymousID {
		e := errorf("InvalidArgument", "Invalid id")
		e.extra = [][2]string{{"ArgumentName", "CanonicalUser/ID"}, {"ArgumentValue", g.ID}}
		return e
	}
	return nil
}

// aclInput is an AccessControlPolicy document a client sends.
type aclInput struct {
	XMLName xml.Name `xml:"AccessControlPolicy"`
	Owner   *struct {
		ID string `xml:"ID"`
	} `xml:"Owner"`
	Grants []struct {
		Grantee *struct {
			Type         string `xml:"type,attr"`
			ID           string `xml:"ID"`
			URI          string `xml:"URI"`
			EmailAddress string `xml:"EmailAddress"`
		} `xml:"Grantee"`
		Permission string `xml:"Permission"`
	} `xml:"AccessControlList>Grant"`
}

// aclRequest reads the ACL a PutBucketAcl or PutObjectAcl sets: from the
// headers or from an AccessControlPolicy document, which exclude each
// other; one of them is required. A bucket with ACLs disabled (enforced)
// refuses any header ACL but bucket-owner-full-control before the rest
// is looked at.
func (h *Handler) aclRequest(rq *request, enforced bool) (aclSpec, error) {
	var s aclSpec
	hd := rq.r.Header
	if err := checkCannedACL(hd); err != nil {
		return s, err
	}
	canned, grants := hd.Get("x-amz-acl"), false
	for _, gh := range grantHeaders {
		grants = grants || strings.TrimSpace(hd.Get(gh.header)) != ""
	}
	if enforced && (grants || (canned != "" && canned != "bucket-owner-full-control")) {
		return s, errACLNotSupported()
	}
	raw, err := readSmallBody(rq)
	if err != nil {
		return s, err
	}
	hasBody := len(strings.TrimSpace(string(raw))) > 0
	switch {
	case canned != "" && grants:
		return s, errorf("InvalidRequest", "Specifying both Canned ACLs and Header Grants is not allowed")
	case (canned != "" || grants) && hasBody:
		return s, errorf("UnexpectedContent", "This request does not support content")
	case canned != "" || grants:
		return h.aclHeaders(rq)
	case !hasBody:
		e := errorf("MissingSecurityHeader", "Your request was missing a required header")
		e.extra = [][2]string{{"MissingHeaderName", "x-amz-acl"}}
		return s, e
	}
	var doc aclInput
	if err := xml.Unmarshal(raw, &doc); err != nil || doc.Owner == nil || doc.Owner.ID == "" {
		return s, errMalformedACL()
	}
	names, err := h.iam.CanonicalNames(rq.ctx())
	if err != nil {
		return s, err
	}
	s.specified, s.docOwner, s.grants = true, doc.Owner.ID, []meta.Grant{}
	for _, dg := range doc.Grants {
		if dg.Grantee == nil {
			return s, errMalformedACL()
		}
		switch dg.Permission {
		case permRead, permWrite, permReadACP, permWriteACP, permFullControl:
		default:
			return s, errMalformedACL()
		}
		g := meta.Grant{Permission: dg.Permission}
		ge := dg.Grantee
		switch ge.Type {
		case "CanonicalUser":
			if ge.ID == "" {
				return s, errMalformedACL()
			}
			g.ID = ge.ID
		case "Group":
			if ge.URI == "" {
				return s, errMalformedACL()
			}
			g.URI = ge.URI
		case "AmazonCustomerByEmail":
			if ge.EmailAddress == "" {
				return s, errMalformedACL()
			}
			return s, errEmailGrantee()
		default:
			return s, errMalformedACL()
		}
		if err := checkGrantee(g, names); err != nil {
			return s, err
		}
		s.grants = append(s.grants, g)
	}
	if _, ok := names[s.docOwner]; !ok {
		e := errorf("InvalidArgument", "Invalid id")
		e.extra = [][2]string{{"ArgumentName", "CanonicalUser/ID"}, {"ArgumentValue", s.docOwner}}
		return s, e
	}
	return s, nil
}

// acl builds the ACL a spec sets on a resource owned by owner.
func (s *aclSpec) acl(owner, bucketOwner string, forBucket bool) *meta.ACL {
	var grants []meta.Grant
	switch {
	case s.canned != "":
		grants = cannedGrants(s.canned, owner, bucketOwner, forBucket)
	case s.specified:
		grants = slices.Clone(s.grants)
	default:
		return nil
	}
	// Group grantees first, in their given order, as S3 lists them.
	slices.SortStableFunc(grants, func(a, b meta.Grant) int {
		switch {
		case a.URI != "" && b.URI == "":
			return -1
		case a.URI == "" && b.URI != "":
			return 1
		}
		return 0
	})
	if len(grants) == 1 && grants[0].ID == owner && grants[0].Permission == permFullControl {
		return nil // the default
	}
	return &meta.ACL{Grants: grants}
}

// ownerOnly reports whether a spec is equivalent to
// bucket-owner-full-control: the only ACL a bucket whose ownership is
// BucketOwnerEnforced accepts.
func (s *aclSpec) ownerOnly(bucketOwner string) bool {
	if s.canned != "" {
		return s.canned == "bucket-owner-full-control"
	}
	return len(s.grants) == 1 && s.grants[0].ID == bucketOwner && s.grants[0].Permission == permFullControl
}

// grantsOthers reports whether a spec grants anything to anyone but the
// bucket owner (which a bucket with ACLs disabled refuses).
func (s *aclSpec) grantsOthers(bucketOwner string) bool {
	a := s.acl(bucketOwner, bucketOwner, true)
	if a == nil {
		return false
	}
	for _, g := range a.Grants {
		if g.ID != bucketOwner {
			return true
		}
	}
	return false
}

// public reports whether the ACL a spec sets is public.
func (s *aclSpec) public(owner, bucketOwner string, forBucket bool) bool {
	return isPublicACL(s.acl(owner, bucketOwner, forBucket))
}

// isPublicACL reports whether an ACL grants anything to AllUsers or
// AuthenticatedUsers: a public ACL for Block Public Access.
func isPublicACL(a *meta.ACL) bool {
	if a == nil {
		return false
	}
	for _, g := range a.Grants {
		if g.URI == groupAllUsers || g.URI == groupAuthenticated {
			return true
		}
	}
	return false
}

// errACLNotSupported is the answer of a bucket with ACLs disabled to a
// request that sets one.
func errACLNotSupported() *apiError {
	return errorf("AccessControlListNotSupported", "The bucket does not allow ACLs")
}

// newObject works out the owner and ACL of an object version a PutObject,
// CopyObject or CreateMultipartUpload creates, from the request's ACL
// headers and the bucket's Object Ownership and Block Public Access
// settings; it sets m.ACL and returns the owner.
func (h *Handler) newObject(rq *request, m *objstore.ObjectMeta) (string, error) {
	spec, err := h.aclHeaders(rq)
	if err != nil {
		return "", err
	}
	b, err := h.requestBucket(rq)
	if err != nil {
		return "", err
	}
	writer := rq.principal.ID
	switch ownershipOf(b) {
	case ownershipEnforced:
		if spec.specified && !spec.ownerOnly(b.Owner) {
			return "", errACLNotSupported()
		}
		return b.Owner, nil
	case ownershipPreferred:
		if spec.canned == "bucket-owner-full-control" {
			writer = b.Owner
		}
	}
	if spec.public(writer, b.Owner, false) && publicAccessBlockOf(b).BlockPublicAcls {
		return "", errorf("AccessDenied", "Access Denied")
	}
	m.ACL = spec.acl(writer, b.Owner, false)
	return writer, nil
}

// requestBucket returns the request's bucket, as authorization loaded it.
func (h *Handler) requestBucket(rq *request) (*meta.Bucket, error) {
	if rq.bucketMeta != nil && rq.bucketMeta.Name == rq.bucket {
		return rq.bucketMeta, nil
	}
	b, err := h.store.Bucket(rq.ctx(), rq.bucket)
	if err != nil {
		return nil, err
	}
	rq.bucketMeta = b
	return b, nil
}

// newBucketOptions sets up a bucket CreateBucket creates: its ACL, its
// Object Ownership (the header's, else the node's default) and, on a node
// with AWS's defaults, a Block Public Access configuration that blocks
// everything.
func (h *Handler) newBucketOptions(rq *request) ([]objstore.BucketOption, error) {
	spec, err := h.aclHeaders(rq)
	if err != nil {
		return nil, err
	}
	ownership := rq.r.Header.Get("x-amz-object-ownership")
	switch ownership {
	case "":
		if !h.legacyDefaults {
			ownership = ownershipEnforced
		}
	case ownershipEnforced, ownershipPreferred, ownershipWriter:
	default:
		e := errorf("InvalidArgument", "Invalid x-amz-object-ownership header: "+ownership)
		e.extra = [][2]string{{"ArgumentName", "x-amz-object-ownership"}}
		return nil, e
	}
	owner := rq.principal.ID
	if ownership == ownershipEnforced && spec.grantsOthers(owner) {
		return nil, errorf("InvalidBucketAclWithObjectOwnership", "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting")
	}
	blockAll := !h.legacyDefaults
	if blockAll && spec.public(owner, owner, true) {
		return nil, errorf("InvalidBucketAclWithBlockPublicAccessError", "Bucket cannot have public ACLs set with BlockPublicAccess enabled")
	}
	acl := spec.acl(owner, owner, true)
	return []objstore.BucketOption{func(b *meta.Bucket) error {
		b.ACL = acl
		if ownership != "" {
			setConfig(b, configOwnership, []byte(ownership))
		}
		if blockAll {
			raw, err := encodePublicAccessBlock(publicAccessBlock{true, true, true, true})
			if err != nil {
				return err
			}
			setConfig(b, configPublicAccessBlock, raw)
		}
		return nil
	}}, nil
}

// The AccessControlPolicy document S3 answers with.
type accessControlPolicy struct {
	XMLName xml.Name `xml:"AccessControlPolicy"`
	NS      string   `xml:"xmlns,attr"`
	Owner   owner    `xml:"Owner"`
	List    aclList  `xml:"AccessControlList"`
}

type aclList struct {
	Grants []grant `xml:"Grant"`
}

type grant struct {
	Grantee    grantee `xml:"Grantee"`
	Permission string  `xml:"Permission"`
}

type grantee struct {
	XMLNSXSI    string `xml:"xmlns:xsi,attr"`
	Type        string `xml:"xsi:type,attr"`
	ID          string `xml:"ID,omitempty"`
	DisplayName string `xml:"DisplayName,omitempty"`
	URI         string `xml:"URI,omitempty"`
}

// nameCache maps canonical user IDs to the display names S3 reports.
// A canonical ID derives from a user's unique ID, so its name never
// changes; IDs nobody has (deleted users) are remembered as "".
type nameCache struct {
	m sync.Map // canonical ID → display name
}

// displayName returns the display name of a canonical user ID, "" if it
// is nobody's.
func (h *Handler) displayName(id string) string {
	if v, ok := h.names.m.Load(id); ok {
		return v.(string)
	}
	names, err := h.iam.CanonicalNames(context.Background())
	if err != nil {
		return ""
	}
	for k, v := range names {
		h.names.m.Store(k, v)
	}
	name := names[id]
	h.names.m.Store(id, name)
	return name
}

// aclDocument renders an ACL (nil: the default) of a resource owned by
// ownerID.
func (h *Handler) aclDocument(ownerID string, a *meta.ACL) *accessControlPolicy {
	names := h.displayName
	doc := &accessControlPolicy{NS: s3NS, Owner: owner{ID: ownerID, DisplayName: names(ownerID)}, List: aclList{Grants: []grant{}}}
	grants := []meta.Grant{{ID: ownerID, Permission: permFullControl}}
	if a != nil {
		grants = a.Grants
	}
	for _, g := range grants {
		ge := grantee{XMLNSXSI: xsiNS, Type: "CanonicalUser", ID: g.ID, DisplayName: names(g.ID)}
		if g.URI != "" {
			ge = grantee{XMLNSXSI: xsiNS, Type: "Group", URI: g.URI}
		}
		doc.List.Grants = append(doc.List.Grants, grant{Grantee: ge, Permission: g.Permission})
	}
	return doc
}

func (h *Handler) getBucketACL(rq *request) error {
	b, err := h.requestBucket(rq)
	if err != nil {
		return err
	}
	a := b.ACL
	if ownershipOf(b) == ownershipEnforced {
		a = nil
	}
	writeXML(rq, http.StatusOK, h.aclDocument(b.Owner, a))
	return nil
}

func (h *Handler) putBucketACL(rq *request) error {
	b, err := h.requestBucket(rq)
	if err != nil {
		return err
	}
	spec, err := h.aclRequest(rq, ownershipOf(b) == ownershipEnforced)
	if err != nil {
		return err
	}
	err = h.store.UpdateBucket(rq.ctx(), rq.bucket, func(b *meta.Bucket) error {
		if spec.docOwner != "" && spec.docOwner != b.Owner {
			return errorf("AccessDenied", "Access Denied")
		}
		if ownershipOf(b) == ownershipEnforced && !spec.ownerOnly(b.Owner) {
			return errACLNotSupported()
		}
		a := spec.acl(b.Owner, b.Owner, true)
		if isPublicACL(a) && publicAccessBlockOf(b).BlockPublicAcls {
			return errorf("AccessDenied", "Access Denied")
		}
		b.ACL = a
		return nil
	})
	if err != nil {
		return err
	}
	return rq.ok()
}

// objectOwner is the owner S3 reports for an object version: the bucket
// owner when the bucket enforces bucket ownership, else the writer.
func objectOwner(b *meta.Bucket, v *meta.Version) string {
	if ownershipOf(b) == ownershipEnforced || v.Owner == "" {
		return b.Owner
	}
	return v.Owner
}

func (h *Handler) getObjectACL(rq *request) error {
	b, err := h.requestBucket(rq)
	if err != nil {
		return err
	}
	v, err := h.store.ObjectVersion(rq.ctx(), rq.bucket, rq.key, rq.query.Get("versionId"))
	if err != nil {
		return err
	}
	a := v.ACL
	if ownershipOf(b) == ownershipEnforced {
		a = nil
	}
	setVersionHeader(rq.w.Header(), v.VersionID)
	writeXML(rq, http.StatusOK, h.aclDocument(objectOwner(b, v), a))
	return nil
}

func (h *Handler) putObjectACL(rq *request) error {
	b, err := h.requestBucket(rq)
	if err != nil {
		return err
	}
	enforced := ownershipOf(b) == ownershipEnforced
	spec, err := h.aclRequest(rq, enforced)
	if err != nil {
		return err
	}
	if enforced && !spec.ownerOnly(b.Owner) {
		return errACLNotSupported()
	}
	blockPublic := publicAccessBlockOf(b).BlockPublicAcls
	v, err := h.store.UpdateObjectVersion(rq.ctx(), rq.bucket, rq.key, rq.query.Get("versionId"), h.origin(rq), func(v *meta.Version) error {
		owner := objectOwner(b, v)
		if spec.docOwner != "" && spec.docOwner != owner {
			return errorf("AccessDenied", "Access Denied")
		}
		if enforced {
			v.ACL = nil
			return nil
		}
		a := spec.acl(owner, b.Owner, false)
		if isPublicACL(a) && blockPublic {
			return errorf("AccessDenied", "Access Denied")
		}
		v.ACL = a
		return nil
	})
	if err != nil {
		return err
	}
	setVersionHeader(rq.w.Header(), v.VersionID)
	return rq.ok()
}
