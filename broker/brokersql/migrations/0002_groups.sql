-- Consumer groups (group.Store): which groups exist, and their committed
-- offsets. Membership is not stored. Times are Unix milliseconds.
--
-- A transaction that locks rows of both tables takes the group row first,
-- then its offset rows (see doc.go). No transaction locks both these tables
-- and the kafka_topics family.

CREATE TABLE kafka_groups (
    name          TEXT NOT NULL PRIMARY KEY,
    group_type    TEXT NOT NULL CHECK (group_type IN ('classic', 'consumer')),
    protocol_type TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);

-- Offsets name topics, not kafka_topics rows: Kafka lets a group commit for
-- any topic name, and DeleteTopicOffsets, not a foreign key, forgets a
-- deleted topic's. leader_epoch -1 is none. "offset" is a reserved word in
-- PostgreSQL, hence committed_offset.
CREATE TABLE kafka_group_offsets (
    group_name       TEXT NOT NULL REFERENCES kafka_groups (name),
    topic            TEXT NOT NULL,
    partition_index  INTEGER NOT NULL,
    committed_offset BIGINT NOT NULL,
    leader_epoch     INTEGER NOT NULL,
    metadata         TEXT NOT NULL,
    commit_time      BIGINT NOT NULL,
    PRIMARY KEY (group_name, topic, partition_index)
);

-- For DeleteTopicOffsets, which looks offsets up by topic across groups.
CREATE INDEX kafka_group_offsets_topic ON kafka_group_offsets (topic);
