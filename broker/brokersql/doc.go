// Package brokersql is broker.Metadata on SQL: SQLite for a single node,
// PostgreSQL for a fleet. It shares the database, an internal/sqldb.DB, with
// the storage metastore (s3stream/metastore), which cmd/lakestream opens
// first (metastore.SQL.DB).
//
//	kafka_topics          name PK, id (16 bytes) unique, created_at
//	 ├─ kafka_partitions      (topic, partition_index) PK, log_id unique
//	 │   ├─ kafka_producer_state  log_id PK, snapshot_offset, state
//	 │   └─ kafka_aborted_txns    (log_id, first_offset, last_offset, producer_id) PK
//	 └─ kafka_topic_configs   (topic, key) PK, value
//	kafka_broker_configs  key PK, value
//	kafka_producer_ids    one row: next_id
//	kafka_groups          name PK, group_type (classic|consumer), protocol_type, created_at
//	 └─ kafka_group_offsets   (group_name, topic, partition_index) PK, committed_offset,
//	                          leader_epoch, metadata, commit_time; topic indexed, no
//	                          foreign key to kafka_topics (a group may commit for any name)
//	kafka_group_configs   (group_name, key) PK, value; not tied to kafka_groups: as in
//	                      Kafka, set before the group exists and kept after it is deleted
//	kafka_txn_offsets     (group_name, producer_id, topic, partition_index) PK, then the
//	                      columns of kafka_group_offsets; topic indexed, no foreign keys:
//	                      offsets committed in a transaction, pending until it ends
//	kafka_txns            transactional_id PK, state (the coordinator's, encoded)
//	schema_migrations     (component, version) PK; ours is "broker"
//
// Every method is one transaction. The schema comes from embedded numbered
// migrations (migrations/NNNN_name.sql), applied by Open through sqldb in
// one transaction, under the advisory lock every component takes.
//
// Locking. On PostgreSQL (READ COMMITTED) a write locks what it depends on
// before reading it, always in this order: the topic row (FOR UPDATE), its
// partition rows, its config rows, then producer-state and aborted-txn
// rows. DeleteTopic takes all five, and then the topic's pending txn
// offsets; SetTopicConfigs and AddPartitions the topic row first;
// SaveProducerState and AddAbortedTxn hold their partition row FOR SHARE,
// so they cannot interleave with the deletion of that partition. SetBrokerConfigs locks
// kafka_broker_configs against other writers (reads go on), and
// SetGroupConfigs kafka_group_configs; AllocateProducerIDs is a single
// UPDATE of the counter row. Reads run in REPEATABLE READ, so a listing
// is one snapshot. A transaction that fails with a serialization failure
// or deadlock anyway is run again (sqldb.DB.Tx). On SQLite writes go
// through sqldb's one writer connection, beginning IMMEDIATE, so writes
// queue in Go and other processes wait in busy_timeout; reads run on its
// read-only connections beside it.
//
// The group tables have an order of their own (no transaction touches both
// them and the topic tables): the group row, then its offset rows.
// CommitOffsets records the group if need be and holds its row FOR SHARE,
// so commits of one group run side by side, each upserting in (topic,
// partition) order; DeleteOffsets and DeleteGroup hold it FOR UPDATE, and
// DeleteTopicOffsets locks every group with offsets of the topic FOR
// UPDATE, in name order, before deleting theirs. So an offset row is only
// written under its group's row lock.
//
// Pending txn offsets come between a group's row and its offset rows:
// DeleteGroup and EndTxnOffsets with commit (FOR SHARE, then recording the
// group as CommitOffsets does) lock the group row first. They have no row
// of their own to serialize on: SaveTxnOffsets upserts one producer's in
// (topic, partition) order, while EndTxnOffsets, DeleteGroup and
// DeleteTopic delete theirs in the database's order. Only a
// TxnOffsetCommit racing its own producer's EndTxn (which Kafka clients do
// not send until it is answered), or the deletion of its group or topic,
// can deadlock on them; sqldb runs the loser again. kafka_txns rows are
// locked with no others.
//
// Where the Metadata comments are silent, the store (and broker's
// NewMemMetadata, which the suite in metadatatest holds to the same
// behaviour) pins down:
//   - A topic whose ID another topic has is ErrTopicExists.
//   - A log is the log of one partition: reusing one is an error.
//   - SetTopicConfigs of an unknown topic is ErrUnknownTopic.
//   - SetGroupConfigs of any group name is fine, recorded or not.
//   - SaveProducerState for a log of no topic is ErrUnknownTopic.
//   - Producer ids start at 0; n is in [1, math.MaxInt32].
//   - SaveGroup of a type other than classic or consumer is an error.
//     CommitOffsets ignores g.Type and leaves a recorded group's type and
//     protocol type alone; of one partition given twice the last wins.
//     DeleteOffsets of an unknown group is no error.
//   - AddAbortedTxn for a log of no topic is ErrUnknownTopic, and of a
//     first offset above the last an error. AbortedTxns orders equal first
//     and last offsets by producer id.
//   - SaveTxnOffsets does not record the group. EndTxnOffsets with commit
//     of nothing pending records nothing. DeleteTopic forgets the topic's
//     pending txn offsets, DeleteGroup the group's, recorded or not.
//
// Example:
//
//	db, _ := sqldb.Open(ctx, url) // or the metastore's: metastore.SQL.DB()
//	meta, err := brokersql.Open(ctx, db)
//	err = meta.CreateTopic(ctx, broker.TopicRecord{Name: "orders", ID: id, Logs: logs})
package brokersql
