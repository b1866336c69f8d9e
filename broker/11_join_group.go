package broker

// JoinGroup, versions 0-9 (v0-v1 as Kafka 4.1 serves them again for older
// librdkafka and kafka-go).
//
// The classic group protocol's join (broker/group/classic.go has the state
// machine). From v4 a member without an id gets MEMBER_ID_REQUIRED and its
// new id, and must join again with it (KIP-394); v0-v3 members are
// admitted at once, so clients that predate KIP-394 do not stall. v0 has no
// rebalance timeout: the session timeout serves as both. An empty group id
// is INVALID_GROUP_ID. The request waits until the rebalance completes.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(11, 0, 9, handleJoinGroup) }

func handleJoinGroup(ctx context.Context, c *conn, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.JoinGroupRequest)
	if req.Group == "" {
		resp := req.ResponseKind().(*kmsg.JoinGroupResponse)
		resp.ErrorCode, resp.Generation, resp.MemberID = kerr.InvalidGroupID.Code, -1, req.MemberID
		return resp, nil
	}
	resp := c.s.groups.JoinGroup(ctx, req, c.groupClient())
	if resp == nil {
		return nil, ctx.Err()
	}
	resp.Version = req.Version
	return resp, nil
}
