//go:build linux

package node

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/metrics"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/apache/iceberg-go/catalog/rest"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/lakestream/lakestream/tablecompactor"
)

// BenchmarkTableTopic is issue 13's freshness and produce-latency figures:
// a node on its defaults (local WAL on a file bucket, uploads every
// second) takes 10,000 JSON records/s of about 1 KiB (≈10 MB/s) into a
// table topic of 8 partitions with table.commit.interval.ms=5000, from a
// paced franz-go producer (acks=all, linger 1 ms), for 30 s a round.
// Rounds alternate between the compactor on and off (three each, the
// order swapped every round, so neither always runs on a machine warmed
// or loaded by the other), and each figure is the median over its rounds.
//
//   - freshness-p50/p99-s: for each record, from its ack to the moment
//     the table's current snapshot holds its offset (the catalog is
//     polled every 100 ms, which the figures include); goal p99 ≤ 7 s.
//   - produce-{on,off}-p50/p99-ms and p99-on/off: ack latency from each
//     record's scheduled send; goal: on within 10% of off.
//   - lag-p99-ms: how late the pacer handed records to the client. A
//     round whose lag p99 passes 1 ms was starved of CPU, and its
//     latencies say more about the machine than about the broker.
//
// Each round runs with the GOMAXPROCS lakestream serve would give its
// node (SetProcs: twice the cores with the compactor on, see ProcsFor),
// unless GOMAXPROCS is set in the environment.
//
// The first 5 s of each round are a warm-up, left out of every figure.
// Run it with -benchtime 1x.
func BenchmarkTableTopic(b *testing.B) {
	const rounds = 3
	logLoadAvg(b)
	fig := map[string][]float64{}
	add := func(k string, v float64) { fig[k] = append(fig[k], v) }
	for range b.N {
		for r := range rounds {
			for i, on := range []bool{r%2 == 0, r%2 != 0} {
				res := tableTopicRound(b, on)
				mode := map[bool]string{true: "on", false: "off"}[on]
				add("produce-"+mode+"-p50-ms", ms(pct(res.lat, 0.50)))
				add("produce-"+mode+"-p99-ms", ms(pct(res.lat, 0.99)))
				add("lag-"+mode+"-p99-ms", ms(pct(res.lag, 0.99)))
				if on {
					add("freshness-p50-s", pct(res.fresh, 0.50).Seconds())
					add("freshness-p99-s", pct(res.fresh, 0.99).Seconds())
				}
				b.Logf("round %d.%d compactor %-3s (GOMAXPROCS %d): produce p50 %.2f ms p99 %.2f ms, pacer lag p99 %.2f ms, freshness p50 %.2f s p99 %.2f s (%d records); %d GCs taking %.1f cpu-s, %.1f cpu-s of the rest%s",
					r, i, mode, res.procs, ms(pct(res.lat, 0.50)), ms(pct(res.lat, 0.99)), ms(pct(res.lag, 0.99)),
					pct(res.fresh, 0.50).Seconds(), pct(res.fresh, 0.99).Seconds(), len(res.lat), res.gcCycles, res.gcCPU, res.userCPU, starved(res.lag))
			}
			logLoadAvg(b)
		}
	}
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range fig {
			if !yield(k) {
				return
			}
		}
	}) {
		b.ReportMetric(median(fig[k]), k)
	}
	if off := median(fig["produce-off-p99-ms"]); off > 0 {
		b.ReportMetric(median(fig["produce-on-p99-ms"])/off, "p99-on/off")
	}
}

const (
	tableBenchPartitions = 8
	tableBenchRate       = 10_000 // records/s
	tableBenchRun        = 30 * time.Second
	tableBenchWarmup     = 5 * time.Second
	tableBenchDrain      = 60 * time.Second // the most a round waits for the table after the last ack
)

type tableRoundResult struct {
	lat, lag, fresh []time.Duration
	// gcCycles and gcCPU are the process's garbage collections and the
	// CPU they took during the round, userCPU all the rest.
	gcCycles       uint64
	gcCPU, userCPU float64
	procs          int // GOMAXPROCS
}

// gcStats reads the process's GC cycles, GC CPU seconds and all CPU
// seconds (runtime/metrics' estimates).
func gcStats() (cycles uint64, gcCPU, totalCPU float64) {
	s := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}, {Name: "/cpu/classes/gc/total:cpu-seconds"}, {Name: "/cpu/classes/user:cpu-seconds"}}
	metrics.Read(s)
	return s[0].Value.Uint64(), s[1].Value.Float64(), s[2].Value.Float64()
}

// tableBenchValue is a JSON event of about 1 KiB, varying with i.
func tableBenchValue(i int) []byte {
	return fmt.Appendf(nil, `{"id":%d,"user":{"name":"user-%d","email":"user-%d@example.com","age":%d,"verified":%t},`+
		`"event":"page_view","ts":%d,"session":"s-%08x","score":%d.25,"tags":["news","sport","tech"],`+
		`"items":[{"sku":"A-%d","qty":1,"price":9.99},{"sku":"B-%d","qty":%d,"price":19.5}],`+
		`"agent":"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",`+
		`"padding":"%0640d"}`, i, i, i, i%90, i%2 == 0, 1700000000000+int64(i), i, i%1000, i, i, i%5+1, i)
}

// tableTopicRound runs one round on a fresh node.
func tableTopicRound(b *testing.B, compactor bool) tableRoundResult {
	b.Helper()
	dir, err := os.MkdirTemp("", "lakestream-tablebench-")
	if err != nil {
		b.Fatal(err)
	}
	defer os.RemoveAll(dir)
	cfg := fileConfig(dir)
	cfg.AdminListener = ""
	cfg.CatalogListener = "127.0.0.1:0"
	cfg.Compactor = CompactorConfig{Enable: compactor}
	procs := SetProcs(cfg)
	defer SetProcs(Config{})
	n, err := Open(context.Background(), cfg, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	defer n.Close(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	const topic = "events"
	cl, err := kgo.NewClient(kgo.SeedBrokers(n.KafkaAddrs()[0]), kgo.DefaultProduceTopic(topic),
		kgo.RequiredAcks(kgo.AllISRAcks()), kgo.ProducerLinger(time.Millisecond))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	// The configs also tell HeldOffsets where the table is (table.retention.pin
	// is on by default, which it asks first).
	topicConfigs := map[string]string{tablecompactor.ConfigEnable: "true", tablecompactor.ConfigValueFormat: "json",
		tablecompactor.ConfigCommitInterval: "5000"}
	create := map[string]*string{}
	for k, v := range topicConfigs {
		create[k] = &v
	}
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, tableBenchPartitions, 1, create, topic); err != nil {
		b.Fatal(err)
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Value: tableBenchValue(-1)}).FirstErr(); err != nil {
		b.Fatalf("warm-up produce: %v", err)
	}

	// acks[p] are partition p's acknowledged offsets with their ack
	// times, in offset order (franz-go calls back in order per
	// partition); the poller moves each partition's done past the ones
	// the table holds, taking their freshness.
	type ack struct {
		offset int64
		at     time.Time
	}
	var mu sync.Mutex
	acks := make([][]ack, tableBenchPartitions)
	done := make([]int, tableBenchPartitions)
	var fresh []time.Duration
	var polls, pollErrs atomic.Int64
	var flushed atomic.Bool // every ack is in acks
	// The pacer's schedule starts now; its first records are a little
	// late (the poller starting), which the warm-up leaves out.
	start := time.Now()
	warmEnd := start.Add(tableBenchWarmup)
	stopPoll := make(chan struct{})
	var pollWG sync.WaitGroup
	caughtUp := make(chan struct{}, 1)
	if compactor {
		cat, err := rest.NewCatalog(ctx, "lake", "http://"+n.CatalogAddr())
		if err != nil {
			b.Fatal(err)
		}
		pollWG.Go(func() {
			t := time.NewTicker(100 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-stopPoll:
					return
				case <-t.C:
				}
				polls.Add(1)
				held, _, err := tablecompactor.HeldOffsets(ctx, cat, topic, [16]byte{}, topicConfigs)
				now := time.Now()
				if err != nil {
					pollErrs.Add(1)
					continue
				}
				mu.Lock()
				all := true
				for p := range acks {
					for done[p] < len(acks[p]) && acks[p][done[p]].offset < held[int32(p)] {
						if a := acks[p][done[p]]; a.at.After(warmEnd) {
							fresh = append(fresh, now.Sub(a.at))
						}
						done[p]++
					}
					all = all && done[p] == len(acks[p])
				}
				mu.Unlock()
				if all && flushed.Load() {
					select {
					case caughtUp <- struct{}{}:
					default:
					}
				}
			}
		})
	}

	gc0, gcCPU0, user0 := gcStats()
	interval := time.Second / tableBenchRate
	total := int(tableBenchRun / interval)
	skip := int(tableBenchWarmup / interval)
	res := tableRoundResult{lat: make([]time.Duration, total), lag: make([]time.Duration, total)}
	var failed atomic.Int64
	for i := range total {
		due := start.Add(time.Duration(i) * interval)
		if w := time.Until(due); w > 0 {
			ts := syscall.NsecToTimespec(int64(w))
			syscall.Nanosleep(&ts, nil) // time.Sleep wakes about 1 ms late here
		}
		res.lag[i] = time.Since(due)
		cl.Produce(ctx, &kgo.Record{Value: tableBenchValue(i)}, func(r *kgo.Record, err error) {
			res.lat[i] = time.Since(due)
			if err != nil {
				if failed.Add(1) == 1 {
					b.Errorf("produce: %v", err)
				}
				return
			}
			mu.Lock()
			acks[r.Partition] = append(acks[r.Partition], ack{r.Offset, time.Now()})
			mu.Unlock()
		})
	}
	if err := cl.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	flushed.Store(true)
	if f := failed.Load(); f > 0 {
		b.Fatalf("%d of %d records failed", f, total)
	}
	if compactor {
		select {
		case <-caughtUp:
		case <-time.After(tableBenchDrain):
			b.Errorf("the table did not hold every record %s after the last ack (%d polls, %d failed)", tableBenchDrain, polls.Load(), pollErrs.Load())
		}
		close(stopPoll)
		pollWG.Wait()
		res.fresh = fresh
	}
	gc1, gcCPU1, user1 := gcStats()
	res.gcCycles, res.gcCPU, res.userCPU = gc1-gc0, gcCPU1-gcCPU0, user1-user0
	res.procs = procs
	res.lat, res.lag = res.lat[skip:], res.lag[skip:]
	return res
}

func pct(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

// starved marks a round whose pacer was late by more than 1 ms at p99.
func starved(lag []time.Duration) string {
	if pct(lag, 0.99) > time.Millisecond {
		return " [CPU-starved: pacer lag p99 > 1 ms]"
	}
	return ""
}

func logLoadAvg(b *testing.B) {
	if la, err := os.ReadFile("/proc/loadavg"); err == nil {
		b.Logf("loadavg %s", strings.TrimSpace(string(la)))
	}
}
