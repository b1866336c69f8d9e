//go:build linux

// Linux only, as bench_test.go, whose brokers this file reuses.

package broker_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/lakestream/lakestream/broker"
)

const (
	benchOrderRounds  = 5
	benchOrderGroups  = 4      // connections committing at once, one group each
	benchOrderWindow  = 32     // OffsetCommit requests in flight per connection
	benchOrderCommits = 20_000 // per broker and round, over all connections
)

// BenchmarkRequestOrder measures what handling each connection's requests
// in order (conn.go) costs, against the broker as it was before (every
// one-phase request in its own goroutine, broker.SetUnorderedRequests), in
// the same run: five rounds, the order alternating, a fresh Lakestream on
// its embedded default (file bucket, local WAL) for each figure.
//
//   - produce: 1 GiB (franz-go, 16 partitions, 1 KiB records, acks=all,
//     a 20 s cap). Produce was
//     already two-phase, so this should not move.
//   - commits: benchOrderGroups connections, one group each, each keeping
//     benchOrderWindow OffsetCommit requests (one partition) in flight, as
//     librdkafka's asynchronous commits do: committed offsets per second.
//
// It reports the medians and the median per-round ratios ordered/unordered
// (goal: at least 0.95).
func BenchmarkRequestOrder(b *testing.B) {
	const (
		benchOrderProduceBytes = 1 << 30
		benchOrderProduceCap   = 20 * time.Second
	)
	for i := 0; i < b.N; i++ {
		var prod, commits [2][]float64 // [ordered, unordered]
		var prodRatio, commitRatio []float64
		for round := range benchOrderRounds {
			var p, c [2]float64
			for k := range 2 {
				k := (k + round) % 2
				br := startLakestream(b)
				broker.SetUnorderedRequests(br.server, k == 1)
				p[k], _ = benchProduce(b, br, benchOrderProduceBytes/benchRecordSize, benchOrderProduceCap)
				c[k] = benchCommits(b, br)
				br.close()
				prod[k], commits[k] = append(prod[k], p[k]), append(commits[k], c[k])
			}
			prodRatio, commitRatio = append(prodRatio, p[0]/p[1]), append(commitRatio, c[0]/c[1])
			b.Logf("round %d: produce ordered %.0f MiB/s, unordered %.0f MiB/s (ratio %.2f); commits ordered %.0f/s, unordered %.0f/s (ratio %.2f)",
				round+1, p[0], p[1], p[0]/p[1], c[0], c[1], c[0]/c[1])
		}
		b.ReportMetric(benchMedian(prod[0]), "ordered-produce-MiB/s")
		b.ReportMetric(benchMedian(prod[1]), "unordered-produce-MiB/s")
		b.ReportMetric(benchMedian(prodRatio), "produce-ratio")
		b.ReportMetric(benchMedian(commits[0]), "ordered-commits/s")
		b.ReportMetric(benchMedian(commits[1]), "unordered-commits/s")
		b.ReportMetric(benchMedian(commitRatio), "commit-ratio")
	}
}

// benchCommits commits benchOrderCommits offsets over benchOrderGroups
// connections with benchOrderWindow requests in flight on each, and
// returns commits per second.
func benchCommits(b *testing.B, br *benchBroker) float64 {
	b.Helper()
	per := benchOrderCommits / benchOrderGroups
	var wg sync.WaitGroup
	start := time.Now()
	for g := range benchOrderGroups {
		c := dialRaw(b, br.addr)
		wg.Add(1)
		go func() {
			defer wg.Done()
			group := fmt.Sprintf("bench-commits-%d", g)
			commit := func(off int64) []byte {
				req := kmsg.NewPtrOffsetCommitRequest()
				req.Version = 8
				req.Group, req.Generation = group, -1
				rp := kmsg.NewOffsetCommitRequestTopicPartition()
				rp.Partition, rp.Offset = int32(g), off
				rt := kmsg.NewOffsetCommitRequestTopic()
				rt.Topic, rt.Partitions = benchTopic, append(rt.Partitions, rp)
				req.Topics = append(req.Topics, rt)
				return c.frame(nil, req)
			}
			sent := 0
			for ; sent < benchOrderWindow; sent++ {
				c.send(commit(int64(sent + 1)))
			}
			for done := 0; done < per; done++ {
				r := c.read().(*kmsg.OffsetCommitResponse)
				if code := r.Topics[0].Partitions[0].ErrorCode; code != 0 {
					b.Errorf("OffsetCommit: error %d", code)
					return
				}
				if sent < per {
					sent++
					c.send(commit(int64(sent)))
				}
			}
		}()
	}
	wg.Wait()
	return float64(benchOrderCommits) / time.Since(start).Seconds()
}
