package lambda

import (
	"strconv"
	"strings"
)

// LatestVersion is the version name of a function's unpublished,
// editable version.
const LatestVersion = "$LATEST"

// The FunctionName patterns of the Lambda model, as AWS prints them in
// validation errors. Operations differ in which one they accept.
const (
	patFunctionName   = `(arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?`
	patNamespacedName = `(arn:(aws[a-zA-Z-]*)?:lambda:(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:\d{12}:|(((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?(\d{12}:)?))(function:)?([a-zA-Z0-9-_\.]+)(:(\$LATEST(\.PUBLISHED)?|[a-zA-Z0-9-_]+))?`
	patUnqualified    = `(arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_]+)`
	patQualifier      = `\$(LATEST(\.PUBLISHED)?)|[a-zA-Z0-9-_$]+`
	patAlias          = `(?!^[0-9]+$)([a-zA-Z0-9-_]+)`
)

// nameKind says which FunctionName shape an operation takes.
type nameKind int

const (
	// kindName: FunctionName, at most 140 characters, optional qualifier.
	kindName nameKind = iota
	// kindNamespaced: NamespacedFunctionName, at most 256 characters.
	kindNamespaced
	// kindUnqualified: UnqualifiedFunctionName, no qualifier.
	kindUnqualified
)

// ref names a function, and optionally one of its versions or aliases, as
// a request gave it.
type ref struct {
	name string
	// qualifier is "" when none was given; else "$LATEST", a version
	// number or an alias name.
	qualifier string
}

// parseName validates and splits a FunctionName parameter and merges it
// with a separate Qualifier parameter ("" when absent), the way AWS does
// for each kind of name.
func (s *Service) parseName(param, qualifier string, kind nameKind) (ref, error) {
	var v violations
	maxLen, g, pat := 140, &functionNameGrammar, patFunctionName
	switch kind {
	case kindNamespaced:
		maxLen, g, pat = 256, &namespacedGrammar, patNamespacedName
	case kindUnqualified:
		g, pat = &unqualifiedGrammar, patUnqualified
	}
	switch {
	case !strings.Contains(param, ":") && len(param) > 64:
		v.add("functionName", &param, "Member must have length less than or equal to 64")
		return ref{}, v.err(CodeInvalidParameterValue)
	case len(param) > maxLen:
		v.add("functionName", &param, "Member must have length less than or equal to "+strconv.Itoa(maxLen))
	case param == "":
		v.add("functionName", &param, "Member must have length greater than or equal to 1")
	case !g.valid(param):
		v.add("functionName", &param, "Member must satisfy regular expression pattern: "+pat)
	}
	if qualifier != "" {
		checkQualifier(&v, qualifier)
	}
	if err := v.err(CodeValidation); err != nil {
		return ref{}, err
	}
	m, ok := splitGrammar.split(param)
	if !ok {
		v.add("functionName", &param, "Member must satisfy regular expression pattern: "+pat)
		return ref{}, v.err(CodeValidation)
	}
	r := ref{name: m.name, qualifier: m.qualifier}
	if m.region != "" && m.region != s.region {
		return ref{}, errorf(CodeResourceNotFound, "Functions from '%s' are not reachable in this region ('%s')", m.region, s.region)
	}
	if m.account != "" && m.account != s.account {
		return ref{}, errorf(CodeAccessDenied, "The function's account %s is not this server's account %s.", m.account, s.account)
	}
	if qualifier != "" {
		if r.qualifier != "" && r.qualifier != qualifier {
			return ref{}, invalidParam(msgQualifierMismatch)
		}
		r.qualifier = qualifier
	}
	return r, nil
}

// checkQualifier validates a Qualifier parameter, adding to v.
func checkQualifier(v *violations, q string) {
	switch {
	case len(q) > 128:
		v.add("qualifier", &q, "Member must have length less than or equal to 128")
	case !validQualifierParam(q):
		v.add("qualifier", &q, "Member must satisfy regular expression pattern: "+patQualifier)
	}
}

// validAlias reports whether name is a valid alias name.
func validAlias(name string) bool {
	return len(name) >= 1 && len(name) <= 128 && allChars(name, nameChar) && !allChars(name, digit)
}

// isVersionNumber reports whether q names a published version.
func isVersionNumber(q string) bool { return q != "" && allChars(q, digit) }

// FunctionARN returns the unqualified ARN of the named function.
func (s *Service) FunctionARN(name string) string {
	return "arn:aws:lambda:" + s.region + ":" + s.account + ":function:" + name
}

// qualifiedARN returns the ARN of a function with a qualifier, or the
// unqualified ARN when qualifier is "".
func (s *Service) qualifiedARN(name, qualifier string) string {
	if qualifier == "" {
		return s.FunctionARN(name)
	}
	return s.FunctionARN(name) + ":" + qualifier
}

// versionKey orders published versions numerically within a function.
func versionKey(name string, version int) string {
	return name + "/" + leftPad(strconv.Itoa(version), 10)
}

func leftPad(s string, n int) string {
	if len(s) >= n {
		return s
	}
	return strings.Repeat("0", n-len(s)) + s
}
