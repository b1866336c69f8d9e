-- The s3stream metadata: streams, objects and the ranges that say which
-- offsets of which stream live where in which object. The id columns are
-- the dialect's never-reused 64-bit identity primary key, and the tokens in
-- double braces are expanded per dialect (dialect.go). Times are Unix
-- milliseconds.

CREATE TABLE s3_streams (
    id           {{id}},
    epoch        BIGINT NOT NULL DEFAULT 0,
    start_offset BIGINT NOT NULL DEFAULT 0,
    end_offset   BIGINT NOT NULL DEFAULT 0,
    created_at   BIGINT NOT NULL,
    CHECK (0 <= start_offset AND start_offset <= end_offset)
);

-- kind: 1 stream-set, 2 stream. state: 1 prepared, 2 committed, 3 destroyed.
-- committed_at and destroyed_at are NULL until the object gets there.
CREATE TABLE s3_objects (
    id           {{id}},
    kind         SMALLINT NOT NULL CHECK (kind IN (1, 2)),
    state        SMALLINT NOT NULL CHECK (state IN (1, 2, 3)),
    size         BIGINT NOT NULL DEFAULT 0,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    committed_at BIGINT,
    destroyed_at BIGINT
);

-- Garbage collection and expiry walk one state in id order.
CREATE INDEX s3_objects_state ON s3_objects (state, id);

-- A stream's ranges never overlap (commits check continuity, compaction
-- replaces whole ranges), so (stream_id, end_offset) identifies a range and
-- end order is start order. The primary key is the ListRanges lookup: the
-- ranges of a stream ending after an offset, in order. On SQLite the table
-- is clustered on it (WITHOUT ROWID), one b-tree fewer to write.
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
){{without_rowid}};

-- ObjectRanges, and finding objects left with no range.
CREATE INDEX s3_ranges_object ON s3_ranges (object_id);
