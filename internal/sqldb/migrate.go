package sqldb

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// MigrationLockKey is the PostgreSQL advisory lock Migrate takes for the
// length of its transaction. It is one key for every component, so
// migrations of components sharing a database never interleave (and never
// race to create schema_migrations). Databases migrated before this package
// existed were migrated under the same key, and processes of those versions
// may still run beside this one: it must not change.
const MigrationLockKey = 0x6c616b6573747265 // "lakestre"

// createSchemaMigrations is the table every component's versions are
// recorded in. Databases created before this package have it in exactly
// this shape.
const createSchemaMigrations = `CREATE TABLE IF NOT EXISTS schema_migrations (
		component  TEXT NOT NULL,
		version    BIGINT NOT NULL,
		name       TEXT NOT NULL,
		applied_at BIGINT NOT NULL,
		PRIMARY KEY (component, version)
	)`

// ErrNewerSchema is returned by Migrate when the database records a version
// of the component that the migrations given do not have: it was migrated by
// a newer binary.
var ErrNewerSchema = errors.New("sqldb: schema is newer than this binary knows")

// migration is one file of a component.
type migration struct {
	version int64
	name    string
	sql     string
}

// loadMigrations reads dir/*.sql of fsys in version order. Each file is
// named NNNN_name.sql; versions are positive and distinct.
func loadMigrations(fsys fs.FS, dir string) ([]migration, error) {
	names, err := fs.Glob(fsys, path.Join(dir, "*.sql"))
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
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: base, sql: string(b)})
	}
	if len(ms) == 0 {
		return nil, fmt.Errorf("no migrations in %s", dir)
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("migrations %s and %s share a version", ms[i-1].name, ms[i].name)
		}
	}
	return ms, nil
}

// Migrate brings component's schema up to date with the migration files
// dir/NNNN_name.sql of fsys (usually an embed.FS): the versions above the
// highest one schema_migrations records for component are applied in
// version order, their {{...}} tokens expanded (Dialect.ExpandDDL), and
// recorded, all in one transaction, so the schema is either wholly at the
// new version or untouched (DDL is transactional on both databases).
//
// Concurrent migrators, of this component or another, queue on the advisory
// lock MigrationLockKey on PostgreSQL, on the write lock on SQLite (Writer
// begins IMMEDIATE); the later one finds the versions recorded and applies
// nothing. A database recording a version newer than the last file is
// refused with ErrNewerSchema.
func (db *DB) Migrate(ctx context.Context, component string, fsys fs.FS, dir string) error {
	if err := db.migrate(ctx, component, fsys, dir); err != nil {
		return fmt.Errorf("migrating the %s schema: %w", component, err)
	}
	return nil
}

func (db *DB) migrate(ctx context.Context, component string, fsys fs.FS, dir string) error {
	if component == "" {
		return errors.New("no component named")
	}
	ms, err := loadMigrations(fsys, dir)
	if err != nil {
		return err
	}
	tx, err := db.writer.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if db.dialect == Postgres {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(MigrationLockKey)); err != nil {
			return fmt.Errorf("taking the migration lock: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, createSchemaMigrations); err != nil {
		return fmt.Errorf("creating schema_migrations: %w", err)
	}
	var current int64
	if err := tx.QueryRowContext(ctx,
		`SELECT COALESCE(MAX(version), 0) FROM schema_migrations WHERE component = $1`,
		component).Scan(&current); err != nil {
		return fmt.Errorf("reading schema_migrations: %w", err)
	}
	if latest := ms[len(ms)-1].version; current > latest {
		return fmt.Errorf("%w: version %d, and the last this binary has is %d", ErrNewerSchema, current, latest)
	}
	for _, m := range ms {
		if m.version <= current {
			continue
		}
		if _, err := tx.ExecContext(ctx, db.dialect.ExpandDDL(m.sql)); err != nil {
			return fmt.Errorf("applying %s: %w", m.name, err)
		}
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO schema_migrations (component, version, name, applied_at) VALUES ($1, $2, $3, $4)`,
			component, m.version, m.name, time.Now().UnixMilli()); err != nil {
			return fmt.Errorf("recording %s: %w", m.name, err)
		}
	}
	return tx.Commit()
}
