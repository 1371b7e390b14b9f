package e2e

import (
	"bytes"
	"context"
	"encoding/xml"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/sluicehq/sluice/internal/server"
	"github.com/sluicehq/sluice/internal/server/servertest"
)

// Group grantee URIs.
const (
	allUsersURI    = "http://acs.amazonaws.com/groups/global/AllUsers"
	authUsersURI   = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
	logDeliveryURI = "http://acs.amazonaws.com/groups/s3/LogDelivery"
)

// authEnv is a node with the root, two IAM users (alice and bob) and
// anonymous access (plain net/http), for authorization tests.
type authEnv struct {
	*env
	alice, bob     *s3.Client
	rootID         string
	aliceID, bobID string
}

func startAuth(t *testing.T, opts ...servertest.Options) *authEnv {
	t.Helper()
	e := start(t, opts...)
	ic := iam.NewFromConfig(e.n.AWSConfig())
	_, alice := newUser(t, e.n, ic, "alice")
	_, bob := newUser(t, e.n, ic, "bob")
	a := &authEnv{env: e, alice: alice, bob: bob}
	a.rootID = canonicalID(t, e.c)
	a.aliceID = canonicalID(t, alice)
	a.bobID = canonicalID(t, bob)
	return a
}

// legacyNode configures a node with S3's pre-2023 bucket defaults.
var legacyNode = servertest.Options{Configure: func(c *server.Config) { c.LegacyBucketDefaults = true }}

func canonicalID(t *testing.T, c *s3.Client) string {
	t.Helper()
	out, err := c.ListBuckets(context.Background(), &s3.ListBucketsInput{})
	if err != nil {
		t.Fatalf("ListBuckets: %v", err)
	}
	return aws.ToString(out.Owner.ID)
}

// aclBucket creates a bucket with ACLs enabled (ObjectWriter) and no Block
// Public Access, as an application must on S3 today before using ACLs.
func (a *authEnv) aclBucket(c *s3.Client, name string) string {
	a.t.Helper()
	if _, err := c.CreateBucket(a.ctx, &s3.CreateBucketInput{Bucket: aws.String(name), ObjectOwnership: types.ObjectOwnershipObjectWriter}); err != nil {
		a.t.Fatalf("CreateBucket %s: %v", name, err)
	}
	if _, err := c.DeletePublicAccessBlock(a.ctx, &s3.DeletePublicAccessBlockInput{Bucket: aws.String(name)}); err != nil {
		a.t.Fatalf("DeletePublicAccessBlock %s: %v", name, err)
	}
	return name
}

// anon sends an unsigned request; path starts with "/bucket".
func (a *authEnv) anon(method, path string, body []byte) (*http.Response, []byte) {
	a.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	return rawDo(a.t, newRequest(a.t, method, a.n.Endpoint+path, rd))
}

// anonStatus is the status of an unsigned request.
func (a *authEnv) anonStatus(method, path string, body []byte) int {
	a.t.Helper()
	resp, _ := a.anon(method, path, body)
	return resp.StatusCode
}

// can reports whether a call succeeds; an error other than AccessDenied
// fails the test.
func can(t *testing.T, what string, err error) bool {
	t.Helper()
	if err == nil {
		return true
	}
	if statusOf(err) != http.StatusForbidden {
		t.Fatalf("%s: %v, want success or 403", what, err)
	}
	return false
}

// grantStr is a grant as "PERMISSION grantee" for comparisons: the
// grantee is its ID, or its URI for groups.
func grantStrs(grants []types.Grant) []string {
	var out []string
	for _, g := range grants {
		who := aws.ToString(g.Grantee.ID)
		if g.Grantee.Type == types.TypeGroup {
			who = aws.ToString(g.Grantee.URI)
		}
		out = append(out, string(g.Permission)+" "+who)
	}
	return out
}

func TestBucketDefaults(t *testing.T) {
	t.Parallel()
	t.Run("AWS", func(t *testing.T) {
		t.Parallel()
		a := startAuth(t)
		b := a.bucket("defaults")
		oc, err := a.c.GetBucketOwnershipControls(a.ctx, &s3.GetBucketOwnershipControlsInput{Bucket: aws.String(b)})
		if err != nil {
			t.Fatal(err)
		}
		if got := oc.OwnershipControls.Rules[0].ObjectOwnership; got != types.ObjectOwnershipBucketOwnerEnforced {
			t.Errorf("ObjectOwnership = %s", got)
		}
		pab, err := a.c.GetPublicAccessBlock(a.ctx, &s3.GetPublicAccessBlockInput{Bucket: aws.String(b)})
		if err != nil {
			t.Fatal(err)
		}
		if c := pab.PublicAccessBlockConfiguration; !aws.ToBool(c.BlockPublicAcls) || !aws.ToBool(c.IgnorePublicAcls) ||
			!aws.ToBool(c.BlockPublicPolicy) || !aws.ToBool(c.RestrictPublicBuckets) {
			t.Errorf("PublicAccessBlockConfiguration = %+v, want all true", c)
		}
		acl, err := a.c.GetBucketAcl(a.ctx, &s3.GetBucketAclInput{Bucket: aws.String(b)})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := grantStrs(acl.Grants), []string{"FULL_CONTROL " + a.rootID}; !slices.Equal(got, want) {
			t.Errorf("grants = %q, want %q", got, want)
		}
		if aws.ToString(acl.Owner.ID) != a.rootID || aws.ToString(acl.Owner.DisplayName) != "sluice" {
			t.Errorf("Owner = %s/%s", aws.ToString(acl.Owner.ID), aws.ToString(acl.Owner.DisplayName))
		}

		// ACLs are disabled: only bucket-owner-full-control (or none) is
		// accepted.
		_, err = a.c.PutObject(a.ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("k"), ACL: types.ObjectCannedACLPublicRead})
		wantErr(t, err, "AccessControlListNotSupported", http.StatusBadRequest)
		_, err = a.c.PutObject(a.ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("k"), ACL: types.ObjectCannedACLPrivate})
		wantErr(t, err, "AccessControlListNotSupported", http.StatusBadRequest)
		a.put(b, "k", []byte("x"), func(in *s3.PutObjectInput) { in.ACL = types.ObjectCannedACLBucketOwnerFullControl })
		_, err = a.c.PutBucketAcl(a.ctx, &s3.PutBucketAclInput{Bucket: aws.String(b), ACL: types.BucketCannedACLPublicRead})
		wantErr(t, err, "AccessControlListNotSupported", http.StatusBadRequest)
		_, err = a.c.PutObjectAcl(a.ctx, &s3.PutObjectAclInput{Bucket: aws.String(b), Key: aws.String("k"), ACL: types.ObjectCannedACLPublicRead})
		wantErr(t, err, "AccessControlListNotSupported", http.StatusBadRequest)

		// CreateBucket with ACLs.
		_, err = a.c.CreateBucket(a.ctx, &s3.CreateBucketInput{Bucket: aws.String("pub"), ACL: types.BucketCannedACLPublicRead})
		wantErr(t, err, "InvalidBucketAclWithObjectOwnership", http.StatusBadRequest)
		_, err = a.c.CreateBucket(a.ctx, &s3.CreateBucketInput{Bucket: aws.String("pub"), ACL: types.BucketCannedACLPublicRead,
			ObjectOwnership: types.ObjectOwnershipObjectWriter})
		wantErr(t, err, "InvalidBucketAclWithBlockPublicAccessError", http.StatusBadRequest)
		_, err = a.c.CreateBucket(a.ctx, &s3.CreateBucketInput{Bucket: aws.String("pub"), ObjectOwnership: "Everyone"})
		wantErr(t, err, "InvalidArgument", http.StatusBadRequest)
		if _, err := a.c.CreateBucket(a.ctx, &s3.CreateBucketInput{Bucket: aws.String("priv"), ACL: types.BucketCannedACLPrivate}); err != nil {
			t.Errorf("CreateBucket ACL=private: %v", err)
		}
		// Nobody else gets in.
		if a.anonStatus(http.MethodGet, "/"+b+"/k", nil) != http.StatusForbidden {
			t.Error("anonymous GET allowed")
		}
		_, err = a.alice.GetObject(a.ctx, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("k")})
		wantErr(t, err, "AccessDenied", http.StatusForbidden)
	})
	t.Run("Legacy", func(t *testing.T) {
		t.Parallel()
		a := startAuth(t, legacyNode)
		b := a.bucket("defaults")
		_, err := a.c.GetBucketOwnershipControls(a.ctx, &s3.GetBucketOwnershipControlsInput{Bucket: aws.String(b)})
		wantErr(t, err, "OwnershipControlsNotFoundError", http.StatusNotFound)
		_, err = a.c.GetPublicAccessBlock(a.ctx, &s3.GetPublicAccessBlockInput{Bucket: aws.String(b)})
		wantErr(t, err, "NoSuchPublicAccessBlockConfiguration", http.StatusNotFound)
		if _, err := a.c.CreateBucket(a.ctx, &s3.CreateBucketInput{Bucket: aws.String("pub"), ACL: types.BucketCannedACLPublicRead}); err != nil {
			t.Fatalf("CreateBucket ACL=public-read: %v", err)
		}
		if got := a.anonStatus(http.MethodGet, "/pub", nil); got != http.StatusOK {
			t.Errorf("anonymous list of a public-read bucket: %d", got)
		}
	})
}

func TestCannedACLs(t *testing.T) {
	t.Parallel()
	a := startAuth(t)
	ctx := a.ctx
	for _, tc := range []struct {
		acl    types.BucketCannedACL
		grants func(owner string) []string
		// anonList, aliceList, anonPut, alicePut: what the ACL lets
		// anonymous requests and another user do.
		anonList, aliceList, anonPut, alicePut bool
	}{
		{types.BucketCannedACLPrivate, func(o string) []string { return []string{"FULL_CONTROL " + o} }, false, false, false, false},
		{types.BucketCannedACLPublicRead, func(o string) []string { return []string{"READ " + allUsersURI, "FULL_CONTROL " + o} }, true, true, false, false},
		{types.BucketCannedACLPublicReadWrite, func(o string) []string {
			return []string{"READ " + allUsersURI, "WRITE " + allUsersURI, "FULL_CONTROL " + o}
		}, true, true, true, true},
		{types.BucketCannedACLAuthenticatedRead, func(o string) []string { return []string{"READ " + authUsersURI, "FULL_CONTROL " + o} }, false, true, false, false},
		{"log-delivery-write", func(o string) []string {
			return []string{"WRITE " + logDeliveryURI, "READ_ACP " + logDeliveryURI, "FULL_CONTROL " + o}
		}, false, false, false, false},
	} {
		t.Run("Bucket/"+string(tc.acl), func(t *testing.T) {
			b := a.aclBucket(a.c, "bucket-"+string(tc.acl))
			if _, err := a.c.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: aws.String(b), ACL: tc.acl}); err != nil {
				t.Fatal(err)
			}
			out, err := a.c.GetBucketAcl(ctx, &s3.GetBucketAclInput{Bucket: aws.String(b)})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := grantStrs(out.Grants), tc.grants(a.rootID); !slices.Equal(got, want) {
				t.Errorf("grants = %q, want %q", got, want)
			}
			if got := a.anonStatus(http.MethodGet, "/"+b, nil) == http.StatusOK; got != tc.anonList {
				t.Errorf("anonymous list = %v, want %v", got, tc.anonList)
			}
			_, err = a.alice.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(b)})
			if got := can(t, "alice ListObjectsV2", err); got != tc.aliceList {
				t.Errorf("alice list = %v, want %v", got, tc.aliceList)
			}
			if got := a.anonStatus(http.MethodPut, "/"+b+"/anon", []byte("a")) == http.StatusOK; got != tc.anonPut {
				t.Errorf("anonymous put = %v, want %v", got, tc.anonPut)
			}
			_, err = a.alice.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("alice"), Body: strings.NewReader("a")})
			if got := can(t, "alice PutObject", err); got != tc.alicePut {
				t.Errorf("alice put = %v, want %v", got, tc.alicePut)
			}
			// The bucket's ACL never lets others read its ACL or the
			// objects themselves.
			_, err = a.alice.GetBucketAcl(ctx, &s3.GetBucketAclInput{Bucket: aws.String(b)})
			wantErr(t, err, "AccessDenied", http.StatusForbidden)
		})
	}

	t.Run("AnonymousWriterOwnsObject", func(t *testing.T) {
		b := a.aclBucket(a.c, "anon-owner")
		if _, err := a.c.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: aws.String(b), ACL: types.BucketCannedACLPublicReadWrite}); err != nil {
			t.Fatal(err)
		}
		if s := a.anonStatus(http.MethodPut, "/"+b+"/anon", []byte("a")); s != http.StatusOK {
			t.Fatalf("anonymous PUT: %d", s)
		}
		out, err := a.c.ListObjects(ctx, &s3.ListObjectsInput{Bucket: aws.String(b)})
		if err != nil {
			t.Fatal(err)
		}
		if o := out.Contents[0].Owner; aws.ToString(o.ID) != "65a011a29cdf8ec533ec3d1ccaae921c" || aws.ToString(o.DisplayName) != "anonymous" {
			t.Errorf("owner = %s/%s", aws.ToString(o.ID), aws.ToString(o.DisplayName))
		}
	})

	objectCases := []struct {
		acl         types.ObjectCannedACL
		anonGet     bool
		aliceGet    bool
		bucketOwner string // "read", "full" or "": what the bucket owner (bob) gets
	}{
		{types.ObjectCannedACLPrivate, false, false, ""},
		{types.ObjectCannedACLPublicRead, true, true, ""},
		{types.ObjectCannedACLPublicReadWrite, true, true, ""},
		{types.ObjectCannedACLAuthenticatedRead, false, true, ""},
		{types.ObjectCannedACLAwsExecRead, false, false, ""},
		{types.ObjectCannedACLBucketOwnerRead, false, false, "READ"},
		{types.ObjectCannedACLBucketOwnerFullControl, false, false, "FULL_CONTROL"},
	}
	// bob owns a bucket alice may write into; alice's objects carry ACLs.
	b := a.aclBucket(a.bob, "bobs")
	if _, err := a.bob.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: aws.String(b), GrantWrite: aws.String("id=" + a.aliceID)}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range objectCases {
		t.Run("Object/"+string(tc.acl), func(t *testing.T) {
			key := "obj-" + string(tc.acl)
			if _, err := a.alice.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String(key), Body: strings.NewReader("data"), ACL: tc.acl}); err != nil {
				t.Fatal(err)
			}
			out, err := a.alice.GetObjectAcl(ctx, &s3.GetObjectAclInput{Bucket: aws.String(b), Key: aws.String(key)})
			if err != nil {
				t.Fatal(err)
			}
			if aws.ToString(out.Owner.ID) != a.aliceID || aws.ToString(out.Owner.DisplayName) != "alice" {
				t.Errorf("Owner = %s/%s", aws.ToString(out.Owner.ID), aws.ToString(out.Owner.DisplayName))
			}
			got := grantStrs(out.Grants)
			if !slices.Contains(got, "FULL_CONTROL "+a.aliceID) {
				t.Errorf("grants %q lack the owner's", got)
			}
			if tc.bucketOwner != "" && !slices.Contains(got, tc.bucketOwner+" "+a.bobID) {
				t.Errorf("grants %q lack %s for the bucket owner", got, tc.bucketOwner)
			}
			if got := a.anonStatus(http.MethodGet, "/"+b+"/"+key, nil) == http.StatusOK; got != tc.anonGet {
				t.Errorf("anonymous get = %v, want %v", got, tc.anonGet)
			}
			// The root may do anything; bob, the bucket owner, reads only
			// what the object's ACL grants him.
			_, err = a.bob.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String(key)})
			if got, want := can(t, "bob GetObject", err), tc.bucketOwner != "" || tc.aliceGet; got != want {
				t.Errorf("bucket owner get = %v, want %v", got, want)
			}
			_, err = a.bob.GetObjectAcl(ctx, &s3.GetObjectAclInput{Bucket: aws.String(b), Key: aws.String(key)})
			if got, want := can(t, "bob GetObjectAcl", err), tc.bucketOwner == "FULL_CONTROL"; got != want {
				t.Errorf("bucket owner get ACL = %v, want %v", got, want)
			}
			if _, err := a.c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String(key)}); err != nil {
				t.Errorf("root GetObject: %v", err)
			}
		})
	}
}

func TestACLGrants(t *testing.T) {
	t.Parallel()
	a := startAuth(t)
	ctx := a.ctx
	type access struct{ read, readACP, write, writeACP bool }
	check := func(t *testing.T, b string, want access) {
		t.Helper()
		_, err := a.alice.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(b)})
		if got := can(t, "HeadBucket", err); got != want.read {
			t.Errorf("read = %v, want %v", got, want.read)
		}
		_, err = a.alice.GetBucketAcl(ctx, &s3.GetBucketAclInput{Bucket: aws.String(b)})
		if got := can(t, "GetBucketAcl", err); got != want.readACP {
			t.Errorf("read ACP = %v, want %v", got, want.readACP)
		}
		_, err = a.alice.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("alice"), Body: strings.NewReader("a")})
		if got := can(t, "PutObject", err); got != want.write {
			t.Errorf("write = %v, want %v", got, want.write)
		}
		if want.write {
			_, err = a.alice.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String("alice")})
			if !can(t, "DeleteObject", err) {
				t.Error("WRITE does not allow DeleteObject")
			}
		}
		_, err = a.alice.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: aws.String(b), GrantFullControl: aws.String("id=" + a.rootID)})
		if got := can(t, "PutBucketAcl", err); got != want.writeACP {
			t.Errorf("write ACP = %v, want %v", got, want.writeACP)
		}
	}
	for _, tc := range []struct {
		perm types.Permission
		want access
	}{
		{types.PermissionRead, access{read: true}},
		{types.PermissionReadAcp, access{readACP: true}},
		{types.PermissionWrite, access{write: true}},
		{types.PermissionWriteAcp, access{writeACP: true}},
		{types.PermissionFullControl, access{true, true, true, true}},
	} {
		t.Run("Document/"+string(tc.perm), func(t *testing.T) {
			b := a.aclBucket(a.c, "doc-"+strings.ToLower(strings.ReplaceAll(string(tc.perm), "_", "-")))
			_, err := a.c.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: aws.String(b), AccessControlPolicy: &types.AccessControlPolicy{
				Owner: &types.Owner{ID: aws.String(a.rootID)},
				Grants: []types.Grant{
					{Grantee: &types.Grantee{Type: types.TypeCanonicalUser, ID: aws.String(a.rootID)}, Permission: types.PermissionFullControl},
					{Grantee: &types.Grantee{Type: types.TypeCanonicalUser, ID: aws.String(a.aliceID)}, Permission: tc.perm},
				},
			}})
			if err != nil {
				t.Fatal(err)
			}
			out, err := a.c.GetBucketAcl(ctx, &s3.GetBucketAclInput{Bucket: aws.String(b)})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := grantStrs(out.Grants), []string{"FULL_CONTROL " + a.rootID, string(tc.perm) + " " + a.aliceID}; !slices.Equal(got, want) {
				t.Errorf("grants = %q, want %q", got, want)
			}
			if dn := aws.ToString(out.Grants[1].Grantee.DisplayName); dn != "alice" {
				t.Errorf("grantee DisplayName = %q, want alice", dn)
			}
			check(t, b, tc.want)
			// bob gets nothing.
			_, err = a.bob.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(b)})
			wantS3Error(t, "HeadBucket", err, "AccessDenied", http.StatusForbidden)
		})
	}

	t.Run("Headers", func(t *testing.T) {
		b := a.aclBucket(a.c, "headers")
		_, err := a.c.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: aws.String(b),
			GrantRead:        aws.String(`id="` + a.aliceID + `", uri="` + authUsersURI + `"`),
			GrantFullControl: aws.String("id=" + a.rootID)})
		if err != nil {
			t.Fatal(err)
		}
		out, err := a.c.GetBucketAcl(ctx, &s3.GetBucketAclInput{Bucket: aws.String(b)})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := grantStrs(out.Grants), []string{"READ " + authUsersURI, "READ " + a.aliceID, "FULL_CONTROL " + a.rootID}; !slices.Equal(got, want) {
			t.Errorf("grants = %q, want %q", got, want)
		}
		// bob is an authenticated user.
		if _, err := a.bob.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(b)}); err != nil {
			t.Errorf("bob (AuthenticatedUsers) list: %v", err)
		}
		if a.anonStatus(http.MethodGet, "/"+b, nil) != http.StatusForbidden {
			t.Error("anonymous list allowed by AuthenticatedUsers")
		}
	})

	t.Run("RevokeAll", func(t *testing.T) {
		b := a.aclBucket(a.c, "revoke")
		_, err := a.c.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: aws.String(b), AccessControlPolicy: &types.AccessControlPolicy{
			Owner: &types.Owner{ID: aws.String(a.rootID)}, Grants: []types.Grant{}}})
		if err != nil {
			t.Fatal(err)
		}
		out, err := a.c.GetBucketAcl(ctx, &s3.GetBucketAclInput{Bucket: aws.String(b)})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Grants) != 0 {
			t.Errorf("grants = %q, want none", grantStrs(out.Grants))
		}
	})

	t.Run("Errors", func(t *testing.T) {
		b := a.aclBucket(a.c, "errors")
		for _, tc := range []struct {
			name   string
			in     *s3.PutBucketAclInput
			code   string
			status int
		}{
			{"UnknownID", &s3.PutBucketAclInput{GrantRead: aws.String("id=" + strings.Repeat("0", 64))}, "InvalidArgument", 400},
			{"NotAnID", &s3.PutBucketAclInput{AccessControlPolicy: &types.AccessControlPolicy{Owner: &types.Owner{ID: aws.String(a.rootID)},
				Grants: []types.Grant{{Grantee: &types.Grantee{Type: types.TypeCanonicalUser, ID: aws.String("_foo")}, Permission: types.PermissionRead}}}}, "InvalidArgument", 400},
			{"UnknownGroup", &s3.PutBucketAclInput{GrantRead: aws.String(`uri="http://acs.amazonaws.com/groups/global/Friends"`)}, "InvalidArgument", 400},
			{"Email", &s3.PutBucketAclInput{GrantRead: aws.String(`emailAddress="alice@example.com"`)}, "MethodNotAllowed", 405},
			{"BadHeader", &s3.PutBucketAclInput{GrantRead: aws.String("alice")}, "InvalidArgument", 400},
			{"CannedAndGrants", &s3.PutBucketAclInput{ACL: types.BucketCannedACLPrivate, GrantRead: aws.String("id=" + a.aliceID)}, "InvalidRequest", 400},
			{"GrantsAndDocument", &s3.PutBucketAclInput{GrantRead: aws.String("id=" + a.aliceID), AccessControlPolicy: &types.AccessControlPolicy{
				Owner: &types.Owner{ID: aws.String(a.rootID)}}}, "UnexpectedContent", 400},
			{"Nothing", &s3.PutBucketAclInput{}, "MissingSecurityHeader", 400},
			{"NoOwner", &s3.PutBucketAclInput{AccessControlPolicy: &types.AccessControlPolicy{}}, "MalformedACLError", 400},
			{"BadPermission", &s3.PutBucketAclInput{AccessControlPolicy: &types.AccessControlPolicy{Owner: &types.Owner{ID: aws.String(a.rootID)},
				Grants: []types.Grant{{Grantee: &types.Grantee{Type: types.TypeCanonicalUser, ID: aws.String(a.aliceID)}, Permission: "ALL"}}}}, "MalformedACLError", 400},
			{"OtherOwner", &s3.PutBucketAclInput{AccessControlPolicy: &types.AccessControlPolicy{Owner: &types.Owner{ID: aws.String(a.aliceID)}}}, "AccessDenied", 403},
		} {
			t.Run(tc.name, func(t *testing.T) {
				tc.in.Bucket = aws.String(b)
				_, err := a.c.PutBucketAcl(ctx, tc.in)
				wantErr(t, err, tc.code, tc.status)
			})
		}
	})

	t.Run("ObjectVersions", func(t *testing.T) {
		b := a.aclBucket(a.c, "versions")
		a.setVersioning(b, types.BucketVersioningStatusEnabled)
		v1 := a.put(b, "k", []byte("one")).VersionId
		a.put(b, "k", []byte("two"))
		if _, err := a.c.PutObjectAcl(ctx, &s3.PutObjectAclInput{Bucket: aws.String(b), Key: aws.String("k"), VersionId: v1,
			GrantRead: aws.String("id=" + a.aliceID)}); err != nil {
			t.Fatal(err)
		}
		out, err := a.c.GetObjectAcl(ctx, &s3.GetObjectAclInput{Bucket: aws.String(b), Key: aws.String("k"), VersionId: v1})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := grantStrs(out.Grants), []string{"READ " + a.aliceID}; !slices.Equal(got, want) {
			t.Errorf("version grants = %q, want %q", got, want)
		}
		latest, err := a.c.GetObjectAcl(ctx, &s3.GetObjectAclInput{Bucket: aws.String(b), Key: aws.String("k")})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := grantStrs(latest.Grants), []string{"FULL_CONTROL " + a.rootID}; !slices.Equal(got, want) {
			t.Errorf("latest grants = %q, want %q", got, want)
		}
		// alice may read the granted version only, and only by its ID.
		if _, err := a.alice.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("k"), VersionId: v1}); err != nil {
			t.Errorf("alice GetObject of the granted version: %v", err)
		}
		_, err = a.alice.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("k")})
		wantErr(t, err, "AccessDenied", http.StatusForbidden)
		// The owner keeps READ_ACP and WRITE_ACP without a grant.
		if _, err := a.c.PutObjectAcl(ctx, &s3.PutObjectAclInput{Bucket: aws.String(b), Key: aws.String("k"), VersionId: v1, ACL: types.ObjectCannedACLPrivate}); err != nil {
			t.Errorf("PutObjectAcl private: %v", err)
		}
	})

	t.Run("CopyAndMultipart", func(t *testing.T) {
		b := a.aclBucket(a.c, "copies")
		a.put(b, "src", []byte("source"))
		if _, err := a.c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String("dst"),
			CopySource: aws.String(b + "/src"), ACL: types.ObjectCannedACLPublicRead}); err != nil {
			t.Fatal(err)
		}
		if s := a.anonStatus(http.MethodGet, "/"+b+"/dst", nil); s != http.StatusOK {
			t.Errorf("anonymous GET of a public-read copy: %d", s)
		}
		if s := a.anonStatus(http.MethodGet, "/"+b+"/src", nil); s != http.StatusForbidden {
			t.Errorf("anonymous GET of the private source: %d", s)
		}
		up, err := a.c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("mp"),
			ACL: types.ObjectCannedACLPublicRead})
		if err != nil {
			t.Fatal(err)
		}
		part, err := a.c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(b), Key: aws.String("mp"), UploadId: up.UploadId,
			PartNumber: aws.Int32(1), Body: strings.NewReader("part")})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("mp"),
			UploadId: up.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: part.ETag}}}}); err != nil {
			t.Fatal(err)
		}
		if s := a.anonStatus(http.MethodGet, "/"+b+"/mp", nil); s != http.StatusOK {
			t.Errorf("anonymous GET of a public-read multipart object: %d", s)
		}
	})

	t.Run("AnonymousMissingObject", func(t *testing.T) {
		b := a.aclBucket(a.c, "missing")
		if s := a.anonStatus(http.MethodGet, "/"+b+"/nope", nil); s != http.StatusForbidden {
			t.Errorf("private bucket: %d, want 403", s)
		}
		if _, err := a.c.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: aws.String(b), ACL: types.BucketCannedACLPublicRead}); err != nil {
			t.Fatal(err)
		}
		resp, body := a.anon(http.MethodGet, "/"+b+"/nope", nil)
		checkErrorDoc(t, resp, body, http.StatusNotFound, "NoSuchKey")
	})
}

// TestPublicAccessBlock checks the four settings of Block Public Access.
func TestPublicAccessBlock(t *testing.T) {
	t.Parallel()
	a := startAuth(t)
	ctx := a.ctx
	put := func(t *testing.T, b string, c types.PublicAccessBlockConfiguration) {
		t.Helper()
		if _, err := a.c.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: aws.String(b), PublicAccessBlockConfiguration: &c}); err != nil {
			t.Fatal(err)
		}
	}
	publicPolicy := func(b string) string {
		return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::` + b + `/*"}]}`
	}

	t.Run("GetPutDelete", func(t *testing.T) {
		b := a.aclBucket(a.c, "pab")
		_, err := a.c.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: aws.String(b)})
		wantErr(t, err, "NoSuchPublicAccessBlockConfiguration", http.StatusNotFound)
		put(t, b, types.PublicAccessBlockConfiguration{BlockPublicAcls: aws.Bool(true), BlockPublicPolicy: aws.Bool(true)})
		out, err := a.c.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: aws.String(b)})
		if err != nil {
			t.Fatal(err)
		}
		c := out.PublicAccessBlockConfiguration
		if !aws.ToBool(c.BlockPublicAcls) || aws.ToBool(c.IgnorePublicAcls) || !aws.ToBool(c.BlockPublicPolicy) || aws.ToBool(c.RestrictPublicBuckets) {
			t.Errorf("configuration = %+v", c)
		}
		// Another user cannot read or change it.
		_, err = a.alice.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: aws.String(b)})
		wantErr(t, err, "AccessDenied", http.StatusForbidden)
		if _, err := a.c.DeletePublicAccessBlock(ctx, &s3.DeletePublicAccessBlockInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
		_, err = a.c.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: aws.String(b)})
		wantErr(t, err, "NoSuchPublicAccessBlockConfiguration", http.StatusNotFound)
	})

	t.Run("BlockPublicAcls", func(t *testing.T) {
		b := a.aclBucket(a.c, "block-acls")
		put(t, b, types.PublicAccessBlockConfiguration{BlockPublicAcls: aws.Bool(true)})
		for _, acl := range []types.BucketCannedACL{types.BucketCannedACLPublicRead, types.BucketCannedACLPublicReadWrite, types.BucketCannedACLAuthenticatedRead} {
			_, err := a.c.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: aws.String(b), ACL: acl})
			wantErr(t, err, "AccessDenied", http.StatusForbidden)
		}
		_, err := a.c.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: aws.String(b), GrantRead: aws.String(`uri="` + allUsersURI + `"`)})
		wantErr(t, err, "AccessDenied", http.StatusForbidden)
		_, err = a.c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("k"), ACL: types.ObjectCannedACLPublicRead})
		wantErr(t, err, "AccessDenied", http.StatusForbidden)
		a.put(b, "k", []byte("x"), func(in *s3.PutObjectInput) { in.ACL = types.ObjectCannedACLPrivate })
		_, err = a.c.PutObjectAcl(ctx, &s3.PutObjectAclInput{Bucket: aws.String(b), Key: aws.String("k"), ACL: types.ObjectCannedACLAuthenticatedRead})
		wantErr(t, err, "AccessDenied", http.StatusForbidden)
		if _, err := a.c.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: aws.String(b), GrantRead: aws.String("id=" + a.aliceID)}); err != nil {
			t.Errorf("a grant to a user is not public: %v", err)
		}
	})

	t.Run("IgnorePublicAcls", func(t *testing.T) {
		b := a.aclBucket(a.c, "ignore-acls")
		if _, err := a.c.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: aws.String(b), ACL: types.BucketCannedACLPublicRead}); err != nil {
			t.Fatal(err)
		}
		a.put(b, "k", []byte("x"), func(in *s3.PutObjectInput) { in.ACL = types.ObjectCannedACLPublicRead })
		if a.anonStatus(http.MethodGet, "/"+b+"/k", nil) != http.StatusOK || a.anonStatus(http.MethodGet, "/"+b, nil) != http.StatusOK {
			t.Fatal("public-read not public")
		}
		put(t, b, types.PublicAccessBlockConfiguration{IgnorePublicAcls: aws.Bool(true)})
		if a.anonStatus(http.MethodGet, "/"+b+"/k", nil) != http.StatusForbidden || a.anonStatus(http.MethodGet, "/"+b, nil) != http.StatusForbidden {
			t.Error("public ACLs not ignored for anonymous requests")
		}
		_, err := a.alice.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(b)})
		wantErr(t, err, "AccessDenied", http.StatusForbidden)
	})

	t.Run("BlockPublicPolicy", func(t *testing.T) {
		b := a.aclBucket(a.c, "block-policy")
		put(t, b, types.PublicAccessBlockConfiguration{BlockPublicPolicy: aws.Bool(true)})
		_, err := a.c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(b), Policy: aws.String(publicPolicy(b))})
		wantErr(t, err, "AccessDenied", http.StatusForbidden)
		nonPublic := `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + servertest.AccountID + `:user/alice"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::` + b + `/*"}]}`
		if _, err := a.c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(b), Policy: aws.String(nonPublic)}); err != nil {
			t.Errorf("non-public policy: %v", err)
		}
	})

	t.Run("RestrictPublicBuckets", func(t *testing.T) {
		b := a.aclBucket(a.c, "restrict")
		a.put(b, "k", []byte("x"))
		if _, err := a.c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(b), Policy: aws.String(publicPolicy(b))}); err != nil {
			t.Fatal(err)
		}
		if a.anonStatus(http.MethodGet, "/"+b+"/k", nil) != http.StatusOK {
			t.Fatal("public policy not public")
		}
		put(t, b, types.PublicAccessBlockConfiguration{RestrictPublicBuckets: aws.Bool(true)})
		if a.anonStatus(http.MethodGet, "/"+b+"/k", nil) != http.StatusForbidden {
			t.Error("anonymous access through a public policy despite RestrictPublicBuckets")
		}
		// Principals of the account keep what the policy grants.
		if _, err := a.alice.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("k")}); err != nil {
			t.Errorf("alice: %v", err)
		}
	})
}

// TestObjectOwnership checks Object Ownership: who owns what is written
// into a bucket, and ACLs disabled under BucketOwnerEnforced.
func TestObjectOwnership(t *testing.T) {
	t.Parallel()
	a := startAuth(t)
	ctx := a.ctx
	// open lets everyone write through a bucket policy.
	open := func(t *testing.T, b string) {
		t.Helper()
		if _, err := a.c.DeletePublicAccessBlock(ctx, &s3.DeletePublicAccessBlockInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
		doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"*","Resource":["arn:aws:s3:::` + b + `","arn:aws:s3:::` + b + `/*"]}]}`
		if _, err := a.c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(b), Policy: aws.String(doc)}); err != nil {
			t.Fatal(err)
		}
	}
	ownerOf := func(t *testing.T, b, key string) string {
		t.Helper()
		out, err := a.alice.GetObjectAcl(ctx, &s3.GetObjectAclInput{Bucket: aws.String(b), Key: aws.String(key)})
		if err != nil {
			t.Fatalf("GetObjectAcl %s: %v", key, err)
		}
		return aws.ToString(out.Owner.ID)
	}
	for _, tc := range []struct {
		ownership types.ObjectOwnership
		// owners of objects alice writes without an ACL, with
		// bucket-owner-full-control, with private ("" if refused).
		none, full, private string
	}{
		{types.ObjectOwnershipBucketOwnerEnforced, "root", "root", ""},
		{types.ObjectOwnershipBucketOwnerPreferred, "alice", "root", "alice"},
		{types.ObjectOwnershipObjectWriter, "alice", "alice", "alice"},
	} {
		t.Run(string(tc.ownership), func(t *testing.T) {
			b := strings.ToLower(string(tc.ownership))
			if _, err := a.c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b), ObjectOwnership: tc.ownership}); err != nil {
				t.Fatal(err)
			}
			out, err := a.c.GetBucketOwnershipControls(ctx, &s3.GetBucketOwnershipControlsInput{Bucket: aws.String(b)})
			if err != nil {
				t.Fatal(err)
			}
			if got := out.OwnershipControls.Rules[0].ObjectOwnership; got != tc.ownership {
				t.Errorf("ObjectOwnership = %s", got)
			}
			open(t, b)
			id := map[string]string{"root": a.rootID, "alice": a.aliceID}
			for _, w := range []struct {
				key   string
				acl   types.ObjectCannedACL
				owner string
			}{{"none", "", tc.none}, {"full", types.ObjectCannedACLBucketOwnerFullControl, tc.full}, {"private", types.ObjectCannedACLPrivate, tc.private}} {
				_, err := a.alice.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String(w.key), Body: strings.NewReader("x"), ACL: w.acl})
				if w.owner == "" {
					wantErr(t, err, "AccessControlListNotSupported", http.StatusBadRequest)
					continue
				}
				if err != nil {
					t.Fatalf("PutObject %s: %v", w.key, err)
				}
				if got := ownerOf(t, b, w.key); got != id[w.owner] {
					t.Errorf("%s: owner = %s, want %s", w.key, got, w.owner)
				}
			}
			up, err := a.alice.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("mp")})
			if err != nil {
				t.Fatal(err)
			}
			parts, err := a.alice.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String(b), Key: aws.String("mp"), UploadId: up.UploadId})
			if err != nil {
				t.Fatal(err)
			}
			if got := aws.ToString(parts.Owner.ID); got != id[tc.none] {
				t.Errorf("upload owner = %s, want %s", got, tc.none)
			}
		})
	}

	t.Run("Controls", func(t *testing.T) {
		b := a.aclBucket(a.c, "controls")
		if _, err := a.c.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: aws.String(b), ACL: types.BucketCannedACLPublicRead}); err != nil {
			t.Fatal(err)
		}
		enforced := &types.OwnershipControls{Rules: []types.OwnershipControlsRule{{ObjectOwnership: types.ObjectOwnershipBucketOwnerEnforced}}}
		_, err := a.c.PutBucketOwnershipControls(ctx, &s3.PutBucketOwnershipControlsInput{Bucket: aws.String(b), OwnershipControls: enforced})
		wantErr(t, err, "InvalidBucketAclWithObjectOwnership", http.StatusBadRequest)
		if _, err := a.c.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: aws.String(b), ACL: types.BucketCannedACLPrivate}); err != nil {
			t.Fatal(err)
		}
		if _, err := a.c.PutBucketOwnershipControls(ctx, &s3.PutBucketOwnershipControlsInput{Bucket: aws.String(b), OwnershipControls: enforced}); err != nil {
			t.Fatal(err)
		}
		for _, bad := range []*types.OwnershipControls{
			{Rules: []types.OwnershipControlsRule{{ObjectOwnership: "Nobody"}}},
			{Rules: []types.OwnershipControlsRule{{ObjectOwnership: types.ObjectOwnershipObjectWriter}, {ObjectOwnership: types.ObjectOwnershipBucketOwnerPreferred}}},
		} {
			_, err := a.c.PutBucketOwnershipControls(ctx, &s3.PutBucketOwnershipControlsInput{Bucket: aws.String(b), OwnershipControls: bad})
			wantErr(t, err, "MalformedXML", http.StatusBadRequest)
		}
		for range 2 { // deleting what is not there succeeds
			if _, err := a.c.DeleteBucketOwnershipControls(ctx, &s3.DeleteBucketOwnershipControlsInput{Bucket: aws.String(b)}); err != nil {
				t.Fatal(err)
			}
		}
		_, err = a.c.GetBucketOwnershipControls(ctx, &s3.GetBucketOwnershipControlsInput{Bucket: aws.String(b)})
		wantErr(t, err, "OwnershipControlsNotFoundError", http.StatusNotFound)
		_, err = a.alice.PutBucketOwnershipControls(ctx, &s3.PutBucketOwnershipControlsInput{Bucket: aws.String(b), OwnershipControls: enforced})
		wantErr(t, err, "AccessDenied", http.StatusForbidden)
	})
}

// TestACLWireFormat checks the AccessControlPolicy document itself: the
// xsi:type attributes, group URIs and an empty AccessControlList.
func TestACLWireFormat(t *testing.T) {
	t.Parallel()
	a := startAuth(t, legacyNode)
	b := a.bucket("wire")
	if _, err := a.c.PutBucketAcl(a.ctx, &s3.PutBucketAclInput{Bucket: aws.String(b), ACL: types.BucketCannedACLPublicRead}); err != nil {
		t.Fatal(err)
	}
	resp, body := a.signedDo(http.MethodGet, "/"+b+"?acl")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET ?acl: %d %s", resp.StatusCode, body)
	}
	for _, want := range []string{
		`<Owner><ID>` + a.rootID + `</ID><DisplayName>sluice</DisplayName></Owner>`,
		`<Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Group"><URI>` + allUsersURI + `</URI></Grantee><Permission>READ</Permission>`,
		`<Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"><ID>` + a.rootID + `</ID><DisplayName>sluice</DisplayName></Grantee><Permission>FULL_CONTROL</Permission>`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("ACL document lacks %s:\n%s", want, body)
		}
	}
	var doc struct {
		XMLName xml.Name `xml:"AccessControlPolicy"`
	}
	if err := xml.Unmarshal(body, &doc); err != nil {
		t.Errorf("not XML: %v", err)
	}
}
