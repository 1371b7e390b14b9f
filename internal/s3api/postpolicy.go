package s3api

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// postPolicy is the decoded policy document of a browser-form upload:
// when it expires and the conditions every form must meet.
type postPolicy struct {
	expiration time.Time
	conditions []postCondition
}

// postCondition is one condition of a POST policy.
type postCondition struct {
	op string // "eq", "starts-with" or "content-length-range"
	// field is the lower-case form field the condition constrains, without
	// its '$'; "" when the condition names no field (a missing '$'),
	// which no form can meet.
	field    string
	value    string
	min, max int64
	// valid is false for a condition no upload can meet (a range that is
	// not two integers).
	valid bool
	// text is the condition as S3 quotes it when it fails.
	text string
}

// invalidPolicy is S3's answer to a policy document it cannot use.
func invalidPolicy(problem string) *apiError {
	return errorf("InvalidPolicyDocument", "Invalid Policy: "+problem)
}

// policyFailed is S3's answer to a form its policy does not allow.
func policyFailed(problem string) *apiError {
	return errorf("AccessDenied", "Invalid according to Policy: "+problem)
}

// parsePostPolicy decodes the base64 policy field. Its top-level names
// are case-sensitive, as on S3.
func parsePostPolicy(b64 string) (*postPolicy, error) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
	if err != nil {
		return nil, invalidPolicy("Invalid Base64 Encoding.")
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, invalidPolicy("Invalid JSON.")
	}
	exp, ok := doc["expiration"]
	if !ok {
		return nil, invalidPolicy("Policy missing expiration.")
	}
	var expStr string
	if err := json.Unmarshal(exp, &expStr); err != nil {
		return nil, invalidPolicy("Invalid 'expiration' value: " + string(exp))
	}
	p := &postPolicy{}
	if p.expiration, err = time.Parse(time.RFC3339Nano, expStr); err != nil {
		return nil, invalidPolicy("Invalid 'expiration' value: '" + expStr + "'")
	}
	conds, ok := doc["conditions"]
	if !ok {
		return nil, invalidPolicy("Policy missing conditions.")
	}
	var list []json.RawMessage
	if err := json.Unmarshal(conds, &list); err != nil {
		return nil, invalidPolicy("Invalid 'conditions' value: must be a List.")
	}
	for _, c := range list {
		cond, err := parsePostCondition(c)
		if err != nil {
			return nil, err
		}
		p.conditions = append(p.conditions, cond)
	}
	return p, nil
}

// parsePostCondition decodes one condition: {"field": "value"} (an exact
// match) or ["eq"|"starts-with", "$field", "value"] or
// ["content-length-range", min, max]. Operation and field names match
// regardless of case.
func parsePostCondition(raw json.RawMessage) (postCondition, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '{' {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			return postCondition{}, invalidPolicy("Invalid JSON.")
		}
		if len(m) != 1 {
			return postCondition{}, invalidPolicy("Invalid Simple-Condition: Simple-Conditions must have exactly one property specified.")
		}
		for name, v := range m {
			var val string
			if err := json.Unmarshal(v, &val); err != nil {
				return postCondition{}, invalidPolicy("Invalid Simple-Condition: value must be a string.")
			}
			quoted, _ := json.Marshal("$" + name)
			return postCondition{
				op: "eq", field: strings.ToLower(name), value: val, valid: true,
				text: `["eq", ` + string(quoted) + `, ` + compactJSON(v) + `]`,
			}, nil
		}
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(raw, &elems); err != nil {
		return postCondition{}, invalidPolicy("Invalid Condition: must be a List or a Simple-Condition.")
	}
	texts := make([]string, len(elems))
	for i, e := range elems {
		texts[i] = compactJSON(e)
	}
	c := postCondition{text: "[" + strings.Join(texts, ", ") + "]"}
	if len(elems) == 0 || json.Unmarshal(elems[0], &c.op) != nil {
		return postCondition{}, invalidPolicy("Invalid Condition: " + c.text)
	}
	c.op = strings.ToLower(c.op)
	switch c.op {
	case "eq", "starts-with":
		var name string
		if len(elems) != 3 || json.Unmarshal(elems[1], &name) != nil || json.Unmarshal(elems[2], &c.value) != nil {
			return postCondition{}, invalidPolicy("Invalid '" + c.op + "' condition: " + c.text)
		}
		if f, ok := strings.CutPrefix(name, "$"); ok {
			c.field = strings.ToLower(f)
		}
		c.valid = c.field != ""
	case "content-length-range":
		if len(elems) != 3 {
			return postCondition{}, invalidPolicy("Invalid 'content-length-range' condition: " + c.text)
		}
		lo, okLo := policyInt(elems[1])
		hi, okHi := policyInt(elems[2])
		c.min, c.max, c.valid = lo, hi, okLo && okHi
	default:
		return postCondition{}, invalidPolicy("Invalid Condition: unknown operation in " + c.text)
	}
	return c, nil
}

// policyInt reads a content-length-range bound: a JSON integer or a
// string holding one.
func policyInt(raw json.RawMessage) (int64, bool) {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		s = string(bytes.TrimSpace(raw))
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

func compactJSON(raw json.RawMessage) string {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return string(raw)
	}
	return b.String()
}

// sizeRange is the content-length-range a policy allows.
type sizeRange struct {
	min, max int64
	set      bool
}

// check evaluates the policy against a form: expiry first, then each
// condition in order (field looks a lower-case field name up, "" for
// one the form lacks), then that every field of the form (names listed
// in fields, lower-case) is covered by a condition. It returns the size
// range the conditions allow.
func (p *postPolicy) check(now time.Time, field func(string) string, fields []string) (sizeRange, error) {
	var size sizeRange
	if !now.Before(p.expiration) {
		return size, policyFailed("Policy expired.")
	}
	covered := make(map[string]bool, len(p.conditions))
	for _, c := range p.conditions {
		if !c.valid {
			return size, policyFailed("Policy Condition failed: " + c.text)
		}
		if c.op == "content-length-range" {
			if !size.set || c.min > size.min {
				size.min = c.min
			}
			if !size.set || c.max < size.max {
				size.max = c.max
			}
			size.set = true
			continue
		}
		covered[c.field] = true
		if !c.holds(field(c.field)) {
			return size, policyFailed("Policy Condition failed: " + c.text)
		}
	}
	// The bucket is always a field of the form: the one it is posted to.
	for _, f := range append([]string{"bucket"}, fields...) {
		if !covered[f] && !policyExempt(f) {
			return size, policyFailed("Extra input fields: " + f)
		}
	}
	return size, nil
}

// holds reports whether an eq or starts-with condition allows value. A
// starts-with on Content-Type applies to each type of a comma-separated
// list.
func (c *postCondition) holds(value string) bool {
	if c.op == "eq" {
		return value == c.value
	}
	if c.field == "content-type" && c.value != "" {
		for _, t := range strings.Split(value, ",") {
			if !strings.HasPrefix(strings.TrimSpace(t), c.value) {
				return false
			}
		}
		return true
	}
	return strings.HasPrefix(value, c.value)
}

// policyExempt reports whether a form field needs no condition: the
// signature and policy themselves, the file, x-ignore-* fields, and
// checksums of the file, which the policy's author cannot know.
func policyExempt(name string) bool {
	switch name {
	case "policy", "signature", "awsaccesskeyid", "x-amz-signature", "file":
		return true
	}
	return strings.HasPrefix(name, "x-ignore-") || strings.HasPrefix(name, "x-amz-checksum-")
}
