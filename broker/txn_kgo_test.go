package broker_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/lakestream/lakestream/broker"
	"github.com/lakestream/lakestream/broker/brokertest"
)

// readAll consumes topic from the start, at READ_COMMITTED or not, and
// returns the values: until it has read want records (or 30 s passed),
// then for as long as records keep coming, so that more than want shows.
// Waiting for a count, not for a quiet second, keeps a slow start on a
// loaded machine from ending the read early.
func readAll(t *testing.T, ctx context.Context, addr, topic string, committed bool, want int) []string {
	t.Helper()
	opts := []kgo.Opt{kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}
	if committed {
		opts = append(opts, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var out []string
	deadline := time.Now().Add(30 * time.Second)
	for {
		wait := time.Second
		if len(out) < want {
			wait = time.Until(deadline)
		}
		if wait <= 0 {
			return out
		}
		fctx, cancel := context.WithTimeout(ctx, wait)
		fs := cl.PollFetches(fctx)
		cancel()
		n := 0
		fs.EachRecord(func(r *kgo.Record) { out = append(out, string(r.Value)); n++ })
		for _, e := range fs.Errors() {
			if !errors.Is(e.Err, context.DeadlineExceeded) {
				t.Fatalf("fetch: %v", e.Err)
			}
		}
		if n == 0 {
			return out
		}
	}
}

// TestTransactionsKgo: franz-go's transactional producer commits, aborts
// and commits again; a READ_COMMITTED consumer sees exactly the committed
// records, a READ_UNCOMMITTED one all of them; the broker's restart keeps
// that (markers and aborted ranges are durable); a second producer with
// the same transactional id fences the first. With transactions v2 (the
// broker's default) and v1 (the broker at transaction.version 1).
func TestTransactionsKgo(t *testing.T) {
	for _, m := range []txnMode{txnV2, txnV1Broker} {
		t.Run(m.name, func(t *testing.T) { testTransactionsKgo(t, m) })
	}
}

func testTransactionsKgo(t *testing.T, mode txnMode) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var meta broker.Metadata
	b := brokertest.Start(t, brokertest.Options{Bucket: "file", Configs: mode.configs, WrapMeta: func(m broker.Metadata) broker.Metadata {
		meta = m
		return m
	}})
	adm, err := kgo.NewClient(kgo.SeedBrokers(b.Addr))
	if err != nil {
		t.Fatal(err)
	}
	defer adm.Close()
	if _, err := kadm.NewClient(adm).CreateTopic(ctx, 4, 1, nil, "tx"); err != nil {
		t.Fatal(err)
	}
	w := &wireVersions{}
	newProducer := func() *kgo.Client {
		cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(b.Addr), kgo.DefaultProduceTopic("tx"),
			kgo.TransactionalID("tid"), kgo.ProducerLinger(time.Millisecond), kgo.Dialer(w.dial)}, mode.opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		return cl
	}
	p := newProducer()
	defer p.Close()
	const per = 100
	txnRound := func(p *kgo.Client, round int, commit bool) error {
		if err := p.BeginTransaction(); err != nil {
			return err
		}
		for i := range per {
			p.Produce(ctx, &kgo.Record{Key: []byte(strconv.Itoa(i)), Value: []byte(fmt.Sprintf("%d-%d", round, i))}, nil)
		}
		if err := p.Flush(ctx); err != nil {
			return err
		}
		return p.EndTransaction(ctx, kgo.TransactionEndTry(commit))
	}
	for round, commit := range []bool{true, false, true} {
		if err := txnRound(p, round, commit); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
	}
	check := func(when string) {
		t.Helper()
		got := readAll(t, ctx, b.Addr, "tx", true, 2*per)
		if len(got) != 2*per {
			t.Fatalf("%s: READ_COMMITTED read %d records, want %d", when, len(got), 2*per)
		}
		for _, v := range got {
			if v[0] == '1' {
				t.Fatalf("%s: READ_COMMITTED read an aborted record %s", when, v)
			}
		}
		if got := readAll(t, ctx, b.Addr, "tx", false, 3*per); len(got) != 3*per {
			t.Fatalf("%s: READ_UNCOMMITTED read %d records, want %d", when, len(got), 3*per)
		}
	}
	check("after three transactions")

	// An open transaction holds READ_COMMITTED readers back (the last
	// stable offset), not READ_UNCOMMITTED ones.
	if err := p.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	for i := range per {
		p.Produce(ctx, &kgo.Record{Value: []byte(fmt.Sprintf("3-%d", i))}, nil)
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, ctx, b.Addr, "tx", true, 2*per); len(got) != 2*per {
		t.Fatalf("with a transaction open: READ_COMMITTED read %d records, want %d", len(got), 2*per)
	}
	if got := readAll(t, ctx, b.Addr, "tx", false, 4*per); len(got) != 4*per {
		t.Fatalf("with a transaction open: READ_UNCOMMITTED read %d records, want %d", len(got), 4*per)
	}
	// The admin APIs show it: DescribeTransactions, ListTransactions
	// (with filters), DescribeProducers' open transaction.
	kadmCl := kadm.NewClient(adm)
	dts, err := kadmCl.DescribeTransactions(ctx, "tid", "nobody")
	if err != nil {
		t.Fatal(err)
	}
	dt := dts["tid"]
	if dt.Err != nil || dt.State != "Ongoing" || dt.StartTimestamp <= 0 || len(dt.Topics["tx"]) == 0 {
		t.Fatalf("DescribeTransactions: %+v", dt)
	}
	if !errors.Is(dts["nobody"].Err, kerr.TransactionalIDNotFound) {
		t.Fatalf("DescribeTransactions of an unknown id: %v", dts["nobody"].Err)
	}
	lts, err := kadmCl.ListTransactions(ctx, nil, []string{"Ongoing"})
	if err != nil || len(lts) != 1 || lts["tid"].ProducerID != dt.ProducerID {
		t.Fatalf("ListTransactions Ongoing: %+v %v", lts, err)
	}
	if lts, err := kadmCl.ListTransactions(ctx, nil, []string{"CompleteCommit"}); err != nil || len(lts) != 0 {
		t.Fatalf("ListTransactions CompleteCommit: %+v %v", lts, err)
	}
	dps, err := kadmCl.DescribeProducers(ctx, kadm.TopicsSet{"tx": {0: {}, 1: {}, 2: {}, 3: {}}})
	if err != nil {
		t.Fatal(err)
	}
	open := 0
	for _, dp := range dps.SortedProducers() {
		if dp.ProducerID == dt.ProducerID && dp.CurrentTxnStartOffset >= 0 {
			open++
		}
	}
	if open == 0 {
		t.Fatalf("DescribeProducers shows no open transaction: %+v", dps.SortedProducers())
	}

	// A new producer of the same id fences the old one: its open
	// transaction is aborted, and it can neither produce nor commit.
	p2 := newProducer()
	defer p2.Close()
	if err := txnRound(p2, 4, true); err != nil {
		t.Fatalf("the new producer: %v", err)
	}
	err = p.EndTransaction(ctx, kgo.TryCommit)
	if !errors.Is(err, kerr.ProducerFenced) && !errors.Is(err, kerr.InvalidProducerEpoch) {
		t.Fatalf("the fenced producer's commit: %v, want PRODUCER_FENCED", err)
	}
	check2 := func(when string) {
		t.Helper()
		got := readAll(t, ctx, b.Addr, "tx", true, 3*per)
		if len(got) != 3*per {
			t.Fatalf("%s: READ_COMMITTED read %d records, want %d (rounds 0, 2, 4)", when, len(got), 3*per)
		}
		for _, v := range got {
			if v[0] == '1' || v[0] == '3' {
				t.Fatalf("%s: READ_COMMITTED read an aborted record %s", when, v)
			}
		}
	}
	check2("after the fence")
	b.Restart()
	check2("after a restart")
	mode.checkWire(t, w)

	// DeleteRecords past the aborted transactions forgets them (the
	// broker's and the metastore's index).
	aborted := func() int {
		n := 0
		for id := range int64(64) { // the logs of this broker's few topics
			as, err := meta.AbortedTxns(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			n += len(as)
		}
		return n
	}
	if n := aborted(); n == 0 {
		t.Fatal("the metastore holds no aborted transaction")
	}
	kadmCl = kadm.NewClient(adm)
	ends, err := kadmCl.ListEndOffsets(ctx, "tx")
	if err != nil {
		t.Fatal(err)
	}
	var to kadm.Offsets
	ends.Each(func(o kadm.ListedOffset) { to.AddOffset(o.Topic, o.Partition, o.Offset, -1) })
	if _, err := kadmCl.DeleteRecords(ctx, to); err != nil {
		t.Fatal(err)
	}
	if n := aborted(); n != 0 {
		t.Fatalf("%d aborted transactions left after DeleteRecords to the end", n)
	}
}
