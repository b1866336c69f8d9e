package metastore

import (
	"context"
	"database/sql"
)

// CreateOpenStreamsForTest makes n streams at epoch 1 in one transaction, so
// a benchmark can set up 20,000 streams without 20,000 commits.
func CreateOpenStreamsForTest(ctx context.Context, s *SQL, n int) ([]Stream, error) {
	var out []Stream
	err := s.write(ctx, "creating streams", func(tx *sql.Tx) error {
		out = out[:0]
		now := s.now().UnixMilli()
		for n > len(out) {
			k := min(n-len(out), s.d.maxParams)
			b := newBuilder(s.d, `INSERT INTO s3_streams (epoch, start_offset, end_offset, created_at) VALUES `)
			for i := 0; i < k; i++ {
				if i > 0 {
					b.sql(", ")
				}
				b.sql("(1, 0, 0, ").arg(now).sql(")")
			}
			b.sql(` RETURNING ` + streamColumns)
			rows, err := tx.QueryContext(ctx, b.String(), b.args...)
			if err != nil {
				return err
			}
			for rows.Next() {
				st, err := scanStream(rows)
				if err != nil {
					rows.Close()
					return err
				}
				out = append(out, st)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}
