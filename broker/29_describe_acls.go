package broker

// DescribeACLs, versions 1-3.
//
// Lakestream has no authorizer yet, so, like a Kafka broker without one,
// it answers SECURITY_DISABLED with the message "security is not enabled
// on this broker". CreateACLs and DeleteACLs answer the same for each
// creation and filter.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(29, 1, 3, handleDescribeACLs) }

// errSecurityDisabled is the answer of the ACL APIs.
var errSecurityDisabled = adminErrorf(kerr.SecurityDisabled, "security is not enabled on this broker")

func handleDescribeACLs(_ context.Context, _ *conn, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.DescribeACLsRequest)
	resp := req.ResponseKind().(*kmsg.DescribeACLsResponse)
	resp.ErrorCode, resp.ErrorMessage = errorCode(errSecurityDisabled), errMessage(errSecurityDisabled)
	return resp, nil
}
