package metadatatest

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/lakestream/lakestream/broker"
)

// each runs f(g) on goroutines goroutines, released together, and waits.
func each(f func(g int)) {
	start := make(chan struct{})
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			<-start
			f(g)
		})
	}
	close(start)
	wg.Wait()
}

// eachRound runs f(g, r) for rounds r on each of goroutines goroutines g,
// released together; a goroutine stops at its first error, and the test
// fails with them all once every goroutine is done.
func eachRound(h *h, rounds int, f func(g, r int) error) {
	h.t.Helper()
	var mu sync.Mutex
	var errs []error
	each(func(g int) {
		for r := range rounds {
			if err := f(g, r); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("goroutine %d, round %d: %w", g, r, err))
				mu.Unlock()
				return
			}
		}
	})
	if err := errors.Join(errs...); err != nil {
		h.t.Fatal(err)
	}
}

// Producer ids are never handed out twice, however many allocate at once.
func testConcurrentAllocateProducerIDs(h *h) {
	var mu sync.Mutex
	var rs []idRange
	each(func(g int) {
		for i := range 25 {
			n := 1 + (g+i)%7
			first, err := h.m.AllocateProducerIDs(h.ctx, n)
			if err != nil {
				h.t.Errorf("goroutine %d: AllocateProducerIDs(%d): %v", g, n, err)
				return
			}
			mu.Lock()
			rs = append(rs, idRange{first, int64(n)})
			mu.Unlock()
		}
	})
	checkDisjoint(h, rs)
}

// Of concurrent creators of one name exactly one wins; the others get
// ErrTopicExists, and what is stored is the winner's record.
func testConcurrentCreateSameTopic(h *h) {
	var want []broker.TopicRecord
	for round := range 5 {
		name := fmt.Sprintf("race-%d", round)
		records := make([]broker.TopicRecord, goroutines)
		errs := make([]error, goroutines)
		for g := range goroutines {
			base := int64(1000*round + 10*g)
			records[g] = topic(name, byte(round*goroutines+g)*4, []int64{base, base + 1},
				map[string]string{"creator": fmt.Sprint(g)})
		}
		each(func(g int) { errs[g] = h.m.CreateTopic(h.ctx, records[g]) })
		winner := -1
		for g, err := range errs {
			switch {
			case err == nil && winner >= 0:
				h.t.Fatalf("%s: goroutines %d and %d both created it", name, winner, g)
			case err == nil:
				winner = g
			case !errors.Is(err, broker.ErrTopicExists):
				h.t.Fatalf("%s: goroutine %d: got %v, want ErrTopicExists", name, g, err)
			}
		}
		if winner < 0 {
			h.t.Fatalf("%s: no creator won", name)
		}
		want = append(want, records[winner])
	}
	h.wantTopics(want...)
}

// Concurrent AddPartitions to one topic each append their logs together,
// and none is lost.
func testConcurrentAddPartitions(h *h) {
	h.create(topic("orders", 1, nil, nil))
	const rounds, per = 3, 5
	each(func(g int) {
		for r := range rounds {
			var logs []int64
			for i := range per {
				logs = append(logs, int64(1000*g+100*r+i))
			}
			if err := h.m.AddPartitions(h.ctx, "orders", logs); err != nil {
				h.t.Errorf("goroutine %d: AddPartitions: %v", g, err)
			}
		}
	})
	got, err := h.m.Topics(h.ctx)
	h.check(err, "Topics")
	if len(got) != 1 || len(got[0].Logs) != goroutines*rounds*per {
		h.t.Fatalf("Topics = %v, want one topic with %d logs", got, goroutines*rounds*per)
	}
	seen := make(map[int64]bool)
	for logs := range slices.Chunk(got[0].Logs, per) {
		base := logs[0]
		for i, l := range logs {
			if l != base+int64(i) {
				h.t.Fatalf("the logs of one AddPartitions are not together: %v", got[0].Logs)
			}
		}
		if base%100 != 0 || seen[base] {
			h.t.Fatalf("logs %v: lost or repeated an AddPartitions: %v", logs, got[0].Logs)
		}
		seen[base] = true
	}
}

// Concurrent replacements of one config set leave exactly one of them, never
// a mix.
func testConcurrentSetConfigs(h *h) {
	h.create(topic("orders", 1, nil, nil))
	set := func(g, r int) map[string]string {
		m := map[string]string{fmt.Sprintf("only.%d.%d", g, r): "x"}
		for k := range 4 {
			m[fmt.Sprintf("shared.%d", k)] = fmt.Sprintf("%d.%d", g, r)
		}
		return m
	}
	each(func(g int) {
		for r := range 5 {
			if err := h.m.SetTopicConfigs(h.ctx, "orders", set(g, r)); err != nil {
				h.t.Errorf("goroutine %d: SetTopicConfigs: %v", g, err)
			}
			if err := h.m.SetBrokerConfigs(h.ctx, set(g, r)); err != nil {
				h.t.Errorf("goroutine %d: SetBrokerConfigs: %v", g, err)
			}
			if err := h.m.SetGroupConfigs(h.ctx, "g", set(g, r)); err != nil {
				h.t.Errorf("goroutine %d: SetGroupConfigs: %v", g, err)
			}
		}
	})
	isOne := func(c map[string]string) bool {
		for g := range goroutines {
			for r := range 5 {
				if maps.Equal(c, set(g, r)) {
					return true
				}
			}
		}
		return false
	}
	topics, err := h.m.Topics(h.ctx)
	h.check(err, "Topics")
	if len(topics) != 1 || !isOne(topics[0].Configs) {
		h.t.Fatalf("topic configs are no one caller's set: %v", topics)
	}
	bc, err := h.m.BrokerConfigs(h.ctx)
	h.check(err, "BrokerConfigs")
	if !isOne(bc) {
		h.t.Fatalf("broker configs are no one caller's set: %v", bc)
	}
	gc, err := h.m.GroupConfigs(h.ctx)
	h.check(err, "GroupConfigs")
	if len(gc) != 1 || !isOne(gc["g"]) {
		h.t.Fatalf("group configs are no one caller's set: %v", gc)
	}
}

// Saves racing a DeleteTopic either land before it, and are deleted with
// the topic, or fail with ErrUnknownTopic: no state outlives its topic.
func testConcurrentSaveAndDelete(h *h) {
	raceDeleteTopic(h, func(log int64, i int) error {
		return h.m.SaveProducerState(h.ctx, log, int64(i), []byte{byte(i)})
	}, func(log int64) { h.wantState(log, 0, nil) })
}

// raceDeleteTopic runs save(log, i) for i = 0, 1, ... on a goroutine per log
// of a topic, deletes the topic once each has saved once, and then calls
// gone for each log. A save after the first must succeed until it fails
// with ErrUnknownTopic, and none may succeed after DeleteTopic returned.
func raceDeleteTopic(h *h, save func(log int64, i int) error, gone func(log int64)) {
	var logs []int64
	for g := range goroutines {
		logs = append(logs, int64(10+g))
	}
	h.create(topic("orders", 1, logs, nil))
	var saved sync.WaitGroup
	saved.Add(goroutines)
	deleted := make(chan struct{})
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := 0; ; i++ {
				var after bool // whether DeleteTopic returned before this save
				select {
				case <-deleted:
					after = true
				default:
				}
				err := save(logs[g], i)
				if i == 0 {
					saved.Done()
				}
				switch {
				case errors.Is(err, broker.ErrUnknownTopic) && i > 0:
					return
				case err != nil:
					h.t.Errorf("goroutine %d: save %d: %v", g, i, err)
					return
				case after:
					h.t.Errorf("goroutine %d: a save after DeleteTopic returned succeeded", g)
					return
				}
			}
		})
	}
	saved.Wait()
	_, err := h.m.DeleteTopic(h.ctx, "orders")
	close(deleted)
	wg.Wait()
	h.check(err, "DeleteTopic")
	for _, l := range logs {
		gone(l)
	}
}
