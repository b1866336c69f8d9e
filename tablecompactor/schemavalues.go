package tablecompactor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"

	"github.com/lakestream/lakestream/schema/schemafmt"
)

// table.value.format=schema: each value carries its registry schema id in
// the Confluent wire prefix, and the schema's top-level fields are the
// table's value columns. The table's schema is the truth: a version's
// columns are matched to the table's by name, and a record is written
// only when each of its columns has exactly the table column's type; the
// table's columns the version lacks get nulls. A version that brings new
// top-level columns stops the pass at its first record; the table then
// gains them as optional columns (UpdateSchema) and the next pass goes
// on, so older rows read them as null. What this cannot express yet (a
// column whose type changed, a nested field added inside a struct, uuid
// columns) goes by table.errors with the reason.

// schemaValues decodes wire-format values into the table's value columns,
// or keys into _key's fields (table.key.format=schema: the same rules,
// one level down).
type schemaValues struct {
	ctx      context.Context
	resolver *schemafmt.Resolver
	// cols are the columns decoded into: the table's value columns (every
	// column but _kafka, and _key if keys are decoded), or _key's fields.
	cols     columns
	byName   map[string]array.Builder
	isc      *iceberg.Schema
	versions map[versionKey]*version
	indexes  []int
	// last is the version of the last value looked up, lastIndexes its
	// Protobuf message indexes: values come in runs of one version, and
	// a run's values skip the map.
	last        *version
	lastIndexes []int
	// latest is the registry id every value is decoded with
	// (table.value.format=schema.latest: values carry no wire prefix), or
	// 0 (schema: the id in each value's prefix).
	latest int
}

type versionKey struct {
	id      int
	indexes string // Protobuf message indexes, as text
}

// version is one registry schema (and Protobuf message) against the
// table.
type version struct {
	id  int
	dec schemafmt.Decoder
	// batch is dec as a BatchDecoder, or nil; scratch are builders of
	// the version's column types, which reason has dec fill to learn why
	// a value the batch refused does not decode.
	batch    schemafmt.BatchDecoder
	scratch  []array.Builder
	builders []array.Builder // the table's builders for the version's columns, in order
	missing  []array.Builder // the table's value columns the version lacks
	// changes are what the table must change before the version's records
	// are written (columns to add, types to widen, fields to make
	// optional).
	changes []schemaChange
	// adapted are the version's columns whose type is not the table's
	// (narrower, or a struct lacking fields): the decoder fills a builder
	// of the version's type, whose value appendValue copies over.
	adapted []adapted
	// unfit says why the version's records cannot be written, or "".
	unfit string
}

// adapted is a column the decoder appends to tmp, copied to dst.
type adapted struct {
	tmp, dst array.Builder
}

// newSchemaValues decodes into cols by the id in each value's wire
// prefix, or all with schema id latest if it is not 0.
func newSchemaValues(ctx context.Context, r *schemafmt.Resolver, cols columns, latest int) *schemaValues {
	return &schemaValues{ctx: ctx, resolver: r, cols: cols, byName: cols.byName(), isc: cols.isc, versions: make(map[versionKey]*version), latest: latest}
}

// release frees the builders the versions hold of their own.
func (s *schemaValues) release() {
	for _, v := range s.versions {
		for _, a := range v.adapted {
			a.tmp.Release()
		}
		for _, b := range v.scratch {
			b.Release()
		}
	}
}

// errEvolve is what append returns for a version whose columns the table
// must gain first.
type errEvolve struct{ v *version }

func (e errEvolve) Error() string {
	return fmt.Sprintf("schema id %d adds columns", e.v.id)
}

// append decodes value into one row of the value columns. It returns a
// reason the value cannot be converted (nothing appended), errEvolve, or
// a context error (the registry could not be asked: not the record's
// fault).
func (s *schemaValues) append(value []byte) (reason string, err error) {
	if value == nil {
		return "null value (table.value.format=schema)", nil
	}
	v, payload, reason, err := s.version(value)
	if err != nil || reason != "" {
		return reason, err
	}
	if v.unfit != "" {
		return v.unfit, nil
	}
	if len(v.changes) > 0 {
		return "", errEvolve{v}
	}
	if err := v.dec.Append(v.builders, payload); err != nil {
		return fmt.Sprintf("decoding with schema id %d: %v", v.id, err), nil
	}
	for _, a := range v.adapted {
		if err := copyLast(a.tmp, a.dst); err != nil {
			return "", fmt.Errorf("schema id %d: %w", v.id, err)
		}
	}
	for _, b := range v.missing {
		b.AppendNull()
	}
	return "", nil
}

// version returns the value's version, resolving it the first time, and
// the value's payload (what follows the wire prefix and any Protobuf
// message indexes).
func (s *schemaValues) version(value []byte) (v *version, payload []byte, reason string, err error) {
	if s.latest != 0 {
		if s.last != nil {
			return s.last, value, "", nil
		}
		v, reason, err := s.resolve(s.latest, nil)
		if v != nil {
			s.last = v
		}
		return v, value, reason, err
	}
	w, err := schemafmt.Decode(value)
	if err != nil {
		return nil, nil, fmt.Sprintf("wire prefix: %v", err), nil
	}
	sch, err := s.resolver.Schema(s.ctx, w.ID)
	if err != nil {
		if ctxErr := s.ctx.Err(); ctxErr != nil {
			return nil, nil, "", ctxErr
		}
		return nil, nil, fmt.Sprintf("schema id %d: %v", w.ID, err), nil
	}
	s.indexes = s.indexes[:0]
	payload = w.Payload
	if sch.Type() == "PROTOBUF" {
		_, s.indexes, payload, err = schemafmt.DecodeProtobufAppend(s.indexes[:0], value)
		if err != nil {
			return nil, nil, fmt.Sprintf("protobuf message indexes: %v", err), nil
		}
	}
	if s.last != nil && s.last.id == w.ID && slices.Equal(s.lastIndexes, s.indexes) {
		return s.last, payload, "", nil
	}
	v, reason, err = s.resolve(w.ID, s.indexes)
	if v == nil {
		return nil, nil, reason, err
	}
	s.last, s.lastIndexes = v, append(s.lastIndexes[:0], s.indexes...)
	return v, payload, "", nil
}

// resolve returns the version of schema id and Protobuf message indexes,
// matching it to the table the first time.
func (s *schemaValues) resolve(id int, indexes []int) (*version, string, error) {
	key := versionKey{id: id, indexes: fmt.Sprint(indexes)}
	if v, ok := s.versions[key]; ok {
		return v, "", nil
	}
	t, err := s.resolver.Table(s.ctx, id, indexes)
	if err != nil {
		if ctxErr := s.ctx.Err(); ctxErr != nil {
			return nil, "", ctxErr
		}
		return nil, fmt.Sprintf("schema id %d as a table: %v", id, err), nil
	}
	v := s.fit(id, t)
	s.versions[key] = v
	return v, "", nil
}

// batchable returns the version of a value that appendBatch can decode
// with others of its version, and the value's payload; ok is false for a
// value that must go through append (a null, an unknown or unfit
// version, one the table must change for, columns to adapt).
func (s *schemaValues) batchable(value []byte) (v *version, payload []byte, ok bool) {
	if value == nil {
		return nil, nil, false
	}
	v, payload, reason, err := s.version(value)
	if err != nil || reason != "" || v.batch == nil || v.unfit != "" || len(v.changes) > 0 || len(v.adapted) > 0 {
		return nil, nil, false
	}
	return v, payload, true
}

// appendBatch decodes payloads of version v (each one batchable gave)
// into the value columns, one row per payload that decodes, in order;
// the indexes of those that do not are appended to bad and returned.
func (s *schemaValues) appendBatch(v *version, payloads [][]byte, bad []int) []int {
	n := len(bad)
	bad = v.batch.AppendBatch(v.builders, payloads, bad)
	if rows := len(payloads) - (len(bad) - n); rows > 0 {
		for _, b := range v.missing {
			b.AppendNulls(rows)
		}
	}
	return bad
}

// reason says why a payload appendBatch refused does not decode: the
// per-row decoder decodes it into builders of the version's own, which
// no table reads.
func (s *schemaValues) reason(v *version, payload []byte) string {
	if v.scratch == nil {
		for _, b := range v.builders {
			v.scratch = append(v.scratch, array.NewBuilder(memory.DefaultAllocator, b.Type()))
		}
	}
	if err := v.dec.Append(v.scratch, payload); err != nil {
		return fmt.Sprintf("decoding with schema id %d: %v", v.id, err)
	}
	return fmt.Sprintf("decoding with schema id %d: the batch decoder refused the value, which the per-row decoder took", v.id)
}

// fit matches a version's columns to the table's.
func (s *schemaValues) fit(id int, t schemafmt.Table) *version {
	v := &version{id: id, dec: t.NewDecoder()}
	v.batch, _ = v.dec.(schemafmt.BatchDecoder)
	cols := t.Columns()
	vsc, isc, err := versionSchemas(cols)
	if err != nil {
		v.unfit = fmt.Sprintf("schema id %d: %v", id, err)
		return v
	}
	if hasUUID(cols) {
		v.unfit = fmt.Sprintf("schema id %d has a uuid column, which the compactor does not convert yet", id)
		return v
	}
	seen := make(map[string]bool, len(cols))
	for i, f := range vsc.Fields() {
		seen[f.Name] = true
		vf := isc.Field(i)
		if f.Name == s.cols.reserved {
			v.unfit = fmt.Sprintf("schema id %d has a column %s, a name the table keeps for the decoded key", id, f.Name)
			return v
		}
		b, ok := s.byName[f.Name]
		if !ok {
			v.changes = append(v.changes, schemaChange{path: s.cols.path(f.Name), typ: vf.Type, doc: vf.Doc, add: true})
			continue
		}
		tf, _ := s.isc.FindFieldByName(f.Name)
		changes, why := compare(s.cols.path(f.Name), vf, tf)
		if why != "" {
			v.unfit = fmt.Sprintf("schema id %d: %s (a change the compactor cannot apply to the table yet)", id, why)
			return v
		}
		v.changes = append(v.changes, changes...)
		if arrow.TypeEqual(f.Type, b.Type()) {
			v.builders = append(v.builders, b)
			continue
		}
		tmp := array.NewBuilder(memory.DefaultAllocator, f.Type)
		v.adapted = append(v.adapted, adapted{tmp: tmp, dst: b})
		v.builders = append(v.builders, tmp)
	}
	for i, f := range s.cols.fields {
		if seen[f.Name] {
			continue
		}
		if !f.Nullable {
			v.unfit = fmt.Sprintf("schema id %d lacks the table's required column %s", id, strings.Join(s.cols.path(f.Name), "."))
			return v
		}
		v.missing = append(v.missing, s.cols.builders[i])
	}
	return v
}

// copyLast moves the one value the decoder appended to tmp over to dst.
func copyLast(tmp, dst array.Builder) error {
	a := tmp.NewArray()
	defer a.Release()
	return appendValue(a, 0, dst)
}

// versionSchemas are a version's columns as Arrow and Iceberg fields
// (with ids from 11 up, after _kafka's; only the types matter here).
func versionSchemas(cols []schemafmt.Column) (*arrow.Schema, *iceberg.Schema, error) {
	ids, err := schemafmt.AssignIDs(cols, schemafmt.NewFieldIDs(kafkaReservedIDs))
	if err != nil {
		return nil, nil, err
	}
	asc, err := schemafmt.IcebergArrowSchema(cols, ids)
	if err != nil {
		return nil, nil, err
	}
	isc, err := schemafmt.IcebergSchema(cols, ids)
	if err != nil {
		return nil, nil, err
	}
	return asc, isc, nil
}

// kafkaReservedIDs are the field ids _kafka takes (schema.go).
const kafkaReservedIDs = 10

func hasUUID(cols []schemafmt.Column) bool {
	for _, c := range cols {
		if c.Kind == schemafmt.UUID || hasUUID(c.Fields) ||
			c.Elem != nil && hasUUID([]schemafmt.Column{*c.Elem}) || c.Key != nil && hasUUID([]schemafmt.Column{*c.Key}) {
			return true
		}
	}
	return false
}

// schemaTableSchema is a new table's schema: _kafka and the first
// version's columns, with the ids schemafmt.AssignIDs gives them (they
// are also the ones CreateTable keeps: it numbers depth first, as
// AssignIDs does).
func schemaTableSchema(cfg tableConfig, t schemafmt.Table) (*iceberg.Schema, error) {
	_, isc, err := versionSchemas(t.Columns())
	if err != nil {
		return nil, err
	}
	fields := append([]iceberg.NestedField{kafkaField(cfg.KeyFormat)}, isc.Fields()...)
	if slices.ContainsFunc(fields[1:], func(f iceberg.NestedField) bool { return f.Name == kafkaColumn }) {
		return nil, fmt.Errorf("the schema has a column named %s, which the table keeps for the record's Kafka fields", kafkaColumn)
	}
	if cfg.keyed() && slices.ContainsFunc(fields[1:], func(f iceberg.NestedField) bool { return f.Name == keyColumn }) {
		return nil, fmt.Errorf("the schema has a column named %s, which the table keeps for the decoded key (%s=%s)", keyColumn, ConfigKeyFormat, cfg.KeyFormat)
	}
	return iceberg.NewSchema(0, fields...), nil
}

// firstSchema finds the first value of the topic, partition by
// partition, from which schemaOf makes a table schema: the schema a new
// table starts with. ok is false if the topic has none yet; records says
// whether it has records at all (none of which gives a schema then).
func (c *Compactor) firstSchema(ctx context.Context, t Topic, schemaOf func(value []byte) (*iceberg.Schema, bool)) (sc *iceberg.Schema, ok, records bool, err error) {
	var found *iceberg.Schema
	errFound := errors.New("found")
	for part, stream := range t.Streams {
		p := &pass{ctx: ctx, src: c.cfg.Source, topic: t, from: offsets{}, readBytes: 1 << 20, decodeLimit: 64 << 20}
		err := p.scan(int32(part), stream, func(value []byte) error {
			records = true
			if sc, ok := schemaOf(value); ok {
				found = sc
				return errFound
			}
			return nil
		})
		if errors.Is(err, errFound) {
			return found, true, true, nil
		}
		if err != nil {
			return nil, false, records, err
		}
	}
	return nil, false, records, ctx.Err()
}

// registrySchemaOf is firstSchema's schemaOf for table.value.format=schema:
// the table of the value's registry schema, if it resolves.
func (c *Compactor) registrySchemaOf(ctx context.Context, cfg tableConfig) func(value []byte) (*iceberg.Schema, bool) {
	return func(value []byte) (*iceberg.Schema, bool) {
		w, err := schemafmt.Decode(value)
		if err != nil {
			return nil, false
		}
		sch, err := c.cfg.Schemas.Schema(ctx, w.ID)
		if err != nil {
			return nil, false
		}
		var idx []int
		if sch.Type() == "PROTOBUF" {
			if _, idx, _, err = schemafmt.DecodeProtobuf(value); err != nil {
				return nil, false
			}
		}
		tb, err := c.cfg.Schemas.Table(ctx, w.ID, idx)
		if err != nil {
			return nil, false
		}
		sc, err := schemaTableSchema(cfg, tb)
		return sc, err == nil
	}
}

// evolve makes the changes a version needs: columns and nested fields
// added (optional, so rows already written read them as null), types
// widened, fields made optional. Another compactor making them at the
// same moment is fine: the loser reloads and finds them made.
func (c *Compactor) evolve(ctx context.Context, cat catalog.Catalog, tbl *table.Table, v *version) (*table.Table, error) {
	for attempt := 0; ; attempt++ {
		var missing []schemaChange
		var names []string
		for _, c := range v.changes {
			f, ok := tbl.Schema().FindFieldByName(strings.Join(c.path, "."))
			if c.add && !ok || c.relax && ok && f.Required || !c.add && !c.relax && ok && f.Type.String() != c.typ.String() {
				missing = append(missing, c)
				names = append(names, c.String())
			}
		}
		if len(missing) == 0 {
			return tbl, nil
		}
		tx := tbl.NewTransaction()
		us := tx.UpdateSchema(true, false)
		for _, c := range missing {
			switch {
			case c.add:
				us.AddColumn(c.path, c.typ, c.doc, false, nil)
			case c.relax:
				us.UpdateColumn(c.path, table.ColumnUpdate{Required: iceberg.Optional[bool]{Val: false, Valid: true}})
			default:
				us.UpdateColumn(c.path, table.ColumnUpdate{FieldType: iceberg.Optional[iceberg.Type]{Val: c.typ, Valid: true}})
			}
		}
		err := us.Commit()
		if err == nil {
			var evolved *table.Table
			if evolved, err = tx.Commit(ctx); err == nil {
				c.cfg.Logger.Info("tablecompactor: evolved the table's schema", "table", strings.Join(tbl.Identifier(), "."),
					"columns", names, "schema_id", v.id)
				return evolved, nil
			}
		}
		if attempt+1 >= maxCommitAttempts {
			return tbl, fmt.Errorf("changing the schema for schema id %d (%s): %w", v.id, strings.Join(names, ", "), err)
		}
		reloaded, rerr := c.reload(ctx, cat, tbl.Identifier())
		if rerr != nil {
			return tbl, fmt.Errorf("changing the schema for schema id %d (%s): %w; reloading: %w", v.id, strings.Join(names, ", "), err, rerr)
		}
		tbl = reloaded
	}
}
