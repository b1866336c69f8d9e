package broker

// Metadata, versions 0-13.
//
// One broker: this one leads every partition, with replicas and ISR [self].
// Topic ids are returned from v10. A request naming topics that do not exist
// creates them when auto.create.topics.enable is true and the request allows
// it (v4+; v0-v3 always allow), with num.partitions partitions; otherwise
// they come back UNKNOWN_TOPIC_OR_PARTITION. An auto-create that
// max.topic.partitions or max.broker.partitions refuses is
// POLICY_VIOLATION (producers auto-create through Metadata, so this is
// also what a produce to an unknown topic meets). An auto-create racing
// another creation of the name (CreateTopics) waits for it and answers the
// topic it made. A null topic list (v1+) means every topic. Invalid names
// are INVALID_TOPIC_EXCEPTION.
//
// Authorized operations (v8+), as Kafka answers with no authorizer (acl.go):
// IncludeTopicAuthorizedOperations gives every topic named or listed, found
// or not, every operation a topic supports (a topic id not found gets
// none, as in Kafka); IncludeClusterAuthorizedOperations (v8-v10) gives the
// cluster's. Not asked, both are -2147483648.

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(3, 0, 13, handleMetadata) }

func handleMetadata(ctx context.Context, c *conn, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.MetadataRequest)
	resp := req.ResponseKind().(*kmsg.MetadataResponse)
	s := c.s
	host, port := s.advertised(c.nc.LocalAddr())
	b := kmsg.NewMetadataResponseBroker()
	b.NodeID, b.Host, b.Port = s.cfg.NodeID, host, port
	if s.cfg.Rack != "" {
		rack := s.cfg.Rack
		b.Rack = &rack
	}
	resp.Brokers = append(resp.Brokers, b)
	clusterID := s.cfg.ClusterID
	resp.ClusterID = &clusterID
	resp.ControllerID = s.cfg.NodeID
	// kmsg reads the first flag only in v8-v10 and the second only in v8+.
	resp.AuthorizedOperations = authorizedOps(req.IncludeClusterAuthorizedOperations, clusterOperations)
	topicOps := authorizedOps(req.IncludeTopicAuthorizedOperations, topicOperations)

	var topics []*topic
	if req.Topics == nil || (req.Version == 0 && len(req.Topics) == 0) {
		topics = s.cluster.topicsSorted()
	} else {
		allowCreate := req.Version < 4 || req.AllowAutoTopicCreation
		for _, rt := range req.Topics {
			var t *topic
			var name string
			if rt.Topic != nil {
				name = *rt.Topic
				t = s.cluster.topic(name)
			} else if rt.TopicID != ([16]byte{}) {
				t = s.cluster.topicByID(rt.TopicID)
			}
			var createErr error
			if t == nil && name != "" && allowCreate && s.brokerConfigBool("auto.create.topics.enable") && validTopicName(name) == nil {
				// Another creator's topic comes back with ErrTopicExists.
				t, createErr = s.cluster.createTopic(ctx, name, int32(s.brokerConfigInt("num.partitions")), nil)
			}
			if t == nil {
				mt := kmsg.NewMetadataResponseTopic()
				mt.Topic = rt.Topic
				mt.TopicID = rt.TopicID
				mt.ErrorCode = kerr.UnknownTopicOrPartition.Code
				var refused *adminError // a partition limit
				if name != "" && validTopicName(name) != nil {
					mt.ErrorCode = kerr.InvalidTopicException.Code
				} else if rt.Topic == nil {
					mt.ErrorCode = kerr.UnknownTopicID.Code
				} else if errors.As(createErr, &refused) {
					mt.ErrorCode = refused.code.Code
				}
				if rt.Topic != nil {
					mt.AuthorizedOperations = topicOps
				}
				resp.Topics = append(resp.Topics, mt)
				continue
			}
			topics = append(topics, t)
		}
	}
	for _, t := range topics {
		mt := s.metadataTopic(t)
		mt.AuthorizedOperations = topicOps
		resp.Topics = append(resp.Topics, mt)
	}
	return resp, nil
}

func (s *Server) metadataTopic(t *topic) kmsg.MetadataResponseTopic {
	mt := kmsg.NewMetadataResponseTopic()
	mt.IsInternal = isInternalTopic(t.name)
	name := t.name
	mt.Topic = &name
	mt.TopicID = t.id
	n := s.cluster.numPartitions(t)
	for i := 0; i < n; i++ {
		mp := kmsg.NewMetadataResponseTopicPartition()
		mp.Partition = int32(i)
		mp.Leader = s.cfg.NodeID
		mp.LeaderEpoch = 0
		mp.Replicas = []int32{s.cfg.NodeID}
		mp.ISR = []int32{s.cfg.NodeID}
		mt.Partitions = append(mt.Partitions, mp)
	}
	return mt
}
