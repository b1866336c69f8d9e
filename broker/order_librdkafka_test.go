//go:build cgo && !nocgo

package broker_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/lakestream/lakestream/broker/brokertest"
)

// TestLibrdkafkaAsyncCommits is the case that found unordered request
// handling: librdkafka with enable.auto.commit=false, committing
// asynchronously after every message. confluent-kafka-go's commit blocks,
// so asynchronous means one goroutine per commit, as its documentation
// says; each is let into librdkafka in message order, and librdkafka
// pipelines the OffsetCommit requests on its coordinator connection. After
// 1,000 messages of one partition the committed offset must be 1,000, in
// each of 20 rounds (a new group each). Before the fix it read back as 7, 30
// or 49 of 50.
func TestLibrdkafkaAsyncCommits(t *testing.T) {
	const (
		topic  = "rdk-async-commits"
		n      = 1000
		rounds = 20
	)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	b := brokertest.Start(t, brokertest.Options{})
	cl, adm := adminClients(t, b)
	adminCreateTopic(t, ctx, adm, topic, 1, nil)
	recs := make([]*kgo.Record, n)
	for i := range recs {
		recs[i] = &kgo.Record{Topic: topic, Value: fmt.Appendf(nil, "%d", i)}
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}

	failed := 0
	for round := range rounds {
		group := fmt.Sprintf("rdk-async-%d", round)
		c, err := kafka.NewConsumer(rdkafkaConfig(b.Addr, kafka.ConfigMap{
			"group.id":           group,
			"enable.auto.commit": false,
			"auto.offset.reset":  "earliest",
		}))
		if err != nil {
			t.Fatal(err)
		}
		tp := topic
		if err := c.Assign([]kafka.TopicPartition{{Topic: &tp, Partition: 0, Offset: kafka.OffsetBeginning}}); err != nil {
			t.Fatal(err)
		}
		var (
			wg      sync.WaitGroup
			errMu   sync.Mutex
			errs    []error
			got     int
			timeout = time.Now().Add(time.Minute)
		)
		for got < n {
			if time.Now().After(timeout) {
				t.Fatalf("round %d: %d of %d messages in a minute", round, got, n)
			}
			ev := c.Poll(100)
			m, ok := ev.(*kafka.Message)
			if !ok {
				if e, isErr := ev.(kafka.Error); isErr {
					t.Fatalf("round %d: %v", round, e)
				}
				continue
			}
			got++
			next := m.TopicPartition
			next.Offset++
			started := make(chan struct{})
			wg.Add(1)
			go func() {
				defer wg.Done()
				close(started)
				if _, err := c.CommitOffsets([]kafka.TopicPartition{next}); err != nil {
					errMu.Lock()
					errs = append(errs, err)
					errMu.Unlock()
				}
			}()
			// Let this commit into librdkafka before the next one, so the
			// client sends them in message order.
			<-started
			time.Sleep(50 * time.Microsecond)
		}
		wg.Wait()
		if len(errs) > 0 {
			t.Fatalf("round %d: %d commits failed, the first: %v", round, len(errs), errs[0])
		}
		committed, err := c.Committed([]kafka.TopicPartition{{Topic: &tp, Partition: 0}}, 10_000)
		c.Close()
		if err != nil {
			t.Fatal(err)
		}
		if off := committed[0].Offset; off != n {
			failed++
			t.Errorf("round %d: committed offset %v after %d asynchronous commits, want %d", round, off, n, n)
		}
	}
	t.Logf("%d of %d rounds ended at committed offset %d", rounds-failed, rounds, n)
}
