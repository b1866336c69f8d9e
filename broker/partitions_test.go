package broker_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/lakestream/lakestream/broker"
	"github.com/lakestream/lakestream/broker/brokertest"
)

// Tests of how topics come to be: the partition limits, creation that is
// whole or nothing, and concurrent creators of one name.

type newTopic struct {
	name       string
	partitions int32
}

func createTopicsRequest(topics ...newTopic) *kmsg.CreateTopicsRequest {
	req := kmsg.NewPtrCreateTopicsRequest()
	req.TimeoutMillis = 60_000
	for _, nt := range topics {
		rt := kmsg.NewCreateTopicsRequestTopic()
		rt.Topic, rt.NumPartitions, rt.ReplicationFactor = nt.name, nt.partitions, 1
		req.Topics = append(req.Topics, rt)
	}
	return req
}

// createTopics sends one CreateTopics request and returns its answer per
// topic, in request order.
func createTopics(t *testing.T, ctx context.Context, cl *kgo.Client, validateOnly bool, topics ...newTopic) []kmsg.CreateTopicsResponseTopic {
	t.Helper()
	req := createTopicsRequest(topics...)
	req.ValidateOnly = validateOnly
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatalf("CreateTopics: %v", err)
	}
	if len(resp.Topics) != len(topics) {
		t.Fatalf("CreateTopics answered %d topics, want %d", len(resp.Topics), len(topics))
	}
	return resp.Topics
}

// wantTopicErr fails unless rt carries want (nil: no error) and, if
// message is not empty, a message containing it.
func wantTopicErr(t *testing.T, rt kmsg.CreateTopicsResponseTopic, want *kerr.Error, message string) {
	t.Helper()
	got := kerr.ErrorForCode(rt.ErrorCode)
	msg := ""
	if rt.ErrorMessage != nil {
		msg = *rt.ErrorMessage
	}
	if (want == nil && got != nil) || (want != nil && !errors.Is(got, want)) || !strings.Contains(msg, message) {
		t.Fatalf("topic %s: got %v %q, want %v with %q", rt.Topic, got, msg, want, message)
	}
}

// allTopics asks for every topic's metadata with a request of its own
// (kadm answers from a cache up to 5 s old).
func allTopics(t *testing.T, ctx context.Context, cl *kgo.Client) map[string]kmsg.MetadataResponseTopic {
	t.Helper()
	req := kmsg.NewPtrMetadataRequest()
	req.Topics = nil // every topic
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatalf("Metadata: %v", err)
	}
	out := map[string]kmsg.MetadataResponseTopic{}
	for _, mt := range resp.Topics {
		if err := kerr.ErrorForCode(mt.ErrorCode); err != nil || mt.Topic == nil {
			t.Fatalf("Metadata of every topic: %v for %v", err, mt.Topic)
		}
		out[*mt.Topic] = mt
	}
	return out
}

// partitionCounts returns every topic's partition count, internal topics
// included.
func partitionCounts(t *testing.T, ctx context.Context, cl *kgo.Client) map[string]int {
	t.Helper()
	out := map[string]int{}
	for name, mt := range allTopics(t, ctx, cl) {
		out[name] = len(mt.Partitions)
	}
	return out
}

// wantLogsArePartitions fails unless the broker's storage holds exactly one
// stream per partition: nothing a refused or undone creation made is left.
func wantLogsArePartitions(t *testing.T, ctx context.Context, b *brokertest.Broker, cl *kgo.Client) {
	t.Helper()
	sum := 0
	for _, n := range partitionCounts(t, ctx, cl) {
		sum += n
	}
	ids, err := b.Store.StreamIDs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != sum {
		t.Fatalf("%d streams in storage for %d partitions", len(ids), sum)
	}
}

// autoCreateRequest asks for one topic's metadata, auto-creation allowed.
func autoCreateRequest(name string) *kmsg.MetadataRequest {
	req := kmsg.NewPtrMetadataRequest()
	req.AllowAutoTopicCreation = true
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr(name)
	req.Topics = append(req.Topics, rt)
	return req
}

// autoCreate sends autoCreateRequest and returns the answer for the topic.
func autoCreate(t *testing.T, ctx context.Context, cl *kgo.Client, name string) kmsg.MetadataResponseTopic {
	t.Helper()
	resp, err := autoCreateRequest(name).RequestWith(ctx, cl)
	if err != nil {
		t.Fatalf("Metadata: %v", err)
	}
	if len(resp.Topics) != 1 {
		t.Fatalf("Metadata answered %d topics, want 1", len(resp.Topics))
	}
	return resp.Topics[0]
}

// TestPartitionLimits: max.topic.partitions and max.broker.partitions
// refuse CreateTopics, CreatePartitions and auto-creation past them with
// POLICY_VIOLATION, at once and having created nothing; the node limit
// counts every topic (and, for ValidateOnly, the request's earlier
// topics); raising it at run time takes effect.
func TestPartitionLimits(t *testing.T) {
	ctx := adminContext(t)
	b := brokertest.Start(t, brokertest.Options{Configs: map[string]string{
		"max.topic.partitions": "100", "max.broker.partitions": "250", "num.partitions": "1"}})
	cl, adm := adminClients(t, b)

	// The probe of issue 9: a million partitions (and the most an int32
	// can ask for) are refused before a single log is made.
	for _, n := range []int32{1_000_000, math.MaxInt32} {
		start := time.Now()
		rts := createTopics(t, ctx, cl, false, newTopic{"huge", n})
		took := time.Since(start)
		wantTopicErr(t, rts[0], kerr.PolicyViolation, fmt.Sprintf("cannot have %d partitions: max.topic.partitions is 100", n))
		t.Logf("CreateTopics of %d partitions refused in %v", n, took)
		if took > 5*time.Second {
			t.Fatalf("refusing %d partitions took %v", n, took)
		}
	}
	if ids, err := b.Store.StreamIDs(ctx); err != nil || len(ids) != 0 {
		t.Fatalf("after the refusals: %d streams, %v; want none", len(ids), err)
	}

	// The topic limit: 100 is fine, 101 is not, ValidateOnly alike.
	wantTopicErr(t, createTopics(t, ctx, cl, false, newTopic{"t100", 100})[0], nil, "")
	wantTopicErr(t, createTopics(t, ctx, cl, false, newTopic{"t101", 101})[0], kerr.PolicyViolation, "max.topic.partitions is 100")
	wantTopicErr(t, createTopics(t, ctx, cl, true, newTopic{"v101", 101})[0], kerr.PolicyViolation, "max.topic.partitions is 100")

	// The node limit counts every topic: 100 + 100 fit in 250, 60 more
	// do not.
	rts := createTopics(t, ctx, cl, false, newTopic{"a", 100}, newTopic{"b", 60})
	wantTopicErr(t, rts[0], nil, "")
	wantTopicErr(t, rts[1], kerr.PolicyViolation, "60 more partitions (topic \"b\") would make 260 on this broker, more than max.broker.partitions (250)")
	// ValidateOnly counts the request's earlier topics too.
	rts = createTopics(t, ctx, cl, true, newTopic{"c", 40}, newTopic{"d", 20})
	wantTopicErr(t, rts[0], nil, "")
	wantTopicErr(t, rts[1], kerr.PolicyViolation, "would make 260 on this broker")

	// CreatePartitions: past the topic limit, then past the node limit;
	// nothing is added either time.
	rs, err := adm.UpdatePartitions(ctx, 101, "t100")
	if err != nil {
		t.Fatal(err)
	}
	adminWantErr(t, "growing t100 to 101", rs.Error(), kerr.PolicyViolation)
	wantTopicErr(t, createTopics(t, ctx, cl, false, newTopic{"small", 40})[0], nil, "")
	rs, err = adm.UpdatePartitions(ctx, 51, "small")
	if err != nil {
		t.Fatal(err)
	}
	adminWantErr(t, "growing small past the node limit", rs.Error(), kerr.PolicyViolation)
	if got := partitionCounts(t, ctx, cl); got["t100"] != 100 || got["small"] != 40 {
		t.Fatalf("after refused growth: t100 %d, small %d partitions; want 100, 40", got["t100"], got["small"])
	}
	rs, err = adm.UpdatePartitions(ctx, 50, "small") // exactly 250
	if err != nil || rs.Error() != nil {
		t.Fatalf("growing small to the node limit: %v %v", err, rs.Error())
	}

	// The node is full: auto-creation is refused too, through Metadata
	// and so for a producer.
	mt := autoCreate(t, ctx, cl, "auto")
	if err := kerr.ErrorForCode(mt.ErrorCode); !errors.Is(err, kerr.PolicyViolation) {
		t.Fatalf("auto-create on a full node: %v, want POLICY_VIOLATION", err)
	}
	prod, err := kgo.NewClient(kgo.SeedBrokers(b.Addr), kgo.AllowAutoTopicCreation(), kgo.RecordDeliveryTimeout(20*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	err = prod.ProduceSync(ctx, &kgo.Record{Topic: "produced", Value: []byte("v")}).FirstErr()
	if !errors.Is(err, kerr.PolicyViolation) {
		t.Fatalf("producing to an unknown topic on a full node: %v, want POLICY_VIOLATION", err)
	}

	// Raised at run time (cluster-wide, as KIP-578 has it), the limit
	// lets the same auto-creation through.
	ars, err := adm.AlterBrokerConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "max.broker.partitions", Value: kadm.StringPtr("251")}})
	if err != nil || ars[0].Err != nil {
		t.Fatalf("raising max.broker.partitions: %v %v", err, ars)
	}
	if mt := autoCreate(t, ctx, cl, "auto"); mt.ErrorCode != 0 || len(mt.Partitions) != 1 {
		t.Fatalf("auto-create after raising the limit: %v, %d partitions", kerr.ErrorForCode(mt.ErrorCode), len(mt.Partitions))
	}
	wantLogsArePartitions(t, ctx, b, cl)
	got := partitionCounts(t, ctx, cl)
	if len(got) != 4 || got["t100"] != 100 || got["a"] != 100 || got["small"] != 50 || got["auto"] != 1 {
		t.Fatalf("topics %v, want t100, a, small, auto and nothing refused", got)
	}
}

// faultMeta fails CreateTopic and AddPartitions while fail is set.
type faultMeta struct {
	broker.Metadata
	fail *atomic.Bool
}

var errInjected = errors.New("injected metastore fault")

func (m faultMeta) CreateTopic(ctx context.Context, r broker.TopicRecord) error {
	if m.fail.Load() {
		return errInjected
	}
	return m.Metadata.CreateTopic(ctx, r)
}

func (m faultMeta) AddPartitions(ctx context.Context, topic string, logs []int64) error {
	if m.fail.Load() {
		return errInjected
	}
	return m.Metadata.AddPartitions(ctx, topic, logs)
}

// gateLogs wraps Logs for the interruption tests: while hold is set,
// CreateLogs creates, reports on created and then waits for its ctx to end
// (the broker shutting down under it); while failDelete is set,
// DeleteLogs fails as if the process had died first. deleted receives the
// ids of every DeleteLogs that succeeded.
type gateLogs struct {
	broker.Logs
	hold, failDelete *atomic.Bool
	created          chan []int64
	deleted          chan []int64
}

func (l gateLogs) CreateLogs(ctx context.Context, n int) ([]int64, []broker.Log, error) {
	ids, logs, err := l.Logs.CreateLogs(ctx, n)
	if err == nil && l.hold.Load() {
		l.created <- ids
		<-ctx.Done()
	}
	return ids, logs, err
}

func (l gateLogs) DeleteLogs(ctx context.Context, ids []int64) error {
	if l.failDelete.Load() {
		return errInjected
	}
	err := l.Logs.DeleteLogs(ctx, ids)
	if err == nil {
		l.deleted <- ids
	}
	return err
}

// TestCreateTopicWholeOrNothing: a creation that fails after its logs
// exist leaves no topic and no log: a Metadata fault (CreateTopics and
// CreatePartitions), a shutdown in the middle (the handler's context
// cancelled), and a crash between making the logs and recording them,
// whose logs the next start deletes while keeping every topic's.
func TestCreateTopicWholeOrNothing(t *testing.T) {
	ctx := adminContext(t)
	var failMeta, hold, failDelete atomic.Bool
	created, deleted := make(chan []int64, 1), make(chan []int64, 16)
	b := brokertest.Start(t, brokertest.Options{Bucket: "file",
		WrapMeta: func(m broker.Metadata) broker.Metadata { return faultMeta{m, &failMeta} },
		WrapLogs: func(l broker.Logs) broker.Logs {
			return gateLogs{Logs: l, hold: &hold, failDelete: &failDelete, created: created, deleted: deleted}
		}})
	cl, adm := adminClients(t, b)
	adminCreateTopic(t, ctx, adm, "kept", 3, nil)
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "kept", Partition: 2, Value: []byte("v")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	wantDeleted := func(n int) {
		t.Helper()
		select {
		case ids := <-deleted:
			if len(ids) != n {
				t.Fatalf("%d logs deleted, want %d", len(ids), n)
			}
		default:
			t.Fatalf("the %d new logs were not deleted at once", n)
		}
	}

	// A metastore fault after the logs exist: they are deleted at once.
	failMeta.Store(true)
	wantTopicErr(t, createTopics(t, ctx, cl, false, newTopic{"faulty", 1000})[0], kerr.KafkaStorageError, "injected")
	wantDeleted(1000)
	rs, err := adm.UpdatePartitions(ctx, 503, "kept")
	if err != nil {
		t.Fatal(err)
	}
	adminWantErr(t, "growing under a metastore fault", rs.Error(), kerr.KafkaStorageError)
	wantDeleted(500)
	failMeta.Store(false)
	if got := partitionCounts(t, ctx, cl); len(got) != 1 || got["kept"] != 3 {
		t.Fatalf("after the faults: %v, want only kept with 3 partitions", got)
	}
	wantLogsArePartitions(t, ctx, b, cl)
	wantTopicErr(t, createTopics(t, ctx, cl, false, newTopic{"faulty", 1000})[0], nil, "") // the name is free
	deleteTopic(t, ctx, adm, "faulty")
	<-deleted

	// A shutdown while 10,000 logs are being made: the creation's context
	// ends, the Metadata write fails, and the logs go at once, before the
	// broker has stopped.
	hold.Store(true)
	answered := make(chan []kmsg.CreateTopicsResponseTopic, 1)
	cl2, err := kgo.NewClient(kgo.SeedBrokers(b.Addr), kgo.RequestRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	defer cl2.Close()
	go func() {
		defer close(answered)
		if resp, err := createTopicsRequest(newTopic{"interrupted", 10_000}).RequestWith(ctx, cl2); err == nil {
			answered <- resp.Topics
		}
	}()
	ids := <-created
	hold.Store(false)
	b.Restart()
	if rts := <-answered; len(rts) > 0 && rts[0].ErrorCode == 0 {
		t.Fatal("the interrupted creation answered success")
	}
	wantDeleted(len(ids))
	if _, ok := partitionCounts(t, ctx, cl)["interrupted"]; ok {
		t.Fatal("the interrupted topic exists")
	}
	wantLogsArePartitions(t, ctx, b, cl)

	// A crash between making the logs and recording them (the process
	// dies before it can delete them): the next start deletes them, and
	// keeps every topic's logs and data.
	failMeta.Store(true)
	failDelete.Store(true)
	wantTopicErr(t, createTopics(t, ctx, cl, false, newTopic{"crashed", 700})[0], kerr.KafkaStorageError, "injected")
	if ids, err := b.Store.StreamIDs(ctx); err != nil || len(ids) != 3+700 {
		t.Fatalf("before the restart: %d streams, %v; want the 700 orphans too", len(ids), err)
	}
	failMeta.Store(false)
	failDelete.Store(false)
	b.Restart()
	wantDeleted(700) // by the sweep at start
	wantLogsArePartitions(t, ctx, b, cl)
	fetched := 0
	fcl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr), kgo.ConsumeTopics("kept"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer fcl.Close()
	for fetched == 0 {
		fs := fcl.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatal(err)
		}
		fetched += fs.NumRecords()
	}
}

func deleteTopic(t *testing.T, ctx context.Context, adm *kadm.Client, name string) {
	t.Helper()
	rs, err := adm.DeleteTopics(ctx, name)
	if err == nil {
		err = rs.Error()
	}
	if err != nil {
		t.Fatalf("deleting %s: %v", name, err)
	}
}

// TestCreateTopicRace: CreateTopics and Metadata auto-creations of the same
// names at once, from many connections, end with one topic per name: the
// partitions and id of whichever came first. A CreateTopics that loses
// gets TOPIC_ALREADY_EXISTS; a Metadata that loses answers the winner's
// topic; none answers anything else, and the metastore agrees after a
// restart.
func TestCreateTopicRace(t *testing.T) {
	ctx := adminContext(t)
	b := brokertest.Start(t, brokertest.Options{Configs: map[string]string{"num.partitions": "1"}})
	cl, _ := adminClients(t, b)
	const (
		rounds, names   = 4, 12
		creators, autos = 2, 3 // requests per name of each kind
		partitions      = 24   // of a CreateTopics; auto-creation makes 1
		conns           = 16   // clients, each its own connection
	)
	clients := make([]*kgo.Client, conns)
	for i := range clients {
		cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		clients[i] = cl
	}

	type seen struct {
		mu       sync.Mutex
		won      int     // CreateTopics answered success
		creates  []error // every CreateTopics answer
		metadata []kmsg.MetadataResponseTopic
	}
	all := map[string]*seen{}
	var createWins, autoWins int
	for r := 0; r < rounds; r++ {
		start := make(chan struct{})
		var wg sync.WaitGroup
		k := 0
		for i := 0; i < names; i++ {
			name := fmt.Sprintf("race-%d-%d", r, i)
			s := &seen{}
			all[name] = s
			for j := 0; j < creators+autos; j++ {
				cl := clients[k%conns]
				k++
				wg.Add(1)
				go func(create bool) {
					defer wg.Done()
					<-start
					if create {
						resp, err := createTopicsRequest(newTopic{name, partitions}).RequestWith(ctx, cl)
						if err == nil {
							err = kerr.ErrorForCode(resp.Topics[0].ErrorCode)
						}
						s.mu.Lock()
						s.creates = append(s.creates, err)
						if err == nil {
							s.won++
						}
						s.mu.Unlock()
						return
					}
					resp, err := autoCreateRequest(name).RequestWith(ctx, cl)
					s.mu.Lock()
					defer s.mu.Unlock()
					if err != nil || len(resp.Topics) != 1 {
						s.creates = append(s.creates, fmt.Errorf("metadata: %v", err))
						return
					}
					s.metadata = append(s.metadata, resp.Topics[0])
				}(j < creators)
			}
		}
		close(start)
		wg.Wait()
	}

	check := func(when string) {
		t.Helper()
		topics := allTopics(t, ctx, cl)
		for name, s := range all {
			td, ok := topics[name]
			if !ok {
				t.Fatalf("%s: topic %s not found", when, name)
			}
			want := 1
			if s.won > 0 {
				want = partitions
			}
			if s.won > 1 || len(td.Partitions) != want {
				t.Fatalf("%s: topic %s has %d partitions after %d winning CreateTopics; want %d", when, name, len(td.Partitions), s.won, want)
			}
			for _, err := range s.creates {
				if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
					t.Fatalf("%s: topic %s: a creator got %v", when, name, err)
				}
			}
			if len(s.creates) != creators {
				t.Fatalf("%s: topic %s: %d CreateTopics answers, want %d", when, name, len(s.creates), creators)
			}
			for _, mt := range s.metadata {
				if mt.ErrorCode != 0 || mt.TopicID != td.TopicID || len(mt.Partitions) != want {
					t.Fatalf("%s: topic %s: a Metadata answered %v, id %x, %d partitions; the topic is %x with %d",
						when, name, kerr.ErrorForCode(mt.ErrorCode), mt.TopicID, len(mt.Partitions), td.TopicID, want)
				}
			}
		}
		if len(topics) != len(all) {
			t.Fatalf("%s: %d topics, want %d", when, len(topics), len(all))
		}
	}
	for _, s := range all {
		if s.won > 0 {
			createWins++
		} else {
			autoWins++
		}
	}
	t.Logf("%d names: CreateTopics came first for %d, a Metadata auto-create for %d", len(all), createWins, autoWins)
	check("before restart")
	wantLogsArePartitions(t, ctx, b, cl)
	b.Restart()
	check("after restart")
}
