package s3api

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"net/http"
	"strconv"
	"sync"

	"github.com/sluicehq/sluice/internal/iam/policy"
	"github.com/sluicehq/sluice/internal/meta"
	"github.com/sluicehq/sluice/internal/objstore"
)

// Bucket policies, Block Public Access and Object Ownership are bucket
// configuration documents kept in meta.Bucket.Configs under these names.
const (
	configPolicy            = "policy"            // the policy document, verbatim
	configOwnership         = "ownership"         // BucketOwnerEnforced, BucketOwnerPreferred or ObjectWriter
	configPublicAccessBlock = "publicAccessBlock" // publicAccessBlock as JSON
)

// Object Ownership settings. A bucket without one behaves as ObjectWriter
// (S3 before ownership controls existed).
const (
	ownershipEnforced  = "BucketOwnerEnforced"
	ownershipPreferred = "BucketOwnerPreferred"
	ownershipWriter    = "ObjectWriter"
)

func setConfig(b *meta.Bucket, name string, value []byte) {
	if value == nil {
		delete(b.Configs, name)
		return
	}
	if b.Configs == nil {
		b.Configs = make(map[string][]byte)
	}
	b.Configs[name] = value
}

// ownershipOf returns a bucket's Object Ownership setting, "" for none.
func ownershipOf(b *meta.Bucket) string { return string(b.Configs[configOwnership]) }

// publicAccessBlock is a bucket's Block Public Access configuration.
type publicAccessBlock struct {
	BlockPublicAcls       bool `json:"bpa"`
	IgnorePublicAcls      bool `json:"ipa"`
	BlockPublicPolicy     bool `json:"bpp"`
	RestrictPublicBuckets bool `json:"rpb"`
}

func encodePublicAccessBlock(p publicAccessBlock) ([]byte, error) { return json.Marshal(p) }

// publicAccessBlockOf returns a bucket's Block Public Access settings
// (all off when it has none).
func publicAccessBlockOf(b *meta.Bucket) publicAccessBlock {
	var p publicAccessBlock
	if raw := b.Configs[configPublicAccessBlock]; raw != nil {
		_ = json.Unmarshal(raw, &p)
	}
	return p
}

// policyCache keeps the parsed policy of each bucket, keyed by name and
// checked against the stored document.
type policyCache struct {
	m sync.Map // bucket name → *cachedPolicy
}

type cachedPolicy struct {
	raw string
	p   *policy.Policy
}

// bucketPolicy returns a bucket's parsed policy, nil if it has none.
func (h *Handler) bucketPolicy(b *meta.Bucket) (*policy.Policy, error) {
	raw := b.Configs[configPolicy]
	if raw == nil {
		return nil, nil
	}
	if c, ok := h.policies.m.Load(b.Name); ok && c.(*cachedPolicy).raw == string(raw) {
		return c.(*cachedPolicy).p, nil
	}
	// Validated when it was put; parse it as it is.
	p, err := policy.Parse(raw, policy.ParseOptions{})
	if err != nil {
		return nil, err
	}
	h.policies.m.Store(b.Name, &cachedPolicy{raw: string(raw), p: p})
	return p, nil
}

func errNoSuchBucketPolicy() *apiError {
	return errorf("NoSuchBucketPolicy", "The bucket policy does not exist")
}

func (h *Handler) getBucketPolicy(rq *request) error {
	b, err := h.requestBucket(rq)
	if err != nil {
		return err
	}
	raw := b.Configs[configPolicy]
	if raw == nil {
		return errNoSuchBucketPolicy()
	}
	hd := rq.w.Header()
	hd.Set("Content-Type", "application/json")
	hd.Set("Content-Length", strconv.Itoa(len(raw)))
	rq.w.WriteHeader(http.StatusOK)
	rq.wroteHeader = true
	rq.w.Write(raw)
	return nil
}

func (h *Handler) putBucketPolicy(rq *request) error {
	raw, err := readSmallBody(rq)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return errorf("MissingRequestBodyError", "Request Body is empty")
	}
	var lookupErr error
	known := func(kind, value string) bool {
		ok, err := h.iam.KnownPrincipal(rq.ctx(), kind, value)
		if err != nil {
			lookupErr = err
		}
		return ok
	}
	p, err := policy.Parse(raw, policy.BucketPolicyOptions(rq.bucket, known))
	if lookupErr != nil {
		return lookupErr
	}
	var pe *policy.Error
	if errors.As(err, &pe) {
		return errorf("MalformedPolicy", pe.Message)
	}
	if err != nil {
		return err
	}
	public := p.IsPublic()
	err = h.store.UpdateBucket(rq.ctx(), rq.bucket, func(b *meta.Bucket) error {
		if public && publicAccessBlockOf(b).BlockPublicPolicy {
			return errorf("AccessDenied", "Access Denied")
		}
		setConfig(b, configPolicy, raw)
		return nil
	})
	if err != nil {
		return err
	}
	return rq.noContent()
}

func (h *Handler) deleteBucketPolicy(rq *request) error {
	err := h.store.UpdateBucket(rq.ctx(), rq.bucket, func(b *meta.Bucket) error {
		setConfig(b, configPolicy, nil)
		return nil
	})
	if err != nil {
		return err
	}
	h.policies.m.Delete(rq.bucket)
	return rq.noContent()
}

type policyStatus struct {
	XMLName  xml.Name `xml:"PolicyStatus"`
	NS       string   `xml:"xmlns,attr"`
	IsPublic bool     `xml:"IsPublic"`
}

// getBucketPolicyStatus tells whether the bucket policy is public; as on
// S3, ACLs do not count and a bucket without a policy has no status.
func (h *Handler) getBucketPolicyStatus(rq *request) error {
	b, err := h.requestBucket(rq)
	if err != nil {
		return err
	}
	p, err := h.bucketPolicy(b)
	if err != nil {
		return err
	}
	if p == nil {
		return errNoSuchBucketPolicy()
	}
	writeXML(rq, http.StatusOK, &policyStatus{NS: s3NS, IsPublic: p.IsPublic()})
	return nil
}

type publicAccessBlockConfiguration struct {
	XMLName               xml.Name `xml:"PublicAccessBlockConfiguration"`
	NS                    string   `xml:"xmlns,attr,omitempty"`
	BlockPublicAcls       bool     `xml:"BlockPublicAcls"`
	IgnorePublicAcls      bool     `xml:"IgnorePublicAcls"`
	BlockPublicPolicy     bool     `xml:"BlockPublicPolicy"`
	RestrictPublicBuckets bool     `xml:"RestrictPublicBuckets"`
}

func (h *Handler) getPublicAccessBlock(rq *request) error {
	b, err := h.requestBucket(rq)
	if err != nil {
		return err
	}
	if b.Configs[configPublicAccessBlock] == nil {
		return errorf("NoSuchPublicAccessBlockConfiguration", "The public access block configuration was not found")
	}
	p := publicAccessBlockOf(b)
	writeXML(rq, http.StatusOK, &publicAccessBlockConfiguration{NS: s3NS,
		BlockPublicAcls: p.BlockPublicAcls, IgnorePublicAcls: p.IgnorePublicAcls,
		BlockPublicPolicy: p.BlockPublicPolicy, RestrictPublicBuckets: p.RestrictPublicBuckets})
	return nil
}

func (h *Handler) putPublicAccessBlock(rq *request) error {
	var doc publicAccessBlockConfiguration
	if err := readXML(rq, &doc, false); err != nil {
		return err
	}
	raw, err := encodePublicAccessBlock(publicAccessBlock{doc.BlockPublicAcls, doc.IgnorePublicAcls,
		doc.BlockPublicPolicy, doc.RestrictPublicBuckets})
	if err != nil {
		return err
	}
	err = h.store.UpdateBucket(rq.ctx(), rq.bucket, func(b *meta.Bucket) error {
		setConfig(b, configPublicAccessBlock, raw)
		return nil
	})
	if err != nil {
		return err
	}
	return rq.ok()
}

func (h *Handler) deletePublicAccessBlock(rq *request) error {
	err := h.store.UpdateBucket(rq.ctx(), rq.bucket, func(b *meta.Bucket) error {
		setConfig(b, configPublicAccessBlock, nil)
		return nil
	})
	if err != nil {
		return err
	}
	return rq.noContent()
}

type ownershipControls struct {
	XMLName xml.Name `xml:"OwnershipControls"`
	NS      string   `xml:"xmlns,attr,omitempty"`
	Rules   []struct {
		ObjectOwnership string `xml:"ObjectOwnership"`
	} `xml:"Rule"`
}

func (h *Handler) getBucketOwnershipControls(rq *request) error {
	b, err := h.requestBucket(rq)
	if err != nil {
		return err
	}
	o := ownershipOf(b)
	if o == "" {
		return errorf("OwnershipControlsNotFoundError", "The bucket ownership controls were not found")
	}
	doc := ownershipControls{NS: s3NS}
	doc.Rules = append(doc.Rules, struct {
		ObjectOwnership string `xml:"ObjectOwnership"`
	}{o})
	writeXML(rq, http.StatusOK, &doc)
	return nil
}

func (h *Handler) putBucketOwnershipControls(rq *request) error {
	var doc ownershipControls
	if err := readXML(rq, &doc, false); err != nil {
		return err
	}
	if len(doc.Rules) != 1 {
		return errorf("MalformedXML", objstore.ErrMalformedXML.Message)
	}
	o := doc.Rules[0].ObjectOwnership
	switch o {
	case ownershipEnforced, ownershipPreferred, ownershipWriter:
	default:
		return errorf("MalformedXML", objstore.ErrMalformedXML.Message)
	}
	err := h.store.UpdateBucket(rq.ctx(), rq.bucket, func(b *meta.Bucket) error {
		if o == ownershipEnforced && b.ACL != nil {
			for _, g := range b.ACL.Grants {
				if g.ID != b.Owner {
					return errorf("InvalidBucketAclWithObjectOwnership", "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting")
				}
			}
		}
		setConfig(b, configOwnership, []byte(o))
		return nil
	})
	if err != nil {
		return err
	}
	return rq.ok()
}

func (h *Handler) deleteBucketOwnershipControls(rq *request) error {
	err := h.store.UpdateBucket(rq.ctx(), rq.bucket, func(b *meta.Bucket) error {
		setConfig(b, configOwnership, nil)
		return nil
	})
	if err != nil {
		return err
	}
	return rq.noContent()
}
