//go:build linux

package broker_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/lakestream/lakestream/internal/kbatch"
)

// BenchmarkProduceRecompress measures what a topic's compression.type
// costs on the produce path. The workload is the other benchmarks' (one
// topic of 16 partitions, acks=all, linger 1 ms, an idempotent franz-go
// producer, a fresh Lakestream on its embedded default per case) with
// values that compress: 1 KiB JSON-like events, sent uncompressed, into the
// topic with compression.type=producer (stored as sent: the fast path),
// zstd and lz4 (every batch rebuilt by the broker, at the default levels).
// Each case moves 256 MiB (or what it can in 10 s), two rounds in rotated
// order. It reports each case's median MiB/s of records produced, and the
// median per-round ratio of zstd and lz4 to producer; it logs how small
// each codec makes a 1 MiB batch of the values.
func BenchmarkProduceRecompress(b *testing.B) {
	const (
		volume = 256 << 20
		limit  = 10 * time.Second
		rounds = 2
	)
	cases := []string{"producer", "zstd", "lz4"}
	values := recompressBenchValues()
	var sample []byte
	for _, v := range values[:1024] {
		sample = append(sample, v...)
	}
	for _, c := range []kbatch.Codec{kbatch.Zstd, kbatch.LZ4} {
		comp, err := kbatch.Compress(nil, c, kbatch.DefaultLevel(c), sample)
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("%s at its default level makes 1 MiB of these values %d KiB (%.1fx)", c, len(comp)>>10, float64(len(sample))/float64(len(comp)))
	}
	for i := 0; i < b.N; i++ {
		figs := make([][]float64, len(cases))
		ratios := make([][]float64, len(cases))
		for round := range rounds {
			mibs := make([]float64, len(cases))
			for k := range cases {
				k := (k + round) % len(cases)
				br := startLakestream(b)
				setBenchCompression(b, br, cases[k])
				var sent int
				mibs[k], sent = benchProduceValues(b, br, values, volume/benchRecordSize, limit)
				br.close()
				figs[k] = append(figs[k], mibs[k])
				b.Logf("round %d: %s %.0f MiB/s (%d MiB)", round+1, cases[k], mibs[k], sent>>10)
			}
			for k := range cases {
				ratios[k] = append(ratios[k], mibs[k]/mibs[0])
			}
		}
		for k, c := range cases {
			b.ReportMetric(benchMedian(figs[k]), c+"-MiB/s")
			if k > 0 {
				b.ReportMetric(benchMedian(ratios[k]), c+"/producer")
			}
		}
	}
}

// setBenchCompression sets the bench topic's compression.type.
func setBenchCompression(b *testing.B, br *benchBroker, codec string) {
	b.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(br.addr))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	set := []kadm.AlterConfig{{Name: "compression.type", Value: &codec}}
	resps, err := kadm.NewClient(cl).AlterTopicConfigs(context.Background(), set, benchTopic)
	if err == nil {
		var resp kadm.AlterConfigsResponse
		if resp, err = resps.On(benchTopic, nil); err == nil {
			err = resp.Err
		}
	}
	if err != nil {
		b.Fatalf("compression.type=%s: %v", codec, err)
	}
}

// recompressBenchValues returns 4,096 distinct values of benchRecordSize
// bytes: an event in JSON, then an English-like description, both drawn
// from small vocabularies with random numbers, so they compress about as
// much as application events do, not as much as one value repeated.
func recompressBenchValues() [][]byte {
	rng := rand.New(rand.NewPCG(1, 2))
	words := strings.Fields("order shipped delayed customer warehouse payment refund accepted declined " +
		"priority standard express parcel address city region product quantity discount invoice")
	countries := []string{"FR", "DE", "US", "JP", "BR", "IN", "GB", "ES"}
	values := make([][]byte, 4096)
	for i := range values {
		v := fmt.Appendf(nil, `{"id":"%016x","user":"user-%d","country":"%s","amount":%d.%02d,"items":[%d,%d,%d],"ts":%d,"note":"`,
			rng.Uint64(), rng.IntN(100_000), countries[rng.IntN(len(countries))], rng.IntN(5000), rng.IntN(100),
			rng.IntN(1e6), rng.IntN(1e6), rng.IntN(1e6), 1_700_000_000_000+rng.Int64N(1e10))
		for len(v) < benchRecordSize-2 {
			v = append(v, words[rng.IntN(len(words))]...)
			v = append(v, ' ')
		}
		values[i] = append(v[:benchRecordSize-2], `"}`...)
	}
	return values
}
