package objstore

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/sluicehq/sluice/internal/meta"
)

// CORSRule is one rule of a bucket's CORS configuration: which origins
// may use which methods with which request headers, and what a matching
// response tells the browser.
type CORSRule struct {
	ID string `json:"id,omitempty"`
	// AllowedOrigins are origins, each with at most one '*' wildcard.
	AllowedOrigins []string `json:"origins"`
	// AllowedMethods are among GET, PUT, HEAD, POST and DELETE.
	AllowedMethods []string `json:"methods"`
	// AllowedHeaders are header names a preflight may ask for, each with
	// at most one '*' wildcard, matched regardless of case.
	AllowedHeaders []string `json:"headers,omitempty"`
	// ExposeHeaders are response headers the browser may show the page.
	ExposeHeaders []string `json:"expose,omitempty"`
	// MaxAgeSeconds is how long a preflight answer may be cached; nil
	// when unset.
	MaxAgeSeconds *int `json:"maxAge,omitempty"`
}

// MaxCORSRules is the most rules a CORS configuration may hold.
const MaxCORSRules = 100

// corsConfig is the key of the CORS configuration in meta.Bucket.Configs.
const corsConfig = "cors"

// ErrNoSuchCORSConfiguration is a bucket without a CORS configuration.
var ErrNoSuchCORSConfiguration = newErr("NoSuchCORSConfiguration", "The CORS configuration does not exist")

var corsMethods = map[string]bool{"GET": true, "PUT": true, "HEAD": true, "POST": true, "DELETE": true}

// ValidateCORS checks a CORS configuration as S3 does: one to MaxCORSRules
// rules, each with at least one origin and one method, methods S3 knows
// (case matters), at most one wildcard per origin and allowed header, and
// none in exposed headers.
func ValidateCORS(rules []CORSRule) error {
	if len(rules) == 0 {
		return ErrMalformedXML
	}
	if len(rules) > MaxCORSRules {
		return invalidRequest("The number of CORS rules should not exceed allowed limit of %d rules.", MaxCORSRules)
	}
	for _, r := range rules {
		if len(r.AllowedOrigins) == 0 || len(r.AllowedMethods) == 0 {
			return ErrMalformedXML
		}
		if len(r.ID) > 255 {
			return invalidRequest("ID length should not exceed allowed limit of 255")
		}
		for _, m := range r.AllowedMethods {
			if !corsMethods[m] {
				return invalidRequest("Found unsupported HTTP method in CORS config. Unsupported method is %s", m)
			}
		}
		for _, o := range r.AllowedOrigins {
			if strings.Count(o, "*") > 1 {
				return invalidRequest("AllowedOrigin %q can not have more than one wildcard.", o)
			}
		}
		for _, h := range r.AllowedHeaders {
			if strings.Count(h, "*") > 1 {
				return invalidRequest("AllowedHeader %q can not have more than one wildcard.", h)
			}
		}
		for _, h := range r.ExposeHeaders {
			if strings.Contains(h, "*") {
				return invalidRequest("ExposeHeader %q contains wildcard. We currently do not support wildcard for ExposeHeader.", h)
			}
		}
		if r.MaxAgeSeconds != nil && *r.MaxAgeSeconds < 0 {
			return ErrMalformedXML
		}
	}
	return nil
}

// SetBucketCORS replaces a bucket's CORS configuration after validating
// it; nil rules remove it (removing none is not an error).
func (s *Store) SetBucketCORS(ctx context.Context, bucket string, rules []CORSRule) error {
	var doc []byte
	if rules != nil {
		if err := ValidateCORS(rules); err != nil {
			return err
		}
		var err error
		if doc, err = json.Marshal(rules); err != nil {
			return err
		}
	}
	return s.UpdateBucket(ctx, bucket, func(b *meta.Bucket) error {
		if doc == nil {
			delete(b.Configs, corsConfig)
			return nil
		}
		if b.Configs == nil {
			b.Configs = make(map[string][]byte)
		}
		b.Configs[corsConfig] = doc
		return nil
	})
}

// BucketCORS returns a bucket's CORS rules, or ErrNoSuchCORSConfiguration.
func (s *Store) BucketCORS(ctx context.Context, bucket string) ([]CORSRule, error) {
	b, err := s.Bucket(ctx, bucket)
	if err != nil {
		return nil, err
	}
	rules, err := CORSOf(b)
	if err != nil {
		return nil, err
	}
	if rules == nil {
		return nil, ErrNoSuchCORSConfiguration
	}
	return rules, nil
}

// CORSOf decodes the CORS rules of a bucket already read; nil when it has
// none.
func CORSOf(b *meta.Bucket) ([]CORSRule, error) {
	doc := b.Configs[corsConfig]
	if doc == nil {
		return nil, nil
	}
	var rules []CORSRule
	if err := json.Unmarshal(doc, &rules); err != nil {
		return nil, fmt.Errorf("objstore: CORS configuration of bucket %s: %w", b.Name, err)
	}
	return rules, nil
}

// MatchCORS returns the first rule that allows a cross-origin request from
// origin with method and asking for headers (a preflight's
// Access-Control-Request-Headers, any case), or nil. Origins compare
// exactly but for a wildcard, which matches any run of characters.
func MatchCORS(rules []CORSRule, origin, method string, headers []string) *CORSRule {
	for i := range rules {
		r := &rules[i]
		if !slices.ContainsFunc(r.AllowedOrigins, func(p string) bool { return wildcardMatch(p, origin) }) {
			continue
		}
		if !slices.ContainsFunc(r.AllowedMethods, func(m string) bool { return m == method }) {
			continue
		}
		allowed := true
		for _, h := range headers {
			h = strings.ToLower(h)
			if !slices.ContainsFunc(r.AllowedHeaders, func(p string) bool { return wildcardMatch(strings.ToLower(p), h) }) {
				allowed = false
				break
			}
		}
		if allowed {
			return r
		}
	}
	return nil
}

// MatchOrigin reports whether origin matches an AllowedOrigin pattern.
func MatchOrigin(pattern, origin string) bool { return wildcardMatch(pattern, origin) }

// wildcardMatch matches s against a pattern holding at most one '*'.
func wildcardMatch(pattern, s string) bool {
	prefix, suffix, wild := strings.Cut(pattern, "*")
	if !wild {
		return pattern == s
	}
	return len(s) >= len(prefix)+len(suffix) && strings.HasPrefix(s, prefix) && strings.HasSuffix(s, suffix)
}
