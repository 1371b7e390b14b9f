package main

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"time"
)

// Key layout: logs/YYYY/MM/host-HHH/file-NNNNNN.json with keysPerMonth keys
// per month directory, spread over hostsPerMonth host directories.
const (
	hostsPerMonth = 200
	filesPerHost  = 200
	keysPerMonth  = hostsPerMonth * filesPerHost
	recordSize    = 300
)

// Engines with one keyspace (pebble, badger) tell records apart by a
// one-byte key prefix.
const (
	pfxHead    = 'h'
	pfxVersion = 'v'
	pfxBody    = 'b'
)

// objectKey returns the i-th object key. Keys are numbered in "time order":
// month by month, and within a month the hosts interleave, the way logs from
// many hosts arrive together. Numbering is not key order.
func objectKey(i int) []byte {
	month := i / keysPerMonth
	r := i % keysPerMonth
	file, host := r/hostsPerMonth, r%hostsPerMonth
	return fmt.Appendf(nil, "logs/%04d/%02d/host-%03d/file-%06d.json",
		2023+month/12, month%12+1, host, file)
}

// monthPrefix returns the delimiter prefix of the month directory m.
func monthPrefix(m int) []byte {
	return fmt.Appendf(nil, "logs/%04d/%02d/", 2023+m/12, m%12+1)
}

var vidSeq atomic.Uint64

// newVersionID returns a 16-byte version ID that sorts newest first.
func newVersionID() []byte {
	vid := make([]byte, 16)
	binary.BigEndian.PutUint64(vid, math.MaxUint64-uint64(time.Now().UnixNano()))
	binary.BigEndian.PutUint64(vid[8:], vidSeq.Add(1))
	return vid
}

// recordTemplate is a ~300-byte JSON object record; vid and etag are filled
// in per record so records are not trivially compressible.
var recordTemplate = func() []byte {
	t := []byte(`{"vid":"00000000000000000000000000000000","etag":"\"00000000000000000000000000000000\"",` +
		`"size":1048576,"mtime":"2024-05-01T12:34:56.789Z","class":"STANDARD","ctype":"application/json",` +
		`"owner":"5f1a2b3c4d5e6f708192a3b4c5d6e7f8","csum":{"crc32c":"yZRlqg=="},"meta":{"x-amz-meta-app":"sluice"},"pad":"`)
	for len(t) < recordSize-2 {
		t = append(t, 'x')
	}
	return append(t, '"', '}')
}()

const (
	recVidOff  = len(`{"vid":"`)
	recEtagOff = len(`{"vid":"00000000000000000000000000000000","etag":"\"`)
)

// makeRecord returns a head or version record for version vid.
func makeRecord(rng *rand.Rand, vid []byte) []byte {
	rec := slices.Clone(recordTemplate)
	hex.Encode(rec[recVidOff:], vid)
	var etag [16]byte
	binary.LittleEndian.PutUint64(etag[:], rng.Uint64())
	binary.LittleEndian.PutUint64(etag[8:], rng.Uint64())
	hex.Encode(rec[recEtagOff:], etag[:])
	return rec
}

// versionKey is the key of a version record: object key, a 0x00 separator and
// the version ID (S3 keys are UTF-8 and never contain NUL in practice).
func versionKey(prefix byte, key, vid []byte) []byte {
	k := make([]byte, 0, 1+len(key)+1+len(vid))
	k = append(k, prefix)
	k = append(k, key...)
	k = append(k, 0)
	return append(k, vid...)
}

// prefixed returns prefix followed by key.
func prefixed(prefix byte, key []byte) []byte {
	k := make([]byte, 0, 1+len(key))
	k = append(k, prefix)
	return append(k, key...)
}

// latencies collects operation durations.
type latencies []time.Duration

func (l latencies) percentile(p float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	s := slices.Clone(l)
	slices.Sort(s)
	i := int(math.Ceil(p*float64(len(s)))) - 1
	return s[max(i, 0)]
}

// median returns the median of xs (the mean of the middle two for even
// lengths).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
