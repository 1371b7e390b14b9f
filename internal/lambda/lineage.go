package lambda

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Recursive loop detection follows AWS: every invocation carries an X-Ray
// trace header (the runtime exposes it as _X_AMZN_TRACE_ID, and AWS SDKs
// running in a function send it back as X-Amzn-Trace-Id on their
// requests) whose Lineage field counts, per function, how many times the
// chain of events that led to the invocation has invoked that function:
//
//	Root=1-6748a3f0-8f1d…;Parent=53995c3f42cd8ad8;Sampled=0;Lineage=a87bd80c:3|68fd508a:1
//
// Each entry is the first 8 hex digits of the SHA-256 of a function's
// unqualified ARN and a count. An event source that invokes a function on
// behalf of a request carrying such a header (S3 notifications, for a
// write by a function's own credentials) derives the new invocation's
// header with ChainTrace; the asynchronous queue stops an invocation whose
// count for its function exceeds MaxRecursiveInvocations, unless the
// function's recursion config is Allow.

// MaxRecursiveInvocations is how many times one chain of events may invoke
// the same function before the next invocation is stopped.
const MaxRecursiveInvocations = 16

// CodeRecursiveInvocation is the exception AWS reports for an invocation
// stopped by recursive loop detection.
const CodeRecursiveInvocation = "RecursiveInvocationException"

// maxLineage bounds the entries a Lineage field keeps (the most recently
// incremented are kept).
const maxLineage = 10

// lineageEntry is one function's count in a Lineage field.
type lineageEntry struct {
	hash  string
	count int
}

// lineageHash names a function in a Lineage field.
func lineageHash(functionARN string) string {
	sum := sha256.Sum256([]byte(functionARN))
	return hex.EncodeToString(sum[:4])
}

// parseTrace splits a trace header (percent-encoded, as SDKs send it, or
// not) into its fields.
func parseTrace(trace string) (fields [][2]string) {
	if strings.Contains(trace, "%") {
		if u, err := url.PathUnescape(trace); err == nil {
			trace = u
		}
	}
	for f := range strings.SplitSeq(trace, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(f), "=")
		if k != "" {
			fields = append(fields, [2]string{k, v})
		}
	}
	return fields
}

func parseLineage(v string) []lineageEntry {
	var out []lineageEntry
	for e := range strings.SplitSeq(v, "|") {
		h, c, ok := strings.Cut(e, ":")
		n, err := strconv.Atoi(c)
		if !ok || err != nil || n < 0 || len(h) != 8 {
			continue
		}
		out = append(out, lineageEntry{h, n})
	}
	return out
}

// RecursionDepth returns how many times the chain of events that trace (an
// invocation's trace header) describes has invoked functionARN (an
// unqualified function ARN), this invocation included.
func RecursionDepth(trace, functionARN string) int {
	h := lineageHash(functionARN)
	for _, f := range parseTrace(trace) {
		if f[0] != "Lineage" {
			continue
		}
		for _, e := range parseLineage(f[1]) {
			if e.hash == h {
				return e.count
			}
		}
	}
	return 0
}

// ChainTrace returns the trace header of an invocation of functionARN (an
// unqualified function ARN) caused by a request that carried trace ("" if
// none): the same root, a new parent, and a Lineage whose count for the
// function is one more than trace's.
func ChainTrace(trace, functionARN string, now time.Time) string {
	root := ""
	var lineage []lineageEntry
	for _, f := range parseTrace(trace) {
		switch f[0] {
		case "Root":
			root = f[1]
		case "Lineage":
			lineage = parseLineage(f[1])
		}
	}
	if root == "" {
		root = newTraceRoot(now)
	}
	h := lineageHash(functionARN)
	next := []lineageEntry{{h, 1}}
	for _, e := range lineage {
		if e.hash == h {
			next[0].count = e.count + 1
		} else if len(next) < maxLineage {
			next = append(next, e)
		}
	}
	var b strings.Builder
	b.WriteString("Root=")
	b.WriteString(root)
	b.WriteString(";Parent=")
	b.WriteString(randomHex(8))
	b.WriteString(";Sampled=0;Lineage=")
	for i, e := range next {
		if i > 0 {
			b.WriteByte('|')
		}
		b.WriteString(e.hash)
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(e.count))
	}
	return b.String()
}

// newTraceRoot returns an X-Ray root trace ID: version 1, the time in hex
// seconds, 96 random bits.
func newTraceRoot(now time.Time) string {
	secs := strconv.FormatInt(now.Unix(), 16)
	if len(secs) < 8 {
		secs = strings.Repeat("0", 8-len(secs)) + secs
	}
	return "1-" + secs + "-" + randomHex(12)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
