package lambda

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/sluicehq/sluice/internal/meta"
)

// publish snapshots $LATEST as a new version, or returns the last version
// if $LATEST has not changed since it was published from it. It updates f
// and u; the caller stores them. description overrides $LATEST's.
func (s *Service) publish(tx meta.Tx, f *function, u *usage, description *string, now time.Time) (*VersionConfig, error) {
	h := configHash(&f.Latest)
	if f.LastVersion > 0 && h == f.PublishedHash {
		c, err := getVersion(tx, f.Name, strconv.Itoa(f.LastVersion))
		if err == nil {
			return c, nil
		}
		if !errors.Is(err, meta.ErrNoSuchDoc) {
			return nil, err
		}
	}
	if u.CodeSize+f.Latest.CodeSize > s.codeLimit {
		return nil, errorf(CodeCodeStorageExceeded, "Code storage limit exceeded.")
	}
	n := f.LastVersion + 1
	c := f.Latest.clone()
	c.Version = strconv.Itoa(n)
	c.LastModified = now
	c.RevisionID = newRevisionID()
	if description != nil {
		c.Description = *description
	}
	if err := refCodeExisting(tx, c.CodeSHA256); err != nil {
		return nil, err
	}
	if err := putDoc(tx, kindVersion, versionKey(f.Name, n), c); err != nil {
		return nil, err
	}
	u.CodeSize += c.CodeSize
	f.LastVersion, f.PublishedHash = n, h
	// Publishing changes $LATEST's RevisionId too, as on AWS.
	f.Latest.RevisionID = newRevisionID()
	return c, nil
}

// PublishInput is a PublishVersion request.
type PublishInput struct {
	FunctionName string
	// CodeSHA256, if set, must be $LATEST's CodeSha256 (base64).
	CodeSHA256 string
	// Description is the version's; nil uses $LATEST's.
	Description *string
	// RevisionID, if set, must be $LATEST's RevisionId.
	RevisionID string
}

// PublishVersion publishes $LATEST as a new version, or returns the latest
// version unchanged when neither code nor configuration changed since it
// was published. Errors: ResourceNotFoundException,
// InvalidParameterValueException, PreconditionFailedException,
// CodeStorageExceededException.
func (s *Service) PublishVersion(ctx context.Context, in *PublishInput) (*FunctionConfig, error) {
	r, err := s.parseName(in.FunctionName, "", kindName)
	if err != nil {
		return nil, err
	}
	var v violations
	if d := in.Description; d != nil && len([]rune(*d)) > 256 {
		v.add("description", d, "Member must have length less than or equal to 256")
	}
	if err := v.err(CodeValidation); err != nil {
		return nil, err
	}
	if r.qualifier != "" && r.qualifier != LatestVersion {
		return nil, invalidParam(msgFunctionOnly)
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
		if cur := f.Latest.CodeSHA256Base64(); in.CodeSHA256 != "" && in.CodeSHA256 != cur {
			return invalidParam("CodeSHA256 (%s) is different from current CodeSHA256 in $LATEST (%s). Please try again with the CodeSHA256 in $LATEST.", in.CodeSHA256, cur)
		}
		u, err := getUsage(tx)
		if err != nil {
			return err
		}
		last := f.LastVersion
		if out, err = s.publish(tx, f, u, in.Description, now); err != nil {
			return err
		}
		if f.LastVersion == last {
			return nil // nothing changed: no new version
		}
		if err := putUsage(tx, u); err != nil {
			return err
		}
		return putDoc(tx, kindFunction, r.name, f)
	})
	if err != nil {
		return nil, err
	}
	return s.view(r.name, out, out.Version, viewGet), nil
}

// ListVersions returns a page of a function's versions: $LATEST, then the
// published versions in order. Errors: ResourceNotFoundException,
// ValidationException.
func (s *Service) ListVersions(ctx context.Context, name string, in *ListInput) (*FunctionList, error) {
	r, err := s.parseName(name, "", kindNamespaced)
	if err != nil {
		return nil, err
	}
	var v violations
	size := in.pageSize(&v)
	if err := v.err(CodeValidation); err != nil {
		return nil, err
	}
	_, after, err := decodeMarker(in.Marker)
	if err != nil {
		return nil, err
	}
	out := &FunctionList{}
	more := false
	err = s.meta.View(ctx, func(tx meta.Tx) error {
		out.Functions, more = out.Functions[:0], false
		f, err := getFunction(tx, r.name)
		if errors.Is(err, meta.ErrNoSuchDoc) {
			return notFound(s.FunctionARN(r.name))
		}
		if err != nil {
			return err
		}
		if after < 0 {
			out.Functions = append(out.Functions, s.view(f.Name, &f.Latest, LatestVersion, viewList))
		}
		stop := errors.New("stop")
		err = versions(tx, f.Name, func(c *VersionConfig) error {
			if n, _ := strconv.Atoi(c.Version); n <= after {
				return nil
			}
			if len(out.Functions) == size {
				more = true
				return stop
			}
			out.Functions = append(out.Functions, s.view(f.Name, c, c.Version, viewList))
			return nil
		})
		if errors.Is(err, stop) {
			return nil
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if more {
		last := out.Functions[len(out.Functions)-1]
		n, _ := strconv.Atoi(last.Version)
		out.NextMarker = encodeMarker(r.name, n)
	}
	return out, nil
}
