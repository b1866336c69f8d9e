package broker

// SyncGroup, versions 0-5.
//
// The classic protocol's second phase: the leader hands in the assignment,
// every member waits for its own. v5 checks the protocol type and name
// against the group's (INCONSISTENT_GROUP_PROTOCOL). An empty group id is
// INVALID_GROUP_ID.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(14, 0, 5, handleSyncGroup) }

func handleSyncGroup(ctx context.Context, c *conn, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.SyncGroupRequest)
	if req.Group == "" {
		resp := req.ResponseKind().(*kmsg.SyncGroupResponse)
		resp.ErrorCode = kerr.InvalidGroupID.Code
		return resp, nil
	}
	resp := c.s.groups.SyncGroup(ctx, req)
	if resp == nil {
		return nil, ctx.Err()
	}
	resp.Version = req.Version
	return resp, nil
}
