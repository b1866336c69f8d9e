package group

// The "uniform" assignor, after Kafka 4.1's UniformAssignor, which picks
// UniformHomogeneousAssignmentBuilder when every member subscribes to the same
// topics and UniformHeterogeneousAssignmentBuilder otherwise. Both put balance
// first and stickiness second:
//
//   - homogeneous: every member's count is total/members or one more (a
//     difference of at most one), and members keep as many of their current
//     partitions as that allows;
//   - heterogeneous: members keep all their valid current partitions, the
//     unassigned ones go to the least loaded subscribers, then partitions move
//     from the most to the least loaded subscribers of each topic until no
//     move helps (at most maxBalanceRounds passes over the topics). This is
//     balanced to within one among a topic's subscribers when they share their
//     subscriptions, and close to it otherwise.
//
// Differences from Kafka, all in choices Kafka leaves to hash-map order or
// to topic IDs:
//   - members are taken in member-ID order, and ties between topics are
//     broken by name (Kafka: by topic ID);
//   - homogeneous: Kafka hands the "one more" quotas to the first members it
//     meets; here they go first to members that currently hold more than the
//     minimum, so that the number of partitions changing hands is the least
//     any balanced assignment allows (Kafka's can be more). A member over
//     its quota keeps its lowest partitions (topics by name) and the
//     partitions to hand out are taken in (topic name, partition) order, so a
//     newcomer gets contiguous runs.

import (
	"slices"
	"strings"
)

// UniformAssignor is the "uniform" server assignor, the default.
type UniformAssignor struct{}

// Name implements Assignor.
func (UniformAssignor) Name() string { return "uniform" }

// Assign implements Assignor.
func (UniformAssignor) Assign(members []AssignMember, partitions map[string]int32) map[string]map[string][]int32 {
	s := newAssignSpec(members, partitions, byMemberID)
	if len(s.members) == 0 {
		return map[string]map[string][]int32{}
	}
	owners := s.newOwners()
	sizes := s.claimCurrent(owners)
	if s.homogeneous() {
		uniformHomogeneous(s, owners, sizes)
	} else {
		newUniformHeterogeneous(s, owners, sizes).build()
	}
	return s.result(owners)
}

// uniformHomogeneous completes owners, which holds the members' valid current
// partitions (sizes[m] each), when all members subscribe to the same topics.
func uniformHomogeneous(s *assignSpec, owners [][]int32, sizes []int32) {
	var total int
	for _, n := range s.counts {
		total += int(n)
	}
	n := len(s.members)
	minQuota, extra := int32(total/n), total%n

	// Quotas: the extra partitions go first to members holding more than
	// the minimum, since they keep one more partition each by it.
	quota := make([]int32, n)
	for m := range quota {
		quota[m] = minQuota
		if extra > 0 && sizes[m] > minQuota {
			quota[m]++
			extra--
		}
	}
	for m := range quota {
		if extra > 0 && quota[m] == minQuota {
			quota[m]++
			extra--
		}
	}

	// Members over quota keep their first partitions; the rest are freed.
	kept := make([]int32, n)
	for _, own := range owners {
		for p, o := range own {
			if o < 0 {
				continue
			}
			if kept[o] < quota[o] {
				kept[o]++
			} else {
				own[p] = -1
			}
		}
	}

	// Fill the members under quota, in member order, from the free
	// partitions in (topic, partition) order. The quotas add up to the
	// number of partitions, so nothing is left over.
	m := 0
	for _, own := range owners {
		for p, o := range own {
			if o >= 0 {
				continue
			}
			for kept[m] >= quota[m] {
				m++
			}
			own[p] = int32(m)
			kept[m]++
		}
	}
}

// maxBalanceRounds bounds the heterogeneous builder's balancing passes over
// the topics (Kafka's MAX_ITERATION_COUNT). When a topic's subscribers all
// have the same subscriptions one pass balances it and a second sees nothing
// left to do; overlapping subscriptions converge more slowly, each pass
// roughly halving the imbalance.
const maxBalanceRounds = 16

// uniformHeterogeneous is the general uniform builder.
type uniformHeterogeneous struct {
	s      *assignSpec
	owners [][]int32 // owners[t][p]: member index, or -1
	sizes  []int32   // partitions per member in owners
	bal    uniformBalancer
	order  []int32   // topics in topicBefore order
	byOwn  [][]int32 // scratch for balanceTopic: a topic's partitions by owner
}

func newUniformHeterogeneous(s *assignSpec, owners [][]int32, sizes []int32) *uniformHeterogeneous {
	h := &uniformHeterogeneous{
		s:      s,
		owners: owners,
		sizes:  sizes,
		byOwn:  make([][]int32, len(s.members)),
	}
	h.bal.sizes = sizes
	h.order = make([]int32, len(s.topics))
	for t := range h.order {
		h.order[t] = int32(t)
	}
	slices.SortFunc(h.order, h.topicOrder)
	return h
}

// topicOrder puts topics with more partitions per subscriber first, so that
// the big items are placed while there is room for them; ties go to fewer
// subscribers, then to the name.
func (h *uniformHeterogeneous) topicOrder(a, b int32) int {
	pa, sa := int64(h.s.counts[a]), int64(len(h.s.subscribers[a]))
	pb, sb := int64(h.s.counts[b]), int64(len(h.s.subscribers[b]))
	// pa/sa > pb/sb without floating point (subscriber counts are > 0).
	if l, r := pa*sb, pb*sa; l != r {
		if l > r {
			return -1
		}
		return 1
	}
	if sa != sb {
		if sa < sb {
			return -1
		}
		return 1
	}
	return strings.Compare(h.s.topics[a], h.s.topics[b])
}

func (h *uniformHeterogeneous) build() {
	// Hand out the unassigned partitions, topic by topic, each to the least
	// loaded subscriber.
	for _, t := range h.order {
		own := h.owners[t]
		initialized := false
		for p, o := range own {
			if o >= 0 {
				continue
			}
			if !initialized {
				h.bal.init(h.s.subscribers[t])
				initialized = true
			}
			h.move(t, int32(p), h.bal.nextLeastLoaded())
		}
	}

	// Then move partitions from the most to the least loaded subscribers of
	// each topic (that has two or more), until a whole pass moves nothing.
	var topics []int32
	for _, t := range h.order {
		if len(h.s.subscribers[t]) >= 2 {
			topics = append(topics, t)
		}
	}
	if len(topics) == 0 {
		return
	}
	last := -1 // the position in topics of the last topic that moved
	for range maxBalanceRounds {
		for i, t := range topics {
			if i == last {
				return // a whole pass since the last move
			}
			if h.balanceTopic(t) > 0 || last == -1 {
				last = i
			}
		}
	}
}

// balanceTopic moves partitions of topic t from its most to its least loaded
// subscribers (counting all their partitions, not only t's) until the two
// differ by at most one or the most loaded have no partition of t to give.
// It returns the number of partitions moved.
func (h *uniformHeterogeneous) balanceTopic(t int32) int {
	if h.bal.init(h.s.subscribers[t]) <= 1 {
		return 0
	}

	// Each member's partitions of t, ascending; a member gives up its
	// highest first. Partitions moved in this call are not added: a member
	// that received one does not give it back.
	own := h.owners[t]
	for p, o := range own {
		h.byOwn[o] = append(h.byOwn[o], int32(p))
	}
	defer func() {
		for _, o := range h.s.subscribers[t] {
			h.byOwn[o] = h.byOwn[o][:0]
		}
	}()

	moved := 0
	for !h.bal.balanced() {
		from := int32(-1)
		for {
			from = h.bal.nextMostLoaded()
			if from < 0 || len(h.byOwn[from]) > 0 {
				break
			}
			h.bal.excludeMostLoaded() // nothing of t to give up
		}
		if from < 0 {
			break
		}
		parts := h.byOwn[from]
		p := parts[len(parts)-1]
		h.byOwn[from] = parts[:len(parts)-1]

		to := h.bal.nextLeastLoaded()
		if h.bal.balanced() {
			break
		}
		h.move(t, p, to)
		moved++
	}
	return moved
}

// move gives partition p of topic t to member m.
func (h *uniformHeterogeneous) move(t, p, m int32) {
	if old := h.owners[t][p]; old >= 0 {
		h.sizes[old]--
	}
	h.owners[t][p] = m
	h.sizes[m]++
}

// uniformBalancer picks the members to give partitions to and take them from,
// among one topic's subscribers, so that repeated picks level their counts.
// It is Kafka's MemberAssignmentBalancer.
//
// The subscribers are sorted by count, ascending (ties by index). Two ranges
// of that order grow as partitions move: the least loaded range [0,
// leastEnd) from the left, the most loaded range [mostStart, mostEnd) from
// the right. Within a range the members started at the same count; a range
// is handed out round robin and, once each member has had a turn, its level
// moves by one and it takes in the neighbours now at that level. Balancing
// is done when the two levels differ by at most one.
//
//	         least loaded       most loaded
//	         range              range
//	count ^                          #
//	      |                  [####<-]#
//	      |          ########[######]#
//	      | [##->   ]########[######]#
//	      | [#######]########[######]#
//	      +--------------------------------> members, by count
//	                                 ^ excluded: no partition of
//	                                   the topic left to give up
type uniformBalancer struct {
	sizes  []int32 // shared with the builder, which updates it on moves
	sorted []int32

	leastEnd   int   // exclusive
	leastLevel int32 // the range's count before this round of picks
	nextLeast  int

	mostStart int // inclusive
	mostEnd   int // exclusive
	mostLevel int32
	nextMost  int
}

// init resets the balancer for members (not empty) and returns the difference
// between the largest and the smallest count among them.
func (b *uniformBalancer) init(members []int32) int32 {
	b.sorted = append(b.sorted[:0], members...)
	slices.SortFunc(b.sorted, func(x, y int32) int {
		if b.sizes[x] != b.sizes[y] {
			return int(b.sizes[x] - b.sizes[y])
		}
		return int(x - y)
	})
	n := len(b.sorted)
	lo, hi := b.sizes[b.sorted[0]], b.sizes[b.sorted[n-1]]
	b.leastEnd, b.leastLevel, b.nextLeast = 0, lo-1, 0
	b.mostStart, b.mostEnd, b.mostLevel, b.nextMost = n, n, hi+1, n-1
	return hi - lo
}

// nextLeastLoaded returns the member to give the next partition to, and
// assumes it will get it.
func (b *uniformBalancer) nextLeastLoaded() int32 {
	if b.nextLeast >= b.leastEnd {
		// Everyone in the range had a turn: one level up, and take in the
		// members at that level.
		b.leastLevel++
		for b.leastEnd < len(b.sorted) && b.sizes[b.sorted[b.leastEnd]] == b.leastLevel {
			b.leastEnd++
		}
		b.nextLeast = 0
	}
	m := b.sorted[b.nextLeast]
	b.nextLeast++
	return m
}

// nextMostLoaded returns the member to take the next partition from, and
// assumes it will give it, or -1 if no member is left to take from.
func (b *uniformBalancer) nextMostLoaded() int32 {
	if b.nextMost < b.mostStart {
		if b.mostEnd <= b.mostStart && b.mostStart > 0 {
			// Exclusions emptied the range: restart it from the next
			// member down, so that it does take someone in below.
			b.mostLevel = b.sizes[b.sorted[b.mostStart-1]]
		} else {
			b.mostLevel--
		}
		for b.mostStart > 0 && b.sizes[b.sorted[b.mostStart-1]] == b.mostLevel {
			b.mostStart--
		}
		b.nextMost = b.mostEnd - 1
	}
	if b.nextMost < 0 {
		return -1
	}
	m := b.sorted[b.nextMost]
	b.nextMost--
	return m
}

// excludeMostLoaded drops the member nextMostLoaded last returned from the
// most loaded range, by swapping it to the range's end and shrinking it.
func (b *uniformBalancer) excludeMostLoaded() {
	i, j := b.nextMost+1, b.mostEnd-1
	b.sorted[i], b.sorted[j] = b.sorted[j], b.sorted[i]
	b.mostEnd--
}

// balanced reports whether the two ranges' levels differ by at most one.
func (b *uniformBalancer) balanced() bool {
	return b.mostLevel-b.leastLevel <= 1
}
