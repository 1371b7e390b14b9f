package objstore

import (
	"context"
	"strings"

	"github.com/sluicehq/sluice/internal/meta"
)

// MaxListKeys is the largest page S3 returns.
const MaxListKeys = 1000

// ListInput describes a ListObjects (v1 or v2) page.
type ListInput struct {
	Bucket    string
	Prefix    string
	Delimiter string
	// After continues the listing after this key or common prefix (the v1
	// marker, the v2 start-after or decoded continuation token).
	After   string
	MaxKeys int
}

// ListResult is one page of a listing. Objects and CommonPrefixes are each
// in key order; together they hold at most MaxKeys entries.
type ListResult struct {
	Objects        []*meta.Version
	CommonPrefixes []string
	IsTruncated    bool
	// Next is the last key or common prefix returned, from which the next
	// page continues; set when IsTruncated.
	Next string
}

// successor returns the smallest string greater than every string that
// starts with p, and false if there is none (p is all 0xFF bytes).
func successor(p string) (string, bool) {
	b := []byte(p)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xFF {
			b[i]++
			return string(b[:i+1]), true
		}
	}
	return "", false
}

// commonPrefix returns the common prefix key rolls up into, if any.
func commonPrefix(key, prefix, delimiter string) (string, bool) {
	if delimiter == "" {
		return "", false
	}
	i := strings.Index(key[len(prefix):], delimiter)
	if i < 0 {
		return "", false
	}
	return key[:len(prefix)+i+len(delimiter)], true
}

// ListObjects returns a page of the latest versions of the keys of a
// bucket, skipping keys whose latest version is a delete marker and rolling
// keys up into common prefixes at the delimiter. One snapshot serves the
// whole page; a rolled-up prefix costs one seek, not a scan of its keys.
func (s *Store) ListObjects(ctx context.Context, in *ListInput) (*ListResult, error) {
	var res ListResult
	err := s.view(ctx, func(tx meta.Tx) error {
		res = ListResult{}
		if _, err := tx.Bucket(in.Bucket); err != nil {
			return err
		}
		if in.MaxKeys <= 0 {
			return nil
		}
		count := 0
		opts := meta.ListOptions{Prefix: in.Prefix, After: in.After}
		for {
			reseek := false
			for v, err := range tx.Objects(in.Bucket, opts) {
				if err != nil {
					return err
				}
				if v.DeleteMarker {
					continue
				}
				if cp, ok := commonPrefix(v.Key, in.Prefix, in.Delimiter); ok {
					if cp > in.After {
						if count == in.MaxKeys {
							res.IsTruncated = true
							return nil
						}
						res.CommonPrefixes = append(res.CommonPrefixes, cp)
						res.Next = cp
						count++
					}
					next, ok := successor(cp)
					if !ok {
						return nil
					}
					opts = meta.ListOptions{Prefix: in.Prefix, After: next, Inclusive: true}
					reseek = true
					break
				}
				if count == in.MaxKeys {
					res.IsTruncated = true
					return nil
				}
				res.Objects = append(res.Objects, v)
				res.Next = v.Key
				count++
			}
			if !reseek {
				return nil
			}
		}
	})
	if err != nil {
		return nil, err
	}
	if !res.IsTruncated {
		res.Next = ""
	}
	return &res, nil
}

// VersionListInput describes a ListObjectVersions page.
type VersionListInput struct {
	Bucket          string
	Prefix          string
	Delimiter       string
	KeyMarker       string
	VersionIDMarker string
	MaxKeys         int
}

// VersionEntry is one version in a listing.
type VersionEntry struct {
	*meta.Version
	IsLatest bool
}

// VersionListResult is one page of ListObjectVersions.
type VersionListResult struct {
	Versions            []VersionEntry
	CommonPrefixes      []string
	IsTruncated         bool
	NextKeyMarker       string
	NextVersionIDMarker string
}

// ListVersions returns a page of every version and delete marker, ordered by
// key and then newest first.
func (s *Store) ListVersions(ctx context.Context, in *VersionListInput) (*VersionListResult, error) {
	if in.VersionIDMarker != "" {
		if in.KeyMarker == "" {
			return nil, invalidArgument("version-id-marker", in.VersionIDMarker,
				"A version-id marker cannot be specified without a key marker.")
		}
		if err := validVersionID(in.VersionIDMarker); err != nil {
			return nil, err
		}
	}
	var res VersionListResult
	err := s.view(ctx, func(tx meta.Tx) error {
		res = VersionListResult{}
		if _, err := tx.Bucket(in.Bucket); err != nil {
			return err
		}
		if in.MaxKeys <= 0 {
			return nil
		}
		count := 0
		var (
			latestKey string
			latestSeq uint64
			haveKey   bool
		)
		opts := meta.VersionListOptions{Prefix: in.Prefix, KeyMarker: in.KeyMarker, VersionIDMarker: in.VersionIDMarker}
		for {
			reseek := false
			for v, err := range tx.Versions(in.Bucket, opts) {
				if err != nil {
					return err
				}
				if cp, ok := commonPrefix(v.Key, in.Prefix, in.Delimiter); ok {
					if cp > in.KeyMarker {
						if count == in.MaxKeys {
							res.IsTruncated = true
							return nil
						}
						res.CommonPrefixes = append(res.CommonPrefixes, cp)
						res.NextKeyMarker, res.NextVersionIDMarker = cp, ""
						count++
					}
					next, ok := successor(cp)
					if !ok {
						return nil
					}
					opts = meta.VersionListOptions{Prefix: in.Prefix, From: next}
					reseek = true
					break
				}
				if count == in.MaxKeys {
					res.IsTruncated = true
					return nil
				}
				if !haveKey || latestKey != v.Key {
					latest, err := tx.Latest(in.Bucket, v.Key)
					if err != nil {
						return err
					}
					latestKey, latestSeq, haveKey = v.Key, latest.Seq, true
				}
				res.Versions = append(res.Versions, VersionEntry{Version: v, IsLatest: v.Seq == latestSeq})
				res.NextKeyMarker, res.NextVersionIDMarker = v.Key, v.VersionID
				count++
			}
			if !reseek {
				return nil
			}
		}
	})
	if err != nil {
		return nil, err
	}
	if !res.IsTruncated {
		res.NextKeyMarker, res.NextVersionIDMarker = "", ""
	}
	return &res, nil
}
