package objectlambda

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/sluicehq/sluice/internal/accesspoint"
	"github.com/sluicehq/sluice/internal/iam"
	"github.com/sluicehq/sluice/internal/sigv4"
)

// The event's protocolVersion: "1.00" for GetObject, whose context came
// first, and "1.01" for the HEAD and LIST contexts added later, as AWS
// sends them (aws-lambda-go's events/testdata holds AWS's events).
const (
	ProtocolVersion         = "1.00"
	ProtocolVersionHeadList = "1.01"
)

// Request is a caller's request through an Object Lambda access point, as
// the S3 adapter hands it over after authenticating and authorizing it.
type Request struct {
	// ID is the S3 request ID (the event's xAmzRequestId).
	ID string
	R  *http.Request
	// Op is the S3 operation: "GetObject", "HeadObject" or "ListObjects"
	// (ListObjectsV2 is ListObjects with list-type=2); others pass through.
	Op     string
	Key    string
	Target *accesspoint.Target
	// ObjectLambdaARN and SupportingARN are the two access points' ARNs.
	ObjectLambdaARN string
	SupportingARN   string
	Principal       *iam.Principal
	Auth            *sigv4.Auth
}

// event is the function's input, as AWS documents it (and
// aws-lambda-go's events.S3ObjectLambdaEvent decodes it).
type event struct {
	XAmzRequestID        string            `json:"xAmzRequestId"`
	GetObjectContext     *getObjectContext `json:"getObjectContext,omitempty"`
	HeadObjectContext    *inputContext     `json:"headObjectContext,omitempty"`
	ListObjectsContext   *inputContext     `json:"listObjectsContext,omitempty"`
	ListObjectsV2Context *inputContext     `json:"listObjectsV2Context,omitempty"`
	Configuration        configuration     `json:"configuration"`
	UserRequest          userRequest       `json:"userRequest"`
	UserIdentity         userIdentity      `json:"userIdentity"`
	ProtocolVersion      string            `json:"protocolVersion"`
}

type getObjectContext struct {
	InputS3URL  string `json:"inputS3Url"`
	OutputRoute string `json:"outputRoute"`
	OutputToken string `json:"outputToken"`
}

type inputContext struct {
	InputS3URL string `json:"inputS3Url"`
}

type configuration struct {
	AccessPointARN           string `json:"accessPointArn"`
	SupportingAccessPointARN string `json:"supportingAccessPointArn"`
	Payload                  string `json:"payload"`
}

type userRequest struct {
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers"`
}

// userIdentity has the fields of AWS's events (and of aws-lambda-go's
// S3ObjectLambdaUserIdentity): no userName, even for an IAM user.
type userIdentity struct {
	Type           string          `json:"type"`
	PrincipalID    string          `json:"principalId"`
	ARN            string          `json:"arn,omitempty"`
	AccountID      string          `json:"accountId"`
	AccessKeyID    string          `json:"accessKeyId,omitempty"`
	SessionContext *sessionContext `json:"sessionContext,omitempty"`
}

type sessionContext struct {
	Attributes    map[string]string `json:"attributes"`
	SessionIssuer *sessionIssuer    `json:"sessionIssuer,omitempty"`
}

type sessionIssuer struct {
	Type        string `json:"type"`
	PrincipalID string `json:"principalId"`
	ARN         string `json:"arn"`
	AccountID   string `json:"accountId"`
	UserName    string `json:"userName"`
}

// newEvent builds the parts of the event every action shares.
func (s *Service) newEvent(in *Request, tr *accesspoint.Transformation) *event {
	return &event{
		XAmzRequestID: in.ID,
		Configuration: configuration{
			AccessPointARN:           in.ObjectLambdaARN,
			SupportingAccessPointARN: in.SupportingARN,
			Payload:                  tr.FunctionPayload,
		},
		UserRequest:     s.userRequest(in.R),
		UserIdentity:    s.identity(in.Principal, time.Now()),
		ProtocolVersion: ProtocolVersion,
	}
}

// authParams are the query parameters of a presigned request, which
// userRequest.url leaves out.
var authParams = map[string]bool{
	"x-amz-algorithm": true, "x-amz-credential": true, "x-amz-date": true, "x-amz-expires": true,
	"x-amz-signedheaders": true, "x-amz-signature": true, "x-amz-security-token": true,
	"awsaccesskeyid": true, "signature": true, "expires": true,
}

// headerSpelling is how AWS spells the headers whose Go canonical form
// differs (Go reads "X-Amz-Content-SHA256" as "X-Amz-Content-Sha256").
var headerSpelling = map[string]string{
	"X-Amz-Content-Sha256": "X-Amz-Content-SHA256",
	"Content-Md5":          "Content-MD5",
	"X-Amz-Server-Side-Encryption-Customer-Key-Md5":             "X-Amz-Server-Side-Encryption-Customer-Key-MD5",
	"X-Amz-Copy-Source-Server-Side-Encryption-Customer-Key-Md5": "X-Amz-Copy-Source-Server-Side-Encryption-Customer-Key-MD5",
	"Etag": "ETag",
}

// userRequest is the caller's request: its URL as received (auth
// parameters removed) and its headers (auth headers removed, repeated
// ones joined with commas). Go's server canonicalises header names, so
// the original case is not kept: names are in canonical form, except the
// few AWS spells otherwise (headerSpelling), so that a function looking
// up "X-Amz-Content-SHA256" as on AWS finds it.
func (s *Service) userRequest(r *http.Request) userRequest {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	u := scheme + "://" + r.Host + r.URL.EscapedPath()
	if r.URL.RawQuery != "" {
		var kept []string
		for _, p := range strings.Split(r.URL.RawQuery, "&") {
			name, _, _ := strings.Cut(p, "=")
			if n, err := url.QueryUnescape(name); err == nil && authParams[strings.ToLower(n)] {
				continue
			}
			kept = append(kept, p)
		}
		if len(kept) > 0 {
			u += "?" + strings.Join(kept, "&")
		}
	}
	hd := map[string]string{"Host": r.Host}
	for k, v := range r.Header {
		switch k {
		case "Authorization", "X-Amz-Security-Token":
			continue
		}
		if spelt, ok := headerSpelling[k]; ok {
			k = spelt
		}
		hd[k] = strings.Join(v, ",")
	}
	return userRequest{URL: u, Headers: hd}
}

// sessionTimeLayout is how AWS writes sessionContext.attributes.creationDate
// ("Wed Mar 10 23:41:52 UTC 2021").
const sessionTimeLayout = "Mon Jan 02 15:04:05 MST 2006"

// identity is the caller in CloudTrail's userIdentity form. A function's
// credentials are an assumed role's session; its creationDate is when the
// request arrived (sluice keeps no session start).
func (s *Service) identity(p *iam.Principal, now time.Time) userIdentity {
	switch {
	case p == nil || p.Anonymous:
		return userIdentity{Type: "AWSAccount", PrincipalID: "", AccountID: "anonymous"}
	case p.FunctionARN != "":
		role := p.RoleARN
		roleName := role[strings.LastIndex(role, "/")+1:]
		fn := p.FunctionARN[strings.LastIndex(p.FunctionARN, ":")+1:]
		return userIdentity{
			Type: "AssumedRole", PrincipalID: p.AccessKeyID + ":" + fn, AccountID: p.AccountID, AccessKeyID: p.AccessKeyID,
			ARN: "arn:aws:sts::" + p.AccountID + ":assumed-role/" + roleName + "/" + fn,
			SessionContext: &sessionContext{
				Attributes:    map[string]string{"mfaAuthenticated": "false", "creationDate": now.UTC().Format(sessionTimeLayout)},
				SessionIssuer: &sessionIssuer{Type: "Role", PrincipalID: p.AccessKeyID, ARN: role, AccountID: p.AccountID, UserName: roleName},
			},
		}
	case p.UserName != "":
		return userIdentity{Type: "IAMUser", PrincipalID: p.UserID, ARN: p.ARN, AccountID: p.AccountID,
			AccessKeyID: p.AccessKeyID}
	default:
		return userIdentity{Type: "Root", PrincipalID: p.AccountID, ARN: p.ARN, AccountID: p.AccountID, AccessKeyID: p.AccessKeyID}
	}
}

// base returns the URL functions reach the node at: the configured
// endpoint, or else the local address of the caller's connection.
func (s *Service) base(r *http.Request) string {
	if ep := s.endpoint.Load(); ep != nil && *ep != "" {
		return strings.TrimSuffix(*ep, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if addr, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		host := addr.String()
		if ta, ok := addr.(*net.TCPAddr); ok && ta.IP.IsUnspecified() {
			host = net.JoinHostPort("127.0.0.1", strconv.Itoa(ta.Port))
		}
		return scheme + "://" + host
	}
	return scheme + "://" + r.Host
}

// inputURL presigns, as the caller, a request for method of /<key> with
// query through the supporting access point: the path is exactly /<key>
// (S3-escaped) and the access point is named by AccessPointParam.
func (s *Service) inputURL(ctx context.Context, in *Request, method, key string, query url.Values) (string, error) {
	q := url.Values{}
	for k, v := range query {
		q[k] = v
	}
	q.Set(AccessPointParam, in.Target.Supporting.Alias)
	raw := s.base(in.R) + "/" + escapeKey(key)
	p := in.Principal
	if p == nil || p.Anonymous || in.Auth == nil || in.Auth.AccessKeyID == "" {
		return raw + "?" + encodeQuery(q), nil
	}
	secret, err := s.cfg.Secrets.Secret(ctx, in.Auth.AccessKeyID)
	if err != nil {
		return "", err
	}
	q.Set("X-Amz-Expires", strconv.Itoa(int(presignExpiry/time.Second)))
	req, err := http.NewRequestWithContext(ctx, method, raw+"?"+encodeQuery(q), nil)
	if err != nil {
		return "", err
	}
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	creds := aws.Credentials{AccessKeyID: in.Auth.AccessKeyID, SecretAccessKey: secret}
	signed, _, err := signer.PresignHTTP(ctx, creds, req, "UNSIGNED-PAYLOAD", "s3", s.cfg.Region, time.Now())
	return signed, err
}

// escapeKey escapes an object key for a URL path as S3 does: every byte
// but unreserved characters and "/".
func escapeKey(key string) string {
	var b strings.Builder
	for i := 0; i < len(key); i++ {
		c := key[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' || c == '/' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte("0123456789ABCDEF"[c>>4])
		b.WriteByte("0123456789ABCDEF"[c&15])
	}
	return b.String()
}

// encodeQuery encodes q in key order with %20 for spaces.
func encodeQuery(q url.Values) string {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		for _, v := range q[k] {
			parts = append(parts, strings.ReplaceAll(url.QueryEscape(k), "+", "%20")+"="+strings.ReplaceAll(url.QueryEscape(v), "+", "%20"))
		}
	}
	return strings.Join(parts, "&")
}
