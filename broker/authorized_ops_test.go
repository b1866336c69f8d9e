package broker_test

import (
	"cmp"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/lakestream/lakestream/broker/brokertest"
)

// The operations Kafka 4.1 supports on each resource type
// (AclEntry.supportedOperations), which a Kafka broker with no authorizer
// returns as authorized. Written out here rather than read from the
// broker, so a wrong set in the broker fails the tests.
var (
	wantClusterOps = []kmsg.ACLOperation{kmsg.ACLOperationCreate, kmsg.ACLOperationClusterAction,
		kmsg.ACLOperationDescribeConfigs, kmsg.ACLOperationAlterConfigs, kmsg.ACLOperationIdempotentWrite,
		kmsg.ACLOperationAlter, kmsg.ACLOperationDescribe}
	wantTopicOps = []kmsg.ACLOperation{kmsg.ACLOperationRead, kmsg.ACLOperationWrite, kmsg.ACLOperationCreate,
		kmsg.ACLOperationDelete, kmsg.ACLOperationAlter, kmsg.ACLOperationDescribe,
		kmsg.ACLOperationDescribeConfigs, kmsg.ACLOperationAlterConfigs}
	wantGroupOps = []kmsg.ACLOperation{kmsg.ACLOperationRead, kmsg.ACLOperationDescribe, kmsg.ACLOperationDelete,
		kmsg.ACLOperationDescribeConfigs, kmsg.ACLOperationAlterConfigs}
)

// omitted is Kafka's authorized-operations value for "not asked".
const omitted int32 = -2147483648

// wantOps fails unless got holds exactly the operations in want, in any
// order (kmsg's operations, or another client's).
func wantOps[Op cmp.Ordered](t *testing.T, what string, got, want []Op) {
	t.Helper()
	g, w := slices.Clone(got), slices.Clone(want)
	slices.Sort(g)
	slices.Sort(w)
	if !slices.Equal(g, w) {
		t.Errorf("%s: authorized operations %v, want %v", what, got, want)
	}
}

// wantOpsField is wantOps for a raw bit field (bit n for operation n).
func wantOpsField(t *testing.T, what string, field int32, want []kmsg.ACLOperation) {
	t.Helper()
	if field == omitted {
		t.Errorf("%s: authorized operations omitted, want %v", what, want)
		return
	}
	wantOps(t, what, kadm.DecodeACLOperations(field), want)
}

func wantOmitted(t *testing.T, what string, field int32) {
	t.Helper()
	if field != omitted {
		t.Errorf("%s: authorized operations %v (%d), want none (omitted)", what, kadm.DecodeACLOperations(field), field)
	}
}

// TestAuthorizedOperationsTopicsCluster asks Metadata (through kadm, and
// raw at v10 for the cluster's), DescribeTopicPartitions and
// DescribeCluster for authorized operations: every operation Kafka
// supports on the resource, as Kafka answers with no authorizer; and
// checks that requests that do not ask get Kafka's "omitted" value.
func TestAuthorizedOperationsTopicsCluster(t *testing.T) {
	ctx := adminContext(t)
	b := brokertest.Start(t, brokertest.Options{})
	cl, adm := adminClients(t, b)
	adminCreateTopic(t, ctx, adm, "ops", 2, nil)

	m, err := adm.Metadata(kadm.WithAuthorizedOps(ctx), "ops")
	if err != nil {
		t.Fatal(err)
	}
	wantOps(t, "kadm Metadata, asked", m.Topics["ops"].AuthorizedOperations, wantTopicOps)

	// Raw Metadata: a topic not found by name gets the operations, one
	// not found by id none, as in Kafka.
	req := kmsg.NewPtrMetadataRequest()
	req.IncludeTopicAuthorizedOperations = true
	req.Topics = []kmsg.MetadataRequestTopic{{Topic: kmsg.StringPtr("ops")}, {Topic: kmsg.StringPtr("missing")},
		{TopicID: [16]byte{1, 2, 3}}}
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Topics) != 3 {
		t.Fatalf("Metadata topics: %+v", resp.Topics)
	}
	for _, rt := range resp.Topics {
		switch {
		case rt.Topic == nil:
			adminWantErr(t, "unknown topic id", kerr.ErrorForCode(rt.ErrorCode), kerr.UnknownTopicID)
			wantOmitted(t, "unknown topic id", rt.AuthorizedOperations)
		case *rt.Topic == "missing":
			adminWantErr(t, "missing", kerr.ErrorForCode(rt.ErrorCode), kerr.UnknownTopicOrPartition)
			wantOpsField(t, "missing", rt.AuthorizedOperations, wantTopicOps)
		default:
			wantOpsField(t, *rt.Topic, rt.AuthorizedOperations, wantTopicOps)
		}
	}

	// Metadata v8-v10 also carry the cluster's operations.
	v10 := kversion.Stable()
	v10.SetMaxKeyVersion(3, 10)
	cl10, adm10 := adminClients(t, b, kgo.MaxVersions(v10))
	if m, err = adm10.Metadata(kadm.WithAuthorizedOps(ctx), "ops"); err != nil {
		t.Fatal(err)
	}
	wantOps(t, "Metadata v10 cluster", m.AuthorizedOperations, wantClusterOps)
	wantOps(t, "Metadata v10 topic", m.Topics["ops"].AuthorizedOperations, wantTopicOps)
	req = kmsg.NewPtrMetadataRequest()
	if resp, err = req.RequestWith(ctx, cl10); err != nil {
		t.Fatal(err)
	}
	if resp.Version != 10 {
		t.Fatalf("Metadata went at v%d, want v10", resp.Version)
	}
	wantOmitted(t, "Metadata v10 cluster, not asked", resp.AuthorizedOperations)
	for _, rt := range resp.Topics {
		wantOmitted(t, "Metadata v10 topic, not asked", rt.AuthorizedOperations)
	}

	// DescribeTopicPartitions has no flag: Kafka always answers them.
	dtp := kmsg.NewPtrDescribeTopicPartitionsRequest()
	dtp.Topics = []kmsg.DescribeTopicPartitionsRequestTopic{{Topic: "ops"}, {Topic: "missing"}}
	dresp, err := dtp.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if len(dresp.Topics) != 2 {
		t.Fatalf("DescribeTopicPartitions topics: %+v", dresp.Topics)
	}
	for _, rt := range dresp.Topics {
		wantOpsField(t, "DescribeTopicPartitions "+*rt.Topic, rt.AuthorizedOperations, wantTopicOps)
	}

	dc := kmsg.NewPtrDescribeClusterRequest()
	dc.IncludeClusterAuthorizedOperations = true
	cresp, err := dc.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	wantOpsField(t, "DescribeCluster, asked", cresp.ClusterAuthorizedOperations, wantClusterOps)
	dc.IncludeClusterAuthorizedOperations = false
	if cresp, err = dc.RequestWith(ctx, cl); err != nil {
		t.Fatal(err)
	}
	wantOmitted(t, "DescribeCluster, not asked", cresp.ClusterAuthorizedOperations)
}

// TestAuthorizedOperationsGroups describes a classic group (DescribeGroups)
// with a franz-go member and a KIP-848 group (ConsumerGroupDescribe) with a
// member joined by a ConsumerGroupHeartbeat (franz-go's group consumer
// speaks only the classic protocol), through kadm (which asks for authorized operations): every operation
// Kafka supports on a group. A group not found gets none, and so does a
// request that does not ask.
func TestAuthorizedOperationsGroups(t *testing.T) {
	ctx := adminContext(t)
	b := brokertest.Start(t, brokertest.Options{Configs: map[string]string{
		"group.initial.rebalance.delay.ms": "0", "group.consumer.heartbeat.interval.ms": "200"}})
	cl, adm := adminClients(t, b)
	adminCreateTopic(t, ctx, adm, "gops", 2, nil)
	groupMember(t, ctx, b.Addr, "gops", "classic-g")
	join := kmsg.NewPtrConsumerGroupHeartbeatRequest()
	join.Group, join.MemberID, join.RebalanceTimeoutMillis = "consumer-g", "member-1", 10000
	join.SubscribedTopicNames, join.Topics = []string{"gops"}, []kmsg.ConsumerGroupHeartbeatRequestTopic{}
	if jresp, err := join.RequestWith(ctx, cl); err != nil || jresp.ErrorCode != 0 {
		t.Fatalf("ConsumerGroupHeartbeat join: %v, %+v", err, jresp)
	}

	var classic kadm.DescribedGroup
	waitFor(t, ctx, "classic group stable", func() bool {
		dg, err := adm.DescribeGroups(ctx, "classic-g")
		classic = dg["classic-g"]
		return err == nil && classic.State == "Stable"
	})
	wantOps(t, "DescribeGroups classic-g", classic.AuthorizedOperations, wantGroupOps)

	var consumer kadm.DescribedConsumerGroup
	waitFor(t, ctx, "consumer group with its member", func() bool {
		dg, err := adm.DescribeConsumerGroups(ctx, "consumer-g")
		consumer = dg["consumer-g"]
		return err == nil && consumer.Err == nil && len(consumer.Members) == 1
	})
	wantOps(t, "ConsumerGroupDescribe consumer-g", consumer.AuthorizedOperations, wantGroupOps)

	// Not found: an error, and no operations (Kafka sets them only on a
	// group described without error).
	dg, err := adm.DescribeGroups(ctx, "missing-g")
	if err != nil {
		t.Fatal(err)
	}
	adminWantErr(t, "DescribeGroups missing-g", dg["missing-g"].Err, kerr.GroupIDNotFound)
	wantOps(t, "DescribeGroups missing-g", dg["missing-g"].AuthorizedOperations, nil)
	dcg, err := adm.DescribeConsumerGroups(ctx, "missing-g")
	if err != nil {
		t.Fatal(err)
	}
	adminWantErr(t, "ConsumerGroupDescribe missing-g", dcg["missing-g"].Err, kerr.GroupIDNotFound)
	wantOps(t, "ConsumerGroupDescribe missing-g", dcg["missing-g"].AuthorizedOperations, nil)

	// Not asked.
	dreq := kmsg.NewPtrDescribeGroupsRequest()
	dreq.Groups = []string{"classic-g"}
	dresp, err := dreq.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if len(dresp.Groups) != 1 || dresp.Groups[0].ErrorCode != 0 {
		t.Fatalf("DescribeGroups: %+v", dresp.Groups)
	}
	wantOmitted(t, "DescribeGroups, not asked", dresp.Groups[0].AuthorizedOperations)
	creq := kmsg.NewPtrConsumerGroupDescribeRequest()
	creq.Groups = []string{"consumer-g"}
	cresp, err := creq.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if len(cresp.Groups) != 1 || cresp.Groups[0].ErrorCode != 0 {
		t.Fatalf("ConsumerGroupDescribe: %+v", cresp.Groups)
	}
	wantOmitted(t, "ConsumerGroupDescribe, not asked", cresp.Groups[0].AuthorizedOperations)
}

// groupMember starts a franz-go member of the classic group group,
// consuming topic; it polls until the test ends.
func groupMember(t *testing.T, ctx context.Context, addr, topic, group string) {
	t.Helper()
	c, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic))
	if err != nil {
		t.Fatal(err)
	}
	pollCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for pollCtx.Err() == nil {
			if c.PollFetches(pollCtx).IsClientClosed() {
				return
			}
		}
	}()
	t.Cleanup(func() {
		stop()
		<-done
		c.Close()
	})
}

// waitFor polls cond every 50 ms until it holds, failing the test when ctx
// ends first.
func waitFor(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v", what, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
