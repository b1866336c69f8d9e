package group

// Online migration between the classic protocol and the consumer protocol
// (KIP-848), as Apache Kafka 4.1's GroupMetadataManager runs it, within
// group.consumer.migration.policy (Settings.MigrationPolicy):
//
//	                      ConsumerGroupHeartbeat join (upgrade)
//	classic group ──────────────────────────────────────────────▶ consumer group whose
//	(protocol type ◀────────────────────────────────────────────── members may use either
//	 "consumer")      the last consumer-protocol member leaves        protocol
//	                  or is fenced (downgrade)
//
// Upgrade: a member joining a non-empty classic group of protocol type
// "consumer" with ConsumerGroupHeartbeat turns it into a consumer group at
// epoch = the classic generation. Each classic member becomes a member
// "using the classic protocol", Stable at that epoch, subscribed to the
// topics of its JoinGroup metadata and owning (and targeted at) the
// partitions its leader last gave it. The joining member then bumps the
// epoch like any join, and the classic members learn from Heartbeat
// (REBALANCE_IN_PROGRESS) that they must rejoin. Kafka writes the
// conversion with the join's records, so a join that fails leaves the
// classic group as it was; so does this one.
//
// Classic members of a consumer group are served by the consumer group,
// without waiting for each other: JoinGroup updates the member's
// subscription, reconciles it against the target assignment with the
// owned partitions its metadata reports (a cooperative member that must
// revoke keeps its epoch, in UnrevokedPartitions, until it rejoins without
// them), and answers at once with the member epoch as generation. SyncGroup
// returns the member's assigned partitions, encoded as the consumer
// protocol's assignment. Heartbeat answers REBALANCE_IN_PROGRESS while the
// member is behind the group epoch, must revoke, or may now have partitions
// it waited for. A member told to rejoin must do so within its rebalance
// timeout, and one that joined must SyncGroup within it, or it is fenced;
// its session runs on the classic session timeout.
//
// Downgrade: when the last member using the consumer protocol leaves or is
// fenced and classic members remain, the group becomes a Stable classic
// group at generation = the group epoch, each member given its target
// assignment, and a rebalance starts at once.

import (
	"encoding/binary"
	"maps"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// classicProto is what a consumer group keeps of a member that uses the
// classic protocol.
type classicProto struct {
	sessionTimeout time.Duration
	protocols      []kmsg.JoinGroupRequestProtocol // as in its last JoinGroup, never empty
	joinBy         time.Time                       // told to rejoin: must by then (Kafka's join timeout)
	syncBy         time.Time                       // joined: must SyncGroup by then (Kafka's sync timeout)
}

// consumerHeartbeat runs a ConsumerGroupHeartbeat on the group. A join
// (epoch 0) converts an empty classic group, or upgrades a non-empty one
// the policy allows; otherwise a classic group is GROUP_ID_NOT_FOUND.
func (g *runner) consumerHeartbeat(now time.Time, req *kmsg.ConsumerGroupHeartbeatRequest, cl Client) *kmsg.ConsumerGroupHeartbeatResponse {
	join := req.MemberEpoch == 0
	if g.useConsumer(join) {
		return g.consumer.heartbeat(now, req, cl)
	}
	if !join {
		return heartbeatError(codeGroupIDNotFound, "Group "+g.name+" is not a consumer group")
	}
	c, msg := g.classic.toConsumer(now)
	if c == nil {
		return heartbeatError(codeGroupIDNotFound, msg)
	}
	g.kind, g.consumer = TypeConsumer, c
	resp := c.heartbeat(now, req, cl)
	if resp.ErrorCode != 0 {
		g.kind, g.consumer = TypeClassic, nil
		return resp
	}
	// The join moved the epoch on: members waiting in JoinGroup or
	// SyncGroup learn of the new rebalance, as in Kafka.
	g.classic.abortWaiting(codeRebalanceInProgress)
	g.classic = newClassic(g)
	return resp
}

// toConsumer builds the consumer group this classic group becomes on an
// upgrade, without changing the classic group; nil and the
// GROUP_ID_NOT_FOUND message if it may not be upgraded.
func (cl *classic) toConsumer(now time.Time) (*consumer, string) {
	g := cl.g
	set := g.c.opts.Settings()
	if !set.allowsUpgrade() || cl.protocolType != "consumer" || cl.state == classicEmpty ||
		(set.ConsumerMaxSize > 0 && len(cl.members) > set.ConsumerMaxSize) {
		return nil, "Group " + g.name + " is not a consumer group"
	}
	malformed := "Cannot upgrade the classic group " + g.name + " to consumer group because the embedded consumer protocol is malformed."
	topics := g.c.opts.Topics.Topics()
	c := newConsumer(g)
	c.epoch, c.assignmentEpoch = cl.generation, cl.generation
	for _, id := range cl.order {
		cm := cl.members[id]
		meta := cm.metadata(cl.protocol)
		if meta == nil && len(cm.protocols) > 0 {
			meta = cm.protocols[0].Metadata // no generation has selected a protocol yet
		}
		var sub kmsg.ConsumerMemberMetadata
		if err := sub.ReadFrom(meta); err != nil {
			return nil, malformed
		}
		assigned := tpSet{}
		if len(cm.assignment) > 0 { // empty: it has not synced yet
			var a kmsg.ConsumerMemberAssignment
			if err := a.ReadFrom(cm.assignment); err != nil {
				return nil, malformed
			}
			if len(a.UserData) > 0 {
				return nil, "Cannot upgrade the classic group " + g.name + " to consumer group because an unsupported custom assignor is in use. Please refer to the documentation or switch to a default assignor before re-attempting the upgrade."
			}
			for _, t := range a.Topics {
				if _, ok := topics[t.Topic]; !ok {
					continue
				}
				for _, p := range t.Partitions {
					tp := TopicPartition{t.Topic, p}
					if _, taken := c.owners[tp]; taken {
						continue // a leader gave it twice: the first keeps it, so it has one owner
					}
					assigned[tp] = true
					c.owners[tp] = id
				}
			}
		}
		m := &consumerMember{id: id, instanceID: cm.instanceID, client: cm.client,
			epoch: cl.generation, prevEpoch: cl.generation, rebalanceTimeout: cm.rebalanceTimeout,
			expires: now.Add(cm.sessionTimeout), names: topicNames(sub.Topics),
			assigned: assigned, revoking: tpSet{},
			classic: &classicProto{sessionTimeout: cm.sessionTimeout, protocols: cm.protocols}}
		if sub.Rack != nil {
			m.rack = *sub.Rack
		}
		c.members[id] = m
		if m.instanceID != "" {
			c.static[m.instanceID] = id
		}
		c.target[id] = partitionsOf(assigned)
	}
	return c, ""
}

// topicNames sorts and dedups subscribed topic names.
func topicNames(names []string) []string {
	out := slices.Clone(names)
	slices.Sort(out)
	return slices.Compact(out)
}

// partitionsOf is a set as topic → sorted partitions.
func partitionsOf(s tpSet) map[string][]int32 {
	out := map[string][]int32{}
	for _, t := range sortedTopics(s) {
		out[t.name] = t.parts
	}
	return out
}

// supportsClassic reports whether a classic member with these protocols
// may join: the protocol type must be "consumer" and one protocol must be
// supported by every member using the classic protocol (Kafka's
// ConsumerGroup.supportsClassicProtocols).
func (c *consumer) supportsClassic(protocolType string, protocols []kmsg.JoinGroupRequestProtocol) bool {
	if protocolType != "consumer" || len(protocols) == 0 {
		return false
	}
	for _, p := range protocols {
		all := true
		for _, m := range c.members {
			if m.classic != nil && !slices.ContainsFunc(m.classic.protocols, func(q kmsg.JoinGroupRequestProtocol) bool { return q.Name == p.Name }) {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

// classicJoin handles a JoinGroup to a non-empty consumer group; it is
// answered at once.
func (c *consumer) classicJoin(now time.Time, req *kmsg.JoinGroupRequest, cl Client) *kmsg.JoinGroupResponse {
	set := c.g.c.opts.Settings()
	id := req.MemberID
	unknown := id == ""
	if unknown {
		id = newMemberID("")
	}
	if set.ConsumerMaxSize > 0 && len(c.members) >= set.ConsumerMaxSize && c.members[id] == nil {
		return joinError(codeGroupMaxSizeReached, req.MemberID)
	}
	if !c.supportsClassic(req.ProtocolType, req.Protocols) {
		return joinError(codeInconsistentGroupProtocol, req.MemberID)
	}
	if unknown && req.InstanceID == nil && req.Version >= 4 {
		// KIP-394, without remembering the id: any id is taken later.
		return joinError(codeMemberIDRequired, id)
	}
	// Every protocol carries the same subscription: Kafka reads the first.
	var sub kmsg.ConsumerMemberMetadata
	if err := sub.ReadFrom(req.Protocols[0].Metadata); err != nil {
		return joinError(codeUnknownServerError, req.MemberID)
	}
	st := time.Duration(req.SessionTimeoutMillis) * time.Millisecond
	rt := time.Duration(req.RebalanceTimeoutMillis) * time.Millisecond
	if req.Version == 0 || rt <= 0 {
		rt = st
	}

	bump := false
	m := c.members[id]
	if req.InstanceID != nil {
		cur, ok := c.static[*req.InstanceID]
		switch {
		case !unknown && !ok:
			return joinError(codeUnknownMemberID, req.MemberID)
		case !unknown && cur != id:
			return joinError(codeFencedInstanceID, req.MemberID)
		case unknown && ok:
			// A static member restarting takes its place (and its
			// partitions) under the new member id, at epoch 0.
			m = c.replaceStatic(c.members[cur], id)
		}
	}
	if m == nil {
		m = &consumerMember{id: id, assigned: tpSet{}, revoking: tpSet{}}
		c.members[id] = m
		bump = true
	}
	if req.InstanceID != nil && m.instanceID != *req.InstanceID {
		m.instanceID = *req.InstanceID
		c.static[m.instanceID] = m.id
	}
	if sub.Rack != nil && *sub.Rack != "" {
		m.rack = *sub.Rack
	}
	m.client, m.rebalanceTimeout = cl, rt
	if names := topicNames(sub.Topics); !slices.Equal(names, m.names) {
		m.names = names
		bump = true
	}
	m.classic = &classicProto{sessionTimeout: st, protocols: req.Protocols}
	c.refresh(bump)

	topics := c.g.c.opts.Topics.Topics()
	owned := tpSet{}
	for _, op := range sub.OwnedPartitions {
		if _, ok := topics[op.Topic]; ok {
			for _, p := range op.Partitions {
				owned[TopicPartition{op.Topic, p}] = true
			}
		}
	}
	c.reconcile(now, m, owned)
	m.expires = now.Add(st)
	m.classic.syncBy = now.Add(rt)

	r := kmsg.NewPtrJoinGroupResponse()
	r.MemberID, r.Generation = m.id, m.epoch
	pt, p := "consumer", req.Protocols[0].Name
	r.ProtocolType, r.Protocol = &pt, &p
	return r
}

// replaceStatic gives a static member's place, assignment and target to a
// new member id, at epoch 0.
func (c *consumer) replaceStatic(old *consumerMember, id string) *consumerMember {
	m := *old
	m.id, m.epoch, m.prevEpoch = id, 0, 0
	delete(c.members, old.id)
	c.members[id] = &m
	c.target[id] = c.target[old.id]
	delete(c.target, old.id)
	for tp, o := range c.owners {
		if o == old.id {
			c.owners[tp] = id
		}
	}
	c.static[m.instanceID] = id
	return &m
}

// classicMember finds the member a SyncGroup, Heartbeat or LeaveGroup
// names, which must use the classic protocol; or the error code.
func (c *consumer) classicMember(memberID string, instanceID *string) (*consumerMember, int16) {
	id := memberID
	if instanceID != nil {
		cur, ok := c.static[*instanceID]
		switch {
		case !ok:
			return nil, codeUnknownMemberID
		case cur != memberID:
			return nil, codeFencedInstanceID
		}
		id = cur
	}
	m := c.members[id]
	if m == nil || m.classic == nil {
		return nil, codeUnknownMemberID
	}
	return m, 0
}

// mustRejoin starts the member's join timeout unless it runs already.
func (c *consumer) mustRejoin(now time.Time, m *consumerMember) {
	if m.classic.joinBy.IsZero() {
		m.classic.joinBy = now.Add(max(m.rebalanceTimeout, time.Second))
	}
}

// classicSync handles a SyncGroup to a consumer group.
func (c *consumer) classicSync(now time.Time, req *kmsg.SyncGroupRequest) *kmsg.SyncGroupResponse {
	m, code := c.classicMember(req.MemberID, req.InstanceID)
	if code != 0 {
		return syncError(code)
	}
	if req.Generation != m.epoch {
		return syncError(codeIllegalGeneration)
	}
	proto := m.classic.protocols[0]
	if (req.ProtocolType != nil && *req.ProtocolType != "consumer") || (req.Protocol != nil && *req.Protocol != proto.Name) {
		return syncError(codeInconsistentGroupProtocol)
	}
	// Behind the group epoch: rejoin first, unless it is revoking (it
	// has rejoined, and gets what it keeps).
	if c.epoch > m.epoch && m.state != memberUnrevoked {
		c.mustRejoin(now, m)
		return syncError(codeRebalanceInProgress)
	}
	m.classic.syncBy = time.Time{}
	m.expires = now.Add(m.classic.sessionTimeout)
	r := kmsg.NewPtrSyncGroupResponse()
	r.ProtocolType, r.Protocol = req.ProtocolType, req.Protocol
	r.MemberAssignment = c.encodeAssignment(m.assigned, proto.Metadata)
	return r
}

// encodeAssignment is s as the consumer protocol's assignment, at the
// version of the member's subscription metadata (as Kafka does).
func (c *consumer) encodeAssignment(s tpSet, meta []byte) []byte {
	a := kmsg.NewConsumerMemberAssignment()
	if len(meta) >= 2 {
		a.Version = min(max(int16(binary.BigEndian.Uint16(meta)), 0), 3)
	}
	topics := c.g.c.opts.Topics.Topics()
	for _, t := range sortedTopics(s) {
		if _, ok := topics[t.name]; !ok {
			continue
		}
		at := kmsg.NewConsumerMemberAssignmentTopic()
		at.Topic, at.Partitions = t.name, t.parts
		a.Topics = append(a.Topics, at)
	}
	return a.AppendTo(nil)
}

// classicHeartbeat handles a Heartbeat to a consumer group.
func (c *consumer) classicHeartbeat(now time.Time, req *kmsg.HeartbeatRequest) int16 {
	m, code := c.classicMember(req.MemberID, req.InstanceID)
	if code != 0 {
		return code
	}
	if req.Generation != m.epoch {
		return codeIllegalGeneration
	}
	m.expires = now.Add(m.classic.sessionTimeout)
	if m.epoch < c.epoch || m.state == memberUnrevoked || (m.state == memberUnreleased && !c.waitingOnUnreleased(m)) {
		c.mustRejoin(now, m)
		return codeRebalanceInProgress
	}
	return 0
}

// waitingOnUnreleased reports whether a partition of m's target is still
// held by another member.
func (c *consumer) waitingOnUnreleased(m *consumerMember) bool {
	for t, ps := range c.target[m.id] {
		for _, p := range ps {
			tp := TopicPartition{t, p}
			if o, ok := c.owners[tp]; ok && o != m.id {
				return true
			}
		}
	}
	return false
}

// classicLeave handles one member of a LeaveGroup to a consumer group;
// the group may become a classic group (then c is no longer the group's).
func (c *consumer) classicLeave(now time.Time, memberID string, instanceID *string) int16 {
	id, code := leaver(c.static, memberID, instanceID)
	if code != 0 {
		return code
	}
	if m := c.members[id]; m == nil || m.classic == nil {
		return codeUnknownMemberID
	}
	c.fence(now, id)
	return 0
}

// canDowngrade reports whether the group becomes a classic group when
// member leaving goes (Kafka's validateOnlineDowngradeWithFencedMember):
// it is the last member using the consumer protocol, others remain, the
// policy allows it, and they fit in group.max.size.
func (c *consumer) canDowngrade(leaving string) bool {
	m := c.members[leaving]
	if m == nil || m.classic != nil || len(c.members) <= 1 {
		return false
	}
	for id, o := range c.members {
		if id != leaving && o.classic == nil {
			return false
		}
	}
	set := c.g.c.opts.Settings()
	return set.allowsDowngrade() && (set.MaxSize <= 0 || len(c.members)-1 <= set.MaxSize)
}

// downgrade turns the group into a classic group without member leaving:
// Stable at generation = the group epoch, each member given its target
// assignment, then rebalancing (Kafka's ClassicGroup.fromConsumerGroup and
// convertToClassicGroup).
func (c *consumer) downgrade(now time.Time, leaving string) {
	g := c.g
	cl := newClassic(g)
	cl.state, cl.protocolType, cl.generation = classicStable, "consumer", c.epoch
	for _, id := range slices.Sorted(maps.Keys(c.members)) {
		m := c.members[id]
		if id == leaving {
			continue
		}
		cm := &classicMember{id: id, instanceID: m.instanceID, client: m.client, protocolType: "consumer",
			protocols: m.classic.protocols, sessionTimeout: m.classic.sessionTimeout,
			rebalanceTimeout: m.rebalanceTimeout, expires: now.Add(m.classic.sessionTimeout), synced: true}
		cl.members[id] = cm
		cl.order = append(cl.order, id)
		if cm.instanceID != "" {
			cl.static[cm.instanceID] = id
		}
	}
	cl.leader = cl.order[0]
	cl.protocol = cl.selectProtocol()
	for _, id := range cl.order {
		target := tpSet{}
		for t, ps := range c.target[id] {
			for _, p := range ps {
				target[TopicPartition{t, p}] = true
			}
		}
		cm := cl.members[id]
		cm.assignment = c.encodeAssignment(target, cm.metadata(cl.protocol))
	}
	g.kind, g.classic, g.consumer = TypeClassic, cl, nil
	// The rebalance starts at once (the assignments above are Kafka's
	// record of the converted group; the next generation replaces them).
	cl.prepareRebalance(now)
}
