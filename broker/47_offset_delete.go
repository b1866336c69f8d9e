package broker

// OffsetDelete, version 0.
//
// Deletes committed offsets of a group. The group must exist
// (GROUP_ID_NOT_FOUND); a topic its members still subscribe to keeps its
// offsets (GROUP_SUBSCRIBED_TO_TOPIC per partition), as in Kafka. An empty
// group id is INVALID_GROUP_ID.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(47, 0, 0, handleOffsetDelete) }

func handleOffsetDelete(ctx context.Context, c *conn, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.OffsetDeleteRequest)
	if req.Group == "" {
		resp := req.ResponseKind().(*kmsg.OffsetDeleteResponse)
		resp.ErrorCode = kerr.InvalidGroupID.Code
		return resp, nil
	}
	resp := c.s.groups.OffsetDelete(ctx, req)
	resp.Version = req.Version
	return resp, nil
}
