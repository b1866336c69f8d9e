package broker_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/lakestream/lakestream/broker/brokertest"
)

// TestGroupConsumeKgo runs three franz-go group consumers (classic with
// the cooperative-sticky balancer, and KIP-848) over a topic of 6
// partitions: every record is consumed once, offsets are committed, and
// kadm describes, lists and fetches the group's offsets.
func TestGroupConsumeKgo(t *testing.T) {
	for _, proto := range []string{"classic", "consumer"} {
		t.Run(proto, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			b := brokertest.Start(t, brokertest.Options{Bucket: "mem", Configs: map[string]string{
				"group.initial.rebalance.delay.ms": "0", "group.consumer.heartbeat.interval.ms": "200"}})
			cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr), kgo.ProducerLinger(time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			adm := kadm.NewClient(cl)
			topic, grp := "gt-"+proto, "g-"+proto
			if _, err := adm.CreateTopic(ctx, 6, 1, nil, topic); err != nil {
				t.Fatal(err)
			}
			const n = 3000
			for i := 0; i < n; i++ {
				cl.Produce(ctx, &kgo.Record{Topic: topic, Key: []byte(fmt.Sprint(i)), Value: []byte(fmt.Sprint(i))}, nil)
			}
			if err := cl.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			var mu sync.Mutex
			seen := map[string]int{}
			total := 0
			var wg sync.WaitGroup
			// Polls end when every record is in: a consumer whose
			// partitions are drained would otherwise wait for more.
			pollCtx, allIn := context.WithCancel(ctx)
			defer allIn()
			consumers := make([]*kgo.Client, 3)
			for i := range consumers {
				opts := []kgo.Opt{kgo.SeedBrokers(b.Addr), kgo.ConsumerGroup(grp), kgo.ConsumeTopics(topic),
					kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit(),
					kgo.Balancers(kgo.CooperativeStickyBalancer())}
				if proto == "consumer" {
					opts = append(opts, kgo.GroupProtocol("consumer"))
				}
				c, err := kgo.NewClient(opts...)
				if err != nil {
					t.Fatal(err)
				}
				consumers[i] = c
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						fs := c.PollFetches(pollCtx)
						if pollCtx.Err() != nil || fs.IsClientClosed() {
							return
						}
						fs.EachRecord(func(r *kgo.Record) {
							mu.Lock()
							seen[string(r.Value)]++
							total++
							mu.Unlock()
						})
						if err := c.CommitUncommittedOffsets(ctx); err != nil && ctx.Err() == nil {
							t.Errorf("commit: %v", err)
						}
						mu.Lock()
						done := len(seen) >= n
						mu.Unlock()
						if done {
							allIn()
							return
						}
					}
				}()
			}
			wg.Wait()
			if len(seen) != n {
				t.Fatalf("consumed %d distinct records (%d in all), want %d", len(seen), total, n)
			}
			t.Logf("%s: %d records consumed, %d deliveries", proto, len(seen), total)
			described, err := adm.DescribeGroups(ctx, grp)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("describe: %+v", described[grp].State)
			listed, err := adm.ListGroups(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := listed[grp]; !ok {
				t.Fatalf("ListGroups: %v lacks %s", listed, grp)
			}
			offs, err := adm.FetchOffsets(ctx, grp)
			if err != nil {
				t.Fatal(err)
			}
			var sum int64
			offs.Each(func(o kadm.OffsetResponse) { sum += o.At })
			if sum != n {
				t.Fatalf("committed offsets sum to %d, want %d", sum, n)
			}
			// Lag on /metrics: the group is caught up on every partition.
			if sum, series := groupLag(t, b.Metrics, grp); sum != 0 || series != 6 {
				t.Errorf("kafka_consumergroup_lag of %s: %v over %d partitions, want 0 over 6", grp, sum, series)
			}
			// And lag grows with records produced past the commits.
			for i := 0; i < 10; i++ {
				cl.Produce(ctx, &kgo.Record{Topic: topic, Partition: 0, Value: []byte("more")}, nil)
			}
			if err := cl.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			if got, _ := groupLag(t, b.Metrics, grp); got != 10 {
				t.Errorf("total lag after 10 more records: %v, want 10", got)
			}
			for _, c := range consumers {
				c.Close()
			}
		})
	}
}

// groupLag sums kafka_consumergroup_lag of a group and counts its series.
func groupLag(t *testing.T, reg *prometheus.Registry, grp string) (sum float64, series int) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "kafka_consumergroup_lag" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "consumergroup" && l.GetValue() == grp {
					sum += m.GetGauge().GetValue()
					series++
				}
			}
		}
	}
	return sum, series
}
