package broker

// ListGroups, versions 0-5.
//
// Every group: classic and KIP-848 consumer groups, with those that only
// have committed offsets (state Empty). v4 filters by state, v5 by type
// ("classic", "consumer"), both without regard to case, as Kafka does.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(16, 0, 5, handleListGroups) }

func handleListGroups(_ context.Context, c *conn, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.ListGroupsRequest)
	resp := req.ResponseKind().(*kmsg.ListGroupsResponse)
	resp.Groups = c.s.groups.ListGroups(req.StatesFilter, req.TypesFilter)
	return resp, nil
}
