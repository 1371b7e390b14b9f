package iamapi_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/sluicehq/sluice/internal/server/servertest"
)

// call sends an IAM request signed with the root credentials: a form POST
// when method is POST, else the parameters in the query string.
func call(t *testing.T, n *servertest.Node, method string, params url.Values) (int, http.Header, string) {
	t.Helper()
	return callAt(t, n, method, params, time.Now())
}

// callAt is call with the request signed as of at.
func callAt(t *testing.T, n *servertest.Node, method string, params url.Values, at time.Time) (int, http.Header, string) {
	t.Helper()
	body := ""
	target := n.Endpoint + "/"
	if method == http.MethodPost {
		body = params.Encode()
	} else {
		target += "?" + params.Encode()
	}
	req, err := http.NewRequest(method, target, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	}
	sum := sha256.Sum256([]byte(body))
	creds := aws.Credentials{AccessKeyID: servertest.AccessKeyID, SecretAccessKey: servertest.SecretAccessKey}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "iam", servertest.Region, at); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(raw)
}

// xmlShape renders a document as its element paths and text, one per line
// (attributes as @name=value), so tests can compare structure exactly.
func xmlShape(t *testing.T, doc string) string {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(doc))
	var (
		path []string
		out  []string
		text string
	)
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("malformed XML %q: %v", doc, err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			path = append(path, tok.Name.Local)
			for _, a := range tok.Attr {
				out = append(out, strings.Join(path, "/")+" @"+a.Name.Local+"="+a.Value)
			}
			text = ""
		case xml.CharData:
			text += string(tok)
		case xml.EndElement:
			if s := strings.TrimSpace(text); s != "" {
				out = append(out, strings.Join(path, "/")+" = "+s)
			}
			text = ""
			path = path[:len(path)-1]
		}
	}
	return strings.Join(out, "\n")
}

var uuidRe = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}`)

func TestProtocol(t *testing.T) {
	n := servertest.Start(t)
	const nsAttr = "@xmlns=https://iam.amazonaws.com/doc/2010-05-08/"
	tests := []struct {
		name   string
		method string
		params url.Values
		status int
		want   string // xmlShape with the request ID replaced by RID
	}{
		{"CreateUserPOST", http.MethodPost, url.Values{"Action": {"CreateUser"}, "Version": {"2010-05-08"}, "UserName": {"zed"},
			"Tags.member.1.Key": {"a"}, "Tags.member.1.Value": {"1"}}, 200, `CreateUserResponse ` + nsAttr + `
CreateUserResponse/CreateUserResult/User/Path = /
CreateUserResponse/CreateUserResult/User/UserName = zed
CreateUserResponse/CreateUserResult/User/UserId = UID
CreateUserResponse/CreateUserResult/User/Arn = arn:aws:iam::000000000000:user/zed
CreateUserResponse/CreateUserResult/User/CreateDate = DATE
CreateUserResponse/CreateUserResult/User/Tags/member/Key = a
CreateUserResponse/CreateUserResult/User/Tags/member/Value = 1
CreateUserResponse/ResponseMetadata/RequestId = RID`},
		{"ListUsersGET", http.MethodGet, url.Values{"Action": {"ListUsers"}, "Version": {"2010-05-08"}}, 200, `ListUsersResponse ` + nsAttr + `
ListUsersResponse/ListUsersResult/Users/member/Path = /
ListUsersResponse/ListUsersResult/Users/member/UserName = zed
ListUsersResponse/ListUsersResult/Users/member/UserId = UID
ListUsersResponse/ListUsersResult/Users/member/Arn = arn:aws:iam::000000000000:user/zed
ListUsersResponse/ListUsersResult/Users/member/CreateDate = DATE
ListUsersResponse/ListUsersResult/IsTruncated = false
ListUsersResponse/ResponseMetadata/RequestId = RID`},
		{"DeleteUser", http.MethodPost, url.Values{"Action": {"DeleteUser"}, "Version": {"2010-05-08"}, "UserName": {"zed"}}, 200, `DeleteUserResponse ` + nsAttr + `
DeleteUserResponse/ResponseMetadata/RequestId = RID`},
		{"ListUsersEmpty", http.MethodPost, url.Values{"Action": {"ListUsers"}}, 200, `ListUsersResponse ` + nsAttr + `
ListUsersResponse/ListUsersResult/IsTruncated = false
ListUsersResponse/ResponseMetadata/RequestId = RID`},
		{"NoSuchEntity", http.MethodPost, url.Values{"Action": {"GetUser"}, "Version": {"2010-05-08"}, "UserName": {"nobody"}}, 404, `ErrorResponse ` + nsAttr + `
ErrorResponse/Error/Type = Sender
ErrorResponse/Error/Code = NoSuchEntity
ErrorResponse/Error/Message = The user with name nobody cannot be found.
ErrorResponse/RequestId = RID`},
		{"InvalidAction", http.MethodPost, url.Values{"Action": {"CreateRole"}, "Version": {"2010-05-08"}}, 400, `ErrorResponse ` + nsAttr + `
ErrorResponse/Error/Type = Sender
ErrorResponse/Error/Code = InvalidAction
ErrorResponse/Error/Message = Could not find operation CreateRole for version 2010-05-08
ErrorResponse/RequestId = RID`},
		{"WrongVersion", http.MethodGet, url.Values{"Action": {"ListUsers"}, "Version": {"2011-01-01"}}, 400, `ErrorResponse ` + nsAttr + `
ErrorResponse/Error/Type = Sender
ErrorResponse/Error/Code = InvalidAction
ErrorResponse/Error/Message = Could not find operation ListUsers for version 2011-01-01
ErrorResponse/RequestId = RID`},
		{"MissingAction", http.MethodPost, url.Values{"Version": {"2010-05-08"}}, 400, `ErrorResponse ` + nsAttr + `
ErrorResponse/Error/Type = Sender
ErrorResponse/Error/Code = MissingAction
ErrorResponse/Error/Message = Missing Action
ErrorResponse/RequestId = RID`},
	}
	userID := regexp.MustCompile(`UserId = AIDA[A-Z2-7]{17}`)
	date := regexp.MustCompile(`CreateDate = \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, hd, body := call(t, n, tt.method, tt.params)
			if status != tt.status {
				t.Errorf("status %d, want %d: %s", status, tt.status, body)
			}
			if ct := hd.Get("Content-Type"); ct != "text/xml" {
				t.Errorf("Content-Type %q", ct)
			}
			rid := hd.Get("x-amzn-RequestId")
			if !uuidRe.MatchString(rid) {
				t.Errorf("x-amzn-RequestId %q is not a UUID", rid)
			}
			got := xmlShape(t, body)
			got = strings.ReplaceAll(got, "= "+rid, "= RID")
			got = userID.ReplaceAllString(got, "UserId = UID")
			got = date.ReplaceAllString(got, "CreateDate = DATE")
			if got != tt.want {
				t.Errorf("response:\n%s\nwant:\n%s\nbody: %s", got, tt.want, body)
			}
		})
	}
}

func TestSkewedClock(t *testing.T) {
	n := servertest.Start(t)
	status, _, body := callAt(t, n, http.MethodPost, url.Values{"Action": {"ListUsers"}}, time.Now().Add(-time.Hour))
	want := `ErrorResponse @xmlns=https://iam.amazonaws.com/doc/2010-05-08/
ErrorResponse/Error/Type = Sender
ErrorResponse/Error/Code = SignatureDoesNotMatch`
	if got := xmlShape(t, body); status != http.StatusForbidden || !strings.HasPrefix(got, want) {
		t.Errorf("request signed an hour ago: %d\n%s", status, got)
	}
}
