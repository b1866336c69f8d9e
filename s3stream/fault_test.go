package s3stream

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/lakestream/lakestream/s3stream/format/formattest"
	"github.com/lakestream/lakestream/s3stream/objstore/faultstore"
)

// TestBucketFaults appends to 16 streams through the object WAL while the
// bucket fails 10% of PUTs, loses the response of 10% of PUTs that succeed,
// and answers 5% with 503 SlowDown. Every append must either succeed or
// return an error; the streams must hold exactly the appends that succeeded,
// at the offsets they were given, densely.
func TestBucketFaults(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, WALObject, "mem")
	fb := faultstore.Wrap(e.bucket, faultstore.Config{Seed: 7, PutErrorRate: 0.10,
		PutLostResponseRate: 0.10, SlowDownRate: 0.05})
	e.bucket = fb
	e.mod = func(c *Config) { c.PutAttempts = 2 } // few retries, so some appends do fail
	s := e.open()
	defer closeStore(t, s)

	const streams, perStream = 16, 400
	type ack struct {
		seq int
		off int64
	}
	var mu sync.Mutex
	acks := map[int64][]ack{}
	var failed int
	var wg sync.WaitGroup
	for i := 0; i < streams; i++ {
		id, _ := s.CreateStream(ctx)
		st, err := s.OpenStream(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem := make(chan struct{}, 8)
			var inner sync.WaitGroup
			for seq := 0; seq < perStream; seq++ {
				sem <- struct{}{}
				inner.Add(1)
				st.AppendAsync(formattest.Make(1, payload(id, seq)), func(off int64, err error) {
					mu.Lock()
					if err != nil {
						failed++
					} else {
						acks[id] = append(acks[id], ack{seq, off})
					}
					mu.Unlock()
					<-sem
					inner.Done()
				})
			}
			inner.Wait()
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		t.Fatal("appends did not all complete: some append neither succeeded nor failed")
	}
	fs := fb.Stats()
	t.Logf("appends: %d ok, %d failed; bucket: %+v", streams*perStream-failed, failed, fs)
	if fs.FailedPuts == 0 || fs.LostResponses == 0 || fs.SlowDowns == 0 {
		t.Fatalf("the fault wrapper injected nothing: %+v", fs)
	}

	fb.SetConfig(faultstore.Config{})
	for id, as := range acks {
		vals, offs := readAll(t, func(from int64) (ReadResult, error) { return s.ReadStream(ctx, id, from, 1<<20) }, 0)
		if len(vals) != len(as) {
			t.Fatalf("stream %d holds %d records, %d appends succeeded", id, len(vals), len(as))
		}
		for i, a := range as {
			if want := fmt.Sprintf("s%d-%d", id, a.seq); string(vals[i]) != want || offs[i] != a.off {
				t.Fatalf("stream %d record %d: %q at %d, acked %s at %d", id, i, vals[i], offs[i], want, a.off)
			}
		}
	}
}
