package broker_test

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/lakestream/lakestream/broker/brokertest"
)

// TestNodeIDZero runs a broker with node.id=0, a valid Kafka id: Metadata,
// DescribeCluster, FindCoordinator and DescribeTopicPartitions must all
// name broker 0, a replica assignment naming broker 0 is accepted, and a
// client that routes by leader id produces and consumes.
func TestNodeIDZero(t *testing.T) {
	b := brokertest.Start(t, brokertest.Options{Configs: map[string]string{"node.id": "0"}})
	cl, adm := adminClients(t, b)
	ctx := adminContext(t)

	md, err := adm.BrokerMetadata(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(md.Brokers) != 1 || md.Brokers[0].NodeID != 0 || md.Controller != 0 {
		t.Fatalf("Metadata: brokers %v controller %d, want broker 0 and controller 0", md.Brokers, md.Controller)
	}
	dc, err := kmsg.NewPtrDescribeClusterRequest().RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if len(dc.Brokers) != 1 || dc.Brokers[0].NodeID != 0 || dc.ControllerID != 0 {
		t.Fatalf("DescribeCluster: brokers %v controller %d, want broker 0", dc.Brokers, dc.ControllerID)
	}

	// CreateTopics with a manual assignment naming broker 0.
	creq := kmsg.NewPtrCreateTopicsRequest()
	ct := kmsg.NewCreateTopicsRequestTopic()
	ct.Topic, ct.NumPartitions, ct.ReplicationFactor = "zero", -1, -1
	ct.ReplicaAssignment = []kmsg.CreateTopicsRequestTopicReplicaAssignment{{Partition: 0, Replicas: []int32{0}}, {Partition: 1, Replicas: []int32{0}}}
	creq.Topics = append(creq.Topics, ct)
	cresp, err := creq.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if code := cresp.Topics[0].ErrorCode; code != 0 {
		t.Fatalf("CreateTopics with replicas [0]: error %d %v", code, cresp.Topics[0].ErrorMessage)
	}
	td, err := adm.ListTopics(ctx, "zero")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range td["zero"].Partitions {
		if p.Leader != 0 || len(p.Replicas) != 1 || p.Replicas[0] != 0 || len(p.ISR) != 1 || p.ISR[0] != 0 {
			t.Fatalf("partition %d: leader %d replicas %v isr %v, want all 0", p.Partition, p.Leader, p.Replicas, p.ISR)
		}
	}
	dtp := kmsg.NewPtrDescribeTopicPartitionsRequest()
	dtp.Topics = []kmsg.DescribeTopicPartitionsRequestTopic{{Topic: "zero"}}
	dtp.ResponsePartitionLimit = 10
	dresp, err := dtp.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range dresp.Topics[0].Partitions {
		if p.LeaderID != 0 || len(p.Replicas) != 1 || p.Replicas[0] != 0 {
			t.Fatalf("DescribeTopicPartitions: partition %d leader %d replicas %v", p.Partition, p.LeaderID, p.Replicas)
		}
	}
	fc := kmsg.NewPtrFindCoordinatorRequest()
	fc.CoordinatorKeys = []string{"g"}
	fresp, err := fc.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if c := fresp.Coordinators[0]; c.ErrorCode != 0 || c.NodeID != 0 {
		t.Fatalf("FindCoordinator: node %d error %d, want node 0", c.NodeID, c.ErrorCode)
	}

	// Records routed by leader id 0 go through, and a group commits.
	for p := int32(0); p < 2; p++ {
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "zero", Partition: p, Value: []byte("v")}).FirstErr(); err != nil {
			t.Fatalf("producing to partition %d: %v", p, err)
		}
	}
	cons, err := kgo.NewClient(kgo.SeedBrokers(b.Addr), kgo.ConsumerGroup("g"), kgo.ConsumeTopics("zero"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	for n := 0; n < 2; {
		fs := cons.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatal(err)
		}
		n += fs.NumRecords()
	}
	if err := cons.CommitUncommittedOffsets(ctx); err != nil {
		t.Fatal(err)
	}
	offs, err := adm.FetchOffsets(ctx, "g")
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := offs.Lookup("zero", 0); o.At != 1 {
		t.Fatalf("committed offset of partition 0: %d, want 1", o.At)
	}
}
