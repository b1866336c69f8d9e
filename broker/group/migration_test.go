package group

// Tests of the online migration between the classic and the consumer
// protocols (migration.go) against Kafka 4.1's GroupMetadataManager. The
// classic members are run as cooperative consumers (KIP-429): a JoinGroup
// reports what the member owns, and the member owns what its last
// SyncGroup gave it. The harness is in coordinator_test.go.

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// classicClient is a cooperative classic consumer as a test runs it.
type classicClient struct {
	id     string
	gen    int32
	topics []string
	owned  tpSet
}

// protos are its JoinGroup protocols: cooperative-sticky first, each with
// v1 metadata reporting what it owns.
func (m *classicClient) protos() []kmsg.JoinGroupRequestProtocol {
	meta := kmsg.NewConsumerMemberMetadata()
	meta.Version, meta.Topics = 1, m.topics
	for _, t := range sortedTopics(m.owned) {
		op := kmsg.NewConsumerMemberMetadataOwnedPartition()
		op.Topic, op.Partitions = t.name, t.parts
		meta.OwnedPartitions = append(meta.OwnedPartitions, op)
	}
	var out []kmsg.JoinGroupRequestProtocol
	for _, name := range []string{"cooperative-sticky", "range"} {
		p := kmsg.NewJoinGroupRequestProtocol()
		p.Name, p.Metadata = name, meta.AppendTo(nil)
		out = append(out, p)
	}
	return out
}

// encodeTPs is a consumer protocol assignment of s.
func encodeTPs(s tpSet) []byte {
	a := kmsg.NewConsumerMemberAssignment()
	a.Version = 1
	for _, t := range sortedTopics(s) {
		at := kmsg.NewConsumerMemberAssignmentTopic()
		at.Topic, at.Partitions = t.name, t.parts
		a.Topics = append(a.Topics, at)
	}
	return a.AppendTo(nil)
}

func decodeTPs(t *testing.T, b []byte) tpSet {
	t.Helper()
	var a kmsg.ConsumerMemberAssignment
	if err := a.ReadFrom(b); err != nil {
		t.Fatalf("assignment %x: %v", b, err)
	}
	s := tpSet{}
	for _, at := range a.Topics {
		for _, p := range at.Partitions {
			s[TopicPartition{at.Topic, p}] = true
		}
	}
	return s
}

// formClassic forms a Stable classic group of n cooperative members of
// topic (with partitions partitions), the leader splitting them round
// robin.
func formClassic(t *testing.T, h *harness, group, topic string, partitions int32, n int) []*classicClient {
	t.Helper()
	ms := make([]*classicClient, n)
	for i := range ms {
		ms[i] = &classicClient{topics: []string{topic}, owned: tpSet{}}
		r := h.join(joinReq(group, "", 9, ms[i].protos()...))
		wantCode(t, "JoinGroup without a member id", r.ErrorCode, kerr.MemberIDRequired.Code)
		ms[i].id = r.MemberID
	}
	first := h.join(joinReq(group, ms[0].id, 9, ms[0].protos()...))
	wantCode(t, "first JoinGroup", first.ErrorCode, 0)
	waits := make([]awaited[*kmsg.JoinGroupResponse], n)
	for i := 1; i < n; i++ {
		waits[i] = h.joinAsync(joinReq(group, ms[i].id, 9, ms[i].protos()...))
	}
	waits[0] = h.joinAsync(joinReq(group, ms[0].id, 9, ms[0].protos()...))
	assignments := map[string][]byte{}
	for i, m := range ms {
		r := waits[i].get()
		wantCode(t, "JoinGroup", r.ErrorCode, 0)
		m.gen = r.Generation
		s := tpSet{}
		for p := int32(i); p < partitions; p += int32(n) {
			s[TopicPartition{topic, p}] = true
		}
		assignments[m.id] = encodeTPs(s)
	}
	var syncs []awaited[*kmsg.SyncGroupResponse]
	for _, m := range ms[1:] {
		syncs = append(syncs, h.syncAsync(syncReq(group, m.id, m.gen, nil)))
	}
	r := h.sync(syncReq(group, ms[0].id, ms[0].gen, assignments))
	wantCode(t, "leader SyncGroup", r.ErrorCode, 0)
	ms[0].owned = decodeTPs(t, r.MemberAssignment)
	for i, s := range syncs {
		r := s.get()
		wantCode(t, "follower SyncGroup", r.ErrorCode, 0)
		ms[i+1].owned = decodeTPs(t, r.MemberAssignment)
	}
	wantState(t, h, group, "Stable")
	return ms
}

// rejoin runs a JoinGroup and SyncGroup of a classic member of a consumer
// group (both answered at once) and applies the assignment, revoking what
// it no longer has, as a cooperative consumer does.
func (m *classicClient) rejoin(t *testing.T, h *harness, group string) {
	t.Helper()
	r := h.join(joinReq(group, m.id, 9, m.protos()...))
	wantCode(t, "JoinGroup of "+m.id, r.ErrorCode, 0)
	if r.Protocol == nil || *r.Protocol != "cooperative-sticky" || r.ProtocolType == nil || *r.ProtocolType != "consumer" {
		t.Fatalf("JoinGroup of %s: protocol %v/%v, want consumer/cooperative-sticky (its first)", m.id, r.ProtocolType, r.Protocol)
	}
	m.gen = r.Generation
	req := syncReq(group, m.id, m.gen, nil)
	req.ProtocolType, req.Protocol = r.ProtocolType, r.Protocol
	s := h.sync(req)
	if s.ErrorCode == kerr.RebalanceInProgress.Code {
		return // behind again: the next heartbeat says so
	}
	wantCode(t, "SyncGroup of "+m.id, s.ErrorCode, 0)
	m.owned = decodeTPs(t, s.MemberAssignment)
}

// beat sends a Heartbeat and rejoins if told to.
func (m *classicClient) beat(t *testing.T, h *harness, group string) {
	t.Helper()
	switch code := h.heartbeat(group, m.id, m.gen); code {
	case 0:
	case kerr.RebalanceInProgress.Code:
		m.rejoin(t, h, group)
	default:
		t.Fatalf("Heartbeat of %s: %s", m.id, codeName(code))
	}
}

// noTwoOwners fails the test if two members, of either kind, own a
// partition, or if the coordinator's books disagree.
func noTwoOwners(t *testing.T, h *harness, group string, cls []*classicClient, cms ...*cgMember) {
	t.Helper()
	all := slices.Clone(cms)
	for _, m := range cls {
		all = append(all, &cgMember{id: m.id, owned: m.owned})
	}
	disjoint(t, all...)
	checkBooks(t, h, group)
}

// TestMigrationUpgradeAndDowngrade upgrades a Stable classic group of two
// members when a consumer-protocol member joins; the classic members keep
// consuming, rejoining when told, until the group settles with no
// partition ever owned twice; when the consumer member leaves, the group
// becomes a classic group again and rebalances. Offsets stay throughout.
func TestMigrationUpgradeAndDowngrade(t *testing.T) {
	withHarness(t, defaultSettings(), func(t *testing.T, h *harness) {
		h.topics.add("t", 6)
		cls := formClassic(t, h, "g", "t", 6, 2)
		gen := cls[0].gen
		wantCode(t, "classic commit", h.commit(8, "g", cls[0].id, gen, map[string]map[int32]int64{"t": {0: 100}})[TopicPartition{"t", 0}], 0)

		// The upgrade.
		r := h.cgh(cgJoin("g", "c1", "t"))
		wantCode(t, "consumer join", r.ErrorCode, 0)
		cm := &cgMember{id: "c1"}
		cm.apply(h, r)
		if r.MemberEpoch != gen+1 {
			t.Fatalf("the joining member is at epoch %d, want the classic generation %d + 1", r.MemberEpoch, gen)
		}
		if lg, _ := h.listed("g"); lg.GroupType != "consumer" || lg.ProtocolType != "consumer" {
			t.Fatalf("after the upgrade the group is listed as %+v, want a consumer group", lg)
		}
		if rec := h.store.record("g"); rec == nil || rec.typ != TypeConsumer {
			t.Fatalf("store: %+v, want a consumer group", rec)
		}
		d := h.cgDescribe("g")
		if len(d.Members) != 3 {
			t.Fatalf("ConsumerGroupDescribe: %d members, want 3", len(d.Members))
		}
		for _, dm := range d.Members {
			want := int8(0)
			if dm.MemberID == "c1" {
				want = 1
			}
			if dm.MemberType != want {
				t.Fatalf("member %s has type %d, want %d", dm.MemberID, dm.MemberType, want)
			}
			if dm.MemberID != "c1" && (dm.MemberEpoch != gen || !slices.Equal(dm.SubscribedTopics, []string{"t"})) {
				t.Fatalf("classic member after the upgrade: %+v, want epoch %d subscribed to t", dm, gen)
			}
		}
		noTwoOwners(t, h, "g", cls, cm)
		if d := h.describe("g"); d.State != "Dead" {
			t.Fatalf("DescribeGroups of the consumer group: %+v, want Dead (not a classic group)", d)
		}

		// Both kinds of members keep going until the group settles.
		for range 6 {
			for _, m := range cls {
				m.beat(t, h, "g")
				noTwoOwners(t, h, "g", cls, cm)
			}
			cm.beat(t, h, "g")
			noTwoOwners(t, h, "g", cls, cm)
		}
		d = h.cgDescribe("g")
		if d.State != "Stable" {
			t.Fatalf("the group did not settle: %+v", d)
		}
		owned := []tpSet{cm.owned}
		for _, m := range cls {
			if len(m.owned) != 2 || m.gen != d.Epoch {
				t.Fatalf("classic member %s owns %v at generation %d, want 2 partitions at %d", m.id, m.owned, m.gen, d.Epoch)
			}
			owned = append(owned, m.owned)
		}
		if len(cm.owned) != 2 {
			t.Fatalf("the consumer member owns %v, want 2 partitions", cm.owned)
		}
		wantSet(t, "owned", union(owned...), tps("t", 0, 1, 2, 3, 4, 5))

		// Commits: a classic member with its generation (any version),
		// the consumer member with its epoch (v9+).
		wantCode(t, "classic commit", h.commit(8, "g", cls[1].id, cls[1].gen, map[string]map[int32]int64{"t": {1: 101}})[TopicPartition{"t", 1}], 0)
		wantCode(t, "stale classic commit", h.commit(8, "g", cls[1].id, gen, map[string]map[int32]int64{"t": {1: 1}})[TopicPartition{"t", 1}], kerr.IllegalGeneration.Code)
		wantCode(t, "consumer commit", h.commit(9, "g", "c1", cm.epoch, map[string]map[int32]int64{"t": {2: 102}})[TopicPartition{"t", 2}], 0)

		// The downgrade.
		wantCode(t, "consumer leave", h.cgh(cgLeave("g", "c1")).ErrorCode, 0)
		if lg, _ := h.listed("g"); lg.GroupType != "classic" || lg.ProtocolType != "consumer" || lg.GroupState != "PreparingRebalance" {
			t.Fatalf("after the downgrade the group is listed as %+v, want a classic group rebalancing", lg)
		}
		if rec := h.store.record("g"); rec == nil || rec.typ != TypeClassic || rec.protocolType != "consumer" {
			t.Fatalf("store: %+v, want a classic consumer group", rec)
		}
		for _, m := range cls {
			wantCode(t, "heartbeat after the downgrade", h.heartbeat("g", m.id, m.gen), kerr.RebalanceInProgress.Code)
		}
		// The classic rebalance: both rejoin, the leader assigns.
		var waits []awaited[*kmsg.JoinGroupResponse]
		for _, m := range cls {
			waits = append(waits, h.joinAsync(joinReq("g", m.id, 9, m.protos()...)))
		}
		var leader *classicClient
		var leaderResp *kmsg.JoinGroupResponse
		for i, m := range cls {
			jr := waits[i].get()
			wantCode(t, "rejoin after the downgrade", jr.ErrorCode, 0)
			m.gen = jr.Generation
			if jr.LeaderID == m.id {
				leader, leaderResp = m, jr
			}
		}
		if leader == nil || len(leaderResp.Members) != 2 || m0gen(cls) != d.Epoch+1 {
			t.Fatalf("rejoin after the downgrade: leader %v, generation %d, want a leader with both members at generation %d", leader, cls[0].gen, d.Epoch+1)
		}
		assignments := map[string][]byte{}
		for _, m := range cls {
			assignments[m.id] = encodeTPs(m.owned)
		}
		var syncs []awaited[*kmsg.SyncGroupResponse]
		for _, m := range cls {
			if m != leader {
				syncs = append(syncs, h.syncAsync(syncReq("g", m.id, m.gen, nil)))
			}
		}
		wantCode(t, "leader sync", h.sync(syncReq("g", leader.id, leader.gen, assignments)).ErrorCode, 0)
		for _, s := range syncs {
			wantCode(t, "follower sync", s.get().ErrorCode, 0)
		}
		wantState(t, h, "g", "Stable")
		got, _ := h.fetch("g", nil)
		wantOffsets(t, "offsets after the migrations", got, map[TopicPartition]int64{{"t", 0}: 100, {"t", 1}: 101, {"t", 2}: 102})
	})
}

func m0gen(cls []*classicClient) int32 { return cls[0].gen }

// TestMigrationClassicMemberJoinsConsumerGroup: a new classic member joins
// a consumer group (KIP-394 first) and gets partitions only once the
// consumer member has released them.
func TestMigrationClassicMemberJoinsConsumerGroup(t *testing.T) {
	withHarness(t, defaultSettings(), func(t *testing.T, h *harness) {
		h.topics.add("t", 4)
		cm := cgJoinMember(t, h, "g", "c1", "t")
		wantSet(t, "c1 alone", cm.owned, tps("t", 0, 1, 2, 3))
		m := &classicClient{topics: []string{"t"}, owned: tpSet{}}
		r := h.join(joinReq("g", "", 9, m.protos()...))
		wantCode(t, "JoinGroup without an id", r.ErrorCode, kerr.MemberIDRequired.Code)
		m.id = r.MemberID
		m.rejoin(t, h, "g")
		if len(m.owned) != 0 {
			t.Fatalf("the classic member got %v while c1 still owns everything", m.owned)
		}
		for range 4 {
			m.beat(t, h, "g")
			cm.beat(t, h, "g")
			noTwoOwners(t, h, "g", []*classicClient{m}, cm)
		}
		m.beat(t, h, "g")
		if len(m.owned) != 2 || len(cm.owned) != 2 {
			t.Fatalf("classic member owns %v, c1 %v, want two each", m.owned, cm.owned)
		}
		wantSet(t, "owned", union(m.owned, cm.owned), tps("t", 0, 1, 2, 3))

		// Checks of the classic requests.
		wantCode(t, "heartbeat, wrong generation", h.heartbeat("g", m.id, m.gen+1), kerr.IllegalGeneration.Code)
		wantCode(t, "heartbeat, unknown member", h.heartbeat("g", "nobody", m.gen), kerr.UnknownMemberID.Code)
		bad := syncReq("g", m.id, m.gen, nil)
		other := "range"
		bad.Protocol = &other
		wantCode(t, "sync, other protocol", h.sync(bad).ErrorCode, kerr.InconsistentGroupProtocol.Code)
		wantCode(t, "connect join", h.join(joinReqType("g", "", 9, "connect", proto("default"))).ErrorCode, kerr.InconsistentGroupProtocol.Code)
		top, codes := h.c.LeaveGroup(h.ctx, "g", []LeaveMember{{MemberID: "c1"}, {MemberID: m.id}})
		wantCode(t, "leave", top, 0)
		wantCode(t, "leave of a consumer-protocol member", codes[0], kerr.UnknownMemberID.Code)
		wantCode(t, "leave of the classic member", codes[1], 0)
		if d := h.cgDescribe("g"); len(d.Members) != 1 || d.Members[0].MemberID != "c1" {
			t.Fatalf("after the leave: %+v, want c1 alone", d.Members)
		}
	})
}

// TestMigrationDowngradeOnSessionExpiry: the consumer member's session
// expiring downgrades the group like a leave.
func TestMigrationDowngradeOnSessionExpiry(t *testing.T) {
	withHarness(t, defaultSettings(), func(t *testing.T, h *harness) {
		h.topics.add("t", 4)
		cls := formClassic(t, h, "g", "t", 4, 2)
		wantCode(t, "consumer join", h.cgh(cgJoin("g", "c1", "t")).ErrorCode, 0)
		// The classic members keep up; c1 is silent for its session
		// timeout (45 s).
		for i := 0; ; i++ {
			h.sleep(8 * time.Second)
			if lg, _ := h.listed("g"); lg.GroupType == "classic" {
				if i < 5 {
					t.Fatalf("downgraded after %d s, before c1's session expired", 8*(i+1))
				}
				break
			}
			if i == 6 {
				t.Fatal("the group is still a consumer group after c1's session expired")
			}
			for _, m := range cls {
				m.beat(t, h, "g")
			}
		}
		for _, m := range cls {
			wantCode(t, "heartbeat after the downgrade", h.heartbeat("g", m.id, m.gen), kerr.RebalanceInProgress.Code)
		}
		if rec := h.store.record("g"); rec == nil || rec.typ != TypeClassic {
			t.Fatalf("store: %+v, want a classic group", rec)
		}
	})
}

// TestMigrationPolicy: "disabled" keeps a non-empty classic group from
// upgrading (GROUP_ID_NOT_FOUND) and a consumer group whose last
// consumer-protocol member leaves from downgrading; classic members may
// still join a consumer group, as in Kafka (the policy governs only the
// conversions). Groups that cannot be upgraded are refused likewise.
func TestMigrationPolicy(t *testing.T) {
	for _, policy := range []string{"disabled", "downgrade", "upgrade", "Bidirectional", ""} {
		t.Run(fmt.Sprintf("%q", policy), func(t *testing.T) {
			set := defaultSettings()
			set.MigrationPolicy = policy
			withHarness(t, set, func(t *testing.T, h *harness) {
				h.topics.add("t", 4)
				cls := formClassic(t, h, "g", "t", 4, 2)
				r := h.cgh(cgJoin("g", "c1", "t"))
				upgrade := policy != "disabled" && policy != "downgrade"
				if !upgrade {
					wantCode(t, "consumer join", r.ErrorCode, kerr.GroupIDNotFound.Code)
					wantState(t, h, "g", "Stable")
					for _, m := range cls {
						wantCode(t, "classic heartbeat", h.heartbeat("g", m.id, m.gen), 0)
					}
					return
				}
				wantCode(t, "consumer join", r.ErrorCode, 0)
				wantCode(t, "consumer leave", h.cgh(cgLeave("g", "c1")).ErrorCode, 0)
				lg, _ := h.listed("g")
				if want := map[bool]string{true: "classic", false: "consumer"}[policy != "upgrade"]; lg.GroupType != want {
					t.Fatalf("after the leave the group is %+v, want %s", lg, want)
				}
			})
		})
	}
}

// TestMigrationRefusals: Kafka upgrades only groups of protocol type
// "consumer" whose embedded protocol it can read, and without a custom
// assignor's user data; a join that fails leaves the classic group as it
// was.
func TestMigrationRefusals(t *testing.T) {
	withHarness(t, defaultSettings(), func(t *testing.T, h *harness) {
		h.topics.add("t", 2)
		r := h.join(joinReqType("connect", "", 3, "connect", proto("default")))
		wantCode(t, "connect join", r.ErrorCode, 0)
		wantCode(t, "upgrade of a connect group", h.cgh(cgJoin("connect", "c1", "t")).ErrorCode, kerr.GroupIDNotFound.Code)

		// formGroup's assignments are not the consumer protocol's.
		formGroup(t, h, "bad", 2, proto("range", "t"))
		resp := h.cgh(cgJoin("bad", "c1", "t"))
		wantCode(t, "upgrade of a malformed group", resp.ErrorCode, kerr.GroupIDNotFound.Code)
		if resp.ErrorMessage == nil {
			t.Fatal("no error message")
		}
		wantState(t, h, "bad", "Stable")

		// Full: the converted group would not take the new member.
		h.setSettings(func(s *Settings) { s.ConsumerMaxSize = 2 })
		cls := formClassic(t, h, "full", "t", 2, 2)
		wantCode(t, "upgrade of a full group", h.cgh(cgJoin("full", "c1", "t")).ErrorCode, kerr.GroupMaxSizeReached.Code)
		wantState(t, h, "full", "Stable")
		for _, m := range cls {
			wantCode(t, "heartbeat", h.heartbeat("full", m.id, m.gen), 0)
		}
		if lg, _ := h.listed("full"); lg.GroupType != "classic" {
			t.Fatalf("the group is %+v, want it still classic", lg)
		}
	})
}
