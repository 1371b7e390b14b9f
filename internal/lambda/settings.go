package lambda

import (
	"context"
	"errors"
	"maps"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/internal/meta"
)

// functionOnly resolves a name that must not carry a version or alias.
func (s *Service) functionOnly(name string, kind nameKind) (ref, error) {
	r, err := s.parseName(name, "", kind)
	if err != nil {
		return ref{}, err
	}
	if r.qualifier != "" {
		return ref{}, invalidParam(msgFunctionOnly)
	}
	return r, nil
}

// PutFunctionConcurrency reserves concurrency for a function (0 stops
// every invocation). The account keeps at least MinUnreservedConcurrency
// unreserved. Errors: ResourceNotFoundException,
// InvalidParameterValueException.
func (s *Service) PutFunctionConcurrency(ctx context.Context, name string, n *int) (int, error) {
	r, err := s.functionOnly(name, kindName)
	if err != nil {
		return 0, err
	}
	var v violations
	if n == nil {
		v.missing("reservedConcurrentExecutions")
	} else if *n < 0 {
		shown := strconv.Itoa(*n)
		v.add("reservedConcurrentExecutions", &shown, "Member must have value greater than or equal to 0")
	}
	if err := v.err(CodeValidation); err != nil {
		return 0, err
	}
	err = s.meta.Update(ctx, func(tx meta.Tx) error {
		f, err := getFunction(tx, r.name)
		if errors.Is(err, meta.ErrNoSuchDoc) {
			return notFound(s.qualifiedARN(r.name, LatestVersion))
		}
		if err != nil {
			return err
		}
		u, err := getUsage(tx)
		if err != nil {
			return err
		}
		if f.Reserved != nil {
			u.Reserved -= *f.Reserved
		}
		if u.Reserved+*n > s.concurrency-MinUnreservedConcurrency {
			return invalidParam("Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [%d].", MinUnreservedConcurrency)
		}
		u.Reserved += *n
		f.Reserved = n
		if err := putUsage(tx, u); err != nil {
			return err
		}
		return putDoc(tx, kindFunction, r.name, f)
	})
	return *n, err
}

// GetFunctionConcurrency returns a function's reserved concurrency, nil if
// it has none. Errors: ResourceNotFoundException.
func (s *Service) GetFunctionConcurrency(ctx context.Context, name string) (*int, error) {
	r, err := s.functionOnly(name, kindName)
	if err != nil {
		return nil, err
	}
	var out *int
	err = s.meta.View(ctx, func(tx meta.Tx) error {
		f, err := getFunction(tx, r.name)
		if errors.Is(err, meta.ErrNoSuchDoc) {
			return notFound(s.FunctionARN(r.name))
		}
		if err != nil {
			return err
		}
		out = f.Reserved
		return nil
	})
	return out, err
}

// DeleteFunctionConcurrency removes a function's reservation. Errors:
// ResourceNotFoundException.
func (s *Service) DeleteFunctionConcurrency(ctx context.Context, name string) error {
	r, err := s.functionOnly(name, kindName)
	if err != nil {
		return err
	}
	return s.meta.Update(ctx, func(tx meta.Tx) error {
		f, err := getFunction(tx, r.name)
		if errors.Is(err, meta.ErrNoSuchDoc) {
			return notFound(s.FunctionARN(r.name))
		}
		if err != nil {
			return err
		}
		if f.Reserved == nil {
			return nil
		}
		u, err := getUsage(tx)
		if err != nil {
			return err
		}
		u.Reserved -= *f.Reserved
		f.Reserved = nil
		if err := putUsage(tx, u); err != nil {
			return err
		}
		return putDoc(tx, kindFunction, r.name, f)
	})
}

// EventInvokeConfig is the configuration of asynchronous invocations of a
// function, version or alias.
type EventInvokeConfig struct {
	// FunctionARN is qualified ($LATEST for the unqualified function).
	FunctionARN string `json:"arn"`
	// MaximumRetryAttempts (0–2) and MaximumEventAgeInSeconds
	// (60–21600) are nil when not configured (AWS's defaults apply: 2
	// and 21600).
	MaximumRetryAttempts     *int `json:"retries,omitempty"`
	MaximumEventAgeInSeconds *int `json:"maxAge,omitempty"`
	// OnSuccess and OnFailure are destination ARNs, "" for none.
	OnSuccess    string    `json:"onSuccess,omitempty"`
	OnFailure    string    `json:"onFailure,omitempty"`
	LastModified time.Time `json:"mtime"`
}

// EventInvokeConfigInput is a Put or Update request; nil members are not
// given.
type EventInvokeConfigInput struct {
	FunctionName             string
	Qualifier                string
	MaximumRetryAttempts     *int
	MaximumEventAgeInSeconds *int
	// OnSuccess and OnFailure are the destinations; nil when the request
	// has none ("" removes one).
	OnSuccess *string
	OnFailure *string
}

// eventConfigRef resolves the function and qualifier of an event invoke
// config operation; the unqualified function means $LATEST.
func (s *Service) eventConfigRef(name, qualifier string) (ref, error) {
	r, err := s.parseName(name, qualifier, kindNamespaced)
	if err != nil {
		return ref{}, err
	}
	if r.qualifier == "" {
		r.qualifier = LatestVersion
	}
	return r, nil
}

func (s *Service) noEventConfig(r ref) error {
	return errorf(CodeResourceNotFound, "The function %s doesn't have an EventInvokeConfig", s.qualifiedARN(r.name, r.qualifier))
}

// PutEventInvokeConfig sets (merge false: replaces, omitted members are
// removed) or updates (merge true) the event invoke config of a function,
// version or alias. Errors: ValidationException,
// InvalidParameterValueException, ResourceNotFoundException.
func (s *Service) PutEventInvokeConfig(ctx context.Context, in *EventInvokeConfigInput, merge bool) (*EventInvokeConfig, error) {
	r, err := s.eventConfigRef(in.FunctionName, in.Qualifier)
	if err != nil {
		return nil, err
	}
	var v violations
	intRange(&v, "maximumRetryAttempts", in.MaximumRetryAttempts, 0, 2)
	intRange(&v, "maximumEventAgeInSeconds", in.MaximumEventAgeInSeconds, 60, 21600)
	for _, d := range []struct {
		field string
		arn   *string
	}{{"destinationConfig.onSuccess.destination", in.OnSuccess}, {"destinationConfig.onFailure.destination", in.OnFailure}} {
		if d.arn != nil && (len(*d.arn) > 350 || !reDestARN.MatchString(*d.arn)) {
			v.add(d.field, d.arn, "Member must satisfy regular expression pattern: "+patDestARN)
		}
	}
	if err := v.err(CodeValidation); err != nil {
		return nil, err
	}
	if !merge && in.MaximumRetryAttempts == nil && in.MaximumEventAgeInSeconds == nil && in.OnSuccess == nil && in.OnFailure == nil {
		return nil, invalidParam("You must specify at least one of error handling or destination setting.")
	}
	now := s.timestamp()
	var out *EventInvokeConfig
	err = s.meta.Update(ctx, func(tx meta.Tx) error {
		if _, err := s.policyTarget(tx, r, func() error {
			return errorf(CodeResourceNotFound, "The function doesn't exist.")
		}); err != nil {
			return err
		}
		key := r.name + "/" + r.qualifier
		c := &EventInvokeConfig{}
		if merge {
			old, err := getDoc[EventInvokeConfig](tx, kindEventConfig, key)
			switch {
			case errors.Is(err, meta.ErrNoSuchDoc):
				return s.noEventConfig(r)
			case err != nil:
				return err
			}
			c = old
		}
		if in.MaximumEventAgeInSeconds != nil || !merge {
			c.MaximumEventAgeInSeconds = in.MaximumEventAgeInSeconds
		}
		if in.MaximumRetryAttempts != nil || !merge {
			c.MaximumRetryAttempts = in.MaximumRetryAttempts
		}
		if in.OnSuccess != nil || !merge {
			c.OnSuccess = deref(in.OnSuccess)
		}
		if in.OnFailure != nil || !merge {
			c.OnFailure = deref(in.OnFailure)
		}
		if err := s.checkDestinations(tx, r, c); err != nil {
			return err
		}
		c.FunctionARN = s.qualifiedARN(r.name, r.qualifier)
		c.LastModified = now
		out = c
		return putDoc(tx, kindEventConfig, key, c)
	})
	return out, err
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// checkDestinations accepts Lambda functions (not the function itself)
// and, for failures, S3 buckets: the destinations sluice can deliver to.
func (s *Service) checkDestinations(tx meta.Tx, r ref, c *EventInvokeConfig) error {
	invalid := func() error {
		show := func(d string) string {
			if d == "" {
				return "null"
			}
			return "destination=" + d
		}
		succ, fail := "null", "null"
		if c.OnSuccess != "" {
			succ = "OnSuccess(" + show(c.OnSuccess) + ")"
		}
		if c.OnFailure != "" {
			fail = "OnFailure(" + show(c.OnFailure) + ")"
		}
		return invalidParam("The provided destination config DestinationConfig(onSuccess=%s, onFailure=%s) is invalid.", succ, fail)
	}
	for _, d := range []struct {
		arn     string
		failure bool
	}{{c.OnSuccess, false}, {c.OnFailure, true}} {
		switch {
		case d.arn == "":
		case strings.HasPrefix(d.arn, "arn:aws:lambda:"):
			dr, err := s.parseName(d.arn, "", kindNamespaced)
			if err != nil {
				return invalidParam("The destination ARN %s is invalid.", d.arn)
			}
			if dr.name == r.name {
				return invalidParam("You can't specify the function as a destination for itself.")
			}
			if _, err := s.policyTarget(tx, dr, func() error { return meta.ErrNoSuchDoc }); err != nil {
				var le *Error
				if errors.Is(err, meta.ErrNoSuchDoc) || errors.As(err, &le) {
					return invalidParam("The destination ARN %s is invalid.", d.arn)
				}
				return err
			}
		case d.failure && strings.HasPrefix(d.arn, "arn:aws:s3:::") && len(d.arn) > len("arn:aws:s3:::") && !strings.Contains(d.arn[len("arn:aws:s3:::"):], "/"):
		default:
			return invalid()
		}
	}
	return nil
}

// GetEventInvokeConfig returns an event invoke config. Errors:
// ResourceNotFoundException.
func (s *Service) GetEventInvokeConfig(ctx context.Context, name, qualifier string) (*EventInvokeConfig, error) {
	r, err := s.eventConfigRef(name, qualifier)
	if err != nil {
		return nil, err
	}
	var out *EventInvokeConfig
	err = s.meta.View(ctx, func(tx meta.Tx) error {
		out, err = getDoc[EventInvokeConfig](tx, kindEventConfig, r.name+"/"+r.qualifier)
		if errors.Is(err, meta.ErrNoSuchDoc) {
			return s.noEventConfig(r)
		}
		return err
	})
	return out, err
}

// DeleteEventInvokeConfig removes an event invoke config. Errors:
// ResourceNotFoundException.
func (s *Service) DeleteEventInvokeConfig(ctx context.Context, name, qualifier string) error {
	r, err := s.eventConfigRef(name, qualifier)
	if err != nil {
		return err
	}
	return s.meta.Update(ctx, func(tx meta.Tx) error {
		err := tx.DeleteDoc(kindEventConfig, r.name+"/"+r.qualifier)
		if errors.Is(err, meta.ErrNoSuchDoc) {
			return s.noEventConfig(r)
		}
		return err
	})
}

// ListEventInvokeConfigs returns a page of a function's event invoke
// configs. Errors: ResourceNotFoundException, ValidationException.
func (s *Service) ListEventInvokeConfigs(ctx context.Context, name string, in *ListInput) ([]*EventInvokeConfig, string, error) {
	r, err := s.parseName(name, "", kindNamespaced)
	if err != nil {
		return nil, "", err
	}
	var v violations
	size := MaxListItems
	if in.MaxItems != nil {
		intRange(&v, "maxItems", in.MaxItems, 1, 50)
		size = *in.MaxItems
	}
	if err := v.err(CodeValidation); err != nil {
		return nil, "", err
	}
	after, _, err := decodeMarker(in.Marker)
	if err != nil {
		return nil, "", err
	}
	var (
		out  []*EventInvokeConfig
		next string
	)
	err = s.meta.View(ctx, func(tx meta.Tx) error {
		out, next = out[:0], ""
		if _, err := getFunction(tx, r.name); errors.Is(err, meta.ErrNoSuchDoc) {
			return notFound(s.FunctionARN(r.name))
		} else if err != nil {
			return err
		}
		opts := meta.ListOptions{Prefix: r.name + "/"}
		if after != "" {
			opts.After = r.name + "/" + after
		}
		for d, err := range tx.Docs(kindEventConfig, opts) {
			if err != nil {
				return err
			}
			if len(out) == size {
				next = encodeMarker(strings.TrimPrefix(out[len(out)-1].FunctionARN, s.FunctionARN(r.name)+":"), -1)
				return nil
			}
			c, err := getDoc[EventInvokeConfig](tx, kindEventConfig, d.Key)
			if err != nil {
				return err
			}
			out = append(out, c)
		}
		return nil
	})
	return out, next, err
}

// Recursive loop settings.
const (
	RecursiveLoopAllow     = "Allow"
	RecursiveLoopTerminate = "Terminate"
)

// PutRecursionConfig sets whether Lambda stops recursive invocation loops
// of a function ("Terminate", the default) or lets them run ("Allow").
// Errors: ValidationException, ResourceNotFoundException.
func (s *Service) PutRecursionConfig(ctx context.Context, name, loop string) (string, error) {
	r, err := s.parseName(name, "", kindUnqualified)
	if err != nil {
		return "", err
	}
	var v violations
	switch loop {
	case "":
		v.missing("recursiveLoop")
	case RecursiveLoopAllow, RecursiveLoopTerminate:
	default:
		v.add("recursiveLoop", &loop, "Member must satisfy enum value set: [Terminate, Allow]")
	}
	if err := v.err(CodeValidation); err != nil {
		return "", err
	}
	err = s.meta.Update(ctx, func(tx meta.Tx) error {
		f, err := getFunction(tx, r.name)
		if errors.Is(err, meta.ErrNoSuchDoc) {
			return notFound(s.FunctionARN(r.name))
		}
		if err != nil {
			return err
		}
		f.RecursiveLoop = loop
		return putDoc(tx, kindFunction, r.name, f)
	})
	return loop, err
}

// GetRecursionConfig returns a function's recursive loop setting. Errors:
// ResourceNotFoundException.
func (s *Service) GetRecursionConfig(ctx context.Context, name string) (string, error) {
	r, err := s.parseName(name, "", kindUnqualified)
	if err != nil {
		return "", err
	}
	loop := RecursiveLoopTerminate
	err = s.meta.View(ctx, func(tx meta.Tx) error {
		f, err := getFunction(tx, r.name)
		if errors.Is(err, meta.ErrNoSuchDoc) {
			return notFound(s.FunctionARN(r.name))
		}
		if err != nil {
			return err
		}
		if f.RecursiveLoop != "" {
			loop = f.RecursiveLoop
		}
		return nil
	})
	return loop, err
}

// Tag resource ARNs.
const patTaggable = `arn:(aws[a-zA-Z-]*):lambda:(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:\d{12}:(function:[a-zA-Z0-9-_]+(:(\$LATEST|[a-zA-Z0-9-_]+))?|code-signing-config:csc-[a-z0-9]{17}|event-source-mapping:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|(capacity-provider|network-connector):[a-zA-Z0-9-_]{1,64})`

var reTaggable = regexp.MustCompile(`^(?:` + patTaggable + `)$`)

// taggable resolves the ARN of a tagging operation to a function.
func (s *Service) taggable(arn string) (ref, error) {
	var v violations
	if !reTaggable.MatchString(arn) {
		v.add("resource", &arn, "Member must satisfy regular expression pattern: "+patTaggable)
		return ref{}, v.err(CodeValidation)
	}
	if !strings.Contains(arn, ":function:") {
		return ref{}, errorf(CodeResourceNotFound, "%s", "Resource not found: "+arn)
	}
	r, err := s.parseName(arn, "", kindNamespaced)
	if err != nil {
		return ref{}, err
	}
	if r.qualifier != "" {
		return ref{}, invalidParam("Tags on function aliases and versions are not supported. Please specify a function ARN.")
	}
	return r, nil
}

// TagResource adds or replaces tags of a function. Errors:
// ValidationException, InvalidParameterValueException,
// ResourceNotFoundException.
func (s *Service) TagResource(ctx context.Context, arn string, tags map[string]string) error {
	r, err := s.taggable(arn)
	if err != nil {
		return err
	}
	var v violations
	if tags == nil {
		v.missing("tags")
	}
	checkTags(&v, tags)
	if err := v.err(CodeValidation); err != nil {
		return err
	}
	if len(tags) == 0 {
		return invalidParam("An error occurred and the request cannot be processed.")
	}
	return s.meta.Update(ctx, func(tx meta.Tx) error {
		f, err := getFunction(tx, r.name)
		if errors.Is(err, meta.ErrNoSuchDoc) {
			return notFound(s.FunctionARN(r.name))
		}
		if err != nil {
			return err
		}
		merged := maps.Clone(f.Tags)
		if merged == nil {
			merged = map[string]string{}
		}
		maps.Copy(merged, tags)
		if len(merged) > MaxTags {
			return invalidParam("Number of tags exceeds resource tag limit.")
		}
		f.Tags = merged
		return putDoc(tx, kindFunction, r.name, f)
	})
}

// UntagResource removes tags of a function; absent keys are ignored.
// Errors: ValidationException, ResourceNotFoundException.
func (s *Service) UntagResource(ctx context.Context, arn string, keys []string) error {
	r, err := s.taggable(arn)
	if err != nil {
		return err
	}
	if keys == nil {
		var v violations
		v.missing("tagKeys")
		return v.err(CodeValidation)
	}
	return s.meta.Update(ctx, func(tx meta.Tx) error {
		f, err := getFunction(tx, r.name)
		if errors.Is(err, meta.ErrNoSuchDoc) {
			return notFound(s.FunctionARN(r.name))
		}
		if err != nil {
			return err
		}
		for _, k := range keys {
			delete(f.Tags, k)
		}
		if len(f.Tags) == 0 {
			f.Tags = nil
		}
		return putDoc(tx, kindFunction, r.name, f)
	})
}

// ListTags returns a function's tags. Errors: ValidationException,
// ResourceNotFoundException.
func (s *Service) ListTags(ctx context.Context, arn string) (map[string]string, error) {
	r, err := s.taggable(arn)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	err = s.meta.View(ctx, func(tx meta.Tx) error {
		f, err := getFunction(tx, r.name)
		if errors.Is(err, meta.ErrNoSuchDoc) {
			return notFound(s.FunctionARN(r.name))
		}
		if err != nil {
			return err
		}
		maps.Copy(out, f.Tags)
		return nil
	})
	return out, err
}

// AccountSettings are the account's limits and usage.
type AccountSettings struct {
	TotalCodeSizeLimit             int64
	CodeSizeUnzipped               int64
	CodeSizeZipped                 int64
	ConcurrentExecutions           int
	UnreservedConcurrentExecutions int
	TotalCodeSize                  int64
	FunctionCount                  int64
}

// AccountSettings returns the account's limits and usage.
func (s *Service) AccountSettings(ctx context.Context) (*AccountSettings, error) {
	var u *usage
	err := s.meta.View(ctx, func(tx meta.Tx) error {
		var err error
		u, err = getUsage(tx)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &AccountSettings{
		TotalCodeSizeLimit:             s.codeLimit,
		CodeSizeUnzipped:               MaxUnzippedSize,
		CodeSizeZipped:                 MaxZipSize,
		ConcurrentExecutions:           s.concurrency,
		UnreservedConcurrentExecutions: s.concurrency - u.Reserved,
		TotalCodeSize:                  u.CodeSize,
		FunctionCount:                  u.Functions,
	}, nil
}
