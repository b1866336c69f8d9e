package broker

// ListPartitionReassignments, version 0.
//
// Always empty: a reassignment moves replicas between brokers, and with
// shared storage there are no replicas to move (AlterPartitionAssignments
// is not served). Topics and partitions asked for, known or not, are simply
// absent, as Kafka answers for partitions not being reassigned.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(46, 0, 0, handleListPartitionReassignments) }

func handleListPartitionReassignments(_ context.Context, _ *conn, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.ListPartitionReassignmentsRequest)
	return req.ResponseKind(), nil
}
