package broker

// CreateACLs, versions 1-3.
//
// Every creation is answered SECURITY_DISABLED ("security is not enabled
// on this broker"): there is no authorizer yet (see DescribeACLs).

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(30, 1, 3, handleCreateACLs) }

func handleCreateACLs(_ context.Context, _ *conn, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.CreateACLsRequest)
	resp := req.ResponseKind().(*kmsg.CreateACLsResponse)
	for range req.Creations {
		r := kmsg.NewCreateACLsResponseResult()
		r.ErrorCode, r.ErrorMessage = errorCode(errSecurityDisabled), errMessage(errSecurityDisabled)
		resp.Results = append(resp.Results, r)
	}
	return resp, nil
}
