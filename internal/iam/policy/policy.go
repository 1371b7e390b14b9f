// Package policy is the AWS access policy language: it parses policy
// documents (S3 bucket policies today, IAM identity policies later) with
// the validation errors AWS answers, evaluates them against a request
// (explicit Deny wins over Allow; nothing matching is an implicit deny),
// and tells whether a policy is public in S3's sense.
//
// The language is generic; what depends on the service — which actions,
// resources and condition keys exist — is supplied through ParseOptions
// (BucketPolicy returns S3's).
package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

// Versions of the policy language.
const (
	Version2012 = "2012-10-17"
	Version2008 = "2008-10-17"
)

// Effect is a statement's effect.
type Effect string

// The two effects.
const (
	Allow Effect = "Allow"
	Deny  Effect = "Deny"
)

// Policy is a parsed policy document.
type Policy struct {
	// Version is the language version ("" when the document names none,
	// which AWS reads as 2008-10-17: no policy variables).
	Version    string
	ID         string
	Statements []*Statement
}

// Statement is one statement of a policy.
type Statement struct {
	Sid    string
	Effect Effect
	// Principal and NotPrincipal are nil when absent.
	Principal    *Principals
	NotPrincipal *Principals
	// Action and NotAction hold patterns ("s3:Get*"); at most one is set.
	Action    []string
	NotAction []string
	// Resource and NotResource hold ARN patterns; at most one is set.
	Resource    []string
	NotResource []string
	Conditions  []Condition
}

// Principals is the value of a Principal or NotPrincipal element.
type Principals struct {
	// Any is "*" (or {"AWS": "*"}): everyone, anonymous requests included.
	Any           bool
	AWS           []string // account IDs and IAM ARNs
	CanonicalUser []string
	Service       []string
	Federated     []string
}

// Condition is one key of one condition operator: all of a statement's
// conditions must hold for it to apply.
type Condition struct {
	// Operator is the operator as written ("ForAnyValue:StringLikeIfExists").
	Operator string
	// Key is the condition key as written; keys compare case-insensitively.
	Key    string
	Values []string

	op       *operator
	set      string // "", "ForAnyValue" or "ForAllValues"
	ifExists bool
	key      string // canonical form of Key
}

// Error is a policy the parser refuses; Message is AWS's text for it (the
// MalformedPolicy message of S3).
type Error struct {
	Message string
}

func (e *Error) Error() string { return "policy: " + e.Message }

func errorf(format string, args ...any) *Error {
	return &Error{Message: fmt.Sprintf(format, args...)}
}

// AWS's messages for malformed policies.
const (
	msgFirstByte          = "Policies must be valid JSON and the first byte must be '{'"
	msgInvalidJSON        = "This policy contains invalid Json"
	msgVersion            = "The policy must contain a valid version string"
	msgNoStatement        = "Missing required field Statement"
	msgEmptyStatement     = "Could not parse the policy: Statement is empty!"
	msgInvalidPrincipal   = "Invalid principal in policy"
	msgInvalidAction      = "Policy has invalid action"
	msgInvalidResource    = "Policy has invalid resource"
	msgInvalidConditKey   = "Policy has an invalid condition key"
	msgActionResource     = "Action does not apply to any resource(s) in statement"
	msgConditionMismatch  = "Conditions do not apply to combination of actions and resources in statement"
	msgTooLarge           = "Policy exceeds the maximum allowed document size."
	msgInvalidIPCondition = "Invalid IP address in Conditions"
)

// ParseOptions says what a policy of a given kind may contain.
type ParseOptions struct {
	// MaxSize bounds the document in bytes; 0 means no bound.
	MaxSize int
	// RequirePrincipal makes Principal (or NotPrincipal) mandatory, as in
	// resource policies; identity policies must not have one.
	RequirePrincipal bool
	// RequireResource makes Resource (or NotResource) mandatory.
	RequireResource bool
	// ValidAction reports whether an explicit (wildcard-free) action
	// exists; nil accepts every "service:name".
	ValidAction func(action string) bool
	// KnownActions lists the actions wildcard patterns are expanded
	// against, to check that a pattern names at least one action and
	// that one of them applies to a resource of the statement.
	KnownActions []string
	// ValidResource checks a Resource pattern; nil accepts any.
	ValidResource func(pattern string) bool
	// AppliesTo reports whether an action can act on a resource matching
	// the pattern; nil means always.
	AppliesTo func(action, resourcePattern string) bool
	// ValidPrincipal checks one AWS or CanonicalUser principal value
	// (kind is "AWS" or "CanonicalUser"); nil accepts any syntactically
	// valid one.
	ValidPrincipal func(kind, value string) bool
	// ValidConditionKey reports whether a condition key exists; nil
	// accepts any.
	ValidConditionKey func(key string) bool
	// KeyAppliesTo reports whether a condition key can be present in a
	// request for the action; nil means always.
	KeyAppliesTo func(key, action string) bool
}

// Parse parses and validates a policy document. Errors are *Error values
// carrying AWS's message.
func Parse(doc []byte, o ParseOptions) (*Policy, error) {
	if o.MaxSize > 0 && len(doc) > o.MaxSize {
		return nil, errorf(msgTooLarge)
	}
	trimmed := bytes.TrimLeft(doc, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, errorf(msgFirstByte)
	}
	top, err := decodeObject(doc)
	if err != nil {
		return nil, err
	}
	p := &Policy{}
	var stmts json.RawMessage
	for _, f := range top {
		switch f.name {
		case "Version":
			if err := json.Unmarshal(f.value, &p.Version); err != nil || (p.Version != Version2012 && p.Version != Version2008) {
				return nil, errorf(msgVersion)
			}
		case "Id":
			if err := json.Unmarshal(f.value, &p.ID); err != nil {
				return nil, errorf(msgInvalidJSON)
			}
		case "Statement":
			stmts = f.value
		default:
			return nil, errorf("Unknown field %s", f.name)
		}
	}
	if stmts == nil {
		return nil, errorf(msgNoStatement)
	}
	var list []json.RawMessage
	if isArray(stmts) {
		if err := json.Unmarshal(stmts, &list); err != nil {
			return nil, errorf(msgInvalidJSON)
		}
	} else {
		list = []json.RawMessage{stmts}
	}
	if len(list) == 0 {
		return nil, errorf(msgEmptyStatement)
	}
	sids := map[string]bool{}
	for _, raw := range list {
		s, err := parseStatement(raw, &o)
		if err != nil {
			return nil, err
		}
		if s.Sid != "" {
			if sids[s.Sid] {
				return nil, errorf("Statement IDs (SID) in a single policy must be unique")
			}
			sids[s.Sid] = true
		}
		p.Statements = append(p.Statements, s)
	}
	return p, nil
}

// field is one member of a JSON object, in document order.
type field struct {
	name  string
	value json.RawMessage
}

// decodeObject decodes a JSON object into its members, keeping their
// order.
func decodeObject(raw []byte) ([]field, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return nil, errorf(msgInvalidJSON)
	}
	var out []field
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, errorf(msgInvalidJSON)
		}
		name, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, errorf(msgInvalidJSON)
		}
		out = append(out, field{name, v})
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, errorf(msgInvalidJSON)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errorf(msgInvalidJSON) // trailing content
	}
	return out, nil
}

func isArray(raw json.RawMessage) bool {
	t := bytes.TrimLeft(raw, " \t\r\n")
	return len(t) > 0 && t[0] == '['
}

func isObject(raw json.RawMessage) bool {
	t := bytes.TrimLeft(raw, " \t\r\n")
	return len(t) > 0 && t[0] == '{'
}

// stringList decodes a string or an array of strings; ok is false for any
// other shape.
func stringList(raw json.RawMessage) (out []string, ok bool) {
	if isArray(raw) {
		if err := json.Unmarshal(raw, &out); err != nil {
			return nil, false
		}
		return out, true
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, false
	}
	return []string{s}, true
}

// scalarList decodes a condition value: a string, number or boolean, or
// an array of them, each as its string form.
func scalarList(raw json.RawMessage) ([]string, bool) {
	var items []json.RawMessage
	if isArray(raw) {
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, false
		}
	} else {
		items = []json.RawMessage{raw}
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		dec := json.NewDecoder(bytes.NewReader(it))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, false
		}
		switch v := v.(type) {
		case string:
			out = append(out, v)
		case json.Number:
			out = append(out, v.String())
		case bool:
			out = append(out, strconv.FormatBool(v))
		default:
			return nil, false
		}
	}
	return out, true
}

func parseStatement(raw json.RawMessage, o *ParseOptions) (*Statement, error) {
	if !isObject(raw) {
		return nil, errorf(msgInvalidJSON)
	}
	fields, err := decodeObject(raw)
	if err != nil {
		return nil, err
	}
	s := &Statement{}
	var effect *string
	var hasAction, hasResource bool
	for _, f := range fields {
		switch f.name {
		case "Sid":
			if err := json.Unmarshal(f.value, &s.Sid); err != nil {
				return nil, errorf(msgInvalidJSON)
			}
		case "Effect":
			var e string
			if err := json.Unmarshal(f.value, &e); err != nil {
				return nil, errorf(msgInvalidJSON)
			}
			effect = &e
		case "Principal", "NotPrincipal":
			pr, err := parsePrincipals(f.value, o)
			if err != nil {
				return nil, err
			}
			if f.name == "Principal" {
				s.Principal = pr
			} else {
				s.NotPrincipal = pr
			}
		case "Action", "NotAction":
			list, ok := stringList(f.value)
			if !ok {
				return nil, errorf(msgInvalidJSON)
			}
			if len(list) == 0 {
				return nil, errorf(msgInvalidAction)
			}
			for _, a := range list {
				if !validAction(a, o) {
					return nil, errorf(msgInvalidAction)
				}
			}
			if f.name == "Action" {
				s.Action = list
			} else {
				s.NotAction = list
			}
			hasAction = true
		case "Resource", "NotResource":
			list, ok := stringList(f.value)
			if !ok {
				return nil, errorf(msgInvalidJSON)
			}
			if len(list) == 0 {
				return nil, errorf(msgInvalidResource)
			}
			for _, r := range list {
				if r == "" || (o.ValidResource != nil && !o.ValidResource(r)) {
					return nil, errorf(msgInvalidResource)
				}
			}
			if f.name == "Resource" {
				s.Resource = list
			} else {
				s.NotResource = list
			}
			hasResource = true
		case "Condition":
			conds, err := parseConditions(f.value, o)
			if err != nil {
				return nil, err
			}
			s.Conditions = conds
		default:
			return nil, errorf("Unknown field %s", f.name)
		}
	}
	switch {
	case effect == nil:
		return nil, errorf("Missing required field Effect")
	case *effect != string(Allow) && *effect != string(Deny):
		return nil, errorf("Invalid effect: %s", *effect)
	}
	s.Effect = Effect(*effect)
	switch {
	case s.Principal != nil && s.NotPrincipal != nil:
		return nil, errorf(msgInvalidPrincipal)
	case o.RequirePrincipal && s.Principal == nil && s.NotPrincipal == nil:
		return nil, errorf("Missing required field Principal")
	case !hasAction:
		return nil, errorf("Missing required field Action")
	case s.Action != nil && s.NotAction != nil:
		return nil, errorf(msgInvalidAction)
	case o.RequireResource && !hasResource:
		return nil, errorf("Missing required field Resource")
	case s.Resource != nil && s.NotResource != nil:
		return nil, errorf(msgInvalidResource)
	}
	if err := checkApplicability(s, o); err != nil {
		return nil, err
	}
	return s, nil
}

// validAction checks one Action element: "*" or "service:pattern".
func validAction(a string, o *ParseOptions) bool {
	if a == "*" {
		return true
	}
	svc, name, ok := strings.Cut(a, ":")
	if !ok || svc == "" || name == "" || strings.ContainsAny(svc, "*?") {
		return false
	}
	if !strings.ContainsAny(name, "*?") {
		return o.ValidAction == nil || o.ValidAction(a)
	}
	if o.KnownActions == nil {
		return true
	}
	for _, k := range o.KnownActions {
		if Match(strings.ToLower(a), strings.ToLower(k)) {
			return true
		}
	}
	return false
}

// checkApplicability refuses statements whose actions act on none of
// their resources, and conditions whose keys no action of the statement
// carries.
func checkApplicability(s *Statement, o *ParseOptions) error {
	if s.Action == nil || s.Resource == nil {
		return nil
	}
	// A condition key the actions never carry is reported before actions
	// that act on none of the resources, as S3 does.
	if o.KeyAppliesTo != nil {
		for _, c := range s.Conditions {
			for _, a := range s.Action {
				if strings.ContainsAny(a, "*?") {
					continue // a pattern may name an action that carries the key
				}
				if !o.KeyAppliesTo(c.key, a) {
					return errorf(msgConditionMismatch)
				}
			}
		}
	}
	for _, a := range s.Action {
		if a == "*" {
			continue
		}
		actions := []string{a}
		if strings.ContainsAny(a, "*?") {
			actions = expand(a, o.KnownActions)
		}
		if o.AppliesTo != nil && !appliesToAny(actions, s.Resource, o.AppliesTo) {
			return errorf(msgActionResource)
		}
	}
	return nil
}

func appliesToAny(actions, resources []string, applies func(action, resource string) bool) bool {
	for _, a := range actions {
		for _, r := range resources {
			if applies(a, r) {
				return true
			}
		}
	}
	return false
}

// expand returns the known actions a pattern matches.
func expand(pattern string, known []string) []string {
	var out []string
	p := strings.ToLower(pattern)
	for _, k := range known {
		if Match(p, strings.ToLower(k)) {
			out = append(out, k)
		}
	}
	return out
}

var (
	reAccountID   = regexp.MustCompile(`^[0-9]{12}$`)
	reCanonicalID = regexp.MustCompile(`^[0-9a-f]{64}$`)
	reIAMARN      = regexp.MustCompile(`^arn:aws:iam::([0-9]{12}):(root|user/.+|role/.+|federated-user/.+)$`)
	reSTSARN      = regexp.MustCompile(`^arn:aws:sts::([0-9]{12}):(assumed-role/.+|federated-user/.+)$`)
)

func parsePrincipals(raw json.RawMessage, o *ParseOptions) (*Principals, error) {
	bad := errorf(msgInvalidPrincipal)
	if !isObject(raw) {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil || s != "*" {
			return nil, bad
		}
		return &Principals{Any: true}, nil
	}
	fields, err := decodeObject(raw)
	if err != nil {
		return nil, err
	}
	if len(fields) == 0 {
		return nil, bad
	}
	p := &Principals{}
	for _, f := range fields {
		list, ok := stringList(f.value)
		if !ok || len(list) == 0 {
			return nil, bad
		}
		for _, v := range list {
			if v == "" {
				return nil, bad
			}
		}
		switch f.name {
		case "AWS":
			for _, v := range list {
				if v == "*" {
					if len(list) > 1 {
						return nil, bad
					}
					p.Any = true
					continue
				}
				if !reAccountID.MatchString(v) && !reIAMARN.MatchString(v) && !reSTSARN.MatchString(v) {
					return nil, bad
				}
				if o.ValidPrincipal != nil && !o.ValidPrincipal("AWS", v) {
					return nil, bad
				}
			}
			if !p.Any {
				p.AWS = append(p.AWS, list...)
			}
		case "CanonicalUser":
			for _, v := range list {
				if !reCanonicalID.MatchString(v) || (o.ValidPrincipal != nil && !o.ValidPrincipal("CanonicalUser", v)) {
					return nil, bad
				}
			}
			p.CanonicalUser = append(p.CanonicalUser, list...)
		case "Service":
			for _, v := range list {
				if strings.ContainsAny(v, "*? ") || !strings.Contains(v, ".") {
					return nil, bad
				}
			}
			p.Service = append(p.Service, list...)
		case "Federated":
			p.Federated = append(p.Federated, list...)
		default:
			return nil, bad
		}
	}
	return p, nil
}

func parseConditions(raw json.RawMessage, o *ParseOptions) ([]Condition, error) {
	if !isObject(raw) {
		return nil, errorf(msgInvalidJSON)
	}
	ops, err := decodeObject(raw)
	if err != nil {
		return nil, err
	}
	var out []Condition
	for _, opf := range ops {
		op, set, ifExists, ok := lookupOperator(opf.name)
		if !ok {
			return nil, errorf("Invalid Condition type : %s", opf.name)
		}
		if !isObject(opf.value) {
			return nil, errorf(msgInvalidJSON)
		}
		keys, err := decodeObject(opf.value)
		if err != nil {
			return nil, err
		}
		for _, kf := range keys {
			values, ok := scalarList(kf.value)
			if !ok {
				return nil, errorf(msgInvalidJSON)
			}
			key := CanonicalKey(kf.name)
			if !strings.Contains(key, ":") || (o.ValidConditionKey != nil && !o.ValidConditionKey(key)) {
				return nil, errorf(msgInvalidConditKey)
			}
			c := Condition{Operator: opf.name, Key: kf.name, Values: values, op: op, set: set, ifExists: ifExists, key: key}
			if err := c.validateValues(); err != nil {
				return nil, err
			}
			out = append(out, c)
		}
	}
	return out, nil
}

// ipKeys are the condition keys whose values are IP addresses: S3 checks
// their values whatever the operator.
var ipKeys = map[string]bool{"aws:sourceip": true, "aws:vpcsourceip": true}

// validateValues checks condition values an operator (or a key) cannot
// use.
func (c *Condition) validateValues() error {
	for _, v := range c.Values {
		if ipKeys[c.key] {
			if _, err := parsePrefix(v); err != nil {
				return errorf(msgInvalidIPCondition)
			}
		}
		switch c.op.kind {
		case kindIP:
			if _, err := parsePrefix(v); err != nil {
				return errorf(msgInvalidIPCondition)
			}
		case kindNull, kindBool:
			if !strings.EqualFold(v, "true") && !strings.EqualFold(v, "false") {
				return errorf("Invalid value %s for condition %s", v, c.Operator)
			}
		}
	}
	return nil
}

// parsePrefix parses an IP address or CIDR block.
func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// CanonicalKey returns the form condition keys are compared in: the key's
// name is case-insensitive, the part after a '/' (a tag key) is not.
func CanonicalKey(k string) string {
	name, rest, ok := strings.Cut(k, "/")
	if !ok {
		return strings.ToLower(k)
	}
	return strings.ToLower(name) + "/" + rest
}

// Match reports whether s matches pattern, where '*' matches any run of
// characters (including none) and '?' any one character. It compares
// exactly; callers fold case where the element is case-insensitive.
func Match(pattern, s string) bool {
	if isASCII(pattern) && isASCII(s) {
		return match([]byte(pattern), []byte(s))
	}
	return match([]rune(pattern), []rune(s))
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// match is Match over bytes or runes: iterative, backtracking to the
// last '*'.
func match[T byte | rune](pattern, s []T) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p++
			i++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
