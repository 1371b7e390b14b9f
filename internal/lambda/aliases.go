package lambda

import (
	"context"
	"errors"
	"maps"
	"regexp"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/internal/meta"
)

// Alias is a named pointer to a version, optionally routing a share of
// invocations to a second version.
type Alias struct {
	Name            string `json:"name"`
	FunctionVersion string `json:"version"`
	Description     string `json:"desc,omitempty"`
	// Weights is RoutingConfig.AdditionalVersionWeights: version →
	// share of invocations (0–1); the primary version gets the rest.
	Weights    map[string]float64 `json:"weights,omitempty"`
	RevisionID string             `json:"rev"`
	// AliasARN is set on the aliases Service returns.
	AliasARN string `json:"-"`
}

// AliasInput is a CreateAlias or UpdateAlias request; nil members are not
// given.
type AliasInput struct {
	FunctionName    string
	Name            string
	FunctionVersion *string
	Description     *string
	// Weights is RoutingConfig.AdditionalVersionWeights; nil when the
	// request has no RoutingConfig (an empty map clears the routing).
	Weights map[string]float64
	// RevisionID, for UpdateAlias, must be the alias's RevisionId.
	RevisionID string
}

const patAliasVersion = `(\$LATEST(\.PUBLISHED)?|[0-9]+)`

var reAliasVersion = regexp.MustCompile(`^(?:` + patAliasVersion + `)$`)

// check validates the model's constraints, adding to v.
func (in *AliasInput) check(v *violations, create bool) {
	if !validAlias(in.Name) {
		v.add("name", &in.Name, "Member must satisfy regular expression pattern: "+patAlias)
	}
	switch fv := in.FunctionVersion; {
	case fv == nil && create:
		v.missing("functionVersion")
	case fv != nil && (len(*fv) > 1024 || !reAliasVersion.MatchString(*fv)):
		v.add("functionVersion", fv, "Member must satisfy regular expression pattern: "+patAliasVersion)
	}
	if d := in.Description; d != nil && len([]rune(*d)) > 256 {
		v.add("description", d, "Member must have length less than or equal to 256")
	}
	for _, k := range sortedKeys(in.Weights) {
		w := in.Weights[k]
		shown := "{" + k + "=" + javaDouble(w) + "}"
		switch {
		case !isVersionNumber(k) || len(k) > 1024:
			v.add("routingConfig.additionalVersionWeights", &shown, "Map keys must satisfy constraint: [Member must have length less than or equal to 1024, Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: [0-9]+]")
		case w < 0 || w > 1:
			v.add("routingConfig.additionalVersionWeights", &shown, "Map value must satisfy constraint: [Member must have value less than or equal to 1.0, Member must have value greater than or equal to 0.0, Member must not be null]")
		}
	}
}

// javaDouble formats f as Java's Double.toString does for ordinary values
// (AWS prints weights that way): "2.0", "0.25".
func javaDouble(f float64) string {
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

// checkTargets validates the versions an alias points to, in tx.
func (s *Service) checkTargets(tx meta.Tx, name, version string, weights map[string]float64) error {
	if len(weights) > 1 {
		return invalidParam("Number of items in AdditionalVersionWeights cannot be greater than 1")
	}
	if len(weights) > 0 && version == LatestVersion {
		return invalidParam("$LATEST is not supported for an alias pointing to more than 1 version")
	}
	if _, ok := weights[version]; ok {
		return invalidParam("Invalid function version %s. Function version %s is already included in routing configuration.", version, version)
	}
	for _, v := range append([]string{version}, sortedKeys(weights)...) {
		if v == LatestVersion {
			continue
		}
		if _, err := getVersion(tx, name, v); errors.Is(err, meta.ErrNoSuchDoc) {
			return notFound(s.qualifiedARN(name, v))
		} else if err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) aliasView(name string, a *Alias) *Alias {
	x := *a
	x.Weights = maps.Clone(a.Weights)
	x.AliasARN = s.qualifiedARN(name, a.Name)
	return &x
}

// CreateAlias creates an alias. Errors: ValidationException,
// InvalidParameterValueException, ResourceNotFoundException (function or
// version), ResourceConflictException (the alias exists).
func (s *Service) CreateAlias(ctx context.Context, in *AliasInput) (*Alias, error) {
	r, err := s.parseName(in.FunctionName, "", kindName)
	if err != nil {
		return nil, err
	}
	var v violations
	in.check(&v, true)
	if err := v.err(CodeValidation); err != nil {
		return nil, err
	}
	if r.qualifier != "" {
		return nil, invalidParam(msgFunctionOnly)
	}
	a := &Alias{Name: in.Name, FunctionVersion: *in.FunctionVersion, Weights: maps.Clone(in.Weights)}
	if in.Description != nil {
		a.Description = *in.Description
	}
	if len(a.Weights) == 0 {
		a.Weights = nil
	}
	err = s.meta.Update(ctx, func(tx meta.Tx) error {
		if _, err := getFunction(tx, r.name); errors.Is(err, meta.ErrNoSuchDoc) {
			return notFound(s.qualifiedARN(r.name, a.FunctionVersion))
		} else if err != nil {
			return err
		}
		if err := s.checkTargets(tx, r.name, a.FunctionVersion, a.Weights); err != nil {
			return err
		}
		key := r.name + "/" + a.Name
		if _, err := tx.Doc(kindAlias, key); err == nil {
			return errorf(CodeResourceConflict, "Alias already exists: %s", s.qualifiedARN(r.name, a.Name))
		} else if !errors.Is(err, meta.ErrNoSuchDoc) {
			return err
		}
		a.RevisionID = newRevisionID()
		return putDoc(tx, kindAlias, key, a)
	})
	if err != nil {
		return nil, err
	}
	return s.aliasView(r.name, a), nil
}

// GetAlias returns an alias. Errors: ResourceNotFoundException.
func (s *Service) GetAlias(ctx context.Context, name, alias string) (*Alias, error) {
	r, err := s.parseName(name, "", kindName)
	if err != nil {
		return nil, err
	}
	if err := checkAliasName(alias); err != nil {
		return nil, err
	}
	var a *Alias
	err = s.meta.View(ctx, func(tx meta.Tx) error {
		a, err = getDoc[Alias](tx, kindAlias, r.name+"/"+alias)
		if errors.Is(err, meta.ErrNoSuchDoc) {
			return errorf(CodeResourceNotFound, "Cannot find alias arn: %s", s.qualifiedARN(r.name, alias))
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.aliasView(r.name, a), nil
}

func checkAliasName(alias string) error {
	var v violations
	if !validAlias(alias) {
		v.add("name", &alias, "Member must satisfy regular expression pattern: "+patAlias)
	}
	return v.err(CodeValidation)
}

// UpdateAlias changes an alias. Errors: as CreateAlias,
// PreconditionFailedException.
func (s *Service) UpdateAlias(ctx context.Context, in *AliasInput) (*Alias, error) {
	r, err := s.parseName(in.FunctionName, "", kindName)
	if err != nil {
		return nil, err
	}
	var v violations
	in.check(&v, false)
	if err := v.err(CodeValidation); err != nil {
		return nil, err
	}
	var out *Alias
	err = s.meta.Update(ctx, func(tx meta.Tx) error {
		key := r.name + "/" + in.Name
		a, err := getDoc[Alias](tx, kindAlias, key)
		if errors.Is(err, meta.ErrNoSuchDoc) {
			return errorf(CodeResourceNotFound, "Alias not found: %s", s.qualifiedARN(r.name, in.Name))
		}
		if err != nil {
			return err
		}
		if in.RevisionID != "" && in.RevisionID != a.RevisionID {
			return errorf(CodePreconditionFailed, msgRevisionMismatch)
		}
		set(&a.FunctionVersion, in.FunctionVersion)
		set(&a.Description, in.Description)
		if in.Weights != nil {
			a.Weights = maps.Clone(in.Weights)
			if len(a.Weights) == 0 {
				a.Weights = nil
			}
		}
		if err := s.checkTargets(tx, r.name, a.FunctionVersion, a.Weights); err != nil {
			return err
		}
		a.RevisionID = newRevisionID()
		out = a
		return putDoc(tx, kindAlias, key, a)
	})
	if err != nil {
		return nil, err
	}
	return s.aliasView(r.name, out), nil
}

// DeleteAlias deletes an alias with its policy and event invoke config;
// deleting an alias that does not exist succeeds, as on AWS. Errors:
// ResourceNotFoundException (no such function).
func (s *Service) DeleteAlias(ctx context.Context, name, alias string) error {
	r, err := s.parseName(name, "", kindName)
	if err != nil {
		return err
	}
	if err := checkAliasName(alias); err != nil {
		return err
	}
	return s.meta.Update(ctx, func(tx meta.Tx) error {
		if _, err := getFunction(tx, r.name); errors.Is(err, meta.ErrNoSuchDoc) {
			return notFound(s.FunctionARN(r.name))
		} else if err != nil {
			return err
		}
		key := r.name + "/" + alias
		for _, kind := range []string{kindAlias, kindPolicy, kindEventConfig} {
			if err := deleteDoc(tx, kind, key); err != nil {
				return err
			}
		}
		return nil
	})
}

// ListAliases returns a page of a function's aliases in name order, only
// those pointing to functionVersion if it is not "". Errors:
// ResourceNotFoundException, ValidationException.
func (s *Service) ListAliases(ctx context.Context, name, functionVersion string, in *ListInput) ([]*Alias, string, error) {
	r, err := s.parseName(name, "", kindName)
	if err != nil {
		return nil, "", err
	}
	var v violations
	size := in.pageSize(&v)
	if fv := functionVersion; fv != "" && !reAliasVersion.MatchString(fv) {
		v.add("functionVersion", &fv, "Member must satisfy regular expression pattern: "+patAliasVersion)
	}
	if err := v.err(CodeValidation); err != nil {
		return nil, "", err
	}
	after, _, err := decodeMarker(in.Marker)
	if err != nil {
		return nil, "", err
	}
	var (
		out  []*Alias
		more bool
	)
	err = s.meta.View(ctx, func(tx meta.Tx) error {
		out, more = out[:0], false
		if _, err := getFunction(tx, r.name); errors.Is(err, meta.ErrNoSuchDoc) {
			return notFound(s.FunctionARN(r.name))
		} else if err != nil {
			return err
		}
		stop := errors.New("stop")
		err := aliases(tx, r.name, func(a *Alias) error {
			if after != "" && a.Name <= after {
				return nil
			}
			if functionVersion != "" && a.FunctionVersion != functionVersion {
				return nil
			}
			if len(out) == size {
				more = true
				return stop
			}
			out = append(out, s.aliasView(r.name, a))
			return nil
		})
		if errors.Is(err, stop) {
			return nil
		}
		return err
	})
	if err != nil {
		return nil, "", err
	}
	next := ""
	if more {
		next = encodeMarker(out[len(out)-1].Name, -1)
	}
	return out, next, nil
}
