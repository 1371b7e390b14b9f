package sigv4

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"

	v4signer "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// slowRemoveDotSegments is removeDotSegments without its fast path: the
// oracle normalPath must agree with.
func slowRemoveDotSegments(p string) string {
	if p == "" {
		return "/"
	}
	var out []string
	for seg := range strings.SplitSeq(p, "/") {
		switch seg {
		case "", ".":
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		default:
			out = append(out, seg)
		}
	}
	s := strings.Join(out, "/")
	if p[0] == '/' {
		s = "/" + s
	}
	if p[len(p)-1] == '/' && len(out) > 0 {
		s += "/"
	}
	if s == "" {
		return "/"
	}
	return s
}

func TestRemoveDotSegmentsFastPath(t *testing.T) {
	fixed := []string{"", "/", "//", "/a", "/a/", "/a//", "a", "a/", ".", "/.", "/..", "/./", "/a/.", "/a/..",
		"/a/b/c", "/a/.b/c..", "/a/.../b", "/2015-03-31/functions/f/invocations", "/a/b/../c", "/a/./b", "./a", "../a"}
	alphabet := []string{"/", ".", "a", "%2F", ".."}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 50000 {
		var b strings.Builder
		for range rng.IntN(8) {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		fixed = append(fixed, b.String())
	}
	for _, p := range fixed {
		want := slowRemoveDotSegments(p)
		if got := removeDotSegments(p); got != want {
			t.Fatalf("removeDotSegments(%q) = %q, want %q", p, got, want)
		}
		if normalPath(p) && want != p {
			t.Fatalf("normalPath(%q) but it normalises to %q", p, want)
		}
	}
}

func TestMacSHA256(t *testing.T) {
	sc := signScratches.Get().(*signScratch)
	for _, n := range []int{0, 1, 32, 63, 64, 65, 200} {
		key := bytes.Repeat([]byte{byte(n + 7)}, n)
		for _, msg := range []string{"", "x", strings.Repeat("message ", 40)} {
			sc.macSHA256(key, []byte(msg))
			got := sc.mac
			m := hmac.New(sha256.New, key)
			m.Write([]byte(msg))
			if want := m.Sum(nil); !bytes.Equal(got[:], want) {
				t.Fatalf("key %d bytes, msg %q: got %x, want %x", n, msg, got, want)
			}
		}
	}
}

func TestParseCredentialFields(t *testing.T) {
	cases := []struct {
		in      string
		want    credential
		problem bool
	}{
		{"AKID/20240501/eu-west-3/lambda/aws4_request", credential{"AKID", "20240501", "eu-west-3", "lambda"}, false},
		{"a/b/c/20240501/us-east-1/s3/aws4_request", credential{"a/b/c", "20240501", "us-east-1", "s3"}, false},
		{"20240501/us-east-1/s3/aws4_request", credential{}, true},
		{"AKID/20240501/us-east-1/s3/aws4", credential{}, true},
		{"AKID/2024-05-01/us-east-1/s3/aws4_request", credential{}, true},
		{"AKID/20240501//s3/aws4_request", credential{}, true},
		{"/20240501/us-east-1/s3/aws4_request", credential{}, true},
		{"", credential{}, true},
	}
	for _, c := range cases {
		got, problem := parseCredentialProblem(c.in)
		if (problem != "") != c.problem || got != c.want {
			t.Errorf("parseCredentialProblem(%q) = %+v, %q", c.in, got, problem)
		}
	}
}

func TestAuthParams(t *testing.T) {
	f := authParams("AWS4-HMAC-SHA256 Credential=A/20240501/r/s/aws4_request, SignedHeaders=host;x-amz-date ,Signature=ab, Other=x, Signature = cd")
	if f.credential != "A/20240501/r/s/aws4_request" || f.signedHeaders != "host;x-amz-date" || f.signature != "cd" ||
		!f.hasCredential || !f.hasSignedHeaders || !f.hasSignature {
		t.Fatalf("authParams = %+v", f)
	}
	if f := authParams("AWS4-HMAC-SHA256 Credential=, SignedHeaders"); !f.hasCredential || f.hasSignedHeaders || f.hasSignature {
		t.Fatalf("authParams = %+v", f)
	}
}

// lambdaInvokeRequest is the request the bench client and the SDKs send
// for a synchronous Invoke: SigV4 over the body's hash, which is not sent.
func lambdaInvokeRequest(tb testing.TB) *http.Request {
	tb.Helper()
	body := []byte(`{}`)
	req, _ := http.NewRequest("POST", "http://127.0.0.1:9000/2015-03-31/functions/noop/invocations", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Amz-Invocation-Type", "RequestResponse")
	req.Header.Set("Amz-Sdk-Invocation-Id", "f81d4fae-7dec-11d0-a765-00a0c91e6bf6")
	if err := v4signer.NewSigner().SignHTTP(context.Background(), testCreds, req, sha256HexBytes(body), "lambda", "eu-west-3", signTime); err != nil {
		tb.Fatal(err)
	}
	return serverSide(tb, req)
}

// TestVerifyLambdaInvokeAllocs bounds the allocations of verifying an
// Invoke request, which sluice does for every invocation.
func TestVerifyLambdaInvokeAllocs(t *testing.T) {
	r := lambdaInvokeRequest(t)
	v := newVerifier(signTime)
	if _, err := v.Verify(r); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := v.Verify(r); err != nil {
			t.Fatal(err)
		}
	})
	// The Auth and its scope, the signed-header list, the body's copy,
	// its reader and closer, the body hash's hex.
	if allocs > 8 {
		t.Fatalf("Verify of a Lambda Invoke request: %v allocations, want at most 8", allocs)
	}
}

func BenchmarkVerifyLambdaInvoke(b *testing.B) {
	r := lambdaInvokeRequest(b)
	v := newVerifier(signTime)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(r); err != nil {
			b.Fatal(err)
		}
	}
}
