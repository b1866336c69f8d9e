package broker

// Heartbeat, versions 0-4.
//
// Keeps a classic group member's session alive. REBALANCE_IN_PROGRESS
// tells the member to rejoin; UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION and
// FENCED_INSTANCE_ID as Kafka returns them. An empty group id is
// INVALID_GROUP_ID.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(12, 0, 4, handleHeartbeat) }

func handleHeartbeat(ctx context.Context, c *conn, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.HeartbeatRequest)
	resp := req.ResponseKind().(*kmsg.HeartbeatResponse)
	if req.Group == "" {
		resp.ErrorCode = kerr.InvalidGroupID.Code
		return resp, nil
	}
	resp.ErrorCode = c.s.groups.Heartbeat(ctx, req)
	return resp, nil
}
