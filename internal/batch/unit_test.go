package batch

import (
	"io"
	"net/http"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/meta"
)

func TestOutcomeLog(t *testing.T) {
	dir := t.TempDir()
	l, err := openOutcomeLog(dir, 0, true)
	if err != nil {
		t.Fatal(err)
	}
	in := []outcome{
		{Index: 0, HTTPStatus: 200, Bucket: "b", Key: "k", Message: "ok"},
		{Index: 7, Failed: true, HTTPStatus: 404, Bucket: "b", Key: "a%20b", VersionID: "v", ErrorCode: "NoSuchKey", Message: "gone"},
		{Index: 3, HTTPStatus: 200, Bucket: "b", Key: "x", Message: strings.Repeat("é", 1500)},
	}
	var offs []int64
	for i := range in {
		off, err := l.append(&in[i])
		if err != nil {
			t.Fatal(err)
		}
		offs = append(offs, off)
	}
	if err := l.sync(true); err != nil {
		t.Fatal(err)
	}
	committed := offs[2] // the third record is past the mark
	l.close()

	var got []outcome
	scan := func(from, to int64) {
		got = nil
		if err := scanOutcomes(dir, from, to, func(_ int64, o *outcome) error { got = append(got, *o); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	scan(0, l.size)
	if len(got) != 3 || !reflect.DeepEqual(got[:2], in[:2]) || got[2].Message != strings.Repeat("é", maxResultMessage) {
		t.Fatalf("read back %+v", got)
	}
	// Reopening at the committed mark drops what lies past it.
	l, err = openOutcomeLog(dir, committed, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.append(&outcome{Index: 9, Bucket: "b", Key: "z"}); err != nil {
		t.Fatal(err)
	}
	l.sync(true)
	l.close()
	scan(offs[1], l.size)
	if len(got) != 2 || got[0].Index != 7 || got[1].Index != 9 {
		t.Fatalf("after truncation %+v", got)
	}
	if _, err := openOutcomeLog(dir, l.size+10, true); err == nil {
		t.Fatal("a log shorter than its committed mark opened")
	}
}

// TestCSVReaderResume reads a manifest, then reads it again from each
// task's position, as a resumed job does.
func TestCSVReaderResume(t *testing.T) {
	body := "\ufeffb,k1\n\nb,\"k,2\"\r\nb,k%203\nb,k4"
	path := t.TempDir() + "/m.csv"
	os.WriteFile(path, []byte(body), 0o644)
	open := func(pos Position) *csvReader {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		f.Seek(pos.Offset, io.SeekStart)
		return newCSVReader(f, []string{fieldBucket, fieldKey}, pos, false)
	}
	all := func(r *csvReader) []task {
		defer r.Close()
		var out []task
		for {
			tk, err := r.Next()
			if err == io.EOF {
				return out
			}
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, tk)
		}
	}
	tasks := all(open(Position{}))
	keys := []string{}
	for _, tk := range tasks {
		keys = append(keys, tk.Key)
	}
	if strings.Join(keys, "|") != "k1|k,2|k%203|k4" {
		t.Fatalf("keys %q", keys)
	}
	for i, tk := range tasks {
		if tk.Index != int64(i) || tk.Pos.Index != int64(i) {
			t.Errorf("task %d: %+v", i, tk)
		}
		rest := all(open(tk.Pos))
		if len(rest) != len(tasks)-i || !reflect.DeepEqual(rest, tasks[i:]) {
			t.Errorf("resuming at %+v read %+v", tk.Pos, rest)
		}
	}
	r := open(Position{})
	all(r)
	if end := r.Position(); end.Offset != int64(len(body)) || end.Index != 4 {
		t.Errorf("end position %+v", end)
	}
}

func TestManifestRows(t *testing.T) {
	fields := []string{fieldIgnore, fieldBucket, fieldKey, fieldVersionID}
	for _, tc := range []struct {
		name, body string
		want       task
		err        string
	}{
		{"version", "x,b,k,v1\n", task{Bucket: "b", Key: "k", VersionID: "v1"}, ""},
		{"missing version", "x,b,k,\n", task{Bucket: "b", Key: "k", MissingVersion: true}, ""},
		{"extra columns", "x,b,k,v,extra\n", task{Bucket: "b", Key: "k", VersionID: "v"}, ""},
		{"short", "x,b\n", task{}, "has 2 fields"},
		{"empty key", "x,b,,v\n", task{}, "empty bucket or key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newCSVReader(io.NopCloser(strings.NewReader(tc.body)), fields, Position{}, false)
			got, err := r.Next()
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			got.Pos = Position{}
			if err != nil || got != tc.want {
				t.Fatalf("got %+v %v, want %+v", got, err, tc.want)
			}
		})
	}
}

func TestKeyEncoding(t *testing.T) {
	for _, key := range []string{"plain/key.txt", "a b+c", `{"origKey": "x", "newKey": "y"}`, "object1key|lower", "naïve/日本", "100%"} {
		enc := encodeKey(key)
		if strings.ContainsAny(enc, " ,\"|+") {
			t.Errorf("encodeKey(%q) = %q", key, enc)
		}
		if dec, err := decodeKey(enc); err != nil || dec != key {
			t.Errorf("decodeKey(encodeKey(%q)) = %q, %v", key, dec, err)
		}
	}
	if dec, _ := decodeKey("a+b%20c"); dec != "a+b c" {
		t.Errorf("a plus must stay a plus: %q", dec)
	}
}

func TestInterpret(t *testing.T) {
	resp := func(code, msg string, extra string) []byte {
		return []byte(`{"invocationSchemaVersion":"1.0",` + extra + `"invocationId":"i","results":[{"taskId":"T","resultCode":"` + code + `","resultString":` + msg + `}]}`)
	}
	for _, tc := range []struct {
		name    string
		payload []byte
		kind    resultKind
		code    string
		msg     string
	}{
		{"succeeded", resp("Succeeded", `"done"`, ""), resultDone, "", "done"},
		{"null string", resp("Succeeded", `null`, ""), resultDone, "", ""},
		{"object string", resp("Succeeded", `{"a":1}`, ""), resultDone, "", `{"a":1}`},
		{"permanent", resp("PermanentFailure", `"no"`, ""), resultDone, "PermanentFailure", "no"},
		{"temporary", resp("TemporaryFailure", `"later"`, ""), resultRetry, "TemporaryFailure", "later"},
		{"unknown code", resp("Maybe", `""`, ""), resultDone, "PermanentFailure", "Invalid resultCode returned in Lambda payload: Maybe"},
		{"not json", []byte("hello"), resultDone, "PermanentFailure", "Invalid JSON returned in Lambda payload"},
		{"null", []byte("null"), resultDone, "PermanentFailure", "Invalid JSON returned in Lambda payload"},
		{"missing, default", []byte(`{"results":[]}`), resultRetry, "TemporaryFailure", "The function's response has no result for this task."},
		{"missing, succeeded", []byte(`{"treatMissingKeysAs":"Succeeded","results":[]}`), resultDone, "", "The function's response has no result for this task."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := interpret(tc.payload, "T")
			if r.kind != tc.kind || r.o.ErrorCode != tc.code || r.o.Message != tc.msg || r.o.HTTPStatus != http.StatusOK {
				t.Errorf("got %+v", r)
			}
		})
	}
}

func TestStatusTimers(t *testing.T) {
	t0 := time.Unix(1000, 0)
	j := &Job{Status: StatusReady}
	j.setStatus(StatusActive, t0)
	j.setStatus(StatusPausing, t0.Add(10*time.Second))
	j.setStatus(StatusPaused, t0.Add(11*time.Second))
	j.setStatus(StatusActive, t0.Add(20*time.Second))
	if got := j.activeFor(t0.Add(25 * time.Second)); got != 15*time.Second {
		t.Errorf("active for %s, want 15s", got)
	}
	j.setStatus(StatusCompleting, t0.Add(30*time.Second))
	j.setStatus(StatusComplete, t0.Add(31*time.Second))
	if j.activeFor(t0.Add(time.Hour)) != 20*time.Second || !j.TerminationDate.Equal(t0.Add(31*time.Second)) {
		t.Errorf("after completion: %s, terminated %s", j.activeFor(t0.Add(time.Hour)), j.TerminationDate)
	}
}

func TestGeneratorFilter(t *testing.T) {
	now := time.Unix(5000, 0)
	v := &meta.Version{Key: "logs/2024/a.txt", Size: 10, LastModified: now, StorageClass: "STANDARD_IA"}
	i64 := func(n int64) *int64 { return &n }
	tm := func(d time.Duration) *time.Time { x := now.Add(d); return &x }
	for _, tc := range []struct {
		name string
		f    *GeneratorFilter
		want bool
	}{
		{"none", nil, true},
		{"prefix", &GeneratorFilter{KeyNameConstraint: &KeyNameConstraint{MatchAnyPrefix: []string{"logs/"}}}, true},
		{"prefix and suffix", &GeneratorFilter{KeyNameConstraint: &KeyNameConstraint{MatchAnyPrefix: []string{"logs/"}, MatchAnySuffix: []string{".json"}}}, false},
		{"substring", &GeneratorFilter{KeyNameConstraint: &KeyNameConstraint{MatchAnySubstring: []string{"2024"}}}, true},
		{"created after", &GeneratorFilter{CreatedAfter: tm(-time.Second)}, true},
		{"created before", &GeneratorFilter{CreatedBefore: tm(-time.Second)}, false},
		{"size bounds", &GeneratorFilter{ObjectSizeGreaterThanBytes: i64(9), ObjectSizeLessThanBytes: i64(11)}, true},
		{"size too small", &GeneratorFilter{ObjectSizeGreaterThanBytes: i64(10)}, false},
		{"storage class", &GeneratorFilter{MatchAnyStorageClass: []string{"GLACIER", "STANDARD_IA"}}, true},
		{"other storage class", &GeneratorFilter{MatchAnyStorageClass: []string{"STANDARD"}}, false},
		{"not encrypted", &GeneratorFilter{MatchAnyObjectEncryption: []EncryptionFilter{{NotSSE: &struct{}{}}}}, true},
		{"sse-s3", &GeneratorFilter{MatchAnyObjectEncryption: []EncryptionFilter{{SSES3: &struct{}{}}}}, false},
	} {
		if got := matches(tc.f, v); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
