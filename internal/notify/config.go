package notify

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/sluicehq/sluice/internal/objstore"
)

// Configuration is a bucket's notification configuration: the function
// destinations S3 events are delivered to. It is stored as JSON in the
// bucket's "notification" configuration document.
type Configuration struct {
	Functions []FunctionConfiguration `json:"functions,omitempty"`
}

// FunctionConfiguration is one CloudFunctionConfiguration: the events of
// keys that match its filter invoke its function.
type FunctionConfiguration struct {
	// ID names the configuration in event records (configurationId);
	// SetConfiguration generates one when it is empty.
	ID string `json:"id"`
	// FunctionARN is the function, optionally qualified, as configured.
	FunctionARN string `json:"function"`
	// Events are event types as configured ("s3:ObjectCreated:*").
	Events []string `json:"events"`
	// Rules are the key filter's rules in the order given, at most one
	// Prefix and one Suffix.
	Rules []FilterRule `json:"rules,omitempty"`
}

// FilterRule is a key filter rule: Name is Prefix or Suffix (S3 reports
// them capitalized whatever case they were set in).
type FilterRule struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Filter rule names as stored and reported.
const (
	RulePrefix = "Prefix"
	RuleSuffix = "Suffix"
)

// prefix and suffix return the filter's values ("" when absent).
func (f *FunctionConfiguration) prefix() string { return f.rule(RulePrefix) }
func (f *FunctionConfiguration) suffix() string { return f.rule(RuleSuffix) }

func (f *FunctionConfiguration) rule(name string) string {
	for _, r := range f.Rules {
		if r.Name == name {
			return r.Value
		}
	}
	return ""
}

// eventTypes are the event types S3 accepts in a configuration (the S3
// model's Event enumeration). sluice emits the ObjectCreated,
// ObjectRemoved, ObjectTagging and ObjectAcl ones; the others are
// accepted, as on S3, and fire when sluice gains what causes them.
var eventTypes = setOf(
	"s3:ReducedRedundancyLostObject",
	"s3:ObjectCreated:*", "s3:ObjectCreated:Put", "s3:ObjectCreated:Post",
	"s3:ObjectCreated:Copy", "s3:ObjectCreated:CompleteMultipartUpload",
	"s3:ObjectRemoved:*", "s3:ObjectRemoved:Delete", "s3:ObjectRemoved:DeleteMarkerCreated",
	"s3:ObjectRestore:*", "s3:ObjectRestore:Post", "s3:ObjectRestore:Completed", "s3:ObjectRestore:Delete",
	"s3:Replication:*", "s3:Replication:OperationFailedReplication", "s3:Replication:OperationNotTracked",
	"s3:Replication:OperationMissedThreshold", "s3:Replication:OperationReplicatedAfterThreshold",
	"s3:LifecycleTransition", "s3:IntelligentTiering", "s3:ObjectAcl:Put",
	"s3:LifecycleExpiration:*", "s3:LifecycleExpiration:Delete", "s3:LifecycleExpiration:DeleteMarkerCreated",
	"s3:ObjectTagging:*", "s3:ObjectTagging:Put", "s3:ObjectTagging:Delete",
)

func setOf(v ...string) map[string]bool {
	m := make(map[string]bool, len(v))
	for _, s := range v {
		m[s] = true
	}
	return m
}

// maxFilterValue bounds a filter rule's value.
const maxFilterValue = 1024

// Validation messages (S3's where known).
const (
	msgAmbiguous    = "Configuration is ambiguously defined. Cannot have overlapping suffixes in two rules if the prefixes are overlapping for the same event type."
	msgBadEvent     = "The event is not supported for notifications"
	msgBadRuleName  = "filter rule name must be either prefix or suffix"
	msgBadARN       = "The ARN could not be parsed"
	msgUnvalidated  = "Unable to validate the following destination configurations"
	msgNotAuthz     = "Not authorized to invoke function [%s]"
	msgNoFunction   = "The destination Lambda does not exist"
	msgEmptyValue   = "filter value cannot be empty"
	msgLongValue    = "The filter rule value cannot be longer than 1024 characters"
	msgDoublePrefix = "Cannot specify more than one prefix rule in a filter."
	msgDoubleSuffix = "Cannot specify more than one suffix rule in a filter."
)

// invalidArgument is S3's InvalidArgument error naming the offending
// argument.
func invalidArgument(message, name, value string) *objstore.Error {
	return &objstore.Error{Code: "InvalidArgument", Message: message,
		Extra: [][2]string{{"ArgumentName", name}, {"ArgumentValue", value}}}
}

// validate checks a configuration's syntax and S3's overlap rule, fills
// in missing IDs and normalizes rule names. It does not look at the
// functions (see Service.SetConfiguration).
func (c *Configuration) validate() error {
	for i := range c.Functions {
		f := &c.Functions[i]
		if f.ID == "" {
			f.ID = newConfigID()
		}
		if len(f.Events) == 0 {
			return &objstore.Error{Code: "MalformedXML", Message: objstore.ErrMalformedXML.Message}
		}
		for _, e := range f.Events {
			if !eventTypes[e] {
				return invalidArgument(msgBadEvent, "Event", e)
			}
		}
		var prefixes, suffixes int
		for j := range f.Rules {
			r := &f.Rules[j]
			switch strings.ToLower(r.Name) {
			case "prefix":
				r.Name = RulePrefix
				prefixes++
			case "suffix":
				r.Name = RuleSuffix
				suffixes++
			default:
				return invalidArgument(msgBadRuleName, r.Name, r.Value)
			}
			switch {
			case r.Value == "":
				return invalidArgument(msgEmptyValue, r.Name, r.Value)
			case len(r.Value) > maxFilterValue:
				return invalidArgument(msgLongValue, r.Name, r.Value)
			case prefixes > 1:
				return invalidArgument(msgDoublePrefix, r.Name, r.Value)
			case suffixes > 1:
				return invalidArgument(msgDoubleSuffix, r.Name, r.Value)
			}
		}
	}
	for i := range c.Functions {
		for j := i + 1; j < len(c.Functions); j++ {
			if overlap(&c.Functions[i], &c.Functions[j]) {
				return invalidArgument(msgAmbiguous, "FilterRule", "")
			}
		}
	}
	return nil
}

// overlap reports whether two configurations could both claim one event:
// an event type in common (s3:ObjectCreated:* and s3:ObjectCreated:Put
// count as the same), prefixes one of which starts the other, and
// suffixes one of which ends the other (a missing rule overlaps every
// value).
func overlap(a, b *FunctionConfiguration) bool {
	if !eventsOverlap(a.Events, b.Events) {
		return false
	}
	pa, pb := a.prefix(), b.prefix()
	if !strings.HasPrefix(pa, pb) && !strings.HasPrefix(pb, pa) {
		return false
	}
	sa, sb := a.suffix(), b.suffix()
	return strings.HasSuffix(sa, sb) || strings.HasSuffix(sb, sa)
}

func eventsOverlap(a, b []string) bool {
	for _, x := range a {
		for _, y := range b {
			if sameEventType(x, y) {
				return true
			}
		}
	}
	return false
}

// sameEventType reports whether two configured event types select a
// common event: equal, or of one family where either is the wildcard.
func sameEventType(x, y string) bool {
	if x == y {
		return true
	}
	fx, sx := family(x)
	fy, sy := family(y)
	return fx == fy && (sx == "*" || sy == "*")
}

// family splits an event type ("s3:ObjectCreated:Put", or without the
// "s3:") into its family ("ObjectCreated") and subtype ("Put"); a type
// without a subtype ("s3:LifecycleTransition") is its own family.
func family(t string) (string, string) {
	t = strings.TrimPrefix(t, "s3:")
	if i := strings.LastIndexByte(t, ':'); i > 0 {
		return t[:i], t[i+1:]
	}
	return t, ""
}

// selects reports whether a configured event type selects an emitted
// event (named without "s3:").
func selects(configured, event string) bool {
	rest, ok := strings.CutPrefix(configured, "s3:")
	if !ok {
		return false
	}
	if rest == event {
		return true
	}
	fam, sub := family(rest)
	return sub == "*" && strings.HasPrefix(event, fam+":")
}

// matches reports whether an event of a key (in the URL-encoded form event
// records carry, which filter values are written in) is for f.
func (f *FunctionConfiguration) matches(event, encodedKey string) bool {
	ok := false
	for _, e := range f.Events {
		if selects(e, event) {
			ok = true
			break
		}
	}
	if !ok {
		return false
	}
	for _, r := range f.Rules {
		switch r.Name {
		case RulePrefix:
			if !strings.HasPrefix(encodedKey, r.Value) {
				return false
			}
		case RuleSuffix:
			if !strings.HasSuffix(encodedKey, r.Value) {
				return false
			}
		}
	}
	return true
}

// parseConfiguration decodes a stored configuration.
func parseConfiguration(raw []byte) (*Configuration, error) {
	var c Configuration
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("notify: stored notification configuration: %w", err)
	}
	return &c, nil
}

// newConfigID returns an ID for a configuration that has none, in the form
// S3 generates them (a UUID, base64-encoded).
func newConfigID() string {
	return base64.StdEncoding.EncodeToString([]byte(newUUID()))
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
