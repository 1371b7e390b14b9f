package lambda

import (
	"math/rand"
	"regexp"
	"strings"
	"testing"
)

// The regular expressions parseName used before the hand-written
// grammar; the grammar must agree with them on every input.
var (
	oracleFunctionName = regexp.MustCompile(`^(?:` + patFunctionName + `)$`)
	oracleNamespaced   = regexp.MustCompile(`^(?:` + patNamespacedName + `)$`)
	oracleUnqualified  = regexp.MustCompile(`^(?:` + patUnqualified + `)$`)
	oracleQualifier    = regexp.MustCompile(`^(?:` + patQualifier + `)$`)
	oracleSplit        = regexp.MustCompile(`^(?:arn:aws[a-zA-Z-]*:lambda:)?` +
		`(?P<region>(?:eusc-)?[a-z]{2}(?:(?:-gov)|(?:-iso[a-z]?))?-[a-z]+-\d:)?` +
		`(?P<account>\d{12}:)?(?:function:)?(?P<name>[a-zA-Z0-9-_.]+)` +
		`(?::(?P<qualifier>\$LATEST(?:\.PUBLISHED)?|[a-zA-Z0-9-_]+))?$`)
	oracleDigits = regexp.MustCompile(`^[0-9]+$`)
)

// checkAgainstOracle compares the grammar with the regular expressions
// on one input.
func checkAgainstOracle(t *testing.T, s string) {
	t.Helper()
	for _, k := range []struct {
		g  *nameGrammar
		re *regexp.Regexp
	}{
		{&functionNameGrammar, oracleFunctionName},
		{&namespacedGrammar, oracleNamespaced},
		{&unqualifiedGrammar, oracleUnqualified},
	} {
		if got, want := k.g.valid(s), k.re.MatchString(s); got != want {
			t.Errorf("%q: valid = %v, regexp %s says %v", s, got, k.re, want)
		}
	}
	p, ok := splitGrammar.split(s)
	m := oracleSplit.FindStringSubmatch(s)
	if ok != (m != nil) {
		t.Errorf("%q: split ok = %v, regexp matched %v", s, ok, m != nil)
	} else if ok {
		want := nameParts{
			region:    strings.TrimSuffix(m[oracleSplit.SubexpIndex("region")], ":"),
			account:   strings.TrimSuffix(m[oracleSplit.SubexpIndex("account")], ":"),
			name:      m[oracleSplit.SubexpIndex("name")],
			qualifier: m[oracleSplit.SubexpIndex("qualifier")],
		}
		if p != want {
			t.Errorf("%q: split = %+v, regexp gives %+v", s, p, want)
		}
	}
	if got, want := validQualifierParam(s), oracleQualifier.MatchString(s); got != want {
		t.Errorf("%q: validQualifierParam = %v, regexp says %v", s, got, want)
	}
	if got, want := isVersionNumber(s), oracleDigits.MatchString(s); got != want {
		t.Errorf("%q: isVersionNumber = %v, regexp says %v", s, got, want)
	}
}

func TestNameGrammarTable(t *testing.T) {
	tests := []struct {
		in                       string
		function, namespaced, un bool
		parts                    nameParts // zero when split fails
	}{
		{"fn", true, true, true, nameParts{name: "fn"}},
		{"my-fn_2", true, true, true, nameParts{name: "my-fn_2"}},
		{"a.b", false, true, false, nameParts{name: "a.b"}},
		{"fn:live", true, true, false, nameParts{name: "fn", qualifier: "live"}},
		{"fn:$LATEST", true, true, false, nameParts{name: "fn", qualifier: "$LATEST"}},
		{"fn:$LATEST.PUBLISHED", false, true, false, nameParts{name: "fn", qualifier: "$LATEST.PUBLISHED"}},
		{"fn:$latest", false, false, false, nameParts{}},
		{"fn:", false, false, false, nameParts{}},
		{":fn", false, false, false, nameParts{}},
		{"fn:1:2", false, false, false, nameParts{}},
		{"function:fn", true, true, true, nameParts{name: "fn"}},
		{"function:function", true, true, true, nameParts{name: "function"}},
		{"123456789012:function:fn", true, true, true, nameParts{account: "123456789012", name: "fn"}},
		{"123456789012:fn:3", true, true, false, nameParts{account: "123456789012", name: "fn", qualifier: "3"}},
		{"12345678901:function:fn", false, false, false, nameParts{}},
		{"us-east-1:123456789012:function:fn", true, true, true, nameParts{region: "us-east-1", account: "123456789012", name: "fn"}},
		{"us-east-1:fn", true, true, true, nameParts{region: "us-east-1", name: "fn"}},
		{"us-gov-west-1:fn", true, true, true, nameParts{region: "us-gov-west-1", name: "fn"}},
		{"us-isob-east-1:fn", true, true, true, nameParts{region: "us-isob-east-1", name: "fn"}},
		{"eusc-de-east-1:fn", true, true, true, nameParts{region: "eusc-de-east-1", name: "fn"}},
		{"us-east-12:function:fn", false, false, false, nameParts{}},
		{"US-east-1:function:fn", false, false, false, nameParts{}},
		{"arn:aws:lambda:us-east-1:123456789012:function:fn", true, true, true,
			nameParts{region: "us-east-1", account: "123456789012", name: "fn"}},
		{"arn:aws:lambda:us-east-1:123456789012:function:fn:$LATEST", true, true, false,
			nameParts{region: "us-east-1", account: "123456789012", name: "fn", qualifier: "$LATEST"}},
		{"arn:aws-cn:lambda:cn-north-1:123456789012:function:fn:v2", true, true, false,
			nameParts{region: "cn-north-1", account: "123456789012", name: "fn", qualifier: "v2"}},
		{"arn:aws:lambda:::function:fn", false, false, false, nameParts{}},
		{"arn::lambda:fn", true, false, true, nameParts{}},
		{"arn:aws:lambda:fn", true, false, true, nameParts{name: "fn"}},
		{"arn:aws:lambda:us-east-1:function:fn", true, false, true, nameParts{region: "us-east-1", name: "fn"}},
		{"arn:aws:s3:::bucket", false, false, false, nameParts{}},
		{"invalid:function:name", false, false, false, nameParts{}},
		{"", false, false, false, nameParts{}},
		{"a:b:c:d:e:f:g:h:i", false, false, false, nameParts{}},
	}
	for _, tc := range tests {
		if got := functionNameGrammar.valid(tc.in); got != tc.function {
			t.Errorf("%q: FunctionName valid = %v, want %v", tc.in, got, tc.function)
		}
		if got := namespacedGrammar.valid(tc.in); got != tc.namespaced {
			t.Errorf("%q: NamespacedFunctionName valid = %v, want %v", tc.in, got, tc.namespaced)
		}
		if got := unqualifiedGrammar.valid(tc.in); got != tc.un {
			t.Errorf("%q: UnqualifiedFunctionName valid = %v, want %v", tc.in, got, tc.un)
		}
		p, ok := splitGrammar.split(tc.in)
		if ok != (tc.parts != nameParts{}) || p != tc.parts {
			t.Errorf("%q: split = %+v, %v; want %+v", tc.in, p, ok, tc.parts)
		}
		checkAgainstOracle(t, tc.in)
	}
}

// TestNameGrammarMatchesRegexps compares the grammar with the model's
// regular expressions on names built from fields that come close to
// every pattern's edges, and on random bytes.
func TestNameGrammarMatchesRegexps(t *testing.T) {
	fields := []string{"", "arn", "aws", "aws-cn", "aws-us-gov", "awsX", "aw", "lambda", "s3",
		"us-east-1", "us-gov-west-1", "us-iso-east-1", "us-isob-east-1", "us-isobb-east-1",
		"eusc-de-east-1", "eusc-us-1", "eu-west-12", "u-east-1", "us-east-", "us--1",
		"123456789012", "12345678901", "1234567890123", "function", "functions",
		"fn", "f.n", "my-fn_2", "$LATEST", "$LATEST.PUBLISHED", "$latest", "1", "07", "x$y", "a b"}
	rnd := rand.New(rand.NewSource(1))
	n := 60000
	if testing.Short() {
		n = 10000
	}
	for i := 0; i < n; i++ {
		k := 1 + rnd.Intn(9)
		parts := make([]string, k)
		for j := range parts {
			parts[j] = fields[rnd.Intn(len(fields))]
		}
		checkAgainstOracle(t, strings.Join(parts, ":"))
	}
	const alphabet = "aw:sun-1.$_LATEST9Z"
	for i := 0; i < n; i++ {
		b := make([]byte, rnd.Intn(16))
		for j := range b {
			b[j] = alphabet[rnd.Intn(len(alphabet))]
		}
		checkAgainstOracle(t, string(b))
	}
}

func BenchmarkParseName(b *testing.B) {
	s := testService()
	for _, name := range []string{"bench-noop", "arn:aws:lambda:us-east-1:123456789012:function:bench-noop:live"} {
		b.Run(strings.SplitN(name, ":", 2)[0], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.parseName(name, "", kindNamespaced); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
