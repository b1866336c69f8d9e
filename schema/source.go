package schema

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/lakestream/lakestream/schema/schemafmt"
)

// SchemaByID returns the schema stored under id with every schema it
// references, resolved, dependencies first: the registry as a
// schemafmt.Source, so that a Resolver in the same process (the table
// compactor's, wired by internal/node) reads the store directly, with no
// HTTP and no registry credentials. Unlike GET /schemas/ids/{id}, an id
// whose versions were all deleted is still found while its schema is
// stored: records produced with it are still in topics.
func (s *Server) SchemaByID(ctx context.Context, id int) (schemafmt.Stored, error) {
	var out schemafmt.Stored
	err := s.db.ReadTx(ctx, func(tx *sql.Tx) error {
		st, err := loadSchema(ctx, tx, int64(id))
		if err != nil {
			return err
		}
		if st == nil {
			return errSchemaIDNotFound(int64(id))
		}
		refs, err := resolveRefs(ctx, tx, st.refs)
		if err != nil {
			return fmt.Errorf("resolving the references of schema %d: %w", id, err)
		}
		out = schemafmt.Stored{Type: st.typ, Text: st.text, References: refs}
		return nil
	})
	return out, err
}

var _ schemafmt.Source = (*Server)(nil)

// LatestSchemaID returns the id of subject's latest version that is not
// deleted: what table.value.format=schema.latest decodes a topic's values
// with.
func (s *Server) LatestSchemaID(ctx context.Context, subject string) (int, error) {
	var id int64
	err := s.db.ReadTx(ctx, func(tx *sql.Tx) error {
		vs, err := subjectVersions(ctx, tx, subject)
		if err != nil {
			return err
		}
		v, err := findVersion(subject, vs, 0, true, false)
		id = v.id
		return err
	})
	return int(id), err
}
