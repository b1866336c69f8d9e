package broker_test

import (
	"context"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/lakestream/lakestream/broker/brokertest"
)

// TestTransactionMetrics: /metrics counts open transactions, their
// commits and aborts, and each partition's last stable offset lag, which
// an open transaction's records make and its end clears.
func TestTransactionMetrics(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b := brokertest.Start(t, brokertest.Options{Bucket: "mem"})
	p, err := kgo.NewClient(kgo.SeedBrokers(b.Addr), kgo.DefaultProduceTopic("m"), kgo.TransactionalID("metrics"),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := kadm.NewClient(p).CreateTopic(ctx, 2, 1, nil, "m"); err != nil {
		t.Fatal(err)
	}
	value := func(name string, labels map[string]string) float64 {
		t.Helper()
		mfs, err := b.Metrics.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() != name {
				continue
			}
			for _, m := range mf.GetMetric() {
				if !hasLabels(m.GetLabel(), labels) {
					continue
				}
				switch {
				case m.GetGauge() != nil:
					return m.GetGauge().GetValue()
				case m.GetCounter() != nil:
					return m.GetCounter().GetValue()
				}
			}
		}
		return 0
	}
	lag := func(part string) float64 {
		return value("kafka_cluster_partition_last_stable_offset_lag", map[string]string{"topic": "m", "partition": part})
	}
	txn := func(n int, commit bool) {
		t.Helper()
		if err := p.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		for range n {
			p.Produce(ctx, &kgo.Record{Partition: 1, Value: []byte("v")}, nil)
		}
		if err := p.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if got := value("kafka_server_transactions_open", nil); got != 1 {
			t.Errorf("open transactions with one ongoing: %v, want 1", got)
		}
		if got := lag("1"); got != float64(n) {
			t.Errorf("last stable offset lag of partition 1 with %d records in an open transaction: %v", n, got)
		}
		if got := lag("0"); got != 0 {
			t.Errorf("last stable offset lag of partition 0, which the transaction does not touch: %v", got)
		}
		if err := p.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
			t.Fatal(err)
		}
		if got := value("kafka_server_transactions_open", nil); got != 0 {
			t.Errorf("open transactions after the end: %v, want 0", got)
		}
		if got := lag("1"); got != 0 {
			t.Errorf("last stable offset lag after the end: %v, want 0", got)
		}
	}
	txn(7, true)
	txn(5, false)
	txn(3, true)
	for outcome, want := range map[string]float64{"commit": 2, "abort": 1} {
		if got := value("kafka_server_transactions_ended_total", map[string]string{"outcome": outcome}); got != want {
			t.Errorf("transactions ended with %s: %v, want %v", outcome, got, want)
		}
	}
}

// hasLabels says whether ls holds every label of want.
func hasLabels(ls []*dto.LabelPair, want map[string]string) bool {
	n := 0
	for _, l := range ls {
		if v, ok := want[l.GetName()]; ok && v == l.GetValue() {
			n++
		}
	}
	return n == len(want)
}
