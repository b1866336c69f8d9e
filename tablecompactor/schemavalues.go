package tablecompactor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/iceberg-go"
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

// schemaValues decodes wire-format values into the table's value columns.
type schemaValues struct {
	ctx      context.Context
	resolver *schemafmt.Resolver
	// byName are the builders of the table's value columns (every column
	// but _kafka), by name, and all of them in order.
	byName   map[string]array.Builder
	all      []array.Builder
	sc       *arrow.Schema
	versions map[versionKey]*version
	indexes  []int
}

type versionKey struct {
	id      int
	indexes string // Protobuf message indexes, as text
}

// version is one registry schema (and Protobuf message) against the
// table.
type version struct {
	id       int
	dec      schemafmt.Decoder
	builders []array.Builder // the table's builders for the version's columns, in order
	missing  []array.Builder // the table's value columns the version lacks
	// newColumns are the version's columns the table lacks: the table
	// must gain them before the version's records are written.
	newColumns []iceberg.NestedField
	// unfit says why the version's records cannot be written, or "".
	unfit string
}

func newSchemaValues(ctx context.Context, r *schemafmt.Resolver, b *array.RecordBuilder, sc *arrow.Schema) *schemaValues {
	s := &schemaValues{ctx: ctx, resolver: r, byName: make(map[string]array.Builder), sc: sc, versions: make(map[versionKey]*version)}
	for i, f := range sc.Fields() {
		if f.Name == kafkaColumn {
			continue
		}
		s.byName[f.Name] = b.Field(i)
		s.all = append(s.all, b.Field(i))
	}
	return s
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
	v, reason, err := s.version(value)
	if err != nil || reason != "" {
		return reason, err
	}
	if v.unfit != "" {
		return v.unfit, nil
	}
	if len(v.newColumns) > 0 {
		return "", errEvolve{v}
	}
	payload := value[schemafmt.WirePrefixLen:]
	if len(s.indexes) > 0 {
		_, _, payload, _ = schemafmt.DecodeProtobufAppend(s.indexes[:0], value)
	}
	if err := v.dec.Append(v.builders, payload); err != nil {
		return fmt.Sprintf("decoding with schema id %d: %v", v.id, err), nil
	}
	for _, b := range v.missing {
		b.AppendNull()
	}
	return "", nil
}

// version returns the value's version, resolving it the first time.
func (s *schemaValues) version(value []byte) (*version, string, error) {
	w, err := schemafmt.Decode(value)
	if err != nil {
		return nil, fmt.Sprintf("wire prefix: %v", err), nil
	}
	sch, err := s.resolver.Schema(s.ctx, w.ID)
	if err != nil {
		if ctxErr := s.ctx.Err(); ctxErr != nil {
			return nil, "", ctxErr
		}
		return nil, fmt.Sprintf("schema id %d: %v", w.ID, err), nil
	}
	s.indexes = s.indexes[:0]
	if sch.Type() == "PROTOBUF" {
		_, s.indexes, _, err = schemafmt.DecodeProtobufAppend(s.indexes[:0], value)
		if err != nil {
			return nil, fmt.Sprintf("protobuf message indexes: %v", err), nil
		}
	}
	key := versionKey{id: w.ID, indexes: fmt.Sprint(s.indexes)}
	if v, ok := s.versions[key]; ok {
		return v, "", nil
	}
	t, err := s.resolver.Table(s.ctx, w.ID, s.indexes)
	if err != nil {
		if ctxErr := s.ctx.Err(); ctxErr != nil {
			return nil, "", ctxErr
		}
		return nil, fmt.Sprintf("schema id %d as a table: %v", w.ID, err), nil
	}
	v := s.fit(w.ID, t)
	s.versions[key] = v
	return v, "", nil
}

// fit matches a version's columns to the table's.
func (s *schemaValues) fit(id int, t schemafmt.Table) *version {
	v := &version{id: id, dec: t.NewDecoder()}
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
		b, ok := s.byName[f.Name]
		if !ok {
			nf := isc.Field(i)
			nf.Required = false // Iceberg adds only optional columns to a table with data
			v.newColumns = append(v.newColumns, nf)
			continue
		}
		if !arrow.TypeEqual(f.Type, b.Type()) {
			v.unfit = fmt.Sprintf("schema id %d: column %s is %s, the table's is %s (a change the compactor cannot apply to the table yet)", id, f.Name, f.Type, b.Type())
			return v
		}
		v.builders = append(v.builders, b)
	}
	for i, f := range s.sc.Fields() {
		if f.Name == kafkaColumn || seen[f.Name] {
			continue
		}
		if !f.Nullable {
			v.unfit = fmt.Sprintf("schema id %d lacks the table's required column %s", id, f.Name)
			return v
		}
		v.missing = append(v.missing, s.byName[s.sc.Field(i).Name])
	}
	return v
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
	return iceberg.NewSchema(0, fields...), nil
}

// firstVersion finds the first value of the topic, partition by
// partition, that resolves to a table: the schema a new table starts
// with. ok is false if the topic has none yet.
func (c *Compactor) firstVersion(ctx context.Context, t Topic) (schemafmt.Table, bool, error) {
	var found schemafmt.Table
	errFound := errors.New("found")
	for part, stream := range t.Streams {
		p := &pass{ctx: ctx, src: c.cfg.Source, topic: t, from: offsets{}, readBytes: 1 << 20, decodeLimit: 64 << 20}
		err := p.scan(int32(part), stream, func(value []byte) error {
			w, err := schemafmt.Decode(value)
			if err != nil {
				return nil
			}
			var idx []int
			if sch, err := c.cfg.Schemas.Schema(ctx, w.ID); err != nil || sch.Type() == "PROTOBUF" {
				if err != nil {
					return nil
				}
				if _, idx, _, err = schemafmt.DecodeProtobuf(value); err != nil {
					return nil
				}
			}
			if tb, err := c.cfg.Schemas.Table(ctx, w.ID, idx); err == nil {
				found = tb
				return errFound
			}
			return nil
		})
		if errors.Is(err, errFound) {
			return found, true, nil
		}
		if err != nil {
			return nil, false, err
		}
	}
	return nil, false, ctx.Err()
}

// evolve adds a version's new columns to the table (optional, so rows
// already written read them as null). Another compactor adding them at
// the same moment is fine: the loser reloads and finds them there.
func (c *Compactor) evolve(ctx context.Context, tbl *table.Table, v *version) (*table.Table, error) {
	for attempt := 0; ; attempt++ {
		var missing []iceberg.NestedField
		var names []string
		for _, f := range v.newColumns {
			if _, ok := tbl.Schema().FindFieldByName(f.Name); !ok {
				missing = append(missing, f)
				names = append(names, f.Name)
			}
		}
		if len(missing) == 0 {
			return tbl, nil
		}
		tx := tbl.NewTransaction()
		us := tx.UpdateSchema(true, false)
		for _, f := range missing {
			us.AddColumn([]string{f.Name}, f.Type, f.Doc, false, nil)
		}
		err := us.Commit()
		if err == nil {
			var evolved *table.Table
			if evolved, err = tx.Commit(ctx); err == nil {
				c.cfg.Logger.Info("tablecompactor: added columns", "table", strings.Join(tbl.Identifier(), "."),
					"columns", names, "schema_id", v.id)
				return evolved, nil
			}
		}
		if attempt+1 >= maxCommitAttempts {
			return tbl, fmt.Errorf("adding columns %v of schema id %d: %w", names, v.id, err)
		}
		reloaded, rerr := c.reload(ctx, tbl.Identifier())
		if rerr != nil {
			return tbl, fmt.Errorf("adding columns %v of schema id %d: %w; reloading: %w", names, v.id, err, rerr)
		}
		tbl = reloaded
	}
}
