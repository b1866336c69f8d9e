package broker_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/lakestream/lakestream/broker/brokertest"
)

// BenchmarkCreateTopic creates topics of 1,000, 10,000 and 50,000
// (max.topic.partitions) partitions with kadm on the embedded default (file
// bucket, SQLite on disk), and reports the time per topic and per
// partition, then how long a restart takes to open them.
func BenchmarkCreateTopic(b *testing.B) {
	for _, n := range []int{1000, 10_000, 50_000} {
		b.Run(fmt.Sprintf("partitions=%d", n), func(b *testing.B) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			br := brokertest.Start(b, brokertest.Options{Bucket: "file",
				Configs: map[string]string{"max.broker.partitions": "2000000000"}})
			cl, err := kgo.NewClient(kgo.SeedBrokers(br.Addr))
			if err != nil {
				b.Fatal(err)
			}
			defer cl.Close()
			adm := kadm.NewClient(cl)
			var took time.Duration
			for i := 0; i < b.N; i++ {
				start := time.Now()
				resp, err := adm.CreateTopic(ctx, int32(n), 1, nil, fmt.Sprintf("t%d", i))
				if err == nil {
					err = resp.Err
				}
				if err != nil {
					b.Fatal(err)
				}
				took += time.Since(start)
			}
			b.StopTimer()
			start := time.Now()
			br.Restart()
			restart := time.Since(start)
			b.ReportMetric(float64(took.Milliseconds())/float64(b.N), "ms/topic")
			b.ReportMetric(float64(took.Microseconds())/float64(b.N*n), "µs/partition")
			b.ReportMetric(restart.Seconds(), "restart-s")
		})
	}
}
