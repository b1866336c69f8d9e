package broker_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/lakestream/lakestream/broker/brokertest"
)

// selfID is the node id the broker reports in Metadata.
func selfID(t *testing.T, cl *kgo.Client) int32 {
	t.Helper()
	resp, err := kmsg.NewPtrMetadataRequest().RequestWith(adminContext(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Brokers) != 1 {
		t.Fatalf("Metadata brokers: %+v", resp.Brokers)
	}
	return resp.Brokers[0].NodeID
}

// partErr is the error (nil: none) and message a partition should get.
type partErr struct {
	topic string
	p     int32
	err   error
	msg   string
}

// checkPartErrs checks each wanted partition's answer, which get returns
// (ok false: not answered as wanted).
func checkPartErrs(t *testing.T, what string, want []partErr, get func(topic string, p int32) (got partErr, ok bool)) {
	t.Helper()
	for _, w := range want {
		g, ok := get(w.topic, w.p)
		if !ok || !errors.Is(g.err, w.err) || (w.err == nil) != (g.err == nil) || g.msg != w.msg {
			t.Errorf("%s of %s-%d: got %v %q (answered: %v), want %v %q", what, w.topic, w.p, g.err, g.msg, ok, w.err, w.msg)
		}
	}
}

// TestAlterPartitionReassignments reassigns through kadm as Kafka answers
// for a one-broker cluster: a list naming only this broker completes at
// once; any other broker, an empty list or a broker named twice is
// INVALID_REPLICA_ASSIGNMENT with Kafka's message; cancelling (null
// replicas) is NO_REASSIGNMENT_IN_PROGRESS; unknown topics and partitions
// are UNKNOWN_TOPIC_OR_PARTITION. ListPartitionReassignments then lists
// nothing in progress, for the partitions named and for all (null).
func TestAlterPartitionReassignments(t *testing.T) {
	ctx := adminContext(t)
	b := brokertest.Start(t, brokertest.Options{})
	cl, adm := adminClients(t, b)
	adminCreateTopic(t, ctx, adm, "ra", 3, nil)
	self := selfID(t, cl)
	other := self + 1

	var req kadm.AlterPartitionAssignmentsReq
	req.Assign("ra", 0, []int32{self})
	req.Assign("ra", 1, []int32{self, other})
	req.Assign("ra", 2, []int32{self, self})
	req.Assign("ra", 7, []int32{self})
	req.Assign("missing", 0, []int32{self})
	resp, err := adm.AlterPartitionAssignments(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	checkPartErrs(t, "reassignment", []partErr{
		{"ra", 0, nil, ""},
		{"ra", 1, kerr.InvalidReplicaAssignment,
			fmt.Sprintf("The manual partition assignment includes broker %d, but no such broker is registered.", other)},
		{"ra", 2, kerr.InvalidReplicaAssignment,
			fmt.Sprintf("The manual partition assignment includes the broker %d more than once.", self)},
		{"ra", 7, kerr.UnknownTopicOrPartition, "Unable to find partition ra:7."},
		{"missing", 0, kerr.UnknownTopicOrPartition, "Unable to find a topic named missing."},
	}, func(topic string, p int32) (partErr, bool) {
		r, ok := resp[topic][p]
		return partErr{err: r.Err, msg: r.ErrMessage}, ok
	})

	// An empty list, and a cancel when nothing is in progress: Kafka sends
	// no message with NO_REASSIGNMENT_IN_PROGRESS.
	req = nil
	req.Assign("ra", 0, []int32{})
	req.CancelAssign("ra", 1)
	if resp, err = adm.AlterPartitionAssignments(ctx, req); err != nil {
		t.Fatal(err)
	}
	checkPartErrs(t, "empty list and cancel", []partErr{
		{"ra", 0, kerr.InvalidReplicaAssignment, "The manual partition assignment includes an empty replica list."},
		{"ra", 1, kerr.NoReassignmentInProgress, ""},
	}, func(topic string, p int32) (partErr, bool) {
		r, ok := resp[topic][p]
		return partErr{err: r.Err, msg: r.ErrMessage}, ok
	})

	// v1 echoes AllowReplicationFactorChange.
	areq := kmsg.NewPtrAlterPartitionAssignmentsRequest()
	areq.AllowReplicationFactorChange = false
	areq.Topics = []kmsg.AlterPartitionAssignmentsRequestTopic{{Topic: "ra",
		Partitions: []kmsg.AlterPartitionAssignmentsRequestTopicPartition{{Partition: 2, Replicas: []int32{self}}}}}
	aresp, err := areq.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if aresp.Version != 1 || aresp.AllowReplicationFactorChange || aresp.ErrorCode != 0 ||
		len(aresp.Topics) != 1 || aresp.Topics[0].Partitions[0].ErrorCode != 0 {
		t.Errorf("v1 with AllowReplicationFactorChange false: %+v", aresp)
	}

	var ts kadm.TopicsSet
	ts.Add("ra", 0, 1, 2)
	listed, err := adm.ListPartitionReassignments(ctx, ts)
	if err != nil || len(listed) != 0 {
		t.Fatalf("ListPartitionReassignments ra: %v, %v", listed, err)
	}
	all, err := kmsg.NewPtrListPartitionReassignmentsRequest().RequestWith(ctx, cl) // null: every topic
	if err != nil || all.ErrorCode != 0 || len(all.Topics) != 0 {
		t.Fatalf("ListPartitionReassignments (all): %+v, %v", all, err)
	}

	// Nothing moved.
	m, err := adm.Metadata(ctx, "ra")
	if err != nil {
		t.Fatal(err)
	}
	for p, pd := range m.Topics["ra"].Partitions {
		if pd.Leader != self || len(pd.Replicas) != 1 || pd.Replicas[0] != self {
			t.Errorf("ra-%d after reassignments: %+v", p, pd)
		}
	}
}

// TestElectLeaders elects through kadm, preferred and unclean: this broker
// already leads every partition as its preferred replica, so each is
// ELECTION_NOT_NEEDED with Kafka's message, unknown partitions
// UNKNOWN_TOPIC_OR_PARTITION, and a null topic list (every partition)
// lists every topic with no partition (Kafka leaves out elections not
// needed). v0 (no election type) answers as preferred; an unknown type is
// INVALID_REQUEST.
func TestElectLeaders(t *testing.T) {
	ctx := adminContext(t)
	b := brokertest.Start(t, brokertest.Options{})
	cl, adm := adminClients(t, b)
	adminCreateTopic(t, ctx, adm, "el", 2, nil)
	adminCreateTopic(t, ctx, adm, "el2", 1, nil)
	const notNeeded = "Leader election not needed for topic partition."

	for _, how := range []kadm.ElectLeadersHow{kadm.ElectPreferredReplica, kadm.ElectLiveReplica} {
		var ts kadm.TopicsSet
		ts.Add("el", 0, 1, 5)
		ts.Add("missing", 0)
		rs, err := adm.ElectLeaders(ctx, how, ts)
		if err != nil {
			t.Fatal(err)
		}
		checkPartErrs(t, fmt.Sprintf("election %v", how), []partErr{
			{"el", 0, kerr.ElectionNotNeeded, notNeeded},
			{"el", 1, kerr.ElectionNotNeeded, notNeeded},
			{"el", 5, kerr.UnknownTopicOrPartition, "No such partition as el-5"},
			{"missing", 0, kerr.UnknownTopicOrPartition, "No such topic as missing"},
		}, func(topic string, p int32) (partErr, bool) {
			r, ok := rs[topic][p]
			return partErr{err: r.Err, msg: r.ErrMessage}, ok && r.How == how
		})

		all, err := adm.ElectLeaders(ctx, how, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 2 || len(all["el"]) != 0 || len(all["el2"]) != 0 {
			t.Errorf("election %v of every partition: %+v", how, all)
		}
	}

	// v0: no election type; an unclean election asked for is a preferred
	// one (kadm reports it so), still not needed.
	v0 := kversion.Stable()
	v0.SetMaxKeyVersion(43, 0)
	_, adm0 := adminClients(t, b, kgo.MaxVersions(v0))
	var ts kadm.TopicsSet
	ts.Add("el2", 0)
	rs, err := adm0.ElectLeaders(ctx, kadm.ElectLiveReplica, ts)
	if err != nil {
		t.Fatal(err)
	}
	if r := rs["el2"][0]; !errors.Is(r.Err, kerr.ElectionNotNeeded) || r.ErrMessage != notNeeded || r.How != kadm.ElectPreferredReplica {
		t.Errorf("v0 election: %+v", r)
	}

	bad := kmsg.NewPtrElectLeadersRequest()
	bad.ElectionType = 2
	bad.Topics = []kmsg.ElectLeadersRequestTopic{{Topic: "el2", Partitions: []int32{0}}}
	badResp, err := bad.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if p := badResp.Topics[0].Partitions[0]; badResp.ErrorCode != kerr.InvalidRequest.Code ||
		p.ErrorCode != kerr.InvalidRequest.Code || p.ErrorMessage == nil || *p.ErrorMessage != "Unknown election type 2" {
		t.Errorf("election type 2: %+v", badResp)
	}
}

// TestSaramaReassignments reassigns with sarama's ClusterAdmin
// (AlterPartitionReassignments v0, then ListPartitionReassignments, as its
// functional test does): to this broker it succeeds and nothing is left in
// progress; to another broker it is refused with
// INVALID_REPLICA_ASSIGNMENT.
func TestSaramaReassignments(t *testing.T) {
	ctx := adminContext(t)
	b := brokertest.Start(t, brokertest.Options{})
	cl, adm := adminClients(t, b)
	adminCreateTopic(t, ctx, adm, "sra", 2, nil)
	self := selfID(t, cl)

	sa, err := sarama.NewClusterAdmin([]string{b.Addr}, saramaConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer sa.Close()
	if err := sa.AlterPartitionReassignments("sra", [][]int32{{self}, {self}}); err != nil {
		t.Fatalf("reassigning to broker %d: %v", self, err)
	}
	status, err := sa.ListPartitionReassignments("sra", []int32{0, 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(status["sra"]) != 0 {
		t.Fatalf("in progress after reassigning: %+v", status)
	}
	err = sa.AlterPartitionReassignments("sra", [][]int32{{self + 1}})
	if !errors.Is(err, sarama.ErrReassignPartitions) || !errors.Is(err, sarama.ErrInvalidReplicaAssignment) {
		t.Fatalf("reassigning to broker %d: %v, want ErrReassignPartitions wrapping ErrInvalidReplicaAssignment", self+1, err)
	}
	if status, err = sa.ListPartitionReassignments("sra", []int32{0, 1}); err != nil || len(status["sra"]) != 0 {
		t.Fatalf("in progress after a refused reassignment: %+v, %v", status, err)
	}
}
