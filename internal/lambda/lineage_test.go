package lambda

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestChainTrace(t *testing.T) {
	const a, b = "arn:aws:lambda:us-east-1:000000000000:function:a", "arn:aws:lambda:us-east-1:000000000000:function:b"
	now := time.Unix(0x6748a3f0, 0)
	tr := ChainTrace("", a, now)
	if !strings.HasPrefix(tr, "Root=1-6748a3f0-") || !strings.Contains(tr, ";Sampled=0;Lineage=") || RecursionDepth(tr, a) != 1 || RecursionDepth(tr, b) != 0 {
		t.Fatalf("first link %q", tr)
	}
	root := strings.Split(tr, ";")[0]
	for i := 2; i <= 20; i++ {
		tr = ChainTrace(tr, a, now)
		if d := RecursionDepth(tr, a); d != i {
			t.Fatalf("link %d: depth %d (%q)", i, d, tr)
		}
	}
	tr = ChainTrace(tr, b, now)
	if RecursionDepth(tr, a) != 20 || RecursionDepth(tr, b) != 1 || !strings.HasPrefix(tr, root+";") {
		t.Errorf("after another function: %q", tr)
	}
	// As an SDK sends it: percent-encoded (botocore keeps ;=: but may
	// encode others), with other fields around.
	sent := url.PathEscape(tr) + ";Self=1-abc"
	if RecursionDepth(sent, a) != 20 {
		t.Errorf("encoded header %q: depth %d", sent, RecursionDepth(sent, a))
	}
	for _, bad := range []string{"", "Root=1-2-3", "Lineage=zz:1", "Lineage=12345678:x", "Lineage"} {
		if RecursionDepth(bad, a) != 0 {
			t.Errorf("RecursionDepth(%q) != 0", bad)
		}
	}
}
