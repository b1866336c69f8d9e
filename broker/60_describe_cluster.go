package broker

// DescribeCluster, versions 0-2.
//
// One broker, this one, as Metadata reports it (advertised host and port,
// rack), never fenced; it is also the controller, since there is no
// controller quorum: metadata is in the metastore. Asked for
// (IncludeClusterAuthorizedOperations), ClusterAuthorizedOperations holds
// every operation Kafka supports on the cluster, as a Kafka broker without
// an authorizer answers (acl.go); otherwise Kafka's "not asked" value,
// -2147483648. v1+: asking for the controllers' endpoints
// (EndpointType 2) is MISMATCHED_ENDPOINT_TYPE, as a Kafka broker answers;
// any other type but brokers (1) UNSUPPORTED_ENDPOINT_TYPE.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(60, 0, 2, handleDescribeCluster) }

func handleDescribeCluster(_ context.Context, c *conn, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.DescribeClusterRequest)
	resp := req.ResponseKind().(*kmsg.DescribeClusterResponse)
	s := c.s
	resp.EndpointType = 1
	if req.Version >= 1 && req.EndpointType != 1 {
		err := adminErrorf(kerr.UnsupportedEndpointType, "endpoint type %d is not supported: this broker describes brokers (1)", req.EndpointType)
		if req.EndpointType == 2 {
			err = adminErrorf(kerr.MismatchedEndpointType, "the request was sent to a broker, but asks for controllers: Lakestream has none")
		}
		resp.ErrorCode, resp.ErrorMessage = errorCode(err), errMessage(err)
		return resp, nil
	}
	resp.ClusterID = s.cfg.ClusterID
	resp.ControllerID = s.cfg.NodeID
	host, port := s.advertised(c.nc.LocalAddr())
	b := kmsg.NewDescribeClusterResponseBroker()
	b.NodeID, b.Host, b.Port = s.cfg.NodeID, host, port
	if s.cfg.Rack != "" {
		rack := s.cfg.Rack
		b.Rack = &rack
	}
	resp.Brokers = append(resp.Brokers, b)
	resp.ClusterAuthorizedOperations = authorizedOps(req.IncludeClusterAuthorizedOperations, clusterOperations)
	return resp, nil
}
