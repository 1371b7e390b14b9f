package e2e

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"mime/multipart"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/sluicehq/sluice/internal/server"
	"github.com/sluicehq/sluice/internal/server/servertest"
)

// postField is one field of an upload form.
type postField struct{ name, value string }

// postFile is the file field of an upload form.
type postFile struct {
	// omit leaves the form without a file field.
	omit bool
	// filename, if set, is sent in the part's Content-Disposition.
	filename string
	body     []byte
}

// postFormBody encodes fields, the file and then after (fields S3
// ignores) as multipart/form-data.
func postFormBody(tb testing.TB, fields []postField, file postFile, after []postField) (body *bytes.Buffer, contentType string) {
	tb.Helper()
	body = new(bytes.Buffer)
	mw := multipart.NewWriter(body)
	write := func(fs []postField) {
		for _, f := range fs {
			if err := mw.WriteField(f.name, f.value); err != nil {
				tb.Fatal(err)
			}
		}
	}
	write(fields)
	if !file.omit {
		disp := `form-data; name="file"`
		if file.filename != "" {
			disp += `; filename="` + file.filename + `"`
		}
		w, err := mw.CreatePart(map[string][]string{"Content-Disposition": {disp}})
		if err != nil {
			tb.Fatal(err)
		}
		w.Write(file.body)
	}
	write(after)
	if err := mw.Close(); err != nil {
		tb.Fatal(err)
	}
	return body, mw.FormDataContentType()
}

// postForm posts an upload form to url without following redirects.
func postForm(tb testing.TB, url string, fields []postField, file postFile) (*http.Response, []byte) {
	tb.Helper()
	body, ct := postFormBody(tb, fields, file, nil)
	req := newRequest(tb, http.MethodPost, url, body)
	req.Header.Set("Content-Type", ct)
	return rawDoNoRedirect(tb, req)
}

// rawDoNoRedirect is rawDo without following redirects.
func rawDoNoRedirect(tb testing.TB, req *http.Request) (*http.Response, []byte) {
	tb.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	if _, err := b.ReadFrom(resp.Body); err != nil {
		tb.Fatalf("%s %s: reading body: %v", req.Method, req.URL, err)
	}
	if resp.Header.Get("x-amz-request-id") == "" {
		tb.Errorf("%s %s: response %d without x-amz-request-id", req.Method, req.URL, resp.StatusCode)
	}
	return resp, b.Bytes()
}

// postSigner signs POST policies as AWS SDKs do: SigV4 with the signing
// key of the credential scope (hex HMAC-SHA256 of the base64 policy),
// SigV2 with the secret (base64 HMAC-SHA1).
type postSigner struct {
	id, secret string
	now        time.Time
}

func rootSigner() postSigner {
	return postSigner{id: servertest.AccessKeyID, secret: servertest.SecretAccessKey, now: time.Now().UTC()}
}

func (s postSigner) credential() string {
	return s.id + "/" + s.now.Format("20060102") + "/" + servertest.Region + "/s3/aws4_request"
}

func (s postSigner) amzDate() string { return s.now.Format("20060102T150405Z") }

// policy returns a policy document expiring at exp with conds and, for
// SigV4, the conditions on its own fields that every SDK adds.
func (s postSigner) policy(tb testing.TB, v4 bool, exp time.Time, conds ...any) string {
	tb.Helper()
	if v4 {
		conds = append(conds,
			map[string]string{"x-amz-algorithm": "AWS4-HMAC-SHA256"},
			map[string]string{"x-amz-credential": s.credential()},
			map[string]string{"x-amz-date": s.amzDate()})
	}
	doc, err := json.Marshal(map[string]any{"expiration": exp.UTC().Format(time.RFC3339), "conditions": conds})
	if err != nil {
		tb.Fatal(err)
	}
	return string(doc)
}

// v4Fields returns the SigV4 fields of a form carrying policy (JSON).
func (s postSigner) v4Fields(policy string) []postField {
	b64 := base64.StdEncoding.EncodeToString([]byte(policy))
	mac := func(key []byte, data string) []byte {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(data))
		return m.Sum(nil)
	}
	k := mac([]byte("AWS4"+s.secret), s.now.Format("20060102"))
	k = mac(k, servertest.Region)
	k = mac(k, "s3")
	k = mac(k, "aws4_request")
	return []postField{
		{"x-amz-algorithm", "AWS4-HMAC-SHA256"},
		{"x-amz-credential", s.credential()},
		{"x-amz-date", s.amzDate()},
		{"policy", b64},
		{"x-amz-signature", hex.EncodeToString(mac(k, b64))},
	}
}

// v2Fields returns the SigV2 fields of a form carrying policy (JSON).
func (s postSigner) v2Fields(policy string) []postField {
	b64 := base64.StdEncoding.EncodeToString([]byte(policy))
	m := hmac.New(sha1.New, []byte(s.secret))
	m.Write([]byte(b64))
	return []postField{
		{"AWSAccessKeyId", s.id},
		{"policy", b64},
		{"signature", base64.StdEncoding.EncodeToString(m.Sum(nil))},
	}
}

// postErrorDoc is an S3 error document with the extra elements POST
// errors carry.
type postErrorDoc struct {
	Code           string `xml:"Code"`
	Message        string `xml:"Message"`
	ArgumentName   string `xml:"ArgumentName"`
	ArgumentValue  string `xml:"ArgumentValue"`
	ProposedSize   string `xml:"ProposedSize"`
	MaxSizeAllowed string `xml:"MaxSizeAllowed"`
	MinSizeAllowed string `xml:"MinSizeAllowed"`
	Condition      string `xml:"Condition"`
	StringToSign   string `xml:"StringToSign"`
}

func without(fields []postField, name string) []postField {
	var out []postField
	for _, f := range fields {
		if !strings.EqualFold(f.name, name) {
			out = append(out, f)
		}
	}
	return out
}

// TestPostObjectSDKPresign uploads with the form aws-sdk-go-v2's
// PresignPostObject builds, as an application hands it to a browser.
func TestPostObjectSDKPresign(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.bucket("post-sdk")
	pc := s3.NewPresignClient(e.c)
	req, err := pc.PresignPostObject(e.ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("uploads/photo.txt")},
		func(o *s3.PresignPostOptions) {
			o.Expires = 5 * time.Minute
			o.Conditions = []any{
				[]any{"starts-with", "$Content-Type", "text/"},
				map[string]string{"x-amz-meta-color": "blue"},
				[]any{"content-length-range", 1, 1 << 20},
			}
		})
	if err != nil {
		t.Fatal(err)
	}
	var fields []postField
	for k, v := range req.Values {
		fields = append(fields, postField{k, v})
	}
	fields = append(fields, postField{"Content-Type", "text/plain"}, postField{"x-amz-meta-color", "blue"})
	body := []byte("hello from a browser")
	resp, rb := postForm(t, req.URL, fields, postFile{filename: "photo.txt", body: body})
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("status = %d, want 204: %s", resp.StatusCode, rb)
	}
	if got, want := resp.Header.Get("ETag"), quoted(md5hex(body)); got != want {
		t.Errorf("ETag = %q, want %q", got, want)
	}
	if got, want := resp.Header.Get("Location"), e.n.Endpoint+"/"+b+"/uploads/photo.txt"; got != want {
		t.Errorf("Location = %q, want %q", got, want)
	}
	if resp.Header.Get("x-amz-checksum-crc64nvme") == "" {
		t.Errorf("no x-amz-checksum-crc64nvme in %v", resp.Header)
	}
	got, out := e.get(b, "uploads/photo.txt")
	if !bytes.Equal(got, body) || aws.ToString(out.ContentType) != "text/plain" || out.Metadata["color"] != "blue" {
		t.Errorf("object = %q, type %q, metadata %v", got, aws.ToString(out.ContentType), out.Metadata)
	}

	// The same form with a value the policy does not allow.
	fields = append(without(fields, "x-amz-meta-color"), postField{"x-amz-meta-color", "red"})
	resp, rb = postForm(t, req.URL, fields, postFile{body: body})
	doc := checkErrorDoc(t, resp, rb, http.StatusForbidden, "AccessDenied")
	if want := `Invalid according to Policy: Policy Condition failed: ["eq", "$x-amz-meta-color", "blue"]`; doc.Message != want {
		t.Errorf("Message = %q, want %q", doc.Message, want)
	}
	// S3 writes the quotes as they are (clients match the raw text).
	if !bytes.Contains(rb, []byte(`<Message>Invalid according to Policy: Policy Condition failed: ["eq", "$x-amz-meta-color", "blue"]</Message>`)) {
		t.Errorf("raw error document: %s", rb)
	}
}

// TestPostObjectVirtualHosted posts to bucket.<domain>/ and checks that
// S3 reports the object's virtual-hosted URL.
func TestPostObjectVirtualHosted(t *testing.T) {
	t.Parallel()
	const domain = "s3.sluice.test"
	n := servertest.Start(t, servertest.Options{Domains: []string{domain}})
	e := &env{t: t, n: n, c: n.S3(checkRequestID(t)), ctx: context.Background()}
	b := e.bucket("post-vhost")
	s := rootSigner()
	pol := s.policy(t, true, s.now.Add(time.Hour), map[string]string{"bucket": b}, []any{"starts-with", "$key", "dir/"},
		map[string]string{"success_action_status": "201"})
	fields := append([]postField{{"key", "dir/${filename}"}, {"success_action_status", "201"}}, s.v4Fields(pol)...)
	body, ct := postFormBody(t, fields, postFile{filename: "v.txt", body: []byte("vhost")}, nil)
	_, port, _ := net.SplitHostPort(n.Addr)
	req := newRequest(t, http.MethodPost, "http://"+n.Addr+"/", body)
	req.Host = b + "." + domain + ":" + port
	req.Header.Set("Content-Type", ct)
	resp, rb := rawDo(t, req)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("status = %d, want 201: %s", resp.StatusCode, rb)
	}
	var pr struct {
		Location, Bucket, Key, ETag string
	}
	if err := xml.Unmarshal(rb, &pr); err != nil {
		t.Fatalf("PostResponse: %v\n%s", err, rb)
	}
	want := "http://" + b + "." + domain + ":" + port + "/dir/v.txt"
	if pr.Location != want || pr.Bucket != b || pr.Key != "dir/v.txt" || pr.ETag != quoted(md5hex([]byte("vhost"))) {
		t.Errorf("PostResponse = %+v, want Location %s", pr, want)
	}
	if got, _ := e.get(b, "dir/v.txt"); string(got) != "vhost" {
		t.Errorf("object = %q", got)
	}
}

// TestPostObjectResults covers what a successful form asks S3 to answer.
func TestPostObjectResults(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.bucket("post-results")
	url := e.n.Endpoint + "/" + b
	s := rootSigner()
	exp := s.now.Add(time.Hour)
	form := func(extra ...postField) []postField {
		conds := []any{map[string]string{"bucket": b}, []any{"starts-with", "$key", ""}}
		for _, f := range extra {
			if f.name != "key" {
				conds = append(conds, []any{"starts-with", "$" + f.name, ""})
			}
		}
		return append(extra, s.v4Fields(s.policy(t, true, exp, conds...))...)
	}
	file := []byte("result body")
	etag := quoted(md5hex(file))

	tests := []struct {
		name     string
		fields   []postField
		filename string
		status   int
		key      string
		check    func(t *testing.T, resp *http.Response, body []byte)
	}{
		{name: "default 204", fields: form(postField{"key", "r/plain"}), status: http.StatusNoContent, key: "r/plain"},
		{name: "status 200", fields: form(postField{"key", "r/200"}, postField{"success_action_status", "200"}), status: http.StatusOK, key: "r/200",
			check: func(t *testing.T, resp *http.Response, body []byte) {
				if len(body) != 0 {
					t.Errorf("body = %q, want empty", body)
				}
			}},
		{name: "status 201", fields: form(postField{"key", "r/201 é"}, postField{"success_action_status", "201"}), status: http.StatusCreated, key: "r/201 é",
			check: func(t *testing.T, resp *http.Response, body []byte) {
				var pr struct {
					XMLName                     xml.Name `xml:"PostResponse"`
					Location, Bucket, Key, ETag string
				}
				if err := xml.Unmarshal(body, &pr); err != nil {
					t.Fatalf("%v: %s", err, body)
				}
				loc := url + "/r/201%20%C3%A9"
				if pr.Location != loc || pr.Bucket != b || pr.Key != "r/201 é" || pr.ETag != etag || resp.Header.Get("Location") != loc {
					t.Errorf("PostResponse = %+v, Location header %q, want %s", pr, resp.Header.Get("Location"), loc)
				}
			}},
		{name: "other status is 204", fields: form(postField{"key", "r/404"}, postField{"success_action_status", "404"}), status: http.StatusNoContent, key: "r/404"},
		{name: "redirect", fields: form(postField{"key", "r/redir"}, postField{"success_action_redirect", "https://app.example/done?x=1"}), status: http.StatusSeeOther, key: "r/redir",
			check: func(t *testing.T, resp *http.Response, body []byte) {
				want := "https://app.example/done?x=1&bucket=" + b + "&key=r%2Fredir&etag=%22" + md5hex(file) + "%22"
				if got := resp.Header.Get("Location"); got != want {
					t.Errorf("Location = %q, want %q", got, want)
				}
			}},
		{name: "legacy redirect field", fields: form(postField{"key", "r/legacy"}, postField{"redirect", "http://app.example/"}), status: http.StatusSeeOther, key: "r/legacy"},
		{name: "relative redirect is ignored", fields: form(postField{"key", "r/rel"}, postField{"success_action_redirect", "/done"}), status: http.StatusNoContent, key: "r/rel"},
		{name: "filename substitution", fields: form(postField{"key", "up/${filename}"}), filename: "from-browser.txt", status: http.StatusNoContent, key: "up/from-browser.txt"},
		{name: "no filename keeps ${filename}", fields: form(postField{"key", "lit/${filename}"}), status: http.StatusNoContent, key: "lit/${filename}"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := postForm(t, url, tc.fields, postFile{filename: tc.filename, body: file})
			if resp.StatusCode != tc.status {
				t.Fatalf("status = %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			if got := resp.Header.Get("ETag"); got != etag {
				t.Errorf("ETag = %q, want %q", got, etag)
			}
			if tc.check != nil {
				tc.check(t, resp, body)
			}
			if got, _ := e.get(b, tc.key); !bytes.Equal(got, file) {
				t.Errorf("object %q = %q", tc.key, got)
			}
		})
	}
}

// TestPostObjectPolicy checks every kind of condition and the answers S3
// gives a form its policy refuses. A refused form stores nothing.
func TestPostObjectPolicy(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.bucket("post-policy")
	other := e.bucket("post-policy-other")
	s := rootSigner()
	exp := s.now.Add(time.Hour)
	base := []any{map[string]string{"bucket": b}, []any{"starts-with", "$key", "ok/"}}
	conds := func(more ...any) []any { return append(append([]any{}, base...), more...) }

	tests := []struct {
		name   string
		v2     bool
		policy string // JSON; "" builds one from conds
		conds  []any
		expiry time.Time
		fields []postField // besides key and the signature
		key    string
		file   []byte
		bucket string
		status int
		code   string
		msg    string // exact message, if set
		check  func(t *testing.T, d postErrorDoc)
	}{
		{name: "eq and starts-with", conds: conds([]any{"eq", "$Content-Type", "text/plain"}, []any{"starts-with", "$x-amz-meta-tag", "ab"}),
			fields: []postField{{"Content-Type", "text/plain"}, {"x-amz-meta-tag", "abc"}}, status: 204},
		{name: "SigV2", v2: true, conds: conds(), status: 204},
		{name: "names match regardless of case", conds: []any{map[string]string{"BuCkEt": b}, []any{"StArTs-WiTh", "$KeY", "ok/"}, map[string]string{"CoNtEnT-TyPe": "text/plain"}},
			fields: []postField{{"content-type", "text/plain"}}, status: 204},
		{name: "empty starts-with allows anything", conds: conds([]any{"starts-with", "$Cache-Control", ""}), fields: []postField{{"Cache-Control", "max-age=5"}}, status: 204},
		{name: "x-ignore- fields need no condition", conds: conds(), fields: []postField{{"x-ignore-submit", "Upload"}}, status: 204},
		{name: "starts-with on each content type", conds: conds([]any{"starts-with", "$Content-Type", "image/"}), fields: []postField{{"Content-Type", "image/png, image/jpeg"}}, status: 204},
		{name: "size within range", conds: conds([]any{"content-length-range", 2, 5}), file: []byte("12345"), status: 204},
		{name: "size range as strings", conds: conds([]any{"content-length-range", "1", "20"}), status: 204},

		{name: "eq fails", conds: conds(map[string]string{"x-amz-meta-a": "b"}), fields: []postField{{"x-amz-meta-a", "c"}},
			status: 403, code: "AccessDenied", msg: `Invalid according to Policy: Policy Condition failed: ["eq", "$x-amz-meta-a", "b"]`},
		{name: "starts-with fails", conds: []any{map[string]string{"bucket": b}, []any{"starts-with", "$key", "other/"}},
			status: 403, code: "AccessDenied", msg: `Invalid according to Policy: Policy Condition failed: ["starts-with", "$key", "other/"]`},
		{name: "values are case-sensitive", conds: conds(map[string]string{"acl": "PRIVATE"}), fields: []postField{{"acl", "private"}},
			status: 403, code: "AccessDenied", msg: `Invalid according to Policy: Policy Condition failed: ["eq", "$acl", "PRIVATE"]`},
		{name: "missing field fails a non-empty condition", conds: conds([]any{"starts-with", "$x-amz-meta-foo", "bar"}),
			status: 403, code: "AccessDenied", msg: `Invalid according to Policy: Policy Condition failed: ["starts-with", "$x-amz-meta-foo", "bar"]`},
		{name: "condition without $ never holds", conds: conds([]any{"eq", "x-amz-meta-a", "b"}), fields: []postField{{"x-amz-meta-a", "b"}},
			status: 403, code: "AccessDenied", msg: `Invalid according to Policy: Policy Condition failed: ["eq", "x-amz-meta-a", "b"]`},
		{name: "extra field", conds: conds(), fields: []postField{{"x-amz-meta-extra", "1"}},
			status: 403, code: "AccessDenied", msg: "Invalid according to Policy: Extra input fields: x-amz-meta-extra"},
		{name: "no bucket condition", conds: []any{[]any{"starts-with", "$key", ""}},
			status: 403, code: "AccessDenied", msg: "Invalid according to Policy: Extra input fields: bucket"},
		{name: "posted to another bucket", conds: conds(), bucket: other, fields: []postField{{"bucket", b}},
			status: 403, code: "AccessDenied", msg: `Invalid according to Policy: Policy Condition failed: ["eq", "$bucket", "` + b + `"]`},
		{name: "expired", conds: conds(), expiry: s.now.Add(-time.Minute),
			status: 403, code: "AccessDenied", msg: "Invalid according to Policy: Policy expired."},
		{name: "too large", conds: conds([]any{"content-length-range", 0, 4}), file: []byte("123456"),
			status: 400, code: "EntityTooLarge", msg: "Your proposed upload exceeds the maximum allowed size",
			check: func(t *testing.T, d postErrorDoc) {
				if d.ProposedSize != "6" || d.MaxSizeAllowed != "4" {
					t.Errorf("ProposedSize %q MaxSizeAllowed %q, want 6 and 4", d.ProposedSize, d.MaxSizeAllowed)
				}
			}},
		{name: "too large, streamed", conds: conds([]any{"content-length-range", 0, 100 << 10}), file: randBytes(3<<20, 7),
			status: 400, code: "EntityTooLarge",
			check: func(t *testing.T, d postErrorDoc) {
				if d.ProposedSize != "3145728" {
					t.Errorf("ProposedSize = %q", d.ProposedSize)
				}
			}},
		{name: "too small", conds: conds([]any{"content-length-range", 10, 20}), file: []byte("123"),
			status: 400, code: "EntityTooSmall", msg: "Your proposed upload is smaller than the minimum allowed size",
			check: func(t *testing.T, d postErrorDoc) {
				if d.ProposedSize != "3" || d.MinSizeAllowed != "10" {
					t.Errorf("ProposedSize %q MinSizeAllowed %q, want 3 and 10", d.ProposedSize, d.MinSizeAllowed)
				}
			}},
		{name: "range bounds not integers", conds: conds([]any{"content-length-range", "a", 10}),
			status: 403, code: "AccessDenied", msg: `Invalid according to Policy: Policy Condition failed: ["content-length-range", "a", 10]`},
		{name: "range without maximum", conds: conds([]any{"content-length-range", 0}), status: 400, code: "InvalidPolicyDocument"},
		{name: "no expiration", policy: `{"conditions": [{"bucket": "` + b + `"}]}`, status: 400, code: "InvalidPolicyDocument"},
		{name: "expiration names are case-sensitive", policy: `{"EXPIRATION": "2099-01-01T00:00:00Z", "conditions": []}`, status: 400, code: "InvalidPolicyDocument"},
		{name: "expiration not ISO 8601", policy: `{"expiration": "2099-01-01 00:00:00", "conditions": []}`, status: 400, code: "InvalidPolicyDocument"},
		{name: "no conditions", policy: `{"expiration": "2099-01-01T00:00:00Z"}`, status: 400, code: "InvalidPolicyDocument"},
		{name: "empty simple condition", policy: `{"expiration": "2099-01-01T00:00:00Z", "conditions": [{}]}`, status: 400, code: "InvalidPolicyDocument",
			msg: "Invalid Policy: Invalid Simple-Condition: Simple-Conditions must have exactly one property specified."},
		{name: "two-property simple condition", policy: `{"expiration": "2099-01-01T00:00:00Z", "conditions": [{"bucket": "a", "key": "b"}]}`,
			status: 400, code: "InvalidPolicyDocument", msg: "Invalid Policy: Invalid Simple-Condition: Simple-Conditions must have exactly one property specified."},
		{name: "not JSON", policy: `{expiration`, status: 400, code: "InvalidPolicyDocument"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key := "ok/" + strings.ReplaceAll(tc.name, " ", "-")
			if tc.key != "" {
				key = tc.key
			}
			pol := tc.policy
			if pol == "" {
				expiry := exp
				if !tc.expiry.IsZero() {
					expiry = tc.expiry
				}
				pol = s.policy(t, !tc.v2, expiry, tc.conds...)
			}
			fields := append([]postField{{"key", key}}, tc.fields...)
			if tc.v2 {
				fields = append(fields, s.v2Fields(pol)...)
			} else {
				fields = append(fields, s.v4Fields(pol)...)
			}
			file := tc.file
			if file == nil {
				file = []byte("policy body")
			}
			bucket := b
			if tc.bucket != "" {
				bucket = tc.bucket
			}
			resp, body := postForm(t, e.n.Endpoint+"/"+bucket, fields, postFile{body: file})
			if resp.StatusCode != tc.status {
				t.Fatalf("status = %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			if tc.status == http.StatusNoContent {
				if got, _ := e.get(bucket, key); !bytes.Equal(got, file) {
					t.Errorf("object = %q", got)
				}
				return
			}
			checkErrorDoc(t, resp, body, tc.status, tc.code)
			var d postErrorDoc
			xml.Unmarshal(body, &d)
			if tc.msg != "" && d.Message != tc.msg {
				t.Errorf("Message = %q, want %q", d.Message, tc.msg)
			}
			if tc.check != nil {
				tc.check(t, d)
			}
			_, err := e.c.HeadObject(e.ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
			wantErr(t, err, "NotFound", http.StatusNotFound)
		})
	}
}

// TestPostObjectForm covers the form itself: its encoding, its required
// fields, its signature, and the metadata fields that become the
// object's.
func TestPostObjectForm(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.bucket("post-form")
	url := e.n.Endpoint + "/" + b
	s := rootSigner()
	exp := s.now.Add(time.Hour)
	any4 := func(names ...string) []postField {
		conds := []any{map[string]string{"bucket": b}, []any{"starts-with", "$key", ""}}
		for _, n := range names {
			conds = append(conds, []any{"starts-with", "$" + n, ""})
		}
		return s.v4Fields(s.policy(t, true, exp, conds...))
	}

	t.Run("not multipart", func(t *testing.T) {
		req := newRequest(t, http.MethodPost, url, strings.NewReader("key=a"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, body := rawDo(t, req)
		checkErrorDoc(t, resp, body, http.StatusPreconditionFailed, "PreconditionFailed")
		var d postErrorDoc
		xml.Unmarshal(body, &d)
		if d.Condition != "Bucket POST must be of the enclosure-type multipart/form-data" {
			t.Errorf("Condition = %q", d.Condition)
		}
	})
	t.Run("malformed multipart", func(t *testing.T) {
		req := newRequest(t, http.MethodPost, url, strings.NewReader("no boundary here"))
		req.Header.Set("Content-Type", "multipart/form-data; boundary=xyz")
		resp, body := rawDo(t, req)
		checkErrorDoc(t, resp, body, http.StatusBadRequest, "MalformedPOSTRequest")
	})
	t.Run("part without a name", func(t *testing.T) {
		body := new(bytes.Buffer)
		mw := multipart.NewWriter(body)
		for _, f := range append([]postField{{"key", "a"}}, any4()...) {
			mw.WriteField(f.name, f.value)
		}
		w, _ := mw.CreateFormFile("", "file.bin")
		w.Write([]byte("data"))
		mw.Close()
		req := newRequest(t, http.MethodPost, url, body)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		resp, rb := rawDo(t, req)
		checkErrorDoc(t, resp, rb, http.StatusBadRequest, "MalformedPOSTRequest")
	})
	t.Run("no bucket", func(t *testing.T) {
		resp, body := postForm(t, e.n.Endpoint+"/post-form-missing", append([]postField{{"key", "a"}}, any4()...), postFile{body: []byte("x")})
		checkErrorDoc(t, resp, body, http.StatusNotFound, "NoSuchBucket")
	})
	t.Run("no file", func(t *testing.T) {
		resp, body := postForm(t, url, append([]postField{{"key", "a"}}, any4()...), postFile{omit: true})
		d := checkErrorDoc(t, resp, body, http.StatusBadRequest, "InvalidArgument")
		if d.Message != "POST requires exactly one file upload per request." {
			t.Errorf("Message = %q", d.Message)
		}
	})
	t.Run("no key", func(t *testing.T) {
		resp, body := postForm(t, url, any4(), postFile{body: []byte("x")})
		checkErrorDoc(t, resp, body, http.StatusBadRequest, "InvalidArgument")
		var d postErrorDoc
		xml.Unmarshal(body, &d)
		if d.ArgumentName != "key" || !strings.Contains(d.Message, "must contain a field named 'key'") {
			t.Errorf("ArgumentName %q Message %q", d.ArgumentName, d.Message)
		}
	})
	t.Run("key after the file is ignored", func(t *testing.T) {
		body, ct := postFormBody(t, any4(), postFile{body: []byte("x")}, []postField{{"key", "late"}})
		req := newRequest(t, http.MethodPost, url, body)
		req.Header.Set("Content-Type", ct)
		resp, rb := rawDo(t, req)
		checkErrorDoc(t, resp, rb, http.StatusBadRequest, "InvalidArgument")
	})
	t.Run("fields before the file are bounded", func(t *testing.T) {
		fields := append([]postField{{"key", "a"}, {"x-ignore-pad", strings.Repeat("p", 21<<10)}}, any4()...)
		resp, body := postForm(t, url, fields, postFile{body: []byte("x")})
		checkErrorDoc(t, resp, body, http.StatusBadRequest, "MaxPostPreDataLengthExceededError")
	})

	signed := append([]postField{{"key", "sig"}}, any4()...)
	for _, tc := range []struct {
		name, code string
		status     int
		fields     []postField
		argument   string
	}{
		{"missing x-amz-signature", "InvalidArgument", 400, without(signed, "x-amz-signature"), "X-Amz-Signature"},
		{"missing x-amz-algorithm and credential", "InvalidArgument", 400, without(without(signed, "x-amz-algorithm"), "x-amz-credential"), "X-Amz-Algorithm"},
		{"missing policy", "InvalidArgument", 400, without(signed, "policy"), "Policy"},
		{"SigV2 missing AWSAccessKeyId", "InvalidArgument", 400, []postField{{"key", "sig"}, {"signature", "abc="}, {"policy", "e30="}}, "AWSAccessKeyId"},
		{"SigV2 missing signature", "InvalidArgument", 400, []postField{{"key", "sig"}, {"AWSAccessKeyId", servertest.AccessKeyID}, {"policy", "e30="}}, "Signature"},
		{"unknown algorithm", "InvalidArgument", 400, append(without(signed, "x-amz-algorithm"), postField{"x-amz-algorithm", "AWS4-ECDSA-P256-SHA256"}), "X-Amz-Algorithm"},
		{"malformed credential", "InvalidArgument", 400, append(without(signed, "x-amz-credential"), postField{"x-amz-credential", "nope"}), "X-Amz-Credential"},
		{"unknown access key", "InvalidAccessKeyId", 403, append(without(signed, "x-amz-credential"),
			postField{"x-amz-credential", "AKIANOSUCHKEY0000000/" + s.now.Format("20060102") + "/us-east-1/s3/aws4_request"}), ""},
		{"wrong signature", "SignatureDoesNotMatch", 403, append(without(signed, "x-amz-signature"), postField{"x-amz-signature", strings.Repeat("0", 64)}), ""},
		{"tampered policy", "SignatureDoesNotMatch", 403, append(without(signed, "policy"), postField{"policy", signed[4].value[:len(signed[4].value)-4]}), ""},
		{"SigV2 wrong signature", "SignatureDoesNotMatch", 403, append(without(append([]postField{{"key", "sig"}},
			s.v2Fields(s.policy(t, false, exp, map[string]string{"bucket": b}))...), "signature"), postField{"signature", "AAAA"}), ""},
		{"anonymous", "AccessDenied", 403, []postField{{"key", "sig"}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := postForm(t, url, tc.fields, postFile{body: []byte("x")})
			checkErrorDoc(t, resp, body, tc.status, tc.code)
			var d postErrorDoc
			xml.Unmarshal(body, &d)
			if d.ArgumentName != tc.argument {
				t.Errorf("ArgumentName = %q, want %q (%s)", d.ArgumentName, tc.argument, d.Message)
			}
			if tc.code == "SignatureDoesNotMatch" && d.StringToSign == "" {
				t.Errorf("no StringToSign in %s", body)
			}
		})
	}

	t.Run("metadata fields", func(t *testing.T) {
		names := []string{"Content-Type", "Cache-Control", "Content-Disposition", "Content-Encoding", "Expires",
			"x-amz-meta-Mixed-Case", "x-amz-storage-class", "tagging", "acl"}
		expires := time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)
		tags := "<Tagging><TagSet><Tag><Key>k1</Key><Value>v1</Value></Tag><Tag><Key>k2</Key><Value>v2</Value></Tag></TagSet></Tagging>"
		fields := append([]postField{
			{"key", "meta"}, {"Content-Type", "image/png"}, {"Cache-Control", "max-age=60"},
			{"Content-Disposition", `attachment; filename="a.png"`}, {"Content-Encoding", "identity"}, {"Expires", expires},
			{"x-amz-meta-Mixed-Case", "Value"}, {"x-amz-storage-class", "STANDARD_IA"}, {"tagging", tags}, {"acl", "bucket-owner-full-control"},
		}, any4(names...)...)
		resp, body := postForm(t, url, fields, postFile{filename: "ignored.bin", body: []byte("png")})
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("status = %d: %s", resp.StatusCode, body)
		}
		out := e.head(b, "meta")
		if aws.ToString(out.ContentType) != "image/png" || aws.ToString(out.CacheControl) != "max-age=60" ||
			aws.ToString(out.ContentDisposition) != `attachment; filename="a.png"` || aws.ToString(out.ContentEncoding) != "identity" ||
			aws.ToString(out.ExpiresString) != expires || out.Metadata["mixed-case"] != "Value" || out.StorageClass != types.StorageClassStandardIa {
			t.Errorf("HeadObject = type %q cache %q disp %q enc %q expires %q meta %v class %q",
				aws.ToString(out.ContentType), aws.ToString(out.CacheControl), aws.ToString(out.ContentDisposition),
				aws.ToString(out.ContentEncoding), aws.ToString(out.ExpiresString), out.Metadata, out.StorageClass)
		}
		tg, err := e.c.GetObjectTagging(e.ctx, &s3.GetObjectTaggingInput{Bucket: aws.String(b), Key: aws.String("meta")})
		if err != nil {
			t.Fatal(err)
		}
		if len(tg.TagSet) != 2 || aws.ToString(tg.TagSet[0].Key) != "k1" || aws.ToString(tg.TagSet[1].Value) != "v2" {
			t.Errorf("tags = %+v", tg.TagSet)
		}
	})
	t.Run("tagging not XML", func(t *testing.T) {
		fields := append([]postField{{"key", "badtags"}, {"tagging", "not-xml"}}, any4("tagging")...)
		resp, body := postForm(t, url, fields, postFile{body: []byte("x")})
		checkErrorDoc(t, resp, body, http.StatusBadRequest, "MalformedXML")
	})
	t.Run("invalid storage class", func(t *testing.T) {
		fields := append([]postField{{"key", "badclass"}, {"x-amz-storage-class", "FAST"}}, any4("x-amz-storage-class")...)
		resp, body := postForm(t, url, fields, postFile{body: []byte("x")})
		checkErrorDoc(t, resp, body, http.StatusBadRequest, "InvalidStorageClass")
	})

	file := randBytes(70_000, 3)
	sha := sha256.Sum256(file)
	md := md5.Sum(file)
	for _, tc := range []struct {
		name   string
		fields []postField
		status int
		code   string
	}{
		{"checksum", []postField{{"x-amz-checksum-sha256", base64.StdEncoding.EncodeToString(sha[:])}}, 204, ""},
		{"wrong checksum", []postField{{"x-amz-checksum-sha256", base64.StdEncoding.EncodeToString(make([]byte, 32))}}, 400, "BadDigest"},
		{"malformed checksum", []postField{{"x-amz-checksum-sha256", "sailorjerry"}}, 400, "InvalidRequest"},
		{"Content-MD5", []postField{{"Content-MD5", base64.StdEncoding.EncodeToString(md[:])}}, 204, ""},
		{"wrong Content-MD5", []postField{{"Content-MD5", base64.StdEncoding.EncodeToString(make([]byte, 16))}}, 400, "BadDigest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := "ck/" + strings.ReplaceAll(tc.name, " ", "-")
			fields := append(append([]postField{{"key", key}}, tc.fields...), any4("Content-MD5")...)
			resp, body := postForm(t, url, fields, postFile{body: file})
			if tc.status == http.StatusNoContent {
				if resp.StatusCode != tc.status {
					t.Fatalf("status = %d: %s", resp.StatusCode, body)
				}
				out := e.head(b, key, func(in *s3.HeadObjectInput) { in.ChecksumMode = types.ChecksumModeEnabled })
				if strings.Contains(tc.name, "checksum") && aws.ToString(out.ChecksumSHA256) != tc.fields[0].value {
					t.Errorf("ChecksumSHA256 = %q", aws.ToString(out.ChecksumSHA256))
				}
				return
			}
			checkErrorDoc(t, resp, body, tc.status, tc.code)
		})
	}

	t.Run("large file streams", func(t *testing.T) {
		big := randBytes(9<<20+123, 11)
		resp, body := postForm(t, url, append([]postField{{"key", "big"}}, any4()...), postFile{body: big})
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("status = %d: %s", resp.StatusCode, body)
		}
		if got, _ := e.get(b, "big"); !bytes.Equal(got, big) {
			t.Errorf("object differs (%d bytes, want %d)", len(got), len(big))
		}
	})
	t.Run("versioned bucket", func(t *testing.T) {
		vb := e.versionedBucket("post-form-versioned")
		pol := s.policy(t, true, exp, map[string]string{"bucket": vb}, map[string]string{"key": "v"})
		resp, body := postForm(t, e.n.Endpoint+"/"+vb, append([]postField{{"key", "v"}}, s.v4Fields(pol)...), postFile{body: []byte("1")})
		if resp.StatusCode != http.StatusNoContent || resp.Header.Get("x-amz-version-id") == "" {
			t.Fatalf("status = %d, x-amz-version-id %q: %s", resp.StatusCode, resp.Header.Get("x-amz-version-id"), body)
		}
	})
}

// TestPostObjectUserCredentials checks that an IAM user's form reaches
// only the user's own buckets.
func TestPostObjectUserCredentials(t *testing.T) {
	t.Parallel()
	e := start(t)
	b := e.bucket("post-root-only")
	k, uc := newUser(t, e.n, iam.NewFromConfig(e.n.AWSConfig()), "poster")
	s := postSigner{id: aws.ToString(k.AccessKeyId), secret: aws.ToString(k.SecretAccessKey), now: time.Now().UTC()}
	pol := s.policy(t, true, s.now.Add(time.Hour), map[string]string{"bucket": b}, map[string]string{"key": "k"})
	resp, body := postForm(t, e.n.Endpoint+"/"+b, append([]postField{{"key", "k"}}, s.v4Fields(pol)...), postFile{body: []byte("x")})
	checkErrorDoc(t, resp, body, http.StatusForbidden, "AccessDenied")

	// The user's own bucket takes the user's forms.
	if _, err := uc.CreateBucket(e.ctx, &s3.CreateBucketInput{Bucket: aws.String("post-users-own")}); err != nil {
		t.Fatal(err)
	}
	pol = s.policy(t, true, s.now.Add(time.Hour), map[string]string{"bucket": "post-users-own"}, map[string]string{"key": "k"})
	resp, body = postForm(t, e.n.Endpoint+"/post-users-own", append([]postField{{"key", "k"}}, s.v4Fields(pol)...), postFile{body: []byte("x")})
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("status = %d: %s", resp.StatusCode, body)
	}
}

// postScript generates forms with boto3's generate_presigned_post (SigV4
// and SigV2) and posts them with urllib, as a Python backend and a
// browser would.
const postScript = `
import json, os, sys, urllib.request, uuid
import boto3
from botocore.config import Config

ep, bucket = os.environ["SLUICE_ENDPOINT"], os.environ["SLUICE_BUCKET"]

def post(url, fields, name, body):
    boundary = uuid.uuid4().hex
    parts = []
    for k, v in fields.items():
        parts.append(("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n" % (boundary, k, v)).encode())
    parts.append(("--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"%s\"\r\nContent-Type: text/plain\r\n\r\n" % (boundary, name)).encode() + body + b"\r\n")
    parts.append(("--%s--\r\n" % boundary).encode())
    req = urllib.request.Request(url, data=b"".join(parts), method="POST",
                                 headers={"Content-Type": "multipart/form-data; boundary=" + boundary})
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()

for sig in ("s3v4", "s3"):
    s3 = boto3.client("s3", endpoint_url=ep, config=Config(signature_version=sig, s3={"addressing_style": "path"}))
    p = s3.generate_presigned_post(bucket, sig + "/${filename}",
        Fields={"Content-Type": "text/plain", "success_action_status": "201", "x-amz-meta-via": sig},
        Conditions=[["starts-with", "$Content-Type", "text/"], {"success_action_status": "201"},
                    {"x-amz-meta-via": sig}, ["content-length-range", 1, 1024]],
        ExpiresIn=300)
    status, body = post(p["url"], p["fields"], "hello.txt", b"hello " + sig.encode())
    if status != 201 or b"<Key>" + sig.encode() + b"/hello.txt</Key>" not in body:
        sys.exit("%s: %d %s" % (sig, status, body))
    o = s3.get_object(Bucket=bucket, Key=sig + "/hello.txt")
    got = o["Body"].read()
    if got != b"hello " + sig.encode() or o["ContentType"] != "text/plain" or o["Metadata"].get("via") != sig:
        sys.exit("%s: object %r %r %r" % (sig, got, o["ContentType"], o["Metadata"]))
    status, body = post(p["url"], p["fields"], "big.txt", b"x" * 2000)
    if status != 400 or b"EntityTooLarge" not in body:
        sys.exit("%s: oversize answered %d %s" % (sig, status, body))
    print("ok", sig)
`

// TestPostObjectBoto3 runs postScript against a node. It is skipped
// without python3 and boto3.
func TestPostObjectBoto3(t *testing.T) {
	t.Parallel()
	needBoto3(t)
	e := start(t)
	b := e.bucket("post-boto3")
	home := t.TempDir()
	env := clientEnv(home,
		"SLUICE_ENDPOINT="+e.n.Endpoint,
		"SLUICE_BUCKET="+b,
		"PYTHONDONTWRITEBYTECODE=1",
	)
	runClient(t, "boto3 script", 2*time.Minute, home, env, "python3", "-c", postScript)
}

// TestPostObjectAnonymous posts unsigned forms to a bucket whose ACL lets
// everyone write (a node with S3's pre-2023 bucket defaults, which allow
// ACLs).
func TestPostObjectAnonymous(t *testing.T) {
	t.Parallel()
	n := servertest.Start(t, servertest.Options{Configure: func(c *server.Config) { c.LegacyBucketDefaults = true }})
	e := &env{t: t, n: n, c: n.S3(checkRequestID(t)), ctx: context.Background()}
	open := "post-anon-open"
	if _, err := e.c.CreateBucket(e.ctx, &s3.CreateBucketInput{Bucket: aws.String(open), ACL: types.BucketCannedACLPublicReadWrite}); err != nil {
		t.Fatal(err)
	}
	closed := e.bucket("post-anon-closed")

	tags := "<Tagging><TagSet><Tag><Key>0</Key><Value>0</Value></Tag></TagSet></Tagging>"
	fields := []postField{{"key", "anon.txt"}, {"acl", "public-read"}, {"Content-Type", "text/plain"}, {"tagging", tags}}
	resp, body := postForm(t, e.n.Endpoint+"/"+open, fields, postFile{body: []byte("bar")})
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("status = %d: %s", resp.StatusCode, body)
	}
	if got, out := e.get(open, "anon.txt"); string(got) != "bar" || aws.ToString(out.ContentType) != "text/plain" {
		t.Errorf("object = %q, type %q", got, aws.ToString(out.ContentType))
	}
	tg, err := e.c.GetObjectTagging(e.ctx, &s3.GetObjectTaggingInput{Bucket: aws.String(open), Key: aws.String("anon.txt")})
	if err != nil || len(tg.TagSet) != 1 {
		t.Errorf("tags = %+v, %v", tg, err)
	}
	// Unsigned, the form's public-read ACL lets anyone read the object.
	resp, body = rawDo(t, newRequest(t, http.MethodGet, e.n.Endpoint+"/"+open+"/anon.txt", nil))
	if resp.StatusCode != http.StatusOK || string(body) != "bar" {
		t.Errorf("anonymous GET = %d %q", resp.StatusCode, body)
	}

	resp, body = postForm(t, e.n.Endpoint+"/"+closed, fields, postFile{body: []byte("bar")})
	checkErrorDoc(t, resp, body, http.StatusForbidden, "AccessDenied")
}
