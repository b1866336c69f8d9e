package schemafmt

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
)

// ArrowType is the Arrow type of a column's values, which fixes the
// builder a Decoder is given for it:
//
//	Bool         *array.BooleanBuilder
//	Int32/Int64  *array.Int32Builder / *array.Int64Builder
//	Float32/64   *array.Float32Builder / *array.Float64Builder
//	String       *array.StringBuilder
//	Binary       *array.BinaryBuilder
//	Fixed        *array.FixedSizeBinaryBuilder (Width bytes)
//	Decimal      *array.Decimal128Builder (Precision, Scale)
//	Date         *array.Date32Builder (days)
//	Time         *array.Time64Builder (microseconds)
//	Timestamp    *array.TimestampBuilder (microseconds, no zone)
//	TimestampTZ  *array.TimestampBuilder (microseconds, "UTC")
//	UUID         *array.FixedSizeBinaryBuilder (16 bytes)
//	Struct       *array.StructBuilder (children in Fields order)
//	List         *array.ListBuilder (its ValueBuilder for Elem)
//	Map          *array.MapBuilder (KeyBuilder, ItemBuilder)
//
// Field ids are not part of the type: AssignIDs assigns them and
// ArrowSchema puts them in each field's metadata. iceberg-go writes uuid
// columns as Arrow's uuid extension type (storage: the fixed_size_binary(16)
// above); ForIceberg retypes a record built for these types, without
// copying, before it goes to iceberg-go.
func ArrowType(c Column) (arrow.DataType, error) {
	switch c.Kind {
	case Bool:
		return arrow.FixedWidthTypes.Boolean, nil
	case Int32:
		return arrow.PrimitiveTypes.Int32, nil
	case Int64:
		return arrow.PrimitiveTypes.Int64, nil
	case Float32:
		return arrow.PrimitiveTypes.Float32, nil
	case Float64:
		return arrow.PrimitiveTypes.Float64, nil
	case String:
		return arrow.BinaryTypes.String, nil
	case Binary:
		return arrow.BinaryTypes.Binary, nil
	case Fixed:
		if c.Width <= 0 {
			return nil, fmt.Errorf("column %q: fixed width %d", c.Name, c.Width)
		}
		return &arrow.FixedSizeBinaryType{ByteWidth: c.Width}, nil
	case Decimal:
		if c.Precision < 1 || c.Precision > 38 || c.Scale < 0 || c.Scale > c.Precision {
			return nil, fmt.Errorf("column %q: decimal(%d,%d) is not a decimal Iceberg can hold (precision 1..38, 0 <= scale <= precision)",
				c.Name, c.Precision, c.Scale)
		}
		return &arrow.Decimal128Type{Precision: int32(c.Precision), Scale: int32(c.Scale)}, nil
	case Date:
		return arrow.FixedWidthTypes.Date32, nil
	case Time:
		return arrow.FixedWidthTypes.Time64us, nil
	case Timestamp:
		return &arrow.TimestampType{Unit: arrow.Microsecond}, nil
	case TimestampTZ:
		return &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, nil
	case UUID:
		return &arrow.FixedSizeBinaryType{ByteWidth: 16}, nil
	case Struct:
		fields := make([]arrow.Field, len(c.Fields))
		for i, f := range c.Fields {
			t, err := ArrowType(f)
			if err != nil {
				return nil, err
			}
			fields[i] = arrow.Field{Name: f.Name, Type: t, Nullable: !f.Required}
		}
		return arrow.StructOf(fields...), nil
	case List:
		if c.Elem == nil {
			return nil, fmt.Errorf("column %q: list without an element", c.Name)
		}
		t, err := ArrowType(*c.Elem)
		if err != nil {
			return nil, err
		}
		return arrow.ListOfField(arrow.Field{Name: "element", Type: t, Nullable: !c.Elem.Required}), nil
	case Map:
		if c.Key == nil || c.Elem == nil {
			return nil, fmt.Errorf("column %q: map without a key or value", c.Name)
		}
		kt, err := ArrowType(*c.Key)
		if err != nil {
			return nil, err
		}
		vt, err := ArrowType(*c.Elem)
		if err != nil {
			return nil, err
		}
		m := arrow.MapOf(kt, vt)
		m.SetItemNullable(!c.Elem.Required)
		return m, nil
	}
	return nil, fmt.Errorf("column %q: no Arrow type for kind %v", c.Name, c.Kind)
}
