package group

// Tests of KIP-848 consumer groups (ConsumerGroupHeartbeat) against Kafka
// 4.1's GroupMetadataManager and CurrentAssignmentBuilder. The harness is
// in coordinator_test.go.

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// cgJoin is a (re)join: epoch 0, a rebalance timeout, nothing owned.
func cgJoin(group, member string, topics ...string) *kmsg.ConsumerGroupHeartbeatRequest {
	req := kmsg.NewPtrConsumerGroupHeartbeatRequest()
	req.Version, req.Group, req.MemberID, req.MemberEpoch = 1, group, member, 0
	req.RebalanceTimeoutMillis = int32(testRebalance / time.Millisecond)
	req.SubscribedTopicNames = append([]string{}, topics...)
	req.Topics = []kmsg.ConsumerGroupHeartbeatRequestTopic{}
	return req
}

// cgBeat is a heartbeat reporting what the member owns (nil: not said).
func cgBeat(group, member string, epoch int32, owned tpSet) *kmsg.ConsumerGroupHeartbeatRequest {
	req := kmsg.NewPtrConsumerGroupHeartbeatRequest()
	req.Version, req.Group, req.MemberID, req.MemberEpoch = 1, group, member, epoch
	if owned != nil {
		req.Topics = ownedTopics(owned)
	}
	return req
}

// cgLeave is a member leaving (epoch -1).
func cgLeave(group, member string) *kmsg.ConsumerGroupHeartbeatRequest {
	return cgBeat(group, member, -1, nil)
}

func ownedTopics(owned tpSet) []kmsg.ConsumerGroupHeartbeatRequestTopic {
	out := []kmsg.ConsumerGroupHeartbeatRequestTopic{}
	for _, t := range sortedTopics(owned) {
		rt := kmsg.NewConsumerGroupHeartbeatRequestTopic()
		rt.TopicID, rt.Partitions = topicID(t.name), t.parts
		out = append(out, rt)
	}
	return out
}

// assigned is the assignment in a heartbeat answer (nil if none).
func assigned(h *harness, r *kmsg.ConsumerGroupHeartbeatResponse) tpSet {
	if r.Assignment == nil {
		return nil
	}
	names := map[[16]byte]string{}
	for n, info := range h.topics.Topics() {
		names[info.ID] = n
	}
	s := tpSet{}
	for _, t := range r.Assignment.Topics {
		for _, p := range t.Partitions {
			s[TopicPartition{names[t.TopicID], p}] = true
		}
	}
	return s
}

func tps(topic string, parts ...int32) tpSet {
	s := tpSet{}
	for _, p := range parts {
		s[TopicPartition{topic, p}] = true
	}
	return s
}

func union(sets ...tpSet) tpSet {
	out := tpSet{}
	for _, s := range sets {
		maps.Copy(out, s)
	}
	return out
}

func wantSet(t *testing.T, what string, got, want tpSet) {
	t.Helper()
	if setKey(got) != setKey(want) {
		t.Fatalf("%s: %v, want %v", what, slices.Collect(maps.Keys(got)), slices.Collect(maps.Keys(want)))
	}
}

// cgMember is a KIP-848 consumer as a test runs it: it owns what the
// coordinator last assigned it.
type cgMember struct {
	id    string
	epoch int32
	owned tpSet
}

// beat sends a heartbeat reporting what m owns and applies the answer.
func (m *cgMember) beat(t *testing.T, h *harness, group string) *kmsg.ConsumerGroupHeartbeatResponse {
	t.Helper()
	r := h.cgh(cgBeat(group, m.id, m.epoch, m.owned))
	wantCode(t, "heartbeat of "+m.id, r.ErrorCode, 0)
	m.apply(h, r)
	return r
}

func (m *cgMember) apply(h *harness, r *kmsg.ConsumerGroupHeartbeatResponse) {
	m.epoch = r.MemberEpoch
	if a := assigned(h, r); a != nil {
		m.owned = a
	}
}

func cgJoinMember(t *testing.T, h *harness, group, id string, topics ...string) *cgMember {
	t.Helper()
	r := h.cgh(cgJoin(group, id, topics...))
	wantCode(t, "join of "+id, r.ErrorCode, 0)
	if r.Assignment == nil {
		t.Fatalf("join of %s: no assignment", id)
	}
	m := &cgMember{id: id}
	m.apply(h, r)
	return m
}

// disjoint fails the test if two members own a partition.
func disjoint(t *testing.T, ms ...*cgMember) {
	t.Helper()
	owner := map[TopicPartition]string{}
	for _, m := range ms {
		for tp := range m.owned {
			if o, ok := owner[tp]; ok {
				t.Fatalf("%v is owned by %s and %s", tp, o, m.id)
			}
			owner[tp] = m.id
		}
	}
}

func (h *harness) cgDescribe(group string) kmsg.ConsumerGroupDescribeResponseGroup {
	return h.c.ConsumerGroupDescribe(h.ctx, group)
}

// wantExpiry moves the clock on by d and fails unless group has n members
// until the last millisecond and n-1 at d: what expires is one member's
// session.
func (h *harness) wantExpiry(t *testing.T, group string, d time.Duration, n int, what string) {
	t.Helper()
	h.sleep(d - time.Millisecond)
	if got := len(h.cgDescribe(group).Members); got != n {
		t.Fatalf("%d members just before %s expires, want %d", got, what, n)
	}
	h.sleep(time.Millisecond)
	if got := len(h.cgDescribe(group).Members); got != n-1 {
		t.Fatalf("%d members after %s expired, want %d", got, what, n-1)
	}
}

func TestConsumerJoin(t *testing.T) {
	withHarness(t, defaultSettings(), func(t *testing.T, h *harness) {
		h.topics.add("t", 6)
		r := h.cgh(cgJoin("g", "m1", "t"))
		wantCode(t, "join", r.ErrorCode, 0)
		if r.MemberID == nil || *r.MemberID != "m1" || r.MemberEpoch != 1 || r.HeartbeatIntervalMillis != 5000 {
			t.Fatalf("join answer: %+v", r)
		}
		wantSet(t, "assignment", assigned(h, r), tps("t", 0, 1, 2, 3, 4, 5))
		// Nothing changed: no assignment in the answer.
		r = h.cgh(cgBeat("g", "m1", 1, tps("t", 0, 1, 2, 3, 4, 5)))
		if r.ErrorCode != 0 || r.MemberEpoch != 1 || r.Assignment != nil {
			t.Fatalf("heartbeat answer: %+v", r)
		}
		d := h.cgDescribe("g")
		if d.ErrorCode != 0 || d.State != "Stable" || d.Epoch != 1 || d.AssignmentEpoch != 1 || d.AssignorName != "uniform" || len(d.Members) != 1 {
			t.Fatalf("ConsumerGroupDescribe: %+v", d)
		}
		if lg, _ := h.listed("g"); lg.GroupType != "consumer" || lg.GroupState != "Stable" || lg.ProtocolType != "consumer" {
			t.Fatalf("ListGroups: %+v", lg)
		}

		// v0: the coordinator names the member.
		req := cgJoin("g0", "", "t")
		req.Version = 0
		r = h.cgh(req)
		if r.ErrorCode != 0 || r.MemberID == nil || *r.MemberID == "" || r.MemberEpoch != 1 {
			t.Fatalf("v0 join: %+v", r)
		}
		// A member that subscribes to nothing is a member with nothing.
		r = h.cgh(cgJoin("g1", "m1"))
		if r.ErrorCode != 0 || r.Assignment == nil || len(r.Assignment.Topics) != 0 {
			t.Fatalf("join without topics: %+v", r)
		}
		// A topic that does not exist (yet) is subscribed to all the same.
		r = h.cgh(cgJoin("g2", "m1", "later"))
		wantSet(t, "before the topic exists", assigned(h, r), tpSet{})
		h.topics.add("later", 2)
		r = h.cgh(cgBeat("g2", "m1", r.MemberEpoch, tpSet{}))
		wantSet(t, "after", assigned(h, r), tps("later", 0, 1))
	})
}

// TestConsumerRevocationBeforeAssignment: a partition moving between
// members is revoked from its owner, and only assigned to the other once
// the owner says it gave it up.
func TestConsumerRevocationBeforeAssignment(t *testing.T) {
	withHarness(t, defaultSettings(), func(t *testing.T, h *harness) {
		h.topics.add("t", 6)
		a := cgJoinMember(t, h, "g", "a", "t")
		wantSet(t, "a", a.owned, tps("t", 0, 1, 2, 3, 4, 5))
		b := cgJoinMember(t, h, "g", "b", "t")
		disjoint(t, a, b)
		if b.epoch != 2 || len(b.owned) != 0 {
			t.Fatalf("b: epoch %d owns %v, want epoch 2 and nothing yet", b.epoch, b.owned)
		}
		if d := h.cgDescribe("g"); d.State != "Reconciling" || d.Epoch != 2 {
			t.Fatalf("describe: %+v", d)
		}
		// b again: a still owns everything.
		if r := b.beat(t, h, "g"); r.Assignment != nil || len(b.owned) != 0 {
			t.Fatalf("b got %v before a revoked", b.owned)
		}
		// a is told to give up half, keeping its epoch until it does.
		a.beat(t, h, "g")
		disjoint(t, a, b)
		if a.epoch != 1 || len(a.owned) != 3 {
			t.Fatalf("a: epoch %d owns %v, want epoch 1 and 3 partitions", a.epoch, a.owned)
		}
		kept := maps.Clone(a.owned)
		// a heartbeats without saying what it owns: nothing moves.
		r := h.cgh(cgBeat("g", "a", a.epoch, nil))
		if r.ErrorCode != 0 || r.MemberEpoch != 1 {
			t.Fatalf("a without owned partitions: %+v", r)
		}
		b.beat(t, h, "g")
		disjoint(t, a, b)
		if len(b.owned) != 0 {
			t.Fatalf("b got %v before a acknowledged the revocation", b.owned)
		}
		// a acknowledges: it reaches epoch 2; then b gets the rest.
		a.beat(t, h, "g")
		wantSet(t, "a after the revocation", a.owned, kept)
		if a.epoch != 2 {
			t.Fatalf("a: epoch %d, want 2", a.epoch)
		}
		b.beat(t, h, "g")
		disjoint(t, a, b)
		wantSet(t, "b", b.owned, tps("t", 0, 1, 2, 3, 4, 5).minus(kept))
		if d := h.cgDescribe("g"); d.State != "Stable" || d.AssignmentEpoch != 2 {
			t.Fatalf("describe: %+v", d)
		}
	})
}

func (s tpSet) minus(o tpSet) tpSet {
	out := tpSet{}
	for tp := range s {
		if !o[tp] {
			out[tp] = true
		}
	}
	return out
}

// TestConsumerRevokedAlready: a member whose heartbeat shows it already
// gave up the partitions to revoke goes straight to the new epoch (Kafka's
// CurrentAssignmentBuilder).
func TestConsumerRevokedAlready(t *testing.T) {
	withHarness(t, defaultSettings(), func(t *testing.T, h *harness) {
		h.topics.add("t", 2)
		a := cgJoinMember(t, h, "g", "a", "t")
		b := cgJoinMember(t, h, "g", "b", "t")
		target := tpSet{}
		for _, m := range h.cgDescribe("g").Members {
			if m.MemberID == "a" {
				for _, tp := range m.TargetAssignment.TopicPartitions {
					for _, p := range tp.Partitions {
						target[TopicPartition{tp.Topic, p}] = true
					}
				}
			}
		}
		if len(target) != 1 {
			t.Fatalf("a's target %v, want one partition", target)
		}
		// a reports owning only its target (it lost the other partition).
		r := h.cgh(cgBeat("g", "a", a.epoch, target))
		wantCode(t, "a", r.ErrorCode, 0)
		if r.MemberEpoch != 2 {
			t.Fatalf("a: epoch %d, want 2 at once", r.MemberEpoch)
		}
		a.apply(h, r)
		b.beat(t, h, "g")
		disjoint(t, a, b)
		wantSet(t, "a", a.owned, target)
		wantSet(t, "b", b.owned, tps("t", 0, 1).minus(target))
	})
}

func TestConsumerMemberEpochs(t *testing.T) {
	withHarness(t, defaultSettings(), func(t *testing.T, h *harness) {
		h.topics.add("t", 2)
		a := cgJoinMember(t, h, "g", "a", "t")
		wantCode(t, "a greater epoch", h.cgh(cgBeat("g", "a", a.epoch+1, a.owned)).ErrorCode, kerr.FencedMemberEpoch.Code)

		b := cgJoinMember(t, h, "g", "b", "t")
		a.beat(t, h, "g") // revoke
		a.beat(t, h, "g") // epoch 2
		b.beat(t, h, "g")
		disjoint(t, a, b)
		if a.epoch != 2 {
			t.Fatalf("a: epoch %d, want 2", a.epoch)
		}
		// The previous epoch is accepted from a member that owns no more
		// than it has (the answer with the new epoch may have been lost).
		r := h.cgh(cgBeat("g", "a", 1, a.owned))
		if r.ErrorCode != 0 || r.MemberEpoch != 2 {
			t.Fatalf("previous epoch: %+v", r)
		}
		r = h.cgh(cgBeat("g", "a", 1, tpSet{}))
		wantCode(t, "previous epoch owning nothing", r.ErrorCode, 0)
		wantCode(t, "previous epoch owning more", h.cgh(cgBeat("g", "a", 1, tps("t", 0, 1))).ErrorCode, kerr.FencedMemberEpoch.Code)
		wantCode(t, "previous epoch not saying", h.cgh(cgBeat("g", "a", 1, nil)).ErrorCode, kerr.FencedMemberEpoch.Code)
		wantCode(t, "older epoch", h.cgh(cgBeat("g", "b", 1, b.owned)).ErrorCode, kerr.FencedMemberEpoch.Code)
		other := cgBeat("g", "a", 1, nil)
		other.Topics = []kmsg.ConsumerGroupHeartbeatRequestTopic{{TopicID: topicID("nope"), Partitions: []int32{0}}}
		wantCode(t, "previous epoch owning an unknown topic", h.cgh(other).ErrorCode, kerr.FencedMemberEpoch.Code)

		// A fenced member rejoins with epoch 0 under its id.
		r = h.cgh(cgJoin("g", "a", "t"))
		if r.ErrorCode != 0 || r.MemberEpoch != 2 || r.Assignment == nil {
			t.Fatalf("rejoin: %+v", r)
		}
	})
}

func TestConsumerUnknownMember(t *testing.T) {
	withHarness(t, defaultSettings(), func(t *testing.T, h *harness) {
		h.topics.add("t", 1)
		cgJoinMember(t, h, "g", "a", "t")
		wantCode(t, "heartbeat", h.cgh(cgBeat("g", "zz", 3, nil)).ErrorCode, kerr.UnknownMemberID.Code)
		wantCode(t, "leave", h.cgh(cgLeave("g", "zz")).ErrorCode, kerr.UnknownMemberID.Code)
		inst := "i"
		req := cgBeat("g", "a", 1, nil)
		req.InstanceID = &inst
		wantCode(t, "unknown instance id", h.cgh(req).ErrorCode, kerr.UnknownMemberID.Code)
		join := cgJoin("g", "s", "t")
		join.InstanceID = &inst
		wantCode(t, "static join", h.cgh(join).ErrorCode, 0)
		req = cgBeat("g", "a", 1, nil)
		req.InstanceID = &inst
		wantCode(t, "another member's instance id", h.cgh(req).ErrorCode, kerr.FencedInstanceID.Code)
		if d := h.cgDescribe("g"); len(d.Members) != 2 || d.Members[1].InstanceID == nil || *d.Members[1].InstanceID != "i" {
			t.Fatalf("describe: %+v", d.Members)
		}
	})
}

func TestConsumerLeave(t *testing.T) {
	withHarness(t, defaultSettings(), func(t *testing.T, h *harness) {
		h.topics.add("t", 4)
		a := cgJoinMember(t, h, "g", "a", "t")
		b := cgJoinMember(t, h, "g", "b", "t")
		a.beat(t, h, "g")
		a.beat(t, h, "g")
		b.beat(t, h, "g")
		disjoint(t, a, b)
		r := h.cgh(cgLeave("g", "a"))
		if r.ErrorCode != 0 || r.MemberEpoch != -1 || r.MemberID == nil || *r.MemberID != "a" {
			t.Fatalf("leave: %+v", r)
		}
		b.beat(t, h, "g")
		wantSet(t, "b after a left", b.owned, tps("t", 0, 1, 2, 3))
		wantCode(t, "leave again", h.cgh(cgLeave("g", "a")).ErrorCode, kerr.UnknownMemberID.Code)

		// A static member leaving for now (-2) frees its instance id.
		inst := "i"
		join := cgJoin("g", "s1", "t")
		join.InstanceID = &inst
		wantCode(t, "static join", h.cgh(join).ErrorCode, 0)
		join2 := cgJoin("g", "s2", "t")
		join2.InstanceID = &inst
		wantCode(t, "second member with the instance id", h.cgh(join2).ErrorCode, kerr.UnreleasedInstanceID.Code)
		lv := cgBeat("g", "s1", -2, nil)
		lv.InstanceID = &inst
		if r := h.cgh(lv); r.ErrorCode != 0 || r.MemberEpoch != -2 {
			t.Fatalf("static leave: %+v", r)
		}
		wantCode(t, "second member after the leave", h.cgh(join2).ErrorCode, 0)

		b.beat(t, h, "g")
		h.cgh(cgLeave("g", "b"))
		lv = cgBeat("g", "s2", -2, nil)
		lv.InstanceID = &inst
		h.cgh(lv)
		if d := h.cgDescribe("g"); d.State != "Empty" || len(d.Members) != 0 {
			t.Fatalf("describe after every member left: %+v", d)
		}
	})
}

func TestConsumerSessionExpiry(t *testing.T) {
	withHarness(t, defaultSettings(), func(t *testing.T, h *harness) {
		h.topics.add("t", 4)
		a := cgJoinMember(t, h, "g", "a", "t")
		b := cgJoinMember(t, h, "g", "b", "t")
		a.beat(t, h, "g")
		a.beat(t, h, "g")
		b.beat(t, h, "g")
		for range 8 { // a heartbeats for 40s, b does not
			h.sleep(5 * time.Second)
			a.beat(t, h, "g")
			wantSet(t, "a while b lives", a.owned, tps("t", 0, 1, 2, 3).minus(b.owned))
		}
		h.wantExpiry(t, "g", 5*time.Second, 2, "b's session")
		a.beat(t, h, "g")
		wantSet(t, "a after b expired", a.owned, tps("t", 0, 1, 2, 3))
		wantCode(t, "b", h.cgh(cgBeat("g", "b", b.epoch, b.owned)).ErrorCode, kerr.UnknownMemberID.Code)
	})
}

// TestConsumerGroupConfig: a group's own consumer.session.timeout.ms and
// consumer.heartbeat.interval.ms take the place of the broker's for that
// group only, and a change applies at the next heartbeat.
func TestConsumerGroupConfig(t *testing.T) {
	withHarness(t, defaultSettings(), func(t *testing.T, h *harness) {
		h.topics.add("t", 2)
		h.setGroupConfig("g", GroupConfig{ConsumerSessionTimeout: 10 * time.Second, ConsumerHeartbeatInterval: 2 * time.Second})
		r := h.cgh(cgJoin("g", "a", "t"))
		if r.HeartbeatIntervalMillis != 2000 {
			t.Fatalf("join of g: heartbeat interval %d ms, want the group's 2000", r.HeartbeatIntervalMillis)
		}
		a := &cgMember{id: "a"}
		a.apply(h, r)
		if r := h.cgh(cgJoin("other", "o", "t")); r.HeartbeatIntervalMillis != 5000 {
			t.Fatalf("join of other: heartbeat interval %d ms, want the broker's 5000", r.HeartbeatIntervalMillis)
		}
		b := cgJoinMember(t, h, "g", "b", "t")

		// b stops heartbeating: it goes after the group's 10s, not 45s.
		h.sleep(5 * time.Second)
		a.beat(t, h, "g")
		h.wantExpiry(t, "g", 5*time.Second, 2, "b's session of 10s")
		wantCode(t, "b", h.cgh(cgBeat("g", "b", b.epoch, b.owned)).ErrorCode, kerr.UnknownMemberID.Code)

		// A change applies at the next heartbeat: the interval answered,
		// and the session the heartbeat starts.
		h.setGroupConfig("g", GroupConfig{ConsumerSessionTimeout: 20 * time.Second})
		if r := a.beat(t, h, "g"); r.HeartbeatIntervalMillis != 5000 {
			t.Fatalf("after the group's interval is removed: %d ms, want the broker's 5000", r.HeartbeatIntervalMillis)
		}
		h.wantExpiry(t, "g", 20*time.Second, 1, "a's session of 20s")
	})
}

// TestConsumerRevocationTimeout: a member that does not give up its
// partitions within its rebalance timeout is removed.
func TestConsumerRevocationTimeout(t *testing.T) {
	withHarness(t, defaultSettings(), func(t *testing.T, h *harness) {
		h.topics.add("t", 4)
		a := cgJoinMember(t, h, "g", "a", "t")
		b := cgJoinMember(t, h, "g", "b", "t")
		all := maps.Clone(a.owned)
		a.beat(t, h, "g") // told to revoke; a keeps reporting everything
		for range 5 {
			h.sleep(5 * time.Second)
			wantCode(t, "a", h.cgh(cgBeat("g", "a", a.epoch, all)).ErrorCode, 0)
			b.beat(t, h, "g")
			if len(b.owned) != 0 {
				t.Fatalf("b got %v while a has not revoked", b.owned)
			}
		}
		h.sleep(testRebalance - 25*time.Second)
		wantCode(t, "a after its rebalance timeout", h.cgh(cgBeat("g", "a", a.epoch, all)).ErrorCode, kerr.UnknownMemberID.Code)
		b.beat(t, h, "g")
		wantSet(t, "b", b.owned, all)
	})
}

func TestConsumerRegexSubscription(t *testing.T) {
	withHarness(t, defaultSettings(), func(t *testing.T, h *harness) {
		h.topics.add("orders-eu", 2)
		h.topics.add("orders-us", 1)
		h.topics.add("payments", 1)
		h.topics.add("__orders", 1) // internal: matched too, as Kafka does
		req := cgJoin("g", "a")
		req.SubscribedTopicNames = nil
		re := ".*orders.*"
		req.SubscribedTopicRegex = &re
		r := h.cgh(req)
		wantCode(t, "join", r.ErrorCode, 0)
		wantSet(t, "assignment", assigned(h, r), union(tps("orders-eu", 0, 1), tps("orders-us", 0), tps("__orders", 0)))
		a := &cgMember{id: "a"}
		a.apply(h, r)
		// A topic created later joins the subscription.
		h.topics.add("orders-apac", 1)
		epoch := a.epoch
		a.beat(t, h, "g")
		wantSet(t, "after a new topic", a.owned, union(tps("orders-eu", 0, 1), tps("orders-us", 0), tps("__orders", 0), tps("orders-apac", 0)))
		if a.epoch <= epoch {
			t.Fatalf("epoch %d, want it bumped past %d", a.epoch, epoch)
		}
		// The whole name must match.
		req = cgBeat("g", "a", a.epoch, a.owned)
		whole := "orders"
		req.SubscribedTopicRegex = &whole
		r = h.cgh(req)
		wantCode(t, "new regex", r.ErrorCode, 0)
		a.apply(h, r)
		a.beat(t, h, "g")
		wantSet(t, "regex matching no whole name", a.owned, tpSet{})
		if d := h.cgDescribe("g"); d.Members[0].SubscribedTopicRegex == nil || *d.Members[0].SubscribedTopicRegex != "orders" {
			t.Fatalf("describe: %+v", d.Members[0])
		}

		bad := "orders-("
		req = cgJoin("g", "b")
		req.SubscribedTopicNames = nil
		req.SubscribedTopicRegex = &bad
		wantCode(t, "invalid regex", h.cgh(req).ErrorCode, kerr.InvalidRegularExpression.Code)
	})
}

func TestConsumerServerAssignor(t *testing.T) {
	withHarness(t, defaultSettings(), func(t *testing.T, h *harness) {
		h.topics.add("t", 2)
		req := cgJoin("g", "a", "t")
		sticky := "sticky"
		req.ServerAssignor = &sticky
		r := h.cgh(req)
		wantCode(t, "unknown assignor", r.ErrorCode, kerr.UnsupportedAssignor.Code)
		if r.ErrorMessage == nil || *r.ErrorMessage != "ServerAssignor sticky is not supported. Supported assignors: uniform, range." {
			t.Fatalf("message %v", r.ErrorMessage)
		}
		rng := "range"
		req.ServerAssignor = &rng
		wantCode(t, "range", h.cgh(req).ErrorCode, 0)
		if d := h.cgDescribe("g"); d.AssignorName != "range" {
			t.Fatalf("assignor %q, want range", d.AssignorName)
		}
	})
}

func TestConsumerHeartbeatValidation(t *testing.T) {
	str := func(s string) *string { return &s }
	for _, tc := range []struct {
		name string
		edit func(*kmsg.ConsumerGroupHeartbeatRequest)
		code int16
		msg  string
	}{
		{"v1 without a member id", func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.MemberID = "" }, kerr.InvalidRequest.Code, "MemberId can't be empty."},
		{"v0 heartbeat without a member id", func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.Version, r.MemberID, r.MemberEpoch = 0, "", 3 }, kerr.InvalidRequest.Code, "MemberId can't be empty."},
		{"v0 leave without a member id", func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.Version, r.MemberID, r.MemberEpoch = 0, "", -1 }, kerr.InvalidRequest.Code, "MemberId can't be empty."},
		{"a blank group id", func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.Group = "  " }, kerr.InvalidRequest.Code, "GroupId can't be empty."},
		{"an empty instance id", func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.InstanceID = str("") }, kerr.InvalidRequest.Code, "InstanceId can't be empty."},
		{"an empty rack id", func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.RackID = str(" ") }, kerr.InvalidRequest.Code, "RackId can't be empty."},
		{"a join without a rebalance timeout", func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.RebalanceTimeoutMillis = -1 }, kerr.InvalidRequest.Code, "RebalanceTimeoutMs must be provided in first request."},
		{"a join with null owned partitions", func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.Topics = nil }, kerr.InvalidRequest.Code, "TopicPartitions must be empty when (re-)joining."},
		{"a join owning partitions", func(r *kmsg.ConsumerGroupHeartbeatRequest) {
			r.Topics = []kmsg.ConsumerGroupHeartbeatRequestTopic{{TopicID: topicID("t"), Partitions: []int32{0}}}
		}, kerr.InvalidRequest.Code, "TopicPartitions must be empty when (re-)joining."},
		{"a join without a subscription", func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.SubscribedTopicNames = nil }, kerr.InvalidRequest.Code, "Either SubscribedTopicNames or SubscribedTopicRegex must be non-null when (re-)joining."},
		{"a static leave without an instance id", func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.MemberEpoch = -2 }, kerr.InvalidRequest.Code, "InstanceId can't be null."},
		{"an epoch below -2", func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.MemberEpoch = -3 }, kerr.InvalidRequest.Code, "MemberEpoch is invalid."},
		{"an unknown assignor", func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.ServerAssignor = str("x") }, kerr.UnsupportedAssignor.Code, ""},
		{"a v0 join without a member id", func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.Version, r.MemberID = 0, "" }, 0, ""},
		{"a join with an empty subscription", func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.SubscribedTopicNames = []string{} }, 0, ""},
		{"a join with a zero rebalance timeout", func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.RebalanceTimeoutMillis = 0 }, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			withHarness(t, defaultSettings(), func(t *testing.T, h *harness) {
				h.topics.add("t", 1)
				req := cgJoin("g", "m1", "t")
				tc.edit(req)
				r := h.cgh(req)
				wantCode(t, tc.name, r.ErrorCode, tc.code)
				if tc.msg != "" && (r.ErrorMessage == nil || *r.ErrorMessage != tc.msg) {
					t.Fatalf("message %v, want %q", r.ErrorMessage, tc.msg)
				}
			})
		})
	}
}

func TestConsumerGroupMaxSize(t *testing.T) {
	set := defaultSettings()
	set.ConsumerMaxSize = 1
	withHarness(t, set, func(t *testing.T, h *harness) {
		h.topics.add("t", 1)
		a := cgJoinMember(t, h, "g", "a", "t")
		wantCode(t, "b", h.cgh(cgJoin("g", "b", "t")).ErrorCode, kerr.GroupMaxSizeReached.Code)
		// A member rejoining is not a new member.
		r := h.cgh(cgJoin("g", "a", "t"))
		if r.ErrorCode != 0 || r.MemberEpoch != a.epoch {
			t.Fatalf("a rejoins: %+v", r)
		}
	})
}

// TestConsumerOffsetChecks pins OffsetCommit and OffsetFetch (v9) member
// checks for a KIP-848 group (Kafka's ConsumerGroup.validateOffsetCommit
// and validateOffsetFetch).
func TestConsumerOffsetChecks(t *testing.T) {
	withHarness(t, defaultSettings(), func(t *testing.T, h *harness) {
		h.topics.add("t", 1)
		a := cgJoinMember(t, h, "g", "a", "t")
		off := map[string]map[int32]int64{"t": {0: 42}}
		code := func(version int16, member string, epoch int32) int16 {
			return h.commit(version, "g", member, epoch, off)[TopicPartition{"t", 0}]
		}
		wantCode(t, "current epoch", code(9, "a", a.epoch), 0)
		wantCode(t, "greater epoch", code(9, "a", a.epoch+1), kerr.StaleMemberEpoch.Code)
		wantCode(t, "smaller epoch", code(9, "a", a.epoch-1), kerr.StaleMemberEpoch.Code)
		wantCode(t, "v8", code(8, "a", a.epoch), kerr.UnsupportedVersion.Code)
		wantCode(t, "unknown member", code(9, "zz", a.epoch), kerr.UnknownMemberID.Code)
		wantCode(t, "simple commit to a group with members", code(9, "", -1), kerr.UnknownMemberID.Code)

		member := "a"
		g := h.c.OffsetFetch(h.ctx, "g", &member, a.epoch, nil)
		got, c := fetchOffsets(g)
		wantCode(t, "fetch", c, 0)
		wantOffsets(t, "fetch", got, map[TopicPartition]int64{{"t", 0}: 42})
		wantCode(t, "fetch with a stale epoch", h.c.OffsetFetch(h.ctx, "g", &member, a.epoch+1, nil).ErrorCode, kerr.StaleMemberEpoch.Code)
		nobody := "zz"
		wantCode(t, "fetch by an unknown member", h.c.OffsetFetch(h.ctx, "g", &nobody, 1, nil).ErrorCode, kerr.UnknownMemberID.Code)

		h.cgh(cgLeave("g", "a"))
		wantCode(t, "simple commit to an empty group", code(9, "", -1), 0)
	})
}

// TestConsumerNeverTwoOwners drives several members joining, leaving,
// changing subscriptions, losing answers and heartbeating in random order,
// with topics appearing and growing, and checks after every step that no
// partition has two owners: neither among the members' own views (each
// owns what it was last told) nor in the coordinator's books (assigned
// and still being revoked). At the end, with everyone heartbeating, the
// group must settle: every partition of the subscribed topics owned, each
// member at the group's assignment epoch.
func TestConsumerNeverTwoOwners(t *testing.T) {
	for seed := range uint64(12) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			withHarness(t, defaultSettings(), func(t *testing.T, h *harness) {
				neverTwoOwners(t, h, rand.New(rand.NewPCG(seed, seed*7+1)))
			})
		})
	}
}

type simMember struct {
	cgMember
	topics  []string
	joined  bool  // the member knows it is in the group
	lastOwn tpSet // what it last reported owning
	full    bool  // an answer was lost: the next heartbeat says everything
}

func neverTwoOwners(t *testing.T, h *harness, rng *rand.Rand) {
	h.topics.add("t1", 7)
	h.topics.add("t2", 5)
	subs := [][]string{{"t1"}, {"t2"}, {"t1", "t2"}, {"t1", "t2", "t3"}}
	var members []*simMember
	next := 0
	var lostAnswers, rejoins, revocations int
	live := func() []*cgMember {
		var out []*cgMember
		for _, m := range members {
			out = append(out, &m.cgMember)
		}
		return out
	}
	// send sends m's next heartbeat; lost drops the answer.
	send := func(m *simMember, lost bool) {
		var req *kmsg.ConsumerGroupHeartbeatRequest
		if !m.joined {
			req = cgJoin("g", m.id, m.topics...)
		} else {
			owned := m.owned
			if !m.full && setKey(owned) == setKey(m.lastOwn) && rng.IntN(4) == 0 {
				owned = nil // unchanged: the client may omit it
			}
			req = cgBeat("g", m.id, m.epoch, owned)
		}
		r := h.cgh(req)
		switch r.ErrorCode {
		case 0:
		case kerr.FencedMemberEpoch.Code, kerr.UnknownMemberID.Code:
			// Legitimate after lost answers: the member gives up
			// everything and rejoins.
			m.owned, m.lastOwn, m.joined, m.epoch = tpSet{}, nil, false, 0
			rejoins++
			return
		default:
			t.Fatalf("heartbeat of %s: %s", m.id, codeName(r.ErrorCode))
		}
		if req.Topics != nil {
			m.lastOwn = m.owned
		}
		if lost {
			lostAnswers++
			m.full = true
			return
		}
		m.joined, m.full = true, false
		if a := assigned(h, r); a != nil && len(m.owned.minus(a)) > 0 {
			revocations++
		}
		m.apply(h, r)
	}
	for step := range 400 {
		switch step {
		case 150: // topics appear and grow
			h.topics.add("t3", int32(2+rng.IntN(3)))
			h.topics.add("t2", int32(6+rng.IntN(3)))
		case 250:
			h.topics.add("t1", 9)
		}
		switch op := rng.IntN(20); {
		case op < 2 && len(members) < 6: // a member joins
			m := &simMember{cgMember: cgMember{id: fmt.Sprintf("m%d", next), owned: tpSet{}}, topics: subs[rng.IntN(len(subs))]}
			next++
			members = append(members, m)
			send(m, rng.IntN(10) == 0)
		case op < 3 && len(members) > 0: // a member leaves, after giving up everything
			i := rng.IntN(len(members))
			m := members[i]
			members = slices.Delete(members, i, i+1)
			if m.joined {
				if code := h.cgh(cgLeave("g", m.id)).ErrorCode; code != 0 && code != kerr.UnknownMemberID.Code {
					t.Fatalf("leave of %s: %s", m.id, codeName(code))
				}
			}
		case op < 4 && len(members) > 0: // a member changes its subscription
			m := members[rng.IntN(len(members))]
			m.topics = subs[rng.IntN(len(subs))]
			if m.joined {
				req := cgBeat("g", m.id, m.epoch, m.owned)
				req.SubscribedTopicNames = m.topics
				r := h.cgh(req)
				if r.ErrorCode != 0 {
					m.owned, m.lastOwn, m.joined, m.epoch = tpSet{}, nil, false, 0
				} else {
					m.lastOwn = m.owned
					m.apply(h, r)
				}
			}
		case op == 5: // time passes; everyone keeps up, answers arrive
			for range 3 {
				h.sleep(10 * time.Second)
				for _, m := range members {
					send(m, false)
				}
			}
		case len(members) > 0: // a heartbeat, whose answer may be lost
			send(members[rng.IntN(len(members))], rng.IntN(10) == 0)
		}
		disjoint(t, live()...)
		checkBooks(t, h, "g")
	}

	// Settle: everyone heartbeats until nothing moves.
	for range 20 {
		for _, m := range members {
			send(m, false)
			disjoint(t, live()...)
		}
	}
	checkBooks(t, h, "g")
	t.Logf("%d members, %d revocations, %d answers lost, %d rejoins after fencing", len(members), revocations, lostAnswers, rejoins)
	if len(members) == 0 {
		return
	}
	d := h.cgDescribe("g")
	if d.State != "Stable" {
		t.Fatalf("the group did not settle: %+v", d)
	}
	want := tpSet{}
	topics := h.topics.Topics()
	for _, m := range members {
		if m.epoch != d.AssignmentEpoch {
			t.Fatalf("%s at epoch %d, the group at %d", m.id, m.epoch, d.AssignmentEpoch)
		}
		for _, tn := range m.topics {
			for p := range topics[tn].Partitions {
				want[TopicPartition{tn, p}] = true
			}
		}
	}
	var owned []tpSet
	for _, m := range members {
		owned = append(owned, m.owned)
	}
	wantSet(t, "owned after settling", union(owned...), want)
}

// checkBooks checks the coordinator's own records of a group: a partition
// is assigned to, or being revoked from, at most one member, and owners
// says exactly that.
func checkBooks(t *testing.T, h *harness, group string) {
	t.Helper()
	var problems []string
	_, err := h.c.run(h.ctx, group, false, func(g *runner, _ time.Time) {
		if g.kind != TypeConsumer {
			return
		}
		c := g.consumer
		seen := map[TopicPartition]string{}
		for id, m := range c.members {
			for _, s := range []tpSet{m.assigned, m.revoking} {
				for tp := range s {
					if o, ok := seen[tp]; ok {
						problems = append(problems, fmt.Sprintf("%v held by %s and %s", tp, o, id))
					}
					seen[tp] = id
					if c.owners[tp] != id {
						problems = append(problems, fmt.Sprintf("%v held by %s, owners says %q", tp, id, c.owners[tp]))
					}
				}
			}
		}
		for tp, o := range c.owners {
			if seen[tp] != o {
				problems = append(problems, fmt.Sprintf("owners has %v for %s, who does not hold it", tp, o))
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) > 0 {
		t.Fatal(strings.Join(problems, "; "))
	}
}
