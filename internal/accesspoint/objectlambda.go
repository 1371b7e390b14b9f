package accesspoint

import (
	"context"
	"encoding/json"

	"github.com/sluicehq/sluice/internal/meta"
)

// CreateObjectLambda creates an Object Lambda access point. Errors:
// InvalidURI and InvalidRequest (name, configuration),
// AccessPointAlreadyOwnedByYou, TooManyAccessPoints.
func (s *Service) CreateObjectLambda(ctx context.Context, name string, cfg ObjectLambdaConfig) (*ObjectLambda, error) {
	if err := checkObjectLambdaName(name); err != nil {
		return nil, err
	}
	if err := s.checkConfig(&cfg); err != nil {
		return nil, err
	}
	o := &ObjectLambda{
		Name: name, Created: s.now().UTC().Truncate(1e9), PublicAccessBlock: AllBlocked, Config: cfg,
	}
	alias := newAlias(name, olapAliasSuffix)
	o.Alias = alias
	err := s.meta.Update(ctx, func(tx meta.Tx) error {
		return insertWithAlias(tx, kindOLAP, kindOLAPAlias, maxOLAPs, name, alias, o)
	})
	if err != nil {
		return nil, err
	}
	s.log.Info("object lambda access point created", "name", name, "alias", alias,
		"supporting_access_point", cfg.SupportingAccessPoint, "arn_host", name+"-"+s.account+".<endpoint host>")
	return o, nil
}

// ObjectLambda returns the Object Lambda access point named name, which
// may also be its alias. Errors: NoSuchAccessPoint.
func (s *Service) ObjectLambda(ctx context.Context, name string) (*ObjectLambda, error) {
	var o *ObjectLambda
	err := s.meta.View(ctx, func(tx meta.Tx) error {
		var err error
		o, err = getObjectLambda(tx, name)
		return err
	})
	return o, err
}

func getObjectLambda(tx meta.Tx, name string) (*ObjectLambda, error) {
	return getByNameOrAlias[ObjectLambda](tx, kindOLAP, kindOLAPAlias, name, IsObjectLambdaAlias(name))
}

// Target is what a request through an Object Lambda access point acts
// on: the access point, its supporting access point and that one's
// bucket.
type Target struct {
	ObjectLambda *ObjectLambda
	Supporting   *AccessPoint
}

// ObjectLambdaTarget returns an Object Lambda access point (by name or
// alias) with its supporting access point, read in one snapshot. Errors:
// NoSuchAccessPoint (either is missing).
func (s *Service) ObjectLambdaTarget(ctx context.Context, name string) (*Target, error) {
	var t Target
	err := s.meta.View(ctx, func(tx meta.Tx) error {
		o, err := getObjectLambda(tx, name)
		if err != nil {
			return err
		}
		_, _, apName, _ := ParseARN(o.Config.SupportingAccessPoint)
		ap, err := getAccessPoint(tx, apName)
		if err != nil {
			return err
		}
		t = Target{ObjectLambda: o, Supporting: ap}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// DeleteObjectLambda deletes an Object Lambda access point. Errors:
// NoSuchAccessPoint.
func (s *Service) DeleteObjectLambda(ctx context.Context, name string) error {
	err := s.meta.Update(ctx, func(tx meta.Tx) error {
		return deleteWithAlias(tx, kindOLAP, kindOLAPAlias, name, func(o *ObjectLambda) string { return o.Alias })
	})
	if err == nil {
		s.log.Info("object lambda access point deleted", "name", name)
	}
	return err
}

// ListObjectLambda returns up to max Object Lambda access points in name
// order after the page token, and the next page's token ("" at the end).
// Errors: InvalidRequest (token).
func (s *Service) ListObjectLambda(ctx context.Context, token string, max int) ([]*ObjectLambda, string, error) {
	after, err := decodeToken(token)
	if err != nil {
		return nil, "", err
	}
	if max <= 0 || max > defaultListMax {
		max = defaultListMax
	}
	var (
		out  []*ObjectLambda
		next string
	)
	err = s.meta.View(ctx, func(tx meta.Tx) error {
		out, next = nil, ""
		for d, err := range tx.Docs(kindOLAP, meta.ListOptions{After: after}) {
			if err != nil {
				return err
			}
			if len(out) == max {
				next = encodeToken(out[len(out)-1].Name)
				break
			}
			o := new(ObjectLambda)
			if err := json.Unmarshal(d.Value, o); err != nil {
				return err
			}
			out = append(out, o)
		}
		return nil
	})
	return out, next, err
}

// PutObjectLambdaConfig replaces an Object Lambda access point's
// configuration. Errors: NoSuchAccessPoint, InvalidRequest.
func (s *Service) PutObjectLambdaConfig(ctx context.Context, name string, cfg ObjectLambdaConfig) error {
	if err := s.checkConfig(&cfg); err != nil {
		return err
	}
	return s.meta.Update(ctx, func(tx meta.Tx) error {
		o, err := getDoc[ObjectLambda](tx, kindOLAP, name)
		if err != nil {
			return notFound(err, ErrNoSuchAccessPoint)
		}
		o.Config = cfg
		return putDoc(tx, kindOLAP, name, o)
	})
}
