package jsonscan

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"testing"
	"time"
)

var corpus = []string{
	`{}`, ` { } `, `{"a":1}`, `{"a":-0.5e+10,"b":[1,2,{"c":null}],"d":true,"e":false}`,
	`{"id":"lambda-async-7","json":{"function":"f","payload":{"Records":[{"s3":{"object":{"key":"a+b%2F"}}}]},"accepted":"2026-01-02T03:04:05.0000006Z"},"attempts":0,"enqueued":"2026-01-02T03:04:05Z","due":"2026-01-02T03:04:05Z"}`,
	`{"s":"\u00e9\n\"\\\/","t":"é","u":"\ud83d\ude00"}`,
	`{"a":[]}`, `{"a":[[]],"b":{}}`, `{"a":0}`, `{"a":1.0E5}`, `{"a":"x"}` + "\n",
	// Invalid.
	``, `[]`, `1`, `"a"`, `{`, `{"a"}`, `{"a":}`, `{"a":1,}`, `{"a":1 "b":2}`, `{a:1}`, `{"a":01}`,
	`{"a":1.}`, `{"a":.1}`, `{"a":1e}`, `{"a":-}`, `{"a":tru}`, `{"a":nul}`, `{"a":"\x"}`, `{"a":"\u12"}`,
	"{\"a\":\"\x01\"}", `{"a":[1,]}`, `{"a":[1 2]}`, `{"a":{"b"}}`, `{"a":1}}`, `{"a":1} x`, `{"a":"unterminated}`,
}

// valid is what Object must agree with: an object that encoding/json
// accepts.
func valid(b []byte) bool {
	var m map[string]json.RawMessage
	t := bytes.TrimLeft(b, " \t\r\n")
	return len(t) > 0 && t[0] == '{' && json.Valid(b) && json.Unmarshal(b, &m) == nil
}

func check(t *testing.T, b []byte) {
	t.Helper()
	var keys []string
	err := Object(b, func(k string, v []byte) error {
		if !json.Valid(v) {
			t.Errorf("%q: member %q has an invalid value %q", b, k, v)
		}
		keys = append(keys, k)
		return nil
	})
	if errors.Is(err, ErrSlow) {
		return // encoding/json decides
	}
	if got, want := err == nil, valid(b); got != want {
		t.Errorf("%q: Object error %v, encoding/json valid %v", b, err, want)
	}
	if err == nil {
		var m map[string]json.RawMessage
		json.Unmarshal(b, &m)
		for _, k := range keys {
			if _, ok := m[k]; !ok {
				t.Errorf("%q: key %q not one encoding/json sees", b, k)
			}
		}
	}
}

func TestObjectAgreesWithEncodingJSON(t *testing.T) {
	for _, s := range corpus {
		check(t, []byte(s))
	}
	// Mutations of the valid documents: every single-byte change,
	// deletion and truncation of a few, and random ones of all.
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte(`{}[]":,.-+eE0123456789tfnul\ abx` + "\x01\xff")
	for _, s := range corpus {
		b := []byte(s)
		for i := range b {
			check(t, b[:i])
			check(t, append(append([]byte{}, b[:i]...), b[i+1:]...))
		}
		for range 2000 {
			m := bytes.Clone(b)
			for range 1 + rng.IntN(3) {
				if len(m) == 0 {
					break
				}
				m[rng.IntN(len(m))] = alphabet[rng.IntN(len(alphabet))]
			}
			check(t, m)
		}
	}
}

func FuzzObject(f *testing.F) {
	for _, s := range corpus {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) { check(t, b) })
}

func TestScalars(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
		err  error
	}{
		{`"plain"`, "plain", nil},
		{`"a\"b\u00e9"`, "a\"bé", nil},
		{"\"\xff\"", "\ufffd", nil},
		{`null`, "", ErrSlow},
		{`1`, "", ErrSlow},
	} {
		got, err := String([]byte(tc.in))
		if got != tc.want || !errors.Is(err, tc.err) {
			t.Errorf("String(%s) = %q, %v; want %q, %v", tc.in, got, err, tc.want, tc.err)
		}
	}
	if n, err := Int([]byte(`-42`)); n != -42 || err != nil {
		t.Errorf("Int: %d, %v", n, err)
	}
	for _, bad := range []string{`1.0`, `1e3`, `"1"`, `null`, `99999999999999999999`} {
		if _, err := Int([]byte(bad)); !errors.Is(err, ErrSlow) {
			t.Errorf("Int(%s): %v", bad, err)
		}
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC)
	raw, _ := json.Marshal(at)
	if got, err := Time(raw); !got.Equal(at) || err != nil {
		t.Errorf("Time(%s) = %v, %v", raw, got, err)
	}
	for _, bad := range []string{`null`, `"yesterday"`, `0`} {
		if _, err := Time([]byte(bad)); !errors.Is(err, ErrSlow) {
			t.Errorf("Time(%s): %v", bad, err)
		}
	}
	if r, err := Raw([]byte(`{"a":1}`)); string(r) != `{"a":1}` || err != nil {
		t.Errorf("Raw: %s, %v", r, err)
	}
	if _, err := Raw([]byte(`null`)); !errors.Is(err, ErrSlow) {
		t.Errorf("Raw(null): %v", err)
	}
}
