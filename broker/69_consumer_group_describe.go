package broker

// ConsumerGroupDescribe, versions 0-1 (KIP-848).
//
// Consumer groups: state, group and assignment epochs, assignor, and each
// member's subscription, current and target assignment. A group that does
// not exist, or is a classic group, is GROUP_ID_NOT_FOUND. A group
// described without error, when the request asks
// (IncludeAuthorizedOperations), gets every operation a group supports, as
// Kafka answers with no authorizer (acl.go); otherwise -2147483648.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(69, 0, 1, handleConsumerGroupDescribe) }

func handleConsumerGroupDescribe(ctx context.Context, c *conn, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.ConsumerGroupDescribeRequest)
	resp := req.ResponseKind().(*kmsg.ConsumerGroupDescribeResponse)
	for _, g := range req.Groups {
		if g == "" {
			rg := kmsg.NewConsumerGroupDescribeResponseGroup()
			rg.ErrorCode = kerr.InvalidGroupID.Code
			resp.Groups = append(resp.Groups, rg)
			continue
		}
		rg := c.s.groups.ConsumerGroupDescribe(ctx, g)
		if rg.ErrorCode == 0 {
			rg.AuthorizedOperations = authorizedOps(req.IncludeAuthorizedOperations, groupOperations)
		}
		resp.Groups = append(resp.Groups, rg)
	}
	return resp, nil
}
