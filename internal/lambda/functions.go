package lambda

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"maps"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/internal/meta"
)

// Function states and update statuses as Lambda reports them.
const (
	StatePending      = "Pending"
	StateActive       = "Active"
	UpdateSuccessful  = "Successful"
	UpdateInProgress  = "InProgress"
	reasonCreating    = "The function is being created."
	reasonCodeCreated = "Creating"
)

// FunctionConfig is a version's configuration as an operation reports it.
type FunctionConfig struct {
	VersionConfig
	FunctionName string
	// FunctionARN is the ARN the operation reports: unqualified when
	// $LATEST was addressed without a qualifier, else qualified with the
	// version or alias the caller named.
	FunctionARN string
	// State and LastUpdateStatus with their reasons; empty values are not
	// reported (listings report none of them).
	State                      string
	StateReason                string
	StateReasonCode            string
	LastUpdateStatus           string
	LastUpdateStatusReason     string
	LastUpdateStatusReasonCode string
}

// CodeSHA256Base64 is the package's SHA-256 as Lambda reports CodeSha256.
func (c *VersionConfig) CodeSHA256Base64() string {
	raw, _ := hex.DecodeString(c.CodeSHA256)
	return base64.StdEncoding.EncodeToString(raw)
}

// viewMode selects the status fields a FunctionConfig reports.
type viewMode int

const (
	viewGet     viewMode = iota // Active, Successful
	viewCreated                 // Pending, as CreateFunction answers
	viewUpdated                 // Active, InProgress, as updates answer
	viewList                    // no status fields
)

// view makes the FunctionConfig an operation reports. sluice makes a
// function ready in the transaction that creates or changes it, so reads
// report Active/Successful at once; the create and update responses report
// Pending/InProgress, as AWS's always do, so clients that wait for the
// transition find it already made.
func (s *Service) view(name string, c *VersionConfig, arnQualifier string, mode viewMode) *FunctionConfig {
	fc := &FunctionConfig{VersionConfig: *c.clone(), FunctionName: name, FunctionARN: s.qualifiedARN(name, arnQualifier)}
	switch mode {
	case viewGet:
		fc.State, fc.LastUpdateStatus = StateActive, UpdateSuccessful
	case viewCreated:
		fc.State, fc.StateReason, fc.StateReasonCode = StatePending, reasonCreating, reasonCodeCreated
	case viewUpdated:
		fc.State, fc.LastUpdateStatus = StateActive, UpdateInProgress
		fc.LastUpdateStatusReason, fc.LastUpdateStatusReasonCode = reasonCreating, reasonCodeCreated
	}
	return fc
}

// CreateFunctionInput is a CreateFunction request.
type CreateFunctionInput struct {
	FunctionName string
	ConfigInput
	Architectures []string
	// PackageType is "", "Zip" or "Image" (refused).
	PackageType string
	Publish     bool
	Tags        map[string]string
	// Code is nil when the request has none.
	Code *CodeInput
}

// CreateFunction creates a function (and version 1 with Publish). Errors:
// ValidationException, InvalidParameterValueException,
// ResourceConflictException (the name is taken),
// RequestEntityTooLargeException, CodeStorageExceededException.
func (s *Service) CreateFunction(ctx context.Context, in *CreateFunctionInput) (*FunctionConfig, error) {
	r, err := s.parseName(in.FunctionName, "", kindName)
	if err != nil {
		return nil, err
	}
	var v violations
	if in.Role == nil {
		v.missing("role")
	}
	if in.Code == nil {
		v.missing("code")
	}
	in.check(&v)
	checkArchitectures(&v, in.Architectures)
	checkTags(&v, in.Tags)
	if pt := in.PackageType; pt != "" && pt != PackageType && pt != "Image" {
		v.add("packageType", &pt, "Member must satisfy enum value set: [Zip, Image]")
	}
	if err := v.err(CodeValidation); err != nil {
		return nil, err
	}
	switch {
	case r.qualifier != "":
		return nil, invalidParam("A function name cannot have a qualifier when the function is created.")
	case in.PackageType == "Image" || in.Code.ImageURI != "":
		return nil, invalidParam("sluice runs Zip packages only: PackageType Image is not supported.")
	case in.Runtime == nil || in.Handler == nil:
		return nil, invalidParam("Runtime and Handler are mandatory parameters for functions created with deployment packages.")
	case len(in.Tags) > MaxTags:
		return nil, invalidParam("Number of tags exceeds resource tag limit.")
	}
	c := &VersionConfig{
		Version:          LatestVersion,
		Timeout:          DefaultTimeout,
		MemorySize:       DefaultMemorySize,
		EphemeralStorage: DefaultEphemeralStorage,
		Architecture:     "x86_64",
	}
	if err := in.apply(c); err != nil {
		return nil, err
	}
	if len(in.Architectures) == 1 {
		c.Architecture = in.Architectures[0]
	}
	st, err := s.stage(ctx, in.Code, false)
	if err != nil {
		return nil, err
	}
	now := s.timestamp()
	c.CodeSHA256, c.CodeSize, c.LastModified, c.RevisionID = st.sha, st.size, now, newRevisionID()
	var published *VersionConfig
	err = s.withPackage(ctx, in.Code, st, func(tx meta.Tx, st *staged) error {
		published = nil
		if _, err := tx.Doc(kindFunction, r.name); err == nil {
			return errorf(CodeResourceConflict, "Function already exist: %s", r.name)
		} else if !errors.Is(err, meta.ErrNoSuchDoc) {
			return err
		}
		u, err := getUsage(tx)
		if err != nil {
			return err
		}
		add := c.CodeSize
		if in.Publish {
			add *= 2
		}
		if u.CodeSize+add > s.codeLimit {
			return errorf(CodeCodeStorageExceeded, "Code storage limit exceeded.")
		}
		if err := refCode(tx, st); err != nil {
			return err
		}
		u.CodeSize += c.CodeSize
		u.Functions++
		f := &function{Name: r.name, Created: now, Latest: *c.clone(), Tags: maps.Clone(in.Tags)}
		if in.Publish {
			if published, err = s.publish(tx, f, u, nil, now); err != nil {
				return err
			}
		}
		if err := putUsage(tx, u); err != nil {
			return err
		}
		if s.keys != nil {
			if _, _, err := s.keys.PutFunctionKey(tx, s.FunctionARN(r.name), c.Role); err != nil {
				return err
			}
		}
		return putDoc(tx, kindFunction, r.name, f)
	})
	if err != nil {
		return nil, err
	}
	if published != nil {
		return s.view(r.name, published, "", viewCreated), nil
	}
	return s.view(r.name, c, "", viewCreated), nil
}

// Function is what GetFunction reports: a version's configuration and the
// function's tags and reserved concurrency.
type Function struct {
	Configuration *FunctionConfig
	Tags          map[string]string
	// ReservedConcurrency is nil when the function has none.
	ReservedConcurrency *int
}

// GetFunction returns a function's configuration ($LATEST, a version, or
// the version an alias points to), tags and concurrency. Errors:
// ResourceNotFoundException.
func (s *Service) GetFunction(ctx context.Context, name, qualifier string) (*Function, error) {
	r, err := s.parseName(name, qualifier, kindNamespaced)
	if err != nil {
		return nil, err
	}
	var out *Function
	err = s.meta.View(ctx, func(tx meta.Tx) error {
		f, c, err := s.resolveConfig(tx, r)
		if err != nil {
			return err
		}
		out = &Function{
			Configuration:       s.view(f.Name, c, r.qualifier, viewGet),
			Tags:                maps.Clone(f.Tags),
			ReservedConcurrency: f.Reserved,
		}
		return nil
	})
	return out, err
}

// GetFunctionConfiguration returns a version's configuration. Errors:
// ResourceNotFoundException.
func (s *Service) GetFunctionConfiguration(ctx context.Context, name, qualifier string) (*FunctionConfig, error) {
	f, err := s.GetFunction(ctx, name, qualifier)
	if err != nil {
		return nil, err
	}
	return f.Configuration, nil
}

// resolveConfig finds the configuration a reference names: $LATEST, a
// published version, or the primary version of an alias.
func (s *Service) resolveConfig(tx meta.Tx, r ref) (*function, *VersionConfig, error) {
	f, err := getFunction(tx, r.name)
	if errors.Is(err, meta.ErrNoSuchDoc) {
		return nil, nil, notFound(s.qualifiedARN(r.name, r.qualifier))
	}
	if err != nil {
		return nil, nil, err
	}
	version := r.qualifier
	if version != "" && version != LatestVersion && !isVersionNumber(version) {
		a, err := getDoc[Alias](tx, kindAlias, r.name+"/"+version)
		if errors.Is(err, meta.ErrNoSuchDoc) {
			return nil, nil, notFound(s.qualifiedARN(r.name, r.qualifier))
		}
		if err != nil {
			return nil, nil, err
		}
		version = a.FunctionVersion
	}
	if version == "" || version == LatestVersion {
		return f, &f.Latest, nil
	}
	c, err := getVersion(tx, r.name, version)
	if errors.Is(err, meta.ErrNoSuchDoc) {
		return nil, nil, notFound(s.qualifiedARN(r.name, r.qualifier))
	}
	return f, c, err
}

// ListInput selects a page of a listing.
type ListInput struct {
	// Marker is the NextMarker of the previous page; "" starts over.
	Marker string
	// MaxItems is the page size; nil means MaxListItems, larger values
	// are capped at MaxListItems.
	MaxItems *int
}

// pageSize validates MaxItems and returns the page size.
func (in *ListInput) pageSize(v *violations) int {
	if in.MaxItems == nil {
		return MaxListItems
	}
	intRange(v, "maxItems", in.MaxItems, 1, 10000)
	return min(*in.MaxItems, MaxListItems)
}

// ListFunctionsInput is a ListFunctions request.
type ListFunctionsInput struct {
	ListInput
	// FunctionVersion "ALL" lists every version of every function;
	// "" lists $LATEST of each.
	FunctionVersion string
}

// FunctionList is a page of configurations.
type FunctionList struct {
	Functions  []*FunctionConfig
	NextMarker string
}

// ListFunctions returns a page of functions ordered by name (with
// FunctionVersion ALL, each function's $LATEST and versions in order).
// Errors: ValidationException, InvalidParameterValueException (a marker
// sluice did not issue).
func (s *Service) ListFunctions(ctx context.Context, in *ListFunctionsInput) (*FunctionList, error) {
	var v violations
	size := in.pageSize(&v)
	all := in.FunctionVersion == "ALL"
	if fv := in.FunctionVersion; fv != "" && !all {
		v.add("functionVersion", &fv, "Member must satisfy enum value set: [ALL]")
	}
	if err := v.err(CodeValidation); err != nil {
		return nil, err
	}
	afterName, afterVersion, err := decodeMarker(in.Marker)
	if err != nil {
		return nil, err
	}
	out := &FunctionList{}
	more := false
	err = s.meta.View(ctx, func(tx meta.Tx) error {
		out.Functions, more = out.Functions[:0], false
		opts := meta.ListOptions{After: afterName, Inclusive: all && afterName != ""}
		for d, err := range tx.Docs(kindFunction, opts) {
			if err != nil {
				return err
			}
			f := new(function)
			if err := json.Unmarshal(d.Value, f); err != nil {
				return err
			}
			emit := func(c *VersionConfig, arnQualifier string) bool {
				if len(out.Functions) == size {
					more = true
					return false
				}
				out.Functions = append(out.Functions, s.view(f.Name, c, arnQualifier, viewList))
				return true
			}
			if !all {
				if !emit(&f.Latest, "") {
					return nil
				}
				continue
			}
			resume := f.Name == afterName
			if !resume || afterVersion < 0 {
				if !emit(&f.Latest, LatestVersion) {
					return nil
				}
			}
			stop := errors.New("stop")
			err = versions(tx, f.Name, func(c *VersionConfig) error {
				if n, _ := strconv.Atoi(c.Version); resume && n <= afterVersion {
					return nil
				}
				if !emit(c, c.Version) {
					return stop
				}
				return nil
			})
			if errors.Is(err, stop) {
				return nil
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if more && len(out.Functions) > 0 {
		last := out.Functions[len(out.Functions)-1]
		n := -1
		if all {
			n, _ = strconv.Atoi(last.Version) // $LATEST → 0
		}
		out.NextMarker = encodeMarker(last.FunctionName, n)
	}
	return out, nil
}

// encodeMarker makes a listing marker: a function name and, for listings
// of versions, the last version listed (0 for $LATEST, -1 for none).
func encodeMarker(name string, version int) string {
	return base64.RawURLEncoding.EncodeToString([]byte(name + "\x00" + strconv.Itoa(version)))
}

func decodeMarker(m string) (name string, version int, err error) {
	if m == "" {
		return "", -1, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(m)
	if err == nil {
		var n string
		var ok bool
		if name, n, ok = strings.Cut(string(raw), "\x00"); ok {
			if version, err = strconv.Atoi(n); err == nil {
				return name, version, nil
			}
		}
	}
	return "", 0, invalidParam("The marker %s is not valid.", m)
}

// UpdateCodeInput is an UpdateFunctionCode request.
type UpdateCodeInput struct {
	FunctionName  string
	Code          CodeInput
	Architectures []string
	Publish       bool
	// DryRun validates without changing the function.
	DryRun bool
	// RevisionID, if set, must be $LATEST's current RevisionId.
	RevisionID string
}

// UpdateFunctionCode replaces $LATEST's package (and publishes a version
// with Publish). Errors: as CreateFunction, ResourceNotFoundException,
// PreconditionFailedException.
func (s *Service) UpdateFunctionCode(ctx context.Context, in *UpdateCodeInput) (*FunctionConfig, error) {
	r, err := s.parseName(in.FunctionName, "", kindName)
	if err != nil {
		return nil, err
	}
	var v violations
	checkArchitectures(&v, in.Architectures)
	if err := v.err(CodeValidation); err != nil {
		return nil, err
	}
	if r.qualifier != "" && r.qualifier != LatestVersion {
		return nil, invalidParam(msgFunctionOnly)
	}
	if in.Code.ImageURI != "" {
		return nil, invalidParam("Please don't provide ImageUri when updating a function with packageType Zip.")
	}
	st, err := s.stage(ctx, &in.Code, false)
	if err != nil {
		return nil, err
	}
	now := s.timestamp()
	var (
		out       *VersionConfig
		published *VersionConfig
	)
	change := func(tx meta.Tx) (*function, error) {
		f, err := getFunction(tx, r.name)
		if errors.Is(err, meta.ErrNoSuchDoc) {
			return nil, notFound(s.FunctionARN(r.name))
		}
		if err != nil {
			return nil, err
		}
		if in.RevisionID != "" && in.RevisionID != f.Latest.RevisionID {
			return nil, errorf(CodePreconditionFailed, msgRevisionMismatch)
		}
		c := &f.Latest
		c.CodeSHA256, c.CodeSize, c.LastModified, c.RevisionID = st.sha, st.size, now, newRevisionID()
		if len(in.Architectures) == 1 {
			c.Architecture = in.Architectures[0]
		}
		return f, nil
	}
	if in.DryRun {
		defer s.release(st)
		err := s.meta.View(ctx, func(tx meta.Tx) error {
			f, err := change(tx)
			if err == nil {
				out = f.Latest.clone()
			}
			return err
		})
		if err != nil {
			return nil, err
		}
		return s.view(r.name, out, "", viewUpdated), nil
	}
	err = s.withPackage(ctx, &in.Code, st, func(tx meta.Tx, st *staged) error {
		published = nil
		old, err := getFunction(tx, r.name)
		if err != nil && !errors.Is(err, meta.ErrNoSuchDoc) {
			return err
		}
		f, err := change(tx)
		if err != nil {
			return err
		}
		u, err := getUsage(tx)
		if err != nil {
			return err
		}
		u.CodeSize += f.Latest.CodeSize - old.Latest.CodeSize
		if u.CodeSize > s.codeLimit {
			return errorf(CodeCodeStorageExceeded, "Code storage limit exceeded.")
		}
		if err := refCode(tx, st); err != nil {
			return err
		}
		if err := unrefCode(tx, old.Latest.CodeSHA256); err != nil {
			return err
		}
		if in.Publish {
			if published, err = s.publish(tx, f, u, nil, now); err != nil {
				return err
			}
		}
		if err := putUsage(tx, u); err != nil {
			return err
		}
		out = f.Latest.clone()
		return putDoc(tx, kindFunction, r.name, f)
	})
	if err != nil {
		return nil, err
	}
	if published != nil {
		return s.view(r.name, published, "", viewUpdated), nil
	}
	return s.view(r.name, out, "", viewUpdated), nil
}

// UpdateConfigInput is an UpdateFunctionConfiguration request.
type UpdateConfigInput struct {
	FunctionName string
	ConfigInput
	// RevisionID, if set, must be $LATEST's current RevisionId.
	RevisionID string
}

// UpdateFunctionConfiguration changes $LATEST's configuration. Errors:
// ValidationException, InvalidParameterValueException,
// ResourceNotFoundException, PreconditionFailedException.
func (s *Service) UpdateFunctionConfiguration(ctx context.Context, in *UpdateConfigInput) (*FunctionConfig, error) {
	r, err := s.parseName(in.FunctionName, "", kindName)
	if err != nil {
		return nil, err
	}
	var v violations
	in.check(&v)
	if err := v.err(CodeValidation); err != nil {
		return nil, err
	}
	if r.qualifier != "" && r.qualifier != LatestVersion {
		return nil, invalidParam(msgFunctionOnly)
	}
	probe := &VersionConfig{}
	if err := in.apply(probe); err != nil {
		return nil, err
	}
	now := s.timestamp()
	var out *VersionConfig
	err = s.meta.Update(ctx, func(tx meta.Tx) error {
		f, err := getFunction(tx, r.name)
		if errors.Is(err, meta.ErrNoSuchDoc) {
			return notFound(s.FunctionARN(r.name))
		}
		if err != nil {
			return err
		}
		if in.RevisionID != "" && in.RevisionID != f.Latest.RevisionID {
			return errorf(CodePreconditionFailed, msgRevisionMismatch)
		}
		oldRole := f.Latest.Role
		if err := in.apply(&f.Latest); err != nil {
			return err
		}
		f.Latest.LastModified, f.Latest.RevisionID = now, newRevisionID()
		if s.keys != nil && f.Latest.Role != oldRole {
			if _, _, err := s.keys.PutFunctionKey(tx, s.FunctionARN(r.name), f.Latest.Role); err != nil {
				return err
			}
		}
		out = f.Latest.clone()
		return putDoc(tx, kindFunction, r.name, f)
	})
	if err != nil {
		return nil, err
	}
	return s.view(r.name, out, "", viewUpdated), nil
}

// DeleteFunction deletes a function with all its versions, aliases,
// policies and settings, or, with a version number as qualifier, that
// version alone (deleting a version that does not exist succeeds, as on
// AWS). Errors: ResourceNotFoundException, InvalidParameterValueException
// ($LATEST or an alias as qualifier), ResourceConflictException (an alias
// points to the version).
func (s *Service) DeleteFunction(ctx context.Context, name, qualifier string) error {
	r, err := s.parseName(name, qualifier, kindNamespaced)
	if err != nil {
		return err
	}
	whole := r.qualifier == ""
	err = s.meta.Update(ctx, func(tx meta.Tx) error {
		f, err := getFunction(tx, r.name)
		if errors.Is(err, meta.ErrNoSuchDoc) {
			return notFound(s.qualifiedARN(r.name, r.qualifier))
		}
		if err != nil {
			return err
		}
		switch {
		case whole:
			return s.deleteFunction(tx, f)
		case r.qualifier == LatestVersion:
			return invalidParam("$LATEST version cannot be deleted without deleting the function.")
		case !isVersionNumber(r.qualifier):
			return invalidParam("Deletion of aliases is not currently supported.")
		}
		return s.deleteVersion(tx, f, r.qualifier)
	})
	if err == nil && whole && s.engine != nil {
		s.engine.Retire(r.name)
	}
	return err
}

func (s *Service) deleteFunction(tx meta.Tx, f *function) error {
	u, err := getUsage(tx)
	if err != nil {
		return err
	}
	var shas []string
	err = versions(tx, f.Name, func(c *VersionConfig) error {
		shas = append(shas, c.CodeSHA256)
		u.CodeSize -= c.CodeSize
		return nil
	})
	if err != nil {
		return err
	}
	shas = append(shas, f.Latest.CodeSHA256)
	u.CodeSize -= f.Latest.CodeSize
	for _, sha := range shas {
		if err := unrefCode(tx, sha); err != nil {
			return err
		}
	}
	for _, kind := range []string{kindVersion, kindAlias, kindPolicy, kindEventConfig} {
		if err := deleteRange(tx, kind, f.Name+"/"); err != nil {
			return err
		}
	}
	u.Functions--
	if f.Reserved != nil {
		u.Reserved -= *f.Reserved
	}
	if err := putUsage(tx, u); err != nil {
		return err
	}
	if s.keys != nil {
		if err := s.keys.DeleteFunctionKey(tx, s.FunctionARN(f.Name)); err != nil {
			return err
		}
	}
	return tx.DeleteDoc(kindFunction, f.Name)
}

func (s *Service) deleteVersion(tx meta.Tx, f *function, version string) error {
	c, err := getVersion(tx, f.Name, version)
	if errors.Is(err, meta.ErrNoSuchDoc) {
		return nil
	}
	if err != nil {
		return err
	}
	var users []string
	err = aliases(tx, f.Name, func(a *Alias) error {
		if _, weighted := a.Weights[version]; a.FunctionVersion == version || weighted {
			users = append(users, a.Name)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(users) > 0 {
		return errorf(CodeResourceConflict, "Unable to delete version because the following aliases reference it: [%s]", strings.Join(users, ", "))
	}
	u, err := getUsage(tx)
	if err != nil {
		return err
	}
	u.CodeSize -= c.CodeSize
	if err := putUsage(tx, u); err != nil {
		return err
	}
	if err := unrefCode(tx, c.CodeSHA256); err != nil {
		return err
	}
	n, _ := strconv.Atoi(version)
	for _, kd := range [][2]string{
		{kindVersion, versionKey(f.Name, n)},
		{kindPolicy, f.Name + "/" + version},
		{kindEventConfig, f.Name + "/" + version},
	} {
		if err := deleteDoc(tx, kd[0], kd[1]); err != nil {
			return err
		}
	}
	return nil
}
