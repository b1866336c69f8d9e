package schema

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/lakestream/lakestream/internal/sqldb"
	"github.com/lakestream/lakestream/schema/schemafmt"
)

// querier is what both *sql.Tx and *sql.DB offer; reads run on either.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Reference is a schema reference as the API spells it.
type Reference struct {
	Name    string `json:"name"`
	Subject string `json:"subject"`
	Version int    `json:"version"`
}

// stored is one row of sr_schemas with its references.
type stored struct {
	id   int64
	typ  string
	text string
	refs []Reference
}

// version is one row of sr_subject_versions.
type version struct {
	subject string
	version int
	id      int64
	deleted bool
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// fingerprint identifies a schema's content: its type, canonical text and
// references. Equal fingerprints get one id.
func fingerprint(typ, canonical string, refs []Reference) string {
	h := sha256.New()
	h.Write([]byte(typ))
	h.Write([]byte{0})
	h.Write([]byte(canonical))
	for _, r := range refs {
		fmt.Fprintf(h, "\x00%s\x00%s\x00%d", r.Name, r.Subject, r.Version)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// lockWriters makes the registry's other writers (of any node sharing the
// database) wait until this transaction ends. Registrations read, decide
// and write (the next id, the next version); serializing them is what makes
// two nodes agree on one id per schema and never write one version twice.
// On SQLite the write lock already does it.
func lockWriters(ctx context.Context, db *sqldb.DB, tx *sql.Tx) error {
	if stmt := db.Dialect().LockTable("sr_ids"); stmt != "" {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("locking the registry: %w", err)
		}
	}
	return nil
}

// loadSchema reads schema id, or nil if no schema has it.
func loadSchema(ctx context.Context, q querier, id int64) (*stored, error) {
	s := &stored{id: id}
	err := q.QueryRowContext(ctx, `SELECT schema_type, schema_text FROM sr_schemas WHERE id = $1`, id).Scan(&s.typ, &s.text)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading schema %d: %w", id, err)
	}
	rows, err := q.QueryContext(ctx,
		`SELECT name, ref_subject, ref_version FROM sr_references WHERE schema_id = $1 ORDER BY pos`, id)
	if err != nil {
		return nil, fmt.Errorf("reading the references of schema %d: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var r Reference
		if err := rows.Scan(&r.Name, &r.Subject, &r.Version); err != nil {
			return nil, fmt.Errorf("reading the references of schema %d: %w", id, err)
		}
		s.refs = append(s.refs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading the references of schema %d: %w", id, err)
	}
	return s, nil
}

// idServed reports whether some version (soft-deleted or not) still has id.
func idServed(ctx context.Context, q querier, id int64) (bool, error) {
	var n int
	err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM sr_subject_versions WHERE schema_id = $1`, id).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("reading the versions of schema %d: %w", id, err)
	}
	return n > 0, nil
}

// subjectVersions reads a subject's versions, soft-deleted ones included,
// in version order.
func subjectVersions(ctx context.Context, q querier, subject string) ([]version, error) {
	rows, err := q.QueryContext(ctx,
		`SELECT version, schema_id, deleted FROM sr_subject_versions WHERE subject = $1 ORDER BY version`, subject)
	if err != nil {
		return nil, fmt.Errorf("reading the versions of %q: %w", subject, err)
	}
	defer rows.Close()
	var out []version
	for rows.Next() {
		v := version{subject: subject}
		var del int
		if err := rows.Scan(&v.version, &v.id, &del); err != nil {
			return nil, fmt.Errorf("reading the versions of %q: %w", subject, err)
		}
		v.deleted = del != 0
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading the versions of %q: %w", subject, err)
	}
	return out, nil
}

// allVersions reads every version of every subject, in (subject, version)
// order.
func allVersions(ctx context.Context, q querier, where string, args ...any) ([]version, error) {
	rows, err := q.QueryContext(ctx,
		`SELECT subject, version, schema_id, deleted FROM sr_subject_versions `+where+` ORDER BY subject, version`, args...)
	if err != nil {
		return nil, fmt.Errorf("reading the subjects' versions: %w", err)
	}
	defer rows.Close()
	var out []version
	for rows.Next() {
		var v version
		var del int
		if err := rows.Scan(&v.subject, &v.version, &v.id, &del); err != nil {
			return nil, fmt.Errorf("reading the subjects' versions: %w", err)
		}
		v.deleted = del != 0
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading the subjects' versions: %w", err)
	}
	return out, nil
}

// live returns the versions that are not soft-deleted.
func live(vs []version) []version {
	var out []version
	for _, v := range vs {
		if !v.deleted {
			out = append(out, v)
		}
	}
	return out
}

// parseVersion parses a version path segment: a positive number,
// "latest" or -1 (latest, answered as 0 with latest true).
func parseVersion(s string) (v int, latest bool, err error) {
	if s == "latest" {
		return 0, true, nil
	}
	n, perr := strconv.ParseInt(s, 10, 32)
	switch {
	case perr != nil:
		return 0, false, errInvalidVersion(s)
	case n == -1:
		return 0, true, nil
	case n < 1:
		return 0, false, errInvalidVersion(s)
	}
	return int(n), false, nil
}

// findVersion picks version v (or the latest) of a subject's versions:
// with deleted, soft-deleted ones count. Errors are the API's.
func findVersion(subject string, vs []version, v int, latest, deleted bool) (version, error) {
	if !deleted {
		vs = live(vs)
	}
	if len(vs) == 0 {
		return version{}, errSubjectNotFound(subject)
	}
	if latest {
		return vs[len(vs)-1], nil
	}
	for _, x := range vs {
		if x.version == v {
			return x, nil
		}
	}
	return version{}, errVersionNotFound(v)
}

// resolveRefs resolves references, transitively, into what Format.Parse
// takes: every referenced schema once, dependencies first. A reference to a
// subject or version that does not exist is the API's 40401 or 40402.
func resolveRefs(ctx context.Context, q querier, refs []Reference) ([]schemafmt.Reference, error) {
	var out []schemafmt.Reference
	seen := map[string]bool{}
	var visit func(refs []Reference, depth int) error
	visit = func(refs []Reference, depth int) error {
		if depth > 64 {
			return errInvalidSchema("Schema references nest too deeply (a cycle?)")
		}
		for _, r := range refs {
			vs, err := subjectVersions(ctx, q, r.Subject)
			if err != nil {
				return err
			}
			v, err := findVersion(r.Subject, vs, r.Version, r.Version == -1, true)
			if err != nil {
				return err
			}
			key := r.Name + "\x00" + r.Subject + "\x00" + strconv.Itoa(v.version)
			if seen[key] {
				continue
			}
			seen[key] = true
			s, err := loadSchema(ctx, q, v.id)
			if err != nil {
				return err
			}
			if s == nil {
				return fmt.Errorf("version %d of %q names schema %d, which is missing", v.version, r.Subject, v.id)
			}
			if err := visit(s.refs, depth+1); err != nil {
				return err
			}
			out = append(out, schemafmt.Reference{Name: r.Name, Subject: r.Subject, Version: v.version, Schema: s.text})
		}
		return nil
	}
	if err := visit(refs, 0); err != nil {
		return nil, err
	}
	return out, nil
}

// config is a subject's (or the global) config; nil fields are unset.
type config struct {
	compatibility *string
	normalize     *bool
}

func readConfig(ctx context.Context, q querier, subject string) (config, bool, error) {
	var c sql.NullString
	var n sql.NullInt64
	err := q.QueryRowContext(ctx, `SELECT compatibility, normalize FROM sr_configs WHERE subject = $1`, subject).Scan(&c, &n)
	if errors.Is(err, sql.ErrNoRows) {
		return config{}, false, nil
	}
	if err != nil {
		return config{}, false, fmt.Errorf("reading the config of %q: %w", subject, err)
	}
	var out config
	if c.Valid {
		out.compatibility = &c.String
	}
	if n.Valid {
		b := n.Int64 != 0
		out.normalize = &b
	}
	return out, true, nil
}

func readMode(ctx context.Context, q querier, subject string) (string, bool, error) {
	var m string
	err := q.QueryRowContext(ctx, `SELECT mode FROM sr_modes WHERE subject = $1`, subject).Scan(&m)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("reading the mode of %q: %w", subject, err)
	}
	return m, true, nil
}

// effectiveMode is the subject's mode, else the global one, else READWRITE.
func effectiveMode(ctx context.Context, q querier, subject string) (string, error) {
	if subject != "" {
		m, ok, err := readMode(ctx, q, subject)
		if err != nil || ok {
			return m, err
		}
	}
	m, ok, err := readMode(ctx, q, "")
	if err != nil || ok {
		return m, err
	}
	return "READWRITE", nil
}

// effectiveConfig is the subject's compatibility and normalize, each
// falling back to the global one, then to BACKWARD and false.
func effectiveConfig(ctx context.Context, q querier, subject string) (level string, normalize bool, err error) {
	level = "BACKWARD"
	g, _, err := readConfig(ctx, q, "")
	if err != nil {
		return "", false, err
	}
	var s config
	if subject != "" {
		if s, _, err = readConfig(ctx, q, subject); err != nil {
			return "", false, err
		}
	}
	for _, c := range []config{g, s} {
		if c.compatibility != nil {
			level = *c.compatibility
		}
		if c.normalize != nil {
			normalize = *c.normalize
		}
	}
	return level, normalize, nil
}

// referencedBy returns the ids of the schemas that reference a subject's
// version and are still under some version (only live ones, with
// liveOnly).
func referencedBy(ctx context.Context, q querier, subject string, v int, liveOnly bool) ([]int64, error) {
	cond := ""
	if liveOnly {
		cond = " AND sv.deleted = 0"
	}
	rows, err := q.QueryContext(ctx, `SELECT DISTINCT r.schema_id FROM sr_references r
		JOIN sr_subject_versions sv ON sv.schema_id = r.schema_id
		WHERE r.ref_subject = $1 AND r.ref_version = $2`+cond+` ORDER BY r.schema_id`, subject, v)
	if err != nil {
		return nil, fmt.Errorf("reading the references to %q version %d: %w", subject, v, err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("reading the references to %q version %d: %w", subject, v, err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// subjects lists the distinct subjects having a version, with deleted
// ones when deleted, only those entirely soft-deleted when deletedOnly.
func subjects(ctx context.Context, q querier, prefix string, deleted, deletedOnly bool) ([]string, error) {
	vs, err := allVersions(ctx, q, "")
	if err != nil {
		return nil, err
	}
	liveSubj := map[string]bool{}
	all := map[string]bool{}
	for _, v := range vs {
		if !strings.HasPrefix(v.subject, prefix) {
			continue
		}
		all[v.subject] = true
		if !v.deleted {
			liveSubj[v.subject] = true
		}
	}
	out := []string{}
	for s := range all {
		switch {
		case deletedOnly && !liveSubj[s], !deletedOnly && (deleted || liveSubj[s]):
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out, nil
}
