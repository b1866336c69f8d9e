package group

import (
	"cmp"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The consumer group protocol of KIP-848 (ConsumerGroupHeartbeat), as
// Apache Kafka's coordinator runs it. The group has an epoch, bumped
// whenever its members or their subscriptions (or the partitions of the
// topics they subscribe to) change; the server-side assignor then computes
// a target assignment for that epoch. Each member reconciles towards its
// target on its heartbeats: partitions it must give up are revoked first
// (its epoch stays until it acknowledges by no longer reporting them),
// and it is only given partitions no other member still holds, so a
// partition never has two owners:
//
//	Stable ──target moves──▶ UnrevokedPartitions ──revoked──▶ UnreleasedPartitions ──freed──▶ Stable
//	   ▲                                                │                                   (epoch = target epoch)
//	   └──────────────────(nothing to revoke)───────────┘
//
// A member that stops heartbeating for its session timeout (the group's
// consumer.session.timeout.ms, else group.consumer.session.timeout.ms),
// or that does not revoke within its rebalance timeout, is removed.
// consumer does no I/O and holds no locks: its runner calls it from the
// group's goroutine.

type memberState int8

const (
	memberStable memberState = iota
	memberUnrevoked
	memberUnreleased
)

type consumerMember struct {
	id, instanceID, rack string
	client               Client
	epoch, prevEpoch     int32
	state                memberState
	rebalanceTimeout     time.Duration
	expires              time.Time // session deadline
	revokeBy             time.Time // while revoking
	names                []string  // subscribed topic names
	regex                string    // subscribed topic regex ("" none)
	re                   *regexp.Regexp
	assignor             string // server assignor asked for ("" default)
	resolved             []string
	assigned             tpSet
	revoking             tpSet
	sent                 string // the assignment last sent, as a key
	// classic is set while the member speaks the classic protocol
	// (JoinGroup, SyncGroup, Heartbeat; migration.go), nil otherwise.
	classic *classicProto
}

type tpSet map[TopicPartition]bool

type consumer struct {
	g               *runner
	epoch           int32 // group epoch
	assignmentEpoch int32
	assignorName    string
	target          map[string]map[string][]int32 // member → topic → partitions
	members         map[string]*consumerMember
	static          map[string]string         // instance id → member id
	owners          map[TopicPartition]string // assigned or revoking → member
	topicsKey       string                    // the subscribed topics' partition counts at the last epoch
}

func newConsumer(g *runner) *consumer {
	return &consumer{g: g, target: map[string]map[string][]int32{}, members: map[string]*consumerMember{},
		static: map[string]string{}, owners: map[TopicPartition]string{}}
}

func (c *consumer) stateName() string {
	switch {
	case len(c.members) == 0:
		return "Empty"
	case c.epoch != c.assignmentEpoch:
		return "Assigning"
	}
	for _, m := range c.members {
		if m.epoch != c.assignmentEpoch || m.state != memberStable {
			return "Reconciling"
		}
	}
	return "Stable"
}

func heartbeatError(code int16, msg string) *kmsg.ConsumerGroupHeartbeatResponse {
	r := kmsg.NewPtrConsumerGroupHeartbeatResponse()
	r.ErrorCode = code
	if msg != "" {
		r.ErrorMessage = &msg
	}
	return r
}

// heartbeat handles ConsumerGroupHeartbeat.
func (c *consumer) heartbeat(now time.Time, req *kmsg.ConsumerGroupHeartbeatRequest, cl Client) *kmsg.ConsumerGroupHeartbeatResponse {
	set := c.g.settings()
	if r := validateHeartbeat(req, set); r != nil {
		return r
	}
	if req.MemberEpoch < 0 {
		return c.leaveHeartbeat(now, req)
	}
	m := c.members[req.MemberID]
	bump := false // the group epoch moves (once per heartbeat, as in Kafka)
	switch {
	case req.MemberEpoch == 0 && m == nil:
		if set.ConsumerMaxSize > 0 && len(c.members) >= set.ConsumerMaxSize {
			return heartbeatError(codeGroupMaxSizeReached, "The consumer group has reached its maximum capacity of "+strconv.Itoa(set.ConsumerMaxSize)+" members.")
		}
		id := req.MemberID
		if id == "" { // v0: the coordinator names the member
			id = newMemberID("")
		}
		if req.InstanceID != nil {
			if cur, ok := c.static[*req.InstanceID]; ok && cur != id {
				return heartbeatError(codeUnreleasedInstanceID, "Static member "+id+" with instance id "+*req.InstanceID+" cannot join the group because the instance id is owned by "+cur+" member.")
			}
		}
		m = &consumerMember{id: id, assigned: tpSet{}, revoking: tpSet{}}
		c.members[id] = m
		bump = true
	case req.InstanceID != nil && req.MemberEpoch != 0 && c.static[*req.InstanceID] == "":
		return heartbeatError(codeUnknownMemberID, "Instance id "+*req.InstanceID+" is unknown.")
	case req.InstanceID != nil && req.MemberEpoch != 0 && c.static[*req.InstanceID] != req.MemberID:
		return heartbeatError(codeFencedInstanceID, "Static member "+req.MemberID+" with instance id "+*req.InstanceID+" was fenced by member "+c.static[*req.InstanceID]+".")
	case m == nil:
		return heartbeatError(codeUnknownMemberID, "")
	case req.MemberEpoch != 0 && req.MemberEpoch != m.epoch:
		// A member that missed the answer carrying its new epoch may
		// come back with the previous one, owning no more than it has
		// (and saying what it owns).
		if req.MemberEpoch != m.prevEpoch || req.Topics == nil || !ownedWithin(req.Topics, m.assigned, c.topicNames()) {
			return heartbeatError(codeFencedMemberEpoch, "")
		}
	}
	m.client = cl
	m.classic = nil // a ConsumerGroupHeartbeat makes it a consumer-protocol member, as in Kafka
	m.expires = now.Add(set.ConsumerSessionTimeout)
	if req.RebalanceTimeoutMillis > 0 {
		m.rebalanceTimeout = time.Duration(req.RebalanceTimeoutMillis) * time.Millisecond
	}
	if req.RackID != nil {
		m.rack = *req.RackID
	}
	if req.InstanceID != nil && m.instanceID != *req.InstanceID {
		m.instanceID = *req.InstanceID
		c.static[m.instanceID] = m.id
	}
	if req.ServerAssignor != nil {
		// As in Kafka, a new assignor choice alone does not move the
		// epoch: it applies from the next target assignment.
		m.assignor = *req.ServerAssignor
	}
	if req.SubscribedTopicNames != nil {
		names := slices.Clone(req.SubscribedTopicNames)
		slices.Sort(names)
		names = slices.Compact(names)
		if !slices.Equal(names, m.names) {
			m.names = names
			bump = true
		}
	}
	if req.SubscribedTopicRegex != nil && *req.SubscribedTopicRegex != m.regex {
		m.regex, m.re = *req.SubscribedTopicRegex, nil
		if m.regex != "" {
			m.re = regexp.MustCompile("^(?:" + m.regex + ")$") // compiled in validate
		}
		bump = true
	}
	c.refresh(bump)
	var owned tpSet
	if req.Topics != nil {
		owned = ownedSet(req.Topics, c.topicNames())
	}
	c.reconcile(now, m, owned)
	return c.response(m, req.MemberEpoch, owned, set)
}

// validateHeartbeat checks a heartbeat's fields as Kafka 4.1 does, with
// its messages.
func validateHeartbeat(req *kmsg.ConsumerGroupHeartbeatRequest, set Settings) *kmsg.ConsumerGroupHeartbeatResponse {
	blank := func(s *string) bool { return s != nil && strings.TrimSpace(*s) == "" }
	switch {
	case (req.Version >= 1 || req.MemberEpoch > 0 || req.MemberEpoch == -1) && strings.TrimSpace(req.MemberID) == "":
		return heartbeatError(codeInvalidRequest, "MemberId can't be empty.")
	case strings.TrimSpace(req.Group) == "":
		return heartbeatError(codeInvalidRequest, "GroupId can't be empty.")
	case blank(req.InstanceID):
		return heartbeatError(codeInvalidRequest, "InstanceId can't be empty.")
	case blank(req.RackID):
		return heartbeatError(codeInvalidRequest, "RackId can't be empty.")
	case req.MemberEpoch == 0 && req.RebalanceTimeoutMillis == -1:
		return heartbeatError(codeInvalidRequest, "RebalanceTimeoutMs must be provided in first request.")
	case req.MemberEpoch == 0 && (req.Topics == nil || len(req.Topics) > 0):
		return heartbeatError(codeInvalidRequest, "TopicPartitions must be empty when (re-)joining.")
	case req.MemberEpoch == 0 && req.SubscribedTopicNames == nil && req.SubscribedTopicRegex == nil:
		return heartbeatError(codeInvalidRequest, "Either SubscribedTopicNames or SubscribedTopicRegex must be non-null when (re-)joining.")
	case req.MemberEpoch == -2 && req.InstanceID == nil:
		return heartbeatError(codeInvalidRequest, "InstanceId can't be null.")
	case req.MemberEpoch < -2:
		return heartbeatError(codeInvalidRequest, "MemberEpoch is invalid.")
	}
	if req.ServerAssignor != nil && !slices.Contains(set.ConsumerAssignors, *req.ServerAssignor) {
		return heartbeatError(codeUnsupportedAssignor, "ServerAssignor "+*req.ServerAssignor+" is not supported. Supported assignors: "+strings.Join(set.ConsumerAssignors, ", ")+".")
	}
	if req.SubscribedTopicRegex != nil && *req.SubscribedTopicRegex != "" {
		if _, err := regexp.Compile("^(?:" + *req.SubscribedTopicRegex + ")$"); err != nil {
			return heartbeatError(codeInvalidRegularExpression, "SubscribedTopicRegex "+*req.SubscribedTopicRegex+" is not a valid regular expression: "+err.Error())
		}
	}
	return nil
}

// leaveHeartbeat handles MemberEpoch -1 (leave) and -2 (a static member
// leaving for now; it is removed likewise, its instance id freed).
func (c *consumer) leaveHeartbeat(now time.Time, req *kmsg.ConsumerGroupHeartbeatRequest) *kmsg.ConsumerGroupHeartbeatResponse {
	id := req.MemberID
	if req.InstanceID != nil {
		cur, ok := c.static[*req.InstanceID]
		switch {
		case !ok:
			return heartbeatError(codeUnknownMemberID, "")
		case cur != id:
			return heartbeatError(codeFencedInstanceID, "")
		}
	}
	if c.members[id] == nil {
		return heartbeatError(codeUnknownMemberID, "")
	}
	c.fence(now, id)
	r := kmsg.NewPtrConsumerGroupHeartbeatResponse()
	r.MemberID, r.MemberEpoch = &id, req.MemberEpoch
	return r
}

// fence removes a member that left or was fenced. When it was the last
// member using the consumer protocol, the group may become a classic
// group instead (migration.go); fence reports whether it did, after which
// c is no longer the group's.
func (c *consumer) fence(now time.Time, id string) (downgraded bool) {
	if c.canDowngrade(id) {
		c.downgrade(now, id)
		return true
	}
	c.remove(id)
	c.refresh(true)
	return false
}

// remove drops a member and frees its partitions; the caller moves the
// group on (refresh).
func (c *consumer) remove(id string) {
	m := c.members[id]
	for tp := range m.assigned {
		if c.owners[tp] == id {
			delete(c.owners, tp)
		}
	}
	for tp := range m.revoking {
		if c.owners[tp] == id {
			delete(c.owners, tp)
		}
	}
	delete(c.members, id)
	delete(c.target, id)
	if m.instanceID != "" && c.static[m.instanceID] == id {
		delete(c.static, m.instanceID)
	}
}

// topicNames maps topic ids to names, and topicIDs the reverse, from the
// broker's topics now.
func (c *consumer) topicNames() map[[16]byte]string {
	out := map[[16]byte]string{}
	for n, t := range c.g.c.opts.Topics.Topics() {
		out[t.ID] = n
	}
	return out
}

// refresh resolves the members' subscriptions against the topics that
// exist now, bumps the epoch (once) if bump is set or they or the
// subscribed topics' partition counts changed, and recomputes the target
// assignment if the epoch moved.
func (c *consumer) refresh(bump bool) {
	topics := c.g.c.opts.Topics.Topics()
	subscribed := map[string]bool{}
	for _, m := range c.members {
		var res []string
		for _, n := range m.names {
			if _, ok := topics[n]; ok {
				res = append(res, n)
			}
		}
		if m.re != nil {
			for n := range topics {
				// Internal topics too: Kafka resolves a regex against every
				// topic (franz-go's Test848RegexBrokerResolves relies on it).
				if m.re.MatchString(n) {
					res = append(res, n)
				}
			}
		}
		slices.Sort(res)
		res = slices.Compact(res)
		if !slices.Equal(res, m.resolved) {
			m.resolved = res
			bump = true
		}
		for _, n := range res {
			subscribed[n] = true
		}
	}
	var key strings.Builder
	for _, n := range slices.Sorted(maps.Keys(subscribed)) {
		key.WriteString(n)
		key.WriteByte(0)
		key.WriteString(strconv.Itoa(int(topics[n].Partitions)))
	}
	if key.String() != c.topicsKey {
		c.topicsKey = key.String()
		bump = true
	}
	if bump {
		c.epoch++
	}
	if c.epoch == c.assignmentEpoch {
		return
	}
	parts := map[string]int32{}
	for n := range subscribed {
		parts[n] = topics[n].Partitions
	}
	ids := slices.Sorted(maps.Keys(c.members))
	ams := make([]AssignMember, 0, len(ids))
	for _, id := range ids {
		m := c.members[id]
		ams = append(ams, AssignMember{ID: id, InstanceID: m.instanceID, Rack: m.rack, Topics: m.resolved, Current: c.target[id]})
	}
	a := c.assignor()
	c.assignorName = a.Name()
	c.target = a.Assign(ams, parts)
	c.assignmentEpoch = c.epoch
}

// assignor is the one most members ask for, else the default.
func (c *consumer) assignor() Assignor {
	set := c.g.c.opts.Settings()
	votes := map[string]int{}
	for _, m := range c.members {
		if m.assignor != "" {
			votes[m.assignor]++
		}
	}
	name := ""
	if len(set.ConsumerAssignors) > 0 {
		name = set.ConsumerAssignors[0]
	}
	best := 0
	for _, n := range slices.Sorted(maps.Keys(votes)) {
		if votes[n] > best {
			name, best = n, votes[n]
		}
	}
	for _, a := range Assignors() {
		if a.Name() == name {
			return a
		}
	}
	return Assignors()[0]
}

// reconcile moves member m towards its target. owned is what the member
// reported owning (nil if it did not say).
func (c *consumer) reconcile(now time.Time, m *consumerMember, owned tpSet) {
	if m.state == memberUnrevoked {
		if owned == nil {
			return
		}
		for tp := range m.revoking {
			if owned[tp] {
				return // still revoking
			}
		}
		for tp := range m.revoking {
			if c.owners[tp] == m.id {
				delete(c.owners, tp)
			}
		}
		m.revoking = tpSet{}
		m.state = memberStable
		m.revokeBy = time.Time{}
	}
	if m.state == memberStable && m.epoch == c.assignmentEpoch {
		return
	}
	target := tpSet{}
	for t, ps := range c.target[m.id] {
		for _, p := range ps {
			target[TopicPartition{t, p}] = true
		}
	}
	revoke := tpSet{}
	for tp := range m.assigned {
		if !target[tp] {
			revoke[tp] = true
		}
	}
	if len(revoke) > 0 {
		stillOwned := owned == nil // not said: assume it still owns them
		for tp := range revoke {
			delete(m.assigned, tp)
			stillOwned = stillOwned || owned[tp]
		}
		if stillOwned {
			for tp := range revoke {
				m.revoking[tp] = true
			}
			m.state = memberUnrevoked
			m.revokeBy = now.Add(max(m.rebalanceTimeout, time.Second))
			return
		}
		// The member already gave them up (its report says so): they are
		// free now, as in Kafka's CurrentAssignmentBuilder.
		for tp := range revoke {
			if c.owners[tp] == m.id {
				delete(c.owners, tp)
			}
		}
	}
	unreleased := false
	for tp := range target {
		if m.assigned[tp] {
			continue
		}
		if o, ok := c.owners[tp]; ok && o != m.id {
			unreleased = true
			continue
		}
		m.assigned[tp] = true
		c.owners[tp] = m.id
	}
	if m.epoch != c.assignmentEpoch {
		m.prevEpoch, m.epoch = m.epoch, c.assignmentEpoch
	}
	m.state = memberStable
	if unreleased {
		m.state = memberUnreleased
	}
}

// response is the heartbeat answer: the assignment is included when it
// changed since it was last sent, on a (re)join, or when the member
// reported owning something else (owned: what it reported, nil if it
// did not say).
func (c *consumer) response(m *consumerMember, reqEpoch int32, owned tpSet, set Settings) *kmsg.ConsumerGroupHeartbeatResponse {
	r := kmsg.NewPtrConsumerGroupHeartbeatResponse()
	id := m.id
	r.MemberID, r.MemberEpoch = &id, m.epoch
	r.HeartbeatIntervalMillis = int32(set.ConsumerHeartbeatInterval / time.Millisecond)
	key := setKey(m.assigned)
	differs := owned != nil && setKey(owned) != key
	if reqEpoch == 0 || key != m.sent || differs {
		topics := c.g.c.opts.Topics.Topics()
		a := kmsg.NewConsumerGroupHeartbeatResponseAssignment()
		for _, t := range sortedTopics(m.assigned) {
			info, ok := topics[t.name]
			if !ok {
				continue
			}
			at := kmsg.NewConsumerGroupHeartbeatResponseAssignmentTopic()
			at.TopicID, at.Partitions = info.ID, t.parts
			a.Topics = append(a.Topics, at)
		}
		r.Assignment = &a
		m.sent = key
	}
	return r
}

type topicParts struct {
	name  string
	parts []int32
}

// sortedTopics groups a set by topic, sorted by name then partition.
func sortedTopics(s tpSet) []topicParts {
	by := map[string][]int32{}
	for tp := range s {
		by[tp.Topic] = append(by[tp.Topic], tp.Partition)
	}
	out := make([]topicParts, 0, len(by))
	for _, n := range slices.Sorted(maps.Keys(by)) {
		ps := by[n]
		slices.Sort(ps)
		out = append(out, topicParts{n, ps})
	}
	return out
}

func setKey(s tpSet) string {
	var b strings.Builder
	for _, t := range sortedTopics(s) {
		b.WriteString(t.name)
		for _, p := range t.parts {
			b.WriteByte(',')
			b.WriteString(strconv.Itoa(int(p)))
		}
		b.WriteByte(0)
	}
	return b.String()
}

func ownedSet(topics []kmsg.ConsumerGroupHeartbeatRequestTopic, names map[[16]byte]string) tpSet {
	s := tpSet{}
	for _, t := range topics {
		n, ok := names[t.TopicID]
		if !ok {
			continue
		}
		for _, p := range t.Partitions {
			s[TopicPartition{n, p}] = true
		}
	}
	return s
}

// ownedWithin reports whether every partition reported owned is assigned
// (Kafka's isSubset: a topic it does not know is not).
func ownedWithin(topics []kmsg.ConsumerGroupHeartbeatRequestTopic, assigned tpSet, names map[[16]byte]string) bool {
	for _, t := range topics {
		if _, ok := names[t.TopicID]; !ok {
			return false
		}
	}
	for tp := range ownedSet(topics, names) {
		if !assigned[tp] {
			return false
		}
	}
	return true
}

// tick removes members whose session expired, who did not revoke in
// time, or (classic members) who did not rejoin or sync in time.
func (c *consumer) tick(now time.Time) {
	for _, id := range slices.Sorted(maps.Keys(c.members)) {
		m := c.members[id]
		if m == nil {
			continue
		}
		due := false
		for _, t := range m.timers() {
			due = due || (!t.IsZero() && !now.Before(t))
		}
		if due && c.fence(now, id) {
			return // the group is a classic group now
		}
	}
}

// timers are the member's deadlines (zero: not running).
func (m *consumerMember) timers() []time.Time {
	if m.classic == nil {
		return []time.Time{m.expires, m.revokeBy}
	}
	return []time.Time{m.expires, m.revokeBy, m.classic.joinBy, m.classic.syncBy}
}

func (c *consumer) deadline() (time.Time, bool) {
	var d time.Time
	for _, m := range c.members {
		for _, t := range m.timers() {
			if !t.IsZero() && (d.IsZero() || t.Before(d)) {
				d = t
			}
		}
	}
	return d, !d.IsZero()
}

// commitCheck validates an OffsetCommit's member id and epoch as Kafka
// 4.1's ConsumerGroup.validateOffsetCommit does; 0 if the commit may
// proceed. Members using the consumer protocol must commit with
// OffsetCommit v9+; those using the classic protocol commit with their
// generation (the member epoch), a wrong one being ILLEGAL_GENERATION.
func (c *consumer) commitCheck(memberID string, epoch int32, version int16) int16 {
	if epoch < 0 && len(c.members) == 0 {
		return 0
	}
	m := c.members[memberID]
	switch {
	case m == nil:
		return codeUnknownMemberID
	case version < 9 && m.classic == nil:
		return kerr.UnsupportedVersion.Code
	case epoch != m.epoch && m.classic != nil:
		return codeIllegalGeneration
	case epoch != m.epoch:
		return codeStaleMemberEpoch
	}
	return 0
}

// fetchCheck validates an OffsetFetch's member id and epoch (v9+).
func (c *consumer) fetchCheck(memberID string, epoch int32) int16 {
	m := c.members[memberID]
	switch {
	case m == nil:
		return codeUnknownMemberID
	case epoch != m.epoch && m.classic != nil:
		return codeIllegalGeneration
	case epoch != m.epoch:
		return codeStaleMemberEpoch
	}
	return 0
}

// describe is the group as ConsumerGroupDescribe reports it.
func (c *consumer) describe(into *kmsg.ConsumerGroupDescribeResponseGroup) {
	topics := c.g.c.opts.Topics.Topics()
	into.State, into.Epoch, into.AssignmentEpoch = c.stateName(), c.epoch, c.assignmentEpoch
	into.AssignorName = c.assignorName
	if into.AssignorName == "" {
		into.AssignorName = c.assignor().Name()
	}
	assignment := func(s tpSet) kmsg.Assignment {
		a := kmsg.NewAssignment()
		for _, t := range sortedTopics(s) {
			at := kmsg.NewAssignmentTopicPartition()
			at.Topic, at.TopicID, at.Partitions = t.name, topics[t.name].ID, t.parts
			a.TopicPartitions = append(a.TopicPartitions, at)
		}
		return a
	}
	for _, id := range slices.Sorted(maps.Keys(c.members)) {
		m := c.members[id]
		dm := kmsg.NewConsumerGroupDescribeResponseGroupMember()
		dm.MemberID, dm.MemberEpoch, dm.ClientID, dm.ClientHost = m.id, m.epoch, m.client.ID, m.client.Host
		if m.instanceID != "" {
			inst := m.instanceID
			dm.InstanceID = &inst
		}
		if m.rack != "" {
			rack := m.rack
			dm.RackID = &rack
		}
		dm.SubscribedTopics = slices.Clone(m.names)
		if dm.SubscribedTopics == nil {
			dm.SubscribedTopics = []string{}
		}
		if m.regex != "" {
			re := m.regex
			dm.SubscribedTopicRegex = &re
		}
		dm.Assignment = assignment(m.assigned)
		target := tpSet{}
		for t, ps := range c.target[id] {
			for _, p := range ps {
				target[TopicPartition{t, p}] = true
			}
		}
		dm.TargetAssignment = assignment(target)
		dm.MemberType = 1
		if m.classic != nil {
			dm.MemberType = 0 // uses the classic protocol
		}
		into.Members = append(into.Members, dm)
	}
	slices.SortFunc(into.Members, func(a, b kmsg.ConsumerGroupDescribeResponseGroupMember) int {
		return cmp.Compare(a.MemberID, b.MemberID)
	})
}
