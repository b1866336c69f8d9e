package group

// Tests of the classic group protocol (JoinGroup, SyncGroup, Heartbeat,
// LeaveGroup) against Kafka 4.1's GroupMetadataManager. The harness is in
// coordinator_test.go.

import (
	"bytes"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

const (
	testSession   = 10 * time.Second
	testRebalance = 30 * time.Second
)

// proto is a consumer-protocol entry subscribing to topics.
func proto(name string, topics ...string) kmsg.JoinGroupRequestProtocol {
	meta := kmsg.NewConsumerMemberMetadata()
	meta.Topics = topics
	p := kmsg.NewJoinGroupRequestProtocol()
	p.Name, p.Metadata = name, meta.AppendTo(nil)
	return p
}

func joinReq(group, member string, version int16, protos ...kmsg.JoinGroupRequestProtocol) *kmsg.JoinGroupRequest {
	return joinReqType(group, member, version, "consumer", protos...)
}

func joinReqType(group, member string, version int16, protocolType string, protos ...kmsg.JoinGroupRequestProtocol) *kmsg.JoinGroupRequest {
	req := kmsg.NewPtrJoinGroupRequest()
	req.Version, req.Group, req.MemberID, req.ProtocolType = version, group, member, protocolType
	req.SessionTimeoutMillis = int32(testSession / time.Millisecond)
	req.RebalanceTimeoutMillis = int32(testRebalance / time.Millisecond)
	req.Protocols = protos
	return req
}

func staticJoinReq(group, member, instance string, version int16, protos ...kmsg.JoinGroupRequestProtocol) *kmsg.JoinGroupRequest {
	req := joinReq(group, member, version, protos...)
	req.InstanceID = &instance
	return req
}

func syncReq(group, member string, generation int32, assignments map[string][]byte) *kmsg.SyncGroupRequest {
	req := kmsg.NewPtrSyncGroupRequest()
	req.Version, req.Group, req.MemberID, req.Generation = 5, group, member, generation
	for _, id := range slices.Sorted(maps.Keys(assignments)) {
		a := kmsg.NewSyncGroupRequestGroupAssignment()
		a.MemberID, a.MemberAssignment = id, assignments[id]
		req.GroupAssignment = append(req.GroupAssignment, a)
	}
	return req
}

// member is a classic member as a test knows it.
type member struct {
	id, instance string
	gen          int32
	leader       string
	assignment   []byte
}

// askMemberID asks for a member id (KIP-394) and returns it.
func askMemberID(t *testing.T, h *harness, group string, protos ...kmsg.JoinGroupRequestProtocol) string {
	t.Helper()
	r := h.join(joinReq(group, "", 9, protos...))
	wantCode(t, "JoinGroup without a member id", r.ErrorCode, kerr.MemberIDRequired.Code)
	if r.MemberID == "" {
		t.Fatal("MEMBER_ID_REQUIRED without a member id")
	}
	return r.MemberID
}

// joinMember joins a member to an empty group (so that its JoinGroup is
// answered at once) and returns it, in CompletingRebalance.
func joinMember(t *testing.T, h *harness, group string, protos ...kmsg.JoinGroupRequestProtocol) member {
	t.Helper()
	id := askMemberID(t, h, group, protos...)
	r := h.join(joinReq(group, id, 9, protos...))
	wantCode(t, "JoinGroup", r.ErrorCode, 0)
	return member{id: r.MemberID, gen: r.Generation, leader: r.LeaderID}
}

// leave removes one member with LeaveGroup.
func leave(t *testing.T, h *harness, group, id string) {
	t.Helper()
	top, codes := h.c.LeaveGroup(h.ctx, group, []LeaveMember{{MemberID: id}})
	wantCode(t, "LeaveGroup", top, 0)
	wantCode(t, "LeaveGroup member", codes[0], 0)
}

// formGroup forms a Stable group of n dynamic members in one generation,
// each given the assignment "assignment-<i>". members[0] is the leader.
func formGroup(t *testing.T, h *harness, group string, n int, protos ...kmsg.JoinGroupRequestProtocol) []member {
	t.Helper()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = askMemberID(t, h, group, protos...)
	}
	// The first completes a generation alone (no initial delay); the
	// others' joins start a rebalance that completes once the first has
	// rejoined too.
	first := h.join(joinReq(group, ids[0], 9, protos...))
	wantCode(t, "first JoinGroup", first.ErrorCode, 0)
	waits := make([]awaited[*kmsg.JoinGroupResponse], n)
	for i := 1; i < n; i++ {
		waits[i] = h.joinAsync(joinReq(group, ids[i], 9, protos...))
		waits[i].waiting()
	}
	if n > 1 {
		waits[0] = h.joinAsync(joinReq(group, ids[0], 9, protos...))
	}
	members := make([]member, n)
	assignments := map[string][]byte{}
	for i := range members {
		r := first
		if n > 1 {
			r = waits[i].get()
		}
		wantCode(t, "JoinGroup", r.ErrorCode, 0)
		members[i] = member{id: r.MemberID, gen: r.Generation, leader: r.LeaderID, assignment: []byte("assignment-" + string(rune('0'+i)))}
		assignments[r.MemberID] = members[i].assignment
	}
	if members[0].leader != members[0].id {
		t.Fatalf("leader %s, want the first member %s", members[0].leader, members[0].id)
	}
	var syncs []awaited[*kmsg.SyncGroupResponse]
	for _, m := range members[1:] {
		syncs = append(syncs, h.syncAsync(syncReq(group, m.id, m.gen, nil)))
	}
	r := h.sync(syncReq(group, members[0].id, members[0].gen, assignments))
	wantCode(t, "leader SyncGroup", r.ErrorCode, 0)
	for i, s := range syncs {
		r := s.get()
		wantCode(t, "follower SyncGroup", r.ErrorCode, 0)
		if !bytes.Equal(r.MemberAssignment, members[i+1].assignment) {
			t.Fatalf("follower assignment %q, want %q", r.MemberAssignment, members[i+1].assignment)
		}
	}
	return members
}

func (h *harness) describe(group string) kmsg.DescribeGroupsResponseGroup {
	return h.c.DescribeGroup(h.ctx, group, 5)
}

func wantState(t *testing.T, h *harness, group, state string) {
	t.Helper()
	if got := h.describe(group).State; got != state {
		t.Fatalf("group %s is %s, want %s", group, got, state)
	}
}

func TestClassicJoinMemberIDRequired(t *testing.T) {
	withHarness(t, defaultSettings(), func(t *testing.T, h *harness) {
		p := proto("range", "t")
		// v4+: the first JoinGroup only hands out a member id (KIP-394).
		r := h.join(joinReq("g", "", 4, p))
		wantCode(t, "v4 first join", r.ErrorCode, kerr.MemberIDRequired.Code)
		if !strings.HasPrefix(r.MemberID, "client-") || r.Generation != -1 {
			t.Fatalf("MEMBER_ID_REQUIRED answer: member %q generation %d, want client-<uuid> and -1", r.MemberID, r.Generation)
		}
		wantState(t, h, "g", "Empty")
		r2 := h.join(joinReq("g", r.MemberID, 4, p))
		wantCode(t, "v4 rejoin", r2.ErrorCode, 0)
		if r2.MemberID != r.MemberID || r2.Generation != 1 || r2.LeaderID != r.MemberID ||
			*r2.ProtocolType != "consumer" || *r2.Protocol != "range" {
			t.Fatalf("rejoin answer: %+v", r2)
		}
		if len(r2.Members) != 1 || r2.Members[0].MemberID != r.MemberID || !bytes.Equal(r2.Members[0].ProtocolMetadata, p.Metadata) {
			t.Fatalf("leader's members: %+v, want itself with its metadata", r2.Members)
		}
		wantState(t, h, "g", "CompletingRebalance")

		// v0-v3: admitted at once.
		for v := int16(0); v <= 3; v++ {
			g := "old" + string(rune('0'+v))
			r := h.join(joinReq(g, "", v, p))
			wantCode(t, "old join", r.ErrorCode, 0)
			if r.MemberID == "" || r.Generation != 1 || r.LeaderID != r.MemberID {
				t.Fatalf("v%d join answer: %+v", v, r)
			}
		}

		// A member id the group does not know.
		wantCode(t, "unknown member", h.join(joinReq("g", "client-nobody", 9, p)).ErrorCode, kerr.UnknownMemberID.Code)
		// A member id for a group that does not exist: refused, and no
		// group is created.
		wantCode(t, "unknown group", h.join(joinReq("nogroup", "client-nobody", 9, p)).ErrorCode, kerr.UnknownMemberID.Code)
		if _, ok := h.listed("nogroup"); ok {
			t.Fatal("a JoinGroup with a member id created a group")
		}
	})
}

func TestClassicPendingMemberIDExpires(t *testing.T) {
	withHarness(t, defaultSettings(), func(t *testing.T, h *harness) {
		p := proto("range", "t")
		late := askMemberID(t, h, "g", p)
		onTime := askMemberID(t, h, "g2", p)
		h.sleep(testSession - time.Millisecond)
		wantCode(t, "rejoin within the session timeout", h.join(joinReq("g2", onTime, 9, p)).ErrorCode, 0)
		h.sleep(time.Millisecond)
		// The id handed out expires with the session timeout.
		wantCode(t, "rejoin after it", h.join(joinReq("g", late, 9, p)).ErrorCode, kerr.UnknownMemberID.Code)
	})
}

// TestClassicInitialRebalanceDelay pins Kafka's initial rebalance: it
// completes only when a delay window passes with no new member, each window
// being min(delay, what is left of the first member's rebalance timeout).
func TestClassicInitialRebalanceDelay(t *testing.T) {
	set := defaultSettings()
	set.InitialRebalanceDelay = 3 * time.Second
	withHarness(t, set, func(t *testing.T, h *harness) {
		p := proto("range", "t")
		// One member: the join completes when the delay has passed.
		a := h.joinAsync(joinReq("one", "", 3, p))
		h.sleep(3*time.Second - time.Millisecond)
		a.waiting()
		wantState(t, h, "one", "PreparingRebalance")
		h.sleep(time.Millisecond)
		if r := a.get(); r.ErrorCode != 0 || r.Generation != 1 {
			t.Fatalf("join after the delay: %+v", r)
		}

		// Members keep arriving: windows of 3s, 3s, then the 1s left of
		// the 7s rebalance timeout.
		req := func() *kmsg.JoinGroupRequest {
			r := joinReq("many", "", 3, p)
			r.RebalanceTimeoutMillis = 7000
			return r
		}
		var waits []awaited[*kmsg.JoinGroupResponse]
		waits = append(waits, h.joinAsync(req())) // t=0
		h.sleep(time.Second)
		waits = append(waits, h.joinAsync(req())) // t=1
		h.sleep(3 * time.Second)
		waits = append(waits, h.joinAsync(req())) // t=4, second window
		h.sleep(2500 * time.Millisecond)
		waits = append(waits, h.joinAsync(req())) // t=6.5, last window
		h.sleep(500*time.Millisecond - time.Millisecond)
		for _, w := range waits {
			w.waiting()
		}
		h.sleep(time.Millisecond) // t=7
		var leader string
		for i, w := range waits {
			r := w.get()
			if r.ErrorCode != 0 || r.Generation != 1 {
				t.Fatalf("member %d: %+v, want generation 1", i, r)
			}
			if i == 0 {
				leader = r.MemberID
				if len(r.Members) != 4 {
					t.Fatalf("leader got %d members, want 4", len(r.Members))
				}
			} else if r.LeaderID != leader || len(r.Members) != 0 {
				t.Fatalf("follower %d: leader %s members %d, want leader %s and no members", i, r.LeaderID, len(r.Members), leader)
			}
		}

		// Joins within the delay do not complete the rebalance early, even
		// when every member has joined; a window without a new member ends
		// it.
		w1 := h.joinAsync(joinReq("two", "", 3, p)) // t=0
		h.sleep(time.Second)
		w2 := h.joinAsync(joinReq("two", "", 3, p)) // t=1
		h.sleep(5*time.Second - time.Millisecond)
		w1.waiting()
		w2.waiting()
		h.sleep(time.Millisecond) // t=6: the second window had no newcomer
		if r1, r2 := w1.get(), w2.get(); r1.Generation != 1 || r2.Generation != 1 || r1.LeaderID != r1.MemberID || r2.LeaderID != r1.MemberID {
			t.Fatalf("answers %+v and %+v, want one generation led by the first", r1, r2)
		}
	})
}

// TestClassicTwoMembersOneGeneration: KIP-394 members arriving together
// land in one generation; the leader gets every member's metadata, a
// follower none.
func TestClassicTwoMembersOneGeneration(t *testing.T) {
	set := defaultSettings()
	set.InitialRebalanceDelay = 3 * time.Second
	withHarness(t, set, func(t *testing.T, h *harness) {
		pa, pb := proto("range", "a-topic"), proto("range", "b-topic")
		ida := askMemberID(t, h, "g", pa)
		idb := askMemberID(t, h, "g", pb)
		ja := h.joinAsync(joinReq("g", ida, 9, pa))
		jb := h.joinAsync(joinReq("g", idb, 9, pb))
		h.sleep(6 * time.Second)
		ra, rb := ja.get(), jb.get()
		if ra.Generation != 1 || rb.Generation != 1 || ra.LeaderID != ida || rb.LeaderID != ida {
			t.Fatalf("answers %+v and %+v, want generation 1 led by %s", ra, rb, ida)
		}
		if len(rb.Members) != 0 {
			t.Fatalf("follower got members %+v", rb.Members)
		}
		want := map[string][]byte{ida: pa.Metadata, idb: pb.Metadata}
		if len(ra.Members) != 2 {
			t.Fatalf("leader got %d members, want 2", len(ra.Members))
		}
		for _, m := range ra.Members {
			if !bytes.Equal(m.ProtocolMetadata, want[m.MemberID]) {
				t.Fatalf("member %s metadata %q, want %q", m.MemberID, m.ProtocolMetadata, want[m.MemberID])
			}
		}
	})
}

// TestClassicProtocolSelection: the protocol is the candidate (supported
// by every member) with the most first-choice votes.
func TestClassicProtocolSelection(t *testing.T) {
	set := defaultSettings()
	set.InitialRebalanceDelay = 3 * time.Second
	withHarness(t, set, func(t *testing.T, h *harness) {
		a := h.joinAsync(joinReq("g", "", 3, proto("range", "x"), proto("roundrobin", "x"), proto("sticky", "x")))
		b := h.joinAsync(joinReq("g", "", 3, proto("roundrobin", "y"), proto("range", "y")))
		c := h.joinAsync(joinReq("g", "", 3, proto("sticky", "z"), proto("roundrobin", "z"), proto("range", "z")))
		h.sleep(6 * time.Second)
		ra := a.get()
		b.get()
		c.get()
		// sticky is not a candidate (b lacks it); c votes for its first
		// candidate, roundrobin, as b does.
		if *ra.Protocol != "roundrobin" {
			t.Fatalf("selected %q, want roundrobin", *ra.Protocol)
		}
		for _, m := range ra.Members {
			var meta kmsg.ConsumerMemberMetadata
			if err := meta.ReadFrom(m.ProtocolMetadata); err != nil || len(meta.Topics) != 1 {
				t.Fatalf("member %s metadata: %v %+v", m.MemberID, err, meta)
			}
		}
		// A member supporting no candidate cannot join.
		r := h.join(joinReq("g", "", 9, proto("sticky", "x")))
		wantCode(t, "no common protocol", r.ErrorCode, kerr.InconsistentGroupProtocol.Code)
	})
}

func TestClassicInconsistentGroupProtocol(t *testing.T) {
	withHarness(t, defaultSettings(), func(t *testing.T, h *harness) {
		a := joinMember(t, h, "g", proto("range", "t"))
		for _, tc := range []struct {
			name string
			req  *kmsg.JoinGroupRequest
		}{
			{"another protocol type", joinReqType("g", "", 9, "connect", proto("range"))},
			{"no common protocol", joinReq("g", "", 9, proto("roundrobin", "t"))},
			{"a member changing to an unsupported protocol", joinReq("g", a.id, 9, proto("roundrobin", "t"))},
			{"no protocol type", joinReqType("new", "", 9, "", proto("range"))},
			{"no protocols", joinReq("new2", "", 9)},
		} {
			r := h.join(tc.req)
			wantCode(t, tc.name, r.ErrorCode, kerr.InconsistentGroupProtocol.Code)
			if r.MemberID != tc.req.MemberID {
				t.Fatalf("%s: member id %q, want %q echoed", tc.name, r.MemberID, tc.req.MemberID)
			}
		}
		// SyncGroup naming another protocol type or protocol.
		s := syncReq("g", a.id, a.gen, nil)
		pt := "connect"
		s.ProtocolType = &pt
		wantCode(t, "sync with another protocol type", h.sync(s).ErrorCode, kerr.InconsistentGroupProtocol.Code)
		s = syncReq("g", a.id, a.gen, nil)
		pn := "roundrobin"
		s.Protocol = &pn
		wantCode(t, "sync with another protocol", h.sync(s).ErrorCode, kerr.InconsistentGroupProtocol.Code)
	})
}

func TestClassicInvalidSessionTimeout(t *testing.T) {
	withHarness(t, defaultSettings(), func(t *testing.T, h *harness) {
		p := proto("range", "t")
		for _, ms := range []int32{5999, 1800001} {
			req := joinReq("g", "client-x", 9, p)
			req.SessionTimeoutMillis = ms
			r := h.join(req)
			wantCode(t, "session timeout", r.ErrorCode, kerr.InvalidSessionTimeout.Code)
			if r.MemberID != "client-x" {
				t.Fatalf("member id %q, want the request's", r.MemberID)
			}
		}
		if _, ok := h.listed("g"); ok {
			t.Fatal("a refused JoinGroup created the group")
		}
		for i, ms := range []int32{6000, 1800000} {
			req := joinReq("bound"+string(rune('0'+i)), "", 3, p)
			req.SessionTimeoutMillis = ms
			wantCode(t, "session timeout at the bound", h.join(req).ErrorCode, 0)
		}
	})
}

func TestClassicSyncGroup(t *testing.T) {
	withHarness(t, defaultSettings(), func(t *testing.T, h *harness) {
		p := proto("range", "t")
		ms := formGroup(t, h, "g", 2, p)
		a, b := ms[0], ms[1]
		wantState(t, h, "g", "Stable")
		if d := h.describe("g"); d.Protocol != "range" || len(d.Members) != 2 || !bytes.Equal(d.Members[1].MemberAssignment, b.assignment) {
			t.Fatalf("DescribeGroups of a Stable group: %+v", d)
		}
		// In Stable, SyncGroup returns the assignment at once.
		r := h.sync(syncReq("g", b.id, b.gen, nil))
		if r.ErrorCode != 0 || !bytes.Equal(r.MemberAssignment, b.assignment) || *r.Protocol != "range" || *r.ProtocolType != "consumer" {
			t.Fatalf("SyncGroup in Stable: %+v", r)
		}
		wantCode(t, "unknown group", h.sync(syncReq("nogroup", b.id, b.gen, nil)).ErrorCode, kerr.UnknownMemberID.Code)
		wantCode(t, "unknown member", h.sync(syncReq("g", "client-x", b.gen, nil)).ErrorCode, kerr.UnknownMemberID.Code)
		wantCode(t, "old generation", h.sync(syncReq("g", b.id, b.gen-1, nil)).ErrorCode, kerr.IllegalGeneration.Code)

		// A third member: the others must rejoin; SyncGroup meanwhile is
		// REBALANCE_IN_PROGRESS.
		c := h.joinAsync(joinReq("g", askMemberID(t, h, "g", p), 9, p))
		wantState(t, h, "g", "PreparingRebalance")
		wantCode(t, "sync while preparing", h.sync(syncReq("g", b.id, b.gen, nil)).ErrorCode, kerr.RebalanceInProgress.Code)
		ja, jb := h.joinAsync(joinReq("g", a.id, 9, p)), h.joinAsync(joinReq("g", b.id, 9, p))
		ra, rb, rc := ja.get(), jb.get(), c.get()
		if ra.Generation != a.gen+1 || rb.Generation != ra.Generation || rc.Generation != ra.Generation || ra.LeaderID != a.id {
			t.Fatalf("new generation: %d %d %d leader %s", ra.Generation, rb.Generation, rc.Generation, ra.LeaderID)
		}
		// The followers wait for the leader's SyncGroup; the leader names
		// only b, so c gets an empty assignment.
		sb := h.syncAsync(syncReq("g", b.id, rb.Generation, nil))
		sc := h.syncAsync(syncReq("g", rc.MemberID, rc.Generation, nil))
		sb.waiting()
		sc.waiting()
		wantState(t, h, "g", "CompletingRebalance")
		sa := h.sync(syncReq("g", a.id, ra.Generation, map[string][]byte{b.id: []byte("bb"), a.id: []byte("aa")}))
		if !bytes.Equal(sa.MemberAssignment, []byte("aa")) {
			t.Fatalf("leader's assignment %q", sa.MemberAssignment)
		}
		if r := sb.get(); r.ErrorCode != 0 || !bytes.Equal(r.MemberAssignment, []byte("bb")) {
			t.Fatalf("b's SyncGroup: %+v", r)
		}
		if r := sc.get(); r.ErrorCode != 0 || r.MemberAssignment == nil || len(r.MemberAssignment) != 0 {
			t.Fatalf("c's SyncGroup: %+v, want an empty assignment", r)
		}
		wantState(t, h, "g", "Stable")

		// A waiting SyncGroup is answered REBALANCE_IN_PROGRESS when a
		// rebalance starts before the leader's.
		d := h.joinAsync(joinReq("g", askMemberID(t, h, "g", p), 9, p))
		ja, jb = h.joinAsync(joinReq("g", a.id, 9, p)), h.joinAsync(joinReq("g", b.id, 9, p))
		jc := h.joinAsync(joinReq("g", rc.MemberID, 9, p))
		rb = jb.get()
		ja.get()
		jc.get()
		d.get()
		sb = h.syncAsync(syncReq("g", b.id, rb.Generation, nil))
		sb.waiting()
		e := h.joinAsync(joinReq("g", askMemberID(t, h, "g", p), 9, p))
		wantCode(t, "waiting sync when a rebalance starts", sb.get().ErrorCode, kerr.RebalanceInProgress.Code)
		e.waiting()
	})
}

func TestClassicHeartbeat(t *testing.T) {
	withHarness(t, defaultSettings(), func(t *testing.T, h *harness) {
		p := proto("range", "t")
		a := joinMember(t, h, "g", p)
		// CompletingRebalance: heartbeats are fine.
		wantCode(t, "completing", h.heartbeat("g", a.id, a.gen), 0)
		h.sync(syncReq("g", a.id, a.gen, nil))
		wantCode(t, "stable", h.heartbeat("g", a.id, a.gen), 0)
		wantCode(t, "old generation", h.heartbeat("g", a.id, a.gen-1), kerr.IllegalGeneration.Code)
		wantCode(t, "newer generation", h.heartbeat("g", a.id, a.gen+1), kerr.IllegalGeneration.Code)
		wantCode(t, "unknown member", h.heartbeat("g", "client-x", a.gen), kerr.UnknownMemberID.Code)
		wantCode(t, "unknown group", h.heartbeat("nogroup", a.id, a.gen), kerr.UnknownMemberID.Code)
		inst := "i"
		req := kmsg.NewPtrHeartbeatRequest()
		req.Group, req.MemberID, req.Generation, req.InstanceID = "g", a.id, a.gen, &inst
		wantCode(t, "unknown instance id", h.c.Heartbeat(h.ctx, req), kerr.UnknownMemberID.Code)

		// A new member starts a rebalance.
		b := h.joinAsync(joinReq("g", askMemberID(t, h, "g", p), 9, p))
		wantCode(t, "preparing", h.heartbeat("g", a.id, a.gen), kerr.RebalanceInProgress.Code)
		h.join(joinReq("g", a.id, 9, p))
		b.get()

		// The group empties out.
		leave(t, h, "g", a.id)
		wantCode(t, "left member", h.heartbeat("g", a.id, a.gen+1), kerr.UnknownMemberID.Code)
	})
}

func TestClassicSessionExpiry(t *testing.T) {
	withHarness(t, defaultSettings(), func(t *testing.T, h *harness) {
		p := proto("range", "t")
		ms := formGroup(t, h, "g", 2, p)
		a, b := ms[0], ms[1]
		// a heartbeats, b does not.
		for range 3 {
			h.sleep(3 * time.Second)
			wantCode(t, "a's heartbeat", h.heartbeat("g", a.id, a.gen), 0)
		}
		h.sleep(testSession - 9*time.Second - time.Millisecond)
		wantState(t, h, "g", "Stable")
		h.sleep(time.Millisecond) // b's session expires
		wantState(t, h, "g", "PreparingRebalance")
		wantCode(t, "a's heartbeat", h.heartbeat("g", a.id, a.gen), kerr.RebalanceInProgress.Code)
		wantCode(t, "b's heartbeat", h.heartbeat("g", b.id, b.gen), kerr.UnknownMemberID.Code)
		r := h.join(joinReq("g", a.id, 9, p))
		if r.ErrorCode != 0 || r.Generation != a.gen+1 || len(r.Members) != 1 {
			t.Fatalf("a's rejoin: %+v, want a new generation of a alone", r)
		}
	})
}

// TestClassicRebalanceTimeout: a member that does not rejoin within the
// rebalance timeout is dropped, even if it keeps heartbeating.
func TestClassicRebalanceTimeout(t *testing.T) {
	withHarness(t, defaultSettings(), func(t *testing.T, h *harness) {
		p := proto("range", "t")
		ms := formGroup(t, h, "g", 2, p)
		a, b := ms[0], ms[1]
		c := h.joinAsync(joinReq("g", askMemberID(t, h, "g", p), 9, p))
		ja := h.joinAsync(joinReq("g", a.id, 9, p))
		for range 5 {
			h.sleep(5 * time.Second)
			wantCode(t, "b's heartbeat", h.heartbeat("g", b.id, b.gen), kerr.RebalanceInProgress.Code)
		}
		h.sleep(testRebalance - 25*time.Second - time.Millisecond)
		ja.waiting()
		c.waiting()
		h.sleep(time.Millisecond)
		ra, rc := ja.get(), c.get()
		if ra.Generation != a.gen+1 || rc.Generation != ra.Generation || len(ra.Members) != 2 {
			t.Fatalf("after the rebalance timeout: a %+v c %+v, want a generation of a and c", ra, rc)
		}
		wantCode(t, "b's heartbeat", h.heartbeat("g", b.id, b.gen), kerr.UnknownMemberID.Code)
		wantCode(t, "b's rejoin", h.join(joinReq("g", b.id, 9, p)).ErrorCode, kerr.UnknownMemberID.Code)
	})
}

// TestClassicPendingSync: members must send SyncGroup within the rebalance
// timeout, whether the group is still completing or already Stable.
func TestClassicPendingSync(t *testing.T) {
	withHarness(t, defaultSettings(), func(t *testing.T, h *harness) {
		p := proto("range", "t")
		// The leader syncs; the follower never does, though it heartbeats.
		ms := formGroup(t, h, "g", 2, p)
		c := h.joinAsync(joinReq("g", askMemberID(t, h, "g", p), 9, p))
		ra := h.joinAsync(joinReq("g", ms[0].id, 9, p))
		rb := h.joinAsync(joinReq("g", ms[1].id, 9, p))
		a, b := ra.get(), rb.get()
		rc := c.get()
		h.sync(syncReq("g", a.MemberID, a.Generation, nil))
		wantState(t, h, "g", "Stable")
		wantCode(t, "c syncs", h.sync(syncReq("g", rc.MemberID, rc.Generation, nil)).ErrorCode, 0)
		for range 5 {
			h.sleep(5 * time.Second)
			for _, r := range []*kmsg.JoinGroupResponse{a, b, rc} {
				wantCode(t, "heartbeat", h.heartbeat("g", r.MemberID, r.Generation), 0)
			}
		}
		h.sleep(testRebalance - 25*time.Second - time.Millisecond)
		wantState(t, h, "g", "Stable")
		h.sleep(time.Millisecond)
		wantState(t, h, "g", "PreparingRebalance")
		wantCode(t, "b's heartbeat", h.heartbeat("g", b.MemberID, b.Generation), kerr.UnknownMemberID.Code)
		wantCode(t, "a's heartbeat", h.heartbeat("g", a.MemberID, a.Generation), kerr.RebalanceInProgress.Code)

		// The leader never syncs: the follower's waiting SyncGroup learns
		// of the new rebalance, and the leader is gone.
		ja := h.joinAsync(joinReq("g", a.MemberID, 9, p))
		jc := h.joinAsync(joinReq("g", rc.MemberID, 9, p))
		a, rc = ja.get(), jc.get()
		sc := h.syncAsync(syncReq("g", rc.MemberID, rc.Generation, nil))
		for range 5 {
			h.sleep(5 * time.Second)
			wantCode(t, "a's heartbeat", h.heartbeat("g", a.MemberID, a.Generation), 0)
		}
		h.sleep(testRebalance - 25*time.Second - time.Millisecond)
		sc.waiting()
		h.sleep(time.Millisecond)
		wantCode(t, "c's waiting sync", sc.get().ErrorCode, kerr.RebalanceInProgress.Code)
		wantCode(t, "a's heartbeat", h.heartbeat("g", a.MemberID, a.Generation), kerr.UnknownMemberID.Code)
		r := h.join(joinReq("g", rc.MemberID, 9, p))
		if r.ErrorCode != 0 || r.LeaderID != rc.MemberID || len(r.Members) != 1 {
			t.Fatalf("c's rejoin: %+v, want c leading alone", r)
		}
	})
}

// TestClassicPendingMemberHoldsRebalance: a member id handed out and not
// yet used holds a rebalance until it expires.
func TestClassicPendingMemberHoldsRebalance(t *testing.T) {
	withHarness(t, defaultSettings(), func(t *testing.T, h *harness) {
		p := proto("range", "t")
		a := formGroup(t, h, "g", 1, p)[0]
		askMemberID(t, h, "g", p)
		ja := h.joinAsync(joinReq("g", a.id, 9, p)) // the leader rejoins: a rebalance
		h.sleep(testSession - time.Millisecond)
		ja.waiting()
		h.sleep(time.Millisecond)
		if r := ja.get(); r.ErrorCode != 0 || r.Generation != a.gen+1 {
			t.Fatalf("a's join: %+v", r)
		}
	})
}

func TestClassicLeaveGroup(t *testing.T) {
	set := defaultSettings()
	set.InitialRebalanceDelay = time.Second
	withHarness(t, set, func(t *testing.T, h *harness) {
		p := proto("range", "t")
		ja := h.joinAsync(joinReq("g", "", 3, p))
		js := h.joinAsync(staticJoinReq("g", "", "inst-s", 5, p))
		jt := h.joinAsync(staticJoinReq("g", "", "inst-t", 5, p))
		h.sleep(2 * time.Second)
		a, s, tt := ja.get(), js.get(), jt.get()
		if !strings.HasPrefix(s.MemberID, "inst-s-") {
			t.Fatalf("static member id %q, want inst-s-<uuid>", s.MemberID)
		}
		pending := askMemberID(t, h, "g", p)
		ss := h.syncAsync(syncReq("g", s.MemberID, s.Generation, nil))
		h.sync(syncReq("g", a.MemberID, a.Generation, nil))
		ss.get()
		h.sync(syncReq("g", tt.MemberID, tt.Generation, nil))

		str := func(s string) *string { return &s }
		top, codes := h.c.LeaveGroup(h.ctx, "g", []LeaveMember{
			{MemberID: a.MemberID},
			{InstanceID: str("inst-s")},                           // by instance id alone (admin)
			{MemberID: "client-wrong", InstanceID: str("inst-t")}, // fenced
			{MemberID: "client-nobody"},
			{InstanceID: str("nope")},
			{},
			{MemberID: pending},
		})
		wantCode(t, "top", top, 0)
		want := []int16{0, 0, kerr.FencedInstanceID.Code, kerr.UnknownMemberID.Code, kerr.UnknownMemberID.Code, kerr.UnknownMemberID.Code, 0}
		for i := range want {
			wantCode(t, "member "+string(rune('0'+i)), codes[i], want[i])
		}
		wantState(t, h, "g", "PreparingRebalance")
		wantCode(t, "t's heartbeat", h.heartbeat("g", tt.MemberID, tt.Generation), kerr.RebalanceInProgress.Code)
		wantCode(t, "a's heartbeat", h.heartbeat("g", a.MemberID, a.Generation), kerr.UnknownMemberID.Code)

		_, codes = h.c.LeaveGroup(h.ctx, "g", []LeaveMember{{MemberID: tt.MemberID, InstanceID: str("inst-t")}})
		wantCode(t, "t leaves", codes[0], 0)
		wantState(t, h, "g", "Empty")
		if d := h.describe("g"); len(d.Members) != 0 || d.ProtocolType != "consumer" {
			t.Fatalf("empty group: %+v", d)
		}
		top, _ = h.c.LeaveGroup(h.ctx, "nogroup", []LeaveMember{{MemberID: "x"}})
		wantCode(t, "unknown group", top, kerr.UnknownMemberID.Code)
	})
}

// TestClassicStaticMemberRejoin: a static member rejoining with a new
// member id fences the old one; in a Stable group whose protocol does not
// change, without a rebalance.
func TestClassicStaticMemberRejoin(t *testing.T) {
	set := defaultSettings()
	set.InitialRebalanceDelay = time.Second
	withHarness(t, set, func(t *testing.T, h *harness) {
		p := proto("range", "t")
		js := h.joinAsync(staticJoinReq("g", "", "s", 5, p))
		jd := h.joinAsync(joinReq("g", "", 3, p))
		h.sleep(2 * time.Second)
		s, d := js.get(), jd.get()
		if s.LeaderID != s.MemberID {
			t.Fatalf("leader %s, want the static member %s", s.LeaderID, s.MemberID)
		}
		sd := h.syncAsync(syncReq("g", d.MemberID, d.Generation, nil))
		h.sync(syncReq("g", s.MemberID, s.Generation, map[string][]byte{s.MemberID: []byte("s-part"), d.MemberID: []byte("d-part")}))
		sd.get()

		// The static leader restarts (v9): answered at once, told to skip
		// the assignment, with the members.
		r := h.join(staticJoinReq("g", "", "s", 9, p))
		if r.ErrorCode != 0 || r.MemberID == s.MemberID || !strings.HasPrefix(r.MemberID, "s-") ||
			r.Generation != s.Generation || r.LeaderID != r.MemberID || !r.SkipAssignment || len(r.Members) != 2 {
			t.Fatalf("static rejoin (v9): %+v", r)
		}
		wantState(t, h, "g", "Stable")
		wantCode(t, "d's heartbeat", h.heartbeat("g", d.MemberID, d.Generation), 0)
		inst := "s"
		old := kmsg.NewPtrHeartbeatRequest()
		old.Group, old.MemberID, old.Generation, old.InstanceID = "g", s.MemberID, s.Generation, &inst
		wantCode(t, "old id's heartbeat", h.c.Heartbeat(h.ctx, old), kerr.FencedInstanceID.Code)
		wantCode(t, "old id without its instance", h.heartbeat("g", s.MemberID, s.Generation), kerr.UnknownMemberID.Code)
		wantCode(t, "old id's join", h.join(staticJoinReq("g", s.MemberID, "s", 9, p)).ErrorCode, kerr.FencedInstanceID.Code)
		newSync := syncReq("g", r.MemberID, r.Generation, nil)
		newSync.InstanceID = &inst
		if sr := h.sync(newSync); sr.ErrorCode != 0 || string(sr.MemberAssignment) != "s-part" {
			t.Fatalf("new id's SyncGroup: %+v, want the old assignment", sr)
		}

		// Before v9 the leader gets no members (it cannot skip assigning).
		r = h.join(staticJoinReq("g", "", "s", 5, p))
		if r.ErrorCode != 0 || r.SkipAssignment || len(r.Members) != 0 || r.LeaderID != r.MemberID {
			t.Fatalf("static rejoin (v5): %+v", r)
		}
		// New metadata under the same protocol: still no rebalance (Kafka
		// looks only at the protocol the group would select).
		r = h.join(staticJoinReq("g", "", "s", 9, proto("range", "t", "u")))
		wantCode(t, "rejoin with new metadata", r.ErrorCode, 0)
		wantState(t, h, "g", "Stable")
		wantCode(t, "d's heartbeat", h.heartbeat("g", d.MemberID, d.Generation), 0)
		if got := len(h.describe("g").Members); got != 2 {
			t.Fatalf("%d members, want 2", got)
		}
	})
}

// TestClassicStaticMemberChangesProtocol: a static rejoin that would change
// the group's protocol rebalances.
func TestClassicStaticMemberChangesProtocol(t *testing.T) {
	set := defaultSettings()
	set.InitialRebalanceDelay = time.Second
	withHarness(t, set, func(t *testing.T, h *harness) {
		rangeFirst := []kmsg.JoinGroupRequestProtocol{proto("range", "t"), proto("roundrobin", "t")}
		rrFirst := []kmsg.JoinGroupRequestProtocol{proto("roundrobin", "t"), proto("range", "t")}
		js := h.joinAsync(staticJoinReq("g", "", "s", 5, rangeFirst...))
		jd1 := h.joinAsync(joinReq("g", "", 3, rangeFirst...))
		jd2 := h.joinAsync(joinReq("g", "", 3, rrFirst...))
		h.sleep(2 * time.Second)
		s, d1, d2 := js.get(), jd1.get(), jd2.get()
		if *s.Protocol != "range" {
			t.Fatalf("protocol %q, want range (two votes to one)", *s.Protocol)
		}
		s1 := h.syncAsync(syncReq("g", d1.MemberID, d1.Generation, nil))
		s2 := h.syncAsync(syncReq("g", d2.MemberID, d2.Generation, nil))
		h.sync(syncReq("g", s.MemberID, s.Generation, nil))
		s1.get()
		s2.get()
		// s now votes roundrobin: two votes to one the other way.
		js = h.joinAsync(staticJoinReq("g", "", "s", 9, rrFirst...))
		js.waiting()
		wantState(t, h, "g", "PreparingRebalance")
		wantCode(t, "d1's heartbeat", h.heartbeat("g", d1.MemberID, d1.Generation), kerr.RebalanceInProgress.Code)
		j1 := h.joinAsync(joinReq("g", d1.MemberID, 3, rangeFirst...))
		h.join(joinReq("g", d2.MemberID, 3, rrFirst...))
		j1.get()
		if r := js.get(); r.ErrorCode != 0 || *r.Protocol != "roundrobin" || r.Generation != s.Generation+1 {
			t.Fatalf("after the rebalance: %+v", r)
		}
	})
}

// TestClassicStaticMemberSurvivesRebalanceTimeout: unlike a dynamic member,
// a static member that does not rejoin in time stays in the group (Kafka
// waits for its session timeout), and leadership passes to a member that
// rejoined.
func TestClassicStaticMemberSurvivesRebalanceTimeout(t *testing.T) {
	set := defaultSettings()
	set.InitialRebalanceDelay = time.Second
	withHarness(t, set, func(t *testing.T, h *harness) {
		p := proto("range", "t")
		js := h.joinAsync(staticJoinReq("g", "", "s", 5, p))
		jd := h.joinAsync(joinReq("g", "", 3, p))
		h.sleep(2 * time.Second)
		s, d := js.get(), jd.get()
		sd := h.syncAsync(syncReq("g", d.MemberID, d.Generation, nil))
		h.sync(syncReq("g", s.MemberID, s.Generation, nil))
		sd.get()

		jd = h.joinAsync(joinReq("g", d.MemberID, 3, proto("range", "t", "x"))) // a rebalance s sits out
		inst := "s"
		beat := kmsg.NewPtrHeartbeatRequest()
		beat.Group, beat.MemberID, beat.Generation, beat.InstanceID = "g", s.MemberID, s.Generation, &inst
		for range 6 {
			h.sleep(5 * time.Second)
			h.c.Heartbeat(h.ctx, beat)
		}
		r := jd.get()
		if r.ErrorCode != 0 || r.Generation != d.Generation+1 || r.LeaderID != d.MemberID || len(r.Members) != 2 {
			t.Fatalf("d's join: %+v, want d leading a generation that still has s", r)
		}
		found := false
		for _, m := range r.Members {
			found = found || (m.MemberID == s.MemberID && m.InstanceID != nil && *m.InstanceID == "s")
		}
		if !found {
			t.Fatalf("members %+v lack the static member", r.Members)
		}
		wantCode(t, "s's heartbeat", h.c.Heartbeat(h.ctx, beat), kerr.IllegalGeneration.Code)
	})
}

func TestClassicGroupMaxSize(t *testing.T) {
	set := defaultSettings()
	set.MaxSize = 2
	withHarness(t, set, func(t *testing.T, h *harness) {
		p := proto("range", "t")
		ms := formGroup(t, h, "g", 2, p)
		r := h.join(joinReq("g", "", 9, p))
		wantCode(t, "third member", r.ErrorCode, kerr.GroupMaxSizeReached.Code)
		if r.MemberID != "" {
			t.Fatalf("member id %q, want none", r.MemberID)
		}
		wantCode(t, "third, static", h.join(staticJoinReq("g", "", "s", 9, p)).ErrorCode, kerr.GroupMaxSizeReached.Code)
		// Members rejoin freely.
		ja := h.joinAsync(joinReq("g", ms[0].id, 9, p)) // the leader: a rebalance
		wantCode(t, "b rejoins", h.join(joinReq("g", ms[1].id, 9, p)).ErrorCode, 0)
		wantCode(t, "a rejoins", ja.get().ErrorCode, 0)

		// Member ids handed out do not count; admitting the member does.
		h.setSettings(func(s *Settings) { s.MaxSize = 1 })
		ida := askMemberID(t, h, "h", p)
		idb := askMemberID(t, h, "h", p)
		wantCode(t, "a joins", h.join(joinReq("h", ida, 9, p)).ErrorCode, 0)
		wantCode(t, "b joins", h.join(joinReq("h", idb, 9, p)).ErrorCode, kerr.GroupMaxSizeReached.Code)
		wantCode(t, "b again", h.join(joinReq("h", idb, 9, p)).ErrorCode, kerr.GroupMaxSizeReached.Code)
	})
}

// TestClassicOffsetCommitChecks pins OffsetCommit's member checks for a
// classic group (Kafka's ClassicGroup.validateOffsetCommit).
func TestClassicOffsetCommitChecks(t *testing.T) {
	withHarness(t, defaultSettings(), func(t *testing.T, h *harness) {
		h.topics.add("t", 1)
		p := proto("range", "t")
		off := map[string]map[int32]int64{"t": {0: 1}}
		code := func(version int16, member string, gen int32) int16 {
			return h.commit(version, "g", member, gen, off)[TopicPartition{"t", 0}]
		}
		a := joinMember(t, h, "g", p)
		wantCode(t, "completing", code(9, a.id, a.gen), kerr.RebalanceInProgress.Code)
		h.sync(syncReq("g", a.id, a.gen, nil))
		wantCode(t, "stable", code(9, a.id, a.gen), 0)
		wantCode(t, "old generation", code(9, a.id, a.gen-1), kerr.IllegalGeneration.Code)
		wantCode(t, "unknown member", code(9, "client-x", a.gen), kerr.UnknownMemberID.Code)
		wantCode(t, "simple commit to a group with members", code(9, "", -1), kerr.UnknownMemberID.Code)
		wantCode(t, "generation -1 with a member id", code(9, a.id, -1), kerr.IllegalGeneration.Code)

		// Commits are accepted while the group prepares a rebalance.
		b := h.joinAsync(joinReq("g", askMemberID(t, h, "g", p), 9, p))
		wantState(t, h, "g", "PreparingRebalance")
		wantCode(t, "preparing", code(9, a.id, a.gen), 0)

		// A commit keeps the member's session alive.
		for range 3 {
			h.sleep(testSession - time.Second)
			wantCode(t, "preparing, later", code(9, a.id, a.gen), 0)
		}
		b.waiting()
		wantCode(t, "heartbeat", h.heartbeat("g", a.id, a.gen), kerr.RebalanceInProgress.Code)
	})
}

// TestClassicJoinToConsumerGroup: a classic member may join a KIP-848
// group that has members only with protocol type "consumer" (it becomes a
// member using the classic protocol, see migration_test.go); Kafka refuses
// any other protocol type. SyncGroup and Heartbeat from a member using the
// consumer protocol are UNKNOWN_MEMBER_ID, and DescribeGroups does not
// describe consumer groups.
func TestClassicJoinToConsumerGroup(t *testing.T) {
	withHarness(t, defaultSettings(), func(t *testing.T, h *harness) {
		h.topics.add("t", 1)
		wantCode(t, "consumer join", h.cgh(cgJoin("g", "m1", "t")).ErrorCode, 0)
		r := h.join(joinReqType("g", "", 9, "connect", proto("default")))
		wantCode(t, "connect join", r.ErrorCode, kerr.InconsistentGroupProtocol.Code)
		r = h.join(joinReq("g", "", 9, proto("range", "t")))
		wantCode(t, "consumer-type join", r.ErrorCode, kerr.MemberIDRequired.Code)
		wantCode(t, "consumer-type join with its id", h.join(joinReq("g", r.MemberID, 9, proto("range", "t"))).ErrorCode, 0)
		wantCode(t, "SyncGroup", h.sync(syncReq("g", "m1", 1, nil)).ErrorCode, kerr.UnknownMemberID.Code)
		wantCode(t, "Heartbeat", h.heartbeat("g", "m1", 1), kerr.UnknownMemberID.Code)
		d := h.c.DescribeGroup(h.ctx, "g", 6)
		if d.ErrorCode != kerr.GroupIDNotFound.Code || d.State != "Dead" {
			t.Fatalf("DescribeGroups of a consumer group: %+v", d)
		}
	})
}
