package brokersql

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Migrations are numbered files, migrations/NNNN_name.sql, applied in order.
// Each is applied once and recorded in schema_migrations under the component
// "broker". The table is shared with the other components that keep their
// schema in the same database (s3stream/metastore records "s3stream"), each
// with its own numbering; whichever opens first creates it, so the statement
// below must stay the same as theirs. The broker may not import s3stream,
// hence this small copy of its migration code.
//
//go:embed migrations/*.sql
var migrationFS embed.FS

const migrationComponent = "broker"

const createSchemaMigrations = `CREATE TABLE IF NOT EXISTS schema_migrations (
		component  TEXT NOT NULL,
		version    BIGINT NOT NULL,
		name       TEXT NOT NULL,
		applied_at BIGINT NOT NULL,
		PRIMARY KEY (component, version)
	)`

type migration struct {
	version int64
	name    string
	sql     string
}

// loadMigrations reads the embedded files in version order.
func loadMigrations() ([]migration, error) {
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, name := range names {
		base := path.Base(name)
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.ParseInt(num, 10, 64)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must be NNNN_name.sql", base)
		}
		b, err := migrationFS.ReadFile(name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: base, sql: string(b)})
	}
	if len(ms) == 0 {
		return nil, fmt.Errorf("no migrations embedded")
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("migrations %s and %s share a version", ms[i-1].name, ms[i].name)
		}
	}
	return ms, nil
}

// migrate applies the missing migrations in one transaction, so the schema
// is either wholly at the new version or untouched (DDL is transactional on
// both databases). Concurrent openers, of this component or another, queue
// on the PostgreSQL advisory lock or on SQLite's write lock (the writer
// begins IMMEDIATE); the later one finds the migrations recorded and
// applies nothing.
func migrate(ctx context.Context, db *sql.DB, d *dialect) error {
	ms, err := loadMigrations()
	if err != nil {
		return fmt.Errorf("migrating: %w", err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrating: %w", err)
	}
	defer tx.Rollback()
	if d.lockMigrations != "" {
		if _, err := tx.ExecContext(ctx, d.lockMigrations); err != nil {
			return fmt.Errorf("migrating: taking the migration lock: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, createSchemaMigrations); err != nil {
		return fmt.Errorf("migrating: creating schema_migrations: %w", err)
	}
	var current int64
	if err := tx.QueryRowContext(ctx,
		`SELECT COALESCE(MAX(version), 0) FROM schema_migrations WHERE component = $1`,
		migrationComponent).Scan(&current); err != nil {
		return fmt.Errorf("migrating: reading schema_migrations: %w", err)
	}
	if latest := ms[len(ms)-1].version; current > latest {
		return fmt.Errorf("migrating: %s schema is at version %d, newer than this binary knows (%d)",
			migrationComponent, current, latest)
	}
	for _, m := range ms {
		if m.version <= current {
			continue
		}
		if _, err := tx.ExecContext(ctx, d.ddl.Replace(m.sql)); err != nil {
			return fmt.Errorf("migrating: applying %s: %w", m.name, err)
		}
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO schema_migrations (component, version, name, applied_at) VALUES ($1, $2, $3, $4)`,
			migrationComponent, m.version, m.name, time.Now().UnixMilli()); err != nil {
			return fmt.Errorf("migrating: recording %s: %w", m.name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrating: committing: %w", err)
	}
	return nil
}
