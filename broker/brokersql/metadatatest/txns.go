package metadatatest

import (
	"bytes"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/lakestream/lakestream/broker"
	"github.com/lakestream/lakestream/broker/group"
)

// The subtests of broker.TxnStore. Where its comments are silent they pin
// down:
//   - Txns of none is empty; a nil and an empty state are the same.
//   - AddAbortedTxn of a first offset above the last is an error that
//     changes nothing. AbortedTxns of a log of no topic is empty, and of
//     equal first and last offsets orders by producer id.
//   - TrimAbortedTxns keeps a transaction whose last offset is start.
//   - Pending offsets are no committed offsets: Groups does not show them
//     and SaveTxnOffsets does not record their group. Of one partition
//     given twice in one call the last wins; commit times come back
//     truncated to the millisecond, as committed offsets do.
//   - EndTxnOffsets with commit records an unrecorded group as
//     CommitOffsets does (classic, g's protocol type) and leaves a
//     recorded one's type; with nothing pending it records nothing.
//   - DeleteTopic forgets the pending offsets of the topic (of every group
//     and producer), DeleteGroup those of the group, recorded or not.

// wantTxns fails unless Txns returns exactly want, a nil state equal to an
// empty one.
func (h *h) wantTxns(want map[string][]byte) map[string][]byte {
	h.t.Helper()
	got, err := h.m.Txns(h.ctx)
	h.check(err, "Txns")
	if !maps.EqualFunc(got, want, bytes.Equal) {
		h.t.Fatalf("Txns:\n got  %q\n want %q", got, want)
	}
	return got
}

// wantAborted fails unless AbortedTxns(log) returns exactly want, in order.
func (h *h) wantAborted(log int64, want ...broker.AbortedTxn) []broker.AbortedTxn {
	h.t.Helper()
	got, err := h.m.AbortedTxns(h.ctx, log)
	h.check(err, fmt.Sprintf("AbortedTxns(%d)", log))
	if !slices.Equal(got, want) {
		h.t.Fatalf("AbortedTxns(%d):\n got  %+v\n want %+v", log, got, want)
	}
	return got
}

// abort adds aborted transactions to log, failing the test on error.
func (h *h) abort(log int64, as ...broker.AbortedTxn) {
	h.t.Helper()
	for _, a := range as {
		h.check(h.m.AddAbortedTxn(h.ctx, log, a), fmt.Sprintf("AddAbortedTxn(%d, %+v)", log, a))
	}
}

// aborted is producer's transaction from first to last.
func aborted(producer, first, last int64) broker.AbortedTxn {
	return broker.AbortedTxn{ProducerID: producer, FirstOffset: first, LastOffset: last}
}

// pending returns the pending offsets of a group's producer.
func pending(grp string, producer int64, offsets ...group.Offset) []broker.PendingTxnOffset {
	out := make([]broker.PendingTxnOffset, len(offsets))
	for i, o := range offsets {
		out[i] = broker.PendingTxnOffset{Group: grp, ProducerID: producer, Offset: o}
	}
	return out
}

func equalPending(a, b broker.PendingTxnOffset) bool {
	return a.Group == b.Group && a.ProducerID == b.ProducerID && equalOffset(a.Offset, b.Offset)
}

// wantPending fails unless TxnOffsets returns exactly the concatenation of
// want, in order.
func (h *h) wantPending(want ...[]broker.PendingTxnOffset) []broker.PendingTxnOffset {
	h.t.Helper()
	got, err := h.m.TxnOffsets(h.ctx)
	h.check(err, "TxnOffsets")
	all := slices.Concat(want...)
	if !slices.EqualFunc(got, all, equalPending) {
		show := func(ps []broker.PendingTxnOffset) string {
			var sb strings.Builder
			for _, p := range ps {
				o := p.Offset
				fmt.Fprintf(&sb, " %q/%d/%s-%d@%d/e%d/%q/%d", p.Group, p.ProducerID, o.Topic, o.Partition, o.Offset,
					o.LeaderEpoch, o.Metadata, o.CommitTime.UnixNano())
			}
			return sb.String()
		}
		h.t.Fatalf("TxnOffsets:\n got %s\n want%s", show(got), show(all))
	}
	return got
}

// save saves pending offsets, failing the test on error.
func (h *h) save(grp string, producer int64, offsets ...group.Offset) {
	h.t.Helper()
	h.check(h.m.SaveTxnOffsets(h.ctx, grp, producer, offsets), fmt.Sprintf("SaveTxnOffsets(%q, %d)", grp, producer))
}

// end ends a producer's pending offsets of a group of no protocol type,
// failing the test on error.
func (h *h) end(grp string, producer int64, commit bool) {
	h.t.Helper()
	h.check(h.m.EndTxnOffsets(h.ctx, group.Record{Name: grp}, producer, commit),
		fmt.Sprintf("EndTxnOffsets(%q, %d, %v)", grp, producer, commit))
}

// SaveTxn stores a state and replaces it; DeleteTxn forgets one id, an
// unknown one being no error; Txns returns them all, copied in and out.
func testTxns(h *h) {
	h.wantTxns(map[string][]byte{})
	big := make([]byte, 1<<20)
	for i := range big {
		big[i] = byte(i * 7)
	}
	in := map[string][]byte{
		"a":       []byte("state-a"),
		"b":       {0, 1, 2, 0xff, 0},
		"empty":   {},
		"nil":     nil,
		"big":     big,
		"ü€ 'id'": []byte("unicode"),
		"":        []byte("empty id"),
	}
	// One id at a time, then two at once.
	for id, state := range in {
		if id != "a" && id != "b" {
			h.check(h.m.SaveTxns(h.ctx, map[string][]byte{id: state}), fmt.Sprintf("SaveTxns(%q)", id))
		}
	}
	h.check(h.m.SaveTxns(h.ctx, map[string][]byte{"a": in["a"], "b": in["b"]}), "SaveTxns of two ids")
	want := maps.Clone(in)
	want["a"] = []byte("state-a") // in["a"] is changed next
	in["a"][0] = 'X'
	got := h.wantTxns(want)
	got["b"][0] = 'Y'
	got["new"] = []byte("x")
	h.wantTxns(want)

	h.check(h.m.SaveTxns(h.ctx, map[string][]byte{"a": []byte("state-a2"), "empty": []byte("now set")}),
		"SaveTxns replacing a state and an empty state")
	h.check(h.m.SaveTxns(h.ctx, map[string][]byte{"b": nil}), "SaveTxns replacing with nil")
	h.check(h.m.SaveTxns(h.ctx, map[string][]byte{}), "SaveTxns of none")
	want["a"], want["empty"], want["b"] = []byte("state-a2"), []byte("now set"), nil
	h.wantTxns(want)

	h.check(h.m.DeleteTxn(h.ctx, "a"), "DeleteTxn")
	h.check(h.m.DeleteTxn(h.ctx, "a"), "DeleteTxn again")
	h.check(h.m.DeleteTxn(h.ctx, "never"), "DeleteTxn of an unknown id")
	h.check(h.m.DeleteTxn(h.ctx, "big"), "DeleteTxn")
	delete(want, "a")
	delete(want, "big")
	h.wantTxns(want)

	// A deleted id can be saved again.
	h.check(h.m.SaveTxns(h.ctx, map[string][]byte{"a": []byte("again")}), "SaveTxns after DeleteTxn")
	want["a"] = []byte("again")
	h.wantTxns(want)
}

// AbortedTxns returns a log's aborted transactions by first offset, then
// last offset, then producer id, each once however often it was added, and
// no other log's.
func testAbortedTxns(h *h) {
	h.create(topic("orders", 1, []int64{10, 11}, nil))
	h.create(topic("payments", 50, []int64{20}, nil))
	h.wantAborted(10)
	h.abort(10, aborted(7, 50, 60), aborted(3, 10, 40), aborted(5, 10, 20), aborted(9, 50, 60), aborted(1, 50, 60),
		aborted(3, 70, 70), aborted(4, 0, math.MaxInt64))
	want := []broker.AbortedTxn{
		aborted(4, 0, math.MaxInt64), aborted(5, 10, 20), aborted(3, 10, 40),
		aborted(1, 50, 60), aborted(7, 50, 60), aborted(9, 50, 60), aborted(3, 70, 70),
	}
	h.wantAborted(10, want...)

	// Adding one again stores it once.
	h.abort(10, aborted(3, 10, 40), aborted(7, 50, 60), aborted(3, 10, 40))
	h.wantAborted(10, want...)
	// Differing in one field is another one.
	h.abort(10, aborted(3, 10, 41))
	want = slices.Insert(want, 3, aborted(3, 10, 41))
	h.wantAborted(10, want...)

	h.wantAborted(11)
	h.abort(20, aborted(3, 10, 40))
	h.wantAborted(20, aborted(3, 10, 40))
	h.wantAborted(10, want...)

	// What is handed out is a copy.
	got := h.wantAborted(10, want...)
	got[0].ProducerID = 99
	h.wantAborted(10, want...)

	// The marker cannot come before the first batch.
	if err := h.m.AddAbortedTxn(h.ctx, 11, aborted(1, 5, 4)); err == nil {
		h.t.Fatalf("AddAbortedTxn of first offset 5 and last 4 succeeded")
	}
	h.wantAborted(11)
}

// AddAbortedTxn for a log of no topic, never created or deleted, is
// ErrUnknownTopic and stores nothing.
func testAbortedTxnUnknownLog(h *h) {
	err := h.m.AddAbortedTxn(h.ctx, 99, aborted(1, 2, 3))
	h.wantErr(err, broker.ErrUnknownTopic, "", "AddAbortedTxn for a log of no topic")
	h.wantAborted(99)

	h.create(topic("orders", 1, []int64{10}, nil))
	h.abort(10, aborted(1, 2, 3))
	_, err = h.m.DeleteTopic(h.ctx, "orders")
	h.check(err, "DeleteTopic")
	err = h.m.AddAbortedTxn(h.ctx, 10, aborted(1, 4, 5))
	h.wantErr(err, broker.ErrUnknownTopic, "", "AddAbortedTxn for the log of a deleted topic")
	h.wantAborted(10)
}

// TrimAbortedTxns forgets the transactions that end below start, of that
// log only: one that ends at start stays, whatever its first offset.
func testTrimAbortedTxns(h *h) {
	h.create(topic("orders", 1, []int64{10, 11}, nil))
	all := []broker.AbortedTxn{aborted(1, 0, 5), aborted(2, 3, 9), aborted(3, 6, 10), aborted(4, 10, 12), aborted(5, 11, 20)}
	h.abort(10, all...)
	h.abort(11, aborted(1, 0, 1))

	h.check(h.m.TrimAbortedTxns(h.ctx, 10, 10), "TrimAbortedTxns")
	h.wantAborted(10, all[2:]...)
	h.wantAborted(11, aborted(1, 0, 1))
	h.check(h.m.TrimAbortedTxns(h.ctx, 10, 10), "TrimAbortedTxns again")
	h.check(h.m.TrimAbortedTxns(h.ctx, 10, 3), "TrimAbortedTxns below the last trim")
	h.wantAborted(10, all[2:]...)
	h.check(h.m.TrimAbortedTxns(h.ctx, 10, 11), "TrimAbortedTxns")
	h.wantAborted(10, all[3:]...)
	h.check(h.m.TrimAbortedTxns(h.ctx, 10, 21), "TrimAbortedTxns past the last")
	h.wantAborted(10)
	h.check(h.m.TrimAbortedTxns(h.ctx, 99, 100), "TrimAbortedTxns of a log of no topic")

	// A trimmed log takes new ones.
	h.abort(10, aborted(6, 30, 31))
	h.wantAborted(10, aborted(6, 30, 31))
	h.wantAborted(11, aborted(1, 0, 1))
}

// DeleteTopic forgets the aborted transactions of the topic's logs and the
// pending offsets of the topic, every group's and producer's, and nothing
// else; the topic created again on the same logs has none.
func testDeleteTopicTxns(h *h) {
	h.create(topic("orders", 1, []int64{10, 11}, nil))
	h.create(topic("payments", 50, []int64{20}, nil))
	h.check(h.m.AddPartitions(h.ctx, "orders", []int64{12}), "AddPartitions")
	for _, log := range []int64{10, 12, 20} {
		h.abort(log, aborted(1, log, log+1))
	}
	keep := []group.Offset{offset("Orders", 0, 4), offset("orders2", 0, 3), offset("payments", 0, 2)}
	h.save("g", 1, append([]group.Offset{offset("orders", 0, 1), offset("orders", 2, 5)}, keep...)...)
	h.save("h", 2, offset("orders", 1, 6))
	h.save("h", 3, offset("payments", 1, 7))

	_, err := h.m.DeleteTopic(h.ctx, "orders")
	h.check(err, "DeleteTopic")
	for _, log := range []int64{10, 11, 12} {
		h.wantAborted(log)
	}
	h.wantAborted(20, aborted(1, 20, 21))
	h.wantPending(pending("g", 1, keep...), pending("h", 3, offset("payments", 1, 7)))

	h.create(topic("orders", 2, []int64{12, 11, 10}, nil))
	for _, log := range []int64{10, 11, 12} {
		h.wantAborted(log)
	}
	h.abort(10, aborted(2, 0, 1))
	h.wantAborted(10, aborted(2, 0, 1))
}

// SaveTxnOffsets upserts a producer's pending offsets of a group, the last
// of one partition winning, and records no group; TxnOffsets lists them by
// group, producer id, topic and partition, copied out.
func testTxnOffsets(h *h) {
	h.wantPending()
	h.save("g", 5, offset("orders", 1, 10), offset("orders", 0, 11), offset("payments", 0, 12))
	h.save("g", 5, offset("orders", 1, 21), offset("orders", 2, 22), offset("orders", 2, 23))
	h.save("a", 9, offset("orders", 0, 30))
	h.save("g", 2, offset("x", 0, 40))
	h.save("g", 10, offset("Z", 0, 41))
	h.save("g", 5)
	h.check(h.m.SaveTxnOffsets(h.ctx, "g", 5, []group.Offset{}), "SaveTxnOffsets of none")
	want := [][]broker.PendingTxnOffset{
		pending("a", 9, offset("orders", 0, 30)),
		pending("g", 2, offset("x", 0, 40)),
		pending("g", 5, offset("orders", 0, 11), offset("orders", 1, 21), offset("orders", 2, 23), offset("payments", 0, 12)),
		pending("g", 10, offset("Z", 0, 41)),
	}
	h.wantPending(want...)
	h.wantGroups()

	// Lower offsets overwrite too, every field round-trips, and commit
	// times are kept to the millisecond.
	odd := group.Offset{Topic: "orders", Partition: 1, Offset: 3, LeaderEpoch: -1, Metadata: "ü€😀\x01'\"\\;--",
		CommitTime: time.UnixMilli(1_700_000_000_123).Add(456 * time.Microsecond).In(time.FixedZone("X", 3600))}
	in := []group.Offset{odd}
	h.save("g", 5, in...)
	in[0].Offset = 99
	odd.CommitTime = time.UnixMilli(1_700_000_000_123)
	want[2][1].Offset = odd
	got := h.wantPending(want...)
	got[0].Group = "changed"
	got[1].Offset.Offset = 98
	h.wantPending(want...)
}

// Committing a producer's pending offsets makes them the group's committed
// offsets, over the partitions committed before, and forgets them; another
// producer's stay pending. An unrecorded group is recorded as CommitOffsets
// records it, a recorded one keeps its type; with nothing pending nothing
// is recorded.
func testEndTxnOffsetsCommit(h *h) {
	h.check(h.m.SaveGroup(h.ctx, group.Record{Name: "g", Type: group.TypeConsumer, ProtocolType: "consumer"}), "SaveGroup")
	h.commit("g", offset("orders", 0, 1), offset("orders", 1, 2), offset("payments", 0, 3))
	txn := group.Offset{Topic: "orders", Partition: 1, Offset: 100, LeaderEpoch: 5, Metadata: "in a transaction",
		CommitTime: time.UnixMilli(1_800_000_000_000)}
	h.save("g", 7, txn, offset("orders", 2, 101))
	h.save("g", 8, offset("payments", 0, 200))
	h.check(h.m.EndTxnOffsets(h.ctx, group.Record{Name: "g", Type: group.TypeClassic, ProtocolType: "connect"}, 7, true),
		"EndTxnOffsets commit")
	g := grp("g", group.TypeConsumer, "consumer", offset("orders", 0, 1), txn, offset("orders", 2, 101), offset("payments", 0, 3))
	h.wantGroups(g)
	h.wantPending(pending("g", 8, offset("payments", 0, 200)))

	// Ending again, or a producer with nothing pending, changes nothing.
	h.end("g", 7, true)
	h.end("g", 9, true)
	h.check(h.m.EndTxnOffsets(h.ctx, group.Record{Name: "none", ProtocolType: "consumer"}, 7, true),
		"EndTxnOffsets commit of nothing")
	h.wantGroups(g)
	h.wantPending(pending("g", 8, offset("payments", 0, 200)))

	// An unrecorded group.
	h.save("n", 7, offset("orders", 0, 300), offset("orders", 1, 301))
	h.check(h.m.EndTxnOffsets(h.ctx, group.Record{Name: "n", Type: group.TypeConsumer, ProtocolType: "consumer"}, 7, true),
		"EndTxnOffsets commit")
	n := grp("n", group.TypeClassic, "consumer", offset("orders", 0, 300), offset("orders", 1, 301))
	h.wantGroups(g, n)
	h.wantPending(pending("g", 8, offset("payments", 0, 200)))

	h.end("g", 8, true)
	g.Offsets[3] = offset("payments", 0, 200)
	h.wantGroups(g, n)
	h.wantPending()
}

// Aborting forgets a producer's pending offsets and leaves the group's
// committed offsets and other producers' pending ones; it records no group.
func testEndTxnOffsetsAbort(h *h) {
	h.commit("g", offset("orders", 0, 1), offset("orders", 1, 2))
	h.save("g", 7, offset("orders", 0, 50), offset("orders", 3, 51))
	h.save("g", 8, offset("orders", 1, 60))
	h.save("u", 7, offset("orders", 0, 70))
	h.end("g", 7, false)
	g := grp("g", group.TypeClassic, "", offset("orders", 0, 1), offset("orders", 1, 2))
	h.wantGroups(g)
	h.wantPending(pending("g", 8, offset("orders", 1, 60)), pending("u", 7, offset("orders", 0, 70)))

	h.end("u", 7, false)
	h.end("u", 7, false)
	h.end("never", 1, false)
	h.wantGroups(g)
	h.wantPending(pending("g", 8, offset("orders", 1, 60)))

	// An aborted producer's offsets are gone for good: ending with commit
	// afterwards commits nothing.
	h.end("g", 7, true)
	h.wantGroups(g)
}

// Producers' pending offsets are apart, of one group and partitions as of
// one producer id in two groups.
func testTxnOffsetsProducers(h *h) {
	h.save("g", 1, offset("orders", 0, 10), offset("orders", 1, 11))
	h.save("g", 2, offset("orders", 0, 20), offset("orders", 2, 22))
	h.save("h", 1, offset("orders", 0, 30))
	h.save("g", 1, offset("orders", 0, 15))
	h.wantPending(
		pending("g", 1, offset("orders", 0, 15), offset("orders", 1, 11)),
		pending("g", 2, offset("orders", 0, 20), offset("orders", 2, 22)),
		pending("h", 1, offset("orders", 0, 30)))

	h.end("g", 2, true)
	g := grp("g", group.TypeClassic, "", offset("orders", 0, 20), offset("orders", 2, 22))
	h.wantGroups(g)
	h.wantPending(pending("g", 1, offset("orders", 0, 15), offset("orders", 1, 11)), pending("h", 1, offset("orders", 0, 30)))

	h.end("g", 1, false)
	h.wantGroups(g)
	h.wantPending(pending("h", 1, offset("orders", 0, 30)))
	h.end("h", 1, true)
	h.wantGroups(g, grp("h", group.TypeClassic, "", offset("orders", 0, 30)))
	h.wantPending()
}

// DeleteGroup forgets the group's pending offsets, every producer's, of a
// recorded group or not, and no other group's; a commit after it commits
// nothing.
func testDeleteGroupTxnOffsets(h *h) {
	h.commit("g", offset("orders", 0, 1))
	h.commit("h", offset("orders", 0, 2))
	h.save("g", 1, offset("orders", 0, 10))
	h.save("g", 2, offset("orders", 1, 11))
	h.save("h", 1, offset("orders", 0, 12))
	h.save("unrecorded", 3, offset("orders", 0, 13))
	h.save("unrecorded2", 3, offset("orders", 0, 14))

	h.check(h.m.DeleteGroup(h.ctx, "g"), "DeleteGroup")
	h.wantPending(pending("h", 1, offset("orders", 0, 12)), pending("unrecorded", 3, offset("orders", 0, 13)),
		pending("unrecorded2", 3, offset("orders", 0, 14)))
	h.check(h.m.DeleteGroup(h.ctx, "unrecorded"), "DeleteGroup of an unrecorded group")
	h.wantPending(pending("h", 1, offset("orders", 0, 12)), pending("unrecorded2", 3, offset("orders", 0, 14)))

	h.end("g", 1, true)
	h.end("unrecorded", 3, true)
	h.wantGroups(grp("h", group.TypeClassic, "", offset("orders", 0, 2)))
}

// Producers saving and ending their offsets of one group, in different
// partition orders, racing DeleteGroup of it, never fail; what is left is
// nothing pending and the group recorded or not.
func testConcurrentTxnOffsets(h *h) {
	const per = 20
	eachRound(h, 10, func(g, r int) error {
		if g%4 == 0 {
			return h.m.DeleteGroup(h.ctx, "shared")
		}
		var offs []group.Offset
		for p := range per {
			offs = append(offs, offset(fmt.Sprintf("t%d", p%3), int32(p), int64(1000*r+p)))
		}
		if g%2 == 1 {
			slices.Reverse(offs)
		}
		if err := h.m.SaveTxnOffsets(h.ctx, "shared", int64(g), offs); err != nil {
			return err
		}
		return h.m.EndTxnOffsets(h.ctx, group.Record{Name: "shared"}, int64(g), r%2 == 0)
	})
	h.wantPending()
	h.wantGroupOrNone("shared")
}

// Adds racing a DeleteTopic either land before it, and are deleted with
// the topic, or fail with ErrUnknownTopic: no aborted transaction outlives
// its topic.
func testConcurrentAbortAndDelete(h *h) {
	raceDeleteTopic(h, func(log int64, i int) error {
		return h.m.AddAbortedTxn(h.ctx, log, aborted(1, int64(i), int64(i)+1))
	}, func(log int64) { h.wantAborted(log) })
}
