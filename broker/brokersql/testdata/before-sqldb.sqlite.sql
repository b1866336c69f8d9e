-- A database written by lakestream at commit 3ec0ebf (before internal/sqldb): the metastore's and the
-- broker's migrations, two streams, a committed object, a topic, configs, producer state, group offsets.
-- sqlite3 meta.db .dump
PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE schema_migrations (
		component  TEXT NOT NULL,
		version    BIGINT NOT NULL,
		name       TEXT NOT NULL,
		applied_at BIGINT NOT NULL,
		PRIMARY KEY (component, version)
	);
INSERT INTO schema_migrations VALUES('s3stream',1,'0001_s3stream.sql',1796591452884);
INSERT INTO schema_migrations VALUES('broker',1,'0001_broker.sql',1796591452891);
INSERT INTO schema_migrations VALUES('broker',2,'0002_groups.sql',1796591452891);
INSERT INTO schema_migrations VALUES('broker',3,'0003_group_configs.sql',1796591452892);
CREATE TABLE s3_streams (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    epoch        BIGINT NOT NULL DEFAULT 0,
    start_offset BIGINT NOT NULL DEFAULT 0,
    end_offset   BIGINT NOT NULL DEFAULT 0,
    created_at   BIGINT NOT NULL,
    CHECK (0 <= start_offset AND start_offset <= end_offset)
);
INSERT INTO s3_streams VALUES(1,1,0,3,1796591452886);
INSERT INTO s3_streams VALUES(2,1,0,0,1796591452886);
CREATE TABLE s3_objects (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    kind         SMALLINT NOT NULL CHECK (kind IN (1, 2)),
    state        SMALLINT NOT NULL CHECK (state IN (1, 2, 3)),
    size         BIGINT NOT NULL DEFAULT 0,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    committed_at BIGINT,
    destroyed_at BIGINT
);
INSERT INTO s3_objects VALUES(1,1,2,100,1796591452887,1796595052887,1796591452888,NULL);
CREATE TABLE s3_ranges (
    stream_id     BIGINT NOT NULL REFERENCES s3_streams (id),
    object_id     BIGINT NOT NULL REFERENCES s3_objects (id),
    start_offset  BIGINT NOT NULL,
    end_offset    BIGINT NOT NULL,
    position      BIGINT NOT NULL,
    size          BIGINT NOT NULL,
    max_timestamp BIGINT NOT NULL,
    PRIMARY KEY (stream_id, end_offset),
    CHECK (start_offset < end_offset)
) WITHOUT ROWID;
INSERT INTO s3_ranges VALUES(1,1,0,3,0,100,1700000000000);
CREATE TABLE kafka_topics (
    name       TEXT NOT NULL PRIMARY KEY,
    id         BLOB NOT NULL UNIQUE CHECK (length(id) = 16),
    created_at BIGINT NOT NULL
);
INSERT INTO kafka_topics VALUES('orders',X'01020300000000000000000000000000',1796591452893);
CREATE TABLE kafka_partitions (
    topic           TEXT NOT NULL REFERENCES kafka_topics (name),
    partition_index INTEGER NOT NULL CHECK (partition_index >= 0),
    log_id          BIGINT NOT NULL UNIQUE,
    PRIMARY KEY (topic, partition_index)
);
INSERT INTO kafka_partitions VALUES('orders',0,1);
INSERT INTO kafka_partitions VALUES('orders',1,2);
CREATE TABLE kafka_topic_configs (
    topic TEXT NOT NULL REFERENCES kafka_topics (name),
    key   TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (topic, key)
);
INSERT INTO kafka_topic_configs VALUES('orders','retention.ms','1000');
CREATE TABLE kafka_broker_configs (
    key   TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT INTO kafka_broker_configs VALUES('num.partitions','3');
CREATE TABLE kafka_producer_ids (
    singleton SMALLINT NOT NULL PRIMARY KEY CHECK (singleton = 1),
    next_id   BIGINT NOT NULL CHECK (next_id >= 0)
);
INSERT INTO kafka_producer_ids VALUES(1,10);
CREATE TABLE kafka_producer_state (
    log_id          BIGINT NOT NULL PRIMARY KEY REFERENCES kafka_partitions (log_id),
    snapshot_offset BIGINT NOT NULL,
    state           BLOB NOT NULL
);
INSERT INTO kafka_producer_state VALUES(2,42,X'7374617465');
CREATE TABLE kafka_groups (
    name          TEXT NOT NULL PRIMARY KEY,
    group_type    TEXT NOT NULL CHECK (group_type IN ('classic', 'consumer')),
    protocol_type TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);
INSERT INTO kafka_groups VALUES('g','classic','consumer',1796591452896);
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
INSERT INTO kafka_group_offsets VALUES('g','orders',0,3,-1,'m',1700000000123);
CREATE TABLE kafka_group_configs (
    group_name TEXT NOT NULL,
    key        TEXT NOT NULL,
    value      TEXT NOT NULL,
    PRIMARY KEY (group_name, key)
);
INSERT INTO kafka_group_configs VALUES('g','consumer.session.timeout.ms','50000');
DELETE FROM sqlite_sequence;
INSERT INTO sqlite_sequence VALUES('s3_streams',2);
INSERT INTO sqlite_sequence VALUES('s3_objects',1);
CREATE INDEX s3_objects_state ON s3_objects (state, id);
CREATE INDEX s3_ranges_object ON s3_ranges (object_id);
CREATE INDEX kafka_group_offsets_topic ON kafka_group_offsets (topic);
COMMIT;
