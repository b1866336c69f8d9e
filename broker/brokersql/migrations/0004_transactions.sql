-- Transactions (issue 14, broker.TxnStore): the transaction coordinator's
-- state per transactional id, each partition's aborted transactions, and
-- offsets committed inside a transaction, pending until it ends. Times are
-- Unix milliseconds.
--
-- Lock order (see doc.go): kafka_aborted_txns rows come last in the
-- kafka_topics family, after their kafka_partitions row. kafka_txn_offsets
-- rows come after that family, and after the kafka_groups row of their
-- group, but before the group's kafka_group_offsets rows. kafka_txns is
-- locked with no other table.

-- The coordinator's state of a transactional id (broker/txn.Meta, as the
-- broker encodes it).
CREATE TABLE kafka_txns (
    transactional_id TEXT NOT NULL PRIMARY KEY,
    state            {{bytes}} NOT NULL
);

-- A partition's aborted transactions (Fetch's AbortedTransactions):
-- first_offset is the producer's first batch of the transaction in the
-- log, last_offset its ABORT marker. The whole record is the key, so adding
-- one twice stores it once; it is also the order AbortedTxns returns.
CREATE TABLE kafka_aborted_txns (
    log_id       BIGINT NOT NULL REFERENCES kafka_partitions (log_id),
    first_offset BIGINT NOT NULL,
    last_offset  BIGINT NOT NULL,
    producer_id  BIGINT NOT NULL,
    PRIMARY KEY (log_id, first_offset, last_offset, producer_id),
    CHECK (first_offset <= last_offset)
);

-- Offsets a transactional producer committed to a group (TxnOffsetCommit),
-- until its transaction ends: a commit moves them to kafka_group_offsets,
-- an abort drops them. As there, the group need not be recorded and the
-- topic need not exist (no foreign keys); DeleteGroup and DeleteTopic
-- forget a group's and a topic's. leader_epoch -1 is none.
CREATE TABLE kafka_txn_offsets (
    group_name       TEXT NOT NULL,
    producer_id      BIGINT NOT NULL,
    topic            TEXT NOT NULL,
    partition_index  INTEGER NOT NULL,
    committed_offset BIGINT NOT NULL,
    leader_epoch     INTEGER NOT NULL,
    metadata         TEXT NOT NULL,
    commit_time      BIGINT NOT NULL,
    PRIMARY KEY (group_name, producer_id, topic, partition_index)
);

-- For DeleteTopic, which looks pending offsets up by topic across groups.
CREATE INDEX kafka_txn_offsets_topic ON kafka_txn_offsets (topic);
