package lambda

import (
	"archive/zip"
	"bytes"
	"errors"
	"strings"
	"testing"
)

func testService() *Service {
	return New(Config{Region: "us-east-1", AccountID: "123456789012"})
}

func TestParseName(t *testing.T) {
	s := testService()
	tests := []struct {
		param, qualifier string
		kind             nameKind
		name, q          string
		code             string // expected error code, "" for success
		msg              string
	}{
		{param: "fn", name: "fn"},
		{param: "fn:live", name: "fn", q: "live"},
		{param: "fn:$LATEST", name: "fn", q: "$LATEST"},
		{param: "fn:7", qualifier: "7", name: "fn", q: "7"},
		{param: "fn", qualifier: "live", name: "fn", q: "live"},
		{param: "123456789012:function:fn", name: "fn"},
		{param: "123456789012:function:fn:3", name: "fn", q: "3"},
		{param: "us-east-1:123456789012:function:fn", name: "fn"},
		{param: "arn:aws:lambda:us-east-1:123456789012:function:fn", name: "fn"},
		{param: "arn:aws:lambda:us-east-1:123456789012:function:fn:$LATEST", name: "fn", q: "$LATEST"},
		{param: "arn:aws:lambda:us-east-1:123456789012:function:fn:v2", kind: kindNamespaced, name: "fn", q: "v2"},
		{param: "arn:aws:lambda:us-east-1:123456789012:function:fn:1", qualifier: "2",
			code: CodeInvalidParameterValue, msg: msgQualifierMismatch},
		{param: "arn:aws:lambda:eu-west-1:123456789012:function:fn",
			code: CodeResourceNotFound, msg: "Functions from 'eu-west-1' are not reachable in this region ('us-east-1')"},
		{param: "arn:aws:lambda:us-east-1:999999999999:function:fn", code: CodeAccessDenied},
		{param: strings.Repeat("a", 65), code: CodeInvalidParameterValue, msg: "Member must have length less than or equal to 64"},
		{param: "arn:aws:lambda:us-east-1:123456789012:function:" + strings.Repeat("a", 100),
			code: CodeValidation, msg: "Member must have length less than or equal to 140"},
		{param: "invalid:function:name", code: CodeValidation, msg: "Member must satisfy regular expression pattern: " + patFunctionName},
		{param: "fn", qualifier: "bad?q", code: CodeValidation, msg: "at 'qualifier'"},
		{param: "fn:1", kind: kindUnqualified, code: CodeValidation, msg: patUnqualified},
		{param: "a.b", kind: kindNamespaced, name: "a.b"},
		{param: "a.b", code: CodeValidation},
	}
	for _, tc := range tests {
		r, err := s.parseName(tc.param, tc.qualifier, tc.kind)
		if tc.code != "" {
			var le *Error
			if !errors.As(err, &le) || le.Code != tc.code || !strings.Contains(le.Message, tc.msg) {
				t.Errorf("parseName(%q, %q) = %v, want %s containing %q", tc.param, tc.qualifier, err, tc.code, tc.msg)
			}
			continue
		}
		if err != nil || r.name != tc.name || r.qualifier != tc.q {
			t.Errorf("parseName(%q, %q) = %+v, %v; want %s, %s", tc.param, tc.qualifier, r, err, tc.name, tc.q)
		}
	}
}

func TestArnLike(t *testing.T) {
	tests := []struct {
		pattern, arn string
		want         bool
	}{
		{"arn:aws:s3:::bkt", "arn:aws:s3:::bkt", true},
		{"arn:aws:s3:::bkt", "arn:aws:s3:::bkt2", false},
		{"arn:aws:s3:::bkt*", "arn:aws:s3:::bkt2", true},
		{"arn:aws:s3:::b?t", "arn:aws:s3:::bkt", true},
		{"arn:aws:s3:::*", "arn:aws:s3:::anything/with/slashes", true},
		{"arn:aws:*:*:*:*", "arn:aws:sqs:us-east-1:123456789012:q", true},
		{"arn:aws:s3:::*", "arn:aws:sqs:us-east-1:123456789012:q", false},
		{"arn:aws:s3:::bkt", "not-an-arn", false},
		{"arn:*", "arn:aws:s3:::bkt", false}, // six parts needed on both sides
		{"arn:aws:sqs:*:123456789012:q*", "arn:aws:sqs:eu-west-1:123456789012:queue", true},
	}
	for _, tc := range tests {
		if got := arnLike(tc.pattern, tc.arn); got != tc.want {
			t.Errorf("arnLike(%q, %q) = %v, want %v", tc.pattern, tc.arn, got, tc.want)
		}
	}
}

func TestStatementJSON(t *testing.T) {
	tests := []struct {
		st   Statement
		want string
	}{
		{Statement{Sid: "a", Service: "s3.amazonaws.com", Action: "lambda:InvokeFunction", Resource: "arn:r", SourceAccount: "123456789012", SourceARN: "arn:aws:s3:::b"},
			`{"Sid":"a","Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},"Action":"lambda:InvokeFunction","Resource":"arn:r","Condition":{"StringEquals":{"AWS:SourceAccount":"123456789012"},"ArnLike":{"AWS:SourceArn":"arn:aws:s3:::b"}}}`},
		{Statement{Sid: "b", Action: "lambda:*", Resource: "arn:r"},
			`{"Sid":"b","Effect":"Allow","Principal":"*","Action":"lambda:*","Resource":"arn:r"}`},
		{Statement{Sid: "c", AWS: "arn:aws:iam::123456789012:root", Action: "lambda:InvokeFunction", Resource: "arn:r", PrincipalOrgID: "o-abcdefghij", FunctionURLAuthType: "NONE"},
			`{"Sid":"c","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"lambda:InvokeFunction","Resource":"arn:r","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-abcdefghij","lambda:FunctionUrlAuthType":"NONE"}}}`},
	}
	for _, tc := range tests {
		if got := tc.st.JSON(); got != tc.want {
			t.Errorf("JSON() =\n%s\nwant\n%s", got, tc.want)
		}
	}
}

func TestCheckZip(t *testing.T) {
	var ok bytes.Buffer
	zw := zip.NewWriter(&ok)
	w, _ := zw.Create("bootstrap")
	w.Write([]byte("#!/bin/sh\n"))
	zw.Close()
	var big bytes.Buffer
	zw = zip.NewWriter(&big)
	zw.CreateRaw(&zip.FileHeader{Name: "a", UncompressedSize64: MaxUnzippedSize})
	zw.CreateRaw(&zip.FileHeader{Name: "b", UncompressedSize64: 1})
	zw.Close()
	tests := []struct {
		name string
		data []byte
		msg  string
	}{
		{"valid", ok.Bytes(), ""},
		{"not a zip", []byte("PK but no"), msgBadZip},
		{"empty", nil, msgBadZip},
		{"too large unpacked", big.Bytes(), "Unzipped size must be smaller than 262144000 bytes"},
	}
	for _, tc := range tests {
		err := checkZip(bytes.NewReader(tc.data), int64(len(tc.data)))
		if tc.msg == "" && err != nil || tc.msg != "" && (err == nil || !strings.Contains(err.Error(), tc.msg)) {
			t.Errorf("%s: checkZip = %v, want %q", tc.name, err, tc.msg)
		}
	}
}

func TestCheckEnvironment(t *testing.T) {
	if err := checkEnvironment(map[string]string{"AWS_LAMBDA_EXEC_WRAPPER": "/opt/w", "PATH": "/bin"}); err != nil {
		t.Errorf("settable variables refused: %v", err)
	}
	err := checkEnvironment(map[string]string{"AWS_SESSION_TOKEN": "x", "_HANDLER": "y"})
	if err == nil || !strings.HasSuffix(err.Error(), "Reserved keys used in this request: AWS_SESSION_TOKEN, _HANDLER") {
		t.Errorf("reserved variables: %v", err)
	}
	err = checkEnvironment(map[string]string{"K": strings.Repeat("<", 4090)})
	if err == nil || !strings.Contains(err.Error(), `String measured: {"K":"<<<`) {
		t.Errorf("large variables: %v", err)
	}
}

func TestMarkers(t *testing.T) {
	for _, tc := range []struct {
		name    string
		version int
	}{{"fn", -1}, {"fn-2", 0}, {"a_b", 12}} {
		name, v, err := decodeMarker(encodeMarker(tc.name, tc.version))
		if err != nil || name != tc.name || v != tc.version {
			t.Errorf("marker round trip %v: %s %d %v", tc, name, v, err)
		}
	}
	if _, _, err := decodeMarker("!!"); !errors.Is(err, ErrInvalidParameterValue) {
		t.Errorf("bad marker: %v", err)
	}
}

func TestJavaDouble(t *testing.T) {
	for f, want := range map[float64]string{2: "2.0", 0.25: "0.25", -1: "-1.0", 0: "0.0"} {
		if got := javaDouble(f); got != want {
			t.Errorf("javaDouble(%v) = %s, want %s", f, got, want)
		}
	}
}
