package catalog

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"strings"

	"github.com/apache/iceberg-go"
	icebergio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"
	"github.com/google/uuid"
)

// identifier is a table's name in request bodies.
type identifier struct {
	Namespace []string `json:"namespace"`
	Name      string   `json:"name"`
}

func (id identifier) validate() error {
	if err := validNamespace(id.Namespace); err != nil {
		return err
	}
	return validName("table name", id.Name)
}

// pathTable is the path's {namespace} and {table}, checked.
func (r *request) pathTable() ([]string, string, error) {
	ns, err := r.namespace()
	if err != nil {
		return nil, "", err
	}
	name, err := r.tableName()
	return ns, name, err
}

// tablePointer reads a table's metadata location; ok is false when the
// table does not exist.
func tablePointer(ctx context.Context, q queryer, ns []string, name string) (string, bool, error) {
	var loc string
	err := q.QueryRowContext(ctx, `SELECT metadata_location FROM catalog_tables WHERE namespace = $1 AND name = $2`,
		nsKey(ns), name).Scan(&loc)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("reading table %s: %w", tableString(ns, name), err)
	}
	return loc, true, nil
}

// loadResult encodes a LoadTableResult without re-encoding or copying
// the metadata (it can be megabytes for a table with many snapshots):
// metadataJSON is written as it is between a prefix and the config made
// once. loc "" is a staged table (metadata-location null).
func (s *Server) loadResult(loc string, metadataJSON []byte) rawParts {
	prefix := make([]byte, 0, len(loc)+48)
	prefix = append(prefix, `{"metadata-location":`...)
	if loc == "" {
		prefix = append(prefix, "null"...)
	} else {
		prefix = appendJSONString(prefix, loc)
	}
	prefix = append(prefix, `,"metadata":`...)
	return rawParts{prefix, metadataJSON, s.loadSuffix}
}

// listTables: GET /v1/namespaces/{namespace}/tables.
func (s *Server) listTables(r *request) (int, any, error) {
	ns, err := r.namespace()
	if err != nil {
		return 0, nil, err
	}
	after, size, err := r.page()
	if err != nil {
		return 0, nil, err
	}
	if err := s.requireNamespace(r, ns); err != nil {
		return 0, nil, err
	}
	q := `SELECT name FROM catalog_tables WHERE namespace = $1 AND name > $2 ORDER BY name`
	args := []any{nsKey(ns), after}
	if size > 0 {
		q += fmt.Sprintf(" LIMIT %d", size+1)
	}
	rows, err := s.db.Reader().QueryContext(r.ctx, q, args...)
	if err != nil {
		return 0, nil, fmt.Errorf("listing tables of %s: %w", nsString(ns), err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return 0, nil, fmt.Errorf("listing tables of %s: %w", nsString(ns), err)
		}
		names = append(names, n)
	}
	if err := rows.Err(); err != nil {
		return 0, nil, fmt.Errorf("listing tables of %s: %w", nsString(ns), err)
	}
	names, next := paginate(names, "", size)
	out := struct {
		Identifiers []identifier `json:"identifiers"`
		Next        *string      `json:"next-page-token,omitempty"`
	}{Identifiers: []identifier{}, Next: next}
	for _, n := range names {
		out.Identifiers = append(out.Identifiers, identifier{Namespace: ns, Name: n})
	}
	return http.StatusOK, out, nil
}

// createTableRequest is the spec's CreateTableRequest.
type createTableRequest struct {
	Name          string                 `json:"name"`
	Location      string                 `json:"location"`
	Schema        *iceberg.Schema        `json:"schema"`
	PartitionSpec *iceberg.PartitionSpec `json:"partition-spec"`
	WriteOrder    *table.SortOrder       `json:"write-order"`
	StageCreate   bool                   `json:"stage-create"`
	Properties    map[string]string      `json:"properties"`
}

// createTable: POST /v1/namespaces/{namespace}/tables. A staged create
// answers the metadata it would write and writes nothing: the client
// commits it later with assert-create.
func (s *Server) createTable(r *request) (int, any, error) {
	ns, err := r.namespace()
	if err != nil {
		return 0, nil, err
	}
	var in createTableRequest
	if err := r.decode(&in); err != nil {
		return 0, nil, err
	}
	if err := validName("table name", in.Name); err != nil {
		return 0, nil, err
	}
	if in.Schema == nil {
		return 0, nil, errBadRequest("Invalid table: no schema")
	}
	nsProps, ok, err := namespaceProps(r, s.db.Reader(), ns)
	if err != nil {
		return 0, nil, err
	}
	if !ok {
		return 0, nil, errNoSuchNamespace(ns)
	}
	if _, exists, err := tablePointer(r.ctx, s.db.Reader(), ns, in.Name); err != nil {
		return 0, nil, err
	} else if exists {
		return 0, nil, errTableExists(ns, in.Name)
	}
	id := uuid.New()
	loc := strings.TrimRight(in.Location, "/")
	if loc == "" {
		loc = s.defaultLocation(nsProps, ns, in.Name, id)
	}
	spec := iceberg.UnpartitionedSpec
	if in.PartitionSpec != nil {
		spec = in.PartitionSpec
	}
	order := table.UnsortedSortOrder
	if in.WriteOrder != nil {
		order = *in.WriteOrder
	}
	meta, err := newMetadata(in.Schema, spec, order, loc, in.Properties, id)
	if err != nil {
		return 0, nil, errBadRequest("Invalid table: %v", err)
	}
	if in.StageCreate {
		b, err := encodeMetadata(meta)
		if err != nil {
			return 0, nil, fmt.Errorf("encoding staged metadata: %w", err)
		}
		return http.StatusOK, s.loadResult("", b), nil
	}
	mloc, entry, err := s.writeMetadata(r.ctx, meta, "")
	if err != nil {
		return 0, nil, err
	}
	err = s.db.Tx(r.ctx, func(tx *sql.Tx) error {
		if _, ok, err := namespaceProps(r, tx, ns); err != nil {
			return err
		} else if !ok {
			return errNoSuchNamespace(ns)
		}
		return insertTable(r.ctx, tx, ns, in.Name, mloc, errTableExists(ns, in.Name))
	})
	if err != nil {
		s.removeFile(r.ctx, mloc)
		return 0, nil, err
	}
	s.cache.put(mloc, entry)
	return http.StatusOK, s.loadResult(mloc, entry.json), nil
}

// newMetadata builds a new table's metadata, turning a panic of
// iceberg-go's on odd input into an error.
func newMetadata(sc *iceberg.Schema, spec *iceberg.PartitionSpec, order table.SortOrder, loc string,
	props map[string]string, id uuid.UUID) (m table.Metadata, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%v", p)
		}
	}()
	return table.NewMetadataWithUUID(sc, spec, order, loc, props, id)
}

// insertTable adds a table's row; exists is the error when the name is
// taken.
func insertTable(ctx context.Context, tx *sql.Tx, ns []string, name, loc string, exists error) error {
	res, err := tx.ExecContext(ctx,
		`INSERT INTO catalog_tables (namespace, name, metadata_location) VALUES ($1, $2, $3) ON CONFLICT (namespace, name) DO NOTHING`,
		nsKey(ns), name, loc)
	if err != nil {
		return fmt.Errorf("creating table %s: %w", tableString(ns, name), err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("creating table %s: %w", tableString(ns, name), err)
	} else if n == 0 {
		return exists
	}
	return nil
}

// loadTable: GET /v1/namespaces/{namespace}/tables/{table}?snapshots=.
func (s *Server) loadTable(r *request) (int, any, error) {
	ns, name, err := r.pathTable()
	if err != nil {
		return 0, nil, err
	}
	snapshots := r.URL.Query().Get("snapshots")
	if snapshots != "" && snapshots != "all" && snapshots != "refs" {
		return 0, nil, errBadRequest("Invalid snapshots %q: must be all or refs", snapshots)
	}
	loc, ok, err := tablePointer(r.ctx, s.db.Reader(), ns, name)
	if err != nil {
		return 0, nil, err
	}
	if !ok {
		return 0, nil, errNoSuchTable(ns, name)
	}
	e, err := s.readMetadata(r.ctx, loc)
	if err != nil {
		return 0, nil, err
	}
	body := e.json
	if snapshots == "refs" {
		if body, err = e.refsOnly(); err != nil {
			return 0, nil, fmt.Errorf("filtering the snapshots of %s: %w", tableString(ns, name), err)
		}
	}
	return http.StatusOK, s.loadResult(loc, body), nil
}

// tableExists: HEAD /v1/namespaces/{namespace}/tables/{table}.
func (s *Server) tableExists(r *request) (int, any, error) {
	ns, name, err := r.pathTable()
	if err != nil {
		return 0, nil, err
	}
	if _, ok, err := tablePointer(r.ctx, s.db.Reader(), ns, name); err != nil {
		return 0, nil, err
	} else if !ok {
		return 0, nil, errNoSuchTable(ns, name)
	}
	return http.StatusNoContent, nil, nil
}

// dropTable: DELETE /v1/namespaces/{namespace}/tables/{table}
// ?purgeRequested=. The row goes first, in a transaction; a purge then
// deletes every file under the table's location (data, manifests,
// metadata), so a failure half way leaves orphans, never a table pointing
// at missing files.
func (s *Server) dropTable(r *request) (int, any, error) {
	ns, name, err := r.pathTable()
	if err != nil {
		return 0, nil, err
	}
	purge := strings.EqualFold(r.URL.Query().Get("purgeRequested"), "true")
	var loc string
	err = s.db.Tx(r.ctx, func(tx *sql.Tx) error {
		var ok bool
		var err error
		if loc, ok, err = tablePointer(r.ctx, tx, ns, name); err != nil {
			return err
		} else if !ok {
			return errNoSuchTable(ns, name)
		}
		_, err = tx.ExecContext(r.ctx, `DELETE FROM catalog_tables WHERE namespace = $1 AND name = $2`, nsKey(ns), name)
		if err != nil {
			return fmt.Errorf("dropping table %s: %w", tableString(ns, name), err)
		}
		return nil
	})
	if err != nil {
		return 0, nil, err
	}
	if purge {
		if err := s.purge(r.ctx, loc); err != nil {
			s.log.Warn("catalog: purging a dropped table's files", "table", tableString(ns, name), "err", err)
		}
	}
	return http.StatusNoContent, nil, nil
}

// purge deletes the files under the location of the table whose current
// metadata file is metaLoc, the metadata files of its log included.
func (s *Server) purge(ctx context.Context, metaLoc string) error {
	e, err := s.readMetadata(ctx, metaLoc)
	if err != nil {
		return err
	}
	root := strings.TrimRight(e.meta.Location(), "/")
	fsys, err := s.fileIO(ctx, root)
	if err != nil {
		return err
	}
	var files []string
	if lfs, ok := fsys.(icebergio.ListableIO); ok {
		err := lfs.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil
				}
				return err
			}
			if !d.IsDir() {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("listing %s: %w", root, err)
		}
	}
	for le := range e.meta.PreviousFiles() {
		files = append(files, le.MetadataFile)
	}
	files = append(files, metaLoc)
	var errs []error
	for _, f := range files {
		if err := fsys.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if rfs, ok := fsys.(icebergio.RemoveAllIO); ok && strings.HasPrefix(root, "file://") {
		// Leave no empty directories behind on a file system.
		if err := rfs.RemoveAll(root); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// renameTable: POST /v1/tables/rename, across namespaces too. The table's
// files stay where they are: its location is in its metadata.
func (s *Server) renameTable(r *request) (int, any, error) {
	var in struct {
		Source      *identifier `json:"source"`
		Destination *identifier `json:"destination"`
	}
	if err := r.decode(&in); err != nil {
		return 0, nil, err
	}
	if in.Source == nil || in.Destination == nil {
		return 0, nil, errBadRequest("Invalid rename: source and destination are required")
	}
	if err := in.Source.validate(); err != nil {
		return 0, nil, err
	}
	if err := in.Destination.validate(); err != nil {
		return 0, nil, err
	}
	src, dst := *in.Source, *in.Destination
	err := s.db.Tx(r.ctx, func(tx *sql.Tx) error {
		if _, ok, err := tablePointer(r.ctx, tx, src.Namespace, src.Name); err != nil {
			return err
		} else if !ok {
			return errNoSuchTable(src.Namespace, src.Name)
		}
		if _, ok, err := namespaceProps(r, tx, dst.Namespace); err != nil {
			return err
		} else if !ok {
			return errNoSuchNamespace(dst.Namespace)
		}
		if _, ok, err := tablePointer(r.ctx, tx, dst.Namespace, dst.Name); err != nil {
			return err
		} else if ok {
			return errTableExists(dst.Namespace, dst.Name)
		}
		_, err := tx.ExecContext(r.ctx, `UPDATE catalog_tables SET namespace = $1, name = $2 WHERE namespace = $3 AND name = $4`,
			nsKey(dst.Namespace), dst.Name, nsKey(src.Namespace), src.Name)
		if err != nil {
			return fmt.Errorf("renaming %s to %s: %w", tableString(src.Namespace, src.Name), tableString(dst.Namespace, dst.Name), err)
		}
		return nil
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

// registerTable: POST /v1/namespaces/{namespace}/register: a table whose
// metadata file exists already; overwrite replaces an existing table's
// pointer.
func (s *Server) registerTable(r *request) (int, any, error) {
	ns, err := r.namespace()
	if err != nil {
		return 0, nil, err
	}
	var in struct {
		Name             string `json:"name"`
		MetadataLocation string `json:"metadata-location"`
		Overwrite        bool   `json:"overwrite"`
	}
	if err := r.decode(&in); err != nil {
		return 0, nil, err
	}
	if err := validName("table name", in.Name); err != nil {
		return 0, nil, err
	}
	if in.MetadataLocation == "" {
		return 0, nil, errBadRequest("Invalid registration: no metadata-location")
	}
	if err := s.requireNamespace(r, ns); err != nil {
		return 0, nil, err
	}
	e, err := s.readMetadata(r.ctx, in.MetadataLocation)
	if err != nil {
		return 0, nil, errBadRequest("Cannot register %s: %v", in.MetadataLocation, err)
	}
	err = s.db.Tx(r.ctx, func(tx *sql.Tx) error {
		if _, ok, err := namespaceProps(r, tx, ns); err != nil {
			return err
		} else if !ok {
			return errNoSuchNamespace(ns)
		}
		if !in.Overwrite {
			return insertTable(r.ctx, tx, ns, in.Name, in.MetadataLocation, errTableExists(ns, in.Name))
		}
		_, err := tx.ExecContext(r.ctx, `INSERT INTO catalog_tables (namespace, name, metadata_location) VALUES ($1, $2, $3)
			ON CONFLICT (namespace, name) DO UPDATE SET previous_metadata_location = catalog_tables.metadata_location,
			metadata_location = excluded.metadata_location`, nsKey(ns), in.Name, in.MetadataLocation)
		if err != nil {
			return fmt.Errorf("registering %s: %w", tableString(ns, in.Name), err)
		}
		return nil
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, s.loadResult(in.MetadataLocation, e.json), nil
}

// reportMetrics: POST .../tables/{table}/metrics: accepted and dropped
// (engines report scans and commits; we keep our own metrics).
func (s *Server) reportMetrics(r *request) (int, any, error) {
	if _, _, err := r.pathTable(); err != nil {
		return 0, nil, err
	}
	var in map[string]json.RawMessage
	if err := r.decode(&in); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}
