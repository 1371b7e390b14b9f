package e2e

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/sluicehq/sluice/internal/server/servertest"
)

// policyDoc builds a bucket policy from statements (JSON objects).
func policyDoc(statements ...string) string {
	return `{"Version":"2012-10-17","Statement":[` + strings.Join(statements, ",") + `]}`
}

func (a *authEnv) setPolicy(t *testing.T, c *s3.Client, bucket, doc string) {
	t.Helper()
	if _, err := c.PutBucketPolicy(a.ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(doc)}); err != nil {
		t.Fatalf("PutBucketPolicy: %v\n%s", err, doc)
	}
}

func userARN(name string) string { return "arn:aws:iam::" + servertest.AccountID + ":user/" + name }

func TestBucketPolicyDocument(t *testing.T) {
	t.Parallel()
	a := startAuth(t)
	ctx := a.ctx
	b := a.aclBucket(a.c, "doc")
	_, err := a.c.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(b)})
	wantErr(t, err, "NoSuchBucketPolicy", http.StatusNotFound)
	_, err = a.c.GetBucketPolicyStatus(ctx, &s3.GetBucketPolicyStatusInput{Bucket: aws.String(b)})
	wantErr(t, err, "NoSuchBucketPolicy", http.StatusNotFound)

	// The document is kept as it was sent.
	doc := "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [{\"Sid\": \"x\", \"Effect\": \"Allow\", \"Principal\": {\"AWS\": \"*\"}, " +
		"\"Action\": \"s3:ListBucket\", \"Resource\": [\"arn:aws:s3:::doc\", \"arn:aws:s3:::doc/*\"]}]\n}"
	a.setPolicy(t, a.c, b, doc)
	out, err := a.c.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(b)})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(out.Policy); got != doc {
		t.Errorf("policy = %q, want %q", got, doc)
	}
	st, err := a.c.GetBucketPolicyStatus(ctx, &s3.GetBucketPolicyStatusInput{Bucket: aws.String(b)})
	if err != nil {
		t.Fatal(err)
	}
	if !aws.ToBool(st.PolicyStatus.IsPublic) {
		t.Error("IsPublic = false for Principal *")
	}
	a.setPolicy(t, a.c, b, policyDoc(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::doc/*",
		"Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/32"}}}`))
	st, err = a.c.GetBucketPolicyStatus(ctx, &s3.GetBucketPolicyStatusInput{Bucket: aws.String(b)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToBool(st.PolicyStatus.IsPublic) {
		t.Error("IsPublic = true for a policy pinned to one address")
	}
	// Only the owner reads or changes the policy.
	_, err = a.alice.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(b)})
	wantErr(t, err, "AccessDenied", http.StatusForbidden)
	_, err = a.alice.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: aws.String(b)})
	wantErr(t, err, "AccessDenied", http.StatusForbidden)
	for range 2 { // deleting what is not there succeeds
		if _, err := a.c.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
	_, err = a.c.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(b)})
	wantErr(t, err, "NoSuchBucketPolicy", http.StatusNotFound)

	objects := `"Resource":"arn:aws:s3:::doc/*"`
	for _, tc := range []struct{ name, doc, message string }{
		{"NotJSON", `Statement`, "Policies must be valid JSON and the first byte must be '{'"},
		{"BadJSON", `{"Statement":[`, "This policy contains invalid Json"},
		{"NoStatement", `{"Version":"2012-10-17"}`, "Missing required field Statement"},
		{"Version", `{"Version":"2012-10-18","Statement":[]}`, "The policy must contain a valid version string"},
		{"NoPrincipal", policyDoc(`{"Effect":"Allow","Action":"s3:GetObject",` + objects + `}`), "Missing required field Principal"},
		{"UnknownUser", policyDoc(`{"Effect":"Allow","Principal":{"AWS":"` + userARN("carol") + `"},"Action":"s3:GetObject",` + objects + `}`), "Invalid principal in policy"},
		{"AccessKeyPrincipal", policyDoc(`{"Effect":"Allow","Principal":{"AWS":"AKIAEXAMPLEEXAMPLE12"},"Action":"s3:GetObject",` + objects + `}`), "Invalid principal in policy"},
		{"Action", policyDoc(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObjects",` + objects + `}`), "Policy has invalid action"},
		{"OtherBucket", policyDoc(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::other/*"}`), "Policy has invalid resource"},
		{"ActionResource", policyDoc(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::doc"}`), "Action does not apply to any resource(s) in statement"},
		{"Effect", policyDoc(`{"Effect":"Maybe","Principal":"*","Action":"s3:GetObject",` + objects + `}`), "Invalid effect: Maybe"},
		{"Operator", policyDoc(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject",` + objects + `,"Condition":{"StringIs":{"aws:username":"a"}}}`), "Invalid Condition type : StringIs"},
		{"ConditionKey", policyDoc(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject",` + objects + `,"Condition":{"StringEquals":{"s3:flavour":"a"}}}`), "Policy has an invalid condition key"},
	} {
		t.Run("Malformed/"+tc.name, func(t *testing.T) {
			_, err := a.c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(b), Policy: aws.String(tc.doc)})
			wantErr(t, err, "MalformedPolicy", http.StatusBadRequest)
			if err != nil && !strings.Contains(err.Error(), tc.message) {
				t.Errorf("error %v, want message %q", err, tc.message)
			}
		})
	}
}

func TestBucketPolicyPrincipals(t *testing.T) {
	t.Parallel()
	a := startAuth(t)
	ctx := a.ctx
	getAs := func(c *s3.Client, b, key string) bool {
		t.Helper()
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String(key)})
		if err == nil {
			out.Body.Close()
		}
		return can(t, "GetObject", err)
	}
	for _, tc := range []struct {
		name, principal          string
		anon, alice, bob, rootOK bool
	}{
		{"Star", `"*"`, true, true, true, true},
		{"AWSStar", `{"AWS":"*"}`, true, true, true, true},
		{"UserARN", `{"AWS":"` + userARN("alice") + `"}`, false, true, false, true},
		{"Users", `{"AWS":["` + userARN("alice") + `","` + userARN("bob") + `"]}`, false, true, true, true},
		{"CanonicalUser", `{"CanonicalUser":"` + a.bobID + `"}`, false, false, true, true},
		// Naming the account delegates to it: its users need identity
		// policies of their own.
		{"Account", `{"AWS":"` + servertest.AccountID + `"}`, false, false, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := a.aclBucket(a.c, "principal-"+strings.ToLower(tc.name))
			a.put(b, "k", []byte("x"))
			a.setPolicy(t, a.c, b, policyDoc(`{"Effect":"Allow","Principal":`+tc.principal+`,"Action":"s3:GetObject","Resource":"arn:aws:s3:::`+b+`/*"}`))
			if got := a.anonStatus(http.MethodGet, "/"+b+"/k", nil) == http.StatusOK; got != tc.anon {
				t.Errorf("anonymous = %v, want %v", got, tc.anon)
			}
			if got := getAs(a.alice, b, "k"); got != tc.alice {
				t.Errorf("alice = %v, want %v", got, tc.alice)
			}
			if got := getAs(a.bob, b, "k"); got != tc.bob {
				t.Errorf("bob = %v, want %v", got, tc.bob)
			}
			if got := getAs(a.c, b, "k"); got != tc.rootOK {
				t.Errorf("root = %v, want %v", got, tc.rootOK)
			}
			// The policy grants GetObject, nothing else.
			_, err := a.alice.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("k"), Body: strings.NewReader("y")})
			wantErr(t, err, "AccessDenied", http.StatusForbidden)
		})
	}
}

func TestBucketPolicyDeny(t *testing.T) {
	t.Parallel()
	a := startAuth(t)
	ctx := a.ctx

	t.Run("DenyWinsOverRootAndACL", func(t *testing.T) {
		b := a.aclBucket(a.c, "deny")
		a.put(b, "k", []byte("x"), func(in *s3.PutObjectInput) { in.ACL = types.ObjectCannedACLPublicRead })
		a.setPolicy(t, a.c, b, policyDoc(`{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::`+b+`/*"}`))
		err := a.getErr(&s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("k")})
		wantErr(t, err, "AccessDenied", http.StatusForbidden)
		if s := a.anonStatus(http.MethodGet, "/"+b+"/k", nil); s != http.StatusForbidden {
			t.Errorf("anonymous GET of a public-read object under Deny: %d", s)
		}
		// The root keeps the policy operations.
		if _, err := a.c.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(b)}); err != nil {
			t.Errorf("GetBucketPolicy: %v", err)
		}
		if _, err := a.c.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: aws.String(b)}); err != nil {
			t.Errorf("DeleteBucketPolicy: %v", err)
		}
		a.get(b, "k")
	})

	t.Run("DenyAll", func(t *testing.T) {
		b := a.aclBucket(a.c, "deny-all")
		a.setPolicy(t, a.c, b, policyDoc(`{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::`+b+`","arn:aws:s3:::`+b+`/*"]}`))
		_, err := a.c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(b)})
		wantErr(t, err, "AccessDenied", http.StatusForbidden)
		_, err = a.c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(b), Policy: aws.String(policyDoc(
			`{"Effect":"Allow","Principal":"*","Action":"s3:ListBucket","Resource":"arn:aws:s3:::` + b + `"}`))})
		if err != nil {
			t.Errorf("root PutBucketPolicy under Deny s3:*: %v", err)
		}
		if _, err := a.c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(b)}); err != nil {
			t.Errorf("after replacing the policy: %v", err)
		}
	})

	t.Run("OwnerUser", func(t *testing.T) {
		b := a.aclBucket(a.alice, "alices")
		if _, err := a.alice.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("k"), Body: strings.NewReader("x")}); err != nil {
			t.Fatal(err)
		}
		a.setPolicy(t, a.alice, b, policyDoc(`{"Effect":"Deny","Principal":{"AWS":"`+userARN("alice")+`"},"Action":"s3:*","Resource":["arn:aws:s3:::`+b+`","arn:aws:s3:::`+b+`/*"]}`))
		_, err := a.alice.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("k")})
		wantErr(t, err, "AccessDenied", http.StatusForbidden)
		if _, err := a.alice.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: aws.String(b)}); err != nil {
			t.Errorf("the bucket owner cannot delete a policy that denies it: %v", err)
		}
	})

	t.Run("NotPrincipal", func(t *testing.T) {
		b := a.aclBucket(a.c, "not-principal")
		a.put(b, "k", []byte("x"))
		a.setPolicy(t, a.c, b, policyDoc(
			`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::`+b+`/*"}`,
			`{"Effect":"Deny","NotPrincipal":{"AWS":"`+userARN("alice")+`"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::`+b+`/*"}`))
		if _, err := a.alice.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("k")}); err != nil {
			t.Errorf("alice: %v", err)
		}
		_, err := a.bob.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("k")})
		wantErr(t, err, "AccessDenied", http.StatusForbidden)
		if s := a.anonStatus(http.MethodGet, "/"+b+"/k", nil); s != http.StatusForbidden {
			t.Errorf("anonymous: %d", s)
		}
	})
}

func TestBucketPolicyConditions(t *testing.T) {
	t.Parallel()
	a := startAuth(t)
	ctx := a.ctx
	arn := func(b string) string { return "arn:aws:s3:::" + b }

	t.Run("Prefix", func(t *testing.T) {
		b := a.aclBucket(a.c, "prefix")
		a.put(b, "public/a", []byte("x"))
		a.put(b, "private/b", []byte("x"))
		a.setPolicy(t, a.c, b, policyDoc(`{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"s3:ListBucket","Resource":"`+arn(b)+`",
			"Condition":{"StringLike":{"s3:prefix":"public/*"}}}`))
		out, err := a.alice.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(b), Prefix: aws.String("public/")})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Contents) != 1 {
			t.Errorf("listed %d objects", len(out.Contents))
		}
		_, err = a.alice.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(b)})
		wantErr(t, err, "AccessDenied", http.StatusForbidden)
		// A missing object is reported missing to whoever may list it,
		// forbidden to others.
		_, err = a.alice.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String("public/nope")})
		wantS3Error(t, "HeadObject", err, "NotFound", http.StatusNotFound)
		_, err = a.alice.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String("private/nope")})
		wantS3Error(t, "HeadObject", err, "Forbidden", http.StatusForbidden)
		// Existing objects stay forbidden: listing is not reading.
		_, err = a.alice.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String("public/a")})
		wantS3Error(t, "HeadObject", err, "Forbidden", http.StatusForbidden)
	})

	t.Run("SourceIP", func(t *testing.T) {
		b := a.aclBucket(a.c, "source-ip")
		a.put(b, "k", []byte("x"))
		for _, tc := range []struct {
			cidr string
			want int
		}{{"127.0.0.0/8", http.StatusOK}, {"10.0.0.0/8", http.StatusForbidden}} {
			a.setPolicy(t, a.c, b, policyDoc(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"`+arn(b)+`/*",
				"Condition":{"IpAddress":{"aws:SourceIp":"`+tc.cidr+`"}}}`))
			if got := a.anonStatus(http.MethodGet, "/"+b+"/k", nil); got != tc.want {
				t.Errorf("%s: %d, want %d", tc.cidr, got, tc.want)
			}
		}
	})

	t.Run("SecureTransport", func(t *testing.T) {
		denyHTTP := func(b string) string {
			return policyDoc(`{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["` + arn(b) + `","` + arn(b) + `/*"],
				"Condition":{"Bool":{"aws:SecureTransport":"false"}}}`)
		}
		b := a.aclBucket(a.c, "secure-transport")
		a.put(b, "k", []byte("x"))
		a.setPolicy(t, a.c, b, denyHTTP(b))
		err := a.getErr(&s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("k")})
		wantErr(t, err, "AccessDenied", http.StatusForbidden)
		// The same policy over HTTPS denies nothing.
		s := startAuth(t, servertest.Options{TLS: true})
		b = s.aclBucket(s.c, "secure-transport")
		s.put(b, "k", []byte("x"))
		s.setPolicy(t, s.c, b, denyHTTP(b))
		s.get(b, "k")
	})

	t.Run("ExistingObjectTag", func(t *testing.T) {
		b := a.aclBucket(a.c, "existing-tag")
		a.put(b, "public", []byte("x"), func(in *s3.PutObjectInput) { in.Tagging = aws.String("security=public") })
		a.put(b, "private", []byte("x"), func(in *s3.PutObjectInput) { in.Tagging = aws.String("security=private") })
		a.setPolicy(t, a.c, b, policyDoc(`{"Effect":"Allow","Principal":{"AWS":"*"},"Action":["s3:GetObject","s3:GetObjectTagging"],"Resource":"`+arn(b)+`/*",
			"Condition":{"StringEquals":{"s3:ExistingObjectTag/security":"public"}}}`))
		if _, err := a.alice.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String(b), Key: aws.String("public")}); err != nil {
			t.Errorf("tagged public: %v", err)
		}
		_, err := a.alice.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String(b), Key: aws.String("private")})
		wantErr(t, err, "AccessDenied", http.StatusForbidden)
		if s := a.anonStatus(http.MethodGet, "/"+b+"/private", nil); s != http.StatusForbidden {
			t.Errorf("anonymous GET of private: %d", s)
		}
	})

	t.Run("RequestHeaders", func(t *testing.T) {
		b := a.aclBucket(a.c, "request-headers")
		a.setPolicy(t, a.c, b, policyDoc(
			`{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"s3:PutObject","Resource":"`+arn(b)+`/*",
				"Condition":{"StringEquals":{"s3:RequestObjectTag/team":"blue"}}}`,
			`{"Effect":"Deny","Principal":{"AWS":"*"},"Action":"s3:PutObject","Resource":"`+arn(b)+`/*",
				"Condition":{"StringLike":{"s3:x-amz-acl":"public*"}}}`))
		put := func(tagging string, acl types.ObjectCannedACL) error {
			in := &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("k"), Body: strings.NewReader("x"), ACL: acl}
			if tagging != "" {
				in.Tagging = aws.String(tagging)
			}
			_, err := a.alice.PutObject(ctx, in)
			return err
		}
		if err := put("team=blue", ""); err != nil {
			t.Errorf("tagged put: %v", err)
		}
		wantErr(t, put("team=red", ""), "AccessDenied", http.StatusForbidden)
		wantErr(t, put("", ""), "AccessDenied", http.StatusForbidden)
		wantErr(t, put("team=blue", types.ObjectCannedACLPublicRead), "AccessDenied", http.StatusForbidden)
		if err := put("team=blue", types.ObjectCannedACLPrivate); err != nil {
			t.Errorf("private put: %v", err)
		}
	})

	t.Run("PolicyVariable", func(t *testing.T) {
		b := a.aclBucket(a.c, "home")
		a.setPolicy(t, a.c, b, policyDoc(`{"Effect":"Allow","Principal":{"AWS":["`+userARN("alice")+`","`+userARN("bob")+`"]},
			"Action":["s3:PutObject","s3:GetObject"],"Resource":"`+arn(b)+`/home/${aws:username}/*"}`))
		if _, err := a.alice.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("home/alice/x"), Body: strings.NewReader("x")}); err != nil {
			t.Errorf("alice in her home: %v", err)
		}
		_, err := a.alice.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("home/bob/x"), Body: strings.NewReader("x")})
		wantErr(t, err, "AccessDenied", http.StatusForbidden)
	})

	t.Run("Wildcards", func(t *testing.T) {
		b := a.aclBucket(a.c, "wildcards")
		a.put(b, "m1-obj/a", []byte("x"), func(in *s3.PutObjectInput) { in.Tagging = aws.String("a=b") })
		a.put(b, "mx-obj/a", []byte("x"))
		a.setPolicy(t, a.c, b, policyDoc(`{"Effect":"Allow","Principal":"*","Action":"s3:Get*","Resource":"`+arn(b)+`/m?-obj/*"}`))
		for _, key := range []string{"m1-obj/a", "mx-obj/a"} {
			if s := a.anonStatus(http.MethodGet, "/"+b+"/"+key, nil); s != http.StatusOK {
				t.Errorf("GET %s: %d", key, s)
			}
		}
		if s := a.anonStatus(http.MethodGet, "/"+b+"/m1-obj/a?tagging", nil); s != http.StatusOK {
			t.Errorf("GET ?tagging: %d", s)
		}
		if s := a.anonStatus(http.MethodPut, "/"+b+"/m1-obj/b", []byte("x")); s != http.StatusForbidden {
			t.Errorf("PUT: %d", s)
		}
	})
}

func TestBucketPolicyOperations(t *testing.T) {
	t.Parallel()
	a := startAuth(t)
	ctx := a.ctx

	t.Run("DeleteObjects", func(t *testing.T) {
		b := a.aclBucket(a.c, "delete-objects")
		a.put(b, "public/a", []byte("x"))
		a.put(b, "private/b", []byte("x"))
		a.setPolicy(t, a.c, b, policyDoc(`{"Effect":"Allow","Principal":{"AWS":"`+userARN("alice")+`"},"Action":"s3:DeleteObject","Resource":"arn:aws:s3:::`+b+`/public/*"}`))
		out, err := a.alice.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(b), Delete: &types.Delete{Objects: []types.ObjectIdentifier{
			{Key: aws.String("public/a")}, {Key: aws.String("private/b")},
		}}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Deleted) != 1 || aws.ToString(out.Deleted[0].Key) != "public/a" {
			t.Errorf("Deleted = %+v", out.Deleted)
		}
		if len(out.Errors) != 1 || aws.ToString(out.Errors[0].Key) != "private/b" || aws.ToString(out.Errors[0].Code) != "AccessDenied" {
			t.Errorf("Errors = %+v", out.Errors)
		}
		if keys := a.listKeys(b); !slices.Equal(keys, []string{"private/b"}) {
			t.Errorf("keys = %q", keys)
		}
	})

	t.Run("CopySource", func(t *testing.T) {
		src := a.aclBucket(a.c, "copy-src")
		a.put(src, "public/a", []byte("public"))
		a.put(src, "private/b", []byte("private"))
		a.setPolicy(t, a.c, src, policyDoc(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::`+src+`/public/*"}`))
		dst := a.aclBucket(a.alice, "alice-copies")
		if _, err := a.alice.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(dst), Key: aws.String("a"), CopySource: aws.String(src + "/public/a")}); err != nil {
			t.Errorf("copy of a readable source: %v", err)
		}
		_, err := a.alice.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(dst), Key: aws.String("b"), CopySource: aws.String(src + "/private/b")})
		wantErr(t, err, "AccessDenied", http.StatusForbidden)
		up, err := a.alice.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(dst), Key: aws.String("mp")})
		if err != nil {
			t.Fatal(err)
		}
		_, err = a.alice.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: aws.String(dst), Key: aws.String("mp"), UploadId: up.UploadId,
			PartNumber: aws.Int32(1), CopySource: aws.String(src + "/private/b")})
		wantErr(t, err, "AccessDenied", http.StatusForbidden)
		if _, err := a.alice.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: aws.String(dst), Key: aws.String("mp"), UploadId: up.UploadId,
			PartNumber: aws.Int32(1), CopySource: aws.String(src + "/public/a")}); err != nil {
			t.Errorf("UploadPartCopy of a readable source: %v", err)
		}
	})

	t.Run("AnonymousWrite", func(t *testing.T) {
		b := a.bucket("drop-box") // BucketOwnerEnforced: the bucket owner owns what anyone writes
		if _, err := a.c.DeletePublicAccessBlock(ctx, &s3.DeletePublicAccessBlockInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
		a.setPolicy(t, a.c, b, policyDoc(`{"Effect":"Allow","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::`+b+`/*"}`))
		if s := a.anonStatus(http.MethodPut, "/"+b+"/dropped", []byte("x")); s != http.StatusOK {
			t.Fatalf("anonymous PUT: %d", s)
		}
		out, err := a.c.GetObjectAcl(ctx, &s3.GetObjectAclInput{Bucket: aws.String(b), Key: aws.String("dropped")})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(out.Owner.ID) != a.rootID {
			t.Errorf("owner = %s, want the bucket owner", aws.ToString(out.Owner.ID))
		}
		if s := a.anonStatus(http.MethodGet, "/"+b+"/dropped", nil); s != http.StatusForbidden {
			t.Errorf("anonymous GET: %d", s)
		}
	})

	t.Run("AnonymousBody", func(t *testing.T) {
		// An anonymous write that is refused is refused before its body
		// is read (Expect: 100-continue is answered with the error).
		b := a.aclBucket(a.c, "no-continue")
		req := newRequest(t, http.MethodPut, a.n.Endpoint+"/"+b+"/k", strings.NewReader(strings.Repeat("x", 1<<16)))
		req.Header.Set("Expect", "100-continue")
		// The client holds the body back for longer than it waits for
		// the answer: only an answer sent without reading it arrives.
		client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{ExpectContinueTimeout: time.Minute}}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("status = %d", resp.StatusCode)
		}
	})

	t.Run("ActionPerOperation", func(t *testing.T) {
		// A policy granting one action opens exactly the operations
		// authorized as it.
		b := a.aclBucket(a.c, "per-op")
		a.put(b, "k", []byte("x"))
		a.setVersioning(b, types.BucketVersioningStatusEnabled)
		for _, tc := range []struct {
			action string
			call   func() error
		}{
			{"s3:GetBucketVersioning", func() error {
				_, err := a.alice.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String(b)})
				return err
			}},
			{"s3:GetBucketTagging", func() error {
				_, err := a.alice.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: aws.String(b)})
				if statusOf(err) == http.StatusNotFound {
					return nil
				}
				return err
			}},
			{"s3:ListBucketVersions", func() error {
				_, err := a.alice.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(b)})
				return err
			}},
			{"s3:ListBucketMultipartUploads", func() error {
				_, err := a.alice.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(b)})
				return err
			}},
			{"s3:GetBucketLocation", func() error {
				_, err := a.alice.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: aws.String(b)})
				return err
			}},
			{"s3:GetObjectAcl", func() error {
				_, err := a.alice.GetObjectAcl(ctx, &s3.GetObjectAclInput{Bucket: aws.String(b), Key: aws.String("k")})
				return err
			}},
			{"s3:PutObjectTagging", func() error {
				_, err := a.alice.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: aws.String(b), Key: aws.String("k"),
					Tagging: &types.Tagging{TagSet: []types.Tag{{Key: aws.String("a"), Value: aws.String("b")}}}})
				return err
			}},
		} {
			t.Run(tc.action, func(t *testing.T) {
				if err := tc.call(); statusOf(err) != http.StatusForbidden {
					t.Fatalf("before the policy: %v, want 403", err)
				}
				res := fmt.Sprintf(`"arn:aws:s3:::%s"`, b)
				if strings.Contains(tc.action, "Object") {
					res = fmt.Sprintf(`"arn:aws:s3:::%s/*"`, b)
				}
				a.setPolicy(t, a.c, b, policyDoc(`{"Effect":"Allow","Principal":{"AWS":"`+userARN("alice")+`"},"Action":"`+tc.action+`","Resource":`+res+`}`))
				if err := tc.call(); err != nil {
					t.Errorf("with the policy: %v", err)
				}
			})
		}
	})
}
