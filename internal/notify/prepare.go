package notify

import (
	"bytes"
	"strings"
	"time"

	"github.com/sluicehq/sluice/internal/lambda"
	"github.com/sluicehq/sluice/internal/lambda/async"
	"github.com/sluicehq/sluice/internal/meta"
	"github.com/sluicehq/sluice/internal/objstore"
)

// Emit runs inside the transaction of every object change, and those
// transactions run one after the other on the metadata store's single
// committer: what Emit spends there, every PUT waits for. Nearly all of an
// event is known before its transaction — the bucket's configuration as
// the request read it, the event type, the key, the request behind it —
// so Prepare matches the configuration and encodes the queued invocations
// ahead of it, concurrently with other requests,
// leaving holes for what only the transaction knows: the event time and
// the version (taken in the transaction), the size and eTag (a completed
// multipart upload's are computed there), the sequence numbers and the
// time the event is queued. Inside the transaction Emit checks that the
// preparation still fits (the same configuration bytes, versioning state,
// event and request) and fills the holes, producing byte for byte what
// the unprepared path writes (prepare_test.go compares them); otherwise it
// takes that path.

// queuePreparer is a Queue that can encode an invocation ahead of the
// transaction that adds it (*async.Queue).
type queuePreparer interface {
	PrepareSource(ev *lambda.AsyncEvent) (*async.PreparedEvent, error)
	AddPreparedTx(tx meta.Tx, p *async.PreparedEvent, accepted time.Time, ref string, source []byte) error
}

// prepared is an event encoded ahead of its transaction.
type prepared struct {
	q         Queue // the queue it was prepared for, as queue
	queue     queuePreparer
	raw       []byte // the configuration document it was prepared from
	bucket    string
	versioned bool
	name, key string
	origin    objstore.Origin
	class     eventClass
	// srcStart opens each delivery's record source, up to the event time.
	srcStart   []byte
	deliveries []preparedDelivery
}

// preparedDelivery is one delivery of a prepared event.
type preparedDelivery struct {
	event *async.PreparedEvent
	// srcMid is the record source from the event name through the key.
	srcMid []byte
}

// eventClass says which of the members that follow the key a record of an
// event type has.
type eventClass uint8

const (
	classOther   eventClass = iota
	classCreated            // size, eTag, sequencer
	classRemoved            // sequencer
	classTagged             // eTag
)

func classOf(name string) eventClass {
	switch {
	case strings.HasPrefix(name, "ObjectCreated:"):
		return classCreated
	case strings.HasPrefix(name, "ObjectRemoved:"):
		return classRemoved
	case strings.HasPrefix(name, "ObjectTagging:"), strings.HasPrefix(name, "ObjectAcl:"):
		return classTagged
	}
	return classOther
}

// sourceEnd sets the members of src that follow the key, for an event of
// class c.
func sourceEnd(src *recordSource, c eventClass, size *int64, etag, versionID, sequencer string) {
	src.VersionID = versionID
	switch c {
	case classCreated:
		src.Size, src.ETag, src.Sequencer = size, etag, sequencer
	case classRemoved:
		src.Sequencer = sequencer
	case classTagged:
		src.ETag = etag
	}
}

var _ objstore.Events = (*Service)(nil)

// Prepare implements objstore.Events: it matches the configuration of b
// and encodes, for each configuration that selects the event, all of its
// queued invocation that the transaction does not decide.
// It returns nil when b has no configuration or the queue cannot take
// prepared invocations; a prepared event without deliveries when no
// configuration selects the event.
func (s *Service) Prepare(b *meta.Bucket, name, key string, o objstore.Origin) any {
	raw := b.Configs[ConfigName]
	if len(raw) == 0 {
		return nil
	}
	q, fns := s.deps()
	qp, ok := q.(queuePreparer)
	if !ok || fns == nil {
		return nil
	}
	c, err := s.compile(raw, fns)
	if err != nil {
		return nil // Emit reports it, if it is still so in the transaction
	}
	p := &prepared{q: q, queue: qp, raw: raw, bucket: b.Name, versioned: b.Versioning != "", name: name, key: key, origin: o, class: classOf(name)}
	encoded := EncodeKey(key)
	now := s.now()
	for i := range c.cfg.Functions {
		f := &c.cfg.Functions[i]
		if !f.matches(name, encoded) {
			continue
		}
		t := c.targets[i]
		pe, err := qp.PrepareSource(&lambda.AsyncEvent{
			FunctionName: t.Name,
			Qualifier:    t.Qualifier,
			Invocation: lambda.Invocation{
				RequestID:  newUUID(),
				InvokedARN: t.InvokedARN,
				TraceID:    lambda.ChainTrace(o.TraceID, t.FunctionARN, now),
			},
		})
		if err != nil {
			return nil
		}
		src := recordSource{
			Region: s.region, Name: name, Principal: o.PrincipalID, SourceIP: o.SourceIP,
			RequestID: o.RequestID, HostID: o.HostID, ConfigID: f.ID, Bucket: b.Name, Owner: s.account, Key: encoded,
		}
		if p.srcStart == nil {
			p.srcStart = appendSourceStart(make([]byte, 0, 32), &src)
		}
		// The members after the event time follow one, so start them
		// after a stand-in for it and drop that.
		mid := appendSourceMid(append(make([]byte, 0, 256), '"'), &src)[1:]
		p.deliveries = append(p.deliveries, preparedDelivery{event: pe, srcMid: mid})
	}
	return p
}

// fits reports whether p was prepared for ev, raw being the configuration
// document of ev's bucket as the transaction reads it.
func (p *prepared) fits(ev *objstore.Event, raw []byte, q Queue) bool {
	return p.name == ev.Name && p.key == ev.Key && p.bucket == ev.Bucket.Name && p.origin == ev.Origin &&
		p.versioned == (ev.Bucket.Versioning != "") && bytes.Equal(p.raw, raw) && p.q == q
}

// emitPrepared is Emit for an event that p fits: the sequence numbers,
// the event and queueing times, the version, size and eTag go into the
// holes of p's encodings, and the results into tx.
func (s *Service) emitPrepared(tx meta.Tx, ev *objstore.Event, p *prepared) (bool, error) {
	if len(p.deliveries) == 0 {
		return false, nil
	}
	seq, err := s.sequence(tx, ev)
	if err != nil {
		return false, err
	}
	var seqDigits [16]byte
	sequencer := string(appendSequencer(seqDigits[:0], seq))
	versionID := ev.VersionID
	if !p.versioned {
		versionID = ""
	}
	var end recordSource
	size := ev.Size
	sourceEnd(&end, p.class, &size, ev.ETag, versionID, sequencer)
	now := s.now()
	evTime := ev.Time.UTC()
	for i := range p.deliveries {
		d := &p.deliveries[i]
		logSeq := seq
		if i > 0 {
			if logSeq, err = tx.NextSeq(); err != nil {
				return false, err
			}
		}
		id := logKey(logSeq)
		src := append(make([]byte, 0, 512), p.srcStart...)
		src = appendMember(src, "t")
		src = append(src, '"')
		src = evTime.AppendFormat(src, timeLayout)
		src = append(src, '"')
		src = append(src, d.srcMid...)
		src = appendSourceEnd(src, &end)
		if err := p.queue.AddPreparedTx(tx, d.event, now, id, src); err != nil {
			return false, err
		}
	}
	return true, nil
}

// sequence is the sequence number of ev's sequencer: the one its change
// drew for it, else a new one. Sequence numbers are store-wide and grow
// with every one drawn, the ones that number versions included
// (meta.Tx.NextSeq), so of two events of one key the later has the
// greater, which S3's sequencer rule asks.
func (s *Service) sequence(tx meta.Tx, ev *objstore.Event) (uint64, error) {
	if ev.Seq != 0 {
		return ev.Seq, nil
	}
	return tx.NextSeq()
}

// appendSequencer appends the sequencer of seq: 16 upper-case hex digits
// (formatSequencer).
func appendSequencer(b []byte, seq uint64) []byte {
	const digits = "0123456789ABCDEF"
	for i := 60; i >= 0; i -= 4 {
		b = append(b, digits[seq>>uint(i)&15])
	}
	return b
}
