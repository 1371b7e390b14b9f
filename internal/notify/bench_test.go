package notify

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/lambda"
	"github.com/sluicehq/sluice/internal/lambda/async"
	"github.com/sluicehq/sluice/internal/meta"
	"github.com/sluicehq/sluice/internal/meta/bolt"
	"github.com/sluicehq/sluice/internal/objstore"
)

// BenchmarkEmit measures what an event adds to its object's transaction:
// matching, the record, the queued invocation and the log record.
func BenchmarkEmit(b *testing.B) {
	t := &testing.T{}
	e := newEnv(t)
	q, err := async.New(async.Config{Meta: e.meta, Dir: b.TempDir(), Observer: e.svc})
	if err != nil {
		b.Fatal(err)
	}
	e.svc.Start(q, e.fns)
	if err := e.set(t, "photos", &Configuration{Functions: []FunctionConfiguration{fc("a", "f", ev("s3:ObjectCreated:*"), "prefix", "in/")}}); err != nil {
		b.Fatal(err)
	}
	var bucket *meta.Bucket
	e.meta.View(context.Background(), func(tx meta.Tx) error { bucket, err = tx.Bucket("photos"); return err })
	ev := &objstore.Event{Name: objstore.EventObjectCreatedPut, Bucket: bucket, Key: "in/some/key.jpg", VersionID: "null",
		Size: 1024, ETag: "d41d8cd98f00b204e9800998ecf8427e", Time: time.Now(), Origin: origin}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// As objstore does: prepared before the transaction.
		ev.Prepared = e.svc.Prepare(bucket, ev.Name, ev.Key, ev.Origin)
		err := e.meta.Update(context.Background(), func(tx meta.Tx) error {
			_, err := e.svc.Emit(tx, ev)
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(storedBytes(b, e.meta)/float64(b.N), "stored-B/event")
}

// storedBytes is the size of the queued invocations and event log records
// in m: what events add to their transactions.
func storedBytes(b *testing.B, m meta.Store) float64 {
	n := 0
	err := m.View(context.Background(), func(tx meta.Tx) error {
		for _, kind := range []string{"queue/lambda-async", kindLog} {
			for d, err := range tx.Docs(kind, meta.ListOptions{}) {
				if err != nil {
					return err
				}
				n += len(d.Value)
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return float64(n)
}

// BenchmarkUpdate is the transaction alone, for comparison.
func BenchmarkUpdate(b *testing.B) {
	t := &testing.T{}
	e := newEnv(t)
	for i := 0; i < b.N; i++ {
		e.meta.Update(context.Background(), func(tx meta.Tx) error { _, err := tx.NextSeq(); return err })
	}
}

// BenchmarkCommitWithEvents runs object-like transactions from many
// goroutines (as PUTs do, group-committed and fsynced), with and without an
// event each: the cost notifications add to the single committer. "on"
// prepares each event before its transaction, as objstore does;
// "on-unprepared" leaves all of it to Emit, in the transaction.
func BenchmarkCommitWithEvents(b *testing.B) {
	for _, name := range []string{"off", "on", "on-unprepared"} {
		withEvents, prepare := name != "off", name == "on"
		b.Run(name, func(b *testing.B) {
			t := &testing.T{}
			m, err := bolt.Open(filepath.Join(b.TempDir(), "meta.db"), bolt.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer m.Close()
			svc := New(Config{Meta: m})
			q, _ := async.New(async.Config{Meta: m, Dir: b.TempDir(), Observer: svc})
			svc.Start(q, &fakeFunctions{svc: lambda.New(lambda.Config{Meta: m}), allow: func(string, string, string) (bool, error) { return true, nil }})
			defer svc.Close()
			m.Update(context.Background(), func(tx meta.Tx) error { return tx.CreateBucket(&meta.Bucket{Name: "b"}) })
			if withEvents {
				if err := svc.SetConfiguration(context.Background(), "b", &Configuration{Functions: []FunctionConfiguration{fc("a", "f", ev("s3:ObjectCreated:*"))}}, SetOptions{}); err != nil {
					b.Fatal(err)
				}
			}
			_ = t
			var bucket *meta.Bucket
			m.View(context.Background(), func(tx meta.Tx) error { bucket, err = tx.Bucket("b"); return err })
			body := make([]byte, 300)
			var n atomic.Int64
			b.SetParallelism(8)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1)
					key := fmt.Sprintf("k%09d", i)
					var prepared any
					if prepare {
						prepared = svc.Prepare(bucket, objstore.EventObjectCreatedPut, key, origin)
					}
					err := m.Update(context.Background(), func(tx meta.Tx) error {
						bk, err := tx.Bucket("b")
						if err != nil {
							return err
						}
						if err := tx.PutDoc("bench", key, body); err != nil {
							return err
						}
						_, err = svc.Emit(tx, &objstore.Event{Name: objstore.EventObjectCreatedPut, Bucket: bk, Key: key,
							VersionID: "null", Size: 1024, ETag: "d41d8cd98f00b204e9800998ecf8427e", Time: time.Now(), Origin: origin,
							Prepared: prepared})
						return err
					})
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkLogAndState runs, from many goroutines, object-like
// transactions that each write an event log record, each followed by the
// transaction that records its delivery's state (as the async queue's
// applier does): what the event log costs the single committer. wB/event
// is the bytes the process wrote (bbolt's pages; Linux /proc/self/io).
func BenchmarkLogAndState(b *testing.B) {
	m, err := bolt.Open(filepath.Join(b.TempDir(), "meta.db"), bolt.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	svc := New(Config{Meta: m})
	body := make([]byte, 300)
	var n atomic.Int64
	w0 := wchar(b)
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			key := fmt.Sprintf("k%09d", i)
			var id string
			err := m.Update(context.Background(), func(tx meta.Tx) error {
				if err := tx.PutDoc("bench", key, body); err != nil {
					return err
				}
				seq, err := tx.NextSeq()
				if err != nil {
					return err
				}
				id = logKey(seq)
				return putRecord(tx, &Record{ID: id, Time: time.Now(), Updated: time.Now(), Event: "ObjectCreated:Put", Bucket: "b", Key: key,
					Sequencer: formatSequencer(seq), ConfigurationID: "a", Function: "arn:aws:lambda:us-east-1:000000000000:function:f",
					RequestID: "5a3d2e1f-0000-4000-8000-000000000000", SourceRequestID: "C3D13FE58DE4C810", State: StatePending})
			})
			if err == nil {
				err = m.Update(context.Background(), func(tx meta.Tx) error {
					return svc.Observe(tx, id, async.Observation{State: StateDelivered, Attempts: 1, RequestID: "5a3d2e1f-0000-4000-8000-000000000000", Time: time.Now()})
				})
			}
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(wchar(b)-w0)/float64(b.N), "wB/event")
}

// wchar is the bytes this process has written (Linux), 0 elsewhere.
func wchar(b *testing.B) int64 {
	raw, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "wchar: "); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return 0
}

// BenchmarkCommitterPerEvent measures the committer's own work per
// object-like transaction, fsync aside: batches of 128 closures run in one
// transaction (as a busy group commit runs them), each writing an object
// document and, unless "off", emitting an event; the store does not sync.
// Preparing events ("prepared", as objstore does) happens outside the
// timed transaction, as it happens outside the committer.
func BenchmarkCommitterPerEvent(b *testing.B) {
	const batch = 128
	for _, name := range []string{"off", "unprepared", "prepared"} {
		b.Run(name, func(b *testing.B) {
			m, err := bolt.Open(filepath.Join(b.TempDir(), "meta.db"), bolt.Options{NoSync: true})
			if err != nil {
				b.Fatal(err)
			}
			defer m.Close()
			svc := New(Config{Meta: m})
			q, _ := async.New(async.Config{Meta: m, Dir: b.TempDir(), Observer: svc})
			svc.Start(q, &fakeFunctions{svc: lambda.New(lambda.Config{Meta: m}), allow: func(string, string, string) (bool, error) { return true, nil }})
			defer svc.Close()
			m.Update(context.Background(), func(tx meta.Tx) error { return tx.CreateBucket(&meta.Bucket{Name: "b"}) })
			if name != "off" {
				if err := svc.SetConfiguration(context.Background(), "b", &Configuration{Functions: []FunctionConfiguration{fc("a", "f", ev("s3:ObjectCreated:*"))}}, SetOptions{}); err != nil {
					b.Fatal(err)
				}
			}
			var bucket *meta.Bucket
			m.View(context.Background(), func(tx meta.Tx) error { bucket, err = tx.Bucket("b"); return err })
			body := make([]byte, 300)
			keys := make([]string, batch)
			events := make([]objstore.Event, batch)
			n := 0
			b.ResetTimer()
			for done := 0; done < b.N; done += batch {
				b.StopTimer()
				for i := range events {
					n++
					keys[i] = fmt.Sprintf("k%09d", n)
					events[i] = objstore.Event{Name: objstore.EventObjectCreatedPut, Key: keys[i],
						VersionID: "null", Size: 1024, ETag: "d41d8cd98f00b204e9800998ecf8427e", Time: time.Now(), Origin: origin}
					if name == "prepared" {
						events[i].Prepared = svc.Prepare(bucket, events[i].Name, keys[i], origin)
					}
				}
				b.StartTimer()
				err := m.Update(context.Background(), func(tx meta.Tx) error {
					for i := range events {
						bk, err := tx.Bucket("b")
						if err != nil {
							return err
						}
						if err := tx.PutDoc("bench", keys[i], body); err != nil {
							return err
						}
						if name != "off" {
							events[i].Bucket = bk
							if _, err := svc.Emit(tx, &events[i]); err != nil {
								return err
							}
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
