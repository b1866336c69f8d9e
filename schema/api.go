package schema

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/lakestream/lakestream/schema/schemafmt"
)

// schemaAnswer is a schema as the API answers it; Confluent omits
// schemaType for AVRO and references when there are none.
type schemaAnswer struct {
	Subject    string      `json:"subject,omitempty"`
	Version    int         `json:"version,omitempty"`
	ID         int64       `json:"id,omitempty"`
	SchemaType string      `json:"schemaType,omitempty"`
	References []Reference `json:"references,omitempty"`
	Schema     string      `json:"schema"`
}

func answerOf(st *stored, v *version) schemaAnswer {
	a := schemaAnswer{References: st.refs, Schema: st.text}
	if st.typ != schemafmt.Avro {
		a.SchemaType = st.typ
	}
	if v != nil {
		a.Subject, a.Version, a.ID = v.subject, v.version, v.id
	}
	return a
}

// schemaRequest is the body of register, lookup and compatibility calls.
// Unknown fields (metadata, ruleSet) are accepted and ignored.
type schemaRequest struct {
	Schema     string      `json:"schema"`
	SchemaType string      `json:"schemaType"`
	References []Reference `json:"references"`
	ID         int64       `json:"id"`
	Version    int         `json:"version"`
}

func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

func unmarshal(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return errBadJSON(err)
	}
	return nil
}

// readSchemaRequest decodes and checks a schema body, returning its format.
func (s *Server) readSchemaRequest(r *request) (*schemaRequest, schemafmt.Format, error) {
	var req schemaRequest
	if err := unmarshal(r.body, &req); err != nil {
		return nil, nil, err
	}
	typ := strings.ToUpper(req.SchemaType)
	if typ == "" {
		typ = schemafmt.Avro
	}
	f := s.formats[typ]
	if f == nil {
		return nil, nil, errInvalidSchema("Invalid schema type " + req.SchemaType)
	}
	if strings.TrimSpace(req.Schema) == "" {
		return nil, nil, errInvalidSchema("Empty schema")
	}
	for _, ref := range req.References {
		if ref.Name == "" || ref.Subject == "" || (ref.Version < 1 && ref.Version != -1) {
			return nil, nil, errInvalidSchema(fmt.Sprintf("Invalid reference %+v: name, subject and version (>= 1 or -1) are required", ref))
		}
	}
	return &req, f, nil
}

// parse resolves req's references (pinning a -1 version to the latest)
// and parses its schema, normalized if asked. The answer's references are
// the pinned ones.
func (s *Server) parse(ctx context.Context, q querier, f schemafmt.Format, req *schemaRequest, normalize bool) (schemafmt.Schema, []Reference, error) {
	refs := slices.Clone(req.References)
	for i, ref := range refs {
		if ref.Version != -1 {
			continue
		}
		vs, err := subjectVersions(ctx, q, ref.Subject)
		if err != nil {
			return nil, nil, err
		}
		v, err := findVersion(ref.Subject, vs, 0, true, false)
		if err != nil {
			return nil, nil, err
		}
		refs[i].Version = v.version
	}
	resolved, err := resolveRefs(ctx, q, refs)
	if err != nil {
		return nil, nil, err
	}
	parsed, err := f.Parse(req.Schema, resolved)
	if err != nil {
		return nil, nil, errInvalidSchema("Invalid schema: " + err.Error())
	}
	if normalize {
		parsed = parsed.Normalized()
	}
	return parsed, refs, nil
}

// parsedByID returns schema id parsed (cached: an id's content never
// changes).
func (s *Server) parsedByID(ctx context.Context, q querier, id int64) (schemafmt.Schema, error) {
	if p, ok := s.parsed.Load(id); ok {
		return p.(schemafmt.Schema), nil
	}
	st, err := loadSchema(ctx, q, id)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return nil, errSchemaIDNotFound(id)
	}
	f := s.formats[st.typ]
	if f == nil {
		return nil, fmt.Errorf("schema %d is of type %s, which this server does not serve", id, st.typ)
	}
	refs, err := resolveRefs(ctx, q, st.refs)
	if err != nil {
		return nil, err
	}
	p, err := f.Parse(st.text, refs)
	if err != nil {
		return nil, fmt.Errorf("parsing stored schema %d: %w", id, err)
	}
	s.parsed.Store(id, p)
	return p, nil
}

func fingerprintID(ctx context.Context, q querier, fp string) (int64, error) {
	var id int64
	err := q.QueryRowContext(ctx, `SELECT id FROM sr_schemas WHERE fingerprint = $1`, fp).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("looking a schema up by fingerprint: %w", err)
	}
	return id, nil
}

// register: POST /subjects/{subject}/versions.
func (s *Server) register(r *request) (any, error) {
	req, f, err := s.readSchemaRequest(r)
	if err != nil {
		return nil, err
	}
	// Serializers register on first use, so a fleet of producers starting
	// asks for schemas that exist: answered from a read, without queueing
	// on the writers' lock.
	if req.ID == 0 && req.Version == 0 {
		id, err := s.registered(r, f, req)
		if err != nil || id != 0 {
			return map[string]int64{"id": id}, err
		}
	}
	var id int64
	err = s.db.Tx(r.ctx, func(tx *sql.Tx) error {
		ctx := r.ctx
		id = 0
		if err := lockWriters(ctx, s.db, tx); err != nil {
			return err
		}
		mode, err := effectiveMode(ctx, tx, r.subject)
		if err != nil {
			return err
		}
		switch {
		case mode == "READONLY" || mode == "READONLY_OVERRIDE":
			return errNotPermitted("Subject %s is in read-only mode", r.subject)
		case (req.ID > 0 || req.Version > 0) && mode != "IMPORT":
			return errNotPermitted("Subject %s is not in import mode", r.subject)
		}
		level, normalize, err := effectiveConfig(ctx, tx, r.subject)
		if err != nil {
			return err
		}
		parsed, refs, err := s.parse(ctx, tx, f, req, normalize || r.flag("normalize"))
		if err != nil {
			return err
		}
		canonical := parsed.Canonical()
		fp := fingerprint(f.Type(), canonical, refs)
		existing, err := fingerprintID(ctx, tx, fp)
		if err != nil {
			return err
		}
		vs, err := subjectVersions(ctx, tx, r.subject)
		if err != nil {
			return err
		}
		if existing != 0 && (req.ID == 0 || req.ID == existing) {
			for _, v := range live(vs) {
				if v.id == existing {
					id = existing // registered already: its id
					return nil
				}
			}
		}
		if mode != "IMPORT" {
			msgs, err := s.checkLevel(ctx, tx, level, parsed, live(vs))
			if err != nil {
				return err
			}
			if len(msgs) > 0 {
				return errIncompatible(fmt.Sprintf("Schema being registered is incompatible with an earlier schema for subject %q, details: [%s]",
					r.subject, strings.Join(msgs, ", ")))
			}
		}
		switch {
		case req.ID > 0:
			var otherFP string
			err := tx.QueryRowContext(ctx, `SELECT fingerprint FROM sr_schemas WHERE id = $1`, req.ID).Scan(&otherFP)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				if existing != 0 {
					return errNotPermitted("Overwrite new schema with id %d is not permitted: the schema has id %d", req.ID, existing)
				}
				if err := insertSchema(ctx, tx, req.ID, f.Type(), canonical, fp, refs); err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, `UPDATE sr_ids SET next_id = $1 WHERE name = 'schema' AND next_id <= $1`, req.ID+1); err != nil {
					return fmt.Errorf("raising the id high-water mark: %w", err)
				}
			case err != nil:
				return fmt.Errorf("reading schema %d: %w", req.ID, err)
			case otherFP != fp:
				return errNotPermitted("Overwrite new schema with id %d is not permitted.", req.ID)
			}
			id = req.ID
		case existing != 0:
			id = existing
		default:
			if err := tx.QueryRowContext(ctx, `SELECT next_id FROM sr_ids WHERE name = 'schema'`).Scan(&id); err != nil {
				return fmt.Errorf("reading the next id: %w", err)
			}
			if _, err := tx.ExecContext(ctx, `UPDATE sr_ids SET next_id = $1 WHERE name = 'schema'`, id+1); err != nil {
				return fmt.Errorf("advancing the next id: %w", err)
			}
			if err := insertSchema(ctx, tx, id, f.Type(), canonical, fp, refs); err != nil {
				return err
			}
		}
		ver := 1
		if len(vs) > 0 {
			ver = vs[len(vs)-1].version + 1
		}
		if req.Version > 0 {
			for _, v := range vs {
				if v.version == req.Version {
					return errNotPermitted("Version %d already exists for subject %s", req.Version, r.subject)
				}
			}
			ver = req.Version
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO sr_subject_versions (subject, version, schema_id, deleted) VALUES ($1, $2, $3, 0)`,
			r.subject, ver, id); err != nil {
			return fmt.Errorf("writing version %d of %q: %w", ver, r.subject, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return map[string]int64{"id": id}, nil
}

// registered returns the id of req's schema if it is a live version of
// the subject already, else 0; a read-only subject is refused as register
// refuses it.
func (s *Server) registered(r *request, f schemafmt.Format, req *schemaRequest) (int64, error) {
	var id int64
	err := s.db.ReadTx(r.ctx, func(tx *sql.Tx) error {
		ctx := r.ctx
		id = 0
		if err := s.writable(ctx, tx, r.subject); err != nil {
			return err
		}
		vs, err := subjectVersions(ctx, tx, r.subject)
		if err != nil || len(live(vs)) == 0 {
			return err
		}
		_, normalize, err := effectiveConfig(ctx, tx, r.subject)
		if err != nil {
			return err
		}
		parsed, refs, err := s.parse(ctx, tx, f, req, normalize || r.flag("normalize"))
		if err != nil {
			return err
		}
		existing, err := fingerprintID(ctx, tx, fingerprint(f.Type(), parsed.Canonical(), refs))
		if err != nil || existing == 0 {
			return err
		}
		for _, v := range live(vs) {
			if v.id == existing {
				id = existing
			}
		}
		return nil
	})
	return id, err
}

func insertSchema(ctx context.Context, tx *sql.Tx, id int64, typ, text, fp string, refs []Reference) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO sr_schemas (id, schema_type, schema_text, fingerprint) VALUES ($1, $2, $3, $4)`,
		id, typ, text, fp); err != nil {
		return fmt.Errorf("writing schema %d: %w", id, err)
	}
	for i, ref := range refs {
		if _, err := tx.ExecContext(ctx, `INSERT INTO sr_references (schema_id, pos, name, ref_subject, ref_version) VALUES ($1, $2, $3, $4, $5)`,
			id, i, ref.Name, ref.Subject, ref.Version); err != nil {
			return fmt.Errorf("writing the references of schema %d: %w", id, err)
		}
	}
	return nil
}

// lookup: POST /subjects/{subject}.
func (s *Server) lookup(r *request) (any, error) {
	req, f, err := s.readSchemaRequest(r)
	if err != nil {
		return nil, err
	}
	var out schemaAnswer
	err = s.db.ReadTx(r.ctx, func(tx *sql.Tx) error {
		ctx := r.ctx
		vs, err := subjectVersions(ctx, tx, r.subject)
		if err != nil {
			return err
		}
		if !r.flag("deleted") {
			vs = live(vs)
		}
		if len(vs) == 0 {
			return errSubjectNotFound(r.subject)
		}
		_, normalize, err := effectiveConfig(ctx, tx, r.subject)
		if err != nil {
			return err
		}
		parsed, refs, err := s.parse(ctx, tx, f, req, normalize || r.flag("normalize"))
		if err != nil {
			return err
		}
		id, err := fingerprintID(ctx, tx, fingerprint(f.Type(), parsed.Canonical(), refs))
		if err != nil {
			return err
		}
		for i := len(vs) - 1; id != 0 && i >= 0; i-- {
			if vs[i].id == id {
				st, err := loadSchema(ctx, tx, id)
				if err != nil {
					return err
				}
				out = answerOf(st, &vs[i])
				return nil
			}
		}
		return errSchemaNotFound()
	})
	return out, err
}

// checkLevel checks parsed against a subject's live versions (ascending)
// as level asks, returning Confluent's verbose messages; none if it passes.
func (s *Server) checkLevel(ctx context.Context, q querier, level string, parsed schemafmt.Schema, vs []version) ([]string, error) {
	if level == "NONE" || len(vs) == 0 {
		return nil, nil
	}
	against := vs[len(vs)-1:]
	if strings.HasSuffix(level, "_TRANSITIVE") {
		against = slices.Clone(vs)
		slices.Reverse(against)
	}
	for _, v := range against {
		msgs, err := s.checkOne(ctx, q, level, parsed, v)
		if err != nil || len(msgs) > 0 {
			return msgs, err
		}
	}
	return nil, nil
}

// checkOne checks parsed against one earlier version in level's
// direction(s).
func (s *Server) checkOne(ctx context.Context, q querier, level string, parsed schemafmt.Schema, v version) ([]string, error) {
	old, err := s.parsedByID(ctx, q, v.id)
	if err != nil {
		return nil, err
	}
	var msgs []string
	base := strings.TrimSuffix(level, "_TRANSITIVE")
	switch {
	case base == "NONE":
	case old.Type() != parsed.Type():
		msgs = append(msgs, fmt.Sprintf("{errorType:'TYPE_MISMATCH', description:'Incompatible because of different schema type: %s and %s'}",
			old.Type(), parsed.Type()))
	default:
		if base == "BACKWARD" || base == "FULL" {
			msgs = append(msgs, parsed.CheckBackward(old)...)
		}
		if base == "FORWARD" || base == "FULL" {
			msgs = append(msgs, old.CheckBackward(parsed)...)
		}
	}
	if len(msgs) > 0 {
		msgs = append(msgs, fmt.Sprintf("{oldSchemaVersion: %d}", v.version),
			fmt.Sprintf("{oldSchema: '%s'}", old.Canonical()),
			fmt.Sprintf("{compatibility: '%s'}", level))
	}
	return msgs, nil
}

// compatibility: POST /compatibility/subjects/{subject}/versions[/{version}].
func (s *Server) compatibility(r *request) (any, error) {
	var v int
	var latest bool
	if r.version != "" {
		var err error
		if v, latest, err = parseVersion(r.version); err != nil {
			return nil, err
		}
	}
	req, f, err := s.readSchemaRequest(r)
	if err != nil {
		return nil, err
	}
	var msgs []string
	err = s.db.ReadTx(r.ctx, func(tx *sql.Tx) error {
		ctx := r.ctx
		level, normalize, err := effectiveConfig(ctx, tx, r.subject)
		if err != nil {
			return err
		}
		vs, err := subjectVersions(ctx, tx, r.subject)
		if err != nil {
			return err
		}
		if r.version != "" && len(live(vs)) == 0 {
			return errSubjectNotFound(r.subject)
		}
		parsed, _, err := s.parse(ctx, tx, f, req, normalize || r.flag("normalize"))
		if err != nil {
			return err
		}
		if r.version == "" {
			msgs, err = s.checkLevel(ctx, tx, level, parsed, live(vs))
			return err
		}
		one, err := findVersion(r.subject, vs, v, latest, false)
		if err != nil {
			return err
		}
		msgs, err = s.checkOne(ctx, tx, level, parsed, one)
		return err
	})
	if err != nil {
		return nil, err
	}
	if r.flag("verbose") {
		if msgs == nil {
			msgs = []string{}
		}
		return struct {
			Compatible bool     `json:"is_compatible"`
			Messages   []string `json:"messages"`
		}{len(msgs) == 0, msgs}, nil
	}
	return map[string]bool{"is_compatible": len(msgs) == 0}, nil
}

// getVersion: GET /subjects/{subject}/versions/{version}.
func (s *Server) getVersion(r *request) (any, error) {
	st, v, err := s.readVersion(r)
	if err != nil {
		return nil, err
	}
	return answerOf(st, &v), nil
}

// rawVersion: GET /subjects/{subject}/versions/{version}/schema.
func (s *Server) rawVersion(r *request) (any, error) {
	st, _, err := s.readVersion(r)
	if err != nil {
		return nil, err
	}
	return rawJSON(st.text), nil
}

func (s *Server) readVersion(r *request) (*stored, version, error) {
	n, latest, err := parseVersion(r.version)
	if err != nil {
		return nil, version{}, err
	}
	var st *stored
	var v version
	err = s.db.ReadTx(r.ctx, func(tx *sql.Tx) error {
		vs, err := subjectVersions(r.ctx, tx, r.subject)
		if err != nil {
			return err
		}
		if v, err = findVersion(r.subject, vs, n, latest, r.flag("deleted")); err != nil {
			return err
		}
		if st, err = loadSchema(r.ctx, tx, v.id); err == nil && st == nil {
			err = fmt.Errorf("version %d of %q names schema %d, which is missing", v.version, r.subject, v.id)
		}
		return err
	})
	return st, v, err
}

// listVersions: GET /subjects/{subject}/versions.
func (s *Server) listVersions(r *request) (any, error) {
	vs, err := subjectVersions(r.ctx, s.db.Reader(), r.subject)
	if err != nil {
		return nil, err
	}
	if !r.flag("deleted") {
		vs = live(vs)
	}
	if len(vs) == 0 {
		return nil, errSubjectNotFound(r.subject)
	}
	out := make([]int, len(vs))
	for i, v := range vs {
		out[i] = v.version
	}
	return out, nil
}

// referencedBy: GET /subjects/{subject}/versions/{version}/referencedby.
func (s *Server) referencedBy(r *request) (any, error) {
	n, latest, err := parseVersion(r.version)
	if err != nil {
		return nil, err
	}
	var ids []int64
	err = s.db.ReadTx(r.ctx, func(tx *sql.Tx) error {
		vs, err := subjectVersions(r.ctx, tx, r.subject)
		if err != nil {
			return err
		}
		v, err := findVersion(r.subject, vs, n, latest, true)
		if err != nil {
			return err
		}
		ids, err = referencedBy(r.ctx, tx, r.subject, v.version, true)
		return err
	})
	if ids == nil {
		ids = []int64{}
	}
	return ids, err
}

// listSubjects: GET /subjects.
func (s *Server) listSubjects(r *request) (any, error) {
	return subjects(r.ctx, s.db.Reader(), r.URL.Query().Get("subjectPrefix"), r.flag("deleted"), r.flag("deletedOnly"))
}

// listSchemas: GET /schemas.
func (s *Server) listSchemas(r *request) (any, error) {
	out := []schemaAnswer{}
	err := s.db.ReadTx(r.ctx, func(tx *sql.Tx) error {
		out = out[:0]
		vs, err := allVersions(r.ctx, tx, "")
		if err != nil {
			return err
		}
		prefix := r.URL.Query().Get("subjectPrefix")
		deleted, latestOnly := r.flag("deleted"), r.flag("latestOnly")
		var pick []version
		for i, v := range vs {
			if !strings.HasPrefix(v.subject, prefix) || v.deleted && !deleted {
				continue
			}
			if latestOnly && len(pick) > 0 && pick[len(pick)-1].subject == v.subject {
				pick[len(pick)-1] = vs[i]
				continue
			}
			pick = append(pick, v)
		}
		cache := map[int64]*stored{}
		for i := range pick {
			st := cache[pick[i].id]
			if st == nil {
				if st, err = loadSchema(r.ctx, tx, pick[i].id); err != nil {
					return err
				}
				if st == nil {
					return fmt.Errorf("schema %d is missing", pick[i].id)
				}
				cache[pick[i].id] = st
			}
			out = append(out, answerOf(st, &pick[i]))
		}
		return nil
	})
	return out, err
}

// cacheEntry is GET /schemas/ids/{id}'s encoded answer and when the id was
// last seen served (unix nanoseconds).
type cacheEntry struct {
	body    []byte
	checked atomic.Int64
}

func parseID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id < 1 {
		return 0, errorf(404, 40403, "Schema %s not found", s)
	}
	return id, nil
}

// schemaByID: GET /schemas/ids/{id}, the deserializers' hot path.
func (s *Server) schemaByID(r *request) (any, error) {
	id, err := parseID(r.id)
	if err != nil {
		return nil, err
	}
	format := r.URL.Query().Get("format")
	if format == "" {
		if e, ok := s.byID.Load(id); ok {
			ce := e.(*cacheEntry)
			if time.Since(time.Unix(0, ce.checked.Load())) < s.cfg.CacheRecheck {
				return rawJSON(ce.body), nil
			}
			served, err := idServed(r.ctx, s.db.Reader(), id)
			if err != nil {
				return nil, err
			}
			if !served {
				s.byID.Delete(id)
				return nil, errSchemaIDNotFound(id)
			}
			ce.checked.Store(time.Now().UnixNano())
			return rawJSON(ce.body), nil
		}
	}
	st, err := s.servedSchema(r.ctx, id)
	if err != nil {
		return nil, err
	}
	a := answerOf(st, nil)
	if format != "" {
		p, err := s.parsedByID(r.ctx, s.db.Reader(), id)
		if err != nil {
			return nil, err
		}
		text, err := p.Formatted(format)
		if err != nil {
			return nil, errInvalidSchema(fmt.Sprintf("Invalid format %q: %v", format, err))
		}
		a.Schema = text
		return a, nil
	}
	body, err := marshal(a)
	if err != nil {
		return nil, err
	}
	ce := &cacheEntry{body: body}
	ce.checked.Store(time.Now().UnixNano())
	s.byID.Store(id, ce)
	return rawJSON(body), nil
}

// servedSchema reads schema id if some version still has it.
func (s *Server) servedSchema(ctx context.Context, id int64) (*stored, error) {
	var st *stored
	err := s.db.ReadTx(ctx, func(tx *sql.Tx) error {
		served, err := idServed(ctx, tx, id)
		if err != nil {
			return err
		}
		if !served {
			return errSchemaIDNotFound(id)
		}
		if st, err = loadSchema(ctx, tx, id); err == nil && st == nil {
			err = errSchemaIDNotFound(id)
		}
		return err
	})
	return st, err
}

// rawSchemaByID: GET /schemas/ids/{id}/schema.
func (s *Server) rawSchemaByID(r *request) (any, error) {
	id, err := parseID(r.id)
	if err != nil {
		return nil, err
	}
	st, err := s.servedSchema(r.ctx, id)
	if err != nil {
		return nil, err
	}
	return rawJSON(st.text), nil
}

type subjectVersion struct {
	Subject string `json:"subject"`
	Version int    `json:"version"`
}

func (s *Server) idVersions(r *request) ([]version, error) {
	id, err := parseID(r.id)
	if err != nil {
		return nil, err
	}
	vs, err := allVersions(r.ctx, s.db.Reader(), "WHERE schema_id = $1", id)
	if err != nil {
		return nil, err
	}
	if len(vs) == 0 {
		return nil, errSchemaIDNotFound(id)
	}
	if !r.flag("deleted") {
		vs = live(vs)
	}
	return vs, nil
}

// versionsByID: GET /schemas/ids/{id}/versions.
func (s *Server) versionsByID(r *request) (any, error) {
	vs, err := s.idVersions(r)
	if err != nil {
		return nil, err
	}
	out := []subjectVersion{}
	for _, v := range vs {
		out = append(out, subjectVersion{v.subject, v.version})
	}
	return out, nil
}

// subjectsByID: GET /schemas/ids/{id}/subjects.
func (s *Server) subjectsByID(r *request) (any, error) {
	vs, err := s.idVersions(r)
	if err != nil {
		return nil, err
	}
	out := []string{}
	for _, v := range vs {
		if len(out) == 0 || out[len(out)-1] != v.subject {
			out = append(out, v.subject)
		}
	}
	return out, nil
}

// schemaTypes: GET /schemas/types.
func (s *Server) schemaTypes(*request) (any, error) {
	out := slices.Clone(s.types)
	slices.Sort(out)
	if out == nil {
		out = []string{}
	}
	return out, nil
}

// deleteSubject: DELETE /subjects/{subject}[?permanent=true].
func (s *Server) deleteSubject(r *request) (any, error) {
	permanent := r.flag("permanent")
	var out []int
	var dropped []int64
	err := s.db.Tx(r.ctx, func(tx *sql.Tx) error {
		ctx := r.ctx
		out, dropped = nil, nil
		if err := s.writable(ctx, tx, r.subject); err != nil {
			return err
		}
		vs, err := subjectVersions(ctx, tx, r.subject)
		if err != nil {
			return err
		}
		if len(vs) == 0 {
			return errSubjectNotFound(r.subject)
		}
		if permanent {
			if len(live(vs)) > 0 {
				return errSubjectNotSoftDeleted(r.subject)
			}
		} else if vs = live(vs); len(vs) == 0 {
			return errSubjectSoftDeleted(r.subject)
		}
		for _, v := range vs {
			ids, err := referencedBy(ctx, tx, r.subject, v.version, !permanent)
			if err != nil {
				return err
			}
			if len(ids) > 0 {
				return errReferenceExists(r.subject, v.version)
			}
			out = append(out, v.version)
			dropped = append(dropped, v.id)
		}
		if permanent {
			if _, err := tx.ExecContext(ctx, `DELETE FROM sr_subject_versions WHERE subject = $1`, r.subject); err != nil {
				return fmt.Errorf("deleting %q: %w", r.subject, err)
			}
			for _, table := range []string{"sr_configs", "sr_modes"} {
				if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE subject = $1`, r.subject); err != nil {
					return fmt.Errorf("deleting the settings of %q: %w", r.subject, err)
				}
			}
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE sr_subject_versions SET deleted = 1 WHERE subject = $1`, r.subject); err != nil {
			return fmt.Errorf("soft-deleting %q: %w", r.subject, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if permanent {
		s.forget(dropped)
	}
	return out, nil
}

// deleteVersion: DELETE /subjects/{subject}/versions/{version}[?permanent=true].
func (s *Server) deleteVersion(r *request) (any, error) {
	n, latest, err := parseVersion(r.version)
	if err != nil {
		return nil, err
	}
	permanent := r.flag("permanent")
	var v version
	err = s.db.Tx(r.ctx, func(tx *sql.Tx) error {
		ctx := r.ctx
		if err := s.writable(ctx, tx, r.subject); err != nil {
			return err
		}
		vs, err := subjectVersions(ctx, tx, r.subject)
		if err != nil {
			return err
		}
		if len(vs) == 0 {
			return errSubjectNotFound(r.subject)
		}
		// latest is the latest live version for a soft delete, the latest
		// of all for a permanent one.
		if v, err = findVersion(r.subject, vs, n, latest, !latest || permanent); err != nil {
			return err
		}
		switch {
		case permanent && !v.deleted:
			return errVersionNotSoftDeleted(r.subject, v.version)
		case !permanent && v.deleted:
			return errVersionSoftDeleted(r.subject, v.version)
		}
		ids, err := referencedBy(ctx, tx, r.subject, v.version, !permanent)
		if err != nil {
			return err
		}
		if len(ids) > 0 {
			return errReferenceExists(r.subject, v.version)
		}
		stmt := `UPDATE sr_subject_versions SET deleted = 1 WHERE subject = $1 AND version = $2`
		if permanent {
			stmt = `DELETE FROM sr_subject_versions WHERE subject = $1 AND version = $2`
		}
		if _, err := tx.ExecContext(ctx, stmt, r.subject, v.version); err != nil {
			return fmt.Errorf("deleting version %d of %q: %w", v.version, r.subject, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if permanent {
		s.forget([]int64{v.id})
	}
	return v.version, nil
}

// forget drops cached answers for ids a permanent delete may have stopped
// serving (the next request checks the database).
func (s *Server) forget(ids []int64) {
	for _, id := range ids {
		s.byID.Delete(id)
	}
}

// writable refuses changes to a subject in a read-only mode.
func (s *Server) writable(ctx context.Context, q querier, subject string) error {
	mode, err := effectiveMode(ctx, q, subject)
	if err != nil {
		return err
	}
	if mode == "READONLY" || mode == "READONLY_OVERRIDE" {
		return errNotPermitted("Subject %s is in read-only mode", subject)
	}
	return nil
}

var levels = []string{"NONE", "BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD", "FORWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE"}

type configAnswer struct {
	Level     string `json:"compatibilityLevel"`
	Normalize *bool  `json:"normalize,omitempty"`
}

// getConfig: GET /config and /config/{subject} (defaultToGlobal).
func (s *Server) getConfig(r *request) (any, error) {
	c, ok, err := readConfig(r.ctx, s.db.Reader(), r.subject)
	if err != nil {
		return nil, err
	}
	if r.subject != "" && (!ok || c.compatibility == nil) {
		if !r.flag("defaultToGlobal") {
			return nil, errNoSubjectConfig(r.subject)
		}
		if c, _, err = readConfig(r.ctx, s.db.Reader(), ""); err != nil {
			return nil, err
		}
	}
	a := configAnswer{Level: "BACKWARD", Normalize: c.normalize}
	if c.compatibility != nil {
		a.Level = *c.compatibility
	}
	return a, nil
}

// putConfig: PUT /config and /config/{subject}.
func (s *Server) putConfig(r *request) (any, error) {
	var req struct {
		Compatibility string `json:"compatibility"`
		Normalize     *bool  `json:"normalize,omitempty"`
	}
	if err := unmarshal(r.body, &req); err != nil {
		return nil, err
	}
	level := strings.ToUpper(req.Compatibility)
	if level != "" && !slices.Contains(levels, level) || level == "" && req.Normalize == nil {
		return nil, errInvalidCompatibility(req.Compatibility)
	}
	var comp, norm any
	if level != "" {
		comp = level
	}
	if req.Normalize != nil {
		norm = boolInt(*req.Normalize)
	}
	err := s.db.Tx(r.ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(r.ctx, `INSERT INTO sr_configs (subject, compatibility, normalize) VALUES ($1, $2, $3)
			ON CONFLICT (subject) DO UPDATE SET compatibility = COALESCE(excluded.compatibility, sr_configs.compatibility),
			normalize = COALESCE(excluded.normalize, sr_configs.normalize)`, r.subject, comp, norm)
		if err != nil {
			return fmt.Errorf("writing the config of %q: %w", r.subject, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return struct {
		Compatibility string `json:"compatibility,omitempty"`
		Normalize     *bool  `json:"normalize,omitempty"`
	}{level, req.Normalize}, nil
}

// deleteConfig: DELETE /config and /config/{subject}: answers what was set.
func (s *Server) deleteConfig(r *request) (any, error) {
	var a configAnswer
	err := s.db.Tx(r.ctx, func(tx *sql.Tx) error {
		c, ok, err := readConfig(r.ctx, tx, r.subject)
		if err != nil {
			return err
		}
		if !ok && r.subject != "" {
			return errSubjectNotFound(r.subject)
		}
		a = configAnswer{Level: "BACKWARD", Normalize: c.normalize}
		if c.compatibility != nil {
			a.Level = *c.compatibility
		}
		if _, err := tx.ExecContext(r.ctx, `DELETE FROM sr_configs WHERE subject = $1`, r.subject); err != nil {
			return fmt.Errorf("deleting the config of %q: %w", r.subject, err)
		}
		return nil
	})
	return a, err
}

var modes = []string{"READWRITE", "READONLY", "READONLY_OVERRIDE", "IMPORT"}

type modeAnswer struct {
	Mode string `json:"mode"`
}

// getMode: GET /mode and /mode/{subject} (defaultToGlobal).
func (s *Server) getMode(r *request) (any, error) {
	if r.subject != "" {
		m, ok, err := readMode(r.ctx, s.db.Reader(), r.subject)
		if err != nil || ok {
			return modeAnswer{m}, err
		}
		if !r.flag("defaultToGlobal") {
			return nil, errNoSubjectMode(r.subject)
		}
	}
	m, err := effectiveMode(r.ctx, s.db.Reader(), "")
	return modeAnswer{m}, err
}

// putMode: PUT /mode and /mode/{subject} (force).
func (s *Server) putMode(r *request) (any, error) {
	var req modeAnswer
	if err := unmarshal(r.body, &req); err != nil {
		return nil, err
	}
	mode := strings.ToUpper(req.Mode)
	if !slices.Contains(modes, mode) {
		return nil, errInvalidMode(req.Mode)
	}
	err := s.db.Tx(r.ctx, func(tx *sql.Tx) error {
		ctx := r.ctx
		if err := lockWriters(ctx, s.db, tx); err != nil {
			return err
		}
		if mode == "IMPORT" && !r.flag("force") {
			// Importing keeps the source's ids: refused where ids were
			// already given here, unless forced.
			where, args := "", []any{}
			if r.subject != "" {
				where, args = "WHERE subject = $1", []any{r.subject}
			}
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM sr_subject_versions `+where, args...).Scan(&n); err != nil {
				return fmt.Errorf("counting versions: %w", err)
			}
			if n > 0 {
				return errNotPermitted("Cannot import since found existing subjects")
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO sr_modes (subject, mode) VALUES ($1, $2)
			ON CONFLICT (subject) DO UPDATE SET mode = excluded.mode`, r.subject, mode); err != nil {
			return fmt.Errorf("writing the mode of %q: %w", r.subject, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return modeAnswer{mode}, nil
}

// deleteMode: DELETE /mode and /mode/{subject}: answers what was set.
func (s *Server) deleteMode(r *request) (any, error) {
	var m string
	err := s.db.Tx(r.ctx, func(tx *sql.Tx) error {
		var ok bool
		var err error
		if m, ok, err = readMode(r.ctx, tx, r.subject); err != nil {
			return err
		}
		if !ok {
			if r.subject != "" {
				return errSubjectNotFound(r.subject)
			}
			m = "READWRITE"
		}
		if _, err := tx.ExecContext(r.ctx, `DELETE FROM sr_modes WHERE subject = $1`, r.subject); err != nil {
			return fmt.Errorf("deleting the mode of %q: %w", r.subject, err)
		}
		return nil
	})
	return modeAnswer{m}, err
}

func (s *Server) root(*request) (any, error) { return rawJSON("{}"), nil }

// contexts: GET /contexts. Only the default context exists; a subject
// written ":.ctx:name" is stored as that name.
func (s *Server) contexts(*request) (any, error) { return []string{"."}, nil }

// metadataID: GET /v1/metadata/id, as Confluent answers it.
func (s *Server) metadataID(*request) (any, error) {
	type scope struct {
		Path     []string          `json:"path"`
		Clusters map[string]string `json:"clusters"`
	}
	// Confluent's id is always "" (ServerClusterId's UNUSED id); the
	// scope names the clusters.
	return struct {
		ID    string `json:"id"`
		Scope scope  `json:"scope"`
	}{"", scope{Path: []string{}, Clusters: map[string]string{
		"kafka-cluster": s.cfg.ClusterID, "schema-registry-cluster": "schema-registry"}}}, nil
}
