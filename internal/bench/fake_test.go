package bench

import (
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// fakeS3 is an in-memory S3 that implements just enough for the benchmark:
// CreateBucket, HeadBucket, PutObject, GetObject, HeadObject, DeleteObject
// and ListObjectsV2. It checks no signatures.
type fakeS3 struct {
	mu      sync.Mutex
	buckets map[string]map[string][]byte
	puts    map[string]int // PUT count per key prefix up to the first '/'
	authz   []string       // Authorization headers seen (first few)
	sha     []string       // X-Amz-Content-Sha256 headers seen (first few)

	// fail, if set, returns a status to send instead of serving r, or 0.
	fail func(r *http.Request) int
}

// newFakeS3 starts a fake S3 server that is closed when the test ends.
func newFakeS3(tb testing.TB) (*fakeS3, *httptest.Server) {
	tb.Helper()
	f := &fakeS3{buckets: map[string]map[string][]byte{}, puts: map[string]int{}}
	srv := httptest.NewServer(f)
	tb.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeS3) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	if len(f.authz) < 8 {
		f.authz = append(f.authz, r.Header.Get("Authorization"))
		f.sha = append(f.sha, r.Header.Get("X-Amz-Content-Sha256"))
	}
	f.mu.Unlock()
	if f.fail != nil {
		if code := f.fail(r); code != 0 {
			writeError(w, code, "InternalError", "injected failure")
			return
		}
	}

	bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	switch {
	case key == "" && r.Method == http.MethodPut:
		_, _ = io.Copy(io.Discard, r.Body)
		f.mu.Lock()
		defer f.mu.Unlock()
		if _, ok := f.buckets[bucket]; ok {
			writeError(w, http.StatusConflict, "BucketAlreadyOwnedByYou", "yours")
			return
		}
		f.buckets[bucket] = map[string][]byte{}
	case key == "" && r.Method == http.MethodHead:
		if f.objects(bucket) == nil {
			w.WriteHeader(http.StatusNotFound)
		}
	case key == "" && r.Method == http.MethodGet && r.URL.Query().Get("list-type") == "2":
		f.list(w, r, bucket)
	case key == "":
		writeError(w, http.StatusNotImplemented, "NotImplemented", r.Method+" bucket")
	default:
		f.object(w, r, bucket, key)
	}
}

func (f *fakeS3) objects(bucket string) map[string][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.buckets[bucket]
}

func (f *fakeS3) object(w http.ResponseWriter, r *http.Request, bucket, key string) {
	if r.Method == http.MethodPut {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			writeError(w, http.StatusBadRequest, "IncompleteBody", err.Error())
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		objs := f.buckets[bucket]
		if objs == nil {
			writeError(w, http.StatusNotFound, "NoSuchBucket", bucket)
			return
		}
		objs[key] = body
		top, _, _ := strings.Cut(key, "/")
		f.puts[top]++
		return
	}
	f.mu.Lock()
	objs := f.buckets[bucket]
	body, ok := objs[key]
	if r.Method == http.MethodDelete {
		delete(objs, key)
	}
	f.mu.Unlock()
	switch {
	case objs == nil:
		writeError(w, http.StatusNotFound, "NoSuchBucket", bucket)
	case r.Method == http.MethodDelete:
		w.WriteHeader(http.StatusNoContent)
	case !ok:
		writeError(w, http.StatusNotFound, "NoSuchKey", key)
	case r.Method == http.MethodHead:
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	case r.Method == http.MethodGet:
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = w.Write(body)
	default:
		writeError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", r.Method)
	}
}

func (f *fakeS3) list(w http.ResponseWriter, r *http.Request, bucket string) {
	q := r.URL.Query()
	prefix, startAfter := q.Get("prefix"), q.Get("start-after")
	maxKeys, err := strconv.Atoi(q.Get("max-keys"))
	if err != nil {
		maxKeys = 1000
	}
	f.mu.Lock()
	var keys []string
	for k := range f.buckets[bucket] {
		if strings.HasPrefix(k, prefix) && k > startAfter {
			keys = append(keys, k)
		}
	}
	f.mu.Unlock()
	slices.Sort(keys)
	truncated := len(keys) > maxKeys
	keys = keys[:min(len(keys), maxKeys)]

	var b strings.Builder
	fmt.Fprintf(&b, "<ListBucketResult><Name>%s</Name><Prefix>%s</Prefix><KeyCount>%d</KeyCount><IsTruncated>%t</IsTruncated>",
		bucket, prefix, len(keys), truncated)
	for _, k := range keys {
		b.WriteString("<Contents><Key>")
		_ = xml.EscapeText(&b, []byte(k))
		b.WriteString("</Key><Size>32</Size></Contents>")
	}
	b.WriteString("</ListBucketResult>")
	_, _ = io.WriteString(w, b.String())
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<Error><Code>%s</Code><Message>%s</Message></Error>", code, msg)
}

// keys returns the sorted keys of bucket.
func (f *fakeS3) keys(bucket string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for k := range f.buckets[bucket] {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func (f *fakeS3) putCount(top string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.puts[top]
}
