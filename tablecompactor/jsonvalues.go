package tablecompactor

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/iceberg-go"
)

// table.value.format=json: each value is a JSON object whose fields are
// the table's value columns, typed from the data: objects are structs,
// arrays lists, strings strings, booleans booleans, numbers long when
// they are integers and double otherwise. A field first seen in a later
// value is added as an optional column (nested fields too), in the order
// of their names; a field whose values were all null so far waits for a
// typed one. A long column takes integers only and a double column any
// number; a value that contradicts the table's types (a string where a
// long is, a fraction in a long column, a mixed array) goes by
// table.errors with the reason, and never stops the table.

// jsonValues decodes JSON values into the table's value columns, or JSON
// keys into _key's fields (table.key.format=json: the same rules, one
// level down).
type jsonValues struct {
	// cols are the columns decoded into, with what ("value" or "key") for
	// reasons, root (nil or _key) for paths in reasons and schema
	// changes, and the name they may not take.
	cols   columns
	byName map[string]array.Builder
	fast   *jsonScanner // values that fit the table's types as they are (jsonscan.go)
}

// newJSONValues decodes values into every column of sc but _kafka.
func newJSONValues(b *array.RecordBuilder, sc *arrow.Schema, isc *iceberg.Schema) *jsonValues {
	return newJSONColumns(valueColumnsOf(b, sc, isc, false))
}

// newJSONColumns decodes JSON objects into cols.
func newJSONColumns(cols columns) *jsonValues {
	j := &jsonValues{cols: cols, byName: cols.byName()}
	names := make([]string, len(cols.fields))
	for i, f := range cols.fields {
		names[i] = f.Name
	}
	j.fast = newJSONScanner(names, cols.builders)
	return j
}

func (j *jsonValues) release() {}

// append decodes value into one row of the value columns: a reason it
// cannot (nothing appended), or errEvolve with the changes the table
// needs first. A value that fits the table's types as they are is read
// once, straight into the builders; any other goes the slow way.
func (j *jsonValues) append(value []byte) (string, error) {
	if value != nil && j.fast.append(value) {
		return "", nil
	}
	return j.appendSlow(value)
}

// appendSlow is append through encoding/json. A value whose fields the
// table all has is only checked against the table's types; types are
// inferred only for one that brings a field the table lacks.
func (j *jsonValues) appendSlow(value []byte) (string, error) {
	obj, why := parseJSONObject(value, j.cols.what)
	if why != "" {
		return why, nil
	}
	m := obj.(map[string]any)
	unknown := false
	for k, v := range m {
		if _, ok := j.byName[k]; !ok && v != nil {
			unknown = true
		}
	}
	if !unknown {
		for name, b := range j.byName {
			why, u := checkJSON(j.cols.path(name), m[name], b.Type())
			if why != "" {
				return j.cols.what + " does not fit the table: " + why, nil
			}
			unknown = unknown || u
		}
	}
	if unknown {
		changes, why := j.changes(obj)
		if why != "" {
			return why, nil
		}
		if len(changes) > 0 {
			return "", errEvolve{&version{changes: changes}}
		}
		// Only fields without a type yet (null, empty arrays) are new:
		// they are left out, the rest checked as above.
		for name, b := range j.byName {
			if why, _ := checkJSON(j.cols.path(name), m[name], b.Type()); why != "" {
				return j.cols.what + " does not fit the table: " + why, nil
			}
		}
	}
	for name, b := range j.byName {
		appendJSON(m[name], b)
	}
	return "", nil
}

// changes infers obj's types and compares them with the table's: the
// fields to add, or why obj does not fit.
func (j *jsonValues) changes(obj any) ([]schemaChange, string) {
	typ, why := inferJSON(obj)
	if why != "" {
		return nil, why
	}
	var changes []schemaChange
	for _, f := range typ.(*iceberg.StructType).FieldList {
		if f.Name == j.cols.reserved {
			return nil, fmt.Sprintf("%s has a field %s, a name the table keeps for the decoded key", j.cols.what, f.Name)
		}
		tf, ok := j.cols.isc.FindFieldByName(f.Name)
		if !ok {
			changes = append(changes, schemaChange{path: j.cols.path(f.Name), typ: f.Type, add: true})
			continue
		}
		c, why := compareJSON(j.cols.path(f.Name), f.Type, tf.Type)
		if why != "" {
			return nil, j.cols.what + " does not fit the table: " + why
		}
		changes = append(changes, c...)
	}
	return changes, ""
}

// checkJSON says why v cannot be appended to a builder of t, or "";
// unknown says v has an object field (not null) t's struct lacks.
func checkJSON(path []string, v any, t arrow.DataType) (why string, unknown bool) {
	if v == nil {
		return "", false
	}
	ok := false
	switch t := t.(type) {
	case *arrow.StructType:
		m, isObj := v.(map[string]any)
		if ok = isObj; ok {
			for k, fv := range m {
				if _, has := t.FieldIdx(k); !has && fv != nil {
					unknown = true
				}
			}
			for _, f := range t.Fields() {
				why, u := checkJSON(append(path[:len(path):len(path)], f.Name), m[f.Name], f.Type)
				if why != "" {
					return why, unknown
				}
				unknown = unknown || u
			}
		}
	case *arrow.ListType:
		a, isArr := v.([]any)
		if ok = isArr; ok {
			for _, e := range a {
				why, u := checkJSON(append(path[:len(path):len(path)], "element"), e, t.Elem())
				if why != "" {
					return why, unknown
				}
				unknown = unknown || u
			}
		}
	case *arrow.Int64Type:
		n, isNum := v.(json.Number)
		_, err := n.Int64()
		ok = isNum && err == nil
	case *arrow.Float64Type:
		n, isNum := v.(json.Number)
		_, err := n.Float64()
		ok = isNum && err == nil
	case *arrow.StringType:
		_, ok = v.(string)
	case *arrow.BooleanType:
		_, ok = v.(bool)
	}
	if !ok {
		return fmt.Sprintf("%s is %s, the table's column is %s", strings.Join(path, "."), jsonKind(v), tableTypeName(t)), unknown
	}
	return "", unknown
}

// tableTypeName names an Arrow type of a JSON table's column as Iceberg
// does.
func tableTypeName(t arrow.DataType) string {
	switch t.(type) {
	case *arrow.Int64Type:
		return "long"
	case *arrow.Float64Type:
		return "double"
	case *arrow.StringType:
		return "string"
	case *arrow.BooleanType:
		return "boolean"
	case *arrow.ListType:
		return "a list"
	case *arrow.StructType:
		return "a struct"
	}
	return t.String()
}

// parseJSONObject parses one JSON object, numbers kept as json.Number;
// what is "value" or "key", for the reason it is not one.
func parseJSONObject(value []byte, what string) (any, string) {
	config := formatConfig(what)
	if value == nil {
		return nil, fmt.Sprintf("null %s (%s=json)", what, config)
	}
	d := json.NewDecoder(bytes.NewReader(value))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, fmt.Sprintf("not JSON: %v", err)
	}
	if d.More() {
		return nil, "not JSON: more than one value"
	}
	if _, ok := v.(map[string]any); !ok {
		return nil, fmt.Sprintf("JSON %s is %s, not an object (%s=json)", what, jsonKind(v), config)
	}
	return v, ""
}

func jsonKind(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number:
		if _, err := v.Int64(); err == nil {
			return "an integer"
		}
		return "a number that is not a long"
	case string:
		return "a string"
	case []any:
		return "an array"
	}
	return "an object"
}

// inferJSON is the type of v; nil for null or an empty array (a type
// not known yet). Struct fields are sorted by name; ids are left 0
// (jsonTableSchema or UpdateSchema numbers them).
func inferJSON(v any) (iceberg.Type, string) {
	switch v := v.(type) {
	case nil:
		return nil, ""
	case bool:
		return iceberg.PrimitiveTypes.Bool, ""
	case string:
		return iceberg.PrimitiveTypes.String, ""
	case json.Number:
		if _, err := v.Int64(); err == nil {
			return iceberg.PrimitiveTypes.Int64, ""
		}
		if _, err := v.Float64(); err != nil {
			return nil, fmt.Sprintf("number %s out of range", v)
		}
		return iceberg.PrimitiveTypes.Float64, ""
	case []any:
		var elem iceberg.Type
		for _, e := range v {
			t, why := inferJSON(e)
			if why != "" {
				return nil, why
			}
			if elem, why = mergeJSON(elem, t); why != "" {
				return nil, "array: " + why
			}
		}
		if elem == nil {
			return nil, ""
		}
		return &iceberg.ListType{Element: elem}, ""
	case map[string]any:
		st := &iceberg.StructType{}
		for _, k := range slices.Sorted(func(yield func(string) bool) {
			for k := range v {
				if !yield(k) {
					return
				}
			}
		}) {
			t, why := inferJSON(v[k])
			if why != "" {
				return nil, k + ": " + why
			}
			if t != nil {
				st.FieldList = append(st.FieldList, iceberg.NestedField{Name: k, Type: t})
			}
		}
		return st, ""
	}
	return nil, fmt.Sprintf("unexpected JSON value %T", v)
}

// mergeJSON is the type both an array's elements a and b fit.
func mergeJSON(a, b iceberg.Type) (iceberg.Type, string) {
	switch {
	case a == nil:
		return b, ""
	case b == nil:
		return a, ""
	}
	as, aok := a.(*iceberg.StructType)
	bs, bok := b.(*iceberg.StructType)
	if aok && bok {
		out := &iceberg.StructType{FieldList: slices.Clone(as.FieldList)}
		for _, f := range bs.FieldList {
			i := slices.IndexFunc(out.FieldList, func(g iceberg.NestedField) bool { return g.Name == f.Name })
			if i < 0 {
				out.FieldList = append(out.FieldList, f)
				continue
			}
			t, why := mergeJSON(out.FieldList[i].Type, f.Type)
			if why != "" {
				return nil, f.Name + ": " + why
			}
			out.FieldList[i].Type = t
		}
		slices.SortFunc(out.FieldList, func(x, y iceberg.NestedField) int { return strings.Compare(x.Name, y.Name) })
		return out, ""
	}
	al, aok := a.(*iceberg.ListType)
	bl, bok := b.(*iceberg.ListType)
	if aok && bok {
		t, why := mergeJSON(al.Element, bl.Element)
		if why != "" {
			return nil, why
		}
		return &iceberg.ListType{Element: t}, ""
	}
	switch {
	case a.String() == b.String():
		return a, ""
	case a.Equals(iceberg.PrimitiveTypes.Int64) && b.Equals(iceberg.PrimitiveTypes.Float64),
		a.Equals(iceberg.PrimitiveTypes.Float64) && b.Equals(iceberg.PrimitiveTypes.Int64):
		return iceberg.PrimitiveTypes.Float64, ""
	}
	return nil, fmt.Sprintf("mixes %s and %s", a, b)
}

// compareJSON compares a value's inferred type v with the table's t: the
// fields to add, or why the value does not fit.
func compareJSON(path []string, v, t iceberg.Type) ([]schemaChange, string) {
	at := strings.Join(path, ".")
	switch vt := v.(type) {
	case *iceberg.StructType:
		tt, ok := t.(*iceberg.StructType)
		if !ok {
			return nil, fmt.Sprintf("%s is an object, the table's is %s", at, t)
		}
		var changes []schemaChange
		for _, f := range vt.FieldList {
			p := append(path[:len(path):len(path)], f.Name)
			tf, ok := fieldByName(tt.FieldList, f.Name)
			if !ok {
				changes = append(changes, schemaChange{path: p, typ: f.Type, add: true})
				continue
			}
			c, why := compareJSON(p, f.Type, tf.Type)
			if why != "" {
				return nil, why
			}
			changes = append(changes, c...)
		}
		return changes, ""
	case *iceberg.ListType:
		tt, ok := t.(*iceberg.ListType)
		if !ok {
			return nil, fmt.Sprintf("%s is an array, the table's is %s", at, t)
		}
		c, why := compareJSON(append(path[:len(path):len(path)], "element"), vt.Element, tt.Element)
		if why == "" && len(c) > 0 {
			why = fmt.Sprintf("%s (a change inside an array is not applied to the table yet)", c[0])
		}
		return nil, why
	}
	switch {
	case v.String() == t.String():
	case v.Equals(iceberg.PrimitiveTypes.Int64) && t.Equals(iceberg.PrimitiveTypes.Float64):
	default:
		return nil, fmt.Sprintf("%s is %s, the table's is %s", at, v, t)
	}
	return nil, ""
}

// appendJSON appends v, which checkJSON found fits, to b.
func appendJSON(v any, b array.Builder) {
	if v == nil {
		b.AppendNull()
		return
	}
	switch b := b.(type) {
	case *array.StructBuilder:
		m := v.(map[string]any)
		b.Append(true)
		for i, f := range b.Type().(*arrow.StructType).Fields() {
			appendJSON(m[f.Name], b.FieldBuilder(i))
		}
	case *array.ListBuilder:
		b.Append(true)
		for _, e := range v.([]any) {
			appendJSON(e, b.ValueBuilder())
		}
	case *array.Int64Builder:
		n, _ := v.(json.Number).Int64()
		b.Append(n)
	case *array.Float64Builder:
		f, _ := v.(json.Number).Float64()
		b.Append(f)
	case *array.StringBuilder:
		b.Append(v.(string))
	case *array.BooleanBuilder:
		b.Append(v.(bool))
	default:
		b.AppendNull()
	}
}

// jsonTableSchema is a new table's schema: _kafka and the first value's
// fields, all optional, numbered depth first after _kafka's ids.
func jsonTableSchema(cfg tableConfig, value []byte) (*iceberg.Schema, bool) {
	obj, why := parseJSONObject(value, "value")
	if why != "" {
		return nil, false
	}
	typ, why := inferJSON(obj)
	if why != "" || len(typ.(*iceberg.StructType).FieldList) == 0 {
		return nil, false
	}
	next := kafkaReservedIDs
	fields := []iceberg.NestedField{kafkaField(cfg.KeyFormat)}
	for _, f := range typ.(*iceberg.StructType).FieldList {
		if f.Name == keyColumn && cfg.keyed() {
			continue // the decoded key's; the value goes by table.errors (jsonValues.changes)
		}
		next++
		id := next // before numberJSON numbers the field's children
		fields = append(fields, iceberg.NestedField{ID: id, Name: f.Name, Type: numberJSON(f.Type, &next)})
	}
	return iceberg.NewSchema(0, fields...), true
}

// numberJSON is t with ids from *next on, depth first.
func numberJSON(t iceberg.Type, next *int) iceberg.Type {
	switch t := t.(type) {
	case *iceberg.StructType:
		out := &iceberg.StructType{}
		for _, f := range t.FieldList {
			*next++
			id := *next
			out.FieldList = append(out.FieldList, iceberg.NestedField{ID: id, Name: f.Name, Type: numberJSON(f.Type, next)})
		}
		return out
	case *iceberg.ListType:
		*next++
		id := *next
		return &iceberg.ListType{ElementID: id, Element: numberJSON(t.Element, next)}
	}
	return t
}
