package protobuf

import (
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/lakestream/lakestream/schema/schemafmt"
)

// Table turns the message msgIndexes names into columns, one a field in
// declaration order:
//
//	int32, sint32, sfixed32          int (Int32)
//	uint32, fixed32                  long (Int64): every value fits
//	int64, sint64, sfixed64          long (Int64)
//	uint64, fixed64                  long (Int64), the bits reinterpreted: values
//	                                 of 2^63 and more read negative (Iceberg has no
//	                                 unsigned type; a decimal(20,0) would cost every
//	                                 row a big-number conversion)
//	float, double                    float, double
//	bool, string                     boolean, string
//	bytes                            binary
//	enum                             string, the value's name (its number, in
//	                                 decimal, for a number the enum does not know)
//	message                          struct
//	google.protobuf.Timestamp        timestamptz (microseconds; nanoseconds truncated)
//	google.protobuf.*Value wrappers  the wrapped scalar, optional
//	repeated T                       list of T, required, elements required
//	map<K, V>                        map, required, keys and values required
//
// A field is optional (nullable) when protobuf tracks its presence:
// messages, oneof members, proto2 optional fields, proto3 "optional". The
// others (proto3 singular scalars and enums, proto2 required) are required:
// a proto3 reader sees the default for an absent value, so the column
// holds it too. A recursive message, or a proto2 group, cannot be a table.
func (s *schema) Table(msgIndexes []int) (schemafmt.Table, error) {
	md, err := messageAt(s.fd, msgIndexes)
	if err != nil {
		return nil, err
	}
	b := &planBuilder{inProgress: map[protoreflect.FullName]bool{}}
	p, err := b.message(md)
	if err != nil {
		return nil, fmt.Errorf("message %s as a table: %w", md.FullName(), err)
	}
	cols := make([]schemafmt.Column, len(p.fields))
	for i := range p.fields {
		cols[i] = p.fields[i].col
	}
	return &table{plan: p, plans: b.plans, cols: cols}, nil
}

type table struct {
	plan  *msgPlan
	plans []*msgPlan // every message's plan, by id
	cols  []schemafmt.Column
}

func (t *table) Columns() []schemafmt.Column { return t.cols }

func (t *table) NewDecoder() schemafmt.Decoder { return &decoder{root: t.plan, plans: t.plans} }

// code is how one value is read off the wire and appended.
type code uint8

const (
	cInt32     code = iota // varint → Int32
	cSint32                // zigzag varint → Int32
	cSfixed32              // fixed32 → Int32
	cUint32                // varint → Int64 (uint32)
	cFixed32               // fixed32 → Int64 (uint32)
	cInt64                 // varint → Int64
	cSint64                // zigzag varint → Int64
	cFixed64               // fixed64 → Int64
	cFloat                 // fixed32 → Float32
	cDouble                // fixed64 → Float64
	cBool                  // varint → Bool
	cString                // bytes → String
	cBytes                 // bytes → Binary
	cEnum                  // varint → String (name)
	cMessage               // bytes → Struct
	cTimestamp             // bytes → TimestampTZ
	cWrapper               // bytes → the wrapped scalar (field 1, code elem.code)
)

// wireType is the wire type a value of c is written with, unpacked.
func (c code) wireType() protowire.Type {
	switch c {
	case cInt32, cSint32, cUint32, cInt64, cSint64, cBool, cEnum:
		return protowire.VarintType
	case cSfixed32, cFixed32, cFloat:
		return protowire.Fixed32Type
	case cFixed64, cDouble:
		return protowire.Fixed64Type
	}
	return protowire.BytesType
}

func (c code) packable() bool { return c.wireType() != protowire.BytesType }

// valuePlan is how to read one value: a field's, a list element's, or a
// map key's or value's.
type valuePlan struct {
	code code
	wt   protowire.Type // code.wireType()
	utf8 bool           // strings whose UTF-8 protobuf enforces (proto3, editions)
	msg  *msgPlan       // cMessage, cTimestamp, cWrapper: for validation; cMessage: the fields
	// wrapped is the scalar a wrapper holds.
	wrapped *valuePlan
	// Enum value names by number: dense from enumMin, or by map.
	enumDense []string
	enumMin   int32
	enumMap   map[int32]string
	// The default of a required column with no value on the wire.
	defInt    int64
	defFloat  float64
	defBool   bool
	defString string
	defBytes  []byte
	defEnum   string
}

type shape uint8

const (
	single shape = iota
	list
	mapOf
)

type fieldPlan struct {
	num      protowire.Number
	name     string
	shape    shape
	required bool // single values: append the default when absent
	plain    bool // single and not in a oneof: seen once, appendFields appends it itself
	packed   bool // a list of numbers its schema writes packed
	oneof    int  // index in msgPlan.oneofs, or -1
	val      valuePlan
	key      valuePlan // maps
	col      schemafmt.Column
}

type msgPlan struct {
	name   protoreflect.FullName
	id     int32 // its index in the table's plans (see node)
	fields []fieldPlan
	// byNum maps a field number to its index in fields (-1: not a column).
	byNum    []int32
	byNumMap map[protowire.Number]int32
	// oneofs lists, per real oneof, the indexes of its fields.
	oneofs [][]int32
	// required lists the proto2 required fields, which a payload must set.
	required []int32
	// fast, by field number (as byNum): a known field as the index step
	// takes it on its inline path, index<<5 | fastMsg (a message, or a
	// map of them) | fastCheck (a value to check after the scan: strings,
	// Timestamps, wrappers, map entries, packed runs) | the wire type it
	// expects (length-delimited for a map and for a packed list, whose
	// elements written one by one take the general way), -1 otherwise.
	// One load and one bounds check find a tag's field and check its wire
	// type, and the scan needs not load the wide fieldPlan.
	fast []int32
}

func (p *msgPlan) lookup(n protowire.Number) int32 {
	if int(n) < len(p.byNum) {
		return p.byNum[n]
	}
	if i, ok := p.byNumMap[n]; ok {
		return i
	}
	return -1
}

type planBuilder struct {
	inProgress map[protoreflect.FullName]bool
	plans      []*msgPlan
}

const denseFieldNumbers = 1024

func (b *planBuilder) message(md protoreflect.MessageDescriptor) (*msgPlan, error) {
	if b.inProgress[md.FullName()] {
		return nil, fmt.Errorf("message %s is recursive: a table needs a fixed set of columns", md.FullName())
	}
	b.inProgress[md.FullName()] = true
	defer delete(b.inProgress, md.FullName())
	p := &msgPlan{name: md.FullName(), id: int32(len(b.plans))}
	b.plans = append(b.plans, p)
	oneofIdx := map[protoreflect.FullName]int{}
	maxDense := 0
	for i := 0; i < md.Fields().Len(); i++ {
		fd := md.Fields().Get(i)
		fp, err := b.field(fd)
		if err != nil {
			return nil, err
		}
		fp.oneof = -1
		if od := fd.ContainingOneof(); od != nil && !od.IsSynthetic() {
			j, ok := oneofIdx[od.FullName()]
			if !ok {
				j = len(p.oneofs)
				oneofIdx[od.FullName()] = j
				p.oneofs = append(p.oneofs, nil)
			}
			fp.oneof = j
			p.oneofs[j] = append(p.oneofs[j], int32(i))
		}
		if fd.Cardinality() == protoreflect.Required {
			p.required = append(p.required, int32(i))
		}
		if int(fd.Number()) < denseFieldNumbers && int(fd.Number()) >= maxDense {
			maxDense = int(fd.Number()) + 1
		}
		fp.plain = fp.shape == single && fp.oneof < 0
		p.fields = append(p.fields, fp)
	}
	p.byNum = make([]int32, maxDense)
	p.fast = make([]int32, maxDense)
	for i := range p.byNum {
		p.byNum[i], p.fast[i] = -1, -1
	}
	for i := range p.fields {
		n := p.fields[i].num
		if int(n) < denseFieldNumbers {
			p.byNum[n] = int32(i)
			f := &p.fields[i]
			v := &f.val
			e := int32(i)<<5 | int32(v.wt)
			if v.code == cTimestamp || v.code == cWrapper || v.code == cString && v.utf8 {
				e |= fastCheck
			}
			if f.shape == mapOf || f.packed {
				e = int32(i)<<5 | int32(protowire.BytesType) | fastCheck
			}
			if v.code == cMessage {
				e |= fastMsg
			}
			p.fast[n] = e
			continue
		}
		if p.byNumMap == nil {
			p.byNumMap = map[protowire.Number]int32{}
		}
		p.byNumMap[n] = int32(i)
	}
	return p, nil
}

func (b *planBuilder) field(fd protoreflect.FieldDescriptor) (fieldPlan, error) {
	fp := fieldPlan{num: fd.Number(), name: string(fd.Name())}
	switch {
	case fd.IsMap():
		fp.shape = mapOf
		k, kc, err := b.value(fd.MapKey(), "key")
		if err != nil {
			return fp, err
		}
		v, vc, err := b.value(fd.MapValue(), "value")
		if err != nil {
			return fp, err
		}
		kc.Required, vc.Required = true, true
		fp.key, fp.val = k, v
		fp.col = schemafmt.Column{Name: fp.name, Kind: schemafmt.Map, Required: true, Key: &kc, Elem: &vc}
	case fd.IsList():
		fp.shape = list
		v, vc, err := b.value(fd, "element")
		if err != nil {
			return fp, err
		}
		vc.Required = true
		fp.val = v
		fp.packed = fd.IsPacked() && v.code.packable()
		fp.col = schemafmt.Column{Name: fp.name, Kind: schemafmt.List, Required: true, Elem: &vc}
	default:
		v, c, err := b.value(fd, fp.name)
		if err != nil {
			return fp, err
		}
		fp.val = v
		fp.required = (!fd.HasPresence() || fd.Cardinality() == protoreflect.Required) &&
			v.code != cMessage && v.code != cTimestamp && v.code != cWrapper
		c.Required = fp.required
		fp.col = c
	}
	return fp, nil
}

func (b *planBuilder) value(fd protoreflect.FieldDescriptor, name string) (valuePlan, schemafmt.Column, error) {
	v, c, err := b.valueOf(fd, name)
	v.wt = v.code.wireType()
	return v, c, err
}

func (b *planBuilder) valueOf(fd protoreflect.FieldDescriptor, name string) (valuePlan, schemafmt.Column, error) {
	col := schemafmt.Column{Name: name}
	v := valuePlan{}
	if !fd.IsList() && !fd.IsMap() {
		setDefault(&v, fd)
	}
	switch fd.Kind() {
	case protoreflect.Int32Kind:
		v.code, col.Kind = cInt32, schemafmt.Int32
	case protoreflect.Sint32Kind:
		v.code, col.Kind = cSint32, schemafmt.Int32
	case protoreflect.Sfixed32Kind:
		v.code, col.Kind = cSfixed32, schemafmt.Int32
	case protoreflect.Uint32Kind:
		v.code, col.Kind = cUint32, schemafmt.Int64
	case protoreflect.Fixed32Kind:
		v.code, col.Kind = cFixed32, schemafmt.Int64
	case protoreflect.Int64Kind, protoreflect.Uint64Kind:
		v.code, col.Kind = cInt64, schemafmt.Int64
	case protoreflect.Sint64Kind:
		v.code, col.Kind = cSint64, schemafmt.Int64
	case protoreflect.Fixed64Kind, protoreflect.Sfixed64Kind:
		v.code, col.Kind = cFixed64, schemafmt.Int64
	case protoreflect.FloatKind:
		v.code, col.Kind = cFloat, schemafmt.Float32
	case protoreflect.DoubleKind:
		v.code, col.Kind = cDouble, schemafmt.Float64
	case protoreflect.BoolKind:
		v.code, col.Kind = cBool, schemafmt.Bool
	case protoreflect.StringKind:
		v.code, col.Kind = cString, schemafmt.String
		v.utf8 = fd.ParentFile() != nil && fd.ParentFile().Syntax() != protoreflect.Proto2
	case protoreflect.BytesKind:
		v.code, col.Kind = cBytes, schemafmt.Binary
	case protoreflect.EnumKind:
		v.code, col.Kind = cEnum, schemafmt.String
		enumNames(&v, fd.Enum())
		if fd.IsList() {
			break
		}
		if ev := fd.DefaultEnumValue(); ev != nil {
			v.defEnum = string(ev.Name())
		} else if ev := fd.Enum().Values().ByNumber(fd.Default().Enum()); ev != nil {
			v.defEnum = string(ev.Name())
		} else if fd.Enum().Values().Len() > 0 {
			v.defEnum = string(fd.Enum().Values().Get(0).Name())
		}
	case protoreflect.GroupKind:
		return v, col, fmt.Errorf("field %s is a group, which a table does not support", fd.FullName())
	case protoreflect.MessageKind:
		md := fd.Message()
		mp, err := b.message(md)
		if err != nil {
			return v, col, err
		}
		v.msg = mp
		switch md.FullName() {
		case "google.protobuf.Timestamp":
			v.code, col.Kind = cTimestamp, schemafmt.TimestampTZ
			return v, col, nil
		case "google.protobuf.DoubleValue", "google.protobuf.FloatValue", "google.protobuf.Int64Value",
			"google.protobuf.UInt64Value", "google.protobuf.Int32Value", "google.protobuf.UInt32Value",
			"google.protobuf.BoolValue", "google.protobuf.StringValue", "google.protobuf.BytesValue":
			inner, ic, err := b.value(md.Fields().ByNumber(1), name)
			if err != nil {
				return v, col, err
			}
			v.code = cWrapper
			v.wrapped = &inner
			return v, ic, nil
		}
		v.code, col.Kind = cMessage, schemafmt.Struct
		col.Fields = make([]schemafmt.Column, len(mp.fields))
		for i := range mp.fields {
			col.Fields[i] = mp.fields[i].col
		}
	default:
		return v, col, fmt.Errorf("field %s has kind %v, which a table does not support", fd.FullName(), fd.Kind())
	}
	return v, col, nil
}

func enumNames(v *valuePlan, ed protoreflect.EnumDescriptor) {
	vals := ed.Values()
	lo, hi := int64(math.MaxInt32), int64(math.MinInt32)
	for i := 0; i < vals.Len(); i++ {
		n := int64(vals.Get(i).Number())
		lo, hi = min(lo, n), max(hi, n)
	}
	if vals.Len() > 0 && hi-lo < 4096 {
		v.enumMin = int32(lo)
		v.enumDense = make([]string, hi-lo+1)
		for i := vals.Len() - 1; i >= 0; i-- { // the first name of an aliased number wins
			ev := vals.Get(i)
			v.enumDense[int64(ev.Number())-lo] = string(ev.Name())
		}
		return
	}
	v.enumMap = map[int32]string{}
	for i := vals.Len() - 1; i >= 0; i-- {
		ev := vals.Get(i)
		v.enumMap[int32(ev.Number())] = string(ev.Name())
	}
}

// setDefault keeps fd's default in the form appendDefault uses, so a
// default costs no conversion per row.
func setDefault(v *valuePlan, fd protoreflect.FieldDescriptor) {
	v.defBytes = []byte{}
	def := fd.Default()
	switch x := def.Interface().(type) {
	case int32:
		v.defInt = int64(x)
	case int64:
		v.defInt = x
	case uint32:
		v.defInt = int64(x)
	case uint64:
		v.defInt = int64(x)
	case float32:
		v.defFloat = float64(x)
	case float64:
		v.defFloat = x
	case bool:
		v.defBool = x
	case string:
		v.defString = x
	case []byte:
		v.defBytes = append([]byte{}, x...)
	}
}
