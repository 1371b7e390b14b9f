package jsonscan

import (
	"encoding/json"
	"testing"
)

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", `q"uo\te`, "tab\there\nnl\r\x00\x1f\x7f\b\f", "<a href='x'>&amp;</a>",
		"ünï €", "bad\xffutf8\xc3", "line\u2028sep\u2029", "\xed\xa0\x80 surrogate", "emoji 🎉"} {
		want, _ := json.Marshal(s)
		if got := AppendString([]byte("x"), s); string(got) != "x"+string(want) {
			t.Errorf("AppendString(%q) = %s, want %s", s, got[1:], want)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	f.Add("a<b>\"c\"\xff\u2028")
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := AppendString(nil, s); string(got) != string(want) {
			t.Errorf("AppendString(%q) = %s, want %s", s, got, want)
		}
	})
}

// BenchmarkAppendString: the strings the outbox encodes on the committer
// (ARNs, request IDs, trace headers, keys).
func BenchmarkAppendString(b *testing.B) {
	s := "Root=1-6744a0b1-0123456789abcdef01234567;Parent=0123456789abcdef;Sampled=0;Lineage=a87bd80c:1 arn:aws:lambda:us-east-1:000000000000:function:f"
	buf := make([]byte, 0, 256)
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		buf = AppendString(buf[:0], s)
	}
}
