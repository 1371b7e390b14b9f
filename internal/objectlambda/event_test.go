package objectlambda_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sluicehq/sluice/internal/accesspoint"
	"github.com/sluicehq/sluice/internal/iam"
	"github.com/sluicehq/sluice/internal/lambda"
	"github.com/sluicehq/sluice/internal/objectlambda"
	"github.com/sluicehq/sluice/internal/sigv4"
)

// The payload oracle: what sluice sends a transforming function must
// decode into aws-lambda-go's events.S3ObjectLambdaEvent (no field it does
// not know) and carry every field of the AWS events aws-lambda-go keeps in
// events/testdata (s3-object-lambda-event-*.json), with nothing else but
// the caller's own headers.

const (
	account  = "000000000000"
	olapARN  = "arn:aws:s3-object-lambda:us-east-1:" + account + ":accesspoint/example-object-lambda-ap"
	apARN    = "arn:aws:s3:us-east-1:" + account + ":accesspoint/example-ap"
	fnARN    = "arn:aws:lambda:us-east-1:" + account + ":function:transform"
	apAlias  = "example-ap-abcdefghijklmnopqrstuvwxyz-s3alias"
	userKey  = "AKIAEXAMPLEUSER00001"
	fnKey    = "ASIAEXAMPLEFUNCTION1"
	endpoint = "http://127.0.0.1:9000"
)

// fakeInvoker records the payloads it is invoked with and answers with
// result.
type fakeInvoker struct {
	result   func(payload []byte) []byte
	mu       sync.Mutex
	payloads [][]byte
}

func (f *fakeInvoker) InvokeARN(_ context.Context, functionARN string, _ lambda.InvocationType, payload []byte) (*lambda.InvokeOutput, error) {
	f.mu.Lock()
	f.payloads = append(f.payloads, payload)
	f.mu.Unlock()
	return &lambda.InvokeOutput{Result: &lambda.Result{Payload: f.result(payload)}}, nil
}

type secrets map[string]string

func (s secrets) Secret(_ context.Context, key string) (string, error) { return s[key], nil }

// testdataDir is aws-lambda-go's events/testdata in the module cache.
func testdataDir(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/aws/aws-lambda-go").Output()
	if err != nil {
		t.Fatalf("go list -m github.com/aws/aws-lambda-go: %v", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "events", "testdata")
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("aws-lambda-go's testdata: %v (go mod download github.com/aws/aws-lambda-go)", err)
	}
	return dir
}

// paths returns the JSON paths of v ("a.b.c") with the kind of value at
// each ("string", "object", ...).
func paths(prefix string, v any, out map[string]string) {
	switch x := v.(type) {
	case map[string]any:
		if prefix != "" {
			out[prefix] = "object"
		}
		for k, e := range x {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			paths(p, e, out)
		}
	case string:
		out[prefix] = "string"
	default:
		out[prefix] = "other"
	}
}

func TestEventMatchesAWSEvents(t *testing.T) {
	dir := testdataDir(t)
	files, _ := filepath.Glob(filepath.Join(dir, "s3-object-lambda-event-*.json"))
	if len(files) < 5 {
		t.Fatalf("aws-lambda-go's testdata holds %d Object Lambda events, want the 5 of v1.55: %v", len(files), files)
	}
	user := &iam.Principal{AccountID: account, AccessKeyID: userKey, UserName: "username", UserID: "AIDAEXAMPLEUSERID0001",
		ARN: "arn:aws:iam::" + account + ":user/username"}
	function := &iam.Principal{AccountID: account, AccessKeyID: fnKey, FunctionARN: fnARN,
		RoleARN: "arn:aws:iam::" + account + ":role/Admin"}
	for _, f := range files {
		name := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "s3-object-lambda-event-"), ".json")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var want map[string]any
			if err := json.Unmarshal(raw, &want); err != nil {
				t.Fatal(err)
			}
			method, target, op, context := http.MethodGet, "/example", accesspoint.ActionGetObject, "getObjectContext"
			switch {
			case strings.HasPrefix(name, "head-object"):
				method, op, context = http.MethodHead, accesspoint.ActionHeadObject, "headObjectContext"
			case strings.HasPrefix(name, "list-objects-v2"):
				target, op, context = "/?list-type=2&prefix=ex", accesspoint.ActionListObjects, "listObjectsV2Context"
			case strings.HasPrefix(name, "list-objects"):
				target, op, context = "/?prefix=ex", accesspoint.ActionListObjects, "listObjectsContext"
			}
			if _, ok := want[context]; !ok {
				t.Fatalf("%s has no %s: which action is it?", f, context)
			}
			principal := user
			if strings.Contains(name, "assumed-role") {
				principal = function
			}
			got := capture(t, method, target, op, principal)

			// It decodes into aws-lambda-go's type, with no unknown field.
			dec := json.NewDecoder(bytes.NewReader(got))
			dec.DisallowUnknownFields()
			var ev events.S3ObjectLambdaEvent
			if err := dec.Decode(&ev); err != nil {
				t.Fatalf("decoding into events.S3ObjectLambdaEvent: %v\n%s", err, got)
			}

			// Every field of AWS's event, and no other but the caller's headers.
			var doc map[string]any
			if err := json.Unmarshal(got, &doc); err != nil {
				t.Fatal(err)
			}
			wantPaths, gotPaths := map[string]string{}, map[string]string{}
			paths("", want, wantPaths)
			paths("", doc, gotPaths)
			var missing, extra []string
			for p, kind := range wantPaths {
				if gotPaths[p] != kind {
					missing = append(missing, p+" ("+kind+")")
				}
			}
			for p := range gotPaths {
				if _, ok := wantPaths[p]; !ok && !strings.HasPrefix(p, "userRequest.headers.") {
					extra = append(extra, p)
				}
			}
			sort.Strings(missing)
			sort.Strings(extra)
			if len(missing) > 0 || len(extra) > 0 {
				t.Errorf("fields missing: %v; fields AWS does not send: %v\n%s", missing, extra, got)
			}
			if ev.ProtocolVersion != want["protocolVersion"] {
				t.Errorf("protocolVersion %q, AWS sends %q", ev.ProtocolVersion, want["protocolVersion"])
			}

			// The values.
			c := ev.Configuration
			if c.AccessPointARN != olapARN || c.SupportingAccessPointARN != apARN || c.Payload != "{}" || ev.XAmzRequestID != "REQUESTID0001" {
				t.Errorf("configuration %+v, request ID %q", c, ev.XAmzRequestID)
			}
			var input string
			switch {
			case ev.GetObjectContext != nil:
				input = ev.GetObjectContext.InputS3URL
				if ev.GetObjectContext.OutputRoute == "" || ev.GetObjectContext.OutputToken == "" {
					t.Errorf("getObjectContext %+v", ev.GetObjectContext)
				}
			case ev.HeadObjectContext != nil:
				input = ev.HeadObjectContext.InputS3URL
			case ev.ListObjectsContext != nil:
				input = ev.ListObjectsContext.InputS3URL
			case ev.ListObjectsV2Context != nil:
				input = ev.ListObjectsV2Context.InputS3URL
			}
			u, err := url.Parse(input)
			wantPath := target
			if strings.HasPrefix(target, "/?") {
				wantPath = "/"
			}
			if err != nil || u.Scheme+"://"+u.Host != endpoint || u.EscapedPath() != wantPath ||
				u.Query().Get("X-Amz-Credential") == "" || !strings.HasPrefix(u.Query().Get("X-Amz-Credential"), principal.AccessKeyID+"/") ||
				u.Query().Get(objectlambda.AccessPointParam) != apAlias {
				t.Errorf("inputS3Url %q: want %s%s presigned by %s through %s", input, endpoint, wantPath, principal.AccessKeyID, apAlias)
			}
			if strings.HasPrefix(context, "list") {
				for _, p := range []string{"prefix", "list-type"} {
					if want := (&url.URL{RawQuery: target[2:]}).Query().Get(p); u.Query().Get(p) != want {
						t.Errorf("inputS3Url %q: %s = %q, want %q", input, p, u.Query().Get(p), want)
					}
				}
				if u.Query().Get("X-Amz-Signature") == "presigned-by-caller" {
					t.Errorf("inputS3Url %q carries the caller's own signature", input)
				}
			}
			r := ev.UserRequest
			if !strings.HasPrefix(r.URL, "http://example-object-lambda-ap-"+account+".localhost:9000/") || strings.Contains(r.URL, "X-Amz-Signature") ||
				r.Headers["Host"] != "example-object-lambda-ap-"+account+".localhost:9000" || r.Headers["Accept-Encoding"] != "identity" ||
				r.Headers["X-Amz-Content-SHA256"] == "" || r.Headers["Authorization"] != "" {
				t.Errorf("userRequest %+v", r)
			}
			id := ev.UserIdentity
			if id.AccountID != account || id.AccessKeyID != principal.AccessKeyID || id.PrincipalID == "" || id.ARN == "" {
				t.Errorf("userIdentity %+v", id)
			}
			switch want["userIdentity"].(map[string]any)["type"] {
			case "IAMUser":
				if id.Type != "IAMUser" || id.ARN != user.ARN || id.SessionContext != nil {
					t.Errorf("userIdentity %+v, want the IAM user", id)
				}
			case "AssumedRole":
				s := id.SessionContext
				if id.Type != "AssumedRole" || id.ARN != "arn:aws:sts::"+account+":assumed-role/Admin/transform" || s == nil || s.SessionIssuer == nil ||
					s.SessionIssuer.ARN != function.RoleARN || s.SessionIssuer.UserName != "Admin" || s.SessionIssuer.Type != "Role" {
					t.Fatalf("userIdentity %+v, want the function's role session", id)
				}
				if _, err := time.Parse("Mon Jan 02 15:04:05 MST 2006", s.Attributes["creationDate"]); err != nil || s.Attributes["mfaAuthenticated"] != "false" {
					t.Errorf("sessionContext.attributes %v: creationDate as AWS writes it (%v)", s.Attributes, err)
				}
			}
		})
	}
}

// capture serves one request through an Object Lambda access point whose
// every action is transformed, and returns the payload the function got.
func capture(t *testing.T, method, target, op string, p *iam.Principal) []byte {
	t.Helper()
	inv := &fakeInvoker{result: func(payload []byte) []byte {
		if strings.Contains(string(payload), `"headObjectContext"`) {
			return []byte(`{"statusCode":200,"headers":{"Content-Length":1}}`)
		}
		if strings.Contains(string(payload), `"listObjects`) {
			return []byte(`{"statusCode":200,"listResultXml":"<ListBucketResult/>"}`)
		}
		return []byte("null") // a GET without WriteGetObjectResponse
	}}
	s := objectlambda.New(objectlambda.Config{
		Invoker: inv, Secrets: secrets{userKey: "user-secret", fnKey: "function-secret"},
		Region: "us-east-1", AccountID: account, Timeout: 10 * time.Second,
	})
	defer s.Close()
	s.SetEndpoint(endpoint)
	host := "example-object-lambda-ap-" + account + ".localhost:9000"
	r := httptest.NewRequest(method, "http://"+host+target, nil)
	if strings.HasPrefix(target, "/?") {
		// A presigned listing: its signature is not the function's to reuse.
		r = httptest.NewRequest(method, "http://"+host+target+"&X-Amz-Signature=presigned-by-caller&X-Amz-Credential=x", nil)
	}
	r.Header.Set("Accept-Encoding", "identity")
	r.Header.Set("X-Amz-Content-Sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+p.AccessKeyID+"/20260101/us-east-1/s3-object-lambda/aws4_request, SignedHeaders=host, Signature=0")
	key := strings.TrimPrefix(target, "/")
	if strings.HasPrefix(target, "/?") {
		key = ""
	}
	cfg := accesspoint.ObjectLambdaConfig{
		SupportingAccessPoint: apARN,
		Transformations: []accesspoint.Transformation{{
			Actions:     []string{accesspoint.ActionGetObject, accesspoint.ActionHeadObject, accesspoint.ActionListObjects, accesspoint.ActionListObjectsV2},
			FunctionARN: fnARN, FunctionPayload: "{}",
		}},
	}
	handled, _ := s.Serve(httptest.NewRecorder(), &objectlambda.Request{
		ID: "REQUESTID0001", R: r, Op: op, Key: key,
		Target: &accesspoint.Target{
			ObjectLambda: &accesspoint.ObjectLambda{Name: "example-object-lambda-ap", Alias: "example-object-lambd-abcdefghijklmnopqrstuvwxyz--ol-s3", Config: cfg},
			Supporting:   &accesspoint.AccessPoint{Name: "example-ap", Bucket: "example-bucket", Alias: apAlias},
		},
		ObjectLambdaARN: olapARN, SupportingARN: apARN, Principal: p,
		Auth: &sigv4.Auth{AccessKeyID: p.AccessKeyID, Method: sigv4.MethodV4Header, Service: "s3-object-lambda", Region: "us-east-1"},
	})
	if !handled {
		t.Fatalf("%s %s was not transformed", method, target)
	}
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if len(inv.payloads) != 1 {
		t.Fatalf("%d invocations", len(inv.payloads))
	}
	return inv.payloads[0]
}
