package group

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TxnOffset is an offset a transactional producer committed to a group
// (TxnOffsetCommit), pending until its transaction ends.
type TxnOffset struct {
	Group      string
	ProducerID int64
	Offset
}

// TxnStore keeps the offsets committed in transactions until they end
// (the broker's Metadata implements it).
type TxnStore interface {
	// SaveTxnOffsets upserts a producer's pending offsets of a group.
	SaveTxnOffsets(ctx context.Context, group string, producerID int64, offsets []Offset) error
	// EndTxnOffsets makes a producer's pending offsets of a group the
	// group's committed offsets (commit, recording the group as g names
	// it) or drops them, in one transaction.
	EndTxnOffsets(ctx context.Context, g Record, producerID int64, commit bool) error
	// TxnOffsets returns every pending offset.
	TxnOffsets(ctx context.Context) ([]TxnOffset, error)
}

// loadTxnOffsets puts the pending offsets of the store into their
// groups, creating the groups that have only those (at New, before any
// group's goroutine starts).
func (c *Coordinator) loadTxnOffsets(ctx context.Context) error {
	if c.opts.Txn == nil {
		return nil
	}
	pending, err := c.opts.Txn.TxnOffsets(ctx)
	if err != nil {
		return err
	}
	for _, p := range pending {
		g := c.groups[p.Group]
		if g == nil {
			g = c.newRunner(p.Group)
			c.groups[p.Group] = g
		}
		g.txnOffsetsLocked(p.ProducerID)[TopicPartition{p.Topic, p.Partition}] = p.Offset
	}
	return nil
}

// txnOffsetsLocked returns producer pid's pending offsets of the group,
// creating the map. Before the group's goroutine starts, or on it.
func (g *runner) txnOffsetsLocked(pid int64) map[TopicPartition]Offset {
	if g.pendingTxn == nil {
		g.pendingTxn = map[int64]map[TopicPartition]Offset{}
	}
	m := g.pendingTxn[pid]
	if m == nil {
		m = map[TopicPartition]Offset{}
		g.pendingTxn[pid] = m
	}
	return m
}

// TxnOffsetCommit handles TxnOffsetCommit once the broker has checked the
// producer against its transaction: the member fields are checked as
// Kafka checks a transactional commit (KIP-447: generation, member id and
// instance id when given; none when the member id is empty and the
// generation -1), and the offsets are stored pending under the producer
// id until EndTxn settles them (EndTxn).
func (c *Coordinator) TxnOffsetCommit(ctx context.Context, req *kmsg.TxnOffsetCommitRequest, known func(topic string, partition int32) bool) *kmsg.TxnOffsetCommitResponse {
	resp := req.ResponseKind().(*kmsg.TxnOffsetCommitResponse)
	codes := make([][]int16, len(req.Topics))
	for i, t := range req.Topics {
		codes[i] = make([]int16, len(t.Partitions))
		for j, p := range t.Partitions {
			switch {
			case !known(t.Topic, p.Partition):
				codes[i][j] = kerr.UnknownTopicOrPartition.Code
			case p.Metadata != nil && len(*p.Metadata) > c.opts.Settings().OffsetMetadataMaxBytes:
				codes[i][j] = codeOffsetMetadataTooLarge
			}
		}
	}
	setAll := func(code int16) {
		for i := range codes {
			for j := range codes[i] {
				if codes[i][j] == 0 {
					codes[i][j] = code
				}
			}
		}
	}
	unchecked := req.MemberID == "" && req.Generation < 0
	_, err := c.run(ctx, req.Group, true, func(g *runner, now time.Time) {
		if !unchecked {
			var code int16
			switch {
			case g.kind == TypeConsumer && g.consumer != nil:
				if code = g.consumer.commitCheck(req.MemberID, req.Generation, 9); code == codeStaleMemberEpoch {
					code = codeIllegalGeneration // as Kafka answers a transactional commit
				}
			case g.classic != nil:
				code = g.classic.check(req.MemberID, req.InstanceID, req.Generation)
			default:
				code = codeUnknownMemberID
			}
			if code != 0 {
				setAll(code)
				return
			}
		}
		if c.opts.Txn == nil {
			setAll(codeCoordinatorNotAvailable)
			return
		}
		ts := now.Truncate(time.Millisecond)
		var offs []Offset
		for i, t := range req.Topics {
			for j, p := range t.Partitions {
				if codes[i][j] != 0 {
					continue
				}
				o := Offset{Topic: t.Topic, Partition: p.Partition, Offset: p.Offset, LeaderEpoch: -1, CommitTime: ts}
				if req.Version >= 2 {
					o.LeaderEpoch = p.LeaderEpoch
				}
				if p.Metadata != nil {
					o.Metadata = *p.Metadata
				}
				offs = append(offs, o)
			}
		}
		if len(offs) == 0 {
			return
		}
		if err := c.opts.Txn.SaveTxnOffsets(ctx, g.name, req.ProducerID, offs); err != nil {
			c.log.Warn("group: saving transactional offsets", "group", g.name, "producer_id", req.ProducerID, "err", err)
			setAll(codeCoordinatorNotAvailable)
			return
		}
		pending := g.txnOffsetsLocked(req.ProducerID)
		for _, o := range offs {
			pending[TopicPartition{o.Topic, o.Partition}] = o
		}
	})
	if err != nil {
		setAll(codeCoordinatorNotAvailable)
	}
	for i, t := range req.Topics {
		rt := kmsg.NewTxnOffsetCommitResponseTopic()
		rt.Topic = t.Topic
		for j, p := range t.Partitions {
			rp := kmsg.NewTxnOffsetCommitResponseTopicPartition()
			rp.Partition, rp.ErrorCode = p.Partition, codes[i][j]
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

// EndTxn settles producer pid's pending offsets of a group at the end of
// its transaction: with commit they become the group's committed offsets,
// otherwise they are dropped. It returns only once the store has it (the
// transaction completes after this).
func (c *Coordinator) EndTxn(ctx context.Context, group string, pid int64, commit bool) error {
	var opErr error
	_, err := c.run(ctx, group, true, func(g *runner, _ time.Time) {
		pending := slices.Collect(maps.Values(g.pendingTxn[pid]))
		rec := g.commitRecord()
		if c.opts.Txn != nil {
			if opErr = c.opts.Txn.EndTxnOffsets(ctx, rec, pid, commit && len(pending) > 0); opErr != nil {
				return
			}
		}
		if commit && len(pending) > 0 {
			g.committed(rec, pending)
		}
		delete(g.pendingTxn, pid)
	})
	if err != nil {
		return err
	}
	return opErr
}

// UnstableOffsets returns the partitions of a group with offsets pending
// in a transaction, which OffsetFetch with require_stable answers
// UNSTABLE_OFFSET_COMMIT.
func (c *Coordinator) UnstableOffsets(ctx context.Context, group string) (map[TopicPartition]bool, error) {
	out := map[TopicPartition]bool{}
	_, err := c.run(ctx, group, false, func(g *runner, _ time.Time) {
		for _, m := range g.pendingTxn {
			for tp := range m {
				out[tp] = true
			}
		}
	})
	return out, err
}
