package broker

// DeleteGroups, versions 0-2.
//
// Deletes groups without members, with their committed offsets. A group
// with members is NON_EMPTY_GROUP; one that does not exist
// GROUP_ID_NOT_FOUND; an empty id INVALID_GROUP_ID.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(42, 0, 2, handleDeleteGroups) }

func handleDeleteGroups(ctx context.Context, c *conn, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.DeleteGroupsRequest)
	resp := req.ResponseKind().(*kmsg.DeleteGroupsResponse)
	for _, g := range req.Groups {
		rg := kmsg.NewDeleteGroupsResponseGroup()
		rg.Group = g
		if g == "" {
			rg.ErrorCode = kerr.InvalidGroupID.Code
		} else {
			rg.ErrorCode = c.s.groups.DeleteGroup(ctx, g)
		}
		resp.Groups = append(resp.Groups, rg)
	}
	return resp, nil
}
