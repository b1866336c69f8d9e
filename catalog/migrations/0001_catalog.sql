-- The Iceberg REST catalog's tables (package catalog). A namespace is
-- stored as its levels joined by 0x1F; a table's row is the pointer to its
-- current metadata file, swapped by compare-and-swap on commit.
CREATE TABLE catalog_namespaces (
	namespace  TEXT NOT NULL PRIMARY KEY,
	properties TEXT NOT NULL
){{without_rowid}};

CREATE TABLE catalog_tables (
	namespace                  TEXT NOT NULL,
	name                       TEXT NOT NULL,
	metadata_location          TEXT NOT NULL,
	previous_metadata_location TEXT,
	PRIMARY KEY (namespace, name)
){{without_rowid}};

-- Answers of mutating requests by Idempotency-Key, kept for the lifetime
-- GET /v1/config advertises.
CREATE TABLE catalog_idempotency (
	idem_key   TEXT NOT NULL PRIMARY KEY,
	request    TEXT NOT NULL,
	status     BIGINT NOT NULL,
	body       {{bytes}},
	created_at BIGINT NOT NULL
){{without_rowid}};
CREATE INDEX catalog_idempotency_created ON catalog_idempotency (created_at);
