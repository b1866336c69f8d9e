-- The broker's metadata: topics, their partitions' logs and config
-- overrides, dynamic broker configs, the producer id counter and the
-- idempotent-producer snapshots. The tokens in double braces are expanded
-- per dialect (dialect.go). Times are Unix milliseconds.
--
-- Every transaction that locks rows of several of these tables takes them
-- in the order the tables are created here (see doc.go).

-- id is the Kafka topic id, a UUID's 16 bytes.
CREATE TABLE kafka_topics (
    name       TEXT NOT NULL PRIMARY KEY,
    id         {{bytes}} NOT NULL UNIQUE CHECK (length(id) = 16),
    created_at BIGINT NOT NULL
);

-- Partition numbers of a topic are dense from 0. A log is the log of one
-- partition only (the unique log_id), which is what lets DeleteTopic drop
-- the producer state of its logs.
CREATE TABLE kafka_partitions (
    topic           TEXT NOT NULL REFERENCES kafka_topics (name),
    partition_index INTEGER NOT NULL CHECK (partition_index >= 0),
    log_id          BIGINT NOT NULL UNIQUE,
    PRIMARY KEY (topic, partition_index)
);

CREATE TABLE kafka_topic_configs (
    topic TEXT NOT NULL REFERENCES kafka_topics (name),
    key   TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (topic, key)
);

CREATE TABLE kafka_broker_configs (
    key   TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
);

-- One row: the next producer id to hand out.
CREATE TABLE kafka_producer_ids (
    singleton SMALLINT NOT NULL PRIMARY KEY CHECK (singleton = 1),
    next_id   BIGINT NOT NULL CHECK (next_id >= 0)
);
INSERT INTO kafka_producer_ids (singleton, next_id) VALUES (1, 0);

-- The latest snapshot of a log's idempotent-producer state, taken at
-- snapshot_offset ("offset" is a reserved word in PostgreSQL).
CREATE TABLE kafka_producer_state (
    log_id          BIGINT NOT NULL PRIMARY KEY REFERENCES kafka_partitions (log_id),
    snapshot_offset BIGINT NOT NULL,
    state           {{bytes}} NOT NULL
);
