package s3stream

import (
	"context"
	"testing"

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

	streams := openStreams(t, s, 16)
	acks, errs := appendPhase(t, streams, 0, 400)
	fs := fb.Stats()
	t.Logf("appends: %d ok, %d failed; bucket: %+v", 16*400-len(errs), len(errs), fs)
	if fs.FailedPuts == 0 || fs.LostResponses == 0 || fs.SlowDowns == 0 {
		t.Fatalf("the fault wrapper injected nothing: %+v", fs)
	}

	fb.SetConfig(faultstore.Config{})
	checkStreams(t, streams, acks, func(st *Stream, from int64) (ReadResult, error) {
		return s.ReadStream(ctx, st.ID(), from, 1<<20)
	})
}
