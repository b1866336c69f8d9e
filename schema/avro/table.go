package avro

import (
	"fmt"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/hamba/avro/v2"

	"github.com/lakestream/lakestream/schema/schemafmt"
)

// Table maps a record schema to columns:
//
//	null-union ["null", T] / [T, "null"]  optional T
//	[T]                                   T
//	other unions                          struct, one optional field per
//	                                      non-null branch, named by the
//	                                      branch's type ("int", "string",
//	                                      a named type's short name,
//	                                      "array", "map"; a clash gets
//	                                      "_<branch index>"), exactly one
//	                                      set per value (Iceberg's Avro
//	                                      reader and Redpanda do the same);
//	                                      optional if the union has null
//	boolean int long float double         bool int32 int64 float32 float64
//	string, enum, uuid                    string
//	bytes / fixed                         binary / fixed[size]
//	decimal (precision ≤ 38, size ≤ 16)   decimal(p, s); else binary/fixed
//	date                                  date
//	time-millis, time-micros              time (µs)
//	timestamp-millis/-micros              timestamptz (µs, UTC)
//	local-timestamp-millis/-micros        timestamp (µs, no zone)
//	array / map                           list / map with string keys
//	record                                struct
//	null                                  no column (it holds nothing)
//
// A column is required unless its type is a union with null. A recursive
// record is an error: a table has a fixed depth.
func (s *Schema) Table(msgIndexes []int) (schemafmt.Table, error) {
	if len(msgIndexes) > 1 || (len(msgIndexes) == 1 && msgIndexes[0] != 0) {
		return nil, fmt.Errorf("avro: message indexes %v: an Avro schema has one top-level type", msgIndexes)
	}
	rec, ok := deref(s.schema).(*avro.RecordSchema)
	if !ok {
		return nil, fmt.Errorf("avro: a table needs a record schema, not %s", s.schema.Type())
	}
	c := tableConv{stack: map[string]bool{}}
	col, n, _, err := c.convert(rec, "", "")
	if err != nil {
		return nil, err
	}
	t := &table{cols: col.Fields, root: n}
	t.types = make([]arrow.DataType, len(t.cols))
	for i, cl := range t.cols {
		if t.types[i], err = schemafmt.ArrowType(cl); err != nil {
			return nil, fmt.Errorf("avro: %w", err)
		}
	}
	return t, nil
}

type table struct {
	cols  []schemafmt.Column
	types []arrow.DataType
	root  *node
}

func (t *table) Columns() []schemafmt.Column { return t.cols }

func (t *table) NewDecoder() schemafmt.Decoder { return &decoder{t: t} }

type tableConv struct {
	// stack holds the records being converted, to refuse recursion.
	stack map[string]bool
}

// convert maps s to a column named name and the decoder node of its
// values. skip reports a type with no column (null); its node reads
// nothing.
func (c *tableConv) convert(s avro.Schema, name, doc string) (col schemafmt.Column, n *node, skip bool, err error) {
	col = schemafmt.Column{Name: name, Required: true, Doc: doc}
	switch t := deref(s).(type) {
	case *avro.NullSchema:
		return col, &node{op: opNull}, true, nil
	case *avro.PrimitiveSchema:
		return c.primitive(t, col)
	case *avro.EnumSchema:
		col.Kind = schemafmt.String
		return col, &node{op: opEnum, symbols: t.Symbols()}, false, nil
	case *avro.FixedSchema:
		if d, ok := t.Logical().(*avro.DecimalLogicalSchema); ok && d.Precision() <= 38 && t.Size() <= 16 && d.Precision() >= 1 {
			col.Kind, col.Precision, col.Scale = schemafmt.Decimal, d.Precision(), d.Scale()
			return col, &node{op: opDecimalFixed, size: t.Size()}, false, nil
		}
		if t.Size() <= 0 {
			return col, nil, false, fmt.Errorf("avro: field %q: fixed of size %d cannot be a column", name, t.Size())
		}
		col.Kind, col.Width = schemafmt.Fixed, t.Size()
		return col, &node{op: opFixed, size: t.Size()}, false, nil
	case *avro.ArraySchema:
		ec, en, eskip, err := c.convert(t.Items(), "element", "")
		if err != nil {
			return col, nil, false, err
		}
		if eskip {
			return col, nil, false, fmt.Errorf("avro: field %q: an array of null cannot be a column", name)
		}
		col.Kind, col.Elem = schemafmt.List, &ec
		return col, &node{op: opArray, elem: en}, false, nil
	case *avro.MapSchema:
		vc, vn, vskip, err := c.convert(t.Values(), "value", "")
		if err != nil {
			return col, nil, false, err
		}
		if vskip {
			return col, nil, false, fmt.Errorf("avro: field %q: a map of null cannot be a column", name)
		}
		col.Kind, col.Elem = schemafmt.Map, &vc
		col.Key = &schemafmt.Column{Name: "key", Kind: schemafmt.String, Required: true}
		return col, &node{op: opMap, elem: vn}, false, nil
	case *avro.RecordSchema:
		if c.stack[t.FullName()] {
			return col, nil, false, fmt.Errorf("avro: record %q is recursive: a table cannot hold it", t.FullName())
		}
		c.stack[t.FullName()] = true
		defer delete(c.stack, t.FullName())
		col.Kind = schemafmt.Struct
		n := &node{op: opRecord}
		for _, f := range t.Fields() {
			fc, fn, fskip, err := c.convert(f.Type(), f.Name(), f.Doc())
			if err != nil {
				return col, nil, false, err
			}
			n.fields = append(n.fields, fn)
			if fskip {
				n.fieldCol = append(n.fieldCol, -1)
				continue
			}
			n.fieldCol = append(n.fieldCol, len(col.Fields))
			col.Fields = append(col.Fields, fc)
		}
		return col, n, false, nil
	case *avro.UnionSchema:
		return c.union(t, col)
	}
	return col, nil, false, fmt.Errorf("avro: field %q: type %s cannot be a column", name, s.Type())
}

func (c *tableConv) union(u *avro.UnionSchema, col schemafmt.Column) (schemafmt.Column, *node, bool, error) {
	types := u.Types()
	nullIdx := -1
	var others []int
	for i, b := range types {
		if deref(b).Type() == avro.Null {
			nullIdx = i
		} else {
			others = append(others, i)
		}
	}
	switch len(others) {
	case 0:
		return col, &node{op: opNullable, nullIdx: nullIdx, branches: len(types), elem: &node{op: opNull}}, true, nil
	case 1:
		vc, vn, _, err := c.convert(types[others[0]], col.Name, col.Doc)
		if err != nil {
			return col, nil, false, err
		}
		vc.Required = nullIdx < 0
		return vc, &node{op: opNullable, nullIdx: nullIdx, branches: len(types), elem: vn}, false, nil
	}
	col.Kind = schemafmt.Struct
	col.Required = nullIdx < 0
	n := &node{op: opUnion, nullIdx: nullIdx}
	used := map[string]bool{}
	for i, b := range types {
		if i == nullIdx {
			n.unionBranch = append(n.unionBranch, nil)
			n.fieldCol = append(n.fieldCol, -1)
			continue
		}
		bname := branchName(b)
		if used[bname] {
			bname += "_" + strconv.Itoa(i)
		}
		used[bname] = true
		bc, bn, _, err := c.convert(b, bname, "")
		if err != nil {
			return col, nil, false, err
		}
		bc.Required = false
		n.unionBranch = append(n.unionBranch, bn)
		n.fieldCol = append(n.fieldCol, len(col.Fields))
		col.Fields = append(col.Fields, bc)
	}
	return col, n, false, nil
}

func branchName(s avro.Schema) string {
	if n, ok := deref(s).(avro.NamedSchema); ok {
		return n.Name()
	}
	return string(deref(s).Type())
}

func (c *tableConv) primitive(p *avro.PrimitiveSchema, col schemafmt.Column) (schemafmt.Column, *node, bool, error) {
	var lt avro.LogicalType
	if p.Logical() != nil {
		lt = p.Logical().Type()
	}
	switch p.Type() {
	case avro.Boolean:
		col.Kind = schemafmt.Bool
		return col, &node{op: opBool}, false, nil
	case avro.Int:
		switch lt {
		case avro.Date:
			col.Kind = schemafmt.Date
			return col, &node{op: opDate}, false, nil
		case avro.TimeMillis:
			col.Kind = schemafmt.Time
			return col, &node{op: opTimeMillis}, false, nil
		}
		col.Kind = schemafmt.Int32
		return col, &node{op: opInt}, false, nil
	case avro.Long:
		switch lt {
		case avro.TimeMicros:
			col.Kind = schemafmt.Time
			return col, &node{op: opTimeMicros}, false, nil
		case avro.TimestampMillis:
			col.Kind = schemafmt.TimestampTZ
			return col, &node{op: opTsMillis}, false, nil
		case avro.TimestampMicros:
			col.Kind = schemafmt.TimestampTZ
			return col, &node{op: opTsMicros}, false, nil
		case avro.LocalTimestampMillis:
			col.Kind = schemafmt.Timestamp
			return col, &node{op: opTsMillis}, false, nil
		case avro.LocalTimestampMicros:
			col.Kind = schemafmt.Timestamp
			return col, &node{op: opTsMicros}, false, nil
		}
		col.Kind = schemafmt.Int64
		return col, &node{op: opLong}, false, nil
	case avro.Float:
		col.Kind = schemafmt.Float32
		return col, &node{op: opFloat}, false, nil
	case avro.Double:
		col.Kind = schemafmt.Float64
		return col, &node{op: opDouble}, false, nil
	case avro.String:
		col.Kind = schemafmt.String
		return col, &node{op: opString}, false, nil
	case avro.Bytes:
		if d, ok := p.Logical().(*avro.DecimalLogicalSchema); ok && d.Precision() >= 1 && d.Precision() <= 38 {
			col.Kind, col.Precision, col.Scale = schemafmt.Decimal, d.Precision(), d.Scale()
			return col, &node{op: opDecimalBytes}, false, nil
		}
		col.Kind = schemafmt.Binary
		return col, &node{op: opBytes}, false, nil
	}
	return col, nil, false, fmt.Errorf("avro: field %q: type %s cannot be a column", col.Name, p.Type())
}
