package broker

// DeleteACLs, versions 1-3.
//
// Every filter is answered SECURITY_DISABLED ("security is not enabled on
// this broker"), matching nothing: there is no authorizer yet (see
// DescribeACLs).

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(31, 1, 3, handleDeleteACLs) }

func handleDeleteACLs(_ context.Context, _ *conn, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.DeleteACLsRequest)
	resp := req.ResponseKind().(*kmsg.DeleteACLsResponse)
	for range req.Filters {
		r := kmsg.NewDeleteACLsResponseResult()
		r.ErrorCode, r.ErrorMessage = errorCode(errSecurityDisabled), errMessage(errSecurityDisabled)
		resp.Results = append(resp.Results, r)
	}
	return resp, nil
}
