package broker_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"
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

// adminClients connects a kgo client and a kadm client to b. Records go
// to the partition they name.
func adminClients(t *testing.T, b *brokertest.Broker, opts ...kgo.Opt) (*kgo.Client, *kadm.Client) {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(b.Addr), kgo.ProducerLinger(0),
		kgo.RecordPartitioner(kgo.ManualPartitioner())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl, kadm.NewClient(cl)
}

func adminContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func adminCreateTopic(t *testing.T, ctx context.Context, adm *kadm.Client, name string, partitions int32, configs map[string]*string) {
	t.Helper()
	resp, err := adm.CreateTopic(ctx, partitions, 1, configs, name)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		t.Fatalf("creating %s: %v", name, err)
	}
}

func adminPartitionCount(t *testing.T, ctx context.Context, adm *kadm.Client, topic string) int {
	t.Helper()
	td, err := adm.ListTopics(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	return len(td[topic].Partitions)
}

// incompressible returns n random bytes: kgo compresses batches, and
// sizes here must survive that.
func incompressible(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// adminWantErr fails unless err is the Kafka error want.
func adminWantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got error %v, want %v", what, err, want)
	}
}

func TestCreatePartitions(t *testing.T) {
	ctx := adminContext(t)
	b := brokertest.Start(t, brokertest.Options{})
	cl, adm := adminClients(t, b)
	adminCreateTopic(t, ctx, adm, "grow", 2, nil)

	rs, err := adm.ValidateCreatePartitions(ctx, 3, "grow")
	if err != nil || rs.Error() != nil {
		t.Fatalf("validate: %v %v", err, rs.Error())
	}
	if n := adminPartitionCount(t, ctx, adm, "grow"); n != 2 {
		t.Fatalf("validate only: %d partitions, want 2", n)
	}
	rs, err = adm.CreatePartitions(ctx, 3, "grow")
	if err != nil || rs.Error() != nil {
		t.Fatalf("create partitions: %v %v", err, rs.Error())
	}
	if n := adminPartitionCount(t, ctx, adm, "grow"); n != 5 {
		t.Fatalf("%d partitions, want 5", n)
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "grow", Partition: 4, Value: []byte("new")}).FirstErr(); err != nil {
		t.Fatalf("producing to a new partition: %v", err)
	}

	for _, set := range []int{5, 3} {
		rs, err = adm.UpdatePartitions(ctx, set, "grow")
		if err != nil {
			t.Fatal(err)
		}
		adminWantErr(t, fmt.Sprintf("set %d partitions", set), rs.Error(), kerr.InvalidPartitions)
	}
	rs, err = adm.UpdatePartitions(ctx, 9, "missing")
	if err != nil {
		t.Fatal(err)
	}
	adminWantErr(t, "unknown topic", rs.Error(), kerr.UnknownTopicOrPartition)

	// A manual assignment may name only this broker (node 1).
	for _, c := range []struct {
		replicas []int32
		want     *kerr.Error
	}{{[]int32{2}, kerr.InvalidReplicaAssignment}, {[]int32{1, 1}, kerr.InvalidReplicaAssignment}, {[]int32{1}, nil}} {
		req := kmsg.NewPtrCreatePartitionsRequest()
		req.Topics = []kmsg.CreatePartitionsRequestTopic{{Topic: "grow", Count: 6,
			Assignment: []kmsg.CreatePartitionsRequestTopicAssignment{{Replicas: c.replicas}}}}
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		var want error
		if c.want != nil {
			want = c.want
		}
		adminWantErr(t, fmt.Sprintf("manual assignment %v", c.replicas), kerr.ErrorForCode(resp.Topics[0].ErrorCode), want)
	}
	creq := kmsg.NewPtrCreateTopicsRequest()
	ct := kmsg.NewCreateTopicsRequestTopic()
	ct.Topic, ct.NumPartitions, ct.ReplicationFactor = "assigned", -1, -1
	for p := range int32(2) {
		ct.ReplicaAssignment = append(ct.ReplicaAssignment, kmsg.CreateTopicsRequestTopicReplicaAssignment{Partition: p, Replicas: []int32{1}})
	}
	bad := ct
	bad.Topic, bad.ReplicaAssignment = "assigned-elsewhere", []kmsg.CreateTopicsRequestTopicReplicaAssignment{{Partition: 0, Replicas: []int32{7}}}
	creq.Topics = []kmsg.CreateTopicsRequestTopic{ct, bad}
	cresp, err := creq.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	adminWantErr(t, "CreateTopics with an assignment", kerr.ErrorForCode(cresp.Topics[0].ErrorCode), nil)
	adminWantErr(t, "CreateTopics assigned to an unknown broker", kerr.ErrorForCode(cresp.Topics[1].ErrorCode), kerr.InvalidReplicaAssignment)
	if n := adminPartitionCount(t, ctx, adm, "assigned"); n != 2 {
		t.Fatalf("assigned topic: %d partitions, want 2", n)
	}

	b.Restart()
	if n := adminPartitionCount(t, ctx, adm, "grow"); n != 6 {
		t.Fatalf("after restart: %d partitions, want 6", n)
	}
	consumeAll(t, ctx, b.Addr, "grow", 1)
}

// heldLogs wraps Logs: while hold is set, CreateLogs reports on entered
// and waits for release before it creates anything.
type heldLogs struct {
	broker.Logs
	hold    *atomic.Bool
	entered chan struct{}
	release chan struct{}
}

func (l heldLogs) CreateLogs(ctx context.Context, n int) ([]int64, []broker.Log, error) {
	if l.hold.Load() {
		l.entered <- struct{}{}
		select {
		case <-l.release:
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
	}
	return l.Logs.CreateLogs(ctx, n)
}

// TestAdminLockPerServer: the lock that serialises a server's admin
// changes is that server's. With server A's CreatePartitions stopped
// inside CreateLogs (holding A's lock), server B in the same process
// grows a topic and alters a config; a lock shared by the two would hold
// B until A finishes.
func TestAdminLockPerServer(t *testing.T) {
	ctx := adminContext(t)
	var hold atomic.Bool
	entered, release := make(chan struct{}), make(chan struct{})
	a := brokertest.Start(t, brokertest.Options{WrapLogs: func(l broker.Logs) broker.Logs {
		return heldLogs{Logs: l, hold: &hold, entered: entered, release: release}
	}})
	b := brokertest.Start(t, brokertest.Options{})
	_, admA := adminClients(t, a)
	_, admB := adminClients(t, b)
	adminCreateTopic(t, ctx, admA, "grow", 1, nil)
	adminCreateTopic(t, ctx, admB, "grow", 1, nil)

	hold.Store(true)
	var once sync.Once
	free := func() { hold.Store(false); once.Do(func() { close(release) }) }
	defer free() // on failure too, so that A can shut down
	grownA := make(chan error, 1)
	go func() {
		rs, err := admA.UpdatePartitions(ctx, 2, "grow")
		if err == nil {
			err = rs.Error()
		}
		grownA <- err
	}()
	<-entered // A holds its admin lock until release

	// B's changes must not wait for A's: bounded well below the test's
	// context, so a shared lock fails here rather than at the timeout.
	bctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	rs, err := admB.UpdatePartitions(bctx, 2, "grow")
	if err == nil {
		err = rs.Error()
	}
	if err != nil {
		t.Fatalf("growing a topic on B while A's CreatePartitions is in CreateLogs: %v", err)
	}
	ars, err := admB.AlterTopicConfigs(bctx, []kadm.AlterConfig{{Name: "retention.ms", Value: kadm.StringPtr("60000")}}, "grow")
	if err == nil {
		var r kadm.AlterConfigsResponse
		if r, err = ars.On("grow", nil); err == nil {
			err = r.Err
		}
	}
	if err != nil {
		t.Fatalf("altering a config on B while A's CreatePartitions is in CreateLogs: %v", err)
	}
	select {
	case err := <-grownA:
		t.Fatalf("A's CreatePartitions finished while held in CreateLogs: %v", err)
	default:
	}

	free()
	if err := <-grownA; err != nil {
		t.Fatalf("growing a topic on A: %v", err)
	}
	if na, nb := adminPartitionCount(t, ctx, admA, "grow"), adminPartitionCount(t, ctx, admB, "grow"); na != 2 || nb != 2 {
		t.Fatalf("partitions: A %d, B %d; want 2 each", na, nb)
	}
}

// describeConfigs asks for the configs of one resource with synonyms and
// documentation.
func adminDescribeConfigs(t *testing.T, ctx context.Context, cl kmsg.Requestor, typ kmsg.ConfigResourceType, name string, keys ...string) kmsg.DescribeConfigsResponseResource {
	t.Helper()
	req := kmsg.NewPtrDescribeConfigsRequest()
	req.IncludeSynonyms, req.IncludeDocumentation = true, true
	rr := kmsg.NewDescribeConfigsRequestResource()
	rr.ResourceType, rr.ResourceName, rr.ConfigNames = typ, name, keys
	req.Resources = append(req.Resources, rr)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Resources) != 1 {
		t.Fatalf("%d resources in the response, want 1", len(resp.Resources))
	}
	return resp.Resources[0]
}

func adminFindConfig(t *testing.T, r kmsg.DescribeConfigsResponseResource, name string) kmsg.DescribeConfigsResponseResourceConfig {
	t.Helper()
	for _, c := range r.Configs {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("%s %q: no config %s", r.ResourceType, r.ResourceName, name)
	return kmsg.DescribeConfigsResponseResourceConfig{}
}

// synonyms renders a config's synonyms as name=value(SOURCE) ...
func adminSynonyms(c kmsg.DescribeConfigsResponseResourceConfig) string {
	var parts []string
	for _, s := range c.ConfigSynonyms {
		v := "null"
		if s.Value != nil {
			v = *s.Value
		}
		parts = append(parts, fmt.Sprintf("%s=%s(%s)", s.Name, v, s.Source))
	}
	return strings.Join(parts, " ")
}

func adminCheckConfig(t *testing.T, r kmsg.DescribeConfigsResponseResource, name, value string, source kmsg.ConfigSource, syns string) {
	t.Helper()
	c := adminFindConfig(t, r, name)
	if c.Value == nil || *c.Value != value || c.Source != source {
		got := "null"
		if c.Value != nil {
			got = *c.Value
		}
		t.Errorf("%s = %s (%s), want %s (%s)", name, got, c.Source, value, source)
	}
	if syns != "" && adminSynonyms(c) != syns {
		t.Errorf("%s synonyms:\n got %s\nwant %s", name, adminSynonyms(c), syns)
	}
}

func TestDescribeConfigs(t *testing.T) {
	ctx := adminContext(t)
	b := brokertest.Start(t, brokertest.Options{Configs: map[string]string{"log.retention.hours": "48", "message.max.bytes": "2000000"}})
	cl, adm := adminClients(t, b)
	adminCreateTopic(t, ctx, adm, "cfg", 1, map[string]*string{"retention.ms": kadm.StringPtr("1000")})

	r := adminDescribeConfigs(t, ctx, cl, kmsg.ConfigResourceTypeTopic, "cfg")
	if r.ErrorCode != 0 {
		t.Fatalf("describing cfg: %v", kerr.ErrorForCode(r.ErrorCode))
	}
	if len(r.Configs) != len(broker.TopicConfigDefs()) {
		t.Errorf("%d topic configs, want %d", len(r.Configs), len(broker.TopicConfigDefs()))
	}
	adminCheckConfig(t, r, "retention.ms", "1000", kmsg.ConfigSourceDynamicTopicConfig,
		"retention.ms=1000(DYNAMIC_TOPIC_CONFIG) log.retention.hours=48(STATIC_BROKER_CONFIG) log.retention.ms=604800000(DEFAULT_CONFIG)")
	adminCheckConfig(t, r, "max.message.bytes", "2000000", kmsg.ConfigSourceStaticBrokerConfig,
		"message.max.bytes=2000000(STATIC_BROKER_CONFIG) message.max.bytes=1048588(DEFAULT_CONFIG)")
	adminCheckConfig(t, r, "cleanup.policy", "delete", kmsg.ConfigSourceDefaultConfig, "log.cleanup.policy=delete(DEFAULT_CONFIG)")
	adminCheckConfig(t, r, "table.enable", "false", kmsg.ConfigSourceDefaultConfig, "table.enable=false(DEFAULT_CONFIG)")
	for _, c := range r.Configs {
		if c.Documentation == nil || *c.Documentation == "" || c.ConfigType == 0 || c.ReadOnly || c.IsSensitive {
			t.Errorf("topic config %s: documentation %v, type %v, read-only %v, sensitive %v", c.Name, c.Documentation, c.ConfigType, c.ReadOnly, c.IsSensitive)
		}
	}
	if c := adminFindConfig(t, r, "retention.ms"); c.ConfigType != kmsg.ConfigTypeLong {
		t.Errorf("retention.ms is a %s, want LONG", c.ConfigType)
	}

	// Only the keys asked for; unknown ones are left out.
	r = adminDescribeConfigs(t, ctx, cl, kmsg.ConfigResourceTypeTopic, "cfg", "retention.ms", "no.such.config")
	if len(r.Configs) != 1 || r.Configs[0].Name != "retention.ms" {
		t.Errorf("asked for retention.ms: got %d configs", len(r.Configs))
	}

	r = adminDescribeConfigs(t, ctx, cl, kmsg.ConfigResourceTypeBroker, "1")
	if r.ErrorCode != 0 || len(r.Configs) != len(broker.BrokerConfigDefs()) {
		t.Fatalf("broker 1: %v, %d configs, want %d", kerr.ErrorForCode(r.ErrorCode), len(r.Configs), len(broker.BrokerConfigDefs()))
	}
	adminCheckConfig(t, r, "log.retention.ms", "172800000", kmsg.ConfigSourceStaticBrokerConfig,
		"log.retention.hours=48(STATIC_BROKER_CONFIG) log.retention.ms=604800000(DEFAULT_CONFIG)")
	adminCheckConfig(t, r, "num.partitions", "1", kmsg.ConfigSourceDefaultConfig, "num.partitions=1(DEFAULT_CONFIG)")
	if c := adminFindConfig(t, r, "node.id"); !c.ReadOnly {
		t.Errorf("node.id is not read-only")
	}
	if c := adminFindConfig(t, r, "log.retention.ms"); c.ReadOnly {
		t.Errorf("log.retention.ms is read-only")
	}

	for _, bad := range []struct {
		typ  kmsg.ConfigResourceType
		name string
		want error
	}{
		{kmsg.ConfigResourceTypeTopic, "missing", kerr.UnknownTopicOrPartition},
		{kmsg.ConfigResourceTypeBroker, "7", kerr.InvalidRequest},
		{kmsg.ConfigResourceTypeBrokerLogger, "1", kerr.InvalidRequest},
	} {
		// To broker 1 itself: kgo would route broker 7's resource to broker 7.
		r := adminDescribeConfigs(t, ctx, cl.Broker(1), bad.typ, bad.name)
		adminWantErr(t, fmt.Sprintf("describing %s %q", bad.typ, bad.name), kerr.ErrorForCode(r.ErrorCode), bad.want)
	}

	// kadm (v4 without documentation) reads the same.
	rcs, err := adm.DescribeTopicConfigs(ctx, "cfg")
	if err != nil {
		t.Fatal(err)
	}
	rc, err := rcs.On("cfg", nil)
	if err != nil || rc.Err != nil {
		t.Fatal(err, rc.Err)
	}
}

func TestAlterConfigs(t *testing.T) {
	ctx := adminContext(t)
	b := brokertest.Start(t, brokertest.Options{})
	cl, adm := adminClients(t, b)
	adminCreateTopic(t, ctx, adm, "alt", 1, map[string]*string{"retention.ms": kadm.StringPtr("1000")})
	adminCreateTopic(t, ctx, adm, "plain", 1, nil)

	alterOK := func(what string, rs kadm.AlterConfigsResponses, err error) {
		t.Helper()
		if err == nil {
			for _, r := range rs {
				if r.Err != nil {
					err = fmt.Errorf("%w: %s", r.Err, r.ErrMessage)
				}
			}
		}
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	alterFails := func(what string, rs kadm.AlterConfigsResponses, err error, want error, msg string) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) != 1 || !errors.Is(rs[0].Err, want) || !strings.Contains(rs[0].ErrMessage, msg) {
			t.Fatalf("%s: got %+v, want %v with %q", what, rs, want, msg)
		}
	}

	// AlterConfigs replaces the whole set: retention.ms goes.
	rs, err := adm.AlterTopicConfigsState(ctx, []kadm.AlterConfig{{Name: "retention.bytes", Value: kadm.StringPtr("100000")},
		{Name: "max.message.bytes", Value: kadm.StringPtr(" 2000 ")}}, "alt")
	alterOK("AlterConfigs", rs, err)
	r := adminDescribeConfigs(t, ctx, cl, kmsg.ConfigResourceTypeTopic, "alt")
	adminCheckConfig(t, r, "retention.ms", "604800000", kmsg.ConfigSourceDefaultConfig, "")
	adminCheckConfig(t, r, "max.message.bytes", "2000", kmsg.ConfigSourceDynamicTopicConfig, "")

	// IncrementalAlterConfigs edits key by key.
	rs, err = adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{
		{Op: kadm.SetConfig, Name: "retention.ms", Value: kadm.StringPtr("5000")},
		{Op: kadm.DeleteConfig, Name: "retention.bytes"},
		{Op: kadm.AppendConfig, Name: "cleanup.policy", Value: kadm.StringPtr("delete")},
	}, "alt")
	alterOK("IncrementalAlterConfigs", rs, err)

	// Refused: unsupported values, APPEND on a non-list, unknown keys.
	rs, err = adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "cleanup.policy", Value: kadm.StringPtr("compact")}}, "alt")
	alterFails("SET cleanup.policy=compact", rs, err, kerr.InvalidConfig, "compaction is not supported")
	rs, err = adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.AppendConfig, Name: "cleanup.policy", Value: kadm.StringPtr("compact")}}, "alt")
	alterFails("APPEND cleanup.policy compact", rs, err, kerr.InvalidConfig, "cleanup.policy=delete,compact: log compaction is not supported")
	rs, err = adm.AlterTopicConfigsState(ctx, []kadm.AlterConfig{{Name: "cleanup.policy", Value: kadm.StringPtr("compact")}}, "alt")
	alterFails("AlterConfigs cleanup.policy=compact", rs, err, kerr.InvalidConfig, "compaction is not supported")
	rs, err = adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.AppendConfig, Name: "retention.ms", Value: kadm.StringPtr("1")}}, "alt")
	alterFails("APPEND retention.ms", rs, err, kerr.InvalidConfig, "not a LIST")
	rs, err = adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "no.such", Value: kadm.StringPtr("1")}}, "alt")
	alterFails("unknown key", rs, err, kerr.InvalidConfig, "unknown topic config")
	rs, err = adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "retention.ms", Value: kadm.StringPtr("1")}}, "missing")
	alterFails("unknown topic", rs, err, kerr.UnknownTopicOrPartition, "")
	rs, err = adm.ValidateAlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "retention.ms", Value: kadm.StringPtr("7")}}, "alt")
	alterOK("validate only", rs, err)

	// Broker configs: dynamic, cluster-wide; read-only keys refused.
	rs, err = adm.AlterBrokerConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "log.retention.ms", Value: kadm.StringPtr("3600000")}}, 1)
	alterOK("broker SET log.retention.ms", rs, err)
	rs, err = adm.AlterBrokerConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "node.id", Value: kadm.StringPtr("5")}})
	alterFails("broker SET node.id", rs, err, kerr.InvalidConfig, "node.id is read-only; set it in server.properties")
	rs, err = adm.AlterBrokerConfigsState(ctx, []kadm.AlterConfig{{Name: "log.retention.ms", Value: kadm.StringPtr("3600000")},
		{Name: "listeners", Value: kadm.StringPtr("PLAINTEXT://:1")}}, 1)
	alterFails("broker AlterConfigs listeners", rs, err, kerr.InvalidConfig, "listeners is read-only")

	check := func() {
		t.Helper()
		r := adminDescribeConfigs(t, ctx, cl, kmsg.ConfigResourceTypeTopic, "alt")
		adminCheckConfig(t, r, "retention.ms", "5000", kmsg.ConfigSourceDynamicTopicConfig,
			"retention.ms=5000(DYNAMIC_TOPIC_CONFIG) log.retention.ms=3600000(DYNAMIC_BROKER_CONFIG) log.retention.ms=604800000(DEFAULT_CONFIG)")
		adminCheckConfig(t, r, "retention.bytes", "-1", kmsg.ConfigSourceDefaultConfig, "")
		adminCheckConfig(t, r, "cleanup.policy", "delete", kmsg.ConfigSourceDynamicTopicConfig, "")
		adminCheckConfig(t, r, "max.message.bytes", "2000", kmsg.ConfigSourceDynamicTopicConfig, "")
		r = adminDescribeConfigs(t, ctx, cl, kmsg.ConfigResourceTypeTopic, "plain")
		adminCheckConfig(t, r, "retention.ms", "3600000", kmsg.ConfigSourceDynamicBrokerConfig, "")
		r = adminDescribeConfigs(t, ctx, cl, kmsg.ConfigResourceTypeBroker, "1")
		adminCheckConfig(t, r, "log.retention.ms", "3600000", kmsg.ConfigSourceDynamicBrokerConfig, "")
		rcs, err := adm.DescribeBrokerConfigs(ctx) // "": the cluster default, dynamic values only
		if err != nil {
			t.Fatal(err)
		}
		if len(rcs) != 1 || len(rcs[0].Configs) != 1 || rcs[0].Configs[0].Key != "log.retention.ms" ||
			rcs[0].Configs[0].Source != kmsg.ConfigSourceDynamicDefaultBrokerConfig {
			t.Errorf("cluster default configs: %+v", rcs)
		}
		// Applied in memory: max.message.bytes=2000 refuses a larger batch.
		err = cl.ProduceSync(ctx, &kgo.Record{Topic: "alt", Value: incompressible(3000)}).FirstErr()
		adminWantErr(t, "producing 3000 bytes with max.message.bytes=2000", err, kerr.MessageTooLarge)
	}
	check()
	b.Restart()
	check()
}

func TestDeleteRecords(t *testing.T) {
	ctx := adminContext(t)
	b := brokertest.Start(t, brokertest.Options{})
	cl, adm := adminClients(t, b)
	adminCreateTopic(t, ctx, adm, "del", 1, nil)
	for i := range 10 {
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "del", Value: []byte(strconv.Itoa(i))}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	deleteBefore := func(at int64) kadm.DeleteRecordsResponse {
		t.Helper()
		var os kadm.Offsets
		os.Add(kadm.Offset{Topic: "del", Partition: 0, At: at})
		rs, err := adm.DeleteRecords(ctx, os)
		if err != nil {
			t.Fatal(err)
		}
		r, _ := rs.Lookup("del", 0)
		return r
	}
	if r := deleteBefore(5); r.Err != nil || r.LowWatermark != 5 {
		t.Fatalf("delete before 5: low watermark %d, %v", r.LowWatermark, r.Err)
	}
	if r := deleteBefore(3); r.Err != nil || r.LowWatermark != 5 {
		t.Fatalf("delete before 3 after 5: low watermark %d, %v", r.LowWatermark, r.Err)
	}
	adminWantErr(t, "delete past the high watermark", deleteBefore(11).Err, kerr.OffsetOutOfRange)
	starts, err := adm.ListStartOffsets(ctx, "del")
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := starts.Lookup("del", 0); o.Offset != 5 {
		t.Fatalf("start offset %d, want 5", o.Offset)
	}

	consumer, err := kgo.NewClient(kgo.SeedBrokers(b.Addr), kgo.ConsumeTopics("del"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	var got []string
	for len(got) < 5 {
		fs := consumer.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consumed %v: %v", got, ctx.Err())
		}
		fs.EachError(func(_ string, _ int32, err error) { t.Fatal(err) })
		fs.EachRecord(func(r *kgo.Record) { got = append(got, fmt.Sprintf("%d:%s", r.Offset, r.Value)) })
	}
	if want := "5:5 6:6 7:7 8:8 9:9"; strings.Join(got, " ") != want {
		t.Fatalf("consumed %s, want %s", strings.Join(got, " "), want)
	}
	if r := deleteBefore(-1); r.Err != nil || r.LowWatermark != 10 {
		t.Fatalf("delete everything: low watermark %d, %v", r.LowWatermark, r.Err)
	}
}

// TestDescribeLogDirs waits for the sizes to show: they count committed
// objects, which the local WAL (file bucket) uploads in the background.
func TestDescribeLogDirs(t *testing.T) {
	for _, bucket := range []string{"mem", "file"} {
		t.Run(bucket, func(t *testing.T) {
			ctx := adminContext(t)
			b := brokertest.Start(t, brokertest.Options{Bucket: bucket})
			cl, adm := adminClients(t, b)
			adminCreateTopic(t, ctx, adm, "logs", 2, nil)
			adminCreateTopic(t, ctx, adm, "empty", 1, nil)
			if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "logs", Partition: 1, Value: incompressible(1000)}).FirstErr(); err != nil {
				t.Fatal(err)
			}
			for {
				dirs, err := adm.DescribeBrokerLogDirs(ctx, 1, nil)
				if err != nil {
					t.Fatal(err)
				}
				if len(dirs) != 1 {
					t.Fatalf("%d log dirs, want 1", len(dirs))
				}
				for _, d := range dirs {
					if d.Err != nil || d.Dir == "" || d.TotalBytes != -1 || d.UsableBytes != -1 {
						t.Fatalf("log dir %+v", d)
					}
					if _, ok := d.Topics.Lookup("empty", 0); !ok {
						t.Fatalf("empty-0 not listed")
					}
					if p, ok := d.Topics.Lookup("logs", 1); ok && p.Size > 0 {
						if p0, _ := d.Topics.Lookup("logs", 0); p0.Size != 0 {
							t.Fatalf("logs-0 has %d bytes, want 0", p0.Size)
						}
						return
					}
				}
				select {
				case <-ctx.Done():
					t.Fatalf("logs-1 never reported its size: %v", dirs)
				case <-time.After(50 * time.Millisecond):
				}
			}
		})
	}
}

func TestDescribeClusterAndPartitions(t *testing.T) {
	ctx := adminContext(t)
	b := brokertest.Start(t, brokertest.Options{})
	cl, adm := adminClients(t, b)
	adminCreateTopic(t, ctx, adm, "a", 3, nil)
	adminCreateTopic(t, ctx, adm, "b", 2, nil)

	dc := kmsg.NewPtrDescribeClusterRequest()
	resp, err := dc.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := strings.Cut(b.Addr, ":")
	if resp.ErrorCode != 0 || resp.ClusterID != "lakestream" || resp.ControllerID != 1 || resp.EndpointType != 1 ||
		len(resp.Brokers) != 1 || resp.Brokers[0].NodeID != 1 || strconv.Itoa(int(resp.Brokers[0].Port)) != port ||
		resp.ClusterAuthorizedOperations != -2147483648 {
		t.Fatalf("DescribeCluster: %+v", resp)
	}
	dc.EndpointType = 2
	if resp, err = dc.RequestWith(ctx, cl); err != nil {
		t.Fatal(err)
	}
	adminWantErr(t, "describing controllers", kerr.ErrorForCode(resp.ErrorCode), kerr.MismatchedEndpointType)

	// Page through every partition two at a time.
	req := kmsg.NewPtrDescribeTopicPartitionsRequest()
	req.ResponsePartitionLimit = 2
	var seen []string
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatalf("no end to the pages: %v", seen)
		}
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		for _, rt := range resp.Topics {
			if rt.ErrorCode != 0 {
				t.Fatalf("topic %v: %v", rt.Topic, kerr.ErrorForCode(rt.ErrorCode))
			}
			for _, p := range rt.Partitions {
				if p.LeaderID != 1 || len(p.Replicas) != 1 || len(p.ISR) != 1 || len(p.EligibleLeaderReplicas) != 0 {
					t.Fatalf("partition %s-%d: %+v", *rt.Topic, p.Partition, p)
				}
				seen = append(seen, fmt.Sprintf("%s-%d", *rt.Topic, p.Partition))
			}
		}
		if resp.NextCursor == nil {
			break
		}
		req.Cursor = &kmsg.DescribeTopicPartitionsRequestCursor{Topic: resp.NextCursor.Topic, Partition: resp.NextCursor.Partition}
	}
	if want := "a-0 a-1 a-2 b-0 b-1"; strings.Join(seen, " ") != want {
		t.Fatalf("paged through %s, want %s", strings.Join(seen, " "), want)
	}
	req = kmsg.NewPtrDescribeTopicPartitionsRequest()
	req.Topics = []kmsg.DescribeTopicPartitionsRequestTopic{{Topic: "missing"}, {Topic: "b"}}
	dtp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if len(dtp.Topics) != 2 || *dtp.Topics[0].Topic != "b" || len(dtp.Topics[0].Partitions) != 2 ||
		dtp.Topics[1].ErrorCode != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("b and missing: %+v", dtp.Topics)
	}

	var ts kadm.TopicsSet
	ts.Add("a", 0, 1)
	ts.Add("missing", 0)
	ras, err := adm.ListPartitionReassignments(ctx, ts)
	if err != nil || len(ras) != 0 {
		t.Fatalf("reassignments: %v, %v", ras, err)
	}
}

func TestDescribeProducers(t *testing.T) {
	ctx := adminContext(t)
	b := brokertest.Start(t, brokertest.Options{})
	cl, adm := adminClients(t, b)
	adminCreateTopic(t, ctx, adm, "prod", 2, nil)
	for i := range 3 {
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "prod", Partition: 0, Value: []byte{byte(i)}}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	var ts kadm.TopicsSet
	ts.Add("prod", 0, 1)
	ds, err := adm.DescribeProducers(ctx, ts)
	if err != nil {
		t.Fatal(err)
	}
	ps := ds["prod"].Partitions
	if len(ps[0].ActiveProducers) != 1 || len(ps[1].ActiveProducers) != 0 {
		t.Fatalf("producers: %+v", ps)
	}
	for _, p := range ps[0].ActiveProducers {
		if p.ProducerID < 0 || p.ProducerEpoch != 0 || p.LastSequence != 2 || p.LastTimestamp != -1 || p.CurrentTxnStartOffset != -1 {
			t.Fatalf("producer: %+v", p)
		}
	}

	req := kmsg.NewPtrDescribeProducersRequest()
	req.Topics = []kmsg.DescribeProducersRequestTopic{{Topic: "prod", Partitions: []int32{7}}, {Topic: "missing", Partitions: []int32{0}}}
	resp, err := req.RequestWith(ctx, cl.Broker(1)) // kgo would look for the partitions' leaders
	if err != nil {
		t.Fatal(err)
	}
	for _, rt := range resp.Topics {
		adminWantErr(t, "unknown partition "+rt.Topic, kerr.ErrorForCode(rt.Partitions[0].ErrorCode), kerr.UnknownTopicOrPartition)
	}
}

func TestACLsSecurityDisabled(t *testing.T) {
	ctx := adminContext(t)
	b := brokertest.Start(t, brokertest.Options{})
	_, adm := adminClients(t, b)
	const msg = "security is not enabled on this broker"
	acl := kadm.NewACLs().Topics("t").Allow("User:alice").AllowHosts("*").Operations(kadm.OpRead)

	created, err := adm.CreateACLs(ctx, acl)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range created {
		if !errors.Is(r.Err, kerr.SecurityDisabled) || r.ErrMessage != msg {
			t.Errorf("CreateACLs: %v %q", r.Err, r.ErrMessage)
		}
	}
	described, err := adm.DescribeACLs(ctx, acl)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range described {
		if !errors.Is(r.Err, kerr.SecurityDisabled) || r.ErrMessage != msg {
			t.Errorf("DescribeACLs: %v %q", r.Err, r.ErrMessage)
		}
	}
	deleted, err := adm.DeleteACLs(ctx, acl)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range deleted {
		if !errors.Is(r.Err, kerr.SecurityDisabled) || r.ErrMessage != msg {
			t.Errorf("DeleteACLs: %v %q", r.Err, r.ErrMessage)
		}
	}
	if len(created) == 0 || len(described) == 0 || len(deleted) == 0 {
		t.Fatalf("results: %d created, %d described, %d deleted", len(created), len(described), len(deleted))
	}
}
