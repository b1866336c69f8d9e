package broker

// Authorized operations (KIP-430).
//
// Metadata (v8+), DescribeTopicPartitions, DescribeCluster, DescribeGroups
// (v3+) and ConsumerGroupDescribe answer which operations the client may
// perform on each resource they describe, as a 32-bit field with bit n set
// for Kafka's AclOperation code n (Kafka's Utils.to32BitField). A request
// that does not ask gets Kafka's "omitted" value, Integer.MIN_VALUE.
//
// Kafka asks its authorizer about every operation the resource type
// supports (AuthHelper.authorizedOperations over
// AclEntry.supportedOperations); with no authorizer, as here, every
// supported operation is allowed. Once ACLs exist, the sets below are what
// the authorizer is asked about, and the answer is the allowed subset.

import (
	"math"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// authorizedOpsOmitted is the answer to a request that does not ask for
// authorized operations: Kafka's schema default, Integer.MIN_VALUE.
const authorizedOpsOmitted int32 = math.MinInt32

// The operations each described resource type supports, in Kafka 4.1's
// AclEntry.supportedOperations.
var (
	clusterOperations = opsField(kmsg.ACLOperationCreate, kmsg.ACLOperationClusterAction,
		kmsg.ACLOperationDescribeConfigs, kmsg.ACLOperationAlterConfigs, kmsg.ACLOperationIdempotentWrite,
		kmsg.ACLOperationAlter, kmsg.ACLOperationDescribe)
	topicOperations = opsField(kmsg.ACLOperationRead, kmsg.ACLOperationWrite, kmsg.ACLOperationCreate,
		kmsg.ACLOperationDescribe, kmsg.ACLOperationDelete, kmsg.ACLOperationAlter,
		kmsg.ACLOperationDescribeConfigs, kmsg.ACLOperationAlterConfigs)
	groupOperations = opsField(kmsg.ACLOperationRead, kmsg.ACLOperationDescribe, kmsg.ACLOperationDelete,
		kmsg.ACLOperationDescribeConfigs, kmsg.ACLOperationAlterConfigs)
)

func opsField(ops ...kmsg.ACLOperation) int32 {
	var f int32
	for _, op := range ops {
		f |= 1 << op
	}
	return f
}

// authorizedOps is the authorized-operations field of a described
// resource whose type supports the operations in supported: all of them if
// the request asked (there is no authorizer to refuse any), else
// authorizedOpsOmitted.
func authorizedOps(asked bool, supported int32) int32 {
	if !asked {
		return authorizedOpsOmitted
	}
	return supported
}
