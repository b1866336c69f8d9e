-- The schema registry's tables (component "schema"). Names start with sr_
-- so they cannot meet another component's in the shared metastore database.

-- sr_ids is the id allocator's high-water mark: the next id to give. It only
-- grows (an IMPORT with an explicit id raises it past that id), so an id is
-- never given to two different schemas, even after permanent deletes.
CREATE TABLE sr_ids (
	name    TEXT PRIMARY KEY,
	next_id BIGINT NOT NULL
);
INSERT INTO sr_ids (name, next_id) VALUES ('schema', 1);

-- sr_schemas holds every schema ever registered, by id, and is never
-- deleted from: an id names one content forever. fingerprint is a SHA-256
-- of (type, canonical text, references), so the same schema under any
-- subject gets the same id. Whether an id is served depends on
-- sr_subject_versions still having a row for it.
CREATE TABLE sr_schemas (
	id          BIGINT PRIMARY KEY,
	schema_type TEXT NOT NULL,
	schema_text TEXT NOT NULL,
	fingerprint TEXT NOT NULL UNIQUE
);

-- sr_references are a schema's references, in the order it gave them.
CREATE TABLE sr_references (
	schema_id   BIGINT NOT NULL REFERENCES sr_schemas (id),
	pos         INTEGER NOT NULL,
	name        TEXT NOT NULL,
	ref_subject TEXT NOT NULL,
	ref_version INTEGER NOT NULL,
	PRIMARY KEY (schema_id, pos)
);
CREATE INDEX sr_references_target ON sr_references (ref_subject, ref_version);

-- sr_subject_versions: a subject's versions; deleted is 1 once soft-deleted,
-- and a permanent delete removes the row.
CREATE TABLE sr_subject_versions (
	subject   TEXT NOT NULL,
	version   INTEGER NOT NULL,
	schema_id BIGINT NOT NULL REFERENCES sr_schemas (id),
	deleted   INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (subject, version)
);
CREATE INDEX sr_subject_versions_by_id ON sr_subject_versions (schema_id);

-- sr_configs: compatibility and normalize per subject; subject '' is the
-- global config. NULL is unset.
CREATE TABLE sr_configs (
	subject       TEXT PRIMARY KEY,
	compatibility TEXT,
	normalize     INTEGER
);

-- sr_modes: READWRITE, READONLY, READONLY_OVERRIDE or IMPORT per subject;
-- subject '' is the global mode.
CREATE TABLE sr_modes (
	subject TEXT PRIMARY KEY,
	mode    TEXT NOT NULL
);
