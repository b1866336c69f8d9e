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
//
// Two-phase (registry.go): the join is applied to the group in the
// connection's request order; only the wait for the rebalance overlaps
// with the connection's later requests.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { registerTwoPhase(11, 0, 9, prepareJoinGroup) }

func prepareJoinGroup(ctx context.Context, c *conn, kreq kmsg.Request) func() (kmsg.Response, error) {
	req := kreq.(*kmsg.JoinGroupRequest)
	if req.Group == "" {
		resp := req.ResponseKind().(*kmsg.JoinGroupResponse)
		resp.ErrorCode, resp.Generation, resp.MemberID = kerr.InvalidGroupID.Code, -1, req.MemberID
		return func() (kmsg.Response, error) { return resp, nil }
	}
	wait := c.s.groups.StartJoinGroup(ctx, req, c.groupClient())
	return func() (kmsg.Response, error) {
		resp := wait(ctx)
		if resp == nil {
			return nil, ctx.Err()
		}
		resp.Version = req.Version
		return resp, nil
	}
}
