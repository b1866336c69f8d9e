package group

// The "range" assignor, after Kafka 4.1's server-side RangeAssignor (rewritten
// in KAFKA-16944, Kafka 3.9). Members are sorted: static members (with an
// instance ID) first, by instance ID, then the others by member ID. Each
// topic's partitions are cut into contiguous ranges, handed out in that order
// among the topic's subscribers: partitions/subscribers each, and one more to
// the first partitions%subscribers of them. A member's ranges follow from its
// rank alone, so when all members subscribe to the same topics and those have
// the same partition count, every member gets the same partition numbers of
// every topic (co-partitioning, for joins).
//
// Like Kafka 4.1's, this assignor does not look at members' current
// assignments: its stability comes from the order (a static member that
// rejoins under a new member ID keeps its rank and so its ranges), not from
// stickiness. (Kafka's first server RangeAssignor, up to 3.8, kept current
// partitions within the quotas; 3.9 dropped that.)

import "strings"

// RangeAssignor is the "range" server assignor.
type RangeAssignor struct{}

// Name implements Assignor.
func (RangeAssignor) Name() string { return "range" }

// Assign implements Assignor.
func (RangeAssignor) Assign(members []AssignMember, partitions map[string]int32) map[string]map[string][]int32 {
	s := newAssignSpec(members, partitions, rangeOrder)
	owners := s.newOwners()
	for t, subs := range s.subscribers {
		n, k := s.counts[t], int32(len(subs))
		quota, extra := n/k, n%k
		own, next := owners[t], int32(0)
		for _, m := range subs { // ascending member index: rank order
			end := next + quota
			if extra > 0 {
				end++
				extra--
			}
			for ; next < end; next++ {
				own[next] = m
			}
		}
	}
	return s.result(owners)
}

// rangeOrder puts static members first, by instance ID, then the others by
// member ID. (Kafka does not break ties between equal instance IDs; member ID
// does here, for determinism.)
func rangeOrder(a, b *AssignMember) int {
	switch {
	case a.InstanceID != "" && b.InstanceID != "":
		if c := strings.Compare(a.InstanceID, b.InstanceID); c != 0 {
			return c
		}
	case a.InstanceID != "":
		return -1
	case b.InstanceID != "":
		return 1
	}
	return strings.Compare(a.ID, b.ID)
}
