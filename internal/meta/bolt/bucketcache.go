package bolt

import (
	"bytes"
	"maps"
	"sync"

	"github.com/sluicehq/sluice/internal/meta"
)

// maxCachedBuckets bounds the decoded-bucket cache; past it the cache is
// emptied and refills with the buckets in use.
const maxCachedBuckets = 4096

// bucketCache remembers, per bucket name, the last bucket document decoded
// and the bytes it was decoded from. Every object request reads its bucket
// (often twice: a view, then again inside the write), and decoding the
// document — configurations are base64 in JSON — was a tenth of a PUT's CPU.
// An entry is used only when the stored bytes are equal to its own, so it is
// correct for any transaction, committed or rolled back, old or new: the
// cache never decides what a transaction sees, only saves decoding bytes it
// has already decoded once.
type bucketCache struct {
	mu sync.Mutex
	m  map[string]*cachedBucket
}

type cachedBucket struct {
	raw []byte
	b   *meta.Bucket
}

// get returns a private copy of the bucket decoded from raw, or nil when the
// cache does not hold raw's decoding.
func (c *bucketCache) get(name string, raw []byte) *meta.Bucket {
	c.mu.Lock()
	e := c.m[name]
	c.mu.Unlock()
	if e == nil || !bytes.Equal(e.raw, raw) {
		return nil
	}
	return cloneBucket(e.b)
}

// put remembers b as the decoding of raw. raw may be memory owned by the
// transaction, so it is copied; b is copied so that the caller may change
// its own.
func (c *bucketCache) put(name string, raw []byte, b *meta.Bucket) {
	e := &cachedBucket{raw: bytes.Clone(raw), b: cloneBucket(b)}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxCachedBuckets {
		c.m = make(map[string]*cachedBucket)
	}
	c.m[name] = e
	c.mu.Unlock()
}

// cloneBucket copies b deeply enough that nothing reachable from the copy
// is shared with b.
func cloneBucket(b *meta.Bucket) *meta.Bucket {
	c := *b
	if b.Tags != nil {
		c.Tags = append(make([]meta.Tag, 0, len(b.Tags)), b.Tags...)
	}
	if b.Configs != nil {
		c.Configs = maps.Clone(b.Configs)
		for k, v := range c.Configs {
			if v != nil {
				c.Configs[k] = bytes.Clone(v)
			}
		}
	}
	if b.ACL != nil {
		acl := *b.ACL
		if b.ACL.Grants != nil {
			acl.Grants = append(make([]meta.Grant, 0, len(b.ACL.Grants)), b.ACL.Grants...)
		}
		c.ACL = &acl
	}
	return &c
}
