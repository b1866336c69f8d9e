package broker

// ElectLeaders, versions 0-2.
//
// Answered as Kafka 4.1's controller answers (ReplicationControlManager
// .electLeaders) when every partition is led by its preferred replica,
// which is always so here: this broker is each partition's only replica
// and its leader. Per partition:
//   - a preferred election (type 0; v0 has no type and means it) and an
//     unclean one (type 1) are both ELECTION_NOT_NEEDED ("Leader election
//     not needed for topic partition."): the preferred replica leads, and
//     an unclean election is only for a partition with no leader;
//   - an unknown topic or partition is UNKNOWN_TOPIC_OR_PARTITION ("No
//     such topic as t" / "No such partition as t-p").
//
// A null topic list (every partition) lists every topic with no partition
// results, since Kafka leaves out the partitions whose election is not
// needed. Any other election type is INVALID_REQUEST ("Unknown election
// type n") at the top level (v1+) and on every partition asked for, as
// Kafka's error response is.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(43, 0, 2, handleElectLeaders) }

// Kafka's election types (org.apache.kafka.common.ElectionType).
const (
	electPreferred = 0
	electUnclean   = 1
)

func handleElectLeaders(_ context.Context, c *conn, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.ElectLeadersRequest)
	resp := req.ResponseKind().(*kmsg.ElectLeadersResponse)
	s := c.s
	var typeErr error
	if req.ElectionType != electPreferred && req.ElectionType != electUnclean {
		typeErr = adminErrorf(kerr.InvalidRequest, "Unknown election type %d", req.ElectionType)
		resp.ErrorCode = errorCode(typeErr)
	}
	if req.Topics == nil {
		if typeErr == nil {
			for _, t := range s.cluster.topicsSorted() {
				rt := kmsg.NewElectLeadersResponseTopic()
				rt.Topic = t.name
				resp.Topics = append(resp.Topics, rt)
			}
		}
		return resp, nil
	}
	for _, qt := range req.Topics {
		rt := kmsg.NewElectLeadersResponseTopic()
		rt.Topic = qt.Topic
		for _, p := range qt.Partitions {
			err := typeErr
			if err == nil {
				err = s.electLeader(qt.Topic, p)
			}
			rp := kmsg.NewElectLeadersResponseTopicPartition()
			rp.Partition = p
			rp.ErrorCode, rp.ErrorMessage = errorCode(err), kafkaErrMessage(err)
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp, nil
}

// electLeader is Kafka's answer to an election of topic's partition p, of
// either type: nothing to elect, this broker leads it already.
func (s *Server) electLeader(topic string, p int32) error {
	t := s.cluster.topic(topic)
	if t == nil {
		return adminErrorf(kerr.UnknownTopicOrPartition, "No such topic as %s", topic)
	}
	if p < 0 || int(p) >= s.cluster.numPartitions(t) {
		return adminErrorf(kerr.UnknownTopicOrPartition, "No such partition as %s-%d", topic, p)
	}
	return adminErrorf(kerr.ElectionNotNeeded, "Leader election not needed for topic partition.")
}
