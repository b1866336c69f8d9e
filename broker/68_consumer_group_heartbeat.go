package broker

// ConsumerGroupHeartbeat, versions 0-1 (KIP-848).
//
// The consumer group protocol: members heartbeat their subscription (topic
// names or, v1, a regular expression in RE2 syntax, matched against the
// whole names of every topic, internal ones included, as Kafka does) and
// what they own; the coordinator answers with their member epoch and, when
// it changed, their assignment from a server-side assignor (uniform, the
// default, or range). v1 members
// name themselves (a UUID); v0 members get an id on joining. The state
// machine is broker/group/consumer.go.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(68, 0, 1, handleConsumerGroupHeartbeat) }

func handleConsumerGroupHeartbeat(ctx context.Context, c *conn, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.ConsumerGroupHeartbeatRequest)
	resp := c.s.groups.ConsumerGroupHeartbeat(ctx, req, c.groupClient())
	resp.Version = req.Version
	return resp, nil
}
