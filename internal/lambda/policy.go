package lambda

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"strings"

	"github.com/sluicehq/sluice/internal/meta"
)

// Statement is one statement of a function's resource policy, as
// AddPermission builds it. It always allows.
type Statement struct {
	Sid string `json:"sid"`
	// Service is the service principal ("s3.amazonaws.com"); AWS an
	// account or IAM ARN principal (an account ID is stored as its root
	// ARN). Both empty means any principal ("*").
	Service  string `json:"service,omitempty"`
	AWS      string `json:"aws,omitempty"`
	Action   string `json:"action"`
	Resource string `json:"resource"`
	// Conditions.
	SourceAccount       string `json:"sourceAccount,omitempty"`
	SourceARN           string `json:"sourceArn,omitempty"`
	PrincipalOrgID      string `json:"orgId,omitempty"`
	EventSourceToken    string `json:"eventSourceToken,omitempty"`
	FunctionURLAuthType string `json:"urlAuthType,omitempty"`
}

// policy is the stored resource policy of a function, version or alias.
type policy struct {
	RevisionID string      `json:"rev"`
	Statements []Statement `json:"statements"`
}

// JSON renders the statement as AWS does: Sid, Effect, Principal,
// Action, Resource, Condition (StringEquals before ArnLike). It is not a
// json.Marshaler: the stored form is the struct's own.
func (st *Statement) JSON() string {
	var b bytes.Buffer
	o := objWriter{b: &b}
	o.begin()
	o.field("Sid", st.Sid)
	o.field("Effect", "Allow")
	switch {
	case st.Service != "":
		o.raw("Principal", `{"Service":`+quote(st.Service)+`}`)
	case st.AWS != "":
		o.raw("Principal", `{"AWS":`+quote(st.AWS)+`}`)
	default:
		o.field("Principal", "*")
	}
	o.field("Action", st.Action)
	o.field("Resource", st.Resource)
	var eq [][2]string
	for _, kv := range [][2]string{
		{"AWS:SourceAccount", st.SourceAccount},
		{"aws:PrincipalOrgID", st.PrincipalOrgID},
		{"lambda:EventSourceToken", st.EventSourceToken},
		{"lambda:FunctionUrlAuthType", st.FunctionURLAuthType},
	} {
		if kv[1] != "" {
			eq = append(eq, kv)
		}
	}
	if len(eq) > 0 || st.SourceARN != "" {
		var c bytes.Buffer
		co := objWriter{b: &c}
		co.begin()
		if len(eq) > 0 {
			var e bytes.Buffer
			eo := objWriter{b: &e}
			eo.begin()
			for _, kv := range eq {
				eo.field(kv[0], kv[1])
			}
			eo.end()
			co.raw("StringEquals", e.String())
		}
		if st.SourceARN != "" {
			co.raw("ArnLike", `{"AWS:SourceArn":`+quote(st.SourceARN)+`}`)
		}
		co.end()
		o.raw("Condition", c.String())
	}
	o.end()
	return b.String()
}

// objWriter writes a JSON object with members in a chosen order.
type objWriter struct {
	b *bytes.Buffer
	n int
}

func (o *objWriter) begin() { o.b.WriteByte('{') }
func (o *objWriter) end()   { o.b.WriteByte('}') }

func (o *objWriter) raw(name, value string) {
	if o.n > 0 {
		o.b.WriteByte(',')
	}
	o.n++
	o.b.WriteString(quote(name))
	o.b.WriteByte(':')
	o.b.WriteString(value)
}

func (o *objWriter) field(name, value string) { o.raw(name, quote(value)) }

func quote(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}

// document renders the policy document GetPolicy returns.
func (p *policy) document() string {
	var b bytes.Buffer
	b.WriteString(`{"Version":"2012-10-17","Id":"default","Statement":[`)
	for i := range p.Statements {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(p.Statements[i].JSON())
	}
	b.WriteString(`]}`)
	return b.String()
}

// PermissionInput is an AddPermission request.
type PermissionInput struct {
	FunctionName string
	Qualifier    string
	StatementID  string
	Action       string
	// Principal is a service ("s3.amazonaws.com"), an account ID, an IAM
	// ARN or "*".
	Principal           string
	SourceARN           string
	SourceAccount       string
	PrincipalOrgID      string
	EventSourceToken    string
	FunctionURLAuthType string
	// RevisionID, if set, must be the policy's current RevisionId (the
	// target's when it has no policy yet).
	RevisionID string
}

const (
	patStatementID   = `([a-zA-Z0-9-_]+)`
	patNamespacedSid = `([a-zA-Z0-9-_.]+)`
	patAction        = `(lambda:[*]|lambda:[a-zA-Z]+|[*])`
	patPrincipal     = `[^\s]+`
	patAccount       = `\d{12}`
	patOrgID         = `o-[a-z0-9]{10,32}`
	patEventToken    = `[a-zA-Z0-9._\-]+`
)

var (
	reStatementID   = regexp.MustCompile(`^(?:` + patStatementID + `)$`)
	reNamespacedSid = regexp.MustCompile(`^(?:` + patNamespacedSid + `)$`)
	reAction        = regexp.MustCompile(`^(?:` + patAction + `)$`)
	rePrincipal     = regexp.MustCompile(`^(?:` + patPrincipal + `)$`)
	reAccount       = regexp.MustCompile(`^(?:` + patAccount + `)$`)
	reOrgID         = regexp.MustCompile(`^(?:` + patOrgID + `)$`)
	reEventToken    = regexp.MustCompile(`^(?:` + patEventToken + `)$`)
	reIAMARN        = regexp.MustCompile(`^arn:aws[a-zA-Z-]*:(iam|sts)::\d{12}:\S+$`)
	reServiceName   = regexp.MustCompile(`^[a-zA-Z0-9-]+(\.[a-zA-Z0-9-]+)+$`)
)

func (in *PermissionInput) check(v *violations) {
	switch sid := in.StatementID; {
	case sid == "":
		v.missing("statementId")
	case len(sid) > 100:
		v.add("statementId", &sid, "Member must have length less than or equal to 100")
	case !reStatementID.MatchString(sid):
		v.add("statementId", &sid, "Member must satisfy regular expression pattern: "+patStatementID)
	}
	switch a := in.Action; {
	case a == "":
		v.missing("action")
	case !reAction.MatchString(a):
		v.add("action", &a, "Member must satisfy regular expression pattern: "+patAction)
	}
	switch p := in.Principal; {
	case p == "":
		v.missing("principal")
	case !rePrincipal.MatchString(p):
		v.add("principal", &p, "Member must satisfy regular expression pattern: "+patPrincipal)
	}
	if a := in.SourceARN; a != "" && !reARN.MatchString(a) {
		v.add("sourceArn", &a, "Member must satisfy regular expression pattern: "+patSourceID)
	}
	if a := in.SourceAccount; a != "" && !reAccount.MatchString(a) {
		v.add("sourceAccount", &a, "Member must satisfy regular expression pattern: "+patAccount)
	}
	if o := in.PrincipalOrgID; o != "" && !reOrgID.MatchString(o) {
		v.add("principalOrgID", &o, "Member must satisfy regular expression pattern: "+patOrgID)
	}
	if t := in.EventSourceToken; t != "" && !reEventToken.MatchString(t) {
		v.add("eventSourceToken", &t, "Member must satisfy regular expression pattern: "+patEventToken)
	}
	if t := in.FunctionURLAuthType; t != "" && t != "NONE" && t != "AWS_IAM" {
		v.add("functionUrlAuthType", &t, "Member must satisfy enum value set: [NONE, AWS_IAM]")
	}
}

// principal sorts a Principal parameter into the statement.
func principal(st *Statement, p string) error {
	switch {
	case p == "*":
	case reAccount.MatchString(p):
		st.AWS = "arn:aws:iam::" + p + ":root"
	case reIAMARN.MatchString(p):
		st.AWS = p
	case reServiceName.MatchString(p):
		st.Service = p
	default:
		return invalidParam("The provided principal was invalid. Please check the principal and try again.")
	}
	return nil
}

// policyTarget checks that the function and the qualifier a policy
// operation names exist and returns the target's RevisionId.
func (s *Service) policyTarget(tx meta.Tx, r ref, missing func() error) (string, error) {
	f, err := getFunction(tx, r.name)
	if errors.Is(err, meta.ErrNoSuchDoc) {
		return "", missing()
	}
	if err != nil {
		return "", err
	}
	switch q := r.qualifier; {
	case q == "" || q == LatestVersion:
		return f.Latest.RevisionID, nil
	case isVersionNumber(q):
		c, err := getVersion(tx, r.name, q)
		if errors.Is(err, meta.ErrNoSuchDoc) {
			return "", notFound(s.qualifiedARN(r.name, q))
		}
		if err != nil {
			return "", err
		}
		return c.RevisionID, nil
	default:
		a, err := getDoc[Alias](tx, kindAlias, r.name+"/"+q)
		if errors.Is(err, meta.ErrNoSuchDoc) {
			return "", errorf(CodeResourceNotFound, "Cannot find alias arn: %s", s.qualifiedARN(r.name, q))
		}
		if err != nil {
			return "", err
		}
		return a.RevisionID, nil
	}
}

// policyKey is the document key of the policy a qualifier names; $LATEST
// shares the unqualified function's.
func policyKey(r ref) string {
	if r.qualifier == LatestVersion {
		return r.name + "/"
	}
	return r.name + "/" + r.qualifier
}

// AddPermission adds a statement to the resource policy of a function, a
// version or an alias, and returns the statement's JSON. Errors:
// ValidationException, InvalidParameterValueException,
// ResourceNotFoundException, ResourceConflictException (the statement ID
// is taken), PreconditionFailedException, PolicyLengthExceededException.
func (s *Service) AddPermission(ctx context.Context, in *PermissionInput) (string, error) {
	r, err := s.parseName(in.FunctionName, in.Qualifier, kindNamespaced)
	if err != nil {
		return "", err
	}
	var v violations
	in.check(&v)
	if err := v.err(CodeValidation); err != nil {
		return "", err
	}
	if r.qualifier == LatestVersion {
		return "", invalidParam("We currently do not support adding policies for $LATEST.")
	}
	st := Statement{
		Sid:                 in.StatementID,
		Action:              in.Action,
		Resource:            s.qualifiedARN(r.name, r.qualifier),
		SourceAccount:       in.SourceAccount,
		SourceARN:           in.SourceARN,
		PrincipalOrgID:      in.PrincipalOrgID,
		EventSourceToken:    in.EventSourceToken,
		FunctionURLAuthType: in.FunctionURLAuthType,
	}
	if err := principal(&st, in.Principal); err != nil {
		return "", err
	}
	err = s.meta.Update(ctx, func(tx meta.Tx) error {
		rev, err := s.policyTarget(tx, r, func() error { return notFound(s.FunctionARN(r.name)) })
		if err != nil {
			return err
		}
		key := policyKey(r)
		p, err := getDoc[policy](tx, kindPolicy, key)
		switch {
		case errors.Is(err, meta.ErrNoSuchDoc):
			p = &policy{}
		case err != nil:
			return err
		default:
			rev = p.RevisionID
		}
		if in.RevisionID != "" && in.RevisionID != rev {
			return errorf(CodePreconditionFailed, msgPolicyRevMismatch)
		}
		for _, x := range p.Statements {
			if x.Sid == st.Sid {
				return errorf(CodeResourceConflict, "The statement id (%s) provided already exists. Please provide a new statement id, or remove the existing statement.", st.Sid)
			}
		}
		p.Statements = append(p.Statements, st)
		if n := len(p.document()); n > MaxPolicySize {
			return errorf(CodePolicyLengthExceeded, "The final policy size (%d) is bigger than the limit (%d).", n, MaxPolicySize)
		}
		p.RevisionID = newRevisionID()
		return putDoc(tx, kindPolicy, key, p)
	})
	if err != nil {
		return "", err
	}
	return st.JSON(), nil
}

// RemovePermission removes a statement from a resource policy. Errors:
// ResourceNotFoundException, PreconditionFailedException.
func (s *Service) RemovePermission(ctx context.Context, name, qualifier, sid, revisionID string) error {
	r, err := s.parseName(name, qualifier, kindNamespaced)
	if err != nil {
		return err
	}
	var v violations
	switch {
	case len(sid) > 100:
		v.add("statementId", &sid, "Member must have length less than or equal to 100")
	case !reNamespacedSid.MatchString(sid):
		v.add("statementId", &sid, "Member must satisfy regular expression pattern: "+patNamespacedSid)
	}
	if err := v.err(CodeValidation); err != nil {
		return err
	}
	return s.meta.Update(ctx, func(tx meta.Tx) error {
		_, err := s.policyTarget(tx, r, func() error {
			return errorf(CodeResourceNotFound, "No policy found for: %s", s.FunctionARN(r.name))
		})
		if err != nil {
			return err
		}
		key := policyKey(r)
		p, err := getDoc[policy](tx, kindPolicy, key)
		if errors.Is(err, meta.ErrNoSuchDoc) {
			return errorf(CodeResourceNotFound, "No policy is associated with the given resource.")
		}
		if err != nil {
			return err
		}
		i := -1
		for j, x := range p.Statements {
			if x.Sid == sid {
				i = j
			}
		}
		if i < 0 {
			return errorf(CodeResourceNotFound, "Statement %s is not found in resource policy.", sid)
		}
		if revisionID != "" && revisionID != p.RevisionID {
			return errorf(CodePreconditionFailed, msgPolicyRevMismatch)
		}
		p.Statements = append(p.Statements[:i], p.Statements[i+1:]...)
		if len(p.Statements) == 0 {
			return tx.DeleteDoc(kindPolicy, key)
		}
		p.RevisionID = newRevisionID()
		return putDoc(tx, kindPolicy, key, p)
	})
}

// GetPolicy returns the resource policy document of a function, version
// or alias, and its RevisionId. Errors: ResourceNotFoundException.
func (s *Service) GetPolicy(ctx context.Context, name, qualifier string) (doc, revisionID string, err error) {
	r, err := s.parseName(name, qualifier, kindNamespaced)
	if err != nil {
		return "", "", err
	}
	err = s.meta.View(ctx, func(tx meta.Tx) error {
		if _, err := getFunction(tx, r.name); errors.Is(err, meta.ErrNoSuchDoc) {
			return notFound(s.FunctionARN(r.name))
		} else if err != nil {
			return err
		}
		p, err := getDoc[policy](tx, kindPolicy, policyKey(r))
		if errors.Is(err, meta.ErrNoSuchDoc) {
			return errorf(CodeResourceNotFound, msgNoResource)
		}
		if err != nil {
			return err
		}
		doc, revisionID = p.document(), p.RevisionID
		return nil
	})
	return doc, revisionID, err
}

// Allows reports whether the resource policy of the function, version or
// alias that functionARN names lets the service principal (for example
// "s3.amazonaws.com") invoke it on behalf of the resource sourceARN owned
// by sourceAccount (either may be "" when the caller has none, which then
// fails any condition on it). A policy on the unqualified function also
// covers $LATEST. Errors: ResourceNotFoundException when the function does
// not exist.
func (s *Service) Allows(ctx context.Context, functionARN, principalService, sourceARN, sourceAccount string) (bool, error) {
	r, err := s.parseName(functionARN, "", kindNamespaced)
	if err != nil {
		return false, err
	}
	allowed := false
	err = s.meta.View(ctx, func(tx meta.Tx) error {
		if _, err := s.policyTarget(tx, r, func() error { return notFound(s.FunctionARN(r.name)) }); err != nil {
			return err
		}
		p, err := getDoc[policy](tx, kindPolicy, policyKey(r))
		if errors.Is(err, meta.ErrNoSuchDoc) {
			return nil
		}
		if err != nil {
			return err
		}
		for i := range p.Statements {
			if p.Statements[i].allows(principalService, sourceARN, sourceAccount) {
				allowed = true
			}
		}
		return nil
	})
	return allowed, err
}

// allows evaluates one statement for a service principal's invocation.
func (st *Statement) allows(service, sourceARN, sourceAccount string) bool {
	if st.AWS != "" || (st.Service != "" && st.Service != service) {
		return false
	}
	if !strings.EqualFold(st.Action, "lambda:InvokeFunction") && st.Action != "lambda:*" && st.Action != "*" {
		return false
	}
	if st.PrincipalOrgID != "" || st.EventSourceToken != "" || st.FunctionURLAuthType != "" {
		return false // conditions a service invocation carries no context for
	}
	if st.SourceAccount != "" && st.SourceAccount != sourceAccount {
		return false
	}
	if st.SourceARN != "" && !arnLike(st.SourceARN, sourceARN) {
		return false
	}
	return true
}

// arnLike implements IAM's ArnLike: each of the six colon-separated parts
// of the ARN matches the pattern's part, where * matches any run of
// characters and ? any one.
func arnLike(pattern, arn string) bool {
	pp := strings.SplitN(pattern, ":", 6)
	ap := strings.SplitN(arn, ":", 6)
	if len(pp) != 6 || len(ap) != 6 {
		return false
	}
	for i := range pp {
		if !glob(pp[i], ap[i]) {
			return false
		}
	}
	return true
}

// glob matches s against a pattern of literal characters, * and ?.
func glob(pattern, s string) bool {
	p, str := []rune(pattern), []rune(s)
	pi, si, star, mark := 0, 0, -1, 0
	for si < len(str) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == str[si]):
			pi++
			si++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}
