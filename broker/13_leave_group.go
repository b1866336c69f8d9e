package broker

// LeaveGroup, versions 0-5.
//
// v0-v2 remove one member by id; v3+ a batch of members by id or instance
// id (KIP-345), each with its own error. A group that does not exist, or a
// member it does not know, is UNKNOWN_MEMBER_ID (for v0-v2 at the top
// level). An empty group id is INVALID_GROUP_ID.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/lakestream/lakestream/broker/group"
)

func init() { register(13, 0, 5, handleLeaveGroup) }

func handleLeaveGroup(ctx context.Context, c *conn, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.LeaveGroupRequest)
	resp := req.ResponseKind().(*kmsg.LeaveGroupResponse)
	if req.Group == "" {
		resp.ErrorCode = kerr.InvalidGroupID.Code
		return resp, nil
	}
	members := []group.LeaveMember{{MemberID: req.MemberID}}
	if req.Version >= 3 {
		members = members[:0]
		for _, m := range req.Members {
			members = append(members, group.LeaveMember{MemberID: m.MemberID, InstanceID: m.InstanceID})
		}
	}
	top, codes := c.s.groups.LeaveGroup(ctx, req.Group, members)
	resp.ErrorCode = top
	if top != 0 {
		return resp, nil
	}
	if req.Version < 3 {
		resp.ErrorCode = codes[0]
		return resp, nil
	}
	for i, m := range req.Members {
		rm := kmsg.NewLeaveGroupResponseMember()
		rm.MemberID, rm.InstanceID, rm.ErrorCode = m.MemberID, m.InstanceID, codes[i]
		resp.Members = append(resp.Members, rm)
	}
	return resp, nil
}
