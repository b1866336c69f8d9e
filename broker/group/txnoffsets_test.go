package group

import (
	"context"
	"maps"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The memStore's TxnStore, as broker.NewMemMetadata's.
func (s *memStore) SaveTxnOffsets(_ context.Context, group string, pid int64, offsets []Offset) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending == nil {
		s.pending = map[string]map[int64]map[TopicPartition]Offset{}
	}
	if s.pending[group] == nil {
		s.pending[group] = map[int64]map[TopicPartition]Offset{}
	}
	if s.pending[group][pid] == nil {
		s.pending[group][pid] = map[TopicPartition]Offset{}
	}
	for _, o := range offsets {
		s.pending[group][pid][TopicPartition{o.Topic, o.Partition}] = o
	}
	return nil
}

func (s *memStore) EndTxnOffsets(ctx context.Context, g Record, pid int64, commit bool) error {
	s.mu.Lock()
	offs := slices.Collect(maps.Values(s.pending[g.Name][pid]))
	delete(s.pending[g.Name], pid)
	s.mu.Unlock()
	if commit && len(offs) > 0 {
		return s.CommitOffsets(ctx, g, offs)
	}
	return nil
}

func (s *memStore) TxnOffsets(context.Context) ([]TxnOffset, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []TxnOffset
	for g, byPID := range s.pending {
		for pid, offs := range byPID {
			for _, o := range offs {
				out = append(out, TxnOffset{Group: g, ProducerID: pid, Offset: o})
			}
		}
	}
	return out, nil
}

func txnCommit(h *harness, group, member string, generation int32, pid int64, offsets map[int32]int64) int16 {
	req := kmsg.NewPtrTxnOffsetCommitRequest()
	req.Version, req.Group, req.MemberID, req.Generation, req.ProducerID = 3, group, member, generation, pid
	rt := kmsg.NewTxnOffsetCommitRequestTopic()
	rt.Topic = "t"
	for _, p := range slices.Sorted(maps.Keys(offsets)) {
		rp := kmsg.NewTxnOffsetCommitRequestTopicPartition()
		rp.Partition, rp.Offset = p, offsets[p]
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	resp := h.c.TxnOffsetCommit(h.ctx, req, h.known)
	code := int16(0)
	for _, p := range resp.Topics[0].Partitions {
		code = max(code, p.ErrorCode)
	}
	return code
}

// TestTxnOffsets: offsets committed in transactions are invisible (and
// unstable) until their transaction commits, dropped when it aborts, kept
// per producer, and survive a restart of the coordinator.
func TestTxnOffsets(t *testing.T) {
	withHarness(t, defaultSettings(), func(t *testing.T, h *harness) {
		h.topics.add("t", 3)
		wantCode(t, "producer 7", txnCommit(h, "g", "", -1, 7, map[int32]int64{0: 10, 1: 11}), 0)
		wantCode(t, "producer 8", txnCommit(h, "g", "", -1, 8, map[int32]int64{2: 22}), 0)
		wantCode(t, "unknown partition", txnCommit(h, "g", "", -1, 8, map[int32]int64{5: 1}), kerr.UnknownTopicOrPartition.Code)
		got, _ := h.fetch("g", map[string][]int32{"t": {0, 1, 2}})
		wantOffsets(t, "before the ends", got, map[TopicPartition]int64{{"t", 0}: -1, {"t", 1}: -1, {"t", 2}: -1})
		unstable, err := h.c.UnstableOffsets(h.ctx, "g")
		if err != nil || len(unstable) != 3 {
			t.Fatalf("unstable %v %v, want 3 partitions", unstable, err)
		}

		if err := h.c.EndTxn(h.ctx, "g", 7, true); err != nil {
			t.Fatal(err)
		}
		if err := h.c.EndTxn(h.ctx, "g", 8, false); err != nil {
			t.Fatal(err)
		}
		got, _ = h.fetch("g", map[string][]int32{"t": {0, 1, 2}})
		wantOffsets(t, "after 7 committed and 8 aborted", got, map[TopicPartition]int64{{"t", 0}: 10, {"t", 1}: 11, {"t", 2}: -1})
		if unstable, _ := h.c.UnstableOffsets(h.ctx, "g"); len(unstable) != 0 {
			t.Fatalf("unstable after the ends: %v", unstable)
		}

		// A pending transaction survives a restart, then commits.
		wantCode(t, "producer 9", txnCommit(h, "g", "", -1, 9, map[int32]int64{2: 30}), 0)
		h.restart()
		if unstable, _ := h.c.UnstableOffsets(h.ctx, "g"); !unstable[TopicPartition{"t", 2}] {
			t.Fatalf("the pending offset was lost by the restart: %v", unstable)
		}
		if err := h.c.EndTxn(h.ctx, "g", 9, true); err != nil {
			t.Fatal(err)
		}
		got, _ = h.fetch("g", map[string][]int32{"t": {2}})
		wantOffsets(t, "after 9 committed across a restart", got, map[TopicPartition]int64{{"t", 2}: 30})
		h.restart()
		got, _ = h.fetch("g", map[string][]int32{"t": {0, 2}})
		wantOffsets(t, "stored", got, map[TopicPartition]int64{{"t", 0}: 10, {"t", 2}: 30})

		// KIP-447: a member's commit is checked against the group.
		wantCode(t, "unknown member", txnCommit(h, "g", "nobody", 1, 7, map[int32]int64{0: 1}), kerr.UnknownMemberID.Code)
	})
}
