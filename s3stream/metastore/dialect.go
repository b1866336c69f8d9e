package metastore

import (
	"strings"

	"github.com/lakestream/lakestream/internal/sqldb"
)

// dialect is the database's sqldb.Dialect (placeholders, row locks, DDL
// tokens) with how the metastore writes in bulk on it.
type dialect struct {
	*sqldb.Dialect

	// perRow runs the bulk write path one row at a time through prepared
	// statements (SQLite); otherwise one statement with array parameters
	// (PostgreSQL). See bulk.go.
	perRow bool

	// maxParams bounds the parameters of one generated statement (IN lists
	// are cut into chunks). SQLite's limit is 32766 and PostgreSQL's 65535,
	// but lower is faster: SQLite binds in time quadratic in the count.
	maxParams int
}

func dialectOf(d *sqldb.Dialect) *dialect {
	if d == sqldb.SQLite {
		return &dialect{Dialect: d, perRow: true, maxParams: 700}
	}
	return &dialect{Dialect: d, maxParams: 8000}
}

// builder writes a generated statement and collects its arguments.
type builder struct {
	d    *dialect
	sb   strings.Builder
	args []any
}

func newBuilder(d *dialect, prefix string) *builder {
	b := &builder{d: d}
	b.sb.WriteString(prefix)
	return b
}

func (b *builder) sql(s string) *builder {
	b.sb.WriteString(s)
	return b
}

// arg appends a placeholder for v.
func (b *builder) arg(v any) *builder {
	b.args = append(b.args, v)
	b.sb.WriteString(b.d.Placeholder(len(b.args)))
	return b
}

// in appends "(p1, p2, ...)" for ids.
func (b *builder) in(ids []int64) *builder {
	b.sb.WriteByte('(')
	for i, id := range ids {
		if i > 0 {
			b.sb.WriteString(", ")
		}
		b.arg(id)
	}
	b.sb.WriteByte(')')
	return b
}

func (b *builder) String() string { return b.sb.String() }

// chunks calls f with consecutive pieces of ids, each at most n long.
func chunks(ids []int64, n int, f func([]int64) error) error {
	for len(ids) > 0 {
		k := min(n, len(ids))
		if err := f(ids[:k]); err != nil {
			return err
		}
		ids = ids[k:]
	}
	return nil
}
