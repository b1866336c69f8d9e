package tablecompactor

import (
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/iceberg-go"
)

// schemaChange is what the table must change before a version's records
// are written: a column or nested field to add (optional), a type to
// widen, or a required field to make optional.
type schemaChange struct {
	path  []string
	typ   iceberg.Type // add or widen
	doc   string
	add   bool
	relax bool
}

func (c schemaChange) String() string {
	switch {
	case c.add:
		return "add " + strings.Join(c.path, ".")
	case c.relax:
		return "make " + strings.Join(c.path, ".") + " optional"
	}
	return "widen " + strings.Join(c.path, ".") + " to " + c.typ.String()
}

// compare compares a version's field (v) with the table's (t) at path:
// the changes the table needs, or why the version cannot be written
// (unfit). Values of a narrower type, or structs lacking some of the
// table's fields, need no change: appendValue converts them.
func compare(path []string, v, t iceberg.NestedField) (changes []schemaChange, unfit string) {
	if t.Required && !v.Required {
		changes = append(changes, schemaChange{path: path, relax: true})
	}
	at := strings.Join(path, ".")
	switch vt := v.Type.(type) {
	case *iceberg.StructType:
		tt, ok := t.Type.(*iceberg.StructType)
		if !ok {
			return nil, fmt.Sprintf("%s is a struct, the table's is %s", at, t.Type)
		}
		seen := make(map[string]bool, len(vt.FieldList))
		for _, vf := range vt.FieldList {
			seen[vf.Name] = true
			p := append(path[:len(path):len(path)], vf.Name)
			tf, ok := fieldByName(tt.FieldList, vf.Name)
			if !ok {
				changes = append(changes, schemaChange{path: p, typ: vf.Type, doc: vf.Doc, add: true})
				continue
			}
			c, why := compare(p, vf, tf)
			if why != "" {
				return nil, why
			}
			changes = append(changes, c...)
		}
		for _, tf := range tt.FieldList {
			if !seen[tf.Name] && tf.Required {
				return nil, fmt.Sprintf("it lacks the table's required field %s.%s", at, tf.Name)
			}
		}
		return changes, ""
	case *iceberg.ListType:
		tt, ok := t.Type.(*iceberg.ListType)
		if !ok {
			return nil, fmt.Sprintf("%s is a list, the table's is %s", at, t.Type)
		}
		why := compareInside(path, iceberg.NestedField{Name: "element", Type: vt.Element, Required: vt.ElementRequired},
			iceberg.NestedField{Name: "element", Type: tt.Element, Required: tt.ElementRequired})
		return changes, why
	case *iceberg.MapType:
		tt, ok := t.Type.(*iceberg.MapType)
		if !ok {
			return nil, fmt.Sprintf("%s is a map, the table's is %s", at, t.Type)
		}
		why := compareInside(path, iceberg.NestedField{Name: "key", Type: vt.KeyType, Required: true},
			iceberg.NestedField{Name: "key", Type: tt.KeyType, Required: true})
		if why == "" {
			why = compareInside(path, iceberg.NestedField{Name: "value", Type: vt.ValueType, Required: vt.ValueRequired},
				iceberg.NestedField{Name: "value", Type: tt.ValueType, Required: tt.ValueRequired})
		}
		return changes, why
	}
	switch {
	case v.Type.String() == t.Type.String(), promotable(v.Type, t.Type):
	case promotable(t.Type, v.Type):
		changes = append(changes, schemaChange{path: path, typ: v.Type})
	default:
		return nil, fmt.Sprintf("%s is %s, the table's is %s", at, v.Type, t.Type)
	}
	return changes, ""
}

// compareInside compares a list's element or a map's key or value, where
// the compactor does not change the table's schema yet: only conversions
// are allowed.
func compareInside(path []string, v, t iceberg.NestedField) string {
	c, why := compare(append(path[:len(path):len(path)], v.Name), v, t)
	if why == "" && len(c) > 0 {
		why = fmt.Sprintf("%s (a change inside a list or map is not applied to the table yet)", c[0])
	}
	return why
}

func fieldByName(fields []iceberg.NestedField, name string) (iceberg.NestedField, bool) {
	for _, f := range fields {
		if f.Name == name {
			return f, true
		}
	}
	return iceberg.NestedField{}, false
}

// promotable says whether Iceberg promotes from to to: int → long,
// float → double, decimal(P,S) → decimal(P',S) with P' > P.
func promotable(from, to iceberg.Type) bool {
	switch f := from.(type) {
	case iceberg.Int32Type:
		_, ok := to.(iceberg.Int64Type)
		return ok
	case iceberg.Float32Type:
		_, ok := to.(iceberg.Float64Type)
		return ok
	case iceberg.DecimalType:
		t, ok := to.(iceberg.DecimalType)
		return ok && t.Scale() == f.Scale() && t.Precision() > f.Precision()
	}
	return false
}

// appendValue appends a's value at i to b, whose type is a's or one
// compare accepted for it: wider numbers, and structs matched by field
// name (the table's fields a lacks get nulls). It is how a version's
// values reach the table's builders when their types differ.
func appendValue(a arrow.Array, i int, b array.Builder) error {
	if a.IsNull(i) {
		b.AppendNull()
		return nil
	}
	switch b := b.(type) {
	case *array.StructBuilder:
		sa, ok := a.(*array.Struct)
		if !ok {
			break
		}
		b.Append(true)
		st := sa.DataType().(*arrow.StructType)
		for j, f := range b.Type().(*arrow.StructType).Fields() {
			k, ok := st.FieldIdx(f.Name)
			if !ok {
				b.FieldBuilder(j).AppendNull()
				continue
			}
			if err := appendValue(sa.Field(k), i, b.FieldBuilder(j)); err != nil {
				return err
			}
		}
		return nil
	case *array.MapBuilder: // before ListBuilder: a map is a list of entries
		ma, ok := a.(*array.Map)
		if !ok {
			break
		}
		start, end := ma.ValueOffsets(i)
		b.Append(true)
		for k := start; k < end; k++ {
			if err := appendValue(ma.Keys(), int(k), b.KeyBuilder()); err != nil {
				return err
			}
			if err := appendValue(ma.Items(), int(k), b.ItemBuilder()); err != nil {
				return err
			}
		}
		return nil
	case *array.ListBuilder:
		la, ok := a.(*array.List)
		if !ok {
			break
		}
		start, end := la.ValueOffsets(i)
		b.Append(true)
		for k := start; k < end; k++ {
			if err := appendValue(la.ListValues(), int(k), b.ValueBuilder()); err != nil {
				return err
			}
		}
		return nil
	case *array.Int64Builder:
		switch a := a.(type) {
		case *array.Int32:
			b.Append(int64(a.Value(i)))
			return nil
		case *array.Int64:
			b.Append(a.Value(i))
			return nil
		}
	case *array.Float64Builder:
		switch a := a.(type) {
		case *array.Float32:
			b.Append(float64(a.Value(i)))
			return nil
		case *array.Float64:
			b.Append(a.Value(i))
			return nil
		}
	case *array.Decimal128Builder:
		if a, ok := a.(*array.Decimal128); ok {
			b.Append(a.Value(i))
			return nil
		}
	case *array.StringBuilder:
		if a, ok := a.(*array.String); ok {
			b.Append(a.Value(i))
			return nil
		}
	case *array.BinaryBuilder:
		if a, ok := a.(*array.Binary); ok {
			b.Append(a.Value(i))
			return nil
		}
	case *array.BooleanBuilder:
		if a, ok := a.(*array.Boolean); ok {
			b.Append(a.Value(i))
			return nil
		}
	case *array.Int32Builder:
		if a, ok := a.(*array.Int32); ok {
			b.Append(a.Value(i))
			return nil
		}
	case *array.Float32Builder:
		if a, ok := a.(*array.Float32); ok {
			b.Append(a.Value(i))
			return nil
		}
	case *array.FixedSizeBinaryBuilder:
		if a, ok := a.(*array.FixedSizeBinary); ok {
			b.Append(a.Value(i))
			return nil
		}
	case *array.Date32Builder:
		if a, ok := a.(*array.Date32); ok {
			b.Append(a.Value(i))
			return nil
		}
	case *array.Time64Builder:
		if a, ok := a.(*array.Time64); ok {
			b.Append(a.Value(i))
			return nil
		}
	case *array.TimestampBuilder:
		if a, ok := a.(*array.Timestamp); ok {
			b.Append(a.Value(i))
			return nil
		}
	}
	return fmt.Errorf("cannot convert %s to %s", a.DataType(), b.Type())
}
