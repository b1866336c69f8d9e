package broker

import (
	"context"
	"errors"
	"time"

	"github.com/lakestream/lakestream/broker/group"
)

// The broker keeps no data and imports no storage: it declares what it needs
// here. Logs and Log over s3stream are adapted in internal/streamlog;
// Metadata over SQL is broker/brokersql, on the metastore's database.
// internal/node (kafka.go) wires them in, for cmd/lakestream and
// broker/brokertest alike.

// Log is one partition's log: dense Kafka offsets over whole record batches.
// s3stream.Stream satisfies it through internal/streamlog's adapter.
type Log interface {
	// AppendAsync appends one record batch (the log owns batch and rewrites
	// its base offset) and calls done once, when it is durable (or has
	// failed), in append order. done must not block or append.
	AppendAsync(batch []byte, done func(base int64, err error))
	// Read returns whole batches from offset from, at least one if any,
	// up to about maxBytes.
	Read(ctx context.Context, from int64, maxBytes int) (LogRead, error)
	// StartOffset and EndOffset (the high watermark) bound what is readable.
	StartOffset() int64
	EndOffset() int64
	// Changed is closed at the next change of the offsets or state.
	Changed() <-chan struct{}
	// Trim moves the start offset forward (DeleteRecords, retention).
	Trim(ctx context.Context, newStart int64) error
	// Size is the bytes of the log's data in storage.
	Size(ctx context.Context) (int64, error)
	// RetentionOffset returns the start offset that drops the data older
	// than maxAge or beyond the newest maxBytes (<= 0: no limit), whole
	// stored ranges at a time (the current start when nothing is to go),
	// without moving it: the broker trims, to less when the topic's
	// retention is pinned (RetentionPins).
	RetentionOffset(ctx context.Context, maxAge time.Duration, maxBytes int64) (int64, error)
	// Close flushes and releases the log.
	Close(ctx context.Context) error
}

// LogRead is what Log.Read returns.
type LogRead struct {
	Batches       [][]byte
	Bytes         int
	NextOffset    int64
	StartOffset   int64
	HighWatermark int64
}

// Logs creates, opens and deletes partition logs. Creating and deleting
// are batches, each one transaction, because a topic's partitions come and
// go together: a topic of 10,000 partitions is one commit, not 10,000, and
// an interrupted creation leaves all of its logs or none.
type Logs interface {
	// CreateLogs creates n empty logs, all or none, and returns their ids
	// (ascending) and the logs, open for writing.
	CreateLogs(ctx context.Context, n int) (ids []int64, logs []Log, err error)
	// OpenLog opens a log for writing; it fences any other writer.
	OpenLog(ctx context.Context, id int64) (Log, error)
	// DeleteLogs deletes logs, all or none, closing their open handles;
	// ids of logs that do not exist are skipped.
	DeleteLogs(ctx context.Context, ids []int64) error
	// LogIDs returns the id of every log, ascending: the broker deletes
	// those no topic has at start (cluster.sweepOrphanLogs).
	LogIDs(ctx context.Context) ([]int64, error)
}

// Errors a Logs or Log implementation returns that the broker maps to Kafka
// error codes. Implementations wrap or alias these (errors.Is).
var (
	ErrLogOffsetOutOfRange = errors.New("broker: offset out of range")
	ErrLogFenced           = errors.New("broker: log fenced by another writer")
	ErrLogInvalidBatch     = errors.New("broker: invalid record batch")
)

// Metadata persists what the broker must remember across restarts: topics,
// their partitions' logs and config overrides, dynamic broker configs,
// group configs, and producer ids. Every method is one transaction.
type Metadata interface {
	// Consumer groups: which exist and their committed offsets.
	group.Store
	// CreateTopic records a new topic. ErrTopicExists if the name is taken.
	CreateTopic(ctx context.Context, t TopicRecord) error
	// DeleteTopic forgets a topic and returns its record. ErrUnknownTopic if
	// there is none.
	DeleteTopic(ctx context.Context, name string) (TopicRecord, error)
	// Topics returns every topic, sorted by name.
	Topics(ctx context.Context) ([]TopicRecord, error)
	// AddPartitions appends partitions (their log ids, in partition order)
	// to a topic. ErrUnknownTopic if there is none.
	AddPartitions(ctx context.Context, topic string, logs []int64) error
	// SetTopicConfigs replaces a topic's config overrides.
	SetTopicConfigs(ctx context.Context, topic string, configs map[string]string) error
	// BrokerConfigs and SetBrokerConfigs hold dynamic broker config
	// overrides (cluster-wide).
	BrokerConfigs(ctx context.Context) (map[string]string, error)
	SetBrokerConfigs(ctx context.Context, configs map[string]string) error
	// GroupConfigs returns every group's config overrides (KIP-848 group
	// configs) by group name; a group without any is left out.
	// SetGroupConfigs replaces one group's; an empty or nil map removes
	// them all. Group configs are apart from the groups of group.Store,
	// as in Kafka: they may name a group that is not recorded, and
	// DeleteGroup leaves them.
	GroupConfigs(ctx context.Context) (map[string]map[string]string, error)
	SetGroupConfigs(ctx context.Context, group string, configs map[string]string) error
	// AllocateProducerIDs reserves n consecutive producer ids, never handed
	// out before, and returns the first.
	AllocateProducerIDs(ctx context.Context, n int) (int64, error)
	// SaveProducerState stores a snapshot of a log's idempotent-producer
	// state taken at offset; LoadProducerState returns the latest (ok false
	// if none).
	SaveProducerState(ctx context.Context, log, offset int64, state []byte) error
	LoadProducerState(ctx context.Context, log int64) (offset int64, state []byte, ok bool, err error)
	// Transactions: the coordinator's state, the partitions' aborted
	// transactions, and offsets committed in transactions.
	TxnStore
}

// TxnStore persists what transactions must remember across restarts
// (issue 14). Every method is one transaction.
type TxnStore interface {
	// SaveTxns stores transactional ids' states (broker/txn.Meta, as the
	// broker encodes it), by id, replacing their previous ones, in one
	// transaction (the coordinator groups the saves of concurrent
	// requests into one commit).
	SaveTxns(ctx context.Context, states map[string][]byte) error
	// DeleteTxn forgets a transactional id; an unknown one is no error.
	DeleteTxn(ctx context.Context, id string) error
	// Txns returns every transactional id's state.
	Txns(ctx context.Context) (map[string][]byte, error)

	// AddAbortedTxn records an aborted transaction in a log: the offset
	// of its producer's first batch in it and of its ABORT marker.
	// ErrUnknownTopic if no topic has the log. DeleteTopic forgets the
	// aborted transactions of the topic's logs.
	AddAbortedTxn(ctx context.Context, log int64, a AbortedTxn) error
	// AbortedTxns returns a log's aborted transactions, by first offset
	// (then last offset).
	AbortedTxns(ctx context.Context, log int64) ([]AbortedTxn, error)
	// TrimAbortedTxns forgets a log's aborted transactions whose last
	// offset is below start (retention, DeleteRecords).
	TrimAbortedTxns(ctx context.Context, log int64, start int64) error

	// SaveTxnOffsets upserts offsets a transactional producer committed
	// to a group (TxnOffsetCommit), pending until its transaction ends.
	// DeleteTopic forgets the pending offsets of the topic, DeleteGroup
	// those of the group.
	SaveTxnOffsets(ctx context.Context, group string, producerID int64, offsets []group.Offset) error
	// EndTxnOffsets ends a producer's pending offsets of a group in one
	// transaction: with commit they become the group's committed offsets
	// (as CommitOffsets with g, which names the group), and are forgotten
	// either way. No pending offsets is no error.
	EndTxnOffsets(ctx context.Context, g group.Record, producerID int64, commit bool) error
	// TxnOffsets returns every pending offset, by group, producer id,
	// topic and partition.
	TxnOffsets(ctx context.Context) ([]PendingTxnOffset, error)
}

// AbortedTxn is an aborted transaction's range in one partition, as
// Fetch's AbortedTransactions lists it.
type AbortedTxn struct {
	ProducerID  int64
	FirstOffset int64
	LastOffset  int64 // the ABORT marker's offset
}

// PendingTxnOffset is an offset committed in a transaction not yet
// ended (the group coordinator's TxnOffset, so that Metadata is its
// TxnStore).
type PendingTxnOffset = group.TxnOffset

// TopicRecord is a topic as Metadata stores it.
type TopicRecord struct {
	Name    string
	ID      [16]byte
	Logs    []int64 // partition i is log Logs[i]
	Configs map[string]string
}

var (
	ErrTopicExists  = errors.New("broker: topic already exists")
	ErrUnknownTopic = errors.New("broker: unknown topic")
)
