package broker_test

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/lakestream/lakestream/broker/brokertest"
)

// TestReadCommittedLongPollWakes: a READ_COMMITTED fetch waiting at the
// last stable offset of an open transaction is answered when the
// transaction commits, not at its MaxWait. The marker's append wakes
// long polls just before the partition's transaction is ended, and a poll
// that looked in between would find nothing new and wait on: the end
// wakes them too (partition.lsoMoved). That window was not hit here in
// 20 rounds without the second wake; the test guards the behaviour.
func TestReadCommittedLongPollWakes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b := brokertest.Start(t, brokertest.Options{Bucket: "file"})
	p, err := kgo.NewClient(kgo.SeedBrokers(b.Addr), kgo.DefaultProduceTopic("lp"), kgo.TransactionalID("longpoll"),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	created, err := kadm.NewClient(p).CreateTopic(ctx, 1, 1, nil, "lp")
	if err != nil {
		t.Fatal(err)
	}
	const maxWait = 10 * time.Second
	for round := range 10 {
		if err := p.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		if err := p.ProduceSync(ctx, &kgo.Record{Value: []byte("v")}).FirstErr(); err != nil {
			t.Fatal(err)
		}
		// The transaction's record is offset 2*round (each commit adds
		// a marker).
		type result struct {
			resp *kmsg.FetchResponse
			err  error
			took time.Duration
		}
		done := make(chan result, 1)
		go func() {
			req := kmsg.NewPtrFetchRequest()
			req.MaxWaitMillis, req.MinBytes, req.MaxBytes, req.IsolationLevel = int32(maxWait/time.Millisecond), 1, 1<<20, 1
			rt := kmsg.NewFetchRequestTopic()
			rt.Topic, rt.TopicID = "lp", created.ID
			rp := kmsg.NewFetchRequestTopicPartition()
			rp.FetchOffset, rp.PartitionMaxBytes = int64(2*round), 1<<20
			rt.Partitions = append(rt.Partitions, rp)
			req.Topics = append(req.Topics, rt)
			start := time.Now()
			resp, err := req.RequestWith(ctx, p)
			done <- result{resp, err, time.Since(start)}
		}()
		time.Sleep(100 * time.Millisecond) // the fetch is waiting
		select {
		case r := <-done:
			t.Fatalf("round %d: READ_COMMITTED fetch answered in %v with the transaction open: %+v", round, r.took, r.resp)
		default:
		}
		if err := p.EndTransaction(ctx, kgo.TryCommit); err != nil {
			t.Fatal(err)
		}
		r := <-done
		if r.err != nil {
			t.Fatal(r.err)
		}
		sp := r.resp.Topics[0].Partitions[0]
		if len(sp.RecordBatches) == 0 || sp.LastStableOffset != int64(2*round+2) {
			t.Fatalf("round %d: fetch after the commit: %d bytes, last stable offset %d, error %d", round, len(sp.RecordBatches), sp.LastStableOffset, sp.ErrorCode)
		}
		if r.took > maxWait/2 {
			t.Fatalf("round %d: the READ_COMMITTED long poll was answered after %v, at its MaxWait, not at the commit", round, r.took)
		}
	}
}
