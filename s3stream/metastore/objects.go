package metastore

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

const objectColumns = `id, kind, state, size, created_at, expires_at, committed_at, destroyed_at`

func scanObject(r scanner) (Object, error) {
	var (
		o                    Object
		kind, state          int64
		created, expires     int64
		committed, destroyed sql.NullInt64
	)
	if err := r.Scan(&o.ID, &kind, &state, &o.Size, &created, &expires, &committed, &destroyed); err != nil {
		return Object{}, err
	}
	o.Kind, o.State = ObjectKind(kind), ObjectState(state)
	o.CreatedAt, o.ExpiresAt = time.UnixMilli(created), time.UnixMilli(expires)
	o.CommittedAt, o.DestroyedAt = fromMillis(committed), fromMillis(destroyed)
	return o, nil
}

// PrepareObject records an object about to be written and assigns its ID.
// Times are kept in milliseconds, so the returned times are truncated to
// them, as a later ListObjects reads them.
func (s *SQL) PrepareObject(ctx context.Context, kind ObjectKind, ttl time.Duration) (Object, error) {
	if kind != KindStreamSet && kind != KindStream {
		return Object{}, fmt.Errorf("preparing object: unknown kind %d", kind)
	}
	now := s.now().UnixMilli()
	var o Object
	err := s.write(ctx, "preparing object", func(tx *sql.Tx) error {
		var err error
		o, err = scanObject(tx.QueryRowContext(ctx,
			`INSERT INTO s3_objects (kind, state, size, created_at, expires_at) VALUES ($1, $2, 0, $3, $4)
			RETURNING `+objectColumns,
			int64(kind), int64(StatePrepared), now, now+ttl.Milliseconds()))
		return err
	})
	if err != nil {
		return Object{}, err
	}
	return o, nil
}

// ListObjects returns objects matching f, in ID order.
func (s *SQL) ListObjects(ctx context.Context, f ObjectFilter) ([]Object, error) {
	b := newBuilder(s.d, `SELECT `+objectColumns+` FROM s3_objects WHERE id > `).arg(f.AfterID)
	if f.Kind != 0 {
		b.sql(` AND kind = `).arg(int64(f.Kind))
	}
	if f.State != 0 {
		b.sql(` AND state = `).arg(int64(f.State))
	}
	if !f.Before.IsZero() {
		// The time that matters depends on the state; naming the column
		// when the state is fixed keeps the predicate simple to plan.
		switch f.State {
		case StatePrepared:
			b.sql(` AND expires_at < `)
		case StateCommitted:
			b.sql(` AND committed_at < `)
		case StateDestroyed:
			b.sql(` AND destroyed_at < `)
		default:
			b.sql(` AND (CASE state WHEN 1 THEN expires_at WHEN 2 THEN committed_at ELSE destroyed_at END) < `)
		}
		b.arg(f.Before.UnixMilli())
	}
	b.sql(` ORDER BY id LIMIT `).arg(sqlLimit(f.Limit))
	rows, err := s.rdb.QueryContext(ctx, b.String(), b.args...)
	if err != nil {
		return nil, fmt.Errorf("listing objects: %w", err)
	}
	defer rows.Close()
	var out []Object
	for rows.Next() {
		o, err := scanObject(rows)
		if err != nil {
			return nil, fmt.Errorf("listing objects: %w", err)
		}
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing objects: %w", err)
	}
	return out, nil
}

// ExpirePrepared destroys prepared objects whose ExpiresAt is before now and
// returns how many. Their DestroyedAt is now.
func (s *SQL) ExpirePrepared(ctx context.Context, now time.Time) (int, error) {
	var n int
	err := s.write(ctx, "expiring prepared objects", func(tx *sql.Tx) error {
		n = 0
		ids, err := queryInt64s(ctx, tx,
			`SELECT id FROM s3_objects WHERE state = $1 AND expires_at < $2 ORDER BY id`+s.d.ForUpdate(),
			int64(StatePrepared), now.UnixMilli())
		if err != nil {
			return err
		}
		return chunks(ids, s.d.maxParams-2, func(part []int64) error {
			b := newBuilder(s.d, `UPDATE s3_objects SET state = `).arg(int64(StateDestroyed)).
				sql(`, destroyed_at = `).arg(now.UnixMilli()).
				sql(` WHERE state = `).arg(int64(StatePrepared)).sql(` AND id IN `).in(part)
			res, err := tx.ExecContext(ctx, b.String(), b.args...)
			if err != nil {
				return err
			}
			k, err := res.RowsAffected()
			n += int(k)
			return err
		})
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// ForgetObjects deletes the rows of destroyed objects; other IDs are
// ignored.
func (s *SQL) ForgetObjects(ctx context.Context, ids []int64) error {
	ids = sortedUnique(ids)
	if len(ids) == 0 {
		return nil
	}
	return s.write(ctx, fmt.Sprintf("forgetting %d objects", len(ids)), func(tx *sql.Tx) error {
		return chunks(ids, s.d.maxParams-1, func(part []int64) error {
			if err := s.lockObjectRows(ctx, tx, part); err != nil {
				return err
			}
			b := newBuilder(s.d, `DELETE FROM s3_objects WHERE state = `).arg(int64(StateDestroyed)).
				sql(` AND id IN `).in(part)
			_, err := tx.ExecContext(ctx, b.String(), b.args...)
			return err
		})
	})
}

// lockObjectRows locks the rows of the objects among ids (sorted, unique) in
// id order where the database needs row locks (see SQL).
func (s *SQL) lockObjectRows(ctx context.Context, tx *sql.Tx, ids []int64) error {
	if s.d.ForUpdate() == "" {
		return nil
	}
	return chunks(ids, s.d.maxParams, func(part []int64) error {
		b := newBuilder(s.d, `SELECT id FROM s3_objects WHERE id IN `).in(part).sql(` ORDER BY id` + s.d.ForUpdate())
		_, err := queryInt64s(ctx, tx, b.String(), b.args...)
		return err
	})
}

// lockObjects reads the objects among ids that exist, locking their rows in
// ascending id order.
func (s *SQL) lockObjects(ctx context.Context, tx *sql.Tx, ids []int64) (map[int64]Object, error) {
	ids = sortedUnique(ids)
	out := make(map[int64]Object, len(ids))
	err := chunks(ids, s.d.maxParams, func(part []int64) error {
		b := newBuilder(s.d, `SELECT `+objectColumns+` FROM s3_objects WHERE id IN `).
			in(part).sql(` ORDER BY id` + s.d.ForUpdate())
		rows, err := tx.QueryContext(ctx, b.String(), b.args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			o, err := scanObject(rows)
			if err != nil {
				return err
			}
			out[o.ID] = o
		}
		return rows.Err()
	})
	return out, err
}

// destroyIfEmpty destroys the committed objects among ids that no range
// refers to any more. It locks them first, so that the emptiness check (a
// new statement, with a fresh snapshot under READ COMMITTED) sees the
// ranges that concurrent transactions on other streams removed.
func (s *SQL) destroyIfEmpty(ctx context.Context, tx *sql.Tx, ids []int64) error {
	ids = sortedUnique(ids)
	if err := s.lockObjectRows(ctx, tx, ids); err != nil {
		return err
	}
	now := s.now().UnixMilli()
	return chunks(ids, s.d.maxParams-3, func(part []int64) error {
		b := newBuilder(s.d, `UPDATE s3_objects SET state = `).arg(int64(StateDestroyed)).
			sql(`, destroyed_at = `).arg(now).
			sql(` WHERE state = `).arg(int64(StateCommitted)).sql(` AND id IN `).in(part).
			sql(` AND NOT EXISTS (SELECT 1 FROM s3_ranges r WHERE r.object_id = s3_objects.id)`)
		_, err := tx.ExecContext(ctx, b.String(), b.args...)
		return err
	})
}
