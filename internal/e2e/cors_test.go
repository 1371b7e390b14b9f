package e2e

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/sluicehq/sluice/internal/server/servertest"
)

// corsHeaders are the response headers CORS rules shape.
var corsHeaders = []string{
	"Access-Control-Allow-Origin", "Access-Control-Allow-Credentials", "Access-Control-Allow-Methods",
	"Access-Control-Allow-Headers", "Access-Control-Expose-Headers", "Access-Control-Max-Age", "Vary",
}

// checkCORSHeaders compares the CORS headers of a response with want
// (absent names must be absent).
func checkCORSHeaders(tb testing.TB, hd http.Header, want map[string]string) {
	tb.Helper()
	for _, name := range corsHeaders {
		if got := hd.Get(name); got != want[name] {
			tb.Errorf("%s = %q, want %q", name, got, want[name])
		}
	}
}

func (e *env) putCORS(bucket string, rules ...types.CORSRule) {
	e.t.Helper()
	if _, err := e.c.PutBucketCors(e.ctx, &s3.PutBucketCorsInput{
		Bucket: aws.String(bucket), CORSConfiguration: &types.CORSConfiguration{CORSRules: rules},
	}); err != nil {
		e.t.Fatalf("PutBucketCors: %v", err)
	}
}

// signedDoHeaders sends a SigV4-signed request without a body carrying
// extra headers.
func (e *env) signedDoHeaders(method, path string, hd map[string]string) (*http.Response, []byte) {
	e.t.Helper()
	req := newRequest(e.t, method, e.n.Endpoint+path, nil)
	req.Header.Set("X-Amz-Content-Sha256", emptySHA256)
	for k, v := range hd {
		req.Header.Set(k, v)
	}
	creds := aws.Credentials{AccessKeyID: servertest.AccessKeyID, SecretAccessKey: servertest.SecretAccessKey}
	if err := v4.NewSigner().SignHTTP(e.ctx, creds, req, emptySHA256, "s3", servertest.Region, time.Now()); err != nil {
		e.t.Fatal(err)
	}
	return rawDo(e.t, req)
}

// signedDoBody sends a SigV4-signed request with a body and its
// Content-MD5.
func (e *env) signedDoBody(method, path string, body []byte) (*http.Response, []byte) {
	e.t.Helper()
	req := newRequest(e.t, method, e.n.Endpoint+path, bytes.NewReader(body))
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	md := md5.Sum(body)
	req.Header.Set("Content-MD5", base64.StdEncoding.EncodeToString(md[:]))
	req.Header.Set("X-Amz-Content-Sha256", hash)
	creds := aws.Credentials{AccessKeyID: servertest.AccessKeyID, SecretAccessKey: servertest.SecretAccessKey}
	if err := v4.NewSigner().SignHTTP(e.ctx, creds, req, hash, "s3", servertest.Region, time.Now()); err != nil {
		e.t.Fatal(err)
	}
	return rawDo(e.t, req)
}

// TestBucketCORSConfiguration covers Put/Get/DeleteBucketCors and the
// validation S3 applies.
func TestBucketCORSConfiguration(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.bucket("cors-config")

	_, err := e.c.GetBucketCors(e.ctx, &s3.GetBucketCorsInput{Bucket: aws.String(b)})
	wantErr(t, err, "NoSuchCORSConfiguration", http.StatusNotFound)
	if _, err := e.c.DeleteBucketCors(e.ctx, &s3.DeleteBucketCorsInput{Bucket: aws.String(b)}); err != nil {
		t.Fatalf("DeleteBucketCors without a configuration: %v", err)
	}

	rules := []types.CORSRule{
		{
			ID:             aws.String("app"),
			AllowedOrigins: []string{"https://app.example", "http://*.example.com"},
			AllowedMethods: []string{"GET", "PUT", "HEAD"},
			AllowedHeaders: []string{"x-amz-*", "Content-Type"},
			ExposeHeaders:  []string{"ETag", "x-amz-request-id"},
			MaxAgeSeconds:  aws.Int32(3000),
		},
		{AllowedOrigins: []string{""}, AllowedMethods: []string{"DELETE"}},
	}
	e.putCORS(b, rules...)
	out, err := e.c.GetBucketCors(e.ctx, &s3.GetBucketCorsInput{Bucket: aws.String(b)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.CORSRules) != 2 {
		t.Fatalf("CORSRules = %+v", out.CORSRules)
	}
	got := out.CORSRules[0]
	if aws.ToString(got.ID) != "app" || !equalStrings(got.AllowedOrigins, rules[0].AllowedOrigins) ||
		!equalStrings(got.AllowedMethods, rules[0].AllowedMethods) || !equalStrings(got.AllowedHeaders, rules[0].AllowedHeaders) ||
		!equalStrings(got.ExposeHeaders, rules[0].ExposeHeaders) || aws.ToInt32(got.MaxAgeSeconds) != 3000 {
		t.Errorf("rule 1 = %+v", got)
	}
	if r := out.CORSRules[1]; r.ID != nil || r.MaxAgeSeconds != nil || !equalStrings(r.AllowedOrigins, []string{""}) {
		t.Errorf("rule 2 = %+v", r)
	}

	for _, tc := range []struct {
		name  string
		rules []types.CORSRule
		code  string
		msg   string
	}{
		{"unknown method", []types.CORSRule{{AllowedOrigins: []string{"*"}, AllowedMethods: []string{"GET", "MYMETHOD"}}},
			"InvalidRequest", "Found unsupported HTTP method in CORS config. Unsupported method is MYMETHOD"},
		{"lower-case method", []types.CORSRule{{AllowedOrigins: []string{"*"}, AllowedMethods: []string{"get"}}},
			"InvalidRequest", "Found unsupported HTTP method in CORS config. Unsupported method is get"},
		{"two wildcards in an origin", []types.CORSRule{{AllowedOrigins: []string{"http://*.*.com"}, AllowedMethods: []string{"GET"}}},
			"InvalidRequest", `AllowedOrigin "http://*.*.com" can not have more than one wildcard.`},
		{"two wildcards in a header", []types.CORSRule{{AllowedOrigins: []string{"*"}, AllowedMethods: []string{"GET"}, AllowedHeaders: []string{"*-*"}}},
			"InvalidRequest", `AllowedHeader "*-*" can not have more than one wildcard.`},
		{"wildcard exposed header", []types.CORSRule{{AllowedOrigins: []string{"*"}, AllowedMethods: []string{"GET"}, ExposeHeaders: []string{"*"}}},
			"InvalidRequest", `ExposeHeader "*" contains wildcard. We currently do not support wildcard for ExposeHeader.`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.c.PutBucketCors(e.ctx, &s3.PutBucketCorsInput{
				Bucket: aws.String(b), CORSConfiguration: &types.CORSConfiguration{CORSRules: tc.rules},
			})
			wantErr(t, err, tc.code, http.StatusBadRequest)
			if tc.msg != "" && err != nil && !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %v, want message %q", err, tc.msg)
			}
		})
	}
	// Documents the SDK would not send.
	for name, doc := range map[string]string{
		"no rules":  `<CORSConfiguration></CORSConfiguration>`,
		"no origin": `<CORSConfiguration><CORSRule><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>`,
		"no method": `<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin></CORSRule></CORSConfiguration>`,
		"not XML":   `CORSConfiguration`,
		"bad age":   `<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><MaxAgeSeconds>x</MaxAgeSeconds></CORSRule></CORSConfiguration>`,
	} {
		t.Run(name, func(t *testing.T) {
			resp, body := e.signedDoBody(http.MethodPut, "/"+b+"?cors", []byte(doc))
			checkErrorDoc(t, resp, body, http.StatusBadRequest, "MalformedXML")
		})
	}
	// A refused configuration leaves the stored one alone.
	if out, err := e.c.GetBucketCors(e.ctx, &s3.GetBucketCorsInput{Bucket: aws.String(b)}); err != nil || len(out.CORSRules) != 2 {
		t.Errorf("after refused puts: %v, %+v", err, out)
	}

	if _, err := e.c.DeleteBucketCors(e.ctx, &s3.DeleteBucketCorsInput{Bucket: aws.String(b)}); err != nil {
		t.Fatal(err)
	}
	_, err = e.c.GetBucketCors(e.ctx, &s3.GetBucketCorsInput{Bucket: aws.String(b)})
	wantErr(t, err, "NoSuchCORSConfiguration", http.StatusNotFound)
}

// TestCORSPreflight sends OPTIONS requests, which carry no credentials,
// as browsers do.
func TestCORSPreflight(t *testing.T) {
	t.Parallel()
	e := start(t)
	noConfig := e.bucket("cors-none")
	b := e.bucket("cors-preflight")
	e.putCORS(b,
		types.CORSRule{
			AllowedOrigins: []string{"https://app.example", "http://*.example.com"},
			AllowedMethods: []string{"GET", "PUT"},
			AllowedHeaders: []string{"x-amz-*", "Content-Type"},
			ExposeHeaders:  []string{"ETag", "x-amz-version-id"},
			MaxAgeSeconds:  aws.Int32(600),
		},
		types.CORSRule{AllowedOrigins: []string{"*"}, AllowedMethods: []string{"HEAD"}},
		types.CORSRule{AllowedOrigins: []string{"start*end"}, AllowedMethods: []string{"DELETE"}},
	)
	appGrant := map[string]string{
		"Access-Control-Allow-Origin":      "https://app.example",
		"Access-Control-Allow-Credentials": "true",
		"Access-Control-Allow-Methods":     "GET, PUT",
		"Access-Control-Expose-Headers":    "ETag, x-amz-version-id",
		"Access-Control-Max-Age":           "600",
		"Vary":                             "Origin, Access-Control-Request-Headers, Access-Control-Request-Method",
	}
	with := func(m map[string]string, kv ...string) map[string]string {
		out := make(map[string]string, len(m)+1)
		for k, v := range m {
			out[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}

	tests := []struct {
		name    string
		path    string
		headers map[string]string
		status  int
		code    string
		msg     string
		want    map[string]string // CORS headers of a 200
	}{
		{name: "no origin", path: "/" + b + "/k", status: 400, code: "BadRequest", msg: "Insufficient information. Origin request header needed."},
		{name: "no origin, no bucket", path: "/cors-missing/k", status: 400, code: "BadRequest"},
		{name: "no bucket", path: "/cors-missing/k", headers: map[string]string{"Origin": "https://app.example", "Access-Control-Request-Method": "GET"},
			status: 403, code: "AccessForbidden", msg: "CORSResponse: Bucket not found"},
		{name: "no configuration", path: "/" + noConfig + "/k", headers: map[string]string{"Origin": "https://app.example", "Access-Control-Request-Method": "GET"},
			status: 403, code: "AccessForbidden", msg: "CORSResponse: CORS is not enabled for this bucket."},
		{name: "no method", path: "/" + b + "/k", headers: map[string]string{"Origin": "https://app.example"},
			status: 400, code: "BadRequest", msg: "Invalid Access-Control-Request-Method: null"},
		{name: "object", path: "/" + b + "/some/key", headers: map[string]string{"Origin": "https://app.example", "Access-Control-Request-Method": "PUT"},
			status: 200, want: appGrant},
		{name: "bucket", path: "/" + b, headers: map[string]string{"Origin": "https://app.example", "Access-Control-Request-Method": "GET"},
			status: 200, want: appGrant},
		{name: "origin wildcard", path: "/" + b + "/k", headers: map[string]string{"Origin": "http://www.example.com", "Access-Control-Request-Method": "GET"},
			status: 200, want: with(appGrant, "Access-Control-Allow-Origin", "http://www.example.com")},
		{name: "origin wildcard is not a prefix match", path: "/" + b + "/k", headers: map[string]string{"Origin": "http://www.example.com/", "Access-Control-Request-Method": "GET"},
			status: 403, code: "AccessForbidden", msg: "CORSResponse: This CORS request is not allowed."},
		{name: "empty wildcard run", path: "/" + b + "/k", headers: map[string]string{"Origin": "startend", "Access-Control-Request-Method": "DELETE"},
			status: 200, want: map[string]string{"Access-Control-Allow-Origin": "startend", "Access-Control-Allow-Credentials": "true",
				"Access-Control-Allow-Methods": "DELETE", "Vary": appGrant["Vary"]}},
		{name: "any origin", path: "/" + b + "/k", headers: map[string]string{"Origin": "https://elsewhere.example", "Access-Control-Request-Method": "HEAD"},
			status: 200, want: map[string]string{"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Methods": "HEAD", "Vary": appGrant["Vary"]}},
		{name: "requested headers", path: "/" + b + "/k", headers: map[string]string{"Origin": "https://app.example", "Access-Control-Request-Method": "PUT",
			"Access-Control-Request-Headers": "X-Amz-Meta-Color,content-type"},
			status: 200, want: with(appGrant, "Access-Control-Allow-Headers", "x-amz-meta-color, content-type")},
		{name: "header not allowed", path: "/" + b + "/k", headers: map[string]string{"Origin": "https://app.example", "Access-Control-Request-Method": "PUT",
			"Access-Control-Request-Headers": "authorization"},
			status: 403, code: "AccessForbidden", msg: "CORSResponse: This CORS request is not allowed."},
		{name: "method not allowed", path: "/" + b + "/k", headers: map[string]string{"Origin": "https://app.example", "Access-Control-Request-Method": "DELETE"},
			status: 403, code: "AccessForbidden"},
		{name: "presigned URL is not verified", path: "/" + b + "/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=bad&X-Amz-Credential=x",
			headers: map[string]string{"Origin": "https://app.example", "Access-Control-Request-Method": "GET"}, status: 200, want: appGrant},
		{name: "subresource", path: "/" + b + "/k?uploads", headers: map[string]string{"Origin": "https://app.example", "Access-Control-Request-Method": "PUT"},
			status: 200, want: appGrant},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := newRequest(t, http.MethodOptions, e.n.Endpoint+tc.path, nil)
			for k, v := range tc.headers {
				req.Header.Set(k, v)
			}
			resp, body := rawDo(t, req)
			if tc.status != http.StatusOK {
				doc := checkErrorDoc(t, resp, body, tc.status, tc.code)
				if !strings.HasPrefix(doc.Message, tc.msg) {
					t.Errorf("Message = %q, want %q", doc.Message, tc.msg)
				}
				checkCORSHeaders(t, resp.Header, nil)
				return
			}
			if resp.StatusCode != http.StatusOK || len(body) != 0 {
				t.Fatalf("status = %d, body %q, want 200 and empty", resp.StatusCode, body)
			}
			checkCORSHeaders(t, resp.Header, tc.want)
		})
	}

	t.Run("refusal names method and resource", func(t *testing.T) {
		req := newRequest(t, http.MethodOptions, e.n.Endpoint+"/"+b, nil)
		req.Header.Set("Origin", "https://evil.example")
		req.Header.Set("Access-Control-Request-Method", "PUT")
		_, body := rawDo(t, req)
		for _, want := range []string{"<Method>PUT</Method>", "<ResourceType>BUCKET</ResourceType>"} {
			if !strings.Contains(string(body), want) {
				t.Errorf("body lacks %s: %s", want, body)
			}
		}
	})
}

// TestCORSActualRequests checks the Access-Control-* headers S3 adds to
// the answers of requests that carry Origin, successful or not.
func TestCORSActualRequests(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.bucket("cors-actual")
	plain := e.bucket("cors-actual-none")
	e.put(b, "obj", []byte("cors body"))
	e.put(plain, "obj", []byte("cors body"))
	e.putCORS(b,
		types.CORSRule{AllowedOrigins: []string{"https://app.example"}, AllowedMethods: []string{"GET"}, AllowedHeaders: []string{"*"},
			ExposeHeaders: []string{"ETag"}, MaxAgeSeconds: aws.Int32(30)},
		types.CORSRule{AllowedOrigins: []string{"*"}, AllowedMethods: []string{"PUT"}},
	)
	grant := map[string]string{
		"Access-Control-Allow-Origin":      "https://app.example",
		"Access-Control-Allow-Credentials": "true",
		"Access-Control-Allow-Methods":     "GET",
		"Access-Control-Expose-Headers":    "ETag",
		"Access-Control-Max-Age":           "30",
		"Vary":                             "Origin, Access-Control-Request-Headers, Access-Control-Request-Method",
	}
	tests := []struct {
		name    string
		method  string
		path    string
		headers map[string]string
		status  int
		want    map[string]string
	}{
		{"no origin", http.MethodGet, "/" + b + "/obj", nil, 200, nil},
		{"allowed origin", http.MethodGet, "/" + b + "/obj", map[string]string{"Origin": "https://app.example"}, 200, grant},
		{"other origin", http.MethodGet, "/" + b + "/obj", map[string]string{"Origin": "https://other.example"}, 200, nil},
		{"error answers too", http.MethodGet, "/" + b + "/missing", map[string]string{"Origin": "https://app.example"}, 404, grant},
		{"bucket listing", http.MethodGet, "/" + b, map[string]string{"Origin": "https://app.example"}, 200, grant},
		{"request method weighed as a preflight's", http.MethodGet, "/" + b + "/obj",
			map[string]string{"Origin": "https://app.example", "Access-Control-Request-Method": "PUT"}, 200,
			map[string]string{"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Methods": "PUT", "Vary": grant["Vary"]}},
		{"method not allowed", http.MethodDelete, "/" + b + "/gone", map[string]string{"Origin": "https://app.example"}, 204, nil},
		{"no configuration", http.MethodGet, "/" + plain + "/obj", map[string]string{"Origin": "https://app.example"}, 200, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := e.signedDoHeaders(tc.method, tc.path, tc.headers)
			if resp.StatusCode != tc.status {
				t.Fatalf("status = %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			checkCORSHeaders(t, resp.Header, tc.want)
		})
	}

	t.Run("unauthenticated request", func(t *testing.T) {
		req := newRequest(t, http.MethodGet, e.n.Endpoint+"/"+b+"/obj", nil)
		req.Header.Set("Origin", "https://app.example")
		resp, body := rawDo(t, req)
		checkErrorDoc(t, resp, body, http.StatusForbidden, "AccessDenied")
		checkCORSHeaders(t, resp.Header, grant)
	})
	t.Run("SDK client", func(t *testing.T) {
		out, err := e.c.GetObject(e.ctx, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("obj")},
			s3.WithAPIOptions(smithyhttp.AddHeaderValue("Origin", "https://app.example")))
		if err != nil {
			t.Fatal(err)
		}
		out.Body.Close()
		resp, ok := awsmiddleware.GetRawResponse(out.ResultMetadata).(*smithyhttp.Response)
		if !ok {
			t.Fatal("no raw response")
		}
		checkCORSHeaders(t, resp.Header, grant)
	})
}
