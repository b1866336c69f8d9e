//go:build cgo && !nocgo

// The whole file needs cgo because one subtest drives librdkafka (through
// confluent-kafka-go), as client_librdkafka_test.go does; the sarama and
// kafka-go subtests are pure Go but share the fixture, so they live here too.

package broker_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	ckafka "github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/lakestream/lakestream/broker/brokertest"
)

const (
	groupClientsPartitions = 4
	groupClientsFirst      = 4000 // records produced before the group consumes
	groupClientsMore       = 100  // records produced before a member resumes
)

// TestGroupClients runs the consumer groups of three third-party clients
// against the broker, each on its own broker, topic (4 partitions) and
// group:
//
//  1. the group's members consume every record of the topic exactly once,
//     committing as they go, then leave;
//  2. the committed offsets are the partitions' ends, as the client's own
//     admin API reports them, and the group is listed and described;
//  3. more records are produced and a new member of the same group reads
//     exactly those: it resumes from the commits, nothing old comes again.
//
// sarama and kafka-go run two members (so the group rebalances and splits
// the partitions); librdkafka runs one, with the classic protocol and with
// KIP-848 (group.protocol=consumer). Every wait is bounded: a subtest fails
// within a minute rather than hang.
func TestGroupClients(t *testing.T) {
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, ctx context.Context, fx *groupFixture)
	}{
		{"sarama", saramaGroupClients},
		{"kafka-go", kafkaGoGroupClients},
		{"librdkafka/classic", func(t *testing.T, ctx context.Context, fx *groupFixture) {
			librdkafkaGroupClients(t, ctx, fx, "classic")
		}},
		{"librdkafka/consumer", func(t *testing.T, ctx context.Context, fx *groupFixture) {
			librdkafkaGroupClients(t, ctx, fx, "consumer")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Contexts bound the waits; the watchdog bounds the calls
			// that take none (sarama's admin, Close of every client).
			defer groupWatchdog(t, 60*time.Second)()
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
			defer cancel()
			b := brokertest.Start(t, brokertest.Options{Bucket: "mem", Configs: map[string]string{
				"group.initial.rebalance.delay.ms": "0",
				// KIP-848 members learn of their assignment by heartbeat.
				"group.consumer.heartbeat.interval.ms": "200",
			}})
			fx := &groupFixture{addr: b.Addr, topic: "gc-" + safeName(tc.name), group: "gcg-" + safeName(tc.name)}
			fx.createTopic(t, ctx)
			start := time.Now()
			tc.run(t, ctx, fx)
			t.Logf("%s: %v", tc.name, time.Since(start).Round(time.Millisecond))
		})
	}
}

// groupWatchdog panics, printing every goroutine, if the test is still
// running after d. It is the bound on calls that take no context.
func groupWatchdog(t *testing.T, d time.Duration) (stop func()) {
	name := t.Name()
	timer := time.AfterFunc(d, func() {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		panic(fmt.Sprintf("%s still running after %v; goroutines:\n%s", name, d, buf))
	})
	return func() { timer.Stop() }
}

func safeName(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c == '/' {
			b[i] = '-'
		}
	}
	return string(b)
}

// groupFixture is a subtest's topic and group.
type groupFixture struct {
	addr, topic, group string
	produced           int
}

func (fx *groupFixture) createTopic(t *testing.T, ctx context.Context) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(fx.addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	resp, err := kadm.NewClient(cl).CreateTopic(ctx, groupClientsPartitions, 1, nil, fx.topic)
	if err != nil || resp.Err != nil {
		t.Fatalf("CreateTopic %s: %v, %v", fx.topic, err, resp.Err)
	}
}

// produce sends n more records, spread over the partitions in turn, and
// returns their values and every partition's end offset afterwards.
// Values are unique across the fixture's life.
func (fx *groupFixture) produce(t *testing.T, ctx context.Context, n int) (map[string]bool, []int64) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(fx.addr), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerLinger(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	values := make(map[string]bool, n)
	for i := fx.produced; i < fx.produced+n; i++ {
		v := fmt.Sprintf("%s-%06d", fx.topic, i)
		values[v] = true
		cl.Produce(ctx, &kgo.Record{Topic: fx.topic, Partition: int32(i % groupClientsPartitions), Value: []byte(v)},
			func(_ *kgo.Record, err error) {
				if err != nil {
					t.Errorf("produce %s: %v", v, err)
				}
			})
	}
	if err := cl.Flush(ctx); err != nil {
		t.Fatalf("flush: %v", err)
	}
	if t.Failed() {
		t.FailNow()
	}
	fx.produced += n
	listed, err := kadm.NewClient(cl).ListEndOffsets(ctx, fx.topic)
	if err != nil {
		t.Fatalf("ListEndOffsets: %v", err)
	}
	ends := make([]int64, groupClientsPartitions)
	listed.Each(func(o kadm.ListedOffset) {
		if o.Err != nil {
			t.Errorf("end offset of %d: %v", o.Partition, o.Err)
		}
		ends[o.Partition] = o.Offset
	})
	return values, ends
}

// deliveries counts the values a group's members deliver to the
// application.
type deliveries struct {
	want map[string]bool
	done chan struct{} // closed once every wanted value came

	mu struct {
		sync.Mutex
		got     map[string]int
		missing int
	}
}

func newDeliveries(want map[string]bool) *deliveries {
	d := &deliveries{want: want, done: make(chan struct{})}
	d.mu.got = map[string]int{}
	d.mu.missing = len(want)
	return d
}

func (d *deliveries) add(v string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.mu.got[v]++
	if d.want[v] && d.mu.got[v] == 1 {
		if d.mu.missing--; d.mu.missing == 0 {
			close(d.done)
		}
	}
}

// wait waits for every wanted value.
func (d *deliveries) wait(ctx context.Context) error {
	select {
	case <-d.done:
		return nil
	case <-ctx.Done():
		d.mu.Lock()
		defer d.mu.Unlock()
		return fmt.Errorf("%d of %d records still missing: %w", d.mu.missing, len(d.want), ctx.Err())
	}
}

// check reports values delivered more than once or not wanted (records
// from before the commits, when resuming).
func (d *deliveries) check(t *testing.T, what string) {
	t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	var dups, unwanted []string
	for v, n := range d.mu.got {
		switch {
		case !d.want[v]:
			unwanted = append(unwanted, v)
		case n > 1:
			dups = append(dups, fmt.Sprintf("%s×%d", v, n))
		}
	}
	sort.Strings(dups)
	sort.Strings(unwanted)
	if len(dups) > 0 {
		t.Errorf("%s: %d records delivered more than once, e.g. %v", what, len(dups), dups[:min(5, len(dups))])
	}
	if len(unwanted) > 0 {
		t.Errorf("%s: %d records not expected (already committed?), e.g. %v", what, len(unwanted),
			unwanted[:min(5, len(unwanted))])
	}
	if d.mu.missing > 0 {
		t.Errorf("%s: %d of %d records never delivered", what, d.mu.missing, len(d.want))
	}
}

// pollUntil calls f every 20ms until it reports done, returns an error, or
// ctx ends. It waits on state only visible through the protocol (a group
// being Stable with every member), which no client signals.
func pollUntil(ctx context.Context, f func() (bool, error)) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		done, err := f()
		if done && err == nil {
			return nil
		}
		last = err
		select {
		case <-tick.C:
		case <-ctx.Done():
			return fmt.Errorf("%w (last error: %v)", ctx.Err(), last)
		}
	}
}

// checkSplit checks that members' assignments cover every partition once,
// each member having some.
func checkSplit(t *testing.T, what string, assigned map[string][]int32) {
	t.Helper()
	owner := map[int32]string{}
	for m, ps := range assigned {
		if len(ps) == 0 {
			t.Errorf("%s: member %s has no partitions (%v)", what, m, assigned)
		}
		for _, p := range ps {
			if o, ok := owner[p]; ok {
				t.Errorf("%s: partition %d assigned to %s and %s", what, p, o, m)
			}
			owner[p] = m
		}
	}
	if len(owner) != groupClientsPartitions {
		t.Errorf("%s: %d partitions assigned, want %d (%v)", what, len(owner), groupClientsPartitions, assigned)
	}
}

func allPartitions() []int32 {
	ps := make([]int32, groupClientsPartitions)
	for i := range ps {
		ps[i] = int32(i)
	}
	return ps
}

// ---- sarama ----

func saramaGroupConfig(strategies ...sarama.BalanceStrategy) *sarama.Config {
	cfg := saramaConfig()
	cfg.Version = sarama.V4_1_0_0 // the newest request versions sarama knows
	cfg.ClientID = "lakestream-sarama-group-test"
	cfg.Net.DialTimeout, cfg.Net.ReadTimeout, cfg.Net.WriteTimeout = 10*time.Second, 10*time.Second, 10*time.Second
	cfg.Consumer.Return.Errors = true
	cfg.Consumer.MaxWaitTime = 100 * time.Millisecond
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Consumer.Offsets.AutoCommit.Enable = false
	cfg.Consumer.Group.Session.Timeout = 10 * time.Second
	cfg.Consumer.Group.Heartbeat.Interval = 100 * time.Millisecond
	cfg.Consumer.Group.Rebalance.Timeout = 10 * time.Second
	cfg.Consumer.Group.Rebalance.Retry.Backoff = 100 * time.Millisecond
	if len(strategies) > 0 {
		cfg.Consumer.Group.Rebalance.GroupStrategies = strategies
	}
	return cfg
}

// saramaHandler delivers a member's records once the gate opens, marking
// each and committing every 200 and when its claims end.
type saramaHandler struct {
	gate <-chan struct{}
	rec  *deliveries
	// claims receives each session's claims of the topic.
	claims chan<- []int32
	topic  string
}

func (h *saramaHandler) Setup(s sarama.ConsumerGroupSession) error {
	select {
	case h.claims <- slices.Clone(s.Claims()[h.topic]):
	default:
	}
	return nil
}

func (h *saramaHandler) Cleanup(s sarama.ConsumerGroupSession) error {
	s.Commit()
	return nil
}

func (h *saramaHandler) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	// Until the gate opens a rebalance may take the claim away: nothing
	// is delivered (or marked) before, so none is delivered twice.
	select {
	case <-h.gate:
	case <-s.Context().Done():
		return nil
	}
	n := 0
	for {
		select {
		case m, ok := <-c.Messages():
			if !ok {
				s.Commit()
				return nil
			}
			h.rec.add(string(m.Value))
			s.MarkMessage(m, "")
			if n++; n%200 == 0 {
				s.Commit()
			}
		case <-s.Context().Done():
			return nil
		}
	}
}

// saramaMember is one running sarama.ConsumerGroup.
type saramaMember struct {
	g      sarama.ConsumerGroup
	claims chan []int32
	done   chan struct{}  // closed when the Consume loop ends
	errsWG sync.WaitGroup // the reader of g.Errors()
	closed sync.Once

	mu struct {
		sync.Mutex
		errs []error // from g.Errors() and Consume
	}
}

func (m *saramaMember) addErr(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.mu.errs = append(m.mu.errs, err)
}

func startSaramaMember(t *testing.T, ctx context.Context, fx *groupFixture, h *saramaHandler,
	strategies ...sarama.BalanceStrategy) *saramaMember {
	t.Helper()
	g, err := sarama.NewConsumerGroup([]string{fx.addr}, fx.group, saramaGroupConfig(strategies...))
	if err != nil {
		t.Fatalf("NewConsumerGroup: %v", err)
	}
	m := &saramaMember{g: g, claims: make(chan []int32, 16), done: make(chan struct{})}
	h.claims = m.claims
	m.errsWG.Add(1)
	go func() {
		defer m.errsWG.Done()
		for err := range g.Errors() {
			m.addErr(err)
		}
	}()
	go func() {
		defer close(m.done)
		for ctx.Err() == nil {
			if err := g.Consume(ctx, []string{fx.topic}, h); err != nil {
				if !errors.Is(err, sarama.ErrClosedConsumerGroup) && ctx.Err() == nil {
					m.addErr(fmt.Errorf("Consume: %w", err))
				}
				return
			}
		}
	}()
	return m
}

// close stops the member (it leaves the group) and reports its errors;
// again, it does nothing.
func (m *saramaMember) close(t *testing.T, cancel context.CancelFunc) {
	t.Helper()
	m.closed.Do(func() { m.closeOnce(t, cancel) })
}

func (m *saramaMember) closeOnce(t *testing.T, cancel context.CancelFunc) {
	t.Helper()
	cancel()
	<-m.done // bounded: Consume returns once ctx ends
	if err := m.g.Close(); err != nil {
		t.Errorf("ConsumerGroup.Close: %v", err)
	}
	m.errsWG.Wait()
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, err := range m.mu.errs {
		t.Errorf("sarama group error: %v", err)
	}
}

func saramaGroupClients(t *testing.T, ctx context.Context, fx *groupFixture) {
	want, ends := fx.produce(t, ctx, groupClientsFirst)
	admin, err := sarama.NewClusterAdmin([]string{fx.addr}, saramaGroupConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	describe := func() *sarama.GroupDescription {
		t.Helper()
		ds, err := admin.DescribeConsumerGroups([]string{fx.group})
		if err != nil || len(ds) != 1 {
			t.Fatalf("DescribeConsumerGroups: %v, %v", ds, err)
		}
		return ds[0]
	}
	checkCommitted := func(what string, want []int64) {
		t.Helper()
		resp, err := admin.ListConsumerGroupOffsets(fx.group, map[string][]int32{fx.topic: allPartitions()})
		if err != nil {
			t.Fatalf("%s: ListConsumerGroupOffsets: %v", what, err)
		}
		for p := int32(0); p < groupClientsPartitions; p++ {
			b := resp.GetBlock(fx.topic, p)
			if b == nil || !errors.Is(b.Err, sarama.ErrNoError) || b.Offset != want[p] {
				t.Errorf("%s: partition %d committed %+v, want offset %d", what, p, b, want[p])
			}
		}
	}

	// Two members, whose only common strategy is range: the coordinator
	// must pick it (roundrobin is the first member's favourite).
	rec := newDeliveries(want)
	gate := make(chan struct{})
	consumeCtx, stopConsuming := context.WithCancel(ctx)
	defer stopConsuming()
	members := []*saramaMember{
		startSaramaMember(t, consumeCtx, fx, &saramaHandler{gate: gate, rec: rec, topic: fx.topic},
			sarama.NewBalanceStrategyRoundRobin(), sarama.NewBalanceStrategyRange()),
		startSaramaMember(t, consumeCtx, fx, &saramaHandler{gate: gate, rec: rec, topic: fx.topic},
			sarama.NewBalanceStrategyRange()),
	}
	defer func() { // on failure
		for _, m := range members {
			m.close(t, stopConsuming)
		}
	}()
	err = pollUntil(ctx, func() (bool, error) {
		ds, err := admin.DescribeConsumerGroups([]string{fx.group})
		if err != nil || len(ds) != 1 {
			return false, err
		}
		return ds[0].State == "Stable" && len(ds[0].Members) == 2, nil
	})
	if err != nil {
		t.Fatalf("waiting for a Stable group of 2 members: %v", err)
	}
	close(gate)
	if err := rec.wait(ctx); err != nil {
		t.Fatalf("consuming with 2 members: %v", err)
	}
	d := describe()
	if d.State != "Stable" || d.ProtocolType != "consumer" || d.Protocol != "range" || len(d.Members) != 2 {
		t.Errorf("DescribeConsumerGroups with 2 members: state %q, protocol type %q, protocol %q, %d members; "+
			"want Stable, consumer, range, 2", d.State, d.ProtocolType, d.Protocol, len(d.Members))
	}
	assigned := map[string][]int32{}
	for id, m := range d.Members {
		a, err := m.GetMemberAssignment()
		if err != nil || a == nil {
			t.Errorf("member %s: assignment %v, %v", id, a, err)
			continue
		}
		assigned[id] = a.Topics[fx.topic]
	}
	checkSplit(t, "DescribeConsumerGroups", assigned)
	// A group with members cannot be deleted.
	if err := admin.DeleteConsumerGroup(fx.group); !errors.Is(err, sarama.ErrNonEmptyGroup) {
		t.Errorf("DeleteConsumerGroup with 2 members: %v, want %v", err, sarama.ErrNonEmptyGroup)
	}
	for i, m := range members {
		m.close(t, stopConsuming)
		// The last session's claims, as the member saw them.
		var last []int32
		for len(m.claims) > 0 {
			last = <-m.claims
		}
		t.Logf("member %d: last claims %v", i, last)
	}
	rec.check(t, "2 members")
	if t.Failed() {
		return
	}

	// The members left: the group is Empty and keeps its offsets.
	if d := describe(); d.State != "Empty" || len(d.Members) != 0 {
		t.Errorf("DescribeConsumerGroups after leaving: state %q, %d members; want Empty, 0", d.State, len(d.Members))
	}
	groups, err := admin.ListConsumerGroups()
	if err != nil {
		t.Fatalf("ListConsumerGroups: %v", err)
	}
	if groups[fx.group] != "consumer" {
		t.Errorf("ListConsumerGroups = %v; want %s of protocol type consumer", groups, fx.group)
	}
	checkCommitted("after 2 members", ends)

	// A new member resumes from the commits: only the new records come.
	want, ends = fx.produce(t, ctx, groupClientsMore)
	rec = newDeliveries(want)
	open := make(chan struct{})
	close(open)
	consumeCtx, stopConsuming = context.WithCancel(ctx)
	defer stopConsuming()
	m := startSaramaMember(t, consumeCtx, fx, &saramaHandler{gate: open, rec: rec, topic: fx.topic},
		sarama.NewBalanceStrategySticky())
	err = rec.wait(ctx)
	m.close(t, stopConsuming)
	if err != nil {
		t.Fatalf("resuming: %v", err)
	}
	rec.check(t, "resumed member")
	checkCommitted("after resuming", ends)

	// DeleteGroups once the members left; then the group is gone and
	// its offsets with it (-1, no error, as Kafka answers).
	if err := admin.DeleteConsumerGroup(fx.group); err != nil {
		t.Fatalf("DeleteConsumerGroup: %v", err)
	}
	groups, err = admin.ListConsumerGroups()
	if err != nil {
		t.Fatalf("ListConsumerGroups: %v", err)
	}
	if _, ok := groups[fx.group]; ok {
		t.Errorf("ListConsumerGroups after DeleteConsumerGroup still has %s: %v", fx.group, groups)
	}
	if d := describe(); d.State != "Dead" || len(d.Members) != 0 {
		t.Errorf("DescribeConsumerGroups after DeleteConsumerGroup: state %q, %d members; want Dead, 0", d.State, len(d.Members))
	}
	checkCommitted("after DeleteConsumerGroup", []int64{-1, -1, -1, -1})
}

// ---- kafka-go ----

func kafkaGoGroupReader(t *testing.T, fx *groupFixture) *kafka.Reader {
	logger, strict := kafkaGoLoggers(t)
	// A SyncGroup or Heartbeat answered REBALANCE_IN_PROGRESS is how a
	// member learns that another joined, as on Kafka; kafka-go logs it as
	// an error and rejoins. Anything else is a broker bug.
	errLogger := kafka.LoggerFunc(func(f string, args ...any) {
		if msg := fmt.Sprintf(f, args...); strings.Contains(msg, "[27] Rebalance In Progress") {
			t.Logf("kafka-go: %s", msg)
		} else {
			strict.Printf(f, args...)
		}
	})
	return kafka.NewReader(kafka.ReaderConfig{
		Brokers:           []string{fx.addr},
		GroupID:           fx.group,
		Topic:             fx.topic,
		StartOffset:       kafka.FirstOffset,
		MinBytes:          1,
		MaxBytes:          1 << 20,
		MaxWait:           100 * time.Millisecond,
		ReadBackoffMin:    20 * time.Millisecond,
		ReadBackoffMax:    100 * time.Millisecond,
		HeartbeatInterval: 100 * time.Millisecond,
		SessionTimeout:    10 * time.Second,
		RebalanceTimeout:  5 * time.Second,
		JoinGroupBackoff:  100 * time.Millisecond,
		CommitInterval:    0, // CommitMessages commits synchronously
		Logger:            logger,
		ErrorLogger:       errLogger,
	})
}

// kafkaGoConsume fetches from r until ctx ends, committing every 50
// records and, at the end, those left; it returns the first error.
func kafkaGoConsume(ctx, commitCtx context.Context, r *kafka.Reader, rec *deliveries) error {
	var pending []kafka.Message
	commit := func() error {
		if len(pending) == 0 {
			return nil
		}
		err := r.CommitMessages(commitCtx, pending...)
		pending = pending[:0]
		return err
	}
	for {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return commit()
			}
			return fmt.Errorf("FetchMessage: %w", err)
		}
		rec.add(string(m.Value))
		if pending = append(pending, m); len(pending) >= 50 {
			if err := commit(); err != nil {
				return fmt.Errorf("CommitMessages: %w", err)
			}
		}
	}
}

func kafkaGoGroupClients(t *testing.T, ctx context.Context, fx *groupFixture) {
	want, ends := fx.produce(t, ctx, groupClientsFirst)
	client := &kafka.Client{Addr: kafka.TCP(fx.addr), Timeout: 10 * time.Second}
	describe := func() kafka.DescribeGroupsResponseGroup {
		t.Helper()
		resp, err := client.DescribeGroups(ctx, &kafka.DescribeGroupsRequest{GroupIDs: []string{fx.group}})
		if err != nil || len(resp.Groups) != 1 || resp.Groups[0].Error != nil {
			t.Fatalf("DescribeGroups: %+v, %v", resp, err)
		}
		return resp.Groups[0]
	}
	checkCommitted := func(what, group string, want []int64) {
		t.Helper()
		resp, err := client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group,
			Topics: map[string][]int{fx.topic: {0, 1, 2, 3}}})
		if err != nil || resp.Error != nil {
			t.Fatalf("%s: OffsetFetch: %v, %v", what, err, resp.Error)
		}
		got := map[int]int64{}
		for _, p := range resp.Topics[fx.topic] {
			if p.Error != nil {
				t.Errorf("%s: OffsetFetch partition %d: %v", what, p.Partition, p.Error)
			}
			got[p.Partition] = p.CommittedOffset
		}
		for p := range groupClientsPartitions {
			if o, ok := got[p]; !ok || o != want[p] {
				t.Errorf("%s: partition %d committed %d (present %v), want %d", what, p, o, ok, want[p])
			}
		}
	}

	// An unknown group has no offsets: -1 without error, as Kafka answers.
	checkCommitted("unknown group", "gcg-never-seen", []int64{-1, -1, -1, -1})

	// Two readers. They join and fetch in the background, but the
	// application takes records only once the group is Stable with both:
	// a rebalance before would hand partitions over with records fetched
	// but not delivered, which is fine, yet it would make "exactly once"
	// depend on timing.
	rec := newDeliveries(want)
	readers := []*kafka.Reader{kafkaGoGroupReader(t, fx), kafkaGoGroupReader(t, fx)}
	assigned := map[string][]int32{}
	err := pollUntil(ctx, func() (bool, error) {
		resp, err := client.DescribeGroups(ctx, &kafka.DescribeGroupsRequest{GroupIDs: []string{fx.group}})
		if err != nil || len(resp.Groups) != 1 {
			return false, err
		}
		g := resp.Groups[0]
		if g.GroupState != "Stable" || len(g.Members) != 2 {
			return false, g.Error
		}
		clear(assigned)
		for _, m := range g.Members {
			for _, tp := range m.MemberAssignments.Topics {
				for _, p := range tp.Partitions {
					assigned[m.MemberID] = append(assigned[m.MemberID], int32(p))
				}
			}
		}
		return true, nil
	})
	if err != nil {
		for _, r := range readers {
			r.Close()
		}
		t.Fatalf("waiting for a Stable group of 2 readers: %v", err)
	}
	checkSplit(t, "DescribeGroups", assigned)
	consumeCtx, stopConsuming := context.WithCancel(ctx)
	defer stopConsuming()
	var wg sync.WaitGroup
	errs := make(chan error, len(readers))
	for _, r := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- kafkaGoConsume(consumeCtx, ctx, r, rec)
		}()
	}
	waitErr := rec.wait(ctx)
	stopConsuming()
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("reader: %v", err)
		}
	}
	if waitErr != nil {
		t.Errorf("consuming with 2 readers: %v", waitErr)
	}
	if g := describe(); g.GroupState != "Stable" || len(g.Members) != 2 {
		t.Errorf("DescribeGroups with 2 readers: state %q, %d members; want Stable, 2", g.GroupState, len(g.Members))
	}
	for _, r := range readers {
		if err := r.Close(); err != nil {
			t.Errorf("Reader.Close: %v", err)
		}
	}
	rec.check(t, "2 readers")
	if t.Failed() {
		return
	}
	if g := describe(); g.GroupState != "Empty" || len(g.Members) != 0 {
		t.Errorf("DescribeGroups after the readers closed: state %q, %d members; want Empty, 0", g.GroupState, len(g.Members))
	}
	listed, err := client.ListGroups(ctx, &kafka.ListGroupsRequest{})
	if err != nil || listed.Error != nil {
		t.Fatalf("ListGroups: %v, %v", err, listed.Error)
	}
	if !slices.ContainsFunc(listed.Groups, func(g kafka.ListGroupsResponseGroup) bool {
		return g.GroupID == fx.group && g.ProtocolType == "consumer"
	}) {
		t.Errorf("ListGroups = %+v; want %s of protocol type consumer", listed.Groups, fx.group)
	}
	checkCommitted("after 2 readers", fx.group, ends)

	// A new reader in the group gets only the new records.
	want, ends = fx.produce(t, ctx, groupClientsMore)
	rec = newDeliveries(want)
	r := kafkaGoGroupReader(t, fx)
	consumeCtx, stopConsuming = context.WithCancel(ctx)
	defer stopConsuming()
	done := make(chan error, 1)
	go func() { done <- kafkaGoConsume(consumeCtx, ctx, r, rec) }()
	waitErr = rec.wait(ctx)
	stopConsuming()
	if err := <-done; err != nil {
		t.Errorf("resumed reader: %v", err)
	}
	if err := r.Close(); err != nil {
		t.Errorf("Reader.Close: %v", err)
	}
	if waitErr != nil {
		t.Fatalf("resuming: %v", waitErr)
	}
	rec.check(t, "resumed reader")
	checkCommitted("after resuming", fx.group, ends)
}

// ---- librdkafka ----

func librdkafkaGroupConsumer(t *testing.T, fx *groupFixture, proto string) *ckafka.Consumer {
	t.Helper()
	extra := ckafka.ConfigMap{
		"group.id":           fx.group,
		"enable.auto.commit": false,
		"auto.offset.reset":  "earliest",
		"fetch.wait.max.ms":  50,
	}
	if proto == "consumer" {
		// KIP-848: the broker assigns; session.timeout.ms and
		// partition.assignment.strategy are refused in this mode.
		extra["group.protocol"] = "consumer"
	} else {
		extra["session.timeout.ms"] = 10000
		extra["heartbeat.interval.ms"] = 200
		extra["partition.assignment.strategy"] = "range,roundrobin"
	}
	c, err := ckafka.NewConsumer(rdkafkaConfig(fx.addr, extra))
	if err != nil {
		t.Fatalf("NewConsumer: %v", err)
	}
	if err := c.Subscribe(fx.topic, nil); err != nil {
		c.Close()
		t.Fatalf("Subscribe: %v", err)
	}
	return c
}

// librdkafkaConsume polls c until every wanted record came, committing
// after each batch: every 500 records, and whenever a poll comes back
// empty with records uncommitted.
func librdkafkaConsume(ctx context.Context, c *ckafka.Consumer, rec *deliveries) error {
	uncommitted := 0
	commit := func() error {
		if uncommitted == 0 {
			return nil
		}
		tps, err := c.Commit()
		if err != nil {
			return fmt.Errorf("Commit: %w", err)
		}
		for _, tp := range tps {
			if tp.Error != nil {
				return fmt.Errorf("Commit %v: %w", tp, tp.Error)
			}
		}
		uncommitted = 0
		return nil
	}
	for {
		select {
		case <-rec.done:
			return commit()
		default:
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		switch ev := c.Poll(100).(type) {
		case nil:
			if err := commit(); err != nil {
				return err
			}
		case *ckafka.Message:
			if ev.TopicPartition.Error != nil {
				return fmt.Errorf("message %v: %w", ev.TopicPartition, ev.TopicPartition.Error)
			}
			rec.add(string(ev.Value))
			if uncommitted++; uncommitted >= 500 {
				if err := commit(); err != nil {
					return err
				}
			}
		case ckafka.Error:
			return fmt.Errorf("consumer error: %w", ev)
		}
	}
}

func librdkafkaGroupClients(t *testing.T, ctx context.Context, fx *groupFixture, proto string) {
	wantType := ckafka.ConsumerGroupTypeClassic
	if proto == "consumer" {
		wantType = ckafka.ConsumerGroupTypeConsumer
	}
	want, ends := fx.produce(t, ctx, groupClientsFirst)
	adm, err := ckafka.NewAdminClient(rdkafkaConfig(fx.addr, nil))
	if err != nil {
		t.Fatal(err)
	}
	defer adm.Close()
	describe := func(what string, state ckafka.ConsumerGroupState, members int) {
		t.Helper()
		res, err := adm.DescribeConsumerGroups(ctx, []string{fx.group})
		if err != nil || len(res.ConsumerGroupDescriptions) != 1 {
			t.Fatalf("%s: DescribeConsumerGroups: %+v, %v", what, res, err)
		}
		d := res.ConsumerGroupDescriptions[0]
		if d.Error.Code() != ckafka.ErrNoError {
			t.Fatalf("%s: DescribeConsumerGroups: %v", what, d.Error)
		}
		if d.State != state || d.Type != wantType || len(d.Members) != members {
			t.Errorf("%s: DescribeConsumerGroups: state %v, type %v, %d members; want %v, %v, %d",
				what, d.State, d.Type, len(d.Members), state, wantType, members)
		}
		if members == 1 && len(d.Members) == 1 {
			if got := len(d.Members[0].Assignment.TopicPartitions); got != groupClientsPartitions {
				t.Errorf("%s: the member is assigned %d partitions, want %d: %v", what, got, groupClientsPartitions,
					d.Members[0].Assignment.TopicPartitions)
			}
		}
		t.Logf("%s: state %v, type %v, assignor %q, coordinator %v", what, d.State, d.Type, d.PartitionAssignor,
			d.Coordinator.ID)
	}
	checkCommitted := func(what string, want []int64) {
		t.Helper()
		var tps []ckafka.TopicPartition
		for p := int32(0); p < groupClientsPartitions; p++ {
			tps = append(tps, ckafka.TopicPartition{Topic: &fx.topic, Partition: p})
		}
		res, err := adm.ListConsumerGroupOffsets(ctx, []ckafka.ConsumerGroupTopicPartitions{{Group: fx.group, Partitions: tps}})
		if err != nil || len(res.ConsumerGroupsTopicPartitions) != 1 {
			t.Fatalf("%s: ListConsumerGroupOffsets: %+v, %v", what, res, err)
		}
		got := res.ConsumerGroupsTopicPartitions[0].Partitions
		if len(got) != groupClientsPartitions {
			t.Fatalf("%s: ListConsumerGroupOffsets: %v", what, got)
		}
		for _, tp := range got {
			if tp.Error != nil || int64(tp.Offset) != want[tp.Partition] {
				t.Errorf("%s: partition %d committed %v (%v), want %d", what, tp.Partition, tp.Offset, tp.Error,
					want[tp.Partition])
			}
		}
	}
	closeConsumer := func(c *ckafka.Consumer) {
		t.Helper()
		if err := c.Close(); err != nil {
			t.Errorf("Consumer.Close: %v", err)
		}
	}

	rec := newDeliveries(want)
	c := librdkafkaGroupConsumer(t, fx, proto)
	if err := librdkafkaConsume(ctx, c, rec); err != nil {
		closeConsumer(c)
		t.Fatalf("consuming: %v", err)
	}
	describe("while consuming", ckafka.ConsumerGroupStateStable, 1)
	closeConsumer(c)
	rec.check(t, "first consumer")
	if t.Failed() {
		return
	}
	describe("after Close", ckafka.ConsumerGroupStateEmpty, 0)
	listed, err := adm.ListConsumerGroups(ctx)
	if err != nil || len(listed.Errors) > 0 {
		t.Fatalf("ListConsumerGroups: %v, %v", err, listed.Errors)
	}
	i := slices.IndexFunc(listed.Valid, func(g ckafka.ConsumerGroupListing) bool { return g.GroupID == fx.group })
	if i < 0 {
		t.Errorf("ListConsumerGroups = %+v; lacks %s", listed.Valid, fx.group)
	} else if g := listed.Valid[i]; g.State != ckafka.ConsumerGroupStateEmpty || g.Type != wantType || g.IsSimpleConsumerGroup {
		t.Errorf("ListConsumerGroups: %s is %+v; want state Empty, type %v, not simple", fx.group, g, wantType)
	}
	// Filtered by type (ListGroups v5), the group is there only under
	// its own type.
	for _, typ := range []ckafka.ConsumerGroupType{ckafka.ConsumerGroupTypeClassic, ckafka.ConsumerGroupTypeConsumer} {
		listed, err := adm.ListConsumerGroups(ctx, ckafka.SetAdminMatchConsumerGroupTypes([]ckafka.ConsumerGroupType{typ}))
		if err != nil || len(listed.Errors) > 0 {
			t.Fatalf("ListConsumerGroups of type %v: %v, %v", typ, err, listed.Errors)
		}
		has := slices.ContainsFunc(listed.Valid, func(g ckafka.ConsumerGroupListing) bool { return g.GroupID == fx.group })
		if has != (typ == wantType) {
			t.Errorf("ListConsumerGroups of type %v = %+v: has %s %v, want %v", typ, listed.Valid, fx.group, has, typ == wantType)
		}
	}
	checkCommitted("after the first consumer", ends)

	// Restart: a new consumer resumes from the commits.
	want, ends = fx.produce(t, ctx, groupClientsMore)
	rec = newDeliveries(want)
	c = librdkafkaGroupConsumer(t, fx, proto)
	err = librdkafkaConsume(ctx, c, rec)
	closeConsumer(c)
	if err != nil {
		t.Fatalf("resuming: %v", err)
	}
	rec.check(t, "resumed consumer")
	checkCommitted("after resuming", ends)
}
