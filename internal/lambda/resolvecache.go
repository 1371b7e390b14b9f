package lambda

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"

	"github.com/sluicehq/sluice/internal/meta"
)

// Every synchronous invoke resolves its function reference to a
// Deployment; reading and decoding the function's documents each time was
// the largest cost of an invoke in the Lambda API after HTTP itself. The
// Service keeps what it resolved in a deploymentCache, valid until the
// Service's next metadata write: every write goes through a store
// wrapper (genStore) that advances a generation counter when Update
// returns, and an entry is used only while the generation it was loaded
// at is the current one. Everything a Deployment is made of — function,
// version and alias documents, the function's key — is written only by
// the Service, in its own transactions, so no change can go unseen; a
// resolution that overlaps a write is never reused after the write
// returns. An alias entry holds the Deployments of every version the
// alias routes to, and the weighted draw is made per invoke, as before.

// maxCachedRefs bounds the cache; it is emptied when full.
const maxCachedRefs = 4096

// deploymentCache maps function references (name and qualifier as
// given) to their resolutions.
type deploymentCache struct {
	gen atomic.Uint64

	mu sync.Mutex
	m  map[ref]*resolution
}

// resolution is what one reference resolved to at generation gen.
type resolution struct {
	gen uint64
	// d is the Deployment of a version reference ($LATEST, a number).
	d *Deployment
	// alias is the routing of an alias reference, and deployments holds
	// the Deployment of each version it routes to.
	alias       *Alias
	deployments map[string]*Deployment
}

// get returns r's resolution if it is still current.
func (c *deploymentCache) get(r ref) *resolution {
	gen := c.gen.Load()
	c.mu.Lock()
	res := c.m[r]
	c.mu.Unlock()
	if res == nil || res.gen != gen {
		return nil
	}
	return res
}

// put records res, loaded at generation res.gen.
func (c *deploymentCache) put(r ref, res *resolution) {
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxCachedRefs {
		c.m = make(map[ref]*resolution)
	}
	c.m[r] = res
	c.mu.Unlock()
}

// pick returns the Deployment an invoke runs: a copy, so that callers may
// not change the cached one (its Environment map is shared and must only
// be read).
func (res *resolution) pick() *Deployment {
	d := res.d
	if a := res.alias; a != nil {
		if d = res.deployments[a.route()]; d == nil {
			d = res.deployments[a.FunctionVersion]
		}
	}
	x := *d
	return &x
}

// genStore is the Service's metadata store: it advances the deployment
// cache's generation after every Update, committed or not.
type genStore struct {
	meta.Store
	gen *atomic.Uint64
}

func (s genStore) Update(ctx context.Context, fn func(meta.Tx) error) error {
	defer s.gen.Add(1)
	return s.Store.Update(ctx, fn)
}

// route draws the version an invocation of the alias runs: each
// additional version with its weight's probability, else the alias's
// version.
func (a *Alias) route() string {
	version := a.FunctionVersion
	for v, w := range a.Weights {
		if rand.Float64() < w {
			version = v
		}
	}
	return version
}
