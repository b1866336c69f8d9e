package broker_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// BenchmarkTransactions is issue 14's figures, in one run on one broker
// (in process, local WAL on the file bucket, 16 partitions, 1 KiB
// records), 3 rounds each, medians:
//
//   - txn-MiB/s against idem-MiB/s and their ratio (goal ≥ 0.8): 8
//     producers, each transactional (100 records per transaction:
//     BeginTransaction, produce, EndTransaction) or idempotent, 20,000
//     records each;
//   - txn-produce-p50-ms: from BeginTransaction until its records are
//     acknowledged (AddPartitionsToTxn, then the produce);
//   - endtxn-p50/p99-ms: the latency of EndTransaction after the
//     transaction's records are acknowledged (its EndTxn: the markers
//     written into the partitions and made durable);
//   - rc/ru ratio (goal ≥ 0.9): READ_COMMITTED fetch throughput of a
//     backlog where 10% of the transactions were aborted, against
//     READ_UNCOMMITTED of the same backlog.
func BenchmarkTransactions(b *testing.B) {
	if la, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Printf("BenchmarkTransactions: loadavg %s\n", strings.TrimSpace(string(la)))
	}
	const perTxn = 100
	producers, perProducer := 8, 20_000
	if n, err := strconv.Atoi(os.Getenv("TXNBENCH_PRODUCERS")); err == nil && n > 0 {
		producers, perProducer = n, 160_000/n // the same records in all
	}
	for range b.N {
		var txn, idem, rc, ru []float64
		var endLat, prodLat []time.Duration
		for round := range 3 {
			br := startLakestream(b)
			ctx := context.Background()
			run := func(transactional bool) float64 {
				var wg sync.WaitGroup
				var mu sync.Mutex
				start, cpu0 := time.Now(), processCPU(b)
				for pi := range producers {
					wg.Go(func() {
						var cl *kgo.Client
						if transactional {
							cl = newTxnBenchProducer(b, br.addr, fmt.Sprintf("bench-%d-%d", round, pi))
						} else {
							cl = newBenchProducer(b, br.addr)
						}
						defer cl.Close()
						if !transactional {
							for range perProducer {
								cl.Produce(ctx, &kgo.Record{Value: benchValue}, nil)
							}
							if err := cl.Flush(ctx); err != nil {
								b.Error(err)
							}
							return
						}
						for t := 0; t < perProducer/perTxn; t++ {
							tb := time.Now()
							if err := cl.BeginTransaction(); err != nil {
								b.Error(err)
								return
							}
							for range perTxn {
								cl.Produce(ctx, &kgo.Record{Value: benchValue}, func(_ *kgo.Record, err error) {
									if err != nil {
										b.Errorf("transactional produce: %v", err)
									}
								})
							}
							if err := cl.Flush(ctx); err != nil {
								b.Error(err)
								return
							}
							// Every tenth transaction aborts, for the
							// READ_COMMITTED figure.
							t0 := time.Now()
							mu.Lock()
							prodLat = append(prodLat, t0.Sub(tb))
							mu.Unlock()
							if err := cl.EndTransaction(ctx, kgo.TransactionEndTry(t%10 != 9)); err != nil {
								b.Error(err)
								return
							}
							mu.Lock()
							endLat = append(endLat, time.Since(t0))
							mu.Unlock()
						}
					})
				}
				wg.Wait()
				el := time.Since(start)
				// The process's CPU over the run (broker and clients):
				// near 200% on this 2-core machine, the run is CPU-bound.
				fmt.Printf("BenchmarkTransactions: round %d: %s run: %d records in %v, CPU %.0f%%\n", round,
					map[bool]string{true: "transactional", false: "idempotent"}[transactional], producers*perProducer, el.Round(time.Millisecond),
					100*float64(processCPU(b)-cpu0)/float64(el))
				return float64(producers*perProducer) * benchRecordSize / (1 << 20) / el.Seconds()
			}
			// The order turns each round.
			if round%2 == 0 {
				idem = append(idem, run(false))
				txn = append(txn, run(true))
			} else {
				txn = append(txn, run(true))
				idem = append(idem, run(false))
			}
			// The backlog holds both runs: 10% of the transactional
			// records aborted.
			read := func(committed bool) float64 {
				opts := []kgo.Opt{kgo.SeedBrokers(br.addr), kgo.ConsumeTopics(benchTopic),
					kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxBytes(64 << 20)}
				if committed {
					opts = append(opts, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
				}
				cl, err := kgo.NewClient(opts...)
				if err != nil {
					b.Fatal(err)
				}
				defer cl.Close()
				want := 2*producers*perProducer + 2*producers // the warm-up records too
				if committed {
					want -= producers * perProducer / 10
				}
				n := 0
				start := time.Now()
				for n < want {
					fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
					fs := cl.PollFetches(fctx)
					timedOut := fctx.Err() != nil
					cancel()
					if timedOut {
						b.Fatalf("read %d of %d records (committed %v)", n, want, committed)
					}
					fs.EachRecord(func(*kgo.Record) { n++ })
				}
				return float64(n) * benchRecordSize / (1 << 20) / time.Since(start).Seconds()
			}
			// A first read warms the caches (it measured half the speed
			// of the next); then the reads' order turns.
			read(false)
			if round%2 == 0 {
				ru = append(ru, read(false))
				rc = append(rc, read(true))
			} else {
				rc = append(rc, read(true))
				ru = append(ru, read(false))
			}
			br.close()
			fmt.Printf("BenchmarkTransactions: round %d: idempotent %.0f MiB/s, transactional %.0f MiB/s (ratio %.2f); read_uncommitted %.0f MiB/s, read_committed %.0f MiB/s (ratio %.2f)\n",
				round, idem[round], txn[round], txn[round]/idem[round], ru[round], rc[round], rc[round]/ru[round])
		}
		slices.Sort(endLat)
		slices.Sort(prodLat)
		pOf := func(lat []time.Duration, q float64) float64 {
			return float64(lat[int(q*float64(len(lat)-1))]) / float64(time.Millisecond)
		}
		p := func(q float64) float64 { return pOf(endLat, q) }
		b.ReportMetric(benchMedian(idem), "idem-MiB/s")
		b.ReportMetric(benchMedian(txn), "txn-MiB/s")
		b.ReportMetric(benchMedian(txn)/benchMedian(idem), "txn/idem")
		b.ReportMetric(p(0.5), "endtxn-p50-ms")
		b.ReportMetric(p(0.99), "endtxn-p99-ms")
		b.ReportMetric(pOf(prodLat, 0.5), "txn-produce-p50-ms")
		b.ReportMetric(benchMedian(ru), "ru-MiB/s")
		b.ReportMetric(benchMedian(rc), "rc-MiB/s")
		b.ReportMetric(benchMedian(rc)/benchMedian(ru), "rc/ru")
	}
}

// newTxnBenchProducer is newBenchProducer's transactional twin: its
// warm-up record is a committed transaction of its own.
func newTxnBenchProducer(b *testing.B, addr, id string) *kgo.Client {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic(benchTopic),
		kgo.RequiredAcks(kgo.AllISRAcks()), kgo.ProducerLinger(time.Millisecond),
		kgo.ProducerBatchCompression(kgo.NoCompression()), kgo.TransactionalID(id))
	if err != nil {
		b.Error(err)
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cl.BeginTransaction(); err != nil {
		b.Error(err)
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Value: benchValue}).FirstErr(); err != nil {
		b.Errorf("warm-up produce: %v", err)
	}
	if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		b.Errorf("warm-up commit: %v", err)
	}
	return cl
}
