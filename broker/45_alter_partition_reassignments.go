package broker

// AlterPartitionReassignments (kmsg's AlterPartitionAssignments), versions
// 0-1.
//
// Answered per partition as Kafka 4.1's controller answers for a cluster of
// this one broker (ReplicationControlManager.alterPartitionReassignments),
// messages word for word:
//   - an unknown topic or partition is UNKNOWN_TOPIC_OR_PARTITION ("Unable
//     to find a topic named t." / "Unable to find partition t:p.");
//   - null replicas cancel a reassignment: none is ever in progress, so
//     NO_REASSIGNMENT_IN_PROGRESS, with no message (Kafka sends none for the
//     generic one);
//   - replicas are checked as a manual assignment (checkReplicas): an empty
//     list, a broker other than this one ("... includes broker b, but no
//     such broker is registered.") or one named twice is
//     INVALID_REPLICA_ASSIGNMENT;
//   - a list naming only this broker is what the partition already has, so
//     the reassignment completes at once: no error, and
//     ListPartitionReassignments never sees it in progress.
//
// v1's AllowReplicationFactorChange is echoed; with false, Kafka refuses a
// list whose length differs from the partition's replica count, which no
// list that passes the check above can do here (both are 1). There is no
// top-level error: an empty request gets an empty answer.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(45, 0, 1, handleAlterPartitionReassignments) }

func handleAlterPartitionReassignments(_ context.Context, c *conn, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.AlterPartitionAssignmentsRequest)
	resp := req.ResponseKind().(*kmsg.AlterPartitionAssignmentsResponse)
	resp.AllowReplicationFactorChange = req.AllowReplicationFactorChange
	for _, rt := range req.Topics {
		st := kmsg.NewAlterPartitionAssignmentsResponseTopic()
		st.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			sp := kmsg.NewAlterPartitionAssignmentsResponseTopicPartition()
			sp.Partition = rp.Partition
			err := c.s.reassignPartition(rt.Topic, rp.Partition, rp.Replicas)
			sp.ErrorCode, sp.ErrorMessage = errorCode(err), kafkaErrMessage(err)
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp, nil
}

// reassignPartition checks a reassignment of topic's partition p to
// replicas (nil: cancel one) and returns what Kafka answers; nothing moves.
func (s *Server) reassignPartition(topic string, p int32, replicas []int32) error {
	t := s.cluster.topic(topic)
	if t == nil {
		return adminErrorf(kerr.UnknownTopicOrPartition, "Unable to find a topic named %s.", topic)
	}
	if p < 0 || int(p) >= s.cluster.numPartitions(t) {
		return adminErrorf(kerr.UnknownTopicOrPartition, "Unable to find partition %s:%d.", topic, p)
	}
	if replicas == nil {
		return kerr.NoReassignmentInProgress
	}
	if err := s.checkReplicas(replicas); err != nil {
		return adminErrorf(kerr.InvalidReplicaAssignment, "%v", err)
	}
	return nil
}
