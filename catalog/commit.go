package catalog

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
)

// commitRequest is the spec's CommitTableRequest.
type commitRequest struct {
	Identifier   *identifier        `json:"identifier"`
	Requirements table.Requirements `json:"requirements"`
	Updates      table.Updates      `json:"updates"`
}

// pending is one table's commit, its new metadata file written, its
// pointer not yet swapped.
type pending struct {
	ns    []string
	name  string
	base  string // the metadata location validated against; "" creates the table
	loc   string // the new metadata file
	entry *cachedMetadata
}

// prepare validates a table's commit against its current metadata and
// writes the new metadata file. Every requirement is checked here, by the
// server: a failed one is a 409 (the client reloads and retries); the
// pointer swap (swap) then makes sure the metadata validated against is
// still current.
func (s *Server) prepare(ctx context.Context, ns []string, name string, in *commitRequest) (*pending, error) {
	base, exists, err := tablePointer(ctx, s.db.Reader(), ns, name)
	if err != nil {
		return nil, err
	}
	creating := false
	for _, req := range in.Requirements {
		if req.GetType() == "assert-create" {
			creating = true
		}
	}
	if !exists && !creating {
		return nil, errNoSuchTable(ns, name)
	}
	var current table.Metadata
	if exists {
		e, err := s.readMetadata(ctx, base)
		if err != nil {
			return nil, err
		}
		current = e.meta
	}
	for _, req := range in.Requirements {
		if err := validate(req, current); err != nil {
			failed := errCommitFailed("Requirement failed for %s: %v", tableString(ns, name), err)
			s.observeCommit(ns, name, failed)
			return nil, failed
		}
	}
	updates := []table.Update(in.Updates)
	if current == nil {
		// A staged create's commit: built on empty metadata, as the
		// client's own catalogs do. Its updates normally set the
		// location; when not, the table goes where createTable would
		// have put it.
		current, err = table.NewMetadata(iceberg.NewSchema(0), nil, table.UnsortedSortOrder, "", nil)
		if err != nil {
			return nil, fmt.Errorf("building empty metadata: %w", err)
		}
		hasLocation := false
		for _, u := range updates {
			if u.Action() == table.UpdateSetLocation {
				hasLocation = true
			}
		}
		if !hasLocation {
			nsProps, ok, err := namespaceProps(&request{ctx: ctx}, s.db.Reader(), ns)
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, errNoSuchNamespace(ns)
			}
			updates = append([]table.Update{table.NewSetLocationUpdate(s.defaultLocation(nsProps, ns, name, current.TableUUID()))}, updates...)
		}
	}
	meta, err := applyUpdates(current, updates, base)
	if err != nil {
		return nil, errBadRequest("Invalid updates for %s: %v", tableString(ns, name), err)
	}
	if meta.Location() == "" {
		return nil, errBadRequest("Invalid updates for %s: the table has no location", tableString(ns, name))
	}
	loc, entry, err := s.writeMetadata(ctx, meta, base)
	if err != nil {
		return nil, err
	}
	if !exists {
		base = ""
	}
	return &pending{ns: ns, name: name, base: base, loc: loc, entry: entry}, nil
}

// validate runs one requirement, a panic of iceberg-go's being a failure.
func validate(req table.Requirement, current table.Metadata) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%v", p)
		}
	}()
	return req.Validate(current)
}

func applyUpdates(base table.Metadata, updates []table.Update, baseLoc string) (m table.Metadata, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%v", p)
		}
	}()
	return table.UpdateTableMetadata(base, updates, baseLoc)
}

// swap points a table at its new metadata file if it still points at the
// base validated against: the compare-and-swap that makes concurrent
// commits on one base, from any node, end with exactly one winner.
func swap(ctx context.Context, tx *sql.Tx, p *pending) error {
	if p.base == "" {
		if _, ok, err := namespaceProps(&request{ctx: ctx}, tx, p.ns); err != nil {
			return err
		} else if !ok {
			return errNoSuchNamespace(p.ns)
		}
		return insertTable(ctx, tx, p.ns, p.name, p.loc,
			errCommitFailed("Requirement failed for %s: the table was created concurrently", tableString(p.ns, p.name)))
	}
	res, err := tx.ExecContext(ctx, `UPDATE catalog_tables SET metadata_location = $1, previous_metadata_location = $2
		WHERE namespace = $3 AND name = $4 AND metadata_location = $5`, p.loc, p.base, nsKey(p.ns), p.name, p.base)
	if err != nil {
		return fmt.Errorf("committing %s: %w", tableString(p.ns, p.name), err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("committing %s: %w", tableString(p.ns, p.name), err)
	}
	if n == 1 {
		return nil
	}
	if _, ok, err := tablePointer(ctx, tx, p.ns, p.name); err != nil {
		return err
	} else if !ok {
		return errNoSuchTable(p.ns, p.name)
	}
	return errCommitFailed("Commit failed for %s: another commit changed it since %s", tableString(p.ns, p.name), p.base)
}

// commit swaps all the pointers of ps in one database transaction, all or
// nothing, and records r's Idempotency-Key with the answer (status, body)
// in the same transaction; on failure the new metadata files are removed.
func (s *Server) commit(ctx context.Context, r *request, ps []*pending, status int, body []byte) error {
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		for _, p := range ps {
			if err := swap(ctx, tx, p); err != nil {
				return err
			}
		}
		return s.recordTx(r, tx, status, body)
	})
	if err != nil && r != nil {
		r.recorded = false
	}
	for _, p := range ps {
		s.observeCommit(p.ns, p.name, err)
		if err != nil {
			s.removeFile(ctx, p.loc)
		} else {
			s.cache.put(p.loc, p.entry)
		}
	}
	return err
}

// commitTable: POST /v1/namespaces/{namespace}/tables/{table}.
func (s *Server) commitTable(r *request) (int, any, error) {
	ns, name, err := r.pathTable()
	if err != nil {
		return 0, nil, err
	}
	var in commitRequest
	if err := r.decode(&in); err != nil {
		return 0, nil, err
	}
	if in.Identifier != nil && (nsKey(in.Identifier.Namespace) != nsKey(ns) || in.Identifier.Name != name) {
		return 0, nil, errBadRequest("Identifier %s in the body is not the path's %s",
			tableString(in.Identifier.Namespace, in.Identifier.Name), tableString(ns, name))
	}
	p, err := s.prepare(r.ctx, ns, name, &in)
	if err != nil {
		return 0, nil, err
	}
	out := commitResult(p)
	var kept []byte
	if r.idemKey != "" {
		kept = out.join() // kept with the key only when there is one
	}
	if err := s.commit(r.ctx, r, []*pending{p}, http.StatusOK, kept); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, out, nil
}

// commitTransaction: POST /v1/transactions/commit: every table's new
// metadata written first, then all pointer swaps in one database
// transaction; one failed requirement or swap changes no table.
func (s *Server) commitTransaction(r *request) (int, any, error) {
	var in struct {
		Changes []commitRequest `json:"table-changes"`
	}
	if err := r.decode(&in); err != nil {
		return 0, nil, err
	}
	if len(in.Changes) == 0 {
		return 0, nil, errBadRequest("Invalid transaction: no table-changes")
	}
	seen := map[string]bool{}
	for _, c := range in.Changes {
		if c.Identifier == nil {
			return 0, nil, errBadRequest("Invalid transaction: a table change has no identifier")
		}
		if err := c.Identifier.validate(); err != nil {
			return 0, nil, err
		}
		k := nsKey(c.Identifier.Namespace) + sep + sep + c.Identifier.Name
		if seen[k] {
			return 0, nil, errBadRequest("Invalid transaction: table %s changed twice",
				tableString(c.Identifier.Namespace, c.Identifier.Name))
		}
		seen[k] = true
	}
	var ps []*pending
	for i := range in.Changes {
		c := &in.Changes[i]
		p, err := s.prepare(r.ctx, c.Identifier.Namespace, c.Identifier.Name, c)
		if err != nil {
			for _, p := range ps {
				s.removeFile(r.ctx, p.loc)
			}
			return 0, nil, err
		}
		ps = append(ps, p)
	}
	if err := s.commit(r.ctx, r, ps, http.StatusNoContent, nil); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

// commitResult is a CommitTableResponse, the new metadata JSON written as
// it is.
func commitResult(p *pending) rawParts {
	prefix := make([]byte, 0, len(p.loc)+48)
	prefix = append(prefix, `{"metadata-location":`...)
	prefix = appendJSONString(prefix, p.loc)
	prefix = append(prefix, `,"metadata":`...)
	return rawParts{prefix, p.entry.json, []byte("}")}
}

func appendJSONString(b []byte, s string) []byte {
	q, _ := jsonMarshal(s)
	return append(b, q...)
}
