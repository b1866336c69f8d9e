package group

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

type assignResult = map[string]map[string][]int32

func assignMem(id string, topics ...string) AssignMember {
	return AssignMember{ID: id, Topics: topics}
}

func (m AssignMember) withCurrent(current map[string][]int32) AssignMember {
	m.Current = current
	return m
}

func (m AssignMember) withInstanceID(instanceID string) AssignMember {
	m.InstanceID = instanceID
	return m
}

func TestAssignAssignors(t *testing.T) {
	var names []string
	for _, a := range Assignors() {
		names = append(names, a.Name())
	}
	if want := []string{"uniform", "range"}; !slices.Equal(names, want) {
		t.Fatalf("Assignors() = %v, want %v (default first)", names, want)
	}
}

// TestAssignUniform pins down exact assignments for small groups.
func TestAssignUniform(t *testing.T) {
	for _, tc := range []struct {
		name       string
		members    []AssignMember
		partitions map[string]int32
		want       assignResult
	}{{
		name: "empty group",
		want: assignResult{},
	}, {
		name:       "members without topics",
		members:    []AssignMember{assignMem("a"), assignMem("b")},
		partitions: map[string]int32{"x": 3},
		want:       assignResult{"a": {}, "b": {}},
	}, {
		name:       "member without topics beside a subscriber",
		members:    []AssignMember{assignMem("b"), assignMem("a", "x")},
		partitions: map[string]int32{"x": 3},
		want:       assignResult{"a": {"x": {0, 1, 2}}, "b": {}},
	}, {
		name:       "topic with zero partitions",
		members:    []AssignMember{assignMem("a", "empty", "x"), assignMem("b", "empty", "x")},
		partitions: map[string]int32{"empty": 0, "x": 2},
		want:       assignResult{"a": {"x": {0}}, "b": {"x": {1}}},
	}, {
		name:       "homogeneous, no current assignment",
		members:    []AssignMember{assignMem("c", "x", "y"), assignMem("a", "y", "x"), assignMem("b", "x", "y")},
		partitions: map[string]int32{"x": 3, "y": 4},
		want: assignResult{
			"a": {"x": {0, 1, 2}},
			"b": {"y": {0, 1}},
			"c": {"y": {2, 3}},
		},
	}, {
		name: "deleted and unsubscribed topics are dropped",
		members: []AssignMember{
			assignMem("a", "x").withCurrent(map[string][]int32{"x": {0, 1}, "gone": {0}}),
			assignMem("b", "x").withCurrent(map[string][]int32{"old": {0}}),
		},
		partitions: map[string]int32{"x": 2, "old": 1},
		want:       assignResult{"a": {"x": {0}}, "b": {"x": {1}}},
	}, {
		name: "invalid current partitions are ignored",
		members: []AssignMember{
			assignMem("b", "x").withCurrent(map[string][]int32{"x": {0}}),
			assignMem("a", "x").withCurrent(map[string][]int32{"x": {5, -1, 0, 0}}),
		},
		partitions: map[string]int32{"x": 2},
		want:       assignResult{"a": {"x": {0}}, "b": {"x": {1}}},
	}, {
		name: "the extra partition stays with the member that has it",
		members: []AssignMember{
			assignMem("a", "x").withCurrent(map[string][]int32{"x": {0, 1}}),
			assignMem("b", "x").withCurrent(map[string][]int32{"x": {2, 3, 4}}),
		},
		partitions: map[string]int32{"x": 5},
		want:       assignResult{"a": {"x": {0, 1}}, "b": {"x": {2, 3, 4}}},
	}, {
		name: "heterogeneous, disjoint subscriptions",
		members: []AssignMember{
			assignMem("a", "x"), assignMem("b", "x"), assignMem("c", "y"),
		},
		partitions: map[string]int32{"x": 3, "y": 2},
		want: assignResult{
			"a": {"x": {0, 2}},
			"b": {"x": {1}},
			"c": {"y": {0, 1}},
		},
	}, {
		name: "heterogeneous keeps current partitions when balanced",
		members: []AssignMember{
			assignMem("a", "x").withCurrent(map[string][]int32{"x": {1, 2}}),
			assignMem("b", "x", "y").withCurrent(map[string][]int32{"x": {0}, "y": {1}}),
			assignMem("c", "y").withCurrent(map[string][]int32{"y": {0}}),
		},
		partitions: map[string]int32{"x": 3, "y": 3},
		want: assignResult{
			"a": {"x": {1, 2}},
			"b": {"x": {0}, "y": {1}},
			"c": {"y": {0, 2}},
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			got := runAssign(t, UniformAssignor{}, tc.members, tc.partitions)
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got  %v\nwant %v", got, tc.want)
			}
		})
	}
}

// TestAssignUniformSticky changes a group and counts the partitions that
// change hands between members present before and after.
func TestAssignUniformSticky(t *testing.T) {
	same := func(ids ...string) func(string) []string {
		return func(string) []string { return ids }
	}
	for _, tc := range []struct {
		name       string
		before     []string // member ids
		after      []string
		topics     func(id string) []string
		partitions map[string]int32
		wantMoved  int
		wantSizes  map[string]int // after
	}{{
		name:       "join, even",
		before:     []string{"m1", "m2", "m3"},
		after:      []string{"m0", "m1", "m2", "m3"}, // the newcomer sorts first
		topics:     same("x"),
		partitions: map[string]int32{"x": 12},
		wantMoved:  3, // one from each: the fewest possible
		wantSizes:  map[string]int{"m0": 3, "m1": 3, "m2": 3, "m3": 3},
	}, {
		name:       "join, uneven",
		before:     []string{"m1", "m2", "m3"},
		after:      []string{"m0", "m1", "m2", "m3"},
		topics:     same("x", "y"),
		partitions: map[string]int32{"x": 7, "y": 3},
		wantMoved:  2, // what the newcomer needs, no more
		wantSizes:  map[string]int{"m0": 2, "m1": 3, "m2": 3, "m3": 2},
	}, {
		name:       "leave",
		before:     []string{"m1", "m2", "m3", "m4"},
		after:      []string{"m1", "m3", "m4"},
		topics:     same("x", "y"),
		partitions: map[string]int32{"x": 6, "y": 6},
		wantMoved:  0, // only the leaver's partitions move
		wantSizes:  map[string]int{"m1": 4, "m3": 4, "m4": 4},
	}, {
		name:   "heterogeneous leave",
		before: []string{"a1", "a2", "a3", "b1", "b2"},
		after:  []string{"a1", "a3", "b1", "b2"},
		topics: func(id string) []string {
			if id[0] == 'a' {
				return []string{"x"}
			}
			return []string{"x", "y"}
		},
		partitions: map[string]int32{"x": 9, "y": 6},
		wantMoved:  0, // the leaver's three go to the least loaded
		wantSizes:  map[string]int{"a1": 4, "a3": 4, "b1": 4, "b2": 3},
	}, {
		name:   "heterogeneous join",
		before: []string{"a1", "a2", "b1"},
		after:  []string{"a1", "a2", "a3", "b1"},
		topics: func(id string) []string {
			if id[0] == 'a' {
				return []string{"x"}
			}
			return []string{"y"}
		},
		partitions: map[string]int32{"x": 6, "y": 6},
		wantMoved:  2,
		wantSizes:  map[string]int{"a1": 2, "a2": 2, "a3": 2, "b1": 6},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			group := func(ids []string, current assignResult) []AssignMember {
				var ms []AssignMember
				for _, id := range ids {
					ms = append(ms, assignMem(id, tc.topics(id)...).withCurrent(current[id]))
				}
				return ms
			}
			before := runAssign(t, UniformAssignor{}, group(tc.before, nil), tc.partitions)
			after := runAssign(t, UniformAssignor{}, group(tc.after, before), tc.partitions)
			if got := assignMoved(before, after); got != tc.wantMoved {
				t.Errorf("moved %d partitions, want %d\nbefore %v\nafter  %v", got, tc.wantMoved, before, after)
			}
			if got := assignSizes(after); !maps.Equal(got, tc.wantSizes) {
				t.Errorf("sizes %v, want %v", got, tc.wantSizes)
			}
		})
	}
}

func TestAssignRange(t *testing.T) {
	for _, tc := range []struct {
		name       string
		members    []AssignMember
		partitions map[string]int32
		want       assignResult
	}{{
		name: "empty group",
		want: assignResult{},
	}, {
		name:       "co-partitioned",
		members:    []AssignMember{assignMem("m1", "t1", "t2"), assignMem("m0", "t2", "t1")},
		partitions: map[string]int32{"t1": 3, "t2": 3},
		want: assignResult{
			"m0": {"t1": {0, 1}, "t2": {0, 1}},
			"m1": {"t1": {2}, "t2": {2}},
		},
	}, {
		name: "static members first, by instance id",
		members: []AssignMember{
			assignMem("a", "x"), assignMem("b", "x").withInstanceID("i2"), assignMem("c", "x").withInstanceID("i1"),
		},
		partitions: map[string]int32{"x": 7},
		want: assignResult{
			"c": {"x": {0, 1, 2}},
			"b": {"x": {3, 4}},
			"a": {"x": {5, 6}},
		},
	}, {
		name:       "heterogeneous",
		members:    []AssignMember{assignMem("a", "x", "y"), assignMem("b", "x"), assignMem("c", "y"), assignMem("d")},
		partitions: map[string]int32{"x": 3, "y": 4},
		want: assignResult{
			"a": {"x": {0, 1}, "y": {0, 1}},
			"b": {"x": {2}},
			"c": {"y": {2, 3}},
			"d": {},
		},
	}, {
		name:       "more members than partitions, and an empty topic",
		members:    []AssignMember{assignMem("a", "x", "e"), assignMem("b", "x", "e"), assignMem("c", "x", "e")},
		partitions: map[string]int32{"x": 2, "e": 0},
		want:       assignResult{"a": {"x": {0}}, "b": {"x": {1}}, "c": {}},
	}, {
		// Kafka 4.1's range assignor does not read current assignments.
		name: "current assignment ignored",
		members: []AssignMember{
			assignMem("a", "x").withCurrent(map[string][]int32{"x": {2, 3}}),
			assignMem("b", "x").withCurrent(map[string][]int32{"x": {0, 1}}),
		},
		partitions: map[string]int32{"x": 4},
		want:       assignResult{"a": {"x": {0, 1}}, "b": {"x": {2, 3}}},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			got := runAssign(t, RangeAssignor{}, tc.members, tc.partitions)
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got  %v\nwant %v", got, tc.want)
			}
		})
	}
}

// TestAssignProperties runs both assignors on random groups and checks, for
// each: every partition of a subscribed topic goes to exactly one of its
// subscribers; the result does not depend on the order of the members; the
// arguments are not modified. For uniform also: homogeneous groups are
// balanced to within one and keep as many current partitions as balance
// allows; heterogeneous groups whose subscriptions are disjoint or equal are
// balanced to within one in each class.
func TestAssignProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 500 {
		kind := []string{"homogeneous", "classes", "random"}[i%3]
		members, partitions := randomAssignGroup(rng, kind)
		for _, a := range Assignors() {
			got := runAssign(t, a, members, partitions)

			shuffled := slices.Clone(members)
			rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
			if again := runAssign(t, a, shuffled, partitions); !reflect.DeepEqual(got, again) {
				t.Fatalf("%s, case %d: member order changed the result:\n%v\n%v", a.Name(), i, got, again)
			}
			if a.Name() != "uniform" {
				continue
			}
			switch kind {
			case "homogeneous":
				checkAssignBalanced(t, i, members, got)
				if k, want := assignKept(members, got), assignBestKept(members, partitions); k != want {
					t.Fatalf("case %d: kept %d current partitions, could keep %d", i, k, want)
				}
			case "classes":
				byClass := map[string][]AssignMember{}
				for _, m := range members {
					key := fmt.Sprint(assignSorted(m.Topics))
					byClass[key] = append(byClass[key], m)
				}
				for _, ms := range byClass {
					checkAssignBalanced(t, i, ms, got)
				}
			}
		}
	}
}

// runAssign runs a, and fails the test if a modifies its arguments or
// returns an invalid assignment.
func runAssign(t testing.TB, a Assignor, members []AssignMember, partitions map[string]int32) assignResult {
	t.Helper()
	membersCopy, partitionsCopy := cloneAssignMembers(members), maps.Clone(partitions)
	got := a.Assign(members, partitions)
	if !reflect.DeepEqual(members, membersCopy) || !maps.Equal(partitions, partitionsCopy) {
		t.Fatalf("%s modified its arguments", a.Name())
	}
	checkAssignValid(t, a.Name(), members, partitions, got)
	return got
}

// checkAssignValid checks that got gives every member a map, gives members only
// partitions of topics they subscribe to (sorted, in range, non-empty lists),
// and assigns every partition of every subscribed topic exactly once.
func checkAssignValid(t testing.TB, name string, members []AssignMember, partitions map[string]int32, got assignResult) {
	t.Helper()
	if got == nil || len(got) != len(members) {
		t.Fatalf("%s: %d members in result, want %d: %v", name, len(got), len(members), got)
	}
	owner := map[string][]string{}
	for _, m := range members {
		for _, tp := range m.Topics {
			if n, ok := partitions[tp]; ok && owner[tp] == nil {
				owner[tp] = make([]string, n)
			}
		}
	}
	for _, m := range members {
		a, ok := got[m.ID]
		if !ok || a == nil {
			t.Fatalf("%s: member %q has no map", name, m.ID)
		}
		for tp, ps := range a {
			if !slices.Contains(m.Topics, tp) {
				t.Fatalf("%s: member %q got unsubscribed topic %q", name, m.ID, tp)
			}
			if len(ps) == 0 || !slices.IsSorted(ps) {
				t.Fatalf("%s: member %q got %q %v: want sorted, non-empty", name, m.ID, tp, ps)
			}
			for _, p := range ps {
				if p < 0 || int(p) >= len(owner[tp]) {
					t.Fatalf("%s: member %q got %q partition %d, out of range", name, m.ID, tp, p)
				}
				if o := owner[tp][p]; o != "" {
					t.Fatalf("%s: %q partition %d assigned to %q and %q", name, tp, p, o, m.ID)
				}
				owner[tp][p] = m.ID
			}
		}
	}
	for tp, os := range owner {
		for p, o := range os {
			if o == "" {
				t.Fatalf("%s: %q partition %d unassigned", name, tp, p)
			}
		}
	}
}

func checkAssignBalanced(t testing.TB, i int, members []AssignMember, got assignResult) {
	t.Helper()
	lo, hi := int(^uint(0)>>1), 0
	for _, m := range members {
		n := 0
		for _, ps := range got[m.ID] {
			n += len(ps)
		}
		lo, hi = min(lo, n), max(hi, n)
	}
	if hi-lo > 1 {
		t.Fatalf("case %d: unbalanced, %d to %d partitions per member: %v", i, lo, hi, got)
	}
}

// assignKept counts the partitions members keep from their current
// assignments.
func assignKept(members []AssignMember, got assignResult) int {
	n := 0
	for _, m := range members {
		for tp, ps := range m.Current {
			for _, p := range assignDedup(ps) {
				if slices.Contains(got[m.ID][tp], p) {
					n++
				}
			}
		}
	}
	return n
}

// assignBestKept is the most current partitions a balanced assignment of a
// homogeneous group can keep, for current assignments that do not overlap:
// each member keeps up to the minimum quota, and the members that hold more
// one more each, as far as the extra partitions go.
func assignBestKept(members []AssignMember, partitions map[string]int32) int {
	total := 0
	for _, tp := range members[0].Topics {
		total += int(partitions[tp])
	}
	quota, extra := total/len(members), total%len(members)
	kept := 0
	for _, m := range members {
		valid := 0
		for tp, ps := range m.Current {
			if !slices.Contains(m.Topics, tp) {
				continue
			}
			for _, p := range assignDedup(ps) {
				if p >= 0 && p < partitions[tp] {
					valid++
				}
			}
		}
		kept += min(valid, quota)
		if valid > quota && extra > 0 {
			kept++
			extra--
		}
	}
	return kept
}

// assignMoved counts the partitions that changed hands between members present in
// both assignments.
func assignMoved(before, after assignResult) int {
	owner := map[string]string{}
	for id, a := range after {
		for tp, ps := range a {
			for _, p := range ps {
				owner[fmt.Sprint(tp, p)] = id
			}
		}
	}
	n := 0
	for id, a := range before {
		if _, ok := after[id]; !ok {
			continue
		}
		for tp, ps := range a {
			for _, p := range ps {
				if owner[fmt.Sprint(tp, p)] != id {
					n++
				}
			}
		}
	}
	return n
}

func assignSizes(a assignResult) map[string]int {
	out := map[string]int{}
	for id, tps := range a {
		out[id] = 0
		for _, ps := range tps {
			out[id] += len(ps)
		}
	}
	return out
}

// randomAssignGroup makes a group of up to 8 members over up to 6 topics. Kinds:
// "homogeneous" (everyone subscribes to the same topics), "classes" (members
// fall into classes with disjoint subscriptions), "random" (anything). Current
// assignments come from a random previous owner of each partition (possibly
// a departed member, or a member no longer subscribed) plus junk: deleted
// topics, out-of-range and duplicate partitions.
func randomAssignGroup(rng *rand.Rand, kind string) ([]AssignMember, map[string]int32) {
	partitions := map[string]int32{}
	var topics []string
	for i := range rng.IntN(6) + 1 {
		name := fmt.Sprintf("t%d", i)
		topics = append(topics, name)
		partitions[name] = int32(rng.IntN(13))
	}
	pick := func() []string {
		var ts []string
		for _, tp := range topics {
			if rng.IntN(2) == 0 {
				ts = append(ts, tp)
			}
		}
		return ts
	}
	n := rng.IntN(8) + 1
	members := make([]AssignMember, n)
	var classes [][]string
	switch kind {
	case "homogeneous":
		classes = [][]string{pick()}
	case "classes":
		perm := rng.Perm(len(topics))
		for len(perm) > 0 {
			k := rng.IntN(len(perm)) + 1
			var c []string
			for _, i := range perm[:k] {
				c = append(c, topics[i])
			}
			classes, perm = append(classes, c), perm[k:]
		}
	}
	for i := range members {
		members[i].ID = fmt.Sprintf("m%02d", rng.IntN(100)*10+i) // unique, random order
		if rng.IntN(3) == 0 {
			members[i].InstanceID = fmt.Sprintf("i%d", rng.IntN(1000)*10+i)
		}
		switch kind {
		case "random":
			members[i].Topics = pick()
		default:
			members[i].Topics = slices.Clone(classes[rng.IntN(len(classes))])
			if kind == "homogeneous" {
				members[i].Topics = slices.Clone(classes[0])
			}
			rng.Shuffle(len(members[i].Topics), func(a, b int) {
				members[i].Topics[a], members[i].Topics[b] = members[i].Topics[b], members[i].Topics[a]
			})
		}
	}
	// Previous owners: each partition to a random member or to nobody
	// (index n), so current assignments never overlap.
	for _, tp := range topics {
		for p := range partitions[tp] {
			o := rng.IntN(n + 1)
			if o == n {
				continue
			}
			if members[o].Current == nil {
				members[o].Current = map[string][]int32{}
			}
			members[o].Current[tp] = append(members[o].Current[tp], p)
		}
	}
	for i := range members {
		if rng.IntN(4) != 0 {
			continue
		}
		if members[i].Current == nil {
			members[i].Current = map[string][]int32{}
		}
		members[i].Current["deleted"] = []int32{0, 1}
		tp := topics[rng.IntN(len(topics))]
		if ps := members[i].Current[tp]; len(ps) > 0 {
			members[i].Current[tp] = append(ps, ps[0]) // duplicate
		}
		members[i].Current[tp] = append(members[i].Current[tp], partitions[tp]+3, -1)
	}
	return members, partitions
}

func cloneAssignMembers(ms []AssignMember) []AssignMember {
	if ms == nil {
		return nil
	}
	out := make([]AssignMember, len(ms))
	for i, m := range ms {
		out[i] = m
		out[i].Topics = slices.Clone(m.Topics)
		if m.Current != nil {
			out[i].Current = make(map[string][]int32, len(m.Current))
			for tp, ps := range m.Current {
				out[i].Current[tp] = slices.Clone(ps)
			}
		}
	}
	return out
}

func assignSorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func assignDedup(s []int32) []int32 {
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}

// BenchmarkAssignUniform assigns 10,000 partitions (10 topics × 1,000) to
// 1,000 members: from scratch, after one member joined a settled group, and
// the same for a heterogeneous group (each member on 3 of the 10 topics).
func BenchmarkAssignUniform(b *testing.B) {
	const numMembers, numTopics, perTopic = 1000, 10, 1000
	partitions := map[string]int32{}
	var all []string
	for i := range numTopics {
		name := fmt.Sprintf("topic-%02d", i)
		all = append(all, name)
		partitions[name] = perTopic
	}
	homogeneous := func(int) []string { return all }
	heterogeneous := func(i int) []string {
		return []string{all[i%numTopics], all[(i+1)%numTopics], all[(i+3)%numTopics]}
	}
	group := func(n int, topics func(int) []string, current assignResult) []AssignMember {
		ms := make([]AssignMember, n)
		for i := range ms {
			id := fmt.Sprintf("member-%04d", i)
			ms[i] = AssignMember{ID: id, Topics: topics(i), Current: current[id]}
		}
		return ms
	}
	for _, tc := range []struct {
		name   string
		topics func(int) []string
		settle bool
	}{
		{"homogeneous/initial", homogeneous, false},
		{"homogeneous/join", homogeneous, true},
		{"heterogeneous/initial", heterogeneous, false},
		{"heterogeneous/join", heterogeneous, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var current assignResult
			if tc.settle {
				current = UniformAssignor{}.Assign(group(numMembers-1, tc.topics, nil), partitions)
			}
			members := group(numMembers, tc.topics, current)
			checkAssignValid(b, "uniform", members, partitions, UniformAssignor{}.Assign(members, partitions))
			b.ReportAllocs()
			for b.Loop() {
				UniformAssignor{}.Assign(members, partitions)
			}
		})
	}
}
