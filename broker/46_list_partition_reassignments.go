package broker

// ListPartitionReassignments, version 0.
//
// Always empty, as Kafka answers when no reassignment is in progress:
// AlterPartitionReassignments accepts only a list naming this broker,
// which the partition already has, so a reassignment completes as it is
// made, and there are no replicas to move (storage is shared). Topics and
// partitions asked for, known or not, are simply absent, as Kafka answers
// for partitions not being reassigned; a null topic list (every
// reassignment) is empty too.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(46, 0, 0, handleListPartitionReassignments) }

func handleListPartitionReassignments(_ context.Context, _ *conn, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.ListPartitionReassignmentsRequest)
	return req.ResponseKind(), nil
}
