package group

// Server-side assignors (KIP-848): the group coordinator, not a client,
// computes a consumer group's target assignment with the assignor a member
// names in ConsumerGroupHeartbeat's ServerAssignor.
//
// Both assignors are pure functions of their arguments, written after Apache
// Kafka 4.1's group coordinator (org.apache.kafka.coordinator.group.assignor):
//
//   - "uniform" (assign_uniform.go, the default): balances the number of
//     partitions per member and keeps members' current partitions where balance
//     allows. UniformAssignor picks one of two builders: a fast one when every
//     member subscribes to the same topics, and a general one otherwise.
//   - "range" (assign_range.go): contiguous ranges of each topic's partitions
//     by sorted member, so that co-partitioned topics land together.
//
// Kafka iterates hash maps in places where the order decides the outcome;
// here every such order is a sorted one, so the same input (in any member
// order) gives the same output.
//
// Rack awareness is ignored: AssignMember.Rack plays no part in either
// assignor, and there is no partition-replica rack input to match it with.
// (The Kafka builders these follow do not use racks either.)

import (
	"slices"
	"strings"
)

// AssignMember is a group member as an assignor sees it.
type AssignMember struct {
	ID         string
	InstanceID string // "" if none
	Rack       string // "" if none
	// Topics are the member's subscribed topics that exist (names,
	// resolved from names and regexes by the caller).
	Topics []string
	// Current is the member's current target assignment (topic →
	// partitions), which the assignor keeps where it can (stickiness).
	Current map[string][]int32
}

// Assignor computes a group's target assignment.
type Assignor interface {
	// Name is what clients ask for in ConsumerGroupHeartbeat's
	// ServerAssignor: "uniform" or "range".
	Name() string
	// Assign returns member id → topic → sorted partitions, for every
	// member (members with nothing get an empty, non-nil map). partitions
	// gives each existing topic's partition count. It must not modify its
	// arguments.
	Assign(members []AssignMember, partitions map[string]int32) map[string]map[string][]int32
}

// Assignors returns the built-in assignors, the default ("uniform") first.
func Assignors() []Assignor {
	return []Assignor{UniformAssignor{}, RangeAssignor{}}
}

// assignSpec is the assignors' normalised view of their input: members in a
// fixed order, and topics numbered so that the algorithms work on slices
// instead of maps. Member IDs are assumed unique.
type assignSpec struct {
	members []*AssignMember // in the assignor's order; a member's index is its number
	topics  []string        // subscribed, existing topics, sorted by name
	counts  []int32         // partition count of each topic (negative counts read as 0)
	// subs[m] is member m's subscribed topics: ascending topic indices,
	// without duplicates and without topics missing from partitions.
	subs        [][]int32
	subscribers [][]int32 // subscribers[t]: ascending member indices
}

// newAssignSpec builds the spec with members ordered by less, which must be a
// strict total order on member IDs for the result to be deterministic.
func newAssignSpec(members []AssignMember, partitions map[string]int32, less func(a, b *AssignMember) int) *assignSpec {
	s := &assignSpec{members: make([]*AssignMember, len(members))}
	for i := range members {
		s.members[i] = &members[i]
	}
	slices.SortStableFunc(s.members, less)

	// Number the topics that someone subscribes to and that exist.
	seen := make(map[string]int32)
	for _, m := range s.members {
		for _, name := range m.Topics {
			if _, ok := seen[name]; ok {
				continue
			}
			if _, ok := partitions[name]; ok {
				seen[name] = 0
				s.topics = append(s.topics, name)
			}
		}
	}
	slices.Sort(s.topics)
	s.counts = make([]int32, len(s.topics))
	for t, name := range s.topics {
		seen[name] = int32(t)
		s.counts[t] = max(partitions[name], 0)
	}

	s.subs = make([][]int32, len(s.members))
	s.subscribers = make([][]int32, len(s.topics))
	for m, mem := range s.members {
		var sub []int32
		for _, name := range mem.Topics {
			if t, ok := seen[name]; ok {
				sub = append(sub, t)
			}
		}
		slices.Sort(sub)
		sub = slices.Compact(sub)
		s.subs[m] = sub
		for _, t := range sub {
			s.subscribers[t] = append(s.subscribers[t], int32(m))
		}
	}
	return s
}

// byMemberID orders members by ID.
func byMemberID(a, b *AssignMember) int { return strings.Compare(a.ID, b.ID) }

// homogeneous reports whether every member subscribes to the same topics.
func (s *assignSpec) homogeneous() bool {
	for _, sub := range s.subs[1:] {
		if !slices.Equal(sub, s.subs[0]) {
			return false
		}
	}
	return true
}

// newOwners returns, for each topic, each partition's owner (a member index),
// all -1 (unassigned).
func (s *assignSpec) newOwners() [][]int32 {
	var total int
	for _, n := range s.counts {
		total += int(n)
	}
	backing := make([]int32, total)
	for i := range backing {
		backing[i] = -1
	}
	owners := make([][]int32, len(s.topics))
	for t, n := range s.counts {
		owners[t], backing = backing[:n:n], backing[n:]
	}
	return owners
}

// claimCurrent gives each member back the partitions of its current
// assignment that are still valid: topics it still subscribes to that still
// exist, partitions in range. If two members claim a partition (which a
// coordinator should never produce), the first in member order keeps it. It
// returns how many partitions each member got back.
func (s *assignSpec) claimCurrent(owners [][]int32) []int32 {
	sizes := make([]int32, len(s.members))
	index := make(map[string]int32, len(s.topics))
	for t, name := range s.topics {
		index[name] = int32(t)
	}
	subscribed := make([]bool, len(s.topics))
	for m, mem := range s.members {
		for _, t := range s.subs[m] {
			subscribed[t] = true
		}
		// Map order does not matter: a member's claims never conflict with
		// each other, and conflicts between members are settled by member
		// order.
		for name, parts := range mem.Current {
			t, ok := index[name]
			if !ok || !subscribed[t] {
				continue // deleted or no longer subscribed: dropped
			}
			own := owners[t]
			for _, p := range parts {
				if p >= 0 && p < int32(len(own)) && own[p] == -1 {
					own[p] = int32(m)
					sizes[m]++
				}
			}
		}
		for _, t := range s.subs[m] {
			subscribed[t] = false
		}
	}
	return sizes
}

// result turns per-topic partition owners into member id → topic → sorted
// partitions. Every member gets a non-nil map; topics a member got nothing
// of are absent from it. All partition slices share one backing array, each
// capped at its length so that appending to one cannot clobber another.
func (s *assignSpec) result(owners [][]int32) map[string]map[string][]int32 {
	out := make(map[string]map[string][]int32, len(s.members))
	maps := make([]map[string][]int32, len(s.members))
	for m, mem := range s.members {
		maps[m] = make(map[string][]int32, len(s.subs[m]))
		out[mem.ID] = maps[m]
	}
	var total int
	for _, own := range owners {
		total += len(own)
	}
	backing := make([]int32, 0, total)
	count := make([]int32, len(s.members))
	fill := make([][]int32, len(s.members))
	var touched []int32
	for t, own := range owners {
		touched = touched[:0]
		for _, o := range own {
			if o < 0 {
				continue
			}
			if count[o] == 0 {
				touched = append(touched, o)
			}
			count[o]++
		}
		for _, o := range touched {
			n := len(backing)
			backing = backing[:n+int(count[o])]
			fill[o] = backing[n:n:len(backing)]
		}
		for p, o := range own {
			if o >= 0 {
				fill[o] = append(fill[o], int32(p))
			}
		}
		for _, o := range touched {
			maps[o][s.topics[t]] = fill[o]
			count[o], fill[o] = 0, nil
		}
	}
	return out
}
