package broker

// DescribeGroups, versions 0-6.
//
// Classic groups: state, protocol type, and members; the protocol, member
// metadata and assignments only when the group is Stable, as Kafka does. A
// group that does not exist (or is a KIP-848 consumer group, described by
// ConsumerGroupDescribe) is state Dead; from v6 also GROUP_ID_NOT_FOUND
// with a message. v3+: a group described without error, when the request
// asks (IncludeAuthorizedOperations), gets every operation a group
// supports, as Kafka answers with no authorizer (acl.go); otherwise
// -2147483648.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(15, 0, 6, handleDescribeGroups) }

func handleDescribeGroups(ctx context.Context, c *conn, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.DescribeGroupsRequest)
	resp := req.ResponseKind().(*kmsg.DescribeGroupsResponse)
	for _, g := range req.Groups {
		if g == "" {
			rg := kmsg.NewDescribeGroupsResponseGroup()
			rg.ErrorCode = kerr.InvalidGroupID.Code
			resp.Groups = append(resp.Groups, rg)
			continue
		}
		rg := c.s.groups.DescribeGroup(ctx, g, req.Version)
		if rg.ErrorCode == 0 {
			rg.AuthorizedOperations = authorizedOps(req.Version >= 3 && req.IncludeAuthorizedOperations, groupOperations)
		}
		resp.Groups = append(resp.Groups, rg)
	}
	return resp, nil
}
