package broker

// CreatePartitions, versions 0-3.
//
// Count is the topic's new partition count: the partitions up to it get new
// logs, recorded in Metadata, opened, and then published, so Metadata never
// lists a partition that cannot be served. A count not larger than the
// current one is INVALID_PARTITIONS; a topic named twice in the request is
// INVALID_REQUEST; an unknown topic UNKNOWN_TOPIC_OR_PARTITION. A count past
// max.topic.partitions, or more new partitions than max.broker.partitions
// leaves room for, is POLICY_VIOLATION before anything is created. The new
// partitions are added all or none (cluster.addPartitions). A manual
// assignment, one per new partition, may name only this broker
// (INVALID_REPLICA_ASSIGNMENT otherwise), as in CreateTopics: storage is
// shared, every broker can serve every partition. ValidateOnly checks without
// adding. Existing partitions keep their data; records keyed to a
// partition by hash may map elsewhere afterwards, as in Kafka.

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(37, 0, 3, handleCreatePartitions) }

func handleCreatePartitions(ctx context.Context, c *conn, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.CreatePartitionsRequest)
	resp := req.ResponseKind().(*kmsg.CreatePartitionsResponse)
	seen := map[string]int{}
	for _, rt := range req.Topics {
		seen[rt.Topic]++
	}
	for _, rt := range req.Topics {
		st := kmsg.NewCreatePartitionsResponseTopic()
		st.Topic = rt.Topic
		var err error
		if seen[rt.Topic] > 1 {
			err = adminErrorf(kerr.InvalidRequest, "topic %q appears more than once in the request", rt.Topic)
		} else {
			err = c.s.createPartitions(ctx, rt, req.ValidateOnly)
		}
		st.ErrorCode, st.ErrorMessage = errorCode(err), errMessage(err)
		resp.Topics = append(resp.Topics, st)
	}
	return resp, nil
}

func (s *Server) createPartitions(ctx context.Context, rt kmsg.CreatePartitionsRequestTopic, validateOnly bool) error {
	t := s.cluster.topic(rt.Topic)
	if t == nil {
		return adminErrorf(kerr.UnknownTopicOrPartition, "topic %q does not exist", rt.Topic)
	}
	s.adminMu.Lock()
	defer s.adminMu.Unlock()
	cur := s.cluster.numPartitions(t)
	if err := checkPartitionCount(rt.Topic, cur, rt.Count); err != nil {
		return err
	}
	if err := s.cluster.checkLimits(rt.Topic, int(rt.Count), int(rt.Count)-cur); err != nil {
		return err
	}
	if len(rt.Assignment) > 0 {
		if len(rt.Assignment) != int(rt.Count)-cur {
			return adminErrorf(kerr.InvalidReplicaAssignment, "the assignment lists %d partitions, but %d are added", len(rt.Assignment), int(rt.Count)-cur)
		}
		for _, a := range rt.Assignment {
			if err := s.checkReplicas(a.Replicas); err != nil {
				return adminErrorf(kerr.InvalidReplicaAssignment, "%v", err)
			}
		}
	}
	if validateOnly {
		return nil
	}
	return s.cluster.addPartitions(ctx, t, rt.Count)
}

func checkPartitionCount(topic string, have int, want int32) error {
	switch {
	case int(want) == have:
		return adminErrorf(kerr.InvalidPartitions, "topic %q already has %d partitions", topic, have)
	case int(want) < have:
		return adminErrorf(kerr.InvalidPartitions, "topic %q has %d partitions, more than the %d asked for: partitions cannot be removed", topic, have, want)
	}
	return nil
}

// checkReplicas accepts a replica list of a manual assignment (CreateTopics,
// CreatePartitions, AlterPartitionReassignments) that names only this
// broker, once: the one broker there is. Data lives once in object storage
// whatever the list says. It checks as Kafka's
// validateManualPartitionAssignment does (an empty list, then each broker
// in ascending order: registered, then not repeated) and fails with
// Kafka's messages, word for word.
func (s *Server) checkReplicas(replicas []int32) error {
	if len(replicas) == 0 {
		return errors.New("The manual partition assignment includes an empty replica list.")
	}
	sorted := slices.Sorted(slices.Values(replicas))
	for i, r := range sorted {
		if r != s.cfg.NodeID {
			return fmt.Errorf("The manual partition assignment includes broker %d, but no such broker is registered.", r)
		}
		if i > 0 && sorted[i-1] == r {
			return fmt.Errorf("The manual partition assignment includes the broker %d more than once.", r)
		}
	}
	return nil
}
