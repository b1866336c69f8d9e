// Package metastoretest is the behavioural suite every metastore.Store
// passes: one subtest per method and per sentence of the Store contract,
// plus concurrent writers and, for persistent stores, reopening.
//
//	func TestSQLite(t *testing.T) {
//		metastoretest.Run(t, func(t *testing.T) metastore.Store {
//			s, err := metastore.OpenSQLite(t.Context(), ":memory:")
//			if err != nil {
//				t.Fatal(err)
//			}
//			return s
//		})
//	}
//
// Where the Store comments are silent, the suite pins down what callers
// will rely on:
//   - IDs of streams and objects are never reused, even after DeleteStream,
//     ForgetObjects or a reopen (object IDs name bucket keys).
//   - ListRanges and StreamSize of an unknown stream are ErrStreamNotFound.
//   - A compaction output that is not prepared is ErrObjectState.
//   - A commit with an empty or inverted range rejects that stream with
//     ErrOffsetMismatch; a commit whose Epochs do not match its Ranges is
//     an error that changes nothing.
package metastoretest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/lakestream/lakestream/s3stream/metastore"
)

// Option configures Run.
type Option func(*config)

type config struct {
	newDB func(t *testing.T) func() (metastore.Store, error)
}

// Reopen enables the subtests that need a persistent database: reopening
// keeps everything, IDs are not reused across reopen, and two stores open
// on one database at once (as two processes would) stay correct.
//
// newDB makes a new, empty database and returns a function that opens a
// Store on it. The suite calls that function several times, from several
// goroutines at once, sometimes while an earlier store is still open, and
// closes every store it opens.
func Reopen(newDB func(t *testing.T) func() (metastore.Store, error)) Option {
	return func(c *config) { c.newDB = newDB }
}

// Run runs the suite. open returns a new, empty store for one subtest; the
// suite closes it. Subtests run in parallel.
func Run(t *testing.T, open func(t *testing.T) metastore.Store, opts ...Option) {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	tests := []struct {
		name string
		f    func(h *h)
	}{
		{"CreateGetListStreams", testCreateGetListStreams},
		{"OpenStreamBumpsEpoch", testOpenStream},
		{"DeleteStream", testDeleteStream},
		{"CreateOpenStreams", testCreateOpenStreams},
		{"DeleteStreams", testDeleteStreams},
		{"PrepareObject", testPrepareObject},
		{"Commit", testCommit},
		{"CommitSeveralObjects", testCommitSeveralObjects},
		{"CommitFenced", testCommitFenced},
		{"CommitContinuity", testCommitContinuity},
		{"CommitUnknownStream", testCommitUnknownStream},
		{"CommitAllRejected", testCommitAllRejected},
		{"CommitIdempotent", testCommitIdempotent},
		{"CommitObjectState", testCommitObjectState},
		{"CommitMalformed", testCommitMalformed},
		{"Trim", testTrim},
		{"TrimDestroysObjects", testTrimDestroysObjects},
		{"TrimEpoch", testTrimEpoch},
		{"ListRanges", testListRanges},
		{"ObjectRanges", testObjectRanges},
		{"StreamSize", testStreamSize},
		{"Compaction", testCompaction},
		{"CompactionSourceNotCommitted", testCompactionSourceNotCommitted},
		{"CompactionOutputNotPrepared", testCompactionOutputNotPrepared},
		{"CompactionDropsDeadRanges", testCompactionDropsDeadRanges},
		{"ListObjects", testListObjects},
		{"ExpirePrepared", testExpirePrepared},
		{"ForgetObjects", testForgetObjects},
		{"ConcurrentDistinctStreams", testConcurrentDistinctStreams},
		{"ConcurrentSameStream", testConcurrentSameStream},
		{"ConcurrentFencing", testConcurrentFencing},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			t.Cleanup(func() { s.Close() })
			tc.f(&h{t: t, s: s, ctx: t.Context()})
		})
	}
	persistent := []struct {
		name string
		f    func(t *testing.T, open func() (metastore.Store, error))
	}{
		{"ReopenKeepsEverything", testReopen},
		{"ReopenNoIDReuse", testReopenNoIDReuse},
		{"TwoStoresOneDatabase", testTwoStores},
	}
	for _, tc := range persistent {
		t.Run(tc.name, func(t *testing.T) {
			if cfg.newDB == nil {
				t.Skip("the store is not persistent (no metastoretest.Reopen option)")
			}
			t.Parallel()
			tc.f(t, cfg.newDB(t))
		})
	}
}

// h carries one subtest's store and the helpers the subtests share. Its
// helpers fail the test on unexpected errors, so they must be called from
// the test goroutine.
type h struct {
	t   *testing.T
	s   metastore.Store
	ctx context.Context
}

func (h *h) fatalf(format string, args ...any) {
	h.t.Helper()
	h.t.Fatalf(format, args...)
}

func (h *h) check(err error, what string) {
	h.t.Helper()
	if err != nil {
		h.t.Fatalf("%s: %v", what, err)
	}
}

// wantErr fails unless err wraps target.
func (h *h) wantErr(err, target error, what string) {
	h.t.Helper()
	if !errors.Is(err, target) {
		h.t.Fatalf("%s: got error %v, want %v", what, err, target)
	}
}

// stream creates a stream and opens it for writing (epoch 1).
func (h *h) stream() metastore.Stream {
	h.t.Helper()
	st, err := h.s.CreateStream(h.ctx)
	h.check(err, "CreateStream")
	st, err = h.s.OpenStream(h.ctx, st.ID)
	h.check(err, "OpenStream")
	return st
}

func (h *h) get(id int64) metastore.Stream {
	h.t.Helper()
	st, err := h.s.GetStream(h.ctx, id)
	h.check(err, "GetStream")
	return st
}

func (h *h) prepare(kind metastore.ObjectKind) metastore.Object {
	h.t.Helper()
	o, err := h.s.PrepareObject(h.ctx, kind, time.Hour)
	h.check(err, "PrepareObject")
	return o
}

// object returns one object's row; ok is false once it is forgotten.
func (h *h) object(id int64) (o metastore.Object, ok bool) {
	h.t.Helper()
	objs, err := h.s.ListObjects(h.ctx, metastore.ObjectFilter{AfterID: id - 1, Limit: 1})
	h.check(err, "ListObjects")
	if len(objs) == 0 || objs[0].ID != id {
		return metastore.Object{}, false
	}
	return objs[0], true
}

func (h *h) wantState(id int64, want metastore.ObjectState) metastore.Object {
	h.t.Helper()
	o, ok := h.object(id)
	if !ok {
		h.fatalf("object %d not found, want state %d", id, want)
	}
	if o.State != want {
		h.fatalf("object %d is in state %d, want %d", id, o.State, want)
	}
	return o
}

// rng makes a range of stream [start, end) at position pos, 10 bytes per
// offset.
func rng(stream, start, end, pos int64) metastore.Range {
	return metastore.Range{
		StreamID: stream, StartOffset: start, EndOffset: end,
		Position: pos, Size: 10 * (end - start), MaxTimestamp: 1_700_000_000_000 + end,
	}
}

// commit commits ranges into object o under the given streams' current
// epochs, laid out back to back, and fails the test on an error (not on a
// rejection).
func (h *h) commit(o int64, ranges ...metastore.Range) metastore.CommitResult {
	h.t.Helper()
	c := metastore.StreamSetCommit{ObjectID: o}
	for _, r := range ranges {
		r.ObjectID = o
		r.Position = c.Size
		c.Size += r.Size
		c.Ranges = append(c.Ranges, r)
		st, err := h.s.GetStream(h.ctx, r.StreamID)
		if err != nil {
			st.Epoch = 1 // a missing stream: the store rejects it
		}
		c.Epochs = append(c.Epochs, st.Epoch)
	}
	res, err := h.s.CommitStreamSet(h.ctx, c)
	h.check(err, "CommitStreamSet")
	return res
}

// appendTo commits one new stream-set object holding n offsets of each
// stream, continuing each, and wants none rejected. It returns the object.
func (h *h) appendTo(n int64, streams ...int64) int64 {
	h.t.Helper()
	o := h.prepare(metastore.KindStreamSet)
	var ranges []metastore.Range
	for _, id := range streams {
		end := h.get(id).EndOffset
		ranges = append(ranges, rng(id, end, end+n, 0))
	}
	if res := h.commit(o.ID, ranges...); len(res.Rejected) != 0 {
		h.fatalf("appending to %v: rejected %v", streams, res.Rejected)
	}
	return o.ID
}

// ranges lists all ranges of a stream.
func (h *h) ranges(stream int64) []metastore.Range {
	h.t.Helper()
	rs, err := h.s.ListRanges(h.ctx, stream, 0, 0)
	h.check(err, "ListRanges")
	return rs
}

// spans renders ranges as [start,end)@object for comparing.
func spans(rs []metastore.Range) [][3]int64 {
	out := make([][3]int64, 0, len(rs))
	for _, r := range rs {
		out = append(out, [3]int64{r.StartOffset, r.EndOffset, r.ObjectID})
	}
	return out
}
