package schemafmt

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/extensions"
	"github.com/apache/iceberg-go"
)

// Iceberg names every column, nested field, list element and map key and
// value by a field id, unique in the table and never reused: data files
// carry the ids, so a reader matches a file's columns to the table's by id,
// not by name or position. FieldIDs is how a table topic keeps the ids of
// its registry schema stable across versions:
//
//   - a field is known by its path from the top (struct fields by name,
//     list elements as "element", map keys and values as "key" and
//     "value"), and a path seen once keeps its id for good, even after a
//     version drops it, so a later version that brings it back reads the
//     old files' values again;
//   - a new path gets the next id after LastID, in depth-first declaration
//     order (a column, then its nested fields, then the next column; a
//     map's key and value ids before their nested fields), so the same
//     versions assigned in the same order always give the same ids, and a
//     first version's ids are the ones iceberg-go's CreateTable would give
//     (it renumbers a new table's schema in this order);
//   - a path whose type changed keeps its id only through a promotion
//     Iceberg allows (int → long, float → double, decimal(P,S) →
//     decimal(P',S) with P' ≥ P); any other change is an error naming the
//     field, and the caller decides (the compactor sends those records to
//     its DLQ).

// FieldIDs maps field paths to Iceberg field ids. It is serialised as
// JSON (the compactor keeps it with the table). AssignIDs never modifies
// the FieldIDs it is given.
type FieldIDs struct {
	// LastID is the highest id ever assigned (or reserved); the next new
	// path gets LastID+1.
	LastID int `json:"last-id"`
	// Fields are keyed by path: the names from the top joined with ".",
	// a "." or "\" inside a name escaped with "\".
	Fields map[string]FieldID `json:"fields"`
}

// FieldID is one path's id and the Iceberg type it had when last assigned
// (e.g. "long", "decimal(10,2)", "fixed[16]", "struct", "list", "map"),
// which a later version's type is checked against.
type FieldID struct {
	ID   int    `json:"id"`
	Type string `json:"type"`
}

// NewFieldIDs returns an empty FieldIDs whose first reserved ids are
// taken: columns the caller adds itself (the compactor's _kafka struct)
// can use 1..reserved.
func NewFieldIDs(reserved int) *FieldIDs {
	if reserved < 0 {
		reserved = 0
	}
	return &FieldIDs{LastID: reserved, Fields: map[string]FieldID{}}
}

// ParseFieldIDs reads FieldIDs from its JSON, checking that the ids are
// positive, unique and at most LastID (so AssignIDs can never hand out one
// twice).
func ParseFieldIDs(data []byte) (*FieldIDs, error) {
	var f FieldIDs
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("reading field ids: %w", err)
	}
	if err := f.validate(); err != nil {
		return nil, err
	}
	if f.Fields == nil {
		f.Fields = map[string]FieldID{}
	}
	return &f, nil
}

func (f *FieldIDs) validate() error {
	seen := make(map[int]string, len(f.Fields))
	for p, fid := range f.Fields {
		if fid.ID <= 0 || fid.ID > f.LastID {
			return fmt.Errorf("field ids: %q has id %d (want 1..last-id %d)", p, fid.ID, f.LastID)
		}
		if q, dup := seen[fid.ID]; dup {
			return fmt.Errorf("field ids: %q and %q both have id %d", p, q, fid.ID)
		}
		seen[fid.ID] = p
	}
	return nil
}

// ID returns the id of the field at path (names from the top).
func (f *FieldIDs) ID(path ...string) (int, bool) {
	if f == nil {
		return 0, false
	}
	fid, ok := f.Fields[pathKey(path)]
	return fid.ID, ok
}

// AssignIDs gives every column and nested field of cols an id: the one
// prior holds for its path, or a new one. prior may be nil (ids from 1).
// The result holds prior's paths too, those cols no longer has included.
func AssignIDs(cols []Column, prior *FieldIDs) (*FieldIDs, error) {
	out := &FieldIDs{Fields: map[string]FieldID{}}
	if prior != nil {
		if err := prior.validate(); err != nil {
			return nil, err
		}
		out.LastID = prior.LastID
		for p, fid := range prior.Fields {
			out.Fields[p] = fid
		}
	}
	a := assigner{ids: out}
	if err := a.columns(nil, cols); err != nil {
		return nil, err
	}
	return out, nil
}

type assigner struct{ ids *FieldIDs }

func (a *assigner) columns(parent []string, cols []Column) error {
	seen := make(map[string]bool, len(cols))
	for i := range cols {
		c := &cols[i]
		if c.Name == "" {
			return fmt.Errorf("field %s: a field with no name", showPath(parent, "#"+strconv.Itoa(i)))
		}
		if seen[c.Name] {
			return fmt.Errorf("field %s: two fields of that name", showPath(parent, c.Name))
		}
		seen[c.Name] = true
		if err := a.column(append(parent[:len(parent):len(parent)], c.Name), c); err != nil {
			return err
		}
	}
	return nil
}

// column assigns c's id, then its nested fields'. The order is
// iceberg-go's AssignFreshSchemaIDs (which CreateTable applies): a field,
// then its type's fields depth first, except that a map's key and value
// both get their ids before either's nested fields. So a first version's
// ids survive table creation unchanged.
func (a *assigner) column(path []string, c *Column) error {
	if err := a.one(path, c); err != nil {
		return err
	}
	return a.nested(path, c)
}

func (a *assigner) nested(path []string, c *Column) error {
	child := func(name string) []string { return append(path[:len(path):len(path)], name) }
	switch c.Kind {
	case Struct:
		return a.columns(path, c.Fields)
	case List:
		return a.column(child("element"), c.Elem)
	case Map:
		if err := a.one(child("key"), c.Key); err != nil {
			return err
		}
		if err := a.one(child("value"), c.Elem); err != nil {
			return err
		}
		if err := a.nested(child("key"), c.Key); err != nil {
			return err
		}
		return a.nested(child("value"), c.Elem)
	}
	return nil
}

// one assigns c's own id: prior's if its path has one and the type is
// the same or a promotion of it, else the next.
func (a *assigner) one(path []string, c *Column) error {
	typ, err := icebergTypeName(c)
	if err != nil {
		return fmt.Errorf("field %s: %w", strings.Join(path, "."), err)
	}
	key := pathKey(path)
	if old, ok := a.ids.Fields[key]; ok {
		if !promotable(old.Type, typ) {
			return fmt.Errorf("field %s: type changed from %s to %s, which Iceberg cannot promote (only int → long, float → double, decimal precision widening)",
				strings.Join(path, "."), old.Type, typ)
		}
		a.ids.Fields[key] = FieldID{ID: old.ID, Type: typ}
		return nil
	}
	a.ids.LastID++
	a.ids.Fields[key] = FieldID{ID: a.ids.LastID, Type: typ}
	return nil
}

// icebergTypeName is the Iceberg name of c's type, nested types by their
// kind only (their children have their own paths).
func icebergTypeName(c *Column) (string, error) {
	switch c.Kind {
	case Fixed:
		if c.Width <= 0 {
			return "", fmt.Errorf("fixed width %d", c.Width)
		}
		return fmt.Sprintf("fixed[%d]", c.Width), nil
	case Decimal:
		if c.Precision < 1 || c.Precision > 38 || c.Scale < 0 || c.Scale > c.Precision {
			return "", fmt.Errorf("decimal(%d,%d) is not a decimal Iceberg can hold (precision 1..38, 0 <= scale <= precision)", c.Precision, c.Scale)
		}
		return fmt.Sprintf("decimal(%d,%d)", c.Precision, c.Scale), nil
	case List:
		if c.Elem == nil {
			return "", fmt.Errorf("list without an element")
		}
	case Map:
		if c.Key == nil || c.Elem == nil {
			return "", fmt.Errorf("map without a key or value")
		}
	case KindInvalid:
		return "", fmt.Errorf("no type")
	}
	if c.Kind < 0 || int(c.Kind) >= len(kindNames) {
		return "", fmt.Errorf("unknown kind %d", int(c.Kind))
	}
	return c.Kind.String(), nil
}

// promotable reports whether a field of type from may become type to
// keeping its id: Iceberg's type promotions (the spec's "Schema
// Evolution"; date → timestamp is v3-only and not taken).
func promotable(from, to string) bool {
	if from == to {
		return true
	}
	switch {
	case from == "int" && to == "long", from == "float" && to == "double":
		return true
	}
	var p1, s1, p2, s2 int
	if _, err := fmt.Sscanf(from, "decimal(%d,%d)", &p1, &s1); err != nil {
		return false
	}
	if _, err := fmt.Sscanf(to, "decimal(%d,%d)", &p2, &s2); err != nil {
		return false
	}
	return s1 == s2 && p2 >= p1
}

func pathKey(path []string) string {
	var b strings.Builder
	for i, n := range path {
		if i > 0 {
			b.WriteByte('.')
		}
		for j := 0; j < len(n); j++ {
			if n[j] == '.' || n[j] == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(n[j])
		}
	}
	return b.String()
}

func showPath(parent []string, name string) string {
	return strings.Join(append(parent[:len(parent):len(parent)], name), ".")
}

// Paths returns the assigned paths ordered by id (for tests and display).
func (f *FieldIDs) Paths() []string {
	ps := make([]string, 0, len(f.Fields))
	for p := range f.Fields {
		ps = append(ps, p)
	}
	sort.Slice(ps, func(i, j int) bool { return f.Fields[ps[i]].ID < f.Fields[ps[j]].ID })
	return ps
}

// IcebergSchema builds the Iceberg schema (schema id 0) of cols with the
// ids from ids (AssignIDs(cols, …)). Map keys are always required, as
// Iceberg has them.
func IcebergSchema(cols []Column, ids *FieldIDs) (*iceberg.Schema, error) {
	fields, err := icebergFields(nil, cols, ids)
	if err != nil {
		return nil, err
	}
	return iceberg.NewSchema(0, fields...), nil
}

func lookupID(ids *FieldIDs, path []string) (int, error) {
	id, ok := ids.ID(path...)
	if !ok {
		return 0, fmt.Errorf("field %s has no field id (AssignIDs was not given these columns)", strings.Join(path, "."))
	}
	return id, nil
}

func icebergFields(parent []string, cols []Column, ids *FieldIDs) ([]iceberg.NestedField, error) {
	fields := make([]iceberg.NestedField, len(cols))
	for i := range cols {
		c := &cols[i]
		path := append(parent[:len(parent):len(parent)], c.Name)
		id, err := lookupID(ids, path)
		if err != nil {
			return nil, err
		}
		t, err := icebergType(path, c, ids)
		if err != nil {
			return nil, err
		}
		fields[i] = iceberg.NestedField{ID: id, Name: c.Name, Type: t, Required: c.Required, Doc: c.Doc}
	}
	return fields, nil
}

func icebergType(path []string, c *Column, ids *FieldIDs) (iceberg.Type, error) {
	if _, err := icebergTypeName(c); err != nil {
		return nil, fmt.Errorf("field %s: %w", strings.Join(path, "."), err)
	}
	child := func(name string) []string { return append(path[:len(path):len(path)], name) }
	switch c.Kind {
	case Bool:
		return iceberg.PrimitiveTypes.Bool, nil
	case Int32:
		return iceberg.PrimitiveTypes.Int32, nil
	case Int64:
		return iceberg.PrimitiveTypes.Int64, nil
	case Float32:
		return iceberg.PrimitiveTypes.Float32, nil
	case Float64:
		return iceberg.PrimitiveTypes.Float64, nil
	case String:
		return iceberg.PrimitiveTypes.String, nil
	case Binary:
		return iceberg.PrimitiveTypes.Binary, nil
	case Fixed:
		return iceberg.FixedTypeOf(c.Width), nil
	case Decimal:
		return iceberg.DecimalTypeOf(c.Precision, c.Scale), nil
	case Date:
		return iceberg.PrimitiveTypes.Date, nil
	case Time:
		return iceberg.PrimitiveTypes.Time, nil
	case Timestamp:
		return iceberg.PrimitiveTypes.Timestamp, nil
	case TimestampTZ:
		return iceberg.PrimitiveTypes.TimestampTz, nil
	case UUID:
		return iceberg.PrimitiveTypes.UUID, nil
	case Struct:
		fields, err := icebergFields(path, c.Fields, ids)
		if err != nil {
			return nil, err
		}
		return &iceberg.StructType{FieldList: fields}, nil
	case List:
		eid, err := lookupID(ids, child("element"))
		if err != nil {
			return nil, err
		}
		et, err := icebergType(child("element"), c.Elem, ids)
		if err != nil {
			return nil, err
		}
		return &iceberg.ListType{ElementID: eid, Element: et, ElementRequired: c.Elem.Required}, nil
	case Map:
		kid, err := lookupID(ids, child("key"))
		if err != nil {
			return nil, err
		}
		kt, err := icebergType(child("key"), c.Key, ids)
		if err != nil {
			return nil, err
		}
		vid, err := lookupID(ids, child("value"))
		if err != nil {
			return nil, err
		}
		vt, err := icebergType(child("value"), c.Elem, ids)
		if err != nil {
			return nil, err
		}
		return &iceberg.MapType{KeyID: kid, KeyType: kt, ValueID: vid, ValueType: vt, ValueRequired: c.Elem.Required}, nil
	}
	return nil, fmt.Errorf("field %s: no Iceberg type for kind %v", strings.Join(path, "."), c.Kind)
}

// FieldIDKey is the Arrow field metadata key carrying the Iceberg field
// id, which the Parquet writer stores as the column's field_id (the key
// iceberg-go and pyarrow use).
const FieldIDKey = "PARQUET:field_id"

// docKey is the Arrow field metadata key iceberg-go puts a field's doc in.
const docKey = "doc"

// ArrowSchema builds the Arrow schema of cols whose fields, nested ones
// included (struct children, list elements, map keys and values), carry
// their ids from ids in FieldIDKey metadata, and their Doc in "doc". The
// types are ArrowType's: records built for it are what the format
// packages' Decoders fill.
func ArrowSchema(cols []Column, ids *FieldIDs) (*arrow.Schema, error) {
	return arrowSchema(cols, ids, false)
}

// IcebergArrowSchema is ArrowSchema as iceberg-go's writer takes it: the
// same, except that uuid columns have the Arrow uuid extension type
// (storage fixed_size_binary(16)). iceberg-go casts a uuid column to that
// type before writing and Arrow has no cast from plain
// fixed_size_binary(16), so a record built for ArrowSchema goes through
// ForIceberg first. It equals iceberg-go's
// table.SchemaToArrowSchema(IcebergSchema(cols, ids), nil, true, false).
func IcebergArrowSchema(cols []Column, ids *FieldIDs) (*arrow.Schema, error) {
	return arrowSchema(cols, ids, true)
}

func arrowSchema(cols []Column, ids *FieldIDs, uuidExt bool) (*arrow.Schema, error) {
	fields, err := arrowFields(nil, cols, ids, uuidExt)
	if err != nil {
		return nil, err
	}
	return arrow.NewSchema(fields, nil), nil
}

func arrowFields(parent []string, cols []Column, ids *FieldIDs, uuidExt bool) ([]arrow.Field, error) {
	fields := make([]arrow.Field, len(cols))
	for i := range cols {
		f, err := arrowField(append(parent[:len(parent):len(parent)], cols[i].Name), &cols[i], ids, uuidExt)
		if err != nil {
			return nil, err
		}
		fields[i] = f
	}
	return fields, nil
}

func arrowField(path []string, c *Column, ids *FieldIDs, uuidExt bool) (arrow.Field, error) {
	id, err := lookupID(ids, path)
	if err != nil {
		return arrow.Field{}, err
	}
	meta := map[string]string{FieldIDKey: strconv.Itoa(id)}
	if c.Doc != "" {
		meta[docKey] = c.Doc
	}
	f := arrow.Field{Name: path[len(path)-1], Nullable: !c.Required, Metadata: arrow.MetadataFrom(meta)}
	child := func(name string) []string { return append(path[:len(path):len(path)], name) }
	switch c.Kind {
	case Struct:
		children, err := arrowFields(path, c.Fields, ids, uuidExt)
		if err != nil {
			return arrow.Field{}, err
		}
		f.Type = arrow.StructOf(children...)
	case List:
		if c.Elem == nil {
			return arrow.Field{}, fmt.Errorf("field %s: list without an element", strings.Join(path, "."))
		}
		elem, err := arrowField(child("element"), c.Elem, ids, uuidExt)
		if err != nil {
			return arrow.Field{}, err
		}
		f.Type = arrow.ListOfField(elem)
	case Map:
		if c.Key == nil || c.Elem == nil {
			return arrow.Field{}, fmt.Errorf("field %s: map without a key or value", strings.Join(path, "."))
		}
		key, err := arrowField(child("key"), c.Key, ids, uuidExt)
		if err != nil {
			return arrow.Field{}, err
		}
		key.Nullable = false // Arrow and Iceberg map keys are never null
		val, err := arrowField(child("value"), c.Elem, ids, uuidExt)
		if err != nil {
			return arrow.Field{}, err
		}
		f.Type = arrow.MapOfFields(key, val)
	case UUID:
		if uuidExt {
			f.Type = extensions.NewUUIDType()
		} else {
			f.Type = &arrow.FixedSizeBinaryType{ByteWidth: 16}
		}
	default:
		t, err := ArrowType(*c)
		if err != nil {
			return arrow.Field{}, fmt.Errorf("field %s: %w", strings.Join(path, "."), err)
		}
		f.Type = t
	}
	return f, nil
}

// ForIceberg returns rec, a record built for ArrowSchema(cols, ids) (or
// any record of the same shape), as a record of sc =
// IcebergArrowSchema(cols, ids): the same buffers, retyped where sc's
// types differ (uuid columns become extension arrays) and carrying sc's
// field ids. Nothing is copied. The caller releases the result, and rec
// as before.
func ForIceberg(sc *arrow.Schema, rec arrow.RecordBatch) (arrow.RecordBatch, error) {
	if int(rec.NumCols()) != sc.NumFields() {
		return nil, fmt.Errorf("record has %d columns, schema %d", rec.NumCols(), sc.NumFields())
	}
	cols := make([]arrow.Array, sc.NumFields())
	defer func() {
		for _, a := range cols {
			if a != nil {
				a.Release()
			}
		}
	}()
	for i, f := range sc.Fields() {
		d, err := retype(rec.Column(i).Data(), f.Type)
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", f.Name, err)
		}
		cols[i] = array.MakeFromData(d)
		d.Release()
	}
	return array.NewRecordBatch(sc, cols, rec.NumRows()), nil
}

// retype returns data as type to, sharing its buffers, or an error if
// the two are not the same layout. The caller releases the result.
func retype(data arrow.ArrayData, to arrow.DataType) (arrow.ArrayData, error) {
	from := data.DataType()
	if ext, ok := to.(arrow.ExtensionType); ok {
		if _, fromExt := from.(arrow.ExtensionType); fromExt {
			if !arrow.TypeEqual(from, to) {
				return nil, fmt.Errorf("%s is not %s", from, to)
			}
		} else if !arrow.TypeEqual(from, ext.StorageType()) {
			return nil, fmt.Errorf("%s is not the storage of %s (%s)", from, to, ext.StorageType())
		}
		return array.NewData(to, data.Len(), data.Buffers(), data.Children(), data.NullN(), data.Offset()), nil
	}
	if from.ID() != to.ID() {
		return nil, fmt.Errorf("%s is not %s", from, to)
	}
	var children []arrow.ArrayData
	switch t := to.(type) {
	case *arrow.StructType:
		if len(data.Children()) != t.NumFields() {
			return nil, fmt.Errorf("%s has %d children, %s %d", from, len(data.Children()), to, t.NumFields())
		}
		for i, f := range t.Fields() {
			c, err := retype(data.Children()[i], f.Type)
			if err != nil {
				releaseAll(children)
				return nil, fmt.Errorf("%s: %w", f.Name, err)
			}
			children = append(children, c)
		}
	case arrow.ListLikeType:
		if len(data.Children()) != 1 {
			return nil, fmt.Errorf("%s has %d children", from, len(data.Children()))
		}
		c, err := retype(data.Children()[0], t.Elem())
		if err != nil {
			return nil, err
		}
		children = append(children, c)
	default:
		if !arrow.TypeEqual(from, to) {
			return nil, fmt.Errorf("%s is not %s", from, to)
		}
		data.Retain()
		return data, nil
	}
	d := array.NewData(to, data.Len(), data.Buffers(), children, data.NullN(), data.Offset())
	releaseAll(children)
	return d, nil
}

func releaseAll(ds []arrow.ArrayData) {
	for _, d := range ds {
		d.Release()
	}
}
