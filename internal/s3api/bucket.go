package s3api

import (
	"encoding/xml"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/internal/iam"
	"github.com/sluicehq/sluice/internal/meta"
	"github.com/sluicehq/sluice/internal/objstore"
)

type listAllMyBucketsResult struct {
	XMLName xml.Name     `xml:"ListAllMyBucketsResult"`
	NS      string       `xml:"xmlns,attr"`
	Owner   owner        `xml:"Owner"`
	Buckets []bucketElem `xml:"Buckets>Bucket"`
	Prefix  string       `xml:"Prefix,omitempty"`
	Token   string       `xml:"ContinuationToken,omitempty"`
}

type bucketElem struct {
	Name         string `xml:"Name"`
	CreationDate string `xml:"CreationDate"`
	BucketRegion string `xml:"BucketRegion,omitempty"`
}

// maxListBuckets is the largest page of ListBuckets.
const maxListBuckets = 10000

func (h *Handler) listBuckets(rq *request) error {
	p := rq.principal
	prefix := rq.query.Get("prefix")
	limit := maxListBuckets
	if v := rq.query.Get("max-buckets"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxListBuckets {
			return errorf("InvalidArgument", "Argument max-buckets must be an integer between 1 and 10000")
		}
		limit = n
	}
	after := ""
	if tok := rq.query.Get("continuation-token"); tok != "" {
		var err error
		if after, err = decodeToken(tok); err != nil {
			return errorf("InvalidArgument", "The continuation token provided is incorrect")
		}
	}
	region := rq.query.Get("bucket-region")
	buckets, err := h.store.ListBuckets(rq.ctx(), func(b *meta.Bucket) bool {
		return iam.CanAccessBucket(p, b.Owner) && strings.HasPrefix(b.Name, prefix) && b.Name > after &&
			(region == "" || b.Region == region)
	})
	if err != nil {
		return err
	}
	out := listAllMyBucketsResult{NS: s3NS, Owner: owner{ID: p.ID, DisplayName: p.DisplayName}, Prefix: prefix}
	if len(buckets) > limit {
		buckets = buckets[:limit]
		out.Token = encodeToken(buckets[limit-1].Name)
	}
	for _, b := range buckets {
		out.Buckets = append(out.Buckets, bucketElem{Name: b.Name, CreationDate: isoTime(b.Created), BucketRegion: b.Region})
	}
	writeXML(rq, http.StatusOK, &out)
	return nil
}

type createBucketConfiguration struct {
	LocationConstraint string    `xml:"LocationConstraint"`
	Tags               []tagElem `xml:"Tags>Tag"`
	// Location and Bucket describe a directory bucket (S3 Express One
	// Zone) or a Local Zone bucket, which sluice does not have.
	Location *struct{} `xml:"Location"`
	Bucket   *struct{} `xml:"Bucket"`
}

func (h *Handler) createBucket(rq *request) error {
	var cfg createBucketConfiguration
	if err := readXML(rq, &cfg, true); err != nil {
		return err
	}
	if ns := rq.r.Header.Get("x-amz-bucket-namespace"); ns != "" && ns != "global" {
		return notImplemented("Buckets in an account regional namespace (x-amz-bucket-namespace: " + ns + ")")
	}
	if cfg.Location != nil || cfg.Bucket != nil {
		return errorf("NotImplemented", "Directory buckets and Local Zone buckets (CreateBucketConfiguration Location and Bucket) are not supported")
	}
	opts, err := h.newBucketOptions(rq)
	if err != nil {
		return err
	}
	if len(cfg.Tags) > 0 {
		opts = append(opts, objstore.WithTags(toTags(cfg.Tags)))
	}
	if strings.EqualFold(rq.r.Header.Get("x-amz-bucket-object-lock-enabled"), "true") {
		opts = append(opts, objstore.WithObjectLock())
	}
	// Re-creating a bucket you own is BucketAlreadyOwnedByYou in every
	// region, including us-east-1, where S3 keeps a legacy 200
	// (docs/design.md, "Decisions").
	if err := h.store.CreateBucket(rq.ctx(), rq.bucket, rq.principal.ID, cfg.LocationConstraint, opts...); err != nil {
		return err
	}
	rq.w.Header().Set("Location", "/"+rq.bucket)
	return rq.ok()
}

func (h *Handler) headBucket(rq *request) error {
	b, err := h.store.Bucket(rq.ctx(), rq.bucket)
	if err != nil {
		return err
	}
	rq.w.Header().Set("x-amz-bucket-region", b.Region)
	return rq.ok()
}

func (h *Handler) deleteBucket(rq *request) error {
	if err := h.store.DeleteBucket(rq.ctx(), rq.bucket); err != nil {
		return err
	}
	return rq.noContent()
}

type locationConstraint struct {
	XMLName xml.Name `xml:"LocationConstraint"`
	NS      string   `xml:"xmlns,attr"`
	Value   string   `xml:",chardata"`
}

func (h *Handler) getBucketLocation(rq *request) error {
	b, err := h.store.Bucket(rq.ctx(), rq.bucket)
	if err != nil {
		return err
	}
	loc := b.Region
	if loc == "us-east-1" {
		// S3 reports the original region as an empty constraint.
		loc = ""
	}
	writeXML(rq, http.StatusOK, &locationConstraint{NS: s3NS, Value: loc})
	return nil
}

type versioningConfiguration struct {
	XMLName   xml.Name `xml:"VersioningConfiguration"`
	NS        string   `xml:"xmlns,attr,omitempty"`
	Status    string   `xml:"Status,omitempty"`
	MFADelete string   `xml:"MfaDelete,omitempty"`
}

func (h *Handler) getBucketVersioning(rq *request) error {
	b, err := h.store.Bucket(rq.ctx(), rq.bucket)
	if err != nil {
		return err
	}
	writeXML(rq, http.StatusOK, &versioningConfiguration{NS: s3NS, Status: string(b.Versioning)})
	return nil
}

func (h *Handler) putBucketVersioning(rq *request) error {
	var cfg versioningConfiguration
	if err := readXML(rq, &cfg, false); err != nil {
		return err
	}
	if cfg.MFADelete == "Enabled" {
		return notImplemented("MFA delete")
	}
	if cfg.MFADelete != "" && cfg.MFADelete != "Disabled" {
		return errorf("MalformedXML", objstore.ErrMalformedXML.Message)
	}
	switch cfg.Status {
	case "Enabled", "Suspended":
	default:
		return errorf("MalformedXML", objstore.ErrMalformedXML.Message)
	}
	if err := h.store.SetVersioning(rq.ctx(), rq.bucket, meta.VersioningState(cfg.Status)); err != nil {
		return err
	}
	return rq.ok()
}

// tagging is the Tagging document of buckets and objects.
type tagging struct {
	XMLName xml.Name  `xml:"Tagging"`
	NS      string    `xml:"xmlns,attr,omitempty"`
	TagSet  []tagElem `xml:"TagSet>Tag"`
}

type tagElem struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

func toTags(in []tagElem) []meta.Tag {
	out := make([]meta.Tag, 0, len(in))
	for _, t := range in {
		out = append(out, meta.Tag{Key: t.Key, Value: t.Value})
	}
	return out
}

// fromTags returns the Tagging document of a tag set, ordered by key as
// S3 returns it.
func fromTags(in []meta.Tag) tagging {
	out := tagging{NS: s3NS, TagSet: []tagElem{}}
	for _, t := range in {
		out.TagSet = append(out.TagSet, tagElem{Key: t.Key, Value: t.Value})
	}
	slices.SortFunc(out.TagSet, func(a, b tagElem) int { return strings.Compare(a.Key, b.Key) })
	return out
}

func (h *Handler) getBucketTagging(rq *request) error {
	b, err := h.store.Bucket(rq.ctx(), rq.bucket)
	if err != nil {
		return err
	}
	if b.Tags == nil {
		return errorf("NoSuchTagSet", objstore.ErrNoSuchTagSet.Message)
	}
	out := fromTags(b.Tags)
	writeXML(rq, http.StatusOK, &out)
	return nil
}

func (h *Handler) putBucketTagging(rq *request) error {
	var doc tagging
	if err := readXML(rq, &doc, false); err != nil {
		return err
	}
	if err := h.store.SetBucketTags(rq.ctx(), rq.bucket, toTags(doc.TagSet)); err != nil {
		return err
	}
	return rq.noContent()
}

func (h *Handler) deleteBucketTagging(rq *request) error {
	if err := h.store.SetBucketTags(rq.ctx(), rq.bucket, nil); err != nil {
		return err
	}
	return rq.noContent()
}
