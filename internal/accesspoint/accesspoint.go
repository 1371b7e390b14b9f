// Package accesspoint is the domain of S3 access points: standard access
// points (a named, aliased way into one bucket, with a policy of its own)
// and Object Lambda access points (a standard "supporting" access point
// whose GET, HEAD and LIST requests a function transforms). Both are
// documents of the metadata store, changed in closure transactions.
//
// The package keeps names, aliases, ARNs and configurations and answers
// lookups for the data plane (s3api resolves aliases and ARN host labels
// with it; objectlambda reads configurations). control.go registers the
// S3 Control operations on an s3control.Handler.
package accesspoint

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/sluicehq/sluice/internal/meta"
)

// Document kinds in the metadata store.
const (
	kindAccessPoint = "accesspoint/standard"   // name → AccessPoint
	kindAlias       = "accesspoint/alias"      // alias → name
	kindOLAP        = "accesspoint/olap"       // name → ObjectLambda
	kindOLAPAlias   = "accesspoint/olap-alias" // alias → name
	aliasSuffix     = "-s3alias"               // standard access point aliases end with it
	olapAliasSuffix = "--ol-s3"                // Object Lambda access point aliases end with it
	maxAccessPoints = 10000                    // per account and region, as AWS
	maxOLAPs        = 1000                     // per account and region, as AWS
	defaultListMax  = 1000                     // page size when maxResults is absent
	networkInternet = "Internet"               // NetworkOrigin without a VPC
	networkVPC      = "VPC"                    // NetworkOrigin with a VPC
	aliasReady      = "READY"                  // an alias is usable as soon as it exists
	maxPolicySize   = 20 << 10                 // access point policies, as bucket policies
	minNameLen      = 3                        // both kinds of names
	maxAPNameLen    = 50                       // standard access point names
	maxOLAPNameLen  = 45                       // Object Lambda access point names
	aliasPrefixLen  = 20                       // characters of the name an alias starts with
	aliasRandomLen  = 26                       // random characters of an alias
	aliasAlphabet   = "abcdefghijklmnopqrstuvwxyz0123456789"
)

// Object Lambda transformation actions.
const (
	ActionGetObject     = "GetObject"
	ActionHeadObject    = "HeadObject"
	ActionListObjects   = "ListObjects"
	ActionListObjectsV2 = "ListObjectsV2"
)

// Object Lambda allowed features.
const (
	FeatureGetObjectRange       = "GetObject-Range"
	FeatureGetObjectPartNumber  = "GetObject-PartNumber"
	FeatureHeadObjectRange      = "HeadObject-Range"
	FeatureHeadObjectPartNumber = "HeadObject-PartNumber"
)

// PublicAccessBlock is an access point's Block Public Access settings;
// all four are on unless the creator turned one off.
type PublicAccessBlock struct {
	BlockPublicACLs       bool `json:"bpa"`
	IgnorePublicACLs      bool `json:"ipa"`
	BlockPublicPolicy     bool `json:"bpp"`
	RestrictPublicBuckets bool `json:"rpb"`
}

// AllBlocked is the default PublicAccessBlock.
var AllBlocked = PublicAccessBlock{true, true, true, true}

// AccessPoint is a standard access point.
type AccessPoint struct {
	Name   string `json:"name"`
	Bucket string `json:"bucket"`
	// Alias is the bucket-style name that addresses the access point
	// wherever a bucket name is accepted.
	Alias   string    `json:"alias"`
	Created time.Time `json:"created"`
	// VPCID restricts the access point to a VPC (recorded only).
	VPCID             string            `json:"vpc,omitempty"`
	PublicAccessBlock PublicAccessBlock `json:"pab"`
	// Policy is the access point policy, verbatim; "" when none.
	Policy string `json:"policy,omitempty"`
}

// ObjectLambda is an Object Lambda access point.
type ObjectLambda struct {
	Name              string             `json:"name"`
	Alias             string             `json:"alias"`
	Created           time.Time          `json:"created"`
	PublicAccessBlock PublicAccessBlock  `json:"pab"`
	Config            ObjectLambdaConfig `json:"config"`
}

// ObjectLambdaConfig is an Object Lambda access point's configuration.
type ObjectLambdaConfig struct {
	// SupportingAccessPoint is the ARN of the standard access point the
	// Object Lambda access point reads through.
	SupportingAccessPoint    string           `json:"supporting"`
	CloudWatchMetricsEnabled bool             `json:"metrics,omitempty"`
	AllowedFeatures          []string         `json:"features,omitempty"`
	Transformations          []Transformation `json:"transformations"`
}

// Transformation is one TransformationConfiguration: the actions a
// function transforms.
type Transformation struct {
	Actions     []string `json:"actions"`
	FunctionARN string   `json:"function"`
	// FunctionPayload is passed to the function verbatim.
	FunctionPayload string `json:"payload,omitempty"`
}

// Transformation returns the transformation configured for action, or nil
// if requests for it pass through untransformed.
func (c *ObjectLambdaConfig) Transformation(action string) *Transformation {
	for i := range c.Transformations {
		for _, a := range c.Transformations[i].Actions {
			if a == action {
				return &c.Transformations[i]
			}
		}
	}
	return nil
}

// Allows reports whether feature is among the allowed features.
func (c *ObjectLambdaConfig) Allows(feature string) bool {
	for _, f := range c.AllowedFeatures {
		if f == feature {
			return true
		}
	}
	return false
}

// Error is an access point error: Code is S3 Control's error code.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func errorf(code, message string) *Error { return &Error{Code: code, Message: message} }

// Errors.
var (
	ErrNoSuchAccessPoint       = errorf("NoSuchAccessPoint", "The specified accesspoint does not exist")
	ErrNoSuchAccessPointPolicy = errorf("NoSuchAccessPointPolicy", "The specified accesspoint policy does not exist")
	ErrAlreadyOwnedByYou       = errorf("AccessPointAlreadyOwnedByYou", "Your previous request to create the named accesspoint succeeded and you already own it.")
	ErrInvalidURI              = errorf("InvalidURI", "Couldn't parse the specified URI.")
	ErrInvalidName             = errorf("InvalidRequest", "Your Amazon S3 AccessPoint name is invalid")
	ErrNoSuchBucket            = errorf("InvalidRequest", "Amazon S3 AccessPoint can only be created for existing bucket")
	ErrTooMany                 = errorf("TooManyAccessPoints", "You have attempted to create more access points than allowed.")
	ErrInvalidNextToken        = errorf("InvalidRequest", "Invalid nextToken")
	ErrMalformedPolicy         = errorf("MalformedPolicy", "Policies must be valid JSON and the first byte must be '{'")
	ErrPolicyTooLarge          = errorf("MalformedPolicy", "Policy exceeds the maximum allowed document size.")
)

// Config holds a Service's dependencies.
type Config struct {
	Meta      meta.Store
	Region    string
	AccountID string
	Logger    *slog.Logger
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Service keeps the account's access points.
type Service struct {
	meta    meta.Store
	region  string
	account string
	log     *slog.Logger
	now     func() time.Time
}

// New returns a Service.
func New(cfg Config) *Service {
	s := &Service{meta: cfg.Meta, region: cfg.Region, account: cfg.AccountID, log: cfg.Logger, now: cfg.Now}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

// AccountID is the account the access points belong to.
func (s *Service) AccountID() string { return s.account }

// Region is the region the access points are in.
func (s *Service) Region() string { return s.region }

// ARN returns the ARN of the standard access point name.
func (s *Service) ARN(name string) string {
	return "arn:aws:s3:" + s.region + ":" + s.account + ":accesspoint/" + name
}

// ObjectLambdaARN returns the ARN of the Object Lambda access point name.
func (s *Service) ObjectLambdaARN(name string) string {
	return "arn:aws:s3-object-lambda:" + s.region + ":" + s.account + ":accesspoint/" + name
}

// IsAlias reports whether a bucket name is a standard access point alias.
func IsAlias(bucket string) bool {
	return len(bucket) > len(aliasSuffix) && hasSuffix(bucket, aliasSuffix)
}

// IsObjectLambdaAlias reports whether a bucket name is an Object Lambda
// access point alias.
func IsObjectLambdaAlias(bucket string) bool {
	return len(bucket) > len(olapAliasSuffix) && hasSuffix(bucket, olapAliasSuffix)
}

func hasSuffix(s, suffix string) bool {
	return len(s) >= len(suffix) && s[len(s)-len(suffix):] == suffix
}

// newAlias returns a fresh alias for name ending with suffix.
func newAlias(name, suffix string) string {
	prefix := name
	if len(prefix) > aliasPrefixLen {
		prefix = prefix[:aliasPrefixLen]
	}
	var b [aliasRandomLen]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = aliasAlphabet[int(b[i])%len(aliasAlphabet)]
	}
	return prefix + "-" + string(b[:]) + suffix
}

func getDoc[T any](tx meta.Tx, kind, key string) (*T, error) {
	raw, err := tx.Doc(kind, key)
	if err != nil {
		return nil, err
	}
	v := new(T)
	if err := json.Unmarshal(raw, v); err != nil {
		return nil, err
	}
	return v, nil
}

func putDoc(tx meta.Tx, kind, key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return tx.PutDoc(kind, key, raw)
}

// insertWithAlias stores v as the document of kind named name and alias
// as a name for it in aliasKind. Errors: ErrAlreadyOwnedByYou (name is
// taken), ErrTooMany (kind already holds limit documents).
func insertWithAlias(tx meta.Tx, kind, aliasKind string, limit int, name, alias string, v any) error {
	if _, err := tx.Doc(kind, name); err == nil {
		return ErrAlreadyOwnedByYou
	} else if !errors.Is(err, meta.ErrNoSuchDoc) {
		return err
	}
	n, err := count(tx, kind, limit)
	if err != nil {
		return err
	}
	if n >= limit {
		return ErrTooMany
	}
	if err := putDoc(tx, kind, name, v); err != nil {
		return err
	}
	return tx.PutDoc(aliasKind, alias, []byte(name))
}

// getByNameOrAlias returns the document of kind named name or, if
// isAlias, the one aliasKind maps the alias name to. Errors:
// NoSuchAccessPoint.
func getByNameOrAlias[T any](tx meta.Tx, kind, aliasKind, name string, isAlias bool) (*T, error) {
	if isAlias {
		raw, err := tx.Doc(aliasKind, name)
		if err != nil {
			return nil, notFound(err, ErrNoSuchAccessPoint)
		}
		name = string(raw)
	}
	v, err := getDoc[T](tx, kind, name)
	if err != nil {
		return nil, notFound(err, ErrNoSuchAccessPoint)
	}
	return v, nil
}

// deleteWithAlias deletes the document of kind named name and its alias
// (aliasOf) from aliasKind; an alias already gone is not an error.
// Errors: NoSuchAccessPoint.
func deleteWithAlias[T any](tx meta.Tx, kind, aliasKind, name string, aliasOf func(*T) string) error {
	v, err := getDoc[T](tx, kind, name)
	if err != nil {
		return notFound(err, ErrNoSuchAccessPoint)
	}
	if err := tx.DeleteDoc(kind, name); err != nil {
		return err
	}
	if err := tx.DeleteDoc(aliasKind, aliasOf(v)); err != nil && !errors.Is(err, meta.ErrNoSuchDoc) {
		return err
	}
	return nil
}

// notFound maps a missing document to err.
func notFound(err, to error) error {
	if errors.Is(err, meta.ErrNoSuchDoc) {
		return to
	}
	return err
}

// count returns how many documents of kind exist, stopping at limit.
func count(tx meta.Tx, kind string, limit int) (int, error) {
	n := 0
	for _, err := range tx.Docs(kind, meta.ListOptions{}) {
		if err != nil {
			return 0, err
		}
		if n++; n >= limit {
			break
		}
	}
	return n, nil
}

// encodeToken and decodeToken make the opaque NextToken of listings: the
// last name of the page.
func encodeToken(name string) string { return base64.RawURLEncoding.EncodeToString([]byte(name)) }

func decodeToken(token string) (string, error) {
	if token == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(b) == 0 {
		return "", ErrInvalidNextToken
	}
	return string(b), nil
}
