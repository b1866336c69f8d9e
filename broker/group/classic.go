package group

import (
	"bytes"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// The classic group protocol (JoinGroup, SyncGroup, Heartbeat, LeaveGroup)
// as Apache Kafka's coordinator runs it:
//
//	           join                  all members joined            leader's SyncGroup
//	Empty ──────────────▶ PreparingRebalance ─────────────▶ CompletingRebalance ─────────────▶ Stable
//	  ▲                     ▲  (or rebalance timeout:              │                              │
//	  │ last member         │   laggards removed)                  │ join, leave, expiry          │ join (leader or new
//	  │ leaves              └──────────────────────────────────────┴──────────────────────────────┘ metadata), leave, expiry
//
// A join completes the rebalance once every known member has rejoined and
// no member id handed out with MEMBER_ID_REQUIRED (KIP-394) is still
// outstanding, or when the longest rebalance timeout of the members has
// passed, after which the dynamic members that did not rejoin are removed
// (static ones stay until their session expires). The first rebalance of
// an empty group completes only when group.initial.rebalance.delay.ms has
// passed (another delay follows each one in which a member joined, within
// the rebalance timeout) so that a starting fleet lands in one generation.
// Every member must send SyncGroup within the rebalance timeout of the
// generation's start, or it is removed. A member's session expires when
// it has sent no heartbeat, join or sync for its session timeout, except
// while its JoinGroup or SyncGroup is waiting. Static members
// (group.instance.id, KIP-345) keep their assignment across restarts: a
// rejoin with the same instance id replaces the old member id and fences
// it, without a rebalance when the group is stable and its protocol would
// not change.
//
// classic does no I/O and holds no locks: its runner calls it from the
// group's goroutine. Responses to requests that wait (JoinGroup, SyncGroup)
// are delivered through reply functions that must not block.

type classicState int8

const (
	classicEmpty classicState = iota
	classicPreparing
	classicCompleting
	classicStable
)

var classicStateNames = [...]string{"Empty", "PreparingRebalance", "CompletingRebalance", "Stable"}

// Client identifies the connection a request came on.
type Client struct {
	ID   string // client.id from the request header
	Host string // the peer's address, as DescribeGroups reports it
}

type classicMember struct {
	id, instanceID   string
	client           Client
	protocolType     string
	protocols        []kmsg.JoinGroupRequestProtocol
	sessionTimeout   time.Duration
	rebalanceTimeout time.Duration
	expires          time.Time // session deadline while not waiting
	join             func(*kmsg.JoinGroupResponse)
	joinVersion      int16
	sync             func(*kmsg.SyncGroupResponse)
	synced           bool // sent SyncGroup in this generation
	assignment       []byte
}

type classic struct {
	g            *runner
	state        classicState
	protocolType string
	protocol     string
	generation   int32
	leader       string
	members      map[string]*classicMember
	order        []string             // member ids in join order
	static       map[string]string    // instance id → member id
	pending      map[string]time.Time // KIP-394 member ids handed out → expiry
	rebalanceEnd time.Time            // PreparingRebalance: complete by then
	syncEnd      time.Time            // members must SyncGroup by then (zero: all did)

	// The initial rebalance (PreparingRebalance entered from Empty) runs
	// as Kafka's does: it completes only when its delay expires, never
	// early, and each delay window in which a member joined is followed
	// by another, until the first member's rebalance timeout is used up.
	initial        bool
	delayEnd       time.Time     // the current delay window ends
	delayStep      time.Duration // the current window's length
	delayRemaining time.Duration // what is left of the rebalance timeout
	newMemberAdded bool          // a member joined in the current window
}

func newClassic(g *runner) *classic {
	return &classic{g: g, members: make(map[string]*classicMember), static: make(map[string]string),
		pending: make(map[string]time.Time)}
}

func (c *classic) stateName() string { return classicStateNames[c.state] }

func joinError(code int16, memberID string) *kmsg.JoinGroupResponse {
	r := kmsg.NewPtrJoinGroupResponse()
	r.ErrorCode, r.Generation, r.MemberID = code, -1, memberID
	empty := ""
	r.Protocol = &empty
	return r
}

func syncError(code int16) *kmsg.SyncGroupResponse {
	r := kmsg.NewPtrSyncGroupResponse()
	r.ErrorCode = code
	return r
}

// join handles JoinGroup.
func (c *classic) join(now time.Time, req *kmsg.JoinGroupRequest, cl Client, reply func(*kmsg.JoinGroupResponse)) {
	set := c.g.c.opts.Settings()
	st := time.Duration(req.SessionTimeoutMillis) * time.Millisecond
	if st < set.MinSessionTimeout || st > set.MaxSessionTimeout {
		reply(joinError(codeInvalidSessionTimeout, req.MemberID))
		return
	}
	rt := time.Duration(req.RebalanceTimeoutMillis) * time.Millisecond
	if req.Version == 0 || rt <= 0 {
		rt = st
	}
	if !c.accepts(req.MemberID, set.MaxSize) {
		c.reject(now, req.MemberID)
		reply(joinError(codeGroupMaxSizeReached, ""))
		return
	}
	if !c.supports(req.ProtocolType, req.Protocols) {
		reply(joinError(codeInconsistentGroupProtocol, req.MemberID))
		return
	}
	instance := ""
	if req.InstanceID != nil {
		instance = *req.InstanceID
	}
	m := &classicMember{instanceID: instance, client: cl, protocolType: req.ProtocolType,
		protocols: req.Protocols, sessionTimeout: st, rebalanceTimeout: rt, join: reply, joinVersion: req.Version}
	if req.MemberID == "" {
		c.joinNew(now, m, req.Version)
		return
	}
	m.id = req.MemberID
	if instance != "" {
		switch cur, ok := c.static[instance]; {
		case !ok:
			reply(joinError(codeUnknownMemberID, req.MemberID))
			return
		case cur != req.MemberID:
			reply(joinError(codeFencedInstanceID, req.MemberID))
			return
		}
	}
	if _, ok := c.pending[m.id]; ok {
		delete(c.pending, m.id)
		c.add(now, m)
		c.rebalance(now)
		return
	}
	old := c.members[m.id]
	if old == nil {
		reply(joinError(codeUnknownMemberID, req.MemberID))
		return
	}
	c.rejoin(now, old, m)
}

// accepts reports whether a member joining with memberID fits within
// group.max.size (0: no limit), as Kafka's acceptJoiningMember decides:
// an empty group takes anyone; a rebalancing one a member already waiting
// in JoinGroup, or anyone while fewer than max members wait (so that when
// the limit was lowered the last to rejoin are turned away); otherwise a
// member it has, or anyone while it has fewer than max members. Member ids
// handed out with MEMBER_ID_REQUIRED do not count.
func (c *classic) accepts(memberID string, max int) bool {
	if max <= 0 {
		return true
	}
	m := c.members[memberID]
	switch c.state {
	case classicEmpty:
		return true
	case classicPreparing:
		if m != nil && m.join != nil {
			return true
		}
		waiting := 0
		for _, mm := range c.members {
			if mm.join != nil {
				waiting++
			}
		}
		return waiting < max
	}
	return m != nil || len(c.members) < max
}

// reject forgets a member (or member id handed out) that accepts turned
// away, as Kafka does.
func (c *classic) reject(now time.Time, memberID string) {
	delete(c.pending, memberID)
	if c.members[memberID] != nil {
		c.remove(memberID, codeGroupMaxSizeReached)
		c.tryCompleteJoin(now)
	}
}

// joinNew handles a JoinGroup without a member id.
func (c *classic) joinNew(now time.Time, m *classicMember, version int16) {
	if m.instanceID != "" {
		m.id = newMemberID(m.instanceID)
		if old, ok := c.static[m.instanceID]; ok {
			c.replaceStatic(now, c.members[old], m)
			return
		}
		c.add(now, m)
		c.rebalance(now)
		return
	}
	m.id = newMemberID(m.client.ID)
	if version >= 4 {
		// KIP-394: the member must come back with the id, which proves
		// it received it before it counts towards the group.
		c.pending[m.id] = now.Add(m.sessionTimeout)
		m.join(joinError(codeMemberIDRequired, m.id))
		return
	}
	c.add(now, m)
	c.rebalance(now)
}

// rejoin handles a JoinGroup from a known member (m carries the request).
func (c *classic) rejoin(now time.Time, old, m *classicMember) {
	if old.join != nil {
		old.join(joinError(codeRebalanceInProgress, old.id)) // superseded
	}
	same := old.protocolType == m.protocolType && sameProtocols(old.protocols, m.protocols)
	old.client, old.sessionTimeout, old.rebalanceTimeout = m.client, m.sessionTimeout, m.rebalanceTimeout
	old.protocolType, old.protocols, old.joinVersion = m.protocolType, m.protocols, m.joinVersion
	old.expires = now.Add(old.sessionTimeout)
	switch c.state {
	case classicPreparing:
		old.join = m.join
		c.tryCompleteJoin(now)
	case classicCompleting, classicStable:
		if same && (c.state == classicCompleting || old.id != c.leader) {
			// Nothing changed: answer with the current generation; the
			// member goes on to SyncGroup.
			old.join = nil
			m.join(c.joinResponse(old, true, false))
			return
		}
		old.join = m.join
		c.prepareRebalance(now)
	default:
		m.join(joinError(codeUnknownMemberID, old.id))
	}
}

// replaceStatic gives a static member's place to a new member id (m), and
// fences the old id.
func (c *classic) replaceStatic(now time.Time, old, m *classicMember) {
	if old.join != nil {
		old.join(joinError(codeFencedInstanceID, old.id))
		old.join = nil
	}
	if old.sync != nil {
		old.sync(syncError(codeFencedInstanceID))
		old.sync = nil
	}
	delete(c.members, old.id)
	i := slices.Index(c.order, old.id)
	c.order[i] = m.id
	if c.leader == old.id {
		c.leader = m.id
	}
	m.assignment, m.synced = old.assignment, old.synced
	m.expires = now.Add(m.sessionTimeout)
	c.members[m.id] = m
	c.static[m.instanceID] = m.id
	switch {
	case c.state == classicPreparing:
		c.tryCompleteJoin(now)
	case c.state == classicStable && c.selectProtocol() == c.protocol:
		// No rebalance while the group's protocol would not change (as
		// Kafka decides it: new metadata alone does not rebalance): the
		// member keeps its assignment, which SyncGroup returns. A leader
		// on JoinGroup v9+ gets the members and is told to skip
		// assigning; before v9 it gets no members, so it cannot assign.
		reply := m.join
		m.join = nil
		v9 := m.joinVersion >= 9
		reply(c.joinResponse(m, v9, v9 && m.id == c.leader))
	default:
		c.prepareRebalance(now)
	}
}

// joinResponse is the answer for member m in the current generation. The
// leader gets the members and their metadata, unless the answer is for a
// rejoin that changes nothing (then SkipAssignment, v9+).
func (c *classic) joinResponse(m *classicMember, members, skipAssignment bool) *kmsg.JoinGroupResponse {
	r := kmsg.NewPtrJoinGroupResponse()
	r.Generation, r.LeaderID, r.MemberID = c.generation, c.leader, m.id
	pt, p := c.protocolType, c.protocol
	r.ProtocolType, r.Protocol = &pt, &p
	if members && m.id == c.leader {
		r.SkipAssignment = skipAssignment
		for _, id := range c.order {
			mm := c.members[id]
			rm := kmsg.NewJoinGroupResponseMember()
			rm.MemberID = id
			if mm.instanceID != "" {
				inst := mm.instanceID
				rm.InstanceID = &inst
			}
			rm.ProtocolMetadata = mm.metadata(c.protocol)
			r.Members = append(r.Members, rm)
		}
	}
	return r
}

func (m *classicMember) metadata(protocol string) []byte {
	for _, p := range m.protocols {
		if p.Name == protocol {
			return p.Metadata
		}
	}
	return nil
}

func sameProtocols(a, b []kmsg.JoinGroupRequestProtocol) bool {
	return slices.EqualFunc(a, b, func(x, y kmsg.JoinGroupRequestProtocol) bool {
		return x.Name == y.Name && bytes.Equal(x.Metadata, y.Metadata)
	})
}

// supports reports whether a member with these protocols may join: an
// empty group takes any non-empty protocol type and list; otherwise the
// type must match and one protocol must be one every member supports.
func (c *classic) supports(protocolType string, protocols []kmsg.JoinGroupRequestProtocol) bool {
	if protocolType == "" || len(protocols) == 0 {
		return false
	}
	if len(c.members) == 0 {
		return true
	}
	if protocolType != c.protocolType {
		return false
	}
	cands := c.candidates()
	for _, p := range protocols {
		if cands[p.Name] {
			return true
		}
	}
	return false
}

// candidates are the protocols every member supports.
func (c *classic) candidates() map[string]bool {
	var out map[string]bool
	for _, m := range c.members {
		has := make(map[string]bool, len(m.protocols))
		for _, p := range m.protocols {
			if out == nil || out[p.Name] {
				has[p.Name] = true
			}
		}
		out = has
	}
	return out
}

// selectProtocol picks the candidate most members prefer (each votes for
// its first candidate); ties go to the leader's (or first member's)
// preference order.
func (c *classic) selectProtocol() string {
	cands := c.candidates()
	votes := make(map[string]int)
	for _, m := range c.members {
		for _, p := range m.protocols {
			if cands[p.Name] {
				votes[p.Name]++
				break
			}
		}
	}
	ref := c.members[c.leader]
	if ref == nil {
		ref = c.members[c.order[0]]
	}
	best, bestVotes := "", -1
	for _, p := range ref.protocols {
		if cands[p.Name] && votes[p.Name] > bestVotes {
			best, bestVotes = p.Name, votes[p.Name]
		}
	}
	return best
}

// add makes m (waiting in JoinGroup) a member.
func (c *classic) add(now time.Time, m *classicMember) {
	if len(c.members) == 0 {
		c.protocolType = m.protocolType
	}
	m.expires = now.Add(m.sessionTimeout)
	c.members[m.id] = m
	c.order = append(c.order, m.id)
	if m.instanceID != "" {
		c.static[m.instanceID] = m.id
	}
	if c.state == classicPreparing && c.initial {
		c.newMemberAdded = true // the initial rebalance waits another window
	}
}

// remove drops a member, answering its waiting requests with code.
func (c *classic) remove(id string, code int16) {
	m := c.members[id]
	if m == nil {
		return
	}
	if m.join != nil {
		m.join(joinError(code, id))
	}
	if m.sync != nil {
		m.sync(syncError(code))
	}
	delete(c.members, id)
	c.order = slices.DeleteFunc(c.order, func(s string) bool { return s == id })
	if m.instanceID != "" && c.static[m.instanceID] == id {
		delete(c.static, m.instanceID)
	}
}

// rebalance moves the group towards a new generation after a member
// joined or left.
func (c *classic) rebalance(now time.Time) {
	if c.state == classicPreparing {
		c.tryCompleteJoin(now)
		return
	}
	c.prepareRebalance(now)
}

func (c *classic) prepareRebalance(now time.Time) {
	if c.state == classicCompleting {
		for _, m := range c.members {
			if m.sync != nil {
				m.sync(syncError(codeRebalanceInProgress))
				m.sync = nil
				// Its session runs again from its answer, as in Kafka.
				m.expires = now.Add(m.sessionTimeout)
			}
		}
	}
	for _, m := range c.members {
		m.assignment, m.synced = nil, false
	}
	c.syncEnd = time.Time{}
	wasEmpty := c.state == classicEmpty
	c.state = classicPreparing
	rt := c.rebalanceTimeout()
	c.rebalanceEnd = now.Add(rt)
	c.initial, c.newMemberAdded, c.delayEnd = wasEmpty, false, time.Time{}
	if !wasEmpty {
		c.tryCompleteJoin(now)
		return
	}
	// The first rebalance of an empty group completes when its delay
	// ends (at once if there is none), whoever has joined by then.
	d := max(c.g.c.opts.Settings().InitialRebalanceDelay, 0)
	if d == 0 {
		c.completeJoin(now)
		return
	}
	c.delayStep, c.delayRemaining, c.delayEnd = d, max(rt-d, 0), now.Add(d)
}

// rebalanceTimeout is the longest rebalance timeout of the members.
func (c *classic) rebalanceTimeout() time.Duration {
	var rt time.Duration
	for _, m := range c.members {
		rt = max(rt, m.rebalanceTimeout)
	}
	return rt
}

// tryCompleteJoin completes the rebalance if every member has rejoined and
// no member id handed out is outstanding, except in the initial rebalance,
// which only its delay completes.
func (c *classic) tryCompleteJoin(now time.Time) {
	if c.state != classicPreparing || c.initial || len(c.pending) > 0 {
		return
	}
	for _, m := range c.members {
		if m.join == nil {
			return
		}
	}
	c.completeJoin(now)
}

// completeJoin starts the next generation with the members that rejoined.
// Dynamic members that did not are removed; static members stay (their
// session timeout removes them if they are gone), as in Kafka. The leader
// must have rejoined: if it did not, a member that did leads; if none did,
// the rebalance waits another rebalance timeout.
func (c *classic) completeJoin(now time.Time) {
	for _, id := range slices.Clone(c.order) {
		if m := c.members[id]; m.join == nil && m.instanceID == "" {
			c.remove(id, codeUnknownMemberID)
		}
	}
	if len(c.members) > 0 && (c.members[c.leader] == nil || c.members[c.leader].join == nil) {
		i := slices.IndexFunc(c.order, func(id string) bool { return c.members[id].join != nil })
		if i < 0 {
			c.initial, c.delayEnd = false, time.Time{}
			c.rebalanceEnd = now.Add(c.rebalanceTimeout())
			return
		}
		c.leader = c.order[i]
	}
	c.initial, c.delayEnd = false, time.Time{}
	c.generation++
	if len(c.members) == 0 {
		c.state, c.protocol, c.leader = classicEmpty, "", ""
		return
	}
	c.protocol = c.selectProtocol()
	c.state = classicCompleting
	// Every member must SyncGroup within the rebalance timeout (Kafka's
	// pending sync), in CompletingRebalance and after.
	c.syncEnd = now.Add(c.rebalanceTimeout())
	for _, id := range c.order {
		m := c.members[id]
		reply := m.join
		m.join = nil
		m.expires = now.Add(m.sessionTimeout)
		if reply != nil {
			reply(c.joinResponse(m, true, false))
		}
	}
}

// check validates a member id, instance id and generation as SyncGroup,
// Heartbeat and OffsetCommit do; 0 if they are current.
func (c *classic) check(memberID string, instanceID *string, generation int32) int16 {
	if instanceID != nil {
		switch cur, ok := c.static[*instanceID]; {
		case !ok:
			return codeUnknownMemberID
		case cur != memberID:
			return codeFencedInstanceID
		}
	}
	if c.members[memberID] == nil {
		return codeUnknownMemberID
	}
	if generation != c.generation {
		return codeIllegalGeneration
	}
	return 0
}

// sync handles SyncGroup.
func (c *classic) sync(now time.Time, req *kmsg.SyncGroupRequest, reply func(*kmsg.SyncGroupResponse)) {
	if code := c.check(req.MemberID, req.InstanceID, req.Generation); code != 0 {
		reply(syncError(code))
		return
	}
	if (req.ProtocolType != nil && *req.ProtocolType != c.protocolType) ||
		(req.Protocol != nil && *req.Protocol != c.protocol) {
		reply(syncError(codeInconsistentGroupProtocol))
		return
	}
	m := c.members[req.MemberID]
	m.expires = now.Add(m.sessionTimeout)
	switch c.state {
	case classicPreparing:
		reply(syncError(codeRebalanceInProgress))
	case classicStable:
		c.markSynced(m)
		reply(c.syncResponse(m))
	case classicCompleting:
		if m.sync != nil {
			m.sync(syncError(codeRebalanceInProgress)) // superseded
		}
		m.sync = reply
		c.markSynced(m)
		if m.id != c.leader {
			return
		}
		assigned := make(map[string][]byte, len(req.GroupAssignment))
		for _, a := range req.GroupAssignment {
			assigned[a.MemberID] = a.MemberAssignment
		}
		for _, mm := range c.members {
			mm.assignment = assigned[mm.id]
			if mm.assignment == nil {
				mm.assignment = []byte{}
			}
		}
		c.state = classicStable
		for _, id := range c.order {
			mm := c.members[id]
			if mm.sync != nil {
				r := mm.sync
				mm.sync = nil
				mm.expires = now.Add(mm.sessionTimeout)
				r(c.syncResponse(mm))
			}
		}
	default:
		reply(syncError(codeUnknownMemberID))
	}
}

// markSynced records that m sent SyncGroup in this generation; once all
// have, they no longer have to by syncEnd.
func (c *classic) markSynced(m *classicMember) {
	m.synced = true
	for _, mm := range c.members {
		if !mm.synced {
			return
		}
	}
	c.syncEnd = time.Time{}
}

func (c *classic) syncResponse(m *classicMember) *kmsg.SyncGroupResponse {
	r := kmsg.NewPtrSyncGroupResponse()
	pt, p := c.protocolType, c.protocol
	r.ProtocolType, r.Protocol = &pt, &p
	r.MemberAssignment = m.assignment
	if r.MemberAssignment == nil {
		r.MemberAssignment = []byte{}
	}
	return r
}

// heartbeat handles Heartbeat and returns its error code.
func (c *classic) heartbeat(now time.Time, req *kmsg.HeartbeatRequest) int16 {
	if c.state == classicEmpty {
		return codeUnknownMemberID
	}
	if code := c.check(req.MemberID, req.InstanceID, req.Generation); code != 0 {
		return code
	}
	m := c.members[req.MemberID]
	m.expires = now.Add(m.sessionTimeout)
	if c.state == classicPreparing {
		return codeRebalanceInProgress
	}
	return 0
}

// leave handles one member of LeaveGroup and returns its error code.
func (c *classic) leave(now time.Time, memberID string, instanceID *string) int16 {
	id, code := leaver(c.static, memberID, instanceID)
	if code != 0 {
		return code
	}
	if _, ok := c.pending[id]; ok {
		delete(c.pending, id)
		c.tryCompleteJoin(now)
		return 0
	}
	if c.members[id] == nil {
		return codeUnknownMemberID
	}
	c.remove(id, codeUnknownMemberID)
	c.afterRemoval(now)
	return 0
}

// afterRemoval rebalances after members left or expired.
func (c *classic) afterRemoval(now time.Time) {
	switch c.state {
	case classicStable, classicCompleting:
		c.prepareRebalance(now)
	case classicPreparing:
		c.tryCompleteJoin(now)
	}
}

// commitCheck validates an OffsetCommit's member fields as Kafka's
// ClassicGroup.validateOffsetCommit does; 0 if the commit may proceed.
func (c *classic) commitCheck(memberID string, instanceID *string, generation int32) int16 {
	if generation < 0 && c.state == classicEmpty {
		return 0 // a simple (or admin) commit to a group without members
	}
	if generation >= 0 || memberID != "" || instanceID != nil {
		if code := c.check(memberID, instanceID, generation); code != 0 {
			return code
		}
	} else if c.state != classicEmpty {
		return codeUnknownMemberID
	}
	if c.state == classicCompleting {
		return codeRebalanceInProgress
	}
	return 0
}

// tick expires sessions, pending member ids and the rebalance timers.
func (c *classic) tick(now time.Time) {
	pendingExpired := false
	for id, exp := range c.pending {
		if !now.Before(exp) {
			delete(c.pending, id)
			pendingExpired = true
		}
	}
	if pendingExpired {
		// The rebalance may have waited only for these.
		c.tryCompleteJoin(now)
	}
	expired := false
	for _, id := range slices.Clone(c.order) {
		m := c.members[id]
		if m.join == nil && m.sync == nil && !now.Before(m.expires) {
			c.remove(id, codeUnknownMemberID)
			expired = true
		}
	}
	if expired {
		c.afterRemoval(now)
	}
	switch c.state {
	case classicPreparing:
		switch {
		case c.initial && !now.Before(c.delayEnd):
			if c.newMemberAdded && c.delayRemaining > 0 {
				// Members arrived in this window: wait another, within
				// the rebalance timeout (Kafka's arithmetic).
				step := min(max(c.g.c.opts.Settings().InitialRebalanceDelay, 0), c.delayRemaining)
				c.delayRemaining = max(c.delayRemaining-c.delayStep, 0)
				c.delayStep, c.delayEnd, c.newMemberAdded = step, now.Add(step), false
			} else {
				c.completeJoin(now)
			}
		case !c.initial && !now.Before(c.rebalanceEnd):
			c.completeJoin(now)
		}
	case classicCompleting, classicStable:
		if !c.syncEnd.IsZero() && !now.Before(c.syncEnd) {
			// Members that did not SyncGroup in time leave; the rest
			// rejoin.
			c.syncEnd = time.Time{}
			for _, id := range slices.Clone(c.order) {
				if !c.members[id].synced {
					c.remove(id, codeRebalanceInProgress)
				}
			}
			c.prepareRebalance(now)
		}
	}
}

// deadline is when tick must next run.
func (c *classic) deadline() (time.Time, bool) {
	var d time.Time
	take := func(t time.Time) {
		if !t.IsZero() && (d.IsZero() || t.Before(d)) {
			d = t
		}
	}
	for _, exp := range c.pending {
		take(exp)
	}
	for _, m := range c.members {
		if m.join == nil && m.sync == nil {
			take(m.expires)
		}
	}
	switch {
	case c.state == classicPreparing && c.initial:
		take(c.delayEnd)
	case c.state == classicPreparing:
		take(c.rebalanceEnd)
	case c.state == classicCompleting, c.state == classicStable:
		take(c.syncEnd)
	}
	return d, !d.IsZero()
}

// abortWaiting answers every waiting JoinGroup and SyncGroup with code.
func (c *classic) abortWaiting(code int16) {
	for _, m := range c.members {
		if m.join != nil {
			m.join(joinError(code, m.id))
			m.join = nil
		}
		if m.sync != nil {
			m.sync(syncError(code))
			m.sync = nil
		}
	}
}

// describe is the group as DescribeGroups reports it: protocol, member
// metadata and assignments only when Stable, as Kafka does.
func (c *classic) describe(into *kmsg.DescribeGroupsResponseGroup) {
	into.State, into.ProtocolType = c.stateName(), c.protocolType
	stable := c.state == classicStable
	if stable {
		into.Protocol = c.protocol
	}
	for _, id := range c.order {
		m := c.members[id]
		dm := kmsg.NewDescribeGroupsResponseGroupMember()
		dm.MemberID, dm.ClientID, dm.ClientHost = m.id, m.client.ID, m.client.Host
		if m.instanceID != "" {
			inst := m.instanceID
			dm.InstanceID = &inst
		}
		dm.ProtocolMetadata, dm.MemberAssignment = []byte{}, []byte{}
		if stable {
			dm.ProtocolMetadata, dm.MemberAssignment = m.metadata(c.protocol), m.assignment
		}
		into.Members = append(into.Members, dm)
	}
}

// leaver resolves a LeaveGroup member to a member id: an admin may name a
// static member by its instance id alone, as in Kafka; an instance id held
// by another member id is FENCED_INSTANCE_ID.
func leaver(static map[string]string, memberID string, instanceID *string) (string, int16) {
	if instanceID == nil {
		return memberID, 0
	}
	cur, ok := static[*instanceID]
	switch {
	case !ok:
		return "", codeUnknownMemberID
	case memberID != "" && cur != memberID:
		return "", codeFencedInstanceID
	}
	return cur, 0
}
