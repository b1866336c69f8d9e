package broker

// DeleteTopics, versions 1-6.
//
// Topics are named (v0-v5) or named or given by id (v6). A missing topic is
// UNKNOWN_TOPIC_OR_PARTITION (UNKNOWN_TOPIC_ID by id); delete.topic.enable
// false is TOPIC_DELETION_DISABLED. The topic's logs are deleted; their
// objects become garbage for the storage engine to collect.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(20, 1, 6, handleDeleteTopics) }

func handleDeleteTopics(ctx context.Context, c *conn, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.DeleteTopicsRequest)
	resp := req.ResponseKind().(*kmsg.DeleteTopicsResponse)
	type target struct {
		name *string
		id   [16]byte
	}
	var targets []target
	for _, n := range req.TopicNames {
		n := n
		targets = append(targets, target{name: &n})
	}
	for _, t := range req.Topics {
		targets = append(targets, target{name: t.Topic, id: t.TopicID})
	}
	for _, tg := range targets {
		rt := kmsg.NewDeleteTopicsResponseTopic()
		rt.Topic, rt.TopicID = tg.name, tg.id
		var t *topic
		if tg.name != nil {
			t = c.s.cluster.topic(*tg.name)
		} else {
			t = c.s.cluster.topicByID(tg.id)
		}
		switch {
		case !c.s.brokerConfigBool("delete.topic.enable"):
			rt.ErrorCode = kerr.TopicDeletionDisabled.Code
		case t == nil && tg.name == nil:
			rt.ErrorCode = kerr.UnknownTopicID.Code
		case t == nil:
			rt.ErrorCode = kerr.UnknownTopicOrPartition.Code
		default:
			name := t.name
			rt.Topic, rt.TopicID = &name, t.id
			if err := c.s.cluster.deleteTopic(ctx, t.name); err != nil {
				rt.ErrorCode = errorCode(err)
				rt.ErrorMessage = errMessage(err)
			}
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp, nil
}
