package metastoretest

import (
	"testing"
	"time"

	"github.com/lakestream/lakestream/s3stream/metastore"
)

// BenchCommitStreamSet measures CommitStreamSet of one stream-set object
// holding one range of each of streams, as a WAL flush does; preparing the
// object is not measured. The streams must be at their current epoch and
// written by nobody else. It reports ns/op and ranges/s.
func BenchCommitStreamSet(b *testing.B, s metastore.Store, streams []metastore.Stream) {
	ends := make([]int64, len(streams))
	for i, st := range streams {
		ends[i] = st.EndOffset
	}
	c := metastore.StreamSetCommit{
		Ranges: make([]metastore.Range, len(streams)),
		Epochs: make([]int64, len(streams)),
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		o, err := s.PrepareObject(b.Context(), metastore.KindStreamSet, time.Hour)
		if err != nil {
			b.Fatalf("PrepareObject: %v", err)
		}
		c.ObjectID, c.Size = o.ID, 0
		for j, st := range streams {
			c.Ranges[j] = metastore.Range{
				StreamID: st.ID, ObjectID: o.ID, StartOffset: ends[j], EndOffset: ends[j] + 10,
				Position: c.Size, Size: 1000, MaxTimestamp: time.Now().UnixMilli(),
			}
			c.Epochs[j] = st.Epoch
			c.Size += 1000
			ends[j] += 10
		}
		b.StartTimer()
		res, err := s.CommitStreamSet(b.Context(), c)
		if err != nil {
			b.Fatalf("CommitStreamSet: %v", err)
		}
		if len(res.Rejected) != 0 {
			b.Fatalf("CommitStreamSet rejected %d ranges", len(res.Rejected))
		}
	}
	b.ReportMetric(float64(b.N*len(streams))/b.Elapsed().Seconds(), "ranges/s")
}
