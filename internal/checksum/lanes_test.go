package checksum

import (
	"bytes"
	"crypto/md5"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"testing"
)

// TestLanes hashes many streams at once, of sizes that are and are not
// multiples of MD5's block, written in uneven pieces from both halves of
// a MultiHasher (MD5 also requested as an additional checksum in some),
// so that most take a lane: every digest must be crypto/md5's. Run with
// -race.
func TestLanes(t *testing.T) {
	const streams = 24
	rng := rand.New(rand.NewPCG(7, 8))
	data := randomBytes(t, rng, 3<<20+17)
	lanes := NewMD5Lanes()
	defer lanes.Close()
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		inLane int
	)
	for i := range streams {
		size := len(data) - i*100_003 // 0.6–3 MiB, most not a multiple of 64
		var algs []Algorithm
		if i%3 == 0 {
			algs = []Algorithm{MD5, CRC64NVME}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := data[:size]
			m := NewMultiHasher(algs...)
			done, lane := m.UseLanes(lanes, 2)
			if lane {
				mu.Lock()
				inLane++
				mu.Unlock()
			}
			md5Part, rest := m.Halves()
			w := make(chan struct{})
			go func() {
				defer close(w)
				io.CopyBuffer(md5Part, bytes.NewReader(body), make([]byte, 1<<20-7))
			}()
			io.CopyBuffer(rest, bytes.NewReader(body), make([]byte, 1<<16))
			<-w
			done()
			want := md5.Sum(body)
			if !bytes.Equal(m.MD5(), want[:]) {
				t.Errorf("stream %d (%d bytes): MD5() = %x, want %x", i, size, m.MD5(), want)
			}
			for _, a := range algs {
				if got, want := m.Sum(a), a.Sum(body); !bytes.Equal(got, want) {
					t.Errorf("stream %d: Sum(%s) = %x, want %x", i, a, got, want)
				}
			}
		}()
	}
	wg.Wait()
	if inLane == 0 {
		t.Errorf("no stream of %d took a lane", streams)
	}
	if n := lanes.active.Load(); n != 0 {
		t.Errorf("%d streams still counted after all were done", n)
	}
}

// TestLanesAlone: a stream alone keeps crypto/md5, and an empty stream's
// digest is right either way.
func TestLanesAlone(t *testing.T) {
	lanes := NewMD5Lanes()
	defer lanes.Close()
	m := NewMultiHasher()
	done, lane := m.UseLanes(lanes, 2)
	if lane {
		t.Error("a stream alone took a lane")
	}
	done()
	if want := md5.Sum(nil); !bytes.Equal(m.MD5(), want[:]) {
		t.Errorf("empty: MD5() = %x, want %x", m.MD5(), want)
	}

	// Two at once with a minimum of 1: both in lanes, one empty.
	lanes1 := NewMD5Lanes()
	defer lanes1.Close()
	a, b := NewMultiHasher(), NewMultiHasher()
	doneA, laneA := a.UseLanes(lanes1, 1)
	doneB, laneB := b.UseLanes(lanes1, 1)
	if !laneA || !laneB {
		t.Errorf("with a minimum of 1, in lanes: %v, %v", laneA, laneB)
	}
	a.Write([]byte("hello world"))
	doneA()
	doneB()
	if got := Encode(a.MD5()); got != "XrY7u+Ae7tCTyyK7j1rNww==" {
		t.Errorf("MD5 = %s, want XrY7u+Ae7tCTyyK7j1rNww==", got)
	}
	if want := md5.Sum(nil); !bytes.Equal(b.MD5(), want[:]) {
		t.Errorf("empty in a lane: MD5() = %x, want %x", b.MD5(), want)
	}
}

// BenchmarkMD5Lanes hashes 1, 3, 8 and 16 streams of 16 MiB at once,
// written in 1 MiB pieces as objstore does, with crypto/md5 (one
// goroutine per stream) and in lanes. MB/s is of all streams together.
func BenchmarkMD5Lanes(b *testing.B) {
	const size, piece = 16 << 20, 1 << 20
	buf := bytes.Repeat([]byte("sluice lanes "), piece/13+1)[:piece]
	for _, streams := range []int{1, 3, 8, 16} {
		for _, mode := range []string{"crypto", "lanes"} {
			b.Run(fmt.Sprintf("%s/streams=%d", mode, streams), func(b *testing.B) {
				lanes := NewMD5Lanes()
				defer lanes.Close()
				b.SetBytes(int64(streams) * size)
				for b.Loop() {
					var wg sync.WaitGroup
					for range streams {
						wg.Add(1)
						go func() {
							defer wg.Done()
							m := NewMultiHasher()
							done := func() {}
							if mode == "lanes" {
								done, _ = m.UseLanes(lanes, 1)
							}
							md5Part, _ := m.Halves()
							for n := 0; n < size; n += piece {
								md5Part.Write(buf)
							}
							done()
							m.MD5()
						}()
					}
					wg.Wait()
				}
			})
		}
	}
}
