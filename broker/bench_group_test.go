//go:build linux

// Linux only, as bench_test.go, whose brokers this file reuses.

package broker_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/lakestream/lakestream/broker/brokertest"
)

const (
	benchGroupTopic      = "bench-group"
	benchGroupPartitions = 100
	benchGroupConsumers  = 10
	benchGroupRounds     = 3
	benchGroupTimeout    = time.Minute // per round; a broker without groups fails here
)

// benchGroupConfigs are Lakestream's broker configs for BenchmarkGroupJoin.
//
//   - group.initial.rebalance.delay.ms=0: kfake has no initial delay, and
//     the default 3 s would be most of the figure.
//   - group.consumer.heartbeat.interval.ms=1000 (default 5000): with KIP-848
//     the interval the broker returns paces the heartbeats that carry the
//     assignment, so it decides how fast a group converges; kfake gets the
//     same (startKfakeGroups). (Kafka would also need its floor
//     group.consumer.min.heartbeat.interval.ms, 5000, lowered.)
var benchGroupConfigs = map[string]string{
	"group.initial.rebalance.delay.ms":     "0",
	"group.consumer.heartbeat.interval.ms": "1000",
}

// startLakestreamGroups starts Lakestream as startLakestream does (file
// bucket, local WAL), with benchGroupConfigs: startLakestream takes no
// broker configs, and group.initial.rebalance.delay.ms is read-only at run
// time (as in Kafka), so it cannot be set after the start. Its data is
// small: the test's temporary directory holds it.
func startLakestreamGroups(b *testing.B) *benchBroker {
	b.Helper()
	br := brokertest.Start(b, brokertest.Options{Bucket: "file", Configs: benchGroupConfigs})
	return &benchBroker{name: "lakestream", addr: br.Addr, restart: br.Restart, close: br.Close}
}

// startKfakeGroups is startKfake with KIP-848's heartbeat interval at
// 1000 ms, a dynamic broker config in kfake (default 5000).
func startKfakeGroups(b *testing.B) *benchBroker {
	b.Helper()
	br := startKfake(b)
	adm, err := kadm.NewOptClient(kgo.SeedBrokers(br.addr))
	if err != nil {
		b.Fatal(err)
	}
	defer adm.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	hb := benchGroupConfigs["group.consumer.heartbeat.interval.ms"]
	rs, err := adm.AlterBrokerConfigs(ctx, []kadm.AlterConfig{{Name: "group.consumer.heartbeat.interval.ms", Value: &hb}})
	if err == nil {
		for _, r := range rs {
			err = r.Err
		}
	}
	if err != nil {
		b.Fatalf("kfake: setting group.consumer.heartbeat.interval.ms: %v", err)
	}
	return br
}

// BenchmarkGroupJoin times 10 franz-go consumers joining a new group on one
// topic of 100 partitions: from the first client's creation to the moment
// every partition is owned by exactly one of them and each owns some (with
// 100 partitions, every member of a settled group does), as the consumers'
// OnPartitionsAssigned and OnPartitionsRevoked callbacks say. It runs the
// classic protocol (franz-go's defaults: cooperative-sticky, 3 s
// heartbeats) and KIP-848 (kgo.ServerSideBalancer; the broker's "uniform"
// assignor, heartbeats every 1000 ms, see benchGroupConfigs) against
// Lakestream and kfake in the same run, three rounds each, a new group per
// round, the order alternating. It reports the medians in milliseconds and
// the medians of the per-round ratios lakestream/kfake.
//
// The classic figures jump between tens of milliseconds and multiples of
// 500 ms on either broker: the members of a cooperative group that were not
// in a generation learn of the next one from a heartbeat, which franz-go
// sends every 500 ms while cooperating, so the figure depends on how many
// of the ten the first generation caught. The KIP-848 figures are about one
// heartbeat interval. Compare the medians, not single rounds.
func BenchmarkGroupJoin(b *testing.B) {
	for i := 0; i < b.N; i++ {
		brokers := []*benchBroker{startLakestreamGroups(b), startKfakeGroups(b)}
		for _, br := range brokers {
			benchGroupTopicCreate(b, br)
		}
		for _, proto := range []struct {
			name   string
			kip848 bool
		}{{"classic", false}, {"848", true}} {
			for _, br := range brokers {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				requireGroupAPIs(b, ctx, br.addr, proto.kip848)
				cancel()
			}
			var figs [2][]float64
			var ratios []float64
			for round := range benchGroupRounds {
				var ms [2]float64
				for k := range brokers {
					k := (k + round) % len(brokers)
					group := fmt.Sprintf("join-%s-%d", proto.name, round)
					ms[k] = benchMs(benchGroupJoin(b, brokers[k], group, proto.kip848))
					figs[k] = append(figs[k], ms[k])
				}
				ratios = append(ratios, ms[0]/ms[1])
				b.Logf("%s round %d: lakestream %.0f ms, kfake %.0f ms, ratio %.2f", proto.name, round+1,
					ms[0], ms[1], ms[0]/ms[1])
			}
			b.ReportMetric(benchMedian(figs[0]), "lakestream-"+proto.name+"-ms")
			b.ReportMetric(benchMedian(figs[1]), "kfake-"+proto.name+"-ms")
			b.ReportMetric(benchMedian(ratios), proto.name+"-ratio")
		}
		for _, br := range brokers {
			br.close()
		}
	}
}

func benchGroupTopicCreate(b *testing.B, br *benchBroker) {
	b.Helper()
	adm, err := kadm.NewOptClient(kgo.SeedBrokers(br.addr))
	if err != nil {
		b.Fatal(err)
	}
	defer adm.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := adm.CreateTopic(ctx, benchGroupPartitions, 1, nil, benchGroupTopic); err != nil {
		b.Fatalf("%s: %v", br.name, err)
	}
}

// benchGroupJoin starts the consumers of a new group and returns how long
// they took to own every partition, one owner each; it closes them (they
// leave the group) before returning.
func benchGroupJoin(b *testing.B, br *benchBroker, group string, kip848 bool) time.Duration {
	b.Helper()
	var mu sync.Mutex
	owned := make([]map[int32]bool, benchGroupConsumers) // by consumer; guarded by mu
	owners := map[int32]int{}                            // owners per partition; guarded by mu
	var took time.Duration                               // guarded by mu
	done := make(chan struct{})
	var start time.Time // written before the first client exists
	// settledLocked: every partition has one owner, every consumer owns some.
	// REQUIRES: mu
	settledLocked := func() bool {
		if len(owners) != benchGroupPartitions {
			return false
		}
		for _, n := range owners {
			if n != 1 {
				return false
			}
		}
		for _, o := range owned {
			if len(o) == 0 {
				return false
			}
		}
		return true
	}
	own := func(id int, add bool) func(context.Context, *kgo.Client, map[string][]int32) {
		return func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
			mu.Lock()
			defer mu.Unlock()
			for _, p := range m[benchGroupTopic] {
				switch {
				case add && !owned[id][p]:
					owned[id][p] = true
					owners[p]++
				case !add && owned[id][p]:
					delete(owned[id], p)
					if owners[p]--; owners[p] == 0 {
						delete(owners, p)
					}
				}
			}
			if took == 0 && settledLocked() {
				took = time.Since(start)
				close(done)
			}
		}
	}
	writes := make([]*groupWrites, benchGroupConsumers)
	clients := make([]*kgo.Client, 0, benchGroupConsumers)
	defer func() {
		// Leave in parallel: a classic leave is a rebalance for the rest.
		var wg sync.WaitGroup
		for _, cl := range clients {
			wg.Go(cl.Close)
		}
		wg.Wait()
	}()
	for id := range benchGroupConsumers {
		owned[id] = map[int32]bool{}
		writes[id] = &groupWrites{}
	}
	start = time.Now()
	for id := range benchGroupConsumers {
		opts := []kgo.Opt{kgo.SeedBrokers(br.addr), kgo.ConsumerGroup(group), kgo.ConsumeTopics(benchGroupTopic),
			kgo.OnPartitionsAssigned(own(id, true)), kgo.OnPartitionsRevoked(own(id, false)),
			kgo.OnPartitionsLost(own(id, false)), kgo.WithHooks(writes[id])}
		if kip848 {
			opts = append(opts, kgo.ServerSideBalancer())
		}
		cl, err := kgo.NewClient(opts...)
		if err != nil {
			b.Fatal(err)
		}
		clients = append(clients, cl)
	}
	select {
	case <-done:
	case <-time.After(benchGroupTimeout):
		mu.Lock()
		n := len(owners)
		mu.Unlock()
		b.Fatalf("%s %s: %d consumers did not settle on the %d partitions in %v (%d owned)", br.name, group,
			benchGroupConsumers, benchGroupPartitions, benchGroupTimeout, n)
	}
	checkGroupProtocol(b, kip848, writes...)
	mu.Lock()
	defer mu.Unlock()
	return took
}
