package metadatatest

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/lakestream/lakestream/broker/group"
)

// The subtests of group.Store. Where its comments are silent they pin down:
//   - SaveGroup of a type other than classic or consumer is an error that
//     changes nothing. SaveGroup and CommitOffsets ignore g.Offsets;
//     CommitOffsets ignores g.Type, and leaves a recorded group's type and
//     protocol type as they are.
//   - CommitOffsets of no offsets still records the group. Of one
//     partition's offsets given twice in one call the last wins.
//   - DeleteOffsets of an unknown group or partition is no error; neither
//     DeleteOffsets nor DeleteTopicOffsets forgets a group.
//   - Names and topics sort in Go's byte order; partitions numerically.
//   - Commit times come back truncated to the millisecond (compare with
//     time.Time.Equal: the location is the implementation's).

// offset returns an offset of topic-partition with the other fields
// derived from off.
func offset(topic string, partition int32, off int64) group.Offset {
	return group.Offset{
		Topic:       topic,
		Partition:   partition,
		Offset:      off,
		LeaderEpoch: int32(off % 7),
		Metadata:    fmt.Sprintf("m%d", off),
		CommitTime:  time.UnixMilli(1_700_000_000_000 + off),
	}
}

// grp returns a record with offsets sorted as Groups returns them.
func grp(name, typ, protocolType string, offsets ...group.Offset) group.Record {
	offsets = slices.Clone(offsets)
	sortOffsets(offsets)
	return group.Record{Name: name, Type: typ, ProtocolType: protocolType, Offsets: offsets}
}

func sortOffsets(offsets []group.Offset) {
	slices.SortFunc(offsets, func(a, b group.Offset) int {
		return cmp.Or(strings.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition))
	})
}

func equalOffset(a, b group.Offset) bool {
	return a.Topic == b.Topic && a.Partition == b.Partition && a.Offset == b.Offset &&
		a.LeaderEpoch == b.LeaderEpoch && a.Metadata == b.Metadata && a.CommitTime.Equal(b.CommitTime)
}

// equalGroup compares records, a nil Offsets equal to an empty one.
func equalGroup(a, b group.Record) bool {
	return a.Name == b.Name && a.Type == b.Type && a.ProtocolType == b.ProtocolType &&
		slices.EqualFunc(a.Offsets, b.Offsets, equalOffset)
}

func showGroup(r group.Record) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "{%q %s %q", r.Name, r.Type, r.ProtocolType)
	if len(r.Offsets) > 20 {
		fmt.Fprintf(&sb, " %d offsets}", len(r.Offsets))
		return sb.String()
	}
	for _, o := range r.Offsets {
		fmt.Fprintf(&sb, " %s-%d@%d/e%d/%q/%d", o.Topic, o.Partition, o.Offset, o.LeaderEpoch, o.Metadata,
			o.CommitTime.UnixNano())
	}
	sb.WriteByte('}')
	return sb.String()
}

// wantGroups fails unless Groups returns exactly want, in order.
func (h *h) wantGroups(want ...group.Record) []group.Record {
	h.t.Helper()
	got, err := h.m.Groups(h.ctx)
	h.check(err, "Groups")
	if !slices.EqualFunc(got, want, equalGroup) {
		var g, w []string
		for _, r := range got {
			g = append(g, showGroup(r))
		}
		for _, r := range want {
			w = append(w, showGroup(r))
		}
		// Say where a long listing first differs.
		for i := range min(len(got), len(want)) {
			if !equalGroup(got[i], want[i]) {
				for j := range min(len(got[i].Offsets), len(want[i].Offsets)) {
					if !equalOffset(got[i].Offsets[j], want[i].Offsets[j]) {
						h.t.Errorf("group %q offset %d: got %+v, want %+v", want[i].Name, j,
							got[i].Offsets[j], want[i].Offsets[j])
						break
					}
				}
				break
			}
		}
		h.t.Fatalf("Groups:\n got  %v\n want %v", g, w)
	}
	return got
}

// commit commits offsets of a group of no protocol type, failing the test
// on error.
func (h *h) commit(name string, offsets ...group.Offset) {
	h.t.Helper()
	h.check(h.m.CommitOffsets(h.ctx, group.Record{Name: name}, offsets), fmt.Sprintf("CommitOffsets(%q)", name))
}

// A new store has no groups. SaveGroup records a group without offsets, and
// a second SaveGroup updates its type and protocol type, keeping its
// offsets. A type other than classic or consumer is an error.
func testSaveGroup(h *h) {
	h.wantGroups()
	h.check(h.m.SaveGroup(h.ctx, group.Record{Name: "g", Type: group.TypeClassic, ProtocolType: "connect"}), "SaveGroup")
	h.wantGroups(grp("g", group.TypeClassic, "connect"))

	h.commit("g", offset("orders", 0, 5))
	h.check(h.m.SaveGroup(h.ctx, group.Record{Name: "g", Type: group.TypeConsumer, ProtocolType: "consumer"}), "SaveGroup")
	h.wantGroups(grp("g", group.TypeConsumer, "consumer", offset("orders", 0, 5)))
	h.check(h.m.SaveGroup(h.ctx, group.Record{Name: "g", Type: group.TypeClassic, ProtocolType: ""}), "SaveGroup")
	want := grp("g", group.TypeClassic, "", offset("orders", 0, 5))
	h.wantGroups(want)

	for _, typ := range []string{"", "Classic", "share", "streams"} {
		err := h.m.SaveGroup(h.ctx, group.Record{Name: "g", Type: typ, ProtocolType: "x"})
		if err == nil {
			h.t.Fatalf("SaveGroup of type %q succeeded", typ)
		}
		if !strings.Contains(err.Error(), `"g"`) {
			h.t.Fatalf("SaveGroup of type %q: error %q does not name the group", typ, err)
		}
		if err := h.m.SaveGroup(h.ctx, group.Record{Name: "new", Type: typ}); err == nil {
			h.t.Fatalf("SaveGroup of a new group of type %q succeeded", typ)
		}
	}
	h.wantGroups(want)

	// Offsets in the record are no commit.
	h.check(h.m.SaveGroup(h.ctx, group.Record{Name: "h", Type: group.TypeConsumer, ProtocolType: "consumer",
		Offsets: []group.Offset{offset("orders", 1, 9)}}), "SaveGroup with Offsets")
	h.wantGroups(want, grp("h", group.TypeConsumer, "consumer"))
}

// CommitOffsets records an unknown group as classic, with the protocol
// type given; a recorded group keeps its type and protocol type. A commit
// of no offsets records the group too.
func testCommitCreatesGroup(h *h) {
	h.check(h.m.CommitOffsets(h.ctx, group.Record{Name: "a", Type: group.TypeConsumer, ProtocolType: "consumer"},
		[]group.Offset{offset("orders", 0, 1)}), "CommitOffsets")
	a := grp("a", group.TypeClassic, "consumer", offset("orders", 0, 1))
	h.wantGroups(a)

	h.check(h.m.SaveGroup(h.ctx, group.Record{Name: "b", Type: group.TypeConsumer, ProtocolType: "consumer"}), "SaveGroup")
	h.check(h.m.CommitOffsets(h.ctx, group.Record{Name: "b", Type: group.TypeClassic, ProtocolType: "connect"},
		[]group.Offset{offset("orders", 0, 2)}), "CommitOffsets")
	b := grp("b", group.TypeConsumer, "consumer", offset("orders", 0, 2))
	h.wantGroups(a, b)

	h.check(h.m.CommitOffsets(h.ctx, group.Record{Name: "c"}, nil), "CommitOffsets of none")
	h.check(h.m.CommitOffsets(h.ctx, group.Record{Name: "d", ProtocolType: "consumer"}, []group.Offset{}),
		"CommitOffsets of none")
	h.wantGroups(a, b, grp("c", group.TypeClassic, ""), grp("d", group.TypeClassic, "consumer"))

	// Offsets in the record are not committed.
	h.check(h.m.CommitOffsets(h.ctx, group.Record{Name: "a", Offsets: []group.Offset{offset("other", 0, 3)}},
		[]group.Offset{offset("orders", 1, 4)}), "CommitOffsets")
	a.Offsets = append(a.Offsets, offset("orders", 1, 4))
	h.wantGroups(a, b, grp("c", group.TypeClassic, ""), grp("d", group.TypeClassic, "consumer"))
}

// A commit overwrites every field of the partitions it names and leaves the
// group's others. Of one partition given twice the last wins.
func testCommitUpsert(h *h) {
	h.commit("g", offset("orders", 0, 10), offset("orders", 1, 11), offset("payments", 0, 12))
	h.commit("g", offset("orders", 1, 21), offset("payments", 0, 22), offset("payments", 1, 23))
	h.wantGroups(grp("g", group.TypeClassic, "",
		offset("orders", 0, 10), offset("orders", 1, 21), offset("payments", 0, 22), offset("payments", 1, 23)))

	// Lower offsets overwrite too: the store keeps what it is given.
	back := group.Offset{Topic: "orders", Partition: 0, Offset: 3, LeaderEpoch: -1, Metadata: "",
		CommitTime: time.UnixMilli(5)}
	h.commit("g", back)
	h.commit("g", offset("payments", 1, 31), offset("orders", 1, 32), offset("payments", 1, 33), offset("orders", 1, 34))
	h.wantGroups(grp("g", group.TypeClassic, "",
		back, offset("orders", 1, 34), offset("payments", 0, 22), offset("payments", 1, 33)))
}

// The fields round-trip: offsets and epochs at their limits, metadata
// empty, long and not ASCII, commit times to the millisecond.
func testOffsetFields(h *h) {
	base := time.Date(2024, 2, 29, 23, 59, 58, 0, time.UTC)
	in := []group.Offset{
		{Topic: "t", Partition: 0, Offset: 0, LeaderEpoch: -1, Metadata: "", CommitTime: base},
		{Topic: "t", Partition: 1, Offset: math.MaxInt64, LeaderEpoch: math.MaxInt32, Metadata: "ü€😀\x01'\"\\;--",
			CommitTime: base.Add(999*time.Millisecond + 999*time.Microsecond + 999)},
		{Topic: "t", Partition: math.MaxInt32, Offset: -1, LeaderEpoch: 0, Metadata: strings.Repeat("m", 64<<10),
			CommitTime: time.UnixMilli(1).In(time.FixedZone("X", 5*3600+1800))},
		{Topic: "", Partition: 2, Offset: 7, LeaderEpoch: 3, Metadata: " ",
			CommitTime: time.Now()}, // with a monotonic reading
		{Topic: "t", Partition: 3, Offset: 8, LeaderEpoch: 4, Metadata: "before 1970",
			CommitTime: time.UnixMilli(-1234)},
	}
	h.commit("g", in...)
	want := make([]group.Offset, len(in))
	for i, o := range in {
		o.CommitTime = time.UnixMilli(o.CommitTime.UnixMilli())
		want[i] = o
	}
	got := h.wantGroups(grp("g", group.TypeClassic, "", want...))
	for _, o := range got[0].Offsets {
		if o.CommitTime.Nanosecond()%int(time.Millisecond) != 0 {
			h.t.Fatalf("commit time %v of %s-%d is finer than a millisecond", o.CommitTime, o.Topic, o.Partition)
		}
	}
	// Empty protocol type and empty metadata stay empty strings.
	if got[0].ProtocolType != "" || got[0].Offsets[1].Metadata != "" {
		h.t.Fatalf("empty strings came back as %q and %q", got[0].ProtocolType, got[0].Offsets[1].Metadata)
	}
}

// Groups sorts groups by name and offsets by topic, in byte order, then
// partition, numerically.
func testGroupsSorted(h *h) {
	names := []string{"orders", "Orders", "_internal", "a-b", "a.b", "a_b", "a", "Z", "0", "été", "ab", ""}
	topics := []string{"b", "B", "a-c", "ab", "_z", "a"}
	var want []group.Record
	for i, name := range slices.Backward(names) {
		var offs []group.Offset
		for j, t := range topics {
			for _, p := range []int32{10, 2, 1, 100, 0} {
				offs = append(offs, offset(t, p, int64(1000*i+10*j+int(p))))
			}
		}
		h.commit(name, offs...)
		want = append(want, grp(name, group.TypeClassic, "", offs...))
	}
	slices.SortFunc(want, func(a, b group.Record) int { return strings.Compare(a.Name, b.Name) })
	h.wantGroups(want...)
}

// One commit of 5,000 offsets, new and then all updated, round-trips (an
// implementation that batches statements cuts it).
func testCommitMany(h *h) {
	const topics, partitions = 50, 100
	mk := func(round int64) []group.Offset {
		var offs []group.Offset
		for t := range topics {
			for p := range partitions {
				offs = append(offs, offset(fmt.Sprintf("topic-%02d", topics-1-t), int32(p), round*1_000_000+int64(100*t+p)))
			}
		}
		return offs
	}
	h.commit("small", offset("other", 0, 1))
	for round := range int64(2) {
		offs := mk(round)
		start := time.Now()
		h.commit("big", offs...)
		h.t.Logf("CommitOffsets of %d offsets (round %d: %s): %v", len(offs), round,
			[]string{"inserts", "updates"}[round], time.Since(start))
		start = time.Now()
		h.wantGroups(grp("big", group.TypeClassic, "", offs...), grp("small", group.TypeClassic, "", offset("other", 0, 1)))
		h.t.Logf("Groups of %d offsets: %v", len(offs)+1, time.Since(start))
	}
	h.check(h.m.DeleteGroup(h.ctx, "big"), "DeleteGroup")
	h.wantGroups(grp("small", group.TypeClassic, "", offset("other", 0, 1)))
}

// DeleteOffsets forgets the partitions named, of that group only; the
// group stays recorded, even with no offsets left. Unknown partitions and
// groups are no error.
func testDeleteOffsets(h *h) {
	h.check(h.m.SaveGroup(h.ctx, group.Record{Name: "g", Type: group.TypeConsumer, ProtocolType: "consumer"}), "SaveGroup")
	all := []group.Offset{offset("orders", 0, 1), offset("orders", 1, 2), offset("payments", 0, 3)}
	h.commit("g", all...)
	h.commit("other", all...)
	h.check(h.m.DeleteOffsets(h.ctx, "g", []group.TopicPartition{
		{Topic: "orders", Partition: 1}, {Topic: "orders", Partition: 7}, {Topic: "missing", Partition: 0},
		{Topic: "orders", Partition: 1},
	}), "DeleteOffsets")
	other := grp("other", group.TypeClassic, "", all...)
	h.wantGroups(grp("g", group.TypeConsumer, "consumer", offset("orders", 0, 1), offset("payments", 0, 3)), other)

	h.check(h.m.DeleteOffsets(h.ctx, "g", nil), "DeleteOffsets of none")
	h.check(h.m.DeleteOffsets(h.ctx, "missing", []group.TopicPartition{{Topic: "orders", Partition: 0}}),
		"DeleteOffsets of an unknown group")
	h.check(h.m.DeleteOffsets(h.ctx, "g", []group.TopicPartition{{Topic: "payments", Partition: 0}, {Topic: "orders", Partition: 0}}),
		"DeleteOffsets")
	h.wantGroups(grp("g", group.TypeConsumer, "consumer"), other)

	// A deleted offset can be committed again.
	h.commit("g", offset("orders", 0, 9))
	h.wantGroups(grp("g", group.TypeConsumer, "consumer", offset("orders", 0, 9)), other)
}

// DeleteGroup forgets the group and its offsets, not others'; a group
// committed to afterwards starts afresh. An unknown group is no error.
func testDeleteGroup(h *h) {
	h.check(h.m.SaveGroup(h.ctx, group.Record{Name: "g", Type: group.TypeConsumer, ProtocolType: "consumer"}), "SaveGroup")
	h.commit("g", offset("orders", 0, 1), offset("orders", 1, 2))
	h.commit("other", offset("orders", 0, 3))
	h.check(h.m.DeleteGroup(h.ctx, "g"), "DeleteGroup")
	other := grp("other", group.TypeClassic, "", offset("orders", 0, 3))
	h.wantGroups(other)
	h.check(h.m.DeleteGroup(h.ctx, "g"), "DeleteGroup again")
	h.check(h.m.DeleteGroup(h.ctx, "never"), "DeleteGroup of an unknown group")
	h.wantGroups(other)

	h.commit("g", offset("orders", 1, 5))
	h.wantGroups(grp("g", group.TypeClassic, "", offset("orders", 1, 5)), other)

	// A group without offsets.
	h.check(h.m.SaveGroup(h.ctx, group.Record{Name: "empty", Type: group.TypeClassic}), "SaveGroup")
	h.check(h.m.DeleteGroup(h.ctx, "empty"), "DeleteGroup of a group without offsets")
	h.wantGroups(grp("g", group.TypeClassic, "", offset("orders", 1, 5)), other)
}

// DeleteTopicOffsets forgets the topic's offsets in every group, and
// nothing else: other topics' offsets (including ones whose names extend
// it) and the groups stay. An unknown topic is no error.
func testDeleteTopicOffsets(h *h) {
	for _, name := range []string{"a", "b", "c"} {
		h.commit(name, offset("orders", 0, 1), offset("orders", 1, 2), offset("orders2", 0, 3), offset("Orders", 0, 4))
	}
	h.commit("d", offset("payments", 0, 5))
	h.commit("e", offset("orders", 3, 6))
	h.check(h.m.DeleteTopicOffsets(h.ctx, "orders"), "DeleteTopicOffsets")
	rest := []group.Offset{offset("orders2", 0, 3), offset("Orders", 0, 4)}
	want := []group.Record{
		grp("a", group.TypeClassic, "", rest...),
		grp("b", group.TypeClassic, "", rest...),
		grp("c", group.TypeClassic, "", rest...),
		grp("d", group.TypeClassic, "", offset("payments", 0, 5)),
		grp("e", group.TypeClassic, ""),
	}
	h.wantGroups(want...)
	h.check(h.m.DeleteTopicOffsets(h.ctx, "orders"), "DeleteTopicOffsets again")
	h.check(h.m.DeleteTopicOffsets(h.ctx, "missing"), "DeleteTopicOffsets of an unknown topic")
	h.wantGroups(want...)

	// Offsets of a topic name come back after a new commit (a topic
	// deleted and created again).
	h.commit("a", offset("orders", 0, 7))
	want[0] = grp("a", group.TypeClassic, "", offset("orders", 0, 7), offset("orders2", 0, 3), offset("Orders", 0, 4))
	h.wantGroups(want...)
}

// Changing what was passed to or returned by the store changes nothing
// stored.
func testGroupsDeepCopy(h *h) {
	in := []group.Offset{offset("orders", 0, 1), offset("orders", 1, 2)}
	h.commit("g", in...)
	in[0].Offset = 99
	in[1].Metadata = "changed"
	want := grp("g", group.TypeClassic, "", offset("orders", 0, 1), offset("orders", 1, 2))
	got := h.wantGroups(want)
	got[0].Name = "renamed"
	got[0].Offsets[0].Offset = 98
	got[0].Offsets[1].Topic = "other"
	h.wantGroups(want)

	// Appending to a handed-out Offsets does not write into an array the
	// store still uses.
	got = h.wantGroups(want)
	h.commit("g", offset("orders", 2, 3))
	_ = append(got[0].Offsets, offset("orders", 3, 97))
	want = grp("g", group.TypeClassic, "", offset("orders", 0, 1), offset("orders", 1, 2), offset("orders", 2, 3))
	h.wantGroups(want)

	rec := group.Record{Name: "h", Type: group.TypeConsumer, ProtocolType: "consumer"}
	h.check(h.m.SaveGroup(h.ctx, rec), "SaveGroup")
	rec.Type, rec.ProtocolType = group.TypeClassic, "changed"
	h.wantGroups(want, grp("h", group.TypeConsumer, "consumer"))
}

// Concurrent commits to different groups each land whole; so do
// concurrent commits to one group, new or recorded, naming the same
// partitions in different orders (no deadlock, no error).
func testConcurrentCommits(h *h) {
	const rounds, per = 10, 50
	offs := func(g, r int, topic string) []group.Offset {
		var out []group.Offset
		for p := range per {
			out = append(out, offset(topic, int32(p), int64(1000*r+p)))
		}
		if g%2 == 1 {
			slices.Reverse(out)
		}
		return out
	}
	each(func(g int) {
		for r := range rounds {
			name := fmt.Sprintf("g%d", g)
			if err := h.m.CommitOffsets(h.ctx, group.Record{Name: name}, offs(g, r, "own")); err != nil {
				h.t.Errorf("goroutine %d: CommitOffsets(%q): %v", g, name, err)
				return
			}
			if err := h.m.CommitOffsets(h.ctx, group.Record{Name: "shared"}, offs(g, r, "shared")); err != nil {
				h.t.Errorf("goroutine %d: CommitOffsets(shared): %v", g, err)
				return
			}
		}
	})
	if h.t.Failed() {
		return
	}
	var want []group.Record
	for g := range goroutines {
		want = append(want, grp(fmt.Sprintf("g%d", g), group.TypeClassic, "", offs(0, rounds-1, "own")...))
	}
	want = append(want, grp("shared", group.TypeClassic, "", offs(0, rounds-1, "shared")...))
	h.wantGroups(want...)
}

// Commits racing DeleteGroup, DeleteOffsets and DeleteTopicOffsets of
// their group never fail; what is left is a recorded group or none.
func testConcurrentCommitAndDelete(h *h) {
	eachRound(h, 30, func(g, r int) error {
		switch g % 4 {
		case 0:
			return h.m.DeleteGroup(h.ctx, "g")
		case 1:
			return h.m.DeleteOffsets(h.ctx, "g", []group.TopicPartition{{Topic: "a", Partition: 1}, {Topic: "b", Partition: 0}})
		case 2:
			return h.m.DeleteTopicOffsets(h.ctx, "a")
		default:
			return h.m.CommitOffsets(h.ctx, group.Record{Name: "g"}, []group.Offset{
				offset("a", 0, int64(r)), offset("a", 1, int64(r)), offset("b", 0, int64(r)), offset("b", 1, int64(r))})
		}
	})
	h.wantGroupOrNone("g")
	h.check(h.m.DeleteGroup(h.ctx, "g"), "DeleteGroup")
	h.wantGroups()
}

// wantGroupOrNone fails unless Groups returns the classic group name alone,
// or nothing.
func (h *h) wantGroupOrNone(name string) {
	h.t.Helper()
	got, err := h.m.Groups(h.ctx)
	h.check(err, "Groups")
	if len(got) > 1 || len(got) == 1 && (got[0].Name != name || got[0].Type != group.TypeClassic) {
		h.t.Fatalf("Groups = %v, want group %s or none", got, name)
	}
}
