package policy

import (
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Context holds a request's condition keys and their values. Keys are in
// CanonicalKey form; a key that is absent is not in the map.
type Context map[string][]string

// Set records a key's values (replacing any).
func (c Context) Set(key string, values ...string) { c[CanonicalKey(key)] = values }

// Get returns a key's values and whether the key is present.
func (c Context) Get(key string) ([]string, bool) {
	v, ok := c[CanonicalKey(key)]
	return v, ok
}

type opKind int

const (
	kindString opKind = iota
	kindStringIgnoreCase
	kindStringLike
	kindNumeric
	kindDate
	kindBool
	kindBinary
	kindIP
	kindARN
	kindARNLike
	kindNull
)

// operator is a condition operator without its IfExists and set
// qualifiers.
type operator struct {
	kind    opKind
	negated bool
	cmp     string // numeric and date operators: eq, lt, le, gt, ge
}

// operators are AWS's condition operators; their names are
// case-sensitive.
var operators = map[string]*operator{
	"StringEquals":              {kind: kindString},
	"StringNotEquals":           {kind: kindString, negated: true},
	"StringEqualsIgnoreCase":    {kind: kindStringIgnoreCase},
	"StringNotEqualsIgnoreCase": {kind: kindStringIgnoreCase, negated: true},
	"StringLike":                {kind: kindStringLike},
	"StringNotLike":             {kind: kindStringLike, negated: true},
	"NumericEquals":             {kind: kindNumeric, cmp: "eq"},
	"NumericNotEquals":          {kind: kindNumeric, cmp: "eq", negated: true},
	"NumericLessThan":           {kind: kindNumeric, cmp: "lt"},
	"NumericLessThanEquals":     {kind: kindNumeric, cmp: "le"},
	"NumericGreaterThan":        {kind: kindNumeric, cmp: "gt"},
	"NumericGreaterThanEquals":  {kind: kindNumeric, cmp: "ge"},
	"DateEquals":                {kind: kindDate, cmp: "eq"},
	"DateNotEquals":             {kind: kindDate, cmp: "eq", negated: true},
	"DateLessThan":              {kind: kindDate, cmp: "lt"},
	"DateLessThanEquals":        {kind: kindDate, cmp: "le"},
	"DateGreaterThan":           {kind: kindDate, cmp: "gt"},
	"DateGreaterThanEquals":     {kind: kindDate, cmp: "ge"},
	"Bool":                      {kind: kindBool},
	"BinaryEquals":              {kind: kindBinary},
	"IpAddress":                 {kind: kindIP},
	"NotIpAddress":              {kind: kindIP, negated: true},
	"ArnEquals":                 {kind: kindARN},
	"ArnNotEquals":              {kind: kindARN, negated: true},
	"ArnLike":                   {kind: kindARNLike},
	"ArnNotLike":                {kind: kindARNLike, negated: true},
	"Null":                      {kind: kindNull},
}

// lookupOperator splits an operator as written into its base operator,
// set qualifier and IfExists suffix.
func lookupOperator(name string) (op *operator, set string, ifExists, ok bool) {
	base := name
	for _, q := range []string{"ForAnyValue:", "ForAllValues:"} {
		if rest, found := strings.CutPrefix(base, q); found {
			set, base = strings.TrimSuffix(q, ":"), rest
			break
		}
	}
	if rest, found := strings.CutSuffix(base, "IfExists"); found && rest != "Null" {
		base, ifExists = rest, true
	}
	op, ok = operators[base]
	if ok && op.kind == kindNull && set != "" {
		ok = false
	}
	return op, set, ifExists, ok
}

// holds reports whether the condition holds for a request's context.
// vars resolves policy variables in condition values (nil: none).
func (c *Condition) holds(ctx Context, vars func(string) (string, bool)) bool {
	got, present := ctx[c.key]
	if c.op.kind == kindNull {
		for _, v := range c.Values {
			if strings.EqualFold(v, "true") != present {
				return true
			}
		}
		return false
	}
	if !present || len(got) == 0 {
		switch {
		case c.ifExists:
			return true
		case c.set == "ForAllValues":
			return true
		case c.set == "ForAnyValue":
			return false
		}
		return c.op.negated
	}
	want := c.Values
	if vars != nil {
		want = make([]string, 0, len(c.Values))
		for _, v := range c.Values {
			if s, ok := substitute(v, vars); ok {
				want = append(want, s)
			}
		}
	}
	matchesOne := func(r string) bool {
		for _, w := range want {
			if c.op.match(r, w) {
				return true
			}
		}
		return false
	}
	switch c.set {
	case "ForAllValues":
		for _, r := range got {
			if matchesOne(r) == c.op.negated {
				return false
			}
		}
		return true
	case "ForAnyValue":
		for _, r := range got {
			if matchesOne(r) != c.op.negated {
				return true
			}
		}
		return false
	}
	for _, r := range got {
		if matchesOne(r) {
			return !c.op.negated
		}
	}
	return c.op.negated
}

// match is the operator's positive test of one request value against one
// policy value.
func (op *operator) match(got, want string) bool {
	switch op.kind {
	case kindString, kindBinary, kindARN:
		return got == want
	case kindStringIgnoreCase:
		return strings.EqualFold(got, want)
	case kindStringLike:
		return Match(want, got)
	case kindNumeric:
		g, err1 := strconv.ParseFloat(got, 64)
		w, err2 := strconv.ParseFloat(want, 64)
		return err1 == nil && err2 == nil && compare(op.cmp, cmpFloat(g, w))
	case kindDate:
		g, ok1 := parseDate(got)
		w, ok2 := parseDate(want)
		return ok1 && ok2 && compare(op.cmp, g.Compare(w))
	case kindBool:
		return strings.EqualFold(got, want)
	case kindIP:
		a, err := netip.ParseAddr(got)
		if err != nil {
			return false
		}
		p, err := parsePrefix(want)
		return err == nil && p.Contains(a.Unmap())
	case kindARNLike:
		return arnLike(want, got)
	}
	return false
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func compare(op string, c int) bool {
	switch op {
	case "eq":
		return c == 0
	case "lt":
		return c < 0
	case "le":
		return c <= 0
	case "gt":
		return c > 0
	case "ge":
		return c >= 0
	}
	return false
}

// parseDate reads the date forms of condition values: ISO 8601 (with or
// without fractional seconds, or a date alone) or epoch seconds.
func parseDate(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04Z07:00", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0), true
	}
	return time.Time{}, false
}

// arnLike matches an ARN against a pattern component by component: the
// six colon-separated parts are matched separately, the last one keeping
// any further colons.
func arnLike(pattern, arn string) bool {
	pp := strings.SplitN(pattern, ":", 6)
	ap := strings.SplitN(arn, ":", 6)
	if len(pp) != 6 || len(ap) != 6 {
		return Match(pattern, arn)
	}
	for i := range pp {
		if !Match(pp[i], ap[i]) {
			return false
		}
	}
	return true
}

// substitute replaces the policy variables in s (${aws:username},
// ${aws:username, 'default'}, and the escapes ${*}, ${?}, ${$}); ok is
// false when a variable has no value and no default.
func substitute(s string, vars func(string) (string, bool)) (string, bool) {
	if !strings.Contains(s, "${") {
		return s, true
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), true
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			b.WriteString(s)
			return b.String(), true
		}
		b.WriteString(s[:i])
		name := strings.TrimSpace(s[i+2 : i+j])
		s = s[i+j+1:]
		switch name {
		case "*", "?", "$":
			b.WriteString(name)
			continue
		}
		def, hasDef := "", false
		if k, d, ok := strings.Cut(name, ","); ok {
			name = strings.TrimSpace(k)
			d = strings.TrimSpace(d)
			if len(d) >= 2 && d[0] == '\'' && d[len(d)-1] == '\'' {
				def, hasDef = d[1:len(d)-1], true
			}
		}
		v, ok := vars(name)
		switch {
		case ok:
			b.WriteString(v)
		case hasDef:
			b.WriteString(def)
		default:
			return "", false
		}
	}
}
