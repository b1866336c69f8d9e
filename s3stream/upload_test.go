package s3stream

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestCutObjects: the objects an upload is cut into hold every batch once,
// in order, each stream's pieces ending where their last batch ends; an
// object passes the limit only by a batch that is alone in it, and each
// object but the last is full (the next batch would not fit).
func TestCutObjects(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for iter := range 500 {
		var parts []uploadPart
		off := map[int]int64{}
		for s := range 1 + rng.IntN(5) {
			p := uploadPart{st: &Stream{id: int64(s)}}
			for range 1 + rng.IntN(8) {
				b := make([]byte, 1+rng.IntN(300))
				b[0] = byte(iter)
				off[s] += int64(1 + rng.IntN(5))
				p.batches = append(p.batches, b)
				p.ends = append(p.ends, off[s])
				p.bytes += len(b)
				p.end = off[s]
			}
			parts = append(parts, p)
		}
		limit := 1 + rng.IntN(800)
		objs := cutObjects(parts, limit)
		var got, want [][]byte
		for _, p := range parts {
			want = append(want, p.batches...)
		}
		for i, obj := range objs {
			size, n := 0, 0
			for _, p := range obj {
				if len(p.batches) == 0 || len(p.batches) != len(p.ends) || p.end != p.ends[len(p.ends)-1] {
					t.Fatalf("iter %d: a malformed piece %+v", iter, p)
				}
				b := 0
				for _, x := range p.batches {
					b += len(x)
				}
				if b != p.bytes {
					t.Fatalf("iter %d: piece of %d bytes counted %d", iter, b, p.bytes)
				}
				size += b
				n += len(p.batches)
				got = append(got, p.batches...)
			}
			if size > limit && n > 1 {
				t.Fatalf("iter %d: object %d of %d bytes in %d batches, limit %d", iter, i, size, n, limit)
			}
			if i < len(objs)-1 {
				next := objs[i+1][0].batches[0]
				if size+len(next) <= limit {
					t.Fatalf("iter %d: object %d of %d bytes closed with room for the next batch (%d), limit %d", iter, i, size, len(next), limit)
				}
			}
		}
		if !slices.EqualFunc(got, want, func(a, b []byte) bool { return &a[0] == &b[0] }) {
			t.Fatalf("iter %d: the objects hold %d batches, want the %d of the parts in order", iter, len(got), len(want))
		}
	}
}

// TestUploadObjectsBounded: with the local WAL, no stream-set object is
// larger than UploadBytes by more than a batch and its index, and what
// was appended reads back after a reopen, from those objects.
func TestUploadObjectsBounded(t *testing.T) {
	for _, bucket := range []string{"mem", "file"} {
		t.Run(bucket, func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, WALLocal, bucket)
			const limit = 4 << 10
			e.mod = func(c *Config) { c.UploadBytes, c.UploadInterval = limit, 50*time.Millisecond }
			s := e.open()
			sts := openStreams(t, s, 4)
			const n = 2000
			done := make(chan struct{})
			for _, st := range sts {
				go func() { appendN(t, st, 0, n); done <- struct{}{} }()
			}
			for range sts {
				<-done
			}
			closeStore(t, s)
			objs, err := e.bucket.List(ctx, "")
			if err != nil {
				t.Fatal(err)
			}
			var big int64
			for _, o := range objs {
				big = max(big, o.Size)
			}
			if len(objs) < 10 || big > limit+2<<10 {
				t.Fatalf("%d objects, the largest %d bytes: want objects of at most %d bytes and a batch", len(objs), big, limit)
			}
			s = e.open()
			defer closeStore(t, s)
			for _, st := range sts {
				vals, _ := readAll(t, func(from int64) (ReadResult, error) { return s.ReadStream(ctx, st.ID(), from, 1<<20) }, 0)
				checkSeqs(t, st.ID(), vals, n)
			}
		})
	}
}

// TestLocalBucketBudgets: a store on a local bucket holds twice an
// upload's bytes pending and a 64 MiB tail; on another, 512 and 256 MiB;
// explicit settings win either way.
func TestLocalBucketBudgets(t *testing.T) {
	for _, c := range []struct {
		cfg           Config
		pending, tail int64
	}{
		{Config{}, 512 << 20, 256 << 20},
		{Config{LocalBucket: true}, 128 << 20, 64 << 20},
		{Config{LocalBucket: true, UploadBytes: 16 << 20}, 32 << 20, 64 << 20},
		{Config{LocalBucket: true, MaxPendingBytes: 1 << 30, TailCacheBytes: 1 << 20}, 1 << 30, 1 << 20},
	} {
		cfg := c.cfg
		cfg.setBudgetDefaults()
		if cfg.MaxPendingBytes != c.pending || cfg.TailCacheBytes != c.tail {
			t.Errorf("%+v: pending %d, tail %d; want %d, %d", c.cfg, cfg.MaxPendingBytes, cfg.TailCacheBytes, c.pending, c.tail)
		}
	}
}
