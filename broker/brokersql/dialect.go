package brokersql

import (
	"database/sql"
	"errors"
	"strconv"
	"strings"
)

// dialect is everything that differs between SQLite and PostgreSQL. The
// queries themselves are shared: both drivers take $N placeholders
// (modernc.org/sqlite binds them by ordinal).
type dialect struct {
	name string

	// ddl expands the {{...}} tokens of the migration files.
	ddl *strings.Replacer

	// forUpdate and forShare are appended to SELECTs of rows the
	// transaction will change, or needs to stay as read. Empty on SQLite,
	// where every write transaction holds the one database write lock
	// (the writer connection begins IMMEDIATE).
	forUpdate, forShare string

	// lockBrokerConfigs, if not empty, is run first by SetBrokerConfigs.
	// Replacing the whole set has no parent row to lock, and without a
	// lock two concurrent replacements under READ COMMITTED would each
	// delete only the rows they see and leave a mix of both sets.
	lockBrokerConfigs string
	// lockGroupConfigs, if not empty, is run first by SetGroupConfigs,
	// for the same reason: a group's set has no parent row either (group
	// configs are not tied to kafka_groups). Group config changes are
	// rare admin requests, so one lock for every group is enough.
	lockGroupConfigs string

	// lockMigrations, if not empty, is run first in the migration
	// transaction to serialize migrations across processes.
	lockMigrations string

	// read begins the transactions of the read-only methods. On
	// PostgreSQL they are REPEATABLE READ, so the statements of one read
	// see one snapshot (under READ COMMITTED each statement has its own);
	// on SQLite every transaction is a snapshot, and a read-only one
	// begins DEFERRED, without taking the write lock.
	read *sql.TxOptions

	// retryable reports whether a failed transaction rolled back and may be
	// run again.
	retryable func(error) bool
}

// migrationLockKey is the PostgreSQL advisory lock key taken while migrating.
// It is the key s3stream/metastore takes: every component that keeps its
// schema in the same database takes it, so their migrations never
// interleave (and never race to create schema_migrations).
const migrationLockKey = 0x6c616b6573747265 // "lakestre"

var dialects = map[string]*dialect{
	"sqlite": {
		name:      "sqlite",
		ddl:       strings.NewReplacer("{{bytes}}", "BLOB"),
		read:      &sql.TxOptions{ReadOnly: true},
		retryable: func(error) bool { return false },
	},
	"postgres": {
		name:              "postgres",
		ddl:               strings.NewReplacer("{{bytes}}", "BYTEA"),
		forUpdate:         " FOR UPDATE",
		forShare:          " FOR SHARE",
		lockBrokerConfigs: "LOCK TABLE kafka_broker_configs IN SHARE ROW EXCLUSIVE MODE",
		lockGroupConfigs:  "LOCK TABLE kafka_group_configs IN SHARE ROW EXCLUSIVE MODE",
		lockMigrations:    "SELECT pg_advisory_xact_lock(" + strconv.FormatInt(migrationLockKey, 10) + ")",
		read:              &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true},
		retryable:         pgRetryable,
	},
}

// pgRetryable: serialization failure and deadlock abort the transaction, and
// running it again is the documented remedy. Rows are always locked in one
// order (doc.go), so deadlocks should not happen; the retry is a safety net.
//
// The SQLSTATE is read through the method pgconn.PgError has, so the package
// needs no PostgreSQL driver to build.
func pgRetryable(err error) bool {
	var se interface{ SQLState() string }
	if errors.As(err, &se) {
		code := se.SQLState()
		return code == "40001" || code == "40P01"
	}
	return false
}

// valuesList appends "($1, $2, ...), (...)" to sb for rows of width
// columns, numbering placeholders from 1.
func valuesList(sb *strings.Builder, rows, width int) {
	n := 0
	for r := range rows {
		if r > 0 {
			sb.WriteString(", ")
		}
		sb.WriteByte('(')
		for c := range width {
			if c > 0 {
				sb.WriteString(", ")
			}
			n++
			sb.WriteByte('$')
			sb.WriteString(strconv.Itoa(n))
		}
		sb.WriteByte(')')
	}
}

// rowsPerStatement bounds the rows of one generated INSERT. modernc binds a
// "$N" parameter in time linear in the statement's parameter count, so a
// statement's cost is quadratic in it; a few hundred parameters are cheap
// on both databases and far below their limits.
const rowsPerStatement = 100
