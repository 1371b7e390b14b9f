package lambda

import "strings"

// A FunctionName is a list of colon-separated fields: none of the
// patterns' character classes contains ':', so every regular expression
// of the Lambda model (patFunctionName, patNamespacedName,
// patUnqualified) reads as a sequence of optional parts that each take
// whole fields:
//
//	[arn:PARTITION:lambda:] [REGION:] [ACCOUNT:] [function:] NAME [:QUALIFIER]
//
// nameGrammar matches such a list by hand, trying the optional parts
// present before absent, as the regular expressions' greedy ? does, so
// split returns the parts the first matching parse gives.
type nameGrammar struct {
	// partitionOptional accepts "arn::lambda:" (the model's
	// (aws[a-zA-Z-]*)?); otherwise the partition must start with "aws".
	partitionOptional bool
	// arnNeedsAccount: after an arn: prefix, the region and account are
	// required (patNamespacedName).
	arnNeedsAccount bool
	// nameDot allows '.' in the name.
	nameDot bool
	// qualifier says which qualifiers may follow the name.
	qualifier qualifierKind
}

type qualifierKind int

const (
	qualNone            qualifierKind = iota // no qualifier
	qualLatest                               // $LATEST or [a-zA-Z0-9-_]+
	qualLatestPublished                      // also $LATEST.PUBLISHED
)

var (
	functionNameGrammar = nameGrammar{partitionOptional: true, qualifier: qualLatest}
	namespacedGrammar   = nameGrammar{partitionOptional: true, arnNeedsAccount: true, nameDot: true, qualifier: qualLatestPublished}
	unqualifiedGrammar  = nameGrammar{partitionOptional: true, qualifier: qualNone}
	// splitGrammar takes a name apart once a kind's grammar accepted it.
	splitGrammar = nameGrammar{nameDot: true, qualifier: qualLatestPublished}
)

// nameParts are the fields of a FunctionName; absent parts are "".
type nameParts struct {
	region, account, name, qualifier string
}

// maxNameFields is the most fields a FunctionName can have: three for
// the ARN prefix, then region, account, "function", name and qualifier.
const maxNameFields = 8

// valid reports whether s matches the grammar.
func (g *nameGrammar) valid(s string) bool {
	_, ok := g.split(s)
	return ok
}

// split matches s and returns its parts.
func (g *nameGrammar) split(s string) (nameParts, bool) {
	var buf [maxNameFields]string
	n := 0
	for {
		i := strings.IndexByte(s, ':')
		if n == maxNameFields {
			return nameParts{}, false
		}
		if i < 0 {
			buf[n] = s
			n++
			break
		}
		buf[n] = s[:i]
		n++
		s = s[i+1:]
	}
	f := buf[:n]
	var p nameParts
	if len(f) >= 3 && f[0] == "arn" && f[2] == "lambda" && g.partition(f[1]) &&
		g.region(f[3:], &p, g.arnNeedsAccount) {
		return p, true
	}
	p = nameParts{}
	if g.region(f, &p, false) {
		return p, true
	}
	return nameParts{}, false
}

func (g *nameGrammar) partition(f string) bool {
	if f == "" {
		return g.partitionOptional
	}
	return strings.HasPrefix(f, "aws") && allChars(f[3:], partitionChar)
}

// region matches [REGION:] [ACCOUNT:] [function:] NAME [:QUALIFIER].
func (g *nameGrammar) region(f []string, p *nameParts, required bool) bool {
	if len(f) > 1 && isRegion(f[0]) {
		p.region = f[0]
		if g.account(f[1:], p, required) {
			return true
		}
		p.region = ""
	}
	return !required && g.account(f, p, false)
}

func (g *nameGrammar) account(f []string, p *nameParts, required bool) bool {
	if len(f) > 1 && len(f[0]) == 12 && allChars(f[0], digit) {
		p.account = f[0]
		if g.function(f[1:], p) {
			return true
		}
		p.account = ""
	}
	return !required && g.function(f, p)
}

func (g *nameGrammar) function(f []string, p *nameParts) bool {
	if len(f) > 1 && f[0] == "function" && g.name(f[1:], p) {
		return true
	}
	return g.name(f, p)
}

// name matches NAME [:QUALIFIER], the last one or two fields.
func (g *nameGrammar) name(f []string, p *nameParts) bool {
	if len(f) == 0 || len(f) > 2 || f[0] == "" {
		return false
	}
	if g.nameDot {
		if !allChars(f[0], nameDotChar) {
			return false
		}
	} else if !allChars(f[0], nameChar) {
		return false
	}
	if len(f) == 1 {
		p.name, p.qualifier = f[0], ""
		return true
	}
	q := f[1]
	switch {
	case g.qualifier == qualNone:
		return false
	case q == LatestVersion, g.qualifier == qualLatestPublished && q == LatestVersion+".PUBLISHED":
	case q == "" || !allChars(q, nameChar):
		return false
	}
	p.name, p.qualifier = f[0], q
	return true
}

// isRegion matches (eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d.
func isRegion(f string) bool {
	// The last two parts, -[a-z]+-\d, end the field.
	n := len(f)
	if n < 2 || !digit(f[n-1]) || f[n-2] != '-' {
		return false
	}
	f = f[:n-2]
	i := strings.LastIndexByte(f, '-')
	if i < 0 || i == len(f)-1 || !allChars(f[i+1:], lower) {
		return false
	}
	head := f[:i]
	return regionHead(head) || strings.HasPrefix(head, "eusc-") && regionHead(head[len("eusc-"):])
}

// regionHead matches [a-z]{2}((-gov)|(-iso([a-z]?)))?.
func regionHead(h string) bool {
	if len(h) < 2 || !lower(h[0]) || !lower(h[1]) {
		return false
	}
	switch rest := h[2:]; {
	case rest == "", rest == "-gov", rest == "-iso":
		return true
	default:
		return len(rest) == 5 && strings.HasPrefix(rest, "-iso") && lower(rest[4])
	}
}

// validQualifierParam matches patQualifier: \$(LATEST(\.PUBLISHED)?)|[a-zA-Z0-9-_$]+.
func validQualifierParam(q string) bool {
	return q == LatestVersion || q == LatestVersion+".PUBLISHED" || q != "" && allChars(q, qualifierChar)
}

func allChars(s string, ok func(byte) bool) bool {
	for i := 0; i < len(s); i++ {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}

func digit(c byte) bool { return '0' <= c && c <= '9' }
func lower(c byte) bool { return 'a' <= c && c <= 'z' }
func letter(c byte) bool {
	return lower(c) || 'A' <= c && c <= 'Z'
}

// nameChar is [a-zA-Z0-9-_].
func nameChar(c byte) bool      { return letter(c) || digit(c) || c == '-' || c == '_' }
func nameDotChar(c byte) bool   { return nameChar(c) || c == '.' }
func qualifierChar(c byte) bool { return nameChar(c) || c == '$' }
func partitionChar(c byte) bool { return letter(c) || c == '-' }
