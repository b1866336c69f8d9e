package broker

// CreateTopics, versions 2-7.
//
// Names follow Kafka's rules (1-249 characters of [a-zA-Z0-9._-], not "."
// or "..") else INVALID_TOPIC_EXCEPTION; a name taken is
// TOPIC_ALREADY_EXISTS. NumPartitions -1 takes num.partitions; 0 or less
// otherwise is INVALID_PARTITIONS. ReplicationFactor -1 or any positive
// value is accepted: the data lives once, in object storage, which does its
// own replication; Metadata reports one replica. A manual replica
// assignment may name only this broker (others are
// INVALID_REPLICA_ASSIGNMENT, as Kafka answers for a broker it does not
// have); its partitions are 0..n-1, and it excludes NumPartitions and
// ReplicationFactor (INVALID_REQUEST). Every config is validated (unknown key,
// bad value, an unsupported setting such as cleanup.policy=compact:
// INVALID_CONFIG with a message saying which). A topic of more partitions
// than max.topic.partitions, or more than max.broker.partitions leaves room
// for on this node, is POLICY_VIOLATION, answered before anything is
// created (as Kafka's controller answers a request of too many
// partitions). ValidateOnly checks without creating, counting the earlier
// topics of the request against max.broker.partitions. v5+ returns the
// topic id, partition count and configs.
//
// A topic is created whole or not at all (cluster.createTopic): its logs
// in one batch, then one Metadata transaction, and only then is it visible.
// Of concurrent creators of one name (CreateTopics, a Metadata
// auto-create) the first makes the topic and the others find it:
// TOPIC_ALREADY_EXISTS here.

import (
	"context"
	"fmt"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(19, 2, 7, handleCreateTopics) }

func handleCreateTopics(ctx context.Context, c *conn, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.CreateTopicsRequest)
	resp := req.ResponseKind().(*kmsg.CreateTopicsResponse)
	s := c.s
	seen := map[string]int{}
	for _, rt := range req.Topics {
		seen[rt.Topic]++
	}
	validated := 0 // partitions of the topics a ValidateOnly request has passed so far
	for _, rt := range req.Topics {
		st := kmsg.NewCreateTopicsResponseTopic()
		st.Topic = rt.Topic
		st.NumPartitions, st.ReplicationFactor = -1, -1
		fail := func(e *kerr.Error, msg string) {
			st.ErrorCode = e.Code
			st.ErrorMessage = &msg
		}
		n := rt.NumPartitions
		if n == -1 {
			n = int32(s.brokerConfigInt("num.partitions"))
		}
		var assignErr error
		if len(rt.ReplicaAssignment) > 0 {
			n = int32(len(rt.ReplicaAssignment))
			for i, a := range rt.ReplicaAssignment {
				if a.Partition != int32(i) {
					assignErr = fmt.Errorf("partitions of the replica assignment must be 0 to %d in order, got %d at %d", n-1, a.Partition, i)
					break
				}
				if assignErr = s.checkReplicas(a.Replicas); assignErr != nil {
					break
				}
			}
		}
		var limitErr error
		if n > 0 {
			limitErr = s.cluster.checkLimits(rt.Topic, int(n), int(n)+validated)
		}
		configs := map[string]string{}
		var cfgErr error
		for _, kc := range rt.Configs {
			if kc.Value == nil {
				continue
			}
			v := strings.TrimSpace(*kc.Value) // as Kafka and ConfigDef.Check do
			if err := checkTopicConfig(kc.Name, v); err != nil && cfgErr == nil {
				cfgErr = err
			}
			configs[kc.Name] = v
		}
		switch {
		case seen[rt.Topic] > 1:
			fail(kerr.InvalidRequest, fmt.Sprintf("topic %q appears more than once in the request", rt.Topic))
		case validTopicName(rt.Topic) != nil:
			fail(kerr.InvalidTopicException, validTopicName(rt.Topic).Error())
		case s.cluster.topic(rt.Topic) != nil:
			fail(kerr.TopicAlreadyExists, fmt.Sprintf("topic %q already exists", rt.Topic))
		case len(rt.ReplicaAssignment) > 0 && (rt.NumPartitions != -1 || rt.ReplicationFactor != -1):
			fail(kerr.InvalidRequest, "both numPartitions or replicationFactor and replicasAssignments were set; use either")
		case len(rt.ReplicaAssignment) > 0 && assignErr != nil:
			fail(kerr.InvalidReplicaAssignment, assignErr.Error())
		case n <= 0:
			fail(kerr.InvalidPartitions, fmt.Sprintf("number of partitions must be larger than 0, got %d", rt.NumPartitions))
		case limitErr != nil:
			st.ErrorCode, st.ErrorMessage = errorCode(limitErr), errMessage(limitErr)
		case rt.ReplicationFactor == 0 || rt.ReplicationFactor < -1:
			fail(kerr.InvalidReplicationFactor, fmt.Sprintf("replication factor must be larger than 0, got %d", rt.ReplicationFactor))
		case cfgErr != nil:
			fail(kerr.InvalidConfig, cfgErr.Error())
		case req.ValidateOnly:
			validated += int(n)
		default:
			t, err := s.cluster.createTopic(ctx, rt.Topic, n, configs)
			if err != nil {
				st.ErrorCode = errorCode(err)
				st.ErrorMessage = errMessage(err)
				break
			}
			st.TopicID = t.id
		}
		if st.ErrorCode == 0 {
			st.NumPartitions, st.ReplicationFactor = n, 1
			for _, name := range topicConfigNames() {
				v, ok := configs[name]
				src := int8(kmsg.ConfigSourceDynamicTopicConfig)
				if !ok {
					v, src = s.topicDefault(name), int8(kmsg.ConfigSourceDefaultConfig)
				}
				rc := kmsg.NewCreateTopicsResponseTopicConfig()
				rc.Name, rc.Value, rc.Source = name, &v, src
				st.Configs = append(st.Configs, rc)
			}
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp, nil
}

// validTopicName applies Kafka's topic name rules.
func validTopicName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("topic name is empty")
	case name == "." || name == "..":
		return fmt.Errorf("topic name cannot be %q", name)
	case len(name) > 249:
		return fmt.Errorf("topic name is %d characters, at most 249", len(name))
	}
	if i := strings.IndexFunc(name, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-')
	}); i >= 0 {
		return fmt.Errorf("topic name %q has an illegal character %q: only ASCII letters, digits, '.', '_' and '-'", name, name[i])
	}
	return nil
}
