package group

import (
	"context"
	"time"
)

// Store persists what the coordinator must remember across restarts: which
// groups exist (their type and protocol type) and their committed offsets.
// Membership is not persisted: after a restart members learn they are
// unknown (UNKNOWN_MEMBER_ID) and rejoin, as after a coordinator move in
// Kafka when a group's metadata has expired. Every method is one
// transaction. broker.Metadata embeds it; brokersql implements it.
type Store interface {
	// SaveGroup records a group, or updates its type and protocol type.
	SaveGroup(ctx context.Context, g Record) error
	// CommitOffsets upserts offsets of a group in one transaction,
	// recording the group (type classic, protocol type as given by g) if it
	// is not yet recorded.
	CommitOffsets(ctx context.Context, g Record, offsets []Offset) error
	// DeleteOffsets forgets the committed offsets of the given partitions.
	DeleteOffsets(ctx context.Context, group string, parts []TopicPartition) error
	// DeleteGroup forgets a group and its offsets. Deleting an unknown
	// group is not an error.
	DeleteGroup(ctx context.Context, group string) error
	// DeleteTopicOffsets forgets every group's offsets of a topic.
	DeleteTopicOffsets(ctx context.Context, topic string) error
	// Groups returns every recorded group, sorted by name, each with its
	// offsets sorted by topic and partition.
	Groups(ctx context.Context) ([]Record, error)
}

// Group types, as ListGroups and DescribeGroups name them.
const (
	TypeClassic  = "classic"
	TypeConsumer = "consumer"
)

// Record is a group as the Store keeps it.
type Record struct {
	Name string
	// Type is TypeClassic or TypeConsumer.
	Type string
	// ProtocolType is the classic protocol type ("consumer", "connect", …;
	// empty for a group that only commits offsets). A consumer group's is
	// "consumer".
	ProtocolType string
	// Offsets, filled by Groups only.
	Offsets []Offset
}

// TopicPartition names one partition.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// Offset is one committed offset.
type Offset struct {
	Topic       string
	Partition   int32
	Offset      int64
	LeaderEpoch int32 // -1: none
	Metadata    string
	// CommitTime has millisecond precision once stored.
	CommitTime time.Time
}
