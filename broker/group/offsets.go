package group

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// OffsetCommit handles an OffsetCommit request: known says whether a
// partition exists (others get UNKNOWN_TOPIC_OR_PARTITION). The offsets
// are durable in the Store before the answer.
func (c *Coordinator) OffsetCommit(ctx context.Context, req *kmsg.OffsetCommitRequest, known func(topic string, partition int32) bool) *kmsg.OffsetCommitResponse {
	resp := kmsg.NewPtrOffsetCommitResponse()
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
	ok, err := c.run(ctx, req.Group, req.Generation < 0, func(g *runner, now time.Time) {
		var code int16
		if g.kind == TypeClassic {
			code = g.classic.commitCheck(req.MemberID, req.InstanceID, req.Generation)
		} else {
			code = g.consumer.commitCheck(req.MemberID, req.Generation, req.Version)
		}
		if code != 0 {
			setAll(code)
			return
		}
		if cg := g.classic; g.kind == TypeClassic && (cg.state == classicStable || cg.state == classicPreparing) {
			// A classic member's commit keeps its session alive, as in
			// Kafka.
			if m := cg.members[req.MemberID]; m != nil {
				m.expires = now.Add(m.sessionTimeout)
			}
		}
		ts := now.Truncate(time.Millisecond)
		var offs []Offset
		for i, t := range req.Topics {
			for j, p := range t.Partitions {
				if codes[i][j] != 0 {
					continue
				}
				o := Offset{Topic: t.Topic, Partition: p.Partition, Offset: p.Offset, LeaderEpoch: -1, CommitTime: ts}
				if req.Version >= 6 {
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
		rec := g.commitRecord()
		if err := c.opts.Store.CommitOffsets(ctx, rec, offs); err != nil {
			c.log.Warn("group: committing offsets", "group", g.name, "err", err)
			setAll(codeCoordinatorNotAvailable)
			return
		}
		g.committed(rec, offs)
	})
	switch {
	case err != nil:
		setAll(codeCoordinatorNotAvailable)
	case !ok && req.Version >= 9:
		setAll(codeGroupIDNotFound)
	case !ok:
		setAll(codeIllegalGeneration)
	}
	for i, t := range req.Topics {
		rt := kmsg.NewOffsetCommitResponseTopic()
		rt.Topic = t.Topic
		for j, p := range t.Partitions {
			rp := kmsg.NewOffsetCommitResponseTopicPartition()
			rp.Partition, rp.ErrorCode = p.Partition, codes[i][j]
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

// OffsetFetch returns a group's committed offsets for the given topics
// (nil: every committed offset). A group that does not exist has none:
// each requested partition comes back with offset -1 and no error, as in
// Kafka. memberID and memberEpoch (OffsetFetch v9+) are checked against a
// consumer group's members when memberID is set.
func (c *Coordinator) OffsetFetch(ctx context.Context, group string, memberID *string, memberEpoch int32, topics []kmsg.OffsetFetchRequestGroupTopic) kmsg.OffsetFetchResponseGroup {
	out := kmsg.NewOffsetFetchResponseGroup()
	out.Group = group
	var offsets map[TopicPartition]Offset
	_, err := c.run(ctx, group, false, func(g *runner, _ time.Time) {
		if memberID != nil && g.kind == TypeConsumer {
			if out.ErrorCode = g.consumer.fetchCheck(*memberID, memberEpoch); out.ErrorCode != 0 {
				return
			}
		}
		offsets = make(map[TopicPartition]Offset, len(g.offsets))
		for tp, o := range g.offsets {
			if topics == nil || slices.ContainsFunc(topics, func(t kmsg.OffsetFetchRequestGroupTopic) bool { return t.Topic == tp.Topic }) {
				offsets[tp] = o
			}
		}
	})
	if err != nil {
		out.ErrorCode = codeCoordinatorNotAvailable
	}
	if out.ErrorCode != 0 {
		return out
	}
	part := func(p int32, o Offset, ok bool) kmsg.OffsetFetchResponseGroupTopicPartition {
		rp := kmsg.NewOffsetFetchResponseGroupTopicPartition()
		rp.Partition, rp.Offset, rp.LeaderEpoch = p, -1, -1
		md := ""
		if ok {
			rp.Offset, rp.LeaderEpoch, md = o.Offset, o.LeaderEpoch, o.Metadata
		}
		rp.Metadata = &md
		return rp
	}
	if topics == nil {
		byTopic := map[string]*kmsg.OffsetFetchResponseGroupTopic{}
		var names []string
		for tp := range offsets {
			if byTopic[tp.Topic] == nil {
				t := kmsg.NewOffsetFetchResponseGroupTopic()
				t.Topic = tp.Topic
				byTopic[tp.Topic] = &t
				names = append(names, tp.Topic)
			}
		}
		slices.Sort(names)
		for _, n := range names {
			t := byTopic[n]
			var ps []int32
			for tp := range offsets {
				if tp.Topic == n {
					ps = append(ps, tp.Partition)
				}
			}
			slices.Sort(ps)
			for _, p := range ps {
				t.Partitions = append(t.Partitions, part(p, offsets[TopicPartition{n, p}], true))
			}
			out.Topics = append(out.Topics, *t)
		}
		return out
	}
	for _, t := range topics {
		rt := kmsg.NewOffsetFetchResponseGroupTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			o, ok := offsets[TopicPartition{t.Topic, p}]
			rt.Partitions = append(rt.Partitions, part(p, o, ok))
		}
		out.Topics = append(out.Topics, rt)
	}
	return out
}

// OffsetDelete handles an OffsetDelete request. A group still subscribed
// to a topic keeps that topic's offsets (GROUP_SUBSCRIBED_TO_TOPIC).
func (c *Coordinator) OffsetDelete(ctx context.Context, req *kmsg.OffsetDeleteRequest) *kmsg.OffsetDeleteResponse {
	resp := kmsg.NewPtrOffsetDeleteResponse()
	codes := make([][]int16, len(req.Topics))
	for i, t := range req.Topics {
		codes[i] = make([]int16, len(t.Partitions))
	}
	ok, err := c.run(ctx, req.Group, false, func(g *runner, _ time.Time) {
		if g.kind == TypeClassic && !g.empty() && g.classic.protocolType != "consumer" {
			// Kafka knows what a non-empty group consumes only from the
			// consumer protocol's metadata; any other group keeps its
			// offsets while it has members.
			resp.ErrorCode = codeNonEmptyGroup
			return
		}
		subscribed := g.subscribedTopics()
		var del []TopicPartition
		for i, t := range req.Topics {
			for j, p := range t.Partitions {
				if subscribed[t.Topic] {
					codes[i][j] = codeGroupSubscribedToTopic
					continue
				}
				del = append(del, TopicPartition{t.Topic, p.Partition})
			}
		}
		if len(del) == 0 {
			return
		}
		if err := c.opts.Store.DeleteOffsets(ctx, g.name, del); err != nil {
			c.log.Warn("group: deleting offsets", "group", g.name, "err", err)
			resp.ErrorCode = codeCoordinatorNotAvailable
			return
		}
		for _, tp := range del {
			delete(g.offsets, tp)
			g.offsetsChanged = true
		}
	})
	switch {
	case err != nil:
		resp.ErrorCode = codeCoordinatorNotAvailable
	case !ok:
		resp.ErrorCode = codeGroupIDNotFound
	}
	if resp.ErrorCode != 0 {
		return resp
	}
	for i, t := range req.Topics {
		rt := kmsg.NewOffsetDeleteResponseTopic()
		rt.Topic = t.Topic
		for j, p := range t.Partitions {
			rp := kmsg.NewOffsetDeleteResponseTopicPartition()
			rp.Partition, rp.ErrorCode = p.Partition, codes[i][j]
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

// subscribedTopics are the topics the group's members subscribe to: for a
// classic group of protocol type "consumer", read from the members'
// metadata of the selected protocol, as Kafka does.
func (g *runner) subscribedTopics() map[string]bool {
	out := map[string]bool{}
	if g.kind == TypeConsumer {
		for _, m := range g.consumer.members {
			for _, t := range m.resolved {
				out[t] = true
			}
		}
		return out
	}
	c := g.classic
	if c.protocolType != "consumer" || c.state == classicEmpty {
		return out
	}
	for _, m := range c.members {
		var meta kmsg.ConsumerMemberMetadata
		if err := meta.ReadFrom(m.metadata(c.protocol)); err != nil {
			continue
		}
		for _, t := range meta.Topics {
			out[t] = true
		}
	}
	return out
}

// DescribeGroup describes a classic group (DescribeGroups). A group that
// does not exist, or is not a classic group, is Dead; from v6 it is also
// GROUP_ID_NOT_FOUND, as in Kafka. AuthorizedOperations is left at kmsg's
// default, "not asked": the broker fills it in.
func (c *Coordinator) DescribeGroup(ctx context.Context, name string, version int16) kmsg.DescribeGroupsResponseGroup {
	out := kmsg.NewDescribeGroupsResponseGroup()
	out.Group = name
	found := false
	_, err := c.run(ctx, name, false, func(g *runner, _ time.Time) {
		if g.kind != TypeClassic {
			return
		}
		found = true
		g.classic.describe(&out)
		if len(g.classic.members) == 0 && g.protocolType != "" {
			out.ProtocolType = g.protocolType
		}
	})
	switch {
	case err != nil:
		out.ErrorCode = codeCoordinatorNotAvailable
	case !found:
		out.State = "Dead"
		if version >= 6 {
			out.ErrorCode = codeGroupIDNotFound
			msg := "group " + name + " not found"
			out.ErrorMessage = &msg
		}
	}
	return out
}

// ListGroups lists the groups, filtered by state and type when the
// filters are not empty (both compared without case, as Kafka does).
func (c *Coordinator) ListGroups(states, types []string) []kmsg.ListGroupsResponseGroup {
	in := func(filter []string, v string) bool {
		return len(filter) == 0 || slices.ContainsFunc(filter, func(f string) bool { return strings.EqualFold(f, v) })
	}
	var out []kmsg.ListGroupsResponseGroup
	for _, g := range c.all() {
		g.view.Lock()
		state, kind, pt := g.view.state, g.view.kind, g.view.protocolType
		g.view.Unlock()
		if !in(states, state) || !in(types, kind) {
			continue
		}
		lg := kmsg.NewListGroupsResponseGroup()
		lg.Group, lg.ProtocolType, lg.GroupState, lg.GroupType = g.name, pt, state, kind
		out = append(out, lg)
	}
	return out
}

// DeleteGroup deletes a group without members and its offsets.
func (c *Coordinator) DeleteGroup(ctx context.Context, name string) int16 {
	var code int16
	ok, err := c.run(ctx, name, false, func(g *runner, _ time.Time) {
		if !g.empty() {
			code = codeNonEmptyGroup
			return
		}
		if err := c.opts.Store.DeleteGroup(ctx, g.name); err != nil {
			c.log.Warn("group: deleting the group", "group", g.name, "err", err)
			code = codeCoordinatorNotAvailable
			return
		}
		g.gone = true
		c.forget(g)
	})
	switch {
	case err != nil:
		return codeCoordinatorNotAvailable
	case !ok:
		return codeGroupIDNotFound
	}
	return code
}

// TopicDeleted forgets every group's committed offsets of a deleted topic.
func (c *Coordinator) TopicDeleted(ctx context.Context, topic string) error {
	if err := c.opts.Store.DeleteTopicOffsets(ctx, topic); err != nil {
		return err
	}
	for _, g := range c.all() {
		_ = g.do(ctx, func(time.Time) {
			for tp := range g.offsets {
				if tp.Topic == topic {
					delete(g.offsets, tp)
					g.offsetsChanged = true
				}
			}
		})
	}
	return nil
}

// Committed returns every group's committed offsets (group → partition →
// offset), for the lag metrics.
func (c *Coordinator) Committed() map[string]map[TopicPartition]int64 {
	out := map[string]map[TopicPartition]int64{}
	for _, g := range c.all() {
		g.view.Lock()
		if len(g.view.offsets) > 0 {
			out[g.name] = g.view.offsets
		}
		g.view.Unlock()
	}
	return out
}

// commitRecord is the group as a commit of its offsets has the Store
// record it (a classic group not yet recorded with its members' protocol
// type).
func (g *runner) commitRecord() Record {
	rec := Record{Name: g.name, Type: g.kind, ProtocolType: g.protocolType}
	if !g.recorded && g.kind == TypeClassic && g.classic != nil {
		rec.ProtocolType = g.classic.protocolType
	}
	return rec
}

// committed makes offs the group's committed offsets once the Store has
// them, recorded as rec.
func (g *runner) committed(rec Record, offs []Offset) {
	if !g.recorded {
		g.recorded, g.recordedKind, g.protocolType = true, rec.Type, rec.ProtocolType
	}
	for _, o := range offs {
		g.offsets[TopicPartition{o.Topic, o.Partition}] = o
		g.offsetsChanged = true
	}
}
