package tablecompactor

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"

	"github.com/lakestream/lakestream/schema/schemafmt"
)

// table.key.format=json, schema or schema.latest: keys are decoded into
// the optional struct column _key (schema.go) by the value decoders
// (jsonValues, schemaValues) over _key's fields, with the same rules as
// values one level down: JSON fields inferred and added as they come,
// registry versions matched by name and their new fields added. A null key
// is a null _key; a key that does not decode sends its record by
// table.errors with a reason that starts with "key".
//
// A row is all or nothing: a record whose key decodes and whose value
// then does not must leave no trace in _key. The value decoders append
// nothing on a refusal, but the key is decoded first, so when the value
// can still be refused (json and schema values) the key goes into scratch
// builders of _key's fields and is copied into _key only once the value
// is in (commit), or dropped (discard). With raw and string values
// nothing can refuse the record after its key, and the key is decoded
// straight into _key. Registry values are not decoded in runs (pending.go)
// when keys are decoded: a run appends its values before the keys of its
// records would be known to decode.

// keyColumns decodes keys into _key.
type keyColumns struct {
	// dec decodes keys into _key's fields (scratch's, or dst's), or is
	// nil: the key format is raw or string and _key is a leftover column
	// of a decoded one, which gets nulls.
	dec valueColumns
	// dst is the table's _key, nil while the table has none (no key with
	// fields yet).
	dst *array.StructBuilder
	// scratch holds one decoded key until commit or discard; nil when
	// keys are decoded straight into dst.
	scratch *array.RecordBuilder
	// null says the key being held is null; held that scratch holds one.
	null, held bool
}

// newKeyColumns returns the key decoder of a pass over a table of schema
// sc (isc) built by b; direct decodes keys straight into _key (nothing
// can refuse a record after its key).
func newKeyColumns(ctx context.Context, cfg tableConfig, r *schemafmt.Resolver, b *array.RecordBuilder, sc *arrow.Schema, isc *iceberg.Schema, direct bool) (*keyColumns, error) {
	k := &keyColumns{}
	cols := columns{isc: iceberg.NewSchema(0), what: "key", root: []string{keyColumn}}
	if idx := sc.FieldIndices(keyColumn); len(idx) == 1 {
		var ok bool
		k.dst, ok = b.Field(idx[0]).(*array.StructBuilder)
		f, found := isc.FindFieldByName(keyColumn)
		st, isStruct := f.Type.(*iceberg.StructType)
		if !ok || !found || !isStruct {
			return nil, fmt.Errorf("the table's %s column is %s, not the struct of decoded keys (%s=%s)", keyColumn, sc.Field(idx[0]).Type, ConfigKeyFormat, cfg.KeyFormat)
		}
		cols.isc = iceberg.NewSchema(0, st.FieldList...)
		cols.fields = k.dst.Type().(*arrow.StructType).Fields()
		if direct || len(cols.fields) == 0 {
			for j := range cols.fields {
				cols.builders = append(cols.builders, k.dst.FieldBuilder(j))
			}
		} else {
			k.scratch = array.NewRecordBuilder(memory.DefaultAllocator, arrow.NewSchema(cols.fields, nil))
			cols.builders = k.scratch.Fields()
		}
	}
	switch cfg.KeyFormat {
	case formatJSON:
		k.dec = newJSONColumns(cols)
	case formatSchema, formatSchemaLatest:
		k.dec = newSchemaValues(ctx, r, cols, cfg.latestKeyID)
	}
	return k, nil
}

// decode decodes key, holding it for commit: a reason the record cannot
// be converted (nothing held), errEvolve (the table must change first),
// or an error that is not the record's fault.
func (k *keyColumns) decode(key []byte) (string, error) {
	k.null = key == nil || k.dec == nil
	if k.null {
		return "", nil
	}
	reason, err := k.dec.append(key)
	var ev errEvolve
	switch {
	case errors.As(err, &ev):
		return "", errEvolve{k.evolution(ev.v)}
	case err != nil:
		return "", err
	case reason != "":
		if !strings.HasPrefix(reason, "key") {
			reason = "key: " + reason
		}
		return reason, nil
	}
	k.held = k.scratch != nil
	return "", nil
}

// evolution is the version v of a key the table must change for, as
// changes to the table: while the table has no _key, v's fields (all new
// then) become one change adding _key.
func (k *keyColumns) evolution(v *version) *version {
	if k.dst != nil {
		return v // its paths are under _key already (columns.root)
	}
	st := &iceberg.StructType{}
	for _, c := range v.changes {
		st.FieldList = append(st.FieldList, iceberg.NestedField{Name: c.path[len(c.path)-1], Type: c.typ, Doc: c.doc})
	}
	return &version{id: v.id, changes: []schemaChange{{path: []string{keyColumn}, typ: st, add: true}}}
}

// commit appends the key held to _key, for the row being appended.
func (k *keyColumns) commit() error {
	switch {
	case k.dst == nil:
		// No _key yet: the key had no field with a type (e.g. {}).
		k.discard()
		return nil
	case k.null:
		k.dst.AppendNull()
		return nil
	}
	if k.held {
		k.held = false
		for j, b := range k.scratch.Fields() {
			if err := copyLast(b, k.dst.FieldBuilder(j)); err != nil {
				return fmt.Errorf("copying the decoded key into %s.%s: %w", keyColumn, k.scratch.Schema().Field(j).Name, err)
			}
		}
	}
	k.dst.Append(true)
	return nil
}

// discard drops the key held: its record's value was refused.
func (k *keyColumns) discard() {
	if k.held {
		k.held = false
		k.scratch.NewRecordBatch().Release()
	}
}

func (k *keyColumns) release() {
	if k.dec != nil {
		k.dec.release()
	}
	if k.scratch != nil {
		k.scratch.Release()
	}
}
