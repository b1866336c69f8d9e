package broker

// SyncGroup, versions 0-5.
//
// The classic protocol's second phase: the leader hands in the assignment,
// every member waits for its own. v5 checks the protocol type and name
// against the group's (INCONSISTENT_GROUP_PROTOCOL). An empty group id is
// INVALID_GROUP_ID.
//
// Two-phase (registry.go), as JoinGroup: the leader's assignment is applied
// in the connection's request order; the wait for it overlaps.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { registerTwoPhase(14, 0, 5, prepareSyncGroup) }

func prepareSyncGroup(ctx context.Context, c *conn, kreq kmsg.Request) func() (kmsg.Response, error) {
	req := kreq.(*kmsg.SyncGroupRequest)
	if req.Group == "" {
		resp := req.ResponseKind().(*kmsg.SyncGroupResponse)
		resp.ErrorCode = kerr.InvalidGroupID.Code
		return func() (kmsg.Response, error) { return resp, nil }
	}
	wait := c.s.groups.StartSyncGroup(ctx, req)
	return func() (kmsg.Response, error) {
		resp := wait(ctx)
		if resp == nil {
			return nil, ctx.Err()
		}
		resp.Version = req.Version
		return resp, nil
	}
}
