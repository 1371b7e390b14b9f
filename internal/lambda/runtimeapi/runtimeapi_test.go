package runtimeapi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

func listen(t *testing.T) (*Server, string) {
	t.Helper()
	s, err := Listen()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, "http://" + s.Addr() + "/2018-06-01/runtime/"
}

type reply struct {
	status int
	header http.Header
	body   string
}

func do(t *testing.T, method, url string, body io.Reader, hdr map[string]string) reply {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, resp.Header, string(b)}
}

func errType(t *testing.T, r reply) string {
	t.Helper()
	var e struct {
		Type    string `json:"errorType"`
		Message string `json:"errorMessage"`
	}
	if err := json.Unmarshal([]byte(r.body), &e); err != nil || e.Message == "" {
		t.Fatalf("error body %q: %v", r.body, err)
	}
	return e.Type
}

// nextAsync starts a /next request and returns its reply channel.
func nextAsync(t *testing.T, base string) <-chan reply {
	ch := make(chan reply, 1)
	go func() {
		resp, err := http.Get(base + "invocation/next")
		if err != nil {
			ch <- reply{status: -1, body: err.Error()}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		ch <- reply{resp.StatusCode, resp.Header, string(b)}
	}()
	return ch
}

func TestInvokeCycle(t *testing.T) {
	s, base := listen(t)
	next := nextAsync(t, base)
	select {
	case <-s.Ready():
	case <-time.After(5 * time.Second):
		t.Fatal("not ready")
	}
	deadline := time.Now().Add(3 * time.Second)
	s.Dispatch(&Event{RequestID: "req-1", Deadline: deadline, InvokedARN: "arn:aws:lambda:us-east-1:000000000000:function:f:1",
		TraceID: "Root=1-x", ClientContext: `{"custom":{"a":"b"}}`, Payload: []byte(`{"k":1}`)})
	r := <-next
	if r.status != 200 || r.body != `{"k":1}` {
		t.Fatalf("next: %d %q", r.status, r.body)
	}
	for k, want := range map[string]string{
		HeaderRequestID:     "req-1",
		HeaderDeadlineMs:    strconv.FormatInt(deadline.UnixMilli(), 10),
		HeaderInvokedARN:    "arn:aws:lambda:us-east-1:000000000000:function:f:1",
		HeaderTraceID:       "Root=1-x",
		HeaderClientContext: `{"custom":{"a":"b"}}`,
		"Content-Type":      "application/json",
	} {
		if got := r.header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	// /next again before answering is a state error.
	if r := do(t, "GET", base+"invocation/next", nil, nil); r.status != 403 || errType(t, r) != "InvalidStateTransition" {
		t.Errorf("second next: %d %s", r.status, r.body)
	}
	if r := do(t, "POST", base+"invocation/other/response", strings.NewReader("x"), nil); r.status != 400 || errType(t, r) != "InvalidRequestID" {
		t.Errorf("wrong id: %d %s", r.status, r.body)
	}
	if r := do(t, "POST", base+"invocation/req-1/response", strings.NewReader(`"ok"`), nil); r.status != 202 || r.body != `{"status":"OK"}` {
		t.Fatalf("response: %d %s", r.status, r.body)
	}
	o := <-s.Outcomes()
	if o.Failed || string(o.Payload) != `"ok"` {
		t.Errorf("outcome %+v", o)
	}
	if r := do(t, "POST", base+"invocation/req-1/response", strings.NewReader(`"again"`), nil); r.status != 403 || errType(t, r) != "InvalidStateTransition" {
		t.Errorf("duplicate: %d %s", r.status, r.body)
	}
	if r := do(t, "POST", base+"init/error", strings.NewReader(`{}`), nil); r.status != 403 {
		t.Errorf("init error after init: %d %s", r.status, r.body)
	}

	// Second event: an error.
	next = nextAsync(t, base)
	s.Dispatch(&Event{RequestID: "req-2", Deadline: deadline, Payload: []byte(`{}`)})
	if r := <-next; r.status != 200 || r.header.Get(HeaderClientContext) != "" {
		t.Fatalf("next 2: %+v", r)
	}
	doc := `{"errorMessage":"boom","errorType":"ValueError","stackTrace":[]}`
	if r := do(t, "POST", base+"invocation/req-2/error", strings.NewReader(doc), map[string]string{HeaderErrorType: "Unhandled"}); r.status != 202 {
		t.Fatalf("error: %d %s", r.status, r.body)
	}
	o = <-s.Outcomes()
	if !o.Failed || o.ErrorType != "Unhandled" || string(o.Payload) != doc {
		t.Errorf("outcome %+v", o)
	}

	// Third: a response that is too large, sent chunked.
	next = nextAsync(t, base)
	s.Dispatch(&Event{RequestID: "req-3", Deadline: deadline, Payload: []byte(`{}`)})
	<-next
	big := io.MultiReader(bytes.NewReader(bytes.Repeat([]byte("a"), MaxResponseSize)), strings.NewReader("b"))
	if r := do(t, "POST", base+"invocation/req-3/response", io.NopCloser(big), nil); r.status != 413 || errType(t, r) != "RequestEntityTooLarge" {
		t.Errorf("too large: %d %s", r.status, r.body)
	}
	o = <-s.Outcomes()
	if !o.TooLarge || o.Size != MaxResponseSize+1 {
		t.Errorf("outcome TooLarge=%v Size=%d", o.TooLarge, o.Size)
	}

	// Fourth: exactly the limit, with a declared length, is fine.
	next = nextAsync(t, base)
	s.Dispatch(&Event{RequestID: "req-4", Deadline: deadline, Payload: []byte(`{}`)})
	<-next
	if r := do(t, "POST", base+"invocation/req-4/response", bytes.NewReader(bytes.Repeat([]byte("a"), MaxResponseSize)), nil); r.status != 202 {
		t.Errorf("at limit: %d %s", r.status, r.body)
	}
	if o = <-s.Outcomes(); o.TooLarge || len(o.Payload) != MaxResponseSize {
		t.Errorf("at limit: TooLarge=%v len=%d", o.TooLarge, len(o.Payload))
	}

	// Fifth: exactly the limit, chunked, is fine too.
	next = nextAsync(t, base)
	s.Dispatch(&Event{RequestID: "req-5", Deadline: deadline, Payload: []byte(`{}`)})
	<-next
	atLimit := io.MultiReader(bytes.NewReader(bytes.Repeat([]byte("a"), MaxResponseSize-1)), strings.NewReader("b"))
	if r := do(t, "POST", base+"invocation/req-5/response", io.NopCloser(atLimit), nil); r.status != 202 {
		t.Errorf("chunked at limit: %d %s", r.status, r.body)
	}
	if o = <-s.Outcomes(); o.TooLarge || len(o.Payload) != MaxResponseSize || o.Payload[MaxResponseSize-1] != 'b' {
		t.Errorf("chunked at limit: TooLarge=%v len=%d", o.TooLarge, len(o.Payload))
	}
}

func TestInitError(t *testing.T) {
	s, base := listen(t)
	doc := `{"errorMessage":"Unable to import module 'app': No module named 'app'","errorType":"Runtime.ImportModuleError","stackTrace":[]}`
	r := do(t, "POST", base+"init/error", strings.NewReader(doc), map[string]string{HeaderErrorType: "Runtime.ImportModuleError"})
	if r.status != 202 {
		t.Fatalf("init error: %d %s", r.status, r.body)
	}
	o := <-s.InitError()
	if !o.Failed || o.ErrorType != "Runtime.ImportModuleError" || string(o.Payload) != doc {
		t.Errorf("outcome %+v", o)
	}
	if r := do(t, "POST", base+"init/error", strings.NewReader(doc), nil); r.status != 403 {
		t.Errorf("second init error: %d", r.status)
	}
}

func TestErrorTrailer(t *testing.T) {
	s, base := listen(t)
	next := nextAsync(t, base)
	s.Dispatch(&Event{RequestID: "r", Deadline: time.Now().Add(time.Second), Payload: []byte(`{}`)})
	<-next
	doc := `{"errorMessage":"read failed","errorType":"errorString"}`
	req, _ := http.NewRequest("POST", base+"invocation/r/response", io.NopCloser(strings.NewReader("partial")))
	req.Trailer = http.Header{HeaderErrorType: {"errorString"}, HeaderErrorBody: {base64.StdEncoding.EncodeToString([]byte(doc))}}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 202 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	o := <-s.Outcomes()
	if !o.Failed || o.ErrorType != "errorString" || string(o.Payload) != doc {
		t.Errorf("outcome %+v", o)
	}
}

func TestBadRequests(t *testing.T) {
	_, base := listen(t)
	tests := []struct {
		method, path string
		hdr          map[string]string
		status       int
	}{
		{"GET", "invocation/x/response", nil, 405},
		{"POST", "invocation/next", nil, 405},
		{"POST", "invocation/x/bogus", nil, 404},
		{"GET", "nothing", nil, 404},
		{"POST", "invocation/x/response", map[string]string{HeaderResponseMode: "buffered"}, 400},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			if r := do(t, tt.method, base+tt.path, strings.NewReader("{}"), tt.hdr); r.status != tt.status {
				t.Errorf("status %d, want %d (%s)", r.status, tt.status, r.body)
			}
		})
	}
}

func TestCloseEndsNext(t *testing.T) {
	s, base := listen(t)
	next := nextAsync(t, base)
	<-s.Ready()
	s.Close()
	select {
	case <-next:
	case <-time.After(5 * time.Second):
		t.Fatal("next still pending after Close")
	}
}
